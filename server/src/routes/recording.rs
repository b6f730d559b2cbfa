//! `GET /v1/calls/:callId/recording`: a pre-signed S3 URL to the call's recording.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use callscope_shared::{RecordingLink, Timestamp};

use super::calls::{call_not_found, parse_call_id};
use super::params::Params;
use crate::app::AppState;
use crate::auth::Auth;
use crate::clock;
use crate::error::ApiError;
use crate::extract::ApiQuery;
use crate::storage::RecordingState;

/// The spec's range of `expires_in`, in seconds, and its default.
pub const MIN_EXPIRES_IN: i64 = 60;
pub const MAX_EXPIRES_IN: i64 = 86_400;
pub const DEFAULT_EXPIRES_IN: i64 = 3_600;

/// `GET /v1/calls/:callId/recording[?expires_in=SECONDS]`
pub async fn recording(
    State(state): State<AppState>,
    auth: Auth,
    Path(call_id): Path<String>,
    ApiQuery(query): ApiQuery<Vec<(String, String)>>,
) -> Result<Json<RecordingLink>, ApiError> {
    let call_id = parse_call_id(&call_id)?;
    let params = Params::new(query, &["expires_in"])?;
    let expires_in = params.int_in(
        "expires_in",
        MIN_EXPIRES_IN..=MAX_EXPIRES_IN,
        DEFAULT_EXPIRES_IN,
    )?;
    let key = match state
        .store
        .recording_state(auth.account_id, call_id)
        .await?
    {
        RecordingState::NoSuchCall => return Err(call_not_found()),
        RecordingState::NotEnabled => {
            return Err(ApiError::not_found(
                "Recording was not enabled for this call",
            ));
        }
        RecordingState::NotYetAvailable => {
            return Err(ApiError::not_found("Recording not yet available"));
        }
        RecordingState::Available(key) => key,
    };
    // A recording exists but this server cannot sign for it: the operator's doing, not the
    // client's and not a crash, so 503 with a message saying so.
    let Some(recordings) = state.recordings.as_deref() else {
        return Err(ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "Recordings are not configured on this server",
        ));
    };
    let now = clock::now();
    let url = recordings
        .presign_get(&key, expires_in as u64, now)
        .map_err(|err| {
            // Stored data this server will not sign (see `recordings::UnsignableKey`).
            tracing::error!(error = %err, %call_id, "recording key refused");
            ApiError::internal()
        })?;
    let expires_at = Timestamp::from_unix(now + expires_in).ok_or_else(ApiError::internal)?;
    Ok(Json(RecordingLink {
        url: url.into(),
        expires_at,
    }))
}
