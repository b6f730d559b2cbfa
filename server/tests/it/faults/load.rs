//! Traffic for the fault tests, and the ledger of what the server acknowledged.
//!
//! Writers drive calls through the pipeline API (create with a `call_control_id`, two
//! batches of turns, end), each step retried until it is acknowledged (a 2xx): every step
//! is idempotent, so a retry after a lost answer stores nothing twice. Readers list calls,
//! read details and open a debug link. Every answer is classified: a 2xx, a 503 that is
//! JSON with `Retry-After` (what a dependency outage must look like), a transport failure
//! (only expected while the server itself is down), or anything else, which the test fails
//! on. After the fault, `verify` checks that everything acknowledged is stored.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

/// The pipeline token the fault tests serve with.
pub const TOKEN: &str = "fault-pipeline-token-0123456789";

/// Longest a client waits for one answer: well past the server's own 30 s request timeout,
/// so a request that takes longer is a hang, and fails the test.
const CLIENT_TIMEOUT: Duration = Duration::from_secs(60);
/// Longest one step is retried (through the outage and the recovery) before the test fails.
const STEP_DEADLINE: Duration = Duration::from_secs(240);
const RETRY_PAUSE: Duration = Duration::from_millis(250);

/// What a call's writer was told was stored.
#[derive(Debug, Default, Clone)]
pub struct Acked {
    pub call_id: Option<String>,
    pub turns: BTreeSet<i64>,
    pub ended: bool,
}

/// How one request went.
enum Answer {
    Ok(Value),
    /// 503 JSON with `Retry-After`: retry later.
    Unavailable,
    /// No answer: the connection failed (the server is down).
    Transport,
    /// Anything else; already recorded in `unexpected`.
    Unexpected,
}

/// The server under load and everything its answers said.
pub struct Load {
    base: RwLock<String>,
    client: reqwest::Client,
    /// An API key of the account that owns `agent`.
    key: String,
    agent: String,
    /// Control id → what was acknowledged for that call.
    pub ledger: Mutex<BTreeMap<String, Acked>>,
    /// Answers that are none of 2xx, 503 JSON with `Retry-After`, or a failed connection.
    pub unexpected: Mutex<Vec<String>>,
    pub ok: AtomicU64,
    pub unavailable: AtomicU64,
    pub transport: AtomicU64,
    stop: AtomicBool,
}

impl Load {
    pub fn new(base: &str, key: &str, agent: &str) -> Arc<Load> {
        Arc::new(Load {
            base: RwLock::new(base.to_owned()),
            client: reqwest::Client::builder()
                .timeout(CLIENT_TIMEOUT)
                .build()
                .unwrap(),
            key: key.to_owned(),
            agent: agent.to_owned(),
            ledger: Mutex::default(),
            unexpected: Mutex::default(),
            ok: AtomicU64::default(),
            unavailable: AtomicU64::default(),
            transport: AtomicU64::default(),
            stop: AtomicBool::new(false),
        })
    }

    /// Points the traffic at a restarted server.
    pub fn set_base(&self, base: &str) {
        *self.base.write().unwrap() = base.to_owned();
    }

    pub fn acks(&self) -> u64 {
        self.ok.load(Ordering::Relaxed)
    }

    pub fn unavailable(&self) -> u64 {
        self.unavailable.load(Ordering::Relaxed)
    }

    pub fn transport(&self) -> u64 {
        self.transport.load(Ordering::Relaxed)
    }

    fn unexpected(&self, what: String) {
        self.unexpected.lock().unwrap().push(what);
    }

    /// The answers the test must fail on (empty when all is well).
    pub fn unexpected_answers(&self) -> Vec<String> {
        self.unexpected.lock().unwrap().clone()
    }

    /// Starts `writers` writers and `readers` readers; `stop_and_drain` ends them.
    pub fn spawn(
        self: &Arc<Self>,
        writers: usize,
        readers: usize,
    ) -> Vec<tokio::task::JoinHandle<()>> {
        let mut tasks = Vec::new();
        for w in 0..writers {
            let me = self.clone();
            tasks.push(tokio::spawn(async move { me.writer(w).await }));
        }
        for _ in 0..readers {
            let me = self.clone();
            tasks.push(tokio::spawn(async move { me.reader().await }));
        }
        tasks
    }

    /// Tells every task to stop: writers finish the call they are on (every step
    /// acknowledged), readers stop at once. Waits for them.
    pub async fn stop_and_drain(&self, tasks: Vec<tokio::task::JoinHandle<()>>) {
        self.stop.store(true, Ordering::Relaxed);
        for task in tasks {
            task.await.expect("a load task panicked");
        }
    }

