//! Storage: one store over SQLite (the embedded default) and PostgreSQL.
//!
//! `Store` wraps one sqlx `Any` pool; both backends run the same SQL (`$n` parameters work on
//! both). Only connecting (pragmas, WAL) and the versioned migrations differ per backend, in
//! `sqlite.rs` and `postgres.rs`. Each other module holds one kind of data: `accounts` (and
//! API keys), `agents`, `calls` (storing a call), `call_detail` (reading one), `call_updates` (changing a live call, turn by turn), `listing`
//! (pages of calls), `daily_stats` (roll-ups and summaries), `debug_links`, `endpoints`,
//! `outbox` (webhook events and jobs), `deliveries`, `telnyx_events` (provider webhooks
//! applied), `transfers` and `control_events` (what the public view shows of call control),
//! `retention` (recordings due for deletion, claimed and marked deleted).
//! Every committed change of a call is announced on `changes()`.
//!
//! Rows are read by column name into `#[derive(FromRow)]` structs and converted once into
//! their domain types (`TryFrom`, `decode.rs`): a stored value out of range is
//! `StoreError::Corrupt`, never clamped. Queries whose shape depends on the request are built
//! with `sql::Sql`, which numbers placeholders as it binds. Ids and instants have their own
//! types (`crate::ids`, `crate::clock::UnixTime`); storage never reads the clock, and never
//! calls up into the services: a new call's webhook events are built by the caller's closure.
//! Conventions that keep the SQL portable: instants are Unix seconds, money is integer
//! ten-thousandths, minutes integer hundredths, flags are bound as `bool` and read as
//! `decode::Flag` (SQLite hands them back as integers).

mod accounts;
mod agents;
mod call_detail;
mod call_updates;
mod calls;
mod control_events;
mod daily_stats;
mod debug_links;
mod decode;
mod deliveries;
mod endpoints;
mod gauges;
mod listing;
mod outbox;
mod postgres;
mod recording_jobs;
mod retention;
mod sql;
mod sqlite;
mod telnyx_events;
mod trace_spans;
mod transfers;

use std::sync::Arc;

use sqlx::AnyPool;

use crate::changes::CallChanges;

pub use accounts::{AccountStatus, KeyOwner, KeyRecord};
pub use agents::{AgentRecord, NewAgent};
pub use call_detail::RecordingState;
pub use call_updates::{CallState, CallTx, EntryLatency, SeqEntry};
pub use calls::{CallEvents, NewCall, NewLatencyTurn, NewTranscriptEntry};
pub use control_events::ControlEvent;
pub use daily_stats::{DAY, Totals};
pub use debug_links::{DebugLogState, LinkRecord, LinkRecording, LinkTarget};
pub use deliveries::NewDelivery;
pub use endpoints::{EndpointRecord, NewEndpoint};
pub use gauges::Gauges;
pub use listing::{CallFilter, Position, StatusRow};
pub use outbox::{AttemptOutcome, ClaimedJob, FinishedAttempt, JobState, OutboxEvent};
pub use recording_jobs::{ClaimedDownload, NewDownload, StartClaim};
pub use retention::{DueBefore, DueRecording};
pub use telnyx_events::SeenTelnyxEvent;
pub use trace_spans::{StoredSpan, TraceClaim};
pub use transfers::{Transfer, TransferState};

/// Longest a query waits for a free pooled connection. Shorter than the request timeout
/// (`config::REQUEST_TIMEOUT`), so a saturated pool answers 503 with `Retry-After` rather
/// than the request timing out.
pub const ACQUIRE_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(5);

/// Which database a store talks to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// A storage failure. Callers map it to a 500 (or 503 for readiness); it never carries
/// user input back out.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("unsupported database URL (expected sqlite:// or postgres://)")]
    UnsupportedUrl,
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
    #[error("migration failed: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    #[error("cannot prepare the database directory: {0}")]
    Io(#[from] std::io::Error),
    #[error("stored data is invalid: {0}")]
    Corrupt(String),
}

