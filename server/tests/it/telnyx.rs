//! The Telnyx client against the fake Telnyx over real HTTP: exact command bodies, retries
//! that keep their `command_id`, Telnyx's errors as typed errors, and webhook signatures.

use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use callscope_server::clock::UnixTime;
use callscope_server::telnyx::voices::TtsVoice;
use callscope_server::telnyx::webhook;
use callscope_server::telnyx::{
    ClientOptions, ClientState, CommandError, GatherUsingSpeak, Hangup, RecordStart,
    RecordingChannels, RecordingFormat, TelnyxApiKey, TelnyxClient, Transfer, Voice,
    WebhookPublicKey,
};
use serde_json::{Value, json};
use tokio::net::TcpListener;

use crate::fake_telnyx::{FakeTelnyx, Fault};

const KEY: &str = "KEYtest_0123456789";
const CALL: &str = "v3:MdI91X4lWFEs7IgbBEOT9M4AigoY08M0WWZFISt1Yw2axZ_IiE4pqg";

fn client(fake: &FakeTelnyx, key: &str) -> TelnyxClient {
    TelnyxClient::with_options(
        TelnyxApiKey::parse(key).unwrap(),
        fake.api_url(),
        ClientOptions {
            attempt_timeout: Duration::from_millis(300),
            retries: 2,
            backoff: Duration::from_millis(10),
        },
    )
    .unwrap()
}

/// The body without its (random) command id, and that id.
fn split_id(body: &Value) -> (Value, String) {
    let mut body = body.clone();
    let id = body
        .as_object_mut()
        .unwrap()
        .remove("command_id")
        .and_then(|v| v.as_str().map(str::to_owned))
        .expect("every command carries a command_id");
    (body, id)
}

#[tokio::test]
async fn each_command_sends_exactly_telnyxs_body() {
    let fake = FakeTelnyx::start(KEY).await;
    let telnyx = client(&fake, KEY);

    telnyx.hangup(CALL, &Hangup::default()).await.unwrap();
    let transfer = Transfer {
        from: Some("+31850012345".into()),
        timeout_secs: Some(30),
        target_leg_client_state: Some(ClientState::encode("transfer:call_00000001")),
        ..Transfer::to("+31850099999")
    };
    telnyx.transfer(CALL, &transfer).await.unwrap();
    let voice = TtsVoice::resolve(Voice::Female, Some("nl-NL")).unwrap();
    let gather = GatherUsingSpeak::from_spec("Please enter your number.", 8, "#", 20, &voice);
    telnyx.gather_using_speak(CALL, &gather).await.unwrap();
    let record = RecordStart {
        format: RecordingFormat::Mp3,
        channels: RecordingChannels::Single,
        client_state: None,
    };
    let accepted = telnyx.record_start(CALL, &record).await.unwrap();
    assert_eq!(accepted.attempts, 1);

    let requests = fake.requests();
    let paths: Vec<&str> = requests.iter().map(|r| r.path.as_str()).collect();
    assert_eq!(
        paths,
        ["hangup", "transfer", "gather_using_speak", "record_start"]
            .map(|a| format!("/v2/calls/{CALL}/actions/{a}"))
    );
    for r in &requests {
        assert_eq!(r.authorization.as_deref(), Some(&*format!("Bearer {KEY}")));
        assert_eq!(r.content_type.as_deref(), Some("application/json"));
    }
    let (bodies, ids): (Vec<Value>, Vec<String>) =
        requests.iter().map(|r| split_id(&r.body)).unzip();
    assert_eq!(bodies[0], json!({}));
    assert_eq!(
        bodies[1],
        json!({
            "to": "+31850099999",
            "from": "+31850012345",
            "timeout_secs": 30,
            "target_leg_client_state": "dHJhbnNmZXI6Y2FsbF8wMDAwMDAwMQ==",
        })
    );
    assert_eq!(
        bodies[2],
        json!({
            "payload": "Please enter your number.",
            "voice": "Azure.nl-NL-ColetteNeural",
            "language": "nl-NL",
            "minimum_digits": 1,
            "maximum_digits": 8,
            "terminating_digit": "#",
            "timeout_millis": 20000,
            "maximum_tries": 1,
        })
    );
    assert_eq!(bodies[3], json!({"format": "mp3", "channels": "single"}));
    assert_eq!(ids[3], accepted.command_id);
    let distinct: std::collections::HashSet<&String> = ids.iter().collect();
    assert_eq!(distinct.len(), 4, "one command_id per logical command");
    assert!(
        ids.iter()
            .all(|id| id.len() == 36 && id.as_bytes()[14] == b'4')
    );
}

