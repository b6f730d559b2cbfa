//! Geometry of the latency timeline, in SVG user units. Pure: the component only draws
//! what this computes.

use callscope_shared::{PublicTurn, Role};

use crate::latency::Phases;

/// Height of the bar plot area.
pub const PLOT_HEIGHT: f64 = 180.0;
/// Left margin for the axis labels, and the top margin.
pub const MARGIN_LEFT: f64 = 56.0;
pub const MARGIN_TOP: f64 = 10.0;
/// Room below the plot for the x axis.
pub const MARGIN_BOTTOM: f64 = 24.0;
/// Room right of the plot for the budget label, so no bar ever runs under it.
pub const MARGIN_RIGHT: f64 = 64.0;
/// The plot is at least this wide; beyond `PLOT_WIDTH / MIN_STEP` bars it grows and scrolls.
pub const PLOT_WIDTH: f64 = 844.0;
pub const MIN_STEP: f64 = 4.0;
/// Widest a bar gets on short calls.
pub const MAX_BAR: f64 = 28.0;

/// One phase rectangle of a bar.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Seg {
    pub y: f64,
    pub height: f64,
}

/// A bar: which turn (index into `turns`), where, and its phase rectangles from the
/// bottom up: the caller's speech to text (of the caller turn just before, when reported),
/// then LLM, hand-off and TTS. Together they are the silence the caller heard.
#[derive(Debug, Clone, PartialEq)]
pub struct Bar {
    pub turn: usize,
    pub x: f64,
    pub width: f64,
    pub segs: [Seg; 4],
    pub phases: Phases,
    /// The speech-to-text time before this reply, in ms (0 when not reported).
    pub stt: u32,
    /// The caller cut this reply off.
    pub interrupted: bool,
}

/// The bar chart: its size, scale and bars.
#[derive(Debug, Clone, PartialEq)]
pub struct BarChart {
    pub width: f64,
    pub height: f64,
    /// The value (ms) at the top of the plot.
    pub max_ms: u32,
    pub ticks: Vec<u32>,
    pub bars: Vec<Bar>,
}

/// The smallest "nice" number (1, 2 or 5 times a power of ten) at or above `v`.
pub fn nice_ceil(v: u32) -> u32 {
    let mut pow = 1u32;
    loop {
        for m in [1, 2, 5] {
            let n = m * pow;
            if n >= v {
                return n;
            }
        }
        match pow.checked_mul(10) {
            Some(p) => pow = p,
            None => return u32::MAX,
        }
    }
}

/// Y of a value on the plot (0 ms at the bottom).
pub fn y_of(value: u32, max_ms: u32) -> f64 {
    let max = f64::from(max_ms.max(1));
    MARGIN_TOP + PLOT_HEIGHT - (f64::from(value).min(max) / max) * PLOT_HEIGHT
}

/// The speech-to-text time of the caller turn just before turn `i`, if reported.
fn stt_before(turns: &[PublicTurn], i: usize) -> u32 {
    i.checked_sub(1)
        .and_then(|prev| turns.get(prev))
        .filter(|t| t.role == callscope_shared::Role::User)
        .and_then(|t| t.stt_ms)
        .unwrap_or(0)
}

/// Lays out one bar per turn with latency. The scale covers the tallest bar and the
/// budget, so the budget line is always on the chart.
pub fn bars(turns: &[PublicTurn], budget_ms: u32) -> BarChart {
    let with: Vec<(usize, Phases, u32)> = turns
        .iter()
        .enumerate()
        .filter_map(|(i, t)| Phases::of(t).map(|p| (i, p, stt_before(turns, i))))
        .collect();
    let top = with
        .iter()
        .map(|(_, p, stt)| p.total().saturating_add(*stt))
        .max()
        .unwrap_or(0);
    let max_ms = nice_ceil(top.max(budget_ms).max(100));
    let n = with.len().max(1) as f64;
    let plot_width = PLOT_WIDTH.max(n * MIN_STEP);
    let step = plot_width / n;
    let width = (step * 0.7).clamp(1.0, MAX_BAR).min(step);
    let bars = with
        .into_iter()
        .enumerate()
        .map(|(k, (turn, phases, stt))| {
            let x = MARGIN_LEFT + step * k as f64 + (step - width) / 2.0;
            let mut base = 0u32;
            let segs = [stt, phases.llm, phases.handoff, phases.tts].map(|v| {
                let top = base.saturating_add(v);
                let seg = Seg {
                    y: y_of(top, max_ms),
                    height: y_of(base, max_ms) - y_of(top, max_ms),
                };
                base = top;
                seg
            });
            Bar {
                turn,
                x,
                width,
                segs,
                phases,
                stt,
                interrupted: turns[turn].interrupted,
            }
        })
        .collect();
    let tick_step = max_ms / 4;
    BarChart {
        width: MARGIN_LEFT + plot_width + MARGIN_RIGHT,
        height: MARGIN_TOP + PLOT_HEIGHT + MARGIN_BOTTOM,
        max_ms,
        ticks: (0..=4).map(|k| k * tick_step).collect(),
        bars,
    }
}

