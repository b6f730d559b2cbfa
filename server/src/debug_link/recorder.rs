//! View counting off the hot path: a view is a message on a bounded channel; a writer task
//! folds them per link and writes each link once per flush.
//!
//! Building a recorder spawns nothing: `ViewRecorder::new` returns the cheap sending half
//! and the `ViewWriter` that the application runs as a job of its own (see
//! `application.rs`), so the state a handler sees is inert and tests control when the
//! writer runs.

use std::collections::HashMap;
use std::time::Duration;

use tokio::sync::{mpsc, oneshot};

use crate::clock::UnixTime;
use crate::ids::LinkId;
use crate::storage::Store;

/// How often pending views are written, by default.
pub const FLUSH_EVERY: Duration = Duration::from_millis(250);
const QUEUE: usize = 10_000;

enum Message {
    /// A view of a link at an instant (Unix seconds).
    View(LinkId, UnixTime),
    /// Write what is pending now, then answer.
    Flush(oneshot::Sender<()>),
    /// Write what is pending, answer, and stop.
    Stop(oneshot::Sender<()>),
}

/// Sends views to the writer. Cheap to clone.
#[derive(Clone)]
pub struct ViewRecorder {
    tx: mpsc::Sender<Message>,
}

/// The writer half: run it (`run`) as a background job.
pub struct ViewWriter {
    store: Store,
    rx: mpsc::Receiver<Message>,
    flush_every: Duration,
}

impl ViewRecorder {
    /// A recorder and its writer, which writes pending views every `flush_every`.
    pub fn new(store: Store, flush_every: Duration) -> (Self, ViewWriter) {
        let (tx, rx) = mpsc::channel(QUEUE);
        let writer = ViewWriter {
            store,
            rx,
            flush_every,
        };
        (Self { tx }, writer)
    }

    /// Records a view of `link_id` at `at`. Never waits: under a flood beyond the queue,
    /// views are dropped rather than slowing responses.
    pub fn record(&self, link_id: LinkId, at: UnixTime) {
        let _ = self.tx.try_send(Message::View(link_id, at));
    }

    /// Writes every view recorded before this call, without waiting for the next tick.
    /// Returns at once when the writer has stopped.
    pub async fn flush(&self) {
        self.ask(Message::Flush).await;
    }

    /// Writes every view recorded so far and stops the writer. Call it before the store's
    /// pool closes (a server shutting down), or the last views are lost. Harmless when the
    /// writer has already stopped.
    pub async fn shutdown(&self) {
        self.ask(Message::Stop).await;
    }

    async fn ask(&self, message: impl FnOnce(oneshot::Sender<()>) -> Message) {
        let (done, answered) = oneshot::channel();
        if self.tx.send(message(done)).await.is_ok() {
            let _ = answered.await;
        }
    }
}

impl ViewWriter {
    /// Folds views and writes them every `flush_every`, on request, and when stopped (or
    /// when every recorder is gone).
    pub async fn run(mut self) {
        let mut pending: HashMap<LinkId, (i64, UnixTime)> = HashMap::new();
        let start = tokio::time::Instant::now() + self.flush_every;
        let mut tick = tokio::time::interval_at(start, self.flush_every);
        loop {
            tokio::select! {
                message = self.rx.recv() => match message {
                    Some(Message::View(link, at)) => add(&mut pending, link, at),
                    Some(Message::Flush(done)) => {
                        flush(&self.store, &mut pending).await;
                        let _ = done.send(());
                    }
                    Some(Message::Stop(done)) => {
                        // Views queued before the stop were received before it.
                        flush(&self.store, &mut pending).await;
                        let _ = done.send(());
                        return;
                    }
                    None => break,
                },
                _ = tick.tick() => flush(&self.store, &mut pending).await,
            }
        }
        flush(&self.store, &mut pending).await;
    }
}

fn add(pending: &mut HashMap<LinkId, (i64, UnixTime)>, link: LinkId, at: UnixTime) {
    let e = pending.entry(link).or_insert((0, at));
    e.0 += 1;
    e.1 = e.1.max(at);
}

/// One flush is one job: its span names it and how many links it writes.
#[tracing::instrument(name = "flush_views", skip_all, fields(links = pending.len()))]
async fn flush(store: &Store, pending: &mut HashMap<LinkId, (i64, UnixTime)>) {
    for (link, (views, at)) in pending.drain() {
        if let Err(err) = store.record_link_views(link, views, at).await {
            tracing::warn!(error = %err, views, "could not record debug-link views");
        }
    }
}
