//! Live calls driven by Telnyx: its verified webhooks applied to calls (`ingest`), and the
//! owner's `POST /v1/calls/:callId/end` (`end_call`).
//!
//! Rules of ingestion:
//! - an event is matched to a call by `call_control_id` alone (webhooks name no account);
//!   an event for no known call is accepted and logged (its id and type, never a number);
//! - `data.id` is recorded once applied, so a repeated delivery changes nothing; events
//!   are applied through the idempotent lifecycle service, so two deliveries of one event
//!   at the same moment also end in one outcome;
//! - `call.answered` answers the call; `call.hangup` ends it with the outcome of
//!   [`HangupFacts`] (answered: the call is in progress; by the API: `/end` asked for the
//!   hangup), at the event's `occurred_at`. Whichever ends the call first (the pipeline's
//!   end or Telnyx's hangup) wins; the other's end is absorbed;
//! - a `call.answered` that arrives after the hangup (and happened before it) corrects the
//!   outcome the hangup decided without it, as if they had arrived in order;
//! - every other event type is accepted and ignored.

use callscope_shared::{CallId, CallStatus, EndedReason};

use crate::clock::UnixTime;
use crate::ids::AccountId;
use crate::live::LiveStore;
use crate::pipeline::{self, EndCall, PipelineError};
use crate::storage::{SeenTelnyxEvent, Store};
use crate::telnyx::{
    CommandError, Hangup, HangupCause, HangupFacts, HangupSource, TelnyxClient, TelnyxEvent,
    TelnyxEventKind,
};

/// What became of an accepted event.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ingested {
    /// Applied to its call.
    Applied(CallId),
    /// Its `data.id` was applied before: nothing changed.
    Duplicate,
    /// No call has its `call_control_id`: nothing changed.
    UnknownCall,
    /// A type callscope does not act on: nothing changed.
    Ignored,
}

/// Applies a verified event (see the module's rules).
pub async fn ingest(
    store: &Store,
    live: &LiveStore,
    event: &TelnyxEvent,
    now: UnixTime,
) -> Result<Ingested, PipelineError> {
    let Some(leg) = event.kind.leg() else {
        return Ok(Ingested::Ignored);
    };
    if !matches!(
        event.kind,
        TelnyxEventKind::Answered { .. } | TelnyxEventKind::Hangup { .. }
    ) {
        return Ok(Ingested::Ignored);
    }
    if store.telnyx_event_seen(&event.id).await? {
        return Ok(Ingested::Duplicate);
    }
    let Some(call_id) = store.call_by_control_id_any(&leg.call_control_id).await? else {
        tracing::info!(
            event_id = %event.id,
            event_type = %event.event_type,
            "Telnyx event for no known call: ignored"
        );
        return Ok(Ingested::UnknownCall);
    };
    // Telnyx's clock may run ahead of ours a little; the lifecycle allows that much.
    let occurred_at = event
        .occurred_at
        .min(UnixTime(now.0.saturating_add(pipeline::MAX_SKEW_SECONDS)));
    let mut seen = SeenTelnyxEvent {
        event_id: event.id.clone(),
        event_type: event.event_type.clone(),
        call_id,
        occurred_at,
        hangup_cause: None,
        hangup_source: None,
    };
    match &event.kind {
        TelnyxEventKind::Answered { .. } => answered(store, live, call_id, occurred_at).await?,
        TelnyxEventKind::Hangup {
            hangup_cause,
            hangup_source,
            ..
        } => {
            let ended = hangup(
                store,
                live,
                call_id,
                hangup_cause,
                *hangup_source,
                occurred_at,
                now,
            )
            .await?;
            // Kept only when this hangup decided the outcome (for a late `call.answered`).
            if ended {
                seen.hangup_cause = Some(cause_text(hangup_cause));
                seen.hangup_source = Some(source_text(*hangup_source).to_owned());
            }
        }
        _ => return Ok(Ingested::Ignored),
    }
    store.record_telnyx_event(&seen, now).await?;
    Ok(Ingested::Applied(call_id))
}

async fn answered(
    store: &Store,
    live: &LiveStore,
    call_id: CallId,
    occurred_at: UnixTime,
) -> Result<(), PipelineError> {
    match pipeline::answer(store, live, call_id, occurred_at).await {
        Ok(_) => Ok(()),
        // Ended already: by a hangup that arrived first, perhaps decided as unanswered.
        Err(PipelineError::NotInProgress) => late_answer(store, call_id, occurred_at).await,
        Err(e) => Err(e),
    }
}

/// A `call.answered` for an ended call: when Telnyx's hangup decided its end (recorded, later than
/// this answer) and the outcome was decided as unanswered, decides it again, answered.
async fn late_answer(
    store: &Store,
    call_id: CallId,
    answered_at: UnixTime,
) -> Result<(), PipelineError> {
    let Some((hung_up_at, cause, source)) = store.telnyx_hangup_of(call_id).await? else {
        return Ok(());
    };
    if answered_at > hung_up_at {
        return Ok(());
    }
    let Some(state) = store.call_state(call_id).await? else {
        return Ok(());
    };
    let facts = HangupFacts {
        cause: HangupCause::from(cause.unwrap_or_default()),
        source: HangupSource::from(source.unwrap_or_default()),
        answered: true,
        ended_by_api: state.ended_reason == Some(EndedReason::Api),
        transferred: false,
    };
    let outcome = facts.outcome();
    pipeline::correct_end(
        store,
        call_id,
        true,
        (outcome.status, outcome.disposition, outcome.ended_reason),
    )
    .await?;
    Ok(())
}