/// One turn on the call's clock: when it starts and until the next turn starts, and for
/// assistant turns how much of that was spent waiting for audio.
#[derive(Debug, Clone, PartialEq)]
pub struct Span {
    pub turn: usize,
    /// The last turn this span covers: `turn` itself, unless neighbours were merged.
    pub last: usize,
    pub role: Role,
    pub x: f64,
    pub width: f64,
    /// Width of the waiting part at the start (assistant turns with latency).
    pub wait: f64,
    /// The audio would start after the next turn began: the turns overlap.
    pub overlap: bool,
}

/// Merges neighbouring spans narrower than `min_width` (a long call puts thousands of
/// turns in a lane a few hundred pixels wide): each merged span takes the role that filled
/// most of it, and is an overlap if any part was.
pub fn merge(spans: Vec<Span>, min_width: f64) -> Vec<Span> {
    let mut out: Vec<Span> = Vec::new();
    // Width per role of the span being built: (assistant, user).
    let mut share = (0.0f64, 0.0f64);
    for s in spans {
        let add = |share: &mut (f64, f64), s: &Span| match s.role {
            Role::Assistant => share.0 += s.width,
            Role::User => share.1 += s.width,
        };
        match out.last_mut() {
            Some(cur) if cur.width < min_width => {
                add(&mut share, &s);
                cur.width = (s.x + s.width - cur.x).max(cur.width);
                cur.last = s.last;
                cur.wait = 0.0;
                cur.overlap |= s.overlap;
                cur.role = if share.1 > share.0 {
                    Role::User
                } else {
                    Role::Assistant
                };
            }
            _ => {
                share = (0.0, 0.0);
                add(&mut share, &s);
                out.push(s);
            }
        }
    }
    out
}

/// Width of the call-clock lane.
pub const LANE_WIDTH: f64 = 900.0;

