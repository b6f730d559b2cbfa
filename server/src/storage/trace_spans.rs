//! Spans of voice-agent traces waiting for their call (`otlp`), and which call each trace
//! feeds.

use callscope_shared::CallId;

use super::sql::Sql;
use super::{Store, StoreResult, decode};
use crate::clock::UnixTime;

/// One stored span.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct StoredSpan {
    pub trace_id: String,
    pub span_id: String,
    pub parent_id: Option<String>,
    pub name: String,
    pub start_ns: i64,
    pub end_ns: i64,
    /// A JSON object: attribute key → value.
    pub attributes: String,
}

/// What a trace is to callscope.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TraceClaim {
    /// No call yet.
    Unclaimed,
    /// Another request is creating its call, since then.
    Creating { since: UnixTime },
    /// Feeding this call.
    Call { call_id: CallId, completed: bool },
}

#[derive(sqlx::FromRow)]
struct ClaimRow {
    call_id: Option<i64>,
    completed: decode::Flag,
    created_at: UnixTime,
}

/// Most rows one INSERT carries (8 binds each, under SQLite's 32,766).
const INSERT_CHUNK: usize = 500;

impl Store {
    /// Keeps `spans` (a span stored before is left as it is).
    pub async fn put_spans(&self, spans: &[StoredSpan], now: UnixTime) -> StoreResult<()> {
        for chunk in spans.chunks(INSERT_CHUNK) {
            let mut sql = Sql::new(
                "INSERT INTO trace_spans (trace_id, span_id, parent_id, name, start_ns, end_ns,
                    attributes, received_at)",
            );
            sql.values(chunk, |row, s| {
                row.bind(s.trace_id.as_str())?
                    .bind(s.span_id.as_str())?
                    .bind(s.parent_id.as_deref())?
                    .bind(s.name.as_str())?
                    .bind(s.start_ns)?
                    .bind(s.end_ns)?
                    .bind(s.attributes.as_str())?
                    .bind(now)?;
                Ok(())
            })?;
            sql.push(" ON CONFLICT (trace_id, span_id) DO NOTHING");
            let (sql, args) = sql.finish();
            sqlx::query_with(&sql, args).execute(self.pool()).await?;
        }
        Ok(())
    }

    /// Every stored span of a trace, by start time.
    pub async fn trace_spans(&self, trace_id: &str) -> StoreResult<Vec<StoredSpan>> {
        Ok(sqlx::query_as(
            "SELECT trace_id, span_id, parent_id, name, start_ns, end_ns, attributes
             FROM trace_spans WHERE trace_id = $1 ORDER BY start_ns, span_id",
        )
        .bind(trace_id)
        .fetch_all(self.pool())
        .await?)
    }

    /// What the trace feeds.
    pub async fn trace_claim(&self, trace_id: &str) -> StoreResult<TraceClaim> {
        let row: Option<ClaimRow> = sqlx::query_as(
            "SELECT call_id, completed, created_at FROM trace_calls WHERE trace_id = $1",
        )
        .bind(trace_id)
        .fetch_optional(self.pool())
        .await?;
        Ok(match row {
            None => TraceClaim::Unclaimed,
            Some(ClaimRow {
                call_id: None,
                created_at,
                ..
            }) => TraceClaim::Creating { since: created_at },
            Some(ClaimRow {
                call_id: Some(id),
                completed,
                ..
            }) => TraceClaim::Call {
                call_id: decode::call_id(id)?,
                completed: completed.0,
            },
        })
    }

    /// Claims an unclaimed trace for `call_id` (`None`: this caller is about to create the
    /// call). `false` when someone claimed it first.
    pub async fn claim_trace(
        &self,
        trace_id: &str,
        call_id: Option<CallId>,
        now: UnixTime,
    ) -> StoreResult<bool> {
        let inserted = sqlx::query(
            "INSERT INTO trace_calls (trace_id, call_id, completed, created_at)
             VALUES ($1, $2, $3, $4) ON CONFLICT (trace_id) DO NOTHING",
        )
        .bind(trace_id)
        .bind(call_id.map(CallId::get))
        .bind(false)
        .bind(now)
        .execute(self.pool())
        .await?
        .rows_affected();
        Ok(inserted == 1)
    }

    /// The call a claimed trace's creator made.
    pub async fn set_trace_call(&self, trace_id: &str, call_id: CallId) -> StoreResult<()> {
        sqlx::query("UPDATE trace_calls SET call_id = $2 WHERE trace_id = $1")
            .bind(trace_id)
            .bind(call_id.get())
            .execute(self.pool())
            .await?;
        Ok(())
    }

    /// Gives up a claim whose call could not be made (the trace may be claimed again).
    pub async fn release_trace(&self, trace_id: &str) -> StoreResult<()> {
        sqlx::query("DELETE FROM trace_calls WHERE trace_id = $1 AND call_id IS NULL")
            .bind(trace_id)
            .execute(self.pool())
            .await?;
        Ok(())
    }

    /// Frees a claim made at `since` whose creator never named the call (it stopped
    /// midway): the trace may be claimed again.
    pub async fn release_stale_trace(&self, trace_id: &str, since: UnixTime) -> StoreResult<()> {
        sqlx::query(
            "DELETE FROM trace_calls WHERE trace_id = $1 AND call_id IS NULL AND created_at = $2",
        )
        .bind(trace_id)
        .bind(since)
        .execute(self.pool())
        .await?;
        Ok(())
    }

    /// The trace's root was applied: its spans are no longer needed.
    pub async fn complete_trace(&self, trace_id: &str) -> StoreResult<()> {
        let mut tx = self.pool().begin().await?;
        sqlx::query("UPDATE trace_calls SET completed = $2 WHERE trace_id = $1")
            .bind(trace_id)
            .bind(true)
            .execute(&mut *tx)
            .await?;
        sqlx::query("DELETE FROM trace_spans WHERE trace_id = $1")
            .bind(trace_id)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Deletes the spans of traces no call claimed, received before `before`; returns how
    /// many.
    pub async fn expire_spans(&self, before: UnixTime) -> StoreResult<u64> {
        Ok(sqlx::query(
            "DELETE FROM trace_spans WHERE received_at < $1
               AND trace_id NOT IN (SELECT trace_id FROM trace_calls WHERE call_id IS NOT NULL)",
        )
        .bind(before)
        .execute(self.pool())
        .await?
        .rows_affected())
    }
}
