//! Webhooks from Telnyx: the signature check, then the envelope parsed into a typed event.
//!
//! Telnyx signs `"{telnyx-timestamp}|{raw body}"` with Ed25519 and sends the base64
//! signature in `telnyx-signature-ed25519`. The check runs on the raw bytes as received
//! (before any JSON parsing, which could normalise them), and a timestamp more than
//! [`MAX_SKEW_SECS`] from `now`, either way, is refused so a captured delivery cannot be
//! replayed later. Parsing never panics on any input: a webhook endpoint is public.

use axum::http::HeaderMap;
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use ed25519_dalek::Signature;
use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::Value;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use super::client::ClientState;
use super::hangup::{HangupCause, HangupSource};
use super::settings::WebhookPublicKey;
use crate::clock::UnixTime;

/// Header carrying the base64 Ed25519 signature.
pub const SIGNATURE_HEADER: &str = "telnyx-signature-ed25519";
/// Header carrying the Unix seconds the signature covers.
pub const TIMESTAMP_HEADER: &str = "telnyx-timestamp";
/// Most seconds between a webhook's timestamp and now, either way (Telnyx's SDKs: 300).
pub const MAX_SKEW_SECS: i64 = 300;

/// Why a webhook is refused. Every variant is the sender's fault (a 4xx), never ours.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WebhookError {
    #[error("missing telnyx-signature-ed25519 header")]
    MissingSignature,
    #[error("missing telnyx-timestamp header")]
    MissingTimestamp,
    #[error("telnyx-signature-ed25519 is not base64 of a 64-byte signature")]
    MalformedSignature,
    #[error("telnyx-timestamp is not Unix seconds")]
    MalformedTimestamp,
    #[error("telnyx-timestamp is {skew_secs} s away from now (at most 300 s allowed)")]
    StaleTimestamp { skew_secs: i64 },
    #[error("signature does not match")]
    BadSignature,
    #[error("not a Telnyx event: {0}")]
    Envelope(String),
}

/// Checks a delivery's signature and age against the account's public key.
pub fn verify(
    key: &WebhookPublicKey,
    headers: &HeaderMap,
    body: &[u8],
    now: UnixTime,
) -> Result<(), WebhookError> {
    let signature = headers
        .get(SIGNATURE_HEADER)
        .ok_or(WebhookError::MissingSignature)?;
    let timestamp = headers
        .get(TIMESTAMP_HEADER)
        .ok_or(WebhookError::MissingTimestamp)?
        .as_bytes();
    let signature = STANDARD
        .decode(signature.as_bytes().trim_ascii())
        .ok()
        .and_then(|raw| <[u8; 64]>::try_from(raw).ok())
        .map(|raw| Signature::from_bytes(&raw))
        .ok_or(WebhookError::MalformedSignature)?;
    let secs = std::str::from_utf8(timestamp)
        .ok()
        .filter(|t| !t.is_empty() && t.bytes().all(|b| b.is_ascii_digit()))
        .and_then(|t| t.parse::<i64>().ok())
        .ok_or(WebhookError::MalformedTimestamp)?;
    let skew_secs = now.secs().saturating_sub(secs);
    if skew_secs.saturating_abs() > MAX_SKEW_SECS {
        return Err(WebhookError::StaleTimestamp { skew_secs });
    }
    let mut signed = Vec::with_capacity(timestamp.len() + 1 + body.len());
    signed.extend_from_slice(timestamp);
    signed.push(b'|');
    signed.extend_from_slice(body);
    key.key()
        .verify_strict(&signed, &signature)
        .map_err(|_| WebhookError::BadSignature)
}

/// [`verify`], then [`parse`]: what a webhook route does with a delivery.
pub fn verify_and_parse(
    key: &WebhookPublicKey,
    headers: &HeaderMap,
    body: &[u8],
    now: UnixTime,
) -> Result<TelnyxEvent, WebhookError> {
    verify(key, headers, body, now)?;
    parse(body)
}

/// One Telnyx event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TelnyxEvent {
    /// `data.id`: deliveries repeat, so handlers deduplicate on it.
    pub id: String,
    /// `data.event_type`, as sent.
    pub event_type: String,
    /// `data.occurred_at`, in whole seconds (the end time of a hangup).
    pub occurred_at: UnixTime,
    /// `meta.attempt`, when sent.
    pub attempt: Option<u32>,
    pub kind: TelnyxEventKind,
}

