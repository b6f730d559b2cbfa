//! The calls lifecycle service: a live call from the voice pipeline (and later the
//! telephony provider's webhooks) — created, answered, turn by turn, patched, ended.
//!
//! Every operation is idempotent and its outcome does not depend on the order repeats
//! arrive in: answering an answered call, adding an entry already stored, ending an ended
//! call change nothing and answer as the first time did. Each change is one locked
//! transaction (`CallTx`): the call row, its transcript and latency, the daily roll-ups and
//! the webhook outbox move together. Live state (`LiveStore`) follows after the commit; a
//! repeat of any operation writes it again, so a failed live write heals on retry.

use callscope_shared::{
    AgentId, Call, CallId, CallStatus, Disposition, E164, EndedReason, Money, Role, Timestamp,
    ToolCall,
};

use crate::billing::{self, minutes};
use crate::calls::AgentRef;
use crate::clock::UnixTime;
use crate::live::{LiveCall, LiveError, LiveStore};
use crate::storage::{
    AgentRecord, CallState, CallTx, EntryLatency, NewCall, SeqEntry, Store, StoreError,
};
use crate::webhooks::events;

/// Most entries one turns request may carry.
pub const MAX_TURNS_PER_REQUEST: usize = 1_000;
/// Largest sequence number of a transcript entry.
pub const MAX_SEQ: i64 = 1_000_000;
/// Latest `timestamp` of an entry, in seconds from the call's start (a day).
pub const MAX_OFFSET_SECONDS: f64 = 86_400.0;
/// Largest latency figure, in milliseconds (ten minutes).
pub const MAX_LATENCY_MS: i64 = 600_000;
/// How far in the future a `started_at` or `ended_at` may lie (clock skew), in seconds.
pub const MAX_SKEW_SECONDS: i64 = 300;
/// Longest phone number (or SIP URI, or other caller form) accepted.
pub const MAX_NUMBER_LEN: usize = 256;

/// Why a lifecycle operation did not happen. Nothing changed in any of these cases.
#[derive(Debug, thiserror::Error)]
pub enum PipelineError {
    #[error("no such call")]
    CallNotFound,
    #[error("no such agent")]
    AgentNotFound,
    /// Answering a call that has ended.
    #[error("call is not in progress")]
    NotInProgress,
    /// New transcript entries for a call that has ended.
    #[error("call has ended")]
    Ended,
    /// A different entry under a sequence number already used.
    #[error("seq {0} already holds a different entry")]
    SeqConflict(i64),
    /// Input the client must fix; the message says what (written for the client).
    #[error("{0}")]
    Invalid(String),
    #[error("live call state: {0}")]
    Live(#[from] LiveError),
    #[error("calls storage: {0}")]
    Store(#[from] StoreError),
}

fn invalid(message: impl Into<String>) -> PipelineError {
    PipelineError::Invalid(message.into())
}

/// A call the pipeline starts.
#[derive(Debug, Clone, PartialEq)]
pub struct StartCall {
    pub agent: AgentRef,
    pub from_number: String,
    pub to_number: String,
    pub call_control_id: Option<String>,
    /// `ringing` or `in-progress`.
    pub status: CallStatus,
    /// Defaults to now.
    pub started_at: Option<Timestamp>,
    pub metadata: serde_json::Value,
}

/// One transcript entry as the pipeline sends it.
#[derive(Debug, Clone, PartialEq)]
pub struct Turn {
    pub seq: i64,
    pub role: Role,
    pub content: String,
    /// Seconds from the call's start.
    pub timestamp: f64,
    pub tool_calls: Vec<ToolCall>,
    pub llm_ttfb_ms: Option<i64>,
    pub tts_start_ms: Option<i64>,
    pub tts_ttfb_ms: Option<i64>,
    /// The caller cut this assistant entry off.
    pub interrupted: bool,
    /// A caller entry's speech-to-text latency (end of speech → final transcript), in ms.
    pub stt_ms: Option<i64>,
}

/// What a turns request did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TurnsAdded {
    pub call_id: CallId,
    /// Entries stored by this request.
    pub added: usize,
    /// Entries that were already stored, identical (repeats).
    pub repeated: usize,
    /// Entries the call's transcript holds now.
    pub turn_count: usize,
}

/// Fields the pipeline may set on a call, live or ended. Absent fields stay as they are.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct CallPatch {
    pub metadata: Option<serde_json::Value>,
    pub extracted_data: Option<serde_json::Value>,
    pub ws_unavailable: Option<bool>,
    pub llm_discount: Option<Money>,
    pub call_cost: Option<Money>,
}

