//! Figures read at each metrics scrape (`crate::metrics`): what only the database knows.

use super::{Store, StoreResult};
use crate::clock::UnixTime;

/// The database's side of `/metrics`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Gauges {
    /// Calls ringing or in progress.
    pub live_calls: i64,
    /// Webhook jobs waiting to be delivered (due or not).
    pub outbox_pending: i64,
    /// Seconds the oldest due job has waited (0 when none is due).
    pub outbox_oldest_due_seconds: i64,
}

impl Store {
    pub async fn gauges(&self, now: UnixTime) -> StoreResult<Gauges> {
        let live_calls: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM calls WHERE status IN ('ringing', 'in-progress')",
        )
        .fetch_one(self.pool())
        .await?;
        let outbox_pending: i64 =
            sqlx::query_scalar("SELECT COUNT(*) FROM webhook_jobs WHERE state = 'pending'")
                .fetch_one(self.pool())
                .await?;
        let oldest_due: Option<i64> = sqlx::query_scalar(
            "SELECT MIN(due_at) FROM webhook_jobs WHERE state = 'pending' AND due_at <= $1",
        )
        .bind(now)
        .fetch_one(self.pool())
        .await?;
        Ok(Gauges {
            live_calls,
            outbox_pending,
            outbox_oldest_due_seconds: oldest_due.map_or(0, |due| now.since(UnixTime(due)).max(0)),
        })
    }

    /// Connections open in the pool, and how many of them are idle.
    pub fn pool_usage(&self) -> (u32, usize) {
        (self.pool().size(), self.pool().num_idle())
    }
}
