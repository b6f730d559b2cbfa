//! The live stream of a public debug link (`GET /api/v1/call-debug/:token/events`): a call
//! fed turn by turn through the pipeline API, followed over real HTTP; resuming with
//! `Last-Event-ID`; revocation and expiry; the caps; and two instances on one PostgreSQL
//! and one Redis.

use crate::common::{self, TestDb, TestServer, fixtures};

use std::sync::Arc;
use std::time::Duration;

use callscope_server::application::Application;
use callscope_server::auth::{KeyMode, create_key};
use callscope_server::clock::{ManualClock, UnixTime};
use callscope_server::config::Config;
use callscope_server::debug_link::StreamLimits;
use callscope_server::live::LiveStore;
use callscope_server::storage::{NewEndpoint, Store};
use callscope_server::webhooks::{DispatchConfig, Dispatcher, MAX_ENDPOINTS, SigningSecret};
use callscope_shared::PublicDebugView;
use callscope_shared::live_view::{TurnsAppended, WebhooksAppended};
use reqwest::StatusCode;
use serde_json::{Value, json};

const T0: i64 = 1_768_471_200; // 2026-01-15T10:00:00Z
const TOKEN: &str = "pipeline-token-0123456789";
/// Longest a test waits for an event. Below the followers' 15 s refresh, so an event that
/// arrives came from the change's announcement, not from a periodic re-read.
const WAIT: Duration = Duration::from_secs(8);

struct W {
    server: TestServer,
    clock: ManualClock,
    key: String,
    agent: String,
}

fn config_with(limits: StreamLimits) -> Config {
    let mut config = common::config();
    config.pipeline_tokens = TOKEN.parse().unwrap();
    config.live_streams = limits;
    config
}

async fn world(store: &Store, live: LiveStore, config: Config) -> W {
    let key = create_key(store, "acme", KeyMode::Live, UnixTime(1))
        .await
        .unwrap();
    let acme = store.account_id("acme").await.unwrap().unwrap();
    let agent = match store.agents(acme).await.unwrap().first() {
        Some(agent) => agent.public_id.to_string(),
        None => fixtures::agent(store, acme, 0x28c5_1f81)
            .await
            .public_id
            .to_string(),
    };
    let clock = ManualClock::new(UnixTime(T0));
    let app = Application::builder(config)
        .store(store.clone())
        .live(live)
        .clock(Arc::new(clock.clone()));
    W {
        server: TestServer::start_app(app).await,
        clock,
        key: key.reveal().to_owned(),
        agent,
    }
}

/// The usual world: this test's database, in-process live state, the default caps.
async fn in_process_world(db: &TestDb) -> W {
    world(
        &db.store,
        LiveStore::in_process(),
        config_with(StreamLimits::default()),
    )
    .await
}

impl W {
    /// POSTs to the pipeline API (`Value::Null`: no body); its successful answer.
    async fn pipeline(&self, path: &str, body: Value) -> Value {
        let mut req = self
            .server
            .client
            .post(self.server.url(path))
            .bearer_auth(TOKEN);
        if !body.is_null() {
            req = req.json(&body);
        }
        let r = req.send().await.unwrap();
        let (status, body) = common::status_and_json(r).await;
        assert!(status.is_success(), "{path}: {status} {body}");
        body
    }

    /// A call answered through the pipeline API, and the path of its debug link.
    async fn live_call(&self) -> (String, String) {
        let call = self
            .pipeline(
                "/pipeline/v1/calls",
                json!({"agent_id": self.agent, "from_number": "+31612345678",
                       "to_number": "+31850012345"}),
            )
            .await;
        let id = call["call_id"].as_str().unwrap().to_owned();
        self.pipeline(&format!("/pipeline/v1/calls/{id}/answer"), Value::Null)
            .await;
        let link = self.link(&id, "").await;
        (id, link)
    }

    async fn link(&self, id: &str, query: &str) -> String {
        let r = self
            .server
            .get(&format!("/v1/calls/{id}/debug-link{query}"), &self.key)
            .await;
        let (status, link) = common::status_and_json(r).await;
        assert_eq!(status, StatusCode::OK, "{link}");
        link["url"].as_str().unwrap().to_owned()
    }

    async fn turns(&self, id: &str, turns: Value) {
        self.pipeline(
            &format!("/pipeline/v1/calls/{id}/turns"),
            json!({ "turns": turns }),
        )
        .await;
    }

    async fn end(&self, id: &str) {
        self.pipeline(
            &format!("/pipeline/v1/calls/{id}/end"),
            json!({"ended_reason": "caller-hangup"}),
        )
        .await;
    }

