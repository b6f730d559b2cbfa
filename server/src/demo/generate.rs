//! The pure part of the demo: seed + call count + window → agents and calls, no I/O.
//!
//! The first calls go through a coverage table, so every final status, disposition and ended
//! reason appears; the rest are sampled with realistic weights. Every call has ended (live
//! calls come from `callscope simulate`). Each call gets its own
//! RNG seeded from the master stream, so a call's details never depend on another call's.
//! Calls are returned in `started_at` order: inserted in that order, ids ascend with time.

use callscope_shared::{AgentId, CallStatus as S, EndedReason as R, Money};
use serde_json::{Value, json};

use super::costs::{CostInputs, costs};
use super::deliveries::{self, CallEvents, PlannedDelivery};
use super::dialogues::{Domain, Speaker};
use super::facts::Facts;
use super::phones::{self, Region};
use super::random::{DemoRng, RngCore, SeedableRng, between, chance, digits, weighted};
use super::shapes::{COVERAGE, SHAPES, Shape};
use super::talk;
use super::window::{Window, sample_start};
use crate::clock::UnixTime;
use crate::ids::{AccountId, AgentRowId};
use crate::storage::NewCall;

/// Calls start before the final hour of the window, so each has ended by its end (and the
/// simulator's live calls are the newest).
const LIVE_HOUR: i64 = 3_600;
/// The customer configured their webhook endpoint a few days into the window.
const WEBHOOKS_FROM_DAY: i64 = 4;

/// A demo agent's fixed traits (the public id comes from the seed).
#[derive(Debug, PartialEq, Eq)]
pub struct Profile {
    pub name: &'static str,
    pub rate_per_minute: Money,
    pub recording_enabled: bool,
    /// The agent's phone number, E.164, and as said aloud.
    pub number: &'static str,
    pub number_spoken: &'static str,
    /// The human team transfers go to.
    pub transfer_to: &'static str,
    pub domain: Domain,
    /// Share of the calls this agent takes.
    pub weight: u32,
}

/// The three demo agents. Numbers come from ranges reserved for drama and examples.
pub static PROFILES: [Profile; 3] = [
    Profile {
        name: "Claims Assistant",
        rate_per_minute: Money::from_units(2_500),
        recording_enabled: true,
        number: "+31850012345",
        number_spoken: "085 001 2345",
        transfer_to: "+31850099999",
        domain: Domain::Claims,
        weight: 40,
    },
    Profile {
        name: "Booking Desk",
        rate_per_minute: Money::from_units(1_800),
        recording_enabled: false,
        number: "+442079460123",
        number_spoken: "020 7946 0123",
        transfer_to: "+442079460999",
        domain: Domain::Booking,
        weight: 35,
    },
    Profile {
        name: "Billing Support",
        rate_per_minute: Money::from_units(3_000),
        recording_enabled: false,
        number: "+12125550142",
        number_spoken: "(212) 555-0142",
        transfer_to: "+12125550199",
        domain: Domain::Billing,
        weight: 25,
    },
];

/// An agent to create.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlannedAgent {
    pub public_id: AgentId,
    pub profile: &'static Profile,
}

/// A call before its details: enough to sort by time and expand later.
#[derive(Debug, Clone, Copy)]
struct Skeleton {
    started_at: i64,
    seed: u64,
    agent: usize,
    shape: Shape,
    /// Guarantees a rich conversation (the first call), for the debug link.
    long: bool,
}

/// A call to insert. `call.account_id` and `call.agent_id` are 0 until written: the
/// database assigns them.
#[derive(Debug, Clone, PartialEq)]
pub struct PlannedCall {
    /// Index into `Plan::agents`.
    pub agent: usize,
    pub call: NewCall,
    pub deliveries: Vec<PlannedDelivery>,
}

/// The agents and (lazily expanded) calls for one seed, count and window.
#[derive(Debug, Clone)]
pub struct Plan {
    pub window: Window,
    pub agents: Vec<PlannedAgent>,
    skeletons: Vec<Skeleton>,
}

