use axum::http::{HeaderName, HeaderValue};
use ed25519_dalek::{Signer, SigningKey};
use proptest::prelude::*;
use serde_json::json;

use super::*;

const NOW: UnixTime = UnixTime(1_767_261_600);

fn signing_key() -> SigningKey {
    SigningKey::from_bytes(&[42; 32])
}

fn public_key() -> WebhookPublicKey {
    WebhookPublicKey::from_bytes(signing_key().verifying_key().as_bytes()).unwrap()
}

fn signed(timestamp: &str, body: &[u8]) -> HeaderMap {
    let mut message = format!("{timestamp}|").into_bytes();
    message.extend_from_slice(body);
    let signature = STANDARD.encode(signing_key().sign(&message).to_bytes());
    let mut headers = HeaderMap::new();
    headers.insert(SIGNATURE_HEADER, signature.parse().unwrap());
    headers.insert(TIMESTAMP_HEADER, timestamp.parse().unwrap());
    headers
}

fn event(event_type: &str, payload: Value) -> Vec<u8> {
    json!({
        "data": {
            "record_type": "event",
            "event_type": event_type,
            "id": "0ccc7b54-4df3-4bca-a65a-3da1ecc777f0",
            "occurred_at": "2026-01-01T10:00:07.123456Z",
            "payload": payload,
        },
        "meta": {"attempt": 2, "delivered_to": "https://example.com/telnyx"}
    })
    .to_string()
    .into_bytes()
}

fn leg(extra: Value) -> Value {
    let mut p = json!({
        "call_control_id": "v3:abc",
        "call_leg_id": "leg-1",
        "call_session_id": "session-1",
        "connection_id": "conn",
        "client_state": null,
        "from": "+31612345678",
        "to": "+31850012345",
        "some_new_field": {"nested": true},
    });
    if let (Some(p), Value::Object(extra)) = (p.as_object_mut(), extra) {
        p.extend(extra);
    }
    p
}

#[test]
fn a_signed_fresh_delivery_verifies() {
    let body = event("call.answered", leg(json!({})));
    let now = NOW.secs().to_string();
    assert_eq!(
        verify(&public_key(), &signed(&now, &body), &body, NOW),
        Ok(())
    );
    // Exactly 300 s either way is still accepted.
    for skew in [-300, 300] {
        let ts = (NOW.secs() + skew).to_string();
        assert_eq!(
            verify(&public_key(), &signed(&ts, &body), &body, NOW),
            Ok(())
        );
    }
}

#[test]
fn stale_and_future_timestamps_are_refused() {
    let body = event("call.answered", leg(json!({})));
    for skew in [-301, 301, -100_000] {
        let ts = (NOW.secs() + skew).to_string();
        assert_eq!(
            verify(&public_key(), &signed(&ts, &body), &body, NOW),
            Err(WebhookError::StaleTimestamp { skew_secs: -skew })
        );
    }
}

#[test]
fn tampering_and_malformed_headers_are_refused() {
    let body = event("call.answered", leg(json!({})));
    let now = NOW.secs().to_string();
    let headers = signed(&now, &body);
    let mut tampered = body.clone();
    tampered[10] ^= 1;
    assert_eq!(
        verify(&public_key(), &headers, &tampered, NOW),
        Err(WebhookError::BadSignature)
    );
    let other =
        WebhookPublicKey::from_bytes(SigningKey::from_bytes(&[1; 32]).verifying_key().as_bytes())
            .unwrap();
    assert_eq!(
        verify(&other, &headers, &body, NOW),
        Err(WebhookError::BadSignature)
    );

    let without = |name: &str| {
        let mut h = headers.clone();
        h.remove(name);
        h
    };
    assert_eq!(
        verify(&public_key(), &without(SIGNATURE_HEADER), &body, NOW),
        Err(WebhookError::MissingSignature)
    );
    assert_eq!(
        verify(&public_key(), &without(TIMESTAMP_HEADER), &body, NOW),
        Err(WebhookError::MissingTimestamp)
    );
    let with = |name: &'static str, value: &str| {
        let mut h = headers.clone();
        h.insert(HeaderName::from_static(name), value.parse().unwrap());
        h
    };
    for bad in ["%%%", "AAAA", &STANDARD.encode([0u8; 63])] {
        assert_eq!(
            verify(&public_key(), &with(SIGNATURE_HEADER, bad), &body, NOW),
            Err(WebhookError::MalformedSignature),
            "{bad}"
        );
    }
    for bad in [
        "",
        "abc",
        "-5",
        "1.5",
        "+1767261600",
        "99999999999999999999",
    ] {
        let mut h = headers.clone();
        h.insert(TIMESTAMP_HEADER, HeaderValue::from_str(bad).unwrap());
        assert_eq!(
            verify(&public_key(), &h, &body, NOW),
            Err(WebhookError::MalformedTimestamp),
            "{bad:?}"
        );
    }
}

