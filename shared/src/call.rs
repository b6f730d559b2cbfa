//! The call object and its parts, field for field as the spec writes them.

use serde::{Deserialize, Serialize};

use crate::{
    AgentId, CallId, CallStatus, Disposition, EndedReason, Minutes, Money, Role, Timestamp,
};

/// One tool the assistant called during its turn (additive to the spec's transcript).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ToolCall {
    pub name: String,
    #[serde(default)]
    pub arguments: serde_json::Value,
    /// What the tool returned, as text, when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub result: Option<String>,
}

/// A transcript entry. `timestamp` is seconds from the start of the call.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct TranscriptEntry {
    pub role: Role,
    pub content: String,
    pub timestamp: f64,
    /// Tools the assistant called in this turn; omitted when none.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tool_calls: Vec<ToolCall>,
    /// An assistant entry the caller cut off; omitted when not.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub interrupted: bool,
    /// A caller entry's speech-to-text latency: end of speech → final transcript, in ms.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stt_ms: Option<u32>,
}

/// One assistant turn's latency, in milliseconds from the start of that turn.
/// `ts` is when the turn started, in seconds from the start of the call.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct LatencyTurn {
    pub turn: u32,
    pub ts: f64,
    pub llm_ttfb_ms: u32,
    pub tts_start_ms: u32,
    pub tts_ttfb_ms: u32,
}

/// `latency_data`: `{ turns: [...] }`.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct LatencyData {
    pub turns: Vec<LatencyTurn>,
}

/// The call object. `transcript` and `latency_data` are present only on
/// `GET /v1/calls/:callId`; the list omits them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Call {
    pub call_id: CallId,
    pub agent_id: AgentId,
    pub from_number: String,
    pub to_number: String,
    pub status: CallStatus,
    pub disposition: Option<Disposition>,
    pub ended_reason: Option<EndedReason>,
    pub duration_seconds: i64,
    pub minutes_used: Minutes,
    pub rate_per_minute: Money,
    pub total_cost: Money,
    pub has_recording: bool,
    pub turn_count: u32,
    pub tool_call_count: u32,
    pub tools_called: Vec<String>,
    pub metadata: serde_json::Value,
    pub ws_unavailable: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub transcript: Option<Vec<TranscriptEntry>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub latency_data: Option<LatencyData>,
    pub call_cost: Money,
    pub recording_cost: Money,
    pub llm_discount: Money,
    pub transfer_duration_seconds: i64,
    pub transfer_cost: Money,
    pub transferred_to: Option<String>,
    pub recording_enabled: bool,
    pub extracted_data: serde_json::Value,
    pub started_at: Timestamp,
    pub ended_at: Option<Timestamp>,
}

/// `GET /v1/calls`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CallList {
    pub calls: Vec<Call>,
    pub has_more: bool,
    pub next_cursor: Option<String>,
}

/// `GET /v1/calls/:callId/status`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CallStatusView {
    pub call_id: CallId,
    pub status: CallStatus,
    pub duration_seconds: i64,
    pub started_at: Timestamp,
    pub ended_at: Option<Timestamp>,
}

/// `GET /v1/calls/:callId/recording`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RecordingLink {
    pub url: String,
    pub expires_at: Timestamp,
}
