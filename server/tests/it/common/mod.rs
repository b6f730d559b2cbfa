//! Test support: a scratch database per test on either backend, and the real app served
//! over loopback HTTP.
//!
//! PostgreSQL tests use `CALLSCOPE_TEST_PG_URL` (default
//! `postgres://postgres@127.0.0.1:5432/test`) to create a fresh database per test and drop
//! it afterwards. An unreachable server fails the test: nothing is skipped silently.
//!
//! Which backends a test runs on:
//!
//! - `both_backends!` (SQLite and PostgreSQL) whenever the outcome could depend on the
//!   database: anything the test checks that goes through SQL — what is stored and read
//!   back, tenant scoping, filters, ordering and pagination, sums, expiry compared in a
//!   query, uniqueness, transactions, leases and concurrent claims, readiness.
//! - `backend_independent!` (once, on SQLite) for HTTP behaviour the database cannot
//!   influence: routing and its 404/405 JSON, headers and compression, static files, query
//!   parameters refused before any query, the miss limiter, URL signing, target checks. Such
//!   a test may use the database to set up its world; what it asserts must not depend on
//!   which database that is, and the storage path it passes through must be covered by a
//!   `both_backends!` test.
//!
//! When in doubt, both.

#![allow(dead_code)]

pub mod fake_s3;
pub mod fixtures;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};

use callscope_server::app::AppState;
use callscope_server::application::{Application, ApplicationBuilder};
use callscope_server::config::Config;
use callscope_server::live::LiveStore;
use callscope_server::secrets::ServerKey;
use callscope_server::storage::Store;
use sqlx::Connection;

static COUNTER: AtomicU64 = AtomicU64::new(0);

fn unique(label: &str) -> String {
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .subsec_nanos();
    format!("{label}_{}_{n}_{nanos}", std::process::id())
}

pub fn pg_admin_url() -> String {
    std::env::var("CALLSCOPE_TEST_PG_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".into())
}

/// A response's status and body, the body parsed as JSON (or kept as a JSON string when it
/// is not JSON, so an assertion shows what came instead).
pub async fn status_and_json(r: reqwest::Response) -> (reqwest::StatusCode, serde_json::Value) {
    let status = r.status();
    let text = r.text().await.unwrap();
    (
        status,
        serde_json::from_str(&text).unwrap_or(serde_json::Value::String(text)),
    )
}

pub fn redis_url() -> String {
    std::env::var("CALLSCOPE_TEST_REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".into())
}

/// The webhook events queued for call `id` (`call_…`), oldest first: names, then bodies.
pub async fn queued_events(store: &Store, id: &str) -> (Vec<String>, Vec<serde_json::Value>) {
    let call: callscope_shared::CallId = id.parse().unwrap();
    let bodies: Vec<serde_json::Value> = store
        .call_event_payloads(call)
        .await
        .unwrap()
        .iter()
        .map(|p| serde_json::from_str(p).unwrap())
        .collect();
    let names = bodies
        .iter()
        .map(|b| b["event"].as_str().unwrap().to_owned())
        .collect();
    (names, bodies)
}

/// A key prefix of its own in the test Redis, so tests (and runs) never share keys or
/// channels.
pub fn redis_prefix() -> String {
    format!("{}:", unique("callscope-test"))
}

/// A live store in the test Redis under `prefix` (instances of one test share it).
pub async fn redis_live(prefix: &str) -> LiveStore {
    LiveStore::redis(&redis_url(), prefix)
        .await
        .expect("Redis at 127.0.0.1:6379 is required for this test")
}

/// A scratch folder, removed when dropped.
pub struct TempDir(pub PathBuf);