impl Plan {
    pub fn new(seed: u64, calls: usize, window: Window) -> Self {
        let mut rng = DemoRng::seed_from_u64(seed);
        let mut agents: Vec<PlannedAgent> = Vec::new();
        for profile in &PROFILES {
            let public_id = loop {
                let id = AgentId::from_bits(rng.next_u32());
                if agents.iter().all(|a| a.public_id != id) {
                    break id;
                }
            };
            agents.push(PlannedAgent { public_id, profile });
        }
        let agent_weights: Vec<(usize, u32)> = PROFILES
            .iter()
            .enumerate()
            .map(|(i, p)| (i, p.weight))
            .collect();
        let mut skeletons: Vec<Skeleton> = (0..calls)
            .map(|i| {
                let shape = COVERAGE
                    .get(i)
                    .copied()
                    .unwrap_or_else(|| weighted(&mut rng, &SHAPES));
                let agent = weighted(&mut rng, &agent_weights);
                let seed = rng.next_u64();
                Skeleton {
                    started_at: start_time(seed, window),
                    seed,
                    agent,
                    shape,
                    long: i == 0,
                }
            })
            .collect();
        // Stable: equal instants keep generation order.
        skeletons.sort_by_key(|s| s.started_at);
        Self {
            window,
            agents,
            skeletons,
        }
    }

    pub fn len(&self) -> usize {
        self.skeletons.len()
    }

    pub fn is_empty(&self) -> bool {
        self.skeletons.is_empty()
    }

    /// The calls in `started_at` order, expanded one at a time (a large plan never holds
    /// every transcript in memory).
    pub fn calls(&self) -> impl Iterator<Item = PlannedCall> + '_ {
        self.skeletons.iter().map(|s| self.expand(s))
    }

    fn expand(&self, sk: &Skeleton) -> PlannedCall {
        let mut rng = DemoRng::seed_from_u64(sk.seed);
        rng.set_stream(1);
        let agent = &self.agents[sk.agent];
        expand(&mut rng, sk, agent, self.window)
    }
}

/// Every call of a plan, for tests and small runs.
pub fn plan_calls(seed: u64, calls: usize, window: Window) -> Vec<PlannedCall> {
    Plan::new(seed, calls, window).calls().collect()
}

/// When a call starts: in office-hour-weighted time before the final hour.
fn start_time(seed: u64, window: Window) -> i64 {
    let mut rng = DemoRng::seed_from_u64(seed);
    sample_start(&mut rng, window.start, window.end - LIVE_HOUR)
}
fn region_code(region: Region) -> &'static str {
    match region {
        Region::Nl => "NL",
        Region::Uk => "GB",
        Region::Us => "US",
    }
}

/// Small, domain-flavoured extracted data for a conversation.
fn extracted(domain: Domain, facts: &Facts, intent: &str, resolved: bool) -> Value {
    match domain {
        Domain::Claims => json!({
            "intent": intent,
            "policy_number": facts.policy,
            "callback_number": facts.alt,
            "resolved": resolved,
        }),
        Domain::Booking => json!({
            "intent": intent,
            "booking_reference": facts.booking,
            "check_in": facts.check_in,
            "guests": facts.guests,
            "resolved": resolved,
        }),
        Domain::Billing => json!({
            "intent": intent,
            "account_number": facts.account_digits(),
            "amount_due": facts.amount,
            "resolved": resolved,
        }),
    }
}

