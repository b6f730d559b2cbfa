//! `callscope simulate` (`simulate::run`) against the real application on loopback, on
//! both backends, with the simulated telephony provider: calls created, answered, turns
//! stored with latency and tool calls, ended; stopped, it leaves no call live; and a call
//! ended through the API stays ended as the API ended it.

use crate::common::{self, TestDb, TestServer, fixtures};

use std::sync::{Arc, Mutex};
use std::time::Duration;

use callscope_server::application::Application;
use callscope_server::auth::{KeyMode, create_key};
use callscope_server::clock::UnixTime;
use callscope_server::live::LiveStore;
use callscope_server::simulate::{self, Output, SimAgent, Simulation};
use callscope_server::telephony::{SimulatedTimings, TelephonyConfig};
use reqwest::StatusCode;
use serde_json::Value;

const TOKEN: &str = "pipeline-token-0123456789";

struct W {
    server: TestServer,
    key: String,
    agents: Vec<SimAgent>,
}

async fn world(db: &TestDb) -> W {
    let store = db.store.clone();
    let key = create_key(&store, "acme", KeyMode::Live, UnixTime(1))
        .await
        .unwrap()
        .reveal()
        .to_owned();
    let acme = store.account_id("acme").await.unwrap().unwrap();
    let mut agents = Vec::new();
    for (profile, bits) in [0x28c5_1f81_u32, 0x28c5_1f82].into_iter().enumerate() {
        let agent = fixtures::agent(&store, acme, bits).await;
        agents.push(SimAgent {
            id: agent.public_id.to_string(),
            profile,
        });
    }
    let mut config = common::config();
    config.pipeline_tokens = TOKEN.parse().unwrap();
    config.telephony = TelephonyConfig::Simulated(SimulatedTimings {
        hangup: Duration::from_millis(50),
        transfer_ring: Duration::from_millis(50),
        transfer_talk: Duration::from_millis(50),
        gather: Duration::from_millis(50),
    });
    let app = Application::builder(config)
        .store(store)
        .live(LiveStore::in_process());
    W {
        server: TestServer::start_app(app).await,
        key,
        agents,
    }
}

impl W {
    fn simulation(&self, calls: usize, speed: f64) -> Simulation {
        Simulation {
            base_url: self.server.url(""),
            token: TOKEN.into(),
            agents: self.agents.clone(),
            calls,
            forever: false,
            speed,
            hold: Duration::ZERO,
            seed: 7,
        }
    }

    async fn call(&self, id: &str) -> Value {
        let (status, call) =
            common::status_and_json(self.server.get(&format!("/v1/calls/{id}"), &self.key).await)
                .await;
        assert_eq!(status, StatusCode::OK, "{call}");
        call
    }
}

/// An output that keeps the lines.
fn lines() -> (Output, Arc<Mutex<Vec<String>>>) {
    let kept = Arc::new(Mutex::new(Vec::new()));
    let sink = kept.clone();
    let out: Output = Arc::new(move |line: &str| sink.lock().unwrap().push(line.to_owned()));
    (out, kept)
}

both_backends!(simulated_calls_ring_talk_and_end, |db: TestDb| async move {
    let w = world(&db).await;
    let (out, printed) = lines();
    let report = simulate::run(w.simulation(3, 2_000.0), out, std::future::pending())
        .await
        .unwrap();
    assert_eq!(report.created.len(), 3);
    assert_eq!(report.failures, Vec::<String>::new());

    let printed = printed.lock().unwrap().clone();
    let mut tool_calls = 0;
    for id in &report.created {
        for step in ["ringing", "in-progress", "talking"] {
            assert!(printed.contains(&format!("{id} {step}")), "{id} {step}");
        }
        let call = w.call(id).await;
        let reason = call["ended_reason"].as_str().unwrap();
        assert!(
            printed.contains(&format!("{id} ended {reason}")),
            "{printed:?}"
        );
        assert!(
            ["caller-hangup", "agent-hangup"].contains(&reason),
            "{reason}"
        );
        assert_eq!(
            (&call["status"], &call["disposition"]),
            (&Value::from("completed"), &Value::from("answered"))
        );
        let transcript = call["transcript"].as_array().unwrap();
        assert!(transcript.len() >= 2, "{call}");
        assert_eq!(call["turn_count"], transcript.len());
        assert_eq!(transcript[0]["role"], "assistant");
        // Every assistant entry carries its latency.
        let assistant = transcript
            .iter()
            .filter(|e| e["role"] == "assistant")
            .count();
        let turns = call["latency_data"]["turns"].as_array().unwrap();
        assert_eq!(turns.len(), assistant, "{call}");
        assert!(turns.iter().all(|t| t["llm_ttfb_ms"].as_i64().unwrap() > 0));
        // Timestamps on the call's clock, increasing.
        let stamps: Vec<f64> = transcript
            .iter()
            .map(|e| e["timestamp"].as_f64().unwrap())
            .collect();
        assert!(stamps.windows(2).all(|p| p[0] < p[1]), "{stamps:?}");
        tool_calls += call["tool_call_count"].as_i64().unwrap();
    }
    // The run's first call is the long one, as the demo's showcase.
    let mut longest = 0;
    for id in &report.created {
        longest = longest.max(w.call(id).await["turn_count"].as_u64().unwrap());
    }
    assert!(longest >= 16, "{longest}");
    assert!(tool_calls > 0);
});

both_backends!(
    a_stopped_simulation_leaves_no_call_live_and_api_ends_stand,
    |db: TestDb| async move {
        let w = world(&db).await;
        let (out, printed) = lines();
        let mut simulation = w.simulation(2, 50.0);
        simulation.forever = true;
        // The first call holds for 10 minutes of call time (12 s here): it is live.
        simulation.hold = Duration::from_secs(600);
        let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
        let run = tokio::spawn(simulate::run(simulation, out, async {
            let _ = stop_rx.await;
        }));

        // The first call talks, then is ended through the API (the simulator hangs up).
        let mut waited = 0;
        let first = loop {
            waited += 1;
            assert!(
                waited < 500,
                "no call talking: {:?}",
                printed.lock().unwrap()
            );
            let talking = printed
                .lock()
                .unwrap()
                .iter()
                .find(|l| l.ends_with(" talking"))
                .map(|l| l.trim_end_matches(" talking").to_owned());
            if let Some(id) = talking {
                break id;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        };
        let r = w
            .server
            .client
            .post(w.server.url(&format!("/v1/calls/{first}/end")))
            .bearer_auth(&w.key)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::OK);
        for _ in 0..500 {
            if w.call(&first).await["status"] != "in-progress" {
                break;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        // Ended by the simulator's hangup (the call was in its hold: the pipeline sent nothing).
        assert_eq!(w.call(&first).await["ended_reason"], "api");

        // A new one takes its slot; stop while calls are live.
        tokio::time::sleep(Duration::from_millis(300)).await;
        stop_tx.send(()).unwrap();
        let report = run.await.unwrap().unwrap();
        assert!(report.created.len() >= 2, "{:?}", report.created);
        for id in &report.created {
            let call = w.call(id).await;
            assert!(
                !["ringing", "in-progress"].contains(&call["status"].as_str().unwrap()),
                "{call}"
            );
        }
        // The API's end stood: the simulator did not end that call again its own way.
        assert_eq!(w.call(&first).await["ended_reason"], "api");
        let printed = printed.lock().unwrap().clone();
        assert!(
            printed.contains(&format!("{first} ended api")),
            "{printed:?}"
        );
    }
);
