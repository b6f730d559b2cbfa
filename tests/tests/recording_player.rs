//! The recording player end to end: a call with a real (silent) MP3 in the server's
//! embedded store, a link issued with `include_recording=true`, headless Chromium playing
//! it. The player loads the audio; setting the audio's time marks the turn being heard;
//! a turn's time (clicked, or Enter) seeks the audio to that turn; a URL that stops working
//! is replaced and playback resumes where it was; a revoked link's audio stops. A link
//! issued without the recording has no player.

use callscope_e2e::axe::assert_accessible_in_both_schemes;
use callscope_e2e::page::{click, count, js, open, text, wait_for, wait_rendered};
use callscope_e2e::recorded_call::{self, AUDIO_MS, RECORDING_OFFSET, TURN_TIMES};
use callscope_e2e::{Browser, Demo, Server};
use callscope_shared::CallId;
use fantoccini::Locator;
use serde_json::Value;

/// A server on demo data plus two recorded calls; the owner's API key.
struct World {
    server: Server,
    demo: Demo,
    with: CallId,
    without: CallId,
}

async fn world() -> World {
    let (dir, demo) = Server::demo_dir(3);
    let with = recorded_call::insert(&dir, "recordings/e2e/with.mp3").await;
    let without = recorded_call::insert(&dir, "recordings/e2e/without.mp3").await;
    World {
        server: Server::start_in(dir),
        demo,
        with,
        without,
    }
}

impl World {
    /// The call's debug link (full URL), issued with `query`.
    async fn link(&self, call: CallId, query: &str) -> (String, Value) {
        let response = reqwest::Client::new()
            .get(
                self.server
                    .url(&format!("/v1/calls/{call}/debug-link{query}")),
            )
            .bearer_auth(&self.demo.api_key)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200);
        let link: Value = response.json().await.unwrap();
        (self.server.url(link["url"].as_str().unwrap()), link)
    }

    async fn revoke(&self, call: CallId) {
        let response = reqwest::Client::new()
            .post(
                self.server
                    .url(&format!("/v1/calls/{call}/debug-link/revoke")),
            )
            .bearer_auth(&self.demo.api_key)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200);
    }
}

const AUDIO: &str = "document.querySelector('section.recording audio')";

/// Sets the audio's position (seconds) and waits until the element is there.
async fn set_time(browser: &Browser, seconds: f64) {
    js(
        browser,
        &format!("{AUDIO}.pause(); {AUDIO}.currentTime = {seconds}; return true"),
    )
    .await;
    wait_for(
        browser,
        &format!("the audio at {seconds} s"),
        &format!(
            "const a = {AUDIO}; return !a.seeking && Math.abs(a.currentTime - {seconds}) < 0.05"
        ),
    )
    .await;
}

/// Waits until turn `n` (1-based) is the one marked playing, and the only one.
async fn wait_playing(browser: &Browser, n: usize) {
    wait_for(
        browser,
        &format!("turn {n} marked playing"),
        &format!(
            "const p = document.querySelectorAll('li.turn.playing');
             return p.length === 1 && p[0].id === 'turn-{n}'
               && p[0].getAttribute('aria-current') === 'true'
               && document.querySelectorAll('[aria-current]').length === 1"
        ),
    )
    .await;
}

/// Waits until the audio is at `seconds` or up to 2 s past it (it may be playing).
async fn wait_audio_near(browser: &Browser, seconds: f64, what: &str) {
    wait_for(
        browser,
        what,
        &format!(
            "const a = {AUDIO}; return !a.seeking && a.currentTime >= {seconds} - 0.05
               && a.currentTime <= {seconds} + 2"
        ),
    )
    .await;
}

