//! The viewer against WCAG 2.1 AA, checked by axe-core in headless Chromium: a call in the
//! light and the dark colour scheme, searched, on a wide and a phone-width screen, and as
//! printed. Colour contrast is one of the rules checked. (The error and loading states are
//! checked where `viewer.rs` walks through them.) And the page works from the keyboard.

use callscope_e2e::axe::{self, assert_accessible, assert_accessible_in_both_schemes};
use callscope_e2e::page::{demo_link, js, open, open_turn, search, wait_for, wait_rendered};
use callscope_e2e::{Browser, Server};
use fantoccini::key::Key;

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

/// The focused element: a short name, whether it shows a focus ring (an outline, or the
/// highlighted hit area of a chart bar), and the turn its link points at, if any.
const FOCUSED: &str = "
    const e = document.activeElement;
    const cls = (e.getAttribute('class') || '').trim().split(/\\s+/).filter(c => c).join('.');
    const name = e.tagName.toLowerCase() + (e.id ? '#' + e.id : '') + (cls ? '.' + cls : '')
      + (e.closest('.bar') ? ' in bar' : '') + (e.closest('.budget-input') ? ' budget' : '');
    const s = getComputedStyle(e);
    const hit = e.querySelector && e.querySelector('.hit');
    const ring = (s.outlineStyle !== 'none' && parseFloat(s.outlineWidth) >= 2)
      || (!!hit && getComputedStyle(hit).stroke !== 'none');
    return { name, ring };";

async fn press(browser: &Browser, keys: &str) {
    browser
        .client
        .active_element()
        .await
        .unwrap()
        .send_keys(keys)
        .await
        .unwrap();
}

#[tokio::test]
async fn the_keyboard_alone_reaches_every_control_with_a_visible_focus_ring() {
    let (server, demo) = Server::start_with_demo(20);
    let browser = Browser::start().await;
    open(&browser, &demo_link(&server, &demo)).await;
    wait_rendered(&browser).await;

    // Tab through the page from the top until focus comes back round.
    let mut stops: Vec<String> = Vec::new();
    for _ in 0..200 {
        press(&browser, &Key::Tab.to_string()).await;
        let focused = js(&browser, FOCUSED).await;
        let name = focused["name"].as_str().unwrap().to_owned();
        if name == "body" || stops.first() == Some(&name) && stops.len() > 1 {
            break;
        }
        assert_eq!(focused["ring"], true, "{name} shows no focus ring");
        stops.push(name);
    }
    for control in [
        "button.button.copy-link",
        "button.button.download",
        "a.slowest-link",
        "input budget",
        "a in bar",
        "input#transcript-search",
        "a.turn-no",
    ] {
        assert!(
            stops.iter().any(|s| s == control),
            "Tab never reaches {control}: {stops:?}"
        );
    }

    // Enter on a chart bar follows its link to the turn.
    wait_for(
        &browser,
        "a bar focused",
        "document.querySelector('.bar a').focus(); return document.activeElement.closest('.bar') !== null",
    )
    .await;
    let turn = js(
        &browser,
        "return document.activeElement.closest('.bar').dataset.turn",
    )
    .await;
    press(&browser, &Key::Enter.to_string()).await;
    wait_for(
        &browser,
        "the bar's turn highlighted",
        &format!(
            "return !!document.querySelector('li#turn-{}.highlighted')",
            turn.as_str().unwrap()
        ),
    )
    .await;

    // "/" jumps to the search box from anywhere but a text field; Escape clears it.
    press(&browser, "/").await;
    let focused = js(&browser, "return document.activeElement.id").await;
    assert_eq!(focused, "transcript-search");
    press(&browser, "a/b").await;
    assert_eq!(
        js(&browser, "return document.activeElement.value").await,
        "a/b",
        "a slash typed in the search box is text"
    );
    press(&browser, &Key::Escape.to_string()).await;
    assert_eq!(
        js(&browser, "return document.activeElement.value").await,
        ""
    );
    browser.close().await;
}
