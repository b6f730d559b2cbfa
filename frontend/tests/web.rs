//! Runs in a real browser: `wasm-bindgen-test-runner` with chromedriver (see README).
//! The pure pieces again, compiled to wasm, and the components mounted on a fixture call.
#![cfg(target_arch = "wasm32")]

use std::sync::Arc;

use callscope_shared::PublicDebugView;
use callscope_shared::link::DEBUG_PATH_PREFIX;
use callscope_shared::live_view::TurnsAppended;
use callscope_viewer::call_control::CallControl;
use callscope_viewer::call_data::Call;
use callscope_viewer::header::Header;
use callscope_viewer::latency::{self, Grade, Phases};
use callscope_viewer::latency_summary::LatencySummary;
use callscope_viewer::live::{Closed, Link, LiveEvent};
use callscope_viewer::timeline::Timeline;
use callscope_viewer::transcript::Transcript;
use callscope_viewer::webhooks::Webhooks;
use callscope_viewer::{app::App, chart, format, markup, route, search};
use leptos::prelude::*;
use wasm_bindgen::JsCast;
use wasm_bindgen_test::*;

wasm_bindgen_test_configure!(run_in_browser);

const TOKEN: &str = "Zm9vYmFyLWJhei1xdXV4LWNhbGxzY29wZS10b2tlbkA";

fn fixture() -> Arc<PublicDebugView> {
    let json = serde_json::json!({
        "call_id": "call_00000042",
        "status": "completed",
        "duration_seconds": 30,
        "from": "+316*****678",
        "to": "+318*****345",
        "started_at": "2026-01-15T10:00:00Z",
        "ended_at": "2026-01-15T10:00:30Z",
        "disposition": "answered",
        "ended_reason": "caller-hangup",
        "turns": [
            {"role": "assistant", "content": "Hello, how can I help?", "timestamp": 0.0,
             "llm_ttfb_ms": 300, "tts_start_ms": 420, "tts_ttfb_ms": 110},
            {"role": "user", "content": "I need to file a claim", "timestamp": 3.0, "stt_ms": 240},
            {"role": "assistant", "content": "Sure, a claim. Your policy number?", "timestamp": 6.5,
             "llm_ttfb_ms": 900, "tts_start_ms": 1050, "tts_ttfb_ms": 120, "interrupted": true,
             "tool_calls": [{"name": "lookup_policy", "arguments": {"q": "x"}, "result": "found"}]},
            {"role": "user", "content": "It is A-12", "timestamp": 10.0}
        ],
        "latency": {
            "llm_ttfb_ms": {"p50": 300, "p90": 900, "p99": 900, "max": 900},
            "tts_start_ms": {"p50": 420, "p90": 1050, "p99": 1050, "max": 1050},
            "tts_ttfb_ms": {"p50": 110, "p90": 120, "p99": 120, "max": 120},
            "slowest_turn": {"index": 2, "total_ms": 1170}
        },
        "webhooks": [
            {"event": "call.started", "url": "https://hooks.example", "attempt": 1,
             "status_code": 200, "success": true, "error": null, "created_at": "2026-01-15T10:00:00Z"},
            {"event": "call.ended", "url": "https://hooks.example", "attempt": 1,
             "status_code": 503, "success": false, "error": "HTTP 503", "created_at": "2026-01-15T10:00:31Z"},
            {"event": "call.ended", "url": "https://hooks.example", "attempt": 2,
             "status_code": 200, "success": true, "error": null, "created_at": "2026-01-15T10:00:41Z"}
        ]
    });
    Arc::new(serde_json::from_value(json).expect("fixture parses"))
}

fn mount(f: impl FnOnce() -> AnyView + 'static) -> web_sys::HtmlElement {
    let root: web_sys::HtmlElement = document()
        .create_element("div")
        .unwrap()
        .dyn_into()
        .unwrap();
    document().body().unwrap().append_child(&root).unwrap();
    leptos::mount::mount_to(root.clone(), f).forget();
    root
}

fn count(root: &web_sys::HtmlElement, selector: &str) -> u32 {
    root.query_selector_all(selector).unwrap().length()
}

/// Lets effects and timers run.
async fn settle() {
    for _ in 0..5 {
        sleep(20).await;
    }
}

async fn sleep(ms: i32) {
    let promise = web_sys::js_sys::Promise::new(&mut |resolve, _| {
        window()
            .set_timeout_with_callback_and_timeout_and_arguments_0(&resolve, ms)
            .unwrap();
    });
    wasm_bindgen_futures::JsFuture::from(promise).await.unwrap();
}

