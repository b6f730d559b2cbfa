//! The debug viewer end to end: the real `callscope` binary serving the built viewer, and
//! headless Chromium opening debug links. Screenshots of each state go to the artifacts
//! directory. No assertion depends on wall-clock time; waits only bound how long to poll.

use callscope_e2e::axe::assert_accessible_in_both_schemes;
use callscope_e2e::page::{
    click, count, demo_link, js, link_json, open, open_turn, search, text, trip_miss_limiter,
    unknown_link, wait_for, wait_rendered,
};
use callscope_e2e::{Browser, Server, long_call};
use fantoccini::Locator;
use serde_json::Value;

/// Non-overlapping, case-insensitive occurrences of `needle` in every turn's content:
/// (matches, turns with a match).
fn expected_matches(turns: &[Value], needle: &str) -> (usize, usize) {
    let needle = needle.to_lowercase();
    turns.iter().fold((0, 0), |(all, with), t| {
        let n = t["content"]
            .as_str()
            .unwrap()
            .to_lowercase()
            .matches(&needle)
            .count();
        (all + n, with + usize::from(n > 0))
    })
}

/// The number of milliseconds a cell shows ("1,204 ms" → 1204); `None` for "—".
fn shown_ms(cell: &str) -> Option<u64> {
    cell.trim()
        .strip_suffix(" ms")?
        .replace(',', "")
        .parse()
        .ok()
}

