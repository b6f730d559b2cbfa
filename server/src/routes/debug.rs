//! Debug-link routes: the owner's issue/revoke, and the public, key-less view.

use std::net::SocketAddr;
use std::time::Duration;

use axum::Json;
use axum::extract::{ConnectInfo, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use callscope_shared::{DebugLink, ErrorBody, PublicDebugView};
use futures_util::{StreamExt, stream};
use serde::Serialize;
use utoipa::ToSchema;

use super::NoStore;
use super::calls::parse_call_id;
use super::params::{Allowed, Params};
use super::recording_file::Caching;
use crate::app::AppState;
use crate::auth::Auth;
use crate::client_ip::{ClientKey, client_ip};
use crate::debug_link::recording::SignedQuery;
use crate::debug_link::{
    self, IssueOptions, MAX_EXPIRES_IN, MIN_EXPIRES_IN, RecordingAccess, StreamOpened,
};
use crate::error::{ApiError, messages};
use crate::extract::PathParam;

/// The query parameters of the owner's debug-link route.
pub const ISSUE_PARAMS: Allowed = &["expires_in", "include_recording"];

/// `GET /v1/calls/:callId/debug-link[?expires_in=SECONDS][&include_recording=true|false]`
#[utoipa::path(get, path = "/v1/calls/{call_id}/debug-link", operation_id = "issue_debug_link", tag = "debug links", security(("ApiKey" = [])),
    params(crate::openapi::params::CallPath, crate::openapi::params::IssueQuery),
    responses(
        (status = 200, description = "The call's public debug link (the same one until revoked; `Cache-Control: no-store`)", body = DebugLink,
            links(("OpenLink" = (operation_id = "public_debug_view", parameters(("token" = "$response.body#/debug_token")))))),
        (status = 400, description = "A bad `expires_in` or `include_recording`, or an unknown or repeated parameter", body = ErrorBody),
        (status = 404, description = "`Call not found` or `Debug log not available`", body = ErrorBody),
    ))]
pub async fn issue(
    State(state): State<AppState>,
    auth: Auth,
    PathParam(call_id): PathParam,
    params: Params,
) -> Result<NoStore<Json<DebugLink>>, ApiError> {
    let call_id = parse_call_id(&call_id)?;
    let options = IssueOptions {
        expires_in: params.optional_int_in("expires_in", MIN_EXPIRES_IN..=MAX_EXPIRES_IN)?,
        include_recording: params.bool_or("include_recording", false)?,
    };
    let link = debug_link::issue(
        &state.store,
        &state.keys.link_encryption,
        auth.account_id,
        call_id,
        options,
        state.clock.now(),
    )
    .await?;
    Ok(NoStore(Json(link)))
}

/// `POST /v1/calls/:callId/debug-link/revoke`
#[utoipa::path(post, path = "/v1/calls/{call_id}/debug-link/revoke", operation_id = "revoke_debug_link", tag = "debug links", security(("ApiKey" = [])),
    params(crate::openapi::params::CallPath),
    responses(
        (status = 200, description = "The call's link no longer opens (`revoked`: whether there was one)", body = Revoked),
        (status = 404, description = "`Call not found`", body = ErrorBody),
    ))]
pub async fn revoke(
    State(state): State<AppState>,
    auth: Auth,
    PathParam(call_id): PathParam,
) -> Result<Json<Revoked>, ApiError> {
    let call_id = parse_call_id(&call_id)?;
    let now = state.clock.now();
    let revoked = debug_link::revoke(&state.store, auth.account_id, call_id, now).await?;
    Ok(Json(Revoked {
        success: true,
        revoked,
    }))
}

/// The answer of a revoke: `revoked` is whether the call had a link to revoke.
#[derive(Serialize, ToSchema)]
pub struct Revoked {
    success: bool,
    revoked: bool,
}

/// Whether a request is a browser navigation (HTML) rather than an API call (JSON).
fn wants_html(headers: &HeaderMap) -> bool {
    headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|accept| accept.split(',').any(|m| m.trim().starts_with("text/html")))
}

