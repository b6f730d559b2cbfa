//! Public debug links over real HTTP, on both backends: issuing, repeat, revoke, expiry,
//! tenant isolation, masking, headers, 404 sameness, 429 and view counting.

use crate::common;

use std::net::IpAddr;
use std::time::Duration;

use callscope_server::auth::{KeyMode, create_key};
use callscope_server::clock::UnixTime;
use callscope_server::config::Config;
use callscope_server::debug_link::DebugToken;
use callscope_server::live::LiveStore;
use callscope_server::operator;
use callscope_server::secrets::{Keys, ServerKey};
use callscope_server::storage::{AccountStatus, NewDelivery};
use callscope_shared::CallId;
use common::{TestDb, TestServer, fixtures};
use reqwest::StatusCode;
use serde_json::Value;

struct World {
    server: TestServer,
    key: String,
    other_key: String,
    call: CallId,
    silent_call: CallId,
}

async fn world_with(db: &TestDb, config: Config) -> World {
    let store = &db.store;
    let key = create_key(store, "acme", KeyMode::Live, UnixTime(1))
        .await
        .unwrap();
    let other_key = create_key(store, "globex", KeyMode::Live, UnixTime(1))
        .await
        .unwrap();
    let acme = store.account_id("acme").await.unwrap().unwrap();
    let agent = fixtures::agent(store, acme, 1).await;
    let mut new = fixtures::completed_call(acme, agent.id, 1_768_471_200, 6);
    new.transcript[1].content = "my number is 06-1234 5678, or +31 6 12345678".into();
    let call = fixtures::store_call(store, &new).await;
    store
        .insert_delivery(&NewDelivery {
            account_id: acme,
            call_id: Some(call),
            event: "call.ended".into(),
            event_id: "evt-1".into(),
            url: "https://user:secret@hooks.example.com/path?sig=abc".into(),
            attempt: 1,
            status_code: Some(503),
            success: false,
            error: Some("HTTP 503".into()),
            created_at: UnixTime(1_768_471_330),
        })
        .await
        .unwrap();
    let mut silent = fixtures::completed_call(acme, agent.id, 1_768_471_300, 0);
    silent.status = callscope_shared::CallStatus::Busy;
    let silent_call = fixtures::store_call(store, &silent).await;
    let server = TestServer::start_with(store.clone(), LiveStore::in_process(), config).await;
    World {
        server,
        key: key.reveal().into(),
        other_key: other_key.reveal().into(),
        call,
        silent_call,
    }
}

async fn world(db: &TestDb) -> World {
    world_with(db, world_config()).await
}

fn world_config() -> Config {
    Config {
        dist: "/nonexistent".into(),
        debug_miss_limit: 1000,
        ..common::config()
    }
}

/// A world whose view writer never flushes on its own within a test: views reach the
/// database only when the test flushes or shuts the writer down.
async fn world_with_held_views(db: &TestDb) -> World {
    let config = Config {
        view_flush_every: Duration::from_secs(3600),
        ..world_config()
    };
    world_with(db, config).await
}

async fn json(r: reqwest::Response) -> (StatusCode, Value) {
    (r.status(), r.json().await.unwrap())
}

async fn issue(w: &World, query: &str) -> (StatusCode, Value) {
    json(
        w.server
            .get(&format!("/v1/calls/{}/debug-link{query}", w.call), &w.key)
            .await,
    )
    .await
}

async fn public(w: &World, token: &str) -> reqwest::Response {
    w.server
        .client
        .get(w.server.url(&format!("/api/v1/call-debug/{token}")))
        .send()
        .await
        .unwrap()
}

async fn revoke(w: &World, call: CallId, key: &str) -> reqwest::Response {
    let url = w.server.url(&format!("/v1/calls/{call}/debug-link/revoke"));
    w.server
        .client
        .post(url)
        .bearer_auth(key)
        .send()
        .await
        .unwrap()
}