#[tokio::test]
async fn a_demo_link_shows_header_masked_numbers_transcript_chart_and_webhooks() {
    let (server, demo) = Server::start_with_demo(20);
    let link = demo_link(&server, &demo);
    let json = link_json(&link).await;
    let call_id = demo.debug_call_id.clone().expect("the demo picks a call");
    // The unmasked numbers, as the owner sees them.
    let owner: Value = reqwest::Client::new()
        .get(server.url(&format!("/v1/calls/{call_id}")))
        .bearer_auth(&demo.api_key)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();

    let browser = Browser::start().await;
    browser.client.goto(&link).await.unwrap();
    wait_rendered(&browser).await;
    browser.screenshot("viewer-1-demo-call").await;

    // The page fetched its own URL as JSON exactly once.
    assert_eq!(
        js(
            &browser,
            "return performance.getEntriesByType('resource') \
               .filter(e => e.initiatorType === 'fetch' && e.name === location.href.split('#')[0]).length",
        )
        .await,
        Value::from(1)
    );

    // Header.
    assert_eq!(text(&browser, "h1.call-id").await, call_id);
    let status = json["status"].as_str().unwrap();
    let badges = text(&browser, ".badges").await.to_lowercase();
    assert!(
        badges.contains(&status.replace('-', " ")),
        "{badges:?} shows {status}"
    );
    assert_eq!(
        text(&browser, ".number.from").await,
        json["from"].as_str().unwrap()
    );
    assert_eq!(
        text(&browser, ".number.to").await,
        json["to"].as_str().unwrap()
    );
    assert_eq!(count(&browser, ".facts time[title]").await, 2);

    // No number of the call appears unmasked anywhere on the page.
    let page = js(&browser, "return document.body.innerText").await;
    let page = page.as_str().unwrap();
    for field in ["from_number", "to_number"] {
        let raw = owner[field].as_str().unwrap();
        assert!(raw.starts_with('+'), "{field} is E.164: {raw}");
        assert!(!page.contains(raw), "{field} {raw} shown unmasked");
        assert!(!page.contains(&raw[1..]), "{field} digits shown unmasked");
    }

    // Transcript: every turn; latency chart: a bar per assistant turn with latency.
    let turns = json["turns"].as_array().unwrap();
    assert!(turns.len() >= 3);
    assert_eq!(
        count(&browser, "ol.turns > li.turn").await,
        turns.len() as u64
    );
    let with_latency = turns
        .iter()
        .filter(|t| t["role"] == "assistant" && t.get("llm_ttfb_ms").is_some())
        .count();
    assert!(with_latency > 0);
    assert_eq!(
        count(&browser, "svg.bars-chart g.bar").await,
        with_latency as u64
    );
    assert_eq!(
        count(&browser, "li.turn.assistant .chip.total").await,
        with_latency as u64
    );
    assert_eq!(
        count(&browser, "svg.lane-chart g.span").await,
        turns.len() as u64
    );
    // Latency summary: every p50/p90/p99/max the server computed, per metric.
    let rows = js(
        &browser,
        "return [...document.querySelectorAll('.latency-summary tbody tr')] \
           .map(r => [...r.querySelectorAll('td')].map(td => td.textContent))",
    )
    .await;
    let rows = rows.as_array().unwrap();
    let metrics = ["llm_ttfb_ms", "tts_start_ms", "tts_ttfb_ms"];
    assert_eq!(rows.len(), metrics.len());
    for (row, metric) in rows.iter().zip(metrics) {
        let cells: Vec<Option<u64>> = row
            .as_array()
            .unwrap()
            .iter()
            .map(|c| shown_ms(c.as_str().unwrap()))
            .collect();
        let expected: Vec<Option<u64>> = ["p50", "p90", "p99", "max"]
            .iter()
            .map(|p| json["latency"][metric][p].as_u64())
            .collect();
        assert!(
            expected.iter().all(Option::is_some),
            "{metric}: {expected:?}"
        );
        assert_eq!(cells, expected, "{metric}: {row}");
    }

    // The slowest turn: the one the caller waited longest for audio (TTS start + TTS
    // TTFB, the earliest on a tie), linked from the summary and named by the timeline.
    let (slowest, audio_ms) = turns
        .iter()
        .enumerate()
        .filter_map(|(i, t)| {
            let start = t["tts_start_ms"].as_u64()?;
            Some((i, start + t["tts_ttfb_ms"].as_u64()?))
        })
        .max_by_key(|&(i, ms)| (ms, std::cmp::Reverse(i)))
        .expect("a turn with latency");
    assert_eq!(
        json["latency"]["slowest_turn"],
        serde_json::json!({"index": slowest, "total_ms": audio_ms})
    );
    let href = browser
        .client
        .find(Locator::Css("a.slowest-link"))
        .await
        .unwrap()
        .attr("href")
        .await
        .unwrap();
    assert_eq!(href, Some(format!("#turn-{}", slowest + 1)));
    let summary_slowest = text(&browser, ".latency-summary .slowest").await;
    let timeline = text(&browser, "#timeline-summary").await;
    let named = format!("turn #{}", slowest + 1);
    assert!(
        summary_slowest.starts_with(&format!("Slowest turn: {named} — audio after ")),
        "{summary_slowest}"
    );
    assert!(
        timeline.contains(&format!("The longest wait for audio is {named}, ")),
        "{timeline}"
    );
    // Both show the same wait, as the server computed it.
    assert_eq!(
        shown_ms(summary_slowest.rsplit_once("audio after ").unwrap().1),
        Some(audio_ms)
    );
    assert_eq!(
        shown_ms(
            timeline
                .rsplit_once(&format!("{named}, "))
                .unwrap()
                .1
                .trim_end_matches('.')
        ),
        Some(audio_ms)
    );

    js(
        &browser,
        "document.querySelector('.timeline').scrollIntoView({behavior: 'instant'}); return true",
    )
    .await;
    browser.screenshot("viewer-1b-timeline").await;

    // A generous budget: no bar and no chip is over it any more.
    js(
        &browser,
        "const i = document.querySelector('.budget-input input'); i.value = '60000'; \
         i.dispatchEvent(new Event('change')); return true",
    )
    .await;
    wait_for(
        &browser,
        "nothing over a 60 s budget",
        "return document.querySelectorAll('.bar.over, .chip.total.over').length === 0 \
           && document.querySelector('.budget-label').textContent === 'budget 60,000 ms'",
    )
    .await;

    // Webhook history: a row per delivery attempt.
    let webhooks = json["webhooks"].as_array().unwrap();
    assert_eq!(count(&browser, "li.attempt").await, webhooks.len() as u64);
    let events: std::collections::BTreeSet<&str> = webhooks
        .iter()
        .map(|w| w["event"].as_str().unwrap())
        .collect();
    assert_eq!(count(&browser, ".event-group").await, events.len() as u64);

    js(
        &browser,
        "document.querySelector('.transcript').scrollIntoView({behavior: 'instant'}); return true",
    )
    .await;
    browser.screenshot("viewer-2-transcript").await;
    js(
        &browser,
        "document.querySelector('.webhooks').scrollIntoView({behavior: 'instant'}); return true",
    )
    .await;
    browser.screenshot("viewer-3-webhooks").await;

    // Search: a phrase from the second turn, counted the same way over the JSON.
    let content = turns[1]["content"].as_str().unwrap();
    let phrase: String = content
        .split_whitespace()
        .take(2)
        .collect::<Vec<_>>()
        .join(" ");
    let (matches, with) = expected_matches(turns, &phrase);
    assert!(matches >= 1);
    search(&browser, &phrase).await;
    let expected = format!(
        "{matches} {} in {with} {}",
        if matches == 1 { "match" } else { "matches" },
        if with == 1 { "turn" } else { "turns" }
    );
    wait_for(
        &browser,
        "the search count",
        &format!(
            "return document.querySelector('.search-status').textContent === {expected:?} \
             && !!document.querySelector(\"ol.turns[data-complete='true']\")"
        ),
    )
    .await;
    assert_eq!(count(&browser, "ol.turns > li.turn").await, with as u64);
    assert_eq!(count(&browser, "ol.turns mark").await, matches as u64);
    browser.screenshot("viewer-4-search").await;

    // Escape clears the search and brings every turn back.
    browser
        .client
        .find(Locator::Css("#transcript-search"))
        .await
        .unwrap()
        .send_keys("\u{e00c}")
        .await
        .unwrap();
    wait_for(
        &browser,
        "all turns after clearing the search",
        &format!(
            "return document.querySelectorAll('ol.turns > li.turn').length === {}",
            turns.len()
        ),
    )
    .await;
    browser.close().await;
}