/// What happened, with the fields callscope uses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TelnyxEventKind {
    Initiated {
        leg: CallLeg,
        /// `incoming` | `outgoing`.
        direction: Option<String>,
        start_time: Option<UnixTime>,
    },
    Answered {
        leg: CallLeg,
        start_time: Option<UnixTime>,
    },
    Bridged {
        leg: CallLeg,
    },
    Hangup {
        leg: CallLeg,
        hangup_cause: HangupCause,
        hangup_source: HangupSource,
        sip_hangup_cause: Option<String>,
        start_time: Option<UnixTime>,
    },
    GatherEnded {
        leg: CallLeg,
        /// Empty when nothing was typed.
        digits: String,
        status: GatherStatus,
    },
    DtmfReceived {
        leg: CallLeg,
        digit: String,
    },
    RecordingSaved(RecordingSaved),
    /// Any other event type: accepted (so Telnyx stops retrying) and ignored.
    Other(String),
}

impl TelnyxEventKind {
    /// The call leg the event is about (a saved recording has no call control id).
    pub fn leg(&self) -> Option<&CallLeg> {
        match self {
            Self::Initiated { leg, .. }
            | Self::Answered { leg, .. }
            | Self::Bridged { leg }
            | Self::Hangup { leg, .. }
            | Self::GatherEnded { leg, .. }
            | Self::DtmfReceived { leg, .. } => Some(leg),
            Self::RecordingSaved(_) | Self::Other(_) => None,
        }
    }
}

/// The fields every call event carries.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct CallLeg {
    /// The id commands address.
    pub call_control_id: String,
    pub call_leg_id: String,
    /// Shared by the legs of one transferred call.
    pub call_session_id: String,
    #[serde(default)]
    pub connection_id: Option<String>,
    /// What our command put there (e.g. `target_leg_client_state` of a transfer).
    #[serde(default)]
    pub client_state: Option<ClientState>,
    #[serde(default)]
    pub from: Option<String>,
    #[serde(default)]
    pub to: Option<String>,
}

/// `call.gather.ended`'s `status`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum GatherStatus {
    Valid,
    Invalid,
    CallHangup,
    Cancelled,
    CancelledAmd,
    Timeout,
}

impl GatherStatus {
    /// The status as Telnyx spells it.
    pub fn as_str(&self) -> &'static str {
        match self {
            Self::Valid => "valid",
            Self::Invalid => "invalid",
            Self::CallHangup => "call_hangup",
            Self::Cancelled => "cancelled",
            Self::CancelledAmd => "cancelled_amd",
            Self::Timeout => "timeout",
        }
    }
}

/// `call.recording.saved`. The URLs expire 10 minutes after the event: download at once.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordingSaved {
    pub call_leg_id: String,
    pub call_session_id: String,
    pub client_state: Option<ClientState>,
    pub mp3_url: Option<String>,
    pub wav_url: Option<String>,
    pub recording_started_at: Option<UnixTime>,
    pub recording_ended_at: Option<UnixTime>,
}

#[derive(Deserialize)]
struct Envelope {
    data: Data,
    #[serde(default)]
    meta: Option<Meta>,
}

#[derive(Deserialize)]
struct Data {
    #[allow(dead_code)]
    record_type: String,
    event_type: String,
    id: String,
    occurred_at: String,
    #[serde(default)]
    payload: Option<Value>,
}

#[derive(Deserialize)]
struct Meta {
    #[serde(default)]
    attempt: Option<u32>,
}

#[derive(Deserialize)]
struct Times {
    #[serde(default)]
    start_time: Option<String>,
}

#[derive(Deserialize)]
struct InitiatedFields {
    #[serde(default)]
    direction: Option<String>,
}

#[derive(Deserialize)]
struct HangupFields {
    hangup_cause: HangupCause,
    #[serde(default)]
    hangup_source: Option<HangupSource>,
    #[serde(default)]
    sip_hangup_cause: Option<Value>,
}

#[derive(Deserialize)]
struct GatherFields {
    #[serde(default)]
    digits: Option<String>,
    status: GatherStatus,
}

#[derive(Deserialize)]
struct DtmfFields {
    digit: String,
}

#[derive(Deserialize)]
struct RecordingFields {
    call_leg_id: String,
    call_session_id: String,
    #[serde(default)]
    client_state: Option<ClientState>,
    recording_urls: RecordingUrls,
    #[serde(default)]
    recording_started_at: Option<String>,
    #[serde(default)]
    recording_ended_at: Option<String>,
}

