//! Liveness and readiness for load balancers and orchestrators.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde_json::{Value, json};

use crate::app::AppState;
use crate::error::ApiError;

/// The process is up.
pub async fn healthz() -> Json<Value> {
    Json(json!({ "status": "ok" }))
}

/// The process can serve: the database (and Redis, when configured) answer.
pub async fn readyz(State(state): State<AppState>) -> Result<Json<Value>, ApiError> {
    if let Err(err) = state.store.ping().await {
        tracing::warn!(error = %err, "database not ready");
        return Err(
            ApiError::new(StatusCode::SERVICE_UNAVAILABLE, "Database unavailable")
                .with_retry_after(5),
        );
    }
    if let Err(err) = state.live.ping().await {
        tracing::warn!(error = %err, "live store not ready");
        return Err(ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "Live call store unavailable",
        )
        .with_retry_after(5));
    }
    Ok(Json(json!({ "status": "ready" })))
}
