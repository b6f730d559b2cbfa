//! Recording retention: the spec's "Recordings are stored as MP3 and retained for 90 days.
//! Recordings on suspended accounts are retained for 7 days before deletion."
//!
//! # The rule
//!
//! A stored recording (`calls.recording_status = 'stored'`) is due for deletion at
//!
//! - `call_end + RETENTION_SECS` (90 days), where `call_end = COALESCE(ended_at,
//!   started_at)`;
//! - or, while the owning account is suspended, at `max(suspended_at, call_end) +
//!   SUSPENDED_RETENTION_SECS` (7 days) when that is earlier. `suspended_at` is when the
//!   account was suspended (a second suspension keeps the first instant); activating the
//!   account clears it, and the 90-day rule alone applies again.
//!
//! A live call (ringing or in progress) is never due. "Due at t" means deleted by the first
//! pass at or after t. The SQL form of the rule is `storage::retention`'s `DUE`; the two
//! periods are defined here only.
//!
//! # The job
//!
//! `serve` runs a pass at start and then every `--recording-retention-interval` seconds
//! (`Retention::spawn`; 0 turns it off, as does a server without a recordings store). A pass
//! (`run_once`) takes due recordings in batches of `BATCH`, again while a batch comes back
//! full. For each it **claims** the recording (a conditional `UPDATE` that sets a lease of
//! `LEASE_SECS`: of several instances on one database, exactly one claim hits the row),
//! deletes the object from the recordings store (a missing object is fine), then marks the
//! call: `recording_status = 'deleted'`, `has_recording` false, `recording_deleted_at` the
//! pass's instant, the lease released. `recording_key` is kept (which object was removed);
//! the call record, `recording_cost` included, is unchanged. The recording route then
//! answers 404 `Recording was deleted after its retention period`.
//!
//! A failed delete leaves the recording stored and claimed: the lease keeps every pass off
//! it until it runs out, then a pass tries again (a warning is logged each time). A process
//! that dies between the delete and the mark leaves the same state, and the next try's
//! delete finds nothing, which is fine. The lease outlasts the store's request timeout, so
//! while one instance deletes an object no other instance does.
//!
//! Time is the application's injectable clock (`SharedClock`): tests move it 90 days.

use std::sync::Arc;
use std::time::Duration;

use futures_util::StreamExt;
use tokio::sync::watch;

use super::store::{RecordingStore, StoreFailure};
use crate::clock::{Clock, UnixTime};
use crate::storage::{DAY, DueBefore, DueRecording, Store, StoreResult};

/// How long a stored recording is kept after its call: 90 days.
pub const RETENTION_SECS: i64 = 90 * DAY;
/// How long a suspended account's recording is kept after the later of the suspension and
/// its call: 7 days.
pub const SUSPENDED_RETENTION_SECS: i64 = 7 * DAY;
/// Default time between passes (`--recording-retention-interval`).
pub const DEFAULT_INTERVAL: Duration = Duration::from_secs(3_600);
/// Recordings taken per batch of a pass.
pub const BATCH: u32 = 100;
/// Deletes in flight at once within a batch.
const CONCURRENCY: usize = 8;
/// How long a claim holds: well past the longest one delete may take (an S3 request's
/// 300-second timeout), so no other instance deletes the object meanwhile.
pub const LEASE_SECS: i64 = 15 * 60;

// The claim must still hold when the slowest delete ends, with room to mark the call.
const _: () = assert!(LEASE_SECS as u64 > super::REQUEST_TIMEOUT.as_secs() + 60);

/// The cutoffs a pass at `now` compares recordings with (the rule above).
pub fn due_before(now: UnixTime) -> DueBefore {
    DueBefore {
        now,
        ended: now.plus(-RETENTION_SECS),
        suspended: now.plus(-SUSPENDED_RETENTION_SECS),
    }
}

/// What a pass did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Summary {
    /// Recordings deleted from the store and marked deleted.
    pub deleted: usize,
    /// Recordings whose delete failed: still stored, retried once their lease runs out.
    pub failed: usize,
    /// Recordings another pass claimed between this one finding and claiming them.
    pub claimed_elsewhere: usize,
}

impl std::ops::AddAssign for Summary {
    fn add_assign(&mut self, other: Self) {
        self.deleted += other.deleted;
        self.failed += other.failed;
        self.claimed_elsewhere += other.claimed_elsewhere;
    }
}

/// What became of one due recording.
enum Outcome {
    Deleted,
    Failed,
    ClaimedElsewhere,
}

/// One pass at `now`: every recording due then, batch after batch, deleted from
/// `recordings` and marked deleted. A storage failure ends the pass (deletes in flight
/// finish first); what it did not reach waits for the next pass.
pub async fn run_once(
    store: &Store,
    recordings: &RecordingStore,
    now: UnixTime,
) -> StoreResult<Summary> {
    let mut summary = Summary::default();
    loop {
        let (batch, full) = run_batch(store, recordings, now).await?;
        summary += batch;
        if !full {
            return Ok(summary);
        }
    }
}