fn assert_public_headers(r: &reqwest::Response) {
    let h = r.headers();
    assert_eq!(h["cache-control"], "no-store");
    assert_eq!(h["referrer-policy"], "no-referrer");
    assert_eq!(h["x-robots-tag"], "noindex, nofollow");
    assert_eq!(h["x-content-type-options"], "nosniff");
}

both_backends!(issuing_is_stable_until_revoked, |db: TestDb| async move {
    let w = world(&db).await;
    let (status, link) = issue(&w, "").await;
    assert_eq!(status, StatusCode::OK, "{link}");
    let token = link["debug_token"].as_str().unwrap().to_owned();
    assert_eq!(token.len(), 43);
    assert!(
        token
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    );
    assert_eq!(link["url"], format!("/api/v1/call-debug/{token}"));
    assert!(link["expires_at"].is_null());
    assert_eq!(link["view_count"], 0);
    assert!(link["last_viewed_at"].is_null());
    assert!(link["created_at"].is_string());

    let (_, again) = issue(&w, "").await;
    assert_eq!(
        again["debug_token"],
        token.as_str(),
        "asking again returns the same link"
    );

    let r = revoke(&w, w.call, &w.key).await;
    assert_eq!(
        json(r).await,
        (
            StatusCode::OK,
            serde_json::json!({"success": true, "revoked": true})
        )
    );
    assert_eq!(
        public(&w, &token).await.status(),
        StatusCode::NOT_FOUND,
        "revoked at once"
    );
    let (_, fresh) = issue(&w, "").await;
    assert_ne!(
        fresh["debug_token"],
        token.as_str(),
        "the next GET issues a new token"
    );
    assert_eq!(
        public(&w, fresh["debug_token"].as_str().unwrap())
            .await
            .status(),
        StatusCode::OK
    );

    let r = revoke(&w, w.silent_call, &w.key).await;
    assert_eq!(
        json(r).await.1["revoked"],
        false,
        "revoking nothing is not an error"
    );
});

both_backends!(
    only_the_owner_of_a_call_with_a_debug_log_gets_a_link,
    |db: TestDb| async move {
        let w = world(&db).await;
        let (status, body) = json(
            w.server
                .get(&format!("/v1/calls/{}/debug-link", w.silent_call), &w.key)
                .await,
        )
        .await;
        assert_eq!(
            (status, body["error"].as_str().unwrap()),
            (StatusCode::NOT_FOUND, "Debug log not available")
        );
        for (key, path) in [
            (&w.other_key, format!("/v1/calls/{}/debug-link", w.call)),
            (&w.key, "/v1/calls/call_99999999/debug-link".to_owned()),
            (&w.key, "/v1/calls/nonsense/debug-link".to_owned()),
        ] {
            let (status, body) = json(w.server.get(&path, key).await).await;
            assert_eq!(
                (status, body["error"].as_str().unwrap()),
                (StatusCode::NOT_FOUND, "Call not found"),
                "{path}"
            );
        }
        let r = revoke(&w, w.call, &w.other_key).await;
        assert_eq!(
            r.status(),
            StatusCode::NOT_FOUND,
            "another account cannot revoke"
        );
        let r = w
            .server
            .client
            .get(w.server.url(&format!("/v1/calls/{}/debug-link", w.call)))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    }
);