#[tokio::test]
async fn a_turn_deep_link_scrolls_to_and_highlights_that_turn() {
    let (server, demo) = Server::start_with_demo(20);
    let link = demo_link(&server, &demo);
    let json = link_json(&link).await;
    let browser = Browser::start().await;
    open_turn(&browser, &link, 3).await;
    assert_eq!(count(&browser, "li.turn.highlighted").await, 1);
    assert_eq!(
        text(&browser, "li#turn-3 .content").await,
        json["turns"][2]["content"].as_str().unwrap()
    );
    // Scrolled into view.
    wait_for(
        &browser,
        "turn 3 in the viewport",
        "const r = document.getElementById('turn-3').getBoundingClientRect(); \
         return r.top >= 0 && r.bottom <= window.innerHeight",
    )
    .await;
    browser.screenshot("viewer-5-deep-link").await;

    // Following another turn's link moves the highlight.
    browser
        .client
        .find(Locator::Css("li#turn-2 a.turn-no"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    wait_for(
        &browser,
        "turn 2 highlighted",
        "return !!document.querySelector('li#turn-2.highlighted') \
         && !document.querySelector('li#turn-3.highlighted')",
    )
    .await;
    browser.close().await;
}

#[tokio::test]
async fn error_states_404_429_network_error_and_loading() {
    // Each state is also checked against WCAG 2.1 AA in both colour schemes.
    let (server, demo) = Server::start_with_demo(5);
    let browser = Browser::start().await;
    open(&browser, &unknown_link(&server)).await;
    wait_for(
        &browser,
        "the not-found state",
        "return !!document.querySelector('.state.not-found')",
    )
    .await;
    assert_eq!(
        text(&browser, ".state.not-found h1").await,
        "This link is invalid, expired or revoked"
    );
    assert_eq!(count(&browser, ".state.not-found button").await, 0);
    browser.screenshot("viewer-6-not-found").await;
    assert_accessible_in_both_schemes(&browser, "not found").await;

    // Enough misses from this address trip the limiter: even a good link is refused,
    // and the viewer offers a retry.
    trip_miss_limiter(&server).await;
    open(&browser, &demo_link(&server, &demo)).await;
    wait_for(
        &browser,
        "the rate-limited state",
        "return !!document.querySelector('.state.rate-limited button.retry')",
    )
    .await;
    browser.screenshot("viewer-7-rate-limited").await;
    assert_accessible_in_both_schemes(&browser, "rate limited").await;

    // A request that never gets an answer: the network-error state, with a retry.
    // (The page's `fetch` is replaced; the viewer looks it up on every request.)
    js(
        &browser,
        "window.fetch = () => Promise.reject(new TypeError('Failed to fetch')); return true",
    )
    .await;
    click(&browser, "button.retry").await;
    wait_for(
        &browser,
        "the network-error state",
        "return !!document.querySelector('.state.network-error button.retry')",
    )
    .await;
    browser.screenshot("viewer-8-network-error").await;
    assert_accessible_in_both_schemes(&browser, "network error").await;

    // A request still on its way: the loading skeleton.
    js(
        &browser,
        "window.fetch = () => new Promise(() => {}); return true",
    )
    .await;
    click(&browser, "button.retry").await;
    wait_for(
        &browser,
        "the loading skeleton",
        "return !!document.querySelector(\".skeleton[aria-busy='true']\")",
    )
    .await;
    browser.screenshot("viewer-9-loading").await;
    assert_accessible_in_both_schemes(&browser, "loading").await;
    browser.close().await;
}

#[tokio::test]
async fn a_5000_turn_call_loads_renders_searches_and_deep_links() {
    const TURNS: usize = 5_000;
    let (dir, _demo) = Server::demo_dir(3);
    let path = long_call::insert(&Server::database_url(&dir), TURNS).await;
    let server = Server::start_in(dir);
    let link = server.url(&path);

    let browser = Browser::start().await;
    // A deep link far down the call: rendered and highlighted even before the rest.
    browser
        .client
        .goto(&format!("{link}#turn-4500"))
        .await
        .unwrap();
    wait_for(
        &browser,
        "turn 4500 highlighted",
        "return !!document.querySelector('li#turn-4500.highlighted')",
    )
    .await;
    wait_rendered(&browser).await;
    wait_for(
        &browser,
        "turn 4500 in the viewport",
        "const r = document.getElementById('turn-4500').getBoundingClientRect(); \
         return r.top >= 0 && r.bottom <= window.innerHeight",
    )
    .await;
    browser.screenshot("viewer-12-long-call").await;
    // For the record, not asserted: the longest main-thread tasks while loading.
    let tasks = browser
        .client
        .execute_async(
            "const done = arguments[0]; \
             new PerformanceObserver((list) => done(list.getEntries() \
               .map(e => Math.round(e.duration)).sort((a, b) => b - a).slice(0, 5))) \
               .observe({type: 'longtask', buffered: true}); \
             setTimeout(() => done([]), 2000);",
            vec![],
        )
        .await
        .unwrap();
    eprintln!("5,000-turn call: longest main-thread tasks (ms): {tasks}");
    assert_eq!(count(&browser, "ol.turns > li.turn").await, TURNS as u64);
    assert_eq!(
        count(&browser, "svg.bars-chart g.bar").await,
        (TURNS / 2) as u64
    );

    search(&browser, "order 5000").await;
    wait_for(
        &browser,
        "the search count",
        "return document.querySelector('.search-status').textContent === '1 match in 1 turn'",
    )
    .await;
    assert_eq!(count(&browser, "ol.turns > li.turn").await, 1);
    assert_eq!(count(&browser, "li#turn-5000 mark").await, 1);
    browser.screenshot("viewer-13-long-call-search").await;
    browser.close().await;
}

#[tokio::test]
async fn the_viewer_fits_a_phone_screen_and_follows_a_dark_colour_scheme() {
    let (server, demo) = Server::start_with_demo(20);
    let link = demo_link(&server, &demo);
    let browser = Browser::start().await;
    browser.emulate_media("screen", "dark").await;
    browser.client.set_window_size(390, 844).await.unwrap();
    browser.client.goto(&link).await.unwrap();
    wait_rendered(&browser).await;
    browser.screenshot("viewer-10-phone-dark").await;
    // Nothing but the chart's and the table's own scroll areas is wider than the screen.
    let wide = js(
        &browser,
        "return [...document.querySelectorAll('body *')] \
           .filter(e => !e.closest('.chart-scroll, .table-scroll') && e.getBoundingClientRect().right > window.innerWidth + 1) \
           .map(e => e.tagName + '.' + e.className).slice(0, 5)",
    )
    .await;
    assert_eq!(wide, serde_json::json!([]), "wider than the screen");
    js(
        &browser,
        "document.querySelector('.timeline').scrollIntoView({behavior: 'instant'}); return true",
    )
    .await;
    browser.screenshot("viewer-11-phone-dark-timeline").await;
    // The page follows the scheme: dark background, light text.
    let colours = js(
        &browser,
        "const s = getComputedStyle(document.body); return [s.backgroundColor, s.color]",
    )
    .await;
    assert_eq!(colours[0], "rgb(17, 18, 22)");
    assert_ne!(colours[1], colours[0]);
    browser.emulate_media("screen", "light").await;
    let bg = js(
        &browser,
        "return getComputedStyle(document.body).backgroundColor",
    )
    .await;
    assert_ne!(bg, colours[0], "the light scheme has its own background");
    browser.close().await;
}
