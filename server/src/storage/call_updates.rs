//! Changing a stored call while it is live and after: one locked unit of work per change
//! (`CallTx`). The caller (the pipeline service) reads the call's state, decides, and writes
//! through it; the call row, its transcript and latency, its day's roll-up and its webhook
//! events change together or not at all.

use callscope_shared::{
    AgentId, CallId, CallStatus, Disposition, EndedReason, Minutes, Money, Role, ToolCall,
};
use sqlx::Any;

use super::daily_stats::{self, Contribution};
use super::decode::{self, Flag};
use super::sql::Sql;
use super::{OutboxEvent, Store, StoreResult};
use crate::clock::UnixTime;
use crate::ids::{AccountId, AgentRowId};

/// What a stored call says about itself: everything a change reads or writes.
#[derive(Debug, Clone, PartialEq)]
pub struct CallState {
    pub call_id: CallId,
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
    pub transfer_cost: Money,
    /// The destination of a completed transfer.
    pub transferred_to: Option<String>,
    /// How long the transferred conversation lasted.
    pub transfer_duration_seconds: i64,
    pub recording_enabled: bool,
    /// What recording costs per minute on this call (its agent's rate at creation).
    pub recording_rate_per_minute: Money,
    pub metadata: serde_json::Value,
    pub extracted_data: serde_json::Value,
    pub ws_unavailable: bool,
    pub call_control_id: Option<String>,
    pub started_at: UnixTime,
    pub ended_at: Option<UnixTime>,
}

impl CallState {
    fn contribution(&self) -> Contribution {
        Contribution {
            account_id: self.account_id,
            agent_id: self.agent_id,
            started_at: self.started_at,
            status: self.status,
            disposition: self.disposition,
            duration_seconds: self.duration_seconds,
            minutes_used: self.minutes_used,
            total_cost: self.total_cost,
            recording_cost: self.recording_cost,
            llm_discount: self.llm_discount,
        }
    }
}

const STATE_COLUMNS: &str = "id, account_id, agent_id, from_number, to_number, status, \
    disposition, ended_reason, duration_seconds, minutes_used_e2, rate_per_minute_e4, \
    total_cost_e4, call_cost_e4, recording_cost_e4, llm_discount_e4, transfer_cost_e4, \
    transferred_to, transfer_duration_seconds, recording_enabled, recording_rate_per_minute_e4, metadata, extracted_data, ws_unavailable, call_control_id, started_at, \
    ended_at";

#[derive(sqlx::FromRow)]
struct StateRow {
    id: i64,
    account_id: AccountId,
    agent_id: AgentRowId,
    from_number: String,
    to_number: String,
    status: String,
    disposition: Option<String>,
    ended_reason: Option<String>,
    duration_seconds: i64,
    minutes_used_e2: i64,
    rate_per_minute_e4: i64,
    total_cost_e4: i64,
    call_cost_e4: i64,
    recording_cost_e4: i64,
    llm_discount_e4: i64,
    transfer_cost_e4: i64,
    transferred_to: Option<String>,
    transfer_duration_seconds: i64,
    recording_enabled: Flag,
    recording_rate_per_minute_e4: i64,
    metadata: String,
    extracted_data: String,
    ws_unavailable: Flag,
    call_control_id: Option<String>,
    started_at: UnixTime,
    ended_at: Option<UnixTime>,
}

impl TryFrom<StateRow> for CallState {
    type Error = super::StoreError;

    fn try_from(r: StateRow) -> StoreResult<Self> {
        Ok(CallState {
            call_id: decode::call_id(r.id)?,
            account_id: r.account_id,
            agent_id: r.agent_id,
            from_number: r.from_number,
            to_number: r.to_number,
            status: decode::enumerated(&r.status, "call status")?,
            disposition: decode::optional_enumerated(r.disposition, "disposition")?,
            ended_reason: decode::optional_enumerated(r.ended_reason, "ended reason")?,
            duration_seconds: r.duration_seconds,
            minutes_used: Minutes::from_units(r.minutes_used_e2),
            rate_per_minute: Money::from_units(r.rate_per_minute_e4),
            total_cost: Money::from_units(r.total_cost_e4),
            call_cost: Money::from_units(r.call_cost_e4),
            recording_cost: Money::from_units(r.recording_cost_e4),
            llm_discount: Money::from_units(r.llm_discount_e4),
            transfer_cost: Money::from_units(r.transfer_cost_e4),
            transferred_to: r.transferred_to,
            transfer_duration_seconds: r.transfer_duration_seconds,
            recording_enabled: r.recording_enabled.into(),
            recording_rate_per_minute: Money::from_units(r.recording_rate_per_minute_e4),
            metadata: decode::json(&r.metadata, "metadata")?,
            extracted_data: decode::json(&r.extracted_data, "extracted_data")?,
            ws_unavailable: r.ws_unavailable.into(),
            call_control_id: r.call_control_id,
            started_at: r.started_at,
            ended_at: r.ended_at,
        })
    }
}

