//! One live call for `callscope simulate`, from the same scripts, dialogues, timing and
//! latency as the demo's finished calls: who calls which agent, what is said when (with
//! tool calls), each assistant turn's latency, how long it rings and how it ends.

use callscope_shared::EndedReason;

use super::dialogues::Speaker;
use super::facts::Facts;
use super::generate::PROFILES;
use super::phones;
use super::random::{DemoRng, SeedableRng, between, chance};
use super::talk;
use crate::storage::{NewLatencyTurn, NewTranscriptEntry};

/// A conversation to play on a live call; times in milliseconds from the answer.
#[derive(Debug, Clone, PartialEq)]
pub struct LiveScript {
    pub from_number: String,
    pub to_number: String,
    /// How long it rings before it is answered.
    pub ring_ms: i64,
    pub entries: Vec<NewTranscriptEntry>,
    /// When each entry's speech ends (when the pipeline reports it).
    pub ends: Vec<i64>,
    /// The latency of each assistant entry, in order.
    pub latency: Vec<NewLatencyTurn>,
    /// From the answer to the hang-up.
    pub duration_ms: i64,
    /// `caller-hangup` or `agent-hangup`.
    pub ended_reason: EndedReason,
}

/// The demo profile an agent of this name plays (the Demo account's agents are named after
/// them), if any.
pub fn profile_of(agent_name: &str) -> Option<usize> {
    PROFILES.iter().position(|p| p.name == agent_name)
}

/// How many demo profiles there are (agents without one take them in turn).
pub fn profiles() -> usize {
    PROFILES.len()
}

/// The live call `seed` makes to demo profile `profile` (taken modulo the profiles) at
/// `started_at`; `long` asks for a rich conversation (16–30 entries), as the demo's
/// showcase call.
pub fn live_script(seed: u64, profile: usize, started_at: i64, long: bool) -> LiveScript {
    let mut rng = DemoRng::seed_from_u64(seed);
    let profile = &PROFILES[profile % PROFILES.len()];
    let region = phones::region(&mut rng);
    let customer = phones::mobile(&mut rng, region);
    let facts = Facts::draw(&mut rng, region, customer.clone(), started_at);
    let who = Speaker {
        agent: profile.name,
        domain: profile.domain,
        agent_phone: profile.number_spoken,
        transfer_to: profile.transfer_to,
    };
    let ended_reason = if chance(&mut rng, 0.6) {
        EndedReason::CallerHangup
    } else {
        EndedReason::AgentHangup
    };
    let talk = talk::answered(&mut rng, &who, &facts, ended_reason, long);
    let timed = talk.timed.unwrap_or_default();
    let duration_ms = (talk.duration * 1_000).max(timed.speech_end_ms());
    LiveScript {
        from_number: customer,
        to_number: profile.number.to_owned(),
        ring_ms: between(&mut rng, 1_500, 6_000),
        entries: timed.entries,
        ends: timed.ends,
        latency: timed.latency,
        duration_ms,
        ended_reason,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use callscope_shared::Role;

    #[test]
    fn a_live_script_is_a_timed_conversation_that_ends() {
        let mut tools = 0;
        for seed in 0..20 {
            let s = live_script(seed, seed as usize, 1_768_471_200, seed == 0);
            assert_eq!(
                s,
                live_script(seed, seed as usize, 1_768_471_200, seed == 0)
            );
            assert!(s.entries.len() >= 2 && s.entries.len() == s.ends.len());
            assert_eq!(s.entries[0].role, Role::Assistant);
            assert_eq!(s.latency.len(), s.entries.len().div_ceil(2));
            assert!(s.ends.windows(2).all(|w| w[0] < w[1]));
            assert!(s.duration_ms >= *s.ends.last().unwrap());
            assert!((1_500..=6_000).contains(&s.ring_ms));
            assert!(matches!(
                s.ended_reason,
                EndedReason::CallerHangup | EndedReason::AgentHangup
            ));
            tools += s.entries.iter().map(|e| e.tool_calls.len()).sum::<usize>();
        }
        assert!(tools > 0);
        assert!(live_script(1, 0, 0, true).entries.len() >= 16);
        assert_eq!(profile_of("Booking Desk"), Some(1));
        assert_eq!(profile_of("Someone else"), None);
    }
}
