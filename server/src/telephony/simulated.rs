//! The simulated telephony provider: takes Telnyx's commands and, after a few seconds,
//! answers them with the events Telnyx's webhooks would carry, fed to the same
//! `call_control::ingest` a verified webhook goes to. Each event is built as Telnyx's JSON
//! envelope and parsed by the webhook parser, so it is exactly what a delivery would give:
//! a fresh `data.id` per event, `occurred_at` from the server's clock, the command's
//! `client_state` (a transfer's `target_leg_client_state` on the new leg).
//!
//! The rules (delays from [`SimulatedTimings`]):
//! - commands address a call by its `call_control_id`; one no call has is refused as
//!   Telnyx refuses it (`90015`), a call that has ended (or was just hung up) with
//!   `90018` "Call has already ended", a gather or transfer of a call not answered yet with
//!   `90034`;
//! - `hangup`: `call.hangup` (`normal_clearing`, from the `callee`: callscope's side) after
//!   `hangup`;
//! - `transfer`: the new leg's `call.initiated` at once; after `transfer_ring`, a
//!   destination ending in `0000` is busy (`call.hangup` `user_busy`, never answered: the
//!   transfer fails and the call goes on); any other answers (`call.answered`, then
//!   `call.bridged` of both legs), and after `transfer_talk` more both legs hang up
//!   (`normal_clearing`): the end of the transferred conversation;
//! - `gather_using_speak`: after `gather`, a prompt containing "timeout" (any case) times
//!   out (`call.gather.ended` `timeout`, no digits); any other gets digits: as many as the
//!   prompt asks for ("your 4-digit PIN", "enter six digits": a number in digits or words,
//!   one to twenty, right before "digit"), else `maximum_digits`, always within the
//!   command's `minimum_digits`..=`maximum_digits`; the digits are `1234567890` repeated
//!   (`call.dtmf.received` for each, then `call.gather.ended` `valid`). A call that ended
//!   meanwhile gets `call_hangup`;
//! - `record_start` (of an answered call): when the call has ended, `call.recording.saved`
//!   with the command's `client_state` and an MP3 URL of the simulator's own
//!   (`simulated:recording?duration_ms=N`, [`recording_at`]): silence as long as the call
//!   was recorded, at most [`MAX_RECORDING_MS`].

use std::collections::HashSet;
use std::fmt;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use callscope_shared::{CallStatus, E164};
use serde_json::{Value, json};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;
use tokio::task::JoinSet;

use crate::call_control;
use crate::clock::{SharedClock, UnixTime};
use crate::live::LiveStore;
use crate::storage::{CallState, Store};
use crate::telnyx::client::new_command_id;
use crate::telnyx::{
    ClientState, CommandAccepted, CommandError, GatherStatus, GatherUsingSpeak, Hangup,
    RecordStart, TelnyxApiError, Transfer, webhook,
};

/// The simulator's delays.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SimulatedTimings {
    /// From an accepted `hangup` to its `call.hangup`.
    pub hangup: Duration,
    /// How long a transfer's new leg rings before it answers (or is busy).
    pub transfer_ring: Duration,
    /// How long the caller talks to the transfer's destination before both hang up.
    pub transfer_talk: Duration,
    /// From an accepted gather to its digits (or its timeout).
    pub gather: Duration,
}

impl Default for SimulatedTimings {
    fn default() -> Self {
        Self {
            hangup: Duration::from_millis(500),
            transfer_ring: Duration::from_secs(2),
            transfer_talk: Duration::from_secs(20),
            gather: Duration::from_secs(4),
        }
    }
}

/// The one `connection_id` of simulated legs.
const CONNECTION_ID: &str = "callscope-simulated";
/// A destination ending in this is busy.
pub const BUSY_SUFFIX: &str = "0000";
/// A gather prompt containing this (any case) times out.
pub const TIMEOUT_WORD: &str = "timeout";
/// The digits a simulated caller types, repeated as needed.
const DIGITS: &str = "1234567890";

/// Delivery attempts of one event (a failed `ingest` is retried, as Telnyx retries).
const ATTEMPTS: u32 = 3;
const RETRY_AFTER: Duration = Duration::from_millis(500);

/// The simulated provider. Cheap to clone; its events run as tasks of the runtime until
/// [`SimulatedProvider::shutdown`].
#[derive(Clone)]
pub struct SimulatedProvider {
    inner: Arc<Inner>,
}