/// The latency the pipeline reported with an assistant entry (ms from the turn's start).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EntryLatency {
    pub llm_ttfb_ms: i64,
    pub tts_start_ms: i64,
    pub tts_ttfb_ms: i64,
}

/// One transcript entry under its sequence number, with its latency if it has one.
#[derive(Debug, Clone, PartialEq)]
pub struct SeqEntry {
    pub seq: i64,
    pub role: Role,
    pub content: String,
    pub offset_ms: i64,
    pub tool_calls: Vec<ToolCall>,
    pub latency: Option<EntryLatency>,
    pub interrupted: bool,
    pub stt_ms: Option<i64>,
}

#[derive(sqlx::FromRow)]
struct SeqEntryRow {
    seq: i64,
    role: String,
    content: String,
    offset_ms: i64,
    tool_calls: Option<String>,
    llm_ttfb_ms: Option<i64>,
    tts_start_ms: Option<i64>,
    tts_ttfb_ms: Option<i64>,
    interrupted: Flag,
    stt_ms: Option<i64>,
}

impl TryFrom<SeqEntryRow> for SeqEntry {
    type Error = super::StoreError;

    fn try_from(r: SeqEntryRow) -> StoreResult<Self> {
        let latency = match (r.llm_ttfb_ms, r.tts_start_ms, r.tts_ttfb_ms) {
            (Some(llm_ttfb_ms), Some(tts_start_ms), Some(tts_ttfb_ms)) => Some(EntryLatency {
                llm_ttfb_ms,
                tts_start_ms,
                tts_ttfb_ms,
            }),
            _ => None,
        };
        Ok(SeqEntry {
            seq: r.seq,
            role: decode::enumerated(&r.role, "role")?,
            content: r.content,
            offset_ms: r.offset_ms,
            tool_calls: r
                .tool_calls
                .map(|t| decode::json(&t, "tool_calls"))
                .transpose()?
                .unwrap_or_default(),
            latency,
            interrupted: r.interrupted.into(),
            stt_ms: r.stt_ms,
        })
    }
}

/// Where a call's transcript stands before new entries are added.
#[derive(sqlx::FromRow)]
struct TranscriptSoFar {
    max_seq: i64,
    entries: i64,
    assistant: i64,
}

const ENTRY_COLUMNS: &str = "seq, role, content, offset_ms, tool_calls, llm_ttfb_ms, \
    tts_start_ms, tts_ttfb_ms, interrupted, stt_ms";

/// A call locked for one change; dropped without `commit`, nothing changes.
pub struct CallTx {
    tx: sqlx::Transaction<'static, Any>,
    state: CallState,
    store: Store,
    queued: u64,
}

impl Store {
    /// Locks a call for a change (a row lock on PostgreSQL, the write lock on SQLite, taken
    /// by the first statement so concurrent changes queue instead of failing); `None` when
    /// there is no such call.
    pub async fn lock_call(&self, call_id: CallId) -> StoreResult<Option<CallTx>> {
        let mut tx = self.pool().begin().await?;
        let locked = sqlx::query("UPDATE calls SET status = status WHERE id = $1")
            .bind(call_id.get())
            .execute(&mut *tx)
            .await?
            .rows_affected();
        if locked == 0 {
            return Ok(None);
        }
        let row: StateRow =
            sqlx::query_as(&format!("SELECT {STATE_COLUMNS} FROM calls WHERE id = $1"))
                .bind(call_id.get())
                .fetch_one(&mut *tx)
                .await?;
        Ok(Some(CallTx {
            tx,
            state: row.try_into()?,
            store: self.clone(),
            queued: 0,
        }))
    }

