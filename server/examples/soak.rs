//! The soak's load generator (`scripts/soak.sh` runs it against a release server on
//! loopback; issue 16): a steady rate of mixed traffic for a fixed time — calls ingested
//! through the pipeline API (create, three batches of turns, end), list and detail reads,
//! public debug-link views — with every call's webhooks delivered to a receiver it serves
//! on loopback. It samples the server's resident memory (`VmRSS` of `/proc/<pid>/status`)
//! every 10 s, counts every answer that is not a 2xx as an error, and prints a summary.
//! Exits non-zero when there was an error or an event was not delivered.
//!
//! Settings (environment): `SOAK_BASE` (the server, `http://127.0.0.1:port`), `SOAK_KEY`
//! (an API key), `SOAK_AGENT` (an agent of its account), `SOAK_TOKEN` (the pipeline
//! token), `SOAK_PID` (the server's process id), `SOAK_SECONDS` (default 600), `SOAK_RPS`
//! (requests per second, default 50).

use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::http::{HeaderMap, StatusCode};
use reqwest::Method;
use serde_json::{Value, json};

/// Calls kept in flight at once (each advanced one step per write tick).
const CALLS_IN_FLIGHT: usize = 16;
/// Debug links kept to view (one issued every `LINK_EVERY` finished calls).
const LINKS_KEPT: usize = 32;
const LINK_EVERY: u64 = 10;
const SAMPLE_EVERY: Duration = Duration::from_secs(10);

fn env(name: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| panic!("{name} is required"))
}

fn env_or(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .map(|v| {
            v.parse()
                .unwrap_or_else(|_| panic!("{name} must be a number"))
        })
        .unwrap_or(default)
}

/// What the run saw, by kind of request.
#[derive(Default)]
struct Counts {
    requests: HashMap<&'static str, u64>,
    latencies_us: HashMap<&'static str, Vec<u64>>,
    errors: u64,
    first_errors: Vec<String>,
}

/// A call being ingested: its id once created, and the next step.
struct InFlight {
    n: u64,
    id: Option<String>,
    step: u8,
}

struct Soak {
    base: String,
    key: String,
    agent: String,
    token: String,
    client: reqwest::Client,
    counts: Mutex<Counts>,
    /// Calls waiting for their next step; a step in progress holds its call.
    waiting: Mutex<VecDeque<InFlight>>,
    in_flight: AtomicU64,
    next_call: AtomicU64,
    created: AtomicU64,
    ended: AtomicU64,
    finished: Mutex<Vec<String>>,
    links: Mutex<VecDeque<String>>,
    tick: AtomicU64,
}

impl Soak {
    /// Sends one request; its JSON when it was a 2xx, else counted as an error.
    async fn send(
        &self,
        kind: &'static str,
        method: Method,
        path: &str,
        bearer: Option<&str>,
        body: Option<Value>,
    ) -> Option<Value> {
        let mut request = self
            .client
            .request(method.clone(), format!("{}{path}", self.base));
        if let Some(bearer) = bearer {
            request = request.bearer_auth(bearer);
        }
        if let Some(body) = body {
            request = request.json(&body);
        }
        let started = Instant::now();
        let outcome = match request.send().await {
            Ok(r) => {
                let status = r.status();
                match r.text().await {
                    Ok(text) if status.is_success() => {
                        Ok(serde_json::from_str(&text).unwrap_or(Value::Null))
                    }
                    Ok(text) => Err(format!(
                        "{status} {}",
                        text.chars().take(200).collect::<String>()
                    )),
                    Err(e) => Err(format!("{status}, body: {e}")),
                }
            }
            Err(e) => Err(format!("no answer: {e}")),
        };
        let elapsed = started.elapsed().as_micros() as u64;
        let mut counts = self.counts.lock().unwrap();
        *counts.requests.entry(kind).or_default() += 1;
        counts.latencies_us.entry(kind).or_default().push(elapsed);
        match outcome {
            Ok(v) => Some(v),
            Err(e) => {
                counts.errors += 1;
                if counts.first_errors.len() < 10 {
                    counts.first_errors.push(format!("{method} {path}: {e}"));
                }
                None
            }
        }
    }

    /// One tick of the mix: half pipeline writes, then lists, details and public views.
    async fn tick(self: Arc<Self>) {
        let n = self.tick.fetch_add(1, Ordering::Relaxed);
        match n % 10 {
            0..=4 => self.advance_a_call().await,
            5 | 6 => {
                self.send(
                    "list",
                    Method::GET,
                    "/v1/calls?limit=20",
                    Some(&self.key),
                    None,
                )
                .await;
            }
            7 => {
                let id = {
                    let finished = self.finished.lock().unwrap();
                    finished.get(n as usize % finished.len().max(1)).cloned()
                };
                match id {
                    Some(id) => {
                        self.send(
                            "detail",
                            Method::GET,
                            &format!("/v1/calls/{id}"),
                            Some(&self.key),
                            None,
                        )
                        .await;
                    }
                    None => self.advance_a_call().await,
                }
            }
            _ => {
                let link = {
                    let links = self.links.lock().unwrap();
                    links.get(n as usize % links.len().max(1)).cloned()
                };
                match link {
                    Some(url) => {
                        self.send("public view", Method::GET, &url, None, None)
                            .await;
                    }
                    None => self.advance_a_call().await,
                }
            }
        }
    }

