//! `POST /v1/traces` over HTTP on both backends, with requests built from the OTLP crate's
//! messages: a Pipecat call arriving as exporters send it (service spans and turns minutes
//! before their root, in several requests, repeated, shuffled; protobuf, JSON, gzip), a
//! LiveKit Agents session, a trace following a call the pipeline created, two calls in one
//! request, and the bad requests.

use crate::common::{self, TestDb, TestServer};

use std::io::Write;
use std::sync::Arc;

use callscope_server::application::Application;
use callscope_server::auth::{KeyMode, create_key};
use callscope_server::clock::{ManualClock, UnixTime};
use callscope_server::live::LiveStore;
use callscope_server::storage::NewAgent;
use callscope_shared::{AgentId, Money};
use opentelemetry_proto::tonic::collector::trace::v1::{
    ExportTraceServiceRequest, ExportTraceServiceResponse,
};
use opentelemetry_proto::tonic::common::v1::{AnyValue, InstrumentationScope, KeyValue, any_value};
use opentelemetry_proto::tonic::resource::v1::Resource;
use opentelemetry_proto::tonic::trace::v1::{ResourceSpans, ScopeSpans, Span};
use prost::Message;
use reqwest::StatusCode;
use serde_json::{Value, json};

const T0: i64 = 1_768_471_200; // 2026-01-15T10:00:00Z
const TOKEN: &str = "pipeline-token-0123456789";
const AGENT_BITS: u32 = 0x07e1_0001;

struct W {
    server: TestServer,
    key: String,
    agent: String,
}

async fn world(db: &TestDb) -> W {
    let key = create_key(&db.store, "acme", KeyMode::Live, UnixTime(1))
        .await
        .unwrap();
    let acme = db.store.account_id("acme").await.unwrap().unwrap();
    let agent = db
        .store
        .insert_agent(&NewAgent {
            account_id: acme,
            public_id: AgentId::from_bits(AGENT_BITS),
            name: "Ada".into(),
            rate_per_minute: Money::from_units(2500),
            recording_enabled: false,
            recording_rate_per_minute: Money::from_units(100),
            created_at: UnixTime(1_768_000_000),
        })
        .await
        .unwrap();
    let mut config = common::config();
    config.pipeline_tokens = TOKEN.parse().unwrap();
    let app = Application::builder(config)
        .store(db.store.clone())
        .live(LiveStore::in_process())
        .clock(Arc::new(ManualClock::new(UnixTime(T0 + 3600))));
    W {
        server: TestServer::start_app(app).await,
        key: key.reveal().to_owned(),
        agent: agent.public_id.to_string(),
    }
}

// ---- building spans as the frameworks export them ----

fn s(v: &str) -> any_value::Value {
    any_value::Value::StringValue(v.into())
}
fn i(v: i64) -> any_value::Value {
    any_value::Value::IntValue(v)
}
fn f(v: f64) -> any_value::Value {
    any_value::Value::DoubleValue(v)
}
fn b(v: bool) -> any_value::Value {
    any_value::Value::BoolValue(v)
}

/// A span of trace `trace` (its byte repeated), id `id`, from `start` to `end` seconds
/// after T0.
fn span(
    trace: u8,
    id: u64,
    parent: Option<u64>,
    name: &str,
    (start, end): (f64, f64),
    attrs: Vec<(&str, any_value::Value)>,
) -> Span {
    let ns = |secs: f64| (T0 as u64) * 1_000_000_000 + (secs * 1e9).round() as u64;
    Span {
        trace_id: vec![trace; 16],
        span_id: id.to_be_bytes().to_vec(),
        parent_span_id: parent.map(|p| p.to_be_bytes().to_vec()).unwrap_or_default(),
        name: name.into(),
        kind: 1,
        start_time_unix_nano: ns(start),
        end_time_unix_nano: ns(end),
        attributes: attrs
            .into_iter()
            .map(|(k, v)| KeyValue {
                key: k.into(),
                value: Some(AnyValue { value: Some(v) }),
                ..Default::default()
            })
            .collect(),
        ..Default::default()
    }
}

fn request(spans: Vec<Span>) -> ExportTraceServiceRequest {
    ExportTraceServiceRequest {
        resource_spans: vec![ResourceSpans {
            resource: Some(Resource {
                attributes: vec![KeyValue {
                    key: "service.name".into(),
                    value: Some(AnyValue {
                        value: Some(s("voice-agent")),
                    }),
                    ..Default::default()
                }],
                ..Default::default()
            }),
            scope_spans: vec![ScopeSpans {
                scope: Some(InstrumentationScope {
                    name: "pipecat".into(),
                    ..Default::default()
                }),
                spans,
                ..Default::default()
            }],
            ..Default::default()
        }],
    }
}