impl StoreError {
    /// A write refused by a unique index (a concurrent writer got there first).
    pub fn is_unique_violation(&self) -> bool {
        matches!(self, StoreError::Database(sqlx::Error::Database(e)) if e.is_unique_violation())
    }

    /// The database could not be reached, dropped the connection or could not take the
    /// lock in time (stopped, restarting, unreachable, pool exhausted, another writer held
    /// SQLite's file past the busy timeout): the request may succeed later, so it is a 503,
    /// not a 500. PostgreSQL says so with SQLSTATE class 08 (connection exception), 53300
    /// (too many connections) and 57P01–57P03 (shut down by an operator or a crash,
    /// starting up); SQLite with SQLITE_BUSY and SQLITE_LOCKED (any extended code of them).
    pub fn is_unavailable(&self) -> bool {
        let StoreError::Database(err) = self else {
            return false;
        };
        match err {
            sqlx::Error::PoolTimedOut
            | sqlx::Error::PoolClosed
            | sqlx::Error::Io(_)
            | sqlx::Error::WorkerCrashed => true,
            sqlx::Error::Database(db) => {
                if let Some(sqlite) = db.try_downcast_ref::<sqlx::sqlite::SqliteError>() {
                    use sqlx::error::DatabaseError;
                    let primary = sqlite
                        .code()
                        .and_then(|code| code.parse::<i32>().ok())
                        .map(|code| code & 0xff);
                    return matches!(primary, Some(SQLITE_BUSY | SQLITE_LOCKED));
                }
                db.code().is_some_and(|code| {
                    code.starts_with("08")
                        || matches!(&*code, "53300" | "57P01" | "57P02" | "57P03")
                })
            }
            _ => false,
        }
    }
}

/// SQLite's primary result codes for "another connection holds the lock".
const SQLITE_BUSY: i32 = 5;
const SQLITE_LOCKED: i32 = 6;

pub type StoreResult<T> = Result<T, StoreError>;

/// The handle every part of the server uses to reach the database. Cheap to clone.
#[derive(Clone, Debug)]
pub struct Store {
    pool: AnyPool,
    backend: Backend,
    /// Signals this process's webhook dispatcher that jobs were queued.
    outbox_wake: Arc<tokio::sync::Notify>,
    /// Signals this process's recording downloader that a download was queued.
    downloads_wake: Arc<tokio::sync::Notify>,
    /// Announces each committed change of a call (to the live debug streams).
    changes: CallChanges,
}

impl Store {
    /// Connects to `url` (`sqlite://…` or `postgres://…`). Does not migrate.
    pub async fn connect(url: &str, max_connections: u32) -> StoreResult<Self> {
        sqlx::any::install_default_drivers();
        let (pool, backend) = if url.starts_with("sqlite:") {
            (
                sqlite::connect(url, max_connections).await?,
                Backend::Sqlite,
            )
        } else if url.starts_with("postgres:") || url.starts_with("postgresql:") {
            (
                postgres::connect(url, max_connections).await?,
                Backend::Postgres,
            )
        } else {
            return Err(StoreError::UnsupportedUrl);
        };
        Ok(Self {
            pool,
            backend,
            outbox_wake: Arc::default(),
            downloads_wake: Arc::default(),
            changes: CallChanges::default(),
        })
    }

    /// Applies every pending migration of this backend.
    pub async fn migrate(&self) -> StoreResult<()> {
        match self.backend {
            Backend::Sqlite => sqlite::migrate(&self.pool).await,
            Backend::Postgres => postgres::migrate(&self.pool).await,
        }
    }

    /// Whether the database answers.
    pub async fn ping(&self) -> StoreResult<()> {
        sqlx::query("SELECT 1").execute(&self.pool).await?;
        Ok(())
    }

    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// Where this store announces committed changes of calls.
    pub fn changes(&self) -> &CallChanges {
        &self.changes
    }

    pub(crate) fn pool(&self) -> &AnyPool {
        &self.pool
    }

    /// Closes every connection; pending work finishes first.
    pub async fn close(&self) {
        self.pool.close().await;
    }
}
