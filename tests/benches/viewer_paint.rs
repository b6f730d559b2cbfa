//! First meaningful paint of the viewer, in real headless Chromium against the real
//! server: how long after the wasm arrives the first frame shows the loaded call
//! (the viewer's `callscope:call-painted` performance mark). Not a test: it prints figures
//! for BENCHMARKS.md. Run by `BENCH_ONLY=viewer bash scripts/bench.sh`; needs a release
//! `dist/` and server binary. `BENCH_LOADS` (default 30) page loads per call size, cache
//! disabled, after one warm-up load. For the 5,000-turn call it also reports the longest
//! main-thread task while loading and how long a search takes to show its results.
//! Then live mode: a 1,000-turn call in progress, fed one turn at a time through the
//! pipeline API, and the main-thread time each appended turn costs the page (Chromium's
//! own task accounting, `Performance.getMetrics`), `BENCH_APPENDS` (default 30) times.
//! `BENCH_LIVE_ONLY=1` runs only that part.

use std::time::Duration;

use callscope_e2e::live_call::{LiveCall, PIPELINE_TOKEN, turn};
use callscope_e2e::{Browser, Options, Server, long_call};
use serde_json::{Value, json};

/// One page load's timings, in ms since navigation start (Performance API).
const READ_TIMINGS: &str = "
    const mark = performance.getEntriesByName('callscope:call-painted')[0];
    if (!mark) return null;
    const resources = performance.getEntriesByType('resource');
    const wasm = resources.find(e => e.name.endsWith('.wasm'));
    const data = resources.find(e => e.initiatorType === 'fetch' && e.name === location.href);
    return { wasm: wasm.responseEnd, data: data.responseEnd, painted: mark.startTime,
             turns: document.querySelectorAll('li.turn').length };";

