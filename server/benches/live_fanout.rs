//! Fan-out of the live debug stream (issue 13): many open streams on one live call, the
//! time from a turn's append to its arrival on every stream, and the server's memory per
//! open stream. A load generator, not a criterion bench.
//!
//!     cargo bench -p callscope-server --bench live_fanout -- [--streams 1000] [--turns 50]
//!
//! The real `callscope serve` binary runs as its own process (so its resident memory is its
//! own) on SQLite in a scratch directory, on 127.0.0.1, with the pipeline API on, no
//! webhook dispatcher and the stream caps raised to `--streams`. This process plays the
//! voice pipeline and the readers: it creates and answers one call through the pipeline
//! API, issues its debug link, opens `--streams` streams (one connection each), then
//! appends `--turns` turns one at a time, 100 ms apart, and for each notes when every
//! stream has its `turns` event, beside the append's own round trip (the baseline: the
//! time the pipeline waits for its 200). Memory per stream is the server's RSS with the streams
//! open, less its RSS before, over the number of streams.

use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use tokio::sync::mpsc;

const BIN: &str = env!("CARGO_BIN_EXE_callscope");
const TOKEN: &str = "bench-fanout-token-0123456789";

struct Options {
    streams: usize,
    turns: usize,
}

impl Options {
    fn parse() -> Options {
        let mut o = Options {
            streams: 1000,
            turns: 50,
        };
        let mut args = std::env::args().skip(1);
        while let Some(arg) = args.next() {
            let mut value = |name: &str| -> usize {
                let v = args.next().unwrap_or_default();
                v.parse()
                    .unwrap_or_else(|_| panic!("{name} takes a number, not {v:?}"))
            };
            match arg.as_str() {
                "--streams" => o.streams = value("--streams"),
                "--turns" => o.turns = value("--turns"),
                // cargo bench passes --bench; anything else is a mistake worth hearing about.
                "--bench" => {}
                other => panic!("unknown argument {other:?}"),
            }
        }
        o
    }
}

/// The server process; killed when dropped.
struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

impl Server {
    /// Resident memory, in KiB (`VmRSS` of `/proc/<pid>/status`).
    fn rss_kib(&self) -> u64 {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.0.id()))
            .expect("the server's /proc status");
        status
            .lines()
            .find_map(|l| l.strip_prefix("VmRSS:"))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
            .expect("VmRSS in the status")
    }
}

