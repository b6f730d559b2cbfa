//! `POST /v1/calls/:callId/gather` and its `call.gather.ended`.
//!
//! One gather per call across every instance: the call's gather slot in the live store
//! (`SET NX` in Redis) is taken before the command goes to Telnyx and freed by the
//! gather's own `call.gather.ended` (named in its `client_state`), by a refused command, by
//! the call's end, or by its expiry — the prompt's speaking time (10 characters a second),
//! the input timeout and a minute's margin — should Telnyx's webhook be lost.
//!
//! `call.gather.ended` becomes `call.gather.completed` with the spec's `status`:
//! `completed` and the digits as `input` when Telnyx says `valid`; `timeout` and `input:
//! null` for every other Telnyx status (`timeout`, `invalid`, `call_hangup`, `cancelled`,
//! `cancelled_amd`), which the event's `reason` names. It is queued in the transaction
//! that records the Telnyx event, so once.

use std::time::Duration;

use callscope_shared::{CallId, CallStatus, call_events};
use serde_json::{Map, Value};

use super::tags::Tag;
use super::{Ingested, seen};
use crate::clock::UnixTime;
use crate::ids::AccountId;
use crate::live::{LiveError, LiveStore};
use crate::pipeline::{self, PipelineError};
use crate::storage::{ControlEvent, Store};
use crate::telephony::Telephony;
use crate::telnyx::{CommandError, GatherStatus, GatherUsingSpeak, TelnyxEvent, TtsVoice, Voice};
use crate::webhooks::events;

/// Longest prompt Telnyx speaks (its reference: 3,000 characters).
pub const MAX_PROMPT_CHARS: usize = 3_000;
/// The spec's ranges and defaults.
pub const MAX_DIGITS: (u32, u32, u32) = (1, 20, 10);
pub const TIMEOUT_SECONDS: (u32, u32, u32) = (5, 60, 15);
pub const DEFAULT_TERMINATOR: &str = "#";

const FIELDS: &str = "prompt, max_digits, terminator, timeout_seconds, voice, language";

/// A gather as the spec's request asks for it, checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GatherRequest {
    pub prompt: String,
    pub max_digits: u32,
    pub terminator: String,
    pub timeout_seconds: u32,
    pub voice: TtsVoice,
}

impl GatherRequest {
    /// Checks the spec's fields in its order; the message names the first bad one. A field
    /// sent as `null` takes its default.
    pub fn from_json(body: &Value) -> Result<Self, String> {
        let Some(body) = body.as_object() else {
            return Err("Request body must be a JSON object".into());
        };
        if let Some(unknown) = body.keys().find(|k| !FIELDS.split(", ").any(|f| f == *k)) {
            return Err(format!(
                "unknown field {unknown:?}; expected one of: {FIELDS}"
            ));
        }
        let prompt = match field(body, "prompt") {
            Some(Value::String(p))
                if !p.trim().is_empty() && p.chars().count() <= MAX_PROMPT_CHARS =>
            {
                p.clone()
            }
            _ => {
                return Err(format!(
                    "prompt is required: the text to speak, 1 to {MAX_PROMPT_CHARS} characters"
                ));
            }
        };
        let max_digits = integer(body, "max_digits", MAX_DIGITS)?;
        let terminator = match field(body, "terminator") {
            None => DEFAULT_TERMINATOR.to_owned(),
            Some(Value::String(t)) if t.len() == 1 && "0123456789*#".contains(t.as_str()) => {
                t.clone()
            }
            Some(_) => return Err("terminator must be one DTMF key: 0-9, * or #".into()),
        };
        let timeout_seconds = integer(body, "timeout_seconds", TIMEOUT_SECONDS)?;
        let voice = match field(body, "voice") {
            None => Voice::default(),
            Some(Value::String(v)) => v.parse::<Voice>()?,
            Some(_) => return Err("voice must be one of: female, male".into()),
        };
        let language = match field(body, "language") {
            None => None,
            Some(Value::String(l)) => Some(l.as_str()),
            Some(_) => Some(""),
        };
        let voice = TtsVoice::resolve(voice, language).map_err(|e| e.to_string())?;
        Ok(Self {
            prompt,
            max_digits,
            terminator,
            timeout_seconds,
            voice,
        })
    }

