//! What a live stream sends. A `Snapshot` is the masked view of a call at one moment, with
//! marks that let a stream tell, from a client's `Cursor` (the SSE event id it last got),
//! which events take that client to the snapshot: appended turns, appended webhook attempts,
//! a new call state, or, when the change was not an append, the whole view again.

use axum::response::sse::Event;
use callscope_shared::live_view::{self, TurnsAppended, WebhooksAppended};
use callscope_shared::{CallId, PublicDebugView};
use serde::Serialize;
use sha2::{Digest, Sha256};

use super::super::view;
use crate::storage::{LinkTarget, Store, StoreResult};

/// 48 bits of a SHA-256 chain: enough to tell one history from another.
type Mark = u64;
const MARK_MASK: u64 = (1 << 48) - 1;

/// The marks of every prefix of `items`: `marks[i]` stands for the first `i` items.
fn chain<T: Serialize>(items: &[T]) -> Vec<Mark> {
    let mut marks = Vec::with_capacity(items.len() + 1);
    let mut hash = [0u8; 32];
    marks.push(0);
    for item in items {
        let mut h = Sha256::new();
        h.update(hash);
        h.update(serde_json::to_vec(item).unwrap_or_default());
        hash = h.finalize().into();
        marks.push(mark_of(&hash));
    }
    marks
}

fn mark_of(hash: &[u8; 32]) -> Mark {
    let mut eight = [0u8; 8];
    eight.copy_from_slice(&hash[..8]);
    u64::from_be_bytes(eight) & MARK_MASK
}

fn mark<T: Serialize>(value: &T) -> Mark {
    mark_of(&Sha256::digest(serde_json::to_vec(value).unwrap_or_default()).into())
}

/// Where a client stands: how many turns and webhook attempts it has (and marks of them),
/// and a mark of the call state it has. Written as the SSE event id.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cursor {
    turns: usize,
    turn_mark: Mark,
    webhooks: usize,
    webhook_mark: Mark,
    state: Mark,
}

impl Cursor {
    /// A `Last-Event-ID` this server wrote; `None` for anything else (the client then
    /// gets the whole view).
    pub fn parse(text: &str) -> Option<Self> {
        let mut parts = text.split('.');
        let count = |p: Option<&str>| -> Option<usize> {
            let p = p?;
            if p.is_empty() || p.len() > 9 || !p.bytes().all(|b| b.is_ascii_digit()) {
                return None;
            }
            p.parse().ok()
        };
        let mark = |p: Option<&str>| -> Option<Mark> {
            let p = p?;
            if p.len() != 12 || !p.bytes().all(|b| b.is_ascii_hexdigit()) {
                return None;
            }
            u64::from_str_radix(p, 16).ok()
        };
        let cursor = Cursor {
            turns: count(parts.next())?,
            turn_mark: mark(parts.next())?,
            webhooks: count(parts.next())?,
            webhook_mark: mark(parts.next())?,
            state: mark(parts.next())?,
        };
        parts.next().is_none().then_some(cursor)
    }

    fn id(&self) -> String {
        format!(
            "{}.{:012x}.{}.{:012x}.{:012x}",
            self.turns, self.turn_mark, self.webhooks, self.webhook_mark, self.state
        )
    }
}

/// The view of a call at one moment, and the link that may see it.
#[derive(Debug, PartialEq)]
pub struct Snapshot {
    pub view: PublicDebugView,
    /// The call's unrevoked link while its account is active; `None`: no link opens it.
    pub link: Option<LinkTarget>,
    turn_marks: Vec<Mark>,
    webhook_marks: Vec<Mark>,
    state_mark: Mark,
}

impl Snapshot {
    pub fn new(view: PublicDebugView, link: Option<LinkTarget>) -> Self {
        Self {
            turn_marks: chain(&view.turns),
            webhook_marks: chain(&view.webhooks),
            state_mark: mark(&view.call_state()),
            view,
            link,
        }
    }

    /// Reads the call as the JSON view shows it; `None` when the call is gone.
    pub async fn load(store: &Store, call_id: CallId) -> StoreResult<Option<Self>> {
        let Some(view) = view::load(store, call_id).await? else {
            return Ok(None);
        };
        let link = store.open_link_of_call(call_id).await?;
        Ok(Some(Self::new(view, link)))
    }

    /// The cursor of a client that has all of this snapshot.
    pub fn cursor(&self) -> Cursor {
        Cursor {
            turns: self.view.turns.len(),
            turn_mark: self.turn_marks[self.view.turns.len()],
            webhooks: self.view.webhooks.len(),
            webhook_mark: self.webhook_marks[self.view.webhooks.len()],
            state: self.state_mark,
        }
    }

    /// Whether this snapshot only adds to what a client at `c` has.
    fn extends(&self, c: &Cursor) -> bool {
        self.turn_marks.get(c.turns) == Some(&c.turn_mark)
            && self.webhook_marks.get(c.webhooks) == Some(&c.webhook_mark)
    }

    /// The events that take a client at `from` (none: a new client) to this snapshot, each
    /// with the cursor the client has once it applied that event.
    pub fn catch_up(&self, from: Option<Cursor>) -> Vec<Event> {
        let to = self.cursor();
        let Some(from) = from.filter(|c| self.extends(c)) else {
            return vec![event(live_view::SNAPSHOT, &to, &self.view)];
        };
        let mut at = from;
        let mut events = Vec::new();
        if at.turns < to.turns {
            let data = TurnsAppended {
                from: at.turns as u32,
                turns: self.view.turns[at.turns..].to_vec(),
            };
            (at.turns, at.turn_mark) = (to.turns, to.turn_mark);
            events.push(event(live_view::TURNS, &at, &data));
        }
        if at.webhooks < to.webhooks {
            let data = WebhooksAppended {
                from: at.webhooks as u32,
                webhooks: self.view.webhooks[at.webhooks..].to_vec(),
            };
            (at.webhooks, at.webhook_mark) = (to.webhooks, to.webhook_mark);
            events.push(event(live_view::WEBHOOKS, &at, &data));
        }
        if at.state != to.state {
            at.state = to.state;
            events.push(event(live_view::CALL, &at, &self.view.call_state()));
        }
        events
    }
}

/// One SSE event. Serialising these types cannot fail; were it to, the data is `null`.
pub fn event<T: Serialize>(name: &str, at: &Cursor, data: &T) -> Event {
    Event::default()
        .event(name)
        .id(at.id())
        .data(serde_json::to_string(data).unwrap_or_else(|_| "null".into()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_round_trip_and_anything_else_is_refused() {
        let c = Cursor {
            turns: 14,
            turn_mark: 0xa1b2c3d4e5f6,
            webhooks: 3,
            webhook_mark: 0,
            state: 0xffffffffffff,
        };
        assert_eq!(c.id(), "14.a1b2c3d4e5f6.3.000000000000.ffffffffffff");
        assert_eq!(Cursor::parse(&c.id()), Some(c));
        for bad in [
            "",
            "14",
            "14.a1b2c3d4e5f6.3.000000000000",
            "14.a1b2c3d4e5f6.3.000000000000.ffffffffffff.1",
            "-1.a1b2c3d4e5f6.3.000000000000.ffffffffffff",
            "14.a1b2c3d4e5f.3.000000000000.ffffffffffff",
            "14.g1b2c3d4e5f6.3.000000000000.ffffffffffff",
            "1234567890.a1b2c3d4e5f6.3.000000000000.ffffffffffff",
            "+1.a1b2c3d4e5f6.3.000000000000.ffffffffffff",
        ] {
            assert_eq!(Cursor::parse(bad), None, "{bad}");
        }
    }
}
