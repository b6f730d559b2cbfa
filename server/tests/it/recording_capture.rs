//! Recordings captured for real, over HTTP on both backends: an answered call of a
//! recording agent gets one `record_start` from the fake Telnyx, its signed
//! `call.recording.saved` (in any order, repeated) has the MP3 fetched from a loopback file
//! server into the embedded store, and the owner reads it back; the faults (404, a timeout,
//! a non-MP3, an oversized body, a store that refuses, a private address) end as a failed
//! recording with a reason the owner reads, never a half-written file.

use crate::common::{self, TestDb, TestServer, fake_s3};
use crate::fake_telnyx::FakeTelnyx;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use axum::Router;
use axum::extract::State;
use axum::http::StatusCode as AxumStatus;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use base64::Engine as _;
use callscope_server::application::Application;
use callscope_server::auth::{KeyMode, create_key};
use callscope_server::clock::{ManualClock, UnixTime};
use callscope_server::config::Config;
use callscope_server::live::LiveStore;
use callscope_server::recordings::RecordingStore;
use callscope_server::recordings::download::DownloadConfig;
use callscope_server::recordings::embedded::EmbeddedStore;
use callscope_server::recordings::mp3::silent_mp3;
use callscope_server::secrets::{Keys, ServerKey};
use callscope_server::storage::NewAgent;
use callscope_server::telephony::{SimulatedTimings, TelephonyConfig};
use callscope_server::telnyx::{TelnyxApiKey, WebhookPublicKey};
use callscope_shared::{AgentId, Money};
use reqwest::StatusCode;
use serde_json::{Value, json};
use tokio::net::TcpListener;

const T0: i64 = 1_768_471_200; // 2026-01-15T10:00:00Z
const TOKEN: &str = "pipeline-token-0123456789";
const TELNYX_KEY: &str = "KEYtest_0123456789";
const CONTROL: &str = "v3:recorded-call-control-id";
const LEG: &str = "leg-rec-1";

/// What the loopback recording server answers.
#[derive(Clone)]
enum Serve {
    Mp3(Vec<u8>),
    Status(u16),
    Slow(Duration),
    Bytes(Vec<u8>),
    /// Fails with 500 this many times, then serves the MP3.
    FlakyThen(usize, Vec<u8>),
}

struct FileServer {
    base: String,
    hits: Arc<AtomicUsize>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for FileServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn file_server(serve: Serve) -> FileServer {
    #[derive(Clone)]
    struct S(Serve, Arc<AtomicUsize>);
    async fn handler(State(S(serve, hits)): State<S>) -> Response {
        let n = hits.fetch_add(1, Ordering::SeqCst);
        let mp3 = |b: Vec<u8>| ([("content-type", "audio/mpeg")], b).into_response();
        match serve {
            Serve::Mp3(b) => mp3(b),
            Serve::Status(s) => AxumStatus::from_u16(s).unwrap().into_response(),
            Serve::Slow(d) => {
                tokio::time::sleep(d).await;
                mp3(silent_mp3(1_000))
            }
            Serve::Bytes(b) => b.into_response(),
            Serve::FlakyThen(k, b) if n >= k => mp3(b),
            Serve::FlakyThen(..) => AxumStatus::INTERNAL_SERVER_ERROR.into_response(),
        }
    }
    let hits = Arc::new(AtomicUsize::new(0));
    let app = Router::new()
        .route("/recording.mp3", get(handler))
        .with_state(S(serve, hits.clone()));
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let task = tokio::spawn(async move {
        axum::serve(listener, app).await.unwrap();
    });
    FileServer {
        base: format!("http://{addr}"),
        hits,
        task,
    }
}

struct TempDir(std::path::PathBuf);

impl TempDir {
    fn new() -> Self {
        static COUNTER: AtomicUsize = AtomicUsize::new(0);
        let n = COUNTER.fetch_add(1, Ordering::Relaxed);
        let dir = std::env::temp_dir().join(format!(
            "callscope_capture_{}_{n}_{}",
            std::process::id(),
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_nanos()
        ));
        std::fs::create_dir_all(&dir).unwrap();
        Self(dir)
    }

