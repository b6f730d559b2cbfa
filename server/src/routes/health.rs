//! Liveness and readiness for load balancers and orchestrators.

use axum::Json;
use axum::extract::State;
use serde_json::{Value, json};

use crate::app::AppState;
use crate::error::{ApiError, messages};

/// The process is up.
pub async fn healthz() -> Json<Value> {
    Json(json!({ "status": "ok" }))
}

/// The process can serve: the database (and Redis, when configured) answer.
pub async fn readyz(State(state): State<AppState>) -> Result<Json<Value>, ApiError> {
    if let Err(err) = state.store.ping().await {
        return Err(ApiError::unavailable(messages::DATABASE_UNAVAILABLE, 5).caused_by(err));
    }
    if let Err(err) = state.live.ping().await {
        return Err(ApiError::unavailable(messages::LIVE_STORE_UNAVAILABLE, 5).caused_by(err));
    }
    Ok(Json(json!({ "status": "ready" })))
}
