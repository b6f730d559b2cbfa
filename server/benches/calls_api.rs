//! The Calls read API's storage queries at scale: list page 1 against a page 10,000 pages
//! deep, the summary over 30 and 365 days, and the detail of a 200-turn call.
//!
//! Needs a prepared database in `CALLSCOPE_BENCH_DATABASE_URL` holding the demo account
//! (`scripts/bench.sh` fills one with 1,000,000 demo calls over 365 days on each backend).
//! Without it the bench prints why and measures nothing. `CALLSCOPE_BENCH_DEEP_PAGES`
//! (default 10,000) sets how deep the deep page is, for smaller databases.

use std::time::Duration;

use callscope_server::clock::{self, UnixTime};
use callscope_server::ids::{AccountId, AgentRowId};
use callscope_server::storage::{
    CallFilter, NewCall, NewLatencyTurn, NewTranscriptEntry, Position, Store,
};
use callscope_server::webhooks::events::for_new_call;
use callscope_shared::{CallId, Minutes, Money, Role};
use criterion::{Criterion, criterion_group, criterion_main};

const DAY: i64 = 86_400;

struct Fixture {
    pages: usize,
    store: Store,
    account: AccountId,
    deep: Position,
    newest: i64,
    long_call: CallId,
}

/// A completed call with `turns` transcript entries, each assistant entry with latency.
fn long_call(
    account_id: AccountId,
    agent_id: AgentRowId,
    started_at: UnixTime,
    turns: usize,
) -> NewCall {
    let transcript: Vec<NewTranscriptEntry> = (0..turns)
        .map(|i| NewTranscriptEntry {
            role: if i % 2 == 0 {
                Role::Assistant
            } else {
                Role::User
            },
            content: format!("Turn {i}: a sentence of ordinary length about the caller's claim."),
            offset_ms: i as i64 * 3_000,
            tool_calls: Vec::new(),
        })
        .collect();
    let latency = (0..turns.div_ceil(2))
        .map(|n| NewLatencyTurn {
            turn: n as i64 + 1,
            offset_ms: n as i64 * 6_000,
            llm_ttfb_ms: 300,
            tts_start_ms: 420,
            tts_ttfb_ms: 110,
        })
        .collect();
    let duration = turns as i64 * 3;
    NewCall {
        minutes_used: Minutes::from_units(turns as i64 * 5),
        rate_per_minute: Money::from_units(2_500),
        total_cost: Money::from_units(turns as i64 * 125),
        call_cost: Money::from_units(turns as i64 * 100),
        ..NewCall::completed(
            account_id, agent_id, started_at, duration, transcript, latency,
        )
    }
}

async fn fixture(url: &str) -> Fixture {
    let store = Store::connect(url, 4).await.expect("connect");
    store.migrate().await.expect("migrate");
    let account = store
        .account_id("Demo")
        .await
        .expect("query")
        .expect("the Demo account (run scripts/bench.sh)");
    let filter = CallFilter::default();
    let (first, _) = store
        .list_calls(account, &filter, None, 1)
        .await
        .expect("list");
    let newest = first[0].started_at.unix();
    // Walk the pages of 50 to reach the deep position, as a client would.
    let pages = std::env::var("CALLSCOPE_BENCH_DEEP_PAGES")
        .ok()
        .and_then(|p| p.parse().ok())
        .unwrap_or(10_000);
    let mut at: Option<Position> = None;
    for _ in 0..pages {
        let (page, more) = store
            .list_calls(account, &filter, at, 50)
            .await
            .expect("page");
        let last = page.last().expect("enough calls for the deep page");
        at = Some(Position {
            started_at: last.started_at.unix(),
            id: last.call_id.get(),
        });
        assert!(more, "too few calls for the deep page");
    }
    // One 200-turn call (added once; later runs find it by its marker start time).
    let agent = store.agents(account).await.expect("agents")[0].id;
    let marker_start = UnixTime(1_000_000_000);
    let long_call = match store
        .list_calls(
            account,
            &CallFilter {
                from: Some(marker_start),
                to: Some(marker_start.plus(1)),
                ..filter.clone()
            },
            None,
            1,
        )
        .await
        .expect("find long call")
        .0
        .first()
    {
        Some(call) => call.call_id,
        None => store
            .insert_call(
                &long_call(account, agent, marker_start, 200),
                clock::now(),
                for_new_call,
            )
            .await
            .expect("insert long call"),
    };
    Fixture {
        pages,
        store,
        account,
        deep: at.expect("deep position"),
        newest,
        long_call,
    }
}

fn bench(c: &mut Criterion) {
    let Ok(url) = std::env::var("CALLSCOPE_BENCH_DATABASE_URL") else {
        eprintln!("CALLSCOPE_BENCH_DATABASE_URL is not set: run scripts/bench.sh");
        return;
    };
    let backend = if url.starts_with("postgres") {
        "postgres"
    } else {
        "sqlite"
    };
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    let f = rt.block_on(fixture(&url));
    let filter = CallFilter::default();
    let mut group = c.benchmark_group(backend);
    group
        .measurement_time(Duration::from_secs(5))
        .sample_size(50);

    group.bench_function("list page 1 (limit 50)", |b| {
        b.to_async(&rt).iter(|| async {
            f.store
                .list_calls(f.account, &filter, None, 50)
                .await
                .unwrap()
        })
    });
    group.bench_function(format!("list page {} (limit 50)", f.pages + 1), |b| {
        b.to_async(&rt).iter(|| async {
            f.store
                .list_calls(f.account, &filter, Some(f.deep), 50)
                .await
                .unwrap()
        })
    });
    let day_end = (f.newest / DAY + 1) * DAY;
    for days in [30, 365] {
        group.bench_function(format!("summary over {days} days"), |b| {
            b.to_async(&rt).iter(|| async {
                f.store
                    .summary(
                        f.account,
                        None,
                        Some(UnixTime(day_end - days * DAY)),
                        Some(UnixTime(day_end)),
                    )
                    .await
                    .unwrap()
            })
        });
    }
    group.bench_function("detail of a 200-turn call", |b| {
        b.to_async(&rt).iter(|| async {
            f.store
                .get_call(f.account, f.long_call)
                .await
                .unwrap()
                .unwrap()
        })
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