    /// The account's call made for the provider's call `call_control_id`, if any (the
    /// first, should there be several).
    pub async fn call_by_control_id(
        &self,
        account_id: AccountId,
        call_control_id: &str,
    ) -> StoreResult<Option<CallId>> {
        let id: Option<i64> = sqlx::query_scalar(
            "SELECT id FROM calls WHERE account_id = $1 AND call_control_id = $2 ORDER BY id LIMIT 1",
        )
        .bind(account_id)
        .bind(call_control_id)
        .fetch_optional(self.pool())
        .await?;
        id.map(decode::call_id).transpose()
    }

    /// A call's state, unlocked: for reads that decide nothing.
    pub async fn call_state(&self, call_id: CallId) -> StoreResult<Option<CallState>> {
        let row: Option<StateRow> =
            sqlx::query_as(&format!("SELECT {STATE_COLUMNS} FROM calls WHERE id = $1"))
                .bind(call_id.get())
                .fetch_optional(self.pool())
                .await?;
        row.map(CallState::try_from).transpose()
    }
}

impl CallTx {
    /// The call as it stands (as locked, before any `save`).
    pub fn state(&self) -> &CallState {
        &self.state
    }

    /// The transaction's connection, for the other storage modules' parts of a change.
    pub(super) fn conn(&mut self) -> &mut sqlx::AnyConnection {
        &mut self.tx
    }

    /// Records a Telnyx event as applied with this change: `false` when its `data.id` was
    /// recorded before (a repeat delivery: the caller drops the change).
    pub async fn record_telnyx_event(
        &mut self,
        event: &super::SeenTelnyxEvent,
        received_at: UnixTime,
    ) -> StoreResult<bool> {
        super::telnyx_events::record(&mut self.tx, event, received_at).await
    }

    /// The stored entries among `seqs`, in sequence order.
    pub async fn entries(&mut self, seqs: &[i64]) -> StoreResult<Vec<SeqEntry>> {
        if seqs.is_empty() {
            return Ok(Vec::new());
        }
        let mut sql = Sql::new(&format!("SELECT {ENTRY_COLUMNS} FROM transcript_entries"));
        sql.and("call_id = ").bind(self.state.call_id.get())?;
        sql.and("seq IN ").list(seqs.to_vec())?;
        sql.push(" ORDER BY seq");
        let (sql, args) = sql.finish();
        let rows: Vec<SeqEntryRow> = sqlx::query_as_with(&sql, args)
            .fetch_all(&mut *self.tx)
            .await?;
        rows.into_iter().map(SeqEntry::try_from).collect()
    }

    /// Adds new entries (their sequence numbers unused), then brings the call's counts and
    /// its per-turn latency in step with the whole transcript: `turn_count`,
    /// `tool_call_count`, `tools_called` (first-call order), `has_debug_log`, and the
    /// latency rows: turn n is the n-th assistant entry in sequence order (as the debug
    /// view pairs them), so an entry arriving late renumbers the ones after it. Entries that
    /// all follow the stored ones (a pipeline appending, the usual case) are counted in
    /// without reading the transcript back; a late one recounts the whole call. Returns how
    /// many entries the transcript holds now.
    pub async fn add_entries(&mut self, new: &[SeqEntry]) -> StoreResult<i64> {
        let call_id = self.state.call_id.get();
        let so_far: TranscriptSoFar = sqlx::query_as(
            "SELECT COALESCE(MAX(seq), 0) AS max_seq, COUNT(*) AS entries,
                COALESCE(SUM(CASE WHEN role = 'assistant' THEN 1 ELSE 0 END), 0) AS assistant
             FROM transcript_entries WHERE call_id = $1",
        )
        .bind(call_id)
        .fetch_one(&mut *self.tx)
        .await?;
        for chunk in new.chunks(200) {
            let mut sql = Sql::new(&format!(
                "INSERT INTO transcript_entries (call_id, {ENTRY_COLUMNS})"
            ));
            sql.values(chunk, |row, e| {
                let tool_calls = (!e.tool_calls.is_empty())
                    .then(|| serde_json::to_string(&e.tool_calls).unwrap_or_else(|_| "[]".into()));
                row.bind(call_id)?
                    .bind(e.seq)?
                    .bind(e.role.as_str())?
                    .bind(e.content.clone())?
                    .bind(e.offset_ms)?
                    .bind(tool_calls)?
                    .bind(e.latency.map(|l| l.llm_ttfb_ms))?
                    .bind(e.latency.map(|l| l.tts_start_ms))?
                    .bind(e.latency.map(|l| l.tts_ttfb_ms))?
                    .bind(e.interrupted)?
                    .bind(e.stt_ms)?;
                Ok(())
            })?;
            let (sql, args) = sql.finish();
            sqlx::query_with(&sql, args).execute(&mut *self.tx).await?;
        }
        let appended = new.iter().all(|e| e.seq > so_far.max_seq);
        if appended {
            self.count_in(new, so_far.assistant).await?;
        } else {
            self.recount().await?;
        }
        Ok(so_far.entries + new.len() as i64)
    }