/// `GET /api/v1/call-debug/:token`: the viewer page for browsers, masked JSON otherwise.
#[utoipa::path(get, path = "/api/v1/call-debug/{token}", operation_id = "public_debug_view", tag = "public", security(()),
    params(crate::openapi::params::TokenPath),
    responses(
        (status = 200, description = "The call as the link shows it: masked and read-only. A browser (`Accept: text/html`) gets the viewer page, which then fetches the same URL as JSON.",
            content(
                (PublicDebugView = "application/json"),
                (String = "text/html"),
            )),
        (status = 404, description = "`Debug link not found`: unknown, revoked or expired token, or a suspended account", body = ErrorBody),
        (status = 429, description = "`Too many requests`: too many misses from this client", body = ErrorBody,
            headers(("Retry-After" = u64, description = "Seconds to wait"))),
        (status = 503, description = "`Viewer not built` (HTML only), or storage unavailable", body = ErrorBody,
            headers(("Retry-After" = u64, description = "Seconds to wait (storage)"))),
    ))]
pub async fn public(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    PathParam(token): PathParam,
) -> Response {
    if wants_html(&headers) {
        return viewer_page(&state).await;
    }
    let client = ClientKey::from(client_ip(
        peer.ip(),
        &headers,
        &state.config.trusted_proxies,
    ));
    let now = state.clock.now();
    match state
        .debug
        .open_public(&state.store, client, &token, recording_access(&state), now)
        .await
    {
        Ok(json) => (
            [(
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/json"),
            )],
            json,
        )
            .into_response(),
        Err(err) => ApiError::from(err).into_response(),
    }
}

/// What signs and serves the recordings of links that include them.
fn recording_access(state: &AppState) -> RecordingAccess<'_> {
    RecordingAccess {
        store: state.config.recordings.as_ref(),
        key: &state.keys.debug_recording_url,
    }
}

/// `GET`/`HEAD /api/v1/call-debug/:token/recording?expires=&signature=`: the call's
/// recording for a link that includes it (embedded store; `debug_link::recording`). The
/// link is checked on every request, so revoking or expiring it stops the audio at once.
/// Every failure is the link's one 404 (a miss, as on the JSON view); the file is served as
/// `/recordings/…` serves it (ranges, `audio/mpeg`), but `Cache-Control: private, no-cache`:
/// a browser may keep the audio, and asks the server (a 304) before each reuse.
#[utoipa::path(get, path = "/api/v1/call-debug/{token}/recording", operation_id = "public_debug_recording", tag = "public", security(()),
    params(crate::openapi::params::TokenPath, crate::openapi::params::LinkRecordingQuery,
        ("Range" = Option<String>, Header, description = "One byte range (`bytes=a-b`, `a-`, `-n`)")),
    responses(
        (status = 200, description = "The recording (MP3) of a link that includes it (`Cache-Control: private, no-cache`)", content_type = "audio/mpeg", body = crate::openapi::schemas::Binary),
        (status = 206, description = "The requested range of it", content_type = "audio/mpeg", body = crate::openapi::schemas::Binary),
        (status = 304, description = "Not modified since the client's copy"),
        (status = 404, description = "`Debug link not found`: any failure (link, signature, file)", body = ErrorBody),
        (status = 416, description = "A range outside the file (`Content-Range: bytes */<length>`)"),
        (status = 429, description = "`Too many requests`: too many misses from this client", body = ErrorBody,
            headers(("Retry-After" = u64, description = "Seconds to wait"))),
    ))]
pub async fn recording(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    PathParam(token): PathParam,
    request: axum::extract::Request,
) -> Response {
    let client = ClientKey::from(client_ip(
        peer.ip(),
        request.headers(),
        &state.config.trusted_proxies,
    ));
    let pairs = super::recording_file::query_pairs(&request);
    let single = |name| super::recording_file::single(&pairs, name).unwrap_or_default();
    let now = state.clock.now();
    let opened = state
        .debug
        .open_recording(
            &state.store,
            client,
            &token,
            SignedQuery {
                expires: single("expires"),
                signature: single("signature"),
            },
            recording_access(&state),
            now,
        )
        .await;
    match opened {
        // Revalidated on every reuse, so a revocation reaches a browser that has the audio.
        Ok(file) => {
            let not_found =
                || ApiError::from(debug_link::DebugLinkError::LinkNotFound).into_response();
            super::recording_file::serve(file, now.secs(), request, Caching::Revalidate, not_found)
                .await
        }
        Err(err) => ApiError::from(err).into_response(),
    }
}

/// How often an idle live stream sends a comment, so proxies keep the connection.
const HEARTBEAT: Duration = Duration::from_secs(15);
/// How long a browser waits before reconnecting a dropped stream.
const RECONNECT_AFTER: Duration = Duration::from_secs(2);

