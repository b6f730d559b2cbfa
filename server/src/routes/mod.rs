//! HTTP routes. Handlers are thin: parse, call the store or a service, serialise.

mod calls;
mod health;
pub mod params;

use axum::Router;
use axum::routing::get;

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
}

/// Whether a path belongs to the API (so a miss there is a JSON 404, not a file lookup).
pub fn is_api_path(path: &str) -> bool {
    ["/v1", "/api"]
        .iter()
        .any(|p| path == *p || path.starts_with(&format!("{p}/")))
}
