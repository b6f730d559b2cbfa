//! API keys: `sfy_live_…` / `sfy_test_…`, shown once at creation, stored as SHA-256.

use axum::extract::FromRequestParts;
use axum::http::header::AUTHORIZATION;
use axum::http::request::Parts;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

use crate::secrets::random_bytes;
use sha2::{Digest, Sha256};

use crate::app::AppState;
use crate::clock::UnixTime;
use crate::error::{ApiError, messages};
use crate::ids::AccountId;
use crate::storage::{AccountStatus, Store, StoreResult};

/// Whether a key is for live or test traffic (its prefix says so).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyMode {
    Live,
    Test,
}

impl KeyMode {
    fn prefix(self) -> &'static str {
        match self {
            KeyMode::Live => "sfy_live_",
            KeyMode::Test => "sfy_test_",
        }
    }
}

/// Random characters after the prefix: 24 bytes as unpadded base64url.
const SECRET_LEN: usize = 32;

/// A well-formed API key. Never logged: `Debug` shows only the prefix.
#[derive(Clone, PartialEq, Eq)]
pub struct ApiKey(String);

impl std::fmt::Debug for ApiKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "ApiKey({}…)", self.display_prefix())
    }
}

impl ApiKey {
    /// A new key from the OS CSPRNG (the command line makes keys, never a request).
    pub fn generate(mode: KeyMode) -> Self {
        let bytes: [u8; 24] = random_bytes().expect("the OS random number generator failed");
        Self(format!(
            "{}{}",
            mode.prefix(),
            URL_SAFE_NO_PAD.encode(bytes)
        ))
    }

    /// Parses a presented key; `None` unless it has exactly our shape.
    pub fn parse(text: &str) -> Option<Self> {
        let secret = text
            .strip_prefix("sfy_live_")
            .or_else(|| text.strip_prefix("sfy_test_"))?;
        let ok = secret.len() == SECRET_LEN
            && secret
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
        ok.then(|| Self(text.to_owned()))
    }

    /// The whole key, to show once.
    pub fn reveal(&self) -> &str {
        &self.0
    }

    /// The lookup hash. Keys carry 192 random bits, so a fast hash is safe here.
    pub fn hash(&self) -> [u8; 32] {
        Sha256::digest(self.0.as_bytes()).into()
    }

    /// Prefix plus the first 4 secret characters: enough to recognise a key in a list.
    pub fn display_prefix(&self) -> &str {
        &self.0[..13]
    }
}

/// Creates a key for the account called `account` (creating the account if new).
pub async fn create_key(
    store: &Store,
    account: &str,
    mode: KeyMode,
    now: UnixTime,
) -> StoreResult<ApiKey> {
    let account_id = store.ensure_account(account, now).await?;
    let key = ApiKey::generate(mode);
    store
        .insert_api_key(account_id, &key.hash(), key.display_prefix(), now)
        .await?;
    Ok(key)
}

/// How stale a key's `last_used_at` may get: authenticating writes it at most this often
/// per key (and every instance checks the stored value), so busy keys cost no write per
/// request.
pub const LAST_USED_GRANULARITY_SECS: i64 = 60;

/// The authenticated caller: every query is scoped to this account.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Auth {
    pub account_id: AccountId,
}

impl FromRequestParts<AppState> for Auth {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let header = parts
            .headers
            .get(AUTHORIZATION)
            .ok_or_else(|| ApiError::unauthorized(messages::MISSING_API_KEY))?;
        let invalid = || ApiError::unauthorized(messages::INVALID_API_KEY);
        let text = header.to_str().map_err(|_| invalid())?;
        let (scheme, token) = text.trim().split_once(' ').ok_or_else(invalid)?;
        if !scheme.eq_ignore_ascii_case("bearer") {
            return Err(invalid());
        }
        let key = ApiKey::parse(token.trim()).ok_or_else(invalid)?;
        let owner = state
            .store
            .find_api_key(&key.hash())
            .await?
            .ok_or_else(invalid)?;
        if owner.account_status == AccountStatus::Suspended {
            return Err(ApiError::forbidden(messages::ACCOUNT_SUSPENDED));
        }
        let now = state.clock.now();
        if owner
            .last_used_at
            .is_none_or(|last| now.since(last) >= LAST_USED_GRANULARITY_SECS)
            && let Err(err) = state
                .store
                .touch_api_key(owner.key_id, now, LAST_USED_GRANULARITY_SECS)
                .await
        {
            // Bookkeeping only: the request goes on.
            tracing::warn!(error = %err, "recording an API key's last use failed");
        }
        Ok(Auth {
            account_id: owner.account_id,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_keys_parse_and_differ() {
        let a = ApiKey::generate(KeyMode::Live);
        let b = ApiKey::generate(KeyMode::Test);
        assert!(a.reveal().starts_with("sfy_live_"));
        assert!(b.reveal().starts_with("sfy_test_"));
        assert_eq!(a.reveal().len(), 9 + SECRET_LEN);
        assert_eq!(ApiKey::parse(a.reveal()), Some(a.clone()));
        assert_ne!(a.hash(), ApiKey::generate(KeyMode::Live).hash());
        assert!(!format!("{a:?}").contains(&a.reveal()[13..]));
    }

    #[test]
    fn malformed_keys_are_rejected() {
        let good = ApiKey::generate(KeyMode::Live).reveal().to_owned();
        for bad in [
            "".to_owned(),
            "sfy_live_".to_owned(),
            good[..good.len() - 1].to_owned(),
            format!("{good}x"),
            good.replace("sfy_live_", "sfy_prod_"),
            format!("{}!{}", &good[..20], &good[21..]),
        ] {
            assert!(ApiKey::parse(&bad).is_none(), "{bad}");
        }
    }
}
