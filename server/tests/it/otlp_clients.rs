//! `POST /v1/traces` against real clients: the OpenTelemetry Python SDK and its OTLP/HTTP
//! exporter (pinned in `tests/otlp/requirements.txt`, installed by `scripts/setup.sh` into a
//! venv whose python is `CALLSCOPE_OTLP_PYTHON`) send calls traced as Pipecat 1.x and
//! LiveKit Agents 1.7 trace them (`tests/otlp/*.py`: span names, nesting, tracer scopes,
//! attributes and their types, timing), configured only through
//! `OTEL_EXPORTER_OTLP_ENDPOINT` and `OTEL_EXPORTER_OTLP_HEADERS`; protobuf from the SDK's
//! exporter and OTLP/JSON built from the exporter's own message. Spans arrive as exporters
//! send them: turns and service spans in requests long before their root, every request
//! twice, one span per request, two calls in the same requests, the whole trace again after
//! the call ended. Each resulting call is checked exactly through the owner's API.
//!
//! Without `CALLSCOPE_OTLP_PYTHON` the tests say they are skipped, except under `CI`, where
//! they fail: CI runs them all.

use crate::common::{self, TestDb, TestServer, fixtures};

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use callscope_server::application::Application;
use callscope_server::auth::{KeyMode, create_key};
use callscope_server::clock::{ManualClock, UnixTime};
use callscope_server::live::LiveStore;
use reqwest::StatusCode;
use serde_json::{Value, json};

/// 2026-01-15T10:00:00Z, the scenes' base instant.
const T0: i64 = 1_768_471_200;
const TOKEN: &str = "pipeline-token-otlp-clients-42";
/// Longest a script may run (it sends a few dozen requests to loopback).
const SCRIPT_TIMEOUT: Duration = Duration::from_secs(120);

/// The venv's python, or `None` (the test is skipped) when the test command did not set
/// it up; under `CI` a missing python fails the test.
fn python() -> Option<PathBuf> {
    match std::env::var_os("CALLSCOPE_OTLP_PYTHON") {
        Some(path) if !path.is_empty() => Some(PathBuf::from(path)),
        _ if std::env::var_os("CI").is_some() => panic!(
            "CALLSCOPE_OTLP_PYTHON is not set: scripts/setup.sh installs the OpenTelemetry \
             Python SDK (tests/otlp/requirements.txt) and sets it; CI runs these tests"
        ),
        _ => {
            eprintln!(
                "SKIPPED: CALLSCOPE_OTLP_PYTHON is not set (run `source scripts/setup.sh` \
                 first); the OTLP real-client tests did not run"
            );
            None
        }
    }
}

/// An account with an API key and an agent, served with the pipeline token and a clock an
/// hour after the scenes (trace times must not be in the future).
struct W {
    server: TestServer,
    python: PathBuf,
    key: String,
    agent: String,
}

async fn world(db: &TestDb) -> Option<W> {
    let python = python()?;
    let store = db.store.clone();
    let key = create_key(&store, "acme", KeyMode::Live, UnixTime(1))
        .await
        .unwrap();
    let acme = store.account_id("acme").await.unwrap().unwrap();
    let agent = fixtures::agent(&store, acme, 0x0e1f_7a5c).await;
    let mut config = common::config();
    config.pipeline_tokens = TOKEN.parse().unwrap();
    let app = Application::builder(config)
        .store(store)
        .live(LiveStore::in_process())
        .clock(Arc::new(ManualClock::new(UnixTime(T0 + 3600))));
    Some(W {
        server: TestServer::start_app(app).await,
        python,
        key: key.reveal().to_owned(),
        agent: agent.public_id.to_string(),
    })
}

