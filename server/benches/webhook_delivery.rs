//! Webhook delivery throughput: events queued in the outbox and delivered by the dispatcher
//! (claim, sign, POST, record each attempt) to a receiver on 127.0.0.1, next to a plain
//! reqwest loop POSTing the same signed bodies to the same receiver at the same concurrency,
//! in the same run. A load generator, not a criterion bench: it prints one line per case.
//!
//!     cargo bench -p callscope-server --bench webhook_delivery [-- EVENTS]
//!
//! Runs on SQLite (a scratch file) and, when it answers, PostgreSQL (a scratch database on
//! `CALLSCOPE_TEST_PG_URL`, default `postgres://postgres@127.0.0.1:5432/test`).

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use axum::Router;
use axum::routing::post;
use callscope_server::clock;
use callscope_server::storage::{NewEndpoint, Store};
use callscope_server::webhooks::{DispatchConfig, Dispatcher, SigningSecret, SystemClock, events};
use sqlx::Connection;

struct Receiver {
    url: String,
    count: Arc<AtomicU64>,
}

async fn receiver() -> Receiver {
    let count = Arc::new(AtomicU64::new(0));
    let seen = count.clone();
    let app = Router::new().route(
        "/hook",
        post(move |_body: axum::body::Bytes| {
            let seen = seen.clone();
            async move {
                seen.fetch_add(1, Ordering::Relaxed);
                "ok"
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr: SocketAddr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    Receiver {
        url: format!("http://{addr}/hook"),
        count,
    }
}

/// Queues `n` test events for one endpoint; returns the endpoint's secret and the events.
async fn queue(
    store: &Store,
    key: &[u8; 32],
    url: &str,
    n: usize,
) -> (SigningSecret, Vec<(String, String)>) {
    let account = store.ensure_account("bench", clock::now()).await.unwrap();
    let secret = SigningSecret::generate();
    let endpoint = store
        .insert_endpoint(
            &NewEndpoint {
                account_id: account,
                url: url.to_owned(),
                events: Vec::new(),
                secret_enc: secret.seal(key).unwrap(),
                created_at: clock::now(),
            },
            callscope_server::webhooks::MAX_ENDPOINTS,
        )
        .await
        .unwrap()
        .expect("under the cap");
    let mut sent = Vec::with_capacity(n);
    for _ in 0..n {
        let event = events::test_event("wh_bench", clock::now());
        assert!(
            store
                .enqueue_for_endpoint(account, endpoint.id, &event, clock::now())
                .await
                .unwrap()
        );
        sent.push((event.event_id, event.payload));
    }
    (secret, sent)
}

/// The dispatcher's rate: from start until every event is delivered and recorded.
async fn dispatcher_rate(
    store: &Store,
    key: [u8; 32],
    rx: &Receiver,
    n: usize,
    conc: usize,
) -> f64 {
    let before = rx.count.load(Ordering::Relaxed);
    let config = DispatchConfig {
        concurrency: conc,
        allow_private: true,
        poll_interval: Duration::from_millis(50),
        ..DispatchConfig::default()
    };
    let start = Instant::now();
    let handle = Dispatcher::new(store.clone(), key, config, Arc::new(SystemClock)).spawn();
    while rx.count.load(Ordering::Relaxed) - before < n as u64 {
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    // Shutting down waits for the attempts in flight to be recorded.
    handle.shutdown().await;
    n as f64 / start.elapsed().as_secs_f64()
}

/// The same signed requests from a plain reqwest loop, `conc` at a time.
async fn plain_rate(
    secret: &SigningSecret,
    url: &str,
    sent: &[(String, String)],
    conc: usize,
) -> f64 {
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(conc)
        .no_proxy()
        .build()
        .unwrap();
    let work: Arc<Vec<(String, String)>> = Arc::new(sent.to_vec());
    let next = Arc::new(AtomicU64::new(0));
    let start = Instant::now();
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..conc {
        let (client, work, next, url, secret) = (
            client.clone(),
            work.clone(),
            next.clone(),
            url.to_owned(),
            secret.clone(),
        );
        tasks.spawn(async move {
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed) as usize;
                let Some((id, body)) = work.get(i) else { break };
                let ts = clock::now().secs();
                let response = client
                    .post(&url)
                    .header("content-type", "application/json")
                    .header("webhook-id", id.as_str())
                    .header("webhook-timestamp", ts.to_string())
                    .header("webhook-signature", secret.sign(id, ts, body.as_bytes()))
                    .body(body.clone())
                    .send()
                    .await
                    .unwrap();
                assert!(response.status().is_success());
                let _ = response.bytes().await;
            }
        });
    }
    while tasks.join_next().await.is_some() {}
    sent.len() as f64 / start.elapsed().as_secs_f64()
}

async fn run(label: &str, store: Store, n: usize) {
    let key = [9u8; 32];
    let rx = receiver().await;
    for conc in [1usize, 32] {
        let (secret, sent) = queue(&store, &key, &rx.url, n).await;
        let dispatched = dispatcher_rate(&store, key, &rx, n, conc).await;
        let plain = plain_rate(&secret, &rx.url, &sent, conc).await;
        println!(
            "{label:<10} concurrency {conc:>2}: dispatcher {dispatched:>8.0} deliveries/s   plain reqwest loop {plain:>8.0} requests/s   ({n} events, ratio {:.2})",
            dispatched / plain
        );
    }
}

fn main() {
    let n: usize = std::env::args()
        .skip(1)
        .find_map(|a| a.parse().ok())
        .unwrap_or(2_000);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let dir = std::env::temp_dir().join(format!("callscope_whbench_{}", std::process::id()));
        let url = format!("sqlite://{}/bench.db", dir.display());
        let store = Store::connect(&url, 8).await.unwrap();
        store.migrate().await.unwrap();
        run("sqlite", store.clone(), n).await;
        store.close().await;
        let _ = std::fs::remove_dir_all(&dir);

        let admin = std::env::var("CALLSCOPE_TEST_PG_URL")
            .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".into());
        let Ok(mut conn) = sqlx::PgConnection::connect(&admin).await else {
            println!("postgres   skipped: {admin} does not answer");
            return;
        };
        let name = format!("callscope_whbench_{}", std::process::id());
        sqlx::query(&format!("CREATE DATABASE {name}"))
            .execute(&mut conn)
            .await
            .unwrap();
        let (base, _) = admin.rsplit_once('/').unwrap();
        let store = Store::connect(&format!("{base}/{name}"), 8).await.unwrap();
        store.migrate().await.unwrap();
        run("postgres", store.clone(), n).await;
        store.close().await;
        sqlx::query(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
            .execute(&mut conn)
            .await
            .unwrap();
    });
}
