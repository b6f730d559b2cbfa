//! The Telnyx Call Control client: one command = one `POST
//! {base}/calls/{call_control_id}/actions/{action}` with a JSON body.
//!
//! Every logical command gets one `command_id` (a UUID v4). Telnyx ignores a repeat of the
//! same `command_id` on the same call for 60 s, so a 5xx, a timeout or a dropped connection
//! is retried with the *same* body and id: the command runs at most once however many
//! times it is sent. A 4xx is Telnyx's answer, not a glitch, and is never retried.

use std::fmt;
use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use reqwest::header::{AUTHORIZATION, CONTENT_TYPE, HeaderValue};
use reqwest::{StatusCode, Url};
use serde::{Deserialize, Serialize};

use super::settings::TelnyxApiKey;

/// How long one attempt may take before it counts as lost and is retried. Telnyx advises
/// resending after ~0.5 s; a little more spares a slow network needless repeats.
pub const DEFAULT_ATTEMPT_TIMEOUT: Duration = Duration::from_secs(2);
/// Retries after the first attempt (the official SDKs' default).
pub const DEFAULT_RETRIES: u32 = 2;
/// Wait before the first retry; doubled for each further one.
pub const DEFAULT_BACKOFF: Duration = Duration::from_millis(200);

/// Timeouts and retries of a [`TelnyxClient`].
#[derive(Debug, Clone, Copy)]
pub struct ClientOptions {
    pub attempt_timeout: Duration,
    pub retries: u32,
    pub backoff: Duration,
}

impl Default for ClientOptions {
    fn default() -> Self {
        Self {
            attempt_timeout: DEFAULT_ATTEMPT_TIMEOUT,
            retries: DEFAULT_RETRIES,
            backoff: DEFAULT_BACKOFF,
        }
    }
}

/// A Telnyx command: its body (without `command_id`) and its action path segment.
pub trait Command: Serialize {
    /// The `{action}` in `/calls/{id}/actions/{action}`.
    const ACTION: &'static str;
}

/// Opaque state Telnyx echoes back on a call's later webhooks, base64 on the wire. The
/// way to recognise, in a webhook, which of our commands (e.g. which transfer) it is about.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct ClientState(String);

impl ClientState {
    /// Encodes `bytes` as Telnyx wants them (standard base64).
    pub fn encode(bytes: impl AsRef<[u8]>) -> Self {
        Self(STANDARD.encode(bytes))
    }

    /// The wire form, as received (possibly not valid base64: Telnyx does not check).
    pub fn from_wire(text: impl Into<String>) -> Self {
        Self(text.into())
    }

    /// The base64 text.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The decoded bytes; `None` when the text is not base64.
    pub fn decode(&self) -> Option<Vec<u8>> {
        STANDARD.decode(&self.0).ok()
    }
}

impl fmt::Debug for ClientState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ClientState({:?})", self.0)
    }
}

/// `hangup`: ends the call. The body may be empty of fields but must be sent (`{}`).
#[derive(Debug, Clone, Default, Serialize)]
pub struct Hangup {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client_state: Option<ClientState>,
}

impl Command for Hangup {
    const ACTION: &'static str = "hangup";
}

/// `transfer`: dials `to` as a new leg and bridges it on answer; the original leg stays up
/// if the new one fails.
#[derive(Debug, Clone, Serialize)]
pub struct Transfer {
    /// E.164 number or SIP URI.
    pub to: String,
    /// Caller id shown to `to` (E.164); Telnyx defaults to the original call's `to`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub from: Option<String>,
    /// Ring time in seconds (Telnyx default 30, 5–600).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub timeout_secs: Option<u32>,
    /// State for the new leg's webhooks: ties them back to this transfer.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub target_leg_client_state: Option<ClientState>,
    /// State for the original leg's later webhooks.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client_state: Option<ClientState>,
}

