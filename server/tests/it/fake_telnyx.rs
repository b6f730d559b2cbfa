//! A fake Telnyx Call Control API on 127.0.0.1, played from Telnyx's public reference
//! (`shared/spec/telnyx-call-control.md`): it answers `POST /v2/calls/{id}/actions/{action}`,
//! checks the bearer key, records every request, can be told to fail or stall the next
//! requests, and signs webhooks with its own Ed25519 key as Telnyx does.

use std::collections::{HashSet, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Json;
use axum::Router;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use ed25519_dalek::{Signer, SigningKey};
use serde_json::{Value, json};
use tokio::net::TcpListener;

/// What the fake does with one of the next requests.
#[derive(Debug, Clone, Copy)]
pub enum Fault {
    /// Answer this status with a Telnyx-shaped error body.
    Status(u16),
    /// Answer 200, but only after this long (the client should have given up).
    Delay(Duration),
}

/// One request as received.
#[derive(Debug, Clone)]
pub struct Recorded {
    pub path: String,
    pub authorization: Option<String>,
    pub content_type: Option<String>,
    pub body: Value,
}

#[derive(Default)]
struct Fake {
    api_key: String,
    ended: HashSet<String>,
    faults: VecDeque<Fault>,
    requests: Vec<Recorded>,
}

pub struct FakeTelnyx {
    base: String,
    state: Arc<Mutex<Fake>>,
    signing_key: SigningKey,
}

impl FakeTelnyx {
    /// Serves on a free port; only `api_key` is accepted.
    pub async fn start(api_key: &str) -> FakeTelnyx {
        let state = Arc::new(Mutex::new(Fake {
            api_key: api_key.to_owned(),
            ..Fake::default()
        }));
        let app = Router::new()
            .route("/v2/calls/{id}/actions/{action}", post(command))
            .with_state(state.clone());
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        let seed: [u8; 32] = rand::random();
        FakeTelnyx {
            base: format!("http://{addr}/v2"),
            state,
            signing_key: SigningKey::from_bytes(&seed),
        }
    }

    /// The API base to configure (`--telnyx-api-url`).
    pub fn api_url(&self) -> reqwest::Url {
        self.base.parse().unwrap()
    }

    /// Commands to this call now get 422 `90018`.
    pub fn end_call(&self, call_control_id: &str) {
        self.state
            .lock()
            .unwrap()
            .ended
            .insert(call_control_id.to_owned());
    }

    /// The next requests, one fault each, in order.
    pub fn fail_next(&self, faults: impl IntoIterator<Item = Fault>) {
        self.state.lock().unwrap().faults.extend(faults);
    }

    pub fn requests(&self) -> Vec<Recorded> {
        self.state.lock().unwrap().requests.clone()
    }

    /// The webhook public key, as Telnyx's portal shows it (`--telnyx-public-key`).
    pub fn public_key_base64(&self) -> String {
        STANDARD.encode(self.signing_key.verifying_key().as_bytes())
    }

    /// The `telnyx-signature-ed25519` of `body` sent at `timestamp`.
    pub fn signature(&self, timestamp: &str, body: &[u8]) -> String {
        let mut signed = format!("{timestamp}|").into_bytes();
        signed.extend_from_slice(body);
        STANDARD.encode(self.signing_key.sign(&signed).to_bytes())
    }

    /// Delivers `body` to `url` signed at `timestamp`, as Telnyx does.
    pub async fn send_webhook(&self, url: &str, body: &[u8], timestamp: i64) -> reqwest::Response {
        let ts = timestamp.to_string();
        reqwest::Client::new()
            .post(url)
            .header("content-type", "application/json")
            .header("telnyx-timestamp", &ts)
            .header("telnyx-signature-ed25519", self.signature(&ts, body))
            .body(body.to_vec())
            .send()
            .await
            .unwrap()
    }
}

fn error(status: StatusCode, code: &str, title: &str, detail: &str) -> Response {
    let body = json!({"errors": [{"code": code, "title": title, "detail": detail}]});
    (status, Json(body)).into_response()
}

async fn command(
    State(state): State<Arc<Mutex<Fake>>>,
    Path((id, action)): Path<(String, String)>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Response {
    let header = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
    };
    let (fault, authorized, ended) = {
        let mut fake = state.lock().unwrap();
        fake.requests.push(Recorded {
            path: format!("/v2/calls/{id}/actions/{action}"),
            authorization: header("authorization"),
            content_type: header("content-type"),
            body: serde_json::from_slice(&body).unwrap_or(Value::Null),
        });
        let authorized = header("authorization") == Some(format!("Bearer {}", fake.api_key));
        (
            fake.faults.pop_front(),
            authorized,
            fake.ended.contains(&id),
        )
    };
    if !authorized {
        return error(
            StatusCode::UNAUTHORIZED,
            "10009",
            "Authentication failed",
            "The API key is invalid.",
        );
    }
    match fault {
        Some(Fault::Status(code)) => {
            let status = StatusCode::from_u16(code).unwrap();
            return error(status, "10011", "Unexpected error", "Try again.");
        }
        Some(Fault::Delay(delay)) => tokio::time::sleep(delay).await,
        None => {}
    }
    if ended {
        return error(
            StatusCode::UNPROCESSABLE_ENTITY,
            "90018",
            "Call has already ended",
            "This call is no longer active and can't receive commands.",
        );
    }
    if !matches!(
        action.as_str(),
        "hangup" | "transfer" | "gather_using_speak" | "record_start"
    ) || !body.starts_with(b"{")
    {
        return error(
            StatusCode::UNPROCESSABLE_ENTITY,
            "10004",
            "Missing required parameter",
            "The body must be a JSON object.",
        );
    }
    Json(json!({"data": {"result": "ok"}})).into_response()
}
