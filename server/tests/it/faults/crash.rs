//! `kill -9` of the real `callscope serve` process, during ingestion and during webhook
//! delivery, then a restart on the same database: nothing acknowledged is lost, retries
//! store nothing twice, every event is delivered, and an event reaches its receiver twice
//! only when an attempt of it is recorded `interrupted` (README, "Durability").

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::http::{HeaderMap, StatusCode as AxumStatus};
use callscope_server::auth::{KeyMode, create_key};
use callscope_server::clock::UnixTime;
use callscope_server::secrets::ServerKey;
use callscope_shared::CallId;
use reqwest::StatusCode;
use serde_json::{Value, json};
use tokio::sync::Notify;

use super::load::{Load, TOKEN};
use super::support::{ServerProcess, wait_until};
use crate::common::{self, TempDir, TestDb, fixtures};

const LIMIT: Duration = Duration::from_secs(180);

/// The account, agent and server flags of a crash test.
struct World {
    key: String,
    agent: String,
    args: Vec<String>,
    dir: TempDir,
}

impl World {
    async fn new(db: &TestDb, bits: u32, extra: &[&str]) -> World {
        let key = create_key(&db.store, "acme", KeyMode::Live, UnixTime(1))
            .await
            .unwrap();
        let acme = db.store.account_id("acme").await.unwrap().unwrap();
        let agent = fixtures::agent(&db.store, acme, bits).await;
        let mut args: Vec<String> = vec![
            "--pipeline-token".into(),
            TOKEN.into(),
            "--link-key".into(),
            ServerKey::generate().to_base64(),
        ];
        args.extend(extra.iter().map(|a| a.to_string()));
        World {
            key: key.reveal().to_owned(),
            agent: agent.public_id.to_string(),
            args,
            dir: TempDir::new(),
        }
    }

    fn log(&self) -> std::path::PathBuf {
        self.dir.0.join("server.log")
    }

    async fn serve(&self, db: &TestDb) -> ServerProcess {
        ServerProcess::start(&db.url, &self.args, &self.log()).await
    }
}

fn server_log(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_default()
}

both_backends!(
    kill_9_during_ingestion_loses_nothing_acknowledged,
    |db: TestDb| async move {
        let w = World::new(&db, 0x0fa0_0003, &[]).await;
        let mut server = w.serve(&db).await;
        let load = Load::new(&server.base, &w.key, &w.agent);
        let tasks = load.spawn(4, 1);
        for _ in 0..2 {
            let target = load.acks() + 30;
            assert!(
                wait_until(LIMIT, async || load.acks() >= target).await,
                "no progress: {:?}\n{}",
                load.unexpected_answers(),
                server_log(&w.log())
            );
            server.kill9();
            tokio::time::sleep(Duration::from_millis(300)).await;
            server = w.serve(&db).await;
            load.set_base(&server.base);
        }
        let target = load.acks() + 30;
        assert!(
            wait_until(LIMIT, async || load.acks() >= target).await,
            "no progress after the restart: {:?}",
            load.unexpected_answers()
        );
        load.stop_and_drain(tasks).await;
        assert_eq!(load.unexpected_answers(), Vec::<String>::new());
        load.verify(true).await;
    }
);

/// A webhook receiver on loopback that counts each `webhook-id` it receives and answers
/// 200, except the first request, which it holds unanswered (so the server can be killed
/// while that attempt is in flight).
#[derive(Clone, Default)]
struct Receiver {
    seen: Arc<Mutex<HashMap<String, u32>>>,
    held: Arc<AtomicBool>,
    holding: Arc<Notify>,
}