const GREETING: &str = "Hello, this is Ada from Acme. How can I help?";

/// A Pipecat call of three turns on trace `t`: the greeting; an order question answered
/// after a tool call (made by the turn's first `llm` span, seen in the second's input); a
/// turn the caller interrupts. Returned as the exporter sends it: the service spans and
/// turns in three requests, the root (with `root_attrs`) last.
fn pipecat_call(
    t: u8,
    conversation_id: &str,
    root_attrs: Vec<(&str, any_value::Value)>,
) -> Vec<Vec<Span>> {
    let conv = |n: i64| {
        vec![
            ("conversation.id", s(conversation_id)),
            ("turn.number", i(n)),
            ("turn.type", s("conversation")),
        ]
    };
    let tool_input = json!([
        {"role": "system", "content": "You are Ada."},
        {"role": "assistant", "content": GREETING},
        {"role": "user", "content": "Where is my order 1234?"},
        {"role": "assistant", "content": null, "tool_calls": [{"id": "call_abc", "type": "function",
            "function": {"name": "lookup_order", "arguments": "{\"order_id\":\"1234\"}"}}]},
        {"role": "tool", "tool_call_id": "call_abc", "content": "{\"status\":\"shipped\"}"}
    ]);
    let turn1 = vec![
        span(
            t,
            11,
            Some(10),
            "llm",
            (0.6, 1.2),
            vec![
                ("output", s(GREETING)),
                ("metrics.ttfb", f(0.35)),
                ("input", s("[]")),
                ("gen_ai.operation.name", s("chat")),
            ],
        ),
        span(
            t,
            12,
            Some(10),
            "tts",
            (1.1, 4.0),
            vec![
                ("text", s(GREETING)),
                ("metrics.ttfb", f(0.12)),
                ("metrics.character_count", i(46)),
            ],
        ),
        span(t, 10, Some(1), "turn", (0.5, 4.5), {
            let mut a = conv(1);
            a.push(("turn.was_interrupted", b(false)));
            a
        }),
    ];
    let turn2 = vec![
        span(
            t,
            21,
            Some(20),
            "stt",
            (5.0, 5.9),
            vec![
                ("transcript", s("Where is my order 1234?")),
                ("is_final", b(true)),
                ("metrics.ttfb", f(0.2)),
                ("gen_ai.operation.name", s("stt")),
            ],
        ),
        span(
            t,
            22,
            Some(20),
            "llm",
            (6.0, 6.5),
            vec![
                ("output", s("")),
                ("metrics.ttfb", f(0.4)),
                (
                    "input",
                    s("[{\"role\":\"user\",\"content\":\"Where is my order 1234?\"}]"),
                ),
            ],
        ),
        span(
            t,
            23,
            Some(20),
            "llm",
            (7.0, 7.5),
            vec![
                ("output", s("Your order ships tomorrow.")),
                ("metrics.ttfb", f(0.3)),
                ("input", s(&tool_input.to_string())),
            ],
        ),
        span(
            t,
            24,
            Some(20),
            "tts",
            (7.6, 9.0),
            vec![
                ("text", s("Your order ships tomorrow.")),
                ("metrics.ttfb", f(0.1)),
            ],
        ),
        span(t, 20, Some(1), "turn", (5.0, 9.5), conv(2)),
    ];
    let turn3 = vec![
        span(
            t,
            31,
            Some(30),
            "stt",
            (13.0, 13.4),
            vec![
                ("transcript", s("Can you change the address?")),
                ("is_final", b(true)),
            ],
        ),
        span(
            t,
            32,
            Some(30),
            "llm",
            (13.5, 14.0),
            vec![
                ("output", s("Sure, what is the new address?")),
                ("metrics.ttfb", f(0.5)),
                ("input", s("[]")),
            ],
        ),
        span(
            t,
            33,
            Some(30),
            "tts",
            (14.2, 15.0),
            vec![
                ("text", s("Sure, what is")),
                ("metrics.ttfb", f(0.15)),
                ("tts.interrupted", b(true)),
            ],
        ),
        span(t, 30, Some(1), "turn", (13.0, 15.0), {
            let mut a = conv(3);
            a.push(("turn.was_interrupted", b(true)));
            a
        }),
    ];
    let mut attrs = vec![
        ("conversation.id", s(conversation_id)),
        ("conversation.type", s("voice")),
    ];
    attrs.extend(root_attrs);
    let root = vec![span(t, 1, None, "conversation", (0.0, 62.4), attrs)];
    vec![turn1, turn2, turn3, root]
}