#[test]
fn a_hangup_parses_with_its_cause() {
    let body = event(
        "call.hangup",
        leg(json!({
            "hangup_cause": "normal_clearing",
            "hangup_source": "caller",
            "sip_hangup_cause": "16",
            "start_time": "2026-01-01T10:00:00Z",
            "client_state": "dHJhbnNmZXI=",
        })),
    );
    let e = parse(&body).unwrap();
    assert_eq!(e.id, "0ccc7b54-4df3-4bca-a65a-3da1ecc777f0");
    assert_eq!(e.occurred_at, UnixTime(NOW.secs() + 7));
    assert_eq!(e.attempt, Some(2));
    let TelnyxEventKind::Hangup {
        leg,
        hangup_cause,
        hangup_source,
        sip_hangup_cause,
        start_time,
    } = e.kind
    else {
        panic!("{:?}", e.kind)
    };
    assert_eq!(leg.call_control_id, "v3:abc");
    assert_eq!(leg.client_state.unwrap().decode().unwrap(), b"transfer");
    assert_eq!(leg.from.as_deref(), Some("+31612345678"));
    assert_eq!(hangup_cause, HangupCause::NormalClearing);
    assert_eq!(hangup_source, HangupSource::Caller);
    assert_eq!(sip_hangup_cause.as_deref(), Some("16"));
    assert_eq!(start_time, Some(NOW));
}

#[test]
fn call_events_parse() {
    let kind = |t: &str, extra: Value| parse(&event(t, leg(extra))).unwrap().kind;
    assert!(matches!(
        kind("call.initiated", json!({"direction": "incoming", "state": "parked"})),
        TelnyxEventKind::Initiated { direction: Some(d), .. } if d == "incoming"
    ));
    assert!(matches!(
        kind("call.answered", json!({"start_time": "bad"})),
        TelnyxEventKind::Answered {
            start_time: None,
            ..
        }
    ));
    assert!(matches!(
        kind("call.bridged", json!({})),
        TelnyxEventKind::Bridged { .. }
    ));
    assert_eq!(
        kind(
            "call.gather.ended",
            json!({"digits": "1234", "status": "valid"})
        ),
        TelnyxEventKind::GatherEnded {
            leg: fields_of(&leg(json!({}))).unwrap(),
            digits: "1234".into(),
            status: GatherStatus::Valid
        }
    );
    for (status, want) in [
        ("invalid", GatherStatus::Invalid),
        ("call_hangup", GatherStatus::CallHangup),
        ("cancelled", GatherStatus::Cancelled),
        ("cancelled_amd", GatherStatus::CancelledAmd),
        ("timeout", GatherStatus::Timeout),
    ] {
        let TelnyxEventKind::GatherEnded { status, digits, .. } = kind(
            "call.gather.ended",
            json!({"status": status, "digits": null}),
        ) else {
            panic!()
        };
        assert_eq!((status, digits.as_str()), (want, ""));
    }
    assert!(matches!(
        kind("call.dtmf.received", json!({"digit": "5"})),
        TelnyxEventKind::DtmfReceived { digit, .. } if digit == "5"
    ));
    assert_eq!(
        kind("call.speak.started", json!({})),
        TelnyxEventKind::Other("call.speak.started".into())
    );
}

