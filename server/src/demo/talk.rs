//! What happens on a call, by outcome: the conversation with its timing, how long the
//! call was connected, how long it rang, and any transfer.

use callscope_shared::{CallStatus, CallStatus as S, EndedReason, EndedReason as R};

use super::dialogues::{self, Ending, Speaker};
use super::facts::Facts;
use super::random::{DemoRng, between, weighted};
use super::timing::{self, Timed};

/// The demo agents hang up at 4 minutes (their conversations are brisk: ~70 s on average).
pub const MAX_CALL_SECONDS: i64 = 240;

/// Transcript length of an answered call: mostly 6–28 entries.
fn answered_length(rng: &mut DemoRng) -> usize {
    let (lo, hi) = weighted(
        rng,
        &[((2, 5), 8), ((6, 14), 47), ((15, 28), 35), ((29, 40), 10)],
    );
    between(rng, lo, hi) as usize
}

/// What was said and how long the call lasted.
pub struct Talk {
    pub timed: Option<Timed>,
    pub intent: Option<&'static str>,
    /// Seconds connected (billed).
    pub duration: i64,
    /// Seconds between start and connect/give-up when the call never connected.
    pub ring: i64,
    /// (seconds into the call the transfer starts, seconds it rang, seconds bridged)
    pub transfer: Option<(i64, i64, i64)>,
}

fn seconds_ceil(ms: i64) -> i64 {
    (ms + 999) / 1_000
}

pub fn answered(
    rng: &mut DemoRng,
    who: &Speaker<'_>,
    facts: &Facts,
    reason: EndedReason,
    long: bool,
) -> Talk {
    let ending = match reason {
        R::CallerHangup => Ending::CallerBye,
        R::AgentHangup => Ending::AgentBye,
        R::SilenceTimeout => Ending::StillThere,
        _ => Ending::Cut,
    };
    let len = if long {
        between(rng, 16, 30) as usize
    } else if reason == R::MaxDuration {
        between(rng, 32, 40) as usize
    } else {
        answered_length(rng)
    };
    let conversation = dialogues::conversation(rng, who, facts, ending, len);
    let mut timed = timing::lay_out(rng, conversation.lines);
    let cap_ms = MAX_CALL_SECONDS * 1_000;
    let duration = if reason == R::MaxDuration {
        let target = cap_ms - between(rng, 0, 2_500);
        timed.stretch(target - timed.speech_end_ms());
        while timed.entries.len() > 2
            && timed
                .entries
                .last()
                .is_some_and(|e| e.offset_ms >= cap_ms - 1_000)
        {
            timed.truncate(timed.entries.len() - 1);
        }
        MAX_CALL_SECONDS
    } else {
        let tail = match reason {
            R::CallerHangup => between(rng, 300, 1_500),
            R::AgentHangup => between(rng, 800, 2_000),
            // The line stays silent for the 10 s silence timeout.
            R::SilenceTimeout => between(rng, 10_000, 10_500),
            _ => between(rng, 0, 2_000),
        };
        while timed.entries.len() > 2 && timed.speech_end_ms() + tail > cap_ms - 1_000 {
            timed.truncate(timed.entries.len() - 1);
        }
        seconds_ceil(timed.speech_end_ms() + tail)
    };
    Talk {
        timed: Some(timed),
        intent: Some(conversation.intent),
        duration,
        ring: 0,
        transfer: None,
    }
}

pub fn transferred(rng: &mut DemoRng, who: &Speaker<'_>, facts: &Facts) -> Talk {
    let len = between(rng, 5, 15) as usize;
    let conversation = dialogues::conversation(rng, who, facts, Ending::Transfer, len);
    let timed = timing::lay_out(rng, conversation.lines);
    let handover = seconds_ceil(timed.speech_end_ms() + between(rng, 500, 1_500));
    let ring = between(rng, 4, 15);
    let bridged = between(rng, 30, 360);
    Talk {
        timed: Some(timed),
        intent: Some(conversation.intent),
        duration: handover + ring + bridged,
        ring: 0,
        transfer: Some((handover, ring, bridged)),
    }
}

pub fn voicemail(rng: &mut DemoRng, who: &Speaker<'_>, facts: &Facts, reason: EndedReason) -> Talk {
    let lines = dialogues::voicemail(rng, who, facts);
    let timed = timing::lay_out(rng, lines);
    let tail = if reason == R::SilenceTimeout {
        between(rng, 10_000, 10_500)
    } else {
        between(rng, 3_000, 6_000)
    };
    Talk {
        duration: seconds_ceil(timed.speech_end_ms() + tail),
        timed: Some(timed),
        intent: None,
        ring: 0,
        transfer: None,
    }
}

pub fn silent(rng: &mut DemoRng, status: CallStatus) -> Talk {
    let (ring, duration) = match status {
        S::Busy => (between(rng, 1, 4), 0),
        S::NoAnswer => (between(rng, 20, 35), 0),
        S::Canceled => (between(rng, 3, 15), 0),
        S::Rejected => (between(rng, 0, 2), 0),
        S::Failed => (0, between(rng, 0, 3)),
        _ => (0, 0),
    };
    Talk {
        timed: None,
        intent: None,
        duration,
        ring,
        transfer: None,
    }
}
