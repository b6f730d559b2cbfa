//! A debug link issued with `include_recording=true` over real HTTP: the owner's parameter
//! and field, the public view's `recording` (null unless the link includes it, the call's
//! recording is stored and a store is configured), the link-bound audio route of the
//! embedded store (whole, ranges, HEAD) and its end when the link is revoked, expires or
//! its account is suspended, the S3 variant's pre-signed URL, and the live stream, which
//! never carries the recording.

use crate::common;

use std::sync::Arc;
use std::time::Duration;

use callscope_server::application::Application;
use callscope_server::auth::{KeyMode, create_key};
use callscope_server::clock::{ManualClock, UnixTime};
use callscope_server::config::Config;
use callscope_server::debug_link::DebugToken;
use callscope_server::debug_link::recording::signed_path;
use callscope_server::ids::LinkId;
use callscope_server::live::LiveStore;
use callscope_server::operator;
use callscope_server::recordings::embedded::EmbeddedStore;
use callscope_server::recordings::mp3::silent_mp3;
use callscope_server::recordings::{AwsCredentials, RecordingStore, Recordings, RecordingsConfig};
use callscope_server::secrets::{Keys, ServerKey};
use callscope_server::storage::{AccountStatus, NewCall};
use callscope_shared::{CallId, CallStatus};
use common::{TestDb, TestServer, fixtures};
use reqwest::StatusCode;
use serde_json::{Value, json};
use sqlx::Connection;

/// The server's clock: 2026-01-15T10:00:00Z.
const T0: i64 = 1_768_471_200;
/// The recorded call started an hour earlier; the provider started recording 3 s in.
const CALL_START: i64 = T0 - 3_600;
const RECORDING_OFFSET: i64 = 3;
const RECORDING_KEY: &str = "recordings/acme/call one.mp3";
const NOT_FOUND_BODY: &str = r#"{"error":"Debug link not found"}"#;

/// A folder removed when dropped.
struct TempDir(std::path::PathBuf);

