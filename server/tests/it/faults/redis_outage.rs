//! Redis killed while the server is under load, then started again (empty, as after a
//! crash without persistence): `/readyz` says 503; what needs only the database goes on;
//! what needs the live store is 503 JSON with `Retry-After`, never a 500; the debug
//! links' miss limit counts in process; once Redis is back the same process recovers and
//! nothing acknowledged is lost.

use std::time::Duration;

use callscope_server::application::Application;
use callscope_server::auth::{KeyMode, create_key};
use callscope_server::clock::UnixTime;
use reqwest::StatusCode;
use serde_json::json;

use super::load::{Load, TOKEN};
use super::support::{PrivateRedis, show_server_errors, wait_until};
use crate::common::{self, TestDb, TestServer, fixtures, status_and_json};

const LIMIT: Duration = Duration::from_secs(180);

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn redis_killed_under_load_is_503_where_needed_then_recovers() {
    show_server_errors();
    let db = TestDb::sqlite().await;
    let mut redis = PrivateRedis::start().await;
    let mut config = common::config();
    config.redis_url = Some(redis.url());
    config.pipeline_tokens = TOKEN.parse().unwrap();
    config.debug_miss_limit = 5;
    // The miss probe below comes "through a proxy" as a client of its own, so its misses
    // do not refuse the load's reader (also on loopback) its views.
    config.trusted_proxies = "127.0.0.1".parse().unwrap();
    // No live store given: the application connects to Redis as `serve` does.
    let server = TestServer::start_app(Application::builder(config).store(db.store.clone())).await;
    let store = &db.store;
    let key = create_key(store, "acme", KeyMode::Live, UnixTime(1))
        .await
        .unwrap();
    let key = key.reveal().to_owned();
    let acme = store.account_id("acme").await.unwrap().unwrap();
    let agent = fixtures::agent(store, acme, 0x0fa0_0002).await;
    // The test's own call goes to another agent: the load counts its agent's calls.
    let probe_agent = fixtures::agent(store, acme, 0x0fa0_0005).await;
    let client = &server.client;
    let pipeline = async |path: &str, body: serde_json::Value| {
        status_and_json(
            client
                .post(server.url(path))
                .bearer_auth(TOKEN)
                .json(&body)
                .send()
                .await
                .unwrap(),
        )
        .await
    };
    let retry_after = |r: &reqwest::Response| r.headers().get("retry-after").cloned();

    // A call live before the outage, with a debug link.
    let (status, call) = pipeline(
        "/pipeline/v1/calls",
        json!({"agent_id": probe_agent.public_id.to_string(), "from_number": "+31612345678",
               "to_number": "+31850012345", "call_control_id": "v3:redis-outage",
               "status": "in-progress"}),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{call}");
    let id = call["call_id"].as_str().unwrap().to_owned();
    let (status, link) = status_and_json(
        server
            .get(&format!("/v1/calls/{id}/debug-link"), &key)
            .await,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{link}");
    let view = server.url(link["url"].as_str().unwrap());

    let load = Load::new(&server.url(""), &key, &agent.public_id.to_string());
    let tasks = load.spawn(2, 1);
    assert!(
        wait_until(LIMIT, async || load.acks() >= 20).await,
        "no traffic before the outage"
    );

    redis.kill();

    let r = client.get(server.url("/readyz")).send().await.unwrap();
    let after = retry_after(&r);
    let (status, body) = status_and_json(r).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{body}");
    assert_eq!(after.as_ref().map(|v| v.to_str().unwrap()), Some("5"));
    assert_eq!(body["error"], "Live call store unavailable");

    // What reads only the database is served.
    for path in ["/v1/calls?limit=5".to_owned(), format!("/v1/calls/{id}")] {
        let (status, body) = status_and_json(server.get(&path, &key).await).await;
        assert_eq!(status, StatusCode::OK, "{path}: {body}");
    }
    let (status, body) = status_and_json(client.get(&view).send().await.unwrap()).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["status"], "in-progress");

    // The live state is unreachable: 503 with Retry-After.
    let r = server.get(&format!("/v1/calls/{id}/status"), &key).await;
    let after = retry_after(&r);
    let (status, body) = status_and_json(r).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{body}");
    assert!(after.is_some());
    assert!(body["error"].is_string());

    // Turns touch only the database: stored. A write that changes the live state (a new
    // call, an end) is committed but answered 503, and its retry (idempotent) once Redis
    // is back writes the live state (the writers below retry through the outage).
    let turns = format!("/pipeline/v1/calls/{id}/turns");
    let batch =
        json!({"turns": [{"seq": 1, "role": "assistant", "content": "Hello", "timestamp": 0.0}]});
    let (status, body) = pipeline(&turns, batch.clone()).await;
    assert_eq!(
        (status, &body["added"]),
        (StatusCode::OK, &json!(1)),
        "{body}"
    );
    let (_, detail) = status_and_json(server.get(&format!("/v1/calls/{id}"), &key).await).await;
    assert_eq!(detail["turn_count"], 1, "the turn was stored: {detail}");

    // The miss limit still holds, counted in this process: 404s up to the limit, then 429.
    let miss = server.url("/api/v1/call-debug/AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA");
    let mut statuses = Vec::new();
    for _ in 0..7 {
        let r = client.get(&miss).header("x-forwarded-for", "203.0.113.7");
        statuses.push(r.send().await.unwrap().status().as_u16());
    }
    assert_eq!(statuses, [404, 404, 404, 404, 404, 429, 429]);

    let before = load.unavailable();
    assert!(
        wait_until(LIMIT, async || load.unavailable() >= before + 10).await,
        "pipeline writes during the outage were not answered 503: {:?}",
        load.unexpected_answers()
    );

    redis.start_again().await;
    assert!(
        wait_until(LIMIT, async || {
            client
                .get(server.url("/readyz"))
                .send()
                .await
                .unwrap()
                .status()
                == StatusCode::OK
        })
        .await,
        "/readyz did not recover"
    );
    let (status, body) = pipeline(&turns, batch).await;
    assert_eq!(
        (status, &body["repeated"]),
        (StatusCode::OK, &json!(1)),
        "{body}"
    );
    let (status, body) =
        status_and_json(server.get(&format!("/v1/calls/{id}/status"), &key).await).await;
    assert_eq!(
        (status, &body["status"]),
        (StatusCode::OK, &json!("in-progress")),
        "{body}"
    );
    let after = load.acks();
    assert!(
        wait_until(LIMIT, async || load.acks() >= after + 20).await,
        "writes did not recover: {:?}",
        load.unexpected_answers()
    );
    load.stop_and_drain(tasks).await;

    assert_eq!(load.unexpected_answers(), Vec::<String>::new());
    assert_eq!(load.transport(), 0);
    load.verify(true).await;
}