fn text(root: &web_sys::HtmlElement, selector: &str) -> String {
    root.query_selector(selector)
        .unwrap()
        .unwrap_or_else(|| panic!("{selector}"))
        .text_content()
        .unwrap_or_default()
}

/// Types `value` into the search box (replacing it) and waits out the debounce.
async fn type_into(input: &web_sys::HtmlInputElement, value: &str) {
    input.set_value(value);
    let init = web_sys::EventInit::new();
    init.set_bubbles(true);
    let event = web_sys::Event::new_with_event_init_dict("input", &init).unwrap();
    input.dispatch_event(&event).unwrap();
    sleep(250).await;
}

/// The fixture as a call still in progress.
fn live_fixture() -> callscope_shared::PublicDebugView {
    let mut view = (*fixture()).clone();
    view.status = callscope_shared::CallStatus::InProgress;
    view.ended_at = None;
    view.ended_reason = None;
    view.disposition = None;
    view
}

fn caller_turn(content: &str, at: f64) -> callscope_shared::PublicTurn {
    serde_json::from_value(serde_json::json!({
        "role": "user", "content": content, "timestamp": at
    }))
    .unwrap()
}

#[wasm_bindgen_test]
fn pure_formatting_runs_the_same_in_wasm() {
    assert_eq!(format::clock(127.0), "02:07");
    assert_eq!(format::duration(127), "2m 07s");
    assert_eq!(format::ms(1204), "1,204 ms");
    assert_eq!(format::date_time(1_768_471_200, 60), "2026-01-15 11:00:00");
    assert_eq!(route::turn_from_hash("#turn-3"), Some(2));
    assert_eq!(
        route::debug_token(&format!("{DEBUG_PATH_PREFIX}{TOKEN}")),
        Some(TOKEN)
    );
}

#[wasm_bindgen_test]
fn percentile_display_and_grades_in_wasm() {
    let view = fixture();
    let rows = latency::summary_rows(&view.latency);
    assert_eq!(rows[0].cells, ["300 ms", "900 ms", "900 ms", "900 ms"]);
    assert_eq!(rows[1].cells[3], "1,050 ms");
    let p = Phases::of(&view.turns[2]).unwrap();
    assert_eq!(p.total(), 1170);
    assert_eq!(Grade::of(p.total(), 800), Grade::Over);
    assert_eq!(latency::over_budget(&view.turns, 800), (2, 1));
}

#[wasm_bindgen_test]
fn search_counts_matches_in_wasm() {
    let view = fixture();
    let index = search::Index::new(view.turns.iter().map(|t| t.content.as_str()));
    let found = index.find("CLAIM");
    assert_eq!(found.count, 2);
    assert_eq!(found.hits.len(), 2);
    assert_eq!(search::summary(&found), "2 matches in 2 turns");
}

#[wasm_bindgen_test]
fn chart_geometry_in_wasm() {
    let view = fixture();
    let chart = chart::bars(&view.turns, 800);
    assert_eq!(chart.bars.len(), 2);
    assert_eq!(chart.max_ms, 2000);
    let lane = chart::lane(&view.turns, view.duration_seconds);
    assert_eq!(lane.len(), 4);
    let svg = markup::bars_svg(&chart, 800);
    assert_eq!(svg.matches("<g class=\"bar ").count(), 2);
    assert_eq!(
        markup::lane_svg(&lane, &view.turns)
            .matches("<g class=\"span ")
            .count(),
        4
    );
}

#[wasm_bindgen_test]
fn app_says_so_when_the_path_is_not_a_debug_link() {
    let root = mount(|| view! { <App path="/somewhere/else".to_owned() /> }.into_any());
    assert_eq!(count(&root, "section.not-a-link"), 1);
    assert_eq!(count(&root, ".skeleton"), 0);
}

#[wasm_bindgen_test]
fn app_shows_a_skeleton_while_loading_a_debug_link() {
    let root = mount(|| view! { <App path=format!("{DEBUG_PATH_PREFIX}{TOKEN}") /> }.into_any());
    assert_eq!(count(&root, ".skeleton[aria-busy='true']"), 1);
    assert_eq!(count(&root, "section.not-a-link"), 0);
}

