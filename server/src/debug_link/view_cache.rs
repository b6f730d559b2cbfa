//! The public JSON view of a call, built once per change of the call and shared by every
//! request for it until the call changes again.
//!
//! Building a view costs several queries and the masking of every text, so the public
//! endpoint keeps the last one built per call here. The link itself is still looked up on
//! every request (revocation, expiry and suspension take effect on the very next request);
//! only what the link shows is reused.
//!
//! An entry is dropped when the store announces a change of its call (`changes`, at the
//! announcement, before the writer answers), for every call when announcements may have
//! been lost (`Everything`), and once it is older than `MAX_AGE`, which bounds what a change
//! announced late or never (another instance's, with Redis unreachable) can leave behind.
//!
//! A request that misses takes a ticket before it reads the database, and its view is kept
//! only if no change of the call was announced since: a view read before a commit is never
//! kept after the commit's announcement. Each slot's generation comes from one counter
//! that only grows, so a slot dropped and made again never matches an older ticket.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use axum::body::Bytes;
use callscope_shared::{CallId, PublicDebugView};

use crate::storage::LinkRecording;

/// Longest time a built view is reused, whatever was (not) announced.
pub const MAX_AGE: Duration = Duration::from_secs(1);
/// Calls whose views are kept at once; beyond it the oldest is dropped.
pub const CAPACITY: usize = 1024;

/// One call's view as the public endpoint shows it, with what a link that includes the
/// recording adds to it (signed per request).
#[derive(Debug)]
pub struct CachedView {
    /// The view without the recording.
    pub view: PublicDebugView,
    /// `view` serialised: the answer to every link that does not include the recording.
    pub json: Bytes,
    /// The call's recording as the store knew it, for links that include it.
    pub recording: Option<LinkRecording>,
}

/// The views, per call. Cheap to share: one lock, held only to look up or swap an `Arc`.
#[derive(Debug, Default)]
pub struct ViewCache {
    inner: Mutex<Inner>,
}

#[derive(Debug, Default)]
struct Inner {
    /// The counter every slot's generation is drawn from.
    next_generation: u64,
    slots: HashMap<CallId, Slot>,
    /// When expired views were last dropped (`None`: never).
    swept_at: Option<Instant>,
}

#[derive(Debug)]
struct Slot {
    generation: u64,
    entry: Option<(Instant, Arc<CachedView>)>,
}

/// Taken before reading a call to build its view: the view may be kept only if the call's
/// slot still has this generation when it is done.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Ticket {
    call_id: CallId,
    generation: u64,
}

/// What a lookup found.
pub enum Lookup {
    Hit(Arc<CachedView>),
    /// Build the view, then `put` it with this ticket.
    Miss(Ticket),
}

impl ViewCache {
    fn lock(&self) -> MutexGuard<'_, Inner> {
        // Every critical section leaves the map consistent, so a panic elsewhere while the
        // lock was held does not make the data wrong.
        self.inner
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// The call's view if one is kept and younger than `MAX_AGE` at `now`; otherwise the
    /// ticket to build it with.
    pub fn lookup(&self, call_id: CallId, now: Instant) -> Lookup {
        let mut inner = self.lock();
        inner.sweep(now);
        if let Some(slot) = inner.slots.get(&call_id) {
            match &slot.entry {
                Some((built, view)) if now.saturating_duration_since(*built) < MAX_AGE => {
                    return Lookup::Hit(Arc::clone(view));
                }
                _ => {
                    return Lookup::Miss(Ticket {
                        call_id,
                        generation: slot.generation,
                    });
                }
            }
        }
        if inner.slots.len() >= CAPACITY {
            inner.evict_oldest();
        }
        let generation = inner.generation();
        inner.slots.insert(
            call_id,
            Slot {
                generation,
                entry: None,
            },
        );
        Lookup::Miss(Ticket {
            call_id,
            generation,
        })
    }

    /// Keeps `view`, built at `built` after `ticket` was taken, unless the call changed since.
    /// Returns it either way.
    pub fn put(&self, ticket: Ticket, view: CachedView, built: Instant) -> Arc<CachedView> {
        let view = Arc::new(view);
        let mut inner = self.lock();
        if let Some(slot) = inner.slots.get_mut(&ticket.call_id)
            && slot.generation == ticket.generation
        {
            slot.entry = Some((built, Arc::clone(&view)));
        }
        view
    }

    /// The call changed: its view is dropped, and views being built from reads made
    /// before the change will not be kept.
    pub fn invalidate(&self, call_id: CallId) {
        let mut inner = self.lock();
        let generation = inner.generation();
        if let Some(slot) = inner.slots.get_mut(&call_id) {
            slot.generation = generation;
            slot.entry = None;
        }
    }

    /// Anything may have changed: every view is dropped.
    pub fn clear(&self) {
        self.lock().slots.clear();
    }

