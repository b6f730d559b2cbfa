//! Telnyx's webhooks (`POST /telnyx/webhooks`, signed with Telnyx's key, no API key).
//! The handler verifies, calls `call_control::ingest`, serialises.

use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::HeaderMap;
use callscope_shared::ErrorBody;
use serde::Serialize;
use utoipa::ToSchema;

use crate::app::AppState;
use crate::call_control::{self, Ingested};
use crate::error::{ApiError, TelnyxNotConfigured};
use crate::telnyx::{TelnyxEventKind, webhook};

/// Largest Telnyx webhook body (they are a few KiB).
pub const WEBHOOK_BODY_LIMIT: usize = 64 * 1024;

#[derive(Serialize, ToSchema)]
pub struct Received {
    received: bool,
    /// `applied`, `duplicate`, `unknown_call` or `ignored`.
    #[schema(pattern = "^(applied|duplicate|unknown_call|ignored)$")]
    outcome: &'static str,
}

/// Telnyx's webhook envelope: `data` with the event (`event_type`, `id`, `occurred_at`,
/// `payload`). Only a body signed by Telnyx's key is read.
#[derive(ToSchema)]
#[allow(dead_code)] // Described, not deserialised.
pub struct TelnyxEnvelope {
    #[schema(value_type = Object)]
    data: serde_json::Value,
}

/// `POST /telnyx/webhooks`: verified, then applied; any accepted event is a 200.
#[utoipa::path(post, path = "/telnyx/webhooks", operation_id = "telnyx_webhook", tag = "telnyx", security(()),
    params(
        ("telnyx-signature-ed25519" = String, Header, description = "Base64 Ed25519 signature of `<timestamp>|<body>` by Telnyx's key"),
        ("telnyx-timestamp" = String, Header, description = "Unix seconds when Telnyx signed; a stale one is refused"),
    ),
    request_body(content = TelnyxEnvelope, content_type = "application/json", description = "Telnyx's webhook envelope, as Telnyx sends it"),
    responses(
        (status = 200, description = "Verified and applied (`applied`, `duplicate`, `unknown_call` or `ignored`)", body = Received),
        (status = 400, description = "`Invalid Telnyx webhook: …`: not Telnyx's envelope", body = ErrorBody),
        (status = 401, description = "`Invalid Telnyx webhook: …`: a missing, forged or stale signature", body = ErrorBody),
        (status = 503, description = "`Telnyx webhooks are not configured on this server (set CALLSCOPE_TELNYX_PUBLIC_KEY)`, or storage unavailable", body = ErrorBody),
    ))]
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