impl W {
    /// Runs `tests/otlp/<script>` with `args` (after `--base T0`), configured as a user's
    /// process would be: the OTLP endpoint and its Authorization header from the
    /// environment. Panics with its output when it fails.
    async fn run(&self, script: &str, args: &[String]) -> String {
        let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../tests/otlp");
        let mut command = tokio::process::Command::new(&self.python);
        command
            .current_dir(&dir)
            .arg(dir.join(script))
            .args(["--base", &T0.to_string()])
            .args(args)
            .env_remove("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")
            .env_remove("OTEL_EXPORTER_OTLP_TRACES_HEADERS")
            .env_remove("OTEL_EXPORTER_OTLP_PROTOCOL")
            .env_remove("OTEL_EXPORTER_OTLP_COMPRESSION")
            .env_remove("OTEL_SDK_DISABLED")
            .env(
                "OTEL_EXPORTER_OTLP_ENDPOINT",
                format!("http://{}", self.server.addr),
            )
            .env(
                "OTEL_EXPORTER_OTLP_HEADERS",
                format!("Authorization=Bearer%20{TOKEN}"),
            )
            // Loopback only, never through a proxy the environment names.
            .env_remove("HTTP_PROXY")
            .env_remove("http_proxy")
            .env_remove("HTTPS_PROXY")
            .env_remove("https_proxy")
            .env_remove("ALL_PROXY")
            .env_remove("all_proxy")
            .env("NO_PROXY", "127.0.0.1,localhost")
            .env("PYTHONDONTWRITEBYTECODE", "1")
            .kill_on_drop(true);
        let output = tokio::time::timeout(SCRIPT_TIMEOUT, command.output())
            .await
            .unwrap_or_else(|_| panic!("{script} {args:?} ran longer than {SCRIPT_TIMEOUT:?}"))
            .unwrap_or_else(|e| panic!("{} could not start: {e}", self.python.display()));
        let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(
            output.status.success(),
            "{script} {args:?} failed ({}):\n{stdout}\n{stderr}",
            output.status
        );
        stdout
    }

    async fn get(&self, path: &str) -> Value {
        let (status, body) = common::status_and_json(self.server.get(path, &self.key).await).await;
        assert_eq!(status, StatusCode::OK, "{path}: {body}");
        body
    }

    /// Every call of the account, oldest first.
    async fn calls(&self) -> Vec<Value> {
        let mut calls = self.get("/v1/calls?limit=100").await["calls"]
            .as_array()
            .unwrap()
            .clone();
        calls.reverse();
        calls
    }

    async fn call(&self, id: &Value) -> Value {
        self.get(&format!("/v1/calls/{}", id.as_str().unwrap()))
            .await
    }

    /// The attributes that make the trace create its call (Pipecat's
    /// additional_span_attributes, LiveKit's tracer metadata).
    fn creating(&self, from: &str, control: &str, extra: &[&str]) -> Vec<String> {
        let mut attrs = vec![
            format!("callscope.agent_id={}", self.agent),
            format!("callscope.from_number={from}"),
            "callscope.to_number=+31850012345".to_owned(),
            format!("callscope.call_control_id={control}"),
        ];
        attrs.extend(extra.iter().map(|s| s.to_string()));
        attrs
    }

    /// A call created through the pipeline API, in progress since T0.
    async fn create_call(&self, control: &str) -> String {
        let (status, call) = common::status_and_json(
            self.server
                .client
                .post(self.server.url("/pipeline/v1/calls"))
                .bearer_auth(TOKEN)
                .json(
                    &json!({"agent_id": self.agent, "from_number": "+31611112222",
                    "to_number": "+31850012345", "call_control_id": control,
                    "status": "in-progress", "started_at": "2026-01-15T10:00:00Z",
                    "metadata": {"crm_id": 7}}),
                )
                .send()
                .await
                .unwrap(),
        )
        .await;
        assert_eq!(status, StatusCode::CREATED, "{call}");
        call["call_id"].as_str().unwrap().to_owned()
    }
}

/// `flag value` pairs for each attribute.
fn each(flag: &str, attrs: &[String]) -> Vec<String> {
    attrs
        .iter()
        .flat_map(|a| [flag.to_owned(), a.clone()])
        .collect()
}

fn args(list: &[&str]) -> Vec<String> {
    list.iter().map(|s| s.to_string()).collect()
}

/// What a call's story is, without what tells two calls of it apart (id, numbers, control
/// id, metadata).
fn story(call: &Value) -> Value {
    let mut call = call.clone();
    for key in ["call_id", "from_number", "metadata"] {
        call.as_object_mut().unwrap().remove(key);
    }
    call
}

