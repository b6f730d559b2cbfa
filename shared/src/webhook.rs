//! Webhook delivery records: `GET /v1/calls/:callId/webhooks`.

use serde::{Deserialize, Serialize};

use crate::{CallId, Timestamp};

/// One delivery attempt of one event to one endpoint.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct WebhookDelivery {
    pub id: i64,
    pub event: String,
    pub event_id: String,
    pub url: String,
    pub attempt: u32,
    pub status_code: Option<u16>,
    pub success: bool,
    pub error: Option<String>,
    pub created_at: Timestamp,
}

/// The call's delivery history, ordered by `created_at` then `attempt`, at most 500.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CallWebhooks {
    pub call_id: CallId,
    pub deliveries: Vec<WebhookDelivery>,
}
