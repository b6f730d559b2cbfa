//! The server key: 32 secret bytes from which every purpose-specific key is derived (list
//! cursors are MACed with one, debug-link tokens encrypted with another). Every instance
//! sharing a database must share it: `CALLSCOPE_LINK_KEY` (base64), or a key file that the
//! embedded default creates beside the SQLite database with mode 0600.

use std::io::Write;
use std::path::{Path, PathBuf};

use aes_gcm::aead::{Aead, KeyInit};
use aes_gcm::{Aes256Gcm, Nonce};
use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use hmac::{Hmac, Mac};
use rand::TryRngCore;
use rand::rngs::OsRng;
use sha2::Sha256;

/// Making a secret failed: the OS random number generator or the cipher refused. Neither
/// happens on a working system; a request that meets it gets a 500, not a panic.
#[derive(Debug, thiserror::Error)]
#[error("the OS random number generator or the cipher failed")]
pub struct CryptoError;

/// `N` bytes from the OS CSPRNG: every key, token, secret and nonce comes from here.
pub fn random_bytes<const N: usize>() -> Result<[u8; N], CryptoError> {
    let mut bytes = [0u8; N];
    OsRng.try_fill_bytes(&mut bytes).map_err(|_| CryptoError)?;
    Ok(bytes)
}

#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    #[error("the server key must be 32 bytes, base64 encoded")]
    Malformed,
    #[error("key file {path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error(
        "no server key: set CALLSCOPE_LINK_KEY (base64 of 32 random bytes) or CALLSCOPE_LINK_KEY_FILE; \
         every instance sharing a PostgreSQL database needs the same key"
    )]
    Missing,
}

/// The root secret. `Debug` never shows it.
#[derive(Clone)]
pub struct ServerKey([u8; 32]);

impl std::fmt::Debug for ServerKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ServerKey(..)")
    }
}

impl ServerKey {
    /// A fresh key from the OS CSPRNG. For start-up and tools, never a request: a failing
    /// random number generator stops the process there.
    pub fn generate() -> Self {
        Self(random_bytes().expect("the OS random number generator failed"))
    }

    /// Parses standard or URL-safe base64 (padding optional) of exactly 32 bytes.
    pub fn from_base64(text: &str) -> Result<Self, KeyError> {
        let text = text.trim();
        let bytes = STANDARD
            .decode(text)
            .or_else(|_| URL_SAFE_NO_PAD.decode(text.trim_end_matches('=')))
            .map_err(|_| KeyError::Malformed)?;
        let bytes: [u8; 32] = bytes.try_into().map_err(|_| KeyError::Malformed)?;
        Ok(Self(bytes))
    }

    /// Standard base64 of the key, for writing to a key file.
    pub fn to_base64(&self) -> String {
        STANDARD.encode(self.0)
    }

    /// Reads the key file, or creates it (mode 0600, never replacing an existing file).
    pub fn load_or_create(path: &Path) -> Result<Self, KeyError> {
        let io = |source| KeyError::Io {
            path: path.to_owned(),
            source,
        };
        match std::fs::read_to_string(path) {
            Ok(text) => return Self::from_base64(&text),
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => return Err(io(e)),
            Err(_) => {}
        }
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(io)?;
        }
        let key = Self::generate();
        let mut options = std::fs::OpenOptions::new();
        options.write(true).create_new(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
        match options.open(path) {
            Ok(mut file) => {
                writeln!(file, "{}", key.to_base64()).map_err(io)?;
                file.sync_all().map_err(io)?;
                Ok(key)
            }
            // Another process created it first: use theirs.
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                Self::from_base64(&std::fs::read_to_string(path).map_err(io)?)
            }
            Err(e) => Err(io(e)),
        }
    }

    /// A key for one purpose, so no two uses ever share key material.
    pub fn derive(&self, purpose: &str) -> [u8; 32] {
        let mut mac =
            <Hmac<Sha256> as Mac>::new_from_slice(&self.0).expect("HMAC takes any key length");
        mac.update(b"callscope/");
        mac.update(purpose.as_bytes());
        mac.finalize().into_bytes().into()
    }
}

const NONCE_LEN: usize = 12;