struct Inner {
    store: Store,
    live: LiveStore,
    clock: SharedClock,
    timings: SimulatedTimings,
    /// Legs a hangup was accepted for whose `call.hangup` has not been applied yet: they
    /// take no more commands.
    hanging_up: Mutex<HashSet<String>>,
    tasks: Mutex<JoinSet<()>>,
}

impl fmt::Debug for SimulatedProvider {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SimulatedProvider")
            .field("timings", &self.inner.timings)
            .finish_non_exhaustive()
    }
}

/// One call leg as Telnyx's events describe it.
#[derive(Debug, Clone)]
struct Leg {
    control: String,
    leg: String,
    session: String,
    from: String,
    to: String,
    client_state: Option<ClientState>,
}

impl Leg {
    /// The call's own leg (its ids derived from its control id).
    fn of_call(control: &str, call: &CallState) -> Self {
        Self {
            control: control.to_owned(),
            leg: format!("{control}:leg"),
            session: format!("{control}:session"),
            from: call.from_number.clone(),
            to: call.to_number.clone(),
            client_state: None,
        }
    }

    fn with_state(&self, client_state: Option<ClientState>) -> Self {
        Self {
            client_state,
            ..self.clone()
        }
    }
}

fn api_error(code: &str, title: &str, detail: &str) -> TelnyxApiError {
    TelnyxApiError {
        code: Some(code.to_owned()),
        title: title.to_owned(),
        detail: Some(detail.to_owned()),
    }
}

fn gone() -> CommandError {
    CommandError::CallGone(api_error(
        "90018",
        "Call has already ended",
        "This call is no longer active and can't receive commands.",
    ))
}

fn not_answered() -> CommandError {
    CommandError::NotAnswered(api_error(
        "90034",
        "Call not answered yet",
        "This call has not been answered yet.",
    ))
}

fn invalid_id() -> CommandError {
    CommandError::InvalidCallControlId(api_error(
        "90015",
        "Invalid Call Control ID",
        "No call has this call control id.",
    ))
}

fn accepted() -> CommandAccepted {
    CommandAccepted {
        command_id: new_command_id(),
        attempts: 1,
    }
}

impl SimulatedProvider {
    pub fn new(
        store: Store,
        live: LiveStore,
        clock: SharedClock,
        timings: SimulatedTimings,
    ) -> Self {
        Self {
            inner: Arc::new(Inner {
                store,
                live,
                clock,
                timings,
                hanging_up: Mutex::new(HashSet::new()),
                tasks: Mutex::new(JoinSet::new()),
            }),
        }
    }

    pub fn timings(&self) -> SimulatedTimings {
        self.inner.timings
    }

    /// `hangup`: the call's `call.hangup` follows.
    pub async fn hangup(
        &self,
        control: &str,
        _command: &Hangup,
    ) -> Result<CommandAccepted, CommandError> {
        let call = self.live_call(control).await?;
        let leg = Leg::of_call(control, &call);
        if !self.hanging_up().insert(control.to_owned()) {
            return Err(gone());
        }
        let sim = self.clone();
        self.spawn(async move {
            tokio::time::sleep(sim.inner.timings.hangup).await;
            let fields = json!({"hangup_cause": "normal_clearing", "hangup_source": "callee",
                                "sip_hangup_cause": "200"});
            sim.deliver("call.hangup", &leg, fields).await;
            sim.hanging_up().remove(&leg.control);
        });
        Ok(accepted())
    }

