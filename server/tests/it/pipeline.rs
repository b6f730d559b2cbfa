//! The pipeline API (`/pipeline/v1/`): a live call reported turn by turn, over HTTP, and
//! what the owner's API, the summary, the outbox and the live store make of it.

use crate::common::{self, TestDb, TestServer, fixtures};

use std::sync::Arc;

use callscope_server::application::Application;
use callscope_server::auth::{KeyMode, create_key};
use callscope_server::clock::{Clock, ManualClock, UnixTime};
use callscope_server::live::LiveStore;
use callscope_server::storage::Store;
use callscope_shared::CallId;
use reqwest::StatusCode;
use serde_json::{Value, json};

const T0: i64 = 1_768_471_200; // 2026-01-15T10:00:00Z
const TOKEN: &str = "pipeline-token-0123456789";
const NEXT_TOKEN: &str = "pipeline-token-next-98765";

struct P {
    server: TestServer,
    store: Store,
    live: LiveStore,
    clock: ManualClock,
    key: String,
    agent: String,
}

/// An account with an agent (0.25 per minute) and a webhook endpoint, served with the
/// pipeline API on (`tokens`, comma-separated; empty: off) and a manual clock at T0.
async fn world(db: &TestDb, tokens: &str) -> P {
    let store = db.store.clone();
    let key = create_key(&store, "acme", KeyMode::Live, UnixTime(1))
        .await
        .unwrap();
    let acme = store.account_id("acme").await.unwrap().unwrap();
    let agent = fixtures::agent(&store, acme, 0x28c5_1f81).await;
    fixtures::endpoint(&store, acme).await;
    let clock = ManualClock::new(UnixTime(T0));
    let live = LiveStore::in_process();
    let mut config = common::config();
    config.pipeline_tokens = tokens.parse().unwrap();
    let app = Application::builder(config)
        .store(store.clone())
        .live(live.clone())
        .clock(Arc::new(clock.clone()));
    P {
        server: TestServer::start_app(app).await,
        store,
        live,
        clock,
        key: key.reveal().to_owned(),
        agent: agent.public_id.to_string(),
    }
}

impl P {
    async fn send(&self, method: &str, path: &str, body: Option<Value>) -> (StatusCode, Value) {
        self.send_as(Some(TOKEN), method, path, body).await
    }

    async fn send_as(
        &self,
        token: Option<&str>,
        method: &str,
        path: &str,
        body: Option<Value>,
    ) -> (StatusCode, Value) {
        let method = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
        let mut req = self.server.client.request(method, self.server.url(path));
        if let Some(token) = token {
            req = req.bearer_auth(token);
        }
        if let Some(body) = body {
            req = req.json(&body);
        }
        common::status_and_json(req.send().await.unwrap()).await
    }

    async fn get(&self, path: &str) -> (StatusCode, Value) {
        common::status_and_json(self.server.get(path, &self.key).await).await
    }

