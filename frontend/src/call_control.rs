//! Call control as it happened: gathers (the prompt, then the digits or why none came),
//! transfer steps (masked destination, failure reason) and an end asked for through the
//! API, oldest first, on the call's clock. Shown only when there is some.

use callscope_shared::{PublicCallEvent, Timestamp, call_events};
use leptos::prelude::*;

use crate::call_data::Call;
use crate::format;

/// What an event is called on the page, and the words before its detail.
pub fn describe(event: &str) -> (&'static str, &'static str) {
    match event {
        call_events::GATHER_STARTED => ("Gather started", "Prompt: "),
        call_events::GATHER_COMPLETED => ("Gather completed", "Result: "),
        call_events::TRANSFER_INITIATED => ("Transfer started", "To "),
        call_events::TRANSFER_COMPLETED => ("Transfer completed", "To "),
        call_events::TRANSFER_FAILED => ("Transfer failed", "Reason: "),
        call_events::END_REQUESTED => ("End requested through the API", ""),
        _ => ("", ""),
    }
}

/// The tone of an event's marker.
fn tone(event: &str) -> &'static str {
    match event {
        call_events::TRANSFER_FAILED => "bad",
        call_events::GATHER_COMPLETED | call_events::TRANSFER_COMPLETED => "good",
        _ => "neutral",
    }
}

fn item(e: &PublicCallEvent, started_at: Timestamp) -> impl IntoView + use<> {
    let (name, lead) = describe(&e.event);
    let name = if name.is_empty() {
        format::label(&e.event)
    } else {
        name.to_owned()
    };
    let detail = e.detail.clone().map(|d| {
        view! {
            <span class="control-detail">
                {lead}
                <q>{d}</q>
            </span>
        }
    });
    view! {
        <li class=format!("control-event {}", tone(&e.event)) data-event=e.event.clone()>
            <span class="offset" title="Time since the call started">
                {format::signed_clock(e.at.unix() - started_at.unix())}
            </span>
            <span class="control-name">{name}</span>
            {detail}
        </li>
    }
}

#[component]
pub fn CallControl(call: Call) -> impl IntoView {
    let items = move || {
        call.state(|v| {
            v.events
                .iter()
                .map(|e| item(e, v.started_at))
                .collect_view()
        })
    };
    view! {
        <Show when=move || call.state(|v| !v.events.is_empty())>
            <section class="panel call-control" aria-labelledby="call-control-title">
                <div class="section-head">
                    <h2 id="call-control-title">"Call control"</h2>
                    <span class="count">
                        {move || call.state(|v| format::plural(v.events.len(), "event", "events"))}
                    </span>
                </div>
                <ol class="control-events">{items}</ol>
            </section>
        </Show>
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_known_event_has_words() {
        for e in [
            call_events::GATHER_STARTED,
            call_events::GATHER_COMPLETED,
            call_events::TRANSFER_INITIATED,
            call_events::TRANSFER_COMPLETED,
            call_events::TRANSFER_FAILED,
            call_events::END_REQUESTED,
        ] {
            assert!(!describe(e).0.is_empty(), "{e}");
        }
        assert_eq!(describe("something.new"), ("", ""));
    }
}
