//! Spans ingested per second through `POST /v1/traces` (issue 15), protobuf, batches of
//! 512. A load generator, not a criterion bench: it prints a few lines per backend.
//!
//!     cargo bench -p callscope-server --bench otlp_ingest -- [sqlite] [postgres]
//!         [--seconds 15] [--concurrency 4]
//!
//! The real application (`Application`, as `serve` builds it) runs in this process on
//! 127.0.0.1 with a pipeline token, without a webhook dispatcher. Each task sends what a
//! Pipecat exporter sends for four calls of 32 turns: one request of 512 spans (each turn's
//! `turn`, `stt`, `llm`, `tts`, before their roots), then one request with the four
//! `conversation` roots, which creates the calls with their 64 entries each and ends them.
//! Spans per second count both requests. Then `GET /healthz` at the same concurrency for
//! the same time, to read the figure against this machine's HTTP floor in this run.
//!
//! PostgreSQL runs on a fresh database `callscope_bench_otlp` (made and dropped through
//! `CALLSCOPE_TEST_PG_URL`, default `postgres://postgres@127.0.0.1:5432/test`); SQLite on a
//! file in a scratch directory.

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use callscope_server::application::Application;
use callscope_server::clock;
use callscope_server::config::Config;
use callscope_server::secrets::ServerKey;
use callscope_server::storage::{NewAgent, Store};
use callscope_shared::{AgentId, Money};
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1::{AnyValue, KeyValue, any_value};
use opentelemetry_proto::tonic::trace::v1::{ResourceSpans, ScopeSpans, Span};
use prost::Message;
use sqlx::Connection;
use tokio::task::JoinSet;

const TOKEN: &str = "bench-otlp-token-0123456789";
const PG_DATABASE: &str = "callscope_bench_otlp";
const CALLS_PER_CYCLE: u64 = 4;
const TURNS_PER_CALL: u64 = 32;

struct Options {
    sqlite: bool,
    postgres: bool,
    seconds: u64,
    concurrency: usize,
}

impl Options {
    fn parse() -> Options {
        let args: Vec<String> = std::env::args().skip(1).collect();
        let value = |name: &str, default: u64| {
            args.iter()
                .position(|a| a == name)
                .and_then(|i| args.get(i + 1))
                .and_then(|v| v.parse().ok())
                .unwrap_or(default)
        };
        let named = |name: &str| args.iter().any(|a| a == name);
        let (sqlite, postgres) = match (named("sqlite"), named("postgres")) {
            (false, false) => (true, true),
            both => both,
        };
        Options {
            sqlite,
            postgres,
            seconds: value("--seconds", 15),
            concurrency: value("--concurrency", 4) as usize,
        }
    }
}

fn kv(key: &str, value: any_value::Value) -> KeyValue {
    KeyValue {
        key: key.into(),
        value: Some(AnyValue { value: Some(value) }),
        ..Default::default()
    }
}

fn text(v: &str) -> any_value::Value {
    any_value::Value::StringValue(v.into())
}

/// A span of trace `trace` starting `at` seconds after `t0` for `secs`.
fn span(
    trace: u128,
    id: u64,
    parent: Option<u64>,
    name: &str,
    t0: u64,
    at: f64,
    attrs: Vec<KeyValue>,
) -> Span {
    let start = t0 * 1_000_000_000 + (at * 1e9) as u64;
    Span {
        trace_id: trace.to_be_bytes().to_vec(),
        span_id: id.to_be_bytes().to_vec(),
        parent_span_id: parent.map(|p| p.to_be_bytes().to_vec()).unwrap_or_default(),
        name: name.into(),
        start_time_unix_nano: start,
        end_time_unix_nano: start + 900_000_000,
        attributes: attrs,
        ..Default::default()
    }
}

fn request(spans: Vec<Span>) -> Vec<u8> {
    ExportTraceServiceRequest {
        resource_spans: vec![ResourceSpans {
            scope_spans: vec![ScopeSpans {
                spans,
                ..Default::default()
            }],
            ..Default::default()
        }],
    }
    .encode_to_vec()
}