/// `GET /api/v1/call-debug/:token/events`: the call as it goes on, as Server-Sent Events
/// (`debug_link::stream`); 204 when the call has ended and the client has it all.
#[utoipa::path(get, path = "/api/v1/call-debug/{token}/events", operation_id = "public_debug_events", tag = "public", security(()),
    params(crate::openapi::params::TokenPath,
        ("Last-Event-ID" = Option<String>, Header, description = "The id of the last event received: the stream resumes after it")),
    responses(
        (status = 200, description = "The call as it goes on, as Server-Sent Events (`snapshot`, `turns`, `webhooks`, `call`, `end`, `closed`); each event's data is JSON", content_type = "text/event-stream", body = String),
        (status = 204, description = "The call has ended and the client has it all"),
        (status = 404, description = "`Debug link not found`", body = ErrorBody),
        (status = 429, description = "`Too many requests` or `Too many live streams open`", body = ErrorBody,
            headers(("Retry-After" = u64, description = "Seconds to wait"))),
    ))]
pub async fn events(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    PathParam(token): PathParam,
) -> Response {
    let client = ClientKey::from(client_ip(
        peer.ip(),
        &headers,
        &state.config.trusted_proxies,
    ));
    let last_event_id = headers.get("last-event-id").and_then(|v| v.to_str().ok());
    let opened = state
        .debug
        .open_stream(
            &state.store,
            client,
            &token,
            last_event_id,
            state.clock.clone(),
        )
        .await;
    match opened {
        Ok(StreamOpened::Streaming(events)) => {
            let first = Event::default().retry(RECONNECT_AFTER);
            let events = stream::once(async { Ok(first) })
                .chain(stream::unfold(events, |mut events| async move {
                    events.recv().await.map(|e| (e, events))
                }));
            let mut response = Sse::new(events)
                .keep_alive(KeepAlive::new().interval(HEARTBEAT).text("heartbeat"))
                .into_response();
            // Proxies that buffer responses (nginx) pass this one on as it comes.
            response
                .headers_mut()
                .insert("x-accel-buffering", HeaderValue::from_static("no"));
            response
        }
        Ok(StreamOpened::Final) => StatusCode::NO_CONTENT.into_response(),
        Err(err) => ApiError::from(err).into_response(),
    }
}

/// The viewer's `index.html`, with its strict CSP. The app then fetches the same URL as JSON.
async fn viewer_page(state: &AppState) -> Response {
    match tokio::fs::read(state.config.dist.join("index.html")).await {
        Ok(html) => {
            let mut response =
                ([(header::CONTENT_TYPE, "text/html; charset=utf-8")], html).into_response();
            response
                .headers_mut()
                .insert(header::CONTENT_SECURITY_POLICY, state.csp.clone());
            response
        }
        // The viewer's index.html is missing from the dist directory.
        Err(err) => ApiError::new(StatusCode::SERVICE_UNAVAILABLE, messages::VIEWER_NOT_BUILT)
            .caused_by(err)
            .into_response(),
    }
}

/// Headers on every public debug response, success or not.
pub async fn public_headers(request: axum::extract::Request, next: Next) -> Response {
    let mut response = next.run(request).await;
    let h = response.headers_mut();
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    insert_link_privacy(h);
    h.insert(header::VARY, HeaderValue::from_static("Accept"));
    response
}

/// What every answer under a public link carries, whatever it caches: no referrer leaves
/// with the token, no robot indexes it, no content is sniffed.
fn insert_link_privacy(h: &mut HeaderMap) {
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    h.insert(
        "x-robots-tag",
        HeaderValue::from_static("noindex, nofollow"),
    );
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
}

/// Headers on every answer of a link's recording: the public ones, except that a served
/// file keeps its `Cache-Control: private, no-cache` (nothing else is cached).
pub async fn recording_headers(request: axum::extract::Request, next: Next) -> Response {
    let mut response = next.run(request).await;
    let h = response.headers_mut();
    if !h.contains_key(header::CACHE_CONTROL) {
        h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    insert_link_privacy(h);
    response
}

/// `GET /robots.txt`: keep debug links out of search engines.
#[utoipa::path(get, path = "/robots.txt", operation_id = "robots", tag = "health", security(()),
    responses((status = 200, description = "Keeps debug links out of search engines", content_type = "text/plain", body = String)))]
pub async fn robots() -> impl IntoResponse {
    (
        [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
        format!(
            "User-agent: *\nDisallow: {}\n",
            callscope_shared::link::DEBUG_PATH_PREFIX
        ),
    )
}
