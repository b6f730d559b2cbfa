//! Live mode end to end: a call fed turn by turn through the pipeline API of the real
//! server, followed in headless Chromium over the debug link's event stream: the live badge
//! and running duration, each turn appearing without a reload, the reader's place and
//! search kept ("new turns ↓" when not at the end), the latency summary updated, the
//! reconnecting state while the server is down, the "call ended" moment, and axe in the
//! live state.

use callscope_e2e::axe;
use callscope_e2e::live_call::{LiveCall, PIPELINE_TOKEN, turn};
use callscope_e2e::page::{click, count, js, open, search, text, wait_for};
use callscope_e2e::{Browser, Options, Server};
use serde_json::{Value, json};

/// Waits until turn `n` (counted from 1) is in the transcript.
async fn wait_turn(browser: &Browser, n: u32) {
    wait_for(
        browser,
        &format!("turn {n} to appear"),
        &format!("return !!document.querySelector('ol.turns li#turn-{n}')"),
    )
    .await;
}

async fn wait_link_state(browser: &Browser, class: &str) {
    wait_for(
        browser,
        &format!("the live badge to say {class}"),
        &format!("return !!document.querySelector('.live-status.{class}')"),
    )
    .await;
}

/// A caller line and an assistant reply, turns `seq` and `seq + 1` at `at` seconds.
fn exchange(seq: u32, at: f64, llm_ms: u32) -> Value {
    json!([
        turn(
            seq,
            "user",
            &format!("Caller line {seq}: where is my parcel?"),
            at,
            0
        ),
        turn(
            seq + 1,
            "assistant",
            &format!("Assistant line {}: let me look that up.", seq + 1),
            at + 2.0,
            llm_ms
        ),
    ])
}

