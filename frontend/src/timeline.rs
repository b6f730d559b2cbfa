//! The latency timeline: a bar per assistant turn split into its phases, with a budget
//! line; below it, every turn on the call's clock.

use std::sync::Arc;

use callscope_shared::{PublicDebugView, Role};
use leptos::prelude::*;

use crate::chart::{self, BarChart, MARGIN_LEFT};
use crate::latency::{self, Grade, Phases};
use crate::{format, route};

/// Above this many bars, bars leave the tab order (the transcript's links remain).
const FOCUSABLE_BARS: usize = 60;

fn bar_title(index: usize, p: Phases, budget: u32) -> String {
    format!(
        "Turn #{}: audio after {} ({}) — LLM {}, hand-off {}, TTS {}",
        index + 1,
        format::ms(p.total()),
        Grade::of(p.total(), budget).words(),
        format::ms(p.llm),
        format::ms(p.handoff),
        format::ms(p.tts)
    )
}

fn bar_chart(chart: BarChart, budget: u32) -> impl IntoView {
    let focusable = chart.bars.len() <= FOCUSABLE_BARS;
    let (w, h) = (chart.width, chart.height);
    let bottom = chart::MARGIN_TOP + chart::PLOT_HEIGHT;
    let budget_y = chart::y_of(budget, chart.max_ms);
    let ticks = chart
        .ticks
        .iter()
        .map(|&t| {
            let y = chart::y_of(t, chart.max_ms);
            view! {
                <g class="tick">
                    <line x1=MARGIN_LEFT x2=w - 8.0 y1=y y2=y></line>
                    <text x=MARGIN_LEFT - 6.0 y=y + 4.0 text-anchor="end">
                        {format::thousands(u64::from(t))}
                    </text>
                </g>
            }
        })
        .collect_view();
    let bars = chart
        .bars
        .into_iter()
        .map(|b| {
            let grade = Grade::of(b.phases.total(), budget);
            let href = format!("#{}", route::turn_anchor(b.turn));
            let title = bar_title(b.turn, b.phases, budget);
            let label = title.clone();
            let [llm, hand, tts] = b.segs;
            view! {
                <g class=format!("bar {}", grade.class()) data-turn=b.turn + 1>
                    <a href=href tabindex=if focusable { "0" } else { "-1" } aria-label=label>
                        <title>{title}</title>
                        <rect class="hit" x=b.x y=chart::MARGIN_TOP width=b.width height=chart::PLOT_HEIGHT></rect>
                        <rect class="seg-llm" x=b.x y=llm.y width=b.width height=llm.height></rect>
                        <rect class="seg-handoff" x=b.x y=hand.y width=b.width height=hand.height></rect>
                        <rect class="seg-tts" x=b.x y=tts.y width=b.width height=tts.height></rect>
                    </a>
                </g>
            }
        })
        .collect_view();
    view! {
        <svg
            class="bars-chart"
            width=w
            height=h
            viewBox=format!("0 0 {w} {h}")
            role="group"
            aria-label="Latency per assistant turn in milliseconds"
        >
            {ticks}
            <line class="axis" x1=MARGIN_LEFT x2=w - 8.0 y1=bottom y2=bottom></line>
            {bars}
            <line class="budget" x1=MARGIN_LEFT x2=w - 8.0 y1=budget_y y2=budget_y></line>
            <text class="budget-label" x=w - 10.0 y=budget_y - 4.0 text-anchor="end">
                {format!("budget {}", format::ms(budget))}
            </text>
        </svg>
    }
}

