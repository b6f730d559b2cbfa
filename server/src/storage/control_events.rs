//! Call control as the public debug view shows it (`control_events`): gathers, transfer
//! steps, an end asked for. Rows are only added; a provider event's row is written in the
//! transaction that records the event as applied, so a repeat adds nothing.

use callscope_shared::CallId;

use super::call_updates::CallTx;
use super::{Store, StoreResult};
use crate::clock::UnixTime;

/// One control event of a call, unmasked (the view masks `detail`).
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct ControlEvent {
    /// One of `callscope_shared::call_events`.
    pub event: String,
    pub at: UnixTime,
    pub detail: Option<String>,
}

impl ControlEvent {
    pub fn new(event: &str, at: UnixTime, detail: Option<String>) -> Self {
        Self {
            event: event.into(),
            at,
            detail,
        }
    }
}

const INSERT: &str =
    "INSERT INTO control_events (call_id, event, at, detail) VALUES ($1, $2, $3, $4)";

async fn insert(
    conn: &mut sqlx::AnyConnection,
    call_id: CallId,
    event: &ControlEvent,
) -> StoreResult<()> {
    sqlx::query(INSERT)
        .bind(call_id.get())
        .bind(&event.event)
        .bind(event.at)
        .bind(event.detail.as_deref())
        .execute(conn)
        .await?;
    Ok(())
}

impl Store {
    /// Adds an event outside any call change (a gather the provider accepted).
    pub async fn add_control_event(
        &self,
        call_id: CallId,
        event: &ControlEvent,
    ) -> StoreResult<()> {
        let mut conn = self.pool().acquire().await?;
        insert(&mut conn, call_id, event).await?;
        self.changes().notify(call_id);
        Ok(())
    }

    /// A call's control events, oldest first.
    pub async fn control_events(&self, call_id: CallId) -> StoreResult<Vec<ControlEvent>> {
        Ok(sqlx::query_as(
            "SELECT event, at, detail FROM control_events WHERE call_id = $1 ORDER BY id",
        )
        .bind(call_id.get())
        .fetch_all(self.pool())
        .await?)
    }
}

impl CallTx {
    /// Adds an event with this change.
    pub async fn add_control_event(&mut self, event: &ControlEvent) -> StoreResult<()> {
        let call_id = self.state().call_id;
        insert(self.conn(), call_id, event).await
    }
}