/// How a call ended.
#[derive(Debug, Clone, PartialEq)]
pub struct EndCall {
    pub ended_reason: EndedReason,
    pub status: Option<CallStatus>,
    pub disposition: Option<Disposition>,
    /// Defaults to now.
    pub ended_at: Option<Timestamp>,
}

/// Starts a call for the named agent; the agent's account owns it. A call naming a
/// `call_control_id` the account already has a call for is that call (`created` false),
/// unchanged: the provider's handle makes a repeated create safe.
pub async fn create(
    store: &Store,
    live: &LiveStore,
    start: StartCall,
    now: UnixTime,
) -> Result<(Call, bool), PipelineError> {
    let agent = find_agent(store, &start.agent).await?;
    let from_number = phone_like(&start.from_number, "from_number")?;
    let to_number = phone_like(&start.to_number, "to_number")?;
    let call_control_id = start
        .call_control_id
        .map(|id| checked_text(&id, "call_control_id", 256))
        .transpose()?;
    if !start.status.is_live() {
        return Err(invalid("status must be one of: ringing, in-progress"));
    }
    if !start.metadata.is_object() {
        return Err(invalid("metadata must be a JSON object"));
    }
    let started_at = start.started_at.map(UnixTime::from).unwrap_or(now);
    if started_at.since(now) > MAX_SKEW_SECONDS {
        return Err(invalid("started_at must not be in the future"));
    }
    if let Some(id) = &call_control_id
        && let Some(existing) = store.call_by_control_id(agent.account_id, id).await?
    {
        let state = store
            .call_state(existing)
            .await?
            .ok_or(PipelineError::CallNotFound)?;
        sync_live(live, &state, None).await?;
        return Ok((read(store, &state).await?, false));
    }
    let call = NewCall {
        status: start.status,
        disposition: None,
        ended_reason: None,
        duration_seconds: 0,
        minutes_used: Default::default(),
        rate_per_minute: agent.rate_per_minute,
        recording_enabled: agent.recording_enabled,
        recording_rate_per_minute: agent.recording_rate_per_minute,
        // One minute of recording is pre-debited while the call is live; its end settles.
        recording_cost: live_recording_cost(
            agent.recording_enabled,
            agent.recording_rate_per_minute,
        ),
        total_cost: live_recording_cost(agent.recording_enabled, agent.recording_rate_per_minute),
        from_number,
        to_number,
        metadata: start.metadata,
        extracted_data: serde_json::json!({}),
        call_control_id,
        ended_at: None,
        ..NewCall::completed(
            agent.account_id,
            agent.id,
            started_at,
            0,
            Vec::new(),
            Vec::new(),
        )
    };
    let call_id = match store.insert_call(&call, now, events::for_new_call).await {
        Ok(id) => id,
        // A concurrent create with the same `call_control_id` won: that call is this one.
        Err(e) if e.is_unique_violation() => {
            let id = call.call_control_id.as_deref().unwrap_or_default();
            let existing = store
                .call_by_control_id(agent.account_id, id)
                .await?
                .ok_or_else(|| invalid("call_control_id already names another account's call"))?;
            let state = store
                .call_state(existing)
                .await?
                .ok_or(PipelineError::CallNotFound)?;
            sync_live(live, &state, None).await?;
            return Ok((read(store, &state).await?, false));
        }
        Err(e) => return Err(e.into()),
    };
    let state = store
        .call_state(call_id)
        .await?
        .ok_or(PipelineError::CallNotFound)?;
    let answered_at = (start.status == CallStatus::InProgress).then_some(started_at);
    sync_live(live, &state, answered_at).await?;
    Ok((read(store, &state).await?, true))
}

