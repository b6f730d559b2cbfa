//! The recording service: a signed, expiring URL to one of the account's call recordings,
//! from whichever store is configured (a path on this server for the embedded store, a
//! pre-signed S3 GET URL for a bucket).

use callscope_shared::{CallId, RecordingLink};

use super::{RecordingStore, UnsignableKey};
use crate::clock::UnixTime;
use crate::ids::AccountId;
use crate::storage::{RecordingState, Store, StoreError};

/// Why no URL was given. `error.rs` maps it to the HTTP answer.
#[derive(Debug, thiserror::Error)]
pub enum RecordingError {
    /// Missing, or another account's.
    #[error("no such call")]
    CallNotFound,
    #[error("recording was not enabled for the call")]
    NotEnabled,
    #[error("the recording is still being uploaded")]
    NotYetAvailable,
    /// Capture or download failed, for the reason given (written for the owner).
    #[error("recording failed: {0}")]
    Failed(String),
    /// Retention deleted it.
    #[error("the recording was deleted after its retention period")]
    Deleted,
    /// A recording exists but this server has no recordings store configured.
    #[error("recordings are not configured on this server")]
    NotConfigured,
    #[error("recording of call {call_id}: {source}")]
    Unsignable {
        call_id: CallId,
        source: UnsignableKey,
    },
    #[error("the URL's expiry is past the years a timestamp can show")]
    ExpiryOutOfRange,
    #[error("recordings storage: {0}")]
    Store(#[from] StoreError),
}

/// A URL to the call's recording, signed at `now` (Unix seconds) and valid for
/// `expires_in` seconds. `recordings` is `None` when no store is configured.
pub async fn presigned_link(
    store: &Store,
    recordings: Option<&RecordingStore>,
    account_id: AccountId,
    call_id: CallId,
    expires_in: i64,
    now: UnixTime,
) -> Result<RecordingLink, RecordingError> {
    let key = match store.recording_state(account_id, call_id).await? {
        RecordingState::NoSuchCall => return Err(RecordingError::CallNotFound),
        RecordingState::NotEnabled => return Err(RecordingError::NotEnabled),
        RecordingState::NotYetAvailable => return Err(RecordingError::NotYetAvailable),
        RecordingState::Failed(reason) => return Err(RecordingError::Failed(reason)),
        RecordingState::Deleted => return Err(RecordingError::Deleted),
        RecordingState::Available(key) => key,
    };
    let recordings = recordings.ok_or(RecordingError::NotConfigured)?;
    let url = recordings
        .signed_url(&key, expires_in as u64, now.secs())
        .map_err(|source| RecordingError::Unsignable { call_id, source })?;
    let expires_at = now
        .plus(expires_in)
        .timestamp()
        .ok_or(RecordingError::ExpiryOutOfRange)?;
    Ok(RecordingLink { url, expires_at })
}
