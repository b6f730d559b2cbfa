//! Voice-agent traces over OTLP/HTTP (`POST /v1/traces`) as callscope calls: Pipecat's
//! and LiveKit Agents' spans (`shared/spec/voice-tracing.md`) mapped onto the pipeline
//! API's lifecycle, so a traced agent gets calls, transcripts, latency and debug links
//! with no code.
//!
//! Rules:
//! - only the span names a mapping reads are kept (`pipecat::SPANS`, `livekit::SPANS`), durably, per trace
//!   (`trace_spans`); each request then looks at every trace it touched as a whole, so the
//!   result does not depend on how spans were batched, ordered or repeated;
//! - which call: `callscope.call_id` on any span, or Pipecat's `conversation.id`, naming an
//!   existing call (one the pipeline API created: the trace follows it live); else the root
//!   span (`conversation` / `agent_session`) creates one from `callscope.agent_id`,
//!   `callscope.from_number`, `callscope.to_number` (optional `callscope.call_control_id`),
//!   started at the root's start. A trace is claimed once (`trace_calls`);
//! - entries: `pipecat` / `livekit`. Pipecat's numbered turns are added as they complete
//!   (a turn once the next one is in, the last with the root); LiveKit's with the root;
//!   entries arriving after the call ended are still added;
//! - the root ends the call (if it is still live) at the root's end, `ended_reason` from
//!   `callscope.ended_reason` or `caller-hangup`; then the trace is complete: its spans are
//!   deleted and any later span of it is ignored;
//! - spans of traces no call claims are deleted [`UNCLAIMED_TTL`] after they arrived.

pub mod ingest;
pub mod livekit;
pub mod pipecat;
pub mod spans;
pub mod trace;
pub mod wire;

use std::sync::atomic::{AtomicI64, Ordering};

use crate::clock::UnixTime;
use crate::storage::Store;

pub use ingest::{Ingested, ingest};

/// How long spans wait for a call to claim their trace: a day (a root ends with its call;
/// no call lasts that long).
pub const UNCLAIMED_TTL: i64 = 24 * 3600;
/// How often a process deletes expired spans (on the next request after this long).
const EXPIRY_EVERY: i64 = 600;

/// Deletes expired unclaimed spans at most every [`EXPIRY_EVERY`] seconds per process.
pub async fn expire_unclaimed(store: &Store, last: &AtomicI64, now: UnixTime) {
    let previous = last.load(Ordering::Relaxed);
    if now.secs() < previous.saturating_add(EXPIRY_EVERY)
        || last
            .compare_exchange(previous, now.secs(), Ordering::Relaxed, Ordering::Relaxed)
            .is_err()
    {
        return;
    }
    match store
        .expire_spans(UnixTime(now.secs() - UNCLAIMED_TTL))
        .await
    {
        Ok(0) => {}
        Ok(n) => tracing::info!(spans = n, "expired spans no call claimed"),
        Err(e) => tracing::warn!(error = %e, "expiring unclaimed spans failed"),
    }
}

/// Per-process state of the trace endpoint: how many requests may ingest at once (beyond
/// that a 429 with `Retry-After`), and when expired spans were last deleted.
#[derive(Debug)]
pub struct Intake {
    pub permits: tokio::sync::Semaphore,
    pub last_expiry: AtomicI64,
}

/// Requests ingested at once by default (`--otlp-concurrency`).
pub const DEFAULT_CONCURRENCY: usize = 8;

impl Intake {
    pub fn new(concurrency: usize) -> Self {
        Self {
            permits: tokio::sync::Semaphore::new(concurrency.max(1)),
            last_expiry: AtomicI64::new(0),
        }
    }
}
