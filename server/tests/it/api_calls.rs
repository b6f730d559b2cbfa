//! The Calls read API over real HTTP, on both backends, to the letter of the spec.

use crate::common;

use std::collections::HashSet;

use std::sync::Arc;

use callscope_server::application::Application;
use callscope_server::auth::{KeyMode, create_key};
use callscope_server::clock::{Clock, ManualClock, SharedClock, SystemClock, UnixTime};
use callscope_server::ids::{AccountId, AgentRowId};
use callscope_server::live::{LiveCall, LiveStore};
use callscope_server::storage::{NewCall, NewDelivery, Store};
use callscope_shared::{CallId, CallStatus, Disposition, EndedReason, Money, Timestamp};
use common::{TestDb, TestServer, fixtures};
use reqwest::StatusCode;
use serde_json::Value;

const JAN_15: i64 = 1_768_435_200; // 2026-01-15T00:00:00Z

struct World {
    server: TestServer,
    key: String,
    other_key: String,
    acme: AccountId,
    agents: Vec<(AgentRowId, String)>,
    ids: Vec<CallId>,
}

/// Two agents; calls with varied status/disposition over several days (some sharing a
/// start second, to exercise the keyset's tie-break); one call in another account.
async fn world(db: &TestDb, live: LiveStore) -> World {
    world_on(db, live, Arc::new(SystemClock)).await
}

/// The world, its server reading time from `clock`.
async fn world_on(db: &TestDb, live: LiveStore, clock: SharedClock) -> World {
    let store = &db.store;
    let key = create_key(store, "acme", KeyMode::Live, UnixTime(1))
        .await
        .unwrap();
    let other_key = create_key(store, "globex", KeyMode::Live, UnixTime(1))
        .await
        .unwrap();
    let acme = store.account_id("acme").await.unwrap().unwrap();
    let globex = store.account_id("globex").await.unwrap().unwrap();
    let a1 = fixtures::agent(store, acme, 0x28c5_1f81).await;
    let a2 = fixtures::agent(store, acme, 0x0000_00aa).await;
    let g1 = fixtures::agent(store, globex, 0x0000_00bb).await;
    let mut ids = Vec::new();
    for i in 0..23i64 {
        let agent = if i % 3 == 0 { a2.id } else { a1.id };
        // Pairs of calls share a start second.
        let started = JAN_15 + (i / 2) * 40_000;
        ids.push(fixtures::store_call(store, &varied_call(acme, agent, started, i)).await);
    }
    fixtures::store_call(store, &fixtures::completed_call(globex, g1.id, JAN_15, 2)).await;
    let app = Application::builder(common::config())
        .store(store.clone())
        .live(live)
        .clock(clock);
    let server = TestServer::start_app(app).await;
    World {
        server,
        key: key.reveal().to_owned(),
        other_key: other_key.reveal().to_owned(),
        acme,
        agents: vec![
            (a1.id, a1.public_id.to_string()),
            (a2.id, a2.public_id.to_string()),
        ],
        ids,
    }
}

fn varied_call(account: AccountId, agent: AgentRowId, started_at: i64, i: i64) -> NewCall {
    let mut call = fixtures::completed_call(account, agent, started_at, 4);
    call.total_cost = Money::from_units(5300 + i * 17);
    call.duration_seconds = 100 + i;
    match i % 5 {
        1 => {
            call.status = CallStatus::Failed;
            call.disposition = Some(Disposition::Failed);
            call.ended_reason = Some(EndedReason::Error);
            call.transcript.clear();
            call.latency.clear();
        }
        2 => {
            call.status = CallStatus::NoAnswer;
            call.disposition = Some(Disposition::NoAnswer);
            call.ended_reason = Some(EndedReason::Timeout);
            call.transcript.clear();
            call.latency.clear();
        }
        3 => {
            call.disposition = Some(Disposition::Transferred);
            call.ended_reason = Some(EndedReason::Transfer);
            call.transferred_to = Some("+31850099999".into());
        }
        _ => {}
    }
    call
}

async fn json(r: reqwest::Response) -> (StatusCode, Value) {
    (r.status(), r.json().await.unwrap())
}

async fn error(w: &World, path: &str) -> (StatusCode, String) {
    let (status, body) = json(w.server.get(path, &w.key).await).await;
    (
        status,
        body["error"].as_str().unwrap_or_default().to_owned(),
    )
}

