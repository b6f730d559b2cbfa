//! A call's recording from capture to storage: the one claim that sends `record_start`,
//! the leg id `call.recording.saved` is matched by, and the durable download queue
//! (`recording_downloads`) the downloader claims with a lease, so one instance at a time
//! fetches a recording and a crash mid-download leaves it to be claimed again.

use callscope_shared::CallId;

use super::telnyx_events::{SeenTelnyxEvent, record};
use super::{Store, StoreResult, decode};
use crate::clock::UnixTime;

/// What `claim_recording_start` found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StartClaim {
    /// This caller asks the provider to record, through this call control id.
    Claimed(String),
    /// Recording is on but the call has no control channel: marked failed with the reason.
    NoControlChannel,
    /// Nothing to do: recording off, asked for already, or the call is not in progress.
    Nothing,
}

/// A claimed download.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct ClaimedDownload {
    pub call_id: i64,
    pub url: String,
    /// Claims so far, this one included.
    pub attempts: i64,
    pub created_at: UnixTime,
}

/// A `call.recording.saved` to fetch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewDownload<'a> {
    pub url: &'a str,
    pub recording_started_at: Option<UnixTime>,
}

/// Written as the owner reads it (`GET /v1/calls/:id/recording`'s 404).
pub const NO_CONTROL_CHANNEL: &str = "the call had no control channel to record through";

impl Store {
    /// Claims the one `record_start` of an answered call whose agent records: only the
    /// first caller (of every instance) gets `Claimed`.
    pub async fn claim_recording_start(&self, call_id: CallId) -> StoreResult<StartClaim> {
        let control: Option<Option<String>> = sqlx::query_scalar(
            "UPDATE calls SET recording_status = 'requested'
             WHERE id = $1 AND recording_enabled AND recording_status IS NULL
               AND status = 'in-progress' AND call_control_id IS NOT NULL
             RETURNING call_control_id",
        )
        .bind(call_id.get())
        .fetch_optional(self.pool())
        .await?;
        if let Some(Some(control)) = control {
            return Ok(StartClaim::Claimed(control));
        }
        let failed = sqlx::query(
            "UPDATE calls SET recording_status = 'failed', recording_error = $2
             WHERE id = $1 AND recording_enabled AND recording_status IS NULL
               AND status = 'in-progress' AND call_control_id IS NULL",
        )
        .bind(call_id.get())
        .bind(NO_CONTROL_CHANNEL)
        .execute(self.pool())
        .await?
        .rows_affected();
        if failed > 0 {
            self.changes().notify(call_id);
            return Ok(StartClaim::NoControlChannel);
        }
        Ok(StartClaim::Nothing)
    }

    /// The newest `limit` stored recordings of the account: key and call duration (for
    /// the demo, which writes their audio).
    pub async fn stored_recordings(
        &self,
        account_id: crate::ids::AccountId,
        limit: i64,
    ) -> StoreResult<Vec<(String, i64)>> {
        Ok(sqlx::query_as(
            "SELECT recording_key, duration_seconds FROM calls
             WHERE account_id = $1 AND recording_status = 'stored' AND recording_key IS NOT NULL
             ORDER BY started_at DESC, id DESC LIMIT $2",
        )
        .bind(account_id)
        .bind(limit)
        .fetch_all(self.pool())
        .await?)
    }

    /// Frees the claim of a `record_start` the provider could not take yet (the call's
    /// answer had not reached it): the provider's own `call.answered` claims it again.
    pub async fn release_recording_start(&self, call_id: CallId) -> StoreResult<()> {
        sqlx::query(
            "UPDATE calls SET recording_status = NULL WHERE id = $1 AND recording_status = 'requested'",
        )
        .bind(call_id.get())
        .execute(self.pool())
        .await?;
        Ok(())
    }

    /// Marks a recording that never reached the store as failed, for `reason` (written for
    /// the owner). A stored or deleted recording is left alone.
    pub async fn fail_recording(&self, call_id: CallId, reason: &str) -> StoreResult<()> {
        sqlx::query(
            "UPDATE calls SET recording_status = 'failed', recording_error = $2
             WHERE id = $1 AND (recording_status IS NULL OR recording_status = 'requested')",
        )
        .bind(call_id.get())
        .bind(reason)
        .execute(self.pool())
        .await?;
        self.changes().notify(call_id);
        Ok(())
    }

    /// Fails the recordings asked for whose call ended before `ended_before` and that the
    /// provider never saved (no download queued); returns how many.
    pub async fn fail_unsaved_recordings(
        &self,
        ended_before: UnixTime,
        reason: &str,
    ) -> StoreResult<u64> {
        let ids: Vec<i64> = sqlx::query_scalar(
            "UPDATE calls SET recording_status = 'failed', recording_error = $2
             WHERE recording_status = 'requested' AND ended_at < $1
               AND NOT EXISTS (SELECT 1 FROM recording_downloads d WHERE d.call_id = calls.id)
             RETURNING id",
        )
        .bind(ended_before)
        .bind(reason)
        .fetch_all(self.pool())
        .await?;
        for id in &ids {
            self.changes().notify(decode::call_id(*id)?);
        }
        Ok(ids.len() as u64)
    }

    /// Remembers the provider's leg id of the call's own leg (the first one seen stays).
    pub async fn set_call_leg_id(&self, call_id: CallId, leg_id: &str) -> StoreResult<()> {
        sqlx::query("UPDATE calls SET call_leg_id = $2 WHERE id = $1 AND call_leg_id IS NULL")
            .bind(call_id.get())
            .bind(leg_id)
            .execute(self.pool())
            .await?;
        Ok(())
    }

