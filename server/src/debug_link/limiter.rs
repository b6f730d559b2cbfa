//! Per-client limit on public lookups that miss, so the token space cannot be walked.
//! A client over its limit gets 429 for every lookup until its window ends; everyone else
//! is unaffected. State is per process (instances behind a balancer each count their own).

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Most clients tracked before stale windows are swept.
const SWEEP_AT: usize = 10_000;

pub struct MissLimiter {
    limit: u32,
    window: Duration,
    clients: Mutex<HashMap<IpAddr, (Instant, u32)>>,
}

impl MissLimiter {
    /// `limit` misses per `window` per client; 0 disables the limit.
    pub fn new(limit: u32, window: Duration) -> Self {
        Self {
            limit,
            window,
            clients: Mutex::default(),
        }
    }

    /// `Err(seconds)` to wait when `ip` has used up its misses.
    pub fn check(&self, ip: IpAddr, now: Instant) -> Result<(), u64> {
        if self.limit == 0 {
            return Ok(());
        }
        let clients = self.clients.lock().unwrap_or_else(|e| e.into_inner());
        match clients.get(&ip) {
            Some(&(start, count))
                if count >= self.limit && now.duration_since(start) < self.window =>
            {
                let left = self.window - now.duration_since(start);
                Err(left.as_secs().max(1))
            }
            _ => Ok(()),
        }
    }

    /// Counts one miss for `ip`.
    pub fn record_miss(&self, ip: IpAddr, now: Instant) {
        if self.limit == 0 {
            return;
        }
        let mut clients = self.clients.lock().unwrap_or_else(|e| e.into_inner());
        if clients.len() >= SWEEP_AT {
            let window = self.window;
            clients.retain(|_, (start, _)| now.duration_since(*start) < window);
        }
        let entry = clients.entry(ip).or_insert((now, 0));
        if now.duration_since(entry.0) >= self.window {
            *entry = (now, 0);
        }
        entry.1 = entry.1.saturating_add(1);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blocks_after_the_limit_until_the_window_ends() {
        let l = MissLimiter::new(3, Duration::from_secs(60));
        let a: IpAddr = "10.0.0.1".parse().unwrap();
        let b: IpAddr = "10.0.0.2".parse().unwrap();
        let t0 = Instant::now();
        for _ in 0..3 {
            assert_eq!(l.check(a, t0), Ok(()));
            l.record_miss(a, t0);
        }
        assert_eq!(l.check(a, t0 + Duration::from_secs(10)), Err(50));
        assert_eq!(l.check(b, t0), Ok(()), "other clients are unaffected");
        assert_eq!(l.check(a, t0 + Duration::from_secs(61)), Ok(()));
        l.record_miss(a, t0 + Duration::from_secs(61));
        assert_eq!(
            l.check(a, t0 + Duration::from_secs(62)),
            Ok(()),
            "a new window starts afresh"
        );
    }

    #[test]
    fn zero_disables() {
        let l = MissLimiter::new(0, Duration::from_secs(60));
        let a: IpAddr = "::1".parse().unwrap();
        for _ in 0..100 {
            l.record_miss(a, Instant::now());
        }
        assert_eq!(l.check(a, Instant::now()), Ok(()));
    }
}
