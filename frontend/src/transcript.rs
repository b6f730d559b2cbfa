//! The transcript: every turn with its role, offset, latency chips and tool calls; search
//! with a match count; `#turn-N` deep links. Long calls render in chunks, one per task, so
//! the page paints at once and stays responsive while the rest fills in.

use std::sync::Arc;
use std::time::Duration;

use callscope_shared::{PublicDebugView, PublicTurn, Role};
use leptos::html;
use leptos::prelude::*;

use crate::latency::{Grade, Phases};
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

fn row(
    index: usize,
    turn: &PublicTurn,
    ranges: &[(usize, usize)],
    budget: RwSignal<u32>,
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
        view! {
            <span class="offset" title="Time since the call started">
                {format::clock(ts)}
            </span>
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

#[component]
pub fn Transcript(
    view: Arc<PublicDebugView>,
    budget: RwSignal<u32>,
    /// The turn a link points at (0-based); the transcript scrolls to and highlights it.
    target: RwSignal<Option<usize>>,
) -> impl IntoView {
    let total_turns = view.turns.len();
    let index = StoredValue::new(Index::new(view.turns.iter().map(|t| t.content.as_str())));
    let all = move || Rows {
        items: (0..total_turns).map(|i| (i, Vec::new())).collect(),
    };
    let rows = RwSignal::new(Arc::new(all()));
    let limit = RwSignal::new(CHUNK);
    let status = RwSignal::new(String::new());
    let filtered = RwSignal::new(false);
    let pending = StoredValue::new(None::<leptos::prelude::TimeoutHandle>);
    let input: NodeRef<html::Input> = NodeRef::new();

    let apply = move |query: String| {
        let found = index.with_value(|i| i.find(&query));
        let searching = !search::normalize(&query).is_empty();
        let next = if searching {
            status.set(search::summary(&found));
            Rows {
                items: found.hits.into_iter().map(|h| (h.turn, h.ranges)).collect(),
            }
        } else {
            status.set(String::new());
            all()
        };
        filtered.set(searching);
        // Out of the layout before any signal below touches the old list (see `list`).
        dom::hide_before_removal("ol.turns");
        limit.set(CHUNK);
        rows.set(Arc::new(next));
    };
    let clear = move || {
        if let Some(el) = input.get_untracked() {
            el.set_value("");
        }
        apply(String::new());
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
        if turn >= total_turns {
            return;
        }
        let pos = match position(turn) {
            Some(pos) => pos,
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

    let turns = view.clone();
    let chunk_view = move |r: &Rows, c: usize| {
        let end = ((c + 1) * CHUNK).min(r.items.len());
        r.items[c * CHUNK..end]
            .iter()
            .map(|(i, ranges)| row(*i, &turns.turns[*i], ranges, budget))
            .collect_view()
    };
    // Each set of rows (each query) gets a new list element, the old one hidden first (in
    // `apply`, before the signals change): Chromium then drops thousands of rows in ~20 ms,
    // where removing them while laid out took ~0.4 s. Within one list, chunks only ever get
    // added.
    let list = move || {
        let r = rows.get();
        let chunk_view = chunk_view.clone();
        let total = r.items.len();
        let shown = move || limit.get().min(total);
        let complete = move || (shown() >= total).to_string();
        let chunks = move || (0..shown().div_ceil(CHUNK)).collect::<Vec<_>>();
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
            </ol>
        }
    };

    view! {
        <section class="panel transcript" aria-labelledby="transcript-title">
            <div class="section-head">
                <h2 id="transcript-title">"Transcript"</h2>
                <span class="count">{format::plural(total_turns, "turn", "turns")}</span>
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
            <Show when=move || filtered.get() && rows.with(|r| r.items.is_empty())>
                <p class="empty">"No turn matches this search."</p>
            </Show>
        </section>
    }
}
