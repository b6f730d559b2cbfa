//! The public, masked view of one call. What is shown is chosen field by field: nothing
//! from metadata, extracted_data, costs, the agent or the account is copied, and the
//! recording only for a link issued with it (`recording`).

use callscope_shared::latency;
use callscope_shared::mask::{mask_phone, mask_text};
use callscope_shared::stats::percentile;
use callscope_shared::{
    Call, CallId, LatencySummary, LatencyTurn, MetricStats, PublicCallEvent, PublicDebugView,
    PublicToolCall, PublicTurn, PublicWebhookDelivery, Role, WebhookDelivery,
};
use serde_json::Value;

use crate::storage::{ControlEvent, Store, StoreResult};

/// Builds the view of `call` (loaded with transcript and latency), its deliveries and its
/// call-control events. The JSON view and every event of the live stream come from here.
pub fn public_view(
    call: &Call,
    deliveries: &[WebhookDelivery],
    events: &[ControlEvent],
) -> PublicDebugView {
    let transcript = call.transcript.as_deref().unwrap_or_default();
    let latency = call
        .latency_data
        .as_ref()
        .map(|l| l.turns.as_slice())
        .unwrap_or_default();
    let turns = public_turns(transcript, latency);
    PublicDebugView {
        call_id: call.call_id,
        status: call.status,
        duration_seconds: call.duration_seconds,
        from: mask_phone(&call.from_number),
        to: mask_phone(&call.to_number),
        started_at: call.started_at,
        latency: latency_summary(&turns),
        turns,
        ended_at: call.ended_at,
        ended_reason: call.ended_reason,
        disposition: call.disposition,
        webhooks: deliveries.iter().map(public_delivery).collect(),
        events: events.iter().filter_map(public_event).collect(),
        recording: None,
    }
}

/// Reads call `call_id` and builds its view, without the recording (which the JSON view
/// of a link that includes it adds per request: `recording::for_link`); `None` when the
/// call is gone. The JSON view and the live stream's snapshots both come from here.
pub async fn load(store: &Store, call_id: CallId) -> StoreResult<Option<PublicDebugView>> {
    let Some(call) = store.get_call_for_link(call_id).await? else {
        return Ok(None);
    };
    let deliveries = store.call_deliveries(call_id).await?;
    let events = store.control_events(call_id).await?;
    Ok(Some(public_view(&call, &deliveries, &events)))
}

/// A call-control event with its detail masked; `None` for an instant out of range.
fn public_event(e: &ControlEvent) -> Option<PublicCallEvent> {
    Some(PublicCallEvent {
        event: e.event.clone(),
        at: e.at.timestamp()?,
        detail: e.detail.as_deref().map(mask_text),
    })
}

/// Pairs the n-th assistant entry with latency turn n (turns count assistant replies from 1).
fn public_turns(
    transcript: &[callscope_shared::TranscriptEntry],
    latency: &[LatencyTurn],
) -> Vec<PublicTurn> {
    let mut assistant_no = 0u32;
    transcript
        .iter()
        .map(|entry| {
            let metrics = if entry.role == Role::Assistant {
                assistant_no += 1;
                latency.iter().find(|t| t.turn == assistant_no)
            } else {
                None
            };
            PublicTurn {
                role: entry.role,
                content: mask_text(&entry.content),
                llm_ttfb_ms: metrics.map(|m| m.llm_ttfb_ms),
                tts_start_ms: metrics.map(|m| m.tts_start_ms),
                tts_ttfb_ms: metrics.map(|m| m.tts_ttfb_ms),
                timestamp: Some(entry.timestamp),
                tool_calls: entry
                    .tool_calls
                    .iter()
                    .map(|t| PublicToolCall {
                        name: mask_text(&t.name),
                        arguments: mask_json(&t.arguments),
                        result: t.result.as_deref().map(mask_text),
                    })
                    .collect(),
                interrupted: entry.interrupted,
                stt_ms: entry.stt_ms,
            }
        })
        .collect()
}