impl Transfer {
    pub fn to(to: impl Into<String>) -> Self {
        Self {
            to: to.into(),
            from: None,
            timeout_secs: None,
            target_leg_client_state: None,
            client_state: None,
        }
    }
}

impl Command for Transfer {
    const ACTION: &'static str = "transfer";
}

/// `gather_using_speak`: speaks `payload` and collects DTMF digits; the call must be
/// answered. The outcome arrives as `call.gather.ended`.
#[derive(Debug, Clone, Serialize)]
pub struct GatherUsingSpeak {
    /// Text to speak.
    pub payload: String,
    /// `Provider.Model.VoiceId`, from [`super::voices`].
    pub voice: String,
    /// One of Telnyx's language values, from [`super::voices`].
    pub language: String,
    pub minimum_digits: u32,
    pub maximum_digits: u32,
    pub terminating_digit: String,
    /// Wait for input after the prompt, in milliseconds.
    pub timeout_millis: u64,
    /// How often the prompt is played while no valid input comes (Telnyx default 3).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub maximum_tries: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub inter_digit_timeout_millis: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub valid_digits: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client_state: Option<ClientState>,
}

impl GatherUsingSpeak {
    /// The body for the spec's `POST /v1/calls/:id/gather` (fields already validated by the
    /// route): one prompt, one try — so `timeout_seconds` is the whole wait, and the
    /// outcome is the spec's `completed` or `timeout`.
    pub fn from_spec(
        prompt: impl Into<String>,
        max_digits: u32,
        terminator: impl Into<String>,
        timeout_seconds: u32,
        voice: &super::voices::TtsVoice,
    ) -> Self {
        Self {
            payload: prompt.into(),
            voice: voice.voice.to_owned(),
            language: voice.language.to_owned(),
            minimum_digits: 1,
            maximum_digits: max_digits,
            terminating_digit: terminator.into(),
            timeout_millis: u64::from(timeout_seconds) * 1000,
            maximum_tries: Some(1),
            inter_digit_timeout_millis: None,
            valid_digits: None,
            client_state: None,
        }
    }
}

impl Command for GatherUsingSpeak {
    const ACTION: &'static str = "gather_using_speak";
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum RecordingFormat {
    Mp3,
    Wav,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum RecordingChannels {
    /// Both parties mixed into one channel.
    Single,
    /// Each party on its own channel.
    Dual,
}

/// `record_start`: records the call; `call.recording.saved` follows after the call.
#[derive(Debug, Clone, Serialize)]
pub struct RecordStart {
    pub format: RecordingFormat,
    pub channels: RecordingChannels,
    /// Carried by `call.recording.saved`, which names no call control id.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client_state: Option<ClientState>,
}

impl Command for RecordStart {
    const ACTION: &'static str = "record_start";
}

/// Telnyx accepted a command (its outcome comes later, as webhooks).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommandAccepted {
    /// The id every attempt carried.
    pub command_id: String,
    /// Attempts made (1 when the first was answered).
    pub attempts: u32,
}

/// One entry of Telnyx's `{"errors": [...]}`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct TelnyxApiError {
    /// Digits, e.g. `90018`; absent when the body was not Telnyx's.
    #[serde(default)]
    pub code: Option<String>,
    pub title: String,
    #[serde(default)]
    pub detail: Option<String>,
}

#[derive(Deserialize)]
struct ErrorBody {
    errors: Vec<TelnyxApiError>,
}

