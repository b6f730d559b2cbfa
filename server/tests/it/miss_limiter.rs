//! The public debug endpoint's miss limiter over real HTTP: clients behind trusted proxies
//! (X-Forwarded-For), IPv6 /64s, and counts shared by instances through a real Redis.
//! Redis tests use `CALLSCOPE_TEST_REDIS_URL` and fail when it is down.

use crate::common;

use std::net::IpAddr;

use callscope_server::client_ip::ClientKey;
use callscope_server::config::Config;
use callscope_server::debug_link::{DebugToken, SharedMisses};
use callscope_server::live::LiveStore;
use callscope_server::storage::Store;
use common::{TestDb, TestServer};
use reqwest::StatusCode;
use serde_json::Value;

const LIMIT: u32 = 3;

async fn server(store: &Store, live: LiveStore, trusted: &str) -> TestServer {
    let config = Config {
        dist: "/nonexistent".into(),
        debug_miss_limit: LIMIT,
        trusted_proxies: trusted.parse().unwrap(),
        ..common::config()
    };
    TestServer::start_with(store.clone(), live, config).await
}

/// Looks up an unknown (well-formed) token, optionally with X-Forwarded-For.
async fn miss(server: &TestServer, forwarded_for: Option<&str>) -> reqwest::Response {
    miss_from(server, &server.client, forwarded_for).await
}

async fn miss_from(
    server: &TestServer,
    client: &reqwest::Client,
    forwarded_for: Option<&str>,
) -> reqwest::Response {
    let url = server.url(&format!(
        "/api/v1/call-debug/{}",
        DebugToken::generate().as_str()
    ));
    let mut request = client.get(url);
    if let Some(value) = forwarded_for {
        request = request.header("x-forwarded-for", value);
    }
    request.send().await.unwrap()
}

/// A client whose TCP connections come from `ip` (any 127.x address works on loopback).
fn client_from(ip: &str) -> reqwest::Client {
    reqwest::Client::builder()
        .local_address(ip.parse::<IpAddr>().unwrap())
        .build()
        .unwrap()
}

/// Uses up a client's misses: `LIMIT` 404s.
async fn exhaust(server: &TestServer, forwarded_for: Option<&str>) {
    for n in 0..LIMIT {
        let r = miss(server, forwarded_for).await;
        assert_eq!(
            r.status(),
            StatusCode::NOT_FOUND,
            "miss {n} of {forwarded_for:?}"
        );
    }
}

/// Asserts a 429 with a Retry-After within the minute window.
async fn assert_limited(r: reqwest::Response, what: &str) {
    assert_eq!(r.status(), StatusCode::TOO_MANY_REQUESTS, "{what}");
    let wait: u64 = r.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=60).contains(&wait), "{what}: Retry-After {wait}");
    assert_eq!(
        r.json::<Value>().await.unwrap()["error"],
        "Too many requests"
    );
}

/// Fires `n` lookups of unknown tokens at once from `client`, spread round-robin over
/// `servers`, and counts the answers: (404s, 429s). Anything else fails the test.
async fn concurrent_misses(
    servers: &[&TestServer],
    client: &reqwest::Client,
    n: usize,
) -> (usize, usize) {
    let mut requests = tokio::task::JoinSet::new();
    for i in 0..n {
        let url = servers[i % servers.len()].url(&format!(
            "/api/v1/call-debug/{}",
            DebugToken::generate().as_str()
        ));
        let client = client.clone();
        requests.spawn(async move { client.get(url).send().await.unwrap().status() });
    }
    let (mut missed, mut limited) = (0, 0);
    while let Some(status) = requests.join_next().await {
        match status.unwrap() {
            StatusCode::NOT_FOUND => missed += 1,
            StatusCode::TOO_MANY_REQUESTS => limited += 1,
            other => panic!("unexpected {other}"),
        }
    }
    (missed, limited)
}

/// Misses in flight at the same moment: the count and the verdict are one step, so no more
/// than the limit are ever answered 404, however many race.
const RACING: usize = 40;

backend_independent!(
    concurrent_misses_never_overshoot_the_limit,
    |db: TestDb| async move {
        let s = server(&db.store, LiveStore::in_process(), "").await;
        let (missed, limited) = concurrent_misses(&[&s], &client_from("127.0.0.6"), RACING).await;
        assert_eq!(missed, LIMIT as usize, "exactly the limit of 404s");
        assert_eq!(limited, RACING - LIMIT as usize, "the rest 429");
    }
);