fn ids_of(body: &Value) -> Vec<String> {
    body["calls"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["call_id"].as_str().unwrap().to_owned())
        .collect()
}

both_backends!(
    list_is_newest_first_without_heavy_fields,
    |db: TestDb| async move {
        let w = world(&db, LiveStore::in_process()).await;
        let (status, body) = json(w.server.get("/v1/calls", &w.key).await).await;
        assert_eq!(status, StatusCode::OK);
        let calls = body["calls"].as_array().unwrap();
        assert_eq!(
            calls.len(),
            23,
            "default limit 50 covers all; other account's call excluded"
        );
        assert_eq!(body["has_more"], false);
        assert!(body["next_cursor"].is_null());
        let starts: Vec<&str> = calls
            .iter()
            .map(|c| c["started_at"].as_str().unwrap())
            .collect();
        assert!(starts.windows(2).all(|p| p[0] >= p[1]), "newest first");
        assert_eq!(calls[0]["call_id"], w.ids[22].to_string());
        for c in calls {
            assert!(c.get("transcript").is_none() && c.get("latency_data").is_none());
            for field in [
                "agent_id",
                "from_number",
                "status",
                "disposition",
                "total_cost",
                "metadata",
                "ended_at",
            ] {
                assert!(c.get(field).is_some(), "{field}");
            }
        }
    }
);

both_backends!(
    walking_pages_yields_each_call_once_even_while_calls_arrive,
    |db: TestDb| async move {
        let w = world(&db, LiveStore::in_process()).await;
        let mut seen = Vec::new();
        let mut path = "/v1/calls?limit=5".to_owned();
        let mut pages = 0;
        loop {
            let (status, body) = json(w.server.get(&path, &w.key).await).await;
            assert_eq!(status, StatusCode::OK, "{body}");
            seen.extend(ids_of(&body));
            pages += 1;
            // New calls arrive mid-walk, newer than everything and at an already-seen second.
            let agent = w.agents[0].0;
            fixtures::store_call(
                &db.store,
                &fixtures::completed_call(w.acme, agent, JAN_15 + 10_000_000 + pages, 2),
            )
            .await;
            fixtures::store_call(
                &db.store,
                &fixtures::completed_call(w.acme, agent, JAN_15, 2),
            )
            .await;
            if body["has_more"] == false {
                assert!(body["next_cursor"].is_null());
                break;
            }
            path = format!(
                "/v1/calls?limit=5&after={}",
                body["next_cursor"].as_str().unwrap()
            );
        }
        let unique: HashSet<&String> = seen.iter().collect();
        assert_eq!(unique.len(), seen.len(), "no duplicates: {seen:?}");
        for id in &w.ids {
            assert!(seen.contains(&id.to_string()), "{id} skipped");
        }
        // Calls that arrived at an old second behind the cursor are seen too; that is fine.
        assert!(pages >= 5, "{pages}");
    }
);

both_backends!(filters_narrow_the_list, |db: TestDb| async move {
    let w = world(&db, LiveStore::in_process()).await;
    let count = |body: &Value| body["calls"].as_array().unwrap().len();

    let (_, by_public) = json(
        w.server
            .get(&format!("/v1/calls?agent_id={}", w.agents[1].1), &w.key)
            .await,
    )
    .await;
    let (_, by_numeric) = json(
        w.server
            .get(&format!("/v1/calls?agent_id={}", w.agents[1].0), &w.key)
            .await,
    )
    .await;
    assert_eq!(count(&by_public), 8);
    assert_eq!(ids_of(&by_public), ids_of(&by_numeric));
    assert!(
        by_public["calls"]
            .as_array()
            .unwrap()
            .iter()
            .all(|c| c["agent_id"] == w.agents[1].1.as_str())
    );

    let (_, unknown_agent) = json(
        w.server
            .get("/v1/calls?agent_id=agent_ffffffff", &w.key)
            .await,
    )
    .await;
    assert_eq!(count(&unknown_agent), 0);

    let (_, failed) = json(w.server.get("/v1/calls?status=failed", &w.key).await).await;
    assert_eq!(count(&failed), 5);
    assert!(
        failed["calls"]
            .as_array()
            .unwrap()
            .iter()
            .all(|c| c["status"] == "failed")
    );
    let (_, transferred) = json(
        w.server
            .get("/v1/calls?disposition=transferred&status=completed", &w.key)
            .await,
    )
    .await;
    assert_eq!(count(&transferred), 4);

    // Dates are inclusive UTC days of started_at: Jan 15 holds calls 0..=5 (+0, +40,000, +80,000 s).
    let (_, day) = json(
        w.server
            .get("/v1/calls?from_date=2026-01-15&to_date=2026-01-15", &w.key)
            .await,
    )
    .await;
    assert_eq!(count(&day), 6);
    let (_, from) = json(w.server.get("/v1/calls?from_date=2026-01-20", &w.key).await).await;
    let (_, to) = json(w.server.get("/v1/calls?to_date=2026-01-19", &w.key).await).await;
    assert_eq!(count(&from) + count(&to), 23);
});