/// Masks phone-like numbers anywhere in a JSON value: in strings, in keys, and numbers of
/// 7 digits or more (which become masked strings).
pub fn mask_json(value: &Value) -> Value {
    match value {
        Value::String(s) => Value::String(mask_text(s)),
        Value::Number(n) => {
            let text = n.to_string();
            let masked = mask_text(&text);
            if masked == text {
                value.clone()
            } else {
                Value::String(masked)
            }
        }
        Value::Array(items) => Value::Array(items.iter().map(mask_json).collect()),
        Value::Object(map) => Value::Object(
            map.iter()
                .map(|(k, v)| (mask_text(k), mask_json(v)))
                .collect(),
        ),
        other => other.clone(),
    }
}

fn stats(mut values: Vec<u32>) -> MetricStats {
    values.sort_unstable();
    MetricStats {
        p50: percentile(&values, 50),
        p90: percentile(&values, 90),
        p99: percentile(&values, 99),
        max: values.last().copied(),
    }
}

/// Percentiles per metric over the assistant turns that have latency, and the slowest turn
/// by time to first audio (TTS start + TTS TTFB; `callscope_shared::latency`, which the
/// viewer's timeline uses too).
fn latency_summary(turns: &[PublicTurn]) -> LatencySummary {
    let measured: Vec<&PublicTurn> = turns.iter().filter(|t| t.llm_ttfb_ms.is_some()).collect();
    let metric =
        |f: fn(&PublicTurn) -> Option<u32>| stats(measured.iter().filter_map(|t| f(t)).collect());
    LatencySummary {
        llm_ttfb_ms: metric(|t| t.llm_ttfb_ms),
        tts_start_ms: metric(|t| t.tts_start_ms),
        tts_ttfb_ms: metric(|t| t.tts_ttfb_ms),
        slowest_turn: latency::slowest_turn(turns),
    }
}

fn public_delivery(d: &WebhookDelivery) -> PublicWebhookDelivery {
    PublicWebhookDelivery {
        event: d.event.clone(),
        url: origin_of(&d.url),
        attempt: d.attempt,
        status_code: d.status_code,
        success: d.success,
        error: d.error.as_deref().map(mask_text),
        created_at: d.created_at,
    }
}

