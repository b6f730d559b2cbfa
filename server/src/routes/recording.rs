//! `GET /v1/calls/:callId/recording`: a signed URL to the call's recording (see
//! `recordings::link`).

use axum::Json;
use axum::extract::State;
use callscope_shared::{ErrorBody, RecordingLink};

use super::NoStore;
use super::calls::parse_call_id;
use super::params::{Allowed, Params};
use crate::app::AppState;
use crate::auth::Auth;
use crate::error::ApiError;
use crate::extract::PathParam;
use crate::recordings::link::presigned_link;

/// The spec's range of `expires_in`, in seconds, and its default.
pub const MIN_EXPIRES_IN: i64 = 60;
pub const MAX_EXPIRES_IN: i64 = 86_400;
pub const DEFAULT_EXPIRES_IN: i64 = 3_600;

/// The query parameters of the recording route.
pub const PARAMS: Allowed = &["expires_in"];

/// `GET /v1/calls/:callId/recording[?expires_in=SECONDS]`
#[utoipa::path(get, path = "/v1/calls/{call_id}/recording", operation_id = "call_recording", tag = "calls", security(("ApiKey" = [])),
    params(crate::openapi::params::CallPath, crate::openapi::params::RecordingQuery),
    responses(
        (status = 200, description = "A URL of the recording, signed for `expires_in` seconds (`Cache-Control: no-store`)", body = RecordingLink),
        (status = 400, description = "`expires_in must be an integer between 60 and 86400`, or an unknown or repeated parameter", body = ErrorBody),
        (status = 404, description = "`Call not found`, `Recording was not enabled for this call`, `Recording not yet available`, `Recording failed: <reason>` or `Recording was deleted after its retention period`", body = ErrorBody),
    ))]
pub async fn recording(
    State(state): State<AppState>,
    auth: Auth,
    PathParam(call_id): PathParam,
    params: Params,
) -> Result<NoStore<Json<RecordingLink>>, ApiError> {
    let call_id = parse_call_id(&call_id)?;
    let expires_in = params.int_in(
        "expires_in",
        MIN_EXPIRES_IN..=MAX_EXPIRES_IN,
        DEFAULT_EXPIRES_IN,
    )?;
    let link = presigned_link(
        &state.store,
        state.config.recordings.as_ref(),
        auth.account_id,
        call_id,
        expires_in,
        state.clock.now(),
    )
    .await?;
    Ok(NoStore(Json(link)))
}
