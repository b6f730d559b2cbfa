//! Live turn ingestion through the pipeline API (issue 12), and the time from a Telnyx
//! webhook's arrival to the customer's webhook being queued. A load generator, not a
//! criterion bench: it prints a few lines per backend.
//!
//!     cargo bench -p callscope-server --bench pipeline -- [sqlite] [postgres]
//!         [--seconds 15] [--calls 64] [--hooks 500] [--turns-per-call 0] [--pool 10]
//!
//! The real application (`Application`, as `serve` builds it, with its default pool of 10
//! connections) runs in this process on 127.0.0.1 with a pipeline token and a Telnyx public
//! key, and without a webhook dispatcher: events stay in the outbox. The account's endpoint
//! points at a loopback port nothing listens on, so nothing could leave the machine anyway.
//!
//! 1. Turns: `--calls` calls are created and answered through `POST /pipeline/v1/calls`;
//!    then each call's task appends one entry per request for `--seconds`, as a pipeline
//!    does (user and assistant in turn, assistant entries with their latency), and ends its
//!    call. With `--turns-per-call N` a task ends its call after N entries and starts the
//!    next one (a steady stream of calls of that length); 0 keeps one call for the run.
//!    Then `GET /healthz` at the same concurrency, through the same client, for the same
//!    time: the floor of HTTP on this machine in this run, to read the turns against.
//! 2. Webhook → queued: `--hooks` in-progress calls with a `call_control_id` each get a
//!    signed `call.hangup`, one at a time. The handler queues `call.ended` in the
//!    transaction that ends the call, before it answers, so the time to the 200 bounds the
//!    time to queued; the outbox is checked for the event and its job after each answer.
//!
//! PostgreSQL runs on a fresh database `callscope_bench_pipeline`, made (and dropped after)
//! through `CALLSCOPE_TEST_PG_URL` (default `postgres://postgres@127.0.0.1:5432/test`).
//! SQLite runs on a file in a scratch directory.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use callscope_server::application::Application;
use callscope_server::clock;
use callscope_server::config::Config;
use callscope_server::ids::EndpointId;
use callscope_server::secrets::{Keys, ServerKey};
use callscope_server::storage::{NewAgent, NewEndpoint, Store};
use callscope_server::telnyx::WebhookPublicKey;
use callscope_server::webhooks::{MAX_ENDPOINTS, SigningSecret};
use callscope_shared::{AgentId, CallId, Money};
use ed25519_dalek::{Signer, SigningKey};
use serde_json::{Value, json};
use sqlx::Connection;
use tokio::task::JoinSet;

const TOKEN: &str = "bench-pipeline-token-0123456789";
const PG_DATABASE: &str = "callscope_bench_pipeline";

/// What to run, from the command line.
struct Options {
    sqlite: bool,
    postgres: bool,
    seconds: u64,
    calls: usize,
    hooks: usize,
    turns_per_call: usize,
    /// Database connections (`--db-max-connections`; `serve`'s default 10).
    pool: u32,
}

impl Options {
    fn parse() -> Options {
        let mut o = Options {
            sqlite: false,
            postgres: false,
            seconds: 15,
            calls: 64,
            hooks: 500,
            turns_per_call: 0,
            pool: 10,
        };
        let mut args = std::env::args().skip(1);
        while let Some(arg) = args.next() {
            let mut value = |name: &str| -> usize {
                let v = args.next().unwrap_or_default();
                v.parse()
                    .unwrap_or_else(|_| panic!("{name} takes a number, not {v:?}"))
            };
            match arg.as_str() {
                "sqlite" => o.sqlite = true,
                "postgres" => o.postgres = true,
                "--seconds" => o.seconds = value("--seconds") as u64,
                "--calls" => o.calls = value("--calls").max(1),
                "--hooks" => o.hooks = value("--hooks"),
                "--turns-per-call" => o.turns_per_call = value("--turns-per-call"),
                "--pool" => o.pool = value("--pool").clamp(1, 1_000) as u32,
                // `cargo bench` passes `--bench` to every bench binary.
                "--bench" => {}
                other => panic!("unknown argument {other:?}"),
            }
        }
        if !o.sqlite && !o.postgres {
            (o.sqlite, o.postgres) = (true, true);
        }
        o
    }
}

