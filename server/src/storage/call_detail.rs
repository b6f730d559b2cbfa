//! Reading one call: its list form (shared with listing), its full form with transcript and
//! latency, and what it says about its recording.

use callscope_shared::{Call, CallId, LatencyData, LatencyTurn, Minutes, Money, TranscriptEntry};

use super::agents::public_agent_id;
use super::decode::{self, Flag};
use super::{Store, StoreError, StoreResult};
use crate::clock::UnixTime;
use crate::ids::AccountId;

/// What an account's call says about its recording.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RecordingState {
    /// No such call, or another account's.
    NoSuchCall,
    /// The agent did not have recording turned on for this call.
    NotEnabled,
    /// Recording was on but there is no uploaded object (yet).
    NotYetAvailable,
    /// The object key of the recording in the recordings store.
    Available(String),
    /// Capture or download failed; the reason is written for the owner.
    Failed(String),
    /// Retention deleted it.
    Deleted,
}

/// The columns `CallRow` reads, from `calls c JOIN agents ag`.
pub(super) const CALL_COLUMNS: &str = "c.id, ag.public_id AS agent_public_id, c.from_number, \
     c.to_number, c.status, c.disposition, c.ended_reason, c.duration_seconds, c.minutes_used_e2, \
     c.rate_per_minute_e4, c.total_cost_e4, c.has_recording, c.turn_count, c.tool_call_count, \
     c.tools_called, c.metadata, c.ws_unavailable, c.call_cost_e4, c.recording_cost_e4, \
     c.llm_discount_e4, c.transfer_duration_seconds, c.transfer_cost_e4, c.transferred_to, \
     c.recording_enabled, c.extracted_data, c.started_at, c.ended_at";

/// A call row as stored; becomes the list form of a call (no transcript, no latency).
#[derive(sqlx::FromRow)]
pub(super) struct CallRow {
    id: i64,
    agent_public_id: String,
    from_number: String,
    to_number: String,
    status: String,
    disposition: Option<String>,
    ended_reason: Option<String>,
    duration_seconds: i64,
    minutes_used_e2: i64,
    rate_per_minute_e4: i64,
    total_cost_e4: i64,
    has_recording: Flag,
    turn_count: i64,
    tool_call_count: i64,
    tools_called: String,
    metadata: String,
    ws_unavailable: Flag,
    call_cost_e4: i64,
    recording_cost_e4: i64,
    llm_discount_e4: i64,
    transfer_duration_seconds: i64,
    transfer_cost_e4: i64,
    transferred_to: Option<String>,
    recording_enabled: Flag,
    extracted_data: String,
    started_at: UnixTime,
    ended_at: Option<UnixTime>,
}

impl TryFrom<CallRow> for Call {
    type Error = StoreError;

    fn try_from(r: CallRow) -> StoreResult<Self> {
        Ok(Call {
            call_id: decode::call_id(r.id)?,
            agent_id: public_agent_id(&r.agent_public_id)?,
            from_number: r.from_number,
            to_number: r.to_number,
            status: decode::enumerated(&r.status, "call status")?,
            disposition: decode::optional_enumerated(r.disposition, "disposition")?,
            ended_reason: decode::optional_enumerated(r.ended_reason, "ended reason")?,
            duration_seconds: r.duration_seconds,
            minutes_used: Minutes::from_units(r.minutes_used_e2),
            rate_per_minute: Money::from_units(r.rate_per_minute_e4),
            total_cost: Money::from_units(r.total_cost_e4),
            has_recording: r.has_recording.into(),
            turn_count: decode::narrow(r.turn_count, "turn count")?,
            tool_call_count: decode::narrow(r.tool_call_count, "tool call count")?,
            tools_called: decode::json(&r.tools_called, "tools_called")?,
            metadata: decode::json(&r.metadata, "metadata")?,
            ws_unavailable: r.ws_unavailable.into(),
            transcript: None,
            latency_data: None,
            call_cost: Money::from_units(r.call_cost_e4),
            recording_cost: Money::from_units(r.recording_cost_e4),
            llm_discount: Money::from_units(r.llm_discount_e4),
            transfer_duration_seconds: r.transfer_duration_seconds,
            transfer_cost: Money::from_units(r.transfer_cost_e4),
            transferred_to: r.transferred_to,
            recording_enabled: r.recording_enabled.into(),
            extracted_data: decode::json(&r.extracted_data, "extracted_data")?,
            started_at: decode::timestamp(r.started_at)?,
            ended_at: r.ended_at.map(decode::timestamp).transpose()?,
        })
    }
}

#[derive(sqlx::FromRow)]
struct TranscriptRow {
    role: String,
    content: String,
    offset_ms: i64,
    tool_calls: Option<String>,
    interrupted: Flag,
    stt_ms: Option<i64>,
}

impl TryFrom<TranscriptRow> for TranscriptEntry {
    type Error = StoreError;