/// One batch at `now`: up to `BATCH` due recordings. Returns what it did and whether the
/// batch was full (more may be due). Each recording found is claimed (or lost to another
/// pass) before the batch ends, so the next batch finds others.
async fn run_batch(
    store: &Store,
    recordings: &RecordingStore,
    now: UnixTime,
) -> StoreResult<(Summary, bool)> {
    let due = due_before(now);
    let found = store.due_recordings(due, BATCH).await?;
    let full = found.len() == BATCH as usize;
    let outcomes: Vec<StoreResult<Outcome>> = futures_util::stream::iter(found)
        .map(|recording| settle(store, recordings, due, recording))
        .buffer_unordered(CONCURRENCY)
        .collect()
        .await;
    let mut summary = Summary::default();
    for outcome in outcomes {
        match outcome? {
            Outcome::Deleted => summary.deleted += 1,
            Outcome::Failed => summary.failed += 1,
            Outcome::ClaimedElsewhere => summary.claimed_elsewhere += 1,
        }
    }
    Ok((summary, full))
}

/// Claims one recording, deletes its object and marks the call.
async fn settle(
    store: &Store,
    recordings: &RecordingStore,
    due: DueBefore,
    recording: DueRecording,
) -> StoreResult<Outcome> {
    let DueRecording { call_id, key } = recording;
    let lease_until = due.now.plus(LEASE_SECS);
    if !store
        .claim_recording_deletion(call_id, due, lease_until)
        .await?
    {
        return Ok(Outcome::ClaimedElsewhere);
    }
    if let Some(key) = &key {
        match recordings.delete(key, due.now.secs()).await {
            Ok(()) => {}
            // A key the store refuses cannot have been stored there (`put` refuses it
            // too): there is nothing to delete.
            Err(StoreFailure::BadKey) => {
                tracing::warn!(
                    %call_id,
                    "recording key not valid in this store: nothing to delete there"
                );
            }
            Err(err) => {
                tracing::warn!(
                    %call_id,
                    error = %err,
                    retry_after_secs = LEASE_SECS,
                    "deleting a recording past its retention failed; it stays stored"
                );
                return Ok(Outcome::Failed);
            }
        }
    }
    if !store
        .mark_recording_deleted(call_id, lease_until, due.now)
        .await?
    {
        // Our lease ran out and another pass took the recording over: it marks it.
        tracing::warn!(%call_id, "recording deleted after its claim ran out");
        return Ok(Outcome::ClaimedElsewhere);
    }
    Ok(Outcome::Deleted)
}

/// The background job: a pass at start, then one every `interval`.
pub struct Retention {
    store: Store,
    recordings: RecordingStore,
    clock: Arc<dyn Clock>,
    interval: Duration,
}

/// A running retention job.
pub struct RetentionHandle {
    stop: watch::Sender<bool>,
    task: tokio::task::JoinHandle<()>,
}

impl RetentionHandle {
    /// Stops taking batches, lets deletes in flight finish and be recorded, then returns.
    pub async fn shutdown(self) {
        let _ = self.stop.send(true);
        let _ = self.task.await;
    }
}

impl Retention {
    pub fn new(
        store: Store,
        recordings: RecordingStore,
        clock: Arc<dyn Clock>,
        interval: Duration,
    ) -> Self {
        Self {
            store,
            recordings,
            clock,
            interval,
        }
    }

    /// Runs on the current runtime until shut down.
    pub fn spawn(self) -> RetentionHandle {
        let (stop, stopped) = watch::channel(false);
        let task = tokio::spawn(self.run(stopped));
        RetentionHandle { stop, task }
    }

    async fn run(self, mut stopped: watch::Receiver<bool>) {
        loop {
            let mut summary = Summary::default();
            // Each batch reads the clock afresh, so a long pass never claims with a lease
            // that has already run out.
            loop {
                if *stopped.borrow() {
                    return;
                }
                match run_batch(&self.store, &self.recordings, self.clock.now()).await {
                    Ok((batch, full)) => {
                        summary += batch;
                        if !full {
                            break;
                        }
                    }
                    Err(err) => {
                        tracing::error!(error = %err, "recording retention pass failed");
                        break;
                    }
                }
            }
            if summary != Summary::default() {
                tracing::info!(
                    deleted = summary.deleted,
                    failed = summary.failed,
                    claimed_elsewhere = summary.claimed_elsewhere,
                    "recording retention pass"
                );
            }
            tokio::select! {
                _ = stopped.changed() => return,
                _ = tokio::time::sleep(self.interval) => {}
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_periods_are_the_specs() {
        assert_eq!(RETENTION_SECS, 7_776_000);
        assert_eq!(SUSPENDED_RETENTION_SECS, 604_800);
        let now = UnixTime(1_800_000_000);
        assert_eq!(
            due_before(now),
            DueBefore {
                now,
                ended: UnixTime(1_800_000_000 - 7_776_000),
                suspended: UnixTime(1_800_000_000 - 604_800),
            }
        );
    }
}