    /// The call whose own leg is `leg_id`.
    pub async fn call_by_leg_id(&self, leg_id: &str) -> StoreResult<Option<CallId>> {
        let id: Option<i64> =
            sqlx::query_scalar("SELECT id FROM calls WHERE call_leg_id = $1 ORDER BY id LIMIT 1")
                .bind(leg_id)
                .fetch_optional(self.pool())
                .await?;
        id.map(decode::call_id).transpose()
    }

    /// Whether the call exists and its agent records (an unasked-for recording is dropped).
    pub async fn records(&self, call_id: CallId) -> StoreResult<Option<bool>> {
        let enabled: Option<decode::Flag> =
            sqlx::query_scalar("SELECT recording_enabled FROM calls WHERE id = $1")
                .bind(call_id.get())
                .fetch_optional(self.pool())
                .await?;
        Ok(enabled.map(|f| f.0))
    }

    /// Queues the download of a saved recording and records the event, in one
    /// transaction: `false` when the event was applied before. A call keeps its first
    /// download; a repeat of the recording (another event) changes nothing.
    pub async fn queue_recording_download(
        &self,
        seen: &SeenTelnyxEvent,
        download: &NewDownload<'_>,
        now: UnixTime,
    ) -> StoreResult<bool> {
        let mut tx = self.pool().begin().await?;
        if !record(&mut tx, seen, now).await? {
            return Ok(false);
        }
        sqlx::query(
            "INSERT INTO recording_downloads (call_id, event_id, url, created_at, next_attempt_at)
             VALUES ($1, $2, $3, $4, $4) ON CONFLICT (call_id) DO NOTHING",
        )
        .bind(seen.call_id.get())
        .bind(&seen.event_id)
        .bind(download.url)
        .bind(now)
        .execute(&mut *tx)
        .await?;
        sqlx::query(
            "UPDATE calls SET recording_started_at = COALESCE(recording_started_at, $2),
                 recording_status = COALESCE(recording_status, 'requested')
             WHERE id = $1",
        )
        .bind(seen.call_id.get())
        .bind(download.recording_started_at)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        self.downloads_wake.notify_one();
        Ok(true)
    }

    /// Resolves when a download was queued by this process since the last call.
    pub async fn downloads_woken(&self) {
        self.downloads_wake.notified().await;
    }

    /// Claims up to `limit` due downloads until `lease_until`, counting the attempt.
    pub async fn claim_downloads(
        &self,
        now: UnixTime,
        lease_until: UnixTime,
        limit: i64,
    ) -> StoreResult<Vec<ClaimedDownload>> {
        let due: Vec<i64> = sqlx::query_scalar(
            "SELECT call_id FROM recording_downloads
             WHERE done_at IS NULL AND next_attempt_at <= $1
               AND (lease_until IS NULL OR lease_until < $1)
             ORDER BY next_attempt_at, call_id LIMIT $2",
        )
        .bind(now)
        .bind(limit)
        .fetch_all(self.pool())
        .await?;
        let mut claimed = Vec::with_capacity(due.len());
        for call_id in due {
            // Conditional on the lease still being free: of two instances, one wins.
            let row: Option<ClaimedDownload> = sqlx::query_as(
                "UPDATE recording_downloads SET lease_until = $2, attempts = attempts + 1
                 WHERE call_id = $1 AND done_at IS NULL
                   AND (lease_until IS NULL OR lease_until < $3)
                 RETURNING call_id, url, attempts, created_at",
            )
            .bind(call_id)
            .bind(lease_until)
            .bind(now)
            .fetch_optional(self.pool())
            .await?;
            claimed.extend(row);
        }
        Ok(claimed)
    }

    /// The download put the recording in the store as `key`: the call has it now.
    pub async fn finish_download(
        &self,
        call_id: CallId,
        key: &str,
        now: UnixTime,
    ) -> StoreResult<()> {
        let mut tx = self.pool().begin().await?;
        sqlx::query(
            "UPDATE calls SET has_recording = $2, recording_status = 'stored', recording_key = $3,
                 recording_error = NULL
             WHERE id = $1 AND (recording_status IS NULL OR recording_status IN ('requested', 'failed'))",
        )
        .bind(call_id.get())
        .bind(true)
        .bind(key)
        .execute(&mut *tx)
        .await?;
        sqlx::query(
            "UPDATE recording_downloads SET done_at = $2, lease_until = NULL, last_error = NULL
             WHERE call_id = $1",
        )
        .bind(call_id.get())
        .bind(now)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        self.changes().notify(call_id);
        Ok(())
    }

    /// The attempt failed; the download is due again at `next_attempt_at`.
    pub async fn retry_download(
        &self,
        call_id: CallId,
        error: &str,
        next_attempt_at: UnixTime,
    ) -> StoreResult<()> {
        sqlx::query(
            "UPDATE recording_downloads SET lease_until = NULL, next_attempt_at = $2, last_error = $3
             WHERE call_id = $1 AND done_at IS NULL",
        )
        .bind(call_id.get())
        .bind(next_attempt_at)
        .bind(error)
        .execute(self.pool())
        .await?;
        Ok(())
    }

    /// The download gave up: the call's recording failed for `reason`.
    pub async fn give_up_download(
        &self,
        call_id: CallId,
        reason: &str,
        now: UnixTime,
    ) -> StoreResult<()> {
        sqlx::query(
            "UPDATE recording_downloads SET done_at = $2, lease_until = NULL, last_error = $3
             WHERE call_id = $1",
        )
        .bind(call_id.get())
        .bind(now)
        .bind(reason)
        .execute(self.pool())
        .await?;
        self.fail_recording(call_id, reason).await
    }
}
