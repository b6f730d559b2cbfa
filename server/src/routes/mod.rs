//! HTTP routes. Handlers are thin: parse, call the store or a service, serialise.

pub(crate) mod calls;
pub(crate) mod control;
pub(crate) mod debug;
pub(crate) mod health;
pub mod params;
pub(crate) mod pipeline;
pub(crate) mod recording;
pub(crate) mod recording_file;
pub mod telnyx;
pub(crate) mod traces;
pub(crate) mod webhooks;

use axum::Router;
use axum::http::{HeaderValue, header};
use axum::middleware;
use axum::response::{IntoResponse, Response};
use axum::routing::{MethodRouter, delete, get, patch, post};

use crate::app::AppState;
use params::{Allowed, strict_query};

/// Routes registered with the query parameters each takes (see `params`), and the path of
/// each, so the OpenAPI document can be checked against them (`route_paths`).
#[derive(Default)]
struct Routes {
    router: Router<AppState>,
    paths: Vec<String>,
}

impl Routes {
    fn route(mut self, path: &str, methods: MethodRouter<AppState>, query: Allowed) -> Self {
        let checked = methods.route_layer(middleware::from_fn_with_state(query, strict_query));
        self.paths.push(path.to_owned());
        self.router = self.router.route(path, checked);
        self
    }

    /// A route that reads its own parameters (the public ones: others are ignored).
    fn route_unchecked(mut self, path: &str, methods: MethodRouter<AppState>) -> Self {
        self.paths.push(path.to_owned());
        self.router = self.router.route(path, methods);
        self
    }
}

/// Takes no query parameters.
const NONE: Allowed = &[];

/// Every API route. Unknown paths under `/v1` and `/api` are JSON 404s.
pub fn api() -> Router<AppState> {
    routes().router
}

/// The path of every API route, as registered (`{name}` parameters, `{*name}` for the rest
/// of the path).
pub fn route_paths() -> Vec<String> {
    routes().paths
}

fn routes() -> Routes {
    // The public link takes no parameters but ignores any it is given: links get shared
    // through tools that append tracking parameters (`?utm_source=…`, `?fbclid=…`), and
    // such a link must still open. The strict rule is for the API, where a typo'd filter
    // would silently return everything.
    let links = Routes::default()
        .route_unchecked(
            &callscope_shared::link::debug_path("{token}"),
            get(debug::public),
        )
        .route_unchecked(
            &format!("{}/events", callscope_shared::link::debug_path("{token}")),
            get(debug::events),
        );
    // A link's recording: the same public headers but its own caching (a private cache may
    // keep the audio, revalidated before each reuse), and its own parameters (checked by
    // the handler, others ignored).
    let link_recording = Routes::default().route_unchecked(
        &callscope_shared::link::recording_path("{token}"),
        get(debug::recording),
    );
    // Embedded recordings: the handler checks the signed URL's own parameters (others are
    // ignored, like the public link's) and answers every failure with one 404.
    let files = Routes::default().route_unchecked(
        &format!("{}{{*key}}", crate::recordings::embedded::PATH_PREFIX),
        get(recording_file::recording_file),
    );
    let public = links
        .router
        .route_layer(middleware::from_fn(debug::public_headers))
        .merge(
            link_recording
                .router
                .route_layer(middleware::from_fn(debug::recording_headers)),
        )
        .merge(files.router);
    let public_paths = [links.paths, link_recording.paths, files.paths].concat();
    let api = Routes::default()
        .route("/healthz", get(health::healthz), NONE)
        .route("/readyz", get(health::readyz), NONE)
        .route("/v1/calls", get(calls::list), calls::LIST_PARAMS)
        .route(
            "/v1/calls/summary",
            get(calls::summary),
            calls::SUMMARY_PARAMS,
        )
        .route("/v1/calls/{call_id}", get(calls::detail), NONE)
        .route("/v1/calls/{call_id}/status", get(calls::status), NONE)
        .route("/v1/calls/{call_id}/webhooks", get(calls::webhooks), NONE)
        .route("/v1/calls/{call_id}/end", post(control::end), NONE)
        .route(
            "/v1/calls/{call_id}/transfer",
            post(control::transfer),
            NONE,
        )
        .route("/v1/calls/{call_id}/gather", post(control::gather), NONE)
        .route(
            "/v1/calls/{call_id}/recording",
            get(recording::recording),
            recording::PARAMS,
        )
        .route(
            "/v1/calls/{call_id}/debug-link",
            get(debug::issue),
            debug::ISSUE_PARAMS,
        )
        .route(
            "/v1/calls/{call_id}/debug-link/revoke",
            post(debug::revoke),
            NONE,
        )
        .route(
            "/v1/webhooks",
            get(webhooks::list).post(webhooks::create),
            NONE,
        )
        .route("/v1/webhooks/{id}", delete(webhooks::delete), NONE)
        .route("/v1/webhooks/{id}/test", post(webhooks::test), NONE)
        .route(
            "/v1/webhooks/{id}/deliveries",
            get(webhooks::deliveries),
            webhooks::DELIVERIES_PARAMS,
        )
        .route("/pipeline/v1/calls", post(pipeline::create), NONE)
        .route(
            "/pipeline/v1/calls/{call_id}",
            patch(pipeline::update),
            NONE,
        )
        .route(
            "/pipeline/v1/calls/{call_id}/answer",
            post(pipeline::answer),
            NONE,
        )
        .route(
            "/pipeline/v1/calls/{call_id}/turns",
            post(pipeline::turns),
            NONE,
        )
        .route(
            "/pipeline/v1/calls/{call_id}/end",
            post(pipeline::end),
            NONE,
        )
        .route(
            "/telnyx/webhooks",
            post(telnyx::webhook).layer(axum::extract::DefaultBodyLimit::max(
                telnyx::WEBHOOK_BODY_LIMIT,
            )),
            NONE,
        )
        .route(
            "/v1/traces",
            post(traces::traces).layer(axum::extract::DefaultBodyLimit::max(
                crate::otlp::wire::MAX_BODY_BYTES,
            )),
            NONE,
        )
        .route("/robots.txt", get(debug::robots), NONE)
        .route("/openapi.json", get(crate::openapi::document), NONE);
    Routes {
        router: api
            .router
            .merge(public)
            .route_layer(middleware::from_fn(crate::metrics::track_http)),
        paths: [api.paths, public_paths].concat(),
    }
}

/// An answer that carries a secret (a debug token, a webhook signing secret, a pre-signed
/// recording URL), sent with `Cache-Control: no-store`: the API key that fetched it is in
/// a header no cache keys on, so without this a browser or a shared proxy could keep the
/// secret and hand it to whoever asks next.
pub struct NoStore<T>(pub T);

impl<T: IntoResponse> IntoResponse for NoStore<T> {
    fn into_response(self) -> Response {
        let mut response = self.0.into_response();
        response
            .headers_mut()
            .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
        response
    }
}

/// Whether a path belongs to the API (so a miss there is a JSON 404, not a file lookup).
pub fn is_api_path(path: &str) -> bool {
    ["/v1", "/api", "/pipeline", "/telnyx"]
        .iter()
        .any(|p| path == *p || path.starts_with(&format!("{p}/")))
}
