//! Telnyx Call Control v2: the one client that sends commands to live calls, the checks and
//! parsing of the webhooks Telnyx sends back, and the pure rules between them (how a hangup
//! becomes a call's final status; which TTS voice speaks a gather prompt).
//!
//! Nothing here touches storage or routes: the calls service drives the [`TelnyxClient`]
//! and feeds verified [`TelnyxEvent`]s into its own state, so both can be tested against a
//! fake Telnyx over real HTTP. The facts it follows are in `shared/spec/telnyx-call-control.md`.

pub mod client;
pub mod hangup;
pub mod settings;
pub mod voices;
pub mod webhook;

pub use client::{
    ClientOptions, ClientState, CommandAccepted, CommandError, GatherUsingSpeak, Hangup,
    RecordStart, RecordingChannels, RecordingFormat, TelnyxApiError, TelnyxClient, Transfer,
};
pub use hangup::{CallOutcome, HangupCause, HangupFacts, HangupSource};
pub use settings::{TelnyxApiKey, TelnyxArgs, TelnyxSettings, WebhookPublicKey};
pub use voices::{TtsVoice, UnsupportedLanguage, Voice};
pub use webhook::{
    CallLeg, GatherStatus, RecordingSaved, TelnyxEvent, TelnyxEventKind, WebhookError,
};