/// Why a command was not accepted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CommandError {
    /// `90018`: the call has ended; it takes no more commands.
    #[error("Telnyx: call is gone: {}", .0.title)]
    CallGone(TelnyxApiError),
    /// `90034`: the call is not answered yet (gather, record).
    #[error("Telnyx: call not answered yet: {}", .0.title)]
    NotAnswered(TelnyxApiError),
    /// `90015`: Telnyx does not know this call control id.
    #[error("Telnyx: invalid call control id: {}", .0.title)]
    InvalidCallControlId(TelnyxApiError),
    /// 401: the API key is wrong or revoked.
    #[error("Telnyx: authentication failed: {}", .0.title)]
    Unauthorized(TelnyxApiError),
    /// Any other 4xx (validation: a bad number, a missing field, …).
    #[error("Telnyx rejected the command (HTTP {status}): {}", .error.title)]
    Rejected { status: u16, error: TelnyxApiError },
    /// 5xx, timeouts or connection failures on every attempt.
    #[error("Telnyx unavailable after {attempts} attempts: {reason}")]
    Unavailable { attempts: u32, reason: String },
    /// The request could not be built (an id that cannot be a path segment, …).
    #[error("Telnyx request could not be sent: {0}")]
    Request(String),
}

impl CommandError {
    /// A short human reason for API answers such as `Transfer failed: <reason>`: Telnyx's
    /// own `title` ("Call has already ended", "Phone number must be in +E164 format").
    pub fn reason(&self) -> &str {
        match self {
            CommandError::CallGone(e)
            | CommandError::NotAnswered(e)
            | CommandError::InvalidCallControlId(e)
            | CommandError::Unauthorized(e)
            | CommandError::Rejected { error: e, .. } => &e.title,
            CommandError::Unavailable { .. } => crate::error::messages::TELNYX_UNAVAILABLE,
            CommandError::Request(_) => "the request could not be sent",
        }
    }

    /// Telnyx's error code, when it sent one.
    pub fn code(&self) -> Option<&str> {
        match self {
            CommandError::CallGone(e)
            | CommandError::NotAnswered(e)
            | CommandError::InvalidCallControlId(e)
            | CommandError::Unauthorized(e)
            | CommandError::Rejected { error: e, .. } => e.code.as_deref(),
            _ => None,
        }
    }

    /// Classifies a non-2xx, non-5xx answer by Telnyx's code first, then its status.
    fn from_answer(status: StatusCode, body: &[u8]) -> Self {
        let error = serde_json::from_slice::<ErrorBody>(body)
            .ok()
            .and_then(|b| b.errors.into_iter().next())
            .unwrap_or_else(|| TelnyxApiError {
                code: None,
                title: match status {
                    StatusCode::UNAUTHORIZED => "Authentication failed".to_owned(),
                    _ => format!("HTTP {}", status.as_u16()),
                },
                detail: None,
            });
        match error.code.as_deref() {
            Some("90018") => CommandError::CallGone(error),
            Some("90034") => CommandError::NotAnswered(error),
            Some("90015") => CommandError::InvalidCallControlId(error),
            _ if status == StatusCode::UNAUTHORIZED => CommandError::Unauthorized(error),
            _ => CommandError::Rejected {
                status: status.as_u16(),
                error,
            },
        }
    }
}

/// The client. Cheap to clone (one connection pool); `Debug` does not show the key.
#[derive(Clone)]
pub struct TelnyxClient {
    http: reqwest::Client,
    api_key: TelnyxApiKey,
    base_url: Url,
    options: ClientOptions,
}

impl fmt::Debug for TelnyxClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TelnyxClient")
            .field("base_url", &self.base_url.as_str())
            .field("options", &self.options)
            .finish_non_exhaustive()
    }
}

impl TelnyxClient {
    /// A client with the default timeouts and retries.
    pub fn new(api_key: TelnyxApiKey, base_url: Url) -> Result<Self, CommandError> {
        Self::with_options(api_key, base_url, ClientOptions::default())
    }