#[tokio::test]
async fn a_5xx_is_retried_with_the_same_command_id() {
    let fake = FakeTelnyx::start(KEY).await;
    fake.fail_next([Fault::Status(503), Fault::Status(500)]);
    let accepted = client(&fake, KEY)
        .transfer(CALL, &Transfer::to("+31850099999"))
        .await
        .unwrap();
    assert_eq!(accepted.attempts, 3);
    let requests = fake.requests();
    assert_eq!(requests.len(), 3);
    assert!(requests.iter().all(|r| r.body == requests[0].body));
    assert_eq!(split_id(&requests[0].body).1, accepted.command_id);
}

#[tokio::test]
async fn a_timed_out_attempt_is_retried_with_the_same_command_id() {
    let fake = FakeTelnyx::start(KEY).await;
    fake.fail_next([Fault::Delay(Duration::from_secs(2))]);
    let accepted = client(&fake, KEY)
        .hangup(CALL, &Hangup::default())
        .await
        .unwrap();
    assert_eq!(accepted.attempts, 2);
    let requests = fake.requests();
    assert_eq!(requests.len(), 2);
    assert_eq!(requests[0].body, requests[1].body);
    assert_eq!(split_id(&requests[1].body).1, accepted.command_id);
}

#[tokio::test]
async fn retries_are_bounded_then_telnyx_is_unavailable() {
    let fake = FakeTelnyx::start(KEY).await;
    fake.fail_next([Fault::Status(502); 5]);
    let err = client(&fake, KEY)
        .hangup(CALL, &Hangup::default())
        .await
        .unwrap_err();
    assert!(
        matches!(err, CommandError::Unavailable { attempts: 3, ref reason } if reason == "HTTP 502"),
        "{err:?}"
    );
    assert_eq!(fake.requests().len(), 3);
}

#[tokio::test]
async fn an_ended_call_is_the_call_gone_error_and_not_retried() {
    let fake = FakeTelnyx::start(KEY).await;
    fake.end_call(CALL);
    let err = client(&fake, KEY)
        .transfer(CALL, &Transfer::to("+31850099999"))
        .await
        .unwrap_err();
    assert!(matches!(err, CommandError::CallGone(_)), "{err:?}");
    assert_eq!(err.reason(), "Call has already ended");
    assert_eq!(err.code(), Some("90018"));
    assert_eq!(fake.requests().len(), 1);
}

#[tokio::test]
async fn a_wrong_key_is_unauthorized_and_not_retried() {
    let fake = FakeTelnyx::start(KEY).await;
    let err = client(&fake, "KEYwrong")
        .hangup(CALL, &Hangup::default())
        .await
        .unwrap_err();
    assert!(matches!(err, CommandError::Unauthorized(_)), "{err:?}");
    assert_eq!(err.reason(), "Authentication failed");
    assert!(!format!("{err:?} {err}").contains("KEYwrong"));
    assert_eq!(fake.requests().len(), 1);
}

/// A receiver that does what the webhook route will: verify, parse, answer (a refusal's
/// body is the `WebhookError` variant's Debug form, for the assertions).
async fn receiver(key: WebhookPublicKey, now: UnixTime) -> String {
    async fn handle(
        State((key, now)): State<(WebhookPublicKey, UnixTime)>,
        headers: HeaderMap,
        body: Bytes,
    ) -> (StatusCode, String) {
        match webhook::verify_and_parse(&key, &headers, &body, now) {
            Ok(event) => (StatusCode::OK, event.event_type),
            Err(e) => (StatusCode::BAD_REQUEST, format!("{e:?}")),
        }
    }
    let app = Router::new()
        .route("/telnyx/webhooks", post(handle))
        .with_state((key, now));
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    format!("http://{addr}/telnyx/webhooks")
}

