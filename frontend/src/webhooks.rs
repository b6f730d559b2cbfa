//! Webhook delivery history: grouped by event, each retry chain drawn as one linked list.

use leptos::prelude::*;

use crate::call_data::Call;
use crate::format;
use crate::history::{self, Attempt, Chain};

fn attempt_row(a: Attempt) -> impl IntoView {
    let (class, result) = if a.success {
        ("attempt ok", "Delivered")
    } else {
        ("attempt failed", "Failed")
    };
    let code = a
        .status_code
        .map_or_else(|| "no response".to_owned(), |c| c.to_string());
    let error = a.error.map(|e| view! { <span class="error">{e}</span> });
    view! {
        <li class=class>
            <span class="attempt-no">{format!("Attempt {}", a.attempt)}</span>
            <span class="code">{code}</span>
            <span class="result">{result}</span>
            <span class="when" title="Time since the call started">
                {format::signed_clock(a.offset_s)}
            </span>
            {error}
        </li>
    }
}

fn chain_view(chain: Chain) -> impl IntoView {
    let delivered = chain.delivered();
    let retried = chain.attempts.len() > 1;
    let class = format!(
        "chain{}{}",
        if retried { " retried" } else { "" },
        if delivered { "" } else { " undelivered" }
    );
    let label = format!(
        "Delivery to {}: {} {}",
        chain.url,
        format::plural(chain.attempts.len(), "attempt", "attempts"),
        if delivered {
            "— delivered"
        } else {
            "— not delivered"
        }
    );
    let rows = chain.attempts.into_iter().map(attempt_row).collect_view();
    view! {
        <li class=class>
            <p class="chain-head">
                <span class="endpoint">{chain.url}</span>
                {retried.then_some(view! { <span class="retry-tag">"retried"</span> })}
            </p>
            <ol class="attempts" aria-label=label>
                {rows}
            </ol>
        </li>
    }
}

#[component]
pub fn Webhooks(call: Call) -> impl IntoView {
    let body = move || {
        let groups = call.webhooks(|v| history::group(&v.webhooks, v.started_at));
        if groups.is_empty() {
            view! { <p class="empty">"No webhook deliveries were recorded for this call."</p> }
                .into_any()
        } else {
            groups
                .into_iter()
                .map(|g| {
                    let chains = g.chains.into_iter().map(chain_view).collect_view();
                    view! {
                        <div class="event-group">
                            <h3 class="event">{g.event}</h3>
                            <ul class="chains">{chains}</ul>
                        </div>
                    }
                })
                .collect_view()
                .into_any()
        }
    };
    view! {
        <section class="panel webhooks" aria-labelledby="webhooks-title">
            <div class="section-head">
                <h2 id="webhooks-title">"Webhook deliveries"</h2>
                <span class="count">
                    {move || call.webhooks(|v| format::plural(v.webhooks.len(), "attempt", "attempts"))}
                </span>
            </div>
            {body}
        </section>
    }
}
