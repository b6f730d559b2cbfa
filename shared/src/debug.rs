//! Debug links: what the owner gets (`DebugLink`) and what anyone holding the link sees
//! (`PublicDebugView`, masked and read-only).

use serde::{Deserialize, Serialize};

use crate::{CallId, CallStatus, Disposition, EndedReason, Role, Timestamp};

/// `GET /v1/calls/:callId/debug-link`. The spec's two fields, then the owner's extras.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DebugLink {
    pub debug_token: String,
    pub url: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created_at: Option<Timestamp>,
    #[serde(default)]
    pub expires_at: Option<Timestamp>,
    #[serde(default)]
    pub view_count: u64,
    #[serde(default)]
    pub last_viewed_at: Option<Timestamp>,
}

/// A tool call as the public view shows it: its name, arguments and result, masked like
/// all text.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
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
pub struct MetricStats {
    pub p50: Option<u32>,
    pub p90: Option<u32>,
    pub p99: Option<u32>,
    pub max: Option<u32>,
}

/// The assistant turn the caller waited longest for audio (`latency::slowest_turn`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct SlowestTurn {
    /// Index into `turns`.
    pub index: u32,
    /// Its time to first audio (TTS start + TTS TTFB), in ms from the start of the turn.
    pub total_ms: u32,
}

/// Latency summary of the call.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct LatencySummary {
    pub llm_ttfb_ms: MetricStats,
    pub tts_start_ms: MetricStats,
    pub tts_ttfb_ms: MetricStats,
    pub slowest_turn: Option<SlowestTurn>,
}

/// A delivery attempt as the public view shows it: the URL reduced to its origin.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PublicWebhookDelivery {
    pub event: String,
    pub url: String,
    pub attempt: u32,
    pub status_code: Option<u16>,
    pub success: bool,
    pub error: Option<String>,
    pub created_at: Timestamp,
}

/// `GET /api/v1/call-debug/:token`: the spec's fields, then the viewer's additive ones.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
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
}
