//! The transcript: every turn with its role, offset, latency chips and tool calls; search
//! with a match count; `#turn-N` deep links. Long calls render in chunks, one per task, so
//! the page paints at once and stays responsive while the rest fills in.

use std::sync::Arc;
use std::time::Duration;

use callscope_shared::{PublicTurn, Role};
use leptos::html;
use leptos::prelude::*;

use crate::call_data::Call;
use crate::latency::{Grade, Phases};
use crate::player::Playback;
use crate::search::{self, Index};
use crate::{dom, format, route};

/// Turns rendered per step.
pub const CHUNK: usize = 200;
/// Wait after the last keystroke before searching.
const SEARCH_DEBOUNCE: Duration = Duration::from_millis(150);

/// What the list shows: turn indices with their match ranges. Every query sets a new one,
/// and each gets a list element of its own.
struct Rows {
    items: Vec<(usize, Vec<(usize, usize)>)>,
}

fn latency_chips(turn: &PublicTurn, budget: RwSignal<u32>) -> Option<impl IntoView + use<>> {
    let p = Phases::of(turn)?;
    let total = p.total();
    let grade = move || Grade::of(total, budget.get());
    Some(view! {
        <span class="chips">
            <span
                class=move || format!("chip total {}", grade().class())
                title="Time until the caller hears audio (TTS start + TTS first audio)"
            >
                {format::ms(total)}
                <span class="sr-only">{move || format!(" until audio, {}", grade().words())}</span>
            </span>
            <span class="chip phase" title="LLM time to first token">
                "LLM "
                {format::opt_ms(turn.llm_ttfb_ms)}
            </span>
            <span class="chip phase" title="TTS start, from the start of the turn">
                "TTS start "
                {format::opt_ms(turn.tts_start_ms)}
            </span>
            <span class="chip phase" title="TTS time to first audio">
                "TTS "
                {format::opt_ms(turn.tts_ttfb_ms)}
            </span>
        </span>
    })
}

/// A caller turn's speech-to-text time, the first stage of the caller's wait.
fn stt_chip(turn: &PublicTurn) -> Option<impl IntoView + use<>> {
    let ms = turn.stt_ms?;
    Some(view! {
        <span class="chips">
            <span
                class="chip phase stt"
                title="Speech to text: end of the caller's speech to the final transcript"
            >
                "STT "
                {format::ms(ms)}
            </span>
        </span>
    })
}

/// The mark of an assistant turn the caller cut off.
fn interrupted_flag(turn: &PublicTurn) -> Option<impl IntoView + use<>> {
    turn.interrupted.then(|| {
        view! {
            <span class="flag interrupted" title="The caller cut this reply off">
                "Interrupted"
            </span>
        }
    })
}

fn tool_calls(turn: &PublicTurn) -> Option<impl IntoView + use<>> {
    if turn.tool_calls.is_empty() {
        return None;
    }
    let items = turn
        .tool_calls
        .iter()
        .map(|t| {
            let args = match &t.arguments {
                serde_json::Value::Null => String::new(),
                other => other.to_string(),
            };
            let result = t.result.clone().map(|r| {
                view! {
                    <span class="tool-result" title="What the tool returned">
                        <span aria-hidden="true">"→ "</span>
                        <span class="sr-only">"returned "</span>
                        {r}
                    </span>
                }
            });
            view! {
                <li>
                    <span class="tool-name">{t.name.clone()}</span>
                    <code class="tool-args">{args}</code>
                    {result}
                </li>
            }
        })
        .collect_view();
    Some(view! {
        <ul class="tools" aria-label="Tool calls">
            {items}
        </ul>
    })
}

/// The class of a turn's time when it plays the recording from there; its `data-turn`
/// holds the turn's index.
pub const SEEK: &str = "seek";

