//! The call's header: id, badges, times, masked numbers, copy-link and download.

use callscope_shared::{CallStatus, PublicDebugView, Timestamp};
use leptos::prelude::*;
use leptos::task::spawn_local;

use crate::call_data::Call;
use crate::live::Link;
use crate::{dom, format};

/// The tone of a status badge.
pub fn status_tone(status: CallStatus) -> &'static str {
    match status {
        CallStatus::Completed => "good",
        CallStatus::Ringing | CallStatus::InProgress => "live",
        _ => "bad",
    }
}

/// A time in the viewer's zone, with UTC on hover.
fn local_time(at: Timestamp) -> impl IntoView {
    let offset = dom::utc_offset_minutes(at.unix());
    let utc = at.to_string();
    let title = format!("{} UTC", format::date_time(at.unix(), 0));
    let text = format!(
        "{} {}",
        format::date_time(at.unix(), offset),
        format::utc_offset(offset)
    );
    view! { <time datetime=utc title=title>{text}</time> }
}

fn badge(kind: &'static str, value: String, tone: &'static str) -> impl IntoView {
    view! {
        <li class=format!("badge {tone}")>
            <span class="badge-kind">{kind}</span>
            " "
            <span class="badge-value">{format::label(&value)}</span>
        </li>
    }
}

/// The words after "Call ended": its outcome and length, from the final state.
pub fn ended_sentence(view: &PublicDebugView) -> String {
    let mut out = format!(
        "The call ended ({}",
        format::label(&view.status.to_string()).to_ascii_lowercase()
    );
    if let Some(reason) = view.ended_reason {
        out.push_str(", ");
        out.push_str(&format::label(&reason.to_string()).to_ascii_lowercase());
    }
    out.push_str(&format!(
        ") after {}. This view is final.",
        format::duration(view.duration_seconds)
    ));
    out
}

/// The live call's badge: "Live" and the running duration, "Reconnecting…" while the
/// stream is down, "Call ended" (with the outcome) or "Link closed" at the end. Nothing for
/// a call that had ended before the page loaded. Only the words are a live region (polite):
/// the running clock is not announced every second.
#[component]
pub fn LiveBadge(call: Call, link: RwSignal<Link>, duration: Signal<i64>) -> impl IntoView {
    if link.get_untracked() == Link::Final {
        return None;
    }
    let note = move || match link.get() {
        Link::Reconnecting => "The live connection dropped; trying again.".to_owned(),
        Link::Ended => call.state(ended_sentence),
        Link::Closed(why) => format!("{} What is shown stays.", why.sentence()),
        _ => String::new(),
    };
    Some(view! {
        <div class=move || format!("live-status {}", link.get().class())>
            <p class="live-badge" role="status">
                <span class="live-dot" aria-hidden="true"></span>
                <span class="live-label">{move || link.get().label()}</span>
                <span class="live-note">{note}</span>
            </p>
            <Show when=move || link.get().following()>
                <span class="live-clock" title="Running duration">
                    <span class="sr-only">"Running for "</span>
                    {move || format::duration(duration.get())}
                </span>
            </Show>
        </div>
    })
}

#[component]
pub fn Header(call: Call, link: RwSignal<Link>, duration: Signal<i64>) -> impl IntoView {
    let copied = RwSignal::new(String::new());
    let copy = move |_| {
        let url = window().location().href().unwrap_or_default();
        // Share the link itself, not the turn the viewer happens to be on.
        let url = url.split('#').next().unwrap_or_default().to_owned();
        spawn_local(async move {
            let message = match dom::copy(&url).await {
                Ok(()) => "Link copied",
                Err(()) => "Could not copy: copy the address bar instead",
            };
            copied.set(message.to_owned());
        });
    };
    let file = call.peek(|v| format!("{}-debug.json", v.call_id));
    let download = move |_| {
        if dom::download(&file, &call.json(), "application/json").is_err() {
            copied.set("Download failed".to_owned());
        }
    };
    let ended = move || {
        call.state(|v| v.ended_at).map(|at| {
            view! {
                <div>
                    <dt>"Ended"</dt>
                    <dd>{local_time(at)}</dd>
                </div>
            }
        })
    };
    let badges = move || {
        call.state(|v| {
            view! {
                {badge("Status", v.status.to_string(), status_tone(v.status))}
                {v.disposition.map(|d| badge("Disposition", d.to_string(), "neutral"))}
                {v.ended_reason.map(|r| badge("Ended by", r.to_string(), "neutral"))}
            }
        })
    };
    let (call_id, started_at, from, to) = call.peek(|v| {
        (
            v.call_id.to_string(),
            v.started_at,
            v.from.clone(),
            v.to.clone(),
        )
    });
    let turns = move || call.turns(|v| format::thousands(v.turns.len() as u64));
    let interruptions = move || {
        call.turns(|v| format::thousands(v.turns.iter().filter(|t| t.interrupted).count() as u64))
    };
    view! {
        <header class="call-header panel">
            <div class="title-row">
                <h1 class="call-id">{call_id}</h1>
                <ul class="badges" aria-label="Call outcome">
                    {badges}
                </ul>
                <LiveBadge call link duration />
            </div>
            <dl class="facts">
                <div>
                    <dt>"Duration"</dt>
                    <dd class="duration">{move || format::duration(duration.get())}</dd>
                </div>
                <div>
                    <dt>"Started"</dt>
                    <dd>{local_time(started_at)}</dd>
                </div>
                {ended}
                <div>
                    <dt>"From"</dt>
                    <dd class="number from">{from}</dd>
                </div>
                <div>
                    <dt>"To"</dt>
                    <dd class="number to">{to}</dd>
                </div>
                <div>
                    <dt>"Turns"</dt>
                    <dd class="turn-count">{turns}</dd>
                </div>
                <div>
                    <dt>"Interruptions"</dt>
                    <dd class="interruptions">{interruptions}</dd>
                </div>
            </dl>
            <div class="actions">
                <button type="button" class="button copy-link" on:click=copy>
                    "Copy link"
                </button>
                <button type="button" class="button download" on:click=download>
                    "Download JSON"
                </button>
                <span class="action-status" role="status" aria-live="polite">
                    {move || copied.get()}
                </span>
            </div>
        </header>
    }
}
