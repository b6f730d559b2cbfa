//! Calls with their transcript and per-turn latency.

use callscope_shared::{
    AgentId, Call, CallId, CallStatus, Disposition, EndedReason, LatencyData, LatencyTurn, Minutes,
    Money, Role, ToolCall, TranscriptEntry,
};
use sqlx::any::AnyArguments;
use sqlx::query::Query;
use sqlx::{Any, Row};

use super::{Store, StoreError, StoreResult, instant, parse_enum, parse_json};

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
    pub account_id: i64,
    pub agent_id: i64,
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
    pub recording_key: Option<String>,
    pub metadata: serde_json::Value,
    pub extracted_data: serde_json::Value,
    pub ws_unavailable: bool,
    pub call_control_id: Option<String>,
    pub started_at: i64,
    pub ended_at: Option<i64>,
    pub transcript: Vec<NewTranscriptEntry>,
    pub latency: Vec<NewLatencyTurn>,
}

impl NewCall {
    /// A completed, answered call the caller hung up, of `duration_seconds` from
    /// `started_at`, carrying `transcript` and `latency`: no recording, transfer, costs or
    /// metadata. Tests, benches and tools set what they care about on top of it.
    pub fn completed(
        account_id: i64,
        agent_id: i64,
        started_at: i64,
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
            recording_key: None,
            metadata: serde_json::json!({}),
            extracted_data: serde_json::json!({}),
            ws_unavailable: false,
            call_control_id: None,
            started_at,
            ended_at: Some(started_at + duration_seconds),
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

    pub fn tool_call_count(&self) -> usize {
        self.transcript.iter().map(|e| e.tool_calls.len()).sum()
    }
}

/// What an account's call says about its recording.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RecordingState {
    /// No such call, or another account's.
    NoSuchCall,
    /// The agent did not have recording turned on for this call.
    NotEnabled,
    /// Recording was on but there is no uploaded object (yet).
    NotYetAvailable,
    /// The object key of the recording in the recordings bucket.
    Available(String),
}

/// Rows per multi-row INSERT: well under SQLite's 32,766 bound parameters.
const BATCH_ROWS: usize = 500;

/// The call columns every read selects, in `call_from_row`'s order.
pub(super) const CALL_COLUMNS: &str = "c.id, ag.public_id, c.from_number, c.to_number, c.status, c.disposition, \
     c.ended_reason, c.duration_seconds, c.minutes_used_e2, c.rate_per_minute_e4, c.total_cost_e4, \
     CAST(c.has_recording AS INTEGER), c.turn_count, c.tool_call_count, c.tools_called, c.metadata, \
     CAST(c.ws_unavailable AS INTEGER), c.call_cost_e4, c.recording_cost_e4, c.llm_discount_e4, \
     c.transfer_duration_seconds, c.transfer_cost_e4, c.transferred_to, \
     CAST(c.recording_enabled AS INTEGER), c.extracted_data, c.started_at, c.ended_at";

/// Builds the list form of a call (no transcript, no latency) from a `CALL_COLUMNS` row.
pub(super) fn call_from_row(row: &sqlx::any::AnyRow) -> StoreResult<Call> {
    let id: i64 = row.get(0);
    let public_id: String = row.get(1);
    let disposition: Option<String> = row.get(5);
    let ended_reason: Option<String> = row.get(6);
    let ended_at: Option<i64> = row.get(26);
    Ok(Call {
        call_id: CallId::new(id).ok_or_else(|| StoreError::Corrupt(format!("call id {id}")))?,
        agent_id: public_id
            .parse::<AgentId>()
            .map_err(|_| StoreError::Corrupt(format!("agent id {public_id:?}")))?,
        from_number: row.get(2),
        to_number: row.get(3),
        status: parse_enum(&row.get::<String, _>(4), "call status")?,
        disposition: disposition
            .map(|d| parse_enum(&d, "disposition"))
            .transpose()?,
        ended_reason: ended_reason
            .map(|r| parse_enum(&r, "ended reason"))
            .transpose()?,
        duration_seconds: row.get(7),
        minutes_used: Minutes::from_units(row.get(8)),
        rate_per_minute: Money::from_units(row.get(9)),
        total_cost: Money::from_units(row.get(10)),
        has_recording: row.get::<i64, _>(11) != 0,
        turn_count: u32::try_from(row.get::<i64, _>(12)).unwrap_or(u32::MAX),
        tool_call_count: u32::try_from(row.get::<i64, _>(13)).unwrap_or(u32::MAX),
        tools_called: parse_json(&row.get::<String, _>(14), "tools_called")?,
        metadata: parse_json(&row.get::<String, _>(15), "metadata")?,
        ws_unavailable: row.get::<i64, _>(16) != 0,
        transcript: None,
        latency_data: None,
        call_cost: Money::from_units(row.get(17)),
        recording_cost: Money::from_units(row.get(18)),
        llm_discount: Money::from_units(row.get(19)),
        transfer_duration_seconds: row.get(20),
        transfer_cost: Money::from_units(row.get(21)),
        transferred_to: row.get(22),
        recording_enabled: row.get::<i64, _>(23) != 0,
        extracted_data: parse_json(&row.get::<String, _>(24), "extracted_data")?,
        started_at: instant(row.get(25))?,
        ended_at: ended_at.map(instant).transpose()?,
    })
}

