//! SQLite's file held by another writer past the busy timeout (another process, a long
//! backup, a starved writer on a loaded machine): the write is answered 503 JSON with
//! `Retry-After`, never a 500, and changes nothing; once the lock is released its retry
//! goes through.

use std::str::FromStr;

use callscope_server::application::Application;
use callscope_server::clock::UnixTime;
use callscope_server::live::LiveStore;
use reqwest::StatusCode;
use serde_json::json;
use sqlx::sqlite::SqliteConnectOptions;
use sqlx::{ConnectOptions, Connection};

use super::load::TOKEN;
use super::support::show_server_errors;
use crate::common::{self, TestDb, TestServer, fixtures, status_and_json};

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
    let acme = db.store.ensure_account("acme", UnixTime(1)).await.unwrap();
    let agent = fixtures::agent(&db.store, acme, 0x0fa0_0010).await;
    let post = async |path: &str, body: serde_json::Value| {
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
    };
    let (status, _, call) = post(
        "/pipeline/v1/calls",
        json!({"agent_id": agent.public_id.to_string(), "from_number": "+31612345678",
               "to_number": "+31850012345", "status": "in-progress"}),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{call}");
    let id = call["call_id"].as_str().unwrap().to_owned();
    let end = format!("/pipeline/v1/calls/{id}/end");

    // Another connection, as another process would, takes the write lock and keeps it.
    let mut other = SqliteConnectOptions::from_str(&db.url)
        .unwrap()
        .connect()
        .await
        .unwrap();
    sqlx::query("BEGIN IMMEDIATE")
        .execute(&mut other)
        .await
        .unwrap();

    let (status, retry_after, body) = post(&end, json!({"ended_reason": "caller-hangup"})).await;
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

    let (status, _, ended) = post(&end, json!({"ended_reason": "caller-hangup"})).await;
    assert_eq!(status, StatusCode::OK, "{ended}");
    assert_eq!(ended["status"], "completed");
    assert_eq!(ended["ended_reason"], "caller-hangup");
}