/// The parts of a finished call the trace decides.
fn outline(call: &Value) -> Value {
    let pick = |keys: &[&str]| -> Value {
        keys.iter()
            .map(|k| ((*k).to_owned(), call[*k].clone()))
            .collect::<serde_json::Map<_, _>>()
            .into()
    };
    pick(&[
        "agent_id",
        "to_number",
        "status",
        "disposition",
        "ended_reason",
        "started_at",
        "ended_at",
        "duration_seconds",
        "turn_count",
        "tool_call_count",
        "tools_called",
    ])
}

// --- Pipecat -------------------------------------------------------------------------

const PIPECAT: &str = "pipecat_trace.py";

/// The Pipecat scene's transcript (`tests/otlp/pipecat_trace.py`, `main_call`), the call
/// starting at T0 (its `conversation` span starts at T0 + 0.25 s). Turn n gives entries
/// 2n − 1 (the caller's `stt`) and 2n (the bot's `llm` output); turn 1 is the greeting, with
/// no caller entry. Caller entries are at their `stt` span's start (the start of speech),
/// the bot's at its first `tts` span's start.
fn pipecat_transcript() -> Value {
    json!([
        {"role": "assistant", "content":
            "Hello, thanks for calling Acme Insurance. How can I help you today?",
         "timestamp": 0.9},
        {"role": "user", "content": "I'd like to check the status of my policy, P-1234.",
         "timestamp": 7.8, "stt_ms": 210},
        // Two `llm` spans in turn 2: the first made the function call (no output), the
        // second, whose `input` holds the call and its result, spoke the answer.
        {"role": "assistant", "content":
            "Your policy P-1234 is active and paid through the end of March.",
         "timestamp": 13.1,
         "tool_calls": [{"name": "get_policy_status", "arguments": {"policy_number": "P-1234"},
                         "result": "{\"status\": \"active\", \"paid_through\": \"2026-03-31\"}"}]},
        {"role": "user", "content": "And what is my deductible?", "timestamp": 19.3,
         "stt_ms": 190},
        // The caller spoke over it: `turn.was_interrupted`, `tts.interrupted`. The text is
        // the `llm` output, all of it, as Pipecat's span has it.
        {"role": "assistant", "content":
            "Your deductible is 500 euros per claim. For windscreen damage there is a \
             separate arrangement, where the first repair is free if you use one of our \
             partner garages.",
         "timestamp": 21.6, "interrupted": true},
        {"role": "user", "content": "Okay, that's all, thanks.", "timestamp": 24.8,
         "stt_ms": 180},
        {"role": "assistant", "content": "You're welcome. Goodbye!", "timestamp": 27.0},
    ])
}

/// Per assistant entry: LLM TTFB = the first `llm` span's `metrics.ttfb`; TTS start = the
/// first `tts` span's start − the turn's start (Pipecat's turn starts when the caller
/// starts speaking, so it includes the caller's speech: 13.1 − 8.0 s in turn 2); TTS TTFB =
/// the `tts` span's `metrics.ttfb`.
fn pipecat_latency() -> Value {
    json!([
        {"turn": 1, "ts": 0.9, "llm_ttfb_ms": 420, "tts_start_ms": 600, "tts_ttfb_ms": 180},
        {"turn": 2, "ts": 13.1, "llm_ttfb_ms": 380, "tts_start_ms": 5100, "tts_ttfb_ms": 200},
        {"turn": 3, "ts": 21.6, "llm_ttfb_ms": 350, "tts_start_ms": 2100, "tts_ttfb_ms": 190},
        {"turn": 4, "ts": 27.0, "llm_ttfb_ms": 330, "tts_start_ms": 2000, "tts_ttfb_ms": 170},
    ])
}

fn assert_pipecat_call(call: &Value, ended_reason: &str) {
    assert_eq!(call["transcript"], pipecat_transcript(), "{call:#}");
    assert_eq!(call["latency_data"]["turns"], pipecat_latency(), "{call:#}");
    assert_eq!(
        outline(call),
        json!({"agent_id": call["agent_id"], "to_number": "+31850012345",
            "status": "completed", "disposition": "answered", "ended_reason": ended_reason,
            // The `conversation` span: T0 + 0.25 s to T0 + 33.6 s, in whole seconds.
            "started_at": "2026-01-15T10:00:00Z", "ended_at": "2026-01-15T10:00:33Z",
            "duration_seconds": 33, "turn_count": 7, "tool_call_count": 1,
            "tools_called": ["get_policy_status"]})
    );
}

