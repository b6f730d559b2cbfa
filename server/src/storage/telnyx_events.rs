//! Telnyx webhooks already applied (`telnyx_events`), and finding a call by the provider's
//! handle alone: Telnyx's webhooks name no account, the `call_control_id` is the call.

use callscope_shared::CallId;

use super::{Store, StoreResult, decode};
use crate::clock::UnixTime;

/// One applied Telnyx event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SeenTelnyxEvent {
    /// `data.id`.
    pub event_id: String,
    pub event_type: String,
    pub call_id: CallId,
    pub occurred_at: UnixTime,
    /// `call.hangup` only: `hangup_cause` and `hangup_source` as sent.
    pub hangup_cause: Option<String>,
    pub hangup_source: Option<String>,
}

#[derive(sqlx::FromRow)]
struct HangupRow {
    occurred_at: UnixTime,
    hangup_cause: Option<String>,
    hangup_source: Option<String>,
}

impl Store {
    /// The first call made for the provider's call `call_control_id`, whatever its account.
    pub async fn call_by_control_id_any(
        &self,
        call_control_id: &str,
    ) -> StoreResult<Option<CallId>> {
        let id: Option<i64> = sqlx::query_scalar(
            "SELECT id FROM calls WHERE call_control_id = $1 ORDER BY id LIMIT 1",
        )
        .bind(call_control_id)
        .fetch_optional(self.pool())
        .await?;
        id.map(decode::call_id).transpose()
    }

    /// Whether the event `event_id` was applied already.
    pub async fn telnyx_event_seen(&self, event_id: &str) -> StoreResult<bool> {
        let found: Option<i64> =
            sqlx::query_scalar("SELECT 1 FROM telnyx_events WHERE event_id = $1")
                .bind(event_id)
                .fetch_optional(self.pool())
                .await?;
        Ok(found.is_some())
    }

    /// Records an applied event; a second record of the same id changes nothing.
    pub async fn record_telnyx_event(
        &self,
        event: &SeenTelnyxEvent,
        received_at: UnixTime,
    ) -> StoreResult<()> {
        let mut conn = self.pool().acquire().await?;
        record(&mut conn, event, received_at).await?;
        Ok(())
    }

    /// The applied `call.hangup` that decided a call's end: when it happened, its cause and source.
    pub async fn telnyx_hangup_of(
        &self,
        call_id: CallId,
    ) -> StoreResult<Option<(UnixTime, Option<String>, Option<String>)>> {
        let row: Option<HangupRow> = sqlx::query_as(
            "SELECT occurred_at, hangup_cause, hangup_source FROM telnyx_events \
             WHERE call_id = $1 AND event_type = 'call.hangup' AND hangup_cause IS NOT NULL ORDER BY received_at, event_id LIMIT 1",
        )
        .bind(call_id.get())
        .fetch_optional(self.pool())
        .await?;
        Ok(row.map(|r| (r.occurred_at, r.hangup_cause, r.hangup_source)))
    }
}

/// Records an applied event on `conn`: `false` when its id was recorded before.
pub(super) async fn record(
    conn: &mut sqlx::AnyConnection,
    event: &SeenTelnyxEvent,
    received_at: UnixTime,
) -> StoreResult<bool> {
    let inserted = sqlx::query(
        "INSERT INTO telnyx_events (event_id, event_type, call_id, occurred_at, \
         hangup_cause, hangup_source, received_at) VALUES ($1, $2, $3, $4, $5, $6, $7) \
         ON CONFLICT (event_id) DO NOTHING",
    )
    .bind(&event.event_id)
    .bind(&event.event_type)
    .bind(event.call_id.get())
    .bind(event.occurred_at)
    .bind(&event.hangup_cause)
    .bind(&event.hangup_source)
    .bind(received_at)
    .execute(conn)
    .await?
    .rows_affected();
    Ok(inserted == 1)
}
