//! Accounts and their API keys (stored as SHA-256 hashes only).

use sqlx::Row;

use super::{Store, StoreError, StoreResult};

/// Whether an account may use the API.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AccountStatus {
    Active,
    Suspended,
}

/// Who a presented key belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KeyOwner {
    pub key_id: i64,
    pub account_id: i64,
    pub account_status: AccountStatus,
}

impl Store {
    /// The id of the account called `name`, created (active) if new.
    pub async fn ensure_account(&self, name: &str, now: i64) -> StoreResult<i64> {
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
    pub async fn account_id(&self, name: &str) -> StoreResult<Option<i64>> {
        let row = sqlx::query("SELECT id FROM accounts WHERE name = $1")
            .bind(name)
            .fetch_optional(self.pool())
            .await?;
        Ok(row.map(|r| r.get::<i64, _>(0)))
    }

    /// Suspends or reactivates an account.
    pub async fn set_account_status(
        &self,
        account_id: i64,
        status: AccountStatus,
    ) -> StoreResult<()> {
        let text = match status {
            AccountStatus::Active => "active",
            AccountStatus::Suspended => "suspended",
        };
        sqlx::query("UPDATE accounts SET status = $1 WHERE id = $2")
            .bind(text)
            .bind(account_id)
            .execute(self.pool())
            .await?;
        Ok(())
    }

    /// Stores a new key's hash; returns the key's row id.
    pub async fn insert_api_key(
        &self,
        account_id: i64,
        key_hash: &[u8],
        key_prefix: &str,
        now: i64,
    ) -> StoreResult<i64> {
        let row = sqlx::query(
            "INSERT INTO api_keys (account_id, key_hash, key_prefix, created_at)
             VALUES ($1, $2, $3, $4) RETURNING id",
        )
        .bind(account_id)
        .bind(key_hash.to_vec())
        .bind(key_prefix)
        .bind(now)
        .fetch_one(self.pool())
        .await?;
        Ok(row.get::<i64, _>(0))
    }

    /// Revokes a key: it stops authenticating at once.
    pub async fn revoke_api_key(&self, key_id: i64, now: i64) -> StoreResult<()> {
        sqlx::query("UPDATE api_keys SET revoked_at = $1 WHERE id = $2 AND revoked_at IS NULL")
            .bind(now)
            .bind(key_id)
            .execute(self.pool())
            .await?;
        Ok(())
    }

    /// The owner of an unrevoked key with this hash.
    pub async fn find_api_key(&self, key_hash: &[u8]) -> StoreResult<Option<KeyOwner>> {
        let row = sqlx::query(
            "SELECT k.id, k.account_id, a.status FROM api_keys k
             JOIN accounts a ON a.id = k.account_id
             WHERE k.key_hash = $1 AND k.revoked_at IS NULL",
        )
        .bind(key_hash.to_vec())
        .fetch_optional(self.pool())
        .await?;
        row.map(|r| {
            let status: String = r.get(2);
            Ok(KeyOwner {
                key_id: r.get(0),
                account_id: r.get(1),
                account_status: match status.as_str() {
                    "active" => AccountStatus::Active,
                    "suspended" => AccountStatus::Suspended,
                    other => return Err(StoreError::Corrupt(format!("account status {other:?}"))),
                },
            })
        })
        .transpose()
    }
}
