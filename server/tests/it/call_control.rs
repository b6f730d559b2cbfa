//! Transfers and gathers of live calls, over HTTP on both backends: the owner's
//! `POST /v1/calls/:id/transfer` and `/gather` through the fake Telnyx (the exact bodies it
//! received), then the new leg's and the gather's signed webhooks, in any order and any
//! number of times, and the events queued for the account's webhooks.

use crate::common::{self, TestDb, TestServer, fixtures};
use crate::fake_telnyx::{FakeTelnyx, Fault};

use std::sync::Arc;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use callscope_server::application::Application;
use callscope_server::auth::{KeyMode, create_key};
use callscope_server::clock::{ManualClock, UnixTime};
use callscope_server::live::LiveStore;
use callscope_server::storage::Store;
use callscope_server::telnyx::{TelnyxApiKey, WebhookPublicKey};
use callscope_shared::CallId;
use reqwest::StatusCode;
use serde_json::{Value, json};

const T0: i64 = 1_768_471_200; // 2026-01-15T10:00:00Z
const TOKEN: &str = "pipeline-token-0123456789";
const TELNYX_KEY: &str = "KEYtest_0123456789";
const DESTINATION: &str = "+31850099999";

struct W {
    server: TestServer,
    fake: Arc<FakeTelnyx>,
    store: Store,
    key: String,
    agent: String,
}

/// Options of a world.
struct Setup {
    /// Telnyx's API key configured (commands can be sent).
    api: bool,
    live: LiveStore,
}

/// An account with an agent (0.25 per minute) and a webhook endpoint, the pipeline API on,
/// Telnyx configured against `fake`, a manual clock at T0.
async fn world_with(db: &TestDb, fake: Arc<FakeTelnyx>, setup: Setup) -> W {
    let store = db.store.clone();
    let key = match store.account_id("acme").await.unwrap() {
        None => create_key(&store, "acme", KeyMode::Live, UnixTime(1))
            .await
            .unwrap()
            .reveal()
            .to_owned(),
        Some(_) => String::new(),
    };
    let acme = store.account_id("acme").await.unwrap().unwrap();
    let agent = match store.agents(acme).await.unwrap().into_iter().next() {
        Some(agent) => agent,
        None => {
            let agent = fixtures::agent(&store, acme, 0x28c5_1f81).await;
            fixtures::endpoint(&store, acme).await;
            agent
        }
    };
    let mut config = common::config();
    config.pipeline_tokens = TOKEN.parse().unwrap();
    config.telnyx.public_key =
        Some(WebhookPublicKey::from_base64(&fake.public_key_base64()).unwrap());
    config.telnyx.api_url = fake.api_url();
    if setup.api {
        config.telnyx.api_key = Some(TelnyxApiKey::parse(TELNYX_KEY).unwrap());
    }
    let app = Application::builder(config)
        .store(store.clone())
        .live(setup.live)
        .clock(Arc::new(ManualClock::new(UnixTime(T0 + 60))));
    W {
        server: TestServer::start_app(app).await,
        fake,
        store,
        key,
        agent: agent.public_id.to_string(),
    }
}

async fn world(db: &TestDb) -> W {
    let fake = Arc::new(FakeTelnyx::start(TELNYX_KEY).await);
    let setup = Setup {
        api: true,
        live: LiveStore::in_process(),
    };
    world_with(db, fake, setup).await
}

impl W {
    /// A call with the provider's handle `control`, answered through Telnyx at T0 + 2.
    async fn answered_call(&self, control: &str) -> String {
        let id = self.create(Some(control)).await;
        let (status, body) = self
            .deliver(&event(
                &format!("{control}-answered"),
                "call.answered",
                T0 + 2,
                control,
                None,
                json!({}),
            ))
            .await;
        assert_eq!(
            (status, &body["outcome"]),
            (StatusCode::OK, &json!("applied"))
        );
        id
    }

