//! A live call fed through the pipeline API (`/pipeline/v1/…`, the voice pipeline's side),
//! as a real pipeline would: created, answered, then turn by turn until it ends. The server
//! must run with [`PIPELINE_TOKEN`] (`server::Options::pipeline_token`).

use serde_json::{Value, json};

use crate::{Demo, Server};

/// The pipeline API's operator token the tests start the server with.
pub const PIPELINE_TOKEN: &str = "e2e-pipeline-token-0123456789";

/// A call in progress and its public debug link.
pub struct LiveCall {
    pub id: String,
    /// The debug link on this server (a full URL).
    pub link: String,
    base_url: String,
    client: reqwest::Client,
}

/// An assistant (with latency) or caller turn of the pipeline's `/turns`.
pub fn turn(seq: u32, role: &str, content: &str, at: f64, llm_ttfb_ms: u32) -> Value {
    let mut t = json!({"seq": seq, "role": role, "content": content, "timestamp": at});
    if role == "assistant" {
        t["llm_ttfb_ms"] = json!(llm_ttfb_ms);
        t["tts_start_ms"] = json!(llm_ttfb_ms + 100);
        t["tts_ttfb_ms"] = json!(90);
    } else {
        t["stt_ms"] = json!(180);
    }
    t
}

impl LiveCall {
    /// Creates a call for the demo account's first agent and answers it; issues its link.
    pub async fn start(server: &Server, demo: &Demo) -> LiveCall {
        let mut call = LiveCall {
            id: String::new(),
            link: String::new(),
            base_url: server.base_url.clone(),
            client: reqwest::Client::new(),
        };
        let created = call
            .pipeline(
                "/pipeline/v1/calls",
                json!({"agent_id": 1, "from_number": "+31612345678",
                       "to_number": "+31850012345"}),
            )
            .await;
        call.id = created["call_id"].as_str().expect("call_id").to_owned();
        call.pipeline(
            &format!("/pipeline/v1/calls/{}/answer", call.id),
            Value::Null,
        )
        .await;
        let link: Value = call
            .client
            .get(server.url(&format!("/v1/calls/{}/debug-link", call.id)))
            .bearer_auth(&demo.api_key)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let url = link["url"].as_str().expect("a debug link url");
        let path = &url[url
            .find(callscope_shared::link::DEBUG_PATH_PREFIX)
            .expect("a debug link path")..];
        call.link = server.url(path);
        call
    }

    /// POSTs to the pipeline API (`Value::Null`: no body); panics unless it succeeds.
    pub async fn pipeline(&self, path: &str, body: Value) -> Value {
        let mut request = self
            .client
            .post(format!("{}{path}", self.base_url))
            .bearer_auth(PIPELINE_TOKEN);
        if !body.is_null() {
            request = request.json(&body);
        }
        let response = request.send().await.unwrap();
        let status = response.status();
        let body: Value = response.json().await.unwrap_or(Value::Null);
        assert!(status.is_success(), "{path}: {status} {body}");
        body
    }

    /// Sends turns (see [`turn`]).
    pub async fn turns(&self, turns: Value) {
        self.pipeline(
            &format!("/pipeline/v1/calls/{}/turns", self.id),
            json!({ "turns": turns }),
        )
        .await;
    }

    /// Ends the call: the caller hung up.
    pub async fn end(&self) {
        self.pipeline(
            &format!("/pipeline/v1/calls/{}/end", self.id),
            json!({"ended_reason": "caller-hangup"}),
        )
        .await;
    }
}
