//! The embedded recordings store: files under a folder (`<data folder>/recordings/` by
//! default), written atomically, served by this server (`routes::recording_file`) at URLs
//! that carry their own expiry and an HMAC-SHA256 of it and the key under a key derived from
//! the server key:
//!
//! `/recordings/<key, each segment percent-encoded>?expires=<unix seconds>&signature=<base64url>`
//!
//! where `signature` is `HMAC-SHA256(K, "callscope-recording/v1\n" + expires + "\n" + key)`
//! without padding. A URL is good until `expires` (inclusive); nothing else about it can be
//! changed without the key.

use std::path::{Path, PathBuf};

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, Mac};
use sha2::Sha256;

use super::UnsignableKey;
use super::store::StoreFailure;

/// The path every embedded recording URL starts with.
pub const PATH_PREFIX: &str = "/recordings/";
/// Longest key stored.
pub const MAX_KEY_LEN: usize = 1024;
const SIGNATURE_CONTEXT: &[u8] = b"callscope-recording/v1\n";

/// Recordings as files under `dir`, with the key that signs their URLs.
#[derive(Clone)]
pub struct EmbeddedStore {
    dir: PathBuf,
    key: [u8; 32],
}

impl std::fmt::Debug for EmbeddedStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EmbeddedStore")
            .field("dir", &self.dir)
            .finish_non_exhaustive()
    }
}

/// Whether `key` names a file strictly inside the folder: `/`-separated segments, none
/// empty, none starting with `.` (so no `.`/`..` and never one of our temporary files), no
/// `\`, no control characters, at most `MAX_KEY_LEN` bytes.
pub fn key_is_storable(key: &str) -> bool {
    !key.is_empty()
        && key.len() <= MAX_KEY_LEN
        && !key.chars().any(|c| c == '\\' || c.is_control())
        && key
            .split('/')
            .all(|segment| !segment.is_empty() && !segment.starts_with('.'))
}

impl EmbeddedStore {
    /// Recordings under `dir`, URLs signed with `key` (`Keys::recording_url`).
    pub fn new(dir: impl Into<PathBuf>, key: [u8; 32]) -> Self {
        Self {
            dir: dir.into(),
            key,
        }
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The file of `key`, if the key is one this store keeps.
    pub fn path_of(&self, key: &str) -> Option<PathBuf> {
        key_is_storable(key).then(|| {
            let mut path = self.dir.clone();
            path.extend(key.split('/'));
            path
        })
    }

    /// Writes the file atomically: a temporary file beside it, synced, then renamed over
    /// it, so a reader sees the old recording or the whole new one, never part of one.
    pub async fn put(&self, key: &str, bytes: &[u8]) -> Result<(), StoreFailure> {
        let path = self.path_of(key).ok_or(StoreFailure::BadKey)?;
        let parent = path.parent().ok_or(StoreFailure::BadKey)?.to_owned();
        tokio::fs::create_dir_all(&parent).await?;
        let suffix: [u8; 12] = crate::secrets::random_bytes()
            .map_err(|_| std::io::Error::other("the OS random number generator failed"))?;
        let temp = parent.join(format!(".tmp-{}", URL_SAFE_NO_PAD.encode(suffix)));
        let written = async {
            let mut file = tokio::fs::File::create(&temp).await?;
            tokio::io::AsyncWriteExt::write_all(&mut file, bytes).await?;
            file.sync_all().await?;
            drop(file);
            tokio::fs::rename(&temp, &path).await
        }
        .await;
        if let Err(e) = written {
            let _ = tokio::fs::remove_file(&temp).await;
            return Err(e.into());
        }
        Ok(())
    }

    /// Removes the file; one that is not there is not an error.
    pub async fn delete(&self, key: &str) -> Result<(), StoreFailure> {
        let path = self.path_of(key).ok_or(StoreFailure::BadKey)?;
        match tokio::fs::remove_file(&path).await {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(e.into()),
        }
    }

    /// The URL path (with its query) that serves `key` until `now + expires_in`.
    pub fn signed_path(
        &self,
        key: &str,
        expires_in: u64,
        now: i64,
    ) -> Result<String, UnsignableKey> {
        if !key_is_storable(key) {
            return Err(UnsignableKey);
        }
        let expires = i64::try_from(expires_in)
            .ok()
            .and_then(|secs| now.checked_add(secs))
            .ok_or(UnsignableKey)?;
        let signature = URL_SAFE_NO_PAD.encode(self.mac(key, expires).finalize().into_bytes());
        let mut url =
            url::Url::parse("http://callscope.invalid/recordings/").expect("a constant URL parses");
        url.path_segments_mut()
            .map_err(|_| UnsignableKey)?
            .pop_if_empty()
            .extend(key.split('/'));
        url.query_pairs_mut()
            .append_pair("expires", &expires.to_string())
            .append_pair("signature", &signature);
        Ok(url[url::Position::BeforePath..].to_owned())
    }

    /// The file a request may read: `key` with the URL's `expires` and `signature`, checked
    /// (the signature in constant time) at `now`. `None` for a bad signature, a URL past its
    /// expiry or a key this store does not keep, with no hint which.
    pub fn verify(&self, key: &str, expires: &str, signature: &str, now: i64) -> Option<Verified> {
        let path = self.path_of(key)?;
        let expires_text = expires;
        let expires: i64 = expires_text.parse().ok()?;
        // The form this server writes only: digits, no sign, no leading zeros.
        if expires < 0 || expires.to_string() != expires_text {
            return None;
        }
        let signature = URL_SAFE_NO_PAD.decode(signature).ok()?;
        self.mac(key, expires).verify_slice(&signature).ok()?;
        (now <= expires).then_some(Verified { path, expires })
    }

    fn mac(&self, key: &str, expires: i64) -> Hmac<Sha256> {
        let mut mac =
            <Hmac<Sha256> as Mac>::new_from_slice(&self.key).expect("HMAC takes any key length");
        mac.update(SIGNATURE_CONTEXT);
        mac.update(expires.to_string().as_bytes());
        mac.update(b"\n");
        mac.update(key.as_bytes());
        mac
    }
}

/// A URL that checked out: the file to serve and the instant the URL stops working.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verified {
    pub path: PathBuf,
    pub expires: i64,
}