    /// A call without a control channel, answered by the pipeline.
    async fn answered_without_control(&self) -> String {
        let id = self.create(None).await;
        let r = self
            .server
            .client
            .post(self.server.url(&format!("/pipeline/v1/calls/{id}/answer")))
            .bearer_auth(TOKEN)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::OK);
        id
    }

    async fn create(&self, control: Option<&str>) -> String {
        let mut body = json!({"agent_id": self.agent, "from_number": "+31612345678",
                              "to_number": "+31850012345", "started_at": "2026-01-15T10:00:00Z"});
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

    async fn status(&self, id: &str) -> (StatusCode, Value) {
        common::status_and_json(
            self.server
                .get(&format!("/v1/calls/{id}/status"), &self.key)
                .await,
        )
        .await
    }

    async fn deliver(&self, body: &Value) -> (StatusCode, Value) {
        let url = self.server.url("/telnyx/webhooks");
        let bytes = serde_json::to_vec(body).unwrap();
        common::status_and_json(self.fake.send_webhook(&url, &bytes, T0 + 60).await).await
    }

    async fn post(&self, path: &str, body: Value) -> (StatusCode, Value) {
        let r = self
            .server
            .client
            .post(self.server.url(path))
            .bearer_auth(&self.key)
            .json(&body)
            .send()
            .await
            .unwrap();
        common::status_and_json(r).await
    }

    async fn transfer(&self, id: &str, body: Value) -> (StatusCode, Value) {
        self.post(&format!("/v1/calls/{id}/transfer"), body).await
    }

    async fn gather(&self, id: &str, body: Value) -> (StatusCode, Value) {
        self.post(&format!("/v1/calls/{id}/gather"), body).await
    }

    /// The events queued for a call: names, then bodies.
    async fn events(&self, id: &str) -> (Vec<String>, Vec<Value>) {
        common::queued_events(&self.store, id).await
    }

    /// The `client_state` of the last command of `action` sent for `control`.
    fn client_state(&self, control: &str, action: &str) -> String {
        let path = format!("/v2/calls/{control}/actions/{action}");
        let request = self
            .fake
            .requests()
            .into_iter()
            .rev()
            .find(|r| r.path == path)
            .unwrap_or_else(|| panic!("no {action} sent for {control}"));
        let key = if action == "transfer" {
            "target_leg_client_state"
        } else {
            "client_state"
        };
        request.body[key].as_str().unwrap().to_owned()
    }
}

/// A Telnyx event on the leg `control`, carrying `client_state` when given.
fn event(
    id: &str,
    event_type: &str,
    at: i64,
    control: &str,
    client_state: Option<&str>,
    extra: Value,
) -> Value {
    let occurred_at = time::OffsetDateTime::from_unix_timestamp(at)
        .unwrap()
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap();
    let mut payload = json!({"call_control_id": control, "call_leg_id": format!("leg-{control}"),
        "call_session_id": "session-1", "connection_id": "conn-1", "client_state": client_state,
        "from": "+31850012345", "to": DESTINATION});
    for (k, v) in extra.as_object().unwrap() {
        payload[k] = v.clone();
    }
    json!({"data": {"record_type": "event", "event_type": event_type, "id": id,
        "occurred_at": occurred_at, "payload": payload}, "meta": {"attempt": 1}})
}

fn hangup_extra(cause: &str) -> Value {
    json!({"hangup_cause": cause, "hangup_source": "caller"})
}

/// What a transfer decides about a call.
fn transfer_record(call: &Value) -> Value {
    json!([
        call["status"],
        call["disposition"],
        call["ended_reason"],
        call["duration_seconds"],
        call["minutes_used"],
        call["transferred_to"],
        call["transfer_duration_seconds"],
        call["transfer_cost"],
        call["total_cost"],
        call["ended_at"]
    ])
}

/// The call's control events as the public view lists them, oldest first: `event: detail`.
async fn control_events(db: &TestDb, id: &str) -> Vec<String> {
    let call_id: CallId = id.parse().unwrap();
    db.store
        .control_events(call_id)
        .await
        .unwrap()
        .into_iter()
        .map(|e| format!("{}: {}", e.event, e.detail.unwrap_or_default()))
        .collect()
}

