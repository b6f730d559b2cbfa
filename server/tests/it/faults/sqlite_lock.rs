//! SQLite's one write lock. Held by another writer past the busy timeout (another process,
//! a long backup): the write is answered 503 JSON with `Retry-After`, never a 500, and
//! changes nothing; once the lock is released its retry goes through. And a request that
//! waits on the live store does not hold it (a stalled Redis once made every other writer
//! fail that way).

use std::str::FromStr;

use callscope_server::application::Application;
use callscope_server::clock::UnixTime;
use callscope_server::live::LiveStore;
use reqwest::StatusCode;
use serde_json::json;
use sqlx::sqlite::SqliteConnectOptions;
use sqlx::{ConnectOptions, Connection};

use super::load::TOKEN;
use super::support::{PrivateRedis, show_server_errors};
use crate::common::{self, TestDb, TestServer, fixtures, status_and_json};

/// The pipeline API's `POST`, with its status, `Retry-After` and JSON body.
async fn post(
    server: &TestServer,
    path: &str,
    body: serde_json::Value,
) -> (
    StatusCode,
    Option<reqwest::header::HeaderValue>,
    serde_json::Value,
) {
    let r = server
        .client
        .post(server.url(path))
        .bearer_auth(TOKEN)
        .json(&body)
        .send()
        .await
        .unwrap();
    let retry_after = r.headers().get("retry-after").cloned();
    let (status, body) = status_and_json(r).await;
    (status, retry_after, body)
}

/// A live call of a new agent of account `acme`: its id.
async fn live_call(db: &TestDb, server: &TestServer) -> String {
    let acme = db.store.ensure_account("acme", UnixTime(1)).await.unwrap();
    let agent = fixtures::agent(&db.store, acme, 0x0fa0_0010).await;
    let (status, _, call) = post(
        server,
        "/pipeline/v1/calls",
        json!({"agent_id": agent.public_id.to_string(), "from_number": "+31612345678",
               "to_number": "+31850012345", "status": "in-progress"}),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{call}");
    call["call_id"].as_str().unwrap().to_owned()
}

/// A connection of its own to the test's SQLite file that does not wait for locks.
async fn other_connection(db: &TestDb) -> sqlx::SqliteConnection {
    SqliteConnectOptions::from_str(&db.url)
        .unwrap()
        .busy_timeout(std::time::Duration::ZERO)
        .connect()
        .await
        .unwrap()
}

#[tokio::test]
async fn a_write_that_cannot_lock_sqlite_is_503_and_changes_nothing() {
    show_server_errors();
    let db = TestDb::sqlite().await;
    let mut config = common::config();
    config.pipeline_tokens = TOKEN.parse().unwrap();
    let server = TestServer::start_app(
        Application::builder(config)
            .store(db.store.clone())
            .live(LiveStore::in_process()),
    )
    .await;
    let id = live_call(&db, &server).await;
    let end = format!("/pipeline/v1/calls/{id}/end");

    // Another connection, as another process would, takes the write lock and keeps it.
    let mut other = other_connection(&db).await;
    sqlx::query("BEGIN IMMEDIATE")
        .execute(&mut other)
        .await
        .unwrap();

    let (status, retry_after, body) =
        post(&server, &end, json!({"ended_reason": "caller-hangup"})).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{body}");
    assert!(retry_after.is_some(), "503 without Retry-After");
    assert!(body["error"].is_string(), "{body}");

    sqlx::query("ROLLBACK").execute(&mut other).await.unwrap();
    other.close().await.unwrap();
    // Answering an answered call changes nothing and shows the call as stored.
    let answer = server
        .client
        .post(server.url(&format!("/pipeline/v1/calls/{id}/answer")))
        .bearer_auth(TOKEN)
        .send()
        .await
        .unwrap();
    let (status, detail) = status_and_json(answer).await;
    assert_eq!(
        (status, &detail["status"]),
        (StatusCode::OK, &json!("in-progress")),
        "the refused end changed the call: {detail}"
    );

    let (status, _, ended) = post(&server, &end, json!({"ended_reason": "caller-hangup"})).await;
    assert_eq!(status, StatusCode::OK, "{ended}");
    assert_eq!(ended["status"], "completed");
    assert_eq!(ended["ended_reason"], "caller-hangup");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_request_waiting_on_a_stalled_redis_does_not_hold_the_write_lock() {
    show_server_errors();
    let db = TestDb::sqlite().await;
    let redis = PrivateRedis::start().await;
    let mut config = common::config();
    config.pipeline_tokens = TOKEN.parse().unwrap();
    config.redis_url = Some(redis.url());
    let server = TestServer::start_app(Application::builder(config).store(db.store.clone())).await;
    let id = live_call(&db, &server).await;
    let end = format!("/pipeline/v1/calls/{id}/end");
    let (status, _, body) = post(&server, &end, json!({"ended_reason": "caller-hangup"})).await;
    assert_eq!(status, StatusCode::OK, "{body}");

    // Ending it again reads the call under its lock, then removes the live entry: with
    // Redis stalled that wait lasts the live store's 2 s cap.
    redis.pause(true);
    let probe = async {
        tokio::time::sleep(std::time::Duration::from_millis(700)).await;
        let mut other = other_connection(&db).await;
        let locked = sqlx::query("BEGIN IMMEDIATE").execute(&mut other).await;
        if locked.is_ok() {
            sqlx::query("ROLLBACK").execute(&mut other).await.unwrap();
        }
        locked
    };
    let ((status, _, body), locked) = tokio::join!(
        post(&server, &end, json!({"ended_reason": "caller-hangup"})),
        probe
    );
    assert!(
        locked.is_ok(),
        "a request waiting on Redis holds SQLite's write lock: {locked:?}"
    );
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{body}");
    redis.pause(false);
    let (status, _, body) = post(&server, &end, json!({"ended_reason": "caller-hangup"})).await;
    assert_eq!(
        (status, &body["status"]),
        (StatusCode::OK, &json!("completed")),
        "{body}"
    );
}
