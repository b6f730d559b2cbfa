//! Debug-link tokens: 32 bytes from the OS CSPRNG as unpadded base64url (43 characters; the
//! shape is `callscope_shared::link`'s, which the viewer checks too). Looked up by SHA-256; the plaintext is kept only encrypted (AES-256-GCM) under a key
//! derived from the server key, so a copy of the database alone opens no link.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use callscope_shared::link::{self, TOKEN_BYTES};

use crate::secrets::{CryptoError, random_bytes};
use sha2::{Digest, Sha256};

/// A well-formed token. `Debug` hides it: tokens never reach a log line.
#[derive(Clone, PartialEq, Eq)]
pub struct DebugToken(String);

impl std::fmt::Debug for DebugToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("DebugToken(..)")
    }
}

impl DebugToken {
    /// A fresh token from the OS CSPRNG.
    pub fn try_generate() -> Result<Self, CryptoError> {
        let bytes: [u8; TOKEN_BYTES] = random_bytes()?;
        Ok(Self(URL_SAFE_NO_PAD.encode(bytes)))
    }

    /// `try_generate` for tests and tools, where a failing generator may stop the process.
    pub fn generate() -> Self {
        Self::try_generate().expect("the OS random number generator failed")
    }

    /// Accepts only the canonical encoding of 32 bytes, so each token has one spelling.
    pub fn parse(text: &str) -> Option<Self> {
        link::is_token(text).then(|| Self(text.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The lookup key stored in the database.
    pub fn hash(&self) -> [u8; 32] {
        Sha256::digest(self.0.as_bytes()).into()
    }

    /// `nonce || ciphertext` under `key`.
    pub fn encrypt(&self, key: &[u8; 32]) -> Result<Vec<u8>, CryptoError> {
        crate::secrets::seal(key, self.0.as_bytes())
    }

    /// Opens what `encrypt` sealed; `None` if the key is wrong or the bytes were altered.
    pub fn decrypt(sealed: &[u8], key: &[u8; 32]) -> Option<Self> {
        let plain = crate::secrets::open(key, sealed)?;
        Self::parse(std::str::from_utf8(&plain).ok()?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_43_canonical_characters() {
        let t = DebugToken::generate();
        assert_eq!(t.as_str().len(), 43);
        // What the server generates is what the viewer accepts on its path.
        for t in (0..200).map(|_| DebugToken::generate()) {
            let path = link::debug_path(t.as_str());
            assert_eq!(link::token_of_path(&path), Some(t.as_str()));
        }
        assert_eq!(DebugToken::parse(t.as_str()), Some(t.clone()));
        assert_ne!(DebugToken::generate(), t);
        assert!(!format!("{t:?}").contains(t.as_str()));
        // Same bytes, non-canonical last character (padding bits set).
        let mut chars: Vec<char> = "A".repeat(43).chars().collect();
        chars[42] = 'B';
        assert_eq!(DebugToken::parse(&chars.iter().collect::<String>()), None);
        for bad in [
            "",
            "short",
            &"A".repeat(44),
            &format!("{}=", &"A".repeat(42)),
            &"+".repeat(43),
        ] {
            assert_eq!(DebugToken::parse(bad), None, "{bad}");
        }
    }

    #[test]
    fn sealed_tokens_open_only_with_their_key() {
        let t = DebugToken::generate();
        let key = [3u8; 32];
        let sealed = t.encrypt(&key).unwrap();
        assert!(
            !sealed
                .windows(10)
                .any(|w| t.as_str().as_bytes().windows(10).any(|x| x == w))
        );
        assert_eq!(DebugToken::decrypt(&sealed, &key), Some(t.clone()));
        assert_eq!(DebugToken::decrypt(&sealed, &[4u8; 32]), None);
        let mut altered = sealed.clone();
        altered[20] ^= 1;
        assert_eq!(DebugToken::decrypt(&altered, &key), None);
        assert_ne!(t.encrypt(&key).unwrap(), sealed, "fresh nonce each time");
    }
}