backend_independent!(
    behind_a_trusted_proxy_forwarded_clients_are_counted_apart,
    |db: TestDb| async move {
        let s = server(&db.store, LiveStore::in_process(), "127.0.0.1/32").await;
        exhaust(&s, Some("203.0.113.1")).await;
        assert_limited(miss(&s, Some("203.0.113.1")).await, "the exhausted client").await;
        assert_eq!(
            miss(&s, Some("203.0.113.2")).await.status(),
            StatusCode::NOT_FOUND,
            "another client behind the same proxy is unaffected"
        );
        assert_eq!(
            miss(&s, None).await.status(),
            StatusCode::NOT_FOUND,
            "the proxy itself is its own client"
        );
        assert_limited(
            miss(&s, Some("203.0.113.2, 203.0.113.1")).await,
            "a spoofed left-most entry does not change who the client is",
        )
        .await;
        assert_limited(
            miss(&s, Some("::ffff:203.0.113.1")).await,
            "an IPv4-mapped address is the IPv4 client",
        )
        .await;
        assert_limited(
            miss(&s, Some("not-an-ip, 203.0.113.1, 127.0.0.1")).await,
            "junk on the left and trusted hops on the right are skipped",
        )
        .await;
    }
);

backend_independent!(
    ipv6_clients_are_counted_by_their_64,
    |db: TestDb| async move {
        let s = server(&db.store, LiveStore::in_process(), "127.0.0.1").await;
        for n in 1..=LIMIT {
            let forwarded = format!("2001:db8:1:2::{n}");
            let r = miss(&s, Some(&forwarded)).await;
            assert_eq!(r.status(), StatusCode::NOT_FOUND, "{forwarded}");
        }
        assert_limited(
            miss(&s, Some("2001:db8:1:2:ffff::99")).await,
            "another address in the same /64",
        )
        .await;
        assert_eq!(
            miss(&s, Some("2001:db8:1:3::1")).await.status(),
            StatusCode::NOT_FOUND,
            "the next /64 is another client"
        );
    }
);

backend_independent!(
    without_trust_forwarded_for_cannot_dodge_the_limit,
    |db: TestDb| async move {
        // Nothing trusted, and a list that does not hold the peer: both ignore the header.
        for trusted in ["", "10.0.0.0/8, ::1"] {
            let s = server(&db.store, LiveStore::in_process(), trusted).await;
            for n in 0..LIMIT {
                let forwarded = format!("198.51.100.{n}");
                let r = miss(&s, Some(&forwarded)).await;
                assert_eq!(r.status(), StatusCode::NOT_FOUND, "{trusted:?}: miss {n}");
            }
            assert_limited(
                miss(&s, Some("198.51.100.200")).await,
                &format!("{trusted:?}: a fresh X-Forwarded-For"),
            )
            .await;
            assert_limited(miss(&s, None).await, &format!("{trusted:?}: no header")).await;
        }
    }
);

fn unique_prefix(label: &str) -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    format!("callscope-test:{label}:{}:{nanos}:", std::process::id())
}

async fn redis_live(prefix: &str) -> LiveStore {
    let url = common::redis_url();
    LiveStore::redis(&url, prefix)
        .await
        .unwrap_or_else(|e| panic!("Redis at {url} is required for this test: {e}"))
}

async fn redis_conn() -> redis::aio::MultiplexedConnection {
    let url = common::redis_url();
    redis::Client::open(url.as_str())
        .unwrap()
        .get_multiplexed_async_connection()
        .await
        .unwrap_or_else(|e| panic!("Redis at {url} is required for this test: {e}"))
}

/// Deletes every key under `prefix`.
async fn clean(conn: &mut redis::aio::MultiplexedConnection, prefix: &str) {
    let keys: Vec<String> = redis::cmd("KEYS")
        .arg(format!("{prefix}*"))
        .query_async(conn)
        .await
        .unwrap();
    for key in keys {
        let _: () = redis::cmd("DEL").arg(key).query_async(conn).await.unwrap();
    }
}

