//! The served viewer loads in a real browser and the wasm app mounts.

use std::time::Duration;

use callscope_e2e::{Browser, Server};
use fantoccini::Locator;

#[tokio::test]
async fn the_viewer_page_loads_and_the_wasm_app_mounts() {
    let server = Server::start();
    let health = reqwest::get(server.url("/healthz")).await.unwrap();
    assert_eq!(health.status(), 200);

    let browser = Browser::start().await;
    browser.client.goto(&server.url("/")).await.unwrap();
    let mounted = browser
        .client
        .wait()
        .at_most(Duration::from_secs(20))
        .for_element(Locator::Css("#app[data-app-mounted='true']"))
        .await;
    browser.screenshot("smoke-viewer-mounted").await;
    let mounted = mounted.expect("the wasm app mounts within 20 s");
    assert!(
        !mounted.text().await.unwrap().trim().is_empty(),
        "the app renders something"
    );
    browser.close().await;
}