backend_independent!(
    bad_list_parameters_are_400_naming_the_parameter,
    |db: TestDb| async move {
        let w = world(&db, LiveStore::in_process()).await;
        let limit = "limit must be an integer between 1 and 100";
        for q in ["limit=0", "limit=101", "limit=abc", "limit="] {
            assert_eq!(
                error(&w, &format!("/v1/calls?{q}")).await,
                (StatusCode::BAD_REQUEST, limit.into()),
                "{q}"
            );
        }
        let (s, m) = error(&w, "/v1/calls?status=done").await;
        assert_eq!(s, StatusCode::BAD_REQUEST);
        assert_eq!(
            m,
            "status must be one of: ringing, in-progress, completed, failed, busy, no-answer, canceled, rejected"
        );
        let (s, m) = error(&w, "/v1/calls?disposition=hung-up").await;
        assert_eq!(
            (
                s,
                m.starts_with("disposition must be one of: answered, no-answer, transferred")
            ),
            (StatusCode::BAD_REQUEST, true)
        );
        for q in [
            "from_date=2026-02-30",
            "from_date=2026-1-5",
            "from_date=yesterday",
        ] {
            let (s, m) = error(&w, &format!("/v1/calls?{q}")).await;
            assert_eq!(
                (s, m.as_str()),
                (
                    StatusCode::BAD_REQUEST,
                    "from_date must be a valid date in YYYY-MM-DD format"
                )
            );
        }
        let (s, m) = error(&w, "/v1/calls?to_date=2026-00-10").await;
        assert_eq!(
            (s, m.as_str()),
            (
                StatusCode::BAD_REQUEST,
                "to_date must be a valid date in YYYY-MM-DD format"
            )
        );
        let (s, m) = error(&w, "/v1/calls?from_date=2026-02-01&to_date=2026-01-01").await;
        assert_eq!(
            (s, m.as_str()),
            (
                StatusCode::BAD_REQUEST,
                "from_date must not be after to_date"
            )
        );
        let (s, m) = error(&w, "/v1/calls?agent_id=bob").await;
        assert_eq!(s, StatusCode::BAD_REQUEST);
        assert!(m.starts_with("agent_id must be"), "{m}");
        let (s, m) = error(&w, "/v1/calls?sort=asc").await;
        assert_eq!(s, StatusCode::BAD_REQUEST);
        assert!(m.starts_with("Unknown query parameter: sort"), "{m}");

        // Cursors: garbage, edited and another account's are all refused.
        let cursor_error = "after must be a next_cursor value returned by this endpoint";
        let (_, page) = json(w.server.get("/v1/calls?limit=2", &w.key).await).await;
        let good = page["next_cursor"].as_str().unwrap().to_owned();
        let mut edited = good.clone().into_bytes();
        edited[5] = if edited[5] == b'A' { b'B' } else { b'A' };
        let edited = String::from_utf8(edited).unwrap();
        for bad in ["x", "%00%01", edited.as_str(), &"A".repeat(500)] {
            assert_eq!(
                error(&w, &format!("/v1/calls?after={bad}")).await,
                (StatusCode::BAD_REQUEST, cursor_error.into())
            );
        }
        let r = w
            .server
            .get(&format!("/v1/calls?after={good}"), &w.other_key)
            .await;
        assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    }
);

