//! Webhook endpoints: where an account's events go, each with its sealed signing secret.

use super::decode::{self, Flag};
use super::{Backend, Store, StoreError, StoreResult};
use crate::clock::UnixTime;
use crate::ids::{AccountId, EndpointId};

/// A stored endpoint.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EndpointRecord {
    pub id: EndpointId,
    pub account_id: AccountId,
    pub url: String,
    /// Subscribed events; empty means every event.
    pub events: Vec<String>,
    /// The signing secret, sealed under the server's webhook key.
    pub secret_enc: Vec<u8>,
    pub enabled: bool,
    pub disabled_reason: Option<String>,
    pub created_at: UnixTime,
}

impl EndpointRecord {
    pub fn wants(&self, event: &str) -> bool {
        self.events.is_empty() || self.events.iter().any(|e| e == event)
    }
}

/// An endpoint to create.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewEndpoint {
    pub account_id: AccountId,
    pub url: String,
    pub events: Vec<String>,
    pub secret_enc: Vec<u8>,
    pub created_at: UnixTime,
}

const ENDPOINT_COLUMNS: &str =
    "id, account_id, url, events, secret_enc, enabled, disabled_reason, created_at";

#[derive(sqlx::FromRow)]
struct EndpointRow {
    id: EndpointId,
    account_id: AccountId,
    url: String,
    events: String,
    secret_enc: Vec<u8>,
    enabled: Flag,
    disabled_reason: Option<String>,
    created_at: UnixTime,
}

impl TryFrom<EndpointRow> for EndpointRecord {
    type Error = StoreError;

    fn try_from(r: EndpointRow) -> StoreResult<Self> {
        Ok(EndpointRecord {
            id: r.id,
            account_id: r.account_id,
            url: r.url,
            events: decode::json(&r.events, "endpoint events")?,
            secret_enc: r.secret_enc,
            enabled: r.enabled.into(),
            disabled_reason: r.disabled_reason,
            created_at: r.created_at,
        })
    }
}

/// The account's enabled endpoints (or just `only`), which events may be queued for.
pub(super) async fn live_endpoints(
    conn: &mut sqlx::AnyConnection,
    account_id: AccountId,
    only: Option<EndpointId>,
) -> StoreResult<Vec<EndpointRecord>> {
    let rows: Vec<EndpointRow> = sqlx::query_as(&format!(
        "SELECT {ENDPOINT_COLUMNS} FROM webhook_endpoints
         WHERE account_id = $1 AND deleted_at IS NULL AND enabled = $2 AND ($3 IS NULL OR id = $3)
         ORDER BY id"
    ))
    .bind(account_id)
    .bind(true)
    .bind(only)
    .fetch_all(conn)
    .await?;
    rows.into_iter().map(EndpointRecord::try_from).collect()
}

impl Store {
    /// Stores a new endpoint unless the account already has `max` (not deleted); `None`
    /// then. The count and the insert are one step: on PostgreSQL the account's row is
    /// locked first (`FOR UPDATE`), so concurrent creates for one account take turns; on
    /// SQLite the conditional insert is one writing statement, which holds the database's
    /// write lock from before it counts until the transaction ends.
    pub async fn insert_endpoint(
        &self,
        e: &NewEndpoint,
        max: usize,
    ) -> StoreResult<Option<EndpointRecord>> {
        let events = serde_json::to_string(&e.events).unwrap_or_else(|_| "[]".into());
        let max = i64::try_from(max).unwrap_or(i64::MAX);
        let mut tx = self.pool().begin().await?;
        if self.backend() == Backend::Postgres {
            sqlx::query("SELECT id FROM accounts WHERE id = $1 FOR UPDATE")
                .bind(e.account_id)
                .execute(&mut *tx)
                .await?;
        }
        let row: Option<EndpointRow> = sqlx::query_as(&format!(
            "INSERT INTO webhook_endpoints (account_id, url, events, secret_enc, enabled, created_at)
             SELECT $1, $2, $3, $4, $5, $6
             WHERE (SELECT COUNT(*) FROM webhook_endpoints
                    WHERE account_id = $1 AND deleted_at IS NULL) < $7
             RETURNING {ENDPOINT_COLUMNS}"
        ))
        .bind(e.account_id)
        .bind(e.url.as_str())
        .bind(events)
        .bind(e.secret_enc.clone())
        .bind(true)
        .bind(e.created_at)
        .bind(max)
        .fetch_optional(&mut *tx)
        .await?;
        tx.commit().await?;
        row.map(EndpointRecord::try_from).transpose()
    }

    /// The account's endpoints (not deleted), oldest first.
    pub async fn list_endpoints(&self, account_id: AccountId) -> StoreResult<Vec<EndpointRecord>> {
        let rows: Vec<EndpointRow> = sqlx::query_as(&format!(
            "SELECT {ENDPOINT_COLUMNS} FROM webhook_endpoints
             WHERE account_id = $1 AND deleted_at IS NULL ORDER BY id"
        ))
        .bind(account_id)
        .fetch_all(self.pool())
        .await?;
        rows.into_iter().map(EndpointRecord::try_from).collect()
    }

    /// One endpoint of the account, unless deleted.
    pub async fn get_endpoint(
        &self,
        account_id: AccountId,
        id: EndpointId,
    ) -> StoreResult<Option<EndpointRecord>> {
        let row: Option<EndpointRow> = sqlx::query_as(&format!(
            "SELECT {ENDPOINT_COLUMNS} FROM webhook_endpoints
             WHERE id = $1 AND account_id = $2 AND deleted_at IS NULL"
        ))
        .bind(id)
        .bind(account_id)
        .fetch_optional(self.pool())
        .await?;
        row.map(EndpointRecord::try_from).transpose()
    }

    /// Deletes an endpoint (its delivery history stays); its pending jobs are dropped.
    /// Returns whether the account had it.
    pub async fn delete_endpoint(
        &self,
        account_id: AccountId,
        id: EndpointId,
        now: UnixTime,
    ) -> StoreResult<bool> {
        let mut tx = self.pool().begin().await?;
        let done = sqlx::query(
            "UPDATE webhook_endpoints SET deleted_at = $1
             WHERE id = $2 AND account_id = $3 AND deleted_at IS NULL",
        )
        .bind(now)
        .bind(id)
        .bind(account_id)
        .execute(&mut *tx)
        .await?
        .rows_affected()
            > 0;
        if done {
            super::outbox::settle_pending(&mut tx, id, "endpoint deleted", now).await?;
        }
        tx.commit().await?;
        Ok(done)
    }
}

/// Turns an endpoint off (it answered 410 Gone) and settles its pending jobs, in `conn`'s
/// transaction.
pub(super) async fn disable(
    conn: &mut sqlx::AnyConnection,
    id: EndpointId,
    reason: &str,
    now: UnixTime,
) -> StoreResult<()> {
    sqlx::query(
        "UPDATE webhook_endpoints SET enabled = $1, disabled_reason = $2 WHERE id = $3 AND enabled = $4",
    )
    .bind(false)
    .bind(reason)
    .bind(id)
    .bind(true)
    .execute(&mut *conn)
    .await?;
    super::outbox::settle_pending(conn, id, reason, now).await
}