both_backends!(
    a_transfer_completes_and_ends_the_ais_part,
    |db: TestDb| async move {
        let w = world(&db).await;
        let control = "v3:leg-a";
        let id = w.answered_call(control).await;

        let (status, body) = w.transfer(&id, json!({"destination": DESTINATION})).await;
        assert_eq!(
            (status, body),
            (
                StatusCode::OK,
                json!({"success": true, "destination": DESTINATION})
            )
        );
        // Exactly what Telnyx's reference accepts.
        let sent = w.fake.requests().pop().unwrap();
        assert_eq!(sent.path, format!("/v2/calls/{control}/actions/transfer"));
        assert_eq!(
            sent.authorization.as_deref(),
            Some("Bearer KEYtest_0123456789")
        );
        let mut keys: Vec<&str> = sent
            .body
            .as_object()
            .unwrap()
            .keys()
            .map(String::as_str)
            .collect();
        keys.sort_unstable();
        assert_eq!(keys, ["command_id", "target_leg_client_state", "to"]);
        assert_eq!(sent.body["to"], DESTINATION);
        let state = w.client_state(control, "transfer");
        let tag = String::from_utf8(STANDARD.decode(&state).unwrap()).unwrap();
        assert!(tag.starts_with("callscope:transfer:"), "{tag}");
        assert_eq!(
            w.events(&id).await.0,
            ["call.started", "transfer.initiated"]
        );

        // One transfer at a time.
        let (status, body) = w
            .transfer(&id, json!({"destination": "+31850011111"}))
            .await;
        assert_eq!(
            (status, body),
            (
                StatusCode::CONFLICT,
                json!({"error": "A transfer is already in progress for this call"})
            )
        );

        // The new leg rings, answers at T0 + 40: the AI's part ends there.
        let leg_b = "v3:leg-b";
        for (n, kind, at) in [
            (1, "call.initiated", T0 + 30),
            (2, "call.answered", T0 + 40),
        ] {
            let e = event(&format!("b-{n}"), kind, at, leg_b, Some(&state), json!({}));
            let (status, body) = w.deliver(&e).await;
            assert_eq!(
                (status, &body["outcome"]),
                (StatusCode::OK, &json!("applied")),
                "{kind}"
            );
        }
        let call = w.call(&id).await;
        assert_eq!(
            transfer_record(&call),
            json!([
                "completed",
                "transferred",
                "transfer",
                40,
                0.67,
                DESTINATION,
                0,
                0.0,
                0.1675,
                "2026-01-15T10:00:40Z"
            ])
        );
        let (names, bodies) = w.events(&id).await;
        assert_eq!(
            names,
            [
                "call.started",
                "transfer.initiated",
                "transfer.completed",
                "call.ended"
            ]
        );
        assert_eq!(bodies[1]["destination"], DESTINATION);
        assert_eq!(bodies[1]["call_id"], id.as_str());
        assert_eq!(bodies[1]["agent_id"], w.agent.as_str());
        assert_eq!(bodies[2]["answered_at"], "2026-01-15T10:00:40Z");
        assert_eq!(bodies[3]["ended_reason"], "transfer");
        assert_eq!(
            control_events(&db, &id).await,
            [
                format!("transfer.initiated: {DESTINATION}"),
                format!("transfer.completed: {DESTINATION}"),
            ]
        );

        // Bridged after: nothing changes. The caller hangs up at T0 + 100: the transferred
        // conversation lasted 60 s (1.00 minute at 0.12).
        let bridged = event(
            "b-3",
            "call.bridged",
            T0 + 41,
            leg_b,
            Some(&state),
            json!({}),
        );
        w.deliver(&bridged).await;
        let a_hangup = event(
            "a-h",
            "call.hangup",
            T0 + 100,
            control,
            None,
            hangup_extra("normal_clearing"),
        );
        w.deliver(&a_hangup).await;
        let b_hangup = event(
            "b-h",
            "call.hangup",
            T0 + 101,
            leg_b,
            Some(&state),
            hangup_extra("normal_clearing"),
        );
        w.deliver(&b_hangup).await;
        let call = w.call(&id).await;
        assert_eq!(
            transfer_record(&call),
            json!([
                "completed",
                "transferred",
                "transfer",
                40,
                0.67,
                DESTINATION,
                60,
                0.12,
                0.2875,
                "2026-01-15T10:00:40Z"
            ])
        );
        assert_eq!(w.events(&id).await.0.len(), 4, "nothing more was queued");
        // Repeats change nothing.
        for e in [bridged, a_hangup, b_hangup] {
            let (_, body) = w.deliver(&e).await;
            assert_eq!(body["outcome"], "duplicate");
        }
        assert_eq!(w.call(&id).await, call);

        let (status, body) = w.transfer(&id, json!({"destination": DESTINATION})).await;
        assert_eq!(
            (status, body),
            (
                StatusCode::CONFLICT,
                json!({"error": "Call is not in progress"})
            )
        );
    }
);

