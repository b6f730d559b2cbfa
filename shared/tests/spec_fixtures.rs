//! Every JSON example of the spec parses into our types and serialises back to the same
//! JSON (additive fields aside).

use callscope_shared::*;
use serde::{Serialize, de::DeserializeOwned};
use serde_json::Value;

/// Every key of `expected` is in `actual` with an equal value, recursively; `actual` may
/// carry additive fields.
fn assert_contains(expected: &Value, actual: &Value, path: &str) {
    match (expected, actual) {
        (Value::Object(e), Value::Object(a)) => {
            for (k, v) in e {
                let got = a.get(k).unwrap_or_else(|| panic!("{path}.{k} missing"));
                assert_contains(v, got, &format!("{path}.{k}"));
            }
        }
        (Value::Array(e), Value::Array(a)) => {
            assert_eq!(e.len(), a.len(), "{path}: length");
            for (i, (ev, av)) in e.iter().zip(a).enumerate() {
                assert_contains(ev, av, &format!("{path}[{i}]"));
            }
        }
        (Value::Number(e), Value::Number(a)) => {
            assert_eq!(e.as_f64(), a.as_f64(), "{path}");
        }
        _ => assert_eq!(expected, actual, "{path}"),
    }
}

fn round_trip<T: Serialize + DeserializeOwned>(fixture: &str) -> T {
    let text = std::fs::read_to_string(format!(
        "{}/tests/fixtures/{fixture}",
        env!("CARGO_MANIFEST_DIR")
    ))
    .unwrap();
    let expected: Value = serde_json::from_str(&text).unwrap();
    let parsed: T = serde_json::from_str(&text).unwrap_or_else(|e| panic!("{fixture}: {e}"));
    let actual = serde_json::to_value(&parsed).unwrap();
    assert_contains(&expected, &actual, fixture);
    parsed
}

#[test]
fn call_object_full_form() {
    let call: Call = round_trip("call_full.json");
    assert_eq!(call.call_id.get(), 1);
    assert_eq!(call.total_cost, Money::from_units(5300));
    assert_eq!(call.transcript.as_ref().unwrap()[1].role, Role::User);
    assert_eq!(
        call.latency_data.as_ref().unwrap().turns[0].llm_ttfb_ms,
        210
    );
}

#[test]
fn call_list_form_omits_transcript_and_latency() {
    let list: CallList = round_trip("call_list.json");
    let json = serde_json::to_value(&list).unwrap();
    assert!(json["calls"][0].get("transcript").is_none());
    assert!(json["calls"][0].get("latency_data").is_none());
    assert_eq!(json["calls"][0]["disposition"], "answered");
}

#[test]
fn summary() {
    let s: Summary = round_trip("summary.json");
    assert_eq!(s.total_cost, Money::from_units(5_632_900));
    assert_eq!(s.filters.agent_id, None);
    let json = serde_json::to_value(&s).unwrap();
    assert!(
        json["filters"].get("agent_id").is_none(),
        "absent filters are omitted"
    );
}

#[test]
fn status_view() {
    let s: CallStatusView = round_trip("status.json");
    assert_eq!(s.status, CallStatus::InProgress);
    assert!(serde_json::to_value(&s).unwrap()["ended_at"].is_null());
}

#[test]
fn recording_link() {
    round_trip::<RecordingLink>("recording.json");
}

#[test]
fn debug_link() {
    round_trip::<DebugLink>("debug_link.json");
}

#[test]
fn public_debug_view() {
    let v: PublicDebugView = round_trip("public_debug.json");
    let json = serde_json::to_value(&v).unwrap();
    let user_turn = json["turns"][1].as_object().unwrap();
    assert!(
        !user_turn.contains_key("llm_ttfb_ms"),
        "user turns carry no latency"
    );
}

#[test]
fn call_webhooks() {
    let w: CallWebhooks = round_trip("call_webhooks.json");
    assert_eq!(w.deliveries[1].status_code, Some(503));
}

#[test]
fn error_body() {
    let e: ErrorBody = round_trip("error.json");
    assert_eq!(e.error, "Call is not in progress");
}