/// The application serving one backend, and what the load needs to talk to it.
struct Served {
    base: String,
    client: reqwest::Client,
    store: Store,
    agent: String,
    endpoint: EndpointId,
    telnyx: SigningKey,
    stop: tokio::sync::oneshot::Sender<()>,
    task: tokio::task::JoinHandle<()>,
}

/// The configuration `serve` would have, on a free loopback port, with the pipeline API and
/// Telnyx webhooks on and no webhook dispatcher.
fn config(telnyx: &SigningKey) -> Config {
    let mut config = Config::new("sqlite://supplied-by-the-bench", ServerKey::generate());
    config.bind = "127.0.0.1:0".parse().unwrap();
    config.dist = PathBuf::from("/nonexistent-dist");
    config.webhooks.concurrency = 0;
    config.pipeline_tokens = TOKEN.parse().unwrap();
    let public = STANDARD.encode(telnyx.verifying_key().as_bytes());
    config.telnyx.public_key = Some(WebhookPublicKey::from_base64(&public).unwrap());
    config
}

/// An account with an agent and one webhook endpoint (so ends queue `call.ended`), stored
/// directly as the tests do; returns the agent's public id and the endpoint.
async fn seed(store: &Store, keys: &Keys) -> (String, EndpointId) {
    let now = clock::now();
    let account = store.ensure_account("bench", now).await.unwrap();
    let agent = store
        .insert_agent(&NewAgent {
            account_id: account,
            public_id: AgentId::from_bits(0x28c5_1f81),
            name: "Bench agent".into(),
            rate_per_minute: Money::from_units(2_500),
            recording_enabled: false,
            recording_rate_per_minute: Money::from_units(100),
            created_at: now,
        })
        .await
        .unwrap();
    let endpoint = store
        .insert_endpoint(
            &NewEndpoint {
                account_id: account,
                url: "http://127.0.0.1:9/never-delivered".into(),
                events: Vec::new(),
                secret_enc: SigningSecret::generate()
                    .seal(&keys.webhook_secret)
                    .unwrap(),
                created_at: now,
            },
            MAX_ENDPOINTS,
        )
        .await
        .unwrap()
        .expect("under the endpoint cap");
    (agent.public_id.to_string(), endpoint.id)
}

/// Builds the application over a fresh database at `url` and serves it on 127.0.0.1.
async fn serve(url: &str, concurrency: usize, pool: u32) -> Served {
    let telnyx = SigningKey::from_bytes(&rand::random());
    let mut config = config(&telnyx);
    config.db_max_connections = pool;
    let store = Store::connect(url, config.db_max_connections)
        .await
        .unwrap();
    store.migrate().await.unwrap();
    let app = Application::builder(config)
        .store(store.clone())
        .build()
        .await
        .unwrap();
    let (agent, endpoint) = seed(&store, &app.state().keys).await;
    let base = format!("http://{}", app.local_addr().unwrap());
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let task = tokio::spawn(async move {
        app.run_until(async {
            let _ = stopped.await;
        })
        .await
        .unwrap();
    });
    let client = reqwest::Client::builder()
        .no_proxy()
        .pool_max_idle_per_host(concurrency)
        .build()
        .unwrap();
    Served {
        base,
        client,
        store,
        agent,
        endpoint,
        telnyx,
        stop,
        task,
    }
}

impl Served {
    /// A pipeline request (`null`: no body); panics unless it answers `expect`. Returns
    /// the JSON answer.
    async fn pipeline(&self, path: &str, body: Value, expect: u16) -> Value {
        let mut request = self
            .client
            .post(format!("{}/pipeline/v1{path}", self.base))
            .bearer_auth(TOKEN);
        if !body.is_null() {
            request = request.json(&body);
        }
        let response = request.send().await.unwrap();
        let status = response.status().as_u16();
        let text = response.text().await.unwrap();
        assert_eq!(status, expect, "POST {path}: {text}");
        serde_json::from_str(&text).unwrap()
    }