both_backends!(
    a_transfers_record_does_not_depend_on_event_order,
    |db: TestDb| async move {
        let w = world(&db).await;
        // Leg B answers at +40, is bridged at +41; A hangs up at +100, B at +100.
        let story = |n: usize, control: &str, state: &str| {
            let leg_b = format!("{control}-b");
            vec![
                event(
                    &format!("{n}-ba"),
                    "call.answered",
                    T0 + 40,
                    &leg_b,
                    Some(state),
                    json!({}),
                ),
                event(
                    &format!("{n}-bb"),
                    "call.bridged",
                    T0 + 41,
                    &leg_b,
                    Some(state),
                    json!({}),
                ),
                event(
                    &format!("{n}-ah"),
                    "call.hangup",
                    T0 + 100,
                    control,
                    None,
                    hangup_extra("normal_clearing"),
                ),
                event(
                    &format!("{n}-bh"),
                    "call.hangup",
                    T0 + 100,
                    &leg_b,
                    Some(state),
                    hangup_extra("normal_clearing"),
                ),
            ]
        };
        let orders: [&[usize]; 6] = [
            &[0, 1, 2, 3],
            &[3, 2, 1, 0],
            &[2, 0, 3, 1],
            &[2, 3, 0, 1, 2, 0],
            &[1, 3, 3, 0, 2],
            &[3, 0, 0, 2, 1, 3],
        ];
        let mut records = Vec::new();
        for (n, order) in orders.iter().enumerate() {
            let control = format!("v3:order-{n}");
            let id = w.answered_call(&control).await;
            let (status, _) = w.transfer(&id, json!({"destination": DESTINATION})).await;
            assert_eq!(status, StatusCode::OK);
            let state = w.client_state(&control, "transfer");
            let events = story(n, &control, &state);
            for &i in *order {
                let (status, body) = w.deliver(&events[i]).await;
                assert_eq!(status, StatusCode::OK, "{body}");
            }
            let (names, _) = w.events(&id).await;
            let transfer_events: Vec<&String> = names
                .iter()
                .filter(|n| n.starts_with("transfer."))
                .collect();
            assert_eq!(
                transfer_events,
                ["transfer.initiated", "transfer.completed"],
                "order {order:?}"
            );
            records.push(transfer_record(&w.call(&id).await));
        }
        assert_eq!(
            records[0],
            json!([
                "completed",
                "transferred",
                "transfer",
                40,
                0.67,
                DESTINATION,
                60,
                0.12,
                0.2875,
                "2026-01-15T10:00:40Z"
            ])
        );
        for (order, record) in orders.iter().zip(&records) {
            assert_eq!(record, &records[0], "order {order:?}");
        }
    }
);

both_backends!(
    a_failed_transfer_leaves_the_call_up,
    |db: TestDb| async move {
        let w = world(&db).await;
        let control = "v3:busy";
        let id = w.answered_call(control).await;
        w.transfer(&id, json!({"destination": DESTINATION})).await;
        let state = w.client_state(control, "transfer");
        let busy = event(
            "busy-h",
            "call.hangup",
            T0 + 30,
            "v3:busy-b",
            Some(&state),
            hangup_extra("user_busy"),
        );
        for _ in 0..2 {
            let (status, _) = w.deliver(&busy).await;
            assert_eq!(status, StatusCode::OK);
        }
        let call = w.call(&id).await;
        assert_eq!(
            (&call["status"], &call["transferred_to"]),
            (&json!("in-progress"), &Value::Null)
        );
        let (names, bodies) = w.events(&id).await;
        assert_eq!(
            names,
            ["call.started", "transfer.initiated", "transfer.failed"]
        );
        assert_eq!(bodies[2]["reason"], "user_busy");
        assert_eq!(bodies[2]["destination"], DESTINATION);

        // The call goes on and can be transferred again.
        let (status, _) = w
            .transfer(&id, json!({"destination": "+31850011111"}))
            .await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(w.events(&id).await.0.len(), 4);
    }
);

