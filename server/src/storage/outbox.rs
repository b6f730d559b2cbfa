//! The durable outbox: events and their delivery jobs.
//!
//! An event is written to `webhook_events`, with one `webhook_jobs` row per subscribed
//! endpoint, in the same transaction as the change that caused it. Dispatchers claim due
//! jobs with a lease (`locked_until`) and bump `attempts` as they claim, so the attempt number
//! doubles as a fencing token: an attempt is claimed once, and a dispatcher whose lease ran
//! out can still record what it saw but no longer moves the job.

use std::collections::HashMap;

use callscope_shared::{AgentId, CallId};

use super::calls::CallEvents;
use super::decode::{self, Flag};
use super::deliveries::{Attempt, insert_attempts};
use super::endpoints::{EndpointRecord, live_endpoints};
use super::sql::Sql;
use super::{Backend, NewCall, Store, StoreError, StoreResult};
use crate::clock::UnixTime;
use crate::ids::{AccountId, AgentRowId, EndpointId, JobId};

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
    pub job_id: JobId,
    pub attempt: u32,
    pub account_id: AccountId,
    pub call_id: Option<CallId>,
    pub event_id: String,
    pub event: String,
    pub payload: String,
    pub endpoint_id: EndpointId,
    pub url: String,
    pub secret_enc: Vec<u8>,
    /// False when the endpoint was disabled or deleted after the job was queued.
    pub endpoint_live: bool,
    /// The previous claim of this job ran out without recording its attempt (the process
    /// died mid-attempt): that attempt is recorded as interrupted with this one.
    pub interrupted: bool,
}

/// A claimed job's attempt and what came of it, waiting to be recorded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FinishedAttempt {
    pub job: ClaimedJob,
    pub outcome: AttemptOutcome,
}

/// Most rows one multi-row statement of a batch writes (SQLite's and PostgreSQL's limits on
/// bound parameters stay far off).
const BATCH_ROWS: usize = 500;

/// What happened to one attempt, and what the job does next.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AttemptOutcome {
    pub status_code: Option<u16>,
    pub success: bool,
    pub error: Option<String>,
    pub at: UnixTime,
    /// When to try again; `None` settles the job (delivered on success, failed otherwise).
    pub retry_at: Option<UnixTime>,
    /// Disable the endpoint with this reason (it answered 410 Gone).
    pub disable_endpoint: Option<String>,
}

/// A job's state, for tests and operators.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JobState {
    pub state: String,
    pub attempts: u32,
    pub due_at: UnixTime,
    pub locked_until: Option<UnixTime>,
}

/// The error of an attempt whose outcome was never recorded (its dispatcher stopped).
pub const INTERRUPTED: &str = "interrupted";

/// What the claiming UPDATE returns per job.
#[derive(sqlx::FromRow)]
struct ClaimRow {
    id: JobId,
    attempts: i64,
    last_error: Option<String>,
}

/// A claimed job with its event and endpoint.
#[derive(sqlx::FromRow)]
struct JobRow {
    job_id: JobId,
    account_id: AccountId,
    call_id: Option<i64>,
    event_id: String,
    event: String,
    payload: String,
    endpoint_id: EndpointId,
    url: String,
    secret_enc: Vec<u8>,
    enabled: Flag,
    deleted_at: Option<UnixTime>,
}

impl JobRow {
    /// The job as its claim's `attempt` (`interrupted` if the previous claim ran out).
    fn claimed(self, attempt: i64, interrupted: bool) -> StoreResult<ClaimedJob> {
        Ok(ClaimedJob {
            job_id: self.job_id,
            attempt: decode::narrow(attempt, "attempt")?,
            interrupted,
            account_id: self.account_id,
            call_id: self.call_id.map(decode::call_id).transpose()?,
            event_id: self.event_id,
            event: self.event,
            payload: self.payload,
            endpoint_id: self.endpoint_id,
            url: self.url,
            secret_enc: self.secret_enc,
            endpoint_live: self.enabled.0 && self.deleted_at.is_none(),
        })
    }
}

#[derive(sqlx::FromRow)]
struct JobStateRow {
    state: String,
    attempts: i64,
    due_at: UnixTime,
    locked_until: Option<UnixTime>,
}

impl TryFrom<JobStateRow> for JobState {
    type Error = StoreError;