    /// A new call for the agent: `in-progress`, or `ringing` and then answered as a
    /// pipeline would (two requests).
    async fn start_call(&self, control: Option<String>, answer: bool) -> CallId {
        let mut body = json!({"agent_id": self.agent, "from_number": "+31612345678",
            "to_number": "+31850012345", "status": if answer { "ringing" } else { "in-progress" }});
        if let Some(control) = control {
            body["call_control_id"] = json!(control);
        }
        let call = self.pipeline("/calls", body, 201).await;
        let id: CallId = call["call_id"].as_str().unwrap().parse().unwrap();
        if answer {
            self.pipeline(&format!("/calls/{id}/answer"), Value::Null, 200)
                .await;
        }
        id
    }

    /// Ends a call as the pipeline does; checks every entry sent is in its transcript.
    async fn end_call(&self, id: CallId, entries: usize) {
        let body = json!({"ended_reason": "caller-hangup"});
        let call = self.pipeline(&format!("/calls/{id}/end"), body, 200).await;
        assert_eq!(call["turn_count"], json!(entries), "{id}");
    }

    async fn shutdown(self) {
        let _ = self.stop.send(());
        self.task.await.unwrap();
        self.store.close().await;
    }
}

/// Entry `seq` of a call: odd ones from the caller, even ones the agent's answer with the
/// latency the pipeline measured for it.
fn entry(seq: usize) -> Value {
    let timestamp = seq as f64 * 2.0;
    if seq % 2 == 1 {
        json!({"turns": [{"seq": seq, "role": "user", "timestamp": timestamp,
            "content": "I'd like to check the status of my claim, it was filed last week."}]})
    } else {
        json!({"turns": [{"seq": seq, "role": "assistant", "timestamp": timestamp,
            "content": "Of course. Could you give me the policy number on your letter?",
            "llm_ttfb_ms": 210 + seq % 50, "tts_start_ms": 320 + seq % 70, "tts_ttfb_ms": 95}]})
    }
}

/// One timed request: its latency and how many entries its call held before it.
#[derive(Clone, Copy)]
struct Sample {
    before: usize,
    latency: Duration,
}

/// What one task did: its samples and when its last timed request finished.
struct TaskRun {
    samples: Vec<Sample>,
    finished: Instant,
}

/// One call's task: entries one per request until `deadline`, then the end. With
/// `per_call` > 0 it ends each call after that many entries and starts another.
async fn turns_task(
    served: Arc<Served>,
    mut call: CallId,
    deadline: Instant,
    per_call: usize,
) -> TaskRun {
    let mut samples = Vec::new();
    let mut seq = 0;
    let mut finished = Instant::now();
    while Instant::now() < deadline {
        if per_call > 0 && seq == per_call {
            served.end_call(call, seq).await;
            call = served.start_call(None, true).await;
            seq = 0;
        }
        let path = format!("/calls/{call}/turns");
        let sent = Instant::now();
        let added = served.pipeline(&path, entry(seq + 1), 200).await;
        finished = Instant::now();
        assert_eq!(added["added"], 1);
        samples.push(Sample {
            before: seq,
            latency: finished - sent,
        });
        seq += 1;
    }
    served.end_call(call, seq).await;
    TaskRun { samples, finished }
}

/// `GET /healthz` in a loop until `deadline`: the HTTP floor.
async fn healthz_task(served: Arc<Served>, deadline: Instant) -> TaskRun {
    let mut samples = Vec::new();
    let mut finished = Instant::now();
    let url = format!("{}/healthz", served.base);
    while Instant::now() < deadline {
        let sent = Instant::now();
        let response = served.client.get(&url).send().await.unwrap();
        assert!(response.status().is_success());
        let _ = response.bytes().await.unwrap();
        finished = Instant::now();
        samples.push(Sample {
            before: 0,
            latency: finished - sent,
        });
    }
    TaskRun { samples, finished }
}

/// Requests per second over the run, and every sample.
struct Load {
    rate: f64,
    samples: Vec<Sample>,
}

/// Waits for the tasks; the rate counts from `start` to the last timed request's end.
async fn collect(start: Instant, mut tasks: JoinSet<TaskRun>) -> Load {
    let mut samples = Vec::new();
    let mut end = start;
    while let Some(run) = tasks.join_next().await {
        let run = run.unwrap();
        samples.extend(run.samples);
        end = end.max(run.finished);
    }
    Load {
        rate: samples.len() as f64 / (end - start).as_secs_f64(),
        samples,
    }
}