    async fn json_view(&self, link: &str) -> Value {
        let r = self.server.client.get(self.server.url(link)).send().await;
        let (status, view) = common::status_and_json(r.unwrap()).await;
        assert_eq!(status, StatusCode::OK, "{view}");
        view
    }

    async fn open(&self, link: &str, last_event_id: Option<&str>) -> reqwest::Response {
        let mut req = self
            .server
            .client
            .get(self.server.url(&format!("{link}/events")))
            .header("accept", "text/event-stream");
        if let Some(id) = last_event_id {
            req = req.header("last-event-id", id);
        }
        req.send().await.unwrap()
    }

    async fn stream(&self, link: &str, last_event_id: Option<&str>) -> Sse {
        let r = self.open(link, last_event_id).await;
        assert_eq!(r.status(), StatusCode::OK);
        Sse::new(r)
    }
}

fn turn(seq: i64, role: &str, content: &str, at: f64) -> Value {
    let mut t = json!({"seq": seq, "role": role, "content": content, "timestamp": at});
    if role == "assistant" {
        t["llm_ttfb_ms"] = json!(200 + seq);
        t["tts_start_ms"] = json!(300 + seq);
        t["tts_ttfb_ms"] = json!(90 + seq);
    }
    t
}

/// One event as the server framed it.
#[derive(Debug, Clone)]
struct Received {
    event: String,
    id: String,
    data: Value,
}

/// A Server-Sent Events reader over a streaming response: frames end at a blank line;
/// comments (heartbeats) and frames without an event name (the `retry:` frame) are skipped.
struct Sse {
    response: reqwest::Response,
    buffer: String,
    ended: bool,
}

impl Sse {
    fn new(response: reqwest::Response) -> Self {
        Self {
            response,
            buffer: String::new(),
            ended: false,
        }
    }

    /// The next event; `None` when the server closed the stream. Panics after `WAIT`.
    async fn next(&mut self) -> Option<Received> {
        tokio::time::timeout(WAIT, self.read())
            .await
            .expect("an event (or the end of the stream) within the wait")
    }

    async fn read(&mut self) -> Option<Received> {
        loop {
            if let Some(end) = self.buffer.find("\n\n") {
                let frame: String = self.buffer.drain(..end + 2).collect();
                let (mut event, mut id, mut data) = (None, String::new(), String::new());
                for line in frame.lines() {
                    match line.split_once(':') {
                        Some(("event", v)) => event = Some(v.trim_start().to_owned()),
                        Some(("id", v)) => id = v.trim_start().to_owned(),
                        Some(("data", v)) => data.push_str(v.trim_start()),
                        _ => {}
                    }
                }
                if let Some(event) = event {
                    let data = serde_json::from_str(&data).expect("data is one JSON value");
                    return Some(Received { event, id, data });
                }
                continue;
            }
            if self.ended {
                return None;
            }
            match self.response.chunk().await.expect("the stream reads") {
                Some(bytes) => self.buffer.push_str(std::str::from_utf8(&bytes).unwrap()),
                None => self.ended = true,
            }
        }
    }

    async fn expect(&mut self, event: &str) -> Received {
        let got = self
            .next()
            .await
            .unwrap_or_else(|| panic!("{event}: stream ended"));
        assert_eq!(got.event, event, "{got:?}");
        got
    }
}

/// What a client holds after applying `event` to `view`.
fn apply(view: &mut Option<PublicDebugView>, event: &Received) {
    match event.event.as_str() {
        "snapshot" => *view = Some(serde_json::from_value(event.data.clone()).unwrap()),
        "turns" => {
            let v = view.as_mut().expect("a view to append to");
            let t: TurnsAppended = serde_json::from_value(event.data.clone()).unwrap();
            assert_eq!(
                t.from as usize,
                v.turns.len(),
                "appended where the client stands"
            );
            v.turns.extend(t.turns);
        }
        "webhooks" => {
            let v = view.as_mut().expect("a view to append to");
            let w: WebhooksAppended = serde_json::from_value(event.data.clone()).unwrap();
            assert_eq!(w.from as usize, v.webhooks.len());
            v.webhooks.extend(w.webhooks);
        }
        "call" => view
            .as_mut()
            .expect("a view to update")
            .set_call_state(serde_json::from_value(event.data.clone()).unwrap()),
        _ => {}
    }
}

