//! API base behaviour over real HTTP: auth, JSON errors everywhere, health.

use crate::common;

use std::sync::Arc;
use std::time::Duration;

use callscope_server::application::Application;
use callscope_server::auth::{KeyMode, create_key};
use callscope_server::clock::{ManualClock, UnixTime};
use callscope_server::config::Config;
use callscope_server::live::LiveStore;
use callscope_server::operator::{self, Revoked};
use callscope_server::storage::{AccountStatus, Backend, Store};
use common::{TestDb, TestServer};
use reqwest::StatusCode;
use serde_json::Value;
use sqlx::Connection;

async fn error_of(response: reqwest::Response) -> (StatusCode, String) {
    let status = response.status();
    let ct = response
        .headers()
        .get("content-type")
        .map(|v| v.to_str().unwrap().to_owned());
    assert_eq!(
        ct.as_deref(),
        Some("application/json"),
        "error bodies are JSON"
    );
    let body: Value = response.json().await.unwrap();
    let obj = body.as_object().unwrap();
    assert_eq!(obj.len(), 1, "exactly one field: {body}");
    (status, obj["error"].as_str().unwrap().to_owned())
}

both_backends!(auth_rejects_every_bad_key, |db: TestDb| async move {
    let key = create_key(&db.store, "acme", KeyMode::Live, UnixTime(1))
        .await
        .unwrap();
    let server = TestServer::start(db.store.clone(), LiveStore::in_process()).await;
    let url = server.url("/v1/calls");

    let missing = server.client.get(&url).send().await.unwrap();
    assert_eq!(missing.headers()["www-authenticate"], "Bearer");
    assert_eq!(
        error_of(missing).await,
        (StatusCode::UNAUTHORIZED, "Missing API key".into())
    );

    let well_formed_unknown = "sfy_live_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA";
    for bad in [
        format!("Bearer {well_formed_unknown}"),
        "Bearer sfy_live_short".into(),
        format!("Basic {}", key.reveal()),
        format!("Bearer{}", key.reveal()),
        "Bearer ".into(),
    ] {
        let r = server
            .client
            .get(&url)
            .header("authorization", bad.clone())
            .send()
            .await
            .unwrap();
        assert_eq!(
            error_of(r).await,
            (StatusCode::UNAUTHORIZED, "Invalid API key".into()),
            "{bad}"
        );
    }

    let ok = server.get("/v1/calls", key.reveal()).await;
    assert_eq!(ok.status(), StatusCode::OK);
    // The scheme is case-insensitive, as RFC 7235 says.
    let lower = server
        .client
        .get(&url)
        .header("authorization", format!("bearer {}", key.reveal()))
        .send()
        .await
        .unwrap();
    assert_eq!(lower.status(), StatusCode::OK);

    let owner = db.store.find_api_key(&key.hash()).await.unwrap().unwrap();
    db.store
        .set_account_status(owner.account_id, AccountStatus::Suspended, UnixTime(10))
        .await
        .unwrap();
    let r = server.get("/v1/calls", key.reveal()).await;
    assert_eq!(
        error_of(r).await,
        (StatusCode::FORBIDDEN, "Account suspended".into())
    );

    db.store
        .revoke_api_key(owner.key_id, UnixTime(2))
        .await
        .unwrap();
    let r = server.get("/v1/calls", key.reveal()).await;
    assert_eq!(
        error_of(r).await,
        (StatusCode::UNAUTHORIZED, "Invalid API key".into())
    );
});

backend_independent!(errors_are_json_everywhere, |db: TestDb| async move {
    let key = create_key(&db.store, "acme", KeyMode::Test, UnixTime(1))
        .await
        .unwrap();
    let server = TestServer::start(db.store.clone(), LiveStore::in_process()).await;

    for path in [
        "/v1/nope",
        "/v1",
        "/api/v1/unknown",
        "/no-such-file.js",
        "/",
    ] {
        let r = server.get(path, key.reveal()).await;
        assert_eq!(
            error_of(r).await,
            (StatusCode::NOT_FOUND, "Not found".into()),
            "{path}"
        );
    }
    let r = server
        .client
        .delete(server.url("/v1/calls"))
        .bearer_auth(key.reveal())
        .send()
        .await
        .unwrap();
    assert_eq!(
        error_of(r).await,
        (StatusCode::METHOD_NOT_ALLOWED, "Method not allowed".into())
    );
    let r = server
        .client
        .post(server.url("/healthz"))
        .send()
        .await
        .unwrap();
    assert_eq!(error_of(r).await.0, StatusCode::METHOD_NOT_ALLOWED);
    let r = server.get("/v1/calls?limit=0", key.reveal()).await;
    assert_eq!(
        error_of(r).await,
        (
            StatusCode::BAD_REQUEST,
            "limit must be an integer between 1 and 100".into()
        )
    );
    let r = server.get("/v1/calls?%ZZ=1", key.reveal()).await;
    assert_eq!(error_of(r).await.0, StatusCode::BAD_REQUEST);
});