    /// `transfer`: a new leg rings, then answers (or is busy).
    pub async fn transfer(
        &self,
        control: &str,
        command: &Transfer,
    ) -> Result<CommandAccepted, CommandError> {
        let call = self.live_call(control).await?;
        if call.status != CallStatus::InProgress {
            return Err(not_answered());
        }
        if command.to.parse::<E164>().is_err() && !command.to.starts_with("sip:") {
            return Err(CommandError::Rejected {
                status: 422,
                error: api_error(
                    "10016",
                    "Phone number must be in +E164 format",
                    "The 'to' field must be an E.164 number or a SIP URI.",
                ),
            });
        }
        let a = Leg::of_call(control, &call);
        let b = Leg {
            control: format!("v3:sim-{}", uuid::Uuid::new_v4()),
            leg: uuid::Uuid::new_v4().to_string(),
            session: a.session.clone(),
            // Telnyx's default caller id: the original call's `to`.
            from: command.from.clone().unwrap_or_else(|| a.to.clone()),
            to: command.to.clone(),
            client_state: command.target_leg_client_state.clone(),
        };
        let busy = command.to.ends_with(BUSY_SUFFIX);
        let sim = self.clone();
        self.spawn(async move {
            let timings = sim.inner.timings;
            let at = sim.rfc3339_now();
            sim.deliver(
                "call.initiated",
                &b,
                json!({"direction": "outgoing", "state": "bridging", "start_time": at}),
            )
            .await;
            tokio::time::sleep(timings.transfer_ring).await;
            if busy {
                let fields = json!({"hangup_cause": "user_busy", "hangup_source": "callee",
                                    "sip_hangup_cause": "486", "start_time": at});
                sim.deliver("call.hangup", &b, fields).await;
                return;
            }
            let answered_at = sim.rfc3339_now();
            sim.deliver("call.answered", &b, json!({"start_time": answered_at}))
                .await;
            sim.deliver("call.bridged", &b, json!({})).await;
            sim.deliver("call.bridged", &a, json!({})).await;
            tokio::time::sleep(timings.transfer_talk).await;
            let fields = json!({"hangup_cause": "normal_clearing", "hangup_source": "callee",
                                "sip_hangup_cause": "200", "start_time": answered_at});
            sim.deliver("call.hangup", &b, fields).await;
            let fields = json!({"hangup_cause": "normal_clearing", "hangup_source": "caller",
                                "sip_hangup_cause": "200"});
            sim.deliver("call.hangup", &a, fields).await;
        });
        Ok(accepted())
    }

    /// `gather_using_speak`: digits (or a timeout) after a few seconds, by the module's rule.
    pub async fn gather_using_speak(
        &self,
        control: &str,
        command: &GatherUsingSpeak,
    ) -> Result<CommandAccepted, CommandError> {
        let call = self.live_call(control).await?;
        if call.status != CallStatus::InProgress {
            return Err(not_answered());
        }
        let leg = Leg::of_call(control, &call).with_state(command.client_state.clone());
        let (status, digits) = gather_outcome(
            &command.payload,
            command.minimum_digits,
            command.maximum_digits,
        );
        let sim = self.clone();
        self.spawn(async move {
            tokio::time::sleep(sim.inner.timings.gather).await;
            // The caller hung up meanwhile: Telnyx reports the gather as `call_hangup`.
            let (status, digits) = if sim.live_call(&leg.control).await.is_err() {
                (GatherStatus::CallHangup, String::new())
            } else {
                (status, digits)
            };
            for digit in digits.chars() {
                sim.deliver(
                    "call.dtmf.received",
                    &leg,
                    json!({"digit": digit.to_string()}),
                )
                .await;
            }
            sim.deliver(
                "call.gather.ended",
                &leg,
                json!({"digits": digits, "status": status.as_str()}),
            )
            .await;
        });
        Ok(accepted())
    }

    /// `record_start`: records until the call ends, then saves the recording.
    pub async fn record_start(
        &self,
        control: &str,
        command: &RecordStart,
    ) -> Result<CommandAccepted, CommandError> {
        let call = self.live_call(control).await?;
        if call.status != CallStatus::InProgress {
            return Err(not_answered());
        }
        let leg = Leg::of_call(control, &call).with_state(command.client_state.clone());
        let started = self.inner.clock.now();
        let sim = self.clone();
        self.spawn(async move {
            let Some(ended) = sim.wait_for_end(&leg.control).await else {
                return;
            };
            let duration_ms = (ended.since(started).max(0) as u64 * 1000).min(MAX_RECORDING_MS);
            let fields = json!({
                "call_leg_id": leg.leg,
                "call_session_id": leg.session,
                "connection_id": CONNECTION_ID,
                "client_state": leg.client_state,
                "channels": "single",
                "recording_started_at": rfc3339(started),
                "recording_ended_at": rfc3339(ended),
                "recording_urls": {
                    "mp3": format!("{RECORDING_URL_PREFIX}{duration_ms}"),
                    "wav": null,
                },
                "public_recording_urls": {},
            });
            sim.deliver_payload("call.recording.saved", fields).await;
        });
        Ok(accepted())
    }

