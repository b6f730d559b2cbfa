//! Per-client limit on public lookups that miss, so the token space cannot be walked.
//! A client over its limit gets 429 for every lookup until its window ends; everyone else
//! is unaffected. A window is fixed: it starts at the client's first miss.
//!
//! With Redis the counts are shared by every instance (`shared_misses`). Each process also
//! keeps its own counts, which decide whenever Redis fails or is too slow: a Redis outage
//! weakens the limit to per-instance but never fails the request.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use super::shared_misses::{SharedMisses, Window};
use crate::client_ip::ClientKey;

/// Most clients tracked in process before stale windows are swept.
const SWEEP_AT: usize = 10_000;

pub struct MissLimiter {
    limit: u32,
    window: Duration,
    local: LocalMisses,
    shared: Option<SharedMisses>,
}

impl MissLimiter {
    /// `limit` misses per `window` per client, counted in this process; 0 disables the
    /// limit.
    pub fn new(limit: u32, window: Duration) -> Self {
        Self {
            limit,
            window,
            local: LocalMisses::default(),
            shared: None,
        }
    }

    /// Shares the counts through Redis (the in-process ones stay as the fallback).
    pub fn shared_through(mut self, shared: SharedMisses) -> Self {
        self.shared = Some(shared);
        self
    }

    /// `Err(seconds)` to wait when `client` has used up its misses.
    pub async fn check(&self, client: ClientKey) -> Result<(), u64> {
        if self.limit == 0 {
            return Ok(());
        }
        if let Some(shared) = &self.shared {
            match shared.window(client).await {
                Ok(window) => return self.decide(window),
                Err(err) => {
                    tracing::warn!(error = %err, "miss limiter: reading shared counts failed; using this process's counts")
                }
            }
        }
        self.local
            .check(client, self.limit, self.window, Instant::now())
    }

    /// Counts one miss for `client`.
    pub async fn record_miss(&self, client: ClientKey) {
        if self.limit == 0 {
            return;
        }
        self.local.record(client, self.window, Instant::now());
        if let Some(shared) = &self.shared
            && let Err(err) = shared.add(client, self.window).await
        {
            tracing::warn!(error = %err, "miss limiter: counting a miss in Redis failed; this process's count stands");
        }
    }

    fn decide(&self, window: Option<Window>) -> Result<(), u64> {
        match window {
            Some(Window {
                misses,
                left_ms: Some(left_ms),
            }) if misses >= u64::from(self.limit) && left_ms > 0 => {
                Err(left_ms.div_ceil(1000).max(1))
            }
            // No window, under the limit, or a key without expiry (never written by us):
            // the last must not lock a client out for ever.
            _ => Ok(()),
        }
    }
}

/// This process's counts: per client, the start of its window and its misses.
#[derive(Default)]
struct LocalMisses(Mutex<HashMap<ClientKey, (Instant, u32)>>);

impl LocalMisses {
    fn check(
        &self,
        client: ClientKey,
        limit: u32,
        window: Duration,
        now: Instant,
    ) -> Result<(), u64> {
        let clients = self.0.lock().unwrap_or_else(|e| e.into_inner());
        match clients.get(&client) {
            Some(&(start, count)) if count >= limit && now.duration_since(start) < window => {
                let left = window - now.duration_since(start);
                Err(left.as_secs().max(1))
            }
            _ => Ok(()),
        }
    }

    fn record(&self, client: ClientKey, window: Duration, now: Instant) {
        let mut clients = self.0.lock().unwrap_or_else(|e| e.into_inner());
        if clients.len() >= SWEEP_AT {
            clients.retain(|_, (start, _)| now.duration_since(*start) < window);
        }
        let entry = clients.entry(client).or_insert((now, 0));
        if now.duration_since(entry.0) >= window {
            *entry = (now, 0);
        }
        entry.1 = entry.1.saturating_add(1);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(ip: &str) -> ClientKey {
        ClientKey::from(ip.parse::<std::net::IpAddr>().unwrap())
    }

    #[test]
    fn blocks_after_the_limit_until_the_window_ends() {
        let l = LocalMisses::default();
        let minute = Duration::from_secs(60);
        let (a, b) = (key("10.0.0.1"), key("10.0.0.2"));
        let t0 = Instant::now();
        for _ in 0..3 {
            assert_eq!(l.check(a, 3, minute, t0), Ok(()));
            l.record(a, minute, t0);
        }
        assert_eq!(l.check(a, 3, minute, t0 + Duration::from_secs(10)), Err(50));
        assert_eq!(
            l.check(b, 3, minute, t0),
            Ok(()),
            "other clients are unaffected"
        );
        assert_eq!(l.check(a, 3, minute, t0 + Duration::from_secs(61)), Ok(()));
        l.record(a, minute, t0 + Duration::from_secs(61));
        assert_eq!(
            l.check(a, 3, minute, t0 + Duration::from_secs(62)),
            Ok(()),
            "a new window starts afresh"
        );
    }

    #[tokio::test]
    async fn zero_disables() {
        let l = MissLimiter::new(0, Duration::from_secs(60));
        let a = key("::1");
        for _ in 0..100 {
            l.record_miss(a).await;
        }
        assert_eq!(l.check(a).await, Ok(()));
    }

    #[tokio::test]
    async fn counts_an_ipv6_64_as_one_client() {
        let l = MissLimiter::new(2, Duration::from_secs(60));
        l.record_miss(key("2001:db8:0:1::1")).await;
        l.record_miss(key("2001:db8:0:1::2")).await;
        assert!(l.check(key("2001:db8:0:1::ffff")).await.is_err());
        assert_eq!(l.check(key("2001:db8:0:2::1")).await, Ok(()));
    }

    #[test]
    fn shared_windows_decide_with_the_time_left_rounded_up() {
        let l = MissLimiter::new(3, Duration::from_secs(60));
        let w = |misses, left_ms| Some(Window { misses, left_ms });
        assert_eq!(l.decide(None), Ok(()));
        assert_eq!(l.decide(w(2, Some(30_000))), Ok(()));
        assert_eq!(l.decide(w(3, Some(30_000))), Err(30));
        assert_eq!(l.decide(w(9, Some(29_001))), Err(30));
        assert_eq!(l.decide(w(3, Some(1))), Err(1));
        assert_eq!(l.decide(w(3, Some(0))), Ok(()));
        assert_eq!(
            l.decide(w(3, None)),
            Ok(()),
            "a key without expiry locks no one out"
        );
    }
}
