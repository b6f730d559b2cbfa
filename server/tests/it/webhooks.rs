//! Webhooks end to end, on both backends: endpoints over the API, events queued with the
//! calls that cause them, and the dispatcher delivering them over real HTTP to a receiver on
//! 127.0.0.1 that can fail, hang, drop the connection or answer 410. Signatures are checked
//! with the `standardwebhooks` crate, an implementation independent of ours.

use crate::common;

use std::collections::{HashMap, VecDeque};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use callscope_server::auth::{KeyMode, create_key};
use callscope_server::clock::{self, UnixTime};
use callscope_server::config::Config;
use callscope_server::ids::{AccountId, AgentRowId};
use callscope_server::live::LiveStore;
use callscope_server::secrets::{Keys, ServerKey};
use callscope_server::storage::{JobState, Store};
use callscope_server::webhooks::dispatcher::delivery_error;
use callscope_server::webhooks::{Clock, DispatchConfig, Dispatcher, ManualClock, SystemClock};
use callscope_shared::{CallId, CallStatus};
use common::{TestDb, TestServer, fixtures};
use reqwest::StatusCode;
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

// ---------------------------------------------------------------------------------------
// A webhook receiver: plain HTTP/1.1 over TCP, one request per connection, scripted.

#[derive(Debug, Clone)]
enum Answer {
    Status(u16),
    StatusWith(u16, &'static str, String),
    /// Never answer (until the connection is dropped by the client).
    Hang,
    /// Close the connection after reading the request, without a response.
    Drop,
}

#[derive(Debug, Clone)]
struct Received {
    headers: reqwest::header::HeaderMap,
    body: Vec<u8>,
}

#[derive(Clone, Default)]
struct Receiver {
    script: Arc<Mutex<VecDeque<Answer>>>,
    received: Arc<Mutex<Vec<Received>>>,
    addr: Option<SocketAddr>,
}

impl Receiver {
    /// Answers with `script` in order, then 200 for ever.
    async fn start(script: Vec<Answer>) -> Receiver {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let mut me = Receiver {
            script: Arc::new(Mutex::new(script.into())),
            ..Receiver::default()
        };
        me.addr = Some(listener.local_addr().unwrap());
        let state = me.clone();
        tokio::spawn(async move {
            loop {
                let Ok((socket, _)) = listener.accept().await else {
                    return;
                };
                let state = state.clone();
                tokio::spawn(async move { state.serve(socket).await });
            }
        });
        me
    }

    fn url(&self) -> String {
        format!("http://{}/hook", self.addr.unwrap())
    }

    fn received(&self) -> Vec<Received> {
        self.received.lock().unwrap().clone()
    }

    async fn serve(&self, mut socket: tokio::net::TcpStream) {
        let mut buf = Vec::new();
        let mut chunk = [0u8; 8192];
        let head_end = loop {
            let Ok(n) = socket.read(&mut chunk).await else {
                return;
            };
            if n == 0 {
                return;
            }
            buf.extend_from_slice(&chunk[..n]);
            if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                break i + 4;
            }
        };
        let head = String::from_utf8_lossy(&buf[..head_end]).to_string();
        let mut headers = reqwest::header::HeaderMap::new();
        for line in head.split("\r\n").skip(1).filter(|l| !l.is_empty()) {
            let (name, value) = line.split_once(':').unwrap();
            headers.append(
                reqwest::header::HeaderName::from_bytes(name.trim().as_bytes()).unwrap(),
                value.trim().parse().unwrap(),
            );
        }
        let length: usize = headers
            .get("content-length")
            .map(|v| v.to_str().unwrap().parse().unwrap())
            .unwrap_or(0);
        while buf.len() < head_end + length {
            let Ok(n) = socket.read(&mut chunk).await else {
                return;
            };
            if n == 0 {
                return;
            }
            buf.extend_from_slice(&chunk[..n]);
        }
        let body = buf[head_end..head_end + length].to_vec();
        self.received
            .lock()
            .unwrap()
            .push(Received { headers, body });
        let answer = self
            .script
            .lock()
            .unwrap()
            .pop_front()
            .unwrap_or(Answer::Status(200));
        let reply = |code: u16, extra: String| {
            format!("HTTP/1.1 {code} X\r\ncontent-length: 2\r\nconnection: close\r\n{extra}\r\nok")
        };
        match answer {
            Answer::Status(code) => {
                let _ = socket
                    .write_all(reply(code, String::new()).as_bytes())
                    .await;
            }
            Answer::StatusWith(code, name, value) => {
                let _ = socket
                    .write_all(reply(code, format!("{name}: {value}\r\n")).as_bytes())
                    .await;
            }
            Answer::Hang => {
                let _ = socket.read(&mut chunk).await;
            }
            Answer::Drop => {}
        }
        let _ = socket.shutdown().await;
    }
}

/// Verifies a received request's Standard Webhooks signature with the reference crate.
fn verify(secret: &str, r: &Received) {
    let wh = standardwebhooks::Webhook::new(secret).unwrap();
    wh.verify(&r.body, &r.headers)
        .unwrap_or_else(|e| panic!("signature rejected: {e}"));
    let wrong = standardwebhooks::Webhook::new(&format!("whsec_{}", "A".repeat(43) + "=")).unwrap();
    assert!(wrong.verify(&r.body, &r.headers).is_err());
}

