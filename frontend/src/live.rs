//! Live mode, the pure part: the events of a debug link's stream (`<link>/events`,
//! Server-Sent Events, `callscope_shared::live_view`), what each does to the view, and the
//! state of the connection the page shows. `follow` opens the stream; `call_data` holds
//! the view the components read.

use callscope_shared::live_view::{self, StreamClosed, TurnsAppended, WebhooksAppended};
use callscope_shared::{PublicCallState, PublicDebugView};

use crate::client::from_json;

/// One event of the stream, parsed.
#[derive(Debug, Clone, PartialEq)]
pub enum LiveEvent {
    /// The whole view: replaces the one shown.
    Snapshot(Box<PublicDebugView>),
    Turns(TurnsAppended),
    Webhooks(WebhooksAppended),
    Call(Box<PublicCallState>),
    /// The call ended; the view is final.
    End,
    /// The link no longer opens.
    Closed(Closed),
}

/// Why a link stopped opening while the page followed its call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Closed {
    Revoked,
    Expired,
    /// The server no longer knows the link (revoked or expired while the page was away).
    Gone,
}

impl Closed {
    fn from_reason(reason: &str) -> Closed {
        match reason {
            "revoked" => Closed::Revoked,
            "expired" => Closed::Expired,
            _ => Closed::Gone,
        }
    }

    /// The sentence the page shows.
    pub fn sentence(self) -> &'static str {
        match self {
            Closed::Revoked => "This link was revoked: the view stopped updating.",
            Closed::Expired => "This link expired: the view stopped updating.",
            Closed::Gone => {
                "This link no longer opens (revoked or expired): the view stopped updating."
            }
        }
    }
}

/// Parses the event named `kind` with `data` (one JSON value). Unknown kinds are an error
/// the caller may ignore (a newer server).
pub fn parse(kind: &str, data: &str) -> Result<LiveEvent, String> {
    let bad = |e: String| format!("{kind}: {e}");
    Ok(match kind {
        live_view::SNAPSHOT => LiveEvent::Snapshot(from_json(data).map_err(bad)?),
        live_view::TURNS => LiveEvent::Turns(from_json(data).map_err(bad)?),
        live_view::WEBHOOKS => LiveEvent::Webhooks(from_json(data).map_err(bad)?),
        live_view::CALL => LiveEvent::Call(from_json(data).map_err(bad)?),
        live_view::END => LiveEvent::End,
        live_view::CLOSED => {
            let closed: StreamClosed = from_json(data).map_err(bad)?;
            LiveEvent::Closed(Closed::from_reason(&closed.reason))
        }
        other => return Err(format!("unknown event {other:?}")),
    })
}

/// What applying one event changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Applied {
    /// Turns were added at the end, the first of them at this index.
    pub turns_from: Option<usize>,
    /// The turns were replaced by others (not appended to): the transcript starts over.
    pub turns_replaced: bool,
    pub webhooks: bool,
    /// Status, duration, ending, latency summary or call-control events.
    pub state: bool,
    /// An append did not start where the view stands (a gap): the view no longer follows
    /// the stream and must start over from a snapshot.
    pub out_of_step: bool,
}

impl Applied {
    pub fn changed(&self) -> bool {
        self.turns_from.is_some() || self.turns_replaced || self.webhooks || self.state
    }
}

/// Appends `new` (which starts at index `from`) to `items`: what overlaps what is there is
/// skipped; `Err` for a gap.
fn append<T>(items: &mut Vec<T>, from: usize, new: Vec<T>) -> Result<Option<usize>, ()> {
    let len = items.len();
    if from > len {
        return Err(());
    }
    let skip = len - from;
    if new.len() <= skip {
        return Ok(None);
    }
    items.extend(new.into_iter().skip(skip));
    Ok(Some(len))
}

/// Applies `event` to `view`. `End` and `Closed` change nothing here (see [`Link`]).
pub fn apply(view: &mut PublicDebugView, event: LiveEvent) -> Applied {
    let mut applied = Applied::default();
    match event {
        LiveEvent::Snapshot(next) => {
            let len = view.turns.len();
            if next.turns.len() >= len && next.turns[..len] == view.turns[..] {
                if next.turns.len() > len {
                    applied.turns_from = Some(len);
                }
            } else {
                applied.turns_replaced = true;
            }
            applied.webhooks = next.webhooks != view.webhooks;
            applied.state = next.call_state() != view.call_state();
            // Snapshots never carry the recording: keep the one the JSON view gave.
            let recording = view.recording.take();
            *view = *next;
            if view.recording.is_none() {
                view.recording = recording;
            }
        }
        LiveEvent::Turns(t) => match append(&mut view.turns, t.from as usize, t.turns) {
            Ok(from) => applied.turns_from = from,
            Err(()) => applied.out_of_step = true,
        },
        LiveEvent::Webhooks(w) => match append(&mut view.webhooks, w.from as usize, w.webhooks) {
            Ok(from) => applied.webhooks = from.is_some(),
            Err(()) => applied.out_of_step = true,
        },
        LiveEvent::Call(state) => {
            if *state != view.call_state() {
                view.set_call_state(*state);
                applied.state = true;
            }
        }
        LiveEvent::End | LiveEvent::Closed(_) => {}
    }
    applied
}

