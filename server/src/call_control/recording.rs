//! Recording a call through the provider: an answered call whose agent records gets one
//! `record_start` (MP3, one mixed channel: what a browser's player plays), claimed in the
//! database so two answers (the pipeline's and Telnyx's, on any instance) send it once;
//! its `call.recording.saved` queues the download (`recordings::download`) of the MP3.
//!
//! `call.recording.saved` names no call control id: it is matched by the tag our
//! `record_start` put in `client_state`, else by the call's own leg id (learnt from its
//! `call.answered`/`call.hangup`). A recording of a call whose agent does not record is
//! dropped (nothing is stored: "An agent with recording off never records").

use callscope_shared::CallId;

use super::tags::Tag;
use super::{Ingested, seen};
use crate::clock::UnixTime;
use crate::pipeline::PipelineError;
use crate::storage::{NewDownload, StartClaim, Store, StoreError};
use crate::telephony::Telephony;
use crate::telnyx::{
    CommandError, RecordStart, RecordingChannels, RecordingFormat, RecordingSaved, TelnyxEvent,
};

/// Reasons a recording failed, as the owner reads them after `Recording failed: `.
pub const NO_PROVIDER: &str = "no telephony provider is configured to record through";
pub const ENDED_FIRST: &str = "the call ended before the recording could start";
pub const NO_MP3: &str = "the provider saved no MP3 of the recording";

/// The command for `call_id`'s recording.
pub fn record_start(call_id: CallId) -> RecordStart {
    RecordStart {
        format: RecordingFormat::Mp3,
        channels: RecordingChannels::Single,
        client_state: Some(Tag::Recording(call_id.get()).client_state()),
    }
}

/// Asks the provider to record `call_id` if it is answered, its agent records, and no one
/// asked before. A refusal is written on the call for the owner; a provider that has not
/// seen the answer yet (`90034`) leaves the claim free for its own `call.answered`.
pub async fn start_recording(
    store: &Store,
    telephony: Option<&Telephony>,
    call_id: CallId,
) -> Result<(), StoreError> {
    let StartClaim::Claimed(control) = store.claim_recording_start(call_id).await? else {
        return Ok(());
    };
    let Some(telephony) = telephony else {
        return store.fail_recording(call_id, NO_PROVIDER).await;
    };
    match telephony
        .record_start(&control, &record_start(call_id))
        .await
    {
        Ok(_) => Ok(()),
        Err(CommandError::NotAnswered(_)) => store.release_recording_start(call_id).await,
        Err(CommandError::CallGone(_)) => store.fail_recording(call_id, ENDED_FIRST).await,
        Err(e) => {
            let reason = format!("the provider did not start the recording ({e})");
            store.fail_recording(call_id, &reason).await
        }
    }
}

/// [`start_recording`] in the background: an answer (a webhook, a pipeline request) is
/// answered without waiting for the provider.
pub fn start_recording_soon(store: &Store, telephony: Option<&Telephony>, call_id: CallId) {
    let (store, telephony) = (store.clone(), telephony.cloned());
    tokio::spawn(async move {
        if let Err(e) = start_recording(&store, telephony.as_ref(), call_id).await {
            tracing::warn!(%call_id, error = %e, "starting the recording failed");
        }
    });
}

/// Applies `call.recording.saved`: queues the download of its MP3 (see the module's rules).
pub(super) async fn on_saved(
    store: &Store,
    event: &TelnyxEvent,
    saved: &RecordingSaved,
    occurred_at: UnixTime,
    now: UnixTime,
) -> Result<Ingested, PipelineError> {
    if store.telnyx_event_seen(&event.id).await? {
        return Ok(Ingested::Duplicate);
    }
    let tagged = match saved.client_state.as_ref().and_then(Tag::of) {
        Some(Tag::Recording(id)) => CallId::new(id),
        _ => None,
    };
    let call_id = match tagged {
        Some(call_id) => Some(call_id),
        None => store.call_by_leg_id(&saved.call_leg_id).await?,
    };
    let records = match call_id {
        Some(call_id) => store.records(call_id).await?.map(|on| (call_id, on)),
        None => None,
    };
    let Some((call_id, records)) = records else {
        tracing::info!(event_id = %event.id, "call.recording.saved for no known call: ignored");
        return Ok(Ingested::UnknownCall);
    };
    if !records {
        tracing::info!(event_id = %event.id, %call_id,
            "call.recording.saved for a call whose agent does not record: dropped");
        return Ok(Ingested::Ignored);
    }
    let seen = seen(event, call_id, occurred_at);
    let Some(url) = saved.mp3_url.as_deref() else {
        store.fail_recording(call_id, NO_MP3).await?;
        store.record_telnyx_event(&seen, now).await?;
        return Ok(Ingested::Applied(call_id));
    };
    let download = NewDownload {
        url,
        recording_started_at: saved.recording_started_at,
    };
    Ok(
        match store
            .queue_recording_download(&seen, &download, now)
            .await?
        {
            true => Ingested::Applied(call_id),
            false => Ingested::Duplicate,
        },
    )
}
