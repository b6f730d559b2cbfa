//! View counting off the hot path: a view is a message on a bounded channel; a background
//! task folds them per link and writes each link once per flush.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::{mpsc, watch};
use tokio::task::JoinHandle;

use crate::clock::UnixTime;
use crate::ids::LinkId;
use crate::storage::Store;

/// How often pending views are written.
pub const FLUSH_EVERY: Duration = Duration::from_millis(250);
const QUEUE: usize = 10_000;

/// Sends views to the writer task. Cheap to clone.
#[derive(Clone)]
pub struct ViewRecorder {
    tx: mpsc::Sender<(LinkId, UnixTime)>,
    stop: watch::Sender<bool>,
    writer: Arc<Mutex<Option<JoinHandle<()>>>>,
}

impl ViewRecorder {
    /// Starts the writer task on the current runtime.
    pub fn start(store: Store) -> Self {
        let (tx, rx) = mpsc::channel(QUEUE);
        let (stop, stopped) = watch::channel(false);
        let writer = tokio::spawn(write_views(store, rx, stopped));
        Self {
            tx,
            stop,
            writer: Arc::new(Mutex::new(Some(writer))),
        }
    }

    /// Records a view of `link_id` at `at`. Never waits: under a flood beyond the queue,
    /// views are dropped rather than slowing responses.
    pub fn record(&self, link_id: LinkId, at: UnixTime) {
        let _ = self.tx.try_send((link_id, at));
    }

    /// Writes every view recorded so far and stops the writer. Call it before the store's
    /// pool closes (a server shutting down), or the last views are lost.
    pub async fn shutdown(&self) {
        let _ = self.stop.send(true);
        let writer = self.writer.lock().unwrap_or_else(|e| e.into_inner()).take();
        if let Some(writer) = writer {
            let _ = writer.await;
        }
    }
}

async fn write_views(
    store: Store,
    mut rx: mpsc::Receiver<(LinkId, UnixTime)>,
    mut stopped: watch::Receiver<bool>,
) {
    let mut pending: HashMap<LinkId, (i64, UnixTime)> = HashMap::new();
    let mut tick = tokio::time::interval(FLUSH_EVERY);
    loop {
        tokio::select! {
            view = rx.recv() => match view {
                Some((link, at)) => add(&mut pending, link, at),
                None => break,
            },
            _ = tick.tick() => flush(&store, &mut pending).await,
            _ = stopped.changed() => {
                // Take what is already queued, then stop.
                while let Ok((link, at)) = rx.try_recv() {
                    add(&mut pending, link, at);
                }
                break;
            }
        }
    }
    flush(&store, &mut pending).await;
}

fn add(pending: &mut HashMap<LinkId, (i64, UnixTime)>, link: LinkId, at: UnixTime) {
    let e = pending.entry(link).or_insert((0, at));
    e.0 += 1;
    e.1 = e.1.max(at);
}

async fn flush(store: &Store, pending: &mut HashMap<LinkId, (i64, UnixTime)>) {
    for (link, (views, at)) in pending.drain() {
        if let Err(err) = store.record_link_views(link, views, at).await {
            tracing::warn!(error = %err, views, "could not record debug-link views");
        }
    }
}