    fn try_from(r: TranscriptRow) -> StoreResult<Self> {
        Ok(TranscriptEntry {
            role: decode::enumerated(&r.role, "role")?,
            content: r.content,
            timestamp: r.offset_ms as f64 / 1000.0,
            tool_calls: r
                .tool_calls
                .map(|t| decode::json(&t, "tool_calls"))
                .transpose()?
                .unwrap_or_default(),
            interrupted: r.interrupted.into(),
            stt_ms: r
                .stt_ms
                .map(|ms| decode::narrow(ms, "stt_ms"))
                .transpose()?,
        })
    }
}

#[derive(sqlx::FromRow)]
struct LatencyRow {
    turn: i64,
    offset_ms: i64,
    llm_ttfb_ms: i64,
    tts_start_ms: i64,
    tts_ttfb_ms: i64,
}

impl TryFrom<LatencyRow> for LatencyTurn {
    type Error = StoreError;

    fn try_from(r: LatencyRow) -> StoreResult<Self> {
        Ok(LatencyTurn {
            turn: decode::narrow(r.turn, "turn")?,
            ts: r.offset_ms as f64 / 1000.0,
            llm_ttfb_ms: decode::narrow(r.llm_ttfb_ms, "llm_ttfb_ms")?,
            tts_start_ms: decode::narrow(r.tts_start_ms, "tts_start_ms")?,
            tts_ttfb_ms: decode::narrow(r.tts_ttfb_ms, "tts_ttfb_ms")?,
        })
    }
}

#[derive(sqlx::FromRow)]
pub(super) struct RecordingRow {
    recording_enabled: Flag,
    has_recording: Flag,
    recording_key: Option<String>,
    recording_status: Option<String>,
    recording_error: Option<String>,
}

impl From<RecordingRow> for RecordingState {
    fn from(r: RecordingRow) -> Self {
        match (r.recording_status.as_deref(), r.recording_key) {
            _ if !r.recording_enabled.0 => RecordingState::NotEnabled,
            (Some("deleted"), _) => RecordingState::Deleted,
            (Some("failed"), _) => RecordingState::Failed(r.recording_error.unwrap_or_default()),
            (_, Some(key)) if r.has_recording.0 && !key.is_empty() => {
                RecordingState::Available(key)
            }
            _ => RecordingState::NotYetAvailable,
        }
    }
}

impl Store {
    /// Whether an account's call has a recording, and its object key if so.
    pub async fn recording_state(
        &self,
        account_id: AccountId,
        call_id: CallId,
    ) -> StoreResult<RecordingState> {
        let row: Option<RecordingRow> = sqlx::query_as(
            "SELECT recording_enabled, has_recording, recording_key, recording_status,
                    recording_error
             FROM calls WHERE account_id = $1 AND id = $2",
        )
        .bind(account_id)
        .bind(call_id.get())
        .fetch_optional(self.pool())
        .await?;
        Ok(row.map_or(RecordingState::NoSuchCall, RecordingState::from))
    }

    /// The full call object (with transcript and latency) if the account owns the call.
    pub async fn get_call(
        &self,
        account_id: AccountId,
        call_id: CallId,
    ) -> StoreResult<Option<Call>> {
        self.load_call(Some(account_id), call_id).await
    }

    /// The full call object whoever owns it: for a debug link, which names one call.
    pub async fn get_call_for_link(&self, call_id: CallId) -> StoreResult<Option<Call>> {
        self.load_call(None, call_id).await
    }

    async fn load_call(
        &self,
        account_id: Option<AccountId>,
        call_id: CallId,
    ) -> StoreResult<Option<Call>> {
        let row: Option<CallRow> = sqlx::query_as(&format!(
            "SELECT {CALL_COLUMNS} FROM calls c JOIN agents ag ON ag.id = c.agent_id
             WHERE c.id = $1 AND ($2 IS NULL OR c.account_id = $2)"
        ))
        .bind(call_id.get())
        .bind(account_id)
        .fetch_optional(self.pool())
        .await?;
        let Some(row) = row else { return Ok(None) };
        let mut call = Call::try_from(row)?;
        call.transcript = Some(self.transcript(call_id).await?);
        call.latency_data = Some(LatencyData {
            turns: self.latency_turns(call_id).await?,
        });
        Ok(Some(call))
    }

    /// A call's transcript in order.
    pub async fn transcript(&self, call_id: CallId) -> StoreResult<Vec<TranscriptEntry>> {
        let rows: Vec<TranscriptRow> = sqlx::query_as(
            "SELECT role, content, offset_ms, tool_calls, interrupted, stt_ms FROM transcript_entries
             WHERE call_id = $1 ORDER BY seq",
        )
        .bind(call_id.get())
        .fetch_all(self.pool())
        .await?;
        rows.into_iter().map(TranscriptEntry::try_from).collect()
    }

    /// A call's per-turn latency in turn order.
    pub async fn latency_turns(&self, call_id: CallId) -> StoreResult<Vec<LatencyTurn>> {
        let rows: Vec<LatencyRow> = sqlx::query_as(
            "SELECT turn, offset_ms, llm_ttfb_ms, tts_start_ms, tts_ttfb_ms FROM turn_latency
             WHERE call_id = $1 ORDER BY turn",
        )
        .bind(call_id.get())
        .fetch_all(self.pool())
        .await?;
        rows.into_iter().map(LatencyTurn::try_from).collect()
    }
}