fn creating_attrs(agent: &str) -> Vec<(&'static str, any_value::Value)> {
    vec![
        ("callscope.agent_id", s(agent)),
        ("callscope.from_number", s("+31612345678")),
        ("callscope.to_number", s("+31850012345")),
    ]
}

/// What the Pipecat call above must become (from the call object).
fn expected_pipecat(call: &Value, start_offset: f64) {
    let ts = |secs: f64| ((secs - start_offset) * 1000.0).round() / 1000.0;
    let transcript = call["transcript"].as_array().unwrap();
    let summary: Vec<Value> = transcript
        .iter()
        .map(|e| json!([e["role"], e["content"], e["timestamp"]]))
        .collect();
    assert_eq!(
        summary,
        vec![
            json!(["assistant", GREETING, ts(1.1)]),
            json!(["user", "Where is my order 1234?", ts(5.0)]),
            json!(["assistant", "Your order ships tomorrow.", ts(7.6)]),
            json!(["user", "Can you change the address?", ts(13.0)]),
            json!(["assistant", "Sure, what is the new address?", ts(14.2)]),
        ]
    );
    assert_eq!(
        transcript[2]["tool_calls"],
        json!([{"name": "lookup_order", "arguments": {"order_id": "1234"},
                "result": "{\"status\":\"shipped\"}"}])
    );
    assert_eq!(transcript[4]["interrupted"], true);
    assert_ne!(transcript[2]["interrupted"], true);
    assert_eq!(transcript[1]["stt_ms"], 200);
    let latency: Vec<Value> = call["latency_data"]["turns"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| json!([l["llm_ttfb_ms"], l["tts_start_ms"], l["tts_ttfb_ms"]]))
        .collect();
    assert_eq!(
        latency,
        vec![
            json!([350, 600, 120]),
            json!([400, 2600, 100]),
            json!([500, 1200, 150])
        ]
    );
    assert_eq!(call["tool_call_count"], 1);
    assert_eq!(call["tools_called"], json!(["lookup_order"]));
}

// ---- talking to the server ----

impl W {
    async fn send_raw(
        &self,
        body: Vec<u8>,
        content_type: &str,
        encoding: Option<&str>,
    ) -> reqwest::Response {
        let mut r = self
            .server
            .client
            .post(self.server.url("/v1/traces"))
            .bearer_auth(TOKEN)
            .header("content-type", content_type)
            .body(body);
        if let Some(e) = encoding {
            r = r.header("content-encoding", e);
        }
        r.send().await.unwrap()
    }

    /// Sends protobuf; the decoded answer.
    async fn send(&self, spans: Vec<Span>) -> ExportTraceServiceResponse {
        let r = self
            .send_raw(
                request(spans).encode_to_vec(),
                "application/x-protobuf",
                None,
            )
            .await;
        assert_eq!(r.status(), StatusCode::OK);
        assert_eq!(r.headers()["content-type"], "application/x-protobuf");
        ExportTraceServiceResponse::decode(r.bytes().await.unwrap()).unwrap()
    }

    async fn calls(&self) -> Vec<Value> {
        let (status, list) =
            common::status_and_json(self.server.get("/v1/calls?limit=100", &self.key).await).await;
        assert_eq!(status, StatusCode::OK, "{list}");
        list["calls"].as_array().unwrap().clone()
    }

    async fn call(&self, id: &str) -> Value {
        let (status, call) =
            common::status_and_json(self.server.get(&format!("/v1/calls/{id}"), &self.key).await)
                .await;
        assert_eq!(status, StatusCode::OK, "{call}");
        call
    }

    async fn only_call(&self) -> Value {
        let calls = self.calls().await;
        assert_eq!(calls.len(), 1, "{calls:?}");
        self.call(calls[0]["call_id"].as_str().unwrap()).await
    }
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    e.write_all(bytes).unwrap();
    e.finish().unwrap()
}