#[derive(Deserialize)]
struct RecordingUrls {
    #[serde(default)]
    mp3: Option<String>,
    #[serde(default)]
    wav: Option<String>,
}

/// Parses a (verified) body. Unknown fields are ignored; a missing required field is an
/// [`WebhookError::Envelope`]. Timestamps inside the payload that do not parse are `None`
/// (they are informative); `occurred_at` must parse.
pub fn parse(body: &[u8]) -> Result<TelnyxEvent, WebhookError> {
    let envelope: Envelope = serde_json::from_slice(body).map_err(envelope_error)?;
    let data = envelope.data;
    let occurred_at = rfc3339(&data.occurred_at)
        .ok_or_else(|| WebhookError::Envelope("data.occurred_at is not RFC 3339".into()))?;
    let payload = || {
        data.payload
            .clone()
            .filter(Value::is_object)
            .ok_or_else(|| WebhookError::Envelope("data.payload must be an object".into()))
    };
    let kind = match data.event_type.as_str() {
        "call.initiated" => {
            let p = payload()?;
            let fields: InitiatedFields = fields(&p)?;
            TelnyxEventKind::Initiated {
                leg: fields_of(&p)?,
                direction: fields.direction,
                start_time: start_time(&p)?,
            }
        }
        "call.answered" => {
            let p = payload()?;
            TelnyxEventKind::Answered {
                leg: fields_of(&p)?,
                start_time: start_time(&p)?,
            }
        }
        "call.bridged" => TelnyxEventKind::Bridged {
            leg: fields_of(&payload()?)?,
        },
        "call.hangup" => {
            let p = payload()?;
            let f: HangupFields = fields(&p)?;
            TelnyxEventKind::Hangup {
                leg: fields_of(&p)?,
                hangup_cause: f.hangup_cause,
                hangup_source: f.hangup_source.unwrap_or_default(),
                sip_hangup_cause: f.sip_hangup_cause.and_then(|v| match v {
                    Value::String(s) => Some(s),
                    Value::Number(n) => Some(n.to_string()),
                    _ => None,
                }),
                start_time: start_time(&p)?,
            }
        }
        "call.gather.ended" => {
            let p = payload()?;
            let f: GatherFields = fields(&p)?;
            TelnyxEventKind::GatherEnded {
                leg: fields_of(&p)?,
                digits: f.digits.unwrap_or_default(),
                status: f.status,
            }
        }
        "call.dtmf.received" => {
            let p = payload()?;
            let f: DtmfFields = fields(&p)?;
            TelnyxEventKind::DtmfReceived {
                leg: fields_of(&p)?,
                digit: f.digit,
            }
        }
        "call.recording.saved" => {
            let f: RecordingFields = fields(&payload()?)?;
            TelnyxEventKind::RecordingSaved(RecordingSaved {
                call_leg_id: f.call_leg_id,
                call_session_id: f.call_session_id,
                client_state: f.client_state,
                mp3_url: f.recording_urls.mp3,
                wav_url: f.recording_urls.wav,
                recording_started_at: f.recording_started_at.as_deref().and_then(rfc3339),
                recording_ended_at: f.recording_ended_at.as_deref().and_then(rfc3339),
            })
        }
        other => TelnyxEventKind::Other(other.to_owned()),
    };
    Ok(TelnyxEvent {
        id: data.id,
        event_type: data.event_type,
        occurred_at,
        attempt: envelope.meta.and_then(|m| m.attempt),
        kind,
    })
}

fn fields<T: DeserializeOwned>(payload: &Value) -> Result<T, WebhookError> {
    T::deserialize(payload).map_err(envelope_error)
}

fn fields_of(payload: &Value) -> Result<CallLeg, WebhookError> {
    fields(payload)
}

fn start_time(payload: &Value) -> Result<Option<UnixTime>, WebhookError> {
    let times: Times = fields(payload)?;
    Ok(times.start_time.as_deref().and_then(rfc3339))
}

fn envelope_error(e: serde_json::Error) -> WebhookError {
    WebhookError::Envelope(e.to_string())
}

/// RFC 3339 (with or without fractions) → whole Unix seconds, rounded down.
fn rfc3339(text: &str) -> Option<UnixTime> {
    OffsetDateTime::parse(text, &Rfc3339)
        .ok()
        .map(|t| UnixTime(t.unix_timestamp()))
}

#[cfg(test)]
mod tests;