/// The longest task (ms) the Long Tasks API buffered since navigation, once the whole
/// transcript is in the DOM; 0 if no task took 50 ms or more.
const LONGEST_TASK: &str = "
    const done = arguments[0];
    const wait = () => document.querySelector(\"ol.turns[data-complete='true']\")
      ? new PerformanceObserver((list, obs) => { obs.disconnect();
          done(Math.max(...list.getEntries().map(e => e.duration))); })
          .observe({ type: 'longtask', buffered: true })
      : setTimeout(wait, 20);
    wait();
    setTimeout(() => done(0), 30000);";

/// Types `arguments[0]` into the search box and answers the ms until the frame after
/// the match count changed (the viewer waits out a short debounce first).
const SEARCH: &str = "
    const [query, done] = arguments;
    const input = document.getElementById('transcript-search');
    const status = document.querySelector('.search-status');
    const start = performance.now();
    new MutationObserver((_, obs) => { obs.disconnect();
        requestAnimationFrame(() => done(performance.now() - start)); })
      .observe(status, { childList: true, characterData: true, subtree: true });
    input.value = query;
    input.dispatchEvent(new Event('input', { bubbles: true }));";

fn percentile(sorted: &[f64], p: f64) -> f64 {
    let rank = ((p / 100.0) * sorted.len() as f64).ceil().max(1.0) as usize;
    sorted[rank.min(sorted.len()) - 1]
}

fn row(what: &str, mut values: Vec<f64>) {
    values.sort_by(f64::total_cmp);
    println!(
        "| {what} | {:.0} | {:.0} | {:.0} |",
        percentile(&values, 50.0),
        percentile(&values, 90.0),
        values[values.len() - 1]
    );
}

async fn load(browser: &Browser, link: &str) -> Value {
    browser.client.goto(link).await.expect("open the link");
    for _ in 0..600 {
        let timings = browser.client.execute(READ_TIMINGS, vec![]).await.unwrap();
        if !timings.is_null() {
            return timings;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("the call was not painted within 30 s");
}

async fn measure(turns: usize, loads: usize) {
    let (dir, _demo) = Server::demo_dir(1);
    let path = long_call::insert(&Server::database_url(&dir), turns).await;
    let server = Server::start_in(dir);
    let link = server.url(&path);
    let browser = Browser::start().await;
    browser.cdp("Network.enable", json!({})).await;
    browser
        .cdp("Network.setCacheDisabled", json!({ "cacheDisabled": true }))
        .await;
    load(&browser, &link).await;
    let mut after_wasm = Vec::new();
    let mut after_data = Vec::new();
    let mut from_start = Vec::new();
    for _ in 0..loads {
        let t = load(&browser, &link).await;
        let (wasm, data, painted) = (
            t["wasm"].as_f64().unwrap(),
            t["data"].as_f64().unwrap(),
            t["painted"].as_f64().unwrap(),
        );
        assert!(t["turns"].as_u64().unwrap() > 0, "turns were painted");
        after_wasm.push(painted - wasm);
        after_data.push(painted - data);
        from_start.push(painted);
    }
    println!("\n{turns}-turn call, {loads} loads (ms):\n");
    println!("| from | p50 | p90 | max |\n|---|---|---|---|");
    row("wasm arrived → call painted", after_wasm);
    row("call JSON arrived → call painted", after_data);
    row("navigation start → call painted", from_start);
    if turns >= 1000 {
        let mut longest = Vec::new();
        // A phrase in one turn, and one in every assistant turn (2,500 matches).
        let queries = ["order 4999", "check that"];
        let mut searches = vec![Vec::new(); queries.len()];
        for _ in 0..loads {
            load(&browser, &link).await;
            let task = browser.client.execute_async(LONGEST_TASK, vec![]).await;
            longest.push(task.unwrap().as_f64().unwrap());
            for (query, times) in queries.iter().zip(&mut searches) {
                let took = browser.client.execute_async(SEARCH, vec![json!(query)]);
                times.push(took.await.unwrap().as_f64().unwrap());
                // Clear the search before the next one.
                let cleared = browser.client.execute_async(SEARCH, vec![json!("")]);
                cleared.await.unwrap();
            }
        }
        row("longest main-thread task while loading", longest);
        for (query, times) in queries.iter().zip(searches) {
            row(
                &format!("search \"{query}\" typed → matches painted"),
                times,
            );
        }
    }
    browser.close().await;
}

/// Waits (in the page) until turn `arguments[0]` (from 1) is in the DOM, then for the
/// frame after it, and answers true.
const APPENDED: &str = "
    const [n, done] = arguments;
    const painted = () => requestAnimationFrame(() => requestAnimationFrame(() => done(true)));
    if (document.getElementById('turn-' + n)) { painted(); return; }
    const list = document.querySelector('ol.turns');
    new MutationObserver((_, obs) => {
        if (document.getElementById('turn-' + n)) { obs.disconnect(); painted(); }
    }).observe(list, { childList: true });";

/// Chromium's main-thread accounting for the page: all tasks, then script, style
/// recalculation and layout within them.
const METRICS: [&str; 4] = [
    "TaskDuration",
    "ScriptDuration",
    "RecalcStyleDuration",
    "LayoutDuration",
];

/// [`METRICS`] so far, in ms.
async fn main_thread_ms(browser: &Browser) -> [f64; 4] {
    let metrics = browser.cdp("Performance.getMetrics", json!({})).await;
    let all = metrics["metrics"].as_array().expect("metrics");
    METRICS.map(|name| {
        all.iter()
            .find(|m| m["name"] == name)
            .and_then(|m| m["value"].as_f64())
            .unwrap_or_else(|| panic!("{name}"))
            * 1000.0
    })
}

async fn measure_live(turns: u32, appends: u32) {
    let (dir, demo) = Server::demo_dir(1);
    let server = Server::start_in_with(
        dir,
        Options {
            pipeline_token: Some(PIPELINE_TOKEN.into()),
        },
    );
    let call = LiveCall::start(&server, &demo).await;
    let line = |seq: u32| {
        let role = if seq % 2 == 1 { "assistant" } else { "user" };
        let llm = 220 + (seq * 37) % 600;
        turn(
            seq,
            role,
            &format!("Line {seq}: a question about order {seq}, and its answer."),
            f64::from(seq) * 3.0,
            llm,
        )
    };
    for batch in (1..=turns).collect::<Vec<_>>().chunks(200) {
        call.turns(Value::Array(batch.iter().map(|&s| line(s)).collect()))
            .await;
    }
    let browser = Browser::start().await;
    browser.cdp("Performance.enable", json!({})).await;
    browser
        .client
        .goto(&call.link)
        .await
        .expect("open the link");
    for _ in 0..600 {
        let ready = browser
            .client
            .execute(
                "return !!document.querySelector(\".live-status.live\") &&
                        !!document.querySelector(\"ol.turns[data-complete='true']\")",
                vec![],
            )
            .await
            .unwrap();
        if ready == Value::Bool(true) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let mut main_thread = vec![Vec::new(); METRICS.len()];
    let mut posted_to_painted = Vec::new();
    for seq in turns + 1..=turns + appends {
        let before = main_thread_ms(&browser).await;
        let start = std::time::Instant::now();
        let (appended, ()) = tokio::join!(
            browser.client.execute_async(APPENDED, vec![json!(seq)]),
            call.turns(json!([line(seq)]))
        );
        appended.expect("the turn appears");
        posted_to_painted.push(start.elapsed().as_secs_f64() * 1000.0);
        // Let the `call` event that follows the turns (latency summary) be applied too.
        tokio::time::sleep(Duration::from_millis(100)).await;
        let after = main_thread_ms(&browser).await;
        for (i, times) in main_thread.iter_mut().enumerate() {
            times.push(after[i] - before[i]);
        }
        // Between appends, as a pipeline would (a turn every few seconds, here faster).
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    println!("\nlive {turns}-turn call, {appends} turns appended one at a time (ms):\n");
    println!("| per appended turn | p50 | p90 | max |\n|---|---|---|---|");
    for (name, times) in ["main-thread tasks", "script", "style", "layout"]
        .iter()
        .zip(main_thread)
    {
        row(name, times);
    }
    row("POST /turns sent → turn painted", posted_to_painted);
    browser.close().await;
}

fn main() {
    let loads = std::env::var("BENCH_LOADS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(30);
    let appends = std::env::var("BENCH_APPENDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(30);
    let live_only = std::env::var("BENCH_LIVE_ONLY").is_ok_and(|v| v == "1");
    let runtime = tokio::runtime::Runtime::new().expect("tokio runtime");
    runtime.block_on(async {
        if !live_only {
            measure(40, loads).await;
            measure(5000, loads.min(10)).await;
        }
        measure_live(1000, appends).await;
    });
}
