//! The telephony provider live calls are controlled through: Telnyx Call Control, or the
//! built-in simulated provider for machines without a Telnyx account (`--telephony
//! simulated`, the default when no Telnyx API key is configured).
//!
//! Both take the same commands ([`crate::telnyx::client`]'s bodies) and answer the same way
//! (accepted, or a [`CommandError`]); their outcomes come back through the same event
//! handling (`call_control::ingest`): Telnyx's as signed webhooks, the simulator's as the
//! events those webhooks would parse into. So `call_control` never knows which is in use.

pub mod simulated;

use clap::ValueEnum;

pub use simulated::{SimulatedProvider, SimulatedTimings};

use crate::telnyx::{
    CommandAccepted, CommandError, GatherUsingSpeak, Hangup, RecordStart, TelnyxClient, Transfer,
};

/// `--telephony`: which provider controls live calls.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum TelephonyKind {
    /// Telnyx Call Control (needs `--telnyx-api-key`; without one, calls are not controlled).
    Telnyx,
    /// The built-in simulated provider (no account needed).
    Simulated,
}

impl TelephonyKind {
    /// The default: Telnyx when its API key is configured, else the simulator.
    pub fn default_for(telnyx_api_key_set: bool) -> Self {
        if telnyx_api_key_set {
            Self::Telnyx
        } else {
            Self::Simulated
        }
    }
}

/// The provider part of the configuration.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TelephonyConfig {
    /// Telnyx, when `telnyx.api_key` is set; no call control otherwise.
    Telnyx,
    /// The simulator, with its delays.
    Simulated(SimulatedTimings),
}

impl TelephonyConfig {
    pub fn from_kind(kind: TelephonyKind) -> Self {
        match kind {
            TelephonyKind::Telnyx => Self::Telnyx,
            TelephonyKind::Simulated => Self::Simulated(SimulatedTimings::default()),
        }
    }
}

/// The provider commands go to. Cheap to clone.
#[derive(Debug, Clone)]
pub enum Telephony {
    Telnyx(TelnyxClient),
    Simulated(SimulatedProvider),
}

impl Telephony {
    /// Ends the call.
    pub async fn hangup(
        &self,
        call_control_id: &str,
        command: &Hangup,
    ) -> Result<CommandAccepted, CommandError> {
        self.timed("hangup", async {
            match self {
                Self::Telnyx(client) => client.hangup(call_control_id, command).await,
                Self::Simulated(sim) => sim.hangup(call_control_id, command).await,
            }
        })
        .await
    }

    /// Transfers the call to a new leg.
    pub async fn transfer(
        &self,
        call_control_id: &str,
        command: &Transfer,
    ) -> Result<CommandAccepted, CommandError> {
        self.timed("transfer", async {
            match self {
                Self::Telnyx(client) => client.transfer(call_control_id, command).await,
                Self::Simulated(sim) => sim.transfer(call_control_id, command).await,
            }
        })
        .await
    }

    /// Speaks a prompt and gathers digits.
    pub async fn gather_using_speak(
        &self,
        call_control_id: &str,
        command: &GatherUsingSpeak,
    ) -> Result<CommandAccepted, CommandError> {
        self.timed("gather_using_speak", async {
            match self {
                Self::Telnyx(client) => client.gather_using_speak(call_control_id, command).await,
                Self::Simulated(sim) => sim.gather_using_speak(call_control_id, command).await,
            }
        })
        .await
    }

    /// Starts recording the call.
    pub async fn record_start(
        &self,
        call_control_id: &str,
        command: &RecordStart,
    ) -> Result<CommandAccepted, CommandError> {
        self.timed("record_start", async {
            match self {
                Self::Telnyx(client) => client.record_start(call_control_id, command).await,
                Self::Simulated(sim) => sim.record_start(call_control_id, command).await,
            }
        })
        .await
    }

    /// Runs a command, counted and timed in the metrics under `action`.
    async fn timed(
        &self,
        action: &'static str,
        command: impl Future<Output = Result<CommandAccepted, CommandError>>,
    ) -> Result<CommandAccepted, CommandError> {
        let started = std::time::Instant::now();
        let answer = command.await;
        crate::metrics::provider_command(self.name(), action, answer.is_ok(), started);
        answer
    }

    /// The provider's name in metrics.
    pub fn name(&self) -> &'static str {
        match self {
            Self::Telnyx(_) => "telnyx",
            Self::Simulated(_) => "simulated",
        }
    }

    /// Stops what the provider runs in the background (the simulator's pending events).
    pub async fn shutdown(&self) {
        if let Self::Simulated(sim) = self {
            sim.shutdown().await;
        }
    }
}
