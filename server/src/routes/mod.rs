//! HTTP routes. Handlers are thin: parse, call the store or a service, serialise.

mod calls;
mod debug;
mod health;
pub mod params;
mod recording;
mod webhooks;

use axum::Router;
use axum::middleware;
use axum::routing::{delete, get, post};

use crate::app::AppState;

/// Every API route. Unknown paths under `/v1` and `/api` are JSON 404s.
pub fn api() -> Router<AppState> {
    Router::new()
        .route("/healthz", get(health::healthz))
        .route("/readyz", get(health::readyz))
        .route("/v1/calls", get(calls::list))
        .route("/v1/calls/summary", get(calls::summary))
        .route("/v1/calls/{call_id}", get(calls::detail))
        .route("/v1/calls/{call_id}/status", get(calls::status))
        .route("/v1/calls/{call_id}/webhooks", get(calls::webhooks))
        .route("/v1/calls/{call_id}/recording", get(recording::recording))
        .route("/v1/calls/{call_id}/debug-link", get(debug::issue))
        .route("/v1/calls/{call_id}/debug-link/revoke", post(debug::revoke))
        .route("/v1/webhooks", get(webhooks::list).post(webhooks::create))
        .route("/v1/webhooks/{id}", delete(webhooks::delete))
        .route("/v1/webhooks/{id}/test", post(webhooks::test))
        .route("/v1/webhooks/{id}/deliveries", get(webhooks::deliveries))
        .route("/robots.txt", get(debug::robots))
        .merge(
            Router::new()
                .route(
                    &callscope_shared::link::debug_path("{token}"),
                    get(debug::public),
                )
                .route_layer(middleware::from_fn(debug::public_headers)),
        )
}

/// Whether a path belongs to the API (so a miss there is a JSON 404, not a file lookup).
pub fn is_api_path(path: &str) -> bool {
    ["/v1", "/api"]
        .iter()
        .any(|p| path == *p || path.starts_with(&format!("{p}/")))
}