    /// When the call `control` names has ended (by the server's clock), waiting for it;
    /// `None` if the call is gone.
    async fn wait_for_end(&self, control: &str) -> Option<UnixTime> {
        let store = &self.inner.store;
        let call_id = store.call_by_control_id_any(control).await.ok()??;
        let mut changes = store.changes().subscribe();
        loop {
            match store.call_state(call_id).await {
                Ok(Some(call)) if !call.status.is_live() => return Some(self.inner.clock.now()),
                Ok(None) => return None,
                _ => {}
            }
            tokio::select! {
                _ = changes.next() => {}
                _ = tokio::time::sleep(END_POLL) => {}
            }
        }
    }

    /// Stops the events still due (as a provider whose webhooks no longer reach us).
    pub async fn shutdown(&self) {
        let mut tasks = std::mem::take(&mut *self.tasks());
        tasks.abort_all();
        while tasks.join_next().await.is_some() {}
    }

    /// The live call `control` names, or Telnyx's refusal.
    async fn live_call(&self, control: &str) -> Result<CallState, CommandError> {
        let unavailable = |e: crate::storage::StoreError| CommandError::Unavailable {
            attempts: 1,
            reason: e.to_string(),
        };
        let store = &self.inner.store;
        let call_id = store
            .call_by_control_id_any(control)
            .await
            .map_err(unavailable)?
            .ok_or_else(invalid_id)?;
        let call = store
            .call_state(call_id)
            .await
            .map_err(unavailable)?
            .ok_or_else(invalid_id)?;
        if !call.status.is_live() || self.hanging_up().contains(control) {
            return Err(gone());
        }
        Ok(call)
    }

    fn hanging_up(&self) -> std::sync::MutexGuard<'_, HashSet<String>> {
        self.inner
            .hanging_up
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn tasks(&self) -> std::sync::MutexGuard<'_, JoinSet<()>> {
        self.inner
            .tasks
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn spawn(&self, task: impl Future<Output = ()> + Send + 'static) {
        let mut tasks = self.tasks();
        // Finished tasks are reaped here, so the set holds only pending ones.
        while tasks.try_join_next().is_some() {}
        tasks.spawn(task);
    }

    fn rfc3339_now(&self) -> String {
        rfc3339(self.inner.clock.now())
    }

    /// Builds a call event as Telnyx would send it, parses it as a webhook, and applies it.
    async fn deliver(&self, event_type: &str, leg: &Leg, fields: Value) {
        let mut payload = json!({
            "call_control_id": leg.control,
            "call_leg_id": leg.leg,
            "call_session_id": leg.session,
            "connection_id": CONNECTION_ID,
            "client_state": leg.client_state,
            "from": leg.from,
            "to": leg.to,
        });
        if let (Some(payload), Value::Object(fields)) = (payload.as_object_mut(), fields) {
            payload.extend(fields);
        }
        self.deliver_payload(event_type, payload).await;
    }

    /// Wraps `payload` in Telnyx's envelope, parses it as a webhook, and applies it.
    async fn deliver_payload(&self, event_type: &str, payload: Value) {
        let event_id = uuid::Uuid::new_v4().to_string();
        for attempt in 1..=ATTEMPTS {
            let body = json!({
                "data": {
                    "record_type": "event",
                    "event_type": event_type,
                    "id": event_id,
                    "occurred_at": self.rfc3339_now(),
                    "payload": payload,
                },
                "meta": {"attempt": attempt, "delivered_to": "callscope-simulated"},
            });
            let event = match webhook::parse(body.to_string().as_bytes()) {
                Ok(event) => event,
                Err(e) => {
                    tracing::error!(event_type, error = %e, "simulated event does not parse");
                    return;
                }
            };
            let now = self.inner.clock.now();
            match call_control::ingest(&self.inner.store, &self.inner.live, &event, now).await {
                Ok(outcome) => {
                    tracing::debug!(event_type, %event_id, ?outcome, "simulated event applied");
                    return;
                }
                Err(e) => {
                    tracing::warn!(event_type, %event_id, attempt, error = %e,
                        "simulated event not applied");
                    tokio::time::sleep(RETRY_AFTER).await;
                }
            }
        }
    }
}

/// How a simulated recording's URL starts; the duration in milliseconds follows.
const RECORDING_URL_PREFIX: &str = "simulated:recording?duration_ms=";
/// Longest simulated recording (ten minutes: 600 KB of silence).
pub const MAX_RECORDING_MS: u64 = 600_000;
/// How often a recording checks for its call's end between announced changes.
const END_POLL: Duration = Duration::from_secs(1);