fn bind_call<'q>(
    q: Query<'q, Any, AnyArguments<'q>>,
    c: &'q NewCall,
) -> Query<'q, Any, AnyArguments<'q>> {
    q.bind(c.account_id)
        .bind(c.agent_id)
        .bind(c.from_number.as_str())
        .bind(c.to_number.as_str())
        .bind(c.status.as_str())
        .bind(c.disposition.map(|d| d.as_str()))
        .bind(c.ended_reason.map(|r| r.as_str()))
        .bind(c.duration_seconds)
        .bind(c.minutes_used.units())
        .bind(c.rate_per_minute.units())
        .bind(c.total_cost.units())
        .bind(c.call_cost.units())
        .bind(c.recording_cost.units())
        .bind(c.llm_discount.units())
        .bind(c.transfer_duration_seconds)
        .bind(c.transfer_cost.units())
        .bind(c.transferred_to.as_deref())
        .bind(c.has_recording)
        .bind(c.recording_enabled)
        .bind(c.recording_key.as_deref())
        .bind(c.transcript.len() as i64)
        .bind(c.tool_call_count() as i64)
        .bind(serde_json::to_string(&c.tools_called()).unwrap_or_else(|_| "[]".into()))
        .bind(c.metadata.to_string())
        .bind(c.extracted_data.to_string())
        .bind(c.ws_unavailable)
        .bind(!c.transcript.is_empty())
        .bind(c.call_control_id.as_deref())
        .bind(c.started_at)
        .bind(c.ended_at)
}

/// `($1, $2, …), (…)` for `rows` rows of `cols` parameters each.
fn values_clause(rows: usize, cols: usize) -> String {
    let mut out = String::new();
    for r in 0..rows {
        if r > 0 {
            out.push_str(", ");
        }
        out.push('(');
        for c in 0..cols {
            if c > 0 {
                out.push_str(", ");
            }
            out.push_str(&format!("${}", r * cols + c + 1));
        }
        out.push(')');
    }
    out
}

impl Store {
    /// Stores a call with its transcript and latency in one transaction; returns its id.
    pub async fn insert_call(&self, call: &NewCall) -> StoreResult<CallId> {
        let mut tx = self.pool().begin().await?;
        let sql = format!(
            "INSERT INTO calls (account_id, agent_id, from_number, to_number, status, disposition, ended_reason,
                duration_seconds, minutes_used_e2, rate_per_minute_e4, total_cost_e4, call_cost_e4,
                recording_cost_e4, llm_discount_e4, transfer_duration_seconds, transfer_cost_e4,
                transferred_to, has_recording, recording_enabled, recording_key, turn_count,
                tool_call_count, tools_called, metadata, extracted_data, ws_unavailable, has_debug_log,
                call_control_id, started_at, ended_at)
             VALUES {} RETURNING id",
            values_clause(1, 30)
        );
        let id: i64 = bind_call(sqlx::query(&sql), call)
            .fetch_one(&mut *tx)
            .await?
            .get(0);

        for chunk in call.transcript.chunks(BATCH_ROWS).enumerate() {
            let (chunk_no, entries) = chunk;
            let sql = format!(
                "INSERT INTO transcript_entries (call_id, seq, role, content, offset_ms, tool_calls) VALUES {}",
                values_clause(entries.len(), 6)
            );
            let mut q = sqlx::query(&sql);
            for (i, e) in entries.iter().enumerate() {
                let tool_calls = (!e.tool_calls.is_empty())
                    .then(|| serde_json::to_string(&e.tool_calls).unwrap_or_else(|_| "[]".into()));
                q = q
                    .bind(id)
                    .bind((chunk_no * BATCH_ROWS + i) as i64)
                    .bind(e.role.as_str())
                    .bind(e.content.as_str())
                    .bind(e.offset_ms)
                    .bind(tool_calls);
            }
            q.execute(&mut *tx).await?;
        }

        for turns in call.latency.chunks(BATCH_ROWS) {
            let sql = format!(
                "INSERT INTO turn_latency (call_id, turn, offset_ms, llm_ttfb_ms, tts_start_ms, tts_ttfb_ms) VALUES {}",
                values_clause(turns.len(), 6)
            );
            let mut q = sqlx::query(&sql);
            for t in turns {
                q = q
                    .bind(id)
                    .bind(t.turn)
                    .bind(t.offset_ms)
                    .bind(t.llm_ttfb_ms)
                    .bind(t.tts_start_ms)
                    .bind(t.tts_ttfb_ms);
            }
            q.execute(&mut *tx).await?;
        }

