//! The dispatcher: claims due jobs from the outbox, POSTs each signed event to its endpoint,
//! records every attempt and schedules the next one.
//!
//! Crash safety comes from the database, not from this task: a job is claimed with a lease
//! (`locked_until`) and its attempt number is bumped as it is claimed; if the process dies
//! mid-attempt, the lease runs out and the job is due again as its next attempt. Time comes
//! from a `Clock`, so tests drive the retry schedule without waiting for it.
//!
//! Three stages run side by side so that no commit waits on another: one claim at a time
//! takes a batch of due jobs (one statement), `concurrency` attempts are in flight, and a
//! recorder writes the finished attempts that have piled up in one transaction (group
//! commit: while one batch commits, the next collects). An attempt is *acknowledged* when
//! its outcome is handed to the recorder; its slot is free from then on, and its job stays
//! leased until the record is committed, so a crash in between is a crash mid-attempt, as
//! above.

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::Duration;

use rand::Rng;
use reqwest::header::{CONTENT_TYPE, HeaderValue, RETRY_AFTER};
use tokio::sync::{mpsc, watch};
use tokio::task::JoinSet;

use super::secret::SigningSecret;
use super::target::{PublicResolver, is_private_literal};
use crate::clock::{Clock, UnixTime};
use crate::storage::{AttemptOutcome, ClaimedJob, FinishedAttempt, Store, StoreResult};

/// Delay before each attempt after the first, in seconds: immediately, 5 s, 5 min, 30 min,
/// 2 h, 5 h, 10 h. Seven attempts in all, over about 17.6 hours.
pub const DEFAULT_SCHEDULE: [i64; 7] = [0, 5, 300, 1_800, 7_200, 18_000, 36_000];
/// The longest `Retry-After` honoured (a day); longer asks are capped.
pub const MAX_RETRY_AFTER: i64 = 86_400;
/// Response bodies are read (so connections can be reused) up to this much, then dropped.
const MAX_RESPONSE_BYTES: usize = 64 * 1024;
/// Jobs claimed ahead of the attempts in flight, at least: claims come in batches this big
/// or bigger, so their commits are shared even at concurrency 1.
const MIN_CLAIM_AHEAD: usize = 64;
/// A claimed job not started within this many seconds of its claim is given back rather
/// than started: its lease (timeout + 30 s) must still cover the attempt and its record.
const CLAIM_FRESH_SECS: i64 = 10;
/// Most finished attempts one recording transaction writes.
const MAX_RECORD_BATCH: usize = 256;
/// Finished attempts waiting for the recorder, at most; attempts wait to hand theirs over
/// beyond this (the recorder sets the pace when the database is the bottleneck).
const RECORD_QUEUE: usize = 1_024;

/// Every `error` a delivery record can carry besides `HTTP <status>` (an answer that is not
/// 2xx). They are what endpoint owners see and may match on, so each is written once here
/// and the README lists exactly these (a test compares).
pub mod delivery_error {
    pub const TIMEOUT: &str = "timeout";
    pub const CONNECTION_REFUSED: &str = "connection refused";
    pub const CONNECTION_RESET: &str = "connection reset";
    pub const CONNECTION_CLOSED: &str = "connection closed";
    pub const DNS_ERROR: &str = "dns error";
    /// Any other failure to connect (TLS handshake, unreachable network…).
    pub const CONNECTION_FAILED: &str = "connection failed";
    /// A failure after connecting that none of the above describes.
    pub const REQUEST_FAILED: &str = "request failed";
    pub const BLOCKED_PRIVATE: &str = "blocked: private address";
    pub const INVALID_URL: &str = "invalid url";
    pub const SECRET_UNREADABLE: &str = "signing secret unreadable (server key changed?)";
    /// Recorded by the outbox for an attempt whose dispatcher stopped mid-way (the outbox's
    /// `INTERRUPTED`, written there because the outbox notices it).
    pub const INTERRUPTED: &str = "interrupted";

