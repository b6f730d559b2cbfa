//! `GET`/`HEAD /recordings/{key}?expires=<unix>&signature=<base64url>`: a recording of the
//! embedded store, for whoever holds a URL the recording route signed (see
//! `recordings::embedded` for the URL's form).
//!
//! A tampered, expired or foreign URL, a key the store does not keep and a missing file all
//! get the same 404 `{"error": "Not found"}`, so a URL reveals nothing but whether it works.
//! The file is served by `tower-http`'s `ServeFile`: `Accept-Ranges: bytes`, one range per
//! request (`bytes=a-b`, `a-`, `-n`) as a 206 with `Content-Range`, and a 416 with
//! `Content-Range: bytes */<length>` for a range outside the file; browsers' audio players
//! seek with these.

use axum::extract::rejection::PathRejection;
use axum::extract::{Path, Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use tower::ServiceExt;
use tower_http::services::ServeFile;

use callscope_shared::ErrorBody;

use crate::app::AppState;
use crate::error::{ApiError, default_message, messages};
use crate::recordings::RecordingStore;
use crate::recordings::embedded::Verified;
use crate::recordings::store::CONTENT_TYPE;

/// The one answer for every URL that does not lead to a recording.
fn not_found() -> Response {
    let mut response = ApiError::not_found(messages::NOT_FOUND).into_response();
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

/// The value of query parameter `name` if it is given exactly once.
pub(super) fn single<'a>(pairs: &'a [(String, String)], name: &str) -> Option<&'a str> {
    let mut values = pairs.iter().filter(|(n, _)| n == name);
    match (values.next(), values.next()) {
        (Some((_, v)), None) => Some(v),
        _ => None,
    }
}

/// The request's query parameters, decoded.
pub(super) fn query_pairs(request: &Request) -> Vec<(String, String)> {
    url::form_urlencoded::parse(request.uri().query().unwrap_or("").as_bytes())
        .into_owned()
        .collect()
}

/// `GET /recordings/{key}`: a recording of the embedded store, by a signed URL.
#[utoipa::path(get, path = "/recordings/{key}", operation_id = "recording_file", tag = "public", security(()),
    params(
        ("key" = String, Path, description = "The recording's key, `/`-separated segments percent-encoded"),
        crate::openapi::params::RecordingFileQuery,
        ("Range" = Option<String>, Header, description = "One byte range (`bytes=a-b`, `a-`, `-n`)")),
    responses(
        (status = 200, description = "The recording (MP3)", content_type = "audio/mpeg", body = crate::openapi::schemas::Binary),
        (status = 206, description = "The requested range of it", content_type = "audio/mpeg", body = crate::openapi::schemas::Binary),
        (status = 304, description = "Not modified since the client's copy"),
        (status = 404, description = "`Not found`: any failure (signature, expiry, key, file)", body = ErrorBody),
        (status = 416, description = "A range outside the file (`Content-Range: bytes */<length>`)"),
    ))]
pub async fn recording_file(
    State(state): State<AppState>,
    key: Result<Path<String>, PathRejection>,
    request: Request,
) -> Response {
    let Some(RecordingStore::Embedded(store)) = state.config.recordings.as_ref() else {
        return not_found();
    };
    let Ok(Path(key)) = key else {
        return not_found();
    };
    let pairs = query_pairs(&request);
    let (Some(expires), Some(signature)) = (single(&pairs, "expires"), single(&pairs, "signature"))
    else {
        return not_found();
    };
    let now = state.clock.now().secs();
    let Some(verified) = store.verify(&key, expires, signature, now) else {
        return not_found();
    };
    serve(verified, now, request, Caching::UntilExpiry, not_found).await
}

/// How a served recording may be cached (always `private`: the URL is a credential).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Caching {
    /// Kept no longer than the URL works: `private, max-age=<seconds left>`.
    UntilExpiry,
    /// Checked with the server before every reuse (`private, no-cache`; the file's
    /// `Last-Modified` makes that a 304), so a URL whose link was revoked stops at once
    /// even for a browser that has the audio.
    Revalidate,
}

/// Serves a recording file a signed URL checked out for (`/recordings/…`, and a debug
/// link's `…/recording`): `audio/mpeg` whatever the file is called, ranges, and
/// `Cache-Control` as `caching` says. A file that is not there (or is a folder) gets the
/// caller's `not_found`.
pub(super) async fn serve(
    verified: Verified,
    now: i64,
    request: Request,
    caching: Caching,
    not_found: impl FnOnce() -> Response,
) -> Response {
    // Only files: a folder (a key that is a prefix of others) is as missing as nothing.
    if !tokio::fs::metadata(&verified.path)
        .await
        .is_ok_and(|m| m.is_file())
    {
        return not_found();
    }
    let served = ServeFile::new(&verified.path).oneshot(request).await;
    let mut response = match served {
        Ok(response) => response.into_response(),
        Err(never) => match never {},
    };
    match response.status() {
        status if status.is_success() || status == StatusCode::NOT_MODIFIED => {
            // Whatever the file's name says: recordings are MP3.
            response
                .headers_mut()
                .insert(header::CONTENT_TYPE, HeaderValue::from_static(CONTENT_TYPE));
        }
        // Deleted between the check and the open.
        StatusCode::NOT_FOUND => return not_found(),
        StatusCode::RANGE_NOT_SATISFIABLE => {
            let content_range = response.headers().get(header::CONTENT_RANGE).cloned();
            let status = StatusCode::RANGE_NOT_SATISFIABLE;
            response = ApiError::new(status, default_message(status)).into_response();
            if let Some(value) = content_range {
                response.headers_mut().insert(header::CONTENT_RANGE, value);
            }
            response
                .headers_mut()
                .insert(header::ACCEPT_RANGES, HeaderValue::from_static("bytes"));
        }
        _ => return response,
    }
    // Private: the URL is a credential. A cache may keep the audio no longer than the URL
    // works.
    let cache = match caching {
        Caching::UntilExpiry => {
            let max_age = verified.expires.saturating_sub(now).max(0);
            format!("private, max-age={max_age}")
        }
        Caching::Revalidate => "private, no-cache".to_owned(),
    };
    if let Ok(value) = HeaderValue::from_str(&cache) {
        response.headers_mut().insert(header::CACHE_CONTROL, value);
    }
    response.headers_mut().insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    response
}