/// Ringing → in-progress. Answering an answered call changes nothing; an ended call is
/// `NotInProgress`.
pub async fn answer(
    store: &Store,
    live: &LiveStore,
    call_id: CallId,
    now: UnixTime,
) -> Result<Call, PipelineError> {
    let mut tx = lock(store, call_id).await?;
    let state = tx.state().clone();
    match state.status {
        CallStatus::Ringing => {
            let answered = CallState {
                status: CallStatus::InProgress,
                ..state
            };
            tx.save(&answered).await?;
            tx.commit().await?;
            sync_live(live, &answered, Some(now)).await?;
            read(store, &answered).await
        }
        CallStatus::InProgress => {
            drop(tx);
            sync_live(live, &state, None).await?;
            read(store, &state).await
        }
        _ => Err(PipelineError::NotInProgress),
    }
}

/// Adds transcript entries, all or none. An entry already stored under its `seq`, identical,
/// is a repeat (accepted, nothing written); a different one is `SeqConflict`. New entries
/// on an ended call are `Ended`; a request of repeats only is accepted there too.
pub async fn add_turns(
    store: &Store,
    call_id: CallId,
    turns: Vec<Turn>,
) -> Result<TurnsAdded, PipelineError> {
    append(store, call_id, turns, false).await
}

/// As [`add_turns`], also on a call that has ended: traces (`otlp`) arrive after the call
/// they describe (an exporter sends spans in batches as they end, the last after the
/// hangup). The durable record's figures do not depend on the transcript.
pub async fn add_late_turns(
    store: &Store,
    call_id: CallId,
    turns: Vec<Turn>,
) -> Result<TurnsAdded, PipelineError> {
    append(store, call_id, turns, true).await
}

/// A batch's entries as they would be stored, each checked, repeats within the batch
/// folded: everything a turns request refuses before it reads the store. The number of
/// distinct entries is public for the fuzz target (`fuzz/`); the entries stay private.
pub fn check_batch(turns: Vec<Turn>) -> Result<usize, PipelineError> {
    checked_batch(turns).map(|entries| entries.len())
}

fn checked_batch(turns: Vec<Turn>) -> Result<Vec<SeqEntry>, PipelineError> {
    if turns.is_empty() {
        return Err(invalid("turns must not be empty"));
    }
    if turns.len() > MAX_TURNS_PER_REQUEST {
        return Err(invalid(format!(
            "turns must hold at most {MAX_TURNS_PER_REQUEST} entries"
        )));
    }
    let mut entries: Vec<SeqEntry> = Vec::with_capacity(turns.len());
    for turn in turns {
        let entry = seq_entry(turn)?;
        match entries.iter().find(|e| e.seq == entry.seq) {
            Some(same) if *same == entry => {}
            Some(_) => return Err(PipelineError::SeqConflict(entry.seq)),
            None => entries.push(entry),
        }
    }
    Ok(entries)
}