    /// How many entries the call's transcript holds.
    pub async fn turn_count(&mut self) -> StoreResult<i64> {
        let count: i64 = sqlx::query_scalar("SELECT turn_count FROM calls WHERE id = $1")
            .bind(self.state.call_id.get())
            .fetch_one(&mut *self.tx)
            .await?;
        Ok(count)
    }

    /// Counts in entries that follow every stored one (see `add_entries`): the counts and
    /// tools move by what they add, their latency rows continue the numbering after the
    /// `assistant_before` assistant entries already stored.
    async fn count_in(&mut self, new: &[SeqEntry], assistant_before: i64) -> StoreResult<()> {
        let call_id = self.state.call_id.get();
        let tools_called: String =
            sqlx::query_scalar("SELECT tools_called FROM calls WHERE id = $1")
                .bind(call_id)
                .fetch_one(&mut *self.tx)
                .await?;
        let mut tools: Vec<String> = decode::json(&tools_called, "tools_called")?;
        let mut tool_calls = 0_i64;
        let mut latency = Vec::new();
        let mut assistant_no = assistant_before;
        for e in new {
            for t in &e.tool_calls {
                tool_calls += 1;
                if !tools.contains(&t.name) {
                    tools.push(t.name.clone());
                }
            }
            if e.role == Role::Assistant {
                assistant_no += 1;
                if let Some(l) = e.latency {
                    latency.push((assistant_no, e.offset_ms, l));
                }
            }
        }
        sqlx::query(
            "UPDATE calls SET turn_count = turn_count + $1, tool_call_count = tool_call_count + $2,
                tools_called = $3, has_debug_log = $4 WHERE id = $5",
        )
        .bind(new.len() as i64)
        .bind(tool_calls)
        .bind(serde_json::to_string(&tools).unwrap_or_else(|_| "[]".into()))
        .bind(true)
        .bind(call_id)
        .execute(&mut *self.tx)
        .await?;
        self.insert_latency(&latency).await
    }

    /// Recomputes what the transcript implies (see `add_entries`).
    async fn recount(&mut self) -> StoreResult<()> {
        let call_id = self.state.call_id.get();
        let rows: Vec<SeqEntryRow> = sqlx::query_as(&format!(
            "SELECT {ENTRY_COLUMNS} FROM transcript_entries WHERE call_id = $1 ORDER BY seq"
        ))
        .bind(call_id)
        .fetch_all(&mut *self.tx)
        .await?;
        let entries = rows
            .into_iter()
            .map(SeqEntry::try_from)
            .collect::<StoreResult<Vec<_>>>()?;
        let mut tools: Vec<&str> = Vec::new();
        let mut tool_calls = 0_i64;
        let mut latency = Vec::new();
        let mut assistant_no = 0_i64;
        for e in &entries {
            for t in &e.tool_calls {
                tool_calls += 1;
                if !tools.contains(&t.name.as_str()) {
                    tools.push(&t.name);
                }
            }
            if e.role == Role::Assistant {
                assistant_no += 1;
                if let Some(l) = e.latency {
                    latency.push((assistant_no, e.offset_ms, l));
                }
            }
        }
        sqlx::query(
            "UPDATE calls SET turn_count = $1, tool_call_count = $2, tools_called = $3,
                has_debug_log = $4 WHERE id = $5",
        )
        .bind(entries.len() as i64)
        .bind(tool_calls)
        .bind(serde_json::to_string(&tools).unwrap_or_else(|_| "[]".into()))
        // A live call's log exists from its start (`NewCall::has_debug_log`).
        .bind(!entries.is_empty() || self.state.status.is_live())
        .bind(call_id)
        .execute(&mut *self.tx)
        .await?;
        sqlx::query("DELETE FROM turn_latency WHERE call_id = $1")
            .bind(call_id)
            .execute(&mut *self.tx)
            .await?;
        self.insert_latency(&latency).await
    }