/// Encrypts `plain` under `key` with AES-256-GCM and a fresh random nonce: `nonce || ciphertext`.
pub fn seal(key: &[u8; 32], plain: &[u8]) -> Result<Vec<u8>, CryptoError> {
    let nonce: [u8; NONCE_LEN] = random_bytes()?;
    let sealed = Aes256Gcm::new(key.into())
        .encrypt(Nonce::from_slice(&nonce), plain)
        .map_err(|_| CryptoError)?;
    Ok([nonce.as_slice(), &sealed].concat())
}

/// Opens what `seal` sealed; `None` under another key or if the bytes were altered.
pub fn open(key: &[u8; 32], sealed: &[u8]) -> Option<Vec<u8>> {
    if sealed.len() <= NONCE_LEN {
        return None;
    }
    let (nonce, body) = sealed.split_at(NONCE_LEN);
    Aes256Gcm::new(key.into())
        .decrypt(Nonce::from_slice(nonce), body)
        .ok()
}

/// Where the embedded default keeps its key file: beside the SQLite database.
pub fn default_key_file(database_url: &str) -> Option<PathBuf> {
    beside_sqlite_database(database_url, "callscope.key")
}

/// `name` in the folder of a SQLite database file (what the embedded defaults keep beside
/// it: the key file, the recordings folder); `None` for PostgreSQL or an in-memory SQLite.
pub fn beside_sqlite_database(database_url: &str, name: &str) -> Option<PathBuf> {
    let rest = database_url
        .strip_prefix("sqlite://")
        .or_else(|| database_url.strip_prefix("sqlite:"))?;
    let path = rest.split('?').next()?;
    if path.is_empty() || path.contains(":memory:") {
        return None;
    }
    Some(Path::new(path).with_file_name(name))
}

/// The purpose keys the server uses, derived once at start.
#[derive(Clone)]
pub struct Keys {
    /// MACs list cursors.
    pub cursor: [u8; 32],
    /// Encrypts debug-link tokens at rest.
    pub link_encryption: [u8; 32],
    /// Encrypts webhook signing secrets at rest.
    pub webhook_secret: [u8; 32],
    /// Signs the embedded recordings store's URLs.
    pub recording_url: [u8; 32],
    /// Signs the recording URLs of debug links (`debug_link::recording`).
    pub debug_recording_url: [u8; 32],
}

impl Keys {
    pub fn from_server_key(key: &ServerKey) -> Self {
        Self {
            cursor: key.derive("cursor/v1"),
            link_encryption: key.derive("debug-link-token/v1"),
            webhook_secret: key.derive("webhook-signing-secret/v1"),
            recording_url: key.derive("recording-url/v1"),
            debug_recording_url: key.derive("debug-link-recording-url/v1"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_file_is_created_once_with_mode_0600() {
        let dir = std::env::temp_dir().join(format!("callscope_key_{}", std::process::id()));
        let path = dir.join("sub/callscope.key");
        let first = ServerKey::load_or_create(&path).unwrap();
        let second = ServerKey::load_or_create(&path).unwrap();
        assert_eq!(first.derive("x"), second.derive("x"));
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
            assert_eq!(mode, 0o600);
        }
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn derived_keys_differ_by_purpose_and_base64_round_trips() {
        let key = ServerKey::generate();
        assert_ne!(key.derive("cursor"), key.derive("link"));
        let again = ServerKey::from_base64(&key.to_base64()).unwrap();
        assert_eq!(again.derive("cursor"), key.derive("cursor"));
        assert!(ServerKey::from_base64("c2hvcnQ=").is_err());
        assert!(ServerKey::from_base64("not base64!").is_err());
        assert!(!format!("{key:?}").contains(&key.to_base64()));
    }

    #[test]
    fn default_key_file_sits_beside_the_database() {
        assert_eq!(
            default_key_file("sqlite://data/callscope.db"),
            Some(PathBuf::from("data/callscope.key"))
        );
        assert_eq!(
            default_key_file("sqlite:///var/lib/cs/x.db?mode=rwc"),
            Some(PathBuf::from("/var/lib/cs/callscope.key"))
        );
        assert_eq!(default_key_file("postgres://localhost/x"), None);
        assert_eq!(default_key_file("sqlite::memory:"), None);
    }
}