both_backends!(transfers_refused_change_nothing, |db: TestDb| async move {
    let w = world(&db).await;
    let id = w.answered_call("v3:refusals").await;
    let invalid = json!({"error": "destination must be a valid E.164 phone number"});
    for body in [
        json!({}),
        json!({"destination": null}),
        json!({"destination": 31850099999_u64}),
        json!({"destination": "0850099999"}),
        json!({"destination": "+1"}),
        json!({"destination": "+31 85 009 9999"}),
        json!(["+31850099999"]),
    ] {
        let (status, err) = w.transfer(&id, body.clone()).await;
        assert_eq!(
            (status, err),
            (StatusCode::BAD_REQUEST, invalid.clone()),
            "{body}"
        );
    }
    let ok = json!({"destination": DESTINATION});
    let (status, err) = w.transfer("call_99999999", ok.clone()).await;
    assert_eq!(
        (status, err),
        (StatusCode::NOT_FOUND, json!({"error": "Call not found"}))
    );

    // Another account's call is not found.
    let other_key = create_key(&w.store, "globex", KeyMode::Live, UnixTime(1))
        .await
        .unwrap();
    let r = w
        .server
        .client
        .post(w.server.url(&format!("/v1/calls/{id}/transfer")))
        .bearer_auth(other_key.reveal())
        .json(&ok)
        .send()
        .await
        .unwrap();
    assert_eq!(common::status_and_json(r).await.0, StatusCode::NOT_FOUND);

    // Ringing, and without a control channel.
    let ringing = w.create(Some("v3:ringing")).await;
    let (status, err) = w.transfer(&ringing, ok.clone()).await;
    assert_eq!(
        (status, err),
        (
            StatusCode::CONFLICT,
            json!({"error": "Call is not in progress"})
        )
    );
    let plain = w.answered_without_control().await;
    let (status, err) = w.transfer(&plain, ok.clone()).await;
    assert_eq!(
        (status, err),
        (
            StatusCode::CONFLICT,
            json!({"error": "Call does not have an active control channel"})
        )
    );
    assert!(w.fake.requests().is_empty(), "nothing reached Telnyx");

    // Telnyx refuses: 422 with its reason; nothing queued, nothing pending.
    w.fake.fail_next([Fault::Status(422)]);
    let (status, err) = w.transfer(&id, ok.clone()).await;
    assert_eq!(
        (status, err),
        (
            StatusCode::UNPROCESSABLE_ENTITY,
            json!({"error": "Transfer failed: Unexpected error"})
        )
    );
    // Telnyx is down (every attempt a 5xx): 503 with Retry-After.
    w.fake.fail_next([Fault::Status(503); 3]);
    let r = w
        .server
        .client
        .post(w.server.url(&format!("/v1/calls/{id}/transfer")))
        .bearer_auth(&w.key)
        .json(&ok)
        .send()
        .await
        .unwrap();
    assert!(r.headers().contains_key("retry-after"));
    let (status, err) = common::status_and_json(r).await;
    assert_eq!(
        (status, err),
        (
            StatusCode::SERVICE_UNAVAILABLE,
            json!({"error": "Transfer failed: Telnyx is unavailable"})
        )
    );
    assert_eq!(w.events(&id).await.0, ["call.started"]);
    assert_eq!(w.call(&id).await["status"], "in-progress");
    let (status, _) = w.transfer(&id, ok).await;
    assert_eq!(
        status,
        StatusCode::OK,
        "the refused ones left nothing pending"
    );
});

