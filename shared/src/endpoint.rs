//! Webhook endpoints of an account: `POST/GET /v1/webhooks`, `DELETE /v1/webhooks/:id`,
//! `POST /v1/webhooks/:id/test` and `GET /v1/webhooks/:id/deliveries`.

use serde::{Deserialize, Serialize};

use crate::{Timestamp, WebhookDelivery};

/// Every event an endpoint can subscribe to (`webhook.test` is sent on request only).
pub const WEBHOOK_EVENTS: [&str; 6] = [
    "call.started",
    "call.ended",
    "transfer.initiated",
    "transfer.completed",
    "transfer.failed",
    "call.gather.completed",
];

/// The body of `POST /v1/webhooks`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct NewWebhookEndpoint {
    #[cfg_attr(
        feature = "openapi",
        schema(pattern = "^https?://[^/?#@]+", max_length = 2048)
    )]
    pub url: String,
    /// Events to receive; absent or empty: every event.
    #[serde(default)]
    pub events: Option<Vec<String>>,
}

/// One endpoint as the API shows it. `secret` is present only in the answer that created it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct WebhookEndpoint {
    pub id: String,
    pub url: String,
    /// Subscribed events; empty means every event.
    pub events: Vec<String>,
    pub enabled: bool,
    pub disabled_reason: Option<String>,
    pub created_at: Timestamp,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secret: Option<String>,
}

/// `GET /v1/webhooks`
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct WebhookEndpointList {
    pub webhooks: Vec<WebhookEndpoint>,
}

/// `POST /v1/webhooks/:id/test` (202): the queued event.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct WebhookTestQueued {
    pub event: String,
    pub event_id: String,
}

/// `GET /v1/webhooks/:id/deliveries`: newest first, keyset-paginated like `GET /v1/calls`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct EndpointDeliveries {
    pub webhook_id: String,
    pub deliveries: Vec<WebhookDelivery>,
    pub has_more: bool,
    pub next_cursor: Option<String>,
}
