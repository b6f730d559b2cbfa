//! The owner's control of a live call: `POST /v1/calls/:callId/end`, `/transfer` and
//! `/gather` (the spec's bodies and answers). Handlers parse, call `call_control`,
//! serialise.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::Serialize;
use serde_json::Value;

use super::calls::parse_call_id;
use crate::app::AppState;
use crate::auth::Auth;
use crate::call_control::{self, GatherRequest, TransferError};
use crate::error::{ApiError, messages};
use crate::extract::{ApiJson, PathParam};

#[derive(Serialize)]
pub struct Success {
    success: bool,
}

/// `POST /v1/calls/:callId/end` → `{"success": true}`.
pub async fn end(
    State(state): State<AppState>,
    auth: Auth,
    PathParam(call_id): PathParam,
) -> Result<Json<Success>, ApiError> {
    let call_id = parse_call_id(&call_id)?;
    call_control::end_call(
        &state.store,
        &state.live,
        state.telephony.as_ref(),
        auth.account_id,
        call_id,
        state.clock.now(),
    )
    .await?;
    Ok(Json(Success { success: true }))
}

#[derive(Serialize)]
pub struct Transferred {
    success: bool,
    destination: String,
}

/// `POST /v1/calls/:callId/transfer` `{"destination"}` → `{"success": true, "destination"}`.
pub async fn transfer(
    State(state): State<AppState>,
    auth: Auth,
    PathParam(call_id): PathParam,
    ApiJson(body): ApiJson<Value>,
) -> Result<Json<Transferred>, ApiError> {
    let destination = body
        .get("destination")
        .and_then(Value::as_str)
        .ok_or(TransferError::InvalidDestination)?;
    let call_id = parse_call_id(&call_id)?;
    let destination = call_control::transfer_call(
        &state.store,
        state.telephony.as_ref(),
        auth.account_id,
        call_id,
        destination,
        state.clock.now(),
    )
    .await?;
    Ok(Json(Transferred {
        success: true,
        destination: destination.as_str().to_owned(),
    }))
}

#[derive(Serialize)]
pub struct GatherInitiated {
    message: &'static str,
    /// The internal numeric id (the spec's note), not `call_…`.
    call_id: i64,
}

/// `POST /v1/calls/:callId/gather` → 202 `{"message": "Gather initiated", "call_id": 1}`.
pub async fn gather(
    State(state): State<AppState>,
    auth: Auth,
    PathParam(call_id): PathParam,
    ApiJson(body): ApiJson<Value>,
) -> Result<(StatusCode, Json<GatherInitiated>), ApiError> {
    let request = GatherRequest::from_json(&body).map_err(ApiError::bad_request)?;
    let call_id = parse_call_id(&call_id)?;
    let call_id = call_control::gather_call(
        &state.store,
        &state.live,
        state.telephony.as_ref(),
        auth.account_id,
        call_id,
        &request,
        state.clock.now(),
    )
    .await?;
    Ok((
        StatusCode::ACCEPTED,
        Json(GatherInitiated {
            message: messages::GATHER_INITIATED,
            call_id: call_id.get(),
        }),
    ))
}
