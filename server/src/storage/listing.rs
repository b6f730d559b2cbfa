//! Reading many calls, and the light reads of one: keyset-paginated lists, status, ownership
//! and counts.

use callscope_shared::{Call, CallId, CallStatus, Disposition, Timestamp};

use super::call_detail::{CALL_COLUMNS, CallRow};
use super::decode;
use super::sql::Sql;
use super::{Store, StoreError, StoreResult};
use crate::clock::UnixTime;
use crate::ids::{AccountId, AgentRowId};

/// Filters of `GET /v1/calls`; `to` is exclusive.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CallFilter {
    pub agent_id: Option<AgentRowId>,
    pub status: Option<CallStatus>,
    pub disposition: Option<Disposition>,
    pub from: Option<UnixTime>,
    pub to: Option<UnixTime>,
}

/// A keyset position: the `(started_at, id)` of the last call of the previous page.
pub use crate::cursor::Position;

/// The light view `GET /v1/calls/:callId/status` needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StatusRow {
    pub status: CallStatus,
    pub duration_seconds: i64,
    pub started_at: Timestamp,
    pub ended_at: Option<Timestamp>,
}

#[derive(sqlx::FromRow)]
struct StatusColumns {
    status: String,
    duration_seconds: i64,
    started_at: UnixTime,
    ended_at: Option<UnixTime>,
}

impl TryFrom<StatusColumns> for StatusRow {
    type Error = StoreError;

    fn try_from(r: StatusColumns) -> StoreResult<Self> {
        Ok(StatusRow {
            status: decode::enumerated(&r.status, "call status")?,
            duration_seconds: r.duration_seconds,
            started_at: decode::timestamp(r.started_at)?,
            ended_at: r.ended_at.map(decode::timestamp).transpose()?,
        })
    }
}

impl Store {
    /// One page of an account's calls, newest first, after `after`. Returns the calls and
    /// whether more follow. Cost depends on `limit`, not on how deep the page is.
    pub async fn list_calls(
        &self,
        account_id: AccountId,
        filter: &CallFilter,
        after: Option<Position>,
        limit: u32,
    ) -> StoreResult<(Vec<Call>, bool)> {
        let mut sql = Sql::new(&format!(
            "SELECT {CALL_COLUMNS} FROM calls c JOIN agents ag ON ag.id = c.agent_id"
        ));
        sql.and("c.account_id = ").bind(account_id)?;
        if let Some(agent) = filter.agent_id {
            sql.and("c.agent_id = ").bind(agent)?;
        }
        if let Some(status) = filter.status {
            sql.and("c.status = ").bind(status.as_str())?;
        }
        if let Some(disposition) = filter.disposition {
            sql.and("c.disposition = ").bind(disposition.as_str())?;
        }
        if let Some(from) = filter.from {
            sql.and("c.started_at >= ").bind(from)?;
        }
        if let Some(to) = filter.to {
            sql.and("c.started_at < ").bind(to)?;
        }
        if let Some(at) = after {
            // A row-value comparison, so both SQLite and PostgreSQL seek the
            // (account_id, started_at, id) index to the cursor instead of filtering from the
            // top: an OR of two conditions scanned every newer row (a page 10,000 deep took
            // 1.5 s on PostgreSQL).
            sql.and("(c.started_at, c.id) < (")
                .bind(at.started_at)?
                .push(", ")
                .bind(at.id)?
                .push(")");
        }
        sql.push(" ORDER BY c.started_at DESC, c.id DESC LIMIT ")
            .bind(i64::from(limit) + 1)?;
        let (sql, args) = sql.finish();
        let rows: Vec<CallRow> = sqlx::query_as_with(&sql, args)
            .fetch_all(self.pool())
            .await?;
        let has_more = rows.len() > limit as usize;
        let calls = rows
            .into_iter()
            .take(limit as usize)
            .map(Call::try_from)
            .collect::<StoreResult<Vec<_>>>()?;
        Ok((calls, has_more))
    }

    /// Status, duration and times of an account's call.
    pub async fn call_status(
        &self,
        account_id: AccountId,
        call_id: CallId,
    ) -> StoreResult<Option<StatusRow>> {
        let row: Option<StatusColumns> = sqlx::query_as(
            "SELECT status, duration_seconds, started_at, ended_at FROM calls WHERE account_id = $1 AND id = $2",
        )
        .bind(account_id)
        .bind(call_id.get())
        .fetch_optional(self.pool())
        .await?;
        row.map(StatusRow::try_from).transpose()
    }

    /// Whether the account owns the call.
    pub async fn owns_call(&self, account_id: AccountId, call_id: CallId) -> StoreResult<bool> {
        let row: Option<i64> =
            sqlx::query_scalar("SELECT 1 FROM calls WHERE account_id = $1 AND id = $2")
                .bind(account_id)
                .bind(call_id.get())
                .fetch_optional(self.pool())
                .await?;
        Ok(row.is_some())
    }

    /// How many calls an account has.
    pub async fn count_calls(&self, account_id: AccountId) -> StoreResult<i64> {
        Ok(
            sqlx::query_scalar("SELECT COUNT(*) FROM calls WHERE account_id = $1")
                .bind(account_id)
                .fetch_one(self.pool())
                .await?,
        )
    }
}