#[tokio::test]
async fn a_link_with_the_recording_plays_it_in_step_with_the_transcript() {
    let w = world().await;
    let (link, owner) = w.link(w.with, "?include_recording=true").await;
    assert_eq!(owner["include_recording"], true);
    let browser = Browser::start().await;
    open(&browser, &link).await;
    wait_rendered(&browser).await;

    // The player is there, above the transcript, and Chromium reads the MP3: its length is
    // the silence's (29 s).
    assert_eq!(
        count(&browser, "section.recording audio[controls]").await,
        1
    );
    assert_eq!(
        js(
            &browser,
            &format!("return {AUDIO}.getAttribute('aria-label')")
        )
        .await,
        "Call recording"
    );
    assert_eq!(
        js(
            &browser,
            "const r = document.querySelector('section.recording');
             const t = document.querySelector('section.transcript');
             return !!(r.compareDocumentPosition(t) & Node.DOCUMENT_POSITION_FOLLOWING)"
        )
        .await,
        true,
        "the player comes before the transcript"
    );
    wait_for(
        &browser,
        "the audio's metadata",
        &format!("const a = {AUDIO}; return a.readyState >= 1 && a.error === null"),
    )
    .await;
    let duration = js(&browser, &format!("return {AUDIO}.duration")).await;
    let duration = duration.as_f64().unwrap();
    assert!(
        (duration - f64::from(AUDIO_MS) / 1000.0).abs() < 0.1,
        "duration {duration}"
    );
    assert_eq!(count(&browser, "button.offset.seek").await, 6);
    js(
        &browser,
        "document.querySelector('section.recording').scrollIntoView({ behavior: 'instant' });
         return true",
    )
    .await;
    browser.screenshot("recording-1-player").await;

    // The audio's time plus the offset (1 s) is the call's time: 6 s in the audio is 0:07
    // of the call, in turn 3 (from 0:05); 12.5 s is 0:13.5, in turn 4 (from 0:09.5).
    set_time(&browser, 6.0).await;
    wait_playing(&browser, 3).await;
    set_time(&browser, 12.5).await;
    wait_playing(&browser, 4).await;
    // 0 s in the audio is 0:01 of the call: turn 1 (from 0:00).
    set_time(&browser, 0.0).await;
    wait_playing(&browser, 1).await;
    browser.screenshot("recording-2-turn-marked").await;

    // Clicking a turn's time seeks to that turn (and plays from there).
    click(&browser, "li#turn-5 button.seek").await;
    let turn5 = TURN_TIMES[4] - RECORDING_OFFSET as f64;
    wait_audio_near(&browser, turn5, "the audio at turn 5").await;
    // Paused within 2 s of it, well before turn 6 (0:18.2).
    js(&browser, &format!("{AUDIO}.pause(); return true")).await;
    wait_playing(&browser, 5).await;

    // Enter on a turn's time does the same.
    let button = browser
        .client
        .find(Locator::Css("li#turn-2 button.seek"))
        .await
        .unwrap();
    js(
        &browser,
        "document.querySelector('li#turn-2 button.seek').focus(); return true",
    )
    .await;
    button.send_keys("\u{E007}").await.unwrap();
    let turn2 = TURN_TIMES[1] - RECORDING_OFFSET as f64;
    wait_audio_near(&browser, turn2, "the audio at turn 2").await;
    js(&browser, &format!("{AUDIO}.pause(); return true")).await;
    wait_playing(&browser, 2).await;
    assert_eq!(
        js(
            &browser,
            "return document.activeElement.getAttribute('aria-label')"
        )
        .await,
        "Play the recording from 00:02",
        "the time keeps the focus"
    );

    set_time(&browser, 6.0).await;
    assert_accessible_in_both_schemes(&browser, "recording player").await;
    browser.close().await;
}

#[tokio::test]
async fn a_url_that_stops_working_is_replaced_and_a_revoked_links_audio_stops() {
    let w = world().await;
    let (link, _) = w.link(w.with, "?include_recording=true").await;
    let browser = Browser::start().await;
    open(&browser, &link).await;
    wait_rendered(&browser).await;
    wait_for(
        &browser,
        "the audio's metadata",
        &format!("return {AUDIO}.readyState >= 1"),
    )
    .await;
    set_time(&browser, 7.0).await;
    wait_playing(&browser, 3).await;

    // The URL stops working (as when it expires): the page fetches the view again, loads the
    // fresh URL and puts the audio back where it was.
    js(
        &browser,
        &format!(
            "const a = {AUDIO}; a.src = a.src.replace(/signature=[^&]+/, 'signature=expired');
             return true"
        ),
    )
    .await;
    wait_for(
        &browser,
        "a fresh URL, back at 7 s",
        &format!(
            "const a = {AUDIO}; return !a.src.includes('signature=expired') && a.error === null
               && a.readyState >= 1 && Math.abs(a.currentTime - 7) < 0.05"
        ),
    )
    .await;
    assert_eq!(text(&browser, ".recording-status").await, "");
    wait_playing(&browser, 3).await;

    // Revoked: the audio URL answers 404, the view too, and the player says so. (Chromium
    // keeps the bytes it already read in memory for a few minutes, whatever the headers,
    // so the URL asked for again is made one it has not read: the route ignores unknown
    // parameters.)
    w.revoke(w.with).await;
    js(
        &browser,
        &format!("const a = {AUDIO}; a.src = a.src + '&again=1'; return true"),
    )
    .await;
    wait_for(
        &browser,
        "the player to say the link is gone",
        "return document.querySelector('.recording-status').textContent.includes('revoked')",
    )
    .await;
    assert_eq!(
        text(&browser, ".recording-status").await,
        "This link was revoked or has expired: the recording no longer plays."
    );
    browser.screenshot("recording-3-revoked").await;
    browser.close().await;
}

#[tokio::test]
async fn a_link_without_the_recording_has_no_player() {
    let w = world().await;
    let (link, owner) = w.link(w.without, "").await;
    assert_eq!(owner["include_recording"], false);
    let view: Value = reqwest::Client::new()
        .get(&link)
        .header("accept", "application/json")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(view["recording"], Value::Null);
    let browser = Browser::start().await;
    open(&browser, &link).await;
    wait_rendered(&browser).await;
    assert_eq!(count(&browser, "li.turn").await, TURN_TIMES.len() as u64);
    assert_eq!(count(&browser, "audio").await, 0);
    assert_eq!(count(&browser, "section.recording").await, 0);
    assert_eq!(
        count(&browser, "button.seek").await,
        0,
        "times are plain text"
    );
    assert_eq!(
        count(&browser, "span.offset").await,
        TURN_TIMES.len() as u64
    );
    browser.close().await;
}