both_backends!(
    a_live_call_is_followed_turn_by_turn_until_it_ends,
    |db: TestDb| async move {
        let w = in_process_world(&db).await;
        let (id, link) = w.live_call().await;

        let response = w.open(&link, None).await;
        assert_eq!(response.status(), StatusCode::OK);
        let h = response.headers().clone();
        assert_eq!(h["content-type"], "text/event-stream");
        assert_eq!(h["cache-control"], "no-store");
        assert_eq!(h["referrer-policy"], "no-referrer");
        assert_eq!(h["x-robots-tag"], "noindex, nofollow");
        assert_eq!(h["x-content-type-options"], "nosniff");
        let mut sse = Sse::new(response);

        let mut view = None;
        let first = sse.expect("snapshot").await;
        apply(&mut view, &first);
        assert_eq!(first.data["status"], "in-progress");
        assert_eq!(first.data["turns"], json!([]));

        w.turns(
            &id,
            json!([
                turn(1, "assistant", "Hello, how can I help?", 0.0),
                turn(2, "user", "Call me back on +31 6 1234 5678", 2.5),
            ]),
        )
        .await;
        let turns = sse.expect("turns").await;
        assert_eq!(turns.data["from"], 0);
        assert_eq!(turns.data["turns"][0]["llm_ttfb_ms"], 201);
        let masked = turns.data["turns"][1]["content"].as_str().unwrap();
        assert!(
            masked.starts_with("Call me back on +31") && !masked.contains("1234"),
            "{masked}"
        );
        apply(&mut view, &turns);
        let state = sse.expect("call").await;
        assert_eq!(state.data["latency"]["llm_ttfb_ms"]["p50"], 201);
        apply(&mut view, &state);

        w.turns(&id, json!([turn(3, "assistant", "Will do.", 4.0)]))
            .await;
        let more = sse.expect("turns").await;
        assert_eq!(more.data["from"], 2);
        assert_eq!(more.data["turns"].as_array().unwrap().len(), 1);
        apply(&mut view, &more);
        apply(&mut view, &sse.expect("call").await);

        w.clock.advance(30);
        w.end(&id).await;
        let ended = sse.expect("call").await;
        assert_eq!(ended.data["status"], "completed");
        apply(&mut view, &ended);
        sse.expect("end").await;
        assert!(sse.next().await.is_none(), "the stream closes after `end`");

        // Applied in order, the events give exactly the JSON view: one masking for both.
        let final_view: PublicDebugView = serde_json::from_value(w.json_view(&link).await).unwrap();
        assert_eq!(view.unwrap(), final_view);

        // The call has ended: nothing to stream without a cursor, or from the last one.
        assert_eq!(w.open(&link, None).await.status(), StatusCode::NO_CONTENT);
        assert_eq!(
            w.open(&link, Some(&ended.id)).await.status(),
            StatusCode::NO_CONTENT
        );
    }
);

both_backends!(
    a_reconnect_with_last_event_id_resumes_without_gaps_or_duplicates,
    |db: TestDb| async move {
        let w = in_process_world(&db).await;
        let (id, link) = w.live_call().await;
        let mut sse = w.stream(&link, None).await;
        let snapshot = sse.expect("snapshot").await;
        drop(sse);

        // Missed while away: two turns.
        w.turns(
            &id,
            json!([
                turn(1, "assistant", "One", 0.0),
                turn(2, "user", "Two", 1.0)
            ]),
        )
        .await;
        let mut sse = w.stream(&link, Some(&snapshot.id)).await;
        let turns = sse.expect("turns").await;
        assert_eq!(turns.data["from"], 0);
        let contents: Vec<&Value> = turns.data["turns"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| &t["content"])
            .collect();
        assert_eq!(contents, [&json!("One"), &json!("Two")]);
        // Gone right after the turns, before the state that came with them.
        drop(sse);

        let mut sse = w.stream(&link, Some(&turns.id)).await;
        let state = sse.expect("call").await;
        assert_eq!(state.data["latency"]["llm_ttfb_ms"]["p50"], 201);
        // Up to date: the next event is the next change, nothing sent twice.
        w.turns(&id, json!([turn(3, "assistant", "Three", 2.0)]))
            .await;
        let next = sse.expect("turns").await;
        assert_eq!(next.data["from"], 2);
        assert_eq!(next.data["turns"].as_array().unwrap().len(), 1);
        drop(sse);

        // A cursor this server did not write, or one whose history differs, gets the whole
        // view again.
        let forged = next.id.replacen('.', ".f", 1);
        for last in [
            "garbage",
            forged.as_str(),
            "9.000000000000.0.000000000000.000000000000",
        ] {
            let mut sse = w.stream(&link, Some(last)).await;
            let again = sse.expect("snapshot").await;
            assert_eq!(again.data["turns"].as_array().unwrap().len(), 3, "{last}");
        }

        // The call ends while the client is away: it gets what it missed, then `end`.
        w.end(&id).await;
        let mut sse = w.stream(&link, Some(&next.id)).await;
        let ended = sse.expect("call").await;
        assert_eq!(ended.data["status"], "completed");
        sse.expect("end").await;
        assert!(sse.next().await.is_none());
    }
);