    /// Every file under the folder, relative paths.
    fn files(&self) -> Vec<String> {
        fn walk(dir: &std::path::Path, base: &std::path::Path, out: &mut Vec<String>) {
            for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
                let path = entry.path();
                if path.is_dir() {
                    walk(&path, base, out);
                } else {
                    out.push(path.strip_prefix(base).unwrap().display().to_string());
                }
            }
        }
        let mut out = Vec::new();
        walk(&self.0, &self.0, &mut out);
        out.sort();
        out
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

struct W {
    server: TestServer,
    fake: FakeTelnyx,
    /// The server's clock: T0, or the wall clock's now with an S3 store (the loopback S3
    /// checks signatures against the wall clock, as S3 does).
    t0: i64,
    clock: ManualClock,
    key: String,
    recording_agent: String,
    plain_agent: String,
    dir: TempDir,
}

struct Options {
    allow_private: bool,
    /// The recordings folder is a file: every put fails.
    broken_store: bool,
    max_bytes: usize,
    timeout: Duration,
    /// The loopback S3's endpoint, instead of the embedded folder.
    s3: Option<String>,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            allow_private: true,
            broken_store: false,
            max_bytes: 1024 * 1024,
            timeout: Duration::from_secs(5),
            s3: None,
        }
    }
}

async fn insert_agent(
    db: &TestDb,
    account: callscope_server::ids::AccountId,
    bits: u32,
    recording: bool,
) -> String {
    db.store
        .insert_agent(&NewAgent {
            account_id: account,
            public_id: AgentId::from_bits(bits),
            name: format!("Agent {bits:x}"),
            rate_per_minute: Money::from_units(2500),
            recording_enabled: recording,
            recording_rate_per_minute: Money::from_units(100),
            created_at: UnixTime(1_768_000_000),
        })
        .await
        .unwrap()
        .public_id
        .to_string()
}

/// Telnyx configured against the fake, the embedded store in a temporary folder, downloads
/// that retry fast and give up after one claim.
async fn world(db: &TestDb, options: Options) -> W {
    let key = create_key(&db.store, "acme", KeyMode::Live, UnixTime(1))
        .await
        .unwrap();
    let acme = db.store.account_id("acme").await.unwrap().unwrap();
    let recording_agent = insert_agent(db, acme, 0x51e7_0001, true).await;
    let plain_agent = insert_agent(db, acme, 0x51e7_0002, false).await;
    let fake = FakeTelnyx::start(TELNYX_KEY).await;
    let dir = TempDir::new();
    let folder = dir.0.join("recordings");
    if options.broken_store {
        std::fs::write(&folder, b"not a folder").unwrap();
    }
    let server_key = ServerKey::generate();
    let (store, t0) = match options.s3 {
        Some(endpoint) => (
            RecordingStore::S3(fake_s3::recordings(endpoint)),
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_secs() as i64,
        ),
        None => (
            RecordingStore::Embedded(EmbeddedStore::new(
                folder,
                Keys::from_server_key(&server_key).recording_url,
            )),
            T0,
        ),
    };
    let mut config = Config {
        recordings: Some(store),
        server_key,
        ..common::config()
    };
    config.pipeline_tokens = TOKEN.parse().unwrap();
    config.telnyx.public_key =
        Some(WebhookPublicKey::from_base64(&fake.public_key_base64()).unwrap());
    config.telnyx.api_url = fake.api_url();
    config.telnyx.api_key = Some(TelnyxApiKey::parse(TELNYX_KEY).unwrap());
    config.telephony = TelephonyConfig::Telnyx;
    let clock = ManualClock::new(UnixTime(t0));
    config.recording_downloads = DownloadConfig {
        allow_private: options.allow_private,
        timeout: options.timeout,
        max_bytes: options.max_bytes,
        attempts: 3,
        backoff: Duration::from_millis(20),
        max_claims: 1,
        poll: Duration::from_millis(100),
        ..DownloadConfig::default()
    };
    let app = Application::builder(config)
        .store(db.store.clone())
        .live(LiveStore::in_process())
        .clock(Arc::new(clock.clone()));
    W {
        server: TestServer::start_app(app).await,
        fake,
        t0,
        clock,
        key: key.reveal().to_owned(),
        recording_agent,
        plain_agent,
        dir,
    }
}