    /// Calls with a slot (for tests).
    pub fn len(&self) -> usize {
        self.lock().slots.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl Inner {
    fn generation(&mut self) -> u64 {
        self.next_generation += 1;
        self.next_generation
    }

    /// At most once per `MAX_AGE`, drops every view older than `MAX_AGE` with its slot: no
    /// request would be answered from it, and kept it would hold memory until `CAPACITY`
    /// calls had been viewed. Dropping a slot only keeps a build under way for it from being
    /// kept (its ticket no longer matches), never keeps a stale view.
    fn sweep(&mut self, now: Instant) {
        if self
            .swept_at
            .is_some_and(|at| now.saturating_duration_since(at) < MAX_AGE)
        {
            return;
        }
        self.swept_at = Some(now);
        self.slots.retain(|_, slot| {
            slot.entry
                .as_ref()
                .is_none_or(|(built, _)| now.saturating_duration_since(*built) < MAX_AGE)
        });
    }

    /// Drops the slot with the oldest view (an empty slot first: its build is under way
    /// or was refused, and dropping it only keeps that build's view out).
    fn evict_oldest(&mut self) {
        let oldest = self
            .slots
            .iter()
            .min_by_key(|(_, slot)| slot.entry.as_ref().map(|(built, _)| *built))
            .map(|(call_id, _)| *call_id);
        if let Some(call_id) = oldest {
            self.slots.remove(&call_id);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn call(n: i64) -> CallId {
        CallId::new(n).unwrap()
    }

    fn view(call_id: CallId, marker: &str) -> CachedView {
        CachedView {
            view: serde_json::from_value(serde_json::json!({
                "call_id": call_id.to_string(),
                "status": "completed",
                "duration_seconds": 1,
                "from": "+1******0000",
                "to": "+1******0001",
                "started_at": "2026-01-15T10:00:00Z",
                "turns": [],
            }))
            .unwrap(),
            json: Bytes::from(marker.to_owned()),
            recording: None,
        }
    }

    fn ticket(cache: &ViewCache, call_id: CallId, now: Instant) -> Ticket {
        match cache.lookup(call_id, now) {
            Lookup::Miss(t) => t,
            Lookup::Hit(v) => panic!("expected a miss, got {:?}", v.json),
        }
    }

    fn hit(cache: &ViewCache, call_id: CallId, now: Instant) -> Option<Bytes> {
        match cache.lookup(call_id, now) {
            Lookup::Hit(v) => Some(v.json.clone()),
            Lookup::Miss(_) => None,
        }
    }

    #[test]
    fn a_view_is_shared_until_its_call_changes() {
        let cache = ViewCache::default();
        let now = Instant::now();
        let t = ticket(&cache, call(1), now);
        cache.put(t, view(call(1), "v1"), now);
        assert_eq!(hit(&cache, call(1), now).as_deref(), Some(&b"v1"[..]));
        assert_eq!(
            hit(&cache, call(2), now),
            None,
            "another call is not shared"
        );
        cache.invalidate(call(1));
        assert_eq!(hit(&cache, call(1), now), None);
    }

    #[test]
    fn a_view_read_before_a_change_is_not_kept() {
        let cache = ViewCache::default();
        let now = Instant::now();
        let t = ticket(&cache, call(1), now);
        // The call changes while the view is being built from older reads.
        cache.invalidate(call(1));
        cache.put(t, view(call(1), "stale"), now);
        assert_eq!(hit(&cache, call(1), now), None);
        // A build that started after the change is kept.
        let t = ticket(&cache, call(1), now);
        cache.put(t, view(call(1), "fresh"), now);
        assert_eq!(hit(&cache, call(1), now).as_deref(), Some(&b"fresh"[..]));
    }

    #[test]
    fn a_slot_dropped_and_made_again_does_not_take_an_older_ticket() {
        let cache = ViewCache::default();
        let now = Instant::now();
        let old = ticket(&cache, call(1), now);
        cache.clear();
        // The change's announcement found no slot; a new request makes a new one.
        cache.invalidate(call(1));
        let new = ticket(&cache, call(1), now);
        assert_ne!(old, new);
        cache.put(old, view(call(1), "stale"), now);
        assert_eq!(hit(&cache, call(1), now), None);
    }

    #[test]
    fn clear_drops_every_view_and_views_expire() {
        let cache = ViewCache::default();
        let now = Instant::now();
        for n in 1..=3 {
            let t = ticket(&cache, call(n), now);
            cache.put(t, view(call(n), "v"), now);
        }
        cache.clear();
        assert!((1..=3).all(|n| hit(&cache, call(n), now).is_none()));

        let t = ticket(&cache, call(1), now);
        cache.put(t, view(call(1), "v"), now);
        assert!(hit(&cache, call(1), now + MAX_AGE / 2).is_some());
        assert!(hit(&cache, call(1), now + MAX_AGE).is_none());
    }

    #[test]
    fn expired_views_are_dropped_not_kept_until_capacity() {
        let cache = ViewCache::default();
        let at = Instant::now();
        for n in 1..=10 {
            let t = ticket(&cache, call(n), at);
            cache.put(t, view(call(n), "v"), at);
        }
        assert_eq!(cache.len(), 10);
        // Within MAX_AGE nothing is dropped; past it, a lookup of another call sweeps them.
        assert!(hit(&cache, call(1), at + MAX_AGE / 2).is_some());
        assert_eq!(cache.len(), 10);
        let later = at + MAX_AGE * 2;
        let _ = ticket(&cache, call(99), later);
        assert_eq!(cache.len(), 1, "only the new call's slot is left");
        // A view built after the sweep is kept and served.
        let t = ticket(&cache, call(1), later);
        cache.put(t, view(call(1), "fresh"), later);
        assert!(hit(&cache, call(1), later).is_some());
    }

    #[test]
    fn the_oldest_view_makes_room() {
        let cache = ViewCache::default();
        let start = Instant::now();
        for n in 1..=CAPACITY as i64 {
            let at = start + Duration::from_micros(n as u64);
            let t = ticket(&cache, call(n), at);
            cache.put(t, view(call(n), "v"), at);
        }
        assert_eq!(cache.len(), CAPACITY);
        let at = start + Duration::from_millis(10);
        let _ = ticket(&cache, call(CAPACITY as i64 + 1), at);
        assert_eq!(cache.len(), CAPACITY);
        assert!(hit(&cache, call(1), at).is_none(), "the oldest went");
        assert!(hit(&cache, call(2), at).is_some());
    }
}