both_backends!(
    a_pipecat_trace_creates_its_call_whatever_the_encoding_and_delivery,
    |db: TestDb| async move {
        let Some(w) = world(&db).await else { return };
        let attrs = w.creating(
            "+31612345678",
            "v3:pipecat-1",
            &["callscope.ended_reason=agent-hangup"],
        );
        let out = w.run(PIPECAT, &each("--attr", &attrs)).await;
        // Batched as the SDK batches: the root alone in the last request.
        assert!(out.contains("exported 17 spans in 7 requests"), "{out}");
        let calls = w.calls().await;
        assert_eq!(calls.len(), 1);
        let first = w.call(&calls[0]["call_id"]).await;
        assert_pipecat_call(&first, "agent-hangup");
        assert_eq!(
            (&first["agent_id"], &first["from_number"]),
            (&json!(w.agent), &json!("+31612345678"))
        );

        // The same trace again (same ids), after the call ended: nothing changes.
        w.run(PIPECAT, &each("--attr", &attrs)).await;
        let calls = w.calls().await;
        assert_eq!(calls.len(), 1, "the repeated trace made no second call");
        assert_eq!(w.call(&calls[0]["call_id"]).await, first);

        // Other traces of the same story: as OTLP/JSON; one span per request, each request
        // sent twice; JSON batches sent twice. Each is its own call with the same story.
        for (n, extra) in [
            ["--encoding", "json", "--delivery", "batch"],
            ["--encoding", "protobuf", "--delivery", "simple"],
            ["--encoding", "json", "--delivery", "batch"],
        ]
        .iter()
        .enumerate()
        {
            let attrs = w.creating(
                "+31612345678",
                &format!("v3:pipecat-{}", n + 2),
                &["callscope.ended_reason=agent-hangup"],
            );
            let mut a = each("--attr", &attrs);
            a.extend(args(&["--seed", &(n + 2).to_string()]));
            a.extend(args(extra));
            if n > 0 {
                a.push("--duplicate".into());
            }
            w.run(PIPECAT, &a).await;
            let calls = w.calls().await;
            assert_eq!(calls.len(), n + 2, "{extra:?}");
            let call = w.call(&calls[n + 1]["call_id"]).await;
            assert_pipecat_call(&call, "agent-hangup");
            assert_eq!(story(&call), story(&first), "{extra:?}");
        }
    }
);

both_backends!(
    a_pipecat_trace_follows_the_call_its_conversation_id_names,
    |db: TestDb| async move {
        let Some(w) = world(&db).await else { return };
        let id = w.create_call("v3:pipeline-first").await;
        let named = args(&["--conversation-id", &id]);

        // Midway (26 s in): turns 1–3 have ended, turn 4 and the conversation have not.
        // Turns are added once the next one is in (its tool results would be in the next
        // `llm` span's input): turns 1 and 2.
        let mut midway = named.clone();
        midway.extend(args(&["--until", "26"]));
        w.run(PIPECAT, &midway).await;
        let live = w.call(&json!(id)).await;
        assert_eq!(live["status"], "in-progress");
        assert_eq!(
            live["transcript"],
            json!(pipecat_transcript().as_array().unwrap()[..3])
        );
        assert_eq!(
            live["latency_data"]["turns"],
            json!(pipecat_latency().as_array().unwrap()[..2])
        );

        // The whole trace (the first spans again, as an exporter retrying would send
        // them): the rest of the transcript, and the root ends the call.
        w.run(PIPECAT, &named).await;
        let call = w.call(&json!(id)).await;
        assert_pipecat_call(&call, "caller-hangup");
        assert_eq!(
            (&call["from_number"], &call["metadata"]),
            (&json!("+31611112222"), &json!({"crm_id": 7})),
            "the pipeline API's call, not a new one"
        );
        assert_eq!(w.calls().await.len(), 1);
    }
);