/// Like `verify`, for attempts signed at a manual clock's time (beyond the crate's 5-minute
/// tolerance): recomputes the signature with the crate and compares.
fn verify_at(secret: &str, r: &Received) {
    let wh = standardwebhooks::Webhook::new(secret).unwrap();
    let id = r.headers["webhook-id"].to_str().unwrap();
    let ts: i64 = r.headers["webhook-timestamp"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    let expected = wh.sign(id, ts, &r.body).unwrap();
    assert_eq!(r.headers["webhook-signature"].to_str().unwrap(), expected);
}

// ---------------------------------------------------------------------------------------
// The API and a dispatcher over one test database.

struct World {
    store: Store,
    keys: Keys,
    server: TestServer,
    key: String,
    other_key: String,
    account: AccountId,
    agent: AgentRowId,
}

async fn world(db: &TestDb, allow_private: bool) -> World {
    let store = db.store.clone();
    let key = create_key(&store, "acme", KeyMode::Live, UnixTime(1))
        .await
        .unwrap();
    let other_key = create_key(&store, "globex", KeyMode::Live, UnixTime(1))
        .await
        .unwrap();
    let account = store.account_id("acme").await.unwrap().unwrap();
    let agent = fixtures::agent(&store, account, 0x28c5_1f81).await.id;
    let server_key = ServerKey::generate();
    let mut config = Config {
        server_key: server_key.clone(),
        ..common::config()
    };
    config.webhooks.allow_private = allow_private;
    World {
        keys: Keys::from_server_key(&server_key),
        server: TestServer::start_with(store.clone(), LiveStore::in_process(), config).await,
        store,
        key: key.reveal().to_owned(),
        other_key: other_key.reveal().to_owned(),
        account,
        agent,
    }
}

impl World {
    async fn call(
        &self,
        method: reqwest::Method,
        path: &str,
        key: &str,
        body: Option<Value>,
    ) -> (StatusCode, Value) {
        let mut req = self
            .server
            .client
            .request(method, self.server.url(path))
            .bearer_auth(key);
        if let Some(body) = body {
            req = req.json(&body);
        }
        let res = req.send().await.unwrap();
        let status = res.status();
        let text = res.text().await.unwrap();
        (status, serde_json::from_str(&text).unwrap_or(Value::Null))
    }

    async fn get(&self, path: &str) -> (StatusCode, Value) {
        self.call(reqwest::Method::GET, path, &self.key, None).await
    }

    async fn post(&self, path: &str, body: Value) -> (StatusCode, Value) {
        self.call(reqwest::Method::POST, path, &self.key, Some(body))
            .await
    }

    async fn delete(&self, path: &str) -> (StatusCode, Value) {
        self.call(reqwest::Method::DELETE, path, &self.key, None)
            .await
    }

    /// Creates an endpoint; returns (public id, secret).
    async fn endpoint(&self, url: &str, events: Option<&[&str]>) -> (String, String) {
        let mut body = json!({ "url": url });
        if let Some(events) = events {
            body["events"] = json!(events);
        }
        let (status, v) = self.post("/v1/webhooks", body).await;
        assert_eq!(status, StatusCode::CREATED, "{v}");
        (
            v["id"].as_str().unwrap().to_owned(),
            v["secret"].as_str().unwrap().to_owned(),
        )
    }

    /// `POST /v1/webhooks/:id/test`, which takes no body.
    async fn post_empty(&self, path: &str) -> (StatusCode, Value) {
        self.call(reqwest::Method::POST, path, &self.key, None)
            .await
    }

    async fn send_test(&self, id: &str) -> String {
        let (status, v) = self.post_empty(&format!("/v1/webhooks/{id}/test")).await;
        assert_eq!(status, StatusCode::ACCEPTED, "{v}");
        assert_eq!(v["event"], "webhook.test");
        v["event_id"].as_str().unwrap().to_owned()
    }

    fn dispatcher(&self, clock: impl Clock, config: DispatchConfig) -> Dispatcher {
        Dispatcher::new(
            self.store.clone(),
            self.keys.webhook_secret,
            config,
            Arc::new(clock),
        )
    }

    /// The job delivering `event_id` to the endpoint with public id `id`; it must exist.
    async fn job(&self, event_id: &str, id: &str) -> JobState {
        let endpoint = callscope_server::webhooks::parse_endpoint_id(id).unwrap();
        self.store
            .job_state(event_id, endpoint)
            .await
            .unwrap()
            .expect("a job for the event and endpoint")
    }

    async fn deliveries(&self, id: &str) -> Vec<Value> {
        let (status, v) = self.get(&format!("/v1/webhooks/{id}/deliveries")).await;
        assert_eq!(status, StatusCode::OK, "{v}");
        v["deliveries"].as_array().unwrap().clone()
    }

    /// The endpoint's delivery records, newest first, as (attempt, status_code, success, error).
    async fn outcomes(&self, id: &str) -> Vec<Outcome> {
        self.deliveries(id).await.iter().map(outcome).collect()
    }

    /// Stores a completed call of the test account's agent (queuing its events).
    async fn completed_call(&self, started_at: i64, turns: usize) -> CallId {
        fixtures::store_call(
            &self.store,
            &fixtures::completed_call(self.account, self.agent, started_at, turns),
        )
        .await
    }
}

/// What a delivery record says of its attempt: (attempt, status_code, success, error).
type Outcome = (u64, Value, bool, Value);

fn outcome(d: &Value) -> Outcome {
    (
        d["attempt"].as_u64().unwrap(),
        d["status_code"].clone(),
        d["success"].as_bool().unwrap(),
        d["error"].clone(),
    )
}

/// Asserts an API answer is `status` with `message` as its error.
#[track_caller]
fn assert_error((got, body): (StatusCode, Value), status: StatusCode, message: &str) {
    assert_eq!(got, status, "{body}");
    assert_eq!(body["error"], message, "{body}");
}

fn fast(timeout_ms: u64) -> DispatchConfig {
    DispatchConfig {
        timeout: Duration::from_millis(timeout_ms),
        poll_interval: Duration::from_millis(20),
        allow_private: true,
        ..DispatchConfig::default()
    }
}

async fn wait_for(what: &str, mut check: impl AsyncFnMut() -> bool) {
    for _ in 0..500 {
        if check().await {
            return;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("timed out waiting for {what}");
}

// ---------------------------------------------------------------------------------------

both_backends!(endpoints_are_managed_per_account, |db: TestDb| async move {
    let w = world(&db, true).await;
    let (id, secret) = w
        .endpoint(
            "http://127.0.0.1:9/hook",
            Some(&["call.ended", "call.ended"]),
        )
        .await;
    assert!(id.starts_with("wh_"));
    let raw = secret.strip_prefix("whsec_").unwrap();
    use base64::Engine;
    assert_eq!(
        base64::engine::general_purpose::STANDARD
            .decode(raw)
            .unwrap()
            .len(),
        32
    );

    let (status, list) = w.get("/v1/webhooks").await;
    assert_eq!(status, StatusCode::OK);
    let hooks = list["webhooks"].as_array().unwrap();
    assert_eq!(hooks.len(), 1);
    assert_eq!(hooks[0]["id"], id.as_str());
    assert_eq!(hooks[0]["url"], "http://127.0.0.1:9/hook");
    assert_eq!(hooks[0]["events"], json!(["call.ended"]));
    assert_eq!(hooks[0]["enabled"], true);
    assert!(hooks[0].get("secret").is_none(), "the secret is shown once");

    // The secret is stored sealed, never as text.
    let stored = w.store.list_endpoints(w.account).await.unwrap();
    assert!(
        !stored[0]
            .secret_enc
            .windows(raw.len().min(16))
            .any(|win| win == &raw.as_bytes()[..16])
    );

    // Bad input.
    for (body, message) in [
        (
            json!({"url": "ftp://example.com/"}),
            "url must be an absolute http or https URL",
        ),
        (
            json!({"url": "https://u:p@example.com/"}),
            "url must not contain credentials",
        ),
        (
            json!({"url": "https://example.com/", "events": ["call.exploded"]}),
            "events must contain only: call.started, call.ended, transfer.initiated, transfer.completed, transfer.failed, call.gather.completed",
        ),
    ] {
        assert_error(
            w.post("/v1/webhooks", body).await,
            StatusCode::BAD_REQUEST,
            message,
        );
    }
    let (status, _) = w.post("/v1/webhooks", json!({"uri": "x"})).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);

    // Another account sees none of it.
    let (_, theirs) = w
        .call(reqwest::Method::GET, "/v1/webhooks", &w.other_key, None)
        .await;
    assert_eq!(theirs["webhooks"], json!([]));
    for (method, path) in [
        (reqwest::Method::DELETE, format!("/v1/webhooks/{id}")),
        (reqwest::Method::POST, format!("/v1/webhooks/{id}/test")),
        (
            reqwest::Method::GET,
            format!("/v1/webhooks/{id}/deliveries"),
        ),
    ] {
        assert_error(
            w.call(method, &path, &w.other_key, None).await,
            StatusCode::NOT_FOUND,
            "Webhook not found",
        );
    }
    let (status, _) = w.get("/v1/webhooks/wh_1/deliveries").await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    // Delete: gone from the list, a second delete is a 404.
    let (status, v) = w.delete(&format!("/v1/webhooks/{id}")).await;
    assert_eq!((status, v), (StatusCode::OK, json!({"success": true})));
    let (status, _) = w.delete(&format!("/v1/webhooks/{id}")).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(w.get("/v1/webhooks").await.1["webhooks"], json!([]));
});

both_backends!(
    the_endpoint_cap_holds_under_concurrent_creates,
    |db: TestDb| async move {
        // 80 creates at once on a fresh account: exactly 20 succeed, whatever the interleaving.
        let w = world(&db, true).await;
        let mut creates = tokio::task::JoinSet::new();
        for i in 0..80 {
            let request = w
                .server
                .client
                .post(w.server.url("/v1/webhooks"))
                .bearer_auth(&w.key)
                .json(&json!({ "url": format!("http://127.0.0.1:9/hook/{i}") }));
            creates.spawn(async move {
                let res = request.send().await.unwrap();
                (res.status(), res.json::<Value>().await.unwrap())
            });
        }
        let answers = creates.join_all().await;
        let created = answers
            .iter()
            .filter(|(status, _)| *status == StatusCode::CREATED)
            .count();
        assert_eq!(created, 20, "{answers:?}");
        for answer in answers
            .into_iter()
            .filter(|(status, _)| *status != StatusCode::CREATED)
        {
            assert_error(
                answer,
                StatusCode::BAD_REQUEST,
                "An account can have at most 20 webhook endpoints",
            );
        }
        assert_eq!(w.store.list_endpoints(w.account).await.unwrap().len(), 20);
        // Deleting one makes room for exactly one more.
        let first = w.get("/v1/webhooks").await.1["webhooks"][0]["id"]
            .as_str()
            .unwrap()
            .to_owned();
        assert_eq!(
            w.delete(&format!("/v1/webhooks/{first}")).await.0,
            StatusCode::OK
        );
        w.endpoint("http://127.0.0.1:9/again", None).await;
        assert_error(
            w.post("/v1/webhooks", json!({ "url": "http://127.0.0.1:9/more" }))
                .await,
            StatusCode::BAD_REQUEST,
            "An account can have at most 20 webhook endpoints",
        );
    }
);

backend_independent!(
    private_targets_are_refused_by_default,
    |db: TestDb| async move {
        let w = world(&db, false).await;
        for url in [
            "http://127.0.0.1:8080/hook",
            "http://localhost/hook",
            "http://10.1.2.3/hook",
            "http://192.168.0.10/hook",
            "http://169.254.169.254/latest/meta-data",
            "http://[::1]/hook",
            "http://[fe80::1]/hook",
        ] {
            let (status, v) = w.post("/v1/webhooks", json!({ "url": url })).await;
            assert_eq!(status, StatusCode::BAD_REQUEST, "{url}");
            assert_eq!(
                v["error"], "url must not point to a private, loopback or link-local address",
                "{url}"
            );
        }
        // A dispatcher that does not allow private targets refuses them at delivery time too
        // (say, an endpoint created while they were allowed).
        let receiver = Receiver::start(vec![]).await;
        let record = w
            .store
            .insert_endpoint(
                &callscope_server::storage::NewEndpoint {
                    account_id: w.account,
                    url: receiver.url(),
                    events: Vec::new(),
                    secret_enc: callscope_server::webhooks::SigningSecret::generate()
                        .seal(&w.keys.webhook_secret)
                        .unwrap(),
                    created_at: fixtures::now(),
                },
                callscope_server::webhooks::MAX_ENDPOINTS,
            )
            .await
            .unwrap()
            .expect("under the cap");
        let id = callscope_server::webhooks::endpoint_public_id(record.id);
        w.send_test(&id).await;
        let open = &w;
        let strict = DispatchConfig {
            allow_private: false,
            ..fast(2_000)
        };
        assert_eq!(open.dispatcher(SystemClock, strict).run_once().await, 1);
        let d = open.deliveries(&id).await;
        assert_eq!(d[0]["error"], "blocked: private address");
        assert!(receiver.received().is_empty());
    }
);

both_backends!(
    call_events_are_queued_with_the_call_and_delivered_signed,
    |db: TestDb| async move {
        let w = world(&db, true).await;
        let all = Receiver::start(vec![]).await;
        let ended_only = Receiver::start(vec![]).await;
        let (_, all_secret) = w.endpoint(&all.url(), None).await;
        let (_, ended_secret) = w.endpoint(&ended_only.url(), Some(&["call.ended"])).await;

        let call = w.completed_call(1_768_471_200, 4).await;
        let mut live = fixtures::completed_call(w.account, w.agent, 1_768_471_300, 0);
        live.status = CallStatus::InProgress;
        live.disposition = None;
        live.ended_reason = None;
        live.ended_at = None;
        let live_call = fixtures::store_call(&w.store, &live).await;
        // Another account's call, without endpoints, queues nothing.
        let globex = w.store.account_id("globex").await.unwrap().unwrap();
        let g_agent = fixtures::agent(&w.store, globex, 0x0000_00bb).await.id;
        let g_call = fixtures::store_call(
            &w.store,
            &fixtures::completed_call(globex, g_agent, 1_768_471_200, 2),
        )
        .await;
        assert!(w.store.call_events(g_call).await.unwrap().is_empty());
        let events = w.store.call_events(call).await.unwrap();
        let names: Vec<&str> = events.iter().map(|(_, e)| e.as_str()).collect();
        assert_eq!(names, ["call.started", "call.ended"]);
        let live_events = w.store.call_events(live_call).await.unwrap();
        assert_eq!(live_events.len(), 1, "a live call has only started");

        let handle = w.dispatcher(SystemClock, fast(5_000)).spawn();
        wait_for("four deliveries", async || {
            all.received().len() == 3 && ended_only.received().len() == 1
        })
        .await;
        handle.shutdown().await;

        for r in all.received() {
            verify(&all_secret, &r);
            assert_eq!(r.headers["content-type"], "application/json");
        }
        let got = &ended_only.received()[0];
        verify(&ended_secret, got);
        let body: Value = serde_json::from_slice(&got.body).unwrap();
        assert_eq!(body["event"], "call.ended");
        assert_eq!(body["call_id"], call.to_string());
        assert_eq!(body["agent_id"], "agent_28c51f81");
        assert_eq!(body["status"], "completed");
        assert_eq!(body["ended_reason"], "caller-hangup");
        assert_eq!(body["ended_at"], "2026-01-15T10:02:07Z");
        assert_eq!(got.headers["webhook-id"], events[1].0.as_str());
        assert_eq!(body["event_id"], events[1].0.as_str());

        // The call's history shows both endpoints' attempts, as the spec's records.
        wait_for("recorded deliveries", async || {
            w.get(&format!("/v1/calls/{call}/webhooks")).await.1["deliveries"]
                .as_array()
                .is_some_and(|d| d.len() == 3)
        })
        .await;
        let (_, history) = w.get(&format!("/v1/calls/{call}/webhooks")).await;
        for d in history["deliveries"].as_array().unwrap() {
            assert_eq!(outcome(d), (1, json!(200), true, Value::Null));
        }
    }
);

both_backends!(
    failures_are_retried_on_schedule_with_one_event_id,
    |db: TestDb| async move {
        let w = world(&db, true).await;
        let receiver = Receiver::start(vec![Answer::Status(503), Answer::Status(500)]).await;
        let (id, secret) = w.endpoint(&receiver.url(), None).await;
        let event_id = w.send_test(&id).await;
        let clock = ManualClock::new(clock::now().plus(1));
        let d = w.dispatcher(clock.clone(), fast(5_000));

        assert_eq!(d.run_once().await, 1, "attempt 1 at once");
        let job = w.job(&event_id, &id).await;
        assert_eq!((job.state.as_str(), job.attempts), ("pending", 1));
        assert_eq!(job.due_at, clock.now().plus(5), "attempt 2 after 5 s");
        assert_eq!(d.run_once().await, 0, "not due yet");
        clock.advance(5);
        assert_eq!(d.run_once().await, 1, "attempt 2");
        let job = w.job(&event_id, &id).await;
        let wait = job.due_at.since(clock.now());
        assert!(
            (300..=330).contains(&wait),
            "attempt 3 after 5 min + jitter: {wait}"
        );
        clock.advance(299);
        assert_eq!(d.run_once().await, 0);
        clock.advance(wait - 299);
        assert_eq!(d.run_once().await, 1, "attempt 3");
        let job = w.job(&event_id, &id).await;
        assert_eq!((job.state.as_str(), job.attempts), ("delivered", 3));
        clock.advance(100_000);
        assert_eq!(d.run_once().await, 0, "delivered jobs are done");

        let got = receiver.received();
        assert_eq!(got.len(), 3);
        for r in &got {
            verify_at(&secret, r);
            assert_eq!(r.headers["webhook-id"], event_id.as_str());
            assert_eq!(r.body, got[0].body, "the same body every time");
        }

        // Newest first, every attempt recorded as the spec shows.
        let all = w.deliveries(&id).await;
        for d in &all {
            assert_eq!(d["event"], "webhook.test");
            assert_eq!(d["event_id"], event_id.as_str());
            assert_eq!(d["url"], receiver.url());
        }
        assert_eq!(
            all.iter().map(outcome).collect::<Vec<_>>(),
            [
                (3, json!(200), true, Value::Null),
                (2, json!(500), false, json!("HTTP 500")),
                (1, json!(503), false, json!("HTTP 503")),
            ]
        );

        // Cursor pagination over the same records.
        let (status, page) = w
            .get(&format!("/v1/webhooks/{id}/deliveries?limit=2"))
            .await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(page["has_more"], true);
        assert_eq!(page["deliveries"].as_array().unwrap().len(), 2);
        let cursor = page["next_cursor"].as_str().unwrap();
        let (_, rest) = w
            .get(&format!(
                "/v1/webhooks/{id}/deliveries?limit=2&after={cursor}"
            ))
            .await;
        assert_eq!(rest["has_more"], false);
        assert_eq!(rest["next_cursor"], Value::Null);
        assert_eq!(rest["deliveries"][0]["attempt"], 1);
        for bad in [
            format!("/v1/webhooks/{id}/deliveries?after=garbage"),
            format!("/v1/webhooks/{id}/deliveries?limit=0"),
            format!("/v1/webhooks/{id}/deliveries?limit=101"),
            format!("/v1/webhooks/{id}/deliveries?cursor=x"),
        ] {
            assert_eq!(w.get(&bad).await.0, StatusCode::BAD_REQUEST, "{bad}");
        }
    }
);

both_backends!(
    no_response_failures_are_recorded_without_status,
    |db: TestDb| async move {
        let w = world(&db, true).await;
        let receiver = Receiver::start(vec![Answer::Hang, Answer::Drop]).await;
        let (id, _) = w.endpoint(&receiver.url(), None).await;
        // A port nobody listens on.
        let closed = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let refused_url = format!("http://{}/hook", closed.local_addr().unwrap());
        drop(closed);
        let (refused_id, _) = w.endpoint(&refused_url, None).await;
        let clock = ManualClock::new(clock::now().plus(1));
        let d = w.dispatcher(clock.clone(), fast(500));

        w.send_test(&id).await;
        w.send_test(&refused_id).await;
        assert_eq!(d.run_once().await, 2);
        clock.advance(5);
        assert_eq!(d.run_once().await, 2);
        clock.advance(400);
        assert_eq!(d.run_once().await, 2);

        assert_eq!(
            w.outcomes(&id).await,
            [
                (3, json!(200), true, Value::Null),
                (2, Value::Null, false, json!("connection closed")),
                (1, Value::Null, false, json!("timeout")),
            ]
        );
        assert_eq!(
            w.outcomes(&refused_id).await,
            [
                (3, Value::Null, false, json!("connection refused")),
                (2, Value::Null, false, json!("connection refused")),
                (1, Value::Null, false, json!("connection refused")),
            ]
        );
    }
);

both_backends!(gone_disables_the_endpoint, |db: TestDb| async move {
    let w = world(&db, true).await;
    let receiver = Receiver::start(vec![Answer::Status(410)]).await;
    let (id, _) = w.endpoint(&receiver.url(), None).await;
    let first = w.send_test(&id).await;
    let second = w.send_test(&id).await;
    let clock = ManualClock::new(clock::now().plus(1));
    let d = w.dispatcher(
        clock.clone(),
        DispatchConfig {
            concurrency: 1,
            ..fast(2_000)
        },
    );
    assert_eq!(d.run_once().await, 1);
    let job = w.job(&first, &id).await;
    assert_eq!(job.state, "failed", "no retry after 410");
    let job = w.job(&second, &id).await;
    assert_eq!(job.state, "failed", "queued events are dropped too");
    clock.advance(100_000);
    assert_eq!(d.run_once().await, 0);
    assert_eq!(receiver.received().len(), 1);

    let (_, list) = w.get("/v1/webhooks").await;
    assert_eq!(list["webhooks"][0]["enabled"], false);
    assert_eq!(list["webhooks"][0]["disabled_reason"], "HTTP 410 Gone");
    assert_error(
        w.post_empty(&format!("/v1/webhooks/{id}/test")).await,
        StatusCode::CONFLICT,
        "Webhook endpoint is disabled",
    );
    let call = w.completed_call(1_768_471_200, 2).await;
    assert!(w.store.call_events(call).await.unwrap().is_empty());
    let d = w.deliveries(&id).await;
    assert_eq!((d.len(), d[0]["error"].clone()), (1, json!("HTTP 410")));
});

backend_independent!(retry_after_is_honoured, |db: TestDb| async move {
    let w = world(&db, true).await;
    let clock = ManualClock::new(clock::now().plus(1));
    let date = time::OffsetDateTime::from_unix_timestamp(clock.now().secs() + 900)
        .unwrap()
        .format(time::macros::format_description!(
            "[weekday repr:short], [day] [month repr:short] [year] [hour]:[minute]:[second] GMT"
        ))
        .unwrap();
    let receiver = Receiver::start(vec![
        Answer::StatusWith(429, "retry-after", "120".into()),
        Answer::StatusWith(503, "retry-after", date),
        Answer::StatusWith(500, "retry-after", "9999".into()),
    ])
    .await;
    let (id, _) = w.endpoint(&receiver.url(), None).await;
    let event_id = w.send_test(&id).await;
    let d = w.dispatcher(clock.clone(), fast(2_000));

    assert_eq!(d.run_once().await, 1);
    let job = w.job(&event_id, &id).await;
    assert_eq!(
        job.due_at.since(clock.now()),
        120,
        "429 Retry-After beats the 5 s step"
    );
    clock.advance(120);
    assert_eq!(d.run_once().await, 1);
    let job = w.job(&event_id, &id).await;
    let wait = job.due_at.since(clock.now());
    assert!(
        (775..=781).contains(&wait),
        "503 Retry-After as a date: {wait}"
    );
    clock.advance(wait);
    assert_eq!(d.run_once().await, 1);
    let job = w.job(&event_id, &id).await;
    let wait = job.due_at.since(clock.now());
    assert!(
        (1_800..=1_980).contains(&wait),
        "a 500's Retry-After is ignored: {wait}"
    );
});

both_backends!(attempts_stop_after_the_schedule, |db: TestDb| async move {
    let w = world(&db, true).await;
    let receiver = Receiver::start(vec![Answer::Status(500); 10]).await;
    let (id, _) = w.endpoint(&receiver.url(), None).await;
    let event_id = w.send_test(&id).await;
    let clock = ManualClock::new(clock::now().plus(1));
    let d = w.dispatcher(clock.clone(), fast(2_000));
    for _ in 0..7 {
        assert_eq!(d.run_once().await, 1);
        clock.advance(40_000);
    }
    assert_eq!(d.run_once().await, 0);
    let job = w.job(&event_id, &id).await;
    assert_eq!((job.state.as_str(), job.attempts), ("failed", 7));
    let attempts: Vec<u64> = w
        .outcomes(&id)
        .await
        .iter()
        .map(|(attempt, ..)| *attempt)
        .collect();
    assert_eq!(attempts, [7, 6, 5, 4, 3, 2, 1]);
});

both_backends!(
    a_dispatcher_killed_mid_attempt_or_mid_retry_loses_nothing,
    |db: TestDb| async move {
        let w = world(&db, true).await;
        let receiver = Receiver::start(vec![Answer::Hang, Answer::Status(503)]).await;
        let (id, secret) = w.endpoint(&receiver.url(), None).await;
        let event_id = w.send_test(&id).await;
        let clock = ManualClock::new(clock::now().plus(1));
        let config = fast(30_000);
        let lease = config.lease();

        // Killed while the receiver holds attempt 1.
        let first = w.dispatcher(clock.clone(), config.clone()).spawn();
        wait_for("attempt 1 to arrive", async || {
            receiver.received().len() == 1
        })
        .await;
        first.abort();
        let job = w.job(&event_id, &id).await;
        assert_eq!((job.state.as_str(), job.attempts), ("pending", 1));
        assert_eq!(job.locked_until, Some(clock.now().plus(lease)));

        // A new dispatcher leaves the leased job alone until the lease runs out…
        let second = w.dispatcher(clock.clone(), config.clone());
        assert_eq!(second.run_once().await, 0);
        clock.advance(lease);
        // …then makes attempt 2 (503: to be retried in 5 s).
        assert_eq!(second.run_once().await, 1);
        let job = w.job(&event_id, &id).await;
        assert_eq!((job.state.as_str(), job.attempts), ("pending", 2));

        // Killed between attempts; a third one picks the retry up when it falls due.
        let idle = w.dispatcher(clock.clone(), config.clone()).spawn();
        tokio::time::sleep(Duration::from_millis(60)).await;
        idle.abort();
        let third = w.dispatcher(clock.clone(), config).spawn();
        // Attempt 3 comes 5 min (+ up to 10% jitter) after attempt 2.
        clock.advance(330);
        wait_for("delivery", async || {
            w.job(&event_id, &id).await.state == "delivered"
        })
        .await;
        third.shutdown().await;

        let got = receiver.received();
        assert_eq!(got.len(), 3);
        for r in &got {
            assert_eq!(r.headers["webhook-id"], event_id.as_str());
            verify_at(&secret, r);
        }
        // The abandoned attempt 1 is recorded as interrupted (its outcome was never seen),
        // with the error the README lists.
        assert_eq!(
            w.outcomes(&id).await,
            [
                (3, json!(200), true, Value::Null),
                (2, json!(503), false, json!("HTTP 503")),
                (1, Value::Null, false, json!(delivery_error::INTERRUPTED)),
            ]
        );
    }
);

both_backends!(
    two_dispatchers_make_each_attempt_once,
    |db: TestDb| async move {
        let w = world(&db, true).await;
        let receiver = Receiver::start(vec![]).await;
        let (id, _) = w.endpoint(&receiver.url(), None).await;
        let mut ids = Vec::new();
        for _ in 0..60 {
            ids.push(w.send_test(&id).await);
        }
        // A second instance: its own connection pool to the same database.
        let other = Store::connect(&db.url, 4).await.unwrap();
        let config = DispatchConfig {
            concurrency: 8,
            ..fast(5_000)
        };
        let a = w.dispatcher(SystemClock, config.clone()).spawn();
        let b = Dispatcher::new(
            other.clone(),
            w.keys.webhook_secret,
            config,
            Arc::new(SystemClock),
        )
        .spawn();
        wait_for("every event", async || {
            receiver.received().len() >= ids.len()
        })
        .await;
        tokio::time::sleep(Duration::from_millis(200)).await;
        a.shutdown().await;
        b.shutdown().await;

        let mut seen: HashMap<String, usize> = HashMap::new();
        for r in receiver.received() {
            *seen
                .entry(r.headers["webhook-id"].to_str().unwrap().to_owned())
                .or_default() += 1;
        }
        assert_eq!(seen.len(), ids.len());
        assert!(
            seen.values().all(|n| *n == 1),
            "an event was delivered twice"
        );
        for event_id in &ids {
            let job = w.job(event_id, &id).await;
            assert_eq!((job.state.as_str(), job.attempts), ("delivered", 1));
        }
        other.close().await;
    }
);

// ---------------------------------------------------------------------------------------
// Batching (issue 17): claims taken ahead of the attempts in flight, records written in
// batches, and what happens when a claim is given back or a batch cannot be recorded.

impl World {
    /// Queues `n` test events for the endpoint with public id `id`, directly in the outbox
    /// (quicker than `n` API calls); returns their event ids in queue order.
    async fn queue_tests(&self, id: &str, n: usize) -> Vec<String> {
        let endpoint = callscope_server::webhooks::parse_endpoint_id(id).unwrap();
        let mut ids = Vec::with_capacity(n);
        for _ in 0..n {
            let event = callscope_server::webhooks::events::test_event(id, clock::now());
            assert!(
                self.store
                    .enqueue_for_endpoint(self.account, endpoint, &event, clock::now())
                    .await
                    .unwrap()
            );
            ids.push(event.event_id);
        }
        ids
    }

    /// Runs `sql` on the test database over a connection of its own.
    async fn execute(&self, db: &TestDb, sql: &str) {
        use sqlx::{Connection, Executor};
        match self.store.backend() {
            callscope_server::storage::Backend::Sqlite => {
                let mut conn = sqlx::SqliteConnection::connect(&db.url).await.unwrap();
                conn.execute(sql).await.unwrap();
                conn.close().await.unwrap();
            }
            callscope_server::storage::Backend::Postgres => {
                let mut conn = sqlx::PgConnection::connect(&db.url).await.unwrap();
                conn.execute(sql).await.unwrap();
                conn.close().await.unwrap();
            }
        }
    }

    /// Makes every insert of a delivery record fail, or (with `event_id`) those of one event.
    async fn refuse_records(&self, db: &TestDb, event_id: Option<&str>) {
        let only = event_id.map_or(String::new(), |e| format!("WHEN (NEW.event_id = '{e}')"));
        let sql = match self.store.backend() {
            callscope_server::storage::Backend::Sqlite => format!(
                "CREATE TRIGGER refuse_records BEFORE INSERT ON webhook_deliveries {only}
                 BEGIN SELECT RAISE(ABORT, 'records refused'); END"
            ),
            callscope_server::storage::Backend::Postgres => format!(
                "CREATE FUNCTION refuse_records() RETURNS trigger LANGUAGE plpgsql AS
                     $$ BEGIN RAISE EXCEPTION 'records refused'; END $$;
                 CREATE TRIGGER refuse_records BEFORE INSERT ON webhook_deliveries
                     FOR EACH ROW {only} EXECUTE FUNCTION refuse_records()"
            ),
        };
        self.execute(db, &sql).await;
    }

    async fn accept_records(&self, db: &TestDb) {
        let sql = match self.store.backend() {
            callscope_server::storage::Backend::Sqlite => "DROP TRIGGER refuse_records",
            callscope_server::storage::Backend::Postgres => {
                "DROP TRIGGER refuse_records ON webhook_deliveries"
            }
        };
        self.execute(db, sql).await;
    }

    /// Every delivery record of the endpoint with public id `id`, by event id.
    async fn records_by_event(&self, id: &str) -> HashMap<String, Vec<Outcome>> {
        let endpoint = callscope_server::webhooks::parse_endpoint_id(id).unwrap();
        let (records, more) = self
            .store
            .endpoint_deliveries(endpoint, None, 100_000)
            .await
            .unwrap();
        assert!(!more);
        let mut by_event: HashMap<String, Vec<Outcome>> = HashMap::new();
        for r in records {
            let record = serde_json::to_value(&r).unwrap();
            by_event
                .entry(r.event_id.clone())
                .or_default()
                .push(outcome(&record));
        }
        by_event
    }
}

/// How many times the receiver saw each event id.
fn received_counts(receiver: &Receiver) -> HashMap<String, usize> {
    let mut seen: HashMap<String, usize> = HashMap::new();
    for r in receiver.received() {
        *seen
            .entry(r.headers["webhook-id"].to_str().unwrap().to_owned())
            .or_default() += 1;
    }
    seen
}

both_backends!(
    two_dispatchers_claiming_ahead_deliver_each_job_once,
    |db: TestDb| async move {
        let w = world(&db, true).await;
        let receiver = Receiver::start(vec![]).await;
        let (id, _) = w.endpoint(&receiver.url(), None).await;
        let ids = w.queue_tests(&id, 300).await;
        // Concurrencies far below a claim's batch: each claims many jobs ahead of its
        // attempts, and both claim from the same rows at once.
        let other = Store::connect(&db.url, 4).await.unwrap();
        let a = w.dispatcher(
            SystemClock,
            DispatchConfig {
                concurrency: 1,
                ..fast(5_000)
            },
        );
        let b = Dispatcher::new(
            other.clone(),
            w.keys.webhook_secret,
            DispatchConfig {
                concurrency: 3,
                ..fast(5_000)
            },
            Arc::new(SystemClock),
        );
        let (a, b) = (a.spawn(), b.spawn());
        wait_for("every event", async || {
            receiver.received().len() >= ids.len()
        })
        .await;
        a.shutdown().await;
        b.shutdown().await;

        let seen = received_counts(&receiver);
        assert_eq!(seen.len(), ids.len());
        assert!(
            seen.values().all(|n| *n == 1),
            "an event was delivered twice"
        );
        let records = w.records_by_event(&id).await;
        for event_id in &ids {
            let job = w.job(event_id, &id).await;
            assert_eq!((job.state.as_str(), job.attempts), ("delivered", 1));
            assert_eq!(job.locked_until, None);
            assert_eq!(records[event_id], [(1, json!(200), true, Value::Null)]);
        }
        other.close().await;
    }
);

both_backends!(
    shutdown_gives_back_jobs_claimed_but_not_started,
    |db: TestDb| async move {
        let w = world(&db, true).await;
        let receiver = Receiver::start(vec![Answer::Hang]).await;
        let (id, _) = w.endpoint(&receiver.url(), None).await;
        let ids = w.queue_tests(&id, 20).await;
        let clock = ManualClock::new(clock::now().plus(1));
        let config = DispatchConfig {
            concurrency: 1,
            ..fast(1_000)
        };
        let lease = config.lease();
        let first = w.dispatcher(clock.clone(), config.clone()).spawn();
        wait_for("attempt 1 to arrive", async || {
            receiver.received().len() == 1
        })
        .await;
        // One attempt in flight, and the rest claimed ahead of it.
        for event_id in &ids[1..] {
            let job = w.job(event_id, &id).await;
            assert_eq!(
                (job.attempts, job.locked_until),
                (1, Some(clock.now().plus(lease)))
            );
        }
        first.shutdown().await;

        // The attempt in flight finished and was recorded (a timeout, retried in 5 s)…
        let job = w.job(&ids[0], &id).await;
        assert_eq!(
            (job.state.as_str(), job.attempts, job.locked_until),
            ("pending", 1, None)
        );
        assert_eq!(job.due_at, clock.now().plus(5));
        // …and the others are due again as their first attempt, as if never claimed.
        for event_id in &ids[1..] {
            let job = w.job(event_id, &id).await;
            assert_eq!(
                (job.state.as_str(), job.attempts, job.locked_until),
                ("pending", 0, None)
            );
        }
        let d = w.dispatcher(clock.clone(), fast(1_000));
        assert_eq!(d.run_once().await, ids.len() - 1, "no lease to wait for");
        let records = w.records_by_event(&id).await;
        assert_eq!(
            records[&ids[0]],
            [(1, Value::Null, false, json!("timeout"))]
        );
        for event_id in &ids[1..] {
            assert_eq!(
                records[event_id],
                [(1, json!(200), true, Value::Null)],
                "not interrupted"
            );
        }
        assert!(received_counts(&receiver).values().all(|n| *n == 1));
    }
);

both_backends!(
    giving_back_a_claim_that_ran_out_leaves_the_new_claim_alone,
    |db: TestDb| async move {
        let w = world(&db, true).await;
        let (id, _) = w.endpoint("http://127.0.0.1:9/hook", None).await;
        let ids = w.queue_tests(&id, 1).await;
        let now = clock::now();
        let old = w.store.claim_jobs(now, 40, 10).await.unwrap();
        assert_eq!(old.len(), 1);
        // The lease runs out and another dispatcher claims the job as attempt 2.
        let new = w.store.claim_jobs(now.plus(40), 40, 10).await.unwrap();
        assert_eq!(
            (new.len(), new[0].attempt, new[0].interrupted),
            (1, 2, true)
        );
        w.store.release_jobs(&old).await.unwrap();
        let job = w.job(&ids[0], &id).await;
        assert_eq!((job.attempts, job.locked_until), (2, Some(now.plus(80))));
        // Giving back the live claim makes attempt 2 due again, still owed its interrupted
        // record for attempt 1.
        w.store.release_jobs(&new).await.unwrap();
        let job = w.job(&ids[0], &id).await;
        assert_eq!((job.attempts, job.locked_until), (1, None));
        let again = w.store.claim_jobs(now.plus(40), 40, 10).await.unwrap();
        assert_eq!((again[0].attempt, again[0].interrupted), (2, true));
    }
);

both_backends!(
    a_batch_that_cannot_be_recorded_is_retried_after_the_lease,
    |db: TestDb| async move {
        let w = world(&db, true).await;
        let receiver = Receiver::start(vec![]).await;
        let (id, _) = w.endpoint(&receiver.url(), None).await;
        let ids = w.queue_tests(&id, 5).await;
        let clock = ManualClock::new(clock::now().plus(1));
        let config = fast(2_000);
        let lease = config.lease();
        let d = w.dispatcher(clock.clone(), config);

        w.refuse_records(&db, None).await;
        assert_eq!(d.run_once().await, 5);
        assert_eq!(receiver.received().len(), 5, "the attempts were made");
        for event_id in &ids {
            let job = w.job(event_id, &id).await;
            assert_eq!(
                (job.state.as_str(), job.attempts, job.locked_until),
                ("pending", 1, Some(clock.now().plus(lease))),
                "unrecorded: still leased"
            );
        }
        w.accept_records(&db).await;
        assert_eq!(d.run_once().await, 0, "the lease holds");
        clock.advance(lease);
        assert_eq!(d.run_once().await, 5);
        let records = w.records_by_event(&id).await;
        for event_id in &ids {
            let job = w.job(event_id, &id).await;
            assert_eq!((job.state.as_str(), job.attempts), ("delivered", 2));
            assert_eq!(
                records[event_id],
                [
                    (2, json!(200), true, Value::Null),
                    (1, Value::Null, false, json!(delivery_error::INTERRUPTED)),
                ]
            );
        }
    }
);

both_backends!(
    one_record_that_cannot_be_written_holds_back_only_its_job,
    |db: TestDb| async move {
        let w = world(&db, true).await;
        let receiver = Receiver::start(vec![]).await;
        let (id, _) = w.endpoint(&receiver.url(), None).await;
        let ids = w.queue_tests(&id, 5).await;
        let clock = ManualClock::new(clock::now().plus(1));
        let config = fast(2_000);
        let lease = config.lease();
        let d = w.dispatcher(clock.clone(), config);

        w.refuse_records(&db, Some(&ids[2])).await;
        assert_eq!(d.run_once().await, 5);
        for (i, event_id) in ids.iter().enumerate() {
            let job = w.job(event_id, &id).await;
            let expected = if i == 2 {
                ("pending", 1)
            } else {
                ("delivered", 1)
            };
            assert_eq!((job.state.as_str(), job.attempts), expected, "{i}");
        }
        w.accept_records(&db).await;
        clock.advance(lease);
        assert_eq!(d.run_once().await, 1);
        let records = w.records_by_event(&id).await;
        assert_eq!(
            records[&ids[2]],
            [
                (2, json!(200), true, Value::Null),
                (1, Value::Null, false, json!(delivery_error::INTERRUPTED)),
            ]
        );
        assert_eq!(w.job(&ids[2], &id).await.state, "delivered");
    }
);
