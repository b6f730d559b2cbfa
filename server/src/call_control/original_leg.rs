//! The call's own leg: `call.answered` and `call.hangup` (see the module rules in
//! `call_control`).

use callscope_shared::{CallId, CallStatus, EndedReason};

use super::{Ingested, seen, transfer};
use crate::clock::UnixTime;
use crate::live::LiveStore;
use crate::pipeline::{self, EndCall, PipelineError};
use crate::storage::Store;
use crate::telnyx::{HangupCause, HangupFacts, HangupSource, TelnyxEvent, TelnyxEventKind};

/// Applies an answer or a hangup of the call's own leg.
pub(super) async fn on_event(
    store: &Store,
    live: &LiveStore,
    event: &TelnyxEvent,
    call_id: CallId,
    occurred_at: UnixTime,
    now: UnixTime,
) -> Result<Ingested, PipelineError> {
    let mut seen = seen(event, call_id, occurred_at);
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
                seen.hangup_cause = Some(hangup_cause.as_str().to_owned());
                seen.hangup_source = Some(hangup_source.as_str().to_owned());
            }
            // The end of a transferred conversation, if the call was transferred.
            transfer::on_call_hangup(store, call_id, occurred_at, now).await?;
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
