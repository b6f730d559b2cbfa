//! Puts a conversation on a clock: when each line starts, how long it is spoken, and the
//! latency of each assistant turn, so transcript timestamps and latency agree.

use callscope_shared::Role;

use super::dialogues::Line;
use super::latency;
use super::random::{DemoRng, between};
use crate::storage::{NewLatencyTurn, NewTranscriptEntry};

/// Speaking pace: about 350 ms a word.
const MS_PER_WORD: i64 = 350;

/// A conversation with times, in milliseconds from the start of the call.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Timed {
    pub entries: Vec<NewTranscriptEntry>,
    pub latency: Vec<NewLatencyTurn>,
    /// When each entry's speech ends.
    pub ends: Vec<i64>,
}

impl Timed {
    /// When the last speech ends (0 if nothing was said).
    pub fn speech_end_ms(&self) -> i64 {
        self.ends.last().copied().unwrap_or(0)
    }

    /// Keeps the first `n` entries (and the latency of their assistant turns).
    pub fn truncate(&mut self, n: usize) {
        self.entries.truncate(n);
        self.ends.truncate(n);
        self.latency.truncate(n.div_ceil(2));
    }

    /// Adds `extra_ms` to the pauses before the caller's entries, for a call that ran into
    /// its maximum duration: the talk is the same, the caller just took their time (the
    /// assistant's turns keep their latency).
    pub fn stretch(&mut self, extra_ms: i64) {
        let callers = (self.entries.len() / 2) as i64;
        if callers == 0 || extra_ms <= 0 {
            return;
        }
        let mut seen = 0;
        for (i, (entry, end)) in self.entries.iter_mut().zip(&mut self.ends).enumerate() {
            if i % 2 == 1 {
                seen += 1;
            }
            let shift = extra_ms * seen / callers;
            entry.offset_ms += shift;
            *end += shift;
        }
        // Turn k is the entry 2(k-1): keep `ts` on its entry.
        for turn in &mut self.latency {
            turn.offset_ms = self.entries[(turn.turn as usize - 1) * 2].offset_ms;
        }
    }
}

/// How long `text` takes to say.
fn speech_ms(rng: &mut DemoRng, text: &str) -> i64 {
    let words = text.split_whitespace().count().max(1) as i64;
    (words * MS_PER_WORD * between(rng, 85, 115) / 100).max(400)
}

/// Lays the lines out in time. An assistant entry's offset is the start of its turn (the
/// caller has just stopped); its audio starts after `tts_start + tts_ttfb`. A caller's
/// entry starts a short reaction after the assistant stops.
pub fn lay_out(rng: &mut DemoRng, lines: Vec<Line>) -> Timed {
    let mut timed = Timed {
        entries: Vec::with_capacity(lines.len()),
        latency: Vec::with_capacity(lines.len().div_ceil(2)),
        ends: Vec::with_capacity(lines.len()),
    };
    let mut at = between(rng, 0, 400);
    for (i, line) in lines.into_iter().enumerate() {
        let speech = speech_ms(rng, &line.text);
        let assistant = i % 2 == 0;
        let end = if assistant {
            let l = latency::turn(rng);
            timed.latency.push(NewLatencyTurn {
                turn: timed.latency.len() as i64 + 1,
                offset_ms: at,
                llm_ttfb_ms: l.llm_ttfb_ms,
                tts_start_ms: l.tts_start_ms,
                tts_ttfb_ms: l.tts_ttfb_ms,
            });
            at + l.audio_at_ms() + speech
        } else {
            at + speech
        };
        timed.entries.push(NewTranscriptEntry {
            role: if assistant {
                Role::Assistant
            } else {
                Role::User
            },
            content: line.text,
            offset_ms: at,
            tool_calls: line.tool_calls,
        });
        timed.ends.push(end);
        // The caller reacts after 250–1200 ms; the assistant's turn begins once the
        // end-of-speech detector fires, 200–700 ms after the caller stops.
        at = end
            + if assistant {
                between(rng, 250, 1_200)
            } else {
                between(rng, 200, 700)
            };
    }
    timed
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::demo::random::SeedableRng;

    fn lines(n: usize) -> Vec<Line> {
        (0..n)
            .map(|i| Line {
                text: format!("line {i} has a few more words in it"),
                tool_calls: Vec::new(),
            })
            .collect()
    }

    #[test]
    fn offsets_increase_and_turns_sit_on_assistant_entries() {
        let mut rng = DemoRng::seed_from_u64(12);
        let mut t = lay_out(&mut rng, lines(15));
        let check = |t: &Timed| {
            assert!(
                t.entries
                    .windows(2)
                    .all(|w| w[0].offset_ms < w[1].offset_ms)
            );
            assert!(
                t.entries
                    .iter()
                    .zip(&t.ends)
                    .all(|(e, end)| e.offset_ms < *end)
            );
            assert_eq!(t.latency.len(), 8);
            for turn in &t.latency {
                let e = &t.entries[(turn.turn as usize - 1) * 2];
                assert_eq!((e.role, e.offset_ms), (Role::Assistant, turn.offset_ms));
            }
        };
        check(&t);
        let before = t.speech_end_ms();
        t.stretch(30_000);
        check(&t);
        assert_eq!(t.speech_end_ms(), before + 30_000);
        t.truncate(6);
        assert_eq!((t.entries.len(), t.latency.len()), (6, 3));
    }

    #[test]
    fn speech_takes_about_350_ms_a_word() {
        let mut rng = DemoRng::seed_from_u64(13);
        let ms = speech_ms(&mut rng, "one two three four five six seven eight nine ten");
        assert!((2_975..=4_025).contains(&ms), "{ms}");
    }
}
