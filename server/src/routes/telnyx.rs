//! Telnyx's webhooks (`POST /telnyx/webhooks`, signed with Telnyx's key, no API key).
//! The handler verifies, calls `call_control::ingest`, serialises.

use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::HeaderMap;
use serde::Serialize;

use crate::app::AppState;
use crate::call_control::{self, Ingested};
use crate::error::{ApiError, TelnyxNotConfigured};
use crate::telnyx::{TelnyxEventKind, webhook};

/// Largest Telnyx webhook body (they are a few KiB).
pub const WEBHOOK_BODY_LIMIT: usize = 64 * 1024;

#[derive(Serialize)]
pub struct Received {
    received: bool,
    /// `applied`, `duplicate`, `unknown_call` or `ignored`.
    outcome: &'static str,
}

/// `POST /telnyx/webhooks`: verified, then applied; any accepted event is a 200.
pub async fn webhook(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Json<Received>, ApiError> {
    let key = state
        .config
        .telnyx
        .public_key
        .as_ref()
        .ok_or(TelnyxNotConfigured)?;
    let now = state.clock.now();
    let event = webhook::verify_and_parse(key, &headers, &body, now)?;
    let outcome = call_control::ingest(&state.store, &state.live, &event, now).await?;
    if let (Ingested::Applied(call_id), TelnyxEventKind::Answered { .. }) = (outcome, &event.kind) {
        call_control::start_recording_soon(&state.store, state.telephony.as_ref(), call_id);
    }
    let outcome = match outcome {
        Ingested::Applied(_) => "applied",
        Ingested::Duplicate => "duplicate",
        Ingested::UnknownCall => "unknown_call",
        Ingested::Ignored => "ignored",
    };
    Ok(Json(Received {
        received: true,
        outcome,
    }))
}
