//! Operator commands over the store: list and revoke API keys, suspend and reactivate
//! accounts. `main.rs` prints what these return; tests call them directly too.

use serde::Serialize;

use crate::auth::ApiKey;
use crate::clock::UnixTime;
use crate::ids::AccountId;
use crate::storage::{AccountStatus, KeyRecord, Store, StoreError};

/// Why an operator command did nothing.
#[derive(Debug, thiserror::Error)]
pub enum OperatorError {
    #[error("no account named {0:?}")]
    UnknownAccount(String),
    #[error("no API key matches {0:?} (`callscope keys list --account NAME` shows the prefixes)")]
    UnknownKey(String),
    #[error(
        "the prefix {prefix:?} matches {} live keys ({}); add --account NAME, or give the whole key",
        matches.len(),
        describe(matches)
    )]
    AmbiguousPrefix {
        prefix: String,
        matches: Vec<KeyRecord>,
    },
    #[error(transparent)]
    Store(#[from] StoreError),
}

fn describe(keys: &[KeyRecord]) -> String {
    keys.iter()
        .map(|k| {
            format!(
                "account {:?}, created {}",
                k.account_name,
                instant(k.created_at)
            )
        })
        .collect::<Vec<_>>()
        .join("; ")
}

/// An instant as operators read it: RFC 3339 UTC (Unix seconds if out of range).
fn instant(at: UnixTime) -> String {
    at.timestamp()
        .map_or_else(|| at.to_string(), |t| t.to_string())
}

/// The account called `name` (trimmed, as `keys create` stores it).
async fn account(store: &Store, name: &str) -> Result<AccountId, OperatorError> {
    let name = name.trim();
    store
        .account_id(name)
        .await?
        .ok_or_else(|| OperatorError::UnknownAccount(name.to_owned()))
}

/// Every key of the account called `name`, revoked ones included, oldest first.
pub async fn list_keys(store: &Store, name: &str) -> Result<Vec<KeyRecord>, OperatorError> {
    let id = account(store, name).await?;
    Ok(store.list_api_keys(id).await?)
}

/// What `revoke_key` did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Revoked {
    /// The key was live and is now revoked.
    Now(KeyRecord),
    /// The key had been revoked before (nothing changed).
    Already(KeyRecord),
}

/// Revokes the key named by `key`: the prefix `keys list` shows (of the account called
/// `account_name` only, when given) or the whole key. A prefix shared by several live keys
/// revokes nothing.
pub async fn revoke_key(
    store: &Store,
    key: &str,
    account_name: Option<&str>,
    now: UnixTime,
) -> Result<Revoked, OperatorError> {
    let account_id = match account_name {
        Some(name) => Some(account(store, name).await?),
        None => None,
    };
    let matches = match ApiKey::parse(key) {
        Some(whole) => store
            .api_key_by_hash(&whole.hash())
            .await?
            .filter(|k| account_id.is_none_or(|id| k.account_id == id))
            .into_iter()
            .collect(),
        None => store.api_keys_with_prefix(key, account_id).await?,
    };
    let (live, revoked): (Vec<KeyRecord>, Vec<KeyRecord>) =
        matches.into_iter().partition(|k| k.revoked_at.is_none());
    match <[KeyRecord; 1]>::try_from(live) {
        Ok([one]) => {
            if store.revoke_api_key(one.id, now).await? {
                Ok(Revoked::Now(KeyRecord {
                    revoked_at: Some(now),
                    ..one
                }))
            } else {
                // Revoked by someone else between the two statements.
                Ok(Revoked::Already(one))
            }
        }
        Err(live) if live.is_empty() => revoked
            .into_iter()
            .next_back()
            .map(Revoked::Already)
            .ok_or_else(|| OperatorError::UnknownKey(key.to_owned())),
        Err(live) => Err(OperatorError::AmbiguousPrefix {
            prefix: key.to_owned(),
            matches: live,
        }),
    }
}

/// Suspends or reactivates the account called `name` at `now` (a suspension's first
/// instant is kept: its recordings' 7 days count from it).
pub async fn set_account_status(
    store: &Store,
    name: &str,
    status: AccountStatus,
    now: UnixTime,
) -> Result<(), OperatorError> {
    let id = account(store, name).await?;
    store.set_account_status(id, status, now).await?;
    Ok(())
}

/// One key in `keys list --json`.
#[derive(Debug, Serialize)]
struct KeyJson {
    prefix: String,
    created_at: String,
    last_used_at: Option<String>,
    revoked_at: Option<String>,
}

/// `keys list --json`: `{"account", "keys": [{"prefix", "created_at", "last_used_at",
/// "revoked_at"}]}`, instants RFC 3339 or null.
pub fn keys_json(account_name: &str, keys: &[KeyRecord]) -> serde_json::Value {
    let keys: Vec<KeyJson> = keys
        .iter()
        .map(|k| KeyJson {
            prefix: k.prefix.clone(),
            created_at: instant(k.created_at),
            last_used_at: k.last_used_at.map(instant),
            revoked_at: k.revoked_at.map(instant),
        })
        .collect();
    serde_json::json!({ "account": account_name, "keys": keys })
}

/// `keys list`: a header and one aligned line per key.
pub fn keys_table(keys: &[KeyRecord]) -> String {
    let mut out = format!(
        "{:<13}  {:<20}  {:<20}  {}\n",
        "PREFIX", "CREATED", "LAST USED", "REVOKED"
    );
    for k in keys {
        out.push_str(&format!(
            "{:<13}  {:<20}  {:<20}  {}\n",
            k.prefix,
            instant(k.created_at),
            k.last_used_at.map_or_else(|| "never".to_owned(), instant),
            k.revoked_at.map_or_else(|| "-".to_owned(), instant),
        ));
    }
    out
}