both_backends!(
    expiry_is_bounded_and_expired_links_are_gone,
    |db: TestDb| async move {
        let w = world(&db).await;
        for bad in ["59", "7776001", "abc", "-60", ""] {
            let (status, body) = issue(&w, &format!("?expires_in={bad}")).await;
            assert_eq!(status, StatusCode::BAD_REQUEST, "{bad}");
            assert_eq!(
                body["error"],
                "expires_in must be an integer between 60 and 7776000"
            );
        }
        let (status, link) = issue(&w, "?expires_in=3600").await;
        assert_eq!(status, StatusCode::OK);
        let created =
            callscope_shared::Timestamp::parse(link["created_at"].as_str().unwrap()).unwrap();
        let expires =
            callscope_shared::Timestamp::parse(link["expires_at"].as_str().unwrap()).unwrap();
        assert_eq!(expires.unix() - created.unix(), 3600);

        // A link that expired a second ago: it answers like an unknown one, and is replaced.
        db.store
            .revoke_debug_link(w.call, UnixTime(0))
            .await
            .unwrap();
        let token = DebugToken::generate();
        let now = fixtures::now();
        db.store
            .insert_debug_link(
                w.call,
                &token.hash(),
                &token.encrypt(&w.server.state.keys.link_encryption).unwrap(),
                now.plus(-100),
                Some(now.plus(-1)),
                false,
            )
            .await
            .unwrap();
        let r = public(&w, token.as_str()).await;
        assert_eq!(
            json(r).await,
            (
                StatusCode::NOT_FOUND,
                serde_json::json!({"error": "Debug link not found"})
            )
        );
        let (_, replaced) = issue(&w, "").await;
        assert_ne!(replaced["debug_token"], token.as_str());
        assert!(replaced["expires_at"].is_null());
    }
);

both_backends!(
    the_public_view_is_masked_and_minimal,
    |db: TestDb| async move {
        let w = world(&db).await;
        let (_, link) = issue(&w, "").await;
        let r = public(&w, link["debug_token"].as_str().unwrap()).await;
        assert_eq!(r.status(), StatusCode::OK);
        assert_public_headers(&r);
        let text = r.text().await.unwrap();
        let v: Value = serde_json::from_str(&text).unwrap();

        assert_eq!(v["call_id"], w.call.to_string());
        assert_eq!(v["status"], "completed");
        assert_eq!(v["duration_seconds"], 127);
        assert_eq!(v["from"], "+316*****678");
        assert_eq!(v["to"], "+318*****345");
        assert_eq!(v["started_at"], "2026-01-15T10:00:00Z");
        let turns = v["turns"].as_array().unwrap();
        assert_eq!(turns.len(), 6);
        assert_eq!(turns[0]["role"], "assistant");
        assert_eq!(
            (
                turns[0]["llm_ttfb_ms"].as_u64(),
                turns[0]["tts_start_ms"].as_u64(),
                turns[0]["tts_ttfb_ms"].as_u64()
            ),
            (Some(200), Some(320), Some(95))
        );
        assert_eq!(
            turns[2]["llm_ttfb_ms"], 201,
            "the second assistant entry has the second turn's latency"
        );
        assert!(
            turns[1].get("llm_ttfb_ms").is_none(),
            "user turns carry no latency"
        );
        assert_eq!(
            turns[1]["content"],
            "my number is 06-1*** *678, or +31 6 ****5678".replace("****5678", "*****678")
        );
        assert_eq!(turns[2]["tool_calls"][0]["name"], "get_policy");
        assert_eq!(v["latency"]["llm_ttfb_ms"]["max"], 202);
        assert_eq!(v["latency"]["slowest_turn"]["index"], 4);
        assert_eq!(v["webhooks"][0]["url"], "https://hooks.example.com");
        assert_eq!(v["webhooks"][0]["status_code"], 503);
        assert_eq!(v["ended_reason"], "caller-hangup");

        for secret in [
            "31612345678",
            "612345678",
            "crm_id",
            "claim",
            "metadata",
            "extracted_data",
            "total_cost",
            "agent",
            "secret",
            "sig=abc",
            "v3:abc",
            "rate_per_minute",
        ] {
            assert!(!text.contains(secret), "{secret} leaked into {text}");
        }
    }
);

