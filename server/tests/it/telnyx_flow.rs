//! Live calls driven by Telnyx, over HTTP on both backends: signed webhooks from the fake
//! Telnyx applied to calls the pipeline created, in any order and any number of times, and
//! the owner's `POST /v1/calls/:id/end` through the fake's hangup.

use crate::common::{self, TestDb, TestServer, fixtures};
use crate::fake_telnyx::FakeTelnyx;

use std::sync::Arc;

use callscope_server::application::Application;
use callscope_server::auth::{KeyMode, create_key};
use callscope_server::clock::{ManualClock, UnixTime};
use callscope_server::live::LiveStore;
use callscope_server::telnyx::{TelnyxApiKey, WebhookPublicKey};
use reqwest::StatusCode;
use serde_json::{Value, json};

const T0: i64 = 1_768_471_200; // 2026-01-15T10:00:00Z
const TOKEN: &str = "pipeline-token-0123456789";
const TELNYX_KEY: &str = "KEYtest_0123456789";
const CONTROL: &str = "v3:MdI91X4lWFEs7IgbBEOT9M4AigoY08M0WWZFISt1Yw2axZ_IiE4pqg";

struct W {
    server: TestServer,
    fake: FakeTelnyx,
    live: LiveStore,
    key: String,
    agent: String,
}

/// An account with an agent, the pipeline API on, Telnyx configured against the fake
/// (`api`: with its API key too) and a manual clock at T0.
async fn world(db: &TestDb, api: bool) -> W {
    let store = db.store.clone();
    let key = create_key(&store, "acme", KeyMode::Live, UnixTime(1))
        .await
        .unwrap();
    let acme = store.account_id("acme").await.unwrap().unwrap();
    let agent = fixtures::agent(&store, acme, 0x28c5_1f81).await;
    let fake = FakeTelnyx::start(TELNYX_KEY).await;
    let live = LiveStore::in_process();
    let mut config = common::config();
    config.pipeline_tokens = TOKEN.parse().unwrap();
    config.telnyx.public_key =
        Some(WebhookPublicKey::from_base64(&fake.public_key_base64()).unwrap());
    config.telnyx.api_url = fake.api_url();
    if api {
        config.telnyx.api_key = Some(TelnyxApiKey::parse(TELNYX_KEY).unwrap());
    }
    let app = Application::builder(config)
        .store(store)
        .live(live.clone())
        .clock(Arc::new(ManualClock::new(UnixTime(T0))));
    W {
        server: TestServer::start_app(app).await,
        fake,
        live,
        key: key.reveal().to_owned(),
        agent: agent.public_id.to_string(),
    }
}

impl W {
    async fn create(&self, control: Option<&str>) -> String {
        let mut body = json!({"agent_id": self.agent, "from_number": "+31612345678",
                              "to_number": "+31850012345"});
        if let Some(control) = control {
            body["call_control_id"] = json!(control);
        }
        let r = self
            .server
            .client
            .post(self.server.url("/pipeline/v1/calls"))
            .bearer_auth(TOKEN)
            .json(&body)
            .send()
            .await
            .unwrap();
        let (status, call) = common::status_and_json(r).await;
        assert_eq!(status, StatusCode::CREATED, "{call}");
        call["call_id"].as_str().unwrap().to_owned()
    }

    async fn call(&self, id: &str) -> Value {
        let (status, call) =
            common::status_and_json(self.server.get(&format!("/v1/calls/{id}"), &self.key).await)
                .await;
        assert_eq!(status, StatusCode::OK, "{call}");
        call
    }

    async fn deliver(&self, body: &Value) -> (StatusCode, Value) {
        let url = self.server.url("/telnyx/webhooks");
        let bytes = serde_json::to_vec(body).unwrap();
        common::status_and_json(self.fake.send_webhook(&url, &bytes, T0 + 60).await).await
    }

    async fn end(&self, id: &str) -> (StatusCode, Value) {
        let r = self
            .server
            .client
            .post(self.server.url(&format!("/v1/calls/{id}/end")))
            .bearer_auth(&self.key)
            .send()
            .await
            .unwrap();
        common::status_and_json(r).await
    }
}

