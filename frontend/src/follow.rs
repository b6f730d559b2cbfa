//! Follows a live call: the browser's `EventSource` on `<link>/events`, each event applied
//! to the [`Call`], the [`Link`] state kept for the badge.
//!
//! The browser reconnects a dropped stream by itself (with `Last-Event-ID`, after the
//! server's `retry`), and the page shows "Reconnecting…" meanwhile. When the browser gives
//! up instead (the server answered 204: the call ended while the page was away; 404: the
//! link no longer opens; 429 or 5xx), the page reloads the JSON view and either shows it
//! final, says the link is closed, or opens a new stream a little later.

use std::sync::Arc;
use std::time::Duration;

use leptos::prelude::*;
use leptos::task::spawn_local;
use wasm_bindgen::JsCast;
use wasm_bindgen::closure::Closure;
use web_sys::{EventSource, MessageEvent};

use crate::call_data::Call;
use crate::client::{self, LoadError};
use crate::live::{self, Closed, Link, LiveEvent};

/// The stream's named events (`callscope_shared::live_view`).
const EVENTS: [&str; 6] = [
    callscope_shared::live_view::SNAPSHOT,
    callscope_shared::live_view::TURNS,
    callscope_shared::live_view::WEBHOOKS,
    callscope_shared::live_view::CALL,
    callscope_shared::live_view::END,
    callscope_shared::live_view::CLOSED,
];
/// Wait before opening a new stream after the browser gave up on one.
const REOPEN_AFTER: Duration = Duration::from_secs(3);

/// An open `EventSource` and the handlers it calls.
struct Source {
    source: EventSource,
    _on_message: Closure<dyn FnMut(MessageEvent)>,
    _on_state: Closure<dyn FnMut(web_sys::Event)>,
}

/// Everything a handler needs; `Copy`, so handlers can open the next stream themselves.
#[derive(Clone, Copy)]
struct Follower {
    url: StoredValue<Arc<str>>,
    path: StoredValue<Arc<str>>,
    call: Call,
    link: RwSignal<Link>,
    source: StoredValue<Option<Source>, LocalStorage>,
}

/// Starts following the call at `path` (the link's page path) while the current owner
/// lives. Does nothing unless `link` says the call is live.
pub fn follow(path: &str, call: Call, link: RwSignal<Link>) {
    if !link.get_untracked().following() {
        return;
    }
    let follower = Follower {
        url: StoredValue::new(format!("{path}/events").into()),
        path: StoredValue::new(path.into()),
        call,
        link,
        source: StoredValue::new_local(None),
    };
    follower.open();
    on_cleanup(move || follower.close());
}

impl Follower {
    fn open(self) {
        self.close();
        let url = self.url.get_value();
        let Ok(source) = EventSource::new(&url) else {
            self.resync();
            return;
        };
        let on_message = Closure::<dyn FnMut(MessageEvent)>::new(move |ev: MessageEvent| {
            let data = ev.data().as_string().unwrap_or_default();
            self.on_message(&ev.type_(), &data);
        });
        let on_state = Closure::<dyn FnMut(web_sys::Event)>::new(move |ev: web_sys::Event| {
            let state = ev
                .target()
                .and_then(|t| t.dyn_into::<EventSource>().ok())
                .map(|s| s.ready_state());
            match (ev.type_().as_str(), state) {
                ("open", _) => self.link.update(|l| *l = l.on_event()),
                // CONNECTING: the browser reconnects by itself.
                (_, Some(EventSource::CONNECTING)) => self.link.update(|l| *l = l.on_drop()),
                // CLOSED: it gave up (an answer that is not a stream).
                _ => {
                    self.close();
                    self.link.update(|l| *l = l.on_drop());
                    self.resync();
                }
            }
        });
        for kind in EVENTS {
            let _ =
                source.add_event_listener_with_callback(kind, on_message.as_ref().unchecked_ref());
        }
        for kind in ["open", "error"] {
            let _ =
                source.add_event_listener_with_callback(kind, on_state.as_ref().unchecked_ref());
        }
        self.source.set_value(Some(Source {
            source,
            _on_message: on_message,
            _on_state: on_state,
        }));
    }

    /// Closes the stream, if open. Its handlers are dropped on the next task: this may run
    /// inside one of them.
    fn close(self) {
        let Some(Some(old)) = self.source.try_update_value(Option::take) else {
            return;
        };
        old.source.close();
        set_timeout(move || drop(old), Duration::ZERO);
    }

    fn on_message(self, kind: &str, data: &str) {
        if !self.link.get_untracked().following() {
            return;
        }
        match live::parse(kind, data) {
            Ok(LiveEvent::End) => {
                self.close();
                self.link.set(Link::Ended);
            }
            Ok(LiveEvent::Closed(why)) => {
                self.close();
                self.link.set(Link::Closed(why));
            }
            Ok(event) => {
                self.link.update(|l| *l = l.on_event());
                if self.call.apply(event).out_of_step {
                    // Missed something: a new stream (no cursor) starts with a snapshot.
                    self.open();
                }
            }
            Err(e) => leptos::logging::warn!("live stream: {e}"),
        }
    }

    /// Reloads the JSON view after the browser gave up on the stream.
    fn resync(self) {
        let path = self.path.get_value();
        spawn_local(async move {
            match client::fetch_call(&path).await {
                Ok(loaded) => {
                    let view = Arc::unwrap_or_clone(loaded.view);
                    let live = view.status.is_live();
                    self.call.apply(LiveEvent::Snapshot(Box::new(view)));
                    if !self.link.get_untracked().following() {
                        return;
                    }
                    if live {
                        set_timeout(
                            move || {
                                if self.link.get_untracked().following() {
                                    self.open();
                                }
                            },
                            REOPEN_AFTER,
                        );
                    } else {
                        self.link.set(Link::Ended);
                    }
                }
                Err(LoadError::NotFound) => {
                    if self.link.get_untracked().following() {
                        self.link.set(Link::Closed(Closed::Gone));
                    }
                }
                Err(_) => set_timeout(
                    move || {
                        if self.link.get_untracked().following() {
                            self.resync();
                        }
                    },
                    REOPEN_AFTER,
                ),
            }
        });
    }
}