both_backends!(
    revoking_or_expiring_the_link_closes_its_open_streams,
    |db: TestDb| async move {
        let w = in_process_world(&db).await;
        let (id, link) = w.live_call().await;
        let mut sse = w.stream(&link, None).await;
        sse.expect("snapshot").await;

        let revoke = w
            .server
            .client
            .post(w.server.url(&format!("/v1/calls/{id}/debug-link/revoke")))
            .bearer_auth(&w.key)
            .send()
            .await
            .unwrap();
        assert_eq!(revoke.status(), StatusCode::OK);
        let closed = sse.expect("closed").await;
        assert_eq!(closed.data, json!({"reason": "revoked"}));
        assert!(sse.next().await.is_none());
        let (status, body) = common::status_and_json(w.open(&link, None).await).await;
        assert_eq!(
            (status, body),
            (
                StatusCode::NOT_FOUND,
                json!({"error": "Debug link not found"})
            )
        );

        // A new link that expires in a minute: its stream closes when it does.
        let link = w.link(&id, "?expires_in=60").await;
        let mut sse = w.stream(&link, None).await;
        sse.expect("snapshot").await;
        w.clock.advance(61);
        let closed = sse.expect("closed").await;
        assert_eq!(closed.data, json!({"reason": "expired"}));
        assert!(sse.next().await.is_none());
        assert_eq!(w.open(&link, None).await.status(), StatusCode::NOT_FOUND);
    }
);