async fn append(
    store: &Store,
    call_id: CallId,
    turns: Vec<Turn>,
    after_end: bool,
) -> Result<TurnsAdded, PipelineError> {
    let entries = checked_batch(turns)?;
    let mut tx = lock(store, call_id).await?;
    let seqs: Vec<i64> = entries.iter().map(|e| e.seq).collect();
    let stored = tx.entries(&seqs).await?;
    let mut new = Vec::new();
    for entry in &entries {
        match stored.iter().find(|s| s.seq == entry.seq) {
            Some(same) if same == entry => {}
            Some(_) => return Err(PipelineError::SeqConflict(entry.seq)),
            None => new.push(entry.clone()),
        }
    }
    let repeated = entries.len() - new.len();
    let turn_count = if new.is_empty() {
        tx.turn_count().await?
    } else {
        if !after_end && !tx.state().status.is_live() {
            return Err(PipelineError::Ended);
        }
        let count = tx.add_entries(&new).await?;
        tx.commit().await?;
        count
    };
    let turn_count = usize::try_from(turn_count)
        .map_err(|_| StoreError::Corrupt(format!("turn_count {turn_count}")))?;
    Ok(TurnsAdded {
        call_id,
        added: new.len(),
        repeated,
        turn_count,
    })
}

/// Sets metadata, extracted data, the WebSocket flag and the money the pipeline knows, live
/// or after the end (extraction runs post-call). On an ended call `total_cost` and the
/// roll-ups follow a new `llm_discount`.
pub async fn update(
    store: &Store,
    call_id: CallId,
    patch: CallPatch,
) -> Result<Call, PipelineError> {
    for (value, name) in [
        (&patch.metadata, "metadata"),
        (&patch.extracted_data, "extracted_data"),
    ] {
        if value.as_ref().is_some_and(|v| !v.is_object()) {
            return Err(invalid(format!("{name} must be a JSON object")));
        }
    }
    for (value, name) in [
        (patch.llm_discount, "llm_discount"),
        (patch.call_cost, "call_cost"),
    ] {
        if value.is_some_and(|m| m < Money::ZERO) {
            return Err(invalid(format!("{name} must not be negative")));
        }
    }
    let mut tx = lock(store, call_id).await?;
    let state = tx.state().clone();
    let mut new = CallState {
        metadata: patch.metadata.unwrap_or_else(|| state.metadata.clone()),
        extracted_data: patch
            .extracted_data
            .unwrap_or_else(|| state.extracted_data.clone()),
        ws_unavailable: patch.ws_unavailable.unwrap_or(state.ws_unavailable),
        llm_discount: patch.llm_discount.unwrap_or(state.llm_discount),
        call_cost: patch.call_cost.unwrap_or(state.call_cost),
        ..state.clone()
    };
    if !new.status.is_live() {
        new.total_cost = total_cost(&new);
    }
    if new != state {
        tx.save(&new).await?;
        tx.commit().await?;
    } else {
        drop(tx);
    }
    read(store, &new).await
}

/// Ends a live call: the durable record (duration, minutes, costs, status, disposition),
/// its roll-ups, `call.ended` queued, the live state removed. Ending an ended call changes
/// nothing and answers the record as it stands.
pub async fn end(
    store: &Store,
    live: &LiveStore,
    call_id: CallId,
    end: EndCall,
    now: UnixTime,
) -> Result<Call, PipelineError> {
    let mut tx = lock(store, call_id).await?;
    let ended = end_in(&mut tx, end, now).await?;
    let state = tx.state().clone();
    if ended {
        tx.commit().await?;
    } else {
        drop(tx);
    }
    live.remove(call_id).await?;
    read(store, &state).await
}

/// [`end`] on a call already locked, within the caller's change: `false` when the call had
/// ended already (nothing changed).
pub(crate) async fn end_in(
    tx: &mut CallTx,
    end: EndCall,
    now: UnixTime,
) -> Result<bool, PipelineError> {
    let state = tx.state().clone();
    if !state.status.is_live() {
        return Ok(false);
    }
    if end.status.is_some_and(CallStatus::is_live) {
        return Err(invalid(
            "status must be one of: completed, failed, busy, no-answer, canceled, rejected",
        ));
    }
    let ended_at = end.ended_at.map(UnixTime::from).unwrap_or(now);
    if ended_at < state.started_at {
        return Err(invalid("ended_at must not be before the call's started_at"));
    }
    if ended_at.since(now) > MAX_SKEW_SECONDS {
        return Err(invalid("ended_at must not be in the future"));
    }
    let answered = state.status == CallStatus::InProgress;
    let (status, disposition) = outcome(answered, end.ended_reason, end.status, end.disposition);
    let ended = ended_state(
        state,
        answered,
        (status, disposition, end.ended_reason),
        ended_at,
    );
    tx.save(&ended).await?;
    tx.enqueue(now, events::for_ended_call).await?;
    Ok(true)
}

