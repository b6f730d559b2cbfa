//! p50/p90/p99/max per latency metric, and the slowest turn one click away.

use leptos::prelude::*;

use crate::call_data::Call;
use crate::latency;
use crate::{format, route};

#[component]
pub fn LatencySummary(call: Call, budget: RwSignal<u32>) -> impl IntoView {
    let rows = move || {
        call.state(|v| latency::summary_rows(&v.latency))
            .into_iter()
            .map(|row| {
                let [p50, p90, p99, max] = row.cells;
                view! {
                    <tr>
                        <th scope="row">{row.metric}</th>
                        <td>{p50}</td>
                        <td>{p90}</td>
                        <td>{p99}</td>
                        <td>{max}</td>
                    </tr>
                }
            })
            .collect_view()
    };
    // The server's pick, by time to first audio: the timeline's longest wait names it too.
    let slowest = move || {
        call.state(|v| v.latency.slowest_turn).map(|s| {
            let index = s.index as usize;
            let href = format!("#{}", route::turn_anchor(index));
            view! {
                <p class="slowest">
                    "Slowest turn: "
                    <a href=href class="slowest-link">
                        {format!("turn #{}", index + 1)}
                    </a>
                    {format!(" — audio after {}", format::ms(s.total_ms))}
                </p>
            }
        })
    };
    let over = move || {
        let budget = budget.get();
        let (all, over) = call.turns(|v| latency::over_budget(&v.turns, budget));
        format!(
            "{} of {} over the {} budget",
            format::thousands(over as u64),
            format::plural(all, "assistant turn", "assistant turns"),
            format::ms(budget)
        )
    };
    view! {
        <section class="panel latency-summary" aria-labelledby="latency-summary-title">
            <h2 id="latency-summary-title">"Latency"</h2>
            <div class="table-scroll">
                <table>
                    <caption class="sr-only">"Latency percentiles per metric"</caption>
                    <thead>
                        <tr>
                            <th scope="col">"Metric"</th>
                            <th scope="col">"p50"</th>
                            <th scope="col">"p90"</th>
                            <th scope="col">"p99"</th>
                            <th scope="col">"max"</th>
                        </tr>
                    </thead>
                    <tbody>{rows}</tbody>
                </table>
            </div>
            {slowest}
            <p class="over-budget">{over}</p>
        </section>
    }
}
