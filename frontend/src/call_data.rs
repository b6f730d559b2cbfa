//! The call the components show, as it changes: one copy of the view, changed in place by
//! live events, with one trigger per part (turns, webhooks, the call's state) so an
//! appended turn re-renders what depends on turns and nothing else.

use std::sync::Arc;

use callscope_shared::PublicDebugView;
use leptos::prelude::*;

use crate::live::{self, Applied, LiveEvent};

#[derive(Debug, Clone, Copy)]
pub struct Call {
    view: StoredValue<PublicDebugView>,
    /// The JSON exactly as served, until a live event changes the view.
    raw: StoredValue<Option<Arc<str>>>,
    turns: Trigger,
    webhooks: Trigger,
    state: Trigger,
    /// Counts replacements of the turns (not appends): the transcript starts over.
    epoch: StoredValue<u64>,
}

impl Call {
    pub fn new(view: PublicDebugView, raw: Option<Arc<str>>) -> Call {
        Call {
            view: StoredValue::new(view),
            raw: StoredValue::new(raw),
            turns: Trigger::new(),
            webhooks: Trigger::new(),
            state: Trigger::new(),
            epoch: StoredValue::new(0),
        }
    }

    /// A call that will not change (tests, fixtures).
    pub fn fixed(view: &PublicDebugView) -> Call {
        Call::new(view.clone(), None)
    }

    /// Reads the view without subscribing to anything.
    pub fn peek<R>(&self, f: impl FnOnce(&PublicDebugView) -> R) -> R {
        self.view.with_value(f)
    }

    /// Reads the view, re-running the caller when the turns change.
    pub fn turns<R>(&self, f: impl FnOnce(&PublicDebugView) -> R) -> R {
        self.turns.track();
        self.peek(f)
    }

    /// Reads the view, re-running the caller when the webhook deliveries change.
    pub fn webhooks<R>(&self, f: impl FnOnce(&PublicDebugView) -> R) -> R {
        self.webhooks.track();
        self.peek(f)
    }

    /// Reads the view, re-running the caller when the call's state (status, duration,
    /// ending, latency summary, call-control events) changes.
    pub fn state<R>(&self, f: impl FnOnce(&PublicDebugView) -> R) -> R {
        self.state.track();
        self.peek(f)
    }

    /// How many times the turns were replaced rather than appended to (untracked).
    pub fn epoch(&self) -> u64 {
        self.epoch.get_value()
    }

    /// Applies a live event and notifies what it changed.
    pub fn apply(&self, event: LiveEvent) -> Applied {
        let applied = self
            .view
            .try_update_value(|v| live::apply(v, event))
            .unwrap_or_default();
        if applied.changed() {
            self.raw.set_value(None);
        }
        if applied.turns_replaced {
            self.epoch.update_value(|e| *e += 1);
        }
        if applied.turns_replaced || applied.turns_from.is_some() {
            self.turns.notify();
        }
        if applied.webhooks {
            self.webhooks.notify();
        }
        if applied.state {
            self.state.notify();
        }
        applied
    }

    /// The view as JSON, for the download: as served while unchanged, else as it is now.
    pub fn json(&self) -> Arc<str> {
        if let Some(raw) = self.raw.get_value() {
            return raw;
        }
        self.peek(|v| serde_json::to_string_pretty(v).unwrap_or_default())
            .into()
    }
}