    /// Inserts latency rows `(turn, offset_ms, latency)` of the locked call.
    async fn insert_latency(&mut self, latency: &[(i64, i64, EntryLatency)]) -> StoreResult<()> {
        let call_id = self.state.call_id.get();
        for chunk in latency.chunks(500) {
            let mut sql = Sql::new(
                "INSERT INTO turn_latency (call_id, turn, offset_ms, llm_ttfb_ms, tts_start_ms, tts_ttfb_ms)",
            );
            sql.values(chunk, |row, (turn, offset_ms, l)| {
                row.bind(call_id)?
                    .bind(*turn)?
                    .bind(*offset_ms)?
                    .bind(l.llm_ttfb_ms)?
                    .bind(l.tts_start_ms)?
                    .bind(l.tts_ttfb_ms)?;
                Ok(())
            })?;
            let (sql, args) = sql.finish();
            sqlx::query_with(&sql, args).execute(&mut *self.tx).await?;
        }
        Ok(())
    }

    /// Writes the call's changeable fields as `new` has them, moving its contribution to
    /// the daily roll-ups with it. Identity fields (ids, numbers, start, rate) stay.
    pub async fn save(&mut self, new: &CallState) -> StoreResult<()> {
        sqlx::query(
            "UPDATE calls SET status = $1, disposition = $2, ended_reason = $3,
                duration_seconds = $4, minutes_used_e2 = $5, total_cost_e4 = $6,
                call_cost_e4 = $7, recording_cost_e4 = $8, llm_discount_e4 = $9,
                metadata = $10, extracted_data = $11, ws_unavailable = $12, ended_at = $13,
                transfer_cost_e4 = $14, transferred_to = $15, transfer_duration_seconds = $16
             WHERE id = $17",
        )
        .bind(new.status.as_str())
        .bind(new.disposition.map(|d| d.as_str()))
        .bind(new.ended_reason.map(|r| r.as_str()))
        .bind(new.duration_seconds)
        .bind(new.minutes_used.units())
        .bind(new.total_cost.units())
        .bind(new.call_cost.units())
        .bind(new.recording_cost.units())
        .bind(new.llm_discount.units())
        .bind(new.metadata.to_string())
        .bind(new.extracted_data.to_string())
        .bind(new.ws_unavailable)
        .bind(new.ended_at)
        .bind(new.transfer_cost.units())
        .bind(new.transferred_to.as_deref())
        .bind(new.transfer_duration_seconds)
        .bind(self.state.call_id.get())
        .execute(&mut *self.tx)
        .await?;
        daily_stats::replace(
            &mut self.tx,
            &self.state.contribution(),
            &new.contribution(),
        )
        .await?;
        self.state = new.clone();
        Ok(())
    }

    /// Queues the events `build` makes (given the call, its agent's public id and `now`) for
    /// the account's endpoints, with this change.
    pub async fn enqueue(
        &mut self,
        now: UnixTime,
        build: impl FnOnce(&CallState, &AgentId, UnixTime) -> Vec<OutboxEvent>,
    ) -> StoreResult<()> {
        let state = &self.state;
        self.queued += super::outbox::enqueue_for_call(
            &mut self.tx,
            state.account_id,
            state.agent_id,
            state.call_id,
            now,
            |agent| build(state, agent, now),
        )
        .await?;
        Ok(())
    }

    /// Makes the change.
    pub async fn commit(self) -> StoreResult<()> {
        self.tx.commit().await?;
        self.store.changes().notify(self.state.call_id);
        if self.queued > 0 {
            self.store.wake_dispatcher();
        }
        Ok(())
    }
}