fn event(id: &str, event_type: &str, at: i64, extra: Value) -> Value {
    let occurred_at = time::OffsetDateTime::from_unix_timestamp(at)
        .unwrap()
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap();
    let mut payload = json!({"call_control_id": CONTROL, "call_leg_id": "leg-1",
        "call_session_id": "session-1", "connection_id": "conn-1",
        "from": "+31612345678", "to": "+31850012345"});
    for (k, v) in extra.as_object().unwrap() {
        payload[k] = v.clone();
    }
    json!({"data": {"record_type": "event", "event_type": event_type, "id": id,
        "occurred_at": occurred_at, "payload": payload}, "meta": {"attempt": 1}})
}

fn answered() -> Value {
    event("ev-answered", "call.answered", T0 + 2, json!({}))
}

fn hangup() -> Value {
    event(
        "ev-hangup",
        "call.hangup",
        T0 + 50,
        json!({"hangup_cause": "normal_clearing", "hangup_source": "caller"}),
    )
}

fn reason(call: &Value) -> Value {
    json!([call["status"], call["disposition"], call["ended_reason"]])
}

/// What the story decides about a call (not its id).
fn outcome(call: &Value) -> Value {
    json!([
        call["status"],
        call["disposition"],
        call["ended_reason"],
        call["duration_seconds"],
        call["minutes_used"],
        call["total_cost"]
    ])
}

both_backends!(answered_then_caller_hangup, |db: TestDb| async move {
    let w = world(&db, false).await;
    let id = w.create(Some(CONTROL)).await;
    let (status, body) = w.deliver(&answered()).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["outcome"], "applied");
    assert_eq!(w.call(&id).await["status"], "in-progress");
    let (status, body) = w.deliver(&hangup()).await;
    assert_eq!(
        (status, body["outcome"].clone()),
        (StatusCode::OK, json!("applied"))
    );
    let call = w.call(&id).await;
    assert_eq!(
        outcome(&call),
        json!(["completed", "answered", "caller-hangup", 50, 0.83, 0.2075])
    );
    assert_eq!(call["ended_at"], "2026-01-15T10:00:50Z");
    assert!(w.live.get(id.parse().unwrap()).await.unwrap().is_none());

    // A replay changes nothing and says so.
    let before = w.call(&id).await;
    for e in [answered(), hangup()] {
        let (status, body) = w.deliver(&e).await;
        assert_eq!(
            (status, body["outcome"].clone()),
            (StatusCode::OK, json!("duplicate"))
        );
    }
    assert_eq!(w.call(&id).await, before);
});

both_backends!(order_and_repeats_do_not_matter, |db: TestDb| async move {
    let w = world(&db, false).await;
    let in_order = w.create(Some("v3:in-order")).await;
    let mut a = answered();
    a["data"]["payload"]["call_control_id"] = json!("v3:in-order");
    a["data"]["id"] = json!("a-1");
    let mut h = hangup();
    h["data"]["payload"]["call_control_id"] = json!("v3:in-order");
    h["data"]["id"] = json!("h-1");
    w.deliver(&a).await;
    w.deliver(&h).await;
    let expected = outcome(&w.call(&in_order).await);

    // Hangup first, repeated; the answer after it (twice): the same record.
    let shuffled = w.create(Some(CONTROL)).await;
    for e in [hangup(), hangup(), answered(), hangup(), answered()] {
        let (status, body) = w.deliver(&e).await;
        assert_eq!(status, StatusCode::OK, "{body}");
    }
    assert_eq!(outcome(&w.call(&shuffled).await), expected);
    assert_eq!(expected[0], "completed");
});