/// The turns load: calls started and answered first (not timed), then the turns.
async fn turns_load(served: &Arc<Served>, o: &Options) -> Load {
    let mut starting = JoinSet::new();
    for _ in 0..o.calls {
        let served = served.clone();
        starting.spawn(async move { served.start_call(None, true).await });
    }
    let calls = starting.join_all().await;
    let start = Instant::now();
    let deadline = start + Duration::from_secs(o.seconds);
    let mut tasks = JoinSet::new();
    for call in calls {
        tasks.spawn(turns_task(served.clone(), call, deadline, o.turns_per_call));
    }
    collect(start, tasks).await
}

async fn healthz_load(served: &Arc<Served>, o: &Options) -> Load {
    let start = Instant::now();
    let deadline = start + Duration::from_secs(o.seconds);
    let mut tasks = JoinSet::new();
    for _ in 0..o.calls {
        tasks.spawn(healthz_task(served.clone(), deadline));
    }
    collect(start, tasks).await
}

/// A signed `call.hangup` from the caller for `control`, occurring now, as Telnyx sends it.
fn hangup(served: &Served, n: usize, control: &str) -> (String, String, Vec<u8>) {
    let now = clock::now().secs();
    let occurred_at = time::OffsetDateTime::from_unix_timestamp(now)
        .unwrap()
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap();
    let body = serde_json::to_vec(&json!({"data": {"record_type": "event",
        "event_type": "call.hangup", "id": format!("bench-hangup-{n}"),
        "occurred_at": occurred_at, "payload": {"call_control_id": control,
        "call_leg_id": format!("leg-{n}"), "call_session_id": format!("session-{n}"),
        "connection_id": "conn-bench", "from": "+31612345678", "to": "+31850012345",
        "hangup_cause": "normal_clearing", "hangup_source": "caller"}},
        "meta": {"attempt": 1}}))
    .unwrap();
    let timestamp = now.to_string();
    let mut signed = format!("{timestamp}|").into_bytes();
    signed.extend_from_slice(&body);
    let signature = STANDARD.encode(served.telnyx.sign(&signed).to_bytes());
    (timestamp, signature, body)
}

/// Whether `call.ended` is in the outbox for `call`, with a job for the endpoint.
async fn ended_is_queued(served: &Served, call: CallId) -> bool {
    let events = served.store.call_events(call).await.unwrap();
    let Some((event_id, _)) = events.iter().find(|(_, name)| name == "call.ended") else {
        return false;
    };
    let job = served.store.job_state(event_id, served.endpoint).await;
    job.unwrap().is_some()
}

/// Signed hangups for `n` in-progress calls, one at a time: send → 200 for each, checked
/// against the outbox right after.
async fn hook_latencies(served: &Served, n: usize) -> Vec<Sample> {
    let mut calls = Vec::with_capacity(n);
    for i in 0..n {
        let control = format!("v3:bench-{i}");
        calls.push((
            served.start_call(Some(control.clone()), false).await,
            control,
        ));
    }
    let url = format!("{}/telnyx/webhooks", served.base);
    let mut samples = Vec::with_capacity(n);
    for (i, (call, control)) in calls.into_iter().enumerate() {
        assert!(!ended_is_queued(served, call).await);
        let (timestamp, signature, body) = hangup(served, i, &control);
        let sent = Instant::now();
        let response = served
            .client
            .post(&url)
            .header("content-type", "application/json")
            .header("telnyx-timestamp", timestamp)
            .header("telnyx-signature-ed25519", signature)
            .body(body)
            .send()
            .await
            .unwrap();
        let status = response.status();
        let answer: Value = response.json().await.unwrap();
        let latency = sent.elapsed();
        assert!(status.is_success(), "{status}: {answer}");
        assert_eq!(answer["outcome"], "applied", "{answer}");
        assert!(ended_is_queued(served, call).await, "{call}");
        samples.push(Sample { before: 0, latency });
    }
    samples
}

/// The `p`-th percentile (nearest rank) of sorted latencies.
fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

fn ms(d: Duration) -> String {
    format!("{:.2} ms", d.as_secs_f64() * 1_000.0)
}