both_backends!(
    a_pipecat_trace_becomes_a_call_when_its_root_arrives,
    |db: TestDb| async move {
        let w = world(&db).await;
        let batches = pipecat_call(1, "conv-pipecat-1", creating_attrs(&w.agent));
        let (root, turns) = batches.split_last().unwrap();
        for batch in turns {
            let answer = w.send(batch.clone()).await;
            assert_eq!(answer.partial_success, None);
            // Spans before their root: kept, no call yet.
            assert_eq!(w.calls().await, Vec::<Value>::new());
        }
        w.send(root.clone()).await;
        let call = w.only_call().await;
        expected_pipecat(&call, 0.0);
        assert_eq!(
            json!([
                call["status"],
                call["disposition"],
                call["ended_reason"],
                call["started_at"],
                call["ended_at"],
                call["duration_seconds"],
                call["agent_id"],
                call["from_number"]
            ]),
            json!([
                "completed",
                "answered",
                "caller-hangup",
                "2026-01-15T10:00:00Z",
                "2026-01-15T10:01:02Z",
                62,
                w.agent,
                "+31612345678"
            ])
        );

        // Exporters retry: every request again, in another order, changes nothing.
        let before = w.only_call().await;
        for batch in batches.iter().rev() {
            w.send(batch.clone()).await;
        }
        assert_eq!(w.only_call().await, before);
    }
);

both_backends!(
    arrival_order_and_repeats_do_not_change_the_call,
    |db: TestDb| async move {
        let w = world(&db).await;
        let batches = pipecat_call(2, "conv-shuffled", creating_attrs(&w.agent));
        // Every span alone, in a scrambled order, each twice; the root last (it ends last).
        let mut spans: Vec<Span> = batches.concat();
        let root = spans.pop().unwrap();
        let n = spans.len();
        let order: Vec<usize> = (0..n).map(|k| (k * 7 + 3) % n).collect();
        for k in order {
            w.send(vec![spans[k].clone()]).await;
            w.send(vec![spans[k].clone()]).await;
        }
        w.send(vec![root.clone(), spans[0].clone()]).await;
        expected_pipecat(&w.only_call().await, 0.0);
    }
);

both_backends!(
    json_and_gzip_carry_the_same_trace,
    |db: TestDb| async move {
        let w = world(&db).await;
        let spans: Vec<Span> = pipecat_call(3, "conv-json", creating_attrs(&w.agent)).concat();
        let body = serde_json::to_vec(&request(spans)).unwrap();
        // OTLP/JSON: hex ids, int64 as strings.
        let text = String::from_utf8(body.clone()).unwrap();
        assert!(text.contains(&"03".repeat(16)), "{text}");
        let r = w
            .send_raw(gzip(&body), "application/json", Some("gzip"))
            .await;
        assert_eq!(r.status(), StatusCode::OK);
        assert_eq!(r.headers()["content-type"], "application/json");
        let answer: Value = r.json().await.unwrap();
        assert!(
            answer.get("partialSuccess").is_none_or(Value::is_null),
            "{answer}"
        );
        expected_pipecat(&w.only_call().await, 0.0);
    }
);

both_backends!(
    a_trace_naming_a_pipeline_call_follows_it_live,
    |db: TestDb| async move {
        let w = world(&db).await;
        let r = w
            .server
            .client
            .post(w.server.url("/pipeline/v1/calls"))
            .bearer_auth(TOKEN)
            .json(&json!({"agent_id": w.agent, "from_number": "+31612345678",
                "to_number": "+31850012345", "status": "in-progress",
                "started_at": "2026-01-15T10:00:00Z"}))
            .send()
            .await
            .unwrap();
        let (status, created) = common::status_and_json(r).await;
        assert_eq!(status, StatusCode::CREATED, "{created}");
        let id = created["call_id"].as_str().unwrap().to_owned();
        let batches = pipecat_call(4, &id, vec![]);
        // Turns 1 and 2 are in; turn 2 waits for turn 3 (its tool results would be there).
        w.send(batches[0].clone()).await;
        w.send(batches[1].clone()).await;
        let call = w.call(&id).await;
        assert_eq!(call["status"], "in-progress");
        let contents: Vec<&Value> = call["transcript"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| &e["content"])
            .collect();
        assert_eq!(contents, [GREETING]);
        w.send(batches[2].clone()).await;
        assert_eq!(w.call(&id).await["transcript"].as_array().unwrap().len(), 3);
        // The root: the rest, and the end.
        w.send(batches[3].clone()).await;
        let call = w.call(&id).await;
        expected_pipecat(&call, 0.0);
        assert_eq!(
            json!([call["status"], call["ended_at"]]),
            json!(["completed", "2026-01-15T10:01:02Z"])
        );
        assert_eq!(w.calls().await.len(), 1);
    }
);