/// The page's link to a live call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Link {
    /// The call had ended when the page loaded: nothing to follow.
    Final,
    /// Opening the stream.
    Connecting,
    /// Following the call.
    Live,
    /// The stream dropped; the browser is opening it again.
    Reconnecting,
    /// The call ended while the page followed it; the view is final.
    Ended,
    /// The link stopped opening while the page followed the call.
    Closed(Closed),
}

impl Link {
    /// The state a freshly loaded call starts in.
    pub fn for_loaded(view: &PublicDebugView) -> Link {
        if view.status.is_live() {
            Link::Connecting
        } else {
            Link::Final
        }
    }

    /// Whether the page is (or is trying to be) following the call: the duration runs.
    pub fn following(self) -> bool {
        matches!(self, Link::Connecting | Link::Live | Link::Reconnecting)
    }

    /// The state after any event arrived.
    pub fn on_event(self) -> Link {
        if self.following() { Link::Live } else { self }
    }

    /// The state after the stream reported an error, while the browser reconnects.
    pub fn on_drop(self) -> Link {
        if self.following() {
            Link::Reconnecting
        } else {
            self
        }
    }

    /// The badge's words.
    pub fn label(self) -> &'static str {
        match self {
            Link::Final => "",
            Link::Connecting => "Connecting…",
            Link::Live => "Live",
            Link::Reconnecting => "Reconnecting…",
            Link::Ended => "Call ended",
            Link::Closed(_) => "Link closed",
        }
    }

    /// The badge's class.
    pub fn class(self) -> &'static str {
        match self {
            Link::Final => "final",
            Link::Connecting => "connecting",
            Link::Live => "live",
            Link::Reconnecting => "reconnecting",
            Link::Ended => "ended",
            Link::Closed(_) => "closed",
        }
    }
}