async fn hangup(
    store: &Store,
    live: &LiveStore,
    call_id: CallId,
    cause: &HangupCause,
    source: HangupSource,
    occurred_at: UnixTime,
    now: UnixTime,
) -> Result<bool, PipelineError> {
    let state = store
        .call_state(call_id)
        .await?
        .ok_or(PipelineError::CallNotFound)?;
    if !state.status.is_live() {
        // Ended already (by the pipeline, or this hangup delivered twice at once).
        return Ok(false);
    }
    let ended_by_api = live
        .get(call_id)
        .await?
        .is_some_and(|entry| entry.end_requested);
    let outcome = HangupFacts {
        cause: cause.clone(),
        source,
        answered: state.status == CallStatus::InProgress,
        ended_by_api,
        transferred: false,
    }
    .outcome();
    let end = EndCall {
        ended_reason: outcome.ended_reason,
        status: Some(outcome.status),
        disposition: Some(outcome.disposition),
        // Not before the call's start as the pipeline reported it (clocks differ).
        ended_at: occurred_at.max(state.started_at).timestamp(),
    };
    let ended = pipeline::end(store, live, call_id, end, now).await?;
    // A concurrent end may have come first; then that one decided.
    Ok(ended.ended_reason == Some(outcome.ended_reason) && ended.status == outcome.status)
}

fn cause_text(cause: &HangupCause) -> String {
    match cause {
        HangupCause::CallRejected => "call_rejected",
        HangupCause::NormalClearing => "normal_clearing",
        HangupCause::OriginatorCancel => "originator_cancel",
        HangupCause::Timeout => "timeout",
        HangupCause::TimeLimit => "time_limit",
        HangupCause::UserBusy => "user_busy",
        HangupCause::NotFound => "not_found",
        HangupCause::NoAnswer => "no_answer",
        HangupCause::Unspecified => "unspecified",
        HangupCause::Other(other) => other,
    }
    .to_owned()
}

fn source_text(source: HangupSource) -> &'static str {
    match source {
        HangupSource::Caller => "caller",
        HangupSource::Callee => "callee",
        HangupSource::Unknown => "unknown",
    }
}

/// Why `end_call` did not end the call.
#[derive(Debug, thiserror::Error)]
pub enum EndError {
    #[error(transparent)]
    Pipeline(#[from] PipelineError),
    /// Telnyx did not take the hangup (and the call is not gone): nothing changed.
    #[error(transparent)]
    Telnyx(#[from] CommandError),
}

/// How `end_call` ended the call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ended {
    /// Telnyx took the hangup; its `call.hangup` webhook ends the record (`api`).
    HangupSent,
    /// Ended here, now, as `api`: no control channel (no `call_control_id`, or Telnyx not
    /// configured), or Telnyx said the call was already gone.
    Directly,
}

/// `POST /v1/calls/:callId/end` for `account`: a live call (ringing or in progress) is
/// hung up through Telnyx when it can be, else ended directly; an ended one is
/// `NotInProgress`, another account's `CallNotFound`.
pub async fn end_call(
    store: &Store,
    live: &LiveStore,
    telnyx: Option<&TelnyxClient>,
    account: AccountId,
    call_id: CallId,
    now: UnixTime,
) -> Result<Ended, EndError> {
    let state = store
        .call_state(call_id)
        .await
        .map_err(PipelineError::from)?
        .filter(|s| s.account_id == account)
        .ok_or(PipelineError::CallNotFound)?;
    if !state.status.is_live() {
        return Err(PipelineError::NotInProgress.into());
    }
    if let (Some(control_id), Some(client)) = (state.call_control_id.as_deref(), telnyx) {
        // Marked before the command: Telnyx's `call.hangup` may arrive before its answer.
        pipeline::mark_end_requested(live, call_id, true).await?;
        match client.hangup(control_id, &Hangup::default()).await {
            Ok(_) => return Ok(Ended::HangupSent),
            Err(CommandError::CallGone(_)) => {}
            Err(e) => {
                pipeline::mark_end_requested(live, call_id, false).await?;
                return Err(e.into());
            }
        }
    }
    let end = EndCall {
        ended_reason: EndedReason::Api,
        status: None,
        disposition: None,
        ended_at: None,
    };
    let ended = pipeline::end(store, live, call_id, end, now).await?;
    // Ended meanwhile by another source: that end stands, and this request found the call
    // no longer in progress.
    if ended.ended_reason != Some(EndedReason::Api) {
        return Err(PipelineError::NotInProgress.into());
    }
    Ok(Ended::Directly)
}
