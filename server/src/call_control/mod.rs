//! Live calls driven by Telnyx: its verified webhooks applied to calls (`ingest`), and the
//! owner's control of a live call: `POST /v1/calls/:callId/end` (`end`), `/transfer`
//! (`transfer`) and `/gather` (`gather`).
//!
//! Rules of ingestion:
//! - an event of a call's own leg is matched to the call by `call_control_id` alone
//!   (webhooks name no account); the new leg of a transfer by the transfer named in its
//!   `client_state` (`tags`); an event for no known call is accepted and logged (its id and
//!   type, never a number);
//! - `data.id` is recorded once applied, so a repeated delivery changes nothing. Events that
//!   queue webhooks (transfers, gathers) record it in the same transaction as the events
//!   they queue, so two deliveries of one event at the same moment queue them once; the
//!   others are applied through the idempotent lifecycle service;
//! - `call.answered` answers the call; `call.hangup` ends it with the outcome of
//!   [`HangupFacts`](crate::telnyx::HangupFacts) (answered: the call is in progress; by the
//!   API: `/end` asked for the hangup), at the event's `occurred_at`. Whichever ends the
//!   call first (the pipeline's end or Telnyx's hangup) wins; the other's end is absorbed;
//! - a `call.answered` that arrives after the hangup (and happened before it) corrects the
//!   outcome the hangup decided without it, as if they had arrived in order;
//! - transfers and gathers: see `transfer` and `gather`; recordings: see `recording`;
//! - every other event type is accepted and ignored.

mod end;
mod gather;
mod original_leg;
mod recording;
mod tags;
mod transfer;

pub use end::{EndError, Ended, end_call};
pub use gather::{GatherError, GatherRequest, gather_call};
pub use recording::{record_start, start_recording, start_recording_soon};
pub use transfer::{TransferError, transfer_call};

use callscope_shared::CallId;

use crate::clock::UnixTime;
use crate::live::LiveStore;
use crate::pipeline::{self, PipelineError};
use crate::storage::{SeenTelnyxEvent, Store};
use crate::telnyx::{TelnyxEvent, TelnyxEventKind};
use tags::Tag;

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
    // Telnyx's clock may run ahead of ours a little; the lifecycle allows that much.
    let occurred_at = event
        .occurred_at
        .min(UnixTime(now.0.saturating_add(pipeline::MAX_SKEW_SECONDS)));
    if let TelnyxEventKind::RecordingSaved(saved) = &event.kind {
        return recording::on_saved(store, event, saved, occurred_at, now).await;
    }
    let Some(leg) = event.kind.leg() else {
        return Ok(Ingested::Ignored);
    };
    if store.telnyx_event_seen(&event.id).await? {
        return Ok(Ingested::Duplicate);
    }
    if let Some(Tag::Transfer(transfer_id)) = leg.client_state.as_ref().and_then(Tag::of) {
        return transfer::on_new_leg_event(store, live, event, transfer_id, occurred_at, now).await;
    }
    if !matches!(
        event.kind,
        TelnyxEventKind::Answered { .. }
            | TelnyxEventKind::Hangup { .. }
            | TelnyxEventKind::GatherEnded { .. }
    ) {
        return Ok(Ingested::Ignored);
    }
    let Some(call_id) = store.call_by_control_id_any(&leg.call_control_id).await? else {
        tracing::info!(
            event_id = %event.id,
            event_type = %event.event_type,
            "Telnyx event for no known call: ignored"
        );
        return Ok(Ingested::UnknownCall);
    };
    // `call.recording.saved` names this leg, not the call control id.
    store.set_call_leg_id(call_id, &leg.call_leg_id).await?;
    match &event.kind {
        TelnyxEventKind::GatherEnded { digits, status, .. } => {
            let ended = gather::GatherEnded {
                digits,
                status,
                occurred_at,
            };
            gather::on_gather_ended(store, live, event, call_id, ended, now).await
        }
        _ => original_leg::on_event(store, live, event, call_id, occurred_at, now).await,
    }
}

/// The record of an applied event.
fn seen(event: &TelnyxEvent, call_id: CallId, occurred_at: UnixTime) -> SeenTelnyxEvent {
    SeenTelnyxEvent {
        event_id: event.id.clone(),
        event_type: event.event_type.clone(),
        call_id,
        occurred_at,
        hangup_cause: None,
        hangup_source: None,
    }
}