/// A LiveKit Agents session on trace `t` (metadata on every span, as
/// `set_tracer_provider(metadata=…)` puts it).
fn livekit_session(t: u8, meta: &[(&'static str, &str)]) -> Vec<Span> {
    let with = |mut attrs: Vec<(&'static str, any_value::Value)>| {
        attrs.extend(meta.iter().map(|(k, v)| (*k, s(v))));
        attrs
    };
    vec![
        span(
            t,
            2,
            Some(1),
            "agent_turn",
            (0.2, 3.0),
            with(vec![
                ("lk.generation_id", s("g1")),
                ("lk.interrupted", b(false)),
            ]),
        ),
        span(
            t,
            3,
            Some(2),
            "llm_node",
            (0.3, 0.9),
            with(vec![
                ("lk.pii.response.text", s("Hi, I am Lee.")),
                ("lk.response.ttft", f(0.25)),
            ]),
        ),
        span(
            t,
            4,
            Some(2),
            "tts_node",
            (0.8, 2.5),
            with(vec![
                ("lk.pii.input_text", s("Hi, I am Lee.")),
                ("lk.response.ttfb", f(0.09)),
            ]),
        ),
        span(
            t,
            5,
            Some(1),
            "user_turn",
            (3.5, 5.0),
            with(vec![
                ("lk.pii.user_transcript", s("Book a table for two")),
                ("lk.transcription_delay", f(0.31)),
            ]),
        ),
        span(
            t,
            6,
            Some(1),
            "agent_turn",
            (5.2, 9.0),
            with(vec![("lk.interrupted", b(true))]),
        ),
        span(
            t,
            7,
            Some(6),
            "llm_node",
            (5.3, 6.0),
            with(vec![
                ("lk.pii.response.text", s("Booked for 8 pm.")),
                ("lk.response.ttft", f(0.6)),
            ]),
        ),
        span(
            t,
            8,
            Some(7),
            "function_tool",
            (5.5, 5.8),
            with(vec![
                ("lk.function_tool.name", s("book_table")),
                ("lk.pii.function_tool.arguments", s("{\"people\":2}")),
                ("lk.pii.function_tool.output", s("ok")),
                ("lk.function_tool.is_error", b(false)),
            ]),
        ),
        span(
            t,
            9,
            Some(6),
            "tts_node",
            (6.1, 8.0),
            with(vec![
                ("lk.pii.input_text", s("Booked for 8 pm.")),
                ("lk.response.ttfb", f(0.2)),
            ]),
        ),
        span(t, 1, None, "agent_session", (0.0, 30.2), with(vec![])),
    ]
}

both_backends!(a_livekit_session_becomes_a_call, |db: TestDb| async move {
    let w = world(&db).await;
    let meta = [
        ("callscope.agent_id", w.agent.as_str()),
        ("callscope.from_number", "+442071234567"),
        ("callscope.to_number", "+31850012345"),
        ("callscope.ended_reason", "agent-hangup"),
    ];
    let mut spans = livekit_session(5, &meta);
    let root = spans.pop().unwrap();
    w.send(spans.split_off(4)).await;
    w.send(spans).await;
    assert_eq!(w.calls().await, Vec::<Value>::new());
    w.send(vec![root]).await;
    let call = w.only_call().await;
    let summary: Vec<Value> = call["transcript"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            let interrupted = e["interrupted"].as_bool().unwrap_or(false);
            json!([e["role"], e["content"], e["timestamp"], interrupted])
        })
        .collect();
    assert_eq!(
        summary,
        vec![
            json!(["assistant", "Hi, I am Lee.", 0.8, false]),
            json!(["user", "Book a table for two", 3.5, false]),
            json!(["assistant", "Booked for 8 pm.", 6.1, true]),
        ]
    );
    assert_eq!(
        call["transcript"][2]["tool_calls"],
        json!([{"name": "book_table", "arguments": {"people": 2}, "result": "ok"}])
    );
    assert_eq!(call["transcript"][1]["stt_ms"], 310);
    let latency: Vec<Value> = call["latency_data"]["turns"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| json!([l["llm_ttfb_ms"], l["tts_start_ms"], l["tts_ttfb_ms"]]))
        .collect();
    assert_eq!(latency, vec![json!([250, 600, 90]), json!([600, 900, 200])]);
    assert_eq!(
        json!([
            call["ended_reason"],
            call["duration_seconds"],
            call["from_number"]
        ]),
        json!(["agent-hangup", 30, "+442071234567"])
    );
});

both_backends!(
    two_calls_in_one_request_do_not_mix,
    |db: TestDb| async move {
        let w = world(&db).await;
        let a = pipecat_call(6, "conv-a", creating_attrs(&w.agent)).concat();
        let meta = [
            ("callscope.agent_id", w.agent.as_str()),
            ("callscope.from_number", "+442071234567"),
            ("callscope.to_number", "+31850012345"),
        ];
        let b = livekit_session(7, &meta);
        // Interleaved, in one request and then again in two.
        let mut mixed: Vec<Span> = Vec::new();
        for k in 0..a.len().max(b.len()) {
            mixed.extend(a.get(k).cloned());
            mixed.extend(b.get(k).cloned());
        }
        w.send(mixed).await;
        w.send(b.clone()).await;
        w.send(a.clone()).await;
        let calls = w.calls().await;
        assert_eq!(calls.len(), 2);
        for listed in calls {
            let call = w.call(listed["call_id"].as_str().unwrap()).await;
            if call["from_number"] == "+31612345678" {
                expected_pipecat(&call, 0.0);
            } else {
                assert_eq!(call["turn_count"], 3);
                assert_eq!(call["tools_called"], json!(["book_table"]));
            }
        }
    }
);

both_backends!(
    bad_requests_get_clear_answers_and_change_nothing,
    |db: TestDb| async move {
        let w = world(&db).await;
        let url = w.server.url("/v1/traces");
        let proto =
            request(pipecat_call(8, "conv-bad", creating_attrs(&w.agent)).concat()).encode_to_vec();

        // No token, a wrong one.
        let r = w
            .server
            .client
            .post(&url)
            .header("content-type", "application/x-protobuf")
            .body(proto.clone())
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
        let r = w
            .server
            .client
            .post(&url)
            .bearer_auth("nope")
            .header("content-type", "application/x-protobuf")
            .body(proto.clone())
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::UNAUTHORIZED);

        // Media type, encoding.
        let r = w.send_raw(proto.clone(), "text/plain", None).await;
        assert_eq!(r.status(), StatusCode::UNSUPPORTED_MEDIA_TYPE);
        let body: Value = r.json().await.unwrap();
        assert_eq!(
            body["error"],
            "Content-Type must be application/x-protobuf or application/json"
        );
        let r = w
            .send_raw(proto.clone(), "application/x-protobuf", Some("br"))
            .await;
        assert_eq!(r.status(), StatusCode::UNSUPPORTED_MEDIA_TYPE);

        // Undecodable: 400, JSON like every error, also google.rpc.Status in OTLP/JSON.
        let r = w
            .send_raw(vec![0xff, 0xff, 0xff], "application/x-protobuf", None)
            .await;
        assert_eq!(r.status(), StatusCode::BAD_REQUEST);
        let body: Value = r.json().await.unwrap();
        assert_eq!(body["code"], 3);
        assert_eq!(body["error"], body["message"]);
        assert!(
            body["error"]
                .as_str()
                .unwrap()
                .starts_with("request body is not an OTLP ExportTraceServiceRequest"),
            "{body}"
        );
        let r = w
            .send_raw(b"{\"resourceSpans\": 7}".to_vec(), "application/json", None)
            .await;
        assert_eq!(r.status(), StatusCode::BAD_REQUEST);
        let body: Value = r.json().await.unwrap();
        assert!(
            body["error"]
                .as_str()
                .unwrap()
                .starts_with("request body is not an OTLP"),
            "{body}"
        );
        let r = w
            .send_raw(b"not gzip".to_vec(), "application/x-protobuf", Some("gzip"))
            .await;
        assert_eq!(r.status(), StatusCode::BAD_REQUEST);

        // Too large: declared, and inflated past the cap.
        let r = w
            .send_raw(
                vec![0u8; 16 * 1024 * 1024 + 1],
                "application/x-protobuf",
                None,
            )
            .await;
        assert_eq!(r.status(), StatusCode::PAYLOAD_TOO_LARGE);
        let bomb = gzip(&vec![0u8; 16 * 1024 * 1024 + 1]);
        let r = w
            .send_raw(bomb, "application/x-protobuf", Some("gzip"))
            .await;
        assert_eq!(r.status(), StatusCode::PAYLOAD_TOO_LARGE);
        assert_eq!(w.calls().await, Vec::<Value>::new());

        // Decodable, but spans rejected: partial success naming how many and why.
        let mut zero_id = span(9, 5, None, "turn", (1.0, 2.0), vec![]);
        zero_id.span_id = vec![0; 8];
        let answer = w.send(vec![zero_id]).await.partial_success.unwrap();
        assert_eq!(answer.rejected_spans, 1);
        assert_eq!(
            answer.error_message,
            "span \"turn\": spanId must be 8 bytes, not all zero"
        );
        // A root naming no call, and one naming an agent that does not exist.
        let answer = w
            .send(pipecat_call(10, "conv-anon", vec![]).concat())
            .await
            .partial_success
            .unwrap();
        assert_eq!(answer.rejected_spans, 1);
        assert!(
            answer.error_message.contains("names no callscope call"),
            "{}",
            answer.error_message
        );
        let answer = w
            .send(pipecat_call(11, "conv-ghost", creating_attrs("agent_0000000000000000")).concat())
            .await
            .partial_success
            .unwrap();
        assert_eq!(answer.rejected_spans, 1);
        assert_eq!(w.calls().await, Vec::<Value>::new());

        // Unrelated spans (an HTTP client's) are accepted and dropped.
        let other = span(12, 1, None, "GET /v1/chat", (0.0, 1.0), vec![]);
        assert_eq!(w.send(vec![other]).await.partial_success, None);
    }
);