/// `p50 …  p99 …  max …` of the samples.
fn spread(samples: &[Sample]) -> String {
    let mut sorted: Vec<Duration> = samples.iter().map(|s| s.latency).collect();
    sorted.sort_unstable();
    if sorted.is_empty() {
        return "no samples".into();
    }
    format!(
        "p50 {:>9}  p99 {:>9}  max {:>9}",
        ms(percentile(&sorted, 50.0)),
        ms(percentile(&sorted, 99.0)),
        ms(*sorted.last().unwrap())
    )
}

/// The turns' median by how long the transcript already was: where the time goes as a
/// call grows.
fn by_length(samples: &[Sample]) -> String {
    let mut parts = Vec::new();
    let mut low = 0;
    let mut high = 25;
    while samples.iter().any(|s| s.before >= low) {
        let mut band: Vec<Duration> = samples
            .iter()
            .filter(|s| (low..high).contains(&s.before))
            .map(|s| s.latency)
            .collect();
        band.sort_unstable();
        if !band.is_empty() {
            parts.push(format!(
                "{low}–{}: {} (n={})",
                high - 1,
                ms(percentile(&band, 50.0)),
                band.len()
            ));
        }
        (low, high) = (high, high * 2);
    }
    parts.join(", ")
}

/// The machine's load averages (1, 5, 15 min): the cores are shared, so say how busy.
fn load_average() -> String {
    let text = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    text.split_whitespace()
        .take(3)
        .collect::<Vec<_>>()
        .join(" ")
}

/// Everything for one backend, printed as it comes.
async fn run(label: &str, url: &str, o: &Options) {
    println!("{label:<9} load average before: {}", load_average());
    let served = Arc::new(serve(url, o.calls, o.pool).await);
    let turns = turns_load(&served, o).await;
    let health = healthz_load(&served, o).await;
    let calls = o.calls;
    println!(
        "{label:<9} turns   {calls} calls: {:>8.0} turns/s     {}  ({} turns)",
        turns.rate,
        spread(&turns.samples),
        turns.samples.len()
    );
    println!(
        "{label:<9} healthz {calls} conc.: {:>8.0} requests/s  {}  (turns/healthz {:.3})",
        health.rate,
        spread(&health.samples),
        turns.rate / health.rate
    );
    println!(
        "{label:<9} turns p50 by entries already stored: {}",
        by_length(&turns.samples)
    );
    if o.hooks > 0 {
        let hooks = hook_latencies(&served, o.hooks).await;
        println!(
            "{label:<9} Telnyx call.hangup → call.ended queued (200 received), {} one at a time: {}",
            hooks.len(),
            spread(&hooks)
        );
    }
    let Ok(served) = Arc::try_unwrap(served) else {
        unreachable!("every task has finished")
    };
    served.shutdown().await;
}

async fn sqlite(o: &Options) {
    let dir = std::env::temp_dir().join(format!("callscope_pipebench_{}", std::process::id()));
    let url = format!("sqlite://{}/bench.db", dir.display());
    run("sqlite", &url, o).await;
    let _ = std::fs::remove_dir_all(&dir);
}

async fn postgres(o: &Options) {
    let admin = std::env::var("CALLSCOPE_TEST_PG_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".into());
    let mut conn = sqlx::PgConnection::connect(&admin)
        .await
        .unwrap_or_else(|e| panic!("PostgreSQL at {admin}: {e}"));
    let fresh = [
        format!("DROP DATABASE IF EXISTS {PG_DATABASE} WITH (FORCE)"),
        format!("CREATE DATABASE {PG_DATABASE}"),
    ];
    for statement in fresh {
        sqlx::query(&statement).execute(&mut conn).await.unwrap();
    }
    let (base, _) = admin.rsplit_once('/').unwrap();
    run("postgres", &format!("{base}/{PG_DATABASE}"), o).await;
    sqlx::query(&format!(
        "DROP DATABASE IF EXISTS {PG_DATABASE} WITH (FORCE)"
    ))
    .execute(&mut conn)
    .await
    .unwrap();
}

fn main() {
    let o = Options::parse();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let per_call = match o.turns_per_call {
            0 => "one call per task for the whole run".to_owned(),
            n => format!("calls of {n} entries"),
        };
        println!(
            "{} s per load, {} concurrent calls ({per_call}), {} hangups",
            o.seconds, o.calls, o.hooks
        );
        if o.sqlite {
            sqlite(&o).await;
        }
        if o.postgres {
            postgres(&o).await;
        }
    });
}