    async fn send(
        &self,
        method: Method,
        path: &str,
        body: Option<&Value>,
        pipeline: bool,
    ) -> Answer {
        let url = format!("{}{path}", self.base.read().unwrap());
        let mut request = self.client.request(method.clone(), url);
        request = request.bearer_auth(if pipeline { TOKEN } else { self.key.as_str() });
        if let Some(body) = body {
            request = request.json(body);
        }
        let response = match request.send().await {
            Ok(r) => r,
            Err(e) if e.is_timeout() => {
                self.unexpected(format!("{method} {path}: no answer in {CLIENT_TIMEOUT:?}"));
                return Answer::Unexpected;
            }
            Err(_) => {
                self.transport.fetch_add(1, Ordering::Relaxed);
                return Answer::Transport;
            }
        };
        let status = response.status();
        let retry_after = response
            .headers()
            .get("retry-after")
            .and_then(|v| v.to_str().ok()?.parse::<u64>().ok());
        let text = match response.text().await {
            Ok(text) => text,
            // The connection dropped mid-body: the server died answering.
            Err(_) => {
                self.transport.fetch_add(1, Ordering::Relaxed);
                return Answer::Transport;
            }
        };
        let json: Option<Value> = serde_json::from_str(&text).ok();
        if status.is_success() {
            self.ok.fetch_add(1, Ordering::Relaxed);
            return Answer::Ok(json.unwrap_or(Value::Null));
        }
        let has_error = json.as_ref().is_some_and(|j| j["error"].is_string());
        if status == StatusCode::SERVICE_UNAVAILABLE && has_error && retry_after.is_some() {
            self.unavailable.fetch_add(1, Ordering::Relaxed);
            return Answer::Unavailable;
        }
        self.unexpected(format!(
            "{method} {path}: {status} retry-after={retry_after:?} {text}"
        ));
        Answer::Unexpected
    }

    /// Sends until acknowledged; `None` after an unexpected answer or `STEP_DEADLINE`.
    async fn step(&self, method: Method, path: &str, body: Option<Value>) -> Option<Value> {
        let deadline = tokio::time::Instant::now() + STEP_DEADLINE;
        loop {
            match self.send(method.clone(), path, body.as_ref(), true).await {
                Answer::Ok(v) => return Some(v),
                Answer::Unexpected => return None,
                Answer::Unavailable | Answer::Transport => {
                    if tokio::time::Instant::now() >= deadline {
                        self.unexpected(format!(
                            "{method} {path}: not acknowledged in {STEP_DEADLINE:?}"
                        ));
                        return None;
                    }
                    tokio::time::sleep(RETRY_PAUSE).await;
                }
            }
        }
    }

    fn record(&self, control: &str, f: impl FnOnce(&mut Acked)) {
        f(self
            .ledger
            .lock()
            .unwrap()
            .entry(control.to_owned())
            .or_default());
    }

    async fn writer(&self, w: usize) {
        let mut n = 0;
        while !self.stop.load(Ordering::Relaxed) {
            self.one_call(&format!("v3:fault-{w}-{n}")).await;
            n += 1;
        }
    }

    /// One call, every step retried until acknowledged.
    async fn one_call(&self, control: &str) {
        self.record(control, |_| {});
        let create = json!({
            "agent_id": self.agent, "from_number": "+31612345678", "to_number": "+31850012345",
            "call_control_id": control, "status": "in-progress",
        });
        let Some(call) = self
            .step(Method::POST, "/pipeline/v1/calls", Some(create))
            .await
        else {
            return;
        };
        let id = call["call_id"].as_str().expect("call_id").to_owned();
        self.record(control, |a| a.call_id = Some(id.clone()));
        for batch in [[1, 2], [3, 4]] {
            let turns: Vec<Value> = batch.iter().map(|&seq| turn(control, seq)).collect();
            let path = format!("/pipeline/v1/calls/{id}/turns");
            if self
                .step(Method::POST, &path, Some(json!({"turns": turns})))
                .await
                .is_none()
            {
                return;
            }
            self.record(control, |a| a.turns.extend(batch));
        }
        let path = format!("/pipeline/v1/calls/{id}/end");
        let end = json!({"ended_reason": "caller-hangup"});
        if self.step(Method::POST, &path, Some(end)).await.is_some() {
            self.record(control, |a| a.ended = true);
        }
    }

