//! Turns the scripts into one call's lines: assistant and caller alternating (assistant
//! first), with the length and ending the call's outcome asks for.

use callscope_shared::ToolCall;

use super::facts::Facts;
use super::random::{DemoRng, between, pick};
use super::scripts::{self, GENERIC, Script, Step};
use super::tools::Tool;

/// The most transcript entries a demo call has.
pub const MAX_ENTRIES: usize = 40;

/// Which business an agent serves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Domain {
    Claims,
    Booking,
    Billing,
}

impl Domain {
    pub fn script(self) -> &'static Script {
        match self {
            Domain::Claims => &scripts::CLAIMS,
            Domain::Booking => &scripts::BOOKING,
            Domain::Billing => &scripts::BILLING,
        }
    }
}

/// The agent's side of the placeholders.
#[derive(Debug, Clone, Copy)]
pub struct Speaker<'a> {
    pub agent: &'a str,
    pub domain: Domain,
    /// The agent's own number as said aloud (for call-back requests).
    pub agent_phone: &'a str,
    /// Where transfers go, E.164.
    pub transfer_to: &'a str,
}

/// How the conversation ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ending {
    /// The assistant wraps up, the caller says goodbye and hangs up.
    CallerBye,
    /// The assistant says goodbye last and hangs up.
    AgentBye,
    /// The caller went quiet; the assistant checks, then gives up.
    StillThere,
    /// The caller asks for a person and is transferred.
    Transfer,
    /// Cut off mid-conversation (API, error, maximum duration).
    Cut,
}

/// One transcript line; the role follows from its position (even: assistant).
#[derive(Debug, Clone, PartialEq)]
pub struct Line {
    pub text: String,
    pub tool_calls: Vec<ToolCall>,
}

/// A conversation and what the caller wanted (for extracted_data).
#[derive(Debug, Clone)]
pub struct Conversation {
    pub intent: &'static str,
    pub lines: Vec<Line>,
}

/// Replaces each `{key}` with the agent's or the facts' value; unknown keys stay as is.
pub fn fill(template: &str, who: &Speaker<'_>, facts: &Facts) -> String {
    let value = |key: &str| match key {
        "agent" => Some(who.agent.to_owned()),
        "company" => Some(who.domain.script().company.to_owned()),
        "agent_phone" => Some(who.agent_phone.to_owned()),
        _ => facts.lookup(key),
    };
    let mut out = String::with_capacity(template.len() + 32);
    let mut rest = template;
    while let Some(open) = rest.find('{') {
        out.push_str(&rest[..open]);
        let after = &rest[open + 1..];
        let Some(close) = after.find('}') else {
            rest = &rest[open..];
            break;
        };
        match value(&after[..close]) {
            Some(v) => out.push_str(&v),
            None => out.push_str(&rest[open..open + close + 2]),
        }
        rest = &after[close + 1..];
    }
    out.push_str(rest);
    out
}

fn line(text: &str, tools: &[Tool], who: &Speaker<'_>, facts: &Facts) -> Line {
    Line {
        text: fill(text, who, facts),
        tool_calls: tools
            .iter()
            .map(|t| t.call(facts, who.transfer_to))
            .collect(),
    }
}

/// `len` adjusted so the ending's last speaker lands on the right parity.
fn fit_length(len: usize, ending: Ending) -> usize {
    let len = len.clamp(2, MAX_ENTRIES);
    let odd = len % 2 == 1;
    match ending {
        Ending::CallerBye if odd => len + 1,
        Ending::AgentBye | Ending::StillThere | Ending::Transfer if !odd => (len - 1).max(3),
        _ => len,
    }
}

/// In-place Fisher–Yates shuffle with the demo's RNG.
fn shuffle<T>(rng: &mut DemoRng, items: &mut [T]) {
    for i in (1..items.len()).rev() {
        items.swap(i, between(rng, 0, i as i64) as usize);
    }
}

/// At least `pairs` steps (when there are enough): a random set of `beats`, kept in
/// script order so each conversation differs but still flows.
fn some_beats(
    rng: &mut DemoRng,
    beats: &'static [&'static [Step]],
    pairs: usize,
) -> Vec<&'static Step> {
    let mut order: Vec<usize> = (0..beats.len()).collect();
    shuffle(rng, &mut order);
    let mut chosen = Vec::new();
    let mut count = 0;
    for i in order {
        if count >= pairs {
            break;
        }
        chosen.push(i);
        count += beats[i].len();
    }
    chosen.sort_unstable();
    chosen.iter().flat_map(|&i| beats[i].iter()).collect()
}

/// `pairs` exchanges: the business's own beats, then generic ones if the call is long.
fn exchanges(rng: &mut DemoRng, script: &Script, pairs: usize) -> Vec<&'static Step> {
    let mut steps = some_beats(rng, script.beats, pairs);
    if steps.len() < pairs {
        let more = some_beats(rng, GENERIC, pairs - steps.len());
        steps.extend(more);
    }
    // Never reached with today's scripts (they hold more than 40 entries' worth).
    let mut filler = GENERIC.iter().flat_map(|b| b.iter()).cycle();
    while steps.len() < pairs {
        steps.extend(filler.next());
    }
    steps.truncate(pairs);
    steps
}