/// Corrects how an ended call ended, keeping when: the telephony provider's events arrived
/// out of order (a `call.answered` after the `call.hangup` it precedes), so the outcome
/// first recorded was decided on less than is now known. Durations, minutes, costs and the
/// roll-ups follow; `call.ended` is not sent again. A live call, or an outcome already
/// recorded, changes nothing (`false`).
pub async fn correct_end(
    store: &Store,
    call_id: CallId,
    answered: bool,
    final_outcome: (CallStatus, Disposition, EndedReason),
) -> Result<bool, PipelineError> {
    let mut tx = lock(store, call_id).await?;
    let corrected = correct_end_in(&mut tx, answered, final_outcome, None).await?;
    if corrected {
        tx.commit().await?;
    }
    Ok(corrected)
}

/// [`correct_end`] on a call already locked; `ended_at`, when given, moves the end too.
pub(crate) async fn correct_end_in(
    tx: &mut CallTx,
    answered: bool,
    final_outcome: (CallStatus, Disposition, EndedReason),
    ended_at: Option<UnixTime>,
) -> Result<bool, PipelineError> {
    let state = tx.state().clone();
    let Some(recorded) = state.ended_at.filter(|_| !state.status.is_live()) else {
        return Ok(false);
    };
    let ended_at = ended_at.unwrap_or(recorded).max(state.started_at);
    let (status, disposition, reason) = final_outcome;
    if state.status == status
        && state.disposition == Some(disposition)
        && state.ended_reason == Some(reason)
        && ended_at == recorded
    {
        return Ok(false);
    }
    let corrected = ended_state(state, answered, final_outcome, ended_at);
    tx.save(&corrected).await?;
    Ok(true)
}

/// A live call's `recording_cost` (and, with no minutes yet, its `total_cost`): the
/// pre-debited minute when the agent records.
fn live_recording_cost(recording_enabled: bool, rate: Money) -> Money {
    if recording_enabled {
        billing::recording_predebit(rate)
    } else {
        Money::ZERO
    }
}

/// A call's state once ended at `ended_at` with this outcome: duration, minutes (only an
/// answered call is billed), recording cost (the pre-debit settled to the billed minutes;
/// a call never answered is refunded to 0) and total. A function of the state and the
/// outcome alone, so ending or correcting the end again settles to the same figures.
fn ended_state(
    state: CallState,
    answered: bool,
    (status, disposition, ended_reason): (CallStatus, Disposition, EndedReason),
    ended_at: UnixTime,
) -> CallState {
    let duration_seconds = ended_at.since(state.started_at);
    let billed = answered || disposition_answered(disposition);
    let minutes_used = if billed {
        minutes(duration_seconds)
    } else {
        Default::default()
    };
    let mut ended = CallState {
        status,
        disposition: Some(disposition),
        ended_reason: Some(ended_reason),
        duration_seconds,
        minutes_used,
        recording_cost: if state.recording_enabled {
            billing::recording_cost(minutes_used, state.recording_rate_per_minute)
        } else {
            Money::ZERO
        },
        ended_at: Some(ended_at),
        ..state
    };
    ended.total_cost = total_cost(&ended);
    ended
}

