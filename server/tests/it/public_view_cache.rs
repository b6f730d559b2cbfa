//! The public view's cache (`debug_link::view_cache`) over real HTTP, on both backends: a
//! change of the call is shown on the very next request to this instance, a revocation
//! ends the link on the very next request, another instance (its own store, no Redis)
//! shows a change within the cache's `MAX_AGE`, and every request counts as a view.

use crate::common::{self, TestDb, TestServer, fixtures};

use std::time::{Duration, Instant};

use callscope_server::auth::{KeyMode, create_key};
use callscope_server::clock::UnixTime;
use callscope_server::debug_link::view_cache::MAX_AGE;
use callscope_server::live::LiveStore;
use callscope_server::storage::Store;
use callscope_shared::CallId;
use reqwest::StatusCode;
use serde_json::{Value, json};

const TOKEN: &str = "pipeline-token-0123456789";

/// An account with an agent, and an instance with the pipeline API on.
struct W {
    server: TestServer,
    key: String,
    agent: String,
}

async fn world(store: &Store) -> W {
    let key = create_key(store, "acme", KeyMode::Live, UnixTime(1))
        .await
        .unwrap();
    let acme = store.account_id("acme").await.unwrap().unwrap();
    let agent = fixtures::agent(store, acme, 0x28c5_1f81).await;
    W {
        server: instance(store.clone()).await,
        key: key.reveal().to_owned(),
        agent: agent.public_id.to_string(),
    }
}

async fn instance(store: Store) -> TestServer {
    let mut config = common::config();
    config.pipeline_tokens = TOKEN.parse().unwrap();
    config.debug_miss_limit = 1000;
    TestServer::start_with(store, LiveStore::in_process(), config).await
}

async fn pipeline(server: &TestServer, path: &str, body: Value) -> Value {
    let r = server
        .client
        .post(server.url(&format!("/pipeline/v1{path}")))
        .bearer_auth(TOKEN)
        .json(&body)
        .send()
        .await
        .unwrap();
    let (status, body) = common::status_and_json(r).await;
    assert!(status.is_success(), "{path}: {status} {body}");
    body
}

async fn public(server: &TestServer, token: &str) -> (StatusCode, Value) {
    let r = server
        .client
        .get(server.url(&format!("/api/v1/call-debug/{token}")))
        .send()
        .await
        .unwrap();
    common::status_and_json(r).await
}

fn entry(seq: u32) -> Value {
    let role = if seq % 2 == 1 { "assistant" } else { "user" };
    json!({"seq": seq, "role": role, "content": format!("entry {seq}"),
           "timestamp": f64::from(seq)})
}

/// A live call with `entries` entries and its link's token.
async fn live_call(w: &W, entries: u32) -> (CallId, String) {
    let call = pipeline(
        &w.server,
        "/calls",
        json!({"agent_id": w.agent, "from_number": "+31612345678",
               "to_number": "+31850012345", "status": "in-progress"}),
    )
    .await;
    let call: CallId = call["call_id"].as_str().unwrap().parse().unwrap();
    let turns: Vec<Value> = (1..=entries).map(entry).collect();
    pipeline(
        &w.server,
        &format!("/calls/{call}/turns"),
        json!({ "turns": turns }),
    )
    .await;
    let (status, link) = common::status_and_json(
        w.server
            .get(&format!("/v1/calls/{call}/debug-link"), &w.key)
            .await,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{link}");
    (call, link["debug_token"].as_str().unwrap().to_owned())
}

fn contents(view: &Value) -> Vec<String> {
    view["turns"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["content"].as_str().unwrap().to_owned())
        .collect()
}

both_backends!(
    every_change_shows_on_the_next_request,
    |db: TestDb| async move {
        let w = world(&db.store).await;
        let (call, token) = live_call(&w, 2).await;
        for seq in 3..=12 {
            let (status, before) = public(&w.server, &token).await;
            assert_eq!(status, StatusCode::OK, "{before}");
            assert_eq!(contents(&before).len() as u32, seq - 1);
            // The view just served is what the next request would reuse.
            assert!(!db.store.changes().views().is_empty());
            pipeline(
                &w.server,
                &format!("/calls/{call}/turns"),
                json!({"turns": [entry(seq)]}),
            )
            .await;
            let (_, after) = public(&w.server, &token).await;
            assert_eq!(
                contents(&after).last().map(String::as_str),
                Some(format!("entry {seq}").as_str()),
                "the entry acknowledged a moment ago is shown"
            );
        }
        let (_, live) = public(&w.server, &token).await;
        assert_eq!(live["status"], "in-progress");
        pipeline(
            &w.server,
            &format!("/calls/{call}/end"),
            json!({"ended_reason": "caller-hangup"}),
        )
        .await;
        let (_, ended) = public(&w.server, &token).await;
        assert_eq!(ended["status"], "completed");
        assert_eq!(ended["ended_reason"], "caller-hangup");

        let revoked = w
            .server
            .client
            .post(w.server.url(&format!("/v1/calls/{call}/debug-link/revoke")))
            .bearer_auth(&w.key)
            .send()
            .await
            .unwrap();
        assert!(revoked.status().is_success());
        let (status, body) = public(&w.server, &token).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{body}");
    }
);

both_backends!(
    another_instance_shows_a_change_within_max_age,
    |db: TestDb| async move {
        let w = world(&db.store).await;
        let (call, token) = live_call(&w, 2).await;
        // Another instance: its own connections and cache, no Redis to hear changes from.
        let other_store = Store::connect(&db.url, 4).await.unwrap();
        let other = instance(other_store.clone()).await;
        let (_, before) = public(&other, &token).await;
        assert_eq!(contents(&before).len(), 2);

        pipeline(
            &w.server,
            &format!("/calls/{call}/turns"),
            json!({"turns": [entry(3)]}),
        )
        .await;
        let written = Instant::now();
        // MAX_AGE bounds how long the other instance can show the call as it was; on a
        // loaded machine the requests themselves take time, hence the margin.
        let deadline = written + MAX_AGE + Duration::from_secs(5);
        loop {
            let (_, view) = public(&other, &token).await;
            if contents(&view).len() == 3 {
                break;
            }
            assert!(Instant::now() < deadline, "never shown: {view}");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        // Revocation on one instance ends the link on the other at once: the link is looked
        // up on every request, only what it shows is reused.
        let (_, cached) = public(&other, &token).await;
        assert_eq!(contents(&cached).len(), 3);
        db.store
            .revoke_debug_link(call, UnixTime(1_800_000_000))
            .await
            .unwrap();
        let (status, _) = public(&other, &token).await;
        assert_eq!(status, StatusCode::NOT_FOUND);
        other_store.close().await;
    }
);

both_backends!(
    views_served_from_the_cache_are_counted,
    |db: TestDb| async move {
        let w = world(&db.store).await;
        let (call, token) = live_call(&w, 4).await;
        for _ in 0..7 {
            assert_eq!(public(&w.server, &token).await.0, StatusCode::OK);
        }
        w.server.state.debug.recorder.flush().await;
        let link = db.store.live_debug_link(call).await.unwrap().unwrap();
        assert_eq!(link.view_count, 7);
    }
);