    /// How long the gather may hold the call's slot.
    fn slot_ttl(&self) -> Duration {
        let speaking = self.prompt.chars().count().div_ceil(10) as u64;
        Duration::from_secs(speaking + u64::from(self.timeout_seconds) + 60)
    }
}

/// A present, non-null field.
fn field<'a>(body: &'a Map<String, Value>, name: &str) -> Option<&'a Value> {
    body.get(name).filter(|v| !v.is_null())
}

fn integer(
    body: &Map<String, Value>,
    name: &str,
    (min, max, default): (u32, u32, u32),
) -> Result<u32, String> {
    match field(body, name) {
        None => Ok(default),
        Some(v) => v
            .as_u64()
            .and_then(|n| u32::try_from(n).ok())
            .filter(|n| (min..=max).contains(n))
            .ok_or_else(|| format!("{name} must be an integer from {min} to {max}")),
    }
}

/// Why a gather did not start. Nothing changed in any of these cases.
#[derive(Debug, thiserror::Error)]
pub enum GatherError {
    #[error("call is not in progress")]
    NotActive,
    #[error("the call has no call control id, or Telnyx is not configured")]
    NoControlChannel,
    #[error("another gather is in progress on this call")]
    AlreadyInProgress,
    #[error(transparent)]
    Pipeline(#[from] PipelineError),
    #[error(transparent)]
    Telnyx(#[from] CommandError),
}

impl From<LiveError> for GatherError {
    fn from(err: LiveError) -> Self {
        PipelineError::from(err).into()
    }
}

/// Starts a gather on `account`'s in-progress call (see the module); the call's id.
pub async fn gather_call(
    store: &Store,
    live: &LiveStore,
    telnyx: Option<&Telephony>,
    account: AccountId,
    call_id: CallId,
    request: &GatherRequest,
    now: UnixTime,
) -> Result<CallId, GatherError> {
    let state = pipeline::owned_state(store, account, call_id).await?;
    if state.status != CallStatus::InProgress {
        return Err(GatherError::NotActive);
    }
    let (Some(control_id), Some(client)) = (state.call_control_id.as_deref(), telnyx) else {
        return Err(GatherError::NoControlChannel);
    };
    let gather_id = uuid::Uuid::new_v4().to_string();
    if !live
        .claim_gather(call_id, &gather_id, request.slot_ttl())
        .await?
    {
        return Err(GatherError::AlreadyInProgress);
    }
    let command = GatherUsingSpeak {
        client_state: Some(Tag::Gather(gather_id.clone()).client_state()),
        ..GatherUsingSpeak::from_spec(
            request.prompt.as_str(),
            request.max_digits,
            request.terminator.as_str(),
            request.timeout_seconds,
            &request.voice,
        )
    };
    match client.gather_using_speak(control_id, &command).await {
        Ok(_) => {
            let started = ControlEvent::new(
                call_events::GATHER_STARTED,
                now,
                Some(request.prompt.clone()),
            );
            // What the view shows of it; the gather runs whether or not this is written.
            if let Err(err) = store.add_control_event(call_id, &started).await {
                tracing::warn!(%call_id, error = %err, "recording a started gather failed");
            }
            Ok(call_id)
        }
        Err(e) => {
            live.release_gather(call_id, &gather_id).await?;
            Err(match e {
                // Telnyx knows better: the call is not answered, or gone.
                CommandError::NotAnswered(_) | CommandError::CallGone(_) => GatherError::NotActive,
                other => other.into(),
            })
        }
    }
}

/// What a `call.gather.ended` says.
pub(super) struct GatherEnded<'a> {
    pub digits: &'a str,
    pub status: &'a GatherStatus,
    /// When it happened, as `ingest` bounds it.
    pub occurred_at: UnixTime,
}

/// `call.gather.ended` of one of our gathers: `call.gather.completed` queued, the slot
/// freed. A gather callscope did not start (no tag of ours) is ignored.
pub(super) async fn on_gather_ended(
    store: &Store,
    live: &LiveStore,
    event: &TelnyxEvent,
    call_id: CallId,
    ended: GatherEnded<'_>,
    now: UnixTime,
) -> Result<Ingested, PipelineError> {
    let tag = event
        .kind
        .leg()
        .and_then(|leg| leg.client_state.as_ref())
        .and_then(Tag::of);
    let Some(Tag::Gather(gather_id)) = tag else {
        return Ok(Ingested::Ignored);
    };
    live.release_gather(call_id, &gather_id).await?;
    let mut tx = pipeline::lock(store, call_id).await?;
    if !tx
        .record_telnyx_event(&seen(event, call_id, ended.occurred_at), now)
        .await?
    {
        return Ok(Ingested::Duplicate);
    }
    let input = (*ended.status == GatherStatus::Valid).then_some(ended.digits);
    let detail = input.unwrap_or(ended.status.as_str()).to_owned();
    tx.add_control_event(&ControlEvent::new(
        call_events::GATHER_COMPLETED,
        ended.occurred_at,
        Some(detail),
    ))
    .await?;
    tx.enqueue(now, |call, agent, now| {
        vec![events::for_gather(
            call,
            agent,
            input,
            ended.status.as_str(),
            now,
        )]
    })
    .await?;
    tx.commit().await?;
    Ok(Ingested::Applied(call_id))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn defaults_are_the_specs() {
        let r = GatherRequest::from_json(&json!({"prompt": "Your account number?"})).unwrap();
        assert_eq!(
            (r.max_digits, r.terminator.as_str(), r.timeout_seconds),
            (10, "#", 15)
        );
        assert_eq!(
            r.voice,
            TtsVoice::resolve(Voice::Female, Some("en-US")).unwrap()
        );
        let nulls = json!({"prompt": "x", "max_digits": null, "voice": null, "language": null});
        assert_eq!(GatherRequest::from_json(&nulls).unwrap().max_digits, 10);
    }

    #[test]
    fn each_bad_field_is_named() {
        let cases = [
            (json!([]), "JSON object"),
            (json!({}), "prompt"),
            (json!({"prompt": "  "}), "prompt"),
            (json!({"prompt": 5}), "prompt"),
            (json!({"prompt": "x".repeat(3001)}), "prompt"),
            (json!({"prompt": "x", "max_digits": 0}), "max_digits"),
            (json!({"prompt": "x", "max_digits": 21}), "max_digits"),
            (json!({"prompt": "x", "max_digits": 2.5}), "max_digits"),
            (json!({"prompt": "x", "max_digits": "8"}), "max_digits"),
            (json!({"prompt": "x", "terminator": "##"}), "terminator"),
            (json!({"prompt": "x", "terminator": "a"}), "terminator"),
            (
                json!({"prompt": "x", "timeout_seconds": 4}),
                "timeout_seconds",
            ),
            (
                json!({"prompt": "x", "timeout_seconds": 61}),
                "timeout_seconds",
            ),
            (json!({"prompt": "x", "voice": "robot"}), "voice"),
            (json!({"prompt": "x", "language": "xx-XX"}), "language"),
            (json!({"prompt": "x", "language": 1}), "language"),
            (
                json!({"prompt": "x", "digits": 3}),
                "unknown field \"digits\"",
            ),
        ];
        for (body, named) in cases {
            let err = GatherRequest::from_json(&body).unwrap_err();
            assert!(err.contains(named), "{body}: {err}");
        }
    }

    #[test]
    fn bounds_are_inclusive() {
        for (field, value) in [
            ("max_digits", 1),
            ("max_digits", 20),
            ("timeout_seconds", 5),
            ("timeout_seconds", 60),
        ] {
            let body = json!({"prompt": "x", field: value});
            assert!(GatherRequest::from_json(&body).is_ok(), "{body}");
        }
    }
}