#[tokio::test]
async fn instances_share_miss_counts_through_redis() {
    let db = TestDb::sqlite().await;
    let prefix = unique_prefix("shared-misses");
    let a = server(&db.store, redis_live(&prefix).await, "").await;
    let b = server(&db.store, redis_live(&prefix).await, "").await;
    let attacker = client_from("127.0.0.2");
    for n in 0..LIMIT {
        let r = miss_from(&a, &attacker, None).await;
        assert_eq!(r.status(), StatusCode::NOT_FOUND, "miss {n} on A");
    }
    assert_limited(
        miss_from(&b, &attacker, None).await,
        "misses on A count on B",
    )
    .await;
    assert_limited(miss_from(&a, &attacker, None).await, "and on A").await;
    assert_eq!(
        miss_from(&b, &client_from("127.0.0.3"), None)
            .await
            .status(),
        StatusCode::NOT_FOUND,
        "other clients are unaffected"
    );

    let mut conn = redis_conn().await;
    let key = format!("{prefix}debug-miss:127.0.0.2");
    let (count, pttl): (u32, i64) = redis::pipe()
        .get(&key)
        .cmd("PTTL")
        .arg(&key)
        .query_async(&mut conn)
        .await
        .unwrap();
    assert_eq!(count, LIMIT, "429s are not misses");
    assert!((1..=60_000).contains(&pttl), "the window expires: {pttl}");
    clean(&mut conn, &prefix).await;
}

#[tokio::test]
async fn concurrent_misses_on_two_instances_never_overshoot_the_shared_limit() {
    let db = TestDb::sqlite().await;
    let prefix = unique_prefix("racing-misses");
    let a = server(&db.store, redis_live(&prefix).await, "").await;
    let b = server(&db.store, redis_live(&prefix).await, "").await;
    let (missed, limited) = concurrent_misses(&[&a, &b], &client_from("127.0.0.7"), RACING).await;
    assert_eq!(
        missed, LIMIT as usize,
        "exactly the limit of 404s over both"
    );
    assert_eq!(limited, RACING - LIMIT as usize, "the rest 429");
    clean(&mut redis_conn().await, &prefix).await;
}

#[tokio::test]
async fn shared_counts_follow_the_forwarded_client_and_its_64() {
    let db = TestDb::sqlite().await;
    let prefix = unique_prefix("shared-forwarded");
    let a = server(&db.store, redis_live(&prefix).await, "127.0.0.0/8").await;
    let b = server(&db.store, redis_live(&prefix).await, "127.0.0.0/8").await;
    for n in 1..=LIMIT {
        let forwarded = format!("2001:db8:7:7::{n}, 127.0.0.9");
        let r = miss(if n % 2 == 0 { &a } else { &b }, Some(&forwarded)).await;
        assert_eq!(r.status(), StatusCode::NOT_FOUND, "{forwarded}");
    }
    assert_limited(miss(&a, Some("2001:db8:7:7::abcd")).await, "same /64 on A").await;
    assert_limited(miss(&b, Some("2001:db8:7:7::abcd")).await, "same /64 on B").await;
    assert_eq!(
        miss(&b, Some("2001:db8:7:8::1")).await.status(),
        StatusCode::NOT_FOUND
    );
    let mut conn = redis_conn().await;
    let count: Option<u32> = redis::cmd("GET")
        .arg(format!("{prefix}debug-miss:2001:db8:7:7::/64"))
        .query_async(&mut conn)
        .await
        .unwrap();
    assert_eq!(count, Some(LIMIT));
    clean(&mut conn, &prefix).await;
}

#[tokio::test]
async fn a_failing_redis_falls_back_to_in_process_counts() {
    let db = TestDb::sqlite().await;
    let prefix = unique_prefix("failing-redis");
    let mut conn = redis_conn().await;
    // A key of the wrong type makes every limiter command on it fail, for real.
    let key = format!("{prefix}debug-miss:127.0.0.4");
    let _: () = redis::cmd("HSET")
        .arg(&key)
        .arg("not")
        .arg("a counter")
        .query_async(&mut conn)
        .await
        .unwrap();
    let s = server(&db.store, redis_live(&prefix).await, "").await;
    let client = client_from("127.0.0.4");
    for n in 0..LIMIT {
        let r = miss_from(&s, &client, None).await;
        assert_eq!(r.status(), StatusCode::NOT_FOUND, "miss {n}: no 500");
    }
    assert_limited(
        miss_from(&s, &client, None).await,
        "this process's counts still limit",
    )
    .await;
    let kind: String = redis::cmd("TYPE")
        .arg(&key)
        .query_async(&mut conn)
        .await
        .unwrap();
    assert_eq!(kind, "hash", "the limiter did not clobber the key");

    // The failures the endpoint survived are reported as errors, not read as "no misses".
    let manager =
        redis::aio::ConnectionManager::new(redis::Client::open(common::redis_url()).unwrap())
            .await
            .unwrap();
    let shared = SharedMisses::new(manager, prefix.as_str().into());
    let who = ClientKey::from("127.0.0.4".parse::<IpAddr>().unwrap());
    assert!(shared.window(who).await.is_err());
    assert!(
        shared
            .count(who, std::time::Duration::from_secs(60))
            .await
            .is_err()
    );
    clean(&mut conn, &prefix).await;
}
