//! The recording downloader: fetches each queued `call.recording.saved` MP3 from the
//! provider's short-lived URL (valid 10 minutes) and puts it in the recordings store; only
//! then does the call have `has_recording`.
//!
//! - A download is claimed with a lease (`Store::claim_downloads`), so one instance at a
//!   time fetches it; a crash mid-download leaves it to be claimed again when the lease ends.
//! - Each claim tries up to `attempts` times at once, with doubling pauses from `backoff`;
//!   a claim that fails is claimed again `reclaim_after` later, while the provider's URL
//!   may still work (`URL_VALID_FOR` from the event) and up to `max_claims` claims; then
//!   the recording is marked failed with the last reason, which the owner reads in
//!   `GET /v1/calls/:id/recording`'s 404 (`Recording failed: …`).
//! - A body that is not an MP3, larger than `max_bytes`, an HTTP error or a timeout are
//!   failed attempts; the store's `put` writes whole objects only (a temporary file renamed
//!   into place; one S3 `PUT`), so nothing half-written is ever visible.
//! - A recording asked for whose `call.recording.saved` has not come [`SAVE_DEADLINE`]
//!   after its call ended is failed (`the provider never saved the recording`).
//! - The URL obeys the webhook delivery policy: public addresses only, unless
//!   `--webhook-allow-private` (tests on loopback turn it on). No redirects are followed.

use std::sync::Arc;
use std::time::Duration;

use callscope_shared::CallId;
use tokio::sync::watch;
use tokio::task::JoinSet;

use super::RecordingStore;
use super::mp3::looks_like_mp3;
use crate::clock::{Clock, UnixTime};
use crate::storage::{ClaimedDownload, Store};
use crate::telephony::simulated;
use crate::webhooks::target::{PublicResolver, is_private_literal, validate};

/// How long a provider's recording URL works after its event (Telnyx: 10 minutes).
pub const URL_VALID_FOR: i64 = 600;
/// Reason given when no store is configured.
pub const NO_STORE: &str = "no recordings store is configured on this server";
/// How long after its call ended a recording asked for may wait for the provider's
/// `call.recording.saved` before it is failed.
pub const SAVE_DEADLINE: i64 = 3600;
/// Reason given then.
pub const NEVER_SAVED: &str = "the provider never saved the recording";

/// The downloader's settings.
#[derive(Debug, Clone)]
pub struct DownloadConfig {
    /// Allow URLs on private and loopback addresses (`--webhook-allow-private`).
    pub allow_private: bool,
    /// Longest one download may take.
    pub timeout: Duration,
    /// Largest recording accepted.
    pub max_bytes: usize,
    /// Tries per claim.
    pub attempts: u32,
    /// Pause before the second try of a claim; doubled before each next one.
    pub backoff: Duration,
    /// Claims before giving up.
    pub max_claims: i64,
    /// Seconds from a failed claim to the next.
    pub reclaim_after: i64,
    /// Seconds a claim holds a download.
    pub lease: i64,
    /// Downloads run at once.
    pub concurrency: usize,
    /// How often to look for downloads queued by other instances (or due again).
    pub poll: Duration,
}

impl Default for DownloadConfig {
    fn default() -> Self {
        Self {
            allow_private: false,
            timeout: Duration::from_secs(60),
            max_bytes: 64 * 1024 * 1024,
            attempts: 4,
            backoff: Duration::from_millis(500),
            max_claims: 3,
            reclaim_after: 30,
            lease: 300,
            concurrency: 4,
            poll: Duration::from_secs(5),
        }
    }
}

/// Downloads recordings. Cheap to clone.
#[derive(Clone)]
pub struct Downloader {
    inner: Arc<Inner>,
}

struct Inner {
    store: Store,
    recordings: Option<RecordingStore>,
    clock: Arc<dyn Clock>,
    config: DownloadConfig,
    client: reqwest::Client,
    /// `simulated:` URLs are the simulated provider's (only when it is in use).
    simulated: bool,
}

/// The running downloader.
pub struct DownloaderHandle {
    stop: watch::Sender<bool>,
    task: tokio::task::JoinHandle<()>,
}

impl DownloaderHandle {
    /// Stops claiming; downloads in flight finish and are recorded.
    pub async fn shutdown(self) {
        let _ = self.stop.send(true);
        let _ = self.task.await;
    }
}

