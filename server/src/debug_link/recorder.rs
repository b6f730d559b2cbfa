//! View counting off the hot path: a view is a message on a bounded channel; a background
//! task folds them per link and writes each link once per flush.

use std::collections::HashMap;
use std::time::Duration;

use tokio::sync::mpsc;

use crate::storage::Store;

/// How often pending views are written.
pub const FLUSH_EVERY: Duration = Duration::from_millis(250);
const QUEUE: usize = 10_000;

/// Sends views to the writer task. Cheap to clone.
#[derive(Clone)]
pub struct ViewRecorder {
    tx: mpsc::Sender<(i64, i64)>,
}

impl ViewRecorder {
    /// Starts the writer task on the current runtime.
    pub fn start(store: Store) -> Self {
        let (tx, rx) = mpsc::channel(QUEUE);
        tokio::spawn(write_views(store, rx));
        Self { tx }
    }

    /// Records a view of `link_id` at `at`. Never waits: under a flood beyond the queue,
    /// views are dropped rather than slowing responses.
    pub fn record(&self, link_id: i64, at: i64) {
        let _ = self.tx.try_send((link_id, at));
    }
}

async fn write_views(store: Store, mut rx: mpsc::Receiver<(i64, i64)>) {
    let mut pending: HashMap<i64, (i64, i64)> = HashMap::new();
    let mut tick = tokio::time::interval(FLUSH_EVERY);
    loop {
        tokio::select! {
            view = rx.recv() => match view {
                Some((link, at)) => {
                    let e = pending.entry(link).or_insert((0, at));
                    e.0 += 1;
                    e.1 = e.1.max(at);
                }
                None => {
                    flush(&store, &mut pending).await;
                    return;
                }
            },
            _ = tick.tick() => flush(&store, &mut pending).await,
        }
    }
}

async fn flush(store: &Store, pending: &mut HashMap<i64, (i64, i64)>) {
    for (link, (views, at)) in pending.drain() {
        if let Err(err) = store.record_link_views(link, views, at).await {
            tracing::warn!(error = %err, views, "could not record debug-link views");
        }
    }
}
