//! PostgreSQL stopped and started again while the server is under load: requests are
//! answered 503 JSON with `Retry-After` (never a 500, never a hang), `/readyz` says 503,
//! and once PostgreSQL is back the same server process serves again, with every write it
//! acknowledged stored.

use std::time::Duration;

use callscope_server::application::Application;
use callscope_server::auth::{KeyMode, create_key};
use callscope_server::clock::UnixTime;
use reqwest::StatusCode;

use super::load::{Load, TOKEN};
use super::support::{PrivatePostgres, show_server_errors, wait_until};
use crate::common::{self, TestServer, fixtures, status_and_json};

const LIMIT: Duration = Duration::from_secs(180);

/// `/readyz`'s status, and `Retry-After` and the error when it is not ready.
async fn readyz(server: &TestServer) -> (StatusCode, Option<String>, serde_json::Value) {
    let r = server
        .client
        .get(server.url("/readyz"))
        .send()
        .await
        .unwrap();
    let retry_after = r
        .headers()
        .get("retry-after")
        .map(|v| v.to_str().unwrap().to_owned());
    let (status, body) = status_and_json(r).await;
    (status, retry_after, body)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn postgres_stopped_under_load_is_503_then_recovers_losing_nothing() {
    show_server_errors();
    let pg = PrivatePostgres::start().await;
    let mut config = common::config();
    config.database_url = pg.url();
    config.db_max_connections = 5;
    config.pipeline_tokens = TOKEN.parse().unwrap();
    // No store given: the application connects and migrates as `serve` does.
    let server = TestServer::start_app(Application::builder(config)).await;
    let store = server.state.store.clone();
    let key = create_key(&store, "acme", KeyMode::Live, UnixTime(1))
        .await
        .unwrap();
    let acme = store.account_id("acme").await.unwrap().unwrap();
    let agent = fixtures::agent(&store, acme, 0x0fa0_0001).await;

    let load = Load::new(&server.url(""), key.reveal(), &agent.public_id.to_string());
    let tasks = load.spawn(4, 2);
    assert!(
        wait_until(LIMIT, async || load.acks() >= 40).await,
        "no traffic before the outage: {:?}",
        load.unexpected_answers()
    );

    pg.stop().await;
    let (status, retry_after, body) = readyz(&server).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{body}");
    assert_eq!(body["error"], "Database unavailable");
    assert_eq!(retry_after.as_deref(), Some("5"));
    let before = load.unavailable();
    assert!(
        wait_until(LIMIT, async || load.unavailable() >= before + 20).await,
        "requests during the outage were not answered 503: {:?}",
        load.unexpected_answers()
    );

    pg.start_again().await;
    assert!(
        wait_until(LIMIT, async || readyz(&server).await.0 == StatusCode::OK).await,
        "/readyz did not recover"
    );
    let after = load.acks();
    assert!(
        wait_until(LIMIT, async || load.acks() >= after + 40).await,
        "writes did not recover: {:?}",
        load.unexpected_answers()
    );
    load.stop_and_drain(tasks).await;

    assert_eq!(load.unexpected_answers(), Vec::<String>::new());
    assert_eq!(load.transport(), 0, "the server never stopped answering");
    let calls = load.verify(true).await;
    assert!(calls >= 10, "only {calls} calls");
}