        super::listing::add_to_daily_stats(&mut tx, call, 1).await?;
        let queued =
            super::outbox::enqueue_call_events(&mut tx, call, id, crate::clock::now()).await?;
        tx.commit().await?;
        if queued > 0 {
            self.wake_dispatcher();
        }
        CallId::new(id).ok_or_else(|| StoreError::Corrupt(format!("call id {id}")))
    }

    /// How many calls an account has.
    pub async fn count_calls(&self, account_id: i64) -> StoreResult<i64> {
        let row = sqlx::query("SELECT COUNT(*) FROM calls WHERE account_id = $1")
            .bind(account_id)
            .fetch_one(self.pool())
            .await?;
        Ok(row.get(0))
    }

    /// Whether an account's call has a recording, and its object key if so.
    pub async fn recording_state(
        &self,
        account_id: i64,
        call_id: CallId,
    ) -> StoreResult<RecordingState> {
        let row = sqlx::query(
            "SELECT CAST(recording_enabled AS INTEGER), CAST(has_recording AS INTEGER), recording_key
             FROM calls WHERE account_id = $1 AND id = $2",
        )
        .bind(account_id)
        .bind(call_id.get())
        .fetch_optional(self.pool())
        .await?;
        let Some(row) = row else {
            return Ok(RecordingState::NoSuchCall);
        };
        let enabled = row.get::<i64, _>(0) != 0;
        let has_recording = row.get::<i64, _>(1) != 0;
        let key: Option<String> = row.get(2);
        Ok(match key.filter(|k| !k.is_empty()) {
            _ if !enabled => RecordingState::NotEnabled,
            Some(key) if has_recording => RecordingState::Available(key),
            _ => RecordingState::NotYetAvailable,
        })
    }

    /// The full call object (with transcript and latency) if the account owns the call.
    pub async fn get_call(&self, account_id: i64, call_id: CallId) -> StoreResult<Option<Call>> {
        self.load_call(Some(account_id), call_id).await
    }

    /// The full call object whoever owns it: for a debug link, which names one call.
    pub async fn get_call_for_link(&self, call_id: CallId) -> StoreResult<Option<Call>> {
        self.load_call(None, call_id).await
    }

    async fn load_call(
        &self,
        account_id: Option<i64>,
        call_id: CallId,
    ) -> StoreResult<Option<Call>> {
        let row = sqlx::query(&format!(
            "SELECT {CALL_COLUMNS} FROM calls c JOIN agents ag ON ag.id = c.agent_id
             WHERE c.id = $1 AND ($2 IS NULL OR c.account_id = $2)"
        ))
        .bind(call_id.get())
        .bind(account_id)
        .fetch_optional(self.pool())
        .await?;
        let Some(row) = row else { return Ok(None) };
        let mut call = call_from_row(&row)?;
        call.transcript = Some(self.transcript(call_id).await?);
        call.latency_data = Some(LatencyData {
            turns: self.latency_turns(call_id).await?,
        });
        Ok(Some(call))
    }

    /// A call's transcript in order.
    pub async fn transcript(&self, call_id: CallId) -> StoreResult<Vec<TranscriptEntry>> {
        let rows = sqlx::query(
            "SELECT role, content, offset_ms, tool_calls FROM transcript_entries WHERE call_id = $1 ORDER BY seq",
        )
        .bind(call_id.get())
        .fetch_all(self.pool())
        .await?;
        rows.iter()
            .map(|r| {
                let tool_calls: Option<String> = r.get(3);
                Ok(TranscriptEntry {
                    role: parse_enum(&r.get::<String, _>(0), "role")?,
                    content: r.get(1),
                    timestamp: r.get::<i64, _>(2) as f64 / 1000.0,
                    tool_calls: tool_calls
                        .map(|t| parse_json(&t, "tool_calls"))
                        .transpose()?
                        .unwrap_or_default(),
                })
            })
            .collect()
    }

    /// A call's per-turn latency in turn order.
    pub async fn latency_turns(&self, call_id: CallId) -> StoreResult<Vec<LatencyTurn>> {
        let rows = sqlx::query(
            "SELECT turn, offset_ms, llm_ttfb_ms, tts_start_ms, tts_ttfb_ms FROM turn_latency
             WHERE call_id = $1 ORDER BY turn",
        )
        .bind(call_id.get())
        .fetch_all(self.pool())
        .await?;
        let ms = |v: i64| u32::try_from(v).unwrap_or(u32::MAX);
        Ok(rows
            .iter()
            .map(|r| LatencyTurn {
                turn: ms(r.get(0)),
                ts: r.get::<i64, _>(1) as f64 / 1000.0,
                llm_ttfb_ms: ms(r.get(2)),
                tts_start_ms: ms(r.get(3)),
                tts_ttfb_ms: ms(r.get(4)),
            })
            .collect())
    }
}