/// The audio of a simulated recording URL: silence of its length; `None` for any other URL.
pub fn recording_at(url: &str) -> Option<Vec<u8>> {
    let ms: u64 = url.strip_prefix(RECORDING_URL_PREFIX)?.parse().ok()?;
    let ms = ms.min(MAX_RECORDING_MS) as u32;
    Some(crate::recordings::mp3::silent_mp3(ms))
}

fn rfc3339(at: UnixTime) -> String {
    OffsetDateTime::from_unix_timestamp(at.secs())
        .ok()
        .and_then(|t| t.format(&Rfc3339).ok())
        .unwrap_or_else(|| "1970-01-01T00:00:00Z".to_owned())
}

/// What a simulated caller does with a gather prompt (the module's rule): the status and
/// the digits typed.
pub fn gather_outcome(prompt: &str, minimum: u32, maximum: u32) -> (GatherStatus, String) {
    if prompt.to_lowercase().contains(TIMEOUT_WORD) {
        return (GatherStatus::Timeout, String::new());
    }
    let maximum = maximum.max(1);
    let wanted = requested_digits(prompt).unwrap_or(maximum);
    let count = wanted.clamp(minimum.clamp(1, maximum), maximum) as usize;
    let digits = DIGITS.chars().cycle().take(count).collect();
    (GatherStatus::Valid, digits)
}

/// The number of digits a prompt asks for: a number (in digits or words, 1–20) right
/// before a word starting with "digit".
pub fn requested_digits(prompt: &str) -> Option<u32> {
    const WORDS: [&str; 20] = [
        "one",
        "two",
        "three",
        "four",
        "five",
        "six",
        "seven",
        "eight",
        "nine",
        "ten",
        "eleven",
        "twelve",
        "thirteen",
        "fourteen",
        "fifteen",
        "sixteen",
        "seventeen",
        "eighteen",
        "nineteen",
        "twenty",
    ];
    let lower = prompt.to_lowercase();
    let words: Vec<&str> = lower
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .collect();
    words.windows(2).find_map(|pair| {
        if !pair[1].starts_with("digit") {
            return None;
        }
        let n = match pair[0].parse::<u32>() {
            Ok(n) => n,
            Err(_) => WORDS.iter().position(|w| *w == pair[0])? as u32 + 1,
        };
        (1..=20).contains(&n).then_some(n)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_prompt_gets_the_digits_it_asks_for() {
        let cases = [
            (
                "Please enter your 4-digit PIN, then press hash.",
                1,
                10,
                "1234",
            ),
            ("Enter six digits", 1, 10, "123456"),
            ("Type your 12 digit account number", 1, 20, "123456789012"),
            // Capped by the command's maximum, raised to its minimum.
            ("Enter your 8-digit code", 1, 5, "12345"),
            ("Enter your 2-digit code", 3, 5, "123"),
            // No count asked for: as many as allowed.
            ("Please enter your account number", 1, 10, "1234567890"),
            ("Your number, digit by digit", 1, 3, "123"),
        ];
        for (prompt, min, max, digits) in cases {
            assert_eq!(
                gather_outcome(prompt, min, max),
                (GatherStatus::Valid, digits.to_owned()),
                "{prompt}"
            );
        }
    }

    #[test]
    fn a_prompt_saying_timeout_times_out() {
        for prompt in ["Say nothing: timeout test", "TIMEOUT please", "a Timeout"] {
            assert_eq!(
                gather_outcome(prompt, 1, 10),
                (GatherStatus::Timeout, String::new())
            );
        }
    }

    #[test]
    fn simulated_recordings_are_silence_of_their_length() {
        let audio = recording_at("simulated:recording?duration_ms=3600").unwrap();
        assert_eq!(audio, crate::recordings::mp3::silent_mp3(3_600));
        let capped = recording_at("simulated:recording?duration_ms=99999999").unwrap();
        assert_eq!(capped, crate::recordings::mp3::silent_mp3(600_000));
        for other in [
            "https://example.com/a.mp3",
            "simulated:recording?duration_ms=",
            "simulated:recording?duration_ms=-1",
        ] {
            assert_eq!(recording_at(other), None, "{other}");
        }
    }

    #[test]
    fn requested_digits_reads_numbers_and_words() {
        assert_eq!(requested_digits("your 4-digit pin"), Some(4));
        assert_eq!(requested_digits("Enter Twenty digits"), Some(20));
        assert_eq!(requested_digits("enter 0 digits"), None);
        assert_eq!(requested_digits("enter 21 digits"), None);
        assert_eq!(requested_digits("4 numbers"), None);
    }
}
