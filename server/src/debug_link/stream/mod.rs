//! The live stream of a public debug link: `GET /api/v1/call-debug/:token/events`.
//!
//! One follower per watched call and instance (`LiveViews`): it re-reads the call when the
//! store announces a change (`crate::changes`, from this instance or, through Redis, from
//! another) and at least every `REFRESH_EVERY` (a missed announcement, a suspension made by
//! another process), and publishes the new `Snapshot` to every stream of that call. A stream
//! sends what takes its client from its cursor to the newest snapshot (`Snapshot::catch_up`),
//! so a burst of changes reaches a slow client as one catch-up, and a reconnect with
//! `Last-Event-ID` resumes without gaps or duplicates.
//!
//! A stream ends with `end` when the call ends (the JSON view is then final), with `closed`
//! when its link is revoked, replaced, expires or its account is suspended, and without a
//! word when the server shuts down (the client reconnects elsewhere).

mod snapshot;

use std::collections::HashMap;
use std::convert::Infallible;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, Weak};
use std::time::Duration;

use axum::response::sse::Event;
use callscope_shared::CallId;
use callscope_shared::live_view::{self, StreamClosed};
use tokio::sync::{Notify, mpsc, watch};

pub use snapshot::{Cursor, Snapshot};

use crate::changes::Change;
use crate::client_ip::ClientKey;
use crate::clock::SharedClock;
use crate::ids::LinkId;
use crate::storage::{Store, StoreResult};

/// Longest a follower goes without re-reading its call.
pub const REFRESH_EVERY: Duration = Duration::from_secs(15);
/// How often a stream with an expiring link checks the clock.
const EXPIRY_CHECK_EVERY: Duration = Duration::from_secs(1);
/// Events a stream may have queued for a slow client before it waits.
const QUEUE: usize = 16;

/// Caps on open streams.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StreamLimits {
    pub per_instance: usize,
    pub per_client: usize,
}

impl Default for StreamLimits {
    fn default() -> Self {
        Self {
            per_instance: 2_000,
            per_client: 10,
        }
    }
}

/// Why a stream could not be opened.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refused {
    TooManyOnInstance,
    TooManyForClient,
}

/// A watched call: its newest snapshot, and the bell that makes its follower re-read it.
struct Followed {
    snapshot: watch::Sender<Arc<Snapshot>>,
    refresh: Notify,
}

struct Inner {
    store: Store,
    limits: StreamLimits,
    calls: Mutex<HashMap<CallId, Arc<Followed>>>,
    clients: Mutex<HashMap<ClientKey, usize>>,
    open: AtomicUsize,
    closing: watch::Sender<bool>,
    listening: std::sync::Once,
}

/// This instance's live streams. Cheap to clone.
#[derive(Clone)]
pub struct LiveViews(Arc<Inner>);

/// A stream's place under the caps; freed when the stream ends.
pub struct Slot {
    inner: Arc<Inner>,
    client: ClientKey,
}

impl Drop for Slot {
    fn drop(&mut self) {
        self.inner.open.fetch_sub(1, Ordering::SeqCst);
        let mut clients = self.inner.clients.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(n) = clients.get_mut(&self.client) {
            *n -= 1;
            if *n == 0 {
                clients.remove(&self.client);
            }
        }
    }
}

impl LiveViews {
    pub fn new(store: Store, limits: StreamLimits) -> Self {
        Self(Arc::new(Inner {
            store,
            limits,
            calls: Mutex::default(),
            clients: Mutex::default(),
            open: AtomicUsize::new(0),
            closing: watch::channel(false).0,
            listening: std::sync::Once::new(),
        }))
    }

    /// Streams open on this instance.
    pub fn open_streams(&self) -> usize {
        self.0.open.load(Ordering::SeqCst)
    }

    /// Takes a place for a new stream of `client`, within the caps.
    pub fn reserve(&self, client: ClientKey) -> Result<Slot, Refused> {
        let inner = &self.0;
        let mut clients = inner.clients.lock().unwrap_or_else(|e| e.into_inner());
        if inner.open.load(Ordering::SeqCst) >= inner.limits.per_instance {
            return Err(Refused::TooManyOnInstance);
        }
        let n = clients.entry(client).or_insert(0);
        if *n >= inner.limits.per_client {
            return Err(Refused::TooManyForClient);
        }
        *n += 1;
        inner.open.fetch_add(1, Ordering::SeqCst);
        Ok(Slot {
            inner: inner.clone(),
            client,
        })
    }

    /// Ends every open stream (the server is shutting down; connections can then drain).
    pub fn close_all(&self) {
        let _ = self.0.closing.send(true);
    }

    /// Follows `call_id` (if not yet) and returns its newest snapshot's receiver, with a
    /// snapshot that knows `link_id` (a link issued since the last read makes a fresh one);
    /// `None` when the call is gone.
    pub async fn follow(
        &self,
        call_id: CallId,
        link_id: LinkId,
    ) -> StoreResult<Option<watch::Receiver<Arc<Snapshot>>>> {
        self.listen_for_changes();
        let existing = self.followed(call_id);
        if let Some((_, receiver)) = &existing
            && receiver.borrow().link.is_some_and(|l| l.link_id == link_id)
        {
            return Ok(existing.map(|(_, receiver)| receiver));
        }
        let Some(first) = Snapshot::load(&self.0.store, call_id).await? else {
            return Ok(None);
        };
        if let Some((followed, receiver)) = existing {
            followed.snapshot.send_replace(Arc::new(first));
            return Ok(Some(receiver));
        }
        let mut calls = self.0.calls.lock().unwrap_or_else(|e| e.into_inner());
        let followed = calls.entry(call_id).or_insert_with(|| {
            let followed = Arc::new(Followed {
                snapshot: watch::channel(Arc::new(first)).0,
                refresh: Notify::new(),
            });
            tokio::spawn(run_follower(
                Arc::downgrade(&self.0),
                call_id,
                followed.clone(),
            ));
            followed
        });
        let receiver = followed.snapshot.subscribe();
        // A change announced between the read above and now was not heard: read again.
        followed.refresh.notify_one();
        Ok(Some(receiver))
    }

