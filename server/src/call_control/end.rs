//! `POST /v1/calls/:callId/end`.

use callscope_shared::{CallId, EndedReason, call_events};

use crate::clock::UnixTime;
use crate::ids::AccountId;
use crate::live::LiveStore;
use crate::pipeline::{self, EndCall, PipelineError};
use crate::storage::{ControlEvent, Store};
use crate::telephony::Telephony;
use crate::telnyx::{CommandError, Hangup};

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
    telnyx: Option<&Telephony>,
    account: AccountId,
    call_id: CallId,
    now: UnixTime,
) -> Result<Ended, EndError> {
    let state = pipeline::owned_state(store, account, call_id).await?;
    if !state.status.is_live() {
        return Err(PipelineError::NotInProgress.into());
    }
    if let (Some(control_id), Some(client)) = (state.call_control_id.as_deref(), telnyx) {
        // Marked before the command: Telnyx's `call.hangup` may arrive before its answer.
        pipeline::mark_end_requested(live, call_id, true).await?;
        match client.hangup(control_id, &Hangup::default()).await {
            Ok(_) => {
                requested(store, call_id, now).await;
                return Ok(Ended::HangupSent);
            }
            Err(CommandError::CallGone(_)) => {}
            Err(e) => {
                pipeline::mark_end_requested(live, call_id, false).await?;
                return Err(e.into());
            }
        }
    }
    requested(store, call_id, now).await;
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

/// Shows the end asked for in the public view; the end goes on whether or not this is written.
async fn requested(store: &Store, call_id: CallId, now: UnixTime) {
    let event = ControlEvent::new(call_events::END_REQUESTED, now, None);
    if let Err(err) = store.add_control_event(call_id, &event).await {
        tracing::warn!(%call_id, error = %err, "recording an end asked for failed");
    }
}