fn lane(view: &PublicDebugView) -> impl IntoView + use<> {
    let spans = chart::lane(&view.turns, view.duration_seconds);
    let rects = spans
        .into_iter()
        .map(|s| {
            let role = match s.role {
                Role::Assistant => "assistant",
                Role::User => "user",
            };
            let class = format!("span {role}{}", if s.overlap { " overlap" } else { "" });
            let turn = &view.turns[s.turn];
            let title = format!(
                "Turn #{} ({role}) at {}{}",
                s.turn + 1,
                format::clock(turn.timestamp.unwrap_or(0.0)),
                if s.overlap {
                    ": its audio would start after the next turn began"
                } else {
                    ""
                }
            );
            let href = format!("#{}", route::turn_anchor(s.turn));
            let wait = (s.wait > 0.0).then(|| {
                view! { <rect class="wait" x=s.x y="0" width=s.wait height="28"></rect> }
            });
            view! {
                <g class=class>
                    <a href=href tabindex="-1">
                        <title>{title}</title>
                        <rect x=s.x y="0" width=s.width.max(0.5) height="28"></rect>
                        {wait}
                    </a>
                </g>
            }
        })
        .collect_view();
    view! {
        <svg
            class="lane-chart"
            viewBox=format!("0 0 {} 28", chart::LANE_WIDTH)
            preserveAspectRatio="none"
            aria-hidden="true"
        >
            {rects}
        </svg>
    }
}

#[component]
pub fn Timeline(view: Arc<PublicDebugView>, budget: RwSignal<u32>) -> impl IntoView {
    let for_chart = view.clone();
    let chart = move || {
        let budget = budget.get();
        bar_chart(chart::bars(&for_chart.turns, budget), budget)
    };
    let for_text = view.clone();
    let summary = move || {
        let budget = budget.get();
        let (all, over) = latency::over_budget(&for_text.turns, budget);
        let slowest = for_text
            .turns
            .iter()
            .enumerate()
            .filter_map(|(i, t)| Phases::of(t).map(|p| (i, p.total())))
            .max_by_key(|&(_, total)| total);
        let slowest = slowest
            .map(|(i, total)| {
                format!(
                    " The longest wait for audio is turn #{}, {}.",
                    i + 1,
                    format::ms(total)
                )
            })
            .unwrap_or_default();
        format!(
            "{} with latency; {} over the {} budget.{slowest}",
            format::plural(all, "assistant turn", "assistant turns"),
            format::thousands(over as u64),
            format::ms(budget)
        )
    };
    let on_budget = move |ev| {
        if let Ok(v) = event_target_value(&ev).trim().parse::<u32>() {
            budget.set(v.clamp(1, 60_000));
        }
    };
    let end = format::clock(view.duration_seconds as f64);
    view! {
        <section class="panel timeline" aria-labelledby="timeline-title">
            <div class="section-head">
                <h2 id="timeline-title">"Latency timeline"</h2>
                <label class="budget-input">
                    "Budget (ms) "
                    <input
                        type="number"
                        min="1"
                        max="60000"
                        step="50"
                        inputmode="numeric"
                        prop:value=move || budget.get().to_string()
                        on:change=on_budget
                    />
                </label>
            </div>
            <ul class="legend" aria-label="Legend">
                <li><span class="swatch seg-llm"></span>"LLM first token"</li>
                <li><span class="swatch seg-handoff"></span>"Until TTS starts"</li>
                <li><span class="swatch seg-tts"></span>"TTS first audio"</li>
                <li><span class="swatch budget"></span>"Budget"</li>
            </ul>
            <p class="chart-summary" id="timeline-summary">{summary}</p>
            <div class="chart-scroll" tabindex="0" role="region" aria-label="Latency bars, scrollable" aria-describedby="timeline-summary">
                {chart}
            </div>
            <h3 class="lane-title">"On the call's clock"</h3>
            <p class="lane-help">
                "Each turn from when it started until the next one; the pale start of an assistant turn is the wait for its audio, red marks overlaps."
            </p>
            <div class="lane">{lane(&view)}</div>
            <div class="lane-axis" aria-hidden="true">
                <span>"00:00"</span>
                <span>{end}</span>
            </div>
            <ul class="legend" aria-label="Lane legend">
                <li><span class="swatch assistant"></span>"Assistant"</li>
                <li><span class="swatch user"></span>"Caller"</li>
            </ul>
        </section>
    }
}