both_backends!(a_gather_round_trip, |db: TestDb| async move {
    let w = world(&db).await;
    let control = "v3:gather";
    let id = w.answered_call(control).await;
    let numeric = id.parse::<CallId>().unwrap().get();
    let request = json!({
        "prompt": "Please enter your 8-digit account number followed by the hash key.",
        "max_digits": 8, "terminator": "#", "timeout_seconds": 20
    });
    let (status, body) = w.gather(&id, request.clone()).await;
    assert_eq!(
        (status, body),
        (
            StatusCode::ACCEPTED,
            json!({"message": "Gather initiated", "call_id": numeric})
        )
    );
    let sent = w.fake.requests().pop().unwrap();
    assert_eq!(
        sent.path,
        format!("/v2/calls/{control}/actions/gather_using_speak")
    );
    let mut body = sent.body.clone();
    assert!(body.as_object_mut().unwrap().remove("command_id").is_some());
    let state = body
        .as_object_mut()
        .unwrap()
        .remove("client_state")
        .unwrap();
    assert_eq!(
        body,
        json!({
            "payload": "Please enter your 8-digit account number followed by the hash key.",
            "voice": "Azure.en-US-JennyNeural", "language": "en-US",
            "minimum_digits": 1, "maximum_digits": 8, "terminating_digit": "#",
            "timeout_millis": 20000, "maximum_tries": 1
        })
    );
    let state = state.as_str().unwrap().to_owned();

    let (status, err) = w.gather(&id, json!({"prompt": "Again?"})).await;
    assert_eq!(
        (status, err),
        (
            StatusCode::CONFLICT,
            json!({"error": "A gather operation is already in progress for this call"})
        )
    );

    let ended = event(
        "g-1",
        "call.gather.ended",
        T0 + 30,
        control,
        Some(&state),
        json!({"digits": "12345678", "status": "valid"}),
    );
    for want in ["applied", "duplicate"] {
        let (status, body) = w.deliver(&ended).await;
        assert_eq!((status, &body["outcome"]), (StatusCode::OK, &json!(want)));
    }
    let (names, bodies) = w.events(&id).await;
    assert_eq!(names, ["call.started", "call.gather.completed"]);
    // What the public view shows: the prompt, then the digits, once despite the repeat.
    assert_eq!(
        control_events(&db, &id).await,
        [
            "call.gather.started: Please enter your 8-digit account number followed by the hash key.",
            "call.gather.completed: 12345678",
        ]
    );
    let completed = &bodies[1];
    for (field, want) in [
        ("call_id", json!(id)),
        ("agent_id", json!(w.agent)),
        ("status", json!("completed")),
        ("input", json!("12345678")),
        ("reason", json!("valid")),
    ] {
        assert_eq!(completed[field], want, "{field}");
    }

    // The slot is free: the next gather times out, then one is cut short by a hangup.
    for (n, telnyx_status) in ["timeout", "call_hangup"].iter().enumerate() {
        let (status, _) = w
            .gather(
                &id,
                json!({"prompt": "Your PIN?", "voice": "male", "language": "nl-NL"}),
            )
            .await;
        assert_eq!(status, StatusCode::ACCEPTED);
        let sent = w.fake.requests().pop().unwrap();
        assert_eq!(
            (&sent.body["voice"], &sent.body["language"]),
            (&json!("Azure.nl-NL-MaartenNeural"), &json!("nl-NL"))
        );
        let state = w.client_state(control, "gather_using_speak");
        let ended = event(
            &format!("g-t{n}"),
            "call.gather.ended",
            T0 + 40,
            control,
            Some(&state),
            json!({"digits": "", "status": telnyx_status}),
        );
        w.deliver(&ended).await;
        let (_, bodies) = w.events(&id).await;
        let last = bodies.last().unwrap();
        assert_eq!(
            (&last["status"], &last["input"], &last["reason"]),
            (&json!("timeout"), &Value::Null, &json!(telnyx_status))
        );
    }

    // A gather.ended of a gather callscope did not start is not ours to report.
    let foreign = event(
        "g-x",
        "call.gather.ended",
        T0 + 50,
        control,
        None,
        json!({"digits": "1", "status": "valid"}),
    );
    let (_, body) = w.deliver(&foreign).await;
    assert_eq!(body["outcome"], "ignored");
    assert_eq!(w.events(&id).await.0.len(), 4);
});