/// The running duration of a live call: seconds from its start to `now_unix` (the viewer's
/// clock), never less than what the server said, never negative.
pub fn running_seconds(view: &PublicDebugView, now_unix: f64) -> i64 {
    let since = (now_unix - view.started_at.unix() as f64).floor() as i64;
    since.max(view.duration_seconds).max(0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use callscope_shared::{PublicTurn, Role};
    use serde_json::json;

    fn view() -> PublicDebugView {
        serde_json::from_value(json!({
            "call_id": "call_00000007", "status": "in-progress", "duration_seconds": 0,
            "from": "+316*****678", "to": "+318*****345", "started_at": "2026-01-15T10:00:00Z",
            "turns": [{"role": "assistant", "content": "Hello", "timestamp": 0.0,
                       "llm_ttfb_ms": 200, "tts_start_ms": 300, "tts_ttfb_ms": 90}]
        }))
        .unwrap()
    }

    fn turn(content: &str) -> PublicTurn {
        PublicTurn {
            role: Role::User,
            content: content.into(),
            llm_ttfb_ms: None,
            tts_start_ms: None,
            tts_ttfb_ms: None,
            timestamp: Some(2.0),
            tool_calls: vec![],
            interrupted: false,
            stt_ms: None,
        }
    }

    #[test]
    fn events_parse_by_name() {
        let turns = parse(
            "turns",
            r#"{"from":1,"turns":[{"role":"user","content":"Hi"}]}"#,
        )
        .unwrap();
        assert!(matches!(turns, LiveEvent::Turns(t) if t.from == 1 && t.turns.len() == 1));
        assert_eq!(parse("end", "{}").unwrap(), LiveEvent::End);
        assert_eq!(
            parse("closed", r#"{"reason":"revoked"}"#).unwrap(),
            LiveEvent::Closed(Closed::Revoked)
        );
        assert_eq!(
            parse("closed", r#"{"reason":"expired"}"#).unwrap(),
            LiveEvent::Closed(Closed::Expired)
        );
        assert!(parse("turns", "not json").is_err());
        assert!(parse("mystery", "{}").is_err());
        let state = serde_json::to_string(&view().call_state()).unwrap();
        assert!(matches!(parse("call", &state), Ok(LiveEvent::Call(_))));
    }

    #[test]
    fn turns_append_where_the_view_stands() {
        let mut v = view();
        let applied = apply(
            &mut v,
            LiveEvent::Turns(TurnsAppended {
                from: 1,
                turns: vec![turn("a"), turn("b")],
            }),
        );
        assert_eq!(applied.turns_from, Some(1));
        assert!(!applied.turns_replaced && !applied.out_of_step);
        assert_eq!(v.turns.len(), 3);
    }

    #[test]
    fn a_repeated_append_adds_only_what_is_new_and_a_gap_is_out_of_step() {
        let mut v = view();
        let again = LiveEvent::Turns(TurnsAppended {
            from: 0,
            turns: vec![v.turns[0].clone(), turn("new")],
        });
        assert_eq!(apply(&mut v, again.clone()).turns_from, Some(1));
        assert_eq!(v.turns.len(), 2);
        assert_eq!(apply(&mut v, again), Applied::default());
        assert_eq!(v.turns.len(), 2);
        let gap = apply(
            &mut v,
            LiveEvent::Turns(TurnsAppended {
                from: 5,
                turns: vec![turn("far")],
            }),
        );
        assert!(gap.out_of_step);
        assert_eq!(v.turns.len(), 2, "nothing applied across a gap");
    }

    #[test]
    fn a_snapshot_that_extends_the_turns_is_an_append_else_a_replacement() {
        let mut v = view();
        let mut longer = view();
        longer.turns.push(turn("more"));
        let applied = apply(&mut v, LiveEvent::Snapshot(Box::new(longer.clone())));
        assert_eq!(applied.turns_from, Some(1));
        assert!(!applied.turns_replaced && !applied.state && !applied.webhooks);
        // The same snapshot again changes nothing.
        assert!(!apply(&mut v, LiveEvent::Snapshot(Box::new(longer))).changed());
        let mut other = view();
        other.turns[0].content = "Different".into();
        let applied = apply(&mut v, LiveEvent::Snapshot(Box::new(other)));
        assert!(applied.turns_replaced);
        assert_eq!(v.turns.len(), 1);
        assert_eq!(v.turns[0].content, "Different");
    }

    #[test]
    fn a_snapshot_keeps_the_recording_the_json_view_gave() {
        let recording = callscope_shared::PublicRecording {
            url: "/api/v1/call-debug/t/recording?expires=1&signature=s".into(),
            expires_at: callscope_shared::Timestamp::from_unix(1).unwrap(),
            offset_seconds: 2.0,
        };
        let mut v = view();
        v.recording = Some(recording.clone());
        let mut next = view();
        next.turns.push(turn("more"));
        assert_eq!(next.recording, None, "snapshots carry none");
        apply(&mut v, LiveEvent::Snapshot(Box::new(next)));
        assert_eq!((v.turns.len(), v.recording), (2, Some(recording)));
    }

    #[test]
    fn a_call_event_replaces_the_state() {
        let mut v = view();
        let mut state = v.call_state();
        assert!(!apply(&mut v, LiveEvent::Call(Box::new(state.clone()))).changed());
        state.status = callscope_shared::CallStatus::Completed;
        state.duration_seconds = 42;
        state.latency.llm_ttfb_ms.p50 = Some(200);
        let applied = apply(&mut v, LiveEvent::Call(Box::new(state)));
        assert!(applied.state && applied.turns_from.is_none());
        assert_eq!(v.duration_seconds, 42);
        assert_eq!(v.latency.llm_ttfb_ms.p50, Some(200));
    }

    #[test]
    fn the_link_state_follows_the_stream() {
        let v = view();
        let link = Link::for_loaded(&v);
        assert_eq!(link, Link::Connecting);
        assert_eq!(link.on_event(), Link::Live);
        assert_eq!(Link::Live.on_drop(), Link::Reconnecting);
        assert_eq!(Link::Reconnecting.on_event(), Link::Live);
        // Once ended or closed, nothing brings it back.
        assert_eq!(Link::Ended.on_event(), Link::Ended);
        assert_eq!(Link::Ended.on_drop(), Link::Ended);
        let closed = Link::Closed(Closed::Revoked);
        assert_eq!(closed.on_event(), closed);
        assert!(!Link::Final.following() && Link::Reconnecting.following());
        let mut ended = view();
        ended.status = callscope_shared::CallStatus::Completed;
        assert_eq!(Link::for_loaded(&ended), Link::Final);
    }

    #[test]
    fn the_running_duration_counts_from_the_start() {
        let mut v = view();
        let start = v.started_at.unix() as f64;
        assert_eq!(running_seconds(&v, start + 83.7), 83);
        // A viewer clock behind the server's never shows a negative time.
        assert_eq!(running_seconds(&v, start - 5.0), 0);
        v.duration_seconds = 90;
        assert_eq!(running_seconds(&v, start + 10.0), 90);
    }
}
