//! The served viewer loads in a real browser, the wasm app mounts and renders a call.

use std::time::Duration;

use callscope_e2e::page::{count, demo_link, link_json, text, wait_rendered};
use callscope_e2e::{Browser, Server};
use fantoccini::Locator;

#[tokio::test]
async fn the_viewer_page_loads_mounts_and_renders_a_demo_call() {
    let (server, demo) = Server::start_with_demo(3);
    let health = reqwest::get(server.url("/healthz")).await.unwrap();
    assert_eq!(health.status(), 200);
    let link = demo_link(&server, &demo);
    let json = link_json(&link).await;
    let call_id = demo.debug_call_id.clone().expect("the demo picks a call");

    let browser = Browser::start().await;
    browser.client.goto(&link).await.unwrap();
    let mounted = browser
        .client
        .wait()
        .at_most(Duration::from_secs(20))
        .for_element(Locator::Css("#app[data-app-mounted='true']"))
        .await;
    browser.screenshot("smoke-viewer-mounted").await;
    mounted.expect("the wasm app mounts within 20 s");

    // The call itself, not a loading, error or "not a link" screen (those also have text).
    wait_rendered(&browser).await;
    browser.screenshot("smoke-viewer-rendered").await;
    assert_eq!(count(&browser, ".state, .skeleton").await, 0);
    assert_eq!(
        count(&browser, &format!("article.call[data-call-id='{call_id}']")).await,
        1
    );
    assert_eq!(text(&browser, "h1.call-id").await, call_id);
    let turns = json["turns"].as_array().unwrap().len();
    assert!(turns > 0);
    assert_eq!(count(&browser, "ol.turns > li.turn").await, turns as u64);
    browser.close().await;
}
