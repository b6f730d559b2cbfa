//! The viewer against WCAG 2.1 AA, checked by axe-core in headless Chromium: every state
//! of the page, in the light and the dark colour scheme, on a wide and a phone-width
//! screen, and as printed. Colour contrast is one of the rules checked.

use callscope_e2e::axe::{self, assert_accessible};
use callscope_e2e::page::{demo_link, js, wait_for, wait_rendered};
use callscope_e2e::{Browser, Server};
use fantoccini::Locator;

const SCHEMES: [&str; 2] = ["light", "dark"];

#[tokio::test]
async fn a_call_meets_wcag_aa_in_both_schemes_wide_narrow_searched_and_printed() {
    let (server, demo) = Server::start_with_demo(20);
    let link = demo_link(&server, &demo);
    let browser = Browser::start().await;
    // A linked turn is highlighted: its colours are checked too.
    browser
        .client
        .goto(&format!("{link}#turn-2"))
        .await
        .unwrap();
    wait_rendered(&browser).await;
    wait_for(
        &browser,
        "turn 2 highlighted",
        "return !!document.querySelector('li#turn-2.highlighted')",
    )
    .await;
    for scheme in SCHEMES {
        browser.emulate_media("screen", scheme).await;
        assert_accessible(&browser, &format!("call, {scheme}")).await;
    }

    // Search marks and the match count.
    let input = browser
        .client
        .find(Locator::Css("#transcript-search"))
        .await
        .unwrap();
    input.send_keys("the").await.unwrap();
    wait_for(
        &browser,
        "search marks",
        "return document.querySelectorAll('ol.turns mark').length > 0",
    )
    .await;
    for scheme in SCHEMES {
        browser.emulate_media("screen", scheme).await;
        assert_accessible(&browser, &format!("searched call, {scheme}")).await;
    }

    browser.client.set_window_size(390, 844).await.unwrap();
    for scheme in SCHEMES {
        browser.emulate_media("screen", scheme).await;
        assert_accessible(&browser, &format!("phone, {scheme}")).await;
    }

    browser.emulate_media("print", "light").await;
    assert_accessible(&browser, "print").await;
    browser.close().await;
}

#[tokio::test]
async fn error_states_meet_wcag_aa_in_both_schemes() {
    let (server, demo) = Server::start_with_demo(3);
    let browser = Browser::start().await;
    let unknown = "A".repeat(43);
    browser
        .client
        .goto(&server.url(&format!("/api/v1/call-debug/{unknown}")))
        .await
        .unwrap();
    wait_for(
        &browser,
        "the not-found state",
        "return !!document.querySelector('.state.not-found')",
    )
    .await;
    for scheme in SCHEMES {
        browser.emulate_media("screen", scheme).await;
        assert_accessible(&browser, &format!("not found, {scheme}")).await;
    }

    // Enough misses trip the limiter: the rate-limited panel with its retry button.
    let client = reqwest::Client::new();
    for _ in 0..30 {
        client
            .get(server.url(&format!("/api/v1/call-debug/{unknown}")))
            .header("accept", "application/json")
            .send()
            .await
            .unwrap();
    }
    browser
        .client
        .goto(&demo_link(&server, &demo))
        .await
        .unwrap();
    let states = [
        ("rate-limited", None),
        (
            "network-error",
            Some("window.fetch = () => Promise.reject(new TypeError('Failed to fetch'))"),
        ),
        (
            "skeleton",
            Some("window.fetch = () => new Promise(() => {})"),
        ),
    ];
    for (state, fetch) in states {
        if let Some(fetch) = fetch {
            js(&browser, &format!("{fetch}; return true")).await;
            browser
                .client
                .find(Locator::Css("button.retry"))
                .await
                .unwrap()
                .click()
                .await
                .unwrap();
        }
        wait_for(
            &browser,
            state,
            &format!("return !!document.querySelector('.{state}')"),
        )
        .await;
        for scheme in SCHEMES {
            browser.emulate_media("screen", scheme).await;
            assert_accessible(&browser, &format!("{state}, {scheme}")).await;
        }
    }
    browser.close().await;
}

#[tokio::test]
async fn the_checker_catches_low_contrast_text() {
    // The check above must be able to fail: grey on grey text is reported.
    let (server, demo) = Server::start_with_demo(1);
    let browser = Browser::start().await;
    browser
        .client
        .goto(&demo_link(&server, &demo))
        .await
        .unwrap();
    wait_rendered(&browser).await;
    js(
        &browser,
        "const p = document.createElement('p'); p.textContent = 'hard to read'; \
         p.style.color = '#999'; p.style.background = '#aaa'; \
         document.querySelector('.call-header').append(p); return true",
    )
    .await;
    let report = axe::run(&browser).await;
    assert!(
        report
            .violations
            .iter()
            .any(|v| v.starts_with("color-contrast")),
        "{report:?}"
    );
    browser.close().await;
}
