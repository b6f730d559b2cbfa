//! Webhook endpoints, the durable outbox and its delivery jobs.
//!
//! An event is written to `webhook_events`, with one `webhook_jobs` row per subscribed
//! endpoint, in the same transaction as the change that caused it. Dispatchers claim due
//! jobs with a lease (`locked_until`) and bump `attempts` as they claim, so the attempt number
//! doubles as a fencing token: an attempt is claimed once, and a dispatcher whose lease ran
//! out can still record what it saw but no longer moves the job.

use callscope_shared::{CallId, WebhookDelivery};
use sqlx::{Any, Row, Transaction};

use super::{Backend, NewCall, Store, StoreError, StoreResult, instant, parse_json};
use crate::cursor::Position;

/// A stored endpoint.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EndpointRecord {
    pub id: i64,
    pub account_id: i64,
    pub url: String,
    /// Subscribed events; empty means every event.
    pub events: Vec<String>,
    /// The signing secret, sealed under the server's webhook key.
    pub secret_enc: Vec<u8>,
    pub enabled: bool,
    pub disabled_reason: Option<String>,
    pub created_at: i64,
}

impl EndpointRecord {
    pub fn wants(&self, event: &str) -> bool {
        self.events.is_empty() || self.events.iter().any(|e| e == event)
    }
}

/// An endpoint to create.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewEndpoint {
    pub account_id: i64,
    pub url: String,
    pub events: Vec<String>,
    pub secret_enc: Vec<u8>,
    pub created_at: i64,
}

/// One event for the outbox; `payload` is the exact body every attempt sends.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutboxEvent {
    pub event_id: String,
    pub event: String,
    pub payload: String,
}

/// A job a dispatcher holds the lease on: attempt number `attempt` is its to make.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClaimedJob {
    pub job_id: i64,
    pub attempt: u32,
    pub account_id: i64,
    pub call_id: Option<i64>,
    pub event_id: String,
    pub event: String,
    pub payload: String,
    pub endpoint_id: i64,
    pub url: String,
    pub secret_enc: Vec<u8>,
    /// False when the endpoint was disabled or deleted after the job was queued.
    pub endpoint_live: bool,
    /// The previous claim of this job ran out without recording its attempt (the process
    /// died mid-attempt): that attempt is recorded as interrupted with this one.
    pub interrupted: bool,
}

/// What happened to one attempt, and what the job does next.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AttemptOutcome {
    pub status_code: Option<u16>,
    pub success: bool,
    pub error: Option<String>,
    pub at: i64,
    /// When to try again; `None` settles the job (delivered on success, failed otherwise).
    pub retry_at: Option<i64>,
    /// Disable the endpoint with this reason (it answered 410 Gone).
    pub disable_endpoint: Option<String>,
}

/// A job's state, for tests and operators.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JobState {
    pub state: String,
    pub attempts: u32,
    pub due_at: i64,
    pub locked_until: Option<i64>,
}

/// The error of an attempt whose outcome was never recorded (its dispatcher stopped).
pub const INTERRUPTED: &str = "interrupted";

const ENDPOINT_COLUMNS: &str = "id, account_id, url, events, secret_enc, CAST(enabled AS INTEGER), \
     disabled_reason, created_at";

/// One attempt's record, as `finish_attempt` writes it.
struct DeliveryRow<'a> {
    attempt: u32,
    status_code: Option<u16>,
    success: bool,
    error: Option<&'a str>,
    at: i64,
}

/// Writes one delivery record of `job`; returns its id.
async fn insert_delivery(
    tx: &mut Transaction<'_, Any>,
    job: &ClaimedJob,
    row: &DeliveryRow<'_>,
) -> StoreResult<i64> {
    let id = sqlx::query(
        "INSERT INTO webhook_deliveries (job_id, endpoint_id, account_id, call_id, event, event_id, url,
            attempt, status_code, success, error, created_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12) RETURNING id",
    )
    .bind(job.job_id)
    .bind(job.endpoint_id)
    .bind(job.account_id)
    .bind(job.call_id)
    .bind(job.event.as_str())
    .bind(job.event_id.as_str())
    .bind(job.url.as_str())
    .bind(i64::from(row.attempt))
    .bind(row.status_code.map(i64::from))
    .bind(row.success)
    .bind(row.error)
    .bind(row.at)
    .fetch_one(&mut **tx)
    .await?
    .get(0);
    Ok(id)
}