/// Marks a live call's end as requested through the API (`requested`), or clears the mark
/// when the request did not reach the provider. No live entry: nothing to mark.
pub async fn mark_end_requested(
    live: &LiveStore,
    call_id: CallId,
    requested: bool,
) -> Result<(), PipelineError> {
    if let Some(mut entry) = live.get(call_id).await?
        && entry.end_requested != requested
    {
        entry.end_requested = requested;
        live.put(call_id, &entry).await?;
    }
    Ok(())
}

/// `minutes_used × rate_per_minute + recording_cost + transfer_cost − llm_discount`
/// ([`billing::total_cost`]) of a stored call.
pub(crate) fn total_cost(call: &CallState) -> Money {
    billing::total_cost(billing::Parts {
        minutes_used: call.minutes_used,
        rate_per_minute: call.rate_per_minute,
        recording_cost: call.recording_cost,
        transfer_cost: call.transfer_cost,
        llm_discount: call.llm_discount,
    })
}

fn disposition_answered(d: Disposition) -> bool {
    matches!(
        d,
        Disposition::Answered | Disposition::Transferred | Disposition::Voicemail
    )
}

/// The final status and disposition: what the request says, the rest derived. Derived from
/// whether the call was answered and why it ended when neither is given.
fn outcome(
    answered: bool,
    reason: EndedReason,
    status: Option<CallStatus>,
    disposition: Option<Disposition>,
) -> (CallStatus, Disposition) {
    use CallStatus as S;
    use Disposition as D;
    let from_status = |s: S| match s {
        S::Completed if reason == EndedReason::Transfer => D::Transferred,
        S::Completed => D::Answered,
        S::Failed => D::Failed,
        S::Busy => D::Busy,
        S::Rejected => D::Rejected,
        S::NoAnswer | S::Canceled | S::Ringing | S::InProgress => D::NoAnswer,
    };
    let from_disposition = |d: D| match d {
        D::Answered | D::Transferred | D::Voicemail => S::Completed,
        D::NoAnswer => S::NoAnswer,
        D::Busy => S::Busy,
        D::Failed => S::Failed,
        D::Rejected => S::Rejected,
    };
    match (status, disposition) {
        (Some(s), Some(d)) => (s, d),
        (Some(s), None) => (s, from_status(s)),
        (None, Some(d)) => (from_disposition(d), d),
        (None, None) => match (answered, reason) {
            (true, EndedReason::Transfer) => (S::Completed, D::Transferred),
            (true, EndedReason::Error) => (S::Failed, D::Answered),
            (true, _) => (S::Completed, D::Answered),
            (false, EndedReason::Error) => (S::Failed, D::Failed),
            (false, _) => (S::NoAnswer, D::NoAnswer),
        },
    }
}

async fn find_agent(store: &Store, agent: &AgentRef) -> Result<AgentRecord, PipelineError> {
    let found = match agent {
        AgentRef::Public(public) => store.agent_by_public_id_any(public).await?,
        AgentRef::Numeric(id) => store.agent_by_id(crate::ids::AgentRowId(*id)).await?,
    };
    found.ok_or(PipelineError::AgentNotFound)
}

/// An agent id as the pipeline writes it: `agent_…` or the numeric id.
pub fn parse_agent_ref(text: &str) -> Option<AgentRef> {
    if let Ok(public) = text.parse::<AgentId>() {
        return Some(AgentRef::Public(public));
    }
    let numeric = !text.is_empty()
        && text.len() <= 18
        && text.bytes().all(|b| b.is_ascii_digit())
        && !text.starts_with('0');
    numeric
        .then(|| text.parse().ok().map(AgentRef::Numeric))
        .flatten()
}

/// Locks the call for a change; `CallNotFound` when there is none. Commit or drop the
/// lock before awaiting anything else (the live store, the provider, a read through the
/// pool): on SQLite it is the database's one write lock, and every other writer waits.
pub(crate) async fn lock(store: &Store, call_id: CallId) -> Result<CallTx, PipelineError> {
    store
        .lock_call(call_id)
        .await?
        .ok_or(PipelineError::CallNotFound)
}