/// `scheme://host[:port]` of a URL: no user info, path, query or fragment (which may carry
/// secrets). Anything unparsable is withheld.
pub fn origin_of(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return "(hidden)".into();
    };
    let scheme = scheme.to_ascii_lowercase();
    if !matches!(scheme.as_str(), "http" | "https") {
        return "(hidden)".into();
    }
    let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
    let host_port = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
    if host_port.is_empty() {
        return "(hidden)".into();
    }
    format!("{scheme}://{}", host_port.to_ascii_lowercase())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn origins_drop_credentials_paths_and_queries() {
        assert_eq!(
            origin_of("https://your-server.example.com/webhook"),
            "https://your-server.example.com"
        );
        assert_eq!(
            origin_of("https://user:pw@Hooks.Example.com:8443/x?token=abc#f"),
            "https://hooks.example.com:8443"
        );
        assert_eq!(origin_of("http://[::1]:9000/a"), "http://[::1]:9000");
        assert_eq!(origin_of("ftp://x/y"), "(hidden)");
        assert_eq!(origin_of("nonsense"), "(hidden)");
        assert_eq!(origin_of("https:///path"), "(hidden)");
    }

    #[test]
    fn json_numbers_and_strings_are_masked() {
        let v = serde_json::json!({"phone": "+31612345678", "n": 31612345678_i64, "small": 42, "list": ["call 0612345678"], "0612345678": true});
        let m = mask_json(&v);
        assert_eq!(m["phone"], "+316*****678");
        assert_eq!(m["n"], "316*****678");
        assert_eq!(m["small"], 42);
        assert_eq!(m["list"][0], "call 061****678");
        assert!(m.get("061****678").is_some());
    }

    #[test]
    fn the_slowest_turn_is_the_longest_wait_for_audio_not_llm_plus_tts_ttfb() {
        use callscope_shared::{LatencyData, LatencyTurn, SlowestTurn};
        let texts = (0..6).map(|i| format!("line {i}")).collect();
        let mut call = no_number_survives::call("+31612345678", "+31687654321", texts);
        let l = |turn, llm_ttfb_ms, tts_start_ms, tts_ttfb_ms| LatencyTurn {
            turn,
            ts: 0.0,
            llm_ttfb_ms,
            tts_start_ms,
            tts_ttfb_ms,
        };
        // Assistant entries 0, 2 and 4 carry latency turns 1, 2 and 3.
        call.latency_data = Some(LatencyData {
            turns: vec![
                // LLM + TTS TTFB 1,000 ms (the most), but audio after 1,100 ms.
                l(1, 900, 1_000, 100),
                // LLM + TTS TTFB 450 ms, but TTS starts late: audio after 1,350 ms.
                l(2, 300, 1_200, 150),
                l(3, 400, 500, 100),
            ],
        });
        let view = public_view(&call, &[], &[]);
        assert_eq!(
            view.latency.slowest_turn,
            Some(SlowestTurn {
                index: 2,
                total_ms: 1_350
            })
        );
    }

    mod no_number_survives {
        use super::*;
        use callscope_shared::{
            CallId, CallStatus, LatencyData, Minutes, Money, Timestamp, ToolCall, TranscriptEntry,
        };
        use proptest::prelude::*;

        /// Ways a number may be written or spoken in a transcript.
        fn spellings(digits: &str) -> Vec<String> {
            let grouped = |sep: &str, size: usize| {
                digits
                    .as_bytes()
                    .chunks(size)
                    .map(|c| std::str::from_utf8(c).unwrap())
                    .collect::<Vec<_>>()
                    .join(sep)
            };
            vec![
                format!("+{digits}"),
                digits.to_owned(),
                format!("+{}", grouped(" ", 3)),
                grouped("-", 4),
                grouped(".", 2),
                grouped(" ", 1),
                format!("({}) {}", &digits[..3], &digits[3..]),
                grouped("/", 3),
                grouped(",", 2),
                grouped("_", 4),
                grouped("\u{a0}", 2),
                grouped("\u{202f}", 3),
                format!("{} / {}", &digits[..4], &digits[4..]),
                fullwidth(&grouped(" ", 3)),
            ]
        }

        /// The same text with fullwidth digits (U+FF10–FF19).
        fn fullwidth(text: &str) -> String {
            text.chars()
                .map(|c| match c.to_digit(10) {
                    Some(d) => char::from_u32(0xFF10 + d).unwrap(),
                    None => c,
                })
                .collect()
        }

        /// Digits of any script written as ASCII, and separators and `+` dropped, so every
        /// spelling of a number collapses to its digits.
        fn collapsed(json: &str) -> String {
            json.chars()
                .map(|c| match c as u32 {
                    0xFF10..=0xFF19 => char::from_u32(c as u32 - 0xFF10 + '0' as u32).unwrap(),
                    _ => c,
                })
                .filter(|&c| !(c.is_whitespace() || "-.()+/,_".contains(c)))
                .collect()
        }

        /// A call of `texts`, alternating assistant and caller, the assistant first.
        pub(super) fn call(from: &str, to: &str, texts: Vec<String>) -> Call {
            let transcript = texts
                .into_iter()
                .enumerate()
                .map(|(i, content)| TranscriptEntry {
                    role: if i % 2 == 0 { Role::Assistant } else { Role::User },
                    tool_calls: vec![ToolCall {
                        name: "send_sms".into(),
                        arguments: serde_json::json!({ "to": content.clone(), "raw": from.trim_start_matches('+').parse::<i64>().unwrap() }),
                        result: Some(content.clone()),
                    }],
                    content,
                    timestamp: i as f64,
                    interrupted: false,
                    stt_ms: None,
                })
                .collect();
            Call {
                call_id: CallId::new(1).unwrap(),
                agent_id: "agent_28c51f81".parse().unwrap(),
                from_number: from.into(),
                to_number: to.into(),
                status: CallStatus::Completed,
                disposition: None,
                ended_reason: None,
                duration_seconds: 10,
                minutes_used: Minutes::ZERO,
                rate_per_minute: Money::ZERO,
                total_cost: Money::ZERO,
                has_recording: false,
                turn_count: 0,
                tool_call_count: 0,
                tools_called: vec![],
                metadata: serde_json::json!({ "caller": from }),
                ws_unavailable: false,
                transcript: Some(transcript),
                latency_data: Some(LatencyData::default()),
                call_cost: Money::ZERO,
                recording_cost: Money::ZERO,
                llm_discount: Money::ZERO,
                transfer_duration_seconds: 0,
                transfer_cost: Money::ZERO,
                transferred_to: Some(to.into()),
                recording_enabled: false,
                extracted_data: serde_json::json!({ "callback": to }),
                started_at: Timestamp::from_unix(1_768_471_200).unwrap(),
                ended_at: None,
            }
        }

        proptest! {
            #[test]
            fn no_unmasked_number_of_the_call_survives(
                from in "[1-9][0-9]{7,14}",
                to in "[1-9][0-9]{7,14}",
                pick in prop::collection::vec((0usize..14, any::<bool>(), "[a-z ,.]{0,12}"), 1..8),
            ) {
                let texts: Vec<String> = pick
                    .iter()
                    .map(|(i, which, filler)| {
                        let number = if *which { &from } else { &to };
                        format!("{filler} {} {filler}", spellings(number)[*i])
                    })
                    .collect();
                let view = public_view(&call(&format!("+{from}"), &format!("+{to}"), texts), &[], &[]);
                let json = serde_json::to_string(&view).unwrap();
                let digits_only = collapsed(&json);
                for number in [&from, &to] {
                    prop_assert!(!digits_only.contains(number.as_str()), "{} survives in {}", number, json);
                }
            }

            #[test]
            fn no_email_of_the_call_survives(
                local in "[a-z][a-z0-9]{2,7}(\\.[a-z]{2,6})?(\\+[a-z]{1,5})?",
                domain in "[a-z][a-z0-9-]{2,9}\\.(com|nl|org|co\\.uk)",
                phone in "[1-9][0-9]{7,14}",
                spelling in 0usize..14,
                filler in "[a-z ,.]{0,12}",
            ) {
                let email = format!("{local}@{domain}");
                let number = &spellings(&phone)[spelling];
                let mut call = call(&format!("+{phone}"), "+31850012345", vec![
                    format!("{filler} mail {email}, or call {number}."),
                    format!("it's {email}"),
                ]);
                // The address and number also in tool arguments (values, keys, a JSON text)
                // and in tool results.
                for entry in call.transcript.as_mut().unwrap() {
                    entry.tool_calls.push(ToolCall {
                        name: "send_email".into(),
                        arguments: serde_json::json!({
                            "to": email, "cc": [format!("<{email}>")], email.clone(): number,
                            "raw": serde_json::json!({ "email": email, "phone": number }).to_string(),
                        }),
                        result: Some(format!("{{\"sent_to\":\"{email}\",\"sms\":\"{number}\"}}")),
                    });
                }
                let json = serde_json::to_string(&public_view(&call, &[], &[])).unwrap();
                prop_assert!(!json.contains(&format!("{local}@")), "{} survives in {}", email, json);
                prop_assert!(!json.contains(&format!("@{domain}")), "{} survives in {}", email, json);
                prop_assert!(json.contains(&format!("{}***@", &local[..1])), "{}", json);
                prop_assert!(!collapsed(&json).contains(phone.as_str()), "{} survives in {}", phone, json);
            }
        }
    }
}