    async fn create(&self) -> CallId {
        let (status, call) = self
            .send(
                "POST",
                "/pipeline/v1/calls",
                Some(
                    json!({"agent_id": self.agent, "from_number": "+31612345678",
                    "to_number": "+31850012345", "metadata": {"crm_id": 7}}),
                ),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{call}");
        call["call_id"].as_str().unwrap().parse().unwrap()
    }
}

fn batch_1() -> Value {
    json!({"turns": [
        {"seq": 1, "role": "assistant", "content": "Hello, how can I help?", "timestamp": 0.0,
         "llm_ttfb_ms": 210, "tts_start_ms": 320, "tts_ttfb_ms": 95},
        {"seq": 2, "role": "user", "content": "I need to file a claim", "timestamp": 2.4},
    ]})
}

fn batch_2() -> Value {
    json!({"turns": [
        {"seq": 3, "role": "assistant", "content": "Let me look up your policy.", "timestamp": 5.1,
         "tool_calls": [{"name": "get_policy", "arguments": {"policy": "P-1"}, "result": "active"}],
         "llm_ttfb_ms": 400, "tts_start_ms": 500, "tts_ttfb_ms": 120},
        {"seq": 4, "role": "user", "content": "Thanks", "timestamp": 9.0},
        {"seq": 5, "role": "assistant", "content": "Ticket created.", "timestamp": 11.25,
         "tool_calls": [{"name": "create_ticket", "arguments": {}},
                        {"name": "get_policy", "arguments": {"policy": "P-2"}}]},
    ]})
}

fn patch() -> Value {
    json!({"metadata": {"crm_id": 8}, "extracted_data": {"claim": true},
           "llm_discount": 0.05, "call_cost": 0.4664, "ws_unavailable": true})
}

/// The call object without what differs between two calls of the same story.
fn story(mut call: Value) -> Value {
    call.as_object_mut().unwrap().remove("call_id");
    call
}

both_backends!(
    a_call_reported_live_ends_as_one_consistent_record,
    |db: TestDb| async move {
        let p = world(&db, TOKEN).await;
        let id = p.create().await;
        let (_, status) = p.get(&format!("/v1/calls/{id}/status")).await;
        assert_eq!(status["status"], "ringing");
        assert!(p.live.get(id).await.unwrap().is_some());

        p.clock.advance(5);
        let (s, answered) = p
            .send("POST", &format!("/pipeline/v1/calls/{id}/answer"), None)
            .await;
        assert_eq!(
            (s, answered["status"].clone()),
            (StatusCode::OK, json!("in-progress"))
        );
        let (s, again) = p
            .send("POST", &format!("/pipeline/v1/calls/{id}/answer"), None)
            .await;
        assert_eq!((s, again), (StatusCode::OK, answered));
        assert_eq!(
            p.live
                .get(id)
                .await
                .unwrap()
                .unwrap()
                .answered_at
                .unwrap()
                .unix(),
            T0 + 5,
            "the first answer's time is kept"
        );

        let turns = format!("/pipeline/v1/calls/{id}/turns");
        let (s, r) = p.send("POST", &turns, Some(batch_1())).await;
        assert_eq!(
            (s, &r["added"], &r["turn_count"]),
            (StatusCode::OK, &json!(2), &json!(2))
        );
        let (s, r) = p.send("POST", &turns, Some(batch_1())).await;
        assert_eq!(
            (s, &r["added"], &r["repeated"]),
            (StatusCode::OK, &json!(0), &json!(2))
        );
        // A different entry under a used seq: 409, and the new entry beside it is not kept.
        let (s, r) = p
        .send("POST", &turns, Some(json!({"turns": [
            {"seq": 6, "role": "user", "content": "new", "timestamp": 20.0},
            {"seq": 2, "role": "user", "content": "I need to file a complaint", "timestamp": 2.4},
        ]})))
        .await;
        assert_eq!(s, StatusCode::CONFLICT);
        assert_eq!(r["error"], "seq 2 already holds a different entry");
        let (s, r) = p.send("POST", &turns, Some(batch_2())).await;
        assert_eq!(
            (s, &r["added"], &r["turn_count"]),
            (StatusCode::OK, &json!(3), &json!(5))
        );

        // Live: detail, list, status and the public debug view show the turns so far.
        p.clock.advance(37);
        let (_, live_call) = p.get(&format!("/v1/calls/{id}")).await;
        assert_eq!(live_call["status"], "in-progress");
        assert_eq!(live_call["turn_count"], 5);
        assert_eq!(live_call["tool_call_count"], 3);
        assert_eq!(
            live_call["tools_called"],
            json!(["get_policy", "create_ticket"])
        );
        assert_eq!(live_call["transcript"].as_array().unwrap().len(), 5);
        assert_eq!(live_call["transcript"][1]["timestamp"], 2.4);
        assert_eq!(
            live_call["latency_data"]["turns"],
            json!([{"turn": 1, "ts": 0.0, "llm_ttfb_ms": 210, "tts_start_ms": 320, "tts_ttfb_ms": 95},
               {"turn": 2, "ts": 5.1, "llm_ttfb_ms": 400, "tts_start_ms": 500, "tts_ttfb_ms": 120}])
        );
        assert!(live_call["disposition"].is_null() && live_call["ended_at"].is_null());
        let (_, list) = p.get("/v1/calls?status=in-progress").await;
        assert_eq!(list["calls"][0]["call_id"], id.to_string());
        let (_, status) = p.get(&format!("/v1/calls/{id}/status")).await;
        assert_eq!(
            (status["status"].clone(), status["duration_seconds"].clone()),
            (json!("in-progress"), json!(42))
        );
        let (s, link) = p.get(&format!("/v1/calls/{id}/debug-link")).await;
        assert_eq!(s, StatusCode::OK, "{link}");
        let public = p
            .server
            .client
            .get(p.server.url(link["url"].as_str().unwrap()))
            .send()
            .await
            .unwrap();
        let (_, view) = common::status_and_json(public).await;
        assert_eq!(view["status"], "in-progress");
        assert_eq!(view["turns"].as_array().unwrap().len(), 5);
        assert_eq!(view["turns"][2]["llm_ttfb_ms"], 400);

        let (s, patched) = p
            .send("PATCH", &format!("/pipeline/v1/calls/{id}"), Some(patch()))
            .await;
        assert_eq!(s, StatusCode::OK, "{patched}");
        assert_eq!(patched["metadata"], json!({"crm_id": 8}));

        p.clock.set(UnixTime(T0 + 127));
        let end = format!("/pipeline/v1/calls/{id}/end");
        let (s, ended) = p
            .send("POST", &end, Some(json!({"ended_reason": "caller-hangup"})))
            .await;
        assert_eq!(s, StatusCode::OK, "{ended}");
        for (field, want) in [
            ("status", json!("completed")),
            ("disposition", json!("answered")),
            ("ended_reason", json!("caller-hangup")),
            ("duration_seconds", json!(127)),
            ("minutes_used", json!(2.12)),
            ("rate_per_minute", json!(0.25)),
            ("total_cost", json!(0.48)),
            ("call_cost", json!(0.4664)),
            ("llm_discount", json!(0.05)),
            ("recording_cost", json!(0.0)),
            ("ws_unavailable", json!(true)),
            ("extracted_data", json!({"claim": true})),
            ("turn_count", json!(5)),
            ("started_at", json!("2026-01-15T10:00:00Z")),
            ("ended_at", json!("2026-01-15T10:02:07Z")),
        ] {
            assert_eq!(ended[field], want, "{field}");
        }
        p.clock.advance(60);
        let (s, again) = p
            .send(
                "POST",
                &end,
                Some(json!({"ended_reason": "api", "status": "failed"})),
            )
            .await;
        assert_eq!(
            (s, &again),
            (StatusCode::OK, &ended),
            "a second end changes nothing"
        );
        assert!(p.live.get(id).await.unwrap().is_none());
        let (_, status) = p.get(&format!("/v1/calls/{id}/status")).await;
        assert_eq!(status["duration_seconds"], 127);

        let events: Vec<String> = p
            .store
            .call_events(id)
            .await
            .unwrap()
            .into_iter()
            .map(|(_, e)| e)
            .collect();
        assert_eq!(events, ["call.started", "call.ended"]);

        let (_, summary) = p.get("/v1/calls/summary").await;
        for (field, want) in [
            ("total_calls", json!(1)),
            ("completed_calls", json!(1)),
            ("answered_calls", json!(1)),
            ("total_duration_seconds", json!(127)),
            ("total_minutes_used", json!(2.12)),
            ("total_cost", json!(0.48)),
            ("total_llm_discount", json!(0.05)),
        ] {
            assert_eq!(summary[field], want, "{field}");
        }

        // After the end: new turns 409, repeats still accepted, answering 409.
        let (s, r) = p
        .send("POST", &turns, Some(json!({"turns": [{"seq": 9, "role": "user", "content": "hi", "timestamp": 1.0}]})))
        .await;
        assert_eq!(
            (s, r["error"].clone()),
            (StatusCode::CONFLICT, json!("Call has ended"))
        );
        let (s, _) = p.send("POST", &turns, Some(batch_2())).await;
        assert_eq!(s, StatusCode::OK);
        let (s, r) = p
            .send("POST", &format!("/pipeline/v1/calls/{id}/answer"), None)
            .await;
        assert_eq!(
            (s, r["error"].clone()),
            (StatusCode::CONFLICT, json!("Call is not in progress"))
        );

        // A post-call discount moves the total and the roll-ups with it.
        let (_, repriced) = p
            .send(
                "PATCH",
                &format!("/pipeline/v1/calls/{id}"),
                Some(json!({"llm_discount": 0.1})),
            )
            .await;
        assert_eq!(repriced["total_cost"], 0.43);
        let (_, summary) = p.get("/v1/calls/summary").await;
        assert_eq!(
            (
                summary["total_cost"].clone(),
                summary["total_calls"].clone()
            ),
            (json!(0.43), json!(1))
        );
        let (_, detail) = p.get(&format!("/v1/calls/{id}")).await;
        assert_eq!(detail["turn_count"], 5);
    }
);

both_backends!(
    the_final_record_does_not_depend_on_order_or_repeats,
    |db: TestDb| async move {
        let p = world(&db, TOKEN).await;
        let steps: Vec<(&str, &str, Option<Value>)> = vec![
            ("POST", "answer", None),
            ("POST", "turns", Some(batch_1())),
            ("POST", "turns", Some(batch_2())),
            ("PATCH", "", Some(patch())),
        ];
        let orders: [&[usize]; 3] = [&[0, 1, 2, 3], &[2, 3, 1, 0, 2], &[3, 2, 2, 0, 1, 0, 1, 3]];
        let mut finals = Vec::new();
        for order in orders {
            p.clock.set(UnixTime(T0));
            let id = p.create().await;
            for &i in order {
                let (method, tail, body) = &steps[i];
                let path = if tail.is_empty() {
                    format!("/pipeline/v1/calls/{id}")
                } else {
                    format!("/pipeline/v1/calls/{id}/{tail}")
                };
                p.clock.advance(3);
                let (s, r) = p.send(method, &path, body.clone()).await;
                assert_eq!(s, StatusCode::OK, "{method} {path}: {r}");
            }
            p.clock.set(UnixTime(T0 + 127));
            let end = format!("/pipeline/v1/calls/{id}/end");
            p.send("POST", &end, Some(json!({"ended_reason": "caller-hangup"})))
                .await;
            p.send("POST", &end, Some(json!({"ended_reason": "caller-hangup"})))
                .await;
            let (_, call) = p.get(&format!("/v1/calls/{id}")).await;
            let events = p.store.call_events(id).await.unwrap().len();
            assert_eq!(events, 2, "call.started and call.ended, once each");
            finals.push(story(call));
        }
        assert_eq!(finals[0], finals[1]);
        assert_eq!(finals[0], finals[2]);
        assert_eq!(
            finals[0]["latency_data"]["turns"].as_array().unwrap().len(),
            2
        );
        let (_, summary) = p.get("/v1/calls/summary").await;
        assert_eq!(
            (
                summary["total_calls"].clone(),
                summary["total_cost"].clone()
            ),
            (json!(3), json!(1.44))
        );
    }
);

both_backends!(
    an_unanswered_call_is_no_answer_and_costs_nothing,
    |db: TestDb| async move {
        let p = world(&db, TOKEN).await;
        let id = p.create().await;
        p.clock.advance(30);
        let (_, ended) = p
            .send(
                "POST",
                &format!("/pipeline/v1/calls/{id}/end"),
                Some(json!({"ended_reason": "timeout"})),
            )
            .await;
        assert_eq!(
            (ended["status"].clone(), ended["disposition"].clone()),
            (json!("no-answer"), json!("no-answer"))
        );
        assert_eq!(
            (
                ended["duration_seconds"].clone(),
                ended["minutes_used"].clone(),
                ended["total_cost"].clone()
            ),
            (json!(30), json!(0.0), json!(0.0))
        );
        let (_, summary) = p.get("/v1/calls/summary").await;
        assert_eq!(
            (
                summary["total_calls"].clone(),
                summary["no_answer_calls"].clone()
            ),
            (json!(1), json!(1))
        );
    }
);

backend_independent!(
    bad_input_is_refused_and_changes_nothing,
    |db: TestDb| async move {
        let p = world(&db, TOKEN).await;
        let id = p.create().await;
        p.send(
            "POST",
            &format!("/pipeline/v1/calls/{id}/turns"),
            Some(batch_1()),
        )
        .await;
        let (_, before) = p.get(&format!("/v1/calls/{id}")).await;
        let (_, summary_before) = p.get("/v1/calls/summary").await;
        let calls = format!("/pipeline/v1/calls/{id}");
        let ok_create = json!({"agent_id": p.agent, "from_number": "+31612345678", "to_number": "+31850012345"});
        let with = |mut v: Value, k: &str, x: Value| {
            v[k] = x;
            v
        };
        let cases: Vec<(&str, String, Option<Value>, StatusCode, &str)> = vec![
            (
                "POST",
                "/pipeline/v1/calls".into(),
                Some(with(ok_create.clone(), "agent_id", json!("agent_00000000"))),
                StatusCode::NOT_FOUND,
                "Agent not found",
            ),
            (
                "POST",
                "/pipeline/v1/calls".into(),
                Some(with(ok_create.clone(), "agent_id", json!(true))),
                StatusCode::BAD_REQUEST,
                "agent_id must be",
            ),
            (
                "POST",
                "/pipeline/v1/calls".into(),
                Some(with(ok_create.clone(), "from_number", json!("+123"))),
                StatusCode::BAD_REQUEST,
                "from_number must be a valid E.164",
            ),
            (
                "POST",
                "/pipeline/v1/calls".into(),
                Some(with(ok_create.clone(), "status", json!("completed"))),
                StatusCode::BAD_REQUEST,
                "status must be one of: ringing, in-progress",
            ),
            (
                "POST",
                "/pipeline/v1/calls".into(),
                Some(with(ok_create.clone(), "started_at", json!("yesterday"))),
                StatusCode::BAD_REQUEST,
                "Invalid request body",
            ),
            (
                "POST",
                "/pipeline/v1/calls".into(),
                Some(with(ok_create.clone(), "colour", json!("red"))),
                StatusCode::BAD_REQUEST,
                "unknown field",
            ),
            (
                "POST",
                "/pipeline/v1/calls".into(),
                Some(with(ok_create.clone(), "metadata", json!([1]))),
                StatusCode::BAD_REQUEST,
                "metadata must be a JSON object",
            ),
            (
                "POST",
                format!("{calls}/turns"),
                Some(
                    json!({"turns": [{"seq": 0, "role": "user", "content": "x", "timestamp": 1.0}]}),
                ),
                StatusCode::BAD_REQUEST,
                "seq must be from 1",
            ),
            (
                "POST",
                format!("{calls}/turns"),
                Some(
                    json!({"turns": [{"seq": 7, "role": "user", "content": "x", "timestamp": 1.0, "llm_ttfb_ms": 1, "tts_start_ms": 1, "tts_ttfb_ms": 1}]}),
                ),
                StatusCode::BAD_REQUEST,
                "only assistant turns carry latency",
            ),
            (
                "POST",
                format!("{calls}/turns"),
                Some(
                    json!({"turns": [{"seq": 7, "role": "robot", "content": "x", "timestamp": 1.0}]}),
                ),
                StatusCode::BAD_REQUEST,
                "Invalid request body",
            ),
            (
                "POST",
                format!("{calls}/turns"),
                Some(
                    json!({"turns": [{"seq": 7, "role": "user", "content": "x", "timestamp": -1}]}),
                ),
                StatusCode::BAD_REQUEST,
                "timestamp must be",
            ),
            (
                "POST",
                format!("{calls}/turns"),
                Some(json!({"turns": []})),
                StatusCode::BAD_REQUEST,
                "turns must not be empty",
            ),
            (
                "POST",
                "/pipeline/v1/calls/call_99999999/turns".into(),
                Some(batch_2()),
                StatusCode::NOT_FOUND,
                "Call not found",
            ),
            (
                "POST",
                "/pipeline/v1/calls/nonsense/answer".into(),
                None,
                StatusCode::NOT_FOUND,
                "Call not found",
            ),
            (
                "PATCH",
                calls.clone(),
                Some(json!({"llm_discount": -1})),
                StatusCode::BAD_REQUEST,
                "llm_discount must not be negative",
            ),
            (
                "PATCH",
                calls.clone(),
                Some(json!({"extracted_data": "x"})),
                StatusCode::BAD_REQUEST,
                "extracted_data must be a JSON object",
            ),
            (
                "PATCH",
                calls.clone(),
                Some(json!({"ws_unavailable": "yes"})),
                StatusCode::BAD_REQUEST,
                "Invalid request body",
            ),
            (
                "POST",
                format!("{calls}/end"),
                Some(json!({"ended_reason": "bored"})),
                StatusCode::BAD_REQUEST,
                "Invalid request body",
            ),
            (
                "POST",
                format!("{calls}/end"),
                Some(json!({"ended_reason": "api", "status": "ringing"})),
                StatusCode::BAD_REQUEST,
                "status must be one of",
            ),
            (
                "POST",
                format!("{calls}/end"),
                Some(json!({"ended_reason": "api", "ended_at": "2026-01-15T09:59:59Z"})),
                StatusCode::BAD_REQUEST,
                "ended_at must not be before",
            ),
            (
                "POST",
                format!("{calls}/end?force=1"),
                Some(json!({"ended_reason": "api"})),
                StatusCode::BAD_REQUEST,
                "force",
            ),
        ];
        for (method, path, body, want, message) in cases {
            let (s, r) = p.send(method, &path, body.clone()).await;
            assert_eq!(s, want, "{method} {path} {body:?}: {r}");
            assert!(
                r["error"].as_str().unwrap().contains(message),
                "{method} {path}: {r}"
            );
        }
        // Not JSON at all.
        let r = p
            .server
            .client
            .post(p.server.url(&format!("{calls}/end")))
            .bearer_auth(TOKEN)
            .header("content-type", "application/json")
            .body("{nope")
            .send()
            .await
            .unwrap();
        let (s, r) = common::status_and_json(r).await;
        assert_eq!(
            (s, r["error"].clone()),
            (
                StatusCode::BAD_REQUEST,
                json!("Request body is not valid JSON")
            )
        );

        let (_, after) = p.get(&format!("/v1/calls/{id}")).await;
        assert_eq!(after, before);
        let (_, summary_after) = p.get("/v1/calls/summary").await;
        assert_eq!(summary_after, summary_before);
        let (_, list) = p.get("/v1/calls").await;
        assert_eq!(list["calls"].as_array().unwrap().len(), 1);
        assert_eq!(p.store.call_events(id).await.unwrap().len(), 1);
    }
);

backend_independent!(
    the_pipeline_token_guards_the_api_and_rotates,
    |db: TestDb| async move {
        let p = world(&db, &format!("{TOKEN},{NEXT_TOKEN}")).await;
        let body = json!({"agent_id": p.agent, "from_number": "anonymous", "to_number": "sip:desk@example.com"});
        let (s, r) = p
            .send_as(None, "POST", "/pipeline/v1/calls", Some(body.clone()))
            .await;
        assert_eq!(
            (s, r["error"].clone()),
            (StatusCode::UNAUTHORIZED, json!("Missing pipeline token"))
        );
        for wrong in ["pipeline-token-012345678", p.key.as_str()] {
            let (s, r) = p
                .send_as(
                    Some(wrong),
                    "POST",
                    "/pipeline/v1/calls",
                    Some(body.clone()),
                )
                .await;
            assert_eq!(
                (s, r["error"].clone()),
                (StatusCode::UNAUTHORIZED, json!("Invalid pipeline token"))
            );
        }
        for token in [TOKEN, NEXT_TOKEN] {
            let (s, r) = p
                .send_as(
                    Some(token),
                    "POST",
                    "/pipeline/v1/calls",
                    Some(body.clone()),
                )
                .await;
            assert_eq!(s, StatusCode::CREATED, "{r}");
        }
        // An account's API key is no pipeline token, and the pipeline token is no API key.
        let (s, _) = p.get("/v1/calls").await;
        assert_eq!(s, StatusCode::OK);
        let r = p.server.get("/v1/calls", TOKEN).await;
        assert_eq!(r.status(), StatusCode::UNAUTHORIZED);

        let off = world(&TestDb::sqlite().await, "").await;
        let (s, r) = off.send("POST", "/pipeline/v1/calls", Some(body)).await;
        assert_eq!(
            (s, r["error"].clone()),
            (
                StatusCode::NOT_FOUND,
                json!("The pipeline API is not enabled (set CALLSCOPE_PIPELINE_TOKEN)")
            )
        );
    }
);

both_backends!(
    a_repeated_create_with_the_same_call_control_id_is_the_same_call,
    |db: TestDb| async move {
        let p = world(&db, TOKEN).await;
        let body = json!({"agent_id": p.agent, "from_number": "+31612345678", "to_number": "+31850012345",
                      "call_control_id": "v3:abc", "status": "in-progress"});
        let (s1, first) = p
            .send("POST", "/pipeline/v1/calls", Some(body.clone()))
            .await;
        let (s2, second) = p.send("POST", "/pipeline/v1/calls", Some(body)).await;
        assert_eq!((s1, s2), (StatusCode::CREATED, StatusCode::OK));
        assert_eq!(first, second);
        let id: CallId = first["call_id"].as_str().unwrap().parse().unwrap();
        let live = p.live.get(id).await.unwrap().unwrap();
        assert_eq!(live.call_control_id.as_deref(), Some("v3:abc"));
        assert_eq!(live.answered_at.map(|t| t.unix()), Some(T0));
        assert_eq!(p.clock.now(), UnixTime(T0));

        // Eight creates naming one provider call at the same moment: one call.
        let body = json!({"agent_id": p.agent, "from_number": "+31612345678",
                          "to_number": "+31850012345", "call_control_id": "v3:race"});
        let mut tasks = tokio::task::JoinSet::new();
        for _ in 0..8 {
            let request = p
                .server
                .client
                .post(p.server.url("/pipeline/v1/calls"))
                .bearer_auth(TOKEN)
                .json(&body);
            tasks
                .spawn(async move { common::status_and_json(request.send().await.unwrap()).await });
        }
        let answers = tasks.join_all().await;
        let created = answers
            .iter()
            .filter(|(s, _)| *s == StatusCode::CREATED)
            .count();
        assert_eq!(created, 1, "{answers:?}");
        assert!(
            answers
                .iter()
                .all(|(s, call)| s.is_success() && call["call_id"] == answers[0].1["call_id"])
        );
        let id: CallId = answers[0].1["call_id"].as_str().unwrap().parse().unwrap();
        assert_eq!(
            p.store.call_events(id).await.unwrap().len(),
            1,
            "one call.started"
        );
    }
);

both_backends!(
    interruptions_stt_latency_and_tool_results_reach_both_views,
    |db: TestDb| async move {
        let p = world(&db, TOKEN).await;
        let id = p.create().await;
        let turns = format!("/pipeline/v1/calls/{id}/turns");
        let batch = json!({"turns": [
            {"seq": 1, "role": "user", "content": "My number is +31612345678", "timestamp": 0.5,
             "stt_ms": 180},
            {"seq": 2, "role": "assistant", "content": "Let me check", "timestamp": 1.5,
             "interrupted": true, "llm_ttfb_ms": 300, "tts_start_ms": 420, "tts_ttfb_ms": 90,
             "tool_calls": [{"name": "lookup", "arguments": {"phone": "+31612345678"},
                             "result": "found +31612345678"}]},
        ]});
        for want in [2, 0] {
            let (s, added) = p.send("POST", &turns, Some(batch.clone())).await;
            assert_eq!(
                (s, added["added"].clone()),
                (StatusCode::OK, json!(want)),
                "{added}"
            );
        }
        // The same seq with another flag is another entry.
        let mut other = batch.clone();
        other["turns"][1]["interrupted"] = json!(false);
        let (s, err) = p.send("POST", &turns, Some(other)).await;
        assert_eq!(
            (s, err),
            (
                StatusCode::CONFLICT,
                json!({"error": "seq 2 already holds a different entry"})
            )
        );

        let (_, call) = p.get(&format!("/v1/calls/{id}")).await;
        let transcript = &call["transcript"];
        assert_eq!(transcript[0]["stt_ms"], 180);
        assert!(
            transcript[0].get("interrupted").is_none(),
            "omitted when false"
        );
        assert_eq!(transcript[1]["interrupted"], true);
        assert!(transcript[1].get("stt_ms").is_none());
        assert_eq!(
            transcript[1]["tool_calls"][0]["result"],
            "found +31612345678"
        );

        let (_, link) = p.get(&format!("/v1/calls/{id}/debug-link")).await;
        let public = p
            .server
            .client
            .get(p.server.url(link["url"].as_str().unwrap()))
            .send()
            .await
            .unwrap();
        let (_, view) = common::status_and_json(public).await;
        assert_eq!(view["turns"][0]["stt_ms"], 180);
        assert_eq!(view["turns"][1]["interrupted"], true);
        let tool = &view["turns"][1]["tool_calls"][0];
        let result = tool["result"].as_str().unwrap();
        assert!(
            result.starts_with("found +316") && !result.contains("12345678"),
            "{result}"
        );
        assert!(
            !tool["arguments"]["phone"]
                .as_str()
                .unwrap()
                .contains("12345678")
        );

        for (turn, message) in [
            (
                json!({"seq": 9, "role": "user", "content": "x", "timestamp": 1.0, "interrupted": true}),
                "turn 9: only assistant turns can be interrupted",
            ),
            (
                json!({"seq": 9, "role": "assistant", "content": "x", "timestamp": 1.0, "stt_ms": 5}),
                "turn 9: only user turns carry stt_ms",
            ),
            (
                json!({"seq": 9, "role": "user", "content": "x", "timestamp": 1.0, "stt_ms": -1}),
                "turn 9: stt_ms must be milliseconds from 0 to 600000",
            ),
        ] {
            let (s, err) = p.send("POST", &turns, Some(json!({"turns": [turn]}))).await;
            assert_eq!(
                (s, err),
                (StatusCode::BAD_REQUEST, json!({"error": message}))
            );
        }
        let (s, err) = p
            .send(
                "POST",
                &turns,
                Some(json!({"turns": [{"seq": 9, "role": "user", "content": "x",
                                       "timestamp": 1.0, "interrupted": "yes"}]})),
            )
            .await;
        assert_eq!(s, StatusCode::BAD_REQUEST, "{err}");
        let (_, after) = p.get(&format!("/v1/calls/{id}")).await;
        assert_eq!(after["turn_count"], 2, "nothing was stored by the refusals");
    }
);

/// Money in a JSON answer as integer ten-thousandths.
fn units(v: &Value) -> i64 {
    (v.as_f64().unwrap_or_else(|| panic!("money: {v}")) * 10_000.0).round() as i64
}

/// Summary money (cents) as integer ten-thousandths.
fn summary_units(exact: i64) -> i64 {
    (exact + 50).div_euclid(100) * 100
}

both_backends!(
    recording_is_pre_debited_live_and_settled_per_started_minute,
    |db: TestDb| async move {
        let p = world(&db, TOKEN).await;
        let acme = p.store.account_id("acme").await.unwrap().unwrap();
        // Usage 0.25 per minute; recording 0.015 per minute (not the default, to see it used).
        let recorder = p
            .store
            .insert_agent(&callscope_server::storage::NewAgent {
                account_id: acme,
                public_id: callscope_shared::AgentId::from_bits(0x5eed_0001),
                name: "Recorder".into(),
                rate_per_minute: callscope_shared::Money::from_units(2_500),
                recording_enabled: true,
                recording_rate_per_minute: callscope_shared::Money::from_units(150),
                created_at: UnixTime(1),
            })
            .await
            .unwrap();
        let create = |status: &'static str| {
            let agent = recorder.public_id.to_string();
            let p = &p;
            async move {
                let (s, call) = p
                    .send(
                        "POST",
                        "/pipeline/v1/calls",
                        Some(json!({"agent_id": agent, "from_number": "+31612345678",
                                    "to_number": "+31850012345", "status": status})),
                    )
                    .await;
                assert_eq!(s, StatusCode::CREATED, "{call}");
                call
            }
        };
        let end = |id: String, seconds: Option<i64>| {
            let p = &p;
            async move {
                let mut body = json!({"ended_reason": "caller-hangup"});
                if let Some(seconds) = seconds {
                    let at = UnixTime(T0 + seconds).timestamp().unwrap();
                    body["ended_at"] = serde_json::to_value(at).unwrap();
                }
                let (s, call) = p
                    .send("POST", &format!("/pipeline/v1/calls/{id}/end"), Some(body))
                    .await;
                assert_eq!(s, StatusCode::OK, "{call}");
                call
            }
        };

        // Durations around minute boundaries and the started minutes each is billed for.
        let cases = [
            (0, 0),
            (1, 1),
            (59, 1),
            (60, 1),
            (61, 2),
            (119, 2),
            (120, 2),
            (121, 3),
        ];
        let mut ids = Vec::new();
        for _ in cases {
            let call = create("in-progress").await;
            // Live: one minute pre-debited, and the total includes it.
            assert_eq!(call["recording_enabled"], true, "{call}");
            assert_eq!(units(&call["recording_cost"]), 150, "{call}");
            assert_eq!(units(&call["total_cost"]), 150, "{call}");
            let id = call["call_id"].as_str().unwrap().to_owned();
            let (_, detail) = p.get(&format!("/v1/calls/{id}")).await;
            assert_eq!(units(&detail["recording_cost"]), 150, "{detail}");
            ids.push(id);
        }
        // A recorded call that never connects.
        let unanswered = create("ringing").await["call_id"]
            .as_str()
            .unwrap()
            .to_owned();
        let (_, summary) = p.get("/v1/calls/summary").await;
        let live_predebits = 150 * (cases.len() as i64 + 1);
        assert_eq!(
            units(&summary["total_recording_cost"]),
            summary_units(live_predebits),
            "{summary}"
        );
        assert_eq!(
            units(&summary["total_cost"]),
            summary_units(live_predebits),
            "{summary}"
        );

        let (mut recording_sum, mut total_sum) = (0, 0);
        for ((seconds, billed_minutes), id) in cases.iter().zip(&ids) {
            let ended = end(id.clone(), Some(*seconds)).await;
            assert_eq!(ended["duration_seconds"], *seconds, "{ended}");
            let recording = billed_minutes * 150;
            assert_eq!(
                units(&ended["recording_cost"]),
                recording,
                "{seconds} s: {ended}"
            );
            let minutes_e2 = (seconds * 100 + 30) / 60;
            assert_eq!(
                (ended["minutes_used"].as_f64().unwrap() * 100.0).round() as i64,
                minutes_e2,
                "{seconds} s"
            );
            let usage = (minutes_e2 * 2_500 + 50) / 100;
            assert_eq!(
                units(&ended["total_cost"]),
                usage + recording,
                "{seconds} s: {ended}"
            );
            // Ending again settles nothing more, whatever the body says.
            let again = end(id.clone(), Some(seconds + 600)).await;
            assert_eq!(again, ended);
            let (_, detail) = p.get(&format!("/v1/calls/{id}")).await;
            assert_eq!(
                (
                    units(&detail["recording_cost"]),
                    units(&detail["total_cost"])
                ),
                (recording, usage + recording)
            );
            recording_sum += recording;
            total_sum += usage + recording;
        }
        // Never answered: the pre-debit is refunded.
        let refunded = end(unanswered.clone(), Some(30)).await;
        assert_eq!(refunded["status"], "no-answer", "{refunded}");
        assert_eq!(
            (
                units(&refunded["recording_cost"]),
                units(&refunded["total_cost"])
            ),
            (0, 0)
        );
        assert_eq!(end(unanswered, None).await, refunded);

        let (_, summary) = p.get("/v1/calls/summary").await;
        assert_eq!(recording_sum, 150 * 12);
        assert_eq!(
            units(&summary["total_recording_cost"]),
            summary_units(recording_sum),
            "{summary}"
        );
        assert_eq!(
            units(&summary["total_cost"]),
            summary_units(total_sum),
            "{summary}"
        );
        assert_eq!(summary["total_calls"], cases.len() + 1);
    }
);