both_backends!(summary_totals_add_up_exactly, |db: TestDb| async move {
    let w = world(&db, LiveStore::in_process()).await;
    let (status, s) = json(
        w.server
            .get(
                "/v1/calls/summary?from_date=2026-01-01&to_date=2026-01-31",
                &w.key,
            )
            .await,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{s}");
    assert_eq!(s["total_calls"], 23);
    assert_eq!(s["failed_calls"], 5);
    assert_eq!(s["completed_calls"], 23 - 5 - 5);
    assert_eq!(s["answered_calls"], 23 - 5 - 5 - 4);
    assert_eq!(s["no_answer_calls"], 5);
    assert_eq!(
        s["total_duration_seconds"],
        (0..23).map(|i| 100 + i).sum::<i64>()
    );
    assert_eq!(
        s["total_minutes_used"].as_f64().unwrap(),
        48.76,
        "23 × 2.12, exactly"
    );
    // Σ (0.5300 + i × 0.0017) for i < 23 = 12.6201 → 12.62
    assert_eq!(s["total_cost"].as_f64().unwrap(), 12.62);
    assert_eq!(s["total_recording_cost"].as_f64().unwrap(), 0.0);
    assert_eq!(
        s["filters"],
        serde_json::json!({"from_date": "2026-01-01", "to_date": "2026-01-31"})
    );

    let (_, by_agent) = json(
        w.server
            .get(
                &format!("/v1/calls/summary?agent_id={}", w.agents[1].0),
                &w.key,
            )
            .await,
    )
    .await;
    assert_eq!(by_agent["total_calls"], 8);
    assert_eq!(
        by_agent["filters"],
        serde_json::json!({"agent_id": w.agents[1].0.get()})
    );
    let (_, none) = json(
        w.server
            .get(
                "/v1/calls/summary?from_date=2025-01-01&to_date=2025-12-31",
                &w.key,
            )
            .await,
    )
    .await;
    assert_eq!(none["total_calls"], 0);
    assert_eq!(none["total_cost"].as_f64().unwrap(), 0.0);

    let (s, m) = error(&w, &format!("/v1/calls/summary?agent_id={}", w.agents[1].1)).await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    assert!(
        m.contains("agent_* public IDs are not supported here"),
        "{m}"
    );
    let (s, _) = error(&w, "/v1/calls/summary?from_date=2026-01-32").await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    let (_, other) = json(w.server.get("/v1/calls/summary", &w.other_key).await).await;
    assert_eq!(other["total_calls"], 1, "scoped to the key's account");
});

both_backends!(
    detail_has_transcript_and_latency_and_hides_other_accounts,
    |db: TestDb| async move {
        let w = world(&db, LiveStore::in_process()).await;
        let id = w.ids[0];
        let (status, call) = json(w.server.get(&format!("/v1/calls/{id}"), &w.key).await).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(call["call_id"], id.to_string());
        assert_eq!(call["transcript"].as_array().unwrap().len(), 4);
        assert_eq!(call["transcript"][1]["timestamp"], 2.4);
        assert_eq!(call["latency_data"]["turns"][0]["llm_ttfb_ms"], 200);
        assert_eq!(call["total_cost"], 0.53);

        let not_found = (StatusCode::NOT_FOUND, "Call not found".to_owned());
        for path in [
            format!("/v1/calls/{id}/webhooks"),
            format!("/v1/calls/{id}/status"),
            format!("/v1/calls/{id}"),
        ] {
            let (s, body) = json(w.server.get(&path, &w.other_key).await).await;
            assert_eq!(
                (s, body["error"].as_str().unwrap().to_owned()),
                not_found,
                "{path}"
            );
        }
        for bad in ["call_99999999", "call_1", "12", "call_00000000"] {
            assert_eq!(
                error(&w, &format!("/v1/calls/{bad}")).await,
                not_found,
                "{bad}"
            );
        }
    }
);

async fn status_follows_live_state(db: TestDb, live: LiveStore) {
    let clock = ManualClock::new(UnixTime(JAN_15 + 200 * 86_400));
    let w = world_on(&db, live.clone(), Arc::new(clock.clone())).await;
    let (_, done) = json(
        w.server
            .get(&format!("/v1/calls/{}/status", w.ids[0]), &w.key)
            .await,
    )
    .await;
    assert_eq!(
        done,
        serde_json::json!({"call_id": w.ids[0].to_string(), "status": "completed", "duration_seconds": 100,
            "started_at": "2026-01-15T00:00:00Z", "ended_at": "2026-01-15T00:02:07Z"})
    );

    let started = clock.now().secs() - 42;
    let mut call = fixtures::completed_call(w.acme, w.agents[0].0, started, 0);
    call.status = CallStatus::Ringing;
    call.disposition = None;
    call.ended_reason = None;
    call.ended_at = None;
    call.duration_seconds = 0;
    let id = fixtures::store_call(&db.store, &call).await;
    let started_at = Timestamp::from_unix(started).unwrap();
    live.put(
        id,
        &LiveCall {
            account_id: w.acme.get(),
            status: CallStatus::InProgress,
            started_at,
            answered_at: Some(started_at),
            call_control_id: None,
            end_requested: false,
        },
    )
    .await
    .unwrap();

    let (status, view) = json(
        w.server
            .get(&format!("/v1/calls/{id}/status"), &w.key)
            .await,
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        view["status"], "in-progress",
        "live state wins over the stored ringing"
    );
    let duration = view["duration_seconds"].as_i64().unwrap();
    assert!((42..=45).contains(&duration), "{duration}");
    assert_eq!(duration, 42, "measured on the application's clock");
    assert!(view["ended_at"].is_null());
    clock.advance(18);
    let (_, later) = json(
        w.server
            .get(&format!("/v1/calls/{id}/status"), &w.key)
            .await,
    )
    .await;
    assert_eq!(later["duration_seconds"], 60);

    live.remove(id).await.unwrap();
    let (_, view) = json(
        w.server
            .get(&format!("/v1/calls/{id}/status"), &w.key)
            .await,
    )
    .await;
    assert_eq!(
        view["status"], "ringing",
        "without live state the record stands"
    );
}

#[tokio::test]
async fn status_reads_in_process_live_state() {
    status_follows_live_state(TestDb::sqlite().await, LiveStore::in_process()).await;
}

#[tokio::test]
async fn status_reads_redis_live_state_on_postgres() {
    let live = common::redis_live(&common::redis_prefix()).await;
    status_follows_live_state(TestDb::postgres().await, live).await;
}

both_backends!(
    webhook_history_is_ordered_by_time_then_attempt,
    |db: TestDb| async move {
        let w = world(&db, LiveStore::in_process()).await;
        let id = w.ids[0];
        let d = |created_at: i64, attempt: u32, event: &str, code: Option<u16>| NewDelivery {
            account_id: w.acme,
            call_id: Some(id),
            event: event.into(),
            event_id: format!("evt-{event}"),
            url: "https://your-server.example.com/webhook".into(),
            attempt,
            status_code: code,
            success: code == Some(200),
            error: match code {
                Some(200) => None,
                Some(c) => Some(format!("HTTP {c}")),
                None => Some("timeout".into()),
            },
            created_at: UnixTime(created_at),
        };
        let store: &Store = &db.store;
        store
            .insert_delivery(&d(JAN_15 + 129, 2, "call.ended", Some(200)))
            .await
            .unwrap();
        store
            .insert_delivery(&d(JAN_15 + 1, 1, "call.started", Some(200)))
            .await
            .unwrap();
        store
            .insert_delivery(&d(JAN_15 + 129, 1, "call.ended", Some(503)))
            .await
            .unwrap();
        let (status, body) = json(
            w.server
                .get(&format!("/v1/calls/{id}/webhooks"), &w.key)
                .await,
        )
        .await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(body["call_id"], id.to_string());
        let deliveries = body["deliveries"].as_array().unwrap();
        let order: Vec<(&str, i64)> = deliveries
            .iter()
            .map(|d| (d["event"].as_str().unwrap(), d["attempt"].as_i64().unwrap()))
            .collect();
        assert_eq!(
            order,
            vec![("call.started", 1), ("call.ended", 1), ("call.ended", 2)]
        );
        assert_eq!(deliveries[1]["status_code"], 503);
        assert_eq!(deliveries[1]["success"], false);
        assert_eq!(deliveries[1]["error"], "HTTP 503");
        assert!(deliveries[0]["error"].is_null());
        let (_, empty) = json(
            w.server
                .get(&format!("/v1/calls/{}/webhooks", w.ids[1]), &w.key)
                .await,
        )
        .await;
        assert_eq!(empty["deliveries"], serde_json::json!([]));
    }
);
