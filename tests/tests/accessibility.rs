//! The viewer against WCAG 2.1 AA, checked by axe-core in headless Chromium: a call in the
//! light and the dark colour scheme, searched, on a wide and a phone-width screen, and as
//! printed. Colour contrast is one of the rules checked. (The error and loading states are
//! checked where `viewer.rs` walks through them.)

use callscope_e2e::axe::{self, assert_accessible, assert_accessible_in_both_schemes};
use callscope_e2e::page::{demo_link, js, open, open_turn, search, wait_for, wait_rendered};
use callscope_e2e::{Browser, Server};

#[tokio::test]
async fn a_call_meets_wcag_aa_in_both_schemes_wide_narrow_searched_and_printed() {
    let (server, demo) = Server::start_with_demo(20);
    let link = demo_link(&server, &demo);
    let browser = Browser::start().await;
    // A linked turn is highlighted: its colours are checked too.
    open_turn(&browser, &link, 2).await;
    wait_rendered(&browser).await;
    assert_accessible_in_both_schemes(&browser, "call").await;

    // Search marks and the match count.
    search(&browser, "the").await;
    wait_for(
        &browser,
        "search marks",
        "return document.querySelectorAll('ol.turns mark').length > 0",
    )
    .await;
    assert_accessible_in_both_schemes(&browser, "searched call").await;

    browser.client.set_window_size(390, 844).await.unwrap();
    assert_accessible_in_both_schemes(&browser, "phone").await;

    browser.emulate_media("print", "light").await;
    assert_accessible(&browser, "print").await;
    browser.close().await;
}

#[tokio::test]
async fn the_checker_catches_low_contrast_text() {
    // The check above must be able to fail: grey on grey text is reported.
    let (server, demo) = Server::start_with_demo(1);
    let browser = Browser::start().await;
    open(&browser, &demo_link(&server, &demo)).await;
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
