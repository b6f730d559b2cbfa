//! SVG markup of the latency charts, built as one string. A long call has thousands of
//! bars and spans; handing the browser one string to parse is far cheaper than creating
//! tens of thousands of nodes one call at a time. Pure; every text is escaped. Links are
//! plain `#turn-N` anchors, so no event handlers are needed.

use std::fmt::Write;

use callscope_shared::{PublicTurn, Role};

use crate::chart::{self, BarChart, MARGIN_LEFT, Span};
use crate::latency::Grade;
use crate::{format, route};

/// Above this many bars, bars leave the tab order (the transcript's links remain).
pub const FOCUSABLE_BARS: usize = 60;

/// Escapes text for an XML attribute or element.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// The tooltip and accessible name of a bar.
pub fn bar_title(b: &chart::Bar, budget: u32) -> String {
    let p = b.phases;
    let mut title = format!(
        "Turn #{}: audio after {} ({}) — LLM {}, hand-off {}, TTS {}",
        b.turn + 1,
        format::ms(p.total()),
        Grade::of(p.total(), budget).words(),
        format::ms(p.llm),
        format::ms(p.handoff),
        format::ms(p.tts)
    );
    if b.stt > 0 {
        title.push_str(&format!(
            "; the caller's speech to text {} before it",
            format::ms(b.stt)
        ));
    }
    if b.interrupted {
        title.push_str("; interrupted by the caller");
    }
    title
}

/// The bar chart with its axis, ticks and budget line.
pub fn bars_svg(chart: &BarChart, budget: u32) -> String {
    let (w, h) = (chart.width, chart.height);
    let right = w - chart::MARGIN_RIGHT;
    let bottom = chart::MARGIN_TOP + chart::PLOT_HEIGHT;
    let focusable = chart.bars.len() <= FOCUSABLE_BARS;
    let tab = if focusable { "0" } else { "-1" };
    let mut s = String::with_capacity(200 + chart.bars.len() * 480);
    let _ = write!(
        s,
        r#"<svg xmlns="http://www.w3.org/2000/svg" class="bars-chart" width="{w:.0}" height="{h:.0}" viewBox="0 0 {w:.0} {h:.0}" role="group" aria-label="Latency per assistant turn in milliseconds">"#
    );
    for &t in &chart.ticks {
        let y = chart::y_of(t, chart.max_ms);
        let _ = write!(
            s,
            r#"<g class="tick"><line x1="{MARGIN_LEFT}" x2="{right:.1}" y1="{y:.1}" y2="{y:.1}"></line><text x="{:.1}" y="{:.1}" text-anchor="end">{}</text></g>"#,
            MARGIN_LEFT - 6.0,
            y + 4.0,
            format::thousands(u64::from(t))
        );
    }
    let _ = write!(
        s,
        r#"<line class="axis" x1="{MARGIN_LEFT}" x2="{right:.1}" y1="{bottom:.1}" y2="{bottom:.1}"></line>"#
    );
    for b in &chart.bars {
        let grade = Grade::of(b.phases.total(), budget);
        let title = escape(&bar_title(b, budget));
        let n = b.turn + 1;
        let _ = write!(
            s,
            r##"<g class="bar {}{}" data-turn="{n}"><a href="#{}" tabindex="{tab}"><title>{title}</title>"##,
            grade.class(),
            if b.interrupted { " interrupted" } else { "" },
            route::turn_anchor(b.turn),
        );
        if focusable {
            // A full-height target, easy to hit and to show focus on.
            let _ = write!(
                s,
                r#"<rect class="hit" x="{:.2}" y="{}" width="{:.2}" height="{}"></rect>"#,
                b.x,
                chart::MARGIN_TOP,
                b.width,
                chart::PLOT_HEIGHT
            );
        }
        for (class, seg) in ["seg-stt", "seg-llm", "seg-handoff", "seg-tts"]
            .iter()
            .zip(b.segs)
        {
            if seg.height <= 0.0 {
                continue;
            }
            let _ = write!(
                s,
                r#"<rect class="{class}" x="{:.2}" y="{:.2}" width="{:.2}" height="{:.2}"></rect>"#,
                b.x, seg.y, b.width, seg.height
            );
        }
        s.push_str("</a></g>");
    }
    let y = chart::y_of(budget, chart.max_ms);
    let _ = write!(
        s,
        r#"<line class="budget" x1="{MARGIN_LEFT}" x2="{right:.1}" y1="{y:.1}" y2="{y:.1}"></line><text class="budget-label" x="{x:.1}" y="{:.1}"><tspan x="{x:.1}">budget </tspan><tspan x="{x:.1}" dy="12">{}</tspan></text></svg>"#,
        y - 2.0,
        escape(&format::ms(budget)),
        x = right + 6.0,
    );
    s
}