fn rfc3339(at: i64) -> String {
    time::OffsetDateTime::from_unix_timestamp(at)
        .unwrap()
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap()
}

fn event(id: &str, event_type: &str, at: i64, payload: Value) -> Value {
    let occurred_at = rfc3339(at);
    json!({"data": {"record_type": "event", "event_type": event_type, "id": id,
        "occurred_at": occurred_at, "payload": payload}, "meta": {"attempt": 1}})
}

fn leg_payload(extra: Value) -> Value {
    let mut payload = json!({"call_control_id": CONTROL, "call_leg_id": LEG,
        "call_session_id": "session-rec-1", "connection_id": "conn-1",
        "from": "+31612345678", "to": "+31850012345"});
    for (k, v) in extra.as_object().unwrap() {
        payload[k] = v.clone();
    }
    payload
}

fn answered(t0: i64) -> Value {
    event(
        "ev-rec-answered",
        "call.answered",
        t0 + 2,
        leg_payload(json!({})),
    )
}

fn hangup(t0: i64) -> Value {
    event(
        "ev-rec-hangup",
        "call.hangup",
        t0 + 65,
        leg_payload(json!({"hangup_cause": "normal_clearing", "hangup_source": "caller"})),
    )
}

/// `call.recording.saved` as the facts file describes it: no call control id.
fn saved(t0: i64, id: &str, url: &str, client_state: Option<&str>) -> Value {
    event(
        id,
        "call.recording.saved",
        t0 + 66,
        json!({"call_leg_id": LEG, "call_session_id": "session-rec-1",
            "connection_id": "conn-1", "client_state": client_state, "channels": "single",
            "recording_started_at": "2026-01-15T10:00:03Z",
            "recording_ended_at": "2026-01-15T10:01:05Z",
            "recording_urls": {"mp3": url, "wav": null},
            "public_recording_urls": {}}),
    )
}

impl W {
    async fn create(&self, agent: &str, status: &str) -> String {
        let body = json!({"agent_id": agent, "from_number": "+31612345678",
            "to_number": "+31850012345", "call_control_id": CONTROL, "status": status,
            "started_at": rfc3339(self.t0)});
        let r = self
            .server
            .client
            .post(self.server.url("/pipeline/v1/calls"))
            .bearer_auth(TOKEN)
            .json(&body)
            .send()
            .await
            .unwrap();
        let (status, call) = common::status_and_json(r).await;
        assert_eq!(status, StatusCode::CREATED, "{call}");
        call["call_id"].as_str().unwrap().to_owned()
    }

    async fn pipeline(&self, path: &str, body: Value) -> (StatusCode, Value) {
        let r = self
            .server
            .client
            .post(self.server.url(path))
            .bearer_auth(TOKEN)
            .json(&body)
            .send()
            .await
            .unwrap();
        common::status_and_json(r).await
    }

    async fn deliver(&self, body: &Value) -> Value {
        let url = self.server.url("/telnyx/webhooks");
        let bytes = serde_json::to_vec(body).unwrap();
        let (status, answer) =
            common::status_and_json(self.fake.send_webhook(&url, &bytes, self.t0 + 60).await).await;
        assert_eq!(status, StatusCode::OK, "{answer}");
        answer["outcome"].clone()
    }