both_backends!(every_miss_looks_the_same, |db: TestDb| async move {
    let w = world(&db).await;
    let (_, link) = issue(&w, "").await;
    let revoked = link["debug_token"].as_str().unwrap().to_owned();
    revoke(&w, w.call, &w.key).await;
    let unknown = DebugToken::generate();
    let mut answers = Vec::new();
    for token in [
        unknown.as_str(),
        "short",
        &"%".repeat(43),
        &"A".repeat(43),
        &"A".repeat(500),
        revoked.as_str(),
    ] {
        let r = public(&w, token).await;
        assert_public_headers(&r);
        let status = r.status();
        answers.push((status, r.bytes().await.unwrap()));
    }
    assert!(answers.iter().all(|a| a == &answers[0]), "{answers:?}");
    assert_eq!(answers[0].0, StatusCode::NOT_FOUND);
    assert_eq!(&answers[0].1[..], br#"{"error":"Debug link not found"}"#);
});

both_backends!(
    a_suspended_accounts_links_stop_until_reactivated,
    |db: TestDb| async move {
        let w = world_with(
            &db,
            Config {
                debug_miss_limit: 3,
                ..world_config()
            },
        )
        .await;
        let (_, link) = issue(&w, "").await;
        let token = link["debug_token"].as_str().unwrap().to_owned();
        let client_from = |ip: &str| {
            reqwest::Client::builder()
                .local_address(ip.parse::<IpAddr>().unwrap())
                .build()
                .unwrap()
        };
        let open = |client: reqwest::Client, token: String| {
            let url = w.server.url(&format!("/api/v1/call-debug/{token}"));
            async move {
                let r = client.get(url).send().await.unwrap();
                (r.status(), r.bytes().await.unwrap())
            }
        };
        assert_eq!(
            open(client_from("127.0.0.2"), token.clone()).await.0,
            StatusCode::OK
        );
        let unknown = open(
            client_from("127.0.0.5"),
            DebugToken::generate().as_str().into(),
        )
        .await;

        operator::set_account_status(&db.store, "acme", AccountStatus::Suspended, fixtures::now())
            .await
            .unwrap();
        // Exactly an unknown link's answer, and a miss: the limit of 3 is reached.
        let suspended = client_from("127.0.0.3");
        for _ in 0..3 {
            assert_eq!(open(suspended.clone(), token.clone()).await, unknown);
        }
        assert_eq!(
            open(suspended, token.clone()).await.0,
            StatusCode::TOO_MANY_REQUESTS
        );

        operator::set_account_status(&db.store, "acme", AccountStatus::Active, fixtures::now())
            .await
            .unwrap();
        assert_eq!(
            open(client_from("127.0.0.4"), token.clone()).await.0,
            StatusCode::OK
        );

        // Revoked or expired while suspended: reactivation does not bring it back.
        operator::set_account_status(&db.store, "acme", AccountStatus::Suspended, fixtures::now())
            .await
            .unwrap();
        db.store
            .revoke_debug_link(w.call, fixtures::now())
            .await
            .unwrap();
        let expiring = DebugToken::generate();
        let now = fixtures::now();
        db.store
            .insert_debug_link(
                w.silent_call,
                &expiring.hash(),
                &expiring
                    .encrypt(&w.server.state.keys.link_encryption)
                    .unwrap(),
                now.plus(-100),
                Some(now.plus(-1)),
                false,
            )
            .await
            .unwrap();
        operator::set_account_status(&db.store, "acme", AccountStatus::Active, fixtures::now())
            .await
            .unwrap();
        for gone in [token, expiring.as_str().to_owned()] {
            assert_eq!(open(client_from("127.0.0.6"), gone).await, unknown);
        }
    }
);

/// Issues the call's link and opens it publicly `views` times; returns its token.
async fn issue_and_view(w: &World, views: usize) -> String {
    let (_, link) = issue(w, "").await;
    let token = link["debug_token"].as_str().unwrap().to_owned();
    for _ in 0..views {
        assert_eq!(public(w, &token).await.status(), StatusCode::OK);
    }
    token
}

both_backends!(
    views_are_counted_off_the_hot_path,
    |db: TestDb| async move {
        let w = world_with_held_views(&db).await;
        issue_and_view(&w, 3).await;
        // Every view has been answered, and none is in the database yet: a view costs
        // the response no write.
        let (_, before) = issue(&w, "").await;
        assert_eq!(
            before["view_count"], 0,
            "views were written on the hot path"
        );
        assert!(before["last_viewed_at"].is_null());
        w.server.state.debug.recorder.flush().await;
        let (_, seen) = issue(&w, "").await;
        assert_eq!(seen["view_count"], 3);
        assert!(seen["last_viewed_at"].is_string());
    }
);

both_backends!(
    views_still_in_memory_are_written_at_shutdown,
    |db: TestDb| async move {
        let w = world_with_held_views(&db).await;
        let token = issue_and_view(&w, 3).await;
        // No flush falls due: shutting down writes what is pending.
        let recorder = &w.server.state.debug.recorder;
        recorder.shutdown().await;
        let (_, seen) = issue(&w, "").await;
        assert_eq!(seen["view_count"], 3);
        // A second shutdown, and views after it, are harmless.
        recorder.shutdown().await;
        assert_eq!(public(&w, &token).await.status(), StatusCode::OK);
    }
);

#[tokio::test]
async fn repeated_misses_are_limited_per_client() {
    let db = TestDb::sqlite().await;
    let w = world_with(
        &db,
        Config {
            dist: "/nonexistent".into(),
            debug_miss_limit: 5,
            ..common::config()
        },
    )
    .await;
    let (_, link) = issue(&w, "").await;
    let token = link["debug_token"].as_str().unwrap().to_owned();
    let client_from = |ip: &str| {
        reqwest::Client::builder()
            .local_address(ip.parse::<IpAddr>().unwrap())
            .build()
            .unwrap()
    };
    let attacker = client_from("127.0.0.2");
    let url = |t: &str| w.server.url(&format!("/api/v1/call-debug/{t}"));
    for _ in 0..5 {
        let r = attacker
            .get(url(DebugToken::generate().as_str()))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::NOT_FOUND);
    }
    let r = attacker
        .get(url(DebugToken::generate().as_str()))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::TOO_MANY_REQUESTS);
    assert_public_headers(&r);
    let wait: u64 = r.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=60).contains(&wait));
    assert_eq!(
        r.json::<Value>().await.unwrap()["error"],
        "Too many requests"
    );
    let r = attacker.get(url(&token)).send().await.unwrap();
    assert_eq!(
        r.status(),
        StatusCode::TOO_MANY_REQUESTS,
        "the limited client is blocked outright"
    );
    let r = client_from("127.0.0.3")
        .get(url(&token))
        .send()
        .await
        .unwrap();
    assert_eq!(
        r.status(),
        StatusCode::OK,
        "real links keep working for everyone else"
    );
}

