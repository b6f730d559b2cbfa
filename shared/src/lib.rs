//! Wire types of the Calls API (`spec/calls-api.txt`) and the pure logic that both the
//! server and the viewer use. No I/O lives here, so the crate builds for wasm32 too.

pub mod call;
pub mod debug;
pub mod endpoint;
pub mod enums;
pub mod error;
pub mod fixed;
pub mod ids;
pub mod latency;
pub mod link;
pub mod live_view;
pub mod mask;
#[cfg(feature = "openapi")]
mod openapi;
pub mod phone;
pub mod stats;
pub mod summary;
pub mod timestamp;
pub mod webhook;

pub use call::{
    Call, CallList, CallStatusView, LatencyData, LatencyTurn, RecordingLink, ToolCall,
    TranscriptEntry,
};
pub use debug::{
    DebugLink, LatencySummary, MetricStats, PublicCallEvent, PublicCallState, PublicDebugView,
    PublicRecording, PublicToolCall, PublicTurn, PublicWebhookDelivery, SlowestTurn, call_events,
};
pub use endpoint::{
    EndpointDeliveries, NewWebhookEndpoint, WEBHOOK_EVENTS, WebhookEndpoint, WebhookEndpointList,
    WebhookTestQueued,
};
pub use enums::{CallStatus, Disposition, EndedReason, ParseEnumError, Role};
pub use error::ErrorBody;
pub use fixed::{Fixed, Minutes, Money};
pub use ids::{AgentId, CallId, IdError};
pub use phone::E164;
pub use summary::{Summary, SummaryFilters};
pub use timestamp::Timestamp;
pub use webhook::{CallWebhooks, WebhookDelivery};