fn row(
    index: usize,
    turn: &PublicTurn,
    ranges: &[(usize, usize)],
    budget: RwSignal<u32>,
    seekable: bool,
) -> impl IntoView + use<> {
    let (role_class, role) = match turn.role {
        Role::Assistant => ("assistant", "Assistant"),
        Role::User => ("user", "Caller"),
    };
    let class = format!(
        "turn {role_class}{}{}",
        if turn.tool_calls.is_empty() {
            ""
        } else {
            " has-tools"
        },
        if turn.interrupted { " interrupted" } else { "" }
    );
    let anchor = route::turn_anchor(index);
    let content = search::pieces(&turn.content, ranges)
        .into_iter()
        .map(|p| {
            if p.mark {
                view! { <mark>{p.text}</mark> }.into_any()
            } else {
                p.text.into_any()
            }
        })
        .collect_view();
    let offset = turn.timestamp.map(|ts| {
        let clock = format::clock(ts);
        if seekable {
            let label = format!("Play the recording from {clock}");
            view! {
                <button
                    type="button"
                    class=format!("offset {SEEK}")
                    data-turn=index
                    title="Play the recording from this turn"
                    aria-label=label
                >
                    {clock}
                </button>
            }
            .into_any()
        } else {
            view! {
                <span class="offset" title="Time since the call started">
                    {clock}
                </span>
            }
            .into_any()
        }
    });
    view! {
        <li id=anchor.clone() class=class tabindex="-1">
            <div class="turn-meta">
                <a class="turn-no" href=format!("#{anchor}") title="Link to this turn">
                    {format!("#{}", index + 1)}
                </a>
                <span class="role">{role}</span>
                {offset}
                {interrupted_flag(turn)}
                {latency_chips(turn, budget)}
                {stt_chip(turn)}
            </div>
            <p class="content">{content}</p>
            {tool_calls(turn)}
        </li>
    }
}

/// A row of the list: a turn index and its match ranges.
type Row = (usize, Vec<(usize, usize)>);

/// Words for turns just added, for the polite live region.
pub fn added_words(rows: &[Row], roles: &[Role]) -> String {
    let role = |r: &Role| match r {
        Role::Assistant => "assistant",
        Role::User => "caller",
    };
    match (rows, roles) {
        ([(i, _)], [r]) => format!("New turn #{} from the {}", i + 1, role(r)),
        ([(first, _), .., (last, _)], _) => {
            format!("{} new turns, #{} to #{}", rows.len(), first + 1, last + 1)
        }
        _ => String::new(),
    }
}