/// One cycle's two requests: 512 turn spans of four calls, then their four roots.
fn cycle(first_trace: u128, agent: &str, t0: u64) -> (Vec<u8>, Vec<u8>) {
    let mut spans = Vec::new();
    let mut roots = Vec::new();
    for c in 0..CALLS_PER_CYCLE as u128 {
        let trace = first_trace + c;
        for n in 1..=TURNS_PER_CALL {
            let turn = n * 10;
            let at = n as f64 * 6.0;
            let number = any_value::Value::IntValue(n as i64);
            let ttfb = any_value::Value::DoubleValue(0.3);
            spans.push(span(
                trace,
                turn + 1,
                Some(turn),
                "stt",
                t0,
                at,
                vec![
                    kv(
                        "transcript",
                        text("I would like to move my delivery to Friday morning."),
                    ),
                    kv("metrics.ttfb", ttfb.clone()),
                ],
            ));
            spans.push(span(
                trace,
                turn + 2,
                Some(turn),
                "llm",
                t0,
                at + 1.0,
                vec![
                    kv(
                        "output",
                        text("Of course. I have moved it to Friday between 8 and 12."),
                    ),
                    kv("metrics.ttfb", ttfb.clone()),
                    kv(
                        "input",
                        text(
                            "[{\"role\":\"system\",\"content\":\"You are a delivery assistant.\"}]",
                        ),
                    ),
                ],
            ));
            spans.push(span(
                trace,
                turn + 3,
                Some(turn),
                "tts",
                t0,
                at + 1.5,
                vec![
                    kv(
                        "text",
                        text("Of course. I have moved it to Friday between 8 and 12."),
                    ),
                    kv("metrics.ttfb", ttfb),
                ],
            ));
            spans.push(span(
                trace,
                turn,
                Some(1),
                "turn",
                t0,
                at,
                vec![
                    kv("turn.number", number),
                    kv("conversation.id", text("bench")),
                ],
            ));
        }
        roots.push(span(
            trace,
            1,
            None,
            "conversation",
            t0,
            0.0,
            vec![
                kv("callscope.agent_id", text(agent)),
                kv("callscope.from_number", text("+31612345678")),
                kv("callscope.to_number", text("+31850012345")),
            ],
        ));
    }
    assert_eq!(spans.len(), 512);
    (request(spans), request(roots))
}

struct Served {
    base: String,
    client: reqwest::Client,
    agent: String,
    stop: tokio::sync::oneshot::Sender<()>,
    task: tokio::task::JoinHandle<()>,
}

async fn serve(url: &str, concurrency: usize) -> Served {
    let mut config = Config::new("sqlite://supplied-by-the-bench", ServerKey::generate());
    config.bind = "127.0.0.1:0".parse().unwrap();
    config.dist = PathBuf::from("/nonexistent-dist");
    config.webhooks.concurrency = 0;
    config.pipeline_tokens = TOKEN.parse().unwrap();
    config.otlp_concurrency = concurrency.max(1);
    let store = Store::connect(url, config.db_max_connections)
        .await
        .unwrap();
    store.migrate().await.unwrap();
    let now = clock::now();
    let account = store.ensure_account("bench", now).await.unwrap();
    let agent = store
        .insert_agent(&NewAgent {
            account_id: account,
            public_id: AgentId::from_bits(0x07e1_0b0b),
            name: "Bench agent".into(),
            rate_per_minute: Money::from_units(2_500),
            recording_enabled: false,
            recording_rate_per_minute: Money::from_units(100),
            created_at: now,
        })
        .await
        .unwrap();
    let app = Application::builder(config)
        .store(store)
        .build()
        .await
        .unwrap();
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
        agent: agent.public_id.to_string(),
        stop,
        task,
    }
}

