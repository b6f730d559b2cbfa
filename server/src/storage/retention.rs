//! Recording retention's queries (the rule and the job are `recordings::retention`): which
//! stored recordings are due for deletion, the claim one instance takes on each before
//! deleting its object, and marking the call's recording deleted.
//!
//! The rule is written once, in SQL, as `DUE`; the caller passes the two cutoffs it is
//! compared with (`DueBefore`), computed from `now` and the retention periods. A recording
//! is due when its call ended (`COALESCE(ended_at, started_at)`) at or before
//! `DueBefore::ended`, or, on a suspended account, when both the call and the suspension
//! are at or before `DueBefore::suspended`: `max(suspended_at, call_end) + 7 days <= now`
//! is `suspended_at <= now - 7 days AND call_end <= now - 7 days`, which needs no
//! `GREATEST` (PostgreSQL) or two-argument `MAX` (SQLite) and so reads the same on both.

use callscope_shared::CallId;

use super::{Store, StoreResult, decode};
use crate::clock::UnixTime;

/// What a retention pass compares recordings with (see the module doc).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DueBefore {
    /// When the pass runs: leases that ran out before it no longer hold.
    pub now: UnixTime,
    /// Recordings of calls that ended at or before this are due (`now - 90 days`).
    pub ended: UnixTime,
    /// On a suspended account, recordings of calls that ended at or before this are due
    /// once the account was suspended at or before it too (`now - 7 days`).
    pub suspended: UnixTime,
}

/// A stored recording found due, not claimed yet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DueRecording {
    pub call_id: CallId,
    /// Its object in the recordings store; `None` when the call never had one (nothing to
    /// delete there).
    pub key: Option<String>,
}

#[derive(sqlx::FromRow)]
struct DueRow {
    id: i64,
    recording_key: Option<String>,
}

/// Whether the recording of `calls c` (joined with its `accounts a`) is due: stored, the
/// call over, and past its retention. `$1` is `DueBefore::ended`, `$2` `DueBefore::suspended`.
/// A suspended account without a suspension instant (migration 0013 gave one to every
/// account suspended before instants were kept) gets the 90-day rule alone.
const DUE: &str = "c.recording_status = 'stored'
    AND c.status NOT IN ('ringing', 'in-progress')
    AND (COALESCE(c.ended_at, c.started_at) <= $1
         OR (a.status = 'suspended' AND a.suspended_at <= $2
             AND COALESCE(c.ended_at, c.started_at) <= $2))";

/// `calls`' claim is free: never taken, or its lease ran out before `$3` (`DueBefore::now`).
const UNCLAIMED: &str = "(recording_lease_until IS NULL OR recording_lease_until < $3)";
/// The same of `calls c`.
const C_UNCLAIMED: &str = "(c.recording_lease_until IS NULL OR c.recording_lease_until < $3)";

impl Store {
    /// Up to `limit` recordings due at `due`, whose claim is free (in no particular order).
    pub async fn due_recordings(
        &self,
        due: DueBefore,
        limit: u32,
    ) -> StoreResult<Vec<DueRecording>> {
        let rows: Vec<DueRow> = sqlx::query_as(&format!(
            "SELECT c.id, c.recording_key FROM calls c JOIN accounts a ON a.id = c.account_id
             WHERE {DUE} AND {C_UNCLAIMED} LIMIT $4"
        ))
        .bind(due.ended)
        .bind(due.suspended)
        .bind(due.now)
        .bind(i64::from(limit))
        .fetch_all(self.pool())
        .await?;
        rows.into_iter()
            .map(|r| {
                Ok(DueRecording {
                    call_id: decode::call_id(r.id)?,
                    key: r.recording_key.filter(|k| !k.is_empty()),
                })
            })
            .collect()
    }

    /// Claims the recording of `call_id` until `lease_until`, if it is still stored, still
    /// due and nobody's claim holds: one conditional `UPDATE`, so of several instances
    /// claiming at once exactly one hits the row (PostgreSQL re-checks the row's own
    /// conditions after waiting for another's update of it; SQLite writes one at a time).
    /// Returns whether this caller holds the claim.
    pub async fn claim_recording_deletion(
        &self,
        call_id: CallId,
        due: DueBefore,
        lease_until: UnixTime,
    ) -> StoreResult<bool> {
        let done = sqlx::query(&format!(
            "UPDATE calls SET recording_lease_until = $5
             WHERE id = $4 AND recording_status = 'stored' AND {UNCLAIMED}
               AND id IN (SELECT c.id FROM calls c JOIN accounts a ON a.id = c.account_id
                          WHERE c.id = $4 AND {DUE})"
        ))
        .bind(due.ended)
        .bind(due.suspended)
        .bind(due.now)
        .bind(call_id.get())
        .bind(lease_until)
        .execute(self.pool())
        .await?;
        Ok(done.rows_affected() > 0)
    }

    /// Marks the recording of `call_id`, claimed until `lease_until`, deleted at `now`:
    /// `recording_status = 'deleted'`, `has_recording` false, the claim released. The
    /// object key stays (which object was removed), as does `recording_cost`. Returns false
    /// (and changes nothing) when the claim is no longer this caller's. Announced on
    /// `changes()`.
    pub async fn mark_recording_deleted(
        &self,
        call_id: CallId,
        lease_until: UnixTime,
        now: UnixTime,
    ) -> StoreResult<bool> {
        let done = sqlx::query(
            "UPDATE calls SET recording_status = 'deleted', has_recording = $1,
                 recording_deleted_at = $2, recording_lease_until = NULL
             WHERE id = $3 AND recording_status = 'stored' AND recording_lease_until = $4",
        )
        .bind(false)
        .bind(now)
        .bind(call_id.get())
        .bind(lease_until)
        .execute(self.pool())
        .await?;
        let marked = done.rows_affected() > 0;
        if marked {
            self.changes().notify(call_id);
        }
        Ok(marked)
    }
}