#[wasm_bindgen_test]
async fn timeline_draws_one_bar_per_assistant_turn_and_marks_the_slow_one() {
    let view = fixture();
    let budget = RwSignal::new(800);
    let root = mount(move || view! { <Timeline call=Call::fixed(&view) budget /> }.into_any());
    assert_eq!(count(&root, "svg.bars-chart g.bar"), 2);
    assert_eq!(count(&root, "svg.bars-chart g.bar.over"), 1);
    assert_eq!(count(&root, "svg.bars-chart line.budget"), 1);
    assert_eq!(count(&root, "svg.lane-chart g.span"), 4);
    let link = root
        .query_selector("g.bar.over a")
        .unwrap()
        .unwrap()
        .get_attribute("href");
    assert_eq!(link.as_deref(), Some("#turn-3"));
    budget.set(2000);
    settle().await;
    assert_eq!(count(&root, "svg.bars-chart g.bar.over"), 0);
}

#[wasm_bindgen_test]
fn the_summary_and_the_timeline_name_the_same_slowest_turn() {
    let view = fixture();
    let budget = RwSignal::new(800);
    let root = mount(move || {
        let call = Call::fixed(&view);
        view! {
            <LatencySummary call budget />
            <Timeline call budget />
        }
        .into_any()
    });
    let text = |selector: &str| {
        root.query_selector(selector)
            .unwrap()
            .unwrap_or_else(|| panic!("{selector}"))
            .text_content()
            .unwrap()
    };
    assert_eq!(
        text(".slowest"),
        "Slowest turn: turn #3 — audio after 1,170 ms"
    );
    assert!(
        text("#timeline-summary").ends_with("The longest wait for audio is turn #3, 1,170 ms."),
        "{}",
        text("#timeline-summary")
    );
}

#[wasm_bindgen_test]
async fn transcript_renders_every_turn_with_anchors_chips_and_tools() {
    let view = fixture();
    let budget = RwSignal::new(800);
    let target = RwSignal::new(None);
    let root =
        mount(move || view! { <Transcript call=Call::fixed(&view) budget target /> }.into_any());
    settle().await;
    assert_eq!(count(&root, "li.turn"), 4);
    assert_eq!(count(&root, "li#turn-3.assistant .chip.total.over"), 1);
    assert_eq!(count(&root, "li#turn-1 .chip.total.ok"), 1);
    assert_eq!(count(&root, "li#turn-3 .tools li"), 1);
    assert_eq!(count(&root, "li#turn-3 .tools li .tool-result"), 1);
    // The interruption and the caller's speech-to-text time, on their turns only.
    assert_eq!(count(&root, "li.turn.interrupted"), 1);
    assert_eq!(count(&root, "li#turn-3.interrupted .flag.interrupted"), 1);
    assert_eq!(count(&root, ".chip.stt"), 1);
    assert_eq!(count(&root, "li#turn-2 .chip.stt"), 1);
    assert_eq!(count(&root, "ol.turns[data-complete='true']"), 1);
    target.set(Some(1));
    settle().await;
    assert_eq!(count(&root, "li#turn-2.highlighted"), 1);
}

#[wasm_bindgen_test]
async fn the_header_counts_interruptions() {
    let view = fixture();
    let root = mount(move || {
        let call = Call::fixed(&view);
        let link = RwSignal::new(Link::Final);
        let duration = Signal::derive(|| 30);
        view! { <Header call link duration /> }.into_any()
    });
    settle().await;
    let counted = root
        .query_selector("dd.interruptions")
        .unwrap()
        .expect("the header has an interruptions count")
        .text_content()
        .unwrap_or_default();
    assert_eq!(counted.trim(), "1");
}

#[wasm_bindgen_test]
fn webhooks_group_by_event_and_link_retries() {
    let view = fixture();
    let root = mount(move || view! { <Webhooks call=Call::fixed(&view) /> }.into_any());
    assert_eq!(count(&root, ".event-group"), 2);
    assert_eq!(count(&root, "li.attempt"), 3);
    assert_eq!(count(&root, "li.chain.retried li.attempt"), 2);
}

