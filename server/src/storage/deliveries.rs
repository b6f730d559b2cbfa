//! Webhook delivery records: one per attempt, kept after the job settles and after its
//! endpoint is deleted, for a call's history and an endpoint's.

use callscope_shared::{CallId, WebhookDelivery};

use super::decode::{self, Flag};
use super::outbox::ClaimedJob;
use super::sql::Sql;
use super::{Store, StoreError, StoreResult};
use crate::clock::UnixTime;
use crate::cursor::Position;
use crate::ids::{AccountId, EndpointId};

/// One delivery attempt to record outside the outbox (the demo writes history this way).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewDelivery {
    pub account_id: AccountId,
    pub call_id: Option<CallId>,
    pub event: String,
    pub event_id: String,
    pub url: String,
    pub attempt: u32,
    pub status_code: Option<u16>,
    pub success: bool,
    pub error: Option<String>,
    pub created_at: UnixTime,
}

/// The most delivery records one call's history returns (spec: up to 500).
pub const CALL_DELIVERIES_CAP: i64 = 500;

/// One attempt of a claimed job, as `finish_attempts` records it.
pub(super) struct Attempt<'a> {
    pub attempt: u32,
    pub status_code: Option<u16>,
    pub success: bool,
    pub error: Option<&'a str>,
    pub at: UnixTime,
}

const DELIVERY_COLUMNS: &str =
    "id, event, event_id, url, attempt, status_code, success, error, created_at";

#[derive(sqlx::FromRow)]
struct DeliveryRow {
    id: i64,
    event: String,
    event_id: String,
    url: String,
    attempt: i64,
    status_code: Option<i64>,
    success: Flag,
    error: Option<String>,
    created_at: UnixTime,
}

impl TryFrom<DeliveryRow> for WebhookDelivery {
    type Error = StoreError;

    fn try_from(r: DeliveryRow) -> StoreResult<Self> {
        Ok(WebhookDelivery {
            id: r.id,
            event: r.event,
            event_id: r.event_id,
            url: r.url,
            attempt: decode::narrow(r.attempt, "attempt")?,
            status_code: r
                .status_code
                .map(|s| decode::narrow(s, "status code"))
                .transpose()?,
            success: r.success.into(),
            error: r.error,
            created_at: decode::timestamp(r.created_at)?,
        })
    }
}

/// Most records one `INSERT` writes (12 bound values each).
const INSERT_ROWS: usize = 500;

/// Records attempts of claimed jobs in `conn`'s transaction, in order, a few hundred rows
/// per statement.
pub(super) async fn insert_attempts(
    conn: &mut sqlx::AnyConnection,
    records: &[(&ClaimedJob, Attempt<'_>)],
) -> StoreResult<()> {
    for chunk in records.chunks(INSERT_ROWS) {
        let mut sql = Sql::new(
            "INSERT INTO webhook_deliveries (job_id, endpoint_id, account_id, call_id, event, event_id,
                url, attempt, status_code, success, error, created_at)",
        );
        sql.values(chunk, |row, (job, a)| {
            row.bind(job.job_id)?
                .bind(job.endpoint_id)?
                .bind(job.account_id)?
                .bind(job.call_id.map(CallId::get))?
                .bind(job.event.as_str())?
                .bind(job.event_id.as_str())?
                .bind(job.url.as_str())?
                .bind(i64::from(a.attempt))?
                .bind(a.status_code.map(i64::from))?
                .bind(a.success)?
                .bind(a.error)?
                .bind(a.at)?;
            Ok(())
        })?;
        let (sql, args) = sql.finish();
        sqlx::query_with(&sql, args)
            .persistent(false)
            .execute(&mut *conn)
            .await?;
    }
    Ok(())
}

impl Store {
    pub async fn insert_delivery(&self, d: &NewDelivery) -> StoreResult<i64> {
        Ok(sqlx::query_scalar(
            "INSERT INTO webhook_deliveries (account_id, call_id, event, event_id, url, attempt, status_code,
                success, error, created_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) RETURNING id",
        )
        .bind(d.account_id)
        .bind(d.call_id.map(CallId::get))
        .bind(d.event.as_str())
        .bind(d.event_id.as_str())
        .bind(d.url.as_str())
        .bind(i64::from(d.attempt))
        .bind(d.status_code.map(i64::from))
        .bind(d.success)
        .bind(d.error.as_deref())
        .bind(d.created_at)
        .fetch_one(self.pool())
        .await?)
    }

    /// A call's deliveries across all endpoints: `created_at` ASC, `attempt` ASC, at most 500.
    pub async fn call_deliveries(&self, call_id: CallId) -> StoreResult<Vec<WebhookDelivery>> {
        let rows: Vec<DeliveryRow> = sqlx::query_as(&format!(
            "SELECT {DELIVERY_COLUMNS} FROM webhook_deliveries WHERE call_id = $1
             ORDER BY created_at ASC, attempt ASC, id ASC LIMIT $2"
        ))
        .bind(call_id.get())
        .bind(CALL_DELIVERIES_CAP)
        .fetch_all(self.pool())
        .await?;
        rows.into_iter().map(WebhookDelivery::try_from).collect()
    }

    /// One endpoint's delivery records, newest first, after `after` (exclusive), with
    /// whether more follow.
    pub async fn endpoint_deliveries(
        &self,
        endpoint_id: EndpointId,
        after: Option<Position>,
        limit: u32,
    ) -> StoreResult<(Vec<WebhookDelivery>, bool)> {
        let (at, id) = after
            .map(|p| (p.started_at, p.id))
            .unwrap_or((i64::MAX, i64::MAX));
        let rows: Vec<DeliveryRow> = sqlx::query_as(&format!(
            "SELECT {DELIVERY_COLUMNS} FROM webhook_deliveries
             WHERE endpoint_id = $1 AND (created_at, id) < ($2, $3)
             ORDER BY created_at DESC, id DESC LIMIT $4"
        ))
        .bind(endpoint_id)
        .bind(at)
        .bind(id)
        .bind(i64::from(limit) + 1)
        .fetch_all(self.pool())
        .await?;
        let mut out = rows
            .into_iter()
            .map(WebhookDelivery::try_from)
            .collect::<StoreResult<Vec<_>>>()?;
        let more = out.len() > limit as usize;
        out.truncate(limit as usize);
        Ok((out, more))
    }
}
