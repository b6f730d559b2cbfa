//! Accounts and their API keys (stored as SHA-256 hashes only).

use super::{Store, StoreError, StoreResult, decode};
use crate::clock::UnixTime;
use crate::ids::{AccountId, KeyId};

/// Whether an account may use the API.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AccountStatus {
    Active,
    Suspended,
}

impl AccountStatus {
    pub(super) fn as_str(self) -> &'static str {
        match self {
            AccountStatus::Active => "active",
            AccountStatus::Suspended => "suspended",
        }
    }
}

impl std::str::FromStr for AccountStatus {
    type Err = ();

    fn from_str(s: &str) -> Result<Self, ()> {
        match s {
            "active" => Ok(AccountStatus::Active),
            "suspended" => Ok(AccountStatus::Suspended),
            _ => Err(()),
        }
    }
}

/// Who a presented key belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KeyOwner {
    pub key_id: KeyId,
    pub account_id: AccountId,
    pub account_status: AccountStatus,
    pub last_used_at: Option<UnixTime>,
}

#[derive(sqlx::FromRow)]
struct KeyOwnerRow {
    key_id: KeyId,
    account_id: AccountId,
    status: String,
    last_used_at: Option<UnixTime>,
}

impl TryFrom<KeyOwnerRow> for KeyOwner {
    type Error = StoreError;

    fn try_from(r: KeyOwnerRow) -> StoreResult<Self> {
        Ok(KeyOwner {
            key_id: r.key_id,
            account_id: r.account_id,
            account_status: decode::enumerated(&r.status, "account status")?,
            last_used_at: r.last_used_at,
        })
    }
}

/// A stored API key as operators see it (never the key itself: only its display prefix).
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct KeyRecord {
    pub id: KeyId,
    pub account_id: AccountId,
    pub account_name: String,
    pub prefix: String,
    pub created_at: UnixTime,
    pub last_used_at: Option<UnixTime>,
    pub revoked_at: Option<UnixTime>,
}

const KEY_RECORD_SELECT: &str = "SELECT k.id, k.account_id, a.name AS account_name,
        k.key_prefix AS prefix, k.created_at, k.last_used_at, k.revoked_at
     FROM api_keys k JOIN accounts a ON a.id = k.account_id";

impl Store {
    /// The id of the account called `name`, created (active) if new.
    pub async fn ensure_account(&self, name: &str, now: UnixTime) -> StoreResult<AccountId> {
        sqlx::query(
            "INSERT INTO accounts (name, status, created_at) VALUES ($1, 'active', $2)
             ON CONFLICT (name) DO NOTHING",
        )
        .bind(name)
        .bind(now)
        .execute(self.pool())
        .await?;
        self.account_id(name)
            .await?
            .ok_or_else(|| StoreError::Corrupt(format!("account {name:?} vanished")))
    }

    /// The id of the account called `name`, if any.
    pub async fn account_id(&self, name: &str) -> StoreResult<Option<AccountId>> {
        Ok(
            sqlx::query_scalar("SELECT id FROM accounts WHERE name = $1")
                .bind(name)
                .fetch_optional(self.pool())
                .await?,
        )
    }

    /// Suspends or reactivates an account. Suspending records `now` as the instant it was
    /// suspended (`suspended_at`, from which its recordings' 7 days count), unless it was
    /// suspended already: suspending twice keeps the first instant. Activating clears it.
    pub async fn set_account_status(
        &self,
        account_id: AccountId,
        status: AccountStatus,
        now: UnixTime,
    ) -> StoreResult<()> {
        let query = match status {
            // SET reads the row as it was: `status` is the status before this update.
            AccountStatus::Suspended => sqlx::query(
                "UPDATE accounts SET status = $1,
                     suspended_at = CASE WHEN status = 'suspended' AND suspended_at IS NOT NULL
                                         THEN suspended_at ELSE $2 END
                 WHERE id = $3",
            )
            .bind(status.as_str())
            .bind(now),
            AccountStatus::Active => {
                sqlx::query("UPDATE accounts SET status = $1, suspended_at = NULL WHERE id = $2")
                    .bind(status.as_str())
            }
        };
        query.bind(account_id).execute(self.pool()).await?;
        Ok(())
    }