/// Places every turn with a timestamp on the call's clock, scaled to `LANE_WIDTH` over
/// the call's duration (or the last timestamp, if later).
pub fn lane(turns: &[PublicTurn], duration_seconds: i64) -> Vec<Span> {
    let last = turns
        .iter()
        .filter_map(|t| t.timestamp)
        .filter(|t| t.is_finite())
        .fold(0.0f64, f64::max);
    let span = (duration_seconds.max(0) as f64).max(last).max(1.0);
    let scale = LANE_WIDTH / span;
    let timed: Vec<(usize, &PublicTurn, f64)> = turns
        .iter()
        .enumerate()
        .filter_map(|(i, t)| t.timestamp.filter(|s| s.is_finite()).map(|s| (i, t, s)))
        .collect();
    let spans: Vec<Span> = timed
        .iter()
        .enumerate()
        .map(|(k, &(turn, t, start))| {
            let end = timed.get(k + 1).map_or(span, |&(_, _, next)| next);
            let length = (end - start).max(0.0);
            let wait_s = Phases::of(t).map_or(0.0, |p| f64::from(p.total()) / 1000.0);
            Span {
                turn,
                last: turn,
                role: t.role,
                x: start.clamp(0.0, span) * scale,
                width: length * scale,
                wait: wait_s.min(length) * scale,
                overlap: wait_s > length && timed.get(k + 1).is_some(),
            }
        })
        .collect();
    if spans.len() as f64 > LANE_WIDTH / 2.0 {
        merge(spans, 1.0)
    } else {
        spans
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::latency::tests::timed_turn as t;

    #[test]
    fn nice_numbers_round_up() {
        assert_eq!(nice_ceil(0), 1);
        assert_eq!(nice_ceil(800), 1000);
        assert_eq!(nice_ceil(1000), 1000);
        assert_eq!(nice_ceil(1001), 2000);
        assert_eq!(nice_ceil(4200), 5000);
    }

    #[test]
    fn one_bar_per_turn_with_latency_stacked_from_the_bottom() {
        let turns = [
            t(Role::Assistant, 0.0, Some(300)),
            t(Role::User, 2.0, None),
            t(Role::Assistant, 5.0, Some(1300)),
        ];
        let chart = bars(&turns, 800);
        assert_eq!(chart.bars.len(), 2);
        assert_eq!(chart.bars[1].turn, 2);
        assert_eq!(chart.max_ms, 2000);
        assert_eq!(chart.ticks, vec![0, 500, 1000, 1500, 2000]);
        let b = &chart.bars[0];
        let bottom = MARGIN_TOP + PLOT_HEIGHT;
        // No speech-to-text reported: an empty first segment; LLM from the bottom, hand-off
        // on top of it, TTS on top of that.
        assert_eq!(b.segs[0].height, 0.0);
        assert!((b.segs[1].y + b.segs[1].height - bottom).abs() < 1e-9);
        assert!((b.segs[2].y + b.segs[2].height - b.segs[1].y).abs() < 1e-9);
        assert!((b.segs[3].y + b.segs[3].height - b.segs[2].y).abs() < 1e-9);
        // 500 ms of 2000 is a quarter of the plot.
        assert!((bottom - b.segs[3].y - PLOT_HEIGHT / 4.0).abs() < 1e-9);
        assert!(chart.bars[0].x < chart.bars[1].x);
        assert!(b.width <= MAX_BAR);
    }

    #[test]
    fn the_callers_speech_to_text_sits_under_the_reply_it_delayed() {
        let mut caller = t(Role::User, 2.0, None);
        caller.stt_ms = Some(250);
        let mut reply = t(Role::Assistant, 3.0, Some(300));
        reply.interrupted = true;
        let turns = [t(Role::Assistant, 0.0, Some(300)), caller, reply];
        let chart = bars(&turns, 800);
        let (first, second) = (&chart.bars[0], &chart.bars[1]);
        assert_eq!((first.stt, first.interrupted), (0, false));
        assert_eq!((second.stt, second.interrupted), (250, true));
        // The STT segment from the bottom, the LLM on top of it; the bar is 250 ms taller.
        let bottom = MARGIN_TOP + PLOT_HEIGHT;
        assert!((second.segs[0].y + second.segs[0].height - bottom).abs() < 1e-9);
        assert!((second.segs[1].y + second.segs[1].height - second.segs[0].y).abs() < 1e-9);
        let tall = |b: &Bar| bottom - b.segs[3].y;
        let per_ms = PLOT_HEIGHT / f64::from(chart.max_ms);
        assert!((tall(second) - tall(first) - 250.0 * per_ms).abs() < 1e-9);
    }

    #[test]
    fn the_scale_always_shows_the_budget_and_long_calls_scroll() {
        let turns: Vec<PublicTurn> = (0..2500)
            .map(|i| t(Role::Assistant, f64::from(i), Some(100)))
            .collect();
        let chart = bars(&turns, 1500);
        assert_eq!(chart.max_ms, 2000);
        assert!(chart.width >= 2500.0 * MIN_STEP);
        assert!(y_of(1500, chart.max_ms) > MARGIN_TOP);
        assert_eq!(bars(&[], 800).bars.len(), 0);
    }

    #[test]
    fn bars_end_before_the_label_gutter_even_when_the_last_is_over_budget() {
        for n in [1, 2, 7, 40, 5000] {
            let turns: Vec<PublicTurn> = (0..n)
                .map(|i| t(Role::Assistant, f64::from(i), Some(5_000)))
                .collect();
            let chart = bars(&turns, 800);
            let last = chart.bars.last().unwrap();
            assert!(
                last.x + last.width <= chart.width - MARGIN_RIGHT,
                "{n} bars: the last ends at {} of {}",
                last.x + last.width,
                chart.width
            );
        }
    }

    #[test]
    fn a_crowded_lane_merges_neighbours_into_spans_a_unit_wide() {
        let turns: Vec<PublicTurn> = (0..5000)
            .map(|i| {
                let role = if i % 2 == 0 {
                    Role::Assistant
                } else {
                    Role::User
                };
                t(role, f64::from(i) * 3.0, (i % 2 == 0).then_some(300))
            })
            .collect();
        let spans = lane(&turns, 15_000);
        assert!(spans.len() <= LANE_WIDTH as usize + 1, "{}", spans.len());
        assert!(spans.len() > 100);
        assert_eq!(spans[0].turn, 0);
        assert_eq!(spans.last().unwrap().last, 4999);
        // Contiguous: every turn is in exactly one span.
        for w in spans.windows(2) {
            assert_eq!(w[0].last + 1, w[1].turn);
        }
        assert!(spans.iter().all(|s| s.wait == 0.0 || s.turn == s.last));
    }

    #[test]
    fn the_lane_places_turns_on_the_call_clock_and_flags_overlaps() {
        let turns = [
            t(Role::Assistant, 0.0, Some(300)),
            t(Role::User, 3.0, None),
            t(Role::Assistant, 6.0, Some(2000)),
            t(Role::User, 7.0, None),
        ];
        let spans = lane(&turns, 10);
        assert_eq!(spans.len(), 4);
        let px = LANE_WIDTH / 10.0;
        assert!((spans[1].x - 3.0 * px).abs() < 1e-9);
        assert!((spans[1].width - 3.0 * px).abs() < 1e-9);
        assert!((spans[0].wait - 0.5 * px).abs() < 1e-9);
        assert!(!spans[0].overlap);
        assert!(
            spans[2].overlap,
            "2.1 s of latency but the user spoke after 1 s"
        );
        assert!(
            (spans[3].width - 3.0 * px).abs() < 1e-9,
            "last turn runs to the end"
        );
    }
}
