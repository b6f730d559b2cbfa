//! Per-turn latency as the viewer shows it: the three phases of an assistant turn, its
//! total against a budget, and the summary table's cells. Pure.

use callscope_shared::{LatencySummary, MetricStats, PublicTurn};

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
    /// The phases of a turn, or `None` when it carries no latency at all. Missing metrics
    /// count as zero; a TTS start before the first token counts as no hand-off.
    pub fn of(turn: &PublicTurn) -> Option<Phases> {
        if turn.llm_ttfb_ms.is_none() && turn.tts_start_ms.is_none() && turn.tts_ttfb_ms.is_none() {
            return None;
        }
        let llm = turn.llm_ttfb_ms.unwrap_or(0);
        let start = turn.tts_start_ms.unwrap_or(llm).max(llm);
        Some(Phases {
            llm,
            handoff: start - llm,
            tts: turn.tts_ttfb_ms.unwrap_or(0),
        })
    }

    /// Time until the caller hears audio: TTS start plus TTS time to first byte.
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
    fn counts_turns_over_budget() {
        let turns = [
            turn(Some(300), Some(400), Some(100)),
            turn(Some(900), Some(1000), Some(100)),
            turn(None, None, None),
        ];
        assert_eq!(over_budget(&turns, 800), (2, 1));
    }
}
