//! The root component: loads the call once, then shows it (or why it cannot).

use std::sync::Arc;

use callscope_shared::link::{DEBUG_PATH_PREFIX, TOKEN_LEN};
use leptos::prelude::*;
use leptos::task::spawn_local;

use crate::call_control::CallControl;
use crate::call_data::Call;
use crate::client::{self, LoadError, Loaded};
use crate::header::Header;
use crate::latency::DEFAULT_BUDGET_MS;
use crate::latency_summary::LatencySummary;
use crate::live::{self, Link};
use crate::player::{Playback, RecordingPlayer};
use crate::timeline::Timeline;
use crate::transcript::Transcript;
use crate::webhooks::Webhooks;
use crate::{dom, follow, route};

/// Where loading the call is.
#[derive(Debug, Clone)]
pub enum LoadState {
    Loading,
    Ready(Loaded),
    Failed(LoadError),
}

/// The whole viewer for the page at `path` (the location's pathname).
#[component]
pub fn App(path: String) -> impl IntoView {
    let body = match route::debug_token(&path) {
        Some(_) => view! { <CallPage path=path.clone() /> }.into_any(),
        None => view! {
            <section class="panel state not-a-link">
                <h1>"Not a call debug link"</h1>
                <p>
                    {format!(
                        "Debug links look like {DEBUG_PATH_PREFIX} followed by a {TOKEN_LEN}-character token."
                    )}
                </p>
            </section>
        }
        .into_any(),
    };
    view! {
        <div class="site-bar">
            <span class="brand">"callscope"</span>
            <span class="brand-sub">"call debug view"</span>
        </div>
        {body}
    }
}

/// Loads the call at `path` (exactly once, again only on "Retry").
#[component]
fn CallPage(path: String) -> impl IntoView {
    let state = RwSignal::new(LoadState::Loading);
    let path: Arc<str> = path.into();
    let page = path.clone();
    let load = move || {
        state.set(LoadState::Loading);
        let path = path.clone();
        spawn_local(async move {
            let next = match client::fetch_call(&path).await {
                Ok(loaded) => LoadState::Ready(loaded),
                Err(e) => LoadState::Failed(e),
            };
            state.set(next);
        });
    };
    load();
    let retry = Callback::new(move |()| load());
    let path = page;
    move || match state.get() {
        LoadState::Loading => skeleton().into_any(),
        LoadState::Ready(loaded) => view! { <CallView loaded path=path.clone() /> }.into_any(),
        LoadState::Failed(e) => failure(e, retry).into_any(),
    }
}

fn skeleton() -> impl IntoView {
    view! {
        <div class="skeleton" aria-busy="true">
            <p class="sr-only" role="status">"Loading call…"</p>
            <div class="panel sk-header">
                <div class="sk-line wide"></div>
                <div class="sk-line"></div>
            </div>
            <div class="panel">
                <div class="sk-block"></div>
            </div>
            <div class="panel">
                <div class="sk-line"></div>
                <div class="sk-line wide"></div>
                <div class="sk-line"></div>
                <div class="sk-line wide"></div>
            </div>
        </div>
    }
}

fn failure(error: LoadError, retry: Callback<()>) -> impl IntoView {
    let (class, title, detail, can_retry) = match error {
        LoadError::NotFound => (
            "not-found",
            "This link is invalid, expired or revoked",
            "Ask whoever shared it for a new debug link.".to_owned(),
            false,
        ),
        LoadError::RateLimited { retry_after } => (
            "rate-limited",
            "Too many requests",
            match retry_after {
                Some(s) => {
                    format!("This address opened too many unknown links. Try again in {s} s.")
                }
                None => "This address opened too many unknown links. Try again shortly.".to_owned(),
            },
            true,
        ),
        LoadError::Network(e) => (
            "network-error",
            "The server could not be reached",
            format!("Check your connection and try again. ({e})"),
            true,
        ),
        LoadError::Server(e) => (
            "server-error",
            "The call could not be loaded",
            format!("Something went wrong on the server: {e}."),
            true,
        ),
    };
    view! {
        <section class=format!("panel state {class}") role="alert">
            <h1>{title}</h1>
            <p>{detail}</p>
            {can_retry
                .then(|| {
                    view! {
                        <button type="button" class="button retry" on:click=move |_| retry.run(())>
                            "Retry"
                        </button>
                    }
                })}
        </section>
    }
}

/// The loaded call, every part of it; followed live while it goes on.
#[component]
fn CallView(loaded: Loaded, path: Arc<str>) -> impl IntoView {
    let budget = RwSignal::new(DEFAULT_BUDGET_MS);
    let target = RwSignal::new(route::turn_from_hash(&dom::location_hash()));
    let handle = window_event_listener(leptos::ev::hashchange, move |_| {
        target.set(route::turn_from_hash(&dom::location_hash()));
    });
    on_cleanup(move || handle.remove());
    let call = Call::new(Arc::unwrap_or_clone(loaded.view), Some(loaded.raw));
    let link = RwSignal::new(call.peek(Link::for_loaded));
    let duration = running_duration(call, link);
    follow::follow(&path, call, link);
    let call_id = call.peek(|v| v.call_id.to_string());
    let recording = call.peek(|v| v.recording.clone());
    let playback = recording.as_ref().map(Playback::new);
    let player = recording.zip(playback).map(|(recording, playback)| {
        view! { <RecordingPlayer recording playback call path=path.clone() /> }
    });
    dom::mark_painted();
    view! {
        <article class="call" data-call-id=call_id data-link=move || link.get().class()>
            <Header call link duration />
            <LatencySummary call budget />
            <Timeline call budget />
            {player}
            <Transcript call budget target playback />
            <CallControl call />
            <Webhooks call />
        </article>
    }
}

/// The call's duration: counted up on the viewer's clock once a second while the call is
/// followed live, else the server's.
fn running_duration(call: Call, link: RwSignal<Link>) -> Signal<i64> {
    let now = RwSignal::new(dom::now_unix());
    if link.get_untracked().following() {
        let tick = StoredValue::new(None::<IntervalHandle>);
        let handle = set_interval_with_handle(
            move || {
                if link.get_untracked().following() {
                    now.set(dom::now_unix());
                } else if let Some(h) = tick.get_value() {
                    h.clear();
                    tick.set_value(None);
                }
            },
            std::time::Duration::from_secs(1),
        );
        tick.set_value(handle.ok());
        on_cleanup(move || {
            if let Some(h) = tick.try_get_value().flatten() {
                h.clear();
            }
        });
    }
    Signal::derive(move || {
        if link.get().following() {
            let now = now.get();
            call.state(|v| live::running_seconds(v, now))
        } else {
            call.state(|v| v.duration_seconds)
        }
    })
}