fn hangup_event() -> Vec<u8> {
    json!({
        "data": {
            "record_type": "event",
            "event_type": "call.hangup",
            "id": "0ccc7b54-4df3-4bca-a65a-3da1ecc777f0",
            "occurred_at": "2026-01-15T10:02:07.000000Z",
            "payload": {
                "call_control_id": CALL,
                "call_leg_id": "leg-1",
                "call_session_id": "session-1",
                "client_state": null,
                "from": "+31612345678",
                "to": "+31850012345",
                "hangup_cause": "normal_clearing",
                "hangup_source": "caller",
                "sip_hangup_cause": "16",
                "start_time": "2026-01-15T10:00:00.000000Z"
            }
        },
        "meta": {"attempt": 1, "delivered_to": "http://127.0.0.1/telnyx/webhooks"}
    })
    .to_string()
    .into_bytes()
}

/// Header names and values of a hand-made delivery.
type Headers = Vec<(&'static str, String)>;

async fn answer(response: reqwest::Response) -> (u16, String) {
    (response.status().as_u16(), response.text().await.unwrap())
}

#[tokio::test]
async fn signed_webhooks_verify_and_everything_else_is_refused() {
    let fake = FakeTelnyx::start(KEY).await;
    let now = UnixTime(1_768_471_327);
    let key = WebhookPublicKey::from_base64(&fake.public_key_base64()).unwrap();
    let url = receiver(key, now).await;
    let body = hangup_event();

    assert_eq!(
        answer(fake.send_webhook(&url, &body, now.secs()).await).await,
        (200, "call.hangup".into())
    );
    for skew in [-300, 300] {
        let sent = fake.send_webhook(&url, &body, now.secs() + skew).await;
        assert_eq!(sent.status(), 200, "{skew}");
    }
    for skew in [-301, 301] {
        let (status, text) = answer(fake.send_webhook(&url, &body, now.secs() + skew).await).await;
        assert_eq!(status, 400);
        assert!(text.starts_with("StaleTimestamp"), "{text}");
    }

    // Someone else's key.
    let other = FakeTelnyx::start(KEY).await;
    let (status, text) = answer(other.send_webhook(&url, &body, now.secs()).await).await;
    assert_eq!((status, text.as_str()), (400, "BadSignature"));

    // Raw deliveries with chosen headers.
    let ts = now.secs().to_string();
    let good_sig = fake.signature(&ts, &body);
    let post = |headers: Headers, body: Vec<u8>| {
        let url = url.clone();
        async move {
            let mut request = reqwest::Client::new().post(&url).body(body);
            for (name, value) in headers {
                request = request.header(name, value);
            }
            answer(request.send().await.unwrap()).await
        }
    };
    let mut tampered = body.clone();
    let at = tampered.len() - 10;
    tampered[at] ^= 0x01;
    let cases: Vec<(Headers, Vec<u8>, &str)> = vec![
        (
            vec![
                ("telnyx-timestamp", ts.clone()),
                ("telnyx-signature-ed25519", good_sig.clone()),
            ],
            tampered,
            "BadSignature",
        ),
        (
            vec![("telnyx-timestamp", ts.clone())],
            body.clone(),
            "MissingSignature",
        ),
        (
            vec![("telnyx-signature-ed25519", good_sig.clone())],
            body.clone(),
            "MissingTimestamp",
        ),
        (
            vec![
                ("telnyx-timestamp", ts.clone()),
                ("telnyx-signature-ed25519", "not*base64!".into()),
            ],
            body.clone(),
            "MalformedSignature",
        ),
        (
            vec![
                ("telnyx-timestamp", (now.secs() + 1).to_string()),
                ("telnyx-signature-ed25519", good_sig.clone()),
            ],
            body.clone(),
            "BadSignature",
        ),
        (
            vec![
                ("Telnyx-Timestamp", ts.clone()),
                ("TELNYX-SIGNATURE-ED25519", good_sig.clone()),
            ],
            body.clone(),
            "",
        ),
    ];
    for (headers, body, want) in cases {
        let got = post(headers.clone(), body).await;
        if want.is_empty() {
            assert_eq!(got, (200, "call.hangup".to_owned()), "{headers:?}");
        } else {
            assert_eq!(got, (400, want.to_owned()), "{headers:?}");
        }
    }
}