#[tokio::test(flavor = "multi_thread")]
async fn a_live_call_is_followed_turn_by_turn_until_it_ends() {
    let (dir, demo) = Server::demo_dir(1);
    let mut server = Server::start_in_with(
        dir,
        Options {
            pipeline_token: Some(PIPELINE_TOKEN.into()),
        },
    );
    let call = LiveCall::start(&server, &demo).await;
    call.turns(json!([turn(
        1,
        "assistant",
        "Hello, how can I help?",
        0.0,
        300
    )]))
    .await;

    let browser = Browser::start().await;
    open(&browser, &call.link).await;
    wait_link_state(&browser, "live").await;
    assert_eq!(text(&browser, ".live-status .live-label").await, "Live");
    assert_eq!(
        text(&browser, ".call-header .badge-value").await,
        "In progress"
    );
    wait_turn(&browser, 1).await;
    // The running duration is shown and counts up.
    let clock = text(&browser, ".live-clock").await;
    assert!(clock.ends_with('s'), "{clock}");
    // A mark on the page: a reload would lose it.
    js(&browser, "window.__sameDocument = true; return true").await;

    // Turn by turn, each appears without a reload; the latency summary follows.
    for (i, at) in [(2u32, 4.0), (4, 10.0)] {
        call.turns(exchange(i, at, 400)).await;
        wait_turn(&browser, i + 1).await;
    }
    assert_eq!(count(&browser, "li.turn").await, 5);
    call.turns(exchange(6, 16.0, 2_500)).await;
    wait_turn(&browser, 7).await;
    wait_for(
        &browser,
        "the latency summary to show the slow turn",
        "return [...document.querySelectorAll('.latency-summary td')].some(td => td.textContent === '2,500 ms')
             && document.querySelector('.slowest-link')?.textContent === 'turn #7'",
    )
    .await;
    wait_for(
        &browser,
        "the timeline to draw every assistant turn",
        "return document.querySelectorAll('svg.bars-chart g.bar').length === 4",
    )
    .await;
    assert_eq!(text(&browser, ".call-header dd.turn-count").await, "7");

    // Accessible while live, in both colour schemes.
    axe::assert_accessible_in_both_schemes(&browser, "live call").await;

    // A reader at the end of the transcript is kept there as turns come.
    js(
        &browser,
        "document.querySelector('ol.turns').lastElementChild.scrollIntoView({block: 'end', behavior: 'instant'}); return true",
    )
    .await;
    let mut seq = 8;
    let mut at = 22.0;
    let mut batch = Vec::new();
    for _ in 0..15 {
        batch.extend(exchange(seq, at, 350).as_array().unwrap().clone());
        seq += 2;
        at += 6.0;
    }
    call.turns(Value::Array(batch)).await;
    wait_turn(&browser, seq - 1).await;
    wait_for(
        &browser,
        "the page to follow the new turns",
        &format!(
            "const r = document.getElementById('turn-{}').getBoundingClientRect();
             return r.bottom <= window.innerHeight && r.top >= 0",
            seq - 1
        ),
    )
    .await;
    assert_eq!(count(&browser, "button.new-turns").await, 0);

    // The reader scrolls up: new turns do not move the page, and "new turns ↓" says
    // they came.
    js(
        &browser,
        "document.getElementById('turn-3').scrollIntoView({block: 'start', behavior: 'instant'}); return true",
    )
    .await;
    let before = js(&browser, "return window.scrollY")
        .await
        .as_f64()
        .unwrap();
    assert!(before > 0.0);
    assert_eq!(count(&browser, "button.new-turns").await, 0);
    call.turns(exchange(seq, at, 350)).await;
    wait_turn(&browser, seq + 1).await;
    wait_for(
        &browser,
        "\"new turns\" to show",
        "return !!document.querySelector('button.new-turns')",
    )
    .await;
    assert_eq!(text(&browser, "button.new-turns").await, "2 new turns ↓");
    let after = js(&browser, "return window.scrollY")
        .await
        .as_f64()
        .unwrap();
    assert!(
        (after - before).abs() < 1.0,
        "the reader's place is kept: {before} → {after}"
    );
    click(&browser, "button.new-turns").await;
    wait_for(
        &browser,
        "the first new turn shown",
        &format!("return !!document.querySelector('li#turn-{seq}.highlighted')"),
    )
    .await;
    assert_eq!(count(&browser, "button.new-turns").await, 0);
    seq += 2;
    at += 6.0;

    // A search stays typed and counts the new turns that match.
    search(&browser, "parcel").await;
    let matches = (seq - 1) / 2;
    wait_for(
        &browser,
        "the search to count its matches",
        &format!(
            "return document.querySelector('.search-status').textContent === '{matches} matches in {matches} turns'"
        ),
    )
    .await;
    call.turns(exchange(seq, at, 350)).await;
    let matches = matches + 1;
    wait_for(
        &browser,
        "the search to count the new match",
        &format!(
            "return document.querySelector('.search-status').textContent === '{matches} matches in {matches} turns'"
        ),
    )
    .await;
    assert_eq!(
        js(
            &browser,
            "return document.getElementById('transcript-search').value"
        )
        .await,
        json!("parcel")
    );
    assert_eq!(count(&browser, "ol.turns li.turn").await, matches as u64);
    assert!(count(&browser, &format!("li#turn-{seq} mark")).await == 1);
    seq += 2;
    at += 6.0;
    click(&browser, ".search button.small").await;

    // The server goes away: the page says it is reconnecting, then follows again.
    server.stop();
    wait_link_state(&browser, "reconnecting").await;
    assert_eq!(
        text(&browser, ".live-status .live-label").await,
        "Reconnecting…"
    );
    axe::assert_accessible(&browser, "reconnecting").await;
    server.resume();
    call.turns(exchange(seq, at, 350)).await;
    wait_turn(&browser, seq + 1).await;
    wait_link_state(&browser, "live").await;

    // The end: the badge says so with the outcome, the clock stops, the status is final.
    call.end().await;
    wait_link_state(&browser, "ended").await;
    assert_eq!(
        text(&browser, ".live-status .live-label").await,
        "Call ended"
    );
    let note = text(&browser, ".live-status .live-note").await;
    assert!(note.contains("caller hangup"), "{note}");
    assert!(note.contains("This view is final."), "{note}");
    assert_eq!(count(&browser, ".live-clock").await, 0);
    assert_eq!(
        text(&browser, ".call-header .badge-value").await,
        "Completed"
    );
    assert_eq!(
        js(&browser, "return window.__sameDocument === true").await,
        json!(true),
        "the page was never reloaded"
    );
    axe::assert_accessible(&browser, "call ended").await;
    browser.close().await;
}
