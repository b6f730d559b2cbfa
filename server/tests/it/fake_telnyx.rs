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
    let body: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    if let Some(refused) = invalid_fields(&action, &body) {
        return refused;
    }
    Json(json!({"data": {"result": "ok"}})).into_response()
}

/// Telnyx's `language` values for `gather_using_speak`.
const LANGUAGES: &str = "arb cmn-CN cy-GB da-DK de-DE en-AU en-GB en-GB-WLS en-IN en-US es-ES \
    es-MX es-US fr-CA fr-FR hi-IN is-IS it-IT ja-JP ko-KR nb-NO nl-NL pl-PL pt-BR pt-PT ro-RO \
    ru-RU sv-SE tr-TR";

/// The checks Telnyx's reference makes on the commands' fields (the required ones, the
/// number format, the language enum), answered as Telnyx answers them.
fn invalid_fields(action: &str, body: &Value) -> Option<Response> {
    let text = |name: &str| body.get(name).and_then(Value::as_str);
    let missing = |name: &str| {
        Some(error(
            StatusCode::UNPROCESSABLE_ENTITY,
            "10004",
            "Missing required parameter",
            &format!("The '{name}' parameter is required."),
        ))
    };
    match action {
        "transfer" => match text("to") {
            None => missing("to"),
            Some(to) if !(to.starts_with('+') || to.starts_with("sip:")) => Some(error(
                StatusCode::UNPROCESSABLE_ENTITY,
                "10016",
                "Phone number must be in +E164 format",
                "The 'to' parameter must be in +E164 format.",
            )),
            Some(_) => None,
        },
        "gather_using_speak" => {
            if text("payload").is_none() {
                return missing("payload");
            }
            if text("voice").is_none() {
                return missing("voice");
            }
            match body.get("language") {
                Some(Value::String(l)) if LANGUAGES.split_whitespace().any(|x| x == l) => None,
                None => None,
                Some(_) => Some(error(
                    StatusCode::UNPROCESSABLE_ENTITY,
                    "10015",
                    "Invalid value for language",
                    "The 'language' parameter is not one of the accepted values.",
                )),
            }
        }
        "record_start" => (text("format").is_none() || text("channels").is_none())
            .then(|| missing("format and channels").unwrap()),
        _ => None,
    }
}
