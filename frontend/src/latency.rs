//! Per-turn latency as the viewer shows it: the three phases of an assistant turn, its
//! total against a budget, and the summary table's cells. Pure.

use callscope_shared::latency::slowest_turn;
use callscope_shared::{LatencySummary, MetricStats, PublicTurn, SlowestTurn};

use crate::format;

/// The default latency budget (time until the caller hears the assistant), in ms.
pub const DEFAULT_BUDGET_MS: u32 = 800;

/// An assistant turn's latency split into consecutive phases, in ms from the turn's start:
/// the LLM's first token, the hand-off until TTS starts, and TTS's first audio.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Phases {
    pub llm: u32,
    pub handoff: u32,
    pub tts: u32,
}

impl Phases {
    /// The phases of a turn, or `None` when it carries no latency at all: its shared
    /// `ReplyTiming` (missing metrics count as zero; a TTS start before the first token
    /// counts as no hand-off) cut at the first token and at TTS start.
    pub fn of(turn: &PublicTurn) -> Option<Phases> {
        turn.reply_timing().map(|r| Phases {
            llm: r.llm_ttfb_ms,
            handoff: r.tts_start_ms - r.llm_ttfb_ms,
            tts: r.tts_ttfb_ms,
        })
    }

    /// Time until the caller hears audio: TTS start plus TTS time to first byte, the
    /// turn's `time_to_first_audio_ms`.
    pub fn total(self) -> u32 {
        self.llm
            .saturating_add(self.handoff)
            .saturating_add(self.tts)
    }
}

/// How a latency compares with the budget.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Grade {
    /// Under 80 % of the budget.
    Ok,
    /// From 80 % of the budget up to it.
    Near,
    /// Over the budget.
    Over,
}

impl Grade {
    pub fn of(total_ms: u32, budget_ms: u32) -> Grade {
        if total_ms > budget_ms {
            Grade::Over
        } else if u64::from(total_ms) * 5 >= u64::from(budget_ms) * 4 {
            Grade::Near
        } else {
            Grade::Ok
        }
    }

    /// The CSS class of a chip or bar with this grade.
    pub fn class(self) -> &'static str {
        match self {
            Grade::Ok => "ok",
            Grade::Near => "near",
            Grade::Over => "over",
        }
    }

    /// Words for screen readers and tooltips.
    pub fn words(self) -> &'static str {
        match self {
            Grade::Ok => "within budget",
            Grade::Near => "near budget",
            Grade::Over => "over budget",
        }
    }
}

/// One row of the summary table: a metric's name and its formatted p50/p90/p99/max.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SummaryRow {
    pub metric: &'static str,
    pub cells: [String; 4],
}

/// The summary table's rows, in the order LLM TTFB, TTS start, TTS TTFB.
pub fn summary_rows(summary: &LatencySummary) -> Vec<SummaryRow> {
    let row = |metric, s: &MetricStats| SummaryRow {
        metric,
        cells: [s.p50, s.p90, s.p99, s.max].map(format::opt_ms),
    };
    vec![
        row("LLM time to first token", &summary.llm_ttfb_ms),
        row("TTS start", &summary.tts_start_ms),
        row("TTS time to first audio", &summary.tts_ttfb_ms),
    ]
}

/// The turn the caller waited longest for audio: the one the server's summary names as
/// the slowest (`callscope_shared::latency::slowest_turn`, one definition for both).
pub fn longest_wait(turns: &[PublicTurn]) -> Option<SlowestTurn> {
    slowest_turn(turns)
}

/// The timeline's one-line summary: turns with latency, how many are over `budget_ms`, and
/// the longest wait for audio.
pub fn timeline_summary(turns: &[PublicTurn], budget_ms: u32) -> String {
    let (all, over) = over_budget(turns, budget_ms);
    let longest = longest_wait(turns)
        .map(|s| {
            format!(
                " The longest wait for audio is turn #{}, {}.",
                s.index as usize + 1,
                format::ms(s.total_ms)
            )
        })
        .unwrap_or_default();
    format!(
        "{} with latency; {} over the {} budget.{longest}",
        format::plural(all, "assistant turn", "assistant turns"),
        format::thousands(over as u64),
        format::ms(budget_ms)
    )
}