    async fn call(&self, id: &str) -> Value {
        let (status, call) =
            common::status_and_json(self.server.get(&format!("/v1/calls/{id}"), &self.key).await)
                .await;
        assert_eq!(status, StatusCode::OK, "{call}");
        call
    }

    async fn recording(&self, id: &str) -> (StatusCode, Value) {
        common::status_and_json(
            self.server
                .get(&format!("/v1/calls/{id}/recording"), &self.key)
                .await,
        )
        .await
    }

    /// The ids of the account's calls.
    async fn calls_created(&self) -> Vec<String> {
        let (status, list) =
            common::status_and_json(self.server.get("/v1/calls", &self.key).await).await;
        assert_eq!(status, StatusCode::OK, "{list}");
        list["calls"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["call_id"].as_str().unwrap().to_owned())
            .collect()
    }

    /// The `record_start` bodies the fake received.
    fn record_starts(&self) -> Vec<Value> {
        self.fake
            .requests()
            .into_iter()
            .filter(|r| r.path.ends_with("/actions/record_start"))
            .map(|r| r.body)
            .collect()
    }

    /// Waits until the call's recording request settles (not "not yet available").
    async fn settled_recording(&self, id: &str) -> (StatusCode, Value) {
        for _ in 0..200 {
            let (status, body) = self.recording(id).await;
            if body["error"] != "Recording not yet available" {
                return (status, body);
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
        panic!("the recording of {id} never settled");
    }
}

async fn eventually(what: &str, mut check: impl AsyncFnMut() -> bool) {
    for _ in 0..200 {
        if check().await {
            return;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    panic!("never happened: {what}");
}

/// A recorded call with one `record_start` sent, answered by Telnyx.
async fn answered_recorded_call(w: &W) -> String {
    let id = w.create(&w.recording_agent, "ringing").await;
    assert_eq!(w.deliver(&answered(w.t0)).await, "applied");
    eventually("record_start sent", async || w.record_starts().len() == 1).await;
    id
}

both_backends!(
    an_answered_recorded_call_is_recorded_once_and_its_mp3_stored_and_served,
    |db: TestDb| async move {
        let w = world(&db, Options::default()).await;
        let audio = silent_mp3(62_000);
        let files = file_server(Serve::Mp3(audio.clone())).await;
        let id = w.create(&w.recording_agent, "ringing").await;
        // Answered twice (the pipeline, then Telnyx): one record_start.
        let answer = w
            .server
            .client
            .post(w.server.url(&format!("/pipeline/v1/calls/{id}/answer")))
            .bearer_auth(TOKEN)
            .send()
            .await
            .unwrap();
        assert_eq!(answer.status(), StatusCode::OK);
        assert_eq!(w.deliver(&answered(w.t0)).await, "applied");
        eventually("record_start sent", async || w.record_starts().len() == 1).await;
        tokio::time::sleep(Duration::from_millis(150)).await;
        let starts = w.record_starts();
        assert_eq!(starts.len(), 1, "{starts:?}");
        let start = &starts[0];
        assert_eq!(start["format"], "mp3");
        assert_eq!(start["channels"], "single");
        assert!(start["command_id"].as_str().is_some_and(|c| !c.is_empty()));
        let state = base64::engine::general_purpose::STANDARD
            .decode(start["client_state"].as_str().unwrap())
            .unwrap();
        let numeric = id.trim_start_matches("call_").trim_start_matches('0');
        assert_eq!(
            String::from_utf8(state).unwrap(),
            format!("callscope:recording:{numeric}")
        );

        // Live, and ended but not saved yet: the spec's "not yet available".
        assert_eq!(
            w.recording(&id).await,
            (
                StatusCode::NOT_FOUND,
                json!({"error": "Recording not yet available"})
            )
        );
        assert_eq!(w.deliver(&hangup(w.t0)).await, "applied");
        assert_eq!(w.call(&id).await["has_recording"], false);

        // Saved: matched by the call's leg id (no client_state), downloaded, stored.
        let url = format!("{}/recording.mp3", files.base);
        assert_eq!(
            w.deliver(&saved(w.t0, "ev-saved-1", &url, None)).await,
            "applied"
        );
        let (status, link) = w.settled_recording(&id).await;
        assert_eq!(status, StatusCode::OK, "{link}");
        assert_eq!(w.call(&id).await["has_recording"], true);
        let path = link["url"].as_str().unwrap();
        let served = w
            .server
            .client
            .get(w.server.url(path))
            .send()
            .await
            .unwrap();
        assert_eq!(served.status(), StatusCode::OK);
        assert_eq!(served.headers()["content-type"], "audio/mpeg");
        assert_eq!(served.bytes().await.unwrap().to_vec(), audio);
        assert_eq!(files.hits.load(Ordering::SeqCst), 1);

        // The event again, and the same recording under a new event id: nothing fetched.
        assert_eq!(
            w.deliver(&saved(w.t0, "ev-saved-1", &url, None)).await,
            "duplicate"
        );
        assert_eq!(
            w.deliver(&saved(w.t0, "ev-saved-2", &url, None)).await,
            "applied"
        );
        tokio::time::sleep(Duration::from_millis(300)).await;
        assert_eq!(files.hits.load(Ordering::SeqCst), 1);
        assert_eq!(w.recording(&id).await.0, StatusCode::OK);
        assert_eq!(w.dir.files(), [format!("recordings/recordings/{id}.mp3")]);
    }
);

both_backends!(
    the_saved_event_first_and_repeated_is_matched_by_its_tag,
    |db: TestDb| async move {
        let w = world(&db, Options::default()).await;
        let files = file_server(Serve::Mp3(silent_mp3(3_000))).await;
        let id = answered_recorded_call(&w).await;
        let tag = w.record_starts()[0]["client_state"]
            .as_str()
            .unwrap()
            .to_owned();
        let url = format!("{}/recording.mp3", files.base);
        // Before the hangup, with a leg id callscope never saw: the tag names the call.
        let mut early = saved(w.t0, "ev-early", &url, Some(&tag));
        early["data"]["payload"]["call_leg_id"] = json!("some-other-leg");
        let outcomes = futures_util::future::join_all([
            w.deliver(&early),
            w.deliver(&early),
            w.deliver(&early),
        ])
        .await;
        assert_eq!(
            outcomes.iter().filter(|o| **o == "applied").count(),
            1,
            "{outcomes:?}"
        );
        assert_eq!(w.deliver(&hangup(w.t0)).await, "applied");
        let (status, link) = w.settled_recording(&id).await;
        assert_eq!(status, StatusCode::OK, "{link}");
        assert_eq!(files.hits.load(Ordering::SeqCst), 1);
        let call = w.call(&id).await;
        assert_eq!(
            (call["status"].clone(), call["has_recording"].clone()),
            (json!("completed"), json!(true))
        );
    }
);

both_backends!(
    an_agent_without_recording_never_records,
    |db: TestDb| async move {
        let w = world(&db, Options::default()).await;
        let files = file_server(Serve::Mp3(silent_mp3(3_000))).await;
        let id = w.create(&w.plain_agent, "in-progress").await;
        assert_eq!(w.deliver(&answered(w.t0)).await, "applied");
        // A recording Telnyx saved anyway (recorded by someone else) is dropped.
        let url = format!("{}/recording.mp3", files.base);
        assert_eq!(
            w.deliver(&saved(w.t0, "ev-unasked", &url, None)).await,
            "ignored"
        );
        // The end of the call: every answer it got has been handled by now.
        let (status, _) = w
            .pipeline(
                &format!("/pipeline/v1/calls/{id}/end"),
                json!({"ended_reason": "caller-hangup"}),
            )
            .await;
        assert_eq!(status, StatusCode::OK);
        tokio::time::sleep(Duration::from_millis(300)).await;
        assert_eq!(w.record_starts(), Vec::<Value>::new());
        assert_eq!(files.hits.load(Ordering::SeqCst), 0);
        assert_eq!(
            w.recording(&id).await,
            (
                StatusCode::NOT_FOUND,
                json!({"error": "Recording was not enabled for this call"})
            )
        );
        assert_eq!(w.dir.files(), Vec::<String>::new());
    }
);

/// A recorded, ended call whose recording is fetched from `serve` with `options`: the
/// recording route's answer once settled, and the file server's hits.
async fn download_outcome(
    db: &TestDb,
    options: Options,
    serve: Serve,
) -> ((StatusCode, Value), usize, W) {
    let w = world(db, options).await;
    let files = file_server(serve).await;
    let id = answered_recorded_call(&w).await;
    assert_eq!(w.deliver(&hangup(w.t0)).await, "applied");
    let url = format!("{}/recording.mp3", files.base);
    assert_eq!(
        w.deliver(&saved(w.t0, "ev-fault", &url, None)).await,
        "applied"
    );
    let outcome = w.settled_recording(&id).await;
    assert_eq!(
        w.call(&id).await["has_recording"],
        outcome.0 == StatusCode::OK
    );
    let hits = files.hits.load(Ordering::SeqCst);
    (outcome, hits, w)
}

fn failed(reason: &str) -> (StatusCode, Value) {
    (
        StatusCode::NOT_FOUND,
        json!({"error": format!("Recording failed: {reason}")}),
    )
}

both_backends!(
    a_recording_url_that_404s_is_retried_then_failed,
    |db: TestDb| async move {
        // Each claim tries three times; the test's downloader claims once.
        let (outcome, hits, w) =
            download_outcome(&db, Options::default(), Serve::Status(404)).await;
        assert_eq!(outcome, failed("the recording URL answered HTTP 404"));
        assert_eq!(hits, 3);
        assert_eq!(w.dir.files(), Vec::<String>::new());
    }
);

both_backends!(
    a_file_that_is_not_an_mp3_is_refused,
    |db: TestDb| async move {
        let html = Serve::Bytes(b"<html>nope</html>".to_vec());
        let (outcome, hits, w) = download_outcome(&db, Options::default(), html).await;
        assert_eq!(outcome, failed("the provider's file is not an MP3"));
        assert_eq!(hits, 3);
        assert_eq!(w.dir.files(), Vec::<String>::new());
    }
);

both_backends!(an_oversized_recording_is_refused, |db: TestDb| async move {
    let options = Options {
        max_bytes: 2 * 1024 * 1024,
        ..Options::default()
    };
    // 36 bytes per 36 ms: 70 minutes is 4.2 MB.
    let long = Serve::Mp3(silent_mp3(70 * 60_000));
    let (outcome, _, w) = download_outcome(&db, options, long).await;
    assert_eq!(outcome, failed("the recording is larger than 2 MiB"));
    assert_eq!(w.dir.files(), Vec::<String>::new());
});

both_backends!(
    a_download_that_times_out_is_failed,
    |db: TestDb| async move {
        let options = Options {
            timeout: Duration::from_millis(200),
            ..Options::default()
        };
        let slow = Serve::Slow(Duration::from_secs(3));
        let (outcome, _, _) = download_outcome(&db, options, slow).await;
        assert_eq!(outcome, failed("the download timed out"));
    }
);

both_backends!(
    a_store_that_refuses_the_upload_leaves_nothing_half_written,
    |db: TestDb| async move {
        let options = Options {
            broken_store: true,
            ..Options::default()
        };
        let (outcome, _, w) = download_outcome(&db, options, Serve::Mp3(silent_mp3(2_000))).await;
        let error = outcome.1["error"].as_str().unwrap();
        assert!(
            error.starts_with("Recording failed: the recordings store refused it ("),
            "{error}"
        );
        // Only the file standing where the folder should be.
        assert_eq!(w.dir.files(), ["recordings"]);
    }
);

both_backends!(
    a_private_recording_url_is_refused_by_default,
    |db: TestDb| async move {
        // Loopback is private: refused unless --webhook-allow-private.
        let options = Options {
            allow_private: false,
            ..Options::default()
        };
        let (outcome, hits, _) =
            download_outcome(&db, options, Serve::Mp3(silent_mp3(2_000))).await;
        assert_eq!(
            outcome,
            failed(
                "the recording URL was refused: url must not point to a private, loopback or link-local address"
            )
        );
        assert_eq!(hits, 0);
    }
);

both_backends!(
    a_flaky_recording_url_is_retried_until_it_answers,
    |db: TestDb| async move {
        let audio = silent_mp3(4_000);
        let (outcome, hits, _) =
            download_outcome(&db, Options::default(), Serve::FlakyThen(2, audio)).await;
        assert_eq!(outcome.0, StatusCode::OK, "{}", outcome.1);
        assert_eq!(hits, 3);
    }
);

both_backends!(
    a_call_gone_before_record_start_or_without_a_control_channel_says_why,
    |db: TestDb| async move {
        let w = world(&db, Options::default()).await;
        let id = w.create(&w.recording_agent, "ringing").await;
        w.fake.end_call(CONTROL);
        assert_eq!(w.deliver(&answered(w.t0)).await, "applied");
        assert_eq!(
            w.settled_recording(&id).await,
            failed("the call ended before the recording could start")
        );

        // No call_control_id: nothing to record through.
        let body = json!({"agent_id": w.recording_agent, "from_number": "+31612345678",
            "to_number": "+31850012345", "status": "in-progress"});
        let (status, call) = w.pipeline("/pipeline/v1/calls", body).await;
        assert_eq!(status, StatusCode::CREATED, "{call}");
        let other = call["call_id"].as_str().unwrap();
        assert_eq!(
            w.settled_recording(other).await,
            failed("the call had no control channel to record through")
        );
    }
);

both_backends!(
    the_simulated_provider_records_a_real_mp3,
    |db: TestDb| async move {
        let key = create_key(&db.store, "acme", KeyMode::Live, UnixTime(1))
            .await
            .unwrap();
        let acme = db.store.account_id("acme").await.unwrap().unwrap();
        let agent = insert_agent(&db, acme, 0x51e7_0003, true).await;
        let dir = TempDir::new();
        let server_key = ServerKey::generate();
        let mut config = Config {
            recordings: Some(RecordingStore::Embedded(EmbeddedStore::new(
                dir.0.join("recordings"),
                Keys::from_server_key(&server_key).recording_url,
            ))),
            server_key,
            ..common::config()
        };
        config.pipeline_tokens = TOKEN.parse().unwrap();
        config.telephony = TelephonyConfig::Simulated(SimulatedTimings::default());
        config.recording_downloads.poll = Duration::from_millis(100);
        let clock = ManualClock::new(UnixTime(T0));
        let app = Application::builder(config)
            .store(db.store.clone())
            .live(LiveStore::in_process())
            .clock(Arc::new(clock.clone()));
        let server = TestServer::start_app(app).await;
        let post = async |path: &str, body: Value| {
            let r = server
                .client
                .post(server.url(path))
                .bearer_auth(TOKEN)
                .json(&body)
                .send()
                .await
                .unwrap();
            common::status_and_json(r).await
        };
        let (status, call) = post(
            "/pipeline/v1/calls",
            json!({"agent_id": agent, "from_number": "+31612345678",
                "to_number": "+31850012345", "call_control_id": "sim-rec-1",
                "status": "in-progress", "started_at": "2026-01-15T10:00:00Z"}),
        )
        .await;
        assert_eq!(status, StatusCode::CREATED, "{call}");
        let id = call["call_id"].as_str().unwrap().to_owned();
        let recording = async || {
            common::status_and_json(
                server
                    .get(&format!("/v1/calls/{id}/recording"), key.reveal())
                    .await,
            )
            .await
        };
        // The record_start goes out at once (in the background); the call goes on 42 s.
        tokio::time::sleep(Duration::from_millis(500)).await;
        clock.set(UnixTime(T0 + 42));
        let (status, _) = post(
            &format!("/pipeline/v1/calls/{id}/end"),
            json!({"ended_reason": "caller-hangup"}),
        )
        .await;
        assert_eq!(status, StatusCode::OK);
        let mut link = Value::Null;
        eventually("the recording stored", async || {
            let (status, body) = recording().await;
            link = body;
            status == StatusCode::OK
        })
        .await;
        let audio = server
            .client
            .get(server.url(link["url"].as_str().unwrap()))
            .send()
            .await
            .unwrap()
            .bytes()
            .await
            .unwrap();
        assert_eq!(audio.to_vec(), silent_mp3(42_000));
    }
);

both_backends!(
    a_recording_lands_in_an_s3_bucket_whole_or_not_at_all,
    |db: TestDb| async move {
        let s3 = fake_s3::FakeS3::start(&[], &fake_s3::credentials()).await;
        let options = Options {
            s3: Some(s3.endpoint()),
            ..Options::default()
        };
        let audio = silent_mp3(9_000);
        let (outcome, hits, w) = download_outcome(&db, options, Serve::Mp3(audio.clone())).await;
        assert_eq!(outcome.0, StatusCode::OK, "{}", outcome.1);
        assert_eq!(hits, 1);
        let key = format!(
            "recordings/{}.mp3",
            w.calls_created().await.first().cloned().unwrap()
        );
        assert_eq!(
            s3.object(&key),
            Some((audio.clone(), Some("audio/mpeg".to_owned())))
        );
        // The owner's URL is a pre-signed GET the bucket serves.
        let url = outcome.1["url"].as_str().unwrap();
        assert!(url.starts_with(&s3.endpoint()), "{url}");
        let served = reqwest::get(url).await.unwrap();
        assert_eq!(served.status(), StatusCode::OK);
        assert_eq!(served.bytes().await.unwrap().to_vec(), audio);
    }
);

both_backends!(
    a_bucket_that_refuses_the_upload_fails_the_recording,
    |db: TestDb| async move {
        let s3 = fake_s3::FakeS3::start(&[], &fake_s3::credentials()).await;
        s3.fail_puts(true);
        let options = Options {
            s3: Some(s3.endpoint()),
            ..Options::default()
        };
        let (outcome, hits, w) =
            download_outcome(&db, options, Serve::Mp3(silent_mp3(2_000))).await;
        assert_eq!(
            outcome,
            failed("the recordings store refused it (recordings bucket answered HTTP 500)")
        );
        // Fetched once per try; nothing stored.
        assert_eq!(hits, 3);
        let id = w.calls_created().await.first().cloned().unwrap();
        assert_eq!(s3.object(&format!("recordings/{id}.mp3")), None);
    }
);

both_backends!(
    a_recording_the_provider_never_saves_fails_an_hour_after_the_call,
    |db: TestDb| async move {
        let w = world(&db, Options::default()).await;
        let id = answered_recorded_call(&w).await;
        assert_eq!(w.deliver(&hangup(w.t0)).await, "applied");
        let ended_at = w.t0 + 65;
        // Up to the hour, still waiting for call.recording.saved.
        w.clock.set(UnixTime(ended_at + 3600));
        tokio::time::sleep(Duration::from_millis(400)).await;
        assert_eq!(
            w.recording(&id).await,
            (
                StatusCode::NOT_FOUND,
                json!({"error": "Recording not yet available"})
            )
        );
        w.clock.set(UnixTime(ended_at + 3601));
        assert_eq!(
            w.settled_recording(&id).await,
            failed("the provider never saved the recording")
        );
    }
);
