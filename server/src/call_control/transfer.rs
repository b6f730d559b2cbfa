//! `POST /v1/calls/:callId/transfer`, and what Telnyx then says about the new leg.
//!
//! The transfer is written (`requested`) before the command goes to Telnyx, so the new
//! leg's webhooks, which may arrive before Telnyx's answer, always find it; Telnyx's answer
//! makes it `initiated` (`transfer.initiated`) or deletes it (the API answers 422). The new
//! leg names the transfer in its `client_state`. Then:
//! - the new leg answers (`call.answered` or `call.bridged`, the first one): the transfer
//!   is `completed` (`transfer.completed`). **The AI's part of the call ends there**: the
//!   call ends (or, ended already, is corrected) as `completed` / `transferred` /
//!   `transfer` at that instant, so `duration_seconds` and the minutes billed at the
//!   agent's rate cover the AI's part only, and `transferred_to` is the destination;
//! - the first hangup of either leg after that ends the transferred conversation:
//!   `transfer_duration_seconds` is its length and `transfer_cost` its minutes at the
//!   transfer rate, added to `total_cost`;
//! - the new leg hangs up before answering: the transfer `failed` (`transfer.failed`, with
//!   Telnyx's `hangup_cause` as `reason`); the call goes on. A `normal_clearing` hangup
//!   waits for the answer it implies (out-of-order delivery) instead of failing.
//!
//! Instants only ever move earlier (the first answer, the first hangup), so the final
//! record does not depend on the order events arrive in. `transfer.*` events are queued in
//! the transaction that records the Telnyx event, so each is queued once.

use callscope_shared::{CallId, CallStatus, E164, EndedReason, call_events};

use super::tags::Tag;
use super::{Ingested, seen};
use crate::billing;
use crate::clock::UnixTime;
use crate::ids::AccountId;
use crate::live::LiveStore;
use crate::pipeline::{self, EndCall, PipelineError};
use crate::storage::{CallTx, ControlEvent, Store, Transfer, TransferState};
use crate::telephony::Telephony;
use crate::telnyx::{CallOutcome, CommandError, HangupCause, TelnyxEvent, TelnyxEventKind};
use crate::webhooks::events::{self, TransferOutcome};

/// A transfer whose outcome has not arrived within this many seconds is no longer pending
/// (its webhooks were lost): another transfer may start.
pub const PENDING_TRANSFER_SECS: i64 = 120;

