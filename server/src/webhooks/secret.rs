//! Signing secrets and signatures, per Standard Webhooks: the secret is `whsec_` + base64 of
//! 32 random bytes, and `webhook-signature` is `v1,` + base64 of HMAC-SHA256, keyed with those
//! bytes, of `{webhook-id}.{webhook-timestamp}.{body}`. Secrets are kept sealed with
//! AES-256-GCM under a key derived from the server key.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use hmac::{Hmac, Mac};

use crate::secrets::{CryptoError, random_bytes};
use sha2::Sha256;

const PREFIX: &str = "whsec_";

/// An endpoint's signing secret. `Debug` hides it.
#[derive(Clone, PartialEq, Eq)]
pub struct SigningSecret([u8; 32]);

impl std::fmt::Debug for SigningSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SigningSecret(..)")
    }
}

impl SigningSecret {
    /// A fresh secret from the OS CSPRNG.
    pub fn try_generate() -> Result<Self, CryptoError> {
        Ok(Self(random_bytes()?))
    }

    /// `try_generate` for tests and tools, where a failing generator may stop the process.
    pub fn generate() -> Self {
        Self::try_generate().expect("the OS random number generator failed")
    }

    /// The text shown once to the endpoint's owner.
    pub fn reveal(&self) -> String {
        format!("{PREFIX}{}", STANDARD.encode(self.0))
    }

    /// Parses `whsec_…` as `reveal` writes it.
    pub fn parse(text: &str) -> Option<Self> {
        let bytes = STANDARD.decode(text.strip_prefix(PREFIX)?).ok()?;
        Some(Self(bytes.try_into().ok()?))
    }

    /// `nonce || ciphertext` under `key`.
    pub fn seal(&self, key: &[u8; 32]) -> Result<Vec<u8>, CryptoError> {
        crate::secrets::seal(key, &self.0)
    }

    /// Opens what `seal` sealed; `None` under another key or if altered.
    pub fn open(sealed: &[u8], key: &[u8; 32]) -> Option<Self> {
        Some(Self(crate::secrets::open(key, sealed)?.try_into().ok()?))
    }

    /// The `webhook-signature` header value for one attempt.
    pub fn sign(&self, id: &str, timestamp: i64, body: &[u8]) -> String {
        let mut mac =
            <Hmac<Sha256> as Mac>::new_from_slice(&self.0).expect("HMAC takes any key length");
        mac.update(id.as_bytes());
        mac.update(b".");
        mac.update(timestamp.to_string().as_bytes());
        mac.update(b".");
        mac.update(body);
        format!("v1,{}", STANDARD.encode(mac.finalize().into_bytes()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_have_the_standard_shape_and_round_trip() {
        let s = SigningSecret::generate();
        let text = s.reveal();
        assert!(text.starts_with("whsec_"));
        assert_eq!(STANDARD.decode(&text[6..]).unwrap().len(), 32);
        assert_eq!(SigningSecret::parse(&text), Some(s.clone()));
        assert!(!format!("{s:?}").contains(&text[6..]));
        assert_eq!(SigningSecret::parse("whsec_c2hvcnQ="), None);
    }

    #[test]
    fn sealed_secrets_open_only_with_their_key() {
        let s = SigningSecret::generate();
        let sealed = s.seal(&[1; 32]).unwrap();
        assert_eq!(SigningSecret::open(&sealed, &[1; 32]), Some(s.clone()));
        assert_eq!(SigningSecret::open(&sealed, &[2; 32]), None);
        let mut altered = sealed.clone();
        altered[15] ^= 1;
        assert_eq!(SigningSecret::open(&altered, &[1; 32]), None);
    }
}