/// An inbound conversation of about `len` entries (2..=40) that ends as `ending` says.
pub fn conversation(
    rng: &mut DemoRng,
    who: &Speaker<'_>,
    facts: &Facts,
    ending: Ending,
    len: usize,
) -> Conversation {
    let script = who.domain.script();
    let len = fit_length(len, ending);
    let (intent, opening) = pick(rng, script.intents);
    let mut lines = vec![
        line(pick(rng, script.greetings), &[], who, facts),
        line(opening, &[], who, facts),
    ];
    let closing: Vec<Line> = match ending {
        Ending::CallerBye if len >= 4 => vec![
            line(pick(rng, scripts::CLOSINGS), &[], who, facts),
            line(pick(rng, scripts::BYES), &[], who, facts),
        ],
        Ending::AgentBye => vec![line(pick(rng, scripts::CLOSINGS), &[], who, facts)],
        Ending::StillThere => vec![line(pick(rng, scripts::STILL_THERE), &[], who, facts)],
        Ending::Transfer => {
            let transfer = line(
                pick(rng, scripts::TRANSFER),
                &[Tool::TransferCall],
                who,
                facts,
            );
            if len >= 5 {
                vec![
                    line(pick(rng, scripts::ASK_HUMAN), &[], who, facts),
                    transfer,
                ]
            } else {
                vec![transfer]
            }
        }
        Ending::CallerBye | Ending::Cut => Vec::new(),
    };
    let middle = len - 2 - closing.len();
    for s in exchanges(rng, script, middle.div_ceil(2)) {
        lines.push(line(s.ask, s.tools, who, facts));
        lines.push(line(s.reply, &[], who, facts));
    }
    lines.truncate(2 + middle);
    lines.extend(closing);
    Conversation { intent, lines }
}

/// An outbound call that reached voicemail: the assistant's opener, the mailbox greeting
/// and the message left.
pub fn voicemail(rng: &mut DemoRng, who: &Speaker<'_>, facts: &Facts) -> Vec<Line> {
    vec![
        line(pick(rng, scripts::VOICEMAIL_OPENERS), &[], who, facts),
        line(pick(rng, scripts::VOICEMAIL_GREETINGS), &[], who, facts),
        line(who.domain.script().voicemail, &[], who, facts),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::demo::phones::Region;
    use crate::demo::random::SeedableRng;

    fn speaker(domain: Domain) -> Speaker<'static> {
        Speaker {
            agent: "Claims Assistant",
            domain,
            agent_phone: "085 001 2345",
            transfer_to: "+31850099999",
        }
    }

    #[test]
    fn every_template_fills_completely() {
        let mut rng = DemoRng::seed_from_u64(8);
        for domain in [Domain::Claims, Domain::Booking, Domain::Billing] {
            let who = speaker(domain);
            for region in [Region::Nl, Region::Uk, Region::Us] {
                let facts = Facts::draw(&mut rng, region, "+31612345678".into(), 1_768_471_200);
                let s = domain.script();
                let mut all: Vec<&str> = Vec::new();
                all.extend(s.greetings);
                all.extend(s.intents.iter().map(|(_, t)| *t));
                all.extend(
                    s.beats
                        .iter()
                        .flat_map(|b| b.iter())
                        .flat_map(|st| [st.ask, st.reply]),
                );
                all.extend(
                    GENERIC
                        .iter()
                        .flat_map(|b| b.iter())
                        .flat_map(|st| [st.ask, st.reply]),
                );
                all.extend(scripts::CLOSINGS);
                all.extend(scripts::STILL_THERE);
                all.extend(scripts::VOICEMAIL_OPENERS);
                all.extend(scripts::VOICEMAIL_GREETINGS);
                all.push(s.voicemail);
                for t in all {
                    let text = fill(t, &who, &facts);
                    assert!(!text.contains('{') && !text.contains('}'), "{text}");
                }
            }
        }
    }

    #[test]
    fn scripts_are_long_enough_for_the_longest_call() {
        let generic: usize = GENERIC.iter().map(|b| b.len()).sum();
        for domain in [Domain::Claims, Domain::Booking, Domain::Billing] {
            let own: usize = domain.script().beats.iter().map(|b| b.len()).sum();
            assert!(2 * (own + generic) >= MAX_ENTRIES, "{domain:?}");
        }
    }

    #[test]
    fn lengths_and_endings_line_up() {
        let mut rng = DemoRng::seed_from_u64(10);
        let facts = Facts::draw(&mut rng, Region::Uk, "+447700900123".into(), 1_768_471_200);
        let endings = [
            Ending::CallerBye,
            Ending::AgentBye,
            Ending::StillThere,
            Ending::Transfer,
            Ending::Cut,
        ];
        for domain in [Domain::Claims, Domain::Booking, Domain::Billing] {
            for ending in endings {
                for len in 2..=MAX_ENTRIES {
                    let c = conversation(&mut rng, &speaker(domain), &facts, ending, len);
                    let n = c.lines.len();
                    assert!((2..=MAX_ENTRIES).contains(&n), "{ending:?} {len} → {n}");
                    assert!(n.abs_diff(len) <= 1);
                    let last_is_assistant = n % 2 == 1;
                    match ending {
                        Ending::AgentBye | Ending::StillThere | Ending::Transfer => {
                            assert!(last_is_assistant)
                        }
                        Ending::CallerBye => assert!(!last_is_assistant),
                        Ending::Cut => {}
                    }
                    let transfers = c
                        .lines
                        .iter()
                        .flat_map(|l| &l.tool_calls)
                        .filter(|t| t.name == "transfer_call")
                        .count();
                    assert_eq!(transfers, usize::from(ending == Ending::Transfer));
                    // Only assistant lines call tools.
                    assert!(
                        c.lines
                            .iter()
                            .skip(1)
                            .step_by(2)
                            .all(|l| l.tool_calls.is_empty())
                    );
                }
            }
        }
    }
}