/// `account`'s call as it stands, unlocked; another account's is `CallNotFound`.
pub(crate) async fn owned_state(
    store: &Store,
    account: crate::ids::AccountId,
    call_id: CallId,
) -> Result<CallState, PipelineError> {
    store
        .call_state(call_id)
        .await?
        .filter(|s| s.account_id == account)
        .ok_or(PipelineError::CallNotFound)
}

/// The whole call as the owner's API shows it.
pub(crate) async fn read(store: &Store, state: &CallState) -> Result<Call, PipelineError> {
    store
        .get_call(state.account_id, state.call_id)
        .await?
        .ok_or(PipelineError::CallNotFound)
}

/// Writes the live entry of a live call (keeping an `answered_at` already recorded unless
/// `answered_at` is given), or removes it once the call has ended.
async fn sync_live(
    live: &LiveStore,
    state: &CallState,
    answered_at: Option<UnixTime>,
) -> Result<(), PipelineError> {
    if !state.status.is_live() {
        live.remove(state.call_id).await?;
        return Ok(());
    }
    let previous = live.get(state.call_id).await?;
    let end_requested = previous.as_ref().is_some_and(|p| p.end_requested);
    let answered_at = match answered_at {
        Some(at) => at.timestamp(),
        None => previous.and_then(|p| p.answered_at),
    };
    let started_at = state
        .started_at
        .timestamp()
        .ok_or_else(|| StoreError::Corrupt(format!("started_at {}", state.started_at)))?;
    live.put(
        state.call_id,
        &LiveCall {
            account_id: state.account_id.get(),
            status: state.status,
            started_at,
            answered_at: answered_at.filter(|_| state.status == CallStatus::InProgress),
            call_control_id: state.call_control_id.clone(),
            end_requested,
        },
    )
    .await?;
    Ok(())
}

/// One pipeline entry as stored, checked.
fn seq_entry(turn: Turn) -> Result<SeqEntry, PipelineError> {
    let seq = turn.seq;
    if !(1..=MAX_SEQ).contains(&seq) {
        return Err(invalid(format!("seq must be from 1 to {MAX_SEQ}")));
    }
    if !turn.timestamp.is_finite() || !(0.0..=MAX_OFFSET_SECONDS).contains(&turn.timestamp) {
        return Err(invalid(format!(
            "turn {seq}: timestamp must be seconds from the call's start, 0 to {MAX_OFFSET_SECONDS}"
        )));
    }
    for call in &turn.tool_calls {
        if call.name.trim().is_empty() || call.name.len() > 256 {
            return Err(invalid(format!(
                "turn {seq}: tool_calls[].name must be 1 to 256 characters"
            )));
        }
    }
    let latency = match (turn.llm_ttfb_ms, turn.tts_start_ms, turn.tts_ttfb_ms) {
        (None, None, None) => None,
        (Some(llm_ttfb_ms), Some(tts_start_ms), Some(tts_ttfb_ms)) => {
            if turn.role != Role::Assistant {
                return Err(invalid(format!(
                    "turn {seq}: only assistant turns carry latency"
                )));
            }
            let l = EntryLatency {
                llm_ttfb_ms,
                tts_start_ms,
                tts_ttfb_ms,
            };
            if [l.llm_ttfb_ms, l.tts_start_ms, l.tts_ttfb_ms]
                .iter()
                .any(|ms| !(0..=MAX_LATENCY_MS).contains(ms))
            {
                return Err(invalid(format!(
                    "turn {seq}: latency values must be milliseconds from 0 to {MAX_LATENCY_MS}"
                )));
            }
            Some(l)
        }
        _ => {
            return Err(invalid(format!(
                "turn {seq}: llm_ttfb_ms, tts_start_ms and tts_ttfb_ms go together"
            )));
        }
    };
    if turn.interrupted && turn.role != Role::Assistant {
        return Err(invalid(format!(
            "turn {seq}: only assistant turns can be interrupted"
        )));
    }
    if let Some(stt_ms) = turn.stt_ms {
        if turn.role != Role::User {
            return Err(invalid(format!("turn {seq}: only user turns carry stt_ms")));
        }
        if !(0..=MAX_LATENCY_MS).contains(&stt_ms) {
            return Err(invalid(format!(
                "turn {seq}: stt_ms must be milliseconds from 0 to {MAX_LATENCY_MS}"
            )));
        }
    }
    Ok(SeqEntry {
        seq,
        role: turn.role,
        content: turn.content,
        offset_ms: (turn.timestamp * 1000.0).round() as i64,
        tool_calls: turn.tool_calls,
        latency,
        interrupted: turn.interrupted,
        stt_ms: turn.stt_ms,
    })
}