both_backends!(
    framework_quirks_are_read_as_the_frameworks_emit_them,
    |db: TestDb| async move {
        let w = world(&db).await;
        // LiveKit: the session under the application's own span (a global provider);
        // a `session.say()` greeting (no `llm_node`; the text on `tts_request` only).
        let meta = [
            ("callscope.agent_id", w.agent.as_str()),
            ("callscope.from_number", "+442071234567"),
            ("callscope.to_number", "+31850012345"),
        ];
        let with = |mut attrs: Vec<(&'static str, any_value::Value)>| {
            attrs.extend(meta.iter().map(|(k, v)| (*k, s(v))));
            attrs
        };
        w.send(vec![
            span(20, 2, Some(1), "agent_turn", (0.1, 3.0), with(vec![])),
            span(
                20,
                3,
                Some(2),
                "tts_node",
                (0.2, 2.9),
                with(vec![("lk.response.ttfb", f(0.1))]),
            ),
            span(
                20,
                4,
                Some(3),
                "tts_request",
                (0.21, 2.8),
                with(vec![("lk.pii.input_text", s("Welcome to Lee's."))]),
            ),
            span(20, 1, Some(99), "agent_session", (0.0, 10.0), with(vec![])),
        ])
        .await;
        // Pipecat: an `stt` segment closed by silence (`is_final` false), and a goodbye the
        // end of the call closed (`turn.was_interrupted` with `turn.ended_by_conversation_end`).
        let agent = creating_attrs(&w.agent);
        w.send(vec![
            span(
                21,
                11,
                Some(10),
                "stt",
                (1.0, 2.0),
                vec![
                    ("transcript", s("Bye then")),
                    ("is_final", b(false)),
                    ("stt.incomplete", b(true)),
                ],
            ),
            span(
                21,
                12,
                Some(10),
                "tts",
                (2.5, 3.5),
                vec![("text", s("Goodbye!"))],
            ),
            span(
                21,
                10,
                Some(1),
                "turn",
                (1.0, 3.6),
                vec![
                    ("turn.number", i(1)),
                    ("turn.was_interrupted", b(true)),
                    ("turn.ended_by_conversation_end", b(true)),
                ],
            ),
            span(21, 1, Some(77), "conversation", (0.0, 4.0), agent),
        ])
        .await;
        let calls = w.calls().await;
        assert_eq!(calls.len(), 2, "{calls:?}");
        for listed in calls {
            let call = w.call(listed["call_id"].as_str().unwrap()).await;
            let entries: Vec<Value> = call["transcript"]
                .as_array()
                .unwrap()
                .iter()
                .map(|e| {
                    json!([
                        e["role"],
                        e["content"],
                        e["interrupted"].as_bool().unwrap_or(false)
                    ])
                })
                .collect();
            if call["from_number"] == "+442071234567" {
                assert_eq!(entries, [json!(["assistant", "Welcome to Lee's.", false])]);
                assert_eq!(call["status"], "completed");
            } else {
                assert_eq!(
                    entries,
                    [
                        json!(["user", "Bye then", false]),
                        json!(["assistant", "Goodbye!", false])
                    ]
                );
            }
        }
    }
);