fn expand(rng: &mut DemoRng, sk: &Skeleton, agent: &PlannedAgent, window: Window) -> PlannedCall {
    let profile = agent.profile;
    let shape = sk.shape;
    let region = phones::region(rng);
    let customer = phones::mobile(rng, region);
    let facts = Facts::draw(rng, region, customer.clone(), sk.started_at);
    let who = Speaker {
        agent: profile.name,
        domain: profile.domain,
        agent_phone: profile.number_spoken,
        transfer_to: profile.transfer_to,
    };
    let talk = match shape {
        Shape::Answered(reason) => talk::answered(rng, &who, &facts, reason, sk.long),
        Shape::Transferred => talk::transferred(rng, &who, &facts),
        Shape::Voicemail(reason) => talk::voicemail(rng, &who, &facts, reason),
        Shape::Unanswered(status) => talk::silent(rng, status),
    };
    let completed = shape.status() == S::Completed;
    let recorded = profile.recording_enabled && completed && talk.duration > 0 && chance(rng, 0.97);
    let conversational = matches!(shape, Shape::Answered(_) | Shape::Transferred);
    let discount_bp = if conversational && chance(rng, 0.08) {
        between(rng, 1_000, 2_500)
    } else {
        0
    };
    let c = costs(CostInputs {
        duration_seconds: talk.duration,
        rate_per_minute: profile.rate_per_minute,
        recording_enabled: profile.recording_enabled,
        recording_rate_per_minute: crate::billing::DEFAULT_RECORDING_RATE,
        transfer_duration_seconds: talk.transfer.map_or(0, |t| t.2),
        discount_bp,
        provider_bp: between(rng, 5_500, 9_000),
    });
    let (from_number, to_number) = if shape.outbound() {
        (profile.number.to_owned(), customer)
    } else {
        (customer, profile.number.to_owned())
    };
    let (metadata, extracted_data) = if completed {
        let metadata = json!({
            "caller_region": region_code(region),
            "crm_id": format!("CRM-{}", digits(rng, 6)),
            "direction": if shape.outbound() { "outbound" } else { "inbound" },
        });
        let extracted_data = match talk.intent {
            Some(intent) => {
                // Resolved: a real conversation that ended with a goodbye.
                let entries = talk.timed.as_ref().map_or(0, |t| t.entries.len());
                let goodbye = matches!(shape, Shape::Answered(R::CallerHangup | R::AgentHangup));
                extracted(profile.domain, &facts, intent, goodbye && entries >= 6)
            }
            None => json!({ "voicemail_left": true }),
        };
        (metadata, extracted_data)
    } else {
        (json!({}), json!({}))
    };
    let ended_at = sk.started_at + talk.ring + talk.duration;
    let call_control_id = completed.then(|| {
        let mut bytes = [0u8; 16];
        rng.fill_bytes(&mut bytes);
        format!(
            "v3:{}",
            bytes.iter().map(|b| format!("{b:02x}")).collect::<String>()
        )
    });
    let ws_unavailable = completed && chance(rng, 0.02);
    let deliveries = if sk.started_at >= window.start + WEBHOOKS_FROM_DAY * 86_400 {
        let transfer = talk
            .transfer
            .filter(|_| chance(rng, 0.7))
            .map(|(at, ring, _)| (sk.started_at + at + 1, sk.started_at + at + ring + 1));
        deliveries::for_call(
            rng,
            CallEvents {
                started_at: sk.started_at,
                transfer,
                ended_at: Some(ended_at),
            },
        )
    } else {
        Vec::new()
    };
    let (transcript, latency) = talk
        .timed
        .map(|t| (t.entries, t.latency))
        .unwrap_or_default();
    let call = NewCall {
        account_id: AccountId(0),
        agent_id: AgentRowId(0),
        from_number,
        to_number,
        status: shape.status(),
        disposition: shape.disposition(),
        ended_reason: shape.ended_reason(),
        duration_seconds: talk.duration,
        minutes_used: c.minutes_used,
        rate_per_minute: profile.rate_per_minute,
        recording_rate_per_minute: crate::billing::DEFAULT_RECORDING_RATE,
        total_cost: c.total_cost,
        call_cost: c.call_cost,
        recording_cost: c.recording_cost,
        llm_discount: c.llm_discount,
        transfer_duration_seconds: talk.transfer.map_or(0, |t| t.2),
        transfer_cost: c.transfer_cost,
        transferred_to: talk.transfer.map(|_| profile.transfer_to.to_owned()),
        has_recording: recorded,
        recording_enabled: profile.recording_enabled,
        recording_key: recorded
            .then(|| format!("recordings/{}/{:016x}.mp3", agent.public_id, sk.seed)),
        metadata,
        extracted_data,
        ws_unavailable,
        call_control_id,
        started_at: UnixTime(sk.started_at),
        ended_at: Some(UnixTime(ended_at)),
        transcript,
        latency,
    };
    PlannedCall {
        agent: sk.agent,
        call,
        deliveries,
    }
}