    fn try_from(r: JobStateRow) -> StoreResult<Self> {
        Ok(JobState {
            state: r.state,
            attempts: decode::narrow(r.attempts, "attempts")?,
            due_at: r.due_at,
            locked_until: r.locked_until,
        })
    }
}

#[derive(sqlx::FromRow)]
struct EventRow {
    event_id: String,
    event: String,
}

/// Writes `events` and a job per target endpoint (each event to the endpoints that want it,
/// or to every one given when `force`), due at `now`. Returns how many jobs were queued.
async fn write_events(
    conn: &mut sqlx::AnyConnection,
    endpoints: &[EndpointRecord],
    account_id: AccountId,
    call_id: Option<CallId>,
    events: &[OutboxEvent],
    force: bool,
    now: UnixTime,
) -> StoreResult<u64> {
    let mut queued = 0;
    for event in events {
        let targets: Vec<EndpointId> = endpoints
            .iter()
            .filter(|e| force || e.wants(&event.event))
            .map(|e| e.id)
            .collect();
        if targets.is_empty() {
            continue;
        }
        let row_id: i64 = sqlx::query_scalar(
            "INSERT INTO webhook_events (event_id, account_id, call_id, event, payload, created_at)
             VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
        )
        .bind(event.event_id.as_str())
        .bind(account_id)
        .bind(call_id.map(CallId::get))
        .bind(event.event.as_str())
        .bind(event.payload.as_str())
        .bind(now)
        .fetch_one(&mut *conn)
        .await?;
        for endpoint_id in targets {
            sqlx::query(
                "INSERT INTO webhook_jobs (event_row_id, endpoint_id, state, attempts, due_at, updated_at)
                 VALUES ($1, $2, 'pending', 0, $3, $3)",
            )
            .bind(row_id)
            .bind(endpoint_id)
            .bind(now)
            .execute(&mut *conn)
            .await?;
            queued += 1;
        }
    }
    Ok(queued)
}

/// Queues the events `build` makes for a call just inserted in `conn`'s transaction, to the
/// account's subscribed endpoints. Writes nothing, and builds no payload, when the account
/// has no endpoint.
pub(super) async fn enqueue_call_events(
    conn: &mut sqlx::AnyConnection,
    call: &NewCall,
    call_id: CallId,
    now: UnixTime,
    build: impl CallEvents,
) -> StoreResult<u64> {
    enqueue_for_call(
        conn,
        call.account_id,
        call.agent_id,
        call_id,
        now,
        |agent| build(call, call_id, agent, now),
    )
    .await
}

/// Queues the events `build` makes (given the agent's public id) about one call, in
/// `conn`'s transaction; nothing, and no payload built, when the account has no endpoint.
pub(super) async fn enqueue_for_call(
    conn: &mut sqlx::AnyConnection,
    account_id: AccountId,
    agent_id: AgentRowId,
    call_id: CallId,
    now: UnixTime,
    build: impl FnOnce(&AgentId) -> Vec<OutboxEvent>,
) -> StoreResult<u64> {
    let endpoints = live_endpoints(conn, account_id, None).await?;
    if endpoints.is_empty() {
        return Ok(0);
    }
    let agent: String = sqlx::query_scalar("SELECT public_id FROM agents WHERE id = $1")
        .bind(agent_id)
        .fetch_one(&mut *conn)
        .await?;
    let agent = super::agents::public_agent_id(&agent)?;
    let events = build(&agent);
    write_events(
        conn,
        &endpoints,
        account_id,
        Some(call_id),
        &events,
        false,
        now,
    )
    .await
}

