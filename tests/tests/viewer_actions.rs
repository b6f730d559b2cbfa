//! The viewer's actions end to end: copy link, download JSON and the print layout.

use std::time::Duration;

use callscope_e2e::page::{
    WAIT, click, count, demo_link, js, open, open_turn, text, wait_for, wait_rendered,
};
use callscope_e2e::{Browser, Server};
use fantoccini::wd::PrintConfiguration;
use serde_json::Value;

#[tokio::test]
async fn copy_link_puts_the_link_without_the_turn_on_the_clipboard() {
    let (server, demo) = Server::start_with_demo(5);
    let link = demo_link(&server, &demo);
    let browser = Browser::start().await;
    open_turn(&browser, &link, 2).await;
    wait_rendered(&browser).await;
    // Back up to the header, as the reader would (at once: the page scrolls smoothly, and
    // a click during a smooth scroll lands where the button was).
    wait_for(
        &browser,
        "the header in view",
        "window.scrollTo({ top: 0, behavior: 'instant' }); return window.scrollY === 0",
    )
    .await;
    browser.grant("clipboard-read").await;
    browser.grant("clipboard-write").await;
    // Something else on the clipboard first, so a copy that did nothing shows.
    let before = browser
        .client
        .execute_async(
            "const done = arguments[0]; navigator.clipboard.writeText('before')
               .then(() => done(true), e => done(String(e)))",
            vec![],
        )
        .await
        .unwrap();
    assert_eq!(
        before,
        Value::Bool(true),
        "the test can write the clipboard"
    );

    click(&browser, "button.copy-link").await;
    wait_for(
        &browser,
        "the copy confirmation",
        "return document.querySelector('.action-status').textContent !== ''",
    )
    .await;
    assert_eq!(text(&browser, ".action-status").await, "Link copied");
    let copied = browser
        .client
        .execute_async(
            "const done = arguments[0]; navigator.clipboard.readText().then(done, e => done(String(e)))",
            vec![],
        )
        .await
        .unwrap();
    // The shared link is the call's, not the turn the viewer happened to be on.
    assert_eq!(copied, Value::String(link.clone()));
    browser.screenshot("viewer-14-link-copied").await;
    browser.close().await;
}

#[tokio::test]
async fn download_saves_the_call_json_exactly_as_the_link_serves_it() {
    let (server, demo) = Server::start_with_demo(5);
    let link = demo_link(&server, &demo);
    let served = reqwest::Client::new()
        .get(&link)
        .header("accept", "application/json")
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let call_id = demo.debug_call_id.clone().expect("the demo picks a call");
    let downloads = server.dir.join("downloads");
    std::fs::create_dir_all(&downloads).unwrap();
    let browser = Browser::start_downloading_to(&downloads).await;
    open(&browser, &link).await;
    wait_rendered(&browser).await;
    click(&browser, "button.download").await;

    let file = downloads.join(format!("{call_id}-debug.json"));
    let mut waited = Duration::ZERO;
    while !file.is_file() {
        assert!(
            waited < WAIT,
            "no {} after clicking Download JSON; the folder has {:?}",
            file.display(),
            std::fs::read_dir(&downloads)
                .unwrap()
                .map(|e| e.unwrap().file_name())
                .collect::<Vec<_>>()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
        waited += Duration::from_millis(100);
    }
    let saved = std::fs::read_to_string(&file).unwrap();
    assert_eq!(saved, served, "the file is the JSON the link serves");
    let parsed: Value = serde_json::from_str(&saved).unwrap();
    assert_eq!(parsed["call_id"], Value::String(call_id));
    assert_eq!(text(&browser, ".action-status").await, "");
    browser.close().await;
}

/// What the print layout must hide and show, read from computed styles.
const PRINT_CHECK: &str = "
    const hidden = ['.actions', '.search', '.budget-input', '.site-bar']
      .filter(s => document.querySelector(s) && getComputedStyle(document.querySelector(s)).display !== 'none');
    const body = getComputedStyle(document.body);
    const lazy = [...document.querySelectorAll('li.turn')]
      .filter(t => getComputedStyle(t).contentVisibility !== 'visible').length;
    const scroll = [...document.querySelectorAll('.chart-scroll, .table-scroll')]
      .filter(e => getComputedStyle(e).overflowX !== 'visible').length;
    const wide = [...document.querySelectorAll('body *')]
      .filter(e => e.getBoundingClientRect().right > document.documentElement.clientWidth + 1)
      .map(e => e.tagName + '.' + e.getAttribute('class')).slice(0, 5);
    const luminance = c => { const [r, g, b] = c.match(/[\\d.]+/g).map(Number);
      return (0.2126 * r + 0.7152 * g + 0.0722 * b) / 255; };
    const light = [...document.querySelectorAll('body *')]
      .filter(e => [...e.childNodes].some(n => n.nodeType === 3 && n.textContent.trim())
        && e.getClientRects().length && luminance(getComputedStyle(e).color) > 0.5)
      .map(e => e.tagName + '.' + e.getAttribute('class')).slice(0, 5);
    return { notHidden: hidden, lightText: light, background: body.backgroundColor, color: body.color,
             lazyTurns: lazy, clippedScrollAreas: scroll, widerThanPage: wide,
             turns: document.querySelectorAll('li.turn').length };";

#[tokio::test]
async fn the_print_layout_drops_controls_and_prints_every_turn_black_on_white() {
    let (server, demo) = Server::start_with_demo(20);
    let link = demo_link(&server, &demo);
    let browser = Browser::start().await;
    browser.emulate_media("screen", "dark").await;
    open(&browser, &link).await;
    wait_rendered(&browser).await;
    let turns = count(&browser, "li.turn").await;
    assert!(turns >= 3);
    // On screen the controls are there.
    let screen = js(&browser, PRINT_CHECK).await;
    assert_eq!(screen["notHidden"].as_array().unwrap().len(), 4, "{screen}");

    // Printed on A4 (about 720 CSS px inside the margins), even from the dark scheme: no controls, black on
    // white, every turn laid out (none skipped by content-visibility), nothing clipped by a
    // scroll area or wider than the paper.
    browser.client.set_window_size(720, 1000).await.unwrap();
    browser.emulate_media("print", "dark").await;
    let printed = js(&browser, PRINT_CHECK).await;
    assert_eq!(printed["notHidden"], serde_json::json!([]), "{printed}");
    assert_eq!(printed["background"], "rgb(255, 255, 255)", "{printed}");
    assert_eq!(printed["color"], "rgb(0, 0, 0)", "{printed}");
    assert_eq!(printed["lazyTurns"], 0, "{printed}");
    assert_eq!(printed["clippedScrollAreas"], 0, "{printed}");
    assert_eq!(printed["widerThanPage"], serde_json::json!([]), "{printed}");
    assert_eq!(printed["lightText"], serde_json::json!([]), "{printed}");
    assert_eq!(printed["turns"], turns, "{printed}");
    browser.screenshot("viewer-15-print-layout").await;

    // The browser's own print: a PDF, saved beside the screenshots.
    let pdf = browser
        .client
        .print(PrintConfiguration::default())
        .await
        .unwrap();
    assert!(pdf.starts_with(b"%PDF-"), "a PDF");
    std::fs::write(
        callscope_e2e::artifacts_dir().join("viewer-print.pdf"),
        &pdf,
    )
    .unwrap();
    browser.close().await;
}