    /// All of the above.
    pub const ALL: &[&str] = &[
        TIMEOUT,
        CONNECTION_REFUSED,
        CONNECTION_RESET,
        CONNECTION_CLOSED,
        DNS_ERROR,
        CONNECTION_FAILED,
        REQUEST_FAILED,
        BLOCKED_PRIVATE,
        INVALID_URL,
        SECRET_UNREADABLE,
        INTERRUPTED,
    ];
}

/// How the dispatcher behaves.
#[derive(Debug, Clone)]
pub struct DispatchConfig {
    /// Whole-request timeout of one attempt.
    pub timeout: Duration,
    /// `schedule[n]` is the delay in seconds before attempt n+1; its length is the number of
    /// attempts. Each retry delay gets up to 10% random jitter on top.
    pub schedule: Vec<i64>,
    /// Attempts in flight at once.
    pub concurrency: usize,
    /// How often to look for due jobs when not woken (jobs queued by other instances, retries
    /// falling due).
    pub poll_interval: Duration,
    /// Deliver to private, loopback and link-local addresses too.
    pub allow_private: bool,
}

impl Default for DispatchConfig {
    fn default() -> Self {
        Self {
            timeout: Duration::from_secs(10),
            schedule: DEFAULT_SCHEDULE.to_vec(),
            concurrency: 32,
            poll_interval: Duration::from_secs(1),
            allow_private: false,
        }
    }
}

impl DispatchConfig {
    /// Seconds a claim holds a job: the attempt's timeout plus a margin for recording it.
    pub fn lease(&self) -> i64 {
        self.timeout.as_secs() as i64 + 30
    }

    /// Jobs held claimed but not yet started, at most, besides the attempts in flight.
    fn claim_ahead(&self) -> usize {
        self.concurrency.max(MIN_CLAIM_AHEAD)
    }
}

/// Delivers outbox jobs. Cheap to clone.
#[derive(Clone)]
pub struct Dispatcher {
    inner: Arc<Inner>,
}

struct Inner {
    store: Store,
    secret_key: [u8; 32],
    config: DispatchConfig,
    clock: Arc<dyn Clock>,
    client: reqwest::Client,
}

/// A running dispatcher task.
pub struct DispatcherHandle {
    stop: watch::Sender<bool>,
    task: tokio::task::JoinHandle<()>,
}

impl DispatcherHandle {
    /// Stops claiming, lets attempts in flight finish and record, then returns.
    pub async fn shutdown(self) {
        let _ = self.stop.send(true);
        let _ = self.task.await;
    }

    /// Stops at once, as a crash would: attempts in flight are abandoned unrecorded and their
    /// jobs fall due again when their leases run out.
    pub fn abort(self) {
        self.task.abort();
    }
}

/// What one HTTP attempt came to.
struct Sent {
    status_code: Option<u16>,
    success: bool,
    error: Option<String>,
    retry_after: Option<i64>,
    gone: bool,
}