#[component]
pub fn Transcript(
    call: Call,
    budget: RwSignal<u32>,
    /// The turn a link points at (0-based); the transcript scrolls to and highlights it.
    target: RwSignal<Option<usize>>,
    /// The recording's player, when the link includes the recording: each turn's time
    /// then plays it from that turn.
    #[prop(optional_no_strip)]
    playback: Option<Playback>,
) -> impl IntoView {
    let seekable = playback.is_some();
    // Turns the list knows of; a live call adds more (see the effect below).
    let known = StoredValue::new(call.peek(|v| v.turns.len()));
    let epoch = StoredValue::new(call.epoch());
    let index =
        StoredValue::new(call.peek(|v| Index::new(v.turns.iter().map(|t| t.content.as_str()))));
    let all = move || Rows {
        items: (0..known.get_value()).map(|i| (i, Vec::new())).collect(),
    };
    let rows = RwSignal::new(Arc::new(all()));
    // Rows a live call added since `rows` was set, shown after them.
    let tail = RwSignal::new(Vec::<Row>::new());
    let limit = RwSignal::new(CHUNK);
    let status = RwSignal::new(String::new());
    let filtered = RwSignal::new(false);
    // The current query and its counts (matches, turns), kept up to date as turns come.
    let query = StoredValue::new(String::new());
    let counts = StoredValue::new((0usize, 0usize));
    // New rows below the reader, and the first of them.
    let unseen = RwSignal::new(0usize);
    let first_unseen = StoredValue::new(None::<usize>);
    let announce = RwSignal::new(String::new());
    let pending = StoredValue::new(None::<leptos::prelude::TimeoutHandle>);
    let input: NodeRef<html::Input> = NodeRef::new();

    let apply = move |q: String| {
        let found = index.with_value(|i| i.find(&q));
        let searching = !search::normalize(&q).is_empty();
        let next = if searching {
            status.set(search::summary(&found));
            counts.set_value((found.count, found.hits.len()));
            Rows {
                items: found.hits.into_iter().map(|h| (h.turn, h.ranges)).collect(),
            }
        } else {
            status.set(String::new());
            all()
        };
        query.set_value(q);
        filtered.set(searching);
        unseen.set(0);
        first_unseen.set_value(None);
        // Out of the layout before any signal below touches the old list (see `list`).
        dom::hide_before_removal("ol.turns");
        limit.set(CHUNK);
        tail.set(Vec::new());
        rows.set(Arc::new(next));
    };
    let clear = move || {
        if let Some(el) = input.get_untracked() {
            el.set_value("");
        }
        apply(String::new());
    };

    // A live call's new turns: appended below what is shown (matching the search, if one
    // is typed), the reader's place kept; followed when the reader is at the end, else
    // counted for "new turns ↓".
    Effect::new(move |_| {
        let len = call.turns(|v| v.turns.len());
        if call.epoch() != epoch.get_value() {
            // Replaced, not appended to: start over, keeping the search.
            epoch.set_value(call.epoch());
            index.set_value(call.peek(|v| Index::new(v.turns.iter().map(|t| t.content.as_str()))));
            known.set_value(len);
            apply(query.get_value());
            return;
        }
        let from = known.get_value();
        if len <= from {
            return;
        }
        call.peek(|v| {
            index.update_value(|i| v.turns[from..].iter().for_each(|t| i.push(&t.content)))
        });
        known.set_value(len);
        let q = query.get_value();
        let new_rows: Vec<Row> = if search::normalize(&q).is_empty() {
            (from..len).map(|i| (i, Vec::new())).collect()
        } else {
            let more = index.with_value(|i| i.find_from(&q, from));
            counts.update_value(|(m, t)| {
                *m += more.count;
                *t += more.hits.len();
            });
            let (m, t) = counts.get_value();
            status.set(search::summary_of(m, t));
            more.hits.into_iter().map(|h| (h.turn, h.ranges)).collect()
        };
        let Some(&(first, _)) = new_rows.first() else {
            return;
        };
        let roles: Vec<Role> =
            call.peek(|v| new_rows.iter().map(|(i, _)| v.turns[*i].role).collect());
        announce.set(added_words(&new_rows, &roles));
        // Measured before the new rows are in the DOM.
        let at_end = dom::end_in_view("ol.turns");
        let added = new_rows.len();
        tail.update(|t| t.extend(new_rows));
        if at_end {
            dom::reveal_last_child("ol.turns");
        } else {
            unseen.update(|n| *n += added);
            if first_unseen.get_value().is_none() {
                first_unseen.set_value(Some(first));
            }
        }
    });
    // Reaching the end by scrolling clears "new turns ↓".
    let scrolled = window_event_listener(leptos::ev::scroll, move |_| {
        if unseen.get_untracked() > 0 && dom::end_in_view("ol.turns") {
            unseen.set(0);
            first_unseen.set_value(None);
        }
    });
    on_cleanup(move || scrolled.remove());
    let show_new = move |_| {
        if let Some(turn) = first_unseen.get_value() {
            dom::highlight(route::turn_anchor(turn), 60);
        }
        unseen.set(0);
        first_unseen.set_value(None);
    };

    // A linked turn not rendered yet: shown once its chunk is.
    let waiting = StoredValue::new(None::<usize>);
    let position =
        move |turn: usize| rows.with_untracked(|r| r.items.iter().position(|(t, _)| *t == turn));

    // Render the next chunk once the current one is on screen.
    Effect::new(move |_| {
        let len = rows.with(|r| r.items.len());
        let shown = limit.get();
        if let Some(turn) = waiting.get_value()
            && position(turn).is_some_and(|pos| pos < shown)
        {
            waiting.set_value(None);
            dom::highlight(route::turn_anchor(turn), 60);
        }
        if shown < len {
            set_timeout(move || limit.update(|l| *l += CHUNK), Duration::ZERO);
        }
    });

    // Follow `#turn-N`: make sure the turn is rendered (and not filtered out), then show it.
    Effect::new(move |_| {
        let Some(turn) = target.get() else {
            return;
        };
        if turn >= known.get_value() {
            return;
        }
        let in_tail = tail.with_untracked(|t| t.iter().any(|(i, _)| *i == turn));
        let pos = match position(turn) {
            Some(pos) => pos,
            None if in_tail => 0,
            None => {
                clear();
                turn
            }
        };
        if pos < limit.get_untracked() {
            waiting.set_value(None);
            dom::highlight(route::turn_anchor(turn), 60);
        } else {
            // Keep rendering chunk by chunk (the page stays responsive) until it is there.
            waiting.set_value(Some(turn));
        }
    });

    let on_input = move |ev| {
        let query = event_target_value(&ev);
        if let Some(h) = pending.get_value() {
            h.clear();
        }
        let handle = set_timeout_with_handle(move || apply(query), SEARCH_DEBOUNCE).ok();
        pending.set_value(handle);
    };
    let on_keydown = move |ev: leptos::ev::KeyboardEvent| {
        if ev.key() == "Escape" {
            clear();
        }
    };
    // "/" anywhere on the page (but in a text field) jumps to the search box, as on
    // GitHub or MDN.
    let slash = window_event_listener(leptos::ev::keydown, move |ev| {
        if ev.key() == "/"
            && !ev.ctrl_key()
            && !ev.meta_key()
            && !ev.alt_key()
            && !dom::typing_in_a_field()
            && let Some(el) = input.get_untracked()
        {
            ev.prevent_default();
            let _ = el.focus();
            el.select();
        }
    });
    on_cleanup(move || slash.remove());

    let chunk_view = move |r: &Rows, c: usize| {
        let end = ((c + 1) * CHUNK).min(r.items.len());
        call.peek(|v| {
            r.items[c * CHUNK..end]
                .iter()
                .filter_map(|(i, ranges)| {
                    v.turns
                        .get(*i)
                        .map(|t| row(*i, t, ranges, budget, seekable))
                })
                .collect_view()
        })
    };
    // Each set of rows (each query) gets a new list element, the old one hidden first (in
    // `apply`, before the signals change): Chromium then drops thousands of rows in ~20 ms,
    // where removing them while laid out took ~0.4 s. Within one list, chunks only ever get
    // added, then a live call's new rows after them.
    let list = move || {
        let r = rows.get();
        let total = r.items.len();
        let shown = move || limit.get().min(total);
        let complete = move || (shown() >= total).to_string();
        let chunks = move || (0..shown().div_ceil(CHUNK)).collect::<Vec<_>>();
        let added = move || {
            if shown() >= total {
                tail.get()
            } else {
                Vec::new()
            }
        };
        let added_row = move |(i, ranges): Row| {
            call.peek(|v| v.turns.get(i).map(|t| row(i, t, &ranges, budget, seekable)))
        };
        view! {
            <ol
                class="turns"
                aria-labelledby="transcript-title"
                data-total=total
                data-rendered=shown
                data-complete=complete
                aria-busy=move || if complete() == "true" { "false" } else { "true" }
            >
                <For each=chunks key=|c| *c children=move |c| chunk_view(&r, c) />
                <For each=added key=|(i, _)| *i children=added_row />
            </ol>
        }
    };

    // One listener for every turn's time (a long call has thousands): a click, or Enter or
    // Space on the focused button, plays the recording from that turn.
    let on_click = move |ev: leptos::ev::MouseEvent| {
        let Some(playback) = playback else {
            return;
        };
        let turn = ev
            .target()
            .and_then(|t| wasm_bindgen::JsCast::dyn_into::<web_sys::Element>(t).ok())
            .and_then(|el| el.closest(&format!("button.{SEEK}")).ok().flatten())
            .and_then(|button| button.get_attribute("data-turn"))
            .and_then(|i| i.parse::<usize>().ok());
        if let Some(at) = turn.and_then(|i| call.peek(|v| v.turns.get(i)?.timestamp)) {
            playback.seek(at);
        }
    };

    view! {
        <section class="panel transcript" aria-labelledby="transcript-title" on:click=on_click>
            <div class="section-head">
                <h2 id="transcript-title">"Transcript"</h2>
                <span class="count">
                    {move || call.turns(|v| format::plural(v.turns.len(), "turn", "turns"))}
                </span>
            </div>
            <div class="search" role="search">
                <label for="transcript-search" class="sr-only">
                    "Search the transcript"
                </label>
                <input
                    id="transcript-search"
                    node_ref=input
                    type="search"
                    placeholder="Search the transcript (press /)"
                    aria-keyshortcuts="/"
                    autocomplete="off"
                    on:input=on_input
                    on:keydown=on_keydown
                />
                <span class="search-status" role="status" aria-live="polite">
                    {move || status.get()}
                </span>
                <Show when=move || filtered.get()>
                    <button type="button" class="button small" on:click=move |_| clear()>
                        "Show all turns"
                    </button>
                </Show>
            </div>
            {list}
            <Show when=move || filtered.get() && rows.with(|r| r.items.is_empty()) && tail.with(Vec::is_empty)>
                <p class="empty">"No turn matches this search."</p>
            </Show>
            <p class="sr-only new-turns-status" role="status" aria-live="polite">
                {move || announce.get()}
            </p>
            <Show when=move || { unseen.get() > 0 }>
                <button type="button" class="button new-turns" on:click=show_new>
                    {move || format::plural(unseen.get(), "new turn", "new turns")}
                    <span aria-hidden="true">" ↓"</span>
                </button>
            </Show>
        </section>
    }
}
