//! Storing a call: the call row, its transcript and per-turn latency, its day's roll-up and
//! its webhook events, in one transaction.

use callscope_shared::{
    AgentId, CallId, CallStatus, Disposition, EndedReason, Minutes, Money, Role, ToolCall,
};

use super::sql::Sql;
use super::{OutboxEvent, Store, StoreResult, decode};
use crate::clock::UnixTime;
use crate::ids::{AccountId, AgentRowId};

/// One transcript entry to store. `offset_ms` counts from the start of the call.
#[derive(Debug, Clone, PartialEq)]
pub struct NewTranscriptEntry {
    pub role: Role,
    pub content: String,
    pub offset_ms: i64,
    pub tool_calls: Vec<ToolCall>,
}

/// One assistant turn's latency to store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewLatencyTurn {
    pub turn: i64,
    pub offset_ms: i64,
    pub llm_ttfb_ms: i64,
    pub tts_start_ms: i64,
    pub tts_ttfb_ms: i64,
}

/// A call to store, with everything it carries. Counts (`turn_count`, `tool_call_count`,
/// `tools_called`) and whether it has a debug log are derived from the transcript.
#[derive(Debug, Clone, PartialEq)]
pub struct NewCall {
    pub account_id: AccountId,
    pub agent_id: AgentRowId,
    pub from_number: String,
    pub to_number: String,
    pub status: CallStatus,
    pub disposition: Option<Disposition>,
    pub ended_reason: Option<EndedReason>,
    pub duration_seconds: i64,
    pub minutes_used: Minutes,
    pub rate_per_minute: Money,
    pub total_cost: Money,
    pub call_cost: Money,
    pub recording_cost: Money,
    pub llm_discount: Money,
    pub transfer_duration_seconds: i64,
    pub transfer_cost: Money,
    pub transferred_to: Option<String>,
    pub has_recording: bool,
    pub recording_enabled: bool,
    /// The agent's recording rate when the call was created; a live recorded call's
    /// `recording_cost` is settled at it when the call ends.
    pub recording_rate_per_minute: Money,
    pub recording_key: Option<String>,
    pub metadata: serde_json::Value,
    pub extracted_data: serde_json::Value,
    pub ws_unavailable: bool,
    pub call_control_id: Option<String>,
    pub started_at: UnixTime,
    pub ended_at: Option<UnixTime>,
    pub transcript: Vec<NewTranscriptEntry>,
    pub latency: Vec<NewLatencyTurn>,
}

impl NewCall {
    /// A completed, answered call the caller hung up, of `duration_seconds` from
    /// `started_at`, carrying `transcript` and `latency`: no recording, transfer, costs or
    /// metadata. Tests, benches and tools set what they care about on top of it.
    pub fn completed(
        account_id: AccountId,
        agent_id: AgentRowId,
        started_at: UnixTime,
        duration_seconds: i64,
        transcript: Vec<NewTranscriptEntry>,
        latency: Vec<NewLatencyTurn>,
    ) -> NewCall {
        NewCall {
            account_id,
            agent_id,
            from_number: "+31612345678".into(),
            to_number: "+31850012345".into(),
            status: CallStatus::Completed,
            disposition: Some(Disposition::Answered),
            ended_reason: Some(EndedReason::CallerHangup),
            duration_seconds,
            minutes_used: Minutes::from_units(duration_seconds * 100 / 60),
            rate_per_minute: Money::ZERO,
            total_cost: Money::ZERO,
            call_cost: Money::ZERO,
            recording_cost: Money::ZERO,
            llm_discount: Money::ZERO,
            transfer_duration_seconds: 0,
            transfer_cost: Money::ZERO,
            transferred_to: None,
            has_recording: false,
            recording_enabled: false,
            recording_rate_per_minute: crate::billing::DEFAULT_RECORDING_RATE,
            recording_key: None,
            metadata: serde_json::json!({}),
            extracted_data: serde_json::json!({}),
            ws_unavailable: false,
            call_control_id: None,
            started_at,
            ended_at: Some(started_at.plus(duration_seconds)),
            transcript,
            latency,
        }
    }

    /// Distinct tool names in the order first called.
    pub fn tools_called(&self) -> Vec<String> {
        let mut names: Vec<String> = Vec::new();
        for call in self.transcript.iter().flat_map(|e| &e.tool_calls) {
            if !names.contains(&call.name) {
                names.push(call.name.clone());
            }
        }
        names
    }

    /// Whether the call has a debug log (a link can be issued for it): it has a transcript,
    /// or it starts live, reported by the pipeline, so its link follows it from the start.
    pub fn has_debug_log(&self) -> bool {
        !self.transcript.is_empty() || self.status.is_live()
    }

    pub fn tool_call_count(&self) -> usize {
        self.transcript.iter().map(|e| e.tool_calls.len()).sum()
    }
}

/// Rows per multi-row INSERT: well under SQLite's 32,766 bound parameters.
const BATCH_ROWS: usize = 500;

/// Builds a new call's webhook events once its id is known: the call, its id, its agent's
/// public id and the instant they are queued at. Storage calls it only when the account has
/// an endpoint to send them to.
pub trait CallEvents:
    FnOnce(&NewCall, CallId, &AgentId, UnixTime) -> Vec<OutboxEvent> + Send
{
}