/// Every turn on the call's clock.
pub fn lane_svg(spans: &[Span], turns: &[PublicTurn]) -> String {
    let mut s = String::with_capacity(200 + spans.len() * 260);
    let _ = write!(
        s,
        r#"<svg xmlns="http://www.w3.org/2000/svg" class="lane-chart" viewBox="0 0 {} 28" preserveAspectRatio="none" aria-hidden="true">"#,
        chart::LANE_WIDTH
    );
    for sp in spans {
        let role = match sp.role {
            Role::Assistant => "assistant",
            Role::User => "user",
        };
        let at = turns.get(sp.turn).and_then(|t| t.timestamp).unwrap_or(0.0);
        let who = if sp.last > sp.turn {
            format!("Turns #{}–#{}", sp.turn + 1, sp.last + 1)
        } else {
            format!("Turn #{} ({role})", sp.turn + 1)
        };
        let title = format!(
            "{who} at {}{}",
            format::clock(at),
            if sp.overlap {
                ": its audio would start after the next turn began"
            } else {
                ""
            }
        );
        let _ = write!(
            s,
            r##"<g class="span {role}{}"><a href="#{}" tabindex="-1"><title>{}</title><rect x="{:.2}" y="0" width="{:.2}" height="28"></rect>"##,
            if sp.overlap { " overlap" } else { "" },
            route::turn_anchor(sp.turn),
            escape(&title),
            sp.x,
            sp.width.max(0.5)
        );
        if sp.wait > 0.0 {
            let _ = write!(
                s,
                r#"<rect class="wait" x="{:.2}" y="0" width="{:.2}" height="28"></rect>"#,
                sp.x, sp.wait
            );
        }
        s.push_str("</a></g>");
    }
    s.push_str("</svg>");
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::latency::tests::timed_turn as turn;

    #[test]
    fn escapes_markup_characters() {
        assert_eq!(
            escape(r#"<a href="x">&'"#),
            "&lt;a href=&quot;x&quot;&gt;&amp;&#39;"
        );
    }

    #[test]
    fn one_linked_bar_per_assistant_turn_and_one_budget_line() {
        let turns = [
            turn(Role::Assistant, 0.0, Some(300)),
            turn(Role::User, 2.0, None),
            turn(Role::Assistant, 5.0, Some(1300)),
        ];
        let svg = bars_svg(&chart::bars(&turns, 800), 800);
        assert_eq!(svg.matches("<g class=\"bar ").count(), 2);
        assert_eq!(svg.matches("<g class=\"bar over\"").count(), 1);
        assert!(svg.contains(r##"href="#turn-3""##));
        assert_eq!(svg.matches("class=\"budget\"").count(), 1);
        // The label sits in the gutter right of the plot, on two lines around the line.
        assert!(svg.contains(">budget </tspan>"));
        assert!(svg.contains(">800 ms</tspan>"));
        assert!(svg.contains("tabindex=\"0\""));
        assert!(svg.starts_with("<svg") && svg.ends_with("</svg>"));
    }

    #[test]
    fn many_bars_leave_the_tab_order() {
        let turns: Vec<PublicTurn> = (0..100)
            .map(|i| turn(Role::Assistant, f64::from(i), Some(200)))
            .collect();
        let svg = bars_svg(&chart::bars(&turns, 800), 800);
        assert!(!svg.contains("tabindex=\"0\""));
    }

    #[test]
    fn the_lane_has_a_span_per_turn_and_marks_overlaps() {
        let turns = [
            turn(Role::Assistant, 0.0, Some(3000)),
            turn(Role::User, 1.0, None),
        ];
        let svg = lane_svg(&chart::lane(&turns, 5), &turns);
        assert_eq!(svg.matches("<g class=\"span ").count(), 2);
        assert_eq!(svg.matches("overlap\"").count(), 1);
        assert_eq!(svg.matches("class=\"wait\"").count(), 1);
    }
}