    /// Takes the call waiting longest one step further, or starts a new call.
    async fn advance_a_call(&self) {
        let waiting = self.waiting.lock().unwrap().pop_front();
        let mut call = match waiting {
            Some(call) => call,
            None if self.in_flight.load(Ordering::Relaxed) < CALLS_IN_FLIGHT as u64 => {
                self.in_flight.fetch_add(1, Ordering::Relaxed);
                InFlight {
                    n: self.next_call.fetch_add(1, Ordering::Relaxed),
                    id: None,
                    step: 0,
                }
            }
            // Every call is mid-step: read instead, keeping the rate.
            None => {
                self.send(
                    "list",
                    Method::GET,
                    "/v1/calls?limit=20",
                    Some(&self.key),
                    None,
                )
                .await;
                return;
            }
        };
        let token = Some(self.token.as_str());
        let done = match (&call.id, call.step) {
            (None, _) => {
                let body = json!({
                    "agent_id": self.agent, "from_number": "+31612345678",
                    "to_number": "+31850012345", "status": "in-progress",
                    "call_control_id": format!("v3:soak-{}-{}", std::process::id(), call.n),
                });
                let created = self
                    .send(
                        "pipeline create",
                        Method::POST,
                        "/pipeline/v1/calls",
                        token,
                        Some(body),
                    )
                    .await;
                match created.and_then(|c| c["call_id"].as_str().map(str::to_owned)) {
                    Some(id) => {
                        self.created.fetch_add(1, Ordering::Relaxed);
                        call.id = Some(id);
                        false
                    }
                    None => true,
                }
            }
            (Some(id), step @ 0..=2) => {
                let seq = i64::from(step) * 2 + 1;
                let turns = json!({"turns": [
                    {"seq": seq, "role": "assistant", "content": format!("Reply {seq}: how can I help?"),
                     "timestamp": seq as f64 * 2.0, "llm_ttfb_ms": 210, "tts_start_ms": 320, "tts_ttfb_ms": 95},
                    {"seq": seq + 1, "role": "user", "content": "I need to file a claim",
                     "timestamp": seq as f64 * 2.0 + 1.5, "stt_ms": 180},
                ]});
                let path = format!("/pipeline/v1/calls/{id}/turns");
                let ok = self
                    .send("pipeline turns", Method::POST, &path, token, Some(turns))
                    .await;
                call.step += 1;
                ok.is_none()
            }
            (Some(id), _) => {
                let path = format!("/pipeline/v1/calls/{id}/end");
                let body = json!({"ended_reason": "caller-hangup"});
                if self
                    .send("pipeline end", Method::POST, &path, token, Some(body))
                    .await
                    .is_some()
                {
                    let ended = self.ended.fetch_add(1, Ordering::Relaxed) + 1;
                    self.finished.lock().unwrap().push(id.clone());
                    if ended % LINK_EVERY == 1 {
                        self.issue_link(id).await;
                    }
                }
                true
            }
        };
        if done {
            self.in_flight.fetch_sub(1, Ordering::Relaxed);
        } else {
            self.waiting.lock().unwrap().push_back(call);
        }
    }

    async fn issue_link(&self, id: &str) {
        let path = format!("/v1/calls/{id}/debug-link");
        if let Some(link) = self
            .send("debug link", Method::GET, &path, Some(&self.key), None)
            .await
            && let Some(url) = link["url"].as_str()
        {
            let mut links = self.links.lock().unwrap();
            links.push_back(url.to_owned());
            if links.len() > LINKS_KEPT {
                links.pop_front();
            }
        }
    }
}

/// The loopback webhook receiver: deliveries per `webhook-id`.
type Seen = Arc<Mutex<HashMap<String, u32>>>;