both_backends!(
    two_pipecat_calls_in_the_same_requests_do_not_mix,
    |db: TestDb| async move {
        let Some(w) = world(&db).await else { return };
        let mut a = each(
            "--attr",
            &w.creating("+31612345678", "v3:interleaved-1", &[]),
        );
        a.extend(each(
            "--attr-2",
            &w.creating("+31687654321", "v3:interleaved-2", &[]),
        ));
        a.extend(args(&["--interleave", "--encoding", "json"]));
        let out = w.run(PIPECAT, &a).await;
        assert!(out.contains("exported 25 spans in 7 requests"), "{out}");
        let calls = w.calls().await;
        assert_eq!(calls.len(), 2);
        let by_from = |from: &str| {
            calls
                .iter()
                .find(|c| c["from_number"] == from)
                .unwrap_or_else(|| panic!("no call from {from}: {calls:#?}"))["call_id"]
                .clone()
        };
        let first = w.call(&by_from("+31612345678")).await;
        assert_pipecat_call(&first, "caller-hangup");
        let second = w.call(&by_from("+31687654321")).await;
        // The second caller's conversation: T0 + 2.5 s to T0 + 18.9 s; the call starts at
        // T0 + 2 s (whole seconds), its entries counted from there.
        assert_eq!(
            second["transcript"],
            json!([
                {"role": "assistant", "content": "Good afternoon, you're through to Acme claims.",
                 "timestamp": 1.0},
                {"role": "user", "content": "I want to report a broken window.",
                 "timestamp": 6.5, "stt_ms": 240},
                {"role": "assistant", "content": "I've opened claim C-77 for the broken window.",
                 "timestamp": 9.4},
            ]),
            "{second:#}"
        );
        assert_eq!(
            second["latency_data"]["turns"],
            json!([
                {"turn": 1, "ts": 1.0, "llm_ttfb_ms": 360, "tts_start_ms": 450, "tts_ttfb_ms": 160},
                {"turn": 2, "ts": 9.4, "llm_ttfb_ms": 310, "tts_start_ms": 2700, "tts_ttfb_ms": 150},
            ])
        );
        assert_eq!(
            outline(&second),
            json!({"agent_id": w.agent, "to_number": "+31850012345",
                "status": "completed", "disposition": "answered", "ended_reason": "caller-hangup",
                "started_at": "2026-01-15T10:00:02Z", "ended_at": "2026-01-15T10:00:18Z",
                "duration_seconds": 16, "turn_count": 3, "tool_call_count": 0,
                "tools_called": []})
        );
    }
);

// --- LiveKit Agents ----------------------------------------------------------------------

const LIVEKIT: &str = "livekit_trace.py";

/// The LiveKit scene's transcript (`tests/otlp/livekit_trace.py`), the call starting at T0
/// (`agent_session` starts at T0 + 0.4 s): entries numbered by start time once the session
/// is in; caller entries at their `user_turn`'s start, the bot's at its first `tts_node`'s
/// start (else its `llm_node`'s).
fn livekit_transcript() -> Value {
    json!([
        {"role": "assistant", "content":
            "Hello, thanks for calling Acme Insurance. How can I help you today?",
         "timestamp": 1.05},
        {"role": "user", "content": "I'd like to check the status of my policy, P-1234.",
         "timestamp": 6.0, "stt_ms": 280},
        // The `agent_turn` that called the tool: its `llm_node` said nothing, its
        // `function_tool` ran `lookup_policy`. Its answer is the next `agent_turn`.
        {"role": "assistant", "content": "", "timestamp": 8.33,
         "tool_calls": [{"name": "lookup_policy", "arguments": {"policy_number": "P-1234"},
                         "result": "Policy P-1234 is active, paid through 2026-03-31."}]},
        {"role": "assistant", "content":
            "Your policy P-1234 is active and paid through the end of March.",
         "timestamp": 10.02},
        {"role": "user", "content": "And what is my deductible?", "timestamp": 15.8,
         "stt_ms": 240},
        {"role": "assistant", "content":
            "Your deductible is 500 euros per claim. For windscreen damage there is a \
             separate arrangement, where the first repair is free if you use one of our \
             partner garages.",
         "timestamp": 18.05, "interrupted": true},
        {"role": "user", "content": "Okay, that's all, thanks.", "timestamp": 21.9,
         "stt_ms": 220},
        {"role": "assistant", "content": "You're welcome. Goodbye!", "timestamp": 24.55},
    ])
}