impl Dispatcher {
    /// `secret_key` opens the endpoints' sealed signing secrets (`Keys::webhook_secret`).
    pub fn new(
        store: Store,
        secret_key: [u8; 32],
        config: DispatchConfig,
        clock: Arc<dyn Clock>,
    ) -> Self {
        let mut builder = reqwest::Client::builder()
            .timeout(config.timeout)
            .connect_timeout(config.timeout.min(Duration::from_secs(5)))
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!("callscope-webhooks/", env!("CARGO_PKG_VERSION")))
            .pool_max_idle_per_host(config.concurrency.max(1))
            .no_proxy();
        if !config.allow_private {
            builder = builder.dns_resolver(Arc::new(PublicResolver));
        }
        let client = builder
            .build()
            .expect("the webhook HTTP client's settings are valid");
        Self {
            inner: Arc::new(Inner {
                store,
                secret_key,
                config,
                clock,
                client,
            }),
        }
    }

    /// Runs on the current runtime until shut down or aborted.
    pub fn spawn(&self) -> DispatcherHandle {
        let (stop, stopped) = watch::channel(false);
        let me = self.clone();
        let task = tokio::spawn(async move { me.run(stopped).await });
        DispatcherHandle { stop, task }
    }

    async fn run(self, stopped: watch::Receiver<bool>) {
        let (finished, to_record) = mpsc::channel(RECORD_QUEUE);
        // One task: aborting it (a crash) stops claiming, sending and recording at once.
        tokio::join!(self.dispatch(stopped, finished), self.record_all(to_record));
    }

    /// Claims due jobs and keeps up to `concurrency` attempts in flight, handing each
    /// outcome to the recorder. On stop: gives back the jobs claimed but not started, lets
    /// the attempts in flight finish, and returns (closing the recorder's queue).
    async fn dispatch(
        &self,
        mut stopped: watch::Receiver<bool>,
        finished: mpsc::Sender<FinishedAttempt>,
    ) {
        let cfg = &self.inner.config;
        let slots = cfg.concurrency.max(1);
        let ahead = cfg.claim_ahead();
        let mut queued: VecDeque<(ClaimedJob, UnixTime)> = VecDeque::new();
        let mut in_flight: JoinSet<()> = JoinSet::new();
        // At most one claim at a time, as a task so attempts go on while it commits.
        let mut claiming: JoinSet<(usize, UnixTime, StoreResult<Vec<ClaimedJob>>)> = JoinSet::new();
        let mut more_due = true;
        let mut poll = tokio::time::interval(cfg.poll_interval);
        poll.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        while !*stopped.borrow() {
            let now = self.inner.clock.now();
            let mut stale = Vec::new();
            while in_flight.len() < slots {
                let Some((job, claimed_at)) = queued.pop_front() else {
                    break;
                };
                if now.since(claimed_at) > CLAIM_FRESH_SECS {
                    stale.push(job);
                    continue;
                }
                let (me, finished) = (self.clone(), finished.clone());
                in_flight.spawn(async move {
                    if let Some(done) = me.attempt(job).await {
                        // Fails only when the recorder is gone (the task is being dropped).
                        let _ = finished.send(done).await;
                    }
                });
            }
            self.release(&stale).await;
            if more_due && claiming.is_empty() && queued.len() <= ahead / 2 {
                let limit = slots + ahead - in_flight.len() - queued.len();
                let me = self.clone();
                claiming.spawn(async move { (limit, now, me.claim_at(now, limit).await) });
                more_due = false;
            }
            tokio::select! {
                changed = stopped.changed() => {
                    if changed.is_err() {
                        break; // The handle was dropped: stop as on shutdown.
                    }
                }
                Some(_) = in_flight.join_next(), if !in_flight.is_empty() => {}
                Some(claimed) = claiming.join_next(), if !claiming.is_empty() => {
                    if let Ok((limit, at, result)) = claimed {
                        match result {
                            Ok(jobs) => {
                                // A full batch: more may be due, claim again when there is room.
                                more_due = jobs.len() == limit;
                                queued.extend(jobs.into_iter().map(|job| (job, at)));
                            }
                            Err(err) => tracing::error!(error = %err, "claiming webhook jobs failed"),
                        }
                    }
                }
                _ = self.inner.store.outbox_woken() => more_due = true,
                _ = poll.tick() => more_due = true,
            }
        }
        if let Some(Ok((_, at, Ok(jobs)))) = claiming.join_next().await {
            queued.extend(jobs.into_iter().map(|job| (job, at)));
        }
        let unstarted: Vec<ClaimedJob> = queued.into_iter().map(|(job, _)| job).collect();
        self.release(&unstarted).await;
        while in_flight.join_next().await.is_some() {}
    }

    /// Records finished attempts as they come, each time all that have piled up (up to
    /// `MAX_RECORD_BATCH`) in one transaction, until the queue closes and is drained.
    async fn record_all(&self, mut to_record: mpsc::Receiver<FinishedAttempt>) {
        let mut batch = Vec::with_capacity(MAX_RECORD_BATCH);
        while to_record.recv_many(&mut batch, MAX_RECORD_BATCH).await > 0 {
            self.record(&batch).await;
            batch.clear();
        }
    }

    /// Records a batch in one transaction. If that fails, each attempt is tried on its own,
    /// so one bad record cannot hold back the rest; one that still fails leaves its job
    /// leased, to be retried when the lease runs out (its attempt recorded as interrupted).
    async fn record(&self, batch: &[FinishedAttempt]) {
        let store = &self.inner.store;
        if let Err(err) = store.finish_attempts(batch).await {
            tracing::warn!(error = %err, attempts = batch.len(), "recording webhook attempts failed; recording them one by one");
            for done in batch {
                if let Err(err) = store.finish_attempts(std::slice::from_ref(done)).await {
                    tracing::error!(
                        error = %err,
                        event_id = %done.job.event_id,
                        attempt = done.job.attempt,
                        "recording a webhook attempt failed"
                    );
                }
            }
        }
        for done in batch {
            let outcome = &done.outcome;
            crate::metrics::delivery(match (outcome.success, outcome.retry_at) {
                (true, _) => "delivered",
                (false, Some(_)) => "retrying",
                (false, None) => "failed",
            });
        }
    }

    /// Gives claimed jobs back unstarted (logged on failure: they then wait out their lease).
    async fn release(&self, jobs: &[ClaimedJob]) {
        if jobs.is_empty() {
            return;
        }
        if let Err(err) = self.inner.store.release_jobs(jobs).await {
            tracing::error!(error = %err, jobs = jobs.len(), "giving back webhook jobs failed");
        }
    }

    async fn claim_at(&self, now: UnixTime, limit: usize) -> StoreResult<Vec<ClaimedJob>> {
        self.inner
            .store
            .claim_jobs(now, self.inner.config.lease(), limit as u32)
            .await
    }

    /// Claims what is due now (up to `concurrency` jobs) and delivers it, waiting for every
    /// attempt and recording them together; returns how many attempts were made. For tests
    /// and benchmarks that step the dispatcher by hand.
    pub async fn run_once(&self) -> usize {
        let now = self.inner.clock.now();
        let jobs = match self
            .claim_at(now, self.inner.config.concurrency.max(1))
            .await
        {
            Ok(jobs) => jobs,
            Err(err) => {
                tracing::error!(error = %err, "claiming webhook jobs failed");
                return 0;
            }
        };
        let n = jobs.len();
        let mut set = JoinSet::new();
        for job in jobs {
            let me = self.clone();
            set.spawn(async move { me.attempt(job).await });
        }
        let mut batch = Vec::with_capacity(n);
        while let Some(done) = set.join_next().await {
            batch.extend(done.ok().flatten());
        }
        self.record(&batch).await;
        n
    }

    /// Makes the claimed attempt; returns it for recording, or `None` when the job was
    /// settled without one (its endpoint was disabled or deleted since it was queued). Each
    /// attempt is a job with its own span (never the URL or payload: either may carry a
    /// customer's secrets).
    #[tracing::instrument(
        name = "webhook_attempt",
        skip_all,
        fields(
            event = %job.event,
            event_id = %job.event_id,
            endpoint_id = job.endpoint_id.get(),
            attempt = job.attempt,
        )
    )]
    async fn attempt(&self, job: ClaimedJob) -> Option<FinishedAttempt> {
        let inner = &self.inner;
        if !job.endpoint_live {
            if let Err(err) = inner
                .store
                .drop_job(&job, "endpoint disabled", inner.clock.now())
                .await
            {
                tracing::error!(error = %err, "settling a webhook job failed");
            }
            return None;
        }
        let sent = self.send(&job).await;
        let at = inner.clock.now();
        let retry_at = (!sent.success && !sent.gone)
            .then(|| next_delay(&inner.config.schedule, job.attempt, sent.retry_after))
            .flatten()
            .map(|delay| at.plus(delay));
        let outcome = AttemptOutcome {
            status_code: sent.status_code,
            success: sent.success,
            error: sent.error,
            at,
            retry_at,
            disable_endpoint: sent.gone.then(|| "HTTP 410 Gone".to_owned()),
        };
        tracing::info!(
            status_code = outcome.status_code,
            success = outcome.success,
            error = outcome.error.as_deref(),
            "webhook attempt"
        );
        Some(FinishedAttempt { job, outcome })
    }

    async fn send(&self, job: &ClaimedJob) -> Sent {
        let failed = |error: &str| Sent {
            status_code: None,
            success: false,
            error: Some(error.to_owned()),
            retry_after: None,
            gone: false,
        };
        let inner = &self.inner;
        let Some(secret) = SigningSecret::open(&job.secret_enc, &inner.secret_key) else {
            return failed(delivery_error::SECRET_UNREADABLE);
        };
        let Ok(url) = reqwest::Url::parse(&job.url) else {
            return failed(delivery_error::INVALID_URL);
        };
        if !inner.config.allow_private && is_private_literal(&url) {
            return failed(delivery_error::BLOCKED_PRIVATE);
        }
        let timestamp = inner.clock.now().secs();
        let signature = secret.sign(&job.event_id, timestamp, job.payload.as_bytes());
        let request = inner
            .client
            .post(url)
            .header(CONTENT_TYPE, HeaderValue::from_static("application/json"))
            .header("webhook-id", job.event_id.as_str())
            .header("webhook-timestamp", timestamp.to_string())
            .header("webhook-signature", signature)
            .body(job.payload.clone());
        let mut response = match request.send().await {
            Ok(r) => r,
            Err(err) => return failed(&describe(&err)),
        };
        let status = response.status();
        let retry_after = response
            .headers()
            .get(RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| parse_retry_after(v, timestamp));
        // Read a little of the body so the connection can be reused; a body that stalls
        // past the timeout does not undo an answer already given.
        let mut read = 0;
        while read < MAX_RESPONSE_BYTES {
            match response.chunk().await {
                Ok(Some(chunk)) => read += chunk.len(),
                _ => break,
            }
        }
        let code = status.as_u16();
        Sent {
            status_code: Some(code),
            success: status.is_success(),
            error: (!status.is_success()).then(|| format!("HTTP {code}")),
            retry_after: matches!(code, 429 | 503).then_some(retry_after).flatten(),
            gone: code == 410,
        }
    }
}

