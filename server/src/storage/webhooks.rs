//! Webhook delivery records. The outbox and dispatcher that write them for real come with
//! the webhook engine; the demo writes history directly through `insert_delivery`.

use callscope_shared::{CallId, WebhookDelivery};
use sqlx::Row;

use super::{Store, StoreResult};

/// One delivery attempt to record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewDelivery {
    pub account_id: i64,
    pub call_id: Option<CallId>,
    pub event: String,
    pub event_id: String,
    pub url: String,
    pub attempt: u32,
    pub status_code: Option<u16>,
    pub success: bool,
    pub error: Option<String>,
    pub created_at: i64,
}

/// The most delivery records one call's history returns (spec: up to 500).
pub const CALL_DELIVERIES_CAP: i64 = 500;

impl Store {
    pub async fn insert_delivery(&self, d: &NewDelivery) -> StoreResult<i64> {
        let row = sqlx::query(
            "INSERT INTO webhook_deliveries (account_id, call_id, event, event_id, url, attempt, status_code,
                success, error, created_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) RETURNING id",
        )
        .bind(d.account_id)
        .bind(d.call_id.map(CallId::get))
        .bind(d.event.as_str())
        .bind(d.event_id.as_str())
        .bind(d.url.as_str())
        .bind(i64::from(d.attempt))
        .bind(d.status_code.map(i64::from))
        .bind(d.success)
        .bind(d.error.as_deref())
        .bind(d.created_at)
        .fetch_one(self.pool())
        .await?;
        Ok(row.get(0))
    }

    /// A call's deliveries across all endpoints: `created_at` ASC, `attempt` ASC, at most 500.
    pub async fn call_deliveries(&self, call_id: CallId) -> StoreResult<Vec<WebhookDelivery>> {
        let rows = sqlx::query(
            "SELECT id, event, event_id, url, attempt, status_code, CAST(success AS INTEGER), error, created_at
             FROM webhook_deliveries WHERE call_id = $1
             ORDER BY created_at ASC, attempt ASC, id ASC LIMIT $2",
        )
        .bind(call_id.get())
        .bind(CALL_DELIVERIES_CAP)
        .fetch_all(self.pool())
        .await?;
        rows.iter().map(super::outbox::delivery_from_row).collect()
    }
}