/// A caller or callee as the provider names it: E.164 when it looks like one (`+` and
/// digits), otherwise any other form the public view masks (a SIP URI, a national number,
/// `anonymous`), trimmed, without control characters.
fn phone_like(text: &str, field: &str) -> Result<String, PipelineError> {
    let text = checked_text(text, field, MAX_NUMBER_LEN)?;
    let looks_e164 = text
        .strip_prefix('+')
        .is_some_and(|rest| rest.bytes().all(|b| b.is_ascii_digit()));
    if looks_e164 && text.parse::<E164>().is_err() {
        return Err(invalid(format!(
            "{field} must be a valid E.164 phone number (+ then 8 to 15 digits)"
        )));
    }
    Ok(text)
}

fn checked_text(text: &str, field: &str, max: usize) -> Result<String, PipelineError> {
    let text = text.trim();
    if text.is_empty() || text.chars().count() > max || text.chars().any(char::is_control) {
        return Err(invalid(format!(
            "{field} must be 1 to {max} characters without control characters"
        )));
    }
    Ok(text.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn outcome_is_derived_from_answered_and_reason() {
        use CallStatus as S;
        use Disposition as D;
        let r = EndedReason::CallerHangup;
        assert_eq!(outcome(true, r, None, None), (S::Completed, D::Answered));
        assert_eq!(outcome(false, r, None, None), (S::NoAnswer, D::NoAnswer));
        assert_eq!(
            outcome(true, EndedReason::Transfer, None, None),
            (S::Completed, D::Transferred)
        );
        assert_eq!(
            outcome(false, EndedReason::Error, None, None),
            (S::Failed, D::Failed)
        );
        assert_eq!(outcome(false, r, Some(S::Busy), None), (S::Busy, D::Busy));
        assert_eq!(
            outcome(true, r, None, Some(D::Voicemail)),
            (S::Completed, D::Voicemail)
        );
    }

    #[test]
    fn agent_refs_parse_both_forms_only() {
        assert_eq!(parse_agent_ref("12"), Some(AgentRef::Numeric(12)));
        assert!(matches!(
            parse_agent_ref("agent_28c51f81"),
            Some(AgentRef::Public(_))
        ));
        for bad in [
            "",
            "012",
            "-1",
            "+1",
            "agent_XYZ",
            "1.5",
            "99999999999999999999",
        ] {
            assert_eq!(parse_agent_ref(bad), None, "{bad}");
        }
    }

    #[test]
    fn numbers_are_e164_when_they_look_it() {
        assert_eq!(
            phone_like(" +31612345678 ", "from_number").unwrap(),
            "+31612345678"
        );
        assert!(phone_like("+123", "from_number").is_err());
        assert!(phone_like("sip:alice@example.com", "from_number").is_ok());
        assert!(phone_like("anonymous", "from_number").is_ok());
        assert!(phone_like("", "from_number").is_err());
        assert!(phone_like("a\nb", "from_number").is_err());
    }
}
