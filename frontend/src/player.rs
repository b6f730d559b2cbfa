//! The call's recording, for links issued with it (`PublicDebugView::recording`): an
//! `<audio controls>` player synced with the transcript. While it plays, the turn whose
//! time range holds the audio's position (on the call's clock: `currentTime +
//! offset_seconds`) is marked `playing` with `aria-current`; a turn's time in the
//! transcript is a button that plays the recording from that turn (`Playback::seek`).
//!
//! The audio URL is short-lived. When it stops working (the `<audio>` element's `error`),
//! the page fetches its view again for a fresh URL and resumes where it was, playing if it
//! was; a link that no longer opens (revoked, expired) or no longer has the recording
//! says so instead.

use std::sync::Arc;

use callscope_shared::{PublicRecording, PublicTurn};
use leptos::html;
use leptos::prelude::*;
use leptos::task::spawn_local;

use crate::call_data::Call;
use crate::client::{self, LoadError};
use crate::dom;

/// Refreshes tried in a row without the audio loading before the player gives up.
const MAX_REFRESHES: u32 = 2;
/// The `<audio>` element's events the player follows (seeking fires `timeupdate` too).
const MEDIA_EVENTS: &[&str] = &["timeupdate", "loadedmetadata", "error", "play", "pause"];

/// The turn playing when the audio is at `call_seconds` on the call's clock: of the turns
/// that started by then, the one that started last (the later in the transcript on a tie).
/// A turn's range runs from its `timestamp` to the next turn's start; the last one's to
/// the end of the recording. `None` before the first turn starts.
pub fn current_turn(turns: &[PublicTurn], call_seconds: f64) -> Option<usize> {
    let mut best: Option<(usize, f64)> = None;
    for (i, turn) in turns.iter().enumerate() {
        let Some(at) = turn.timestamp.filter(|t| t.is_finite()) else {
            continue;
        };
        if at <= call_seconds && best.is_none_or(|(_, b)| at >= b) {
            best = Some((i, at));
        }
    }
    best.map(|(i, _)| i)
}

/// Where in the audio a moment of the call is heard: `call_seconds - offset`, not before
/// the audio's start.
pub fn audio_seconds(call_seconds: f64, offset: f64) -> f64 {
    (call_seconds - offset).max(0.0)
}

/// What the player says under the controls.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Status {
    Ready,
    /// Fetching a fresh URL after the last one stopped working.
    Refreshing,
    /// The link no longer gives the recording; nothing more to try.
    Gone(&'static str),
    /// The recording could not be loaded; the reader may try again.
    Failed,
}

/// The player's handle, shared with the transcript: `Copy`.
#[derive(Clone, Copy)]
pub struct Playback {
    audio: NodeRef<html::Audio>,
    /// Seconds from the call's start to the audio's first sample.
    offset: StoredValue<f64>,
}

impl Playback {
    pub fn new(recording: &PublicRecording) -> Playback {
        Playback {
            audio: NodeRef::new(),
            offset: StoredValue::new(if recording.offset_seconds.is_finite() {
                recording.offset_seconds
            } else {
                0.0
            }),
        }
    }

    /// Plays the recording from `call_seconds` on the call's clock (a turn's timestamp).
    pub fn seek(&self, call_seconds: f64) {
        let Some(audio) = self.audio.get_untracked() else {
            return;
        };
        audio.set_current_time(audio_seconds(call_seconds, self.offset.get_value()));
        play_now(&audio);
    }
}

/// Starts playing. A click is a user gesture, so the browser lets this play; a refusal
/// changes nothing (the reader still has the controls).
fn play_now(audio: &web_sys::HtmlAudioElement) {
    if let Ok(promise) = audio.play() {
        // Awaited, so a refusal is handled rather than an unhandled rejection.
        spawn_local(async move {
            let _ = wasm_bindgen_futures::JsFuture::from(promise).await;
        });
    }
}

