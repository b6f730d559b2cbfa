//! Which calls changed. The store announces every committed change of a call here (after
//! the commit, so a reader sees it); the live debug streams of this instance listen, and,
//! with Redis, so do every other instance's (`redis_bridge`).
//!
//! Announcements are hints, not data: a listener re-reads the call. One that falls behind
//! (or a bridge that lost Redis for a while) gets `Change::Everything` and re-reads all it
//! follows, so nothing is missed for long.

use std::sync::Arc;

use callscope_shared::CallId;
use tokio::sync::broadcast;

use crate::debug_link::view_cache::ViewCache;

/// Room for announcements not yet taken by the slowest listener; beyond it, the listener
/// gets `Everything`.
const BACKLOG: usize = 4096;

/// One announcement.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Change {
    /// This call changed; `remote` when another instance announced it (through Redis).
    Call { call_id: CallId, remote: bool },
    /// Anything may have changed (announcements were lost).
    Everything,
}

/// The announcement channel. Cheap to clone; announcing with no listener costs nothing.
///
/// It also holds the public views built from the calls (`ViewCache`), which an
/// announcement drops at once, before the writer that announced answers: a listener of
/// the channel would drop them a moment later, and a request in that moment could still
/// be shown the call as it was before a write its writer already saw acknowledged.
#[derive(Debug, Clone)]
pub struct CallChanges {
    sender: broadcast::Sender<Change>,
    views: Arc<ViewCache>,
}

impl Default for CallChanges {
    fn default() -> Self {
        Self {
            sender: broadcast::channel(BACKLOG).0,
            views: Arc::default(),
        }
    }
}

impl CallChanges {
    /// A change committed by this instance.
    pub fn notify(&self, call_id: CallId) {
        self.views.invalidate(call_id);
        let _ = self.sender.send(Change::Call {
            call_id,
            remote: false,
        });
    }

    /// A change another instance announced.
    pub fn notify_remote(&self, call_id: CallId) {
        self.views.invalidate(call_id);
        let _ = self.sender.send(Change::Call {
            call_id,
            remote: true,
        });
    }

    /// Tells every listener to re-read all it follows.
    pub fn notify_everything(&self) {
        self.views.clear();
        let _ = self.sender.send(Change::Everything);
    }

    /// The public views built from the calls, dropped by every announcement.
    pub fn views(&self) -> &ViewCache {
        &self.views
    }

    pub fn subscribe(&self) -> Listener {
        Listener(self.sender.subscribe())
    }
}

/// One listener's end of the channel.
pub struct Listener(broadcast::Receiver<Change>);

impl Listener {
    /// The next announcement; `Everything` when this listener fell behind; `None` once the
    /// channel is gone.
    pub async fn next(&mut self) -> Option<Change> {
        match self.0.recv().await {
            Ok(change) => Some(change),
            Err(broadcast::error::RecvError::Lagged(_)) => Some(Change::Everything),
            Err(broadcast::error::RecvError::Closed) => None,
        }
    }
}

pub mod redis_bridge;