/// Why a transfer did not start. Nothing changed in any of these cases.
#[derive(Debug, thiserror::Error)]
pub enum TransferError {
    #[error("destination is not a valid E.164 phone number")]
    InvalidDestination,
    #[error("the call has no call control id, or Telnyx is not configured")]
    NoControlChannel,
    #[error("a transfer of this call is already in progress")]
    AlreadyInProgress,
    #[error(transparent)]
    Pipeline(#[from] PipelineError),
    #[error(transparent)]
    Telnyx(#[from] CommandError),
}

impl From<crate::storage::StoreError> for TransferError {
    fn from(err: crate::storage::StoreError) -> Self {
        PipelineError::from(err).into()
    }
}

/// Transfers `account`'s in-progress call `call_id` to `destination` (see the module).
pub async fn transfer_call(
    store: &Store,
    telnyx: Option<&Telephony>,
    account: AccountId,
    call_id: CallId,
    destination: &str,
    now: UnixTime,
) -> Result<E164, TransferError> {
    let destination: E164 = destination
        .parse()
        .map_err(|_| TransferError::InvalidDestination)?;
    let mut tx = pipeline::lock(store, call_id).await?;
    let state = tx.state().clone();
    if state.account_id != account {
        return Err(PipelineError::CallNotFound.into());
    }
    if state.status != CallStatus::InProgress {
        return Err(PipelineError::NotInProgress.into());
    }
    let (Some(control_id), Some(client)) = (state.call_control_id.as_deref(), telnyx) else {
        return Err(TransferError::NoControlChannel);
    };
    let pending = tx
        .transfers()
        .await?
        .iter()
        .any(|t| t.state.is_pending() && now.since(t.requested_at) < PENDING_TRANSFER_SECS);
    if pending {
        return Err(TransferError::AlreadyInProgress);
    }
    let id = tx.insert_transfer(destination.as_str(), now).await?;
    tx.commit().await?;

    let command = crate::telnyx::Transfer {
        target_leg_client_state: Some(Tag::Transfer(id).client_state()),
        ..crate::telnyx::Transfer::to(destination.as_str())
    };
    let sent = client.transfer(control_id, &command).await;
    let mut tx = pipeline::lock(store, call_id).await?;
    let transfer = tx.transfers().await?.into_iter().find(|t| t.id == id);
    let requested = transfer.filter(|t| t.state == TransferState::Requested);
    match (sent, requested) {
        (Ok(_), Some(mut transfer)) => {
            transfer.state = TransferState::Initiated;
            tx.save_transfer(&transfer).await?;
            queue(&mut tx, &transfer, vec![TransferOutcome::Initiated], now).await?;
            tx.commit().await?;
        }
        // The new leg's webhooks came first and queued `transfer.initiated` themselves.
        (Ok(_), None) => {}
        (Err(e), requested) => {
            if requested.is_some() {
                tx.delete_transfer(id).await?;
                tx.commit().await?;
            }
            return Err(e.into());
        }
    }
    Ok(destination)
}

/// Applies an event of a transfer's new leg.
pub(super) async fn on_new_leg_event(
    store: &Store,
    live: &LiveStore,
    event: &TelnyxEvent,
    transfer_id: i64,
    occurred_at: UnixTime,
    now: UnixTime,
) -> Result<Ingested, PipelineError> {
    let Some(call_id) = store.transfer_call(transfer_id).await? else {
        tracing::info!(event_id = %event.id, event_type = %event.event_type,
            "Telnyx event for no known transfer: ignored");
        return Ok(Ingested::UnknownCall);
    };
    let mut tx = pipeline::lock(store, call_id).await?;
    if !tx
        .record_telnyx_event(&seen(event, call_id, occurred_at), now)
        .await?
    {
        return Ok(Ingested::Duplicate);
    }
    let Some(mut transfer) = tx
        .transfers()
        .await?
        .into_iter()
        .find(|t| t.id == transfer_id)
    else {
        return Ok(Ingested::UnknownCall);
    };
    let outcomes = match &event.kind {
        TelnyxEventKind::Answered { .. } | TelnyxEventKind::Bridged { .. } => {
            leg_answered(&mut transfer, occurred_at)
        }
        TelnyxEventKind::Hangup { hangup_cause, .. } => {
            leg_hung_up(&mut transfer, hangup_cause, occurred_at)
        }
        _ => Vec::new(),
    };
    tx.save_transfer(&transfer).await?;
    queue(&mut tx, &transfer, outcomes, now).await?;
    let ended = apply_to_call(&mut tx, &transfer, now).await?;
    tx.commit().await?;
    if ended {
        live.remove(call_id).await?;
    }
    Ok(Ingested::Applied(call_id))
}

/// The call's own leg hung up at `at`: the end of a transferred conversation, if any.
pub(super) async fn on_call_hangup(
    store: &Store,
    call_id: CallId,
    at: UnixTime,
    now: UnixTime,
) -> Result<(), PipelineError> {
    // Most calls were never transferred: no lock for them. None can start now (a transfer
    // needs a call in progress, and this hangup comes after the call's end or ends it).
    if !store.has_transfers(call_id).await? {
        return Ok(());
    }
    let mut tx = pipeline::lock(store, call_id).await?;
    let open: Vec<Transfer> = tx
        .transfers()
        .await?
        .into_iter()
        .filter(|t| t.state != TransferState::Failed)
        .collect();
    if open.is_empty() {
        return Ok(());
    }
    for mut transfer in open {
        let end = earliest(transfer.ended_at, at);
        if transfer.ended_at != Some(end) {
            transfer.ended_at = Some(end);
            tx.save_transfer(&transfer).await?;
        }
        apply_to_call(&mut tx, &transfer, now).await?;
    }
    tx.commit().await?;
    Ok(())
}

/// The new leg answered (or was bridged) at `at`: the transfer completes; the events due.
fn leg_answered(transfer: &mut Transfer, at: UnixTime) -> Vec<TransferOutcome> {
    match transfer.state {
        TransferState::Requested | TransferState::Initiated => {
            let mut due = Vec::new();
            if transfer.state == TransferState::Requested {
                due.push(TransferOutcome::Initiated);
            }
            transfer.state = TransferState::Completed;
            transfer.bridged_at = Some(at);
            due.push(TransferOutcome::Completed(at));
            due
        }
        TransferState::Completed => {
            transfer.bridged_at = Some(earliest(transfer.bridged_at, at));
            Vec::new()
        }
        TransferState::Failed => Vec::new(),
    }
}

/// The new leg hung up at `at`: the transferred conversation's end, or the transfer's
/// failure when it never answered; the events due.
fn leg_hung_up(transfer: &mut Transfer, cause: &HangupCause, at: UnixTime) -> Vec<TransferOutcome> {
    transfer.ended_at = Some(earliest(transfer.ended_at, at));
    if !transfer.state.is_pending() || *cause == HangupCause::NormalClearing {
        return Vec::new();
    }
    let mut due = Vec::new();
    if transfer.state == TransferState::Requested {
        due.push(TransferOutcome::Initiated);
    }
    transfer.state = TransferState::Failed;
    transfer.failure = Some(cause.as_str().to_owned());
    due.push(TransferOutcome::Failed(cause.as_str().to_owned()));
    due
}

fn earliest(known: Option<UnixTime>, at: UnixTime) -> UnixTime {
    known.map_or(at, |k| k.min(at))
}

/// A completed transfer's effect on its call (see the module): ends or corrects the AI's
/// part at the answer, then settles the transferred conversation once it has ended.
/// Whether the call ended now.
async fn apply_to_call(
    tx: &mut CallTx,
    transfer: &Transfer,
    now: UnixTime,
) -> Result<bool, PipelineError> {
    let (TransferState::Completed, Some(bridged_at)) = (transfer.state, transfer.bridged_at) else {
        return Ok(false);
    };
    let state = tx.state().clone();
    let bridged_at = bridged_at.max(state.started_at);
    let ended_now = if state.status.is_live() {
        let end = EndCall {
            ended_reason: EndedReason::Transfer,
            status: Some(CallOutcome::TRANSFERRED.status),
            disposition: Some(CallOutcome::TRANSFERRED.disposition),
            ended_at: bridged_at.timestamp(),
        };
        pipeline::end_in(tx, end, now).await?
    } else {
        let ended_at = earliest(state.ended_at, bridged_at);
        pipeline::correct_end_in(tx, true, CallOutcome::TRANSFERRED.fields(), Some(ended_at))
            .await?;
        false
    };
    let mut settled = tx.state().clone();
    settled.transferred_to = Some(transfer.destination.clone());
    if let Some(end) = transfer.ended_at.filter(|end| *end >= bridged_at) {
        settled.transfer_duration_seconds = end.since(bridged_at);
        settled.transfer_cost = billing::transfer_cost(settled.transfer_duration_seconds);
    }
    settled.total_cost = pipeline::total_cost(&settled);
    if settled != *tx.state() {
        tx.save(&settled).await?;
    }
    Ok(ended_now)
}

/// Queues a transfer's events with the change.
async fn queue(
    tx: &mut CallTx,
    transfer: &Transfer,
    outcomes: Vec<TransferOutcome>,
    now: UnixTime,
) -> Result<(), PipelineError> {
    if outcomes.is_empty() {
        return Ok(());
    }
    for outcome in &outcomes {
        let (event, at, detail) = match outcome {
            TransferOutcome::Initiated => (
                call_events::TRANSFER_INITIATED,
                transfer.requested_at,
                &transfer.destination,
            ),
            TransferOutcome::Completed(at) => {
                (call_events::TRANSFER_COMPLETED, *at, &transfer.destination)
            }
            TransferOutcome::Failed(reason) => (call_events::TRANSFER_FAILED, now, reason),
        };
        tx.add_control_event(&ControlEvent::new(event, at, Some(detail.clone())))
            .await?;
    }
    let destination = transfer.destination.clone();
    tx.enqueue(now, |call, agent, now| {
        outcomes
            .iter()
            .map(|outcome| events::for_transfer(call, agent, &destination, outcome, now))
            .collect()
    })
    .await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pending(state: TransferState) -> Transfer {
        Transfer {
            id: 1,
            call_id: CallId::new(1).unwrap(),
            destination: "+31850099999".into(),
            state,
            requested_at: UnixTime(100),
            bridged_at: None,
            ended_at: None,
            failure: None,
        }
    }

    #[test]
    fn an_answer_completes_once_and_keeps_the_first_instant() {
        let mut t = pending(TransferState::Initiated);
        assert_eq!(
            leg_answered(&mut t, UnixTime(130)),
            vec![TransferOutcome::Completed(UnixTime(130))]
        );
        // `call.bridged` after `call.answered`, and a repeat: nothing more is due.
        assert!(leg_answered(&mut t, UnixTime(131)).is_empty());
        assert!(leg_answered(&mut t, UnixTime(129)).is_empty());
        assert_eq!(
            (t.state, t.bridged_at),
            (TransferState::Completed, Some(UnixTime(129)))
        );
    }

    #[test]
    fn a_leg_answering_before_telnyx_accepted_also_owes_initiated() {
        let mut t = pending(TransferState::Requested);
        assert_eq!(
            leg_answered(&mut t, UnixTime(120)),
            vec![
                TransferOutcome::Initiated,
                TransferOutcome::Completed(UnixTime(120))
            ]
        );
    }

    #[test]
    fn a_hangup_before_the_answer_fails_except_normal_clearing() {
        let mut t = pending(TransferState::Initiated);
        assert_eq!(
            leg_hung_up(&mut t, &HangupCause::UserBusy, UnixTime(110)),
            vec![TransferOutcome::Failed("user_busy".into())]
        );
        assert_eq!(t.state, TransferState::Failed);
        // A failed transfer stays failed.
        assert!(leg_answered(&mut t, UnixTime(105)).is_empty());
        assert_eq!(t.state, TransferState::Failed);

        let mut t = pending(TransferState::Initiated);
        assert!(leg_hung_up(&mut t, &HangupCause::NormalClearing, UnixTime(200)).is_empty());
        assert_eq!(
            (t.state, t.ended_at),
            (TransferState::Initiated, Some(UnixTime(200)))
        );
        // The answer it implied arrives late: completed, with the conversation's end known.
        assert_eq!(
            leg_answered(&mut t, UnixTime(130)),
            vec![TransferOutcome::Completed(UnixTime(130))]
        );
        assert_eq!(t.ended_at, Some(UnixTime(200)));
    }
}