impl<F> CallEvents for F where
    F: FnOnce(&NewCall, CallId, &AgentId, UnixTime) -> Vec<OutboxEvent> + Send
{
}

impl Store {
    /// Stores a call with its transcript and latency in one transaction, with the events
    /// `events` builds queued for the account's endpoints at `now`; returns the call's id.
    pub async fn insert_call(
        &self,
        call: &NewCall,
        now: UnixTime,
        events: impl CallEvents,
    ) -> StoreResult<CallId> {
        let mut tx = self.pool().begin().await?;
        let (sql, args) = call_insert(call)?.finish();
        let id: i64 = sqlx::query_scalar_with(&sql, args)
            .fetch_one(&mut *tx)
            .await?;
        let call_id = decode::call_id(id)?;

        for (chunk_no, entries) in call.transcript.chunks(BATCH_ROWS).enumerate() {
            let mut sql = Sql::new(
                "INSERT INTO transcript_entries (call_id, seq, role, content, offset_ms, tool_calls)",
            );
            sql.values(entries.iter().enumerate(), |row, (i, e)| {
                let tool_calls = (!e.tool_calls.is_empty())
                    .then(|| serde_json::to_string(&e.tool_calls).unwrap_or_else(|_| "[]".into()));
                row.bind(id)?
                    .bind((chunk_no * BATCH_ROWS + i) as i64)?
                    .bind(e.role.as_str())?
                    .bind(e.content.as_str())?
                    .bind(e.offset_ms)?
                    .bind(tool_calls)?;
                Ok(())
            })?;
            let (sql, args) = sql.finish();
            sqlx::query_with(&sql, args).execute(&mut *tx).await?;
        }

        for turns in call.latency.chunks(BATCH_ROWS) {
            let mut sql = Sql::new(
                "INSERT INTO turn_latency (call_id, turn, offset_ms, llm_ttfb_ms, tts_start_ms, tts_ttfb_ms)",
            );
            sql.values(turns, |row, t| {
                row.bind(id)?
                    .bind(t.turn)?
                    .bind(t.offset_ms)?
                    .bind(t.llm_ttfb_ms)?
                    .bind(t.tts_start_ms)?
                    .bind(t.tts_ttfb_ms)?;
                Ok(())
            })?;
            let (sql, args) = sql.finish();
            sqlx::query_with(&sql, args).execute(&mut *tx).await?;
        }

        super::daily_stats::add(&mut tx, &call.into(), 1).await?;
        let queued =
            super::outbox::enqueue_call_events(&mut tx, call, call_id, now, events).await?;
        tx.commit().await?;
        if queued > 0 {
            self.wake_dispatcher();
        }
        Ok(call_id)
    }
}

/// The call row's INSERT, returning its id.
fn call_insert(c: &NewCall) -> StoreResult<Sql<'_>> {
    let mut sql = Sql::new(
        "INSERT INTO calls (account_id, agent_id, from_number, to_number, status, disposition, ended_reason,
            duration_seconds, minutes_used_e2, rate_per_minute_e4, total_cost_e4, call_cost_e4,
            recording_cost_e4, llm_discount_e4, transfer_duration_seconds, transfer_cost_e4,
            transferred_to, has_recording, recording_enabled, recording_rate_per_minute_e4,
            recording_key, recording_status, turn_count, tool_call_count, tools_called, metadata,
            extracted_data, ws_unavailable, has_debug_log, call_control_id, started_at, ended_at)",
    );
    sql.values([c], |row, c| {
        row.bind(c.account_id)?
            .bind(c.agent_id)?
            .bind(c.from_number.as_str())?
            .bind(c.to_number.as_str())?
            .bind(c.status.as_str())?
            .bind(c.disposition.map(|d| d.as_str()))?
            .bind(c.ended_reason.map(|r| r.as_str()))?
            .bind(c.duration_seconds)?
            .bind(c.minutes_used.units())?
            .bind(c.rate_per_minute.units())?
            .bind(c.total_cost.units())?
            .bind(c.call_cost.units())?
            .bind(c.recording_cost.units())?
            .bind(c.llm_discount.units())?
            .bind(c.transfer_duration_seconds)?
            .bind(c.transfer_cost.units())?
            .bind(c.transferred_to.as_deref())?
            .bind(c.has_recording)?
            .bind(c.recording_enabled)?
            .bind(c.recording_rate_per_minute.units())?
            .bind(c.recording_key.as_deref())?
            .bind(c.has_recording.then_some("stored"))?
            .bind(c.transcript.len() as i64)?
            .bind(c.tool_call_count() as i64)?
            .bind(serde_json::to_string(&c.tools_called()).unwrap_or_else(|_| "[]".into()))?
            .bind(c.metadata.to_string())?
            .bind(c.extracted_data.to_string())?
            .bind(c.ws_unavailable)?
            .bind(c.has_debug_log())?
            .bind(c.call_control_id.as_deref())?
            .bind(c.started_at)?
            .bind(c.ended_at)?;
        Ok(())
    })?;
    sql.push(" RETURNING id");
    Ok(sql)
}