    pub fn with_options(
        api_key: TelnyxApiKey,
        base_url: Url,
        options: ClientOptions,
    ) -> Result<Self, CommandError> {
        if base_url.cannot_be_a_base() {
            return Err(CommandError::Request("the API URL cannot be a base".into()));
        }
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!("callscope/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| CommandError::Request(e.to_string()))?;
        Ok(Self {
            http,
            api_key,
            base_url,
            options,
        })
    }

    /// Ends the call.
    pub async fn hangup(
        &self,
        call_control_id: &str,
        command: &Hangup,
    ) -> Result<CommandAccepted, CommandError> {
        self.send(call_control_id, command).await
    }

    /// Transfers the call to a new leg.
    pub async fn transfer(
        &self,
        call_control_id: &str,
        command: &Transfer,
    ) -> Result<CommandAccepted, CommandError> {
        self.send(call_control_id, command).await
    }

    /// Speaks a prompt and gathers digits.
    pub async fn gather_using_speak(
        &self,
        call_control_id: &str,
        command: &GatherUsingSpeak,
    ) -> Result<CommandAccepted, CommandError> {
        self.send(call_control_id, command).await
    }

    /// Starts recording the call.
    pub async fn record_start(
        &self,
        call_control_id: &str,
        command: &RecordStart,
    ) -> Result<CommandAccepted, CommandError> {
        self.send(call_control_id, command).await
    }

    /// Sends any command under a fresh `command_id`, retrying 5xx and lost attempts.
    pub async fn send<C: Command + Sync>(
        &self,
        call_control_id: &str,
        command: &C,
    ) -> Result<CommandAccepted, CommandError> {
        self.send_with_id(call_control_id, command, new_command_id())
            .await
    }

    /// As [`Self::send`] with a given `command_id` (a caller that retries a whole logical
    /// command later, within Telnyx's 60 s, keeps it idempotent by reusing the id).
    pub async fn send_with_id<C: Command + Sync>(
        &self,
        call_control_id: &str,
        command: &C,
        command_id: String,
    ) -> Result<CommandAccepted, CommandError> {
        let url = self.command_url(call_control_id, C::ACTION)?;
        let body = serde_json::to_vec(&WithId {
            command,
            command_id: &command_id,
        })
        .map_err(|e| CommandError::Request(e.to_string()))?;
        let mut auth = HeaderValue::try_from(format!("Bearer {}", self.api_key.expose()))
            .map_err(|_| CommandError::Request("the API key is not a valid header".into()))?;
        auth.set_sensitive(true);

        let mut backoff = self.options.backoff;
        let mut attempts = 0;
        loop {
            attempts += 1;
            let sent = self
                .http
                .post(url.clone())
                .header(AUTHORIZATION, auth.clone())
                .header(CONTENT_TYPE, HeaderValue::from_static("application/json"))
                .timeout(self.options.attempt_timeout)
                .body(body.clone())
                .send()
                .await;
            let glitch = match sent {
                Ok(response) if response.status().is_success() => {
                    return Ok(CommandAccepted {
                        command_id,
                        attempts,
                    });
                }
                Ok(response) if response.status().is_server_error() => {
                    format!("HTTP {}", response.status().as_u16())
                }
                Ok(response) => {
                    let status = response.status();
                    let bytes = response.bytes().await.unwrap_or_default();
                    return Err(CommandError::from_answer(status, &bytes));
                }
                Err(e) if e.is_timeout() => "no answer in time".to_owned(),
                Err(e) if e.is_connect() => "connection failed".to_owned(),
                Err(e) if e.is_request() => "the request failed".to_owned(),
                Err(e) => return Err(CommandError::Request(e.to_string())),
            };
            tracing::warn!(
                action = C::ACTION,
                %command_id,
                attempts,
                reason = %glitch,
                "Telnyx command not answered"
            );
            if attempts > self.options.retries {
                return Err(CommandError::Unavailable {
                    attempts,
                    reason: glitch,
                });
            }
            tokio::time::sleep(backoff).await;
            backoff = backoff.saturating_mul(2);
        }
    }

    /// `{base}/calls/{id}/actions/{action}`, the id percent-encoded as one path segment.
    fn command_url(&self, call_control_id: &str, action: &str) -> Result<Url, CommandError> {
        if call_control_id.is_empty() {
            return Err(CommandError::Request("empty call control id".into()));
        }
        let mut url = self.base_url.clone();
        url.path_segments_mut()
            .map_err(|_| CommandError::Request("the API URL cannot be a base".into()))?
            .pop_if_empty()
            .extend(["calls", call_control_id, "actions", action]);
        Ok(url)
    }
}

#[derive(Serialize)]
struct WithId<'a, C> {
    #[serde(flatten)]
    command: &'a C,
    command_id: &'a str,
}

