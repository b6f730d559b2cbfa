//! Debug links: at most one live (unrevoked) link per call, found by the token's hash.

use callscope_shared::CallId;

use super::call_detail::RecordingRow;
use super::decode::{self, Flag};
use super::{AccountStatus, RecordingState, Store, StoreError, StoreResult};
use crate::clock::UnixTime;
use crate::ids::{AccountId, LinkId};

/// A stored link. The token itself is only in `token_enc`, encrypted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LinkRecord {
    pub id: LinkId,
    pub call_id: CallId,
    pub token_enc: Vec<u8>,
    pub created_at: UnixTime,
    pub expires_at: Option<UnixTime>,
    /// The public view carries the call's recording (fixed at issue).
    pub include_recording: bool,
    pub view_count: i64,
    pub last_viewed_at: Option<UnixTime>,
}

/// What a presented token resolves to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LinkTarget {
    pub link_id: LinkId,
    pub call_id: CallId,
    pub expires_at: Option<UnixTime>,
    /// The public view carries the call's recording (fixed at issue).
    pub include_recording: bool,
}

impl LinkTarget {
    /// Whether the link has expired at `now` (it then opens nothing, like an unknown one).
    pub fn is_expired(&self, now: UnixTime) -> bool {
        self.expires_at.is_some_and(|at| at <= now)
    }
}

/// A call's recording as a debug link shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LinkRecording {
    pub state: RecordingState,
    /// The call's `started_at`: the transcript's clock starts there.
    pub call_started_at: UnixTime,
    /// When the provider started recording; `None` when it did not say.
    pub recording_started_at: Option<UnixTime>,
}

#[derive(sqlx::FromRow)]
struct LinkRecordingRow {
    #[sqlx(flatten)]
    recording: RecordingRow,
    recording_started_at: Option<UnixTime>,
    started_at: UnixTime,
}

/// Whether an account's call can have a debug link.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DebugLogState {
    NoSuchCall,
    NotAvailable,
    Available,
}

const LINK_COLUMNS: &str =
    "id, call_id, token_enc, created_at, expires_at, include_recording, view_count, last_viewed_at";

#[derive(sqlx::FromRow)]
struct LinkRow {
    id: LinkId,
    call_id: i64,
    token_enc: Vec<u8>,
    created_at: UnixTime,
    expires_at: Option<UnixTime>,
    include_recording: Flag,
    view_count: i64,
    last_viewed_at: Option<UnixTime>,
}

impl TryFrom<LinkRow> for LinkRecord {
    type Error = StoreError;

    fn try_from(r: LinkRow) -> StoreResult<Self> {
        Ok(LinkRecord {
            id: r.id,
            call_id: decode::call_id(r.call_id)?,
            token_enc: r.token_enc,
            created_at: r.created_at,
            expires_at: r.expires_at,
            include_recording: r.include_recording.into(),
            view_count: r.view_count,
            last_viewed_at: r.last_viewed_at,
        })
    }
}

#[derive(sqlx::FromRow)]
struct TargetRow {
    id: LinkId,
    call_id: i64,
    expires_at: Option<UnixTime>,
    include_recording: Flag,
}

impl TryFrom<TargetRow> for LinkTarget {
    type Error = StoreError;

    fn try_from(r: TargetRow) -> StoreResult<Self> {
        Ok(LinkTarget {
            link_id: r.id,
            call_id: decode::call_id(r.call_id)?,
            expires_at: r.expires_at,
            include_recording: r.include_recording.into(),
        })
    }
}

/// Links that open: unrevoked, of an active account (`$1`); callers add which.
const OPEN_LINKS: &str =
    "SELECT l.id, l.call_id, l.expires_at, l.include_recording FROM debug_links l
     JOIN calls c ON c.id = l.call_id
     JOIN accounts a ON a.id = c.account_id
     WHERE l.revoked_at IS NULL AND a.status = $1";

impl Store {
    pub async fn debug_log_state(
        &self,
        account_id: AccountId,
        call_id: CallId,
    ) -> StoreResult<DebugLogState> {
        let has_log: Option<Flag> =
            sqlx::query_scalar("SELECT has_debug_log FROM calls WHERE account_id = $1 AND id = $2")
                .bind(account_id)
                .bind(call_id.get())
                .fetch_optional(self.pool())
                .await?;
        Ok(match has_log {
            None => DebugLogState::NoSuchCall,
            Some(Flag(false)) => DebugLogState::NotAvailable,
            Some(Flag(true)) => DebugLogState::Available,
        })
    }

