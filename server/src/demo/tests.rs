//! Properties of whole plans (no database), and one run of the real generator on SQLite.

use std::collections::HashSet;

use callscope_shared::{
    CallStatus, Disposition, E164, EndedReason, LatencyTurn, Role, SlowestTurn,
};
use time::macros::date;

use super::latency::SLOW_MS;
use super::{ACCOUNT, Plan, PlannedCall, Window, plan_calls, populate};
use crate::billing::{self, charge, minutes};
use crate::storage::Store;

fn window() -> Window {
    Window::ending_on(date!(2026 - 01 - 31), 60).unwrap()
}

fn calls(seed: u64, n: usize) -> Vec<PlannedCall> {
    plan_calls(seed, n, window())
}

#[test]
fn same_seed_same_plan_and_another_seed_another() {
    let a = Plan::new(7, 120, window());
    let b = Plan::new(7, 120, window());
    assert_eq!(a.agents, b.agents);
    assert_eq!(a.calls().collect::<Vec<_>>(), b.calls().collect::<Vec<_>>());
    let c = Plan::new(8, 120, window());
    assert_ne!(a.agents, c.agents);
    assert_ne!(a.calls().collect::<Vec<_>>(), c.calls().collect::<Vec<_>>());
}

#[test]
fn every_final_status_disposition_and_reason_appears() {
    let finals: HashSet<CallStatus> = CallStatus::ALL
        .iter()
        .copied()
        .filter(|s| !s.is_live())
        .collect();
    assert_eq!(finals.len(), CallStatus::ALL.len() - 2);
    for n in [30, 200] {
        let plan = calls(42, n);
        let statuses: HashSet<CallStatus> = plan.iter().map(|c| c.call.status).collect();
        let dispositions: HashSet<Disposition> =
            plan.iter().filter_map(|c| c.call.disposition).collect();
        let reasons: HashSet<EndedReason> =
            plan.iter().filter_map(|c| c.call.ended_reason).collect();
        assert_eq!(statuses, finals, "n={n}");
        assert_eq!(dispositions.len(), Disposition::ALL.len(), "n={n}");
        assert_eq!(reasons.len(), EndedReason::ALL.len(), "n={n}");
    }
}

#[test]
fn most_calls_are_completed_and_answered() {
    let plan = calls(3, 1_000);
    let answered = plan
        .iter()
        .filter(|c| c.call.disposition == Some(Disposition::Answered))
        .count();
    assert!((700..850).contains(&answered), "{answered}");
}

#[test]
fn costs_add_up_exactly() {
    for c in calls(5, 500).iter().map(|p| &p.call) {
        assert_eq!(c.minutes_used, minutes(c.duration_seconds), "{c:?}");
        let usage = charge(c.minutes_used, c.rate_per_minute);
        let total = usage.units() + c.recording_cost.units() + c.transfer_cost.units()
            - c.llm_discount.units();
        assert_eq!(c.total_cost.units(), total, "{c:?}");
        let recording = if c.recording_enabled {
            billing::recording_cost(c.minutes_used, c.recording_rate_per_minute)
        } else {
            Default::default()
        };
        assert_eq!(c.recording_cost, recording);
        assert!(!c.has_recording || c.recording_enabled);
        assert_eq!(
            c.transfer_cost,
            billing::transfer_cost(c.transfer_duration_seconds)
        );
        assert!(c.llm_discount <= usage && c.call_cost <= usage);
    }
}

#[test]
fn answered_calls_have_timed_transcripts_and_latency() {
    for c in calls(6, 300).iter().map(|p| &p.call) {
        let with_talk = c.status == CallStatus::Completed;
        assert_eq!(!c.transcript.is_empty(), with_talk, "{c:?}");
        if c.disposition == Some(Disposition::Answered) {
            assert!(
                (2..=40).contains(&c.transcript.len()),
                "{}",
                c.transcript.len()
            );
        }
        assert!(
            c.transcript
                .windows(2)
                .all(|w| w[0].offset_ms < w[1].offset_ms)
        );
        for (i, e) in c.transcript.iter().enumerate() {
            let role = if i % 2 == 0 {
                Role::Assistant
            } else {
                Role::User
            };
            assert_eq!(e.role, role);
            assert!(e.offset_ms <= c.duration_seconds * 1_000);
            assert!(e.role == Role::Assistant || e.tool_calls.is_empty());
        }
        let assistant: Vec<i64> = c
            .transcript
            .iter()
            .filter(|e| e.role == Role::Assistant)
            .map(|e| e.offset_ms)
            .collect();
        let turns: Vec<(i64, i64)> = c.latency.iter().map(|t| (t.turn, t.offset_ms)).collect();
        let expected: Vec<(i64, i64)> = (1..).zip(assistant).collect();
        assert_eq!(turns, expected);
    }
}

#[test]
fn latency_outliers_exist() {
    let plan = calls(7, 500);
    let turns: Vec<_> = plan.iter().flat_map(|p| &p.call.latency).collect();
    let slow = turns
        .iter()
        .filter(|t| t.llm_ttfb_ms >= SLOW_MS || t.tts_ttfb_ms >= SLOW_MS)
        .count();
    assert!(
        slow > 0 && slow * 100 < turns.len() * 6,
        "{slow} of {}",
        turns.len()
    );
}

#[test]
fn every_call_has_ended_within_the_window() {
    let w = window();
    for seed in [8, 42] {
        for c in calls(seed, 200).iter().map(|p| &p.call) {
            // No call is left ringing or in progress (live calls come from the simulator).
            assert!(!c.status.is_live(), "{c:?}");
            assert!(c.disposition.is_some() && c.ended_reason.is_some(), "{c:?}");
            let ended = c.ended_at.expect("ended calls have ended_at").secs();
            assert!(w.start <= c.started_at.secs() && ended < w.end, "{c:?}");
            if c.status == CallStatus::Completed {
                assert_eq!(ended - c.started_at.secs(), c.duration_seconds);
            }
        }
    }
}