#[test]
fn a_saved_recording_parses_without_a_call_control_id() {
    let body = event(
        "call.recording.saved",
        json!({
            "call_leg_id": "leg-1",
            "call_session_id": "session-1",
            "channels": "single",
            "recording_started_at": "2026-01-01T10:00:00Z",
            "recording_ended_at": "2026-01-01T10:02:07Z",
            "recording_urls": {"mp3": "https://r/1.mp3", "wav": null},
            "public_recording_urls": {},
        }),
    );
    assert_eq!(
        parse(&body).unwrap().kind,
        TelnyxEventKind::RecordingSaved(RecordingSaved {
            call_leg_id: "leg-1".into(),
            call_session_id: "session-1".into(),
            client_state: None,
            mp3_url: Some("https://r/1.mp3".into()),
            wav_url: None,
            recording_started_at: Some(NOW),
            recording_ended_at: Some(UnixTime(NOW.secs() + 127)),
        })
    );
}

#[test]
fn missing_required_fields_are_envelope_errors() {
    let no_id = leg(json!({"call_control_id": null}));
    for body in [
        b"not json".to_vec(),
        b"{}".to_vec(),
        b"[]".to_vec(),
        event("call.hangup", leg(json!({}))),
        event("call.answered", no_id),
        event("call.gather.ended", leg(json!({"status": "weird"}))),
        event("call.dtmf.received", leg(json!({}))),
        event("call.recording.saved", json!({"call_leg_id": "x"})),
        event("call.answered", json!("a string")),
        json!({"data": {"record_type": "event", "event_type": "call.x", "id": "1",
                        "occurred_at": "yesterday"}})
        .to_string()
        .into_bytes(),
    ] {
        assert!(
            matches!(parse(&body), Err(WebhookError::Envelope(_))),
            "{}",
            String::from_utf8_lossy(&body)
        );
    }
    // An unknown event needs no payload.
    let bare = json!({"data": {"record_type": "event", "event_type": "call.x", "id": "1",
                               "occurred_at": "2026-01-01T10:00:00Z"}});
    assert_eq!(
        parse(bare.to_string().as_bytes()).unwrap().kind,
        TelnyxEventKind::Other("call.x".into())
    );
}

proptest! {
    #[test]
    fn random_input_never_panics(
        body in proptest::collection::vec(any::<u8>(), 0..512),
        signature in proptest::collection::vec(any::<u8>(), 0..100),
        timestamp in proptest::collection::vec(any::<u8>(), 0..24),
        now in any::<i64>(),
    ) {
        let mut headers = HeaderMap::new();
        if let Ok(v) = HeaderValue::from_bytes(&signature) {
            headers.insert(SIGNATURE_HEADER, v);
        }
        if let Ok(v) = HeaderValue::from_bytes(&timestamp) {
            headers.insert(TIMESTAMP_HEADER, v);
        }
        let _ = verify_and_parse(&public_key(), &headers, &body, UnixTime(now));
        let _ = parse(&body);
    }

    #[test]
    fn random_payloads_of_known_events_never_panic(
        event_type in prop::sample::select(vec![
            "call.initiated", "call.answered", "call.bridged", "call.hangup",
            "call.gather.ended", "call.dtmf.received", "call.recording.saved", "x",
        ]),
        keys in proptest::collection::vec(prop::sample::select(vec![
            "call_control_id", "call_leg_id", "call_session_id", "client_state", "from",
            "hangup_cause", "hangup_source", "digits", "status", "digit", "recording_urls",
            "start_time", "sip_hangup_cause",
        ]), 0..10),
        value in prop_oneof![
            Just(json!(null)), Just(json!("s")), Just(json!(1)), Just(json!({})),
            Just(json!([])), Just(json!("valid")), Just(json!(-1.5)),
        ],
    ) {
        let payload: serde_json::Map<String, Value> =
            keys.into_iter().map(|k| (k.to_owned(), value.clone())).collect();
        let _ = parse(&event(event_type, Value::Object(payload)));
    }
}