fn endpoint_from_row(r: &sqlx::any::AnyRow) -> StoreResult<EndpointRecord> {
    Ok(EndpointRecord {
        id: r.get(0),
        account_id: r.get(1),
        url: r.get(2),
        events: parse_json(&r.get::<String, _>(3), "endpoint events")?,
        secret_enc: r.get(4),
        enabled: r.get::<i64, _>(5) != 0,
        disabled_reason: r.get(6),
        created_at: r.get(7),
    })
}

pub(super) fn delivery_from_row(r: &sqlx::any::AnyRow) -> StoreResult<WebhookDelivery> {
    let created_at: i64 = r.get(8);
    let status_code: Option<i64> = r.get(5);
    Ok(WebhookDelivery {
        id: r.get(0),
        event: r.get(1),
        event_id: r.get(2),
        url: r.get(3),
        attempt: u32::try_from(r.get::<i64, _>(4)).unwrap_or(u32::MAX),
        status_code: status_code.and_then(|s| u16::try_from(s).ok()),
        success: r.get::<i64, _>(6) != 0,
        error: r.get(7),
        created_at: instant(created_at)?,
    })
}

/// The account's enabled endpoints (or just `only`), which events may be queued for.
async fn live_endpoints(
    tx: &mut Transaction<'static, Any>,
    account_id: i64,
    only: Option<i64>,
) -> StoreResult<Vec<EndpointRecord>> {
    let rows = sqlx::query(&format!(
        "SELECT {ENDPOINT_COLUMNS} FROM webhook_endpoints
         WHERE account_id = $1 AND deleted_at IS NULL AND enabled = $2 AND ($3 IS NULL OR id = $3)
         ORDER BY id"
    ))
    .bind(account_id)
    .bind(true)
    .bind(only)
    .fetch_all(&mut **tx)
    .await?;
    rows.iter().map(endpoint_from_row).collect()
}

/// Writes `events` and a job per target endpoint (each event to the endpoints that want it,
/// or to every one given when `force`), due at `now`. Returns how many jobs were queued.
async fn write_events(
    tx: &mut Transaction<'static, Any>,
    endpoints: &[EndpointRecord],
    account_id: i64,
    call_id: Option<i64>,
    events: &[OutboxEvent],
    force: bool,
    now: i64,
) -> StoreResult<u64> {
    let mut queued = 0;
    for event in events {
        let targets: Vec<i64> = endpoints
            .iter()
            .filter(|e| force || e.wants(&event.event))
            .map(|e| e.id)
            .collect();
        if targets.is_empty() {
            continue;
        }
        let row_id: i64 = sqlx::query(
            "INSERT INTO webhook_events (event_id, account_id, call_id, event, payload, created_at)
             VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
        )
        .bind(event.event_id.as_str())
        .bind(account_id)
        .bind(call_id)
        .bind(event.event.as_str())
        .bind(event.payload.as_str())
        .bind(now)
        .fetch_one(&mut **tx)
        .await?
        .get(0);
        for endpoint_id in targets {
            sqlx::query(
                "INSERT INTO webhook_jobs (event_row_id, endpoint_id, state, attempts, due_at, updated_at)
                 VALUES ($1, $2, 'pending', 0, $3, $3)",
            )
            .bind(row_id)
            .bind(endpoint_id)
            .bind(now)
            .execute(&mut **tx)
            .await?;
            queued += 1;
        }
    }
    Ok(queued)
}

/// Queues `call.started` (and `call.ended` for a call stored already ended) for a call just
/// inserted in `tx`, to the account's subscribed endpoints. Writes nothing, and builds no
/// payload, when the account has no endpoint.
pub(super) async fn enqueue_call_events(
    tx: &mut Transaction<'static, Any>,
    call: &NewCall,
    id: i64,
    now: i64,
) -> StoreResult<u64> {
    let endpoints = live_endpoints(tx, call.account_id, None).await?;
    if endpoints.is_empty() {
        return Ok(0);
    }
    let agent: String = sqlx::query("SELECT public_id FROM agents WHERE id = $1")
        .bind(call.agent_id)
        .fetch_one(&mut **tx)
        .await?
        .get(0);
    let call_id = CallId::new(id).ok_or_else(|| StoreError::Corrupt(format!("call id {id}")))?;
    let events = crate::webhooks::events::for_new_call(call, call_id, &agent, now);
    write_events(
        tx,
        &endpoints,
        call.account_id,
        Some(id),
        &events,
        false,
        now,
    )
    .await
}

