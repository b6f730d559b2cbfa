//! Webhook delivery history for a demo call: events sent to the customer's endpoint, some
//! failing first and retried (attempt 2 after 5 s, attempt 3 after 5 min).

use super::random::{DemoRng, chance, pick, uuid, weighted};

/// Where the demo customer receives webhooks.
pub const WEBHOOK_URL: &str = "https://hooks.demo-customer.example/callscope";
/// Share of events whose first attempt fails.
const FIRST_FAILS: f64 = 0.10;
/// Delay of attempts 2 and 3 after the first.
const RETRY_AFTER: [i64; 2] = [5, 300];

/// One delivery attempt to record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlannedDelivery {
    pub event: &'static str,
    pub event_id: String,
    pub attempt: u32,
    pub status_code: Option<u16>,
    pub success: bool,
    pub error: Option<&'static str>,
    pub created_at: i64,
}

/// How a failing attempt failed.
const FAILURES: [((Option<u16>, &str), u32); 4] = [
    ((Some(503), "HTTP 503"), 40),
    ((Some(500), "HTTP 500"), 25),
    ((None, "timeout"), 20),
    ((None, "connection refused"), 15),
];

/// Every attempt at delivering `event` first tried at `at`, in attempt order.
pub fn attempts(rng: &mut DemoRng, event: &'static str, at: i64) -> Vec<PlannedDelivery> {
    let event_id = uuid(rng);
    let mut out = Vec::new();
    let mut fails = chance(rng, FIRST_FAILS);
    for attempt in 1..=3u32 {
        let created_at = at
            + if attempt == 1 {
                0
            } else {
                RETRY_AFTER[attempt as usize - 2]
            };
        if !fails {
            out.push(PlannedDelivery {
                event,
                event_id,
                attempt,
                status_code: Some(pick(rng, &[200, 200, 200, 204])),
                success: true,
                error: None,
                created_at,
            });
            return out;
        }
        let (status_code, error) = weighted(rng, &FAILURES);
        out.push(PlannedDelivery {
            event,
            event_id: event_id.clone(),
            attempt,
            status_code,
            success: false,
            error: Some(error),
            created_at,
        });
        // A retry succeeds two times in three.
        fails = chance(rng, 1.0 / 3.0);
    }
    out
}

/// A call's events, in the order they were first tried.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CallEvents {
    /// `call.started` goes out a second after the call starts.
    pub started_at: i64,
    /// Transfer initiated and completed, when the transfer sent webhooks.
    pub transfer: Option<(i64, i64)>,
    /// `call.ended` goes out two seconds after the call ends.
    pub ended_at: Option<i64>,
}

/// The delivery history of one call's events, ordered by time then attempt.
pub fn for_call(rng: &mut DemoRng, events: CallEvents) -> Vec<PlannedDelivery> {
    let mut out = attempts(rng, "call.started", events.started_at + 1);
    if let Some((initiated, completed)) = events.transfer {
        out.extend(attempts(rng, "transfer.initiated", initiated));
        out.extend(attempts(rng, "transfer.completed", completed));
    }
    if let Some(ended) = events.ended_at {
        out.extend(attempts(rng, "call.ended", ended + 2));
    }
    out.sort_by_key(|d| (d.created_at, d.attempt));
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::demo::random::SeedableRng;

    #[test]
    fn failures_are_retried_until_success_or_the_third_attempt() {
        let mut rng = DemoRng::seed_from_u64(14);
        let mut first_failures = 0;
        for _ in 0..2_000 {
            let tries = attempts(&mut rng, "call.ended", 1_000);
            assert!((1..=3).contains(&tries.len()));
            assert!(tries.iter().all(|d| d.event_id == tries[0].event_id));
            let (last, earlier) = tries.split_last().unwrap();
            assert!(earlier.iter().all(|d| !d.success && d.error.is_some()));
            assert!(last.success || tries.len() == 3);
            let at: Vec<i64> = tries.iter().map(|d| d.created_at - 1_000).collect();
            assert_eq!(at, [0, 5, 300][..tries.len()]);
            first_failures += usize::from(!tries[0].success);
        }
        assert!((140..260).contains(&first_failures), "{first_failures}");
    }

    #[test]
    fn a_call_sends_started_then_ended() {
        let mut rng = DemoRng::seed_from_u64(15);
        let d = for_call(
            &mut rng,
            CallEvents {
                started_at: 100,
                transfer: Some((150, 160)),
                ended_at: Some(400),
            },
        );
        let first: Vec<&str> = d
            .iter()
            .filter(|d| d.attempt == 1)
            .map(|d| d.event)
            .collect();
        assert_eq!(
            first,
            [
                "call.started",
                "transfer.initiated",
                "transfer.completed",
                "call.ended"
            ]
        );
        assert!(d.windows(2).all(|w| w[0].created_at <= w[1].created_at));
    }
}