both_backends!(gathers_refused_change_nothing, |db: TestDb| async move {
    let w = world(&db).await;
    let id = w.answered_call("v3:g-refusals").await;
    for (body, message) in [
        (
            json!({}),
            "prompt is required: the text to speak, 1 to 3000 characters",
        ),
        (
            json!({"prompt": "x", "max_digits": 21}),
            "max_digits must be an integer from 1 to 20",
        ),
        (
            json!({"prompt": "x", "timeout_seconds": 4}),
            "timeout_seconds must be an integer from 5 to 60",
        ),
        (
            json!({"prompt": "x", "terminator": "##"}),
            "terminator must be one DTMF key: 0-9, * or #",
        ),
        (
            json!({"prompt": "x", "voice": "robot"}),
            "voice must be one of: female, male",
        ),
    ] {
        let (status, err) = w.gather(&id, body.clone()).await;
        assert_eq!(
            (status, err),
            (StatusCode::BAD_REQUEST, json!({"error": message})),
            "{body}"
        );
    }
    let (status, err) = w
        .gather(&id, json!({"prompt": "x", "language": "xx-XX"}))
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(
        err["error"]
            .as_str()
            .unwrap()
            .starts_with("language must be one of: arb, cmn-CN"),
        "{err}"
    );

    let ok = json!({"prompt": "Your PIN?"});
    let (status, _) = w.gather("call_99999999", ok.clone()).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let ringing = w.create(Some("v3:g-ringing")).await;
    let (status, err) = w.gather(&ringing, ok.clone()).await;
    assert_eq!(
        (status, err),
        (StatusCode::CONFLICT, json!({"error": "Call is not active"}))
    );
    let plain = w.answered_without_control().await;
    let (status, err) = w.gather(&plain, ok.clone()).await;
    assert_eq!(
        (status, err),
        (
            StatusCode::CONFLICT,
            json!({"error": "Call does not have an active control channel"})
        )
    );
    assert!(w.fake.requests().is_empty(), "nothing reached Telnyx");

    // Telnyx refuses: 422 with its reason, and the slot is free again.
    w.fake.fail_next([Fault::Status(422)]);
    let (status, err) = w.gather(&id, ok.clone()).await;
    assert_eq!(
        (status, err),
        (
            StatusCode::UNPROCESSABLE_ENTITY,
            json!({"error": "Gather failed: Unexpected error"})
        )
    );
    // Telnyx says the call is gone: not active.
    w.fake.end_call("v3:g-refusals");
    let (status, err) = w.gather(&id, ok.clone()).await;
    assert_eq!(
        (status, err),
        (StatusCode::CONFLICT, json!({"error": "Call is not active"}))
    );
    assert_eq!(w.events(&id).await.0, ["call.started"]);
});

/// Two instances on one PostgreSQL and one Redis: one gather per call across both, and the
/// same live state read on either.
#[tokio::test]
async fn two_instances_share_the_gather_slot_and_live_state() {
    let db = TestDb::postgres().await;
    let prefix = common::redis_prefix();
    let redis = || common::redis_live(&prefix);
    let fake = Arc::new(FakeTelnyx::start(TELNYX_KEY).await);
    let a = world_with(
        &db,
        fake.clone(),
        Setup {
            api: true,
            live: redis().await,
        },
    )
    .await;
    let mut b = world_with(
        &db,
        fake.clone(),
        Setup {
            api: true,
            live: redis().await,
        },
    )
    .await;
    b.key = a.key.clone();

    let control = "v3:shared";
    let id = a.answered_call(control).await;
    let (sa, on_a) = a.status(&id).await;
    let (sb, on_b) = b.status(&id).await;
    assert_eq!((sa, sb), (StatusCode::OK, StatusCode::OK));
    assert_eq!(on_a, on_b);
    assert_eq!(on_a["status"], "in-progress");

    let ask = json!({"prompt": "Your PIN?"});
    assert_eq!(a.gather(&id, ask.clone()).await.0, StatusCode::ACCEPTED);
    let (status, err) = b.gather(&id, ask.clone()).await;
    assert_eq!(
        (status, err),
        (
            StatusCode::CONFLICT,
            json!({"error": "A gather operation is already in progress for this call"})
        )
    );
    // Its end reaches the other instance, which frees the slot for everyone.
    let state = a.client_state(control, "gather_using_speak");
    let ended = event(
        "shared-g",
        "call.gather.ended",
        T0 + 30,
        control,
        Some(&state),
        json!({"digits": "42", "status": "valid"}),
    );
    assert_eq!(b.deliver(&ended).await.1["outcome"], "applied");
    assert_eq!(a.deliver(&ended).await.1["outcome"], "duplicate");
    assert_eq!(b.gather(&id, ask.clone()).await.0, StatusCode::ACCEPTED);
    assert_eq!(a.gather(&id, ask).await.0, StatusCode::CONFLICT);

    // A hangup delivered to one instance ends the call for both.
    let hangup = event(
        "shared-h",
        "call.hangup",
        T0 + 50,
        control,
        None,
        hangup_extra("normal_clearing"),
    );
    b.deliver(&hangup).await;
    let (_, on_a) = a.status(&id).await;
    let (_, on_b) = b.status(&id).await;
    assert_eq!(on_a, on_b);
    assert_eq!(on_a["status"], "completed");
    assert_eq!(
        a.events(&id).await.0,
        ["call.started", "call.gather.completed", "call.ended"]
    );
}