    /// Lists, details, and the public view of a call's debug link, over and over.
    async fn reader(&self) {
        let mut token: Option<String> = None;
        while !self.stop.load(Ordering::Relaxed) {
            let some_call = self
                .ledger
                .lock()
                .unwrap()
                .values()
                .rev()
                .find_map(|a| a.call_id.clone());
            let mut paths = vec!["/v1/calls?limit=5".to_owned()];
            if let Some(id) = &some_call {
                paths.push(format!("/v1/calls/{id}"));
                if token.is_none()
                    && let Answer::Ok(link) = self
                        .send(
                            Method::GET,
                            &format!("/v1/calls/{id}/debug-link"),
                            None,
                            false,
                        )
                        .await
                {
                    token = link["debug_token"].as_str().map(str::to_owned);
                }
            }
            if let Some(token) = &token {
                paths.push(format!("/api/v1/call-debug/{token}"));
            }
            for path in paths {
                if let Answer::Unavailable | Answer::Transport =
                    self.send(Method::GET, &path, None, false).await
                {
                    tokio::time::sleep(RETRY_PAUSE).await;
                }
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// GET with the API key, retried while the server is unavailable; the status and body.
    pub async fn get(&self, path: &str) -> (StatusCode, Value) {
        for _ in 0..240 {
            let url = format!("{}{path}", self.base.read().unwrap());
            if let Ok(r) = self.client.get(url).bearer_auth(&self.key).send().await {
                let status = r.status();
                if status != StatusCode::SERVICE_UNAVAILABLE {
                    let text = r.text().await.unwrap_or_default();
                    return (
                        status,
                        serde_json::from_str(&text).unwrap_or(Value::String(text)),
                    );
                }
            }
            tokio::time::sleep(RETRY_PAUSE).await;
        }
        panic!("GET {path} kept failing");
    }

    /// Checks every acknowledged write is stored, as acknowledged; with `drained`, also that
    /// every call was completed and the account holds exactly one call per control id (no
    /// retry stored anything twice). Returns how many calls were checked.
    pub async fn verify(&self, drained: bool) -> usize {
        let ledger = self.ledger.lock().unwrap().clone();
        for (control, acked) in &ledger {
            let Some(id) = &acked.call_id else {
                assert!(!drained, "{control} was never created");
                continue;
            };
            let (status, call) = self.get(&format!("/v1/calls/{id}")).await;
            assert_eq!(
                status,
                StatusCode::OK,
                "acknowledged call {id} ({control}): {call}"
            );
            let contents: Vec<&str> = call["transcript"]
                .as_array()
                .unwrap()
                .iter()
                .map(|t| t["content"].as_str().unwrap())
                .collect();
            for seq in &acked.turns {
                let expected = turn(control, *seq);
                assert!(
                    contents.contains(&expected["content"].as_str().unwrap()),
                    "acknowledged turn {seq} of {id} is missing: {call}"
                );
            }
            if acked.ended {
                assert_eq!(
                    call["status"], "completed",
                    "acknowledged end of {id}: {call}"
                );
                assert_eq!(call["ended_reason"], "caller-hangup", "{call}");
            }
            if drained {
                assert!(
                    acked.ended && acked.turns.len() == 4,
                    "{control}: {acked:?}"
                );
                assert_eq!(call["turn_count"], 4, "{call}");
            }
        }
        if drained {
            assert_eq!(
                self.count_calls().await,
                ledger.len(),
                "one call per control id"
            );
        }
        ledger.len()
    }

    /// Every call of the load's agent, counted page by page.
    async fn count_calls(&self) -> usize {
        let mut count = 0;
        let base = format!("/v1/calls?limit=100&agent_id={}", self.agent);
        let mut path = base.clone();
        loop {
            let (status, page) = self.get(&path).await;
            assert_eq!(status, StatusCode::OK, "{page}");
            count += page["calls"].as_array().unwrap().len();
            match page["next_cursor"].as_str() {
                Some(cursor) if page["has_more"] == true => {
                    path = format!("{base}&after={cursor}");
                }
                _ => return count,
            }
        }
    }
}

/// Transcript entry `seq` of the call with control id `control` (odd: the assistant).
fn turn(control: &str, seq: i64) -> Value {
    let role = if seq % 2 == 1 { "assistant" } else { "user" };
    json!({
        "seq": seq, "role": role, "timestamp": seq as f64 * 2.0,
        "content": format!("turn {seq} of {control}"),
    })
}