impl Downloader {
    pub fn new(
        store: Store,
        recordings: Option<RecordingStore>,
        clock: Arc<dyn Clock>,
        config: DownloadConfig,
        simulated: bool,
    ) -> Self {
        let mut builder = reqwest::Client::builder()
            .timeout(config.timeout)
            .connect_timeout(config.timeout.min(Duration::from_secs(10)))
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!("callscope-recordings/", env!("CARGO_PKG_VERSION")))
            .no_proxy();
        if !config.allow_private {
            builder = builder.dns_resolver(Arc::new(PublicResolver));
        }
        let client = builder
            .build()
            .expect("the recording HTTP client's settings are valid");
        Self {
            inner: Arc::new(Inner {
                store,
                recordings,
                clock,
                config,
                client,
                simulated,
            }),
        }
    }

    /// Runs on the current runtime until shut down.
    pub fn spawn(&self) -> DownloaderHandle {
        let (stop, mut stopped) = watch::channel(false);
        let me = self.clone();
        let task = tokio::spawn(async move {
            loop {
                while me.run_once().await > 0 {}
                tokio::select! {
                    _ = stopped.changed() => return,
                    _ = me.inner.store.downloads_woken() => {}
                    _ = tokio::time::sleep(me.inner.config.poll) => {}
                }
            }
        });
        DownloaderHandle { stop, task }
    }

    /// Claims the due downloads and runs them (`concurrency` at once); returns how many
    /// were claimed. First fails the recordings the provider never saved.
    pub async fn run_once(&self) -> usize {
        let config = &self.inner.config;
        let now = self.inner.clock.now();
        let deadline = UnixTime(now.secs() - SAVE_DEADLINE);
        match self
            .inner
            .store
            .fail_unsaved_recordings(deadline, NEVER_SAVED)
            .await
        {
            Ok(0) => {}
            Ok(n) => tracing::warn!(
                recordings = n,
                "recordings never saved by the provider: failed"
            ),
            Err(e) => tracing::warn!(error = %e, "failing unsaved recordings failed"),
        }
        let limit = config.concurrency.max(1) as i64;
        let claimed = match self
            .inner
            .store
            .claim_downloads(now, now.plus(config.lease), limit)
            .await
        {
            Ok(claimed) => claimed,
            Err(e) => {
                tracing::warn!(error = %e, "claiming recording downloads failed");
                return 0;
            }
        };
        let count = claimed.len();
        let mut running = JoinSet::new();
        for job in claimed {
            let me = self.clone();
            running.spawn(async move { me.process(job).await });
        }
        while running.join_next().await.is_some() {}
        count
    }

    async fn process(&self, job: ClaimedDownload) {
        let Some(call_id) = CallId::new(job.call_id) else {
            return;
        };
        let store = &self.inner.store;
        let recorded = match &self.inner.recordings {
            None => Err(NO_STORE.to_owned()),
            Some(recordings) => self.fetch_and_put(recordings, call_id, &job.url).await,
        };
        let now = self.inner.clock.now();
        let written = match recorded {
            Ok(key) => store.finish_download(call_id, &key, now).await,
            Err(reason) if self.may_claim_again(&job, now) => {
                tracing::info!(%call_id, reason, "recording download failed; retrying later");
                let next = now.plus(self.inner.config.reclaim_after);
                store.retry_download(call_id, &reason, next).await
            }
            Err(reason) => {
                tracing::warn!(%call_id, reason, "recording download failed: giving up");
                store.give_up_download(call_id, &reason, now).await
            }
        };
        if let Err(e) = written {
            // The lease runs out and the download is claimed again.
            tracing::warn!(%call_id, error = %e, "recording download result not written");
        }
    }

    fn may_claim_again(&self, job: &ClaimedDownload, now: UnixTime) -> bool {
        let config = &self.inner.config;
        job.attempts < config.max_claims
            && now.plus(config.reclaim_after) < job.created_at.plus(URL_VALID_FOR)
    }

    /// One claim's tries: the recording's key once it is in the store, else the last reason.
    async fn fetch_and_put(
        &self,
        recordings: &RecordingStore,
        call_id: CallId,
        url: &str,
    ) -> Result<String, String> {
        let config = &self.inner.config;
        let key = recording_key(call_id);
        let mut pause = config.backoff;
        let mut last = String::new();
        for attempt in 1..=config.attempts.max(1) {
            if attempt > 1 {
                tokio::time::sleep(pause).await;
                pause = pause.saturating_mul(2);
            }
            let bytes = match self.fetch(url).await {
                Ok(bytes) => bytes,
                Err(reason) => {
                    last = reason;
                    continue;
                }
            };
            let now = self.inner.clock.now().secs();
            match recordings.put(&key, bytes, now).await {
                Ok(()) => return Ok(key),
                Err(e) => last = format!("the recordings store refused it ({e})"),
            }
        }
        Err(last)
    }

    /// The MP3 at `url`, checked; the reason is written for the owner.
    async fn fetch(&self, url: &str) -> Result<Vec<u8>, String> {
        let max = self.inner.config.max_bytes;
        if self.inner.simulated
            && let Some(bytes) = simulated::recording_at(url)
        {
            return Ok(bytes);
        }
        let url = validate(url, self.inner.config.allow_private)
            .await
            .map_err(|e| format!("the recording URL was refused: {e}"))?;
        if !self.inner.config.allow_private && is_private_literal(&url) {
            return Err("the recording URL was refused: it points to a private address".into());
        }
        let mut response = self.inner.client.get(url).send().await.map_err(|e| {
            if e.is_timeout() {
                "the download timed out".to_owned()
            } else {
                "the recording URL could not be reached".to_owned()
            }
        })?;
        let status = response.status();
        if status != reqwest::StatusCode::OK {
            return Err(format!(
                "the recording URL answered HTTP {}",
                status.as_u16()
            ));
        }
        let too_large = || format!("the recording is larger than {} MiB", max / (1024 * 1024));
        if response.content_length().is_some_and(|n| n > max as u64) {
            return Err(too_large());
        }
        let mut bytes = Vec::new();
        loop {
            match response.chunk().await {
                Ok(Some(chunk)) => {
                    if bytes.len() + chunk.len() > max {
                        return Err(too_large());
                    }
                    bytes.extend_from_slice(&chunk);
                }
                Ok(None) => break,
                Err(e) if e.is_timeout() => return Err("the download timed out".into()),
                Err(_) => return Err("the download was cut off".into()),
            }
        }
        if !looks_like_mp3(&bytes) {
            return Err("the provider's file is not an MP3".into());
        }
        Ok(bytes)
    }
}

/// Where a call's recording is kept in the store.
pub fn recording_key(call_id: CallId) -> String {
    format!("recordings/{call_id}.mp3")
}
