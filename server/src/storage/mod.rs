//! Storage: one interface over SQLite (the embedded default) and PostgreSQL.
//!
//! Both backends speak the same SQL through sqlx's `Any` driver (`$1`-style parameters work
//! on both); what differs per backend — connecting, pragmas, migrations — lives in
//! `sqlite.rs` and `postgres.rs`. Conventions that keep the SQL portable: instants are Unix
//! seconds, money is integer ten-thousandths, minutes integer hundredths, flags are bound as
//! `bool` and read back through `CAST(.. AS INTEGER)`.

mod accounts;
mod agents;
mod calls;
mod debug_links;
mod listing;
mod outbox;
mod postgres;
mod sqlite;
mod webhooks;

use std::sync::Arc;

use sqlx::AnyPool;

pub use accounts::{AccountStatus, KeyOwner};
pub use agents::{AgentRecord, NewAgent};
pub use calls::{NewCall, NewLatencyTurn, NewTranscriptEntry, RecordingState};
pub use debug_links::{DebugLogState, LinkRecord, LinkTarget};
pub use listing::{CallFilter, DAY, Position, StatusRow, Totals};
pub use outbox::{AttemptOutcome, ClaimedJob, EndpointRecord, JobState, NewEndpoint, OutboxEvent};
pub use webhooks::NewDelivery;

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

pub type StoreResult<T> = Result<T, StoreError>;

/// The handle every part of the server uses to reach the database. Cheap to clone.
#[derive(Clone, Debug)]
pub struct Store {
    pool: AnyPool,
    backend: Backend,
    /// Signals this process's webhook dispatcher that jobs were queued.
    outbox_wake: Arc<tokio::sync::Notify>,
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

    pub(crate) fn pool(&self) -> &AnyPool {
        &self.pool
    }

    /// Closes every connection; pending work finishes first.
    pub async fn close(&self) {
        self.pool.close().await;
    }
}

/// Reads a JSON column written by us; a malformed one is reported, not panicked on.
fn parse_json<T: serde::de::DeserializeOwned>(text: &str, what: &str) -> StoreResult<T> {
    serde_json::from_str(text).map_err(|e| StoreError::Corrupt(format!("{what}: {e}")))
}

/// An instant column written by us.
fn instant(secs: i64) -> StoreResult<callscope_shared::Timestamp> {
    callscope_shared::Timestamp::from_unix(secs)
        .ok_or_else(|| StoreError::Corrupt(format!("instant {secs}")))
}

/// Parses an enum column written by us.
fn parse_enum<T: std::str::FromStr>(text: &str, what: &str) -> StoreResult<T> {
    text.parse()
        .map_err(|_| StoreError::Corrupt(format!("{what}: {text:?}")))
}