/// Seconds until the attempt after attempt `attempt` (1-based), or `None` when it was the
/// last. The schedule's delay gets up to 10% jitter; a `Retry-After` asking for longer wins.
pub fn next_delay(schedule: &[i64], attempt: u32, retry_after: Option<i64>) -> Option<i64> {
    let base = *schedule.get(attempt as usize)?;
    let jitter = if base >= 10 {
        rand::rng().random_range(0..=base / 10)
    } else {
        0
    };
    let delay = base + jitter;
    Some(match retry_after {
        Some(asked) => delay.max(asked.min(MAX_RETRY_AFTER)),
        None => delay,
    })
}

/// `Retry-After` as seconds from `now`: delta-seconds or an HTTP date.
pub fn parse_retry_after(value: &str, now: i64) -> Option<i64> {
    let value = value.trim();
    if let Ok(secs) = value.parse::<i64>() {
        return (secs >= 0).then_some(secs);
    }
    let format = time::macros::format_description!(
        "[weekday repr:short], [day] [month repr:short] [year] [hour]:[minute]:[second] GMT"
    );
    let at = time::PrimitiveDateTime::parse(value, format).ok()?;
    Some((at.assume_utc().unix_timestamp() - now).max(0))
}

/// A short, stable description of a failed request, as delivery records show it.
fn describe(err: &reqwest::Error) -> String {
    if err.is_timeout() {
        return delivery_error::TIMEOUT.into();
    }
    let mut source: Option<&(dyn std::error::Error + 'static)> = std::error::Error::source(err);
    while let Some(e) = source {
        let text = e.to_string();
        if text.starts_with("blocked:") {
            return delivery_error::BLOCKED_PRIVATE.into();
        }
        if let Some(io) = e.downcast_ref::<std::io::Error>() {
            use std::io::ErrorKind::*;
            match io.kind() {
                ConnectionRefused => return delivery_error::CONNECTION_REFUSED.into(),
                ConnectionReset | ConnectionAborted | BrokenPipe | UnexpectedEof => {
                    return delivery_error::CONNECTION_RESET.into();
                }
                TimedOut => return delivery_error::TIMEOUT.into(),
                _ => {}
            }
        }
        if text.contains("connection closed before message completed") {
            return delivery_error::CONNECTION_CLOSED.into();
        }
        if text.contains("dns error") || text.contains("failed to lookup address") {
            return delivery_error::DNS_ERROR.into();
        }
        source = e.source();
    }
    if err.is_connect() {
        delivery_error::CONNECTION_FAILED.into()
    } else {
        delivery_error::REQUEST_FAILED.into()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delays_follow_the_schedule_with_bounded_jitter() {
        let s = DEFAULT_SCHEDULE;
        assert_eq!(next_delay(&s, 1, None), Some(5));
        for _ in 0..50 {
            let d = next_delay(&s, 2, None).unwrap();
            assert!((300..=330).contains(&d), "{d}");
            let d = next_delay(&s, 6, None).unwrap();
            assert!((36_000..=39_600).contains(&d), "{d}");
        }
        assert_eq!(next_delay(&s, 7, None), None, "seven attempts in all");
        assert_eq!(next_delay(&s, 1, Some(120)), Some(120));
        assert_eq!(next_delay(&s, 1, Some(1)), Some(5));
        assert_eq!(next_delay(&s, 1, Some(10_000_000)), Some(MAX_RETRY_AFTER));
    }

    /// The README's list of delivery errors, the backticked items of its sentence that
    /// starts "The `error` of an attempt", in order.
    fn readme_delivery_errors() -> Vec<String> {
        let readme = include_str!(concat!(env!("CARGO_MANIFEST_DIR"), "/../README.md"));
        let text = readme.split_whitespace().collect::<Vec<_>>().join(" ");
        let start = text
            .find("The `error` of an attempt")
            .expect("the README lists delivery errors");
        let sentence = &text[start..];
        let sentence = &sentence[..sentence.find(". ").unwrap_or(sentence.len())];
        sentence
            .split('`')
            .skip(1)
            .step_by(2)
            .skip(1) // `error` itself
            .map(str::to_owned)
            .collect()
    }

    #[test]
    fn the_readme_lists_exactly_the_delivery_errors() {
        let mut expected = vec!["HTTP <status>".to_owned()];
        expected.extend(delivery_error::ALL.iter().map(|e| (*e).to_owned()));
        assert_eq!(readme_delivery_errors(), expected);
    }

    #[test]
    fn retry_after_takes_seconds_and_dates() {
        assert_eq!(parse_retry_after("120", 0), Some(120));
        assert_eq!(parse_retry_after("-1", 0), None);
        // 1994-11-06T08:49:37Z is 784111777.
        assert_eq!(
            parse_retry_after("Sun, 06 Nov 1994 08:49:37 GMT", 784_111_700),
            Some(77)
        );
        assert_eq!(
            parse_retry_after("Sun, 06 Nov 1994 08:49:37 GMT", 784_111_800),
            Some(0)
        );
        assert_eq!(parse_retry_after("soon", 0), None);
    }
}