    /// A followed call and a receiver of its snapshots, taken under the lock so its
    /// follower cannot stop between the two.
    fn followed(&self, call_id: CallId) -> Option<(Arc<Followed>, watch::Receiver<Arc<Snapshot>>)> {
        let calls = self.0.calls.lock().unwrap_or_else(|e| e.into_inner());
        calls
            .get(&call_id)
            .map(|f| (f.clone(), f.snapshot.subscribe()))
    }

    /// Starts, once, the task that rings the followers of changed calls.
    fn listen_for_changes(&self) {
        self.0.listening.call_once(|| {
            let mut listener = self.0.store.changes().subscribe();
            let inner = Arc::downgrade(&self.0);
            tokio::spawn(async move {
                while let Some(change) = listener.next().await {
                    let Some(inner) = inner.upgrade() else { return };
                    let calls = inner.calls.lock().unwrap_or_else(|e| e.into_inner());
                    match change {
                        Change::Call { call_id, .. } => {
                            if let Some(followed) = calls.get(&call_id) {
                                followed.refresh.notify_one();
                            }
                        }
                        Change::Everything => {
                            calls.values().for_each(|f| f.refresh.notify_one());
                        }
                    }
                }
            });
        });
    }

    /// Sends `client` from `from` to the newest snapshot and on, until the call ends, the
    /// link stops opening, the client leaves or the server shuts down.
    pub fn stream(
        &self,
        slot: Slot,
        link_id: LinkId,
        snapshots: watch::Receiver<Arc<Snapshot>>,
        from: Option<Cursor>,
        clock: SharedClock,
    ) -> mpsc::Receiver<Result<Event, Infallible>> {
        let (sender, receiver) = mpsc::channel(QUEUE);
        let closing = self.0.closing.subscribe();
        tokio::spawn(async move {
            let _slot = slot;
            run_stream(sender, link_id, snapshots, from, clock, closing).await;
        });
        receiver
    }
}

/// Re-reads a followed call on every ring and every `REFRESH_EVERY`, publishing what
/// changed, until no stream follows it.
async fn run_follower(inner: Weak<Inner>, call_id: CallId, followed: Arc<Followed>) {
    loop {
        let _ = tokio::time::timeout(REFRESH_EVERY, followed.refresh.notified()).await;
        let Some(inner) = inner.upgrade() else { return };
        {
            let mut calls = inner.calls.lock().unwrap_or_else(|e| e.into_inner());
            if followed.snapshot.receiver_count() == 0 {
                calls.remove(&call_id);
                return;
            }
        }
        match Snapshot::load(&inner.store, call_id).await {
            Ok(Some(new)) => {
                followed.snapshot.send_if_modified(|current| {
                    let changed = **current != new;
                    if changed {
                        *current = Arc::new(new);
                    }
                    changed
                });
            }
            // The call was deleted: its streams close as if the link were revoked.
            Ok(None) => {
                let gone = Snapshot::new(followed.snapshot.borrow().view.clone(), None);
                followed.snapshot.send_replace(Arc::new(gone));
            }
            Err(err) => tracing::warn!(%call_id, error = %err, "re-reading a followed call failed"),
        }
    }
}

async fn run_stream(
    sender: mpsc::Sender<Result<Event, Infallible>>,
    link_id: LinkId,
    mut snapshots: watch::Receiver<Arc<Snapshot>>,
    mut cursor: Option<Cursor>,
    clock: SharedClock,
    mut closing: watch::Receiver<bool>,
) {
    let send = |event: Event| {
        let sender = sender.clone();
        async move { sender.send(Ok(event)).await.is_ok() }
    };
    loop {
        let snapshot = snapshots.borrow_and_update().clone();
        let link = snapshot.link.filter(|l| l.link_id == link_id);
        let expired = link.is_some_and(|l| l.is_expired(clock.now()));
        if link.is_none() || expired {
            let reason = if expired { "expired" } else { "revoked" };
            let data = StreamClosed {
                reason: reason.into(),
            };
            let at = cursor.unwrap_or_else(|| snapshot.cursor());
            send(snapshot::event(live_view::CLOSED, &at, &data)).await;
            return;
        }
        for event in snapshot.catch_up(cursor) {
            if !send(event).await {
                return;
            }
        }
        cursor = Some(snapshot.cursor());
        if !snapshot.view.status.is_live() {
            send(snapshot::event(
                live_view::END,
                &snapshot.cursor(),
                &serde_json::json!({}),
            ))
            .await;
            return;
        }
        let expires = link.and_then(|l| l.expires_at).is_some();
        tokio::select! {
            changed = snapshots.changed() => if changed.is_err() { return },
            () = tokio::time::sleep(EXPIRY_CHECK_EVERY), if expires => {}
            _ = closing.wait_for(|c| *c) => return,
            () = sender.closed() => return,
        }
    }
}
