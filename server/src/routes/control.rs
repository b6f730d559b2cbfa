//! The owner's control of a live call: `POST /v1/calls/:callId/end`, `/transfer` and
//! `/gather` (the spec's bodies and answers). Handlers parse, call `call_control`,
//! serialise.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use callscope_shared::ErrorBody;
use serde::Serialize;
use serde_json::Value;
use utoipa::ToSchema;

use super::calls::parse_call_id;
use crate::app::AppState;
use crate::auth::Auth;
use crate::call_control::{self, GatherRequest, TransferError};
use crate::error::{ApiError, messages};
use crate::extract::{AnyJson, PathParam};

#[derive(Serialize, ToSchema)]
pub struct Success {
    success: bool,
}

impl Success {
    pub const YES: Success = Success { success: true };
}

/// The body of `POST /v1/calls/:callId/transfer` (read field by field by the handler).
#[derive(ToSchema)]
#[allow(dead_code)] // Described, not deserialised.
pub struct TransferBody {
    /// E.164: `+`, then 8 to 15 digits, the first not 0.
    #[schema(pattern = "^\\+[1-9][0-9]{7,14}$", example = "+31850099999")]
    destination: String,
}

/// The body of `POST /v1/calls/:callId/gather` (`call_control::GatherRequest::from_json`
/// reads it; absent or `null` fields take their defaults).
#[derive(ToSchema)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)] // Described, not deserialised.
pub struct GatherBody {
    /// The text to speak, 1 to 3000 characters, not blank.
    #[schema(min_length = 1, max_length = 3000)]
    prompt: String,
    /// Digits to collect.
    #[schema(minimum = 1, maximum = 20, default = 10)]
    max_digits: Option<u32>,
    /// The key that ends input early: one of 0-9, * or #.
    #[schema(pattern = "^[0-9*#]$", default = "#")]
    terminator: Option<String>,
    /// Seconds to wait for input.
    #[schema(minimum = 5, maximum = 60, default = 15)]
    timeout_seconds: Option<u32>,
    /// `female` or `male`.
    #[schema(default = "female")]
    voice: Option<GatherVoice>,
    /// BCP-47 language of the prompt's voice (`en-US` by default); the message of a 400
    /// lists those available.
    #[schema(example = "en-US")]
    language: Option<String>,
}

/// A gather's voice.
#[derive(ToSchema)]
#[serde(rename_all = "lowercase")]
#[allow(dead_code)] // Described, not deserialised.
pub enum GatherVoice {
    Female,
    Male,
}

/// `POST /v1/calls/:callId/end` → `{"success": true}`.
#[utoipa::path(post, path = "/v1/calls/{call_id}/end", operation_id = "end_call", tag = "call control", security(("ApiKey" = [])),
    params(crate::openapi::params::CallPath),
    responses(
        (status = 200, description = "The call is ending (`ended_reason: api`)", body = Success),
        (status = 404, description = "`Call not found`", body = ErrorBody),
        (status = 409, description = "`Call is not in progress`", body = ErrorBody),
        (status = 502, description = "`End failed: <reason>`: the provider refused the hangup", body = ErrorBody),
    ))]
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
    Ok(Json(Success::YES))
}

#[derive(Serialize, ToSchema)]
pub struct Transferred {
    success: bool,
    destination: String,
}

/// `POST /v1/calls/:callId/transfer` `{"destination"}` → `{"success": true, "destination"}`.
#[utoipa::path(post, path = "/v1/calls/{call_id}/transfer", operation_id = "transfer_call", tag = "call control", security(("ApiKey" = [])),
    params(crate::openapi::params::CallPath),
    request_body(content = TransferBody, content_type = "application/json"),
    responses(
        (status = 200, description = "The transfer was started", body = Transferred),
        (status = 400, description = "`destination must be a valid E.164 phone number`, or a body that is not JSON", body = ErrorBody),
        (status = 404, description = "`Call not found`", body = ErrorBody),
        (status = 409, description = "`Call is not in progress`, `Call does not have an active control channel` or `A transfer is already in progress for this call`", body = ErrorBody),
        (status = 422, description = "`Transfer failed: <reason>`: the provider refused it", body = ErrorBody),
    ))]
pub async fn transfer(
    State(state): State<AppState>,
    auth: Auth,
    PathParam(call_id): PathParam,
    AnyJson(body): AnyJson,
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

#[derive(Serialize, ToSchema)]
pub struct GatherInitiated {
    message: &'static str,
    /// The internal numeric id (the spec's note), not `call_…`.
    call_id: i64,
}

/// `POST /v1/calls/:callId/gather` → 202 `{"message": "Gather initiated", "call_id": 1}`.
#[utoipa::path(post, path = "/v1/calls/{call_id}/gather", operation_id = "gather", tag = "call control", security(("ApiKey" = [])),
    params(crate::openapi::params::CallPath),
    request_body(content = GatherBody, content_type = "application/json"),
    responses(
        (status = 202, description = "The gather was started; `call.gather.completed` reports the digits", body = GatherInitiated),
        (status = 400, description = "A field out of range or of the wrong type (the message names it)", body = ErrorBody),
        (status = 404, description = "`Call not found`", body = ErrorBody),
        (status = 409, description = "`Call is not active`, `Call does not have an active control channel` or `A gather operation is already in progress for this call`", body = ErrorBody),
        (status = 422, description = "`Gather failed: <reason>`: the provider refused it", body = ErrorBody),
    ))]
pub async fn gather(
    State(state): State<AppState>,
    auth: Auth,
    PathParam(call_id): PathParam,
    AnyJson(body): AnyJson,
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
