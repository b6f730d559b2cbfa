//! Time: one instant type in the Unix seconds storage uses, and one injectable clock that
//! handlers, storage callers and jobs all read, so tests can move time.

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};

use callscope_shared::Timestamp;

/// An instant, in whole Unix seconds (how every instant is stored).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default, sqlx::Type)]
#[sqlx(transparent)]
pub struct UnixTime(pub i64);

impl UnixTime {
    /// Unix seconds.
    pub fn secs(self) -> i64 {
        self.0
    }

    /// This instant moved by `secs` seconds (saturating).
    pub fn plus(self, secs: i64) -> Self {
        Self(self.0.saturating_add(secs))
    }

    /// Seconds from `earlier` to this instant (negative when `earlier` is later).
    pub fn since(self, earlier: UnixTime) -> i64 {
        self.0.saturating_sub(earlier.0)
    }

    /// The wire form; `None` outside the years the wire accepts (1970..=9999).
    pub fn timestamp(self) -> Option<Timestamp> {
        Timestamp::from_unix(self.0)
    }
}

impl From<Timestamp> for UnixTime {
    fn from(t: Timestamp) -> Self {
        Self(t.unix())
    }
}

impl std::fmt::Display for UnixTime {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

/// Where "now" comes from.
pub trait Clock: Send + Sync + 'static {
    fn now(&self) -> UnixTime;
}

/// The wall clock.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> UnixTime {
        UnixTime(
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_secs() as i64)
                .unwrap_or(0),
        )
    }
}

/// A clock that moves only when told to: for tests of schedules, expiry and durations.
#[derive(Debug, Clone, Default)]
pub struct ManualClock(Arc<AtomicI64>);

impl ManualClock {
    pub fn new(at: UnixTime) -> Self {
        Self(Arc::new(AtomicI64::new(at.0)))
    }

    pub fn advance(&self, secs: i64) {
        self.0.fetch_add(secs, Ordering::SeqCst);
    }

    pub fn set(&self, at: UnixTime) {
        self.0.store(at.0, Ordering::SeqCst);
    }
}

impl Clock for ManualClock {
    fn now(&self) -> UnixTime {
        UnixTime(self.0.load(Ordering::SeqCst))
    }
}

/// A shared clock handle, as the application and its jobs hold it.
pub type SharedClock = Arc<dyn Clock>;

/// Now, from the wall clock. Only for code with no application to hand (the command line);
/// everything else reads its injected `Clock`.
pub fn now() -> UnixTime {
    SystemClock.now()
}
