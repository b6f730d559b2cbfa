//! The simulated telephony provider, over HTTP on both backends: the owner's `/end`,
//! `/transfer` and `/gather` on a live call with a control id, answered by the simulator's
//! events through the same ingestion as Telnyx's webhooks; the stored call and the events
//! queued for the account's webhook endpoint.

use crate::common::{self, TestDb, TestServer, fixtures};

use std::time::Duration;

use callscope_server::application::Application;
use callscope_server::auth::{KeyMode, create_key};
use callscope_server::clock::UnixTime;
use callscope_server::live::LiveStore;
use callscope_server::storage::Store;
use callscope_server::telephony::{SimulatedTimings, Telephony, TelephonyConfig};
use callscope_server::telnyx::{CommandError, Hangup};
use callscope_shared::CallId;
use reqwest::StatusCode;
use serde_json::{Value, json};

const TOKEN: &str = "pipeline-token-0123456789";

/// Short, but long enough to see a command accepted before its outcome.
const TIMINGS: SimulatedTimings = SimulatedTimings {
    hangup: Duration::from_millis(300),
    transfer_ring: Duration::from_millis(300),
    transfer_talk: Duration::from_millis(1_100),
    gather: Duration::from_millis(300),
};

struct W {
    server: TestServer,
    store: Store,
    key: String,
    agent: String,
}

/// An account with an agent and a webhook endpoint, the pipeline API on, the simulated
/// provider with `TIMINGS`.
async fn world(db: &TestDb) -> W {
    let store = db.store.clone();
    let key = create_key(&store, "acme", KeyMode::Live, UnixTime(1))
        .await
        .unwrap()
        .reveal()
        .to_owned();
    let acme = store.account_id("acme").await.unwrap().unwrap();
    let agent = fixtures::agent(&store, acme, 0x28c5_1f81).await;
    fixtures::endpoint(&store, acme).await;
    let mut config = common::config();
    config.pipeline_tokens = TOKEN.parse().unwrap();
    config.telephony = TelephonyConfig::Simulated(TIMINGS);
    let app = Application::builder(config)
        .store(store.clone())
        .live(LiveStore::in_process());
    W {
        server: TestServer::start_app(app).await,
        store,
        key,
        agent: agent.public_id.to_string(),
    }
}