/// The player panel. `path` is the link's page path, fetched again for a fresh URL.
#[component]
pub fn RecordingPlayer(
    recording: PublicRecording,
    playback: Playback,
    call: Call,
    path: Arc<str>,
) -> impl IntoView {
    let audio = playback.audio;
    let status = RwSignal::new(Status::Ready);
    // The last position the audio was known at (only while it had loaded), and whether
    // the reader wants it playing: what a refresh resumes.
    let position = StoredValue::new(0.0f64);
    let wants_play = StoredValue::new(false);
    let resume = StoredValue::new(None::<(f64, bool)>);
    let refreshes = StoredValue::new(0u32);
    let playing = StoredValue::new(None::<usize>);

    let on_time = move || {
        let Some(el) = audio.get_untracked() else {
            return;
        };
        // The element resets to 0 while a new URL loads: not the reader's position.
        if el.ready_state() < 1 {
            return;
        }
        let at = el.current_time();
        position.set_value(at);
        let now = call.peek(|v| current_turn(&v.turns, at + playback.offset.get_value()));
        dom::mark_playing(playing.get_value(), now, wants_play.get_value());
        playing.set_value(now);
    };
    let on_loaded = move || {
        refreshes.set_value(0);
        status.set(Status::Ready);
        if let (Some((at, play)), Some(el)) = (resume.get_value(), audio.get_untracked()) {
            resume.set_value(None);
            el.set_current_time(at);
            if play {
                play_now(&el);
            }
        }
    };
    let path = StoredValue::new(path);
    let refresh = move || {
        if refreshes.get_value() >= MAX_REFRESHES {
            status.set(Status::Failed);
            return;
        }
        refreshes.update_value(|n| *n += 1);
        if resume.get_value().is_none() {
            resume.set_value(Some((position.get_value(), wants_play.get_value())));
        }
        status.set(Status::Refreshing);
        let path = path.get_value();
        spawn_local(async move {
            let next = match client::fetch_call(&path).await {
                Ok(loaded) => match &loaded.view.recording {
                    Some(fresh) => {
                        playback.offset.set_value(fresh.offset_seconds);
                        if let Some(el) = audio.get_untracked() {
                            // Setting `src` loads it (even when the URL is the same).
                            el.set_src(&fresh.url);
                        }
                        Status::Refreshing
                    }
                    None => Status::Gone("This link no longer includes the recording."),
                },
                Err(LoadError::NotFound) => Status::Gone(
                    "This link was revoked or has expired: the recording no longer plays.",
                ),
                Err(_) => Status::Failed,
            };
            status.set(next);
        });
    };
    // The media events, through one listener (leaner than one handler each).
    let on_event = move |kind: &str| match kind {
        "timeupdate" => on_time(),
        "loadedmetadata" => on_loaded(),
        "play" => wants_play.set_value(true),
        "pause" => wants_play.set_value(false),
        "error" if !matches!(status.get_untracked(), Status::Gone(_)) => refresh(),
        _ => {}
    };
    Effect::new(move |_| {
        if let Some(el) = audio.get() {
            dom::listen(&el, MEDIA_EVENTS, on_event);
        }
    });
    let retry = move |_| {
        refreshes.set_value(0);
        refresh();
    };
    let message = move || match status.get() {
        Status::Ready => String::new(),
        Status::Refreshing => "Reconnecting to the recording…".to_owned(),
        Status::Gone(why) => why.to_owned(),
        Status::Failed => "The recording could not be loaded.".to_owned(),
    };
    view! {
        <section class="panel recording" aria-labelledby="recording-title">
            <div class="section-head">
                <h2 id="recording-title">"Recording"</h2>
                <span class="count" id="recording-hint">
                    "Select a turn's time to play from there"
                </span>
            </div>
            <audio
                node_ref=audio
                class="player"
                controls
                preload="metadata"
                src=recording.url
                aria-label="Call recording"
                aria-describedby="recording-hint"
            ></audio>
            <p class="recording-status" role="status" aria-live="polite">
                {message}
            </p>
            <Show when=move || status.get() == Status::Failed>
                <button type="button" class="button small" on:click=retry>
                    "Try again"
                </button>
            </Show>
        </section>
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use callscope_shared::Role;

    fn turns(at: &[Option<f64>]) -> Vec<PublicTurn> {
        at.iter()
            .map(|&timestamp| PublicTurn {
                role: Role::User,
                content: String::new(),
                llm_ttfb_ms: None,
                tts_start_ms: None,
                tts_ttfb_ms: None,
                timestamp,
                tool_calls: vec![],
                interrupted: false,
                stt_ms: None,
            })
            .collect()
    }

    #[test]
    fn the_current_turn_is_the_last_to_have_started() {
        let t = turns(&[Some(0.5), Some(2.4), Some(6.0), Some(9.1)]);
        assert_eq!(current_turn(&t, 0.0), None, "before the first turn");
        assert_eq!(
            current_turn(&t, 0.5),
            Some(0),
            "a turn starts at its timestamp"
        );
        assert_eq!(current_turn(&t, 2.39), Some(0));
        assert_eq!(current_turn(&t, 2.4), Some(1));
        assert_eq!(current_turn(&t, 5.99), Some(1));
        assert_eq!(current_turn(&t, 9.1), Some(3));
        assert_eq!(current_turn(&t, 500.0), Some(3), "the last runs to the end");
        assert_eq!(current_turn(&[], 3.0), None);
    }

    #[test]
    fn out_of_order_missing_and_equal_timestamps() {
        // A late entry stored out of time order, one without a time, two at once.
        let t = turns(&[
            Some(0.0),
            Some(8.0),
            Some(4.0),
            None,
            Some(8.0),
            Some(f64::NAN),
        ]);
        assert_eq!(current_turn(&t, 5.0), Some(2));
        assert_eq!(current_turn(&t, 3.0), Some(0));
        assert_eq!(current_turn(&t, 8.0), Some(4), "the later of two at once");
        assert_eq!(current_turn(&t, 100.0), Some(4));
    }

    #[test]
    fn audio_time_is_call_time_less_the_offset() {
        assert_eq!(audio_seconds(12.0, 3.0), 9.0);
        assert_eq!(audio_seconds(12.0, 0.0), 12.0);
        assert_eq!(audio_seconds(1.0, 3.0), 0.0, "before the audio starts");
        assert_eq!(audio_seconds(1.0, -2.0), 3.0);
    }
}