both_backends!(health_and_readiness, |db: TestDb| async move {
    let server = TestServer::start(db.store.clone(), LiveStore::in_process()).await;
    let r = server
        .client
        .get(server.url("/healthz"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(r.json::<Value>().await.unwrap()["status"], "ok");
    let r = server
        .client
        .get(server.url("/readyz"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert!(r.headers().contains_key("x-request-id"));

    db.store.close().await;
    let r = server
        .client
        .get(server.url("/readyz"))
        .send()
        .await
        .unwrap();
    assert_eq!(
        error_of(r).await,
        (
            StatusCode::SERVICE_UNAVAILABLE,
            "Database unavailable".into()
        )
    );
});

/// Sends `GET {target}` as written, over a plain TCP connection (an HTTP client would
/// normalise `..` away before sending); returns the status code and the whole response.
async fn raw_get(server: &TestServer, target: &str) -> (u16, String) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut stream = tokio::net::TcpStream::connect(server.addr).await.unwrap();
    let request = format!("GET {target} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n");
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut response = Vec::new();
    stream.read_to_end(&mut response).await.unwrap();
    let response = String::from_utf8_lossy(&response).into_owned();
    let status = response
        .strip_prefix("HTTP/1.1 ")
        .and_then(|rest| rest.get(..3))
        .and_then(|code| code.parse().ok())
        .unwrap_or_else(|| panic!("no status line in {response:?}"));
    (status, response)
}

#[tokio::test]
async fn the_viewer_build_is_served_from_dist() {
    let db = TestDb::sqlite().await;
    // dist/ with a secret beside it, as a deployment's other files would be.
    let root = std::env::temp_dir().join(format!("callscope_dist_{}", std::process::id()));
    let dist = root.join("dist");
    std::fs::create_dir_all(&dist).unwrap();
    std::fs::write(
        dist.join("index.html"),
        "<!doctype html><title>viewer</title>",
    )
    .unwrap();
    std::fs::write(dist.join("app.js"), "export {}").unwrap();
    let secret = "callscope-secret-beside-dist";
    std::fs::write(root.join("secret.txt"), secret).unwrap();
    let server =
        TestServer::start_with_dist(db.store.clone(), LiveStore::in_process(), dist.clone()).await;
    let r = server.client.get(server.url("/")).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert!(r.text().await.unwrap().contains("viewer"));
    let r = server
        .client
        .get(server.url("/app.js"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);

    // The raw requests reach the file server as written: dist's own file comes back…
    let (status, response) = raw_get(&server, "/app.js").await;
    assert_eq!(status, 200, "{response}");
    assert!(response.ends_with("export {}"), "{response}");
    // …and no spelling of a way out of dist serves what lies outside it.
    for target in [
        "/../secret.txt",
        "/%2e%2e/secret.txt",
        "/%2E%2E/secret.txt",
        "/..%2fsecret.txt",
        "/%2e%2e%2fsecret.txt",
        "/..%5csecret.txt",
        "/app.js/../../secret.txt",
        "/./../secret.txt",
        "/../dist/../secret.txt",
        "/../../../../../../../../../../etc/hostname",
        "/%2e%2e/%2e%2e/%2e%2e/%2e%2e/%2e%2e/%2e%2e/%2e%2e/%2e%2e/etc/hostname",
        "/../Cargo.toml",
    ] {
        let (status, response) = raw_get(&server, target).await;
        assert_ne!(status, 200, "{target}: {response}");
        assert!(!response.contains(secret), "{target}: {response}");
    }
    std::fs::remove_dir_all(root).unwrap();
}

/// Locks `api_keys` in a transaction of its own, so every authenticated request blocks in
/// the database, holding a pool connection, until the returned connection is dropped.
async fn lock_api_keys(database_url: &str) -> sqlx::PgConnection {
    use sqlx::Connection;
    let mut conn = sqlx::PgConnection::connect(database_url).await.unwrap();
    sqlx::query("BEGIN").execute(&mut conn).await.unwrap();
    sqlx::query("LOCK TABLE api_keys IN ACCESS EXCLUSIVE MODE")
        .execute(&mut conn)
        .await
        .unwrap();
    conn
}

#[tokio::test]
async fn a_request_past_the_timeout_is_a_json_408() {
    let db = TestDb::postgres().await;
    let key = create_key(&db.store, "acme", KeyMode::Live, UnixTime(1))
        .await
        .unwrap();
    let config = Config {
        request_timeout: Duration::from_millis(500),
        ..common::config()
    };
    let server = TestServer::start_with(db.store.clone(), LiveStore::in_process(), config).await;
    let lock = lock_api_keys(&db.url).await;
    let r = server.get("/v1/calls", key.reveal()).await;
    assert_eq!(
        error_of(r).await,
        (StatusCode::REQUEST_TIMEOUT, "Request timed out".into())
    );
    drop(lock);
}

#[tokio::test]
async fn a_saturated_pool_is_a_503_with_retry_after_before_the_request_times_out() {
    // The test database's pool has 4 connections.
    let db = TestDb::postgres().await;
    let key = create_key(&db.store, "acme", KeyMode::Live, UnixTime(1))
        .await
        .unwrap();
    let server = TestServer::start(db.store.clone(), LiveStore::in_process()).await;
    let request_timeout = server.state.config.request_timeout;
    let lock = lock_api_keys(&db.url).await;
    let url = server.url("/v1/calls");
    let blocked: Vec<_> = (0..4)
        .map(|_| {
            let request = server.client.get(&url).bearer_auth(key.reveal());
            tokio::spawn(async move { request.send().await.unwrap().status() })
        })
        .collect();
    // Let the four take every connection.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let started = std::time::Instant::now();
    let r = server
        .client
        .get(&url)
        .bearer_auth(key.reveal())
        .timeout(request_timeout - Duration::from_secs(5))
        .send()
        .await
        .expect("answered well before the request timeout");
    assert!(started.elapsed() < request_timeout);
    assert_eq!(r.headers()["retry-after"], "5");
    assert_eq!(
        error_of(r).await,
        (
            StatusCode::SERVICE_UNAVAILABLE,
            "Service temporarily unavailable".into()
        )
    );
    drop(lock);
    for request in blocked {
        assert_eq!(request.await.unwrap(), StatusCode::OK);
    }
}

both_backends!(
    a_revoked_key_fails_at_once_on_every_instance,
    |db: TestDb| async move {
        let key = create_key(&db.store, "acme", KeyMode::Live, UnixTime(1))
            .await
            .unwrap();
        let other = create_key(&db.store, "acme", KeyMode::Test, UnixTime(1))
            .await
            .unwrap();
        // Two instances, each with its own pool, over one database.
        let first = TestServer::start(db.store.clone(), LiveStore::in_process()).await;
        let second_store = Store::connect(&db.url, 2).await.unwrap();
        let second = TestServer::start(second_store, LiveStore::in_process()).await;
        for server in [&first, &second] {
            assert_eq!(
                server.get("/v1/calls", key.reveal()).await.status(),
                StatusCode::OK
            );
        }

        let revoked = operator::revoke_key(&db.store, key.display_prefix(), None, UnixTime(5))
            .await
            .unwrap();
        assert!(
            matches!(&revoked, Revoked::Now(k) if k.prefix == key.display_prefix()),
            "{revoked:?}"
        );
        for server in [&first, &second] {
            let r = server.get("/v1/calls", key.reveal()).await;
            assert_eq!(
                error_of(r).await,
                (StatusCode::UNAUTHORIZED, "Invalid API key".into())
            );
            // The account's other key is untouched.
            assert_eq!(
                server.get("/v1/calls", other.reveal()).await.status(),
                StatusCode::OK
            );
        }
    }
);

both_backends!(
    authentication_records_last_use_once_a_minute,
    |db: TestDb| async move {
        let key = create_key(&db.store, "acme", KeyMode::Live, UnixTime(1))
            .await
            .unwrap();
        // A second key, never used: its last use stays empty.
        let _idle = create_key(&db.store, "acme", KeyMode::Live, UnixTime(1))
            .await
            .unwrap();
        let clock = ManualClock::new(UnixTime(1_000));
        let server = TestServer::start_app(
            Application::builder(common::config())
                .store(db.store.clone())
                .live(LiveStore::in_process())
                .clock(Arc::new(clock.clone())),
        )
        .await;
        let last_used = || async {
            let keys = operator::list_keys(&db.store, "acme").await.unwrap();
            (keys[0].last_used_at, keys[1].last_used_at)
        };
        assert_eq!(last_used().await, (None, None));
        let ok = |at: i64| {
            clock.set(UnixTime(at));
            server.get("/v1/calls", key.reveal())
        };
        assert_eq!(ok(1_000).await.status(), StatusCode::OK);
        assert_eq!(last_used().await, (Some(UnixTime(1_000)), None));
        // Within the minute: not written again.
        assert_eq!(ok(1_059).await.status(), StatusCode::OK);
        assert_eq!(last_used().await, (Some(UnixTime(1_000)), None));
        assert_eq!(ok(1_060).await.status(), StatusCode::OK);
        assert_eq!(last_used().await, (Some(UnixTime(1_060)), None));

        // A failing write is only bookkeeping: the request still succeeds.
        let refuse = match db.store.backend() {
            Backend::Sqlite => vec![
                "CREATE TRIGGER refuse_touch BEFORE UPDATE OF last_used_at ON api_keys
                 BEGIN SELECT RAISE(ABORT, 'refused'); END",
            ],
            Backend::Postgres => vec![
                "CREATE FUNCTION refuse() RETURNS trigger LANGUAGE plpgsql AS
                 $$ BEGIN RAISE EXCEPTION 'refused'; END $$",
                "CREATE TRIGGER refuse_touch BEFORE UPDATE OF last_used_at ON api_keys
                 FOR EACH ROW EXECUTE FUNCTION refuse()",
            ],
        };
        let mut conn = sqlx::AnyConnection::connect(&db.url).await.unwrap();
        for sql in refuse {
            sqlx::raw_sql(sql).execute(&mut conn).await.unwrap();
        }
        assert_eq!(ok(2_000).await.status(), StatusCode::OK);
        assert_eq!(last_used().await, (Some(UnixTime(1_060)), None));
    }
);
