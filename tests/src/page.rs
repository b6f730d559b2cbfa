//! Reading and waiting on the viewer's page in tests. No assertion depends on wall-clock
//! time; waits only bound how long to poll.

use std::time::Duration;

use callscope_shared::link::{DEBUG_PATH_PREFIX, TOKEN_LEN, debug_path};
use fantoccini::Locator;
use serde_json::Value;

use crate::{Browser, Demo, Server};

/// Longest wait for anything the page does.
pub const WAIT: Duration = Duration::from_secs(60);

/// The demo's debug link on this test's server (the demo prints it for its default base).
pub fn demo_link(server: &Server, demo: &Demo) -> String {
    let url = demo.json["debug_url"]
        .as_str()
        .expect("the demo prints a debug_url");
    let path = &url[url.find(DEBUG_PATH_PREFIX).expect("a debug link path")..];
    server.url(path)
}

/// The link's JSON, as the viewer gets it.
pub async fn link_json(link: &str) -> Value {
    let response = reqwest::Client::new()
        .get(link)
        .header("accept", "application/json")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    response.json().await.unwrap()
}

/// Runs `script` (which must `return` a value) until it returns `true`.
pub async fn wait_for(browser: &Browser, what: &str, script: &str) {
    let mut waited = Duration::ZERO;
    loop {
        if browser.client.execute(script, vec![]).await.unwrap() == Value::Bool(true) {
            return;
        }
        if waited >= WAIT {
            browser
                .screenshot(&format!("timeout-{}", what.replace(' ', "-")))
                .await;
            panic!("timed out waiting for {what}");
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
        waited += Duration::from_millis(100);
    }
}

pub async fn js(browser: &Browser, script: &str) -> Value {
    browser.client.execute(script, vec![]).await.unwrap()
}

pub async fn count(browser: &Browser, selector: &str) -> u64 {
    js(
        browser,
        &format!("return document.querySelectorAll({selector:?}).length"),
    )
    .await
    .as_u64()
    .unwrap()
}

pub async fn text(browser: &Browser, selector: &str) -> String {
    browser
        .client
        .find(Locator::Css(selector))
        .await
        .unwrap_or_else(|e| panic!("{selector}: {e}"))
        .text()
        .await
        .unwrap()
}

/// Waits until the whole transcript is rendered.
pub async fn wait_rendered(browser: &Browser) {
    wait_for(
        browser,
        "the transcript to render",
        "return !!document.querySelector(\"ol.turns[data-complete='true']\")",
    )
    .await;
}

/// Clicks the element `selector` finds. The viewer may still be moving the page (a deep
/// link re-centres its turn once earlier turns are laid out), so a click that lands where
/// the element no longer is ("element click intercepted") is tried again, for up to 2 s,
/// after bringing the element back into view as a reader would (a re-centre that came
/// after the test scrolled leaves it off screen, where no retry alone could reach it).
pub async fn click(browser: &Browser, selector: &str) {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(2);
    loop {
        let element = browser
            .client
            .find(Locator::Css(selector))
            .await
            .unwrap_or_else(|e| panic!("{selector}: {e}"));
        match element.click().await {
            Ok(()) => return,
            Err(e)
                if e.to_string().contains("not clickable")
                    && std::time::Instant::now() < deadline =>
            {
                tokio::time::sleep(std::time::Duration::from_millis(100)).await;
                let element = serde_json::to_value(&element).expect("an element reference");
                browser
                    .client
                    .execute(
                        "arguments[0].scrollIntoView({ block: 'center', behavior: 'instant' })",
                        vec![element],
                    )
                    .await
                    .unwrap_or_else(|e| panic!("scroll {selector} into view: {e}"));
            }
            Err(e) => panic!("click {selector}: {e}"),
        }
    }
}

/// Opens `url` in the browser.
pub async fn open(browser: &Browser, url: &str) {
    browser
        .client
        .goto(url)
        .await
        .unwrap_or_else(|e| panic!("open {url}: {e}"));
}

/// Opens `link` at turn `n` (`#turn-n`) and waits until that turn is highlighted.
pub async fn open_turn(browser: &Browser, link: &str, n: usize) {
    open(browser, &format!("{link}#turn-{n}")).await;
    wait_for(
        browser,
        &format!("turn {n} highlighted"),
        &format!("return !!document.querySelector('li#turn-{n}.turn.highlighted')"),
    )
    .await;
}

/// A well-formed token no link has.
pub fn unknown_link(server: &Server) -> String {
    server.url(&debug_path(&"A".repeat(TOKEN_LEN)))
}

/// Asks for unknown links until the server's per-address miss limiter refuses this
/// address (its default limit is well under 30).
pub async fn trip_miss_limiter(server: &Server) {
    let client = reqwest::Client::new();
    let unknown = unknown_link(server);
    for _ in 0..30 {
        client
            .get(&unknown)
            .header("accept", "application/json")
            .send()
            .await
            .unwrap();
    }
}

/// Types `query` into the transcript search box, replacing what was there.
pub async fn search(browser: &Browser, query: &str) {
    let input = browser
        .client
        .find(Locator::Css("#transcript-search"))
        .await
        .unwrap_or_else(|e| panic!("search box: {e}"));
    input.clear().await.unwrap();
    input.send_keys(query).await.unwrap();
}