/// A random UUID v4: the command's idempotency key (unique, not secret).
pub fn new_command_id() -> String {
    uuid::Uuid::new_v4().to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn body<C: Command>(command: &C) -> serde_json::Value {
        serde_json::to_value(WithId {
            command,
            command_id: "id",
        })
        .unwrap()
    }

    #[test]
    fn command_ids_are_uuid_v4() {
        let id = new_command_id();
        assert_eq!(id.len(), 36);
        let parts: Vec<&str> = id.split('-').collect();
        assert_eq!(
            parts.iter().map(|p| p.len()).collect::<Vec<_>>(),
            [8, 4, 4, 4, 12]
        );
        assert!(parts[2].starts_with('4'));
        assert!(matches!(&parts[3][..1], "8" | "9" | "a" | "b"));
        assert_ne!(id, new_command_id());
    }

    #[test]
    fn bodies_carry_only_the_set_fields() {
        assert_eq!(body(&Hangup::default()), json!({"command_id": "id"}));
        assert_eq!(
            body(&Transfer::to("+31850099999")),
            json!({"to": "+31850099999", "command_id": "id"})
        );
        assert_eq!(
            body(&RecordStart {
                format: RecordingFormat::Mp3,
                channels: RecordingChannels::Dual,
                client_state: None,
            }),
            json!({"format": "mp3", "channels": "dual", "command_id": "id"})
        );
        assert_eq!(
            body(&RecordStart {
                format: RecordingFormat::Mp3,
                channels: RecordingChannels::Single,
                client_state: Some(ClientState::encode("x")),
            }),
            json!({"format": "mp3", "channels": "single", "client_state": "eA==", "command_id": "id"})
        );
    }

    #[test]
    fn errors_are_classified_by_code_then_status() {
        let answer = |status: u16, code: &str| {
            let body = json!({"errors": [{"code": code, "title": "T", "detail": "D"}]});
            CommandError::from_answer(
                StatusCode::from_u16(status).unwrap(),
                body.to_string().as_bytes(),
            )
        };
        assert!(matches!(answer(422, "90018"), CommandError::CallGone(_)));
        assert!(matches!(answer(422, "90034"), CommandError::NotAnswered(_)));
        assert!(matches!(
            answer(422, "90015"),
            CommandError::InvalidCallControlId(_)
        ));
        assert!(matches!(
            answer(401, "10009"),
            CommandError::Unauthorized(_)
        ));
        assert!(matches!(
            answer(422, "10016"),
            CommandError::Rejected { status: 422, .. }
        ));
        assert_eq!(answer(422, "10016").reason(), "T");
        assert_eq!(answer(422, "10016").code(), Some("10016"));
        let html = CommandError::from_answer(StatusCode::UNAUTHORIZED, b"<html>");
        assert_eq!(html.reason(), "Authentication failed");
        let html = CommandError::from_answer(StatusCode::NOT_FOUND, b"");
        assert_eq!(html.reason(), "HTTP 404");
    }

    #[test]
    fn the_client_debug_output_has_no_key() {
        let client = TelnyxClient::new(
            TelnyxApiKey::parse("KEYsecret").unwrap(),
            Url::parse("https://api.telnyx.com/v2").unwrap(),
        )
        .unwrap();
        assert!(!format!("{client:?}").contains("KEYsecret"));
        let url = client.command_url("v3:a/b c", "hangup").unwrap();
        assert_eq!(
            url.as_str(),
            "https://api.telnyx.com/v2/calls/v3:a%2Fb%20c/actions/hangup"
        );
    }
}
