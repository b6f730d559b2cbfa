//! Liveness and readiness for load balancers and orchestrators.

use axum::Json;
use axum::extract::State;
use callscope_shared::ErrorBody;
use serde::Serialize;
use utoipa::ToSchema;

use crate::app::AppState;
use crate::error::{ApiError, messages};

/// `{"status": "ok"}` or `{"status": "ready"}`.
#[derive(Serialize, ToSchema)]
pub struct HealthStatus {
    #[schema(pattern = "^(ok|ready)$")]
    status: &'static str,
}

/// The process is up.
#[utoipa::path(get, path = "/healthz", operation_id = "healthz", tag = "health", security(()),
    responses((status = 200, description = "`{\"status\": \"ok\"}`", body = HealthStatus)))]
pub async fn healthz() -> Json<HealthStatus> {
    Json(HealthStatus { status: "ok" })
}

/// The process can serve: the database (and Redis, when configured) answer.
#[utoipa::path(get, path = "/readyz", operation_id = "readyz", tag = "health", security(()),
    responses(
        (status = 200, description = "`{\"status\": \"ready\"}`", body = HealthStatus),
        (status = 503, description = "`Database unavailable` or `Live call store unavailable`", body = ErrorBody,
            headers(("Retry-After" = u64, description = "Seconds to wait"))),
    ))]
pub async fn readyz(State(state): State<AppState>) -> Result<Json<HealthStatus>, ApiError> {
    if let Err(err) = state.store.ping().await {
        return Err(ApiError::unavailable(messages::DATABASE_UNAVAILABLE, 5).caused_by(err));
    }
    if let Err(err) = state.live.ping().await {
        return Err(ApiError::unavailable(messages::LIVE_STORE_UNAVAILABLE, 5).caused_by(err));
    }
    Ok(Json(HealthStatus { status: "ready" }))
}
