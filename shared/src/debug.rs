//! Debug links: what the owner gets (`DebugLink`) and what anyone holding the link sees
//! (`PublicDebugView`, masked and read-only).

use serde::{Deserialize, Serialize};

use crate::{CallId, CallStatus, Disposition, EndedReason, Role, Timestamp};

/// `GET /v1/calls/:callId/debug-link`. The spec's two fields, then the owner's extras.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DebugLink {
    pub debug_token: String,
    pub url: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created_at: Option<Timestamp>,
    #[serde(default)]
    pub expires_at: Option<Timestamp>,
    /// Whether the link's public view carries the call's recording (`include_recording` at
    /// issue; fixed for the link's life, like `expires_at`).
    #[serde(default)]
    pub include_recording: bool,
    #[serde(default)]
    pub view_count: u64,
    #[serde(default)]
    pub last_viewed_at: Option<Timestamp>,
}

/// A tool call as the public view shows it: its name, arguments and result, masked like
/// all text.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PublicToolCall {
    pub name: String,
    #[serde(default)]
    pub arguments: serde_json::Value,
    /// What the tool returned, when the pipeline reported it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub result: Option<String>,
}

/// One conversation turn. Assistant turns carry their latency; user turns do not.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PublicTurn {
    pub role: Role,
    pub content: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub llm_ttfb_ms: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tts_start_ms: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tts_ttfb_ms: Option<u32>,
    /// Seconds from the start of the call.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timestamp: Option<f64>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tool_calls: Vec<PublicToolCall>,
    /// The caller cut this assistant turn off.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub interrupted: bool,
    /// A caller turn's speech-to-text latency (end of speech → final transcript), in ms.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stt_ms: Option<u32>,
}

/// p50/p90/p99/max of one latency metric over the call's assistant turns.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct MetricStats {
    pub p50: Option<u32>,
    pub p90: Option<u32>,
    pub p99: Option<u32>,
    pub max: Option<u32>,
}

/// The assistant turn the caller waited longest for audio (`latency::slowest_turn`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SlowestTurn {
    /// Index into `turns`.
    pub index: u32,
    /// Its time to first audio (TTS start + TTS TTFB), in ms from the start of the turn.
    pub total_ms: u32,
}

/// Latency summary of the call.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct LatencySummary {
    pub llm_ttfb_ms: MetricStats,
    pub tts_start_ms: MetricStats,
    pub tts_ttfb_ms: MetricStats,
    pub slowest_turn: Option<SlowestTurn>,
}

/// A delivery attempt as the public view shows it: the URL reduced to its origin.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PublicWebhookDelivery {
    pub event: String,
    pub url: String,
    pub attempt: u32,
    pub status_code: Option<u16>,
    pub success: bool,
    pub error: Option<String>,
    pub created_at: Timestamp,
}

/// A moment of call control in the public view: a gather, a transfer, an end asked for
/// through the API. `detail` is already masked (a prompt, the digits entered, a masked
/// destination, a failure reason).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PublicCallEvent {
    /// One of `CALL_EVENTS`.
    pub event: String,
    pub at: Timestamp,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
}

/// The names a `PublicCallEvent` may carry.
pub mod call_events {
    pub const GATHER_STARTED: &str = "call.gather.started";
    pub const GATHER_COMPLETED: &str = "call.gather.completed";
    pub const TRANSFER_INITIATED: &str = "transfer.initiated";
    pub const TRANSFER_COMPLETED: &str = "transfer.completed";
    pub const TRANSFER_FAILED: &str = "transfer.failed";
    pub const END_REQUESTED: &str = "call.end.requested";
}

/// The call's recording in a public view, for a link issued with `include_recording=true`:
/// a short-lived URL of the MP3 and where the audio sits on the call's clock.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PublicRecording {
    /// Reads the audio until `expires_at` (and never past the link's own life).
    pub url: String,
    pub expires_at: Timestamp,
    /// Seconds from the call's start (`started_at`, the transcript's clock) to the audio's
    /// first sample: a turn at `timestamp` t is heard at `t - offset_seconds` in the audio.
    pub offset_seconds: f64,
}

/// `GET /api/v1/call-debug/:token`: the spec's fields, then the viewer's additive ones.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PublicDebugView {
    pub call_id: CallId,
    pub status: CallStatus,
    pub duration_seconds: i64,
    pub from: String,
    pub to: String,
    pub started_at: Timestamp,
    pub turns: Vec<PublicTurn>,
    #[serde(default)]
    pub ended_at: Option<Timestamp>,
    #[serde(default)]
    pub ended_reason: Option<EndedReason>,
    #[serde(default)]
    pub disposition: Option<Disposition>,
    #[serde(default)]
    pub latency: LatencySummary,
    #[serde(default)]
    pub webhooks: Vec<PublicWebhookDelivery>,
    /// Call control as it happened (gathers, transfers, an end asked for), oldest first.
    #[serde(default)]
    pub events: Vec<PublicCallEvent>,
    /// The recording, only on the JSON view of a link that includes it, when the call has
    /// one and the server a recordings store; `null` otherwise (and always in the live
    /// stream's snapshots).
    #[serde(default)]
    pub recording: Option<PublicRecording>,
}

impl PublicDebugView {
    /// The part of the view that is replaced, not appended to, as the call goes on.
    pub fn call_state(&self) -> PublicCallState {
        PublicCallState {
            status: self.status,
            duration_seconds: self.duration_seconds,
            ended_at: self.ended_at,
            ended_reason: self.ended_reason,
            disposition: self.disposition,
            latency: self.latency.clone(),
            events: self.events.clone(),
        }
    }

    /// Applies a `call` event of the live stream.
    pub fn set_call_state(&mut self, state: PublicCallState) {
        self.status = state.status;
        self.duration_seconds = state.duration_seconds;
        self.ended_at = state.ended_at;
        self.ended_reason = state.ended_reason;
        self.disposition = state.disposition;
        self.latency = state.latency;
        self.events = state.events;
    }
}

/// The replaceable part of a `PublicDebugView`: the data of a live stream's `call` event.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PublicCallState {
    pub status: CallStatus,
    pub duration_seconds: i64,
    #[serde(default)]
    pub ended_at: Option<Timestamp>,
    #[serde(default)]
    pub ended_reason: Option<EndedReason>,
    #[serde(default)]
    pub disposition: Option<Disposition>,
    #[serde(default)]
    pub latency: LatencySummary,
    #[serde(default)]
    pub events: Vec<PublicCallEvent>,
}