impl TempDir {
    fn new() -> Self {
        let dir = std::env::temp_dir().join(format!(
            "callscope_debug_recording_{}_{}",
            std::process::id(),
            rand::random::<u64>()
        ));
        std::fs::create_dir_all(&dir).unwrap();
        Self(dir)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Which recordings store the server has.
enum Stores {
    Embedded,
    S3,
    None,
}

struct World {
    server: TestServer,
    clock: ManualClock,
    key: String,
    /// Completed, recording stored (and in the embedded store).
    recorded: CallId,
    /// Completed, recording never enabled.
    unrecorded: CallId,
    /// Completed, recording on but not stored yet.
    pending: CallId,
    /// In progress, with a stored recording (as a provider could save one before the end).
    live: CallId,
    audio: Vec<u8>,
    _dir: TempDir,
}

/// Sets a call's `recording_started_at`, as the provider's `call.recording.saved` does.
/// Writes the call's `recording_started_at` behind the store's back, then announces the
/// change as every writer of the store does (the public view is rebuilt on announcements).
async fn set_recording_started_at(db: &TestDb, call: CallId, at: Option<i64>) {
    let mut conn = sqlx::AnyConnection::connect(&db.url).await.unwrap();
    sqlx::query("UPDATE calls SET recording_started_at = $1 WHERE id = $2")
        .bind(at)
        .bind(call.get())
        .execute(&mut conn)
        .await
        .unwrap();
    conn.close().await.unwrap();
    db.store.changes().notify(call);
}

async fn world_with(db: &TestDb, stores: Stores, miss_limit: u32) -> World {
    let store = &db.store;
    let key = create_key(store, "acme", KeyMode::Live, UnixTime(1))
        .await
        .unwrap();
    let acme = store.account_id("acme").await.unwrap().unwrap();
    let agent = fixtures::agent(store, acme, 1).await;
    let call = |n: i64| fixtures::completed_call(acme, agent.id, CALL_START + n * 600, 6);
    let recorded_call = |mut c: NewCall| {
        c.recording_enabled = true;
        c.has_recording = true;
        c.recording_key = Some(RECORDING_KEY.into());
        c
    };
    let recorded = fixtures::store_call(store, &recorded_call(call(0))).await;
    set_recording_started_at(db, recorded, Some(CALL_START + RECORDING_OFFSET)).await;
    let unrecorded = fixtures::store_call(store, &call(1)).await;
    let mut pending = call(2);
    pending.recording_enabled = true;
    let pending = fixtures::store_call(store, &pending).await;
    let mut live = recorded_call(call(3));
    live.status = CallStatus::InProgress;
    live.disposition = None;
    live.ended_reason = None;
    live.ended_at = None;
    let live = fixtures::store_call(store, &live).await;

    let dir = TempDir::new();
    let server_key = ServerKey::generate();
    let recordings = match stores {
        Stores::Embedded => Some(RecordingStore::Embedded(EmbeddedStore::new(
            dir.0.join("recordings"),
            Keys::from_server_key(&server_key).recording_url,
        ))),
        // Nothing is fetched from this bucket: its URLs are only read.
        Stores::S3 => Some(RecordingStore::S3(
            Recordings::new(
                &RecordingsConfig {
                    bucket: "staffify-recordings".into(),
                    region: "eu-central-1".into(),
                    endpoint: Some("http://127.0.0.1:9/s3".into()),
                },
                AwsCredentials {
                    access_key_id: "AKIDCALLSCOPETEST".into(),
                    secret_access_key: "c2VjcmV0LWZvci10aGUtbG9vcGJhY2stczM".into(),
                    session_token: None,
                },
            )
            .unwrap(),
        )),
        Stores::None => None,
    };
    let audio = silent_mp3(12_000);
    if let Some(recordings) = &recordings
        && matches!(recordings, RecordingStore::Embedded(_))
    {
        recordings
            .put(RECORDING_KEY, audio.clone(), T0)
            .await
            .unwrap();
    }
    let clock = ManualClock::new(UnixTime(T0));
    let config = Config {
        recordings,
        server_key,
        debug_miss_limit: miss_limit,
        ..common::config()
    };
    let builder = Application::builder(config)
        .store(store.clone())
        .live(LiveStore::in_process())
        .clock(Arc::new(clock.clone()));
    World {
        server: TestServer::start_app(builder).await,
        clock,
        key: key.reveal().into(),
        recorded,
        unrecorded,
        pending,
        live,
        audio,
        _dir: dir,
    }
}

async fn world(db: &TestDb) -> World {
    world_with(db, Stores::Embedded, 1000).await
}

impl World {
    /// The owner's `GET …/debug-link{query}`: status and body.
    async fn issue(&self, call: CallId, query: &str) -> (StatusCode, Value) {
        let r = self
            .server
            .get(&format!("/v1/calls/{call}/debug-link{query}"), &self.key)
            .await;
        common::status_and_json(r).await
    }

    /// The token of the call's link issued with `query`.
    async fn token(&self, call: CallId, query: &str) -> String {
        let (status, link) = self.issue(call, query).await;
        assert_eq!(status, StatusCode::OK, "{link}");
        link["debug_token"].as_str().unwrap().to_owned()
    }

    /// The public JSON view of `token`.
    async fn view(&self, token: &str) -> Value {
        let r = self
            .fetch(&format!("/api/v1/call-debug/{token}"), None)
            .await;
        let (status, view) = common::status_and_json(r).await;
        assert_eq!(status, StatusCode::OK, "{view}");
        view
    }

    async fn fetch(&self, path: &str, range: Option<&str>) -> reqwest::Response {
        let mut request = self.server.client.get(self.server.url(path));
        if let Some(range) = range {
            request = request.header("range", range);
        }
        request.send().await.unwrap()
    }

    async fn revoke(&self, call: CallId) {
        let r = self
            .server
            .client
            .post(
                self.server
                    .url(&format!("/v1/calls/{call}/debug-link/revoke")),
            )
            .bearer_auth(&self.key)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::OK);
    }
}

/// Asserts `response` is the public link's one 404, byte for byte, with no caching.
async fn assert_link_not_found(response: reqwest::Response, what: &str) {
    assert_eq!(response.status(), StatusCode::NOT_FOUND, "{what}");
    assert_eq!(response.headers()["cache-control"], "no-store", "{what}");
    assert_eq!(
        response.headers()["referrer-policy"],
        "no-referrer",
        "{what}"
    );
    assert_eq!(
        response.text().await.unwrap(),
        NOT_FOUND_BODY,
        "{what}: the same answer as an unknown link"
    );
}

both_backends!(
    include_recording_is_fixed_at_issue_and_shown_to_the_owner,
    |db: TestDb| async move {
        let w = world(&db).await;
        // Default: false.
        let (status, plain) = w.issue(w.unrecorded, "").await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(plain["include_recording"], false);
        for field in [
            "debug_token",
            "url",
            "created_at",
            "expires_at",
            "view_count",
            "last_viewed_at",
        ] {
            assert!(plain.get(field).is_some(), "{field} kept: {plain}");
        }

        let (status, link) = w
            .issue(w.recorded, "?include_recording=true&expires_in=3600")
            .await;
        assert_eq!(status, StatusCode::OK, "{link}");
        assert_eq!(link["include_recording"], true);
        assert_eq!(link["expires_at"], "2026-01-15T11:00:00Z");
        let token = link["debug_token"].as_str().unwrap();

        // Asking again returns the link as issued, whatever the request says (as for
        // expires_in): revoke to change it.
        for query in ["", "?include_recording=false", "?expires_in=60"] {
            let (status, again) = w.issue(w.recorded, query).await;
            assert_eq!(status, StatusCode::OK);
            assert_eq!(again["debug_token"], token, "{query}");
            assert_eq!(again["include_recording"], true, "{query}");
            assert_eq!(again["expires_at"], "2026-01-15T11:00:00Z", "{query}");
        }
        w.revoke(w.recorded).await;
        let (_, fresh) = w.issue(w.recorded, "?include_recording=false").await;
        assert_ne!(fresh["debug_token"], token);
        assert_eq!(fresh["include_recording"], false);
        w.revoke(w.recorded).await;
        let (_, fresh) = w.issue(w.recorded, "").await;
        assert_eq!(fresh["include_recording"], false, "the default again");
    }
);

backend_independent!(
    include_recording_takes_true_or_false_only,
    |db: TestDb| async move {
        let w = world(&db).await;
        for bad in ["", "1", "0", "yes", "TRUE", "True", "false%20"] {
            let (status, body) = w
                .issue(w.recorded, &format!("?include_recording={bad}"))
                .await;
            assert_eq!(
                (status, body),
                (
                    StatusCode::BAD_REQUEST,
                    json!({"error": "include_recording must be true or false"})
                ),
                "{bad:?}"
            );
        }
        let (status, body) = w
            .issue(w.recorded, "?include_recording=true&include_recording=true")
            .await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        assert_eq!(
            body["error"],
            "Query parameter include_recording must be given at most once"
        );
        let (status, body) = w.issue(w.recorded, "?include_recordings=true").await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        assert_eq!(
            body["error"],
            "Unknown query parameter: include_recordings (allowed: expires_in, include_recording)"
        );
        // Nothing was issued by the refused requests.
        let (_, link) = w.issue(w.recorded, "").await;
        assert_eq!(link["include_recording"], false);
    }
);

both_backends!(
    the_view_carries_the_recording_only_for_links_that_include_it,
    |db: TestDb| async move {
        let w = world(&db).await;
        // A link without it: `recording` is there, and null.
        let plain = w.token(w.recorded, "").await;
        let view = w.view(&plain).await;
        assert!(view.as_object().unwrap().contains_key("recording"));
        assert_eq!(view["recording"], Value::Null);
        w.revoke(w.recorded).await;

        let token = w.token(w.recorded, "?include_recording=true").await;
        let view = w.view(&token).await;
        let recording = view["recording"].as_object().unwrap();
        assert_eq!(
            recording.len(),
            3,
            "url, expires_at, offset_seconds: {view}"
        );
        let url = recording["url"].as_str().unwrap();
        assert!(
            url.starts_with(&format!(
                "/api/v1/call-debug/{token}/recording?expires={}&signature=",
                T0 + 600
            )),
            "{url}"
        );
        assert_eq!(recording["expires_at"], "2026-01-15T10:10:00Z");
        assert_eq!(recording["offset_seconds"].as_f64(), Some(3.0));
        // Nothing else about the recording or the store leaks.
        let text = view.to_string();
        for secret in ["recordings/acme", "call one", "call%20one", "has_recording"] {
            assert!(!text.contains(secret), "{secret} leaked into {text}");
        }

        // Recording never enabled, or not stored yet: null, even with the link asking.
        for call in [w.unrecorded, w.pending] {
            let token = w.token(call, "?include_recording=true").await;
            assert_eq!(w.view(&token).await["recording"], Value::Null, "{call}");
        }

        // Unknown offset: the audio starts with the call.
        set_recording_started_at(&db, w.recorded, None).await;
        assert_eq!(
            w.view(&token).await["recording"]["offset_seconds"].as_f64(),
            Some(0.0)
        );

        // A link that expires sooner cuts the URL's life to its own.
        w.revoke(w.recorded).await;
        let token = w
            .token(w.recorded, "?include_recording=true&expires_in=120")
            .await;
        let recording = &w.view(&token).await["recording"];
        assert_eq!(recording["expires_at"], "2026-01-15T10:02:00Z");
        assert!(
            recording["url"]
                .as_str()
                .unwrap()
                .contains(&format!("?expires={}&", T0 + 120))
        );
    }
);

backend_independent!(
    no_store_configured_means_no_recording,
    |db: TestDb| async move {
        let w = world_with(&db, Stores::None, 1000).await;
        let token = w.token(w.recorded, "?include_recording=true").await;
        assert_eq!(w.view(&token).await["recording"], Value::Null);
    }
);

both_backends!(
    the_audio_route_serves_the_file_whole_and_in_ranges,
    |db: TestDb| async move {
        let w = world(&db).await;
        let token = w.token(w.recorded, "?include_recording=true").await;
        let url = w.view(&token).await["recording"]["url"]
            .as_str()
            .unwrap()
            .to_owned();
        let len = w.audio.len();

        let whole = w.fetch(&url, None).await;
        assert_eq!(whole.status(), StatusCode::OK);
        let h = whole.headers().clone();
        assert_eq!(h["content-type"], "audio/mpeg");
        assert_eq!(h["accept-ranges"], "bytes");
        assert_eq!(
            h["cache-control"], "private, no-cache",
            "kept by the browser only if the server says so each time"
        );
        assert_eq!(h["content-length"], len.to_string());
        assert_eq!(h["referrer-policy"], "no-referrer");
        assert_eq!(h["x-robots-tag"], "noindex, nofollow");
        assert_eq!(h["x-content-type-options"], "nosniff");
        assert_eq!(whole.bytes().await.unwrap().as_ref(), w.audio.as_slice());

        // A browser that has the audio asks before reusing it: a 304 while the link opens.
        let modified = h["last-modified"].to_str().unwrap().to_owned();
        let again = w
            .server
            .client
            .get(w.server.url(&url))
            .header("if-modified-since", &modified)
            .send()
            .await
            .unwrap();
        assert_eq!(again.status(), StatusCode::NOT_MODIFIED);
        assert_eq!(again.headers()["cache-control"], "private, no-cache");

        w.clock.advance(100);
        for (range, start, end) in [
            ("bytes=0-99", 0, 99),
            ("bytes=1000-", 1000, len - 1),
            ("bytes=-96", len - 96, len - 1),
        ] {
            let part = w.fetch(&url, Some(range)).await;
            assert_eq!(part.status(), StatusCode::PARTIAL_CONTENT, "{range}");
            let h = part.headers().clone();
            assert_eq!(
                h["content-range"],
                format!("bytes {start}-{end}/{len}"),
                "{range}"
            );
            assert_eq!(h["content-type"], "audio/mpeg");
            assert_eq!(h["cache-control"], "private, no-cache");
            assert_eq!(
                part.bytes().await.unwrap().as_ref(),
                &w.audio[start..=end],
                "{range}"
            );
        }
        let outside = w
            .fetch(&url, Some(&format!("bytes={len}-{}", len + 10)))
            .await;
        assert_eq!(outside.status(), StatusCode::RANGE_NOT_SATISFIABLE);
        assert_eq!(outside.headers()["content-range"], format!("bytes */{len}"));

        let head = w
            .server
            .client
            .head(w.server.url(&url))
            .send()
            .await
            .unwrap();
        assert_eq!(head.status(), StatusCode::OK);
        assert_eq!(head.headers()["content-type"], "audio/mpeg");
        assert!(head.bytes().await.unwrap().is_empty());

        // Opening the audio is not a view of the link (views are written every 250 ms:
        // wait for a few writes).
        tokio::time::sleep(Duration::from_millis(1_000)).await;
        let (_, link) = w.issue(w.recorded, "").await;
        assert_eq!(link["view_count"], 1, "the one JSON view above");
    }
);

both_backends!(
    revoking_the_link_stops_its_audio_with_the_links_404,
    |db: TestDb| async move {
        let w = world(&db).await;
        let token = w.token(w.recorded, "?include_recording=true").await;
        let url = w.view(&token).await["recording"]["url"]
            .as_str()
            .unwrap()
            .to_owned();
        assert_eq!(w.fetch(&url, None).await.status(), StatusCode::OK);
        let modified = w.fetch(&url, None).await.headers()["last-modified"].clone();
        w.revoke(w.recorded).await;
        assert_link_not_found(w.fetch(&url, None).await, "after revoke").await;
        let cached = w
            .server
            .client
            .get(w.server.url(&url))
            .header("if-modified-since", modified)
            .send()
            .await
            .unwrap();
        assert_link_not_found(cached, "a browser's revalidation").await;
        assert_link_not_found(w.fetch(&url, Some("bytes=0-99")).await, "a range").await;
        assert_link_not_found(
            w.fetch(&format!("/api/v1/call-debug/{token}"), None).await,
            "the view",
        )
        .await;
        // A new link of the same call does not bring the old URL back.
        let fresh = w.token(w.recorded, "?include_recording=true").await;
        assert_ne!(fresh, token);
        assert_link_not_found(w.fetch(&url, None).await, "after a reissue").await;
    }
);

both_backends!(
    expiry_stops_the_audio_of_the_link_and_of_the_url,
    |db: TestDb| async move {
        let w = world(&db).await;
        // The URL's own expiry (10 minutes) while the link lives on: a fresh view gives a
        // URL that works.
        let token = w.token(w.recorded, "?include_recording=true").await;
        let url = w.view(&token).await["recording"]["url"]
            .as_str()
            .unwrap()
            .to_owned();
        w.clock.advance(600);
        assert_eq!(w.fetch(&url, None).await.status(), StatusCode::OK);
        w.clock.advance(1);
        assert_link_not_found(w.fetch(&url, None).await, "past the URL's expiry").await;
        let fresh = w.view(&token).await["recording"]["url"]
            .as_str()
            .unwrap()
            .to_owned();
        assert_ne!(fresh, url);
        assert_eq!(w.fetch(&fresh, None).await.status(), StatusCode::OK);

        // The link's expiry, before the URL's.
        w.revoke(w.recorded).await;
        let token = w
            .token(w.recorded, "?include_recording=true&expires_in=120")
            .await;
        let url = w.view(&token).await["recording"]["url"]
            .as_str()
            .unwrap()
            .to_owned();
        w.clock.advance(119);
        assert_eq!(
            w.fetch(&url, Some("bytes=0-9")).await.status(),
            StatusCode::PARTIAL_CONTENT
        );
        w.clock.advance(1);
        assert_link_not_found(w.fetch(&url, None).await, "the link expired").await;
        assert_link_not_found(
            w.fetch(&format!("/api/v1/call-debug/{token}"), None).await,
            "the view of the expired link",
        )
        .await;
    }
);

both_backends!(
    a_suspended_accounts_audio_stops_until_reactivated,
    |db: TestDb| async move {
        let w = world(&db).await;
        let token = w.token(w.recorded, "?include_recording=true").await;
        let url = w.view(&token).await["recording"]["url"]
            .as_str()
            .unwrap()
            .to_owned();
        operator::set_account_status(&db.store, "acme", AccountStatus::Suspended, UnixTime(T0))
            .await
            .unwrap();
        assert_link_not_found(w.fetch(&url, None).await, "suspended").await;
        operator::set_account_status(&db.store, "acme", AccountStatus::Active, UnixTime(T0))
            .await
            .unwrap();
        assert_eq!(w.fetch(&url, None).await.status(), StatusCode::OK);
    }
);

both_backends!(
    only_a_link_that_includes_the_recording_reads_it,
    |db: TestDb| async move {
        let w = world(&db).await;
        let token = w.token(w.recorded, "").await;
        let token = DebugToken::parse(&token).unwrap();
        // A URL signed with the server's own key for this link, as if the view had given
        // one: the link does not include the recording, so the route refuses it.
        let mut conn = sqlx::AnyConnection::connect(&db.url).await.unwrap();
        let link_id: i64 = sqlx::query_scalar("SELECT id FROM debug_links WHERE call_id = $1")
            .bind(w.recorded.get())
            .fetch_one(&mut conn)
            .await
            .unwrap();
        conn.close().await.unwrap();
        let key = &w.server.state.keys.debug_recording_url;
        let forged = signed_path(key, &token, LinkId(link_id), RECORDING_KEY, T0 + 600);
        assert_link_not_found(w.fetch(&forged, None).await, "a link without it").await;

        // A tampered URL of a link that has it.
        w.revoke(w.recorded).await;
        let token = w.token(w.recorded, "?include_recording=true").await;
        let url = w.view(&token).await["recording"]["url"]
            .as_str()
            .unwrap()
            .to_owned();
        let (path, query) = url.split_once('?').unwrap();
        let (expires, signature) = query.split_once("&signature=").unwrap();
        let later = format!("expires={}", T0 + 6000);
        for bad in [
            format!("{path}?{later}&signature={signature}"),
            format!("{path}?{expires}&signature=A{signature}"),
            format!("{path}?{expires}"),
            path.to_owned(),
            format!("{path}?{expires}&signature={signature}&signature={signature}"),
        ] {
            assert_link_not_found(w.fetch(&bad, None).await, &bad).await;
        }
        // The same query on another link's path.
        let other = w.token(w.live, "?include_recording=true").await;
        let moved = url.replace(&token, &other);
        assert_link_not_found(w.fetch(&moved, None).await, "another link's path").await;
        // The URL itself still works: the refusals changed nothing.
        assert_eq!(w.fetch(&url, None).await.status(), StatusCode::OK);
    }
);

backend_independent!(
    misses_on_the_audio_route_count_against_the_client,
    |db: TestDb| async move {
        let w = world_with(&db, Stores::Embedded, 2).await;
        let unknown = DebugToken::generate();
        let path = format!(
            "/api/v1/call-debug/{}/recording?expires={}&signature=x",
            unknown.as_str(),
            T0 + 600
        );
        for _ in 0..2 {
            assert_link_not_found(w.fetch(&path, None).await, "a miss").await;
        }
        let refused = w.fetch(&path, None).await;
        assert_eq!(refused.status(), StatusCode::TOO_MANY_REQUESTS);
        assert!(refused.headers().contains_key("retry-after"));
    }
);

backend_independent!(
    an_s3_store_gives_a_short_presigned_url,
    |db: TestDb| async move {
        let w = world_with(&db, Stores::S3, 1000).await;
        let token = w.token(w.recorded, "?include_recording=true").await;
        let recording = w.view(&token).await["recording"].clone();
        let url = url::Url::parse(recording["url"].as_str().unwrap()).unwrap();
        assert_eq!(url.origin().ascii_serialization(), "http://127.0.0.1:9");
        assert_eq!(
            url.path(),
            "/s3/staffify-recordings/recordings/acme/call%20one.mp3"
        );
        let query: std::collections::HashMap<String, String> =
            url.query_pairs().into_owned().collect();
        assert_eq!(query["X-Amz-Expires"], "600");
        assert_eq!(query["X-Amz-Date"], "20260115T100000Z");
        assert_eq!(recording["expires_at"], "2026-01-15T10:10:00Z");
        assert_eq!(recording["offset_seconds"].as_f64(), Some(3.0));

        w.revoke(w.recorded).await;
        let token = w
            .token(w.recorded, "?include_recording=true&expires_in=90")
            .await;
        let recording = w.view(&token).await["recording"].clone();
        let url = url::Url::parse(recording["url"].as_str().unwrap()).unwrap();
        assert!(url.query().unwrap().contains("X-Amz-Expires=90&"), "{url}");
        assert_eq!(recording["expires_at"], "2026-01-15T10:01:30Z");
    }
);

/// The first `snapshot` event's data on the link's live stream.
async fn first_snapshot(w: &World, token: &str) -> Value {
    let mut response = w
        .server
        .client
        .get(w.server.url(&format!("/api/v1/call-debug/{token}/events")))
        .header("accept", "text/event-stream")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let mut text = String::new();
    let read = async {
        while let Some(chunk) = response.chunk().await.unwrap() {
            text.push_str(std::str::from_utf8(&chunk).unwrap());
            // Whole frames only: each ends with a blank line.
            let (whole, _) = text.rsplit_once("\n\n").unwrap_or_default();
            let snapshot = whole
                .split("\n\n")
                .find(|f| f.lines().any(|l| l == "event: snapshot"));
            if let Some(frame) = snapshot {
                let data: String = frame
                    .lines()
                    .filter_map(|l| l.strip_prefix("data: "))
                    .collect();
                return serde_json::from_str::<Value>(&data).unwrap();
            }
        }
        panic!("the stream ended before a snapshot: {text}");
    };
    tokio::time::timeout(Duration::from_secs(10), read)
        .await
        .expect("a snapshot within 10 s")
}

both_backends!(
    the_live_stream_never_carries_the_recording,
    |db: TestDb| async move {
        let w = world(&db).await;
        let token = w.token(w.live, "?include_recording=true").await;
        // The JSON view of a link that includes it does.
        assert!(w.view(&token).await["recording"]["url"].is_string());
        let snapshot = first_snapshot(&w, &token).await;
        assert_eq!(snapshot["call_id"], w.live.to_string());
        assert!(snapshot.as_object().unwrap().contains_key("recording"));
        assert_eq!(snapshot["recording"], Value::Null, "{snapshot}");
        assert!(!snapshot.to_string().contains("/recording?"));
    }
);