both_backends!(
    over_the_concurrency_limit_exporters_are_told_to_retry,
    |db: TestDb| async move {
        let key = create_key(&db.store, "acme", KeyMode::Live, UnixTime(1))
            .await
            .unwrap();
        let acme = db.store.account_id("acme").await.unwrap().unwrap();
        let agent = crate::common::fixtures::agent(&db.store, acme, AGENT_BITS).await;
        let mut config = common::config();
        config.pipeline_tokens = TOKEN.parse().unwrap();
        config.otlp_concurrency = 1;
        let app = Application::builder(config)
            .store(db.store.clone())
            .live(LiveStore::in_process())
            .clock(Arc::new(ManualClock::new(UnixTime(T0 + 3600))));
        let w = W {
            server: TestServer::start_app(app).await,
            key: key.reveal().to_owned(),
            agent: agent.public_id.to_string(),
        };
        // Sixteen whole calls at once through one permit: each is taken or refused with
        // 429 and Retry-After, never anything else; the refused ones are sent again.
        let bodies: Vec<Vec<u8>> = (0..16u8)
            .map(|t| {
                request(pipecat_call(100 + t, "conv-load", creating_attrs(&w.agent)).concat())
                    .encode_to_vec()
            })
            .collect();
        let mut pending: Vec<Vec<u8>> = bodies.clone();
        let mut refused = 0;
        for _round in 0..50 {
            if pending.is_empty() {
                break;
            }
            let answers = futures_util::future::join_all(
                pending
                    .iter()
                    .map(|b| w.send_raw(b.clone(), "application/x-protobuf", None)),
            )
            .await;
            let mut again = Vec::new();
            for (body, r) in pending.into_iter().zip(answers) {
                match r.status() {
                    StatusCode::OK => {}
                    StatusCode::TOO_MANY_REQUESTS => {
                        assert_eq!(r.headers()["retry-after"], "1");
                        let answer: Value = r.json().await.unwrap();
                        assert_eq!(answer["error"], "Too many trace requests at once");
                        refused += 1;
                        again.push(body);
                    }
                    other => panic!("{other}: {:?}", r.text().await),
                }
            }
            pending = again;
        }
        assert!(pending.is_empty());
        assert!(
            refused > 0,
            "sixteen requests at once never met the limit of one"
        );
        let calls = w.calls().await;
        assert_eq!(calls.len(), 16);
        for listed in calls {
            expected_pipecat(&w.call(listed["call_id"].as_str().unwrap()).await, 0.0);
        }
    }
);