async fn receiver() -> (Seen, std::net::SocketAddr) {
    let seen: Seen = Arc::default();
    let state = seen.clone();
    let app = axum::Router::new().route(
        "/hook",
        axum::routing::post(move |headers: HeaderMap| {
            if let Some(id) = headers.get("webhook-id").and_then(|v| v.to_str().ok()) {
                *state.lock().unwrap().entry(id.to_owned()).or_default() += 1;
            }
            std::future::ready(StatusCode::OK)
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (seen, addr)
}

/// The server's resident memory in KiB.
fn rss_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).expect("the server runs");
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .expect("VmRSS in /proc/<pid>/status")
}

fn percentile(sorted: &[u64], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let i = ((sorted.len() - 1) as f64 * p).round() as usize;
    sorted[i] as f64 / 1000.0
}

#[tokio::main]
async fn main() {
    let seconds = env_or("SOAK_SECONDS", 600);
    let rps = env_or("SOAK_RPS", 50).max(1);
    let pid: u32 = env("SOAK_PID").parse().expect("SOAK_PID");
    let soak = Arc::new(Soak {
        base: env("SOAK_BASE"),
        key: env("SOAK_KEY"),
        agent: env("SOAK_AGENT"),
        token: env("SOAK_TOKEN"),
        client: reqwest::Client::builder()
            .timeout(Duration::from_secs(30))
            // Below the server's 10 s header read timeout, which closes idle kept-alive
            // connections: a connection reused just as the server closes it fails.
            .pool_idle_timeout(Duration::from_secs(5))
            .no_proxy()
            .build()
            .unwrap(),
        counts: Mutex::default(),
        waiting: Mutex::default(),
        in_flight: AtomicU64::new(0),
        next_call: AtomicU64::new(0),
        created: AtomicU64::new(0),
        ended: AtomicU64::new(0),
        finished: Mutex::default(),
        links: Mutex::default(),
        tick: AtomicU64::new(0),
    });

    let (seen, addr) = receiver().await;
    let endpoint = soak
        .send(
            "webhook create",
            Method::POST,
            "/v1/webhooks",
            Some(&soak.key),
            Some(json!({"url": format!("http://{addr}/hook")})),
        )
        .await
        .expect("the webhook endpoint is created (serve with --webhook-allow-private)");
    let endpoint_id = endpoint["id"].as_str().unwrap_or_default().to_owned();

    let mut samples: Vec<(u64, u64)> = vec![(0, rss_kib(pid))];
    println!(
        "soak: {seconds} s at {rps} requests/s against {}",
        soak.base
    );
    println!("  t=0 s rss={} KiB", samples[0].1);
    let started = Instant::now();
    let mut ticker = tokio::time::interval(Duration::from_secs(1) / rps as u32);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut next_sample = SAMPLE_EVERY;
    let mut tasks = tokio::task::JoinSet::new();
    while started.elapsed() < Duration::from_secs(seconds) {
        ticker.tick().await;
        tasks.spawn(soak.clone().tick());
        while tasks.try_join_next().is_some() {}
        if started.elapsed() >= next_sample {
            let t = next_sample.as_secs();
            let rss = rss_kib(pid);
            samples.push((t, rss));
            let done = soak.counts.lock().unwrap().requests.values().sum::<u64>();
            println!("  t={t} s rss={rss} KiB requests={done}");
            next_sample += SAMPLE_EVERY;
        }
    }
    let sent_for = started.elapsed();
    while tasks.join_next().await.is_some() {}

    // Every event queued for the calls made (call.started per create, call.ended per end)
    // is delivered; give the dispatcher up to a minute to finish.
    let expected = soak.created.load(Ordering::Relaxed) + soak.ended.load(Ordering::Relaxed);
    let drain = Instant::now();
    while (seen.lock().unwrap().len() as u64) < expected
        && drain.elapsed() < Duration::from_secs(60)
    {
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let end_rss = rss_kib(pid);
    let (delivered, duplicates) = {
        let seen = seen.lock().unwrap();
        (
            seen.len() as u64,
            seen.values().map(|n| u64::from(n - 1)).sum::<u64>(),
        )
    };

    let counts = soak.counts.lock().unwrap();
    let total: u64 = counts.requests.values().sum();
    println!("\nsummary");
    println!(
        "  duration {:.0} s, {total} requests ({:.1}/s), errors {}",
        sent_for.as_secs_f64(),
        total as f64 / sent_for.as_secs_f64(),
        counts.errors
    );
    let mut kinds: Vec<_> = counts.requests.iter().collect();
    kinds.sort();
    for (kind, n) in kinds {
        let mut lat = counts.latencies_us[kind].clone();
        lat.sort_unstable();
        println!(
            "  {kind:<16} {n:>7}  p50 {:>7.2} ms  p99 {:>7.2} ms  max {:>8.2} ms",
            percentile(&lat, 0.5),
            percentile(&lat, 0.99),
            percentile(&lat, 1.0)
        );
    }
    println!(
        "  calls created {}, ended {}; webhook events expected {expected}, delivered {delivered}, duplicates {duplicates} (endpoint {endpoint_id})",
        soak.created.load(Ordering::Relaxed),
        soak.ended.load(Ordering::Relaxed),
    );
    let middle = samples[samples.len() / 2];
    let max = samples.iter().map(|s| s.1).max().unwrap_or(0);
    println!(
        "  rss KiB: start {} | middle (t={} s) {} | end of load (t={} s) {} | after drain {end_rss} | max {max}",
        samples[0].1,
        middle.0,
        middle.1,
        samples.last().unwrap().0,
        samples.last().unwrap().1,
    );
    for e in &counts.first_errors {
        println!("  error: {e}");
    }
    if counts.errors > 0 || delivered < expected {
        std::process::exit(1);
    }
}