fn callscope(db: &str, args: &[&str]) -> String {
    let out = Command::new(BIN)
        .args(["--database-url", db])
        .args(args)
        .env("RUST_LOG", "warn")
        .output()
        .expect("run callscope");
    assert!(
        out.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn percentile(sorted: &[Duration], p: usize) -> Duration {
    let rank = (sorted.len() * p).div_ceil(100).max(1);
    sorted[rank - 1]
}

fn ms(d: Duration) -> String {
    format!("{:.1} ms", d.as_secs_f64() * 1000.0)
}

#[tokio::main]
async fn main() {
    let o = Options::parse();
    let dir = std::env::temp_dir().join(format!("callscope-fanout-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let db = format!("sqlite://{}/bench.db", dir.display());
    let key = callscope(&db, &["keys", "create", "--account", "Bench"]);
    let key = key.trim().to_owned();
    let agent: Value = serde_json::from_str(&callscope(
        &db,
        &[
            "agents",
            "create",
            "--account",
            "Bench",
            "--name",
            "bench",
            "--json",
        ],
    ))
    .unwrap();
    let agent = agent["agent_id"].as_str().unwrap().to_owned();

    let port = free_port();
    let cap = o.streams.max(1).to_string();
    let server = Server(
        Command::new(BIN)
            .args(["--database-url", &db, "serve", "--bind"])
            .arg(format!("127.0.0.1:{port}"))
            .args(["--dist", "/nonexistent", "--webhook-concurrency", "0"])
            .args(["--pipeline-token", TOKEN])
            .args([
                "--live-streams-max",
                &cap,
                "--live-streams-per-client",
                &cap,
            ])
            .env("RUST_LOG", "warn")
            .stdout(Stdio::null())
            .spawn()
            .expect("start callscope serve"),
    );
    let base = format!("http://127.0.0.1:{port}");
    let http = reqwest::Client::new();
    for _ in 0..100 {
        if http.get(format!("{base}/healthz")).send().await.is_ok() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    let post = |path: String, body: Value| {
        let req = http.post(format!("{base}{path}")).bearer_auth(TOKEN);
        let req = if body.is_null() { req } else { req.json(&body) };
        async move {
            let r = req.send().await.unwrap();
            let status = r.status();
            let body = r.text().await.unwrap();
            assert!(status.is_success(), "{status}: {body}");
            serde_json::from_str::<Value>(&body).unwrap()
        }
    };
    let call = post(
        "/pipeline/v1/calls".into(),
        json!({"agent_id": agent, "from_number": "+31612345678", "to_number": "+31850012345"}),
    )
    .await;
    let id = call["call_id"].as_str().unwrap().to_owned();
    post(format!("/pipeline/v1/calls/{id}/answer"), Value::Null).await;
    let link: Value = http
        .get(format!("{base}/v1/calls/{id}/debug-link"))
        .bearer_auth(&key)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let events = format!("{base}{}/events", link["url"].as_str().unwrap());

    let idle_kib = server.rss_kib();
    // Each reader reports (its snapshot, then) each `turns` event's arrival instant.
    let (arrived, mut arrivals) = mpsc::unbounded_channel::<(usize, Instant)>();
    let ready = Arc::new(tokio::sync::Barrier::new(o.streams + 1));
    for _ in 0..o.streams {
        let (client, url, arrived, ready) = (
            reqwest::Client::new(),
            events.clone(),
            arrived.clone(),
            ready.clone(),
        );
        tokio::spawn(async move {
            let mut r = client.get(url).send().await.expect("stream opens");
            assert_eq!(r.status(), 200, "stream refused");
            let mut buffer = String::new();
            let mut seen_snapshot = false;
            let mut turns = 0usize;
            while let Ok(Some(bytes)) = r.chunk().await {
                buffer.push_str(&String::from_utf8_lossy(&bytes));
                while let Some(end) = buffer.find("\n\n") {
                    let frame: String = buffer.drain(..end + 2).collect();
                    if frame.contains("event: snapshot") && !seen_snapshot {
                        seen_snapshot = true;
                        ready.wait().await;
                    } else if frame.contains("event: turns") {
                        turns += 1;
                        let _ = arrived.send((turns, Instant::now()));
                    }
                }
            }
        });
    }
    let opened = Instant::now();
    ready.wait().await;
    let open_time = opened.elapsed();
    tokio::time::sleep(Duration::from_millis(500)).await;
    let streaming_kib = server.rss_kib();

    let mut all = Vec::with_capacity(o.streams * o.turns);
    let mut to_last = Vec::with_capacity(o.turns);
    // The baseline: the append's own round trip (sent → its 200), in the same run.
    let mut acked = Vec::with_capacity(o.turns);
    for n in 1..=o.turns {
        let sent = Instant::now();
        let mut entry = json!({"seq": n, "role": "user", "content": format!("turn {n}"),
                               "timestamp": n as f64});
        if n % 2 == 1 {
            entry["role"] = json!("assistant");
            entry["llm_ttfb_ms"] = json!(200);
            entry["tts_start_ms"] = json!(300);
            entry["tts_ttfb_ms"] = json!(90);
        }
        post(
            format!("/pipeline/v1/calls/{id}/turns"),
            json!({ "turns": [entry] }),
        )
        .await;
        acked.push(sent.elapsed());
        let mut got = 0;
        let mut last = sent;
        while got < o.streams {
            let (turn, at) = tokio::time::timeout(Duration::from_secs(30), arrivals.recv())
                .await
                .expect("every stream gets the turn within 30 s")
                .expect("readers alive");
            assert_eq!(turn, n, "a stream got turns out of step");
            all.push(at - sent);
            last = last.max(at);
            got += 1;
        }
        to_last.push(last - sent);
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    all.sort();
    to_last.sort();
    acked.sort();
    let per_stream = (streaming_kib.saturating_sub(idle_kib)) as f64 * 1024.0 / o.streams as f64;
    println!(
        "live fan-out: {} streams on one call, {} turns appended 100 ms apart (SQLite, loopback)",
        o.streams, o.turns
    );
    println!(
        "  all streams open and at their snapshot in {}",
        ms(open_time)
    );
    println!(
        "  append -> arrival, every stream: p50 {}  p99 {}  max {}",
        ms(percentile(&all, 50)),
        ms(percentile(&all, 99)),
        ms(*all.last().unwrap())
    );
    println!(
        "  append -> the last stream has it: p50 {}  p99 {}",
        ms(percentile(&to_last, 50)),
        ms(percentile(&to_last, 99))
    );
    println!(
        "  baseline, the append's own round trip (sent -> 200): p50 {}  p99 {}",
        ms(percentile(&acked, 50)),
        ms(percentile(&acked, 99))
    );
    println!(
        "  server RSS {idle_kib} KiB idle, {streaming_kib} KiB with the streams open: {per_stream:.0} bytes per stream"
    );
    drop(server);
    let _ = std::fs::remove_dir_all(&dir);
}
