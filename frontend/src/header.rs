//! The call's header: id, badges, times, masked numbers, copy-link and download.

use std::sync::Arc;

use callscope_shared::{CallStatus, PublicDebugView, Timestamp};
use leptos::prelude::*;
use leptos::task::spawn_local;

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

#[component]
pub fn Header(view: Arc<PublicDebugView>, raw: Arc<str>) -> impl IntoView {
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
    let file = format!("{}-debug.json", view.call_id);
    let download = move |_| {
        if dom::download(&file, &raw, "application/json").is_err() {
            copied.set("Download failed".to_owned());
        }
    };
    let ended = view.ended_at.map(|at| {
        view! {
            <div>
                <dt>"Ended"</dt>
                <dd>{local_time(at)}</dd>
            </div>
        }
    });
    view! {
        <header class="call-header panel">
            <div class="title-row">
                <h1 class="call-id">{view.call_id.to_string()}</h1>
                <ul class="badges" aria-label="Call outcome">
                    {badge("Status", view.status.to_string(), status_tone(view.status))}
                    {view.disposition.map(|d| badge("Disposition", d.to_string(), "neutral"))}
                    {view.ended_reason.map(|r| badge("Ended by", r.to_string(), "neutral"))}
                </ul>
            </div>
            <dl class="facts">
                <div>
                    <dt>"Duration"</dt>
                    <dd class="duration">{format::duration(view.duration_seconds)}</dd>
                </div>
                <div>
                    <dt>"Started"</dt>
                    <dd>{local_time(view.started_at)}</dd>
                </div>
                {ended}
                <div>
                    <dt>"From"</dt>
                    <dd class="number from">{view.from.clone()}</dd>
                </div>
                <div>
                    <dt>"To"</dt>
                    <dd class="number to">{view.to.clone()}</dd>
                </div>
                <div>
                    <dt>"Turns"</dt>
                    <dd>{format::thousands(view.turns.len() as u64)}</dd>
                </div>
                <div>
                    <dt>"Interruptions"</dt>
                    <dd class="interruptions">
                        {format::thousands(view.turns.iter().filter(|t| t.interrupted).count() as u64)}
                    </dd>
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
