//! The few imperative browser calls the viewer makes: local time offset, scrolling to and
//! highlighting a turn, the clipboard, the download and a performance mark.

use leptos::prelude::{UpdateValue, document, request_animation_frame, window};
use wasm_bindgen::{JsCast, JsValue};
use web_sys::js_sys;

/// The viewer's UTC offset at `unix` seconds, in minutes east of UTC.
pub fn utc_offset_minutes(unix: i64) -> i32 {
    let date = js_sys::Date::new(&JsValue::from_f64(unix as f64 * 1000.0));
    -(date.get_timezone_offset() as i32)
}

/// Name of the performance mark set on the first frame that shows a loaded call; the
/// first-paint benchmark reads it, and browser devtools show it on their timeline.
pub const PAINTED_MARK: &str = "callscope:call-painted";

/// Sets [`PAINTED_MARK`] on the next frame (after the DOM just built is mounted).
pub fn mark_painted() {
    request_animation_frame(|| {
        if let Some(performance) = window().performance() {
            let _ = performance.mark(PAINTED_MARK);
        }
    });
}

/// Whether the focused element takes text (an input, a text area or an editable element),
/// so a typed key belongs to it rather than to a page shortcut.
pub fn typing_in_a_field() -> bool {
    let Some(el) = document().active_element() else {
        return false;
    };
    matches!(el.tag_name().as_str(), "INPUT" | "TEXTAREA" | "SELECT")
        || el
            .dyn_ref::<web_sys::HtmlElement>()
            .is_some_and(|e| e.is_content_editable())
}

/// The class that takes an element out of the layout before it is removed.
pub const RETIRED: &str = "retired";

/// Takes the element `selector` finds out of the layout at once. Removing an element
/// that is laid out with thousands of `content-visibility: auto` children costs Chromium
/// far more than dropping the same element once it is hidden.
pub fn hide_before_removal(selector: &str) {
    if let Ok(Some(el)) = document().query_selector(selector) {
        let _ = el.class_list().add_1(RETIRED);
        if let Ok(el) = el.dyn_into::<web_sys::HtmlElement>() {
            // Reading a layout value applies the class now, not after the removal.
            let _ = el.offset_height();
        }
    }
}

/// The current location's hash (`#turn-3`), or empty.
pub fn location_hash() -> String {
    window().location().hash().unwrap_or_default()
}

/// The class that marks the turn a link pointed at.
pub const HIGHLIGHT: &str = "highlighted";

/// Scrolls turn element `id` into view, highlights it (only it) and focuses it. Tries again
/// on the next frames while the element is not rendered yet.
pub fn highlight(id: String, tries: u32) {
    let Some(el) = document().get_element_by_id(&id) else {
        if tries > 0 {
            request_animation_frame(move || highlight(id, tries - 1));
        }
        return;
    };
    if let Ok(old) = document().query_selector_all(&format!(".{HIGHLIGHT}")) {
        for i in 0..old.length() {
            if let Some(e) = old
                .item(i)
                .and_then(|n| n.dyn_into::<web_sys::Element>().ok())
            {
                let _ = e.class_list().remove_1(HIGHLIGHT);
            }
        }
    }
    let _ = el.class_list().add_1(HIGHLIGHT);
    center(&el);
    // Turns off screen are laid out at an estimated height (`content-visibility`); once
    // those near the target have their real size, centre it again.
    let again = el.clone();
    request_animation_frame(move || request_animation_frame(move || center(&again)));
    if let Ok(el) = el.dyn_into::<web_sys::HtmlElement>() {
        let focus = web_sys::FocusOptions::new();
        focus.set_prevent_scroll(true);
        let _ = el.focus_with_options(&focus);
    }
}

/// The class (with `aria-current="true"`) of the turn the recording is playing.
pub const PLAYING: &str = "playing";

/// Moves the playing mark from turn `before` to turn `now` (0-based; `None`: no turn).
/// Also puts it back on a turn whose element was rendered anew (a search redraws the
/// list). With `follow` (the audio is playing) and the reader looking at the turn that was
/// playing, the new one is scrolled into view as little as needed.
pub fn mark_playing(before: Option<usize>, now: Option<usize>, follow: bool) {
    let turn = |i: usize| document().get_element_by_id(&crate::route::turn_anchor(i));
    let target = now.and_then(turn);
    if before == now
        && target
            .as_ref()
            .is_none_or(|el| el.class_list().contains(PLAYING))
    {
        return;
    }
    let was_in_view = before.and_then(turn).is_some_and(|el| in_view(&el));
    if let Ok(old) = document().query_selector_all(&format!(".{PLAYING}")) {
        for i in 0..old.length() {
            if let Some(e) = old
                .item(i)
                .and_then(|n| n.dyn_into::<web_sys::Element>().ok())
            {
                let _ = e.class_list().remove_1(PLAYING);
                let _ = e.remove_attribute("aria-current");
            }
        }
    }
    let Some(el) = target else {
        return;
    };
    let _ = el.class_list().add_1(PLAYING);
    let _ = el.set_attribute("aria-current", "true");
    if follow && was_in_view && !in_view(&el) {
        let options = web_sys::ScrollIntoViewOptions::new();
        options.set_block(web_sys::ScrollLogicalPosition::Nearest);
        options.set_behavior(web_sys::ScrollBehavior::Instant);
        el.scroll_into_view_with_scroll_into_view_options(&options);
    }
}