#[wasm_bindgen_test]
async fn a_live_turn_is_appended_in_place_and_the_search_is_kept() {
    let call = Call::new(live_fixture(), None);
    let budget = RwSignal::new(800);
    let target = RwSignal::new(None);
    let root = mount(move || view! { <Transcript call budget target /> }.into_any());
    settle().await;
    assert_eq!(count(&root, "li.turn"), 4);

    // Searching, then a matching and a non-matching turn arrive.
    let input: web_sys::HtmlInputElement = root
        .query_selector("#transcript-search")
        .unwrap()
        .unwrap()
        .dyn_into()
        .unwrap();
    type_into(&input, "claim").await;
    assert_eq!(count(&root, "li.turn"), 2);
    assert_eq!(text(&root, ".search-status"), "2 matches in 2 turns");
    let applied = call.apply(LiveEvent::Turns(TurnsAppended {
        from: 4,
        turns: vec![
            caller_turn("Another claim", 12.0),
            caller_turn("Thanks", 14.0),
        ],
    }));
    assert_eq!(applied.turns_from, Some(4));
    settle().await;
    assert_eq!(input.value(), "claim", "the query stays");
    assert_eq!(count(&root, "li.turn"), 3, "the matching new turn only");
    assert_eq!(count(&root, "li#turn-5 mark"), 1);
    assert_eq!(text(&root, ".search-status"), "3 matches in 3 turns");
    assert_eq!(
        text(&root, ".new-turns-status"),
        "New turn #5 from the caller"
    );
    assert_eq!(text(&root, ".transcript .count"), "6 turns");

    // Cleared: every turn.
    type_into(&input, "").await;
    assert_eq!(count(&root, "li.turn"), 6);

    // Appends while not searching keep the rows already shown.
    let kept: web_sys::Element = root.query_selector("li#turn-1").unwrap().unwrap();
    call.apply(LiveEvent::Turns(TurnsAppended {
        from: 6,
        turns: vec![caller_turn("Bye", 16.0)],
    }));
    settle().await;
    assert_eq!(count(&root, "li.turn"), 7);
    assert!(kept.is_connected(), "the rows already shown stay in place");
    let last = root
        .query_selector("ol.turns > li.turn:last-child")
        .unwrap()
        .unwrap();
    assert_eq!(last.id(), "turn-7");
}

#[wasm_bindgen_test]
async fn the_live_badge_says_live_reconnecting_and_call_ended() {
    let call = Call::new(live_fixture(), None);
    let link = RwSignal::new(Link::Live);
    let root = mount(move || {
        let duration = Signal::derive(|| 75);
        view! { <Header call link duration /> }.into_any()
    });
    settle().await;
    assert_eq!(text(&root, ".live-status.live .live-label"), "Live");
    assert_eq!(count(&root, ".live-badge[role='status']"), 1);
    assert!(text(&root, ".live-clock").contains("1m 15s"));
    assert_eq!(text(&root, ".badge .badge-value"), "In progress");
    link.set(Link::Reconnecting);
    settle().await;
    assert_eq!(
        text(&root, ".live-status.reconnecting .live-label"),
        "Reconnecting…"
    );

    let mut state = fixture().call_state();
    state.duration_seconds = 30;
    call.apply(LiveEvent::Call(Box::new(state)));
    link.set(Link::Ended);
    settle().await;
    assert_eq!(text(&root, ".live-status.ended .live-label"), "Call ended");
    assert!(
        text(&root, ".live-note").contains("completed, caller hangup) after 30s"),
        "{}",
        text(&root, ".live-note")
    );
    assert_eq!(count(&root, ".live-clock"), 0, "the clock stops");
    assert_eq!(text(&root, ".badge .badge-value"), "Completed");

    link.set(Link::Closed(Closed::Revoked));
    settle().await;
    assert!(text(&root, ".live-status.closed .live-note").contains("revoked"));
}

#[wasm_bindgen_test]
async fn call_control_lists_gathers_and_transfers_when_there_are_some() {
    let call = Call::new(live_fixture(), None);
    let root = mount(move || view! { <CallControl call /> }.into_any());
    settle().await;
    assert_eq!(count(&root, "section.call-control"), 0);
    let mut state = call.peek(|v| v.call_state());
    state.events = serde_json::from_value(serde_json::json!([
        {"event": "call.gather.started", "at": "2026-01-15T10:00:05Z", "detail": "Enter your PIN"},
        {"event": "call.gather.completed", "at": "2026-01-15T10:00:12Z", "detail": "1234"},
        {"event": "transfer.initiated", "at": "2026-01-15T10:00:20Z", "detail": "+318*****999"},
        {"event": "transfer.failed", "at": "2026-01-15T10:00:40Z", "detail": "user_busy"}
    ]))
    .unwrap();
    call.apply(LiveEvent::Call(Box::new(state)));
    settle().await;
    assert_eq!(count(&root, "section.call-control li.control-event"), 4);
    assert_eq!(
        text(&root, "li[data-event='call.gather.started']"),
        "+00:05Gather startedPrompt: Enter your PIN"
    );
    assert!(text(&root, "li[data-event='transfer.failed']").contains("user_busy"));
}