both_backends!(refused_deliveries_change_nothing, |db: TestDb| async move {
    let w = world(&db, false).await;
    let id = w.create(Some(CONTROL)).await;
    let before = w.call(&id).await;
    let url = w.server.url("/telnyx/webhooks");
    let body = serde_json::to_vec(&answered()).unwrap();
    let post = |ts: String, sig: String, body: Vec<u8>| {
        w.server
            .client
            .post(&url)
            .header("telnyx-timestamp", ts)
            .header("telnyx-signature-ed25519", sig)
            .body(body)
            .send()
    };
    let ts = (T0 + 60).to_string();
    // Signed by someone else / over other bytes.
    let (status, err) = common::status_and_json(
        post(ts.clone(), w.fake.signature(&ts, b"{}"), body.clone())
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{err}");
    assert!(
        err["error"]
            .as_str()
            .unwrap()
            .starts_with("Invalid Telnyx webhook")
    );
    // Stale: signed correctly, 301 s old.
    let stale = (T0 - 301).to_string();
    let (status, _) = common::status_and_json(
        post(stale.clone(), w.fake.signature(&stale, &body), body.clone())
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    // Missing headers.
    let (status, err) = common::status_and_json(
        w.server
            .client
            .post(&url)
            .body(body.clone())
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{err}");
    // Signed garbage.
    for garbage in [&b"not json"[..], br#"{"data": {"id": "x"}}"#] {
        let (status, err) = common::status_and_json(
            post(ts.clone(), w.fake.signature(&ts, garbage), garbage.to_vec())
                .await
                .unwrap(),
        )
        .await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{err}");
    }
    assert_eq!(w.call(&id).await, before);

    // An unknown call: accepted, nothing changes.
    let mut other = hangup();
    other["data"]["payload"]["call_control_id"] = json!("v3:nobody");
    let (status, body) = w.deliver(&other).await;
    assert_eq!(
        (status, body["outcome"].clone()),
        (StatusCode::OK, json!("unknown_call"))
    );
    assert_eq!(w.call(&id).await, before);
    // And the refused ones were not recorded: the real answer applies.
    let (_, body) = w.deliver(&answered()).await;
    assert_eq!(body["outcome"], "applied");
});

both_backends!(end_hangs_up_through_telnyx, |db: TestDb| async move {
    let w = world(&db, true).await;
    let id = w.create(Some(CONTROL)).await;
    w.deliver(&answered()).await;
    let (status, body) = w.end(&id).await;
    assert_eq!((status, body), (StatusCode::OK, json!({"success": true})));
    let requests = w.fake.requests();
    assert_eq!(requests.len(), 1, "{requests:?}");
    assert_eq!(
        requests[0].path,
        format!("/v2/calls/{CONTROL}/actions/hangup")
    );
    assert!(
        requests[0].body["command_id"]
            .as_str()
            .is_some_and(|c| !c.is_empty())
    );
    // Live until Telnyx says it hung up; then it is the API's end.
    assert_eq!(w.call(&id).await["status"], "in-progress");
    let mut h = hangup();
    h["data"]["payload"]["hangup_source"] = json!("callee");
    w.deliver(&h).await;
    let call = w.call(&id).await;
    assert_eq!(reason(&call), json!(["completed", "answered", "api"]));

    let (status, body) = w.end(&id).await;
    assert_eq!(
        (status, body),
        (
            StatusCode::CONFLICT,
            json!({"error": "Call is not in progress"})
        )
    );
    assert_eq!(w.fake.requests().len(), 1);

    // Telnyx says the call is gone: ended here as the API's.
    let gone = w.create(Some("v3:gone")).await;
    w.fake.end_call("v3:gone");
    let (status, _) = w.end(&gone).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(w.call(&gone).await["ended_reason"], "api");

    // No control channel: ended directly.
    let plain = w.create(None).await;
    let (status, _) = w.end(&plain).await;
    assert_eq!(status, StatusCode::OK);
    let call = w.call(&plain).await;
    assert_eq!(reason(&call), json!(["no-answer", "no-answer", "api"]));

    // Telnyx fails otherwise: 502 with its reason, the call stays live and unmarked.
    let failing = w.create(Some("v3:failing")).await;
    w.fake.fail_next([crate::fake_telnyx::Fault::Status(422)]);
    let (status, err) = w.end(&failing).await;
    assert_eq!(status, StatusCode::BAD_GATEWAY, "{err}");
    assert_eq!(err["error"], "End failed: Unexpected error");
    assert_eq!(w.call(&failing).await["status"], "ringing");
});

backend_independent!(webhooks_need_the_public_key, |db: TestDb| async move {
    let server = TestServer::start(db.store.clone(), LiveStore::in_process()).await;
    let r = server
        .client
        .post(server.url("/telnyx/webhooks"))
        .body("{}")
        .send()
        .await
        .unwrap();
    let (status, err) = common::status_and_json(r).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(
        err["error"],
        "Telnyx webhooks are not configured on this server (set CALLSCOPE_TELNYX_PUBLIC_KEY)"
    );
});