/// Whether all of `el` is within the viewport's height.
fn in_view(el: &web_sys::Element) -> bool {
    let rect = el.get_bounding_client_rect();
    let height = window()
        .inner_height()
        .ok()
        .and_then(|h| h.as_f64())
        .unwrap_or(0.0);
    rect.top() >= 0.0 && rect.bottom() <= height
}

/// Scrolls `el` to the middle of the viewport at once (a smooth scroll over thousands of
/// turns would race the layout of the turns it passes).
fn center(el: &web_sys::Element) {
    let options = web_sys::ScrollIntoViewOptions::new();
    options.set_block(web_sys::ScrollLogicalPosition::Center);
    options.set_behavior(web_sys::ScrollBehavior::Instant);
    el.scroll_into_view_with_scroll_into_view_options(&options);
}

/// Copies `text` to the clipboard.
pub async fn copy(text: &str) -> Result<(), ()> {
    let clipboard = window().navigator().clipboard();
    wasm_bindgen_futures::JsFuture::from(clipboard.write_text(text))
        .await
        .map(|_| ())
        .map_err(|_| ())
}

/// Offers `text` as a download named `name`.
pub fn download(name: &str, text: &str, mime: &str) -> Result<(), JsValue> {
    let parts = js_sys::Array::of1(&JsValue::from_str(text));
    let options = web_sys::BlobPropertyBag::new();
    options.set_type(mime);
    let blob = web_sys::Blob::new_with_str_sequence_and_options(&parts, &options)?;
    let url = web_sys::Url::create_object_url_with_blob(&blob)?;
    let a: web_sys::HtmlAnchorElement = document().create_element("a")?.unchecked_into();
    a.set_href(&url);
    a.set_download(name);
    a.click();
    // Let the download start before releasing the blob.
    leptos::prelude::set_timeout(
        move || {
            let _ = web_sys::Url::revoke_object_url(&url);
        },
        std::time::Duration::from_secs(10),
    );
    Ok(())
}

/// Calls `handler` with the event's type for each of `kinds` on `target`, for as long as
/// the current reactive owner lives (one closure for all of them).
pub fn listen(
    target: &web_sys::EventTarget,
    kinds: &'static [&'static str],
    handler: impl Fn(&str) + 'static,
) {
    let closure =
        wasm_bindgen::closure::Closure::<dyn Fn(web_sys::Event)>::new(move |ev: web_sys::Event| {
            handler(&ev.type_())
        });
    for kind in kinds {
        let _ = target.add_event_listener_with_callback(kind, closure.as_ref().unchecked_ref());
    }
    let kept = leptos::prelude::StoredValue::new_local(Some((target.clone(), closure)));
    leptos::prelude::on_cleanup(move || {
        if let Some(Some((target, closure))) = kept.try_update_value(Option::take) {
            for kind in kinds {
                let _ = target
                    .remove_event_listener_with_callback(kind, closure.as_ref().unchecked_ref());
            }
        }
    });
}

/// The viewer's clock, in seconds since the Unix epoch.
pub fn now_unix() -> f64 {
    js_sys::Date::now() / 1000.0
}

/// How close (px) to the viewport's bottom the end of a list counts as "at the end".
const AT_END_SLACK: f64 = 48.0;

/// Whether the end of the element `selector` finds is on screen (or above it): the reader
/// is at the end of it. False when there is no such element.
pub fn end_in_view(selector: &str) -> bool {
    let Ok(Some(el)) = document().query_selector(selector) else {
        return false;
    };
    let height = window()
        .inner_height()
        .ok()
        .and_then(|h| h.as_f64())
        .unwrap_or(0.0);
    el.get_bounding_client_rect().bottom() <= height + AT_END_SLACK
}

/// Scrolls so the last child of the element `selector` finds is on screen (as little as
/// needed), on the next frame, once it is laid out.
pub fn reveal_last_child(selector: &'static str) {
    request_animation_frame(move || {
        if let Ok(Some(el)) = document().query_selector(selector)
            && let Some(last) = el.last_element_child()
        {
            let options = web_sys::ScrollIntoViewOptions::new();
            options.set_block(web_sys::ScrollLogicalPosition::Nearest);
            options.set_behavior(web_sys::ScrollBehavior::Instant);
            last.scroll_into_view_with_scroll_into_view_options(&options);
        }
    });
}