    /// The call's unrevoked link, if any (expired or not).
    pub async fn live_debug_link(&self, call_id: CallId) -> StoreResult<Option<LinkRecord>> {
        let row: Option<LinkRow> = sqlx::query_as(&format!(
            "SELECT {LINK_COLUMNS} FROM debug_links WHERE call_id = $1 AND revoked_at IS NULL"
        ))
        .bind(call_id.get())
        .fetch_optional(self.pool())
        .await?;
        row.map(LinkRecord::try_from).transpose()
    }

    /// Stores a new link unless the call already has a live one; returns the live link
    /// either way (so two concurrent first requests agree on one token, and on its
    /// `expires_at` and `include_recording`: the first insert's).
    pub async fn insert_debug_link(
        &self,
        call_id: CallId,
        token_hash: &[u8; 32],
        token_enc: &[u8],
        now: UnixTime,
        expires_at: Option<UnixTime>,
        include_recording: bool,
    ) -> StoreResult<LinkRecord> {
        sqlx::query(
            "INSERT INTO debug_links (call_id, token_hash, token_enc, created_at, expires_at,
                include_recording)
             VALUES ($1, $2, $3, $4, $5, $6)
             ON CONFLICT DO NOTHING",
        )
        .bind(call_id.get())
        .bind(token_hash.to_vec())
        .bind(token_enc.to_vec())
        .bind(now)
        .bind(expires_at)
        .bind(include_recording)
        .execute(self.pool())
        .await?;
        self.live_debug_link(call_id)
            .await?
            .ok_or_else(|| StoreError::Corrupt("debug link vanished after insert".into()))
    }

    /// Revokes the call's live link; returns whether there was one.
    pub async fn revoke_debug_link(&self, call_id: CallId, now: UnixTime) -> StoreResult<bool> {
        let done = sqlx::query(
            "UPDATE debug_links SET revoked_at = $1 WHERE call_id = $2 AND revoked_at IS NULL",
        )
        .bind(now)
        .bind(call_id.get())
        .execute(self.pool())
        .await?;
        let revoked = done.rows_affected() > 0;
        if revoked {
            // Its open live streams close at once (on every instance).
            self.changes().notify(call_id);
        }
        Ok(revoked)
    }

    /// The unrevoked link with this token hash, while its call's account is active: a
    /// suspended account's links do not open (and open again on reactivation).
    pub async fn find_debug_link(&self, token_hash: &[u8; 32]) -> StoreResult<Option<LinkTarget>> {
        let row: Option<TargetRow> = sqlx::query_as(&format!("{OPEN_LINKS} AND l.token_hash = $2"))
            .bind(AccountStatus::Active.as_str())
            .bind(token_hash.to_vec())
            .fetch_optional(self.pool())
            .await?;
        row.map(LinkTarget::try_from).transpose()
    }

    /// The call's unrevoked link while its account is active (what a live stream checks
    /// its own link against: revoked, replaced or suspended, the stream closes).
    pub async fn open_link_of_call(&self, call_id: CallId) -> StoreResult<Option<LinkTarget>> {
        let row: Option<TargetRow> = sqlx::query_as(&format!("{OPEN_LINKS} AND l.call_id = $2"))
            .bind(AccountStatus::Active.as_str())
            .bind(call_id.get())
            .fetch_optional(self.pool())
            .await?;
        row.map(LinkTarget::try_from).transpose()
    }

    /// What a link that includes the recording shows of call `call_id`'s recording,
    /// whoever owns the call (the link names it); `None` when the call is gone.
    pub async fn link_recording(&self, call_id: CallId) -> StoreResult<Option<LinkRecording>> {
        let row: Option<LinkRecordingRow> = sqlx::query_as(
            "SELECT recording_enabled, has_recording, recording_key, recording_status,
                    recording_error, recording_started_at, started_at
             FROM calls WHERE id = $1",
        )
        .bind(call_id.get())
        .fetch_optional(self.pool())
        .await?;
        Ok(row.map(|r| LinkRecording {
            state: r.recording.into(),
            call_started_at: r.started_at,
            recording_started_at: r.recording_started_at,
        }))
    }

    /// Adds `views` to a link's count and moves `last_viewed_at` forward to `at`.
    pub async fn record_link_views(
        &self,
        link_id: LinkId,
        views: i64,
        at: UnixTime,
    ) -> StoreResult<()> {
        sqlx::query(
            "UPDATE debug_links SET view_count = view_count + $1,
                last_viewed_at = CASE WHEN last_viewed_at IS NULL OR last_viewed_at < $2 THEN $2 ELSE last_viewed_at END
             WHERE id = $3",
        )
        .bind(views)
        .bind(at)
        .bind(link_id)
        .execute(self.pool())
        .await?;
        Ok(())
    }
}
