//! The recordings store: one interface over the embedded default (files under the data
//! folder, served by this server) and an S3 bucket. A recording is `put` once its audio is
//! in hand (only then does a call have `has_recording`), read through `signed_url`, and
//! removed with `delete` (retention); deleting what is not there is not an error.

use std::path::PathBuf;

use url::Url;

use super::embedded::EmbeddedStore;
use super::{Recordings, UnsignableKey};

/// Every recording is MP3 (the spec's "Recording format").
pub const CONTENT_TYPE: &str = "audio/mpeg";

/// Where recordings are kept.
#[derive(Debug, Clone)]
pub enum RecordingStore {
    /// Files under a folder (`<data folder>/recordings/` by default), served by this server.
    Embedded(EmbeddedStore),
    /// An S3 bucket (or an S3-compatible store).
    S3(Recordings),
}

/// Why a store operation failed.
#[derive(Debug, thiserror::Error)]
pub enum StoreFailure {
    /// The key would leave the store (`..`, a leading `/`, a hidden segment) or is empty.
    #[error("recording key cannot be stored safely")]
    BadKey,
    #[error("recordings folder: {0}")]
    Io(#[from] std::io::Error),
    #[error("recordings bucket: {0}")]
    Http(reqwest::Error),
    #[error("recordings bucket answered HTTP {0}")]
    S3Status(u16),
}

impl RecordingStore {
    /// Stores `bytes` as `key`, replacing any object already there. `now` (Unix seconds)
    /// signs the S3 request.
    pub async fn put(&self, key: &str, bytes: Vec<u8>, now: i64) -> Result<(), StoreFailure> {
        match self {
            Self::Embedded(store) => store.put(key, &bytes).await,
            Self::S3(bucket) => bucket.put(key, bytes, now).await,
        }
    }

    /// A URL that reads `key` until `now + expires_in`: a path on this server
    /// (`/recordings/…`) for the embedded store, a pre-signed S3 GET URL for a bucket.
    pub fn signed_url(
        &self,
        key: &str,
        expires_in: u64,
        now: i64,
    ) -> Result<String, UnsignableKey> {
        match self {
            Self::Embedded(store) => store.signed_path(key, expires_in, now),
            Self::S3(bucket) => bucket.presign_get(key, expires_in, now).map(Url::into),
        }
    }

    /// Removes `key`; a key that is not stored is not an error.
    pub async fn delete(&self, key: &str, now: i64) -> Result<(), StoreFailure> {
        match self {
            Self::Embedded(store) => store.delete(key).await,
            Self::S3(bucket) => bucket.delete(key, now).await,
        }
    }

    /// For the start-up log line.
    pub fn describe(&self) -> String {
        match self {
            Self::Embedded(store) => format!("folder {}", store.dir().display()),
            Self::S3(bucket) => format!("S3 bucket {} ({})", bucket.bucket(), bucket.region()),
        }
    }
}

/// The embedded store's default folder: `recordings/` beside the SQLite database (the data
/// folder, where the key file also lives). `None` for PostgreSQL and in-memory SQLite.
pub fn default_recordings_dir(database_url: &str) -> Option<PathBuf> {
    crate::secrets::beside_sqlite_database(database_url, "recordings")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_folder_sits_beside_the_database() {
        assert_eq!(
            default_recordings_dir("sqlite://data/callscope.db"),
            Some(PathBuf::from("data/recordings"))
        );
        assert_eq!(
            default_recordings_dir("sqlite:///var/lib/cs/x.db?mode=rwc"),
            Some(PathBuf::from("/var/lib/cs/recordings"))
        );
        assert_eq!(
            default_recordings_dir("sqlite://x.db"),
            Some(PathBuf::from("recordings"))
        );
        assert_eq!(default_recordings_dir("postgres://localhost/x"), None);
        assert_eq!(default_recordings_dir("sqlite::memory:"), None);
    }
}