/// Settles an endpoint's pending jobs as failed (it was disabled or deleted).
pub(super) async fn settle_pending(
    conn: &mut sqlx::AnyConnection,
    endpoint_id: EndpointId,
    reason: &str,
    now: UnixTime,
) -> StoreResult<()> {
    sqlx::query(
        "UPDATE webhook_jobs SET state = 'failed', locked_until = NULL, last_error = $1, updated_at = $2
         WHERE endpoint_id = $3 AND state = 'pending'",
    )
    .bind(reason)
    .bind(now)
    .bind(endpoint_id)
    .execute(conn)
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

    /// Queues one event for one endpoint of the account (`POST /v1/webhooks/:id/test`).
    /// Returns false when the endpoint is missing, deleted or disabled.
    pub async fn enqueue_for_endpoint(
        &self,
        account_id: AccountId,
        endpoint_id: EndpointId,
        event: &OutboxEvent,
        now: UnixTime,
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

    /// Takes the lease on up to `limit` due jobs until `now + lease_secs`, each as its next
    /// attempt. On PostgreSQL, rows another dispatcher is claiming are skipped (SKIP LOCKED);
    /// SQLite serialises writers, so the claiming UPDATE is atomic there as it stands.
    pub async fn claim_jobs(
        &self,
        now: UnixTime,
        lease_secs: i64,
        limit: u32,
    ) -> StoreResult<Vec<ClaimedJob>> {
        let lock = match self.backend() {
            Backend::Postgres => "FOR UPDATE SKIP LOCKED",
            Backend::Sqlite => "",
        };
        let claimed: Vec<ClaimRow> = sqlx::query_as(&format!(
            "UPDATE webhook_jobs SET locked_until = $1, attempts = attempts + 1, updated_at = $2,
                 last_error = CASE WHEN locked_until IS NULL THEN last_error ELSE '{INTERRUPTED}' END
             WHERE id IN (
                 SELECT id FROM webhook_jobs
                 WHERE state = 'pending' AND due_at <= $2 AND (locked_until IS NULL OR locked_until <= $2)
                 ORDER BY due_at, id LIMIT $3 {lock})
             RETURNING id, attempts, last_error"
        ))
        .bind(now.plus(lease_secs))
        .bind(now)
        .bind(i64::from(limit))
        .fetch_all(self.pool())
        .await?;
        if claimed.is_empty() {
            return Ok(Vec::new());
        }
        let claims: HashMap<JobId, (i64, bool)> = claimed
            .into_iter()
            .map(|c| {
                let interrupted = c.last_error.as_deref() == Some(INTERRUPTED);
                (c.id, (c.attempts, interrupted))
            })
            .collect();
        let mut sql = Sql::new(
            "SELECT j.id AS job_id, ev.account_id, ev.call_id, ev.event_id, ev.event, ev.payload,
                    en.id AS endpoint_id, en.url, en.secret_enc, en.enabled, en.deleted_at
             FROM webhook_jobs j
             JOIN webhook_events ev ON ev.id = j.event_row_id
             JOIN webhook_endpoints en ON en.id = j.endpoint_id",
        );
        sql.and("j.id IN ").list(claims.keys().copied())?;
        let (sql, args) = sql.finish();
        let rows: Vec<JobRow> = sqlx::query_as_with(&sql, args)
            .fetch_all(self.pool())
            .await?;
        let mut jobs = rows
            .into_iter()
            .map(|row| {
                let (attempt, interrupted) = claims.get(&row.job_id).copied().ok_or_else(|| {
                    StoreError::Corrupt(format!("job {} read but not claimed", row.job_id))
                })?;
                row.claimed(attempt, interrupted)
            })
            .collect::<StoreResult<Vec<_>>>()?;
        jobs.sort_by_key(|j| j.job_id);
        Ok(jobs)
    }

    /// Records finished attempts and moves their jobs on, all in one transaction (one commit
    /// for the batch: the dispatcher's group commit). Each attempt's record is written whatever
    /// happens (the attempt took place), after an `interrupted` record for the attempt before
    /// it when that one's claim ran out; a job moves only if its attempt is still the job's
    /// latest claim. If the transaction fails nothing of the batch is written, and every job
    /// in it stays leased: it falls due again when its lease runs out.
    pub async fn finish_attempts(&self, batch: &[FinishedAttempt]) -> StoreResult<()> {
        if batch.is_empty() {
            return Ok(());
        }
        let mut records = Vec::with_capacity(batch.len());
        for FinishedAttempt { job, outcome } in batch {
            if job.interrupted && job.attempt > 1 {
                let interrupted = Attempt {
                    attempt: job.attempt - 1,
                    status_code: None,
                    success: false,
                    error: Some(INTERRUPTED),
                    at: outcome.at,
                };
                records.push((job, interrupted));
            }
            let attempt = Attempt {
                attempt: job.attempt,
                status_code: outcome.status_code,
                success: outcome.success,
                error: outcome.error.as_deref(),
                at: outcome.at,
            };
            records.push((job, attempt));
        }
        let mut tx = self.pool().begin().await?;
        insert_attempts(&mut tx, &records).await?;
        for chunk in batch.chunks(BATCH_ROWS) {
            let mut sql =
                Sql::new("WITH settled (id, attempts, state, due_at, last_error, updated_at) AS (");
            sql.values(chunk, |row, FinishedAttempt { job, outcome }| {
                let (state, due_at) = match (outcome.success, outcome.retry_at) {
                    (true, _) => ("delivered", None),
                    (false, Some(at)) => ("pending", Some(at)),
                    (false, None) => ("failed", None),
                };
                row.bind(job.job_id)?
                    .bind(i64::from(job.attempt))?
                    .bind(state)?
                    .bind(due_at)?
                    .bind(outcome.error.as_deref())?
                    .bind(outcome.at)?;
                Ok(())
            })?;
            sql.push(
                ") UPDATE webhook_jobs SET state = settled.state,
                     due_at = COALESCE(settled.due_at, webhook_jobs.due_at), locked_until = NULL,
                     last_error = settled.last_error, updated_at = settled.updated_at
                 FROM settled
                 WHERE webhook_jobs.id = settled.id AND webhook_jobs.attempts = settled.attempts
                     AND webhook_jobs.state = 'pending'",
            );
            let (sql, args) = sql.finish();
            sqlx::query_with(&sql, args)
                .persistent(false)
                .execute(&mut *tx)
                .await?;
        }
        for FinishedAttempt { job, outcome } in batch {
            if let Some(reason) = &outcome.disable_endpoint {
                super::endpoints::disable(&mut tx, job.endpoint_id, reason, outcome.at).await?;
            }
        }
        tx.commit().await?;
        let mut calls: Vec<CallId> = batch.iter().filter_map(|f| f.job.call_id).collect();
        calls.sort_unstable_by_key(|c| c.get());
        calls.dedup();
        for call_id in calls {
            self.changes().notify(call_id);
        }
        Ok(())
    }

    /// Gives back claimed jobs whose attempts were never started (a dispatcher stopping, or
    /// holding a claim too long to start it safely), in one statement: each is due again as
    /// the same attempt, as if never claimed. A job claimed since by someone else (its lease
    /// ran out) is left alone.
    pub async fn release_jobs(&self, jobs: &[ClaimedJob]) -> StoreResult<()> {
        for chunk in jobs.chunks(BATCH_ROWS) {
            let mut sql = Sql::new(
                "UPDATE webhook_jobs SET locked_until = NULL, attempts = attempts - 1
                 WHERE state = 'pending' AND (id, attempts) IN (",
            );
            sql.values(chunk, |row, job| {
                row.bind(job.job_id)?.bind(i64::from(job.attempt))?;
                Ok(())
            })?;
            sql.push(")");
            let (sql, args) = sql.finish();
            sqlx::query_with(&sql, args)
                .persistent(false)
                .execute(self.pool())
                .await?;
        }
        Ok(())
    }

    /// Settles a claimed job without an attempt (its endpoint is gone or disabled).
    pub async fn drop_job(&self, job: &ClaimedJob, reason: &str, now: UnixTime) -> StoreResult<()> {
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

    /// A job's state by event id and endpoint, for tests and operators.
    pub async fn job_state(
        &self,
        event_id: &str,
        endpoint_id: EndpointId,
    ) -> StoreResult<Option<JobState>> {
        let row: Option<JobStateRow> = sqlx::query_as(
            "SELECT j.state, j.attempts, j.due_at, j.locked_until FROM webhook_jobs j
             JOIN webhook_events ev ON ev.id = j.event_row_id
             WHERE ev.event_id = $1 AND j.endpoint_id = $2",
        )
        .bind(event_id)
        .bind(endpoint_id)
        .fetch_optional(self.pool())
        .await?;
        row.map(JobState::try_from).transpose()
    }

    /// Event ids queued for a call, oldest first, with their event names.
    pub async fn call_events(&self, call_id: CallId) -> StoreResult<Vec<(String, String)>> {
        let rows: Vec<EventRow> = sqlx::query_as(
            "SELECT event_id, event FROM webhook_events WHERE call_id = $1 ORDER BY id",
        )
        .bind(call_id.get())
        .fetch_all(self.pool())
        .await?;
        Ok(rows.into_iter().map(|r| (r.event_id, r.event)).collect())
    }

    /// The bodies queued for a call, oldest first (what every attempt of each sends).
    pub async fn call_event_payloads(&self, call_id: CallId) -> StoreResult<Vec<String>> {
        Ok(
            sqlx::query_scalar("SELECT payload FROM webhook_events WHERE call_id = $1 ORDER BY id")
                .bind(call_id.get())
                .fetch_all(self.pool())
                .await?,
        )
    }
}