/// A Pipecat call whose turns arrive, then (`later` seconds on) an unrelated request, then
/// its root: the call made.
async fn root_after(db: &TestDb, later: i64) -> Value {
    let key = create_key(&db.store, "acme", KeyMode::Live, UnixTime(1))
        .await
        .unwrap();
    let acme = db.store.account_id("acme").await.unwrap().unwrap();
    let agent = crate::common::fixtures::agent(&db.store, acme, AGENT_BITS).await;
    let mut config = common::config();
    config.pipeline_tokens = TOKEN.parse().unwrap();
    let clock = ManualClock::new(UnixTime(T0 + 3600));
    let app = Application::builder(config)
        .store(db.store.clone())
        .live(LiveStore::in_process())
        .clock(Arc::new(clock.clone()));
    let w = W {
        server: TestServer::start_app(app).await,
        key: key.reveal().to_owned(),
        agent: agent.public_id.to_string(),
    };
    let mut batches = pipecat_call(30, "conv-late", creating_attrs(&w.agent));
    let root = batches.pop().unwrap();
    w.send(batches.concat()).await;
    clock.advance(later);
    // Expiry runs on a request, at most every ten minutes (the first request ran it).
    w.send(vec![span(31, 1, None, "turn", (0.0, 1.0), vec![])])
        .await;
    w.send(root).await;
    w.only_call().await
}

both_backends!(
    spans_no_call_claims_expire_after_a_day,
    |db: TestDb| async move {
        // A day after they arrived, the turns are kept: the root makes the whole call.
        let call = root_after(&db, callscope_server::otlp::UNCLAIMED_TTL).await;
        expected_pipecat(&call, 0.0);
    }
);

both_backends!(spans_older_than_a_day_are_gone, |db: TestDb| async move {
    // A second more, and they were deleted: the root alone makes a call with no entries.
    let call = root_after(&db, callscope_server::otlp::UNCLAIMED_TTL + 1).await;
    assert_eq!(call["turn_count"], 0, "{call}");
    assert_eq!(call["status"], "completed");
});

both_backends!(
    a_claim_abandoned_midway_is_taken_over,
    |db: TestDb| async move {
        let w = world(&db).await;
        let now = T0 + 3600;
        // A request claimed trace 40 to create its call and stopped (a crash) long ago;
        // trace 41's claim is a second old: its creator may still be at work.
        let stale = "28".repeat(16);
        let fresh = "29".repeat(16);
        assert!(
            db.store
                .claim_trace(&stale, None, UnixTime(now - 61))
                .await
                .unwrap()
        );
        assert!(
            db.store
                .claim_trace(&fresh, None, UnixTime(now - 1))
                .await
                .unwrap()
        );
        w.send(pipecat_call(40, "conv-stale", creating_attrs(&w.agent)).concat())
            .await;
        w.send(pipecat_call(41, "conv-fresh", creating_attrs(&w.agent)).concat())
            .await;
        expected_pipecat(&w.only_call().await, 0.0);
    }
);