impl Receiver {
    async fn start() -> (Receiver, SocketAddr) {
        let me = Receiver::default();
        let state = me.clone();
        let app = axum::Router::new().route(
            "/hook",
            axum::routing::post(move |headers: HeaderMap| {
                let state = state.clone();
                async move { state.receive(&headers).await }
            }),
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        (me, addr)
    }

    async fn receive(&self, headers: &HeaderMap) -> AxumStatus {
        let id = headers
            .get("webhook-id")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("?")
            .to_owned();
        *self.seen.lock().unwrap().entry(id).or_default() += 1;
        if !self.held.swap(true, Ordering::SeqCst) {
            self.holding.notify_one();
            tokio::time::sleep(Duration::from_secs(120)).await;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
        AxumStatus::OK
    }

    fn seen(&self, event_id: &str) -> u32 {
        self.seen
            .lock()
            .unwrap()
            .get(event_id)
            .copied()
            .unwrap_or(0)
    }
}

/// A call's events (id, name) and its delivery records.
type History = (Vec<(String, String)>, Vec<Value>);

/// One event's delivery records: (successes, interrupted attempts, other failures).
fn tally(deliveries: &[Value], event_id: &str) -> (u32, u32, u32) {
    let mut t = (0, 0, 0);
    for d in deliveries.iter().filter(|d| d["event_id"] == event_id) {
        if d["success"] == true {
            t.0 += 1;
        } else if d["error"] == "interrupted" {
            t.1 += 1;
        } else {
            t.2 += 1;
        }
    }
    t
}

both_backends!(
    kill_9_during_delivery_delivers_every_event_twice_only_when_interrupted,
    |db: TestDb| async move {
        let (receiver, addr) = Receiver::start().await;
        // A 5 s attempt timeout: a claim's lease is 35 s, after which an interrupted
        // attempt's job falls due again.
        let w = World::new(
            &db,
            0x0fa0_0004,
            &["--webhook-allow-private", "--webhook-timeout", "5"],
        )
        .await;
        let mut server = w.serve(&db).await;
        let client = reqwest::Client::new();
        let created = client
            .post(format!("{}/v1/webhooks", server.base))
            .bearer_auth(&w.key)
            .json(&json!({"url": format!("http://{addr}/hook")}))
            .send()
            .await
            .unwrap();
        let (status, endpoint) = common::status_and_json(created).await;
        assert_eq!(status, StatusCode::CREATED, "{endpoint}");

        let load = Load::new(&server.base, &w.key, &w.agent);
        let tasks = load.spawn(3, 0);
        // The first delivery is held by the receiver: kill the server while it is in flight
        // (others are in flight or queued too).
        tokio::time::timeout(LIMIT, receiver.holding.notified())
            .await
            .unwrap_or_else(|_| panic!("no delivery arrived\n{}", server_log(&w.log())));
        server.kill9();
        tokio::time::sleep(Duration::from_millis(300)).await;
        server = w.serve(&db).await;
        load.set_base(&server.base);
        let target = load.acks() + 30;
        assert!(
            wait_until(LIMIT, async || load.acks() >= target).await,
            "no progress after the restart: {:?}",
            load.unexpected_answers()
        );
        load.stop_and_drain(tasks).await;
        assert_eq!(load.unexpected_answers(), Vec::<String>::new());
        load.verify(true).await;

        // Every event of every call is delivered (recorded as a success), within the
        // lease and a margin.
        let calls: Vec<String> = load
            .ledger
            .lock()
            .unwrap()
            .values()
            .map(|a| a.call_id.clone().unwrap())
            .collect();
        let mut histories: HashMap<String, History> = HashMap::new();
        for id in &calls {
            let call: CallId = id.parse().unwrap();
            let events = db.store.call_events(call).await.unwrap();
            assert_eq!(events.len(), 2, "call.started and call.ended of {id}");
            let mut deliveries = Vec::new();
            let delivered = wait_until(LIMIT, async || {
                let (status, body) = load.get(&format!("/v1/calls/{id}/webhooks")).await;
                assert_eq!(status, StatusCode::OK, "{body}");
                deliveries = body["deliveries"].as_array().unwrap().clone();
                events.iter().all(|(e, _)| tally(&deliveries, e).0 >= 1)
            })
            .await;
            assert!(
                delivered,
                "{id}: not every event delivered: {deliveries:#?}"
            );
            histories.insert(id.clone(), (events, deliveries));
        }

        let mut interrupted_seen_twice = 0;
        for (id, (events, deliveries)) in &histories {
            for (event_id, event) in events {
                let (ok, interrupted, failed) = tally(deliveries, event_id);
                let seen = receiver.seen(event_id);
                let context = format!("{id} {event} {event_id}: {deliveries:#?}");
                assert_eq!(ok, 1, "delivered once: {context}");
                assert_eq!(failed, 0, "the receiver never refused: {context}");
                assert!(seen >= 1, "the receiver got it: {context}");
                assert!(
                    seen <= ok + interrupted,
                    "received {seen} times: more than its attempts recorded {context}"
                );
                if seen > 1 {
                    interrupted_seen_twice += 1;
                }
            }
        }
        // The held attempt was interrupted by the kill and made again after its lease.
        assert!(
            interrupted_seen_twice >= 1,
            "the held delivery was not retried as interrupted"
        );
    }
);