/// Spans per second and request latencies (the 512-span requests only).
async fn spans_load(served: &Arc<Served>, o: &Options) -> (f64, Vec<Duration>) {
    let next_trace = Arc::new(AtomicU64::new(1));
    let t0 = clock::now().secs() as u64 - 3600;
    let start = Instant::now();
    let deadline = start + Duration::from_secs(o.seconds);
    let mut tasks = JoinSet::new();
    for _ in 0..o.concurrency {
        let (served, next_trace) = (served.clone(), next_trace.clone());
        tasks.spawn(async move {
            let (mut spans, mut latencies) = (0u64, Vec::new());
            let url = format!("{}/v1/traces", served.base);
            while Instant::now() < deadline {
                let first = next_trace.fetch_add(CALLS_PER_CYCLE, Ordering::Relaxed) as u128;
                let (turns, roots) = cycle(first << 32, &served.agent, t0);
                for (body, count) in [(turns, 512), (roots, CALLS_PER_CYCLE)] {
                    let sent = Instant::now();
                    let r = served
                        .client
                        .post(&url)
                        .bearer_auth(TOKEN)
                        .header("content-type", "application/x-protobuf")
                        .body(body)
                        .send()
                        .await
                        .unwrap();
                    assert_eq!(r.status(), 200, "{:?}", r.text().await);
                    let answer = r.bytes().await.unwrap();
                    assert!(answer.is_empty(), "partial success: {answer:?}");
                    if count == 512 {
                        latencies.push(sent.elapsed());
                    }
                    spans += count;
                }
            }
            (spans, latencies, Instant::now())
        });
    }
    let (mut total, mut latencies, mut end) = (0, Vec::new(), start);
    while let Some(done) = tasks.join_next().await {
        let (spans, l, finished) = done.unwrap();
        total += spans;
        latencies.extend(l);
        end = end.max(finished);
    }
    latencies.sort();
    (total as f64 / (end - start).as_secs_f64(), latencies)
}

async fn healthz_rate(served: &Arc<Served>, o: &Options) -> f64 {
    let start = Instant::now();
    let deadline = start + Duration::from_secs(o.seconds);
    let mut tasks = JoinSet::new();
    for _ in 0..o.concurrency {
        let served = served.clone();
        tasks.spawn(async move {
            let mut n = 0u64;
            let url = format!("{}/healthz", served.base);
            while Instant::now() < deadline {
                let r = served.client.get(&url).send().await.unwrap();
                assert!(r.status().is_success());
                let _ = r.bytes().await.unwrap();
                n += 1;
            }
            n
        });
    }
    let total: u64 = tasks.join_all().await.into_iter().sum();
    total as f64 / start.elapsed().as_secs_f64()
}

fn percentile(sorted: &[Duration], p: f64) -> String {
    if sorted.is_empty() {
        return "-".into();
    }
    let i = ((sorted.len() - 1) as f64 * p).round() as usize;
    format!("{:.1} ms", sorted[i].as_secs_f64() * 1000.0)
}

async fn run(label: &str, url: &str, o: &Options) {
    let served = Arc::new(serve(url, o.concurrency).await);
    let (rate, latencies) = spans_load(&served, o).await;
    let health = healthz_rate(&served, o).await;
    println!(
        "{label:<9} {:>8.0} spans/s  (512-span request p50 {}, p99 {}; {} requests)  healthz {:>7.0}/s  spans÷healthz {:.3}",
        rate,
        percentile(&latencies, 0.5),
        percentile(&latencies, 0.99),
        latencies.len(),
        health,
        rate / health
    );
    let Ok(served) = Arc::try_unwrap(served) else {
        unreachable!("every task has finished")
    };
    let _ = served.stop.send(());
    served.task.await.unwrap();
}

async fn sqlite(o: &Options) {
    let dir = std::env::temp_dir().join(format!("callscope_otlpbench_{}", std::process::id()));
    run("sqlite", &format!("sqlite://{}/bench.db", dir.display()), o).await;
    let _ = std::fs::remove_dir_all(&dir);
}

async fn postgres(o: &Options) {
    let admin = std::env::var("CALLSCOPE_TEST_PG_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".into());
    let mut conn = sqlx::PgConnection::connect(&admin)
        .await
        .unwrap_or_else(|e| panic!("PostgreSQL at {admin}: {e}"));
    for statement in [
        format!("DROP DATABASE IF EXISTS {PG_DATABASE} WITH (FORCE)"),
        format!("CREATE DATABASE {PG_DATABASE}"),
    ] {
        sqlx::query(&statement).execute(&mut conn).await.unwrap();
    }
    let (base, _) = admin.rsplit_once('/').unwrap();
    run("postgres", &format!("{base}/{PG_DATABASE}"), o).await;
    let drop = format!("DROP DATABASE IF EXISTS {PG_DATABASE} WITH (FORCE)");
    sqlx::query(&drop).execute(&mut conn).await.unwrap();
}

fn main() {
    let o = Options::parse();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        println!(
            "{} s per load, {} concurrent exporters, protobuf, 512-span batches + 4 roots",
            o.seconds, o.concurrency
        );
        if o.sqlite {
            sqlite(&o).await;
        }
        if o.postgres {
            postgres(&o).await;
        }
    });
}