/// LLM TTFB = the `llm_node`'s `lk.response.ttft`; TTS start = the `tts_node`'s start − the
/// `agent_turn`'s start (which begins at the end of the caller's turn); TTS TTFB = the
/// `tts_node`'s `lk.response.ttfb`. The tool-calling turn spoke nothing: no latency.
fn livekit_latency() -> Value {
    json!([
        {"turn": 1, "ts": 1.05, "llm_ttfb_ms": 470, "tts_start_ms": 430, "tts_ttfb_ms": 210},
        {"turn": 3, "ts": 10.02, "llm_ttfb_ms": 520, "tts_start_ms": 400, "tts_ttfb_ms": 190},
        {"turn": 4, "ts": 18.05, "llm_ttfb_ms": 400, "tts_start_ms": 430, "tts_ttfb_ms": 200},
        {"turn": 5, "ts": 24.55, "llm_ttfb_ms": 360, "tts_start_ms": 430, "tts_ttfb_ms": 180},
    ])
}

fn assert_livekit_call(call: &Value) {
    assert_eq!(call["transcript"], livekit_transcript(), "{call:#}");
    assert_eq!(call["latency_data"]["turns"], livekit_latency(), "{call:#}");
    assert_eq!(
        outline(call),
        json!({"agent_id": call["agent_id"], "to_number": "+31850012345",
            "status": "completed", "disposition": "answered", "ended_reason": "caller-hangup",
            // `agent_session`: T0 + 0.4 s to T0 + 29.8 s.
            "started_at": "2026-01-15T10:00:00Z", "ended_at": "2026-01-15T10:00:29Z",
            "duration_seconds": 29, "turn_count": 8, "tool_call_count": 1,
            "tools_called": ["lookup_policy"]})
    );
}

both_backends!(
    a_livekit_trace_creates_its_call_whatever_the_encoding_and_delivery,
    |db: TestDb| async move {
        let Some(w) = world(&db).await else { return };
        let meta = w.creating("+31612345678", "v3:livekit-1", &[]);
        let out = w.run(LIVEKIT, &each("--meta", &meta)).await;
        assert!(out.contains("exported 37 spans in 6 requests"), "{out}");
        let calls = w.calls().await;
        assert_eq!(calls.len(), 1);
        let first = w.call(&calls[0]["call_id"]).await;
        assert_livekit_call(&first);
        assert_eq!(first["agent_id"], json!(w.agent));

        // The same trace again after the call ended: nothing changes.
        w.run(LIVEKIT, &each("--meta", &meta)).await;
        let calls = w.calls().await;
        assert_eq!(calls.len(), 1);
        assert_eq!(w.call(&calls[0]["call_id"]).await, first);

        for (n, extra) in [
            ["--encoding", "json", "--delivery", "batch"],
            ["--encoding", "json", "--delivery", "simple"],
            ["--encoding", "protobuf", "--delivery", "batch"],
        ]
        .iter()
        .enumerate()
        {
            let meta = w.creating("+31612345678", &format!("v3:livekit-{}", n + 2), &[]);
            let mut a = each("--meta", &meta);
            a.extend(args(&["--seed", &(n + 2).to_string()]));
            a.extend(args(extra));
            if n > 0 {
                a.push("--duplicate".into());
            }
            w.run(LIVEKIT, &a).await;
            let calls = w.calls().await;
            assert_eq!(calls.len(), n + 2, "{extra:?}");
            let call = w.call(&calls[n + 1]["call_id"]).await;
            assert_livekit_call(&call);
            assert_eq!(story(&call), story(&first), "{extra:?}");
        }
    }
);

both_backends!(
    a_livekit_trace_follows_the_call_its_metadata_names,
    |db: TestDb| async move {
        let Some(w) = world(&db).await else { return };
        let id = w.create_call("v3:pipeline-first-lk").await;
        let meta = each("--meta", &[format!("callscope.call_id={id}")]);

        // Midway: LiveKit's spans carry no turn numbers, so entries wait for the session.
        let mut midway = meta.clone();
        midway.extend(args(&["--until", "20"]));
        w.run(LIVEKIT, &midway).await;
        let live = w.call(&json!(id)).await;
        assert_eq!(live["status"], "in-progress");
        assert_eq!(live["transcript"], json!([]));

        w.run(LIVEKIT, &meta).await;
        let call = w.call(&json!(id)).await;
        assert_livekit_call(&call);
        assert_eq!(call["from_number"], "+31611112222");
        assert_eq!(w.calls().await.len(), 1);
    }
);