backend_independent!(
    bad_tokens_are_misses_and_open_streams_are_capped,
    |db: TestDb| async move {
        let limits = StreamLimits {
            per_instance: 3,
            per_client: 2,
        };
        let mut config = config_with(limits);
        config.debug_miss_limit = 2;
        let w = world(&db.store, LiveStore::in_process(), config).await;
        let (_, link) = w.live_call().await;

        let a = w.stream(&link, None).await;
        let b = w.stream(&link, None).await;
        let refused = w.open(&link, None).await;
        assert_eq!(refused.status(), StatusCode::TOO_MANY_REQUESTS);
        assert_eq!(refused.headers()["retry-after"], "10");
        assert_eq!(refused.headers()["cache-control"], "no-store");
        assert_eq!(
            refused.json::<Value>().await.unwrap(),
            json!({"error": "Too many live streams open"})
        );
        // A closed stream frees its place.
        drop(a);
        let mut c = None;
        for _ in 0..50 {
            let r = w.open(&link, None).await;
            if r.status() == StatusCode::OK {
                c = Some(r);
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        assert!(
            c.is_some(),
            "a place freed by a closed stream is taken again"
        );
        assert_eq!(w.server.state.debug.streams.open_streams(), 2);
        drop(b);

        // Unknown and malformed tokens are misses, counted like the JSON view's.
        let missing = "/api/v1/call-debug/AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA/events";
        for path in [missing, "/api/v1/call-debug/short/events"] {
            let r = w
                .server
                .client
                .get(w.server.url(path))
                .send()
                .await
                .unwrap();
            let (status, body) = common::status_and_json(r).await;
            assert_eq!(
                (status, body),
                (
                    StatusCode::NOT_FOUND,
                    json!({"error": "Debug link not found"})
                )
            );
        }
        let r = w
            .server
            .client
            .get(w.server.url(missing))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::TOO_MANY_REQUESTS);
        assert!(r.headers().contains_key("retry-after"));
    }
);

both_backends!(
    control_events_and_webhook_attempts_reach_the_stream,
    |db: TestDb| async move {
        let w = in_process_world(&db).await;
        // An endpoint on a loopback port nothing listens on: its attempts fail at once,
        // and nothing leaves the machine.
        let acme = db.store.account_id("acme").await.unwrap().unwrap();
        let keys = &w.server.state.keys;
        db.store
            .insert_endpoint(
                &NewEndpoint {
                    account_id: acme,
                    url: "http://127.0.0.1:9/hooks".into(),
                    events: Vec::new(),
                    secret_enc: SigningSecret::generate()
                        .seal(&keys.webhook_secret)
                        .unwrap(),
                    created_at: UnixTime(1),
                },
                MAX_ENDPOINTS,
            )
            .await
            .unwrap()
            .unwrap();
        let (id, link) = w.live_call().await;
        let mut sse = w.stream(&link, None).await;
        let mut view = None;
        apply(&mut view, &sse.expect("snapshot").await);
        assert_eq!(view.as_ref().unwrap().webhooks, []);

        // The dispatcher attempts `call.started`: the attempt reaches the stream.
        let dispatcher = Dispatcher::new(
            db.store.clone(),
            keys.webhook_secret,
            DispatchConfig {
                allow_private: true,
                timeout: Duration::from_secs(5),
                ..DispatchConfig::default()
            },
            Arc::new(w.clock.clone()),
        );
        assert_eq!(dispatcher.run_once().await, 1);
        let attempts = sse.expect("webhooks").await;
        assert_eq!(attempts.data["from"], 0);
        let attempt = &attempts.data["webhooks"][0];
        assert_eq!(
            (
                &attempt["event"],
                &attempt["url"],
                &attempt["attempt"],
                &attempt["success"]
            ),
            (
                &json!("call.started"),
                &json!("http://127.0.0.1:9"),
                &json!(1),
                &json!(false)
            )
        );
        apply(&mut view, &attempts);

        // What the view shows of call control, as the call-control service records it.
        let call_id: callscope_shared::CallId = id.parse().unwrap();
        let started = callscope_server::storage::ControlEvent::new(
            callscope_shared::call_events::GATHER_STARTED,
            UnixTime(T0 + 5),
            Some("Enter the number 0612345678 then #".into()),
        );
        db.store.add_control_event(call_id, &started).await.unwrap();
        let state = sse.expect("call").await;
        assert_eq!(
            state.data["events"],
            json!([{"event": "call.gather.started", "at": "2026-01-15T10:00:05Z",
                    "detail": "Enter the number 061****678 then #"}])
        );
        apply(&mut view, &state);
        let json: PublicDebugView = serde_json::from_value(w.json_view(&link).await).unwrap();
        assert_eq!(view.unwrap(), json);
    }
);

/// Two instances on one PostgreSQL and one Redis, each with its own connection pool: a
/// change stored through one reaches streams held by the other, through Redis.
#[tokio::test]
async fn a_change_stored_by_one_instance_reaches_streams_on_another() {
    let db = TestDb::postgres().await;
    let prefix = common::redis_prefix();
    let redis = || common::redis_live(&prefix);
    let store_b = Store::connect(&db.url, 4).await.unwrap();
    let a = world(
        &db.store,
        redis().await,
        config_with(StreamLimits::default()),
    )
    .await;
    let mut b = world(
        &store_b,
        redis().await,
        config_with(StreamLimits::default()),
    )
    .await;
    b.key = a.key.clone();
    // Both instances' subscriptions are made before anything is announced.
    tokio::time::sleep(Duration::from_millis(300)).await;

    let (id, link) = a.live_call().await;
    let mut on_b = b.stream(&link, None).await;
    on_b.expect("snapshot").await;

    a.turns(&id, json!([turn(1, "assistant", "Hello from A", 0.0)]))
        .await;
    let turns = on_b.expect("turns").await;
    assert_eq!(turns.data["turns"][0]["content"], "Hello from A");
    on_b.expect("call").await;

    let revoke = a
        .server
        .client
        .post(a.server.url(&format!("/v1/calls/{id}/debug-link/revoke")))
        .bearer_auth(&a.key)
        .send()
        .await
        .unwrap();
    assert_eq!(revoke.status(), StatusCode::OK);
    assert_eq!(on_b.expect("closed").await.data["reason"], "revoked");
    store_b.close().await;
}

/// Shutting down ends open streams, so connections drain and the server stops (a stream
/// would otherwise hold its connection, and the shutdown, for as long as the call lasts).
#[tokio::test]
async fn shutdown_ends_open_streams() {
    let db = TestDb::sqlite().await;
    let w = in_process_world(&db).await;
    let (_, link) = w.live_call().await;
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let app = Application::builder(config_with(StreamLimits::default()))
        .store(db.store.clone())
        .live(LiveStore::in_process())
        .build()
        .await
        .unwrap();
    let addr = app.local_addr().unwrap();
    let serving = tokio::spawn(app.run_until(async {
        let _ = stopped.await;
    }));
    let response = w
        .server
        .client
        .get(format!("http://{addr}{link}/events"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let mut sse = Sse::new(response);
    sse.expect("snapshot").await;

    stop.send(()).unwrap();
    assert!(sse.next().await.is_none(), "the stream ends on shutdown");
    tokio::time::timeout(WAIT, serving)
        .await
        .expect("the server stops while a stream was open")
        .unwrap()
        .unwrap();
}
