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

    /// `Err(seconds)` to wait when `client` has used up its misses: asked before a lookup,
    /// so a client over its limit is refused without touching the database. Only a
    /// shortcut: the verdict on a miss is `count_miss`'s, since misses racing each other
    /// all pass this check before any of them is counted.
    pub async fn check(&self, client: ClientKey) -> Result<(), u64> {
        if self.limit == 0 {
            return Ok(());
        }
        // `None`: no shared answer (no Redis, or it failed), so this process's counts decide.
        let shared = match &self.shared {
            Some(shared) => match shared.window(client).await {
                Ok(window) => Some(window),
                Err(err) => {
                    tracing::warn!(error = %err, "miss limiter: reading shared counts failed; using this process's counts");
                    None
                }
            },
            None => None,
        };
        let window = match shared {
            Some(window) => window,
            None => self.local.peek(client, self.window, Instant::now()),
        };
        // Would one more miss be over the limit?
        self.verdict(window.map(|w| Window {
            misses: w.misses.saturating_add(1),
            ..w
        }))
    }

    /// Counts one miss for `client` and says whether it was within the limit:
    /// `Err(seconds)` when this miss is over it, to be answered 429 rather than 404.
    /// Counting and reading the count back are one atomic step (one lock in process, one
    /// MULTI in Redis), so of any number of concurrent misses exactly `limit` get a 404.
    pub async fn count_miss(&self, client: ClientKey) -> Result<(), u64> {
        if self.limit == 0 {
            return Ok(());
        }
        let local = self.local.count(client, self.window, Instant::now());
        if let Some(shared) = &self.shared {
            match shared.count(client, self.window).await {
                Ok(window) => return self.verdict(Some(window)),
                Err(err) => {
                    tracing::warn!(error = %err, "miss limiter: counting a miss in Redis failed; using this process's counts")
                }
            }
        }
        self.verdict(Some(local))
    }

    /// The one rule: a window holding more than `limit` misses refuses until it ends.
    fn verdict(&self, window: Option<Window>) -> Result<(), u64> {
        match window {
            Some(Window {
                misses,
                left_ms: Some(left_ms),
            }) if misses > u64::from(self.limit) && left_ms > 0 => {
                Err(left_ms.div_ceil(1000).max(1))
            }
            // No window, within the limit, or a key without expiry (never written by us):
            // the last must not lock a client out for ever.
            _ => Ok(()),
        }
    }
}

/// This process's counts: per client, the start of its window and its misses.
#[derive(Default)]
struct LocalMisses(Mutex<HashMap<ClientKey, (Instant, u64)>>);

impl LocalMisses {
    /// The client's current window, counting nothing.
    fn peek(&self, client: ClientKey, window: Duration, now: Instant) -> Option<Window> {
        let clients = self.0.lock().unwrap_or_else(|e| e.into_inner());
        let &(start, misses) = clients.get(&client)?;
        Self::left(start, window, now).map(|left_ms| Window {
            misses,
            left_ms: Some(left_ms),
        })
    }

    /// Counts one miss and returns the window with it, under one lock.
    fn count(&self, client: ClientKey, window: Duration, now: Instant) -> Window {
        let mut clients = self.0.lock().unwrap_or_else(|e| e.into_inner());
        if clients.len() >= SWEEP_AT {
            clients.retain(|_, (start, _)| Self::left(*start, window, now).is_some());
        }
        let entry = clients.entry(client).or_insert((now, 0));
        if Self::left(entry.0, window, now).is_none() {
            *entry = (now, 0);
        }
        entry.1 = entry.1.saturating_add(1);
        Window {
            misses: entry.1,
            left_ms: Self::left(entry.0, window, now),
        }
    }

    /// Milliseconds left of a window that started at `start`; `None` once it has ended.
    fn left(start: Instant, window: Duration, now: Instant) -> Option<u64> {
        let left = window.checked_sub(now.duration_since(start))?;
        (!left.is_zero()).then(|| u64::try_from(left.as_millis()).unwrap_or(u64::MAX).max(1))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(ip: &str) -> ClientKey {
        ClientKey::from(ip.parse::<std::net::IpAddr>().unwrap())
    }

    #[test]
    fn counts_within_a_window_and_starts_afresh_after_it() {
        let l = LocalMisses::default();
        let minute = Duration::from_secs(60);
        let (a, b) = (key("10.0.0.1"), key("10.0.0.2"));
        let t0 = Instant::now();
        assert_eq!(l.peek(a, minute, t0), None);
        for n in 1..=3 {
            assert_eq!(l.count(a, minute, t0).misses, n);
        }
        assert_eq!(
            l.peek(a, minute, t0 + Duration::from_secs(10)),
            Some(Window {
                misses: 3,
                left_ms: Some(50_000)
            })
        );
        assert_eq!(l.peek(b, minute, t0), None, "other clients are unaffected");
        assert_eq!(l.peek(a, minute, t0 + Duration::from_secs(60)), None);
        assert_eq!(
            l.count(a, minute, t0 + Duration::from_secs(61)),
            Window {
                misses: 1,
                left_ms: Some(60_000)
            },
            "a new window starts afresh"
        );
    }

    #[tokio::test]
    async fn the_miss_over_the_limit_is_refused_and_so_is_every_lookup_after_it() {
        let l = MissLimiter::new(3, Duration::from_secs(60));
        let a = key("10.0.0.3");
        for n in 1..=3 {
            assert_eq!(l.check(a).await, Ok(()), "lookup {n}");
            assert_eq!(l.count_miss(a).await, Ok(()), "miss {n}");
        }
        assert_eq!(l.check(a).await, Err(60), "refused before any lookup");
        assert_eq!(
            l.count_miss(a).await,
            Err(60),
            "a fourth miss that raced in"
        );
        assert_eq!(l.check(key("10.0.0.4")).await, Ok(()));
    }

    #[tokio::test]
    async fn zero_disables() {
        let l = MissLimiter::new(0, Duration::from_secs(60));
        let a = key("::1");
        for _ in 0..100 {
            assert_eq!(l.count_miss(a).await, Ok(()));
        }
        assert_eq!(l.check(a).await, Ok(()));
    }

    #[tokio::test]
    async fn counts_an_ipv6_64_as_one_client() {
        let l = MissLimiter::new(2, Duration::from_secs(60));
        assert_eq!(l.count_miss(key("2001:db8:0:1::1")).await, Ok(()));
        assert_eq!(l.count_miss(key("2001:db8:0:1::2")).await, Ok(()));
        assert!(l.check(key("2001:db8:0:1::ffff")).await.is_err());
        assert_eq!(l.check(key("2001:db8:0:2::1")).await, Ok(()));
    }

    #[test]
    fn windows_refuse_over_the_limit_with_the_time_left_rounded_up() {
        let l = MissLimiter::new(3, Duration::from_secs(60));
        let w = |misses, left_ms| Some(Window { misses, left_ms });
        assert_eq!(l.verdict(None), Ok(()));
        assert_eq!(
            l.verdict(w(3, Some(30_000))),
            Ok(()),
            "the limit itself is allowed"
        );
        assert_eq!(l.verdict(w(4, Some(30_000))), Err(30));
        assert_eq!(l.verdict(w(9, Some(29_001))), Err(30));
        assert_eq!(l.verdict(w(4, Some(1))), Err(1));
        assert_eq!(l.verdict(w(4, Some(0))), Ok(()));
        assert_eq!(
            l.verdict(w(4, None)),
            Ok(()),
            "a key without expiry locks no one out"
        );
    }
}