    /// Stores a new key's hash; returns the key's row id.
    pub async fn insert_api_key(
        &self,
        account_id: AccountId,
        key_hash: &[u8],
        key_prefix: &str,
        now: UnixTime,
    ) -> StoreResult<KeyId> {
        Ok(sqlx::query_scalar(
            "INSERT INTO api_keys (account_id, key_hash, key_prefix, created_at)
             VALUES ($1, $2, $3, $4) RETURNING id",
        )
        .bind(account_id)
        .bind(key_hash.to_vec())
        .bind(key_prefix)
        .bind(now)
        .fetch_one(self.pool())
        .await?)
    }

    /// Revokes a key: it stops authenticating at once. Returns whether it was live.
    pub async fn revoke_api_key(&self, key_id: KeyId, now: UnixTime) -> StoreResult<bool> {
        let done =
            sqlx::query("UPDATE api_keys SET revoked_at = $1 WHERE id = $2 AND revoked_at IS NULL")
                .bind(now)
                .bind(key_id)
                .execute(self.pool())
                .await?;
        Ok(done.rows_affected() > 0)
    }

    /// The owner of an unrevoked key with this hash.
    pub async fn find_api_key(&self, key_hash: &[u8]) -> StoreResult<Option<KeyOwner>> {
        let row: Option<KeyOwnerRow> = sqlx::query_as(
            "SELECT k.id AS key_id, k.account_id, a.status, k.last_used_at FROM api_keys k
             JOIN accounts a ON a.id = k.account_id
             WHERE k.key_hash = $1 AND k.revoked_at IS NULL",
        )
        .bind(key_hash.to_vec())
        .fetch_optional(self.pool())
        .await?;
        row.map(KeyOwner::try_from).transpose()
    }

    /// Records that a key authenticated at `now`, unless it already did after
    /// `now - granularity` (so a busy key costs one write per `granularity` seconds).
    pub async fn touch_api_key(
        &self,
        key_id: KeyId,
        now: UnixTime,
        granularity: i64,
    ) -> StoreResult<()> {
        sqlx::query(
            "UPDATE api_keys SET last_used_at = $1
             WHERE id = $2 AND (last_used_at IS NULL OR last_used_at <= $3)",
        )
        .bind(now)
        .bind(key_id)
        .bind(now.plus(-granularity))
        .execute(self.pool())
        .await?;
        Ok(())
    }

    /// Every key of the account, revoked ones included, oldest first.
    pub async fn list_api_keys(&self, account_id: AccountId) -> StoreResult<Vec<KeyRecord>> {
        Ok(sqlx::query_as(&format!(
            "{KEY_RECORD_SELECT} WHERE k.account_id = $1 ORDER BY k.id"
        ))
        .bind(account_id)
        .fetch_all(self.pool())
        .await?)
    }

    /// The keys (revoked ones included) whose display prefix is `prefix`, of `account_id`
    /// only when given, oldest first.
    pub async fn api_keys_with_prefix(
        &self,
        prefix: &str,
        account_id: Option<AccountId>,
    ) -> StoreResult<Vec<KeyRecord>> {
        Ok(sqlx::query_as(&format!(
            "{KEY_RECORD_SELECT} WHERE k.key_prefix = $1 AND ($2 IS NULL OR k.account_id = $2)
             ORDER BY k.id"
        ))
        .bind(prefix)
        .bind(account_id)
        .fetch_all(self.pool())
        .await?)
    }

    /// The key with this hash, revoked or not.
    pub async fn api_key_by_hash(&self, key_hash: &[u8]) -> StoreResult<Option<KeyRecord>> {
        Ok(
            sqlx::query_as(&format!("{KEY_RECORD_SELECT} WHERE k.key_hash = $1"))
                .bind(key_hash.to_vec())
                .fetch_optional(self.pool())
                .await?,
        )
    }
}