/// Indices of turns that carry latency, and how many of them exceed `budget_ms`.
pub fn over_budget(turns: &[PublicTurn], budget_ms: u32) -> (usize, usize) {
    turns
        .iter()
        .filter_map(Phases::of)
        .fold((0, 0), |(all, over), p| {
            (all + 1, over + usize::from(p.total() > budget_ms))
        })
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use callscope_shared::Role;

    /// A turn of `role` at `ts` seconds; with `llm`, a full set of phases (LLM `llm`,
    /// TTS start 100 ms later, 100 ms to first audio).
    pub(crate) fn timed_turn(role: Role, ts: f64, llm: Option<u32>) -> PublicTurn {
        PublicTurn {
            role,
            content: String::new(),
            llm_ttfb_ms: llm,
            tts_start_ms: llm.map(|l| l + 100),
            tts_ttfb_ms: llm.map(|_| 100),
            timestamp: Some(ts),
            tool_calls: vec![],
            interrupted: false,
            stt_ms: None,
        }
    }

    pub(crate) fn turn(llm: Option<u32>, start: Option<u32>, tts: Option<u32>) -> PublicTurn {
        PublicTurn {
            role: Role::Assistant,
            content: String::new(),
            llm_ttfb_ms: llm,
            tts_start_ms: start,
            tts_ttfb_ms: tts,
            timestamp: None,
            tool_calls: vec![],
            interrupted: false,
            stt_ms: None,
        }
    }

    #[test]
    fn phases_are_consecutive_and_sum_to_time_to_audio() {
        let p = Phases::of(&turn(Some(350), Some(480), Some(120))).unwrap();
        assert_eq!(
            p,
            Phases {
                llm: 350,
                handoff: 130,
                tts: 120
            }
        );
        assert_eq!(p.total(), 600);
    }

    #[test]
    fn turns_without_latency_have_no_phases_and_odd_data_is_clamped() {
        assert_eq!(Phases::of(&turn(None, None, None)), None);
        let p = Phases::of(&turn(Some(500), Some(400), None)).unwrap();
        assert_eq!((p.handoff, p.tts, p.total()), (0, 0, 500));
        let p = Phases::of(&turn(None, Some(300), Some(100))).unwrap();
        assert_eq!((p.llm, p.handoff, p.total()), (0, 300, 400));
    }

    #[test]
    fn grades_against_the_budget() {
        assert_eq!(Grade::of(100, 800), Grade::Ok);
        assert_eq!(Grade::of(639, 800), Grade::Ok);
        assert_eq!(Grade::of(640, 800), Grade::Near);
        assert_eq!(Grade::of(800, 800), Grade::Near);
        assert_eq!(Grade::of(801, 800), Grade::Over);
        assert_eq!(Grade::of(1, 0), Grade::Over);
        assert_eq!(Grade::Over.class(), "over");
    }

    #[test]
    fn summary_rows_format_every_percentile_and_dash_missing_ones() {
        let summary = LatencySummary {
            llm_ttfb_ms: MetricStats {
                p50: Some(350),
                p90: Some(900),
                p99: Some(2100),
                max: Some(3999),
            },
            ..Default::default()
        };
        let rows = summary_rows(&summary);
        assert_eq!(rows.len(), 3);
        assert_eq!(rows[0].cells, ["350 ms", "900 ms", "2,100 ms", "3,999 ms"]);
        assert_eq!(rows[1].cells, ["—", "—", "—", "—"]);
    }

    #[test]
    fn bars_are_as_tall_as_the_shared_time_to_first_audio() {
        for t in [
            turn(Some(350), Some(480), Some(120)),
            turn(Some(500), Some(400), None),
            turn(None, Some(300), Some(100)),
            turn(Some(900), None, Some(2_000)),
        ] {
            assert_eq!(
                Phases::of(&t).map(Phases::total),
                t.time_to_first_audio_ms()
            );
        }
    }

    /// The demo's shape: a log-normal-ish body, TTS starting 100–200 ms after the first
    /// token, and one turn whose LLM + TTS TTFB is the most while another one's hand-off
    /// makes the caller wait longer.
    fn demo_like_turns() -> Vec<PublicTurn> {
        let mut turns: Vec<PublicTurn> = (0..40u32)
            .map(|i| {
                if i % 2 == 1 {
                    return timed_turn(Role::User, f64::from(i), None);
                }
                let llm = 250 + (i * 53) % 240;
                turn(
                    Some(llm),
                    Some(llm + 100 + (i * 31) % 100),
                    Some(80 + (i * 17) % 120),
                )
            })
            .collect();
        // LLM + TTS TTFB 1,600 ms, audio after 1,720 ms.
        turns[10] = turn(Some(1_500), Some(1_620), Some(100));
        // LLM + TTS TTFB 1,500 ms, audio after 1,900 ms.
        turns[24] = turn(Some(1_400), Some(1_800), Some(100));
        turns
    }

    #[test]
    fn the_longest_wait_for_audio_is_the_summarys_slowest_turn() {
        let turns = demo_like_turns();
        // What the server puts in the view's summary, on the same turns.
        let server = callscope_shared::latency::slowest_turn(&turns);
        assert_eq!(
            server,
            Some(SlowestTurn {
                index: 24,
                total_ms: 1_900
            })
        );
        assert_eq!(longest_wait(&turns), server);
        // The tallest bar is that turn's too.
        let tallest = turns
            .iter()
            .enumerate()
            .filter_map(|(i, t)| Phases::of(t).map(|p| (p.total(), std::cmp::Reverse(i))))
            .max()
            .map(|(ms, std::cmp::Reverse(i))| (i, ms));
        assert_eq!(tallest, Some((24, 1_900)));
        assert!(
            timeline_summary(&turns, 800)
                .ends_with("The longest wait for audio is turn #25, 1,900 ms."),
            "{}",
            timeline_summary(&turns, 800)
        );
    }

    #[test]
    fn the_timeline_summary_counts_and_names_the_longest_wait() {
        let turns = [
            turn(Some(300), Some(400), Some(100)),
            turn(Some(900), Some(1000), Some(100)),
            turn(None, None, None),
            turn(Some(300), Some(1000), Some(100)),
        ];
        assert_eq!(
            timeline_summary(&turns, 800),
            "3 assistant turns with latency; 2 over the 800 ms budget. \
             The longest wait for audio is turn #2, 1,100 ms."
        );
        assert_eq!(
            timeline_summary(&turns[2..3], 800),
            "0 assistant turns with latency; 0 over the 800 ms budget."
        );
    }

    #[test]
    fn counts_turns_over_budget() {
        let turns = [
            turn(Some(300), Some(400), Some(100)),
            turn(Some(900), Some(1000), Some(100)),
            turn(None, None, None),
        ];
        assert_eq!(over_budget(&turns, 800), (2, 1));
    }
}