/// Polls `check` until it holds (at most 10 s).
async fn eventually<F, Fut>(what: &str, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: Future<Output = bool>,
{
    for _ in 0..500 {
        if check().await {
            return;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("never happened: {what}");
}

impl W {
    async fn pipeline(&self, path: &str, body: Option<Value>) -> (StatusCode, Value) {
        let mut request = self
            .server
            .client
            .post(self.server.url(&format!("/pipeline/v1{path}")))
            .bearer_auth(TOKEN);
        if let Some(body) = body {
            request = request.json(&body);
        }
        common::status_and_json(request.send().await.unwrap()).await
    }

    /// A call with control id `control`, answered by the pipeline.
    async fn answered_call(&self, control: &str) -> String {
        let (status, call) = self
            .pipeline(
                "/calls",
                Some(
                    json!({"agent_id": self.agent, "from_number": "+31612345678",
                            "to_number": "+31850012345", "call_control_id": control}),
                ),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{call}");
        let id = call["call_id"].as_str().unwrap().to_owned();
        let (status, _) = self.pipeline(&format!("/calls/{id}/answer"), None).await;
        assert_eq!(status, StatusCode::OK);
        id
    }

    async fn post(&self, path: &str, body: Option<Value>) -> (StatusCode, Value) {
        let mut request = self
            .server
            .client
            .post(self.server.url(path))
            .bearer_auth(&self.key);
        if let Some(body) = body {
            request = request.json(&body);
        }
        common::status_and_json(request.send().await.unwrap()).await
    }

    async fn call(&self, id: &str) -> Value {
        let (status, call) =
            common::status_and_json(self.server.get(&format!("/v1/calls/{id}"), &self.key).await)
                .await;
        assert_eq!(status, StatusCode::OK, "{call}");
        call
    }

    /// The events queued for a call: names, then bodies.
    async fn events(&self, id: &str) -> (Vec<String>, Vec<Value>) {
        common::queued_events(&self.store, id).await
    }

    async fn wait_for_event(&self, id: &str, event: &str, count: usize) {
        eventually(&format!("{count} × {event} for {id}"), || async {
            let (names, _) = self.events(id).await;
            names.iter().filter(|n| *n == event).count() >= count
        })
        .await;
    }

    fn simulator(&self) -> &Telephony {
        let telephony = self.server.state.telephony.as_ref().unwrap();
        assert!(matches!(telephony, Telephony::Simulated(_)));
        telephony
    }
}

both_backends!(
    end_hangs_up_through_the_simulator,
    |db: TestDb| async move {
        let w = world(&db).await;
        let id = w.answered_call("v3:sim-end").await;

        let (status, body) = w.post(&format!("/v1/calls/{id}/end"), None).await;
        assert_eq!((status, body), (StatusCode::OK, json!({"success": true})));
        // Accepted is not done: the call ends with the simulator's `call.hangup`.
        assert_eq!(w.call(&id).await["status"], "in-progress");
        // The leg is hanging up: it takes no more commands.
        let refused = w.simulator().hangup("v3:sim-end", &Hangup::default()).await;
        assert!(
            matches!(refused, Err(CommandError::CallGone(_))),
            "{refused:?}"
        );

        w.wait_for_event(&id, "call.ended", 1).await;
        let call = w.call(&id).await;
        assert_eq!(
            (&call["status"], &call["disposition"], &call["ended_reason"]),
            (&json!("completed"), &json!("answered"), &json!("api"))
        );
        let (names, bodies) = w.events(&id).await;
        assert_eq!(names, ["call.started", "call.ended"]);
        assert_eq!(bodies[1]["ended_reason"], "api");

        // An ended call takes no commands, as with Telnyx.
        let (status, err) = w.post(&format!("/v1/calls/{id}/end"), None).await;
        assert_eq!(
            (status, err),
            (
                StatusCode::CONFLICT,
                json!({"error": "Call is not in progress"})
            )
        );
        let (status, _) = w
            .post(
                &format!("/v1/calls/{id}/gather"),
                Some(json!({"prompt": "Your 4-digit PIN?"})),
            )
            .await;
        assert_eq!(status, StatusCode::CONFLICT);
        let refused = w.simulator().hangup("v3:sim-end", &Hangup::default()).await;
        assert!(
            matches!(refused, Err(CommandError::CallGone(_))),
            "{refused:?}"
        );
        let unknown = w.simulator().hangup("v3:nobody", &Hangup::default()).await;
        assert!(
            matches!(unknown, Err(CommandError::InvalidCallControlId(_))),
            "{unknown:?}"
        );
        // Nothing more was queued by any of them.
        assert_eq!(w.events(&id).await.0, ["call.started", "call.ended"]);
    }
);

both_backends!(
    a_transfer_is_answered_after_the_ring,
    |db: TestDb| async move {
        let w = world(&db).await;
        let id = w.answered_call("v3:sim-transfer").await;

        let (status, body) = w
            .post(
                &format!("/v1/calls/{id}/transfer"),
                Some(json!({"destination": "+31850099999"})),
            )
            .await;
        assert_eq!(
            (status, body),
            (
                StatusCode::OK,
                json!({"success": true, "destination": "+31850099999"})
            )
        );
        // Still ringing at the destination.
        assert_eq!(w.call(&id).await["status"], "in-progress");
        assert_eq!(
            w.events(&id).await.0,
            ["call.started", "transfer.initiated"]
        );

        w.wait_for_event(&id, "transfer.completed", 1).await;
        let call = w.call(&id).await;
        assert_eq!(
            [
                &call["status"],
                &call["disposition"],
                &call["ended_reason"],
                &call["transferred_to"]
            ],
            [
                &json!("completed"),
                &json!("transferred"),
                &json!("transfer"),
                &json!("+31850099999")
            ]
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
        assert_eq!(bodies[2]["destination"], "+31850099999");

        // Then the caller talks to the destination until both legs hang up.
        eventually("the transferred conversation ends", || async {
            w.call(&id).await["transfer_duration_seconds"]
                .as_i64()
                .unwrap()
                >= 1
        })
        .await;
        let call = w.call(&id).await;
        assert!(call["transfer_cost"].as_f64().unwrap() > 0.0, "{call}");
    }
);

both_backends!(
    a_destination_ending_in_0000_is_busy,
    |db: TestDb| async move {
        let w = world(&db).await;
        let id = w.answered_call("v3:sim-busy").await;

        let (status, _) = w
            .post(
                &format!("/v1/calls/{id}/transfer"),
                Some(json!({"destination": "+31850090000"})),
            )
            .await;
        assert_eq!(status, StatusCode::OK);
        w.wait_for_event(&id, "transfer.failed", 1).await;
        let (names, bodies) = w.events(&id).await;
        assert_eq!(
            names,
            ["call.started", "transfer.initiated", "transfer.failed"]
        );
        assert_eq!(
            (&bodies[2]["reason"], &bodies[2]["destination"]),
            (&json!("user_busy"), &json!("+31850090000"))
        );
        // The call goes on, and can be transferred again.
        let call = w.call(&id).await;
        assert_eq!(
            (
                &call["status"],
                &call["ended_reason"],
                &call["transferred_to"]
            ),
            (&json!("in-progress"), &Value::Null, &Value::Null)
        );
        let (status, _) = w
            .post(
                &format!("/v1/calls/{id}/transfer"),
                Some(json!({"destination": "+31850099999"})),
            )
            .await;
        assert_eq!(status, StatusCode::OK);
        w.wait_for_event(&id, "transfer.completed", 1).await;
    }
);

both_backends!(
    a_gather_gets_the_digits_its_prompt_asks_for_or_times_out,
    |db: TestDb| async move {
        let w = world(&db).await;
        let id = w.answered_call("v3:sim-gather").await;
        let numeric = id.parse::<CallId>().unwrap().get();

        let (status, body) = w
            .post(
                &format!("/v1/calls/{id}/gather"),
                Some(json!({"prompt": "Please enter your 4-digit PIN, then press hash."})),
            )
            .await;
        assert_eq!(
            (status, body),
            (
                StatusCode::ACCEPTED,
                json!({"message": "Gather initiated", "call_id": numeric})
            )
        );
        // One gather at a time: the first one has not ended yet.
        let (status, err) = w
            .post(
                &format!("/v1/calls/{id}/gather"),
                Some(json!({"prompt": "Again?"})),
            )
            .await;
        assert_eq!(
            (status, err),
            (
                StatusCode::CONFLICT,
                json!({"error": "A gather operation is already in progress for this call"})
            )
        );
        w.wait_for_event(&id, "call.gather.completed", 1).await;
        let (_, bodies) = w.events(&id).await;
        let gathered = &bodies[1];
        assert_eq!(
            [&gathered["status"], &gathered["input"], &gathered["reason"]],
            [&json!("completed"), &json!("1234"), &json!("valid")]
        );

        // The slot is free again; "timeout" in the prompt times out.
        let (status, _) = w
            .post(
                &format!("/v1/calls/{id}/gather"),
                Some(json!({"prompt": "This one is a timeout test", "max_digits": 6})),
            )
            .await;
        assert_eq!(status, StatusCode::ACCEPTED);
        w.wait_for_event(&id, "call.gather.completed", 2).await;
        let (names, bodies) = w.events(&id).await;
        assert_eq!(
            names,
            [
                "call.started",
                "call.gather.completed",
                "call.gather.completed"
            ]
        );
        assert_eq!(
            [
                &bodies[2]["status"],
                &bodies[2]["input"],
                &bodies[2]["reason"]
            ],
            [&json!("timeout"), &Value::Null, &json!("timeout")]
        );
        // A gather changes nothing about the call.
        assert_eq!(w.call(&id).await["status"], "in-progress");

        // A gather cut short by the call's end reports the hangup.
        let (status, _) = w
            .post(
                &format!("/v1/calls/{id}/gather"),
                Some(json!({"prompt": "Enter six digits"})),
            )
            .await;
        assert_eq!(status, StatusCode::ACCEPTED);
        let (status, _) = w.post(&format!("/v1/calls/{id}/end"), None).await;
        assert_eq!(status, StatusCode::OK);
        w.wait_for_event(&id, "call.gather.completed", 3).await;
        w.wait_for_event(&id, "call.ended", 1).await;
        let (_, bodies) = w.events(&id).await;
        let last = bodies
            .iter()
            .rfind(|b| b["event"] == "call.gather.completed")
            .unwrap();
        assert_eq!(
            [&last["status"], &last["input"], &last["reason"]],
            [&json!("timeout"), &Value::Null, &json!("call_hangup")]
        );
    }
);