#[tokio::test]
async fn browsers_get_the_viewer_page_with_a_strict_csp() {
    let db = TestDb::sqlite().await;
    let dist = std::env::temp_dir().join(format!("callscope_dist_dl_{}", std::process::id()));
    std::fs::create_dir_all(&dist).unwrap();
    std::fs::write(
        dist.join("index.html"),
        "<!doctype html><main id=app></main>",
    )
    .unwrap();
    let w = world_with(
        &db,
        Config {
            dist: dist.clone(),
            debug_miss_limit: 1000,
            ..common::config()
        },
    )
    .await;
    let (_, link) = issue(&w, "").await;
    let url = w.server.url(link["url"].as_str().unwrap());
    let html = w
        .server
        .client
        .get(&url)
        .header(
            "accept",
            "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8",
        )
        .send()
        .await
        .unwrap();
    assert_eq!(html.status(), StatusCode::OK);
    assert_public_headers(&html);
    assert!(
        html.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/html")
    );
    let csp = html.headers()["content-security-policy"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(
        csp.contains("default-src 'none'") && csp.contains("script-src 'self' 'wasm-unsafe-eval'"),
        "{csp}"
    );
    assert!(
        !csp.contains("unsafe-inline") && !csp.contains("http"),
        "{csp}"
    );
    assert!(html.text().await.unwrap().contains("id=app"));
    let api = w
        .server
        .client
        .get(&url)
        .header("accept", "application/json")
        .send()
        .await
        .unwrap();
    assert!(
        api.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("application/json")
    );
    let plain = w.server.client.get(&url).send().await.unwrap();
    assert_eq!(
        plain.json::<Value>().await.unwrap()["call_id"],
        w.call.to_string()
    );
    let robots = w
        .server
        .client
        .get(w.server.url("/robots.txt"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(robots.contains("Disallow: /api/v1/call-debug/"));
    std::fs::remove_dir_all(dist).unwrap();
}

/// The owner's link to `call` on `server`: its token.
async fn issue_on(server: &TestServer, call: CallId, key: &str) -> String {
    let (status, link) = json(
        server
            .get(&format!("/v1/calls/{call}/debug-link"), key)
            .await,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{link}");
    link["debug_token"].as_str().unwrap().to_owned()
}

both_backends!(
    a_copy_of_the_database_alone_opens_no_link,
    |db: TestDb| async move {
        let w = world(&db).await;
        // Server A's key lives in a key file, as the embedded default's does.
        let dir = std::env::temp_dir().join(format!(
            "callscope_keyfile_{}_{}",
            std::process::id(),
            rand::random::<u32>()
        ));
        let key_file = dir.join("callscope.key");
        let key_a = ServerKey::load_or_create(&key_file).unwrap();
        let config = |key: ServerKey| Config {
            dist: "/nonexistent".into(),
            debug_miss_limit: 10,
            server_key: key,
            ..common::config()
        };
        let server_a = TestServer::start_with(
            db.store.clone(),
            LiveStore::in_process(),
            config(key_a.clone()),
        )
        .await;
        let token = issue_on(&server_a, w.call, &w.key).await;
        let stored = db.store.live_debug_link(w.call).await.unwrap().unwrap();
        let needle = token.as_bytes();
        assert!(
            !stored.token_enc.windows(needle.len()).any(|w| w == needle),
            "no plaintext at rest"
        );
        // The stored token opens under A's key, and under no other.
        let opened = |key: &ServerKey| {
            DebugToken::decrypt(
                &stored.token_enc,
                &Keys::from_server_key(key).link_encryption,
            )
            .map(|t| t.as_str().to_owned())
        };
        assert_eq!(opened(&key_a), Some(token.clone()));
        let key_b = ServerKey::generate();
        assert_eq!(opened(&key_b), None);

        // A restart reads the same key from the file and shows the same link.
        let reloaded = ServerKey::load_or_create(&key_file).unwrap();
        assert_eq!(opened(&reloaded), Some(token.clone()));
        drop(server_a);
        let restarted =
            TestServer::start_with(db.store.clone(), LiveStore::in_process(), config(reloaded))
                .await;
        assert_eq!(issue_on(&restarted, w.call, &w.key).await, token);

        // A server with another key cannot show the old token, so it issues a new one and
        // the old link stops working.
        let other =
            TestServer::start_with(db.store.clone(), LiveStore::in_process(), config(key_b)).await;
        let reissued = issue_on(&other, w.call, &w.key).await;
        assert_ne!(reissued, token);
        assert_eq!(public(&w, &token).await.status(), StatusCode::NOT_FOUND);
        assert_eq!(public(&w, &reissued).await.status(), StatusCode::OK);
        std::fs::remove_dir_all(dir).unwrap();
    }
);

#[tokio::test]
async fn malformed_tokens_never_reach_the_database() {
    let db = TestDb::sqlite().await;
    let w = world(&db).await;
    db.store.close().await;
    // With the database gone, a well-formed token fails as a storage error (503) while a
    // malformed one is answered before any query, exactly like an unknown token.
    let well_formed = public(&w, DebugToken::generate().as_str()).await;
    assert_eq!(well_formed.status(), StatusCode::SERVICE_UNAVAILABLE);
    for bad in ["short", &"A".repeat(44), &"*".repeat(43)] {
        let r = public(&w, bad).await;
        assert_public_headers(&r);
        assert_eq!(
            json(r).await,
            (
                StatusCode::NOT_FOUND,
                serde_json::json!({"error": "Debug link not found"})
            ),
            "{bad}"
        );
    }
}