/// Settles an endpoint's pending jobs as failed (it was disabled or deleted).
async fn settle_pending(
    tx: &mut Transaction<'static, Any>,
    endpoint_id: i64,
    reason: &str,
    now: i64,
) -> StoreResult<()> {
    sqlx::query(
        "UPDATE webhook_jobs SET state = 'failed', locked_until = NULL, last_error = $1, updated_at = $2
         WHERE endpoint_id = $3 AND state = 'pending'",
    )
    .bind(reason)
    .bind(now)
    .bind(endpoint_id)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

impl Store {
    /// Wakes a dispatcher of this process: new jobs are due.
    pub(super) fn wake_dispatcher(&self) {
        self.outbox_wake.notify_one();
    }

    /// Resolves when something was queued since the last call (or at once if it was).
    pub async fn outbox_woken(&self) {
        self.outbox_wake.notified().await;
    }

    pub async fn insert_endpoint(&self, e: &NewEndpoint) -> StoreResult<EndpointRecord> {
        let events = serde_json::to_string(&e.events).unwrap_or_else(|_| "[]".into());
        let row = sqlx::query(&format!(
            "INSERT INTO webhook_endpoints (account_id, url, events, secret_enc, enabled, created_at)
             VALUES ($1, $2, $3, $4, $5, $6) RETURNING {ENDPOINT_COLUMNS}"
        ))
        .bind(e.account_id)
        .bind(e.url.as_str())
        .bind(events)
        .bind(e.secret_enc.clone())
        .bind(true)
        .bind(e.created_at)
        .fetch_one(self.pool())
        .await?;
        endpoint_from_row(&row)
    }

    /// The account's endpoints (not deleted), oldest first.
    pub async fn list_endpoints(&self, account_id: i64) -> StoreResult<Vec<EndpointRecord>> {
        let rows = sqlx::query(&format!(
            "SELECT {ENDPOINT_COLUMNS} FROM webhook_endpoints
             WHERE account_id = $1 AND deleted_at IS NULL ORDER BY id"
        ))
        .bind(account_id)
        .fetch_all(self.pool())
        .await?;
        rows.iter().map(endpoint_from_row).collect()
    }

    /// One endpoint of the account, unless deleted.
    pub async fn get_endpoint(
        &self,
        account_id: i64,
        id: i64,
    ) -> StoreResult<Option<EndpointRecord>> {
        let row = sqlx::query(&format!(
            "SELECT {ENDPOINT_COLUMNS} FROM webhook_endpoints
             WHERE id = $1 AND account_id = $2 AND deleted_at IS NULL"
        ))
        .bind(id)
        .bind(account_id)
        .fetch_optional(self.pool())
        .await?;
        row.as_ref().map(endpoint_from_row).transpose()
    }

    /// Deletes an endpoint (its delivery history stays); its pending jobs are dropped.
    /// Returns whether the account had it.
    pub async fn delete_endpoint(&self, account_id: i64, id: i64, now: i64) -> StoreResult<bool> {
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
            settle_pending(&mut tx, id, "endpoint deleted", now).await?;
        }
        tx.commit().await?;
        Ok(done)
    }

    /// Queues one event for one endpoint of the account (`POST /v1/webhooks/:id/test`).
    /// Returns false when the endpoint is missing, deleted or disabled.
    pub async fn enqueue_for_endpoint(
        &self,
        account_id: i64,
        endpoint_id: i64,
        event: &OutboxEvent,
        now: i64,
    ) -> StoreResult<bool> {
        let mut tx = self.pool().begin().await?;
        let endpoints = live_endpoints(&mut tx, account_id, Some(endpoint_id)).await?;
        let queued = write_events(
            &mut tx,
            &endpoints,
            account_id,
            None,
            std::slice::from_ref(event),
            true,
            now,
        )
        .await?;
        tx.commit().await?;
        if queued > 0 {
            self.wake_dispatcher();
        }
        Ok(queued > 0)
    }

    /// Takes the lease on up to `limit` due jobs until `now + lease`, each as its next
    /// attempt. On PostgreSQL, rows another dispatcher is claiming are skipped (SKIP LOCKED);
    /// SQLite serialises writers, so the claiming UPDATE is atomic there as it stands.
    pub async fn claim_jobs(
        &self,
        now: i64,
        lease: i64,
        limit: u32,
    ) -> StoreResult<Vec<ClaimedJob>> {
        let lock = match self.backend() {
            Backend::Postgres => "FOR UPDATE SKIP LOCKED",
            Backend::Sqlite => "",
        };
        let claimed = sqlx::query(&format!(
            "UPDATE webhook_jobs SET locked_until = $1, attempts = attempts + 1, updated_at = $2,
                 last_error = CASE WHEN locked_until IS NULL THEN last_error ELSE '{INTERRUPTED}' END
             WHERE id IN (
                 SELECT id FROM webhook_jobs
                 WHERE state = 'pending' AND due_at <= $2 AND (locked_until IS NULL OR locked_until <= $2)
                 ORDER BY due_at, id LIMIT $3 {lock})
             RETURNING id, attempts, last_error"
        ))
        .bind(now + lease)
        .bind(now)
        .bind(i64::from(limit))
        .fetch_all(self.pool())
        .await?;
        let attempts: std::collections::HashMap<i64, (i64, bool)> = claimed
            .iter()
            .map(|r| {
                let last: Option<String> = r.get(2);
                (r.get(0), (r.get(1), last.as_deref() == Some(INTERRUPTED)))
            })
            .collect();
        if attempts.is_empty() {
            return Ok(Vec::new());
        }
        let placeholders: Vec<String> = (1..=attempts.len()).map(|i| format!("${i}")).collect();
        let sql = format!(
            "SELECT j.id, ev.account_id, ev.call_id, ev.event_id, ev.event, ev.payload, en.id, en.url,
                    en.secret_enc, CAST(en.enabled AS INTEGER), en.deleted_at
             FROM webhook_jobs j
             JOIN webhook_events ev ON ev.id = j.event_row_id
             JOIN webhook_endpoints en ON en.id = j.endpoint_id
             WHERE j.id IN ({})",
            placeholders.join(", ")
        );
        let mut q = sqlx::query(&sql);
        for id in attempts.keys() {
            q = q.bind(*id);
        }
        let rows = q.fetch_all(self.pool()).await?;
        let mut jobs = Vec::with_capacity(rows.len());
        for r in &rows {
            let job_id: i64 = r.get(0);
            let deleted_at: Option<i64> = r.get(10);
            jobs.push(ClaimedJob {
                job_id,
                attempt: u32::try_from(attempts[&job_id].0).unwrap_or(u32::MAX),
                interrupted: attempts[&job_id].1,
                account_id: r.get(1),
                call_id: r.get(2),
                event_id: r.get(3),
                event: r.get(4),
                payload: r.get(5),
                endpoint_id: r.get(6),
                url: r.get(7),
                secret_enc: r.get(8),
                endpoint_live: r.get::<i64, _>(9) != 0 && deleted_at.is_none(),
            });
        }
        jobs.sort_by_key(|j| j.job_id);
        Ok(jobs)
    }

    /// Records one attempt and moves its job on, in one transaction. The record is written
    /// whatever happens (the attempt took place); the job moves only if this attempt is still
    /// the job's latest claim. Returns the delivery record's id.
    pub async fn finish_attempt(
        &self,
        job: &ClaimedJob,
        outcome: &AttemptOutcome,
    ) -> StoreResult<i64> {
        let mut tx = self.pool().begin().await?;
        if job.interrupted && job.attempt > 1 {
            let interrupted = DeliveryRow {
                attempt: job.attempt - 1,
                status_code: None,
                success: false,
                error: Some(INTERRUPTED),
                at: outcome.at,
            };
            insert_delivery(&mut tx, job, &interrupted).await?;
        }
        let attempt = DeliveryRow {
            attempt: job.attempt,
            status_code: outcome.status_code,
            success: outcome.success,
            error: outcome.error.as_deref(),
            at: outcome.at,
        };
        let id = insert_delivery(&mut tx, job, &attempt).await?;
        let (state, due_at) = match (outcome.success, outcome.retry_at) {
            (true, _) => ("delivered", None),
            (false, Some(at)) => ("pending", Some(at)),
            (false, None) => ("failed", None),
        };
        sqlx::query(
            "UPDATE webhook_jobs SET state = $1, due_at = COALESCE($2, due_at), locked_until = NULL,
                last_error = $3, updated_at = $4
             WHERE id = $5 AND attempts = $6 AND state = 'pending'",
        )
        .bind(state)
        .bind(due_at)
        .bind(outcome.error.as_deref())
        .bind(outcome.at)
        .bind(job.job_id)
        .bind(i64::from(job.attempt))
        .execute(&mut *tx)
        .await?;
        if let Some(reason) = &outcome.disable_endpoint {
            sqlx::query(
                "UPDATE webhook_endpoints SET enabled = $1, disabled_reason = $2 WHERE id = $3 AND enabled = $4",
            )
            .bind(false)
            .bind(reason.as_str())
            .bind(job.endpoint_id)
            .bind(true)
            .execute(&mut *tx)
            .await?;
            settle_pending(&mut tx, job.endpoint_id, reason, outcome.at).await?;
        }
        tx.commit().await?;
        Ok(id)
    }

    /// Settles a claimed job without an attempt (its endpoint is gone or disabled).
    pub async fn drop_job(&self, job: &ClaimedJob, reason: &str, now: i64) -> StoreResult<()> {
        sqlx::query(
            "UPDATE webhook_jobs SET state = 'failed', locked_until = NULL, last_error = $1, updated_at = $2
             WHERE id = $3 AND attempts = $4 AND state = 'pending'",
        )
        .bind(reason)
        .bind(now)
        .bind(job.job_id)
        .bind(i64::from(job.attempt))
        .execute(self.pool())
        .await?;
        Ok(())
    }

    /// One endpoint's delivery records, newest first, after `after` (exclusive), with
    /// whether more follow.
    pub async fn endpoint_deliveries(
        &self,
        endpoint_id: i64,
        after: Option<Position>,
        limit: u32,
    ) -> StoreResult<(Vec<WebhookDelivery>, bool)> {
        let (at, id) = after
            .map(|p| (p.started_at, p.id))
            .unwrap_or((i64::MAX, i64::MAX));
        let rows = sqlx::query(
            "SELECT id, event, event_id, url, attempt, status_code, CAST(success AS INTEGER), error, created_at
             FROM webhook_deliveries
             WHERE endpoint_id = $1 AND (created_at, id) < ($2, $3)
             ORDER BY created_at DESC, id DESC LIMIT $4",
        )
        .bind(endpoint_id)
        .bind(at)
        .bind(id)
        .bind(i64::from(limit) + 1)
        .fetch_all(self.pool())
        .await?;
        let mut out = rows
            .iter()
            .map(delivery_from_row)
            .collect::<StoreResult<Vec<_>>>()?;
        let more = out.len() > limit as usize;
        out.truncate(limit as usize);
        Ok((out, more))
    }

    /// A job's state by event id and endpoint, for tests and operators.
    pub async fn job_state(
        &self,
        event_id: &str,
        endpoint_id: i64,
    ) -> StoreResult<Option<JobState>> {
        let row = sqlx::query(
            "SELECT j.state, j.attempts, j.due_at, j.locked_until FROM webhook_jobs j
             JOIN webhook_events ev ON ev.id = j.event_row_id
             WHERE ev.event_id = $1 AND j.endpoint_id = $2",
        )
        .bind(event_id)
        .bind(endpoint_id)
        .fetch_optional(self.pool())
        .await?;
        Ok(row.map(|r| JobState {
            state: r.get(0),
            attempts: u32::try_from(r.get::<i64, _>(1)).unwrap_or(u32::MAX),
            due_at: r.get(2),
            locked_until: r.get(3),
        }))
    }

    /// Event ids queued for a call, oldest first, with their event names.
    pub async fn call_events(&self, call_id: CallId) -> StoreResult<Vec<(String, String)>> {
        let rows = sqlx::query(
            "SELECT event_id, event FROM webhook_events WHERE call_id = $1 ORDER BY id",
        )
        .bind(call_id.get())
        .fetch_all(self.pool())
        .await?;
        Ok(rows.iter().map(|r| (r.get(0), r.get(1))).collect())
    }
}