#[test]
fn calls_are_in_time_order_with_valid_numbers() {
    let plan = calls(9, 300);
    assert!(
        plan.windows(2)
            .all(|w| w[0].call.started_at <= w[1].call.started_at)
    );
    for c in plan.iter().map(|p| &p.call) {
        assert!(c.from_number.parse::<E164>().is_ok() && c.to_number.parse::<E164>().is_ok());
        if c.disposition == Some(Disposition::Transferred) {
            assert!(
                c.transferred_to
                    .as_deref()
                    .is_some_and(|t| t.parse::<E164>().is_ok())
            );
            assert!(c.transfer_duration_seconds > 0 && c.transfer_cost.units() > 0);
            assert_eq!(c.ended_reason, Some(EndedReason::Transfer));
        }
        if c.status == CallStatus::Completed {
            assert!(c.metadata.as_object().is_some_and(|m| !m.is_empty()));
        } else {
            assert_eq!(c.metadata, serde_json::json!({}));
        }
    }
}

#[test]
fn deliveries_follow_their_calls() {
    let plan = calls(10, 300);
    let with = plan.iter().filter(|p| !p.deliveries.is_empty()).count();
    assert!(with * 10 > plan.len() * 8, "{with}");
    for p in &plan {
        if let Some(first) = p.deliveries.first() {
            assert_eq!(
                (first.event, first.created_at),
                ("call.started", p.call.started_at.secs() + 1)
            );
        }
        if let (Some(ended), false) = (p.call.ended_at, p.deliveries.is_empty()) {
            assert!(p.deliveries.iter().any(|d| d.event == "call.ended"
                && d.attempt == 1
                && d.created_at == ended.secs() + 2));
        }
    }
    let retried = plan
        .iter()
        .flat_map(|p| &p.deliveries)
        .filter(|d| d.attempt > 1)
        .count();
    assert!(retried > 0);
}

/// A unique scratch directory, removed on drop.
struct Scratch(std::path::PathBuf);

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

#[tokio::test]
async fn the_generator_fills_a_real_database() {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    let dir = Scratch(
        std::env::temp_dir().join(format!("callscope_demo_{}_{nanos}", std::process::id())),
    );
    std::fs::create_dir_all(&dir.0).unwrap();
    let url = format!("sqlite://{}/db.sqlite", dir.0.display());
    let store = Store::connect(&url, 4).await.unwrap();
    store.migrate().await.unwrap();

    let first = populate(&store, 42, 60, window(), true).await.unwrap();
    assert_eq!((first.created, first.calls), (60, 60));
    assert_eq!(store.count_calls(first.account_id).await.unwrap(), 60);
    assert_eq!(
        store.account_id(ACCOUNT).await.unwrap(),
        Some(first.account_id)
    );
    assert_eq!(store.agents(first.account_id).await.unwrap().len(), 3);
    // Only finished calls are written.
    for status in [CallStatus::Ringing, CallStatus::InProgress] {
        let filter = crate::storage::CallFilter {
            status: Some(status),
            ..crate::storage::CallFilter::default()
        };
        let (live, _) = store
            .list_calls(first.account_id, &filter, None, 100)
            .await
            .unwrap();
        assert!(live.is_empty(), "{status:?}: {}", live.len());
    }
    let (all, _) = store
        .list_calls(
            first.account_id,
            &crate::storage::CallFilter::default(),
            None,
            100,
        )
        .await
        .unwrap();
    assert_eq!(all.len(), 60);
    assert!(
        all.iter()
            .all(|c| c.ended_at.is_some() && !c.status.is_live())
    );

    let id = first.debug_call_id.expect("a call worth opening");
    let call = store.get_call(first.account_id, id).await.unwrap().unwrap();
    assert_eq!(call.status, CallStatus::Completed);
    assert!(call.transcript.as_ref().is_some_and(|t| t.len() >= 10));
    assert!(
        call.latency_data
            .as_ref()
            .is_some_and(|l| !l.turns.is_empty())
    );
    // The view's slowest turn is the assistant entry of the stored latency turn with the
    // longest time to first audio (the earliest on a tie).
    let latency = &call.latency_data.as_ref().unwrap().turns;
    let longest = latency
        .iter()
        .map(LatencyTurn::time_to_first_audio_ms)
        .max()
        .unwrap();
    let first_longest = latency
        .iter()
        .filter(|t| t.time_to_first_audio_ms() == longest)
        .map(|t| t.turn)
        .min()
        .unwrap();
    let assistant_entries: Vec<usize> = call
        .transcript
        .as_ref()
        .unwrap()
        .iter()
        .enumerate()
        .filter(|(_, e)| e.role == Role::Assistant)
        .map(|(i, _)| i)
        .collect();
    let view = crate::debug_link::view::public_view(&call, &[], &[]);
    assert_eq!(
        view.latency.slowest_turn,
        Some(SlowestTurn {
            index: assistant_entries[first_longest as usize - 1] as u32,
            total_ms: longest
        })
    );

    // --if-empty on a filled account writes nothing but still finds a call and a new key.
    let second = populate(&store, 42, 60, window(), true).await.unwrap();
    assert_eq!((second.created, second.calls), (0, 60));
    assert!(second.debug_call_id.is_some());
    assert_ne!(second.api_key, first.api_key);
    store.close().await;
}