impl TempDir {
    pub fn new() -> Self {
        let dir = std::env::temp_dir().join(unique("callscope_dir"));
        std::fs::create_dir_all(&dir).unwrap();
        Self(dir)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A migrated scratch database; removed on drop.
pub struct TestDb {
    pub store: Store,
    pub url: String,
    cleanup: Cleanup,
}

enum Cleanup {
    Dir(PathBuf),
    PgDatabase(String),
}

#[derive(Debug, Clone, Copy)]
pub enum Kind {
    Sqlite,
    Postgres,
}

impl TestDb {
    pub async fn new(kind: Kind) -> TestDb {
        match kind {
            Kind::Sqlite => Self::sqlite().await,
            Kind::Postgres => Self::postgres().await,
        }
    }

    pub async fn sqlite() -> TestDb {
        let dir = std::env::temp_dir().join(unique("callscope_test"));
        std::fs::create_dir_all(&dir).unwrap();
        let url = format!("sqlite://{}/test.db", dir.display());
        let store = Store::connect(&url, 4).await.expect("open sqlite");
        store.migrate().await.expect("migrate sqlite");
        TestDb {
            store,
            url,
            cleanup: Cleanup::Dir(dir),
        }
    }

    pub async fn postgres() -> TestDb {
        let admin = pg_admin_url();
        let name = unique("callscope_test");
        let mut conn = sqlx::PgConnection::connect(&admin)
            .await
            .unwrap_or_else(|e| panic!("PostgreSQL at {admin} is required for this test: {e}"));
        sqlx::query(&format!("CREATE DATABASE {name}"))
            .execute(&mut conn)
            .await
            .unwrap();
        conn.close().await.ok();
        let (base, _) = admin.rsplit_once('/').expect("database name in URL");
        let url = format!("{base}/{name}");
        let store = Store::connect(&url, 4).await.expect("open postgres");
        store.migrate().await.expect("migrate postgres");
        TestDb {
            store,
            url,
            cleanup: Cleanup::PgDatabase(name),
        }
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        match &self.cleanup {
            Cleanup::Dir(dir) => {
                let _ = std::fs::remove_dir_all(dir);
            }
            Cleanup::PgDatabase(name) => {
                let name = name.clone();
                // Drop runs inside the test's runtime; do the async cleanup on a thread of its
                // own. FORCE ends the pool's connections, which belong to the test's runtime.
                std::thread::spawn(move || {
                    let rt = tokio::runtime::Builder::new_current_thread()
                        .enable_all()
                        .build()
                        .unwrap();
                    rt.block_on(async move {
                        if let Ok(mut conn) = sqlx::PgConnection::connect(&pg_admin_url()).await {
                            let _ = sqlx::query(&format!(
                                "DROP DATABASE IF EXISTS {name} WITH (FORCE)"
                            ))
                            .execute(&mut conn)
                            .await;
                        }
                    });
                })
                .join()
                .ok();
            }
        }
    }
}

/// The configuration tests serve with: the command line's defaults, except a free
/// loopback port, no viewer build, a fresh server key, no webhook dispatcher (webhook
/// tests step their own, with their own clock) and no recording retention job (retention
/// tests run passes themselves, or turn it on).
pub fn config() -> Config {
    // The store is always supplied (`ApplicationBuilder::store`), so the URL is never used.
    let mut config = Config::new("sqlite://supplied-by-the-test", ServerKey::generate());
    config.bind = "127.0.0.1:0".parse().unwrap();
    config.dist = PathBuf::from("/nonexistent-dist");
    config.webhooks.concurrency = 0;
    config.recording_retention_interval = std::time::Duration::ZERO;
    config
}

/// The real application, built by `Application` as `serve` builds it, served on a free
/// loopback port.
pub struct TestServer {
    pub addr: SocketAddr,
    /// `GET /metrics`'s address, when the config set `metrics_bind`.
    pub metrics: Option<SocketAddr>,
    pub state: AppState,
    pub client: reqwest::Client,
    task: tokio::task::JoinHandle<()>,
}

impl TestServer {
    pub async fn start(store: Store, live: LiveStore) -> TestServer {
        Self::start_with(store, live, config()).await
    }

    pub async fn start_with_dist(store: Store, live: LiveStore, dist: PathBuf) -> TestServer {
        Self::start_with(store, live, Config { dist, ..config() }).await
    }

    /// Serves `config` over the test's store and live store.
    pub async fn start_with(store: Store, live: LiveStore, config: Config) -> TestServer {
        Self::start_app(Application::builder(config).store(store).live(live)).await
    }

    /// Serves an application the test assembled (e.g. with its own clock).
    pub async fn start_app(builder: ApplicationBuilder) -> TestServer {
        let app = builder.build().await.expect("the application builds");
        let addr = app.local_addr().unwrap();
        let metrics = app.metrics_addr();
        let state = app.state().clone();
        let task = tokio::spawn(async move {
            app.run_until(std::future::pending()).await.unwrap();
        });
        TestServer {
            addr,
            metrics,
            state,
            client: reqwest::Client::new(),
            task,
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    /// GET with a bearer key.
    pub async fn get(&self, path: &str, key: &str) -> reqwest::Response {
        self.client
            .get(self.url(path))
            .bearer_auth(key)
            .send()
            .await
            .unwrap()
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Runs an async test body once per backend: `both_backends!(name, |db| async move { … })`.
#[macro_export]
macro_rules! both_backends {
    ($name:ident, $body:expr) => {
        mod $name {
            use super::*;

            #[tokio::test]
            async fn sqlite() {
                let db = common::TestDb::new(common::Kind::Sqlite).await;
                ($body)(db).await;
            }

            #[tokio::test]
            async fn postgres() {
                let db = common::TestDb::new(common::Kind::Postgres).await;
                ($body)(db).await;
            }
        }
    };
}

/// Runs an async test body once, on SQLite, for behaviour the database cannot influence (see
/// the module doc): `backend_independent!(name, |db| async move { … })`.
#[macro_export]
macro_rules! backend_independent {
    ($name:ident, $body:expr) => {
        mod $name {
            use super::*;

            #[tokio::test]
            async fn sqlite() {
                let db = common::TestDb::new(common::Kind::Sqlite).await;
                ($body)(db).await;
            }
        }
    };
}
