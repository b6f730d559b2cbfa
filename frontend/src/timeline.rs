//! The latency timeline: a bar per assistant turn split into its phases, with a budget
//! line; below it, every turn on the call's clock.

use leptos::prelude::*;

use crate::call_data::Call;
use crate::latency;
use crate::{chart, format, markup};

#[component]
pub fn Timeline(call: Call, budget: RwSignal<u32>) -> impl IntoView {
    let chart = move || {
        let budget = budget.get();
        call.turns(|v| markup::bars_svg(&chart::bars(&v.turns, budget), budget))
    };
    let summary = move || {
        let budget = budget.get();
        call.turns(|v| latency::timeline_summary(&v.turns, budget))
    };
    let on_budget = move |ev| {
        if let Ok(v) = event_target_value(&ev).trim().parse::<u32>() {
            budget.set(v.clamp(1, 60_000));
        }
    };
    // The lane spans the call, or its turns so far while it goes on. Its duration only
    // changes at the end: the latency updates of a live call do not redraw the lane.
    let duration = Memo::new(move |_| call.state(|v| v.duration_seconds));
    let end = move || {
        let duration = duration.get();
        call.turns(|v| {
            let last = v
                .turns
                .iter()
                .filter_map(|t| t.timestamp)
                .fold(0.0, f64::max);
            format::clock((duration as f64).max(last))
        })
    };
    let lane = move || {
        let duration = duration.get();
        call.turns(|v| markup::lane_svg(&chart::lane(&v.turns, duration), &v.turns))
    };
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
                <li><span class="swatch seg-stt"></span>"Caller's speech to text"</li>
                <li><span class="swatch seg-llm"></span>"LLM first token"</li>
                <li><span class="swatch seg-handoff"></span>"Until TTS starts"</li>
                <li><span class="swatch seg-tts"></span>"TTS first audio"</li>
                <li><span class="swatch budget"></span>"Budget"</li>
            </ul>
            <p class="chart-summary" id="timeline-summary">{summary}</p>
            <div
                class="chart-scroll"
                tabindex="0"
                role="region"
                aria-label="Latency bars, scrollable"
                aria-describedby="timeline-summary"
                inner_html=chart
            ></div>
            <h3 class="lane-title">"On the call's clock"</h3>
            <p class="lane-help">
                "Each turn from when it started until the next one; the pale start of an assistant turn is the wait for its audio, red marks overlaps."
            </p>
            <div class="lane" inner_html=lane></div>
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
