//! `GET /v1/calls/:callId/recording` over real HTTP (the recording states on both backends),
//! and the URLs it returns fetched from a loopback "S3" (`common::fake_s3`) that checks
//! Signature V4 query auth and expiry the way S3 documents it. The recordings stores:
//! uploads to that S3, and the embedded store's files served by the server itself at
//! HMAC-signed URLs (ranges, one 404 for every URL that does not lead to a recording).

use crate::common;

use std::collections::HashMap;
use std::sync::Arc;

use callscope_server::application::Application;
use callscope_server::auth::{KeyMode, create_key};
use callscope_server::clock::{ManualClock, UnixTime};
use callscope_server::config::Config;
use callscope_server::live::LiveStore;
use callscope_server::recordings::embedded::EmbeddedStore;
use callscope_server::recordings::{RecordingStore, Recordings, RecordingsConfig, StoreFailure};
use callscope_server::secrets::{Keys, ServerKey};
use callscope_server::storage::{NewCall, Store};
use callscope_shared::{CallId, Timestamp};
use common::fake_s3::{
    ACCESS_KEY, BUCKET, FakeS3, REGION, SECRET_KEY, SESSION_TOKEN, credentials, recordings,
};
use common::{TempDir, TestDb, TestServer, fixtures};
use hmac::{Hmac, Mac};
use reqwest::StatusCode;
use serde_json::Value;
use sha2::Sha256;

const RECORDING_KEY: &str = "recordings/2026/01/call one.wav";
const RECORDING_BYTES: &[u8] = b"RIFF\x24\x00\x00\x00WAVEfmt fake recording bytes";

fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

// ---------------------------------------------------------------------------------------
// The API side.

struct World {
    server: TestServer,
    s3: FakeS3,
    key: String,
    other_key: String,
    recorded: CallId,
    not_enabled: CallId,
    pending: CallId,
    pending_without_key: CallId,
    key_without_flag: CallId,
    other_accounts: CallId,
}

async fn insert(store: &Store, call: NewCall, edit: impl FnOnce(&mut NewCall)) -> CallId {
    let mut call = call;
    edit(&mut call);
    fixtures::store_call(store, &call).await
}

/// Calls in every recording state, and a server with or without recordings configured.
async fn world(db: &TestDb, configured: bool) -> World {
    let store = &db.store;
    let key = create_key(store, "acme", KeyMode::Live, UnixTime(1))
        .await
        .unwrap();
    let other_key = create_key(store, "globex", KeyMode::Live, UnixTime(1))
        .await
        .unwrap();
    let acme = store.account_id("acme").await.unwrap().unwrap();
    let globex = store.account_id("globex").await.unwrap().unwrap();
    let agent = fixtures::agent(store, acme, 1).await;
    let other_agent = fixtures::agent(store, globex, 2).await;
    let at = 1_768_471_200;
    let call = |account, agent, n: i64| fixtures::completed_call(account, agent, at + n * 600, 4);
    let recorded = insert(store, call(acme, agent.id, 0), |c| {
        c.recording_enabled = true;
        c.has_recording = true;
        c.recording_key = Some(RECORDING_KEY.into());
    })
    .await;
    let not_enabled = insert(store, call(acme, agent.id, 1), |_| {}).await;
    let pending = insert(store, call(acme, agent.id, 2), |c| {
        c.recording_enabled = true;
        c.recording_key = Some("recordings/pending.wav".into());
    })
    .await;
    let pending_without_key = insert(store, call(acme, agent.id, 3), |c| {
        c.recording_enabled = true;
    })
    .await;
    let key_without_flag = insert(store, call(acme, agent.id, 4), |c| {
        c.recording_enabled = true;
        c.has_recording = true;
        c.recording_key = None;
    })
    .await;
    let other_accounts = insert(store, call(globex, other_agent.id, 5), |c| {
        c.recording_enabled = true;
        c.has_recording = true;
        c.recording_key = Some(RECORDING_KEY.into());
    })
    .await;
    let s3 = FakeS3::start(&[(BUCKET, RECORDING_KEY, RECORDING_BYTES)], &credentials()).await;
    let config = Config {
        dist: "/nonexistent".into(),
        recordings: configured.then(|| RecordingStore::S3(recordings(s3.endpoint()))),
        ..common::config()
    };
    World {
        server: TestServer::start_with(store.clone(), LiveStore::in_process(), config).await,
        s3,
        key: key.reveal().into(),
        other_key: other_key.reveal().into(),
        recorded,
        not_enabled,
        pending,
        pending_without_key,
        key_without_flag,
        other_accounts,
    }
}

impl World {
    async fn get(&self, call: CallId, query: &str) -> reqwest::Response {
        self.server
            .get(&format!("/v1/calls/{call}/recording{query}"), &self.key)
            .await
    }
}

async fn error_of(response: reqwest::Response) -> (StatusCode, String) {
    let status = response.status();
    assert_eq!(
        response.headers()["content-type"],
        "application/json",
        "error bodies are JSON"
    );
    let body: Value = response.json().await.unwrap();
    let obj = body.as_object().unwrap();
    assert_eq!(obj.len(), 1, "exactly one field: {body}");
    (status, obj["error"].as_str().unwrap().to_owned())
}

/// The answer of a 200, checked for shape; with the URL parsed and the instants around it.
struct Link {
    url: url::Url,
    expires_at: i64,
    query: HashMap<String, String>,
}

async fn link_of(w: &World, call: CallId, query: &str, expires_in: i64) -> Link {
    let before = now();
    let response = w.get(call, query).await;
    let after = now();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(
        response.headers()["cache-control"],
        "no-store",
        "a pre-signed URL is a credential: no cache keeps it"
    );
    let body: Value = response.json().await.unwrap();
    let obj = body.as_object().unwrap();
    assert_eq!(obj.len(), 2, "url and expires_at only: {body}");
    let expires_text = obj["expires_at"].as_str().unwrap();
    let expires_at = Timestamp::parse(expires_text).unwrap();
    // RFC 3339, UTC, whole seconds.
    assert_eq!(expires_text, expires_at.to_string());
    assert!(
        expires_text.ends_with('Z') && expires_text.len() == 20,
        "{expires_text}"
    );
    let expires_at = expires_at.unix();
    assert!(
        (before + expires_in..=after + expires_in).contains(&expires_at),
        "expires_at {expires_at} not now + {expires_in} (now {before}..={after})"
    );
    let url = url::Url::parse(obj["url"].as_str().unwrap()).unwrap();
    let query = url.query_pairs().into_owned().collect();
    Link {
        url,
        expires_at,
        query,
    }
}

backend_independent!(
    a_recorded_call_gets_a_presigned_url_that_fetches_the_recording,
    |db: TestDb| async move {
        let w = world(&db, true).await;
        let link = link_of(&w, w.recorded, "?expires_in=7200", 7200).await;
        let url = &link.url;
        assert_eq!(url.scheme(), "http");
        assert_eq!(url.host_str(), Some("127.0.0.1"));
        assert_eq!(url.port(), Some(w.s3.addr.port()));
        assert_eq!(
            url.path(),
            format!("/{BUCKET}/recordings/2026/01/call%20one.wav")
        );
        let q = &link.query;
        assert_eq!(q["X-Amz-Algorithm"], "AWS4-HMAC-SHA256");
        assert_eq!(q["X-Amz-Expires"], "7200");
        assert_eq!(q["X-Amz-SignedHeaders"], "host");
        assert_eq!(q["X-Amz-Security-Token"], SESSION_TOKEN);
        let scope: Vec<&str> = q["X-Amz-Credential"].split('/').collect();
        assert_eq!(scope.len(), 5, "{scope:?}");
        assert_eq!(scope[0], ACCESS_KEY);
        assert_eq!(scope[2], REGION);
        assert_eq!(&scope[3..], ["s3", "aws4_request"]);
        // Signed at now: X-Amz-Date + X-Amz-Expires is the expires_at the API reported.
        let format =
            time::macros::format_description!("[year][month][day]T[hour][minute][second]Z");
        let signed_at = time::PrimitiveDateTime::parse(&q["X-Amz-Date"], format)
            .unwrap()
            .assume_utc();
        assert_eq!(signed_at.unix_timestamp() + 7200, link.expires_at);
        assert!(q["X-Amz-Date"].starts_with(scope[1]));
        assert_eq!(q["X-Amz-Signature"].len(), 64);
        assert!(!url.as_str().contains(SECRET_KEY));

        let fetched = reqwest::get(url.clone()).await.unwrap();
        assert_eq!(fetched.status(), StatusCode::OK);
        assert_eq!(fetched.bytes().await.unwrap().as_ref(), RECORDING_BYTES);

        // Each edge of the range is accepted.
        for (query, secs) in [("?expires_in=60", 60), ("?expires_in=86400", 86_400)] {
            let link = link_of(&w, w.recorded, query, secs).await;
            assert_eq!(link.query["X-Amz-Expires"], secs.to_string());
            let fetched = reqwest::get(link.url).await.unwrap();
            assert_eq!(fetched.status(), StatusCode::OK, "{query}");
        }
    }
);

backend_independent!(expiry_defaults_to_an_hour, |db: TestDb| async move {
    let w = world(&db, true).await;
    let link = link_of(&w, w.recorded, "", 3600).await;
    assert_eq!(link.query["X-Amz-Expires"], "3600");
});

both_backends!(
    calls_without_a_recording_are_404s_with_the_spec_messages,
    |db: TestDb| async move {
        let w = world(&db, true).await;
        let cases = [
            (w.not_enabled, "Recording was not enabled for this call"),
            (w.pending, "Recording not yet available"),
            (w.pending_without_key, "Recording not yet available"),
            (w.key_without_flag, "Recording not yet available"),
            (w.other_accounts, "Call not found"),
            (CallId::new(99_999_999).unwrap(), "Call not found"),
        ];
        for (call, message) in cases {
            assert_eq!(
                error_of(w.get(call, "").await).await,
                (StatusCode::NOT_FOUND, message.into()),
                "{call}"
            );
        }
        let malformed = w.server.get("/v1/calls/call_12/recording", &w.key).await;
        assert_eq!(
            error_of(malformed).await,
            (StatusCode::NOT_FOUND, "Call not found".into())
        );
        // The owner of the other call gets its link; acme's call is not found for them.
        let theirs = w
            .server
            .get(
                &format!("/v1/calls/{}/recording", w.other_accounts),
                &w.other_key,
            )
            .await;
        assert_eq!(theirs.status(), StatusCode::OK);
        let ours = w
            .server
            .get(&format!("/v1/calls/{}/recording", w.recorded), &w.other_key)
            .await;
        assert_eq!(
            error_of(ours).await,
            (StatusCode::NOT_FOUND, "Call not found".into())
        );
    }
);

backend_independent!(bad_query_parameters_are_400s, |db: TestDb| async move {
    let w = world(&db, true).await;
    let range = "expires_in must be an integer between 60 and 86400";
    for query in [
        "?expires_in=59",
        "?expires_in=86401",
        "?expires_in=abc",
        "?expires_in=",
        "?expires_in=3600.5",
        "?expires_in=-3600",
        "?expires_in=99999999999999999999",
    ] {
        assert_eq!(
            error_of(w.get(w.recorded, query).await).await,
            (StatusCode::BAD_REQUEST, range.into()),
            "{query}"
        );
    }
    assert_eq!(
        error_of(w.get(w.recorded, "?expires_in=60&expires_in=120").await).await,
        (
            StatusCode::BAD_REQUEST,
            "Query parameter expires_in must be given at most once".into()
        )
    );
    assert_eq!(
        error_of(w.get(w.recorded, "?expires=600").await).await,
        (
            StatusCode::BAD_REQUEST,
            "Unknown query parameter: expires (allowed: expires_in)".into()
        )
    );
});

backend_independent!(
    a_server_without_recordings_configured_answers_503,
    |db: TestDb| async move {
        let w = world(&db, false).await;
        assert_eq!(
            error_of(w.get(w.recorded, "").await).await,
            (
                StatusCode::SERVICE_UNAVAILABLE,
                "Recordings are not configured on this server".into()
            )
        );
        // Calls without a recording still get their own answers.
        assert_eq!(
            error_of(w.get(w.not_enabled, "").await).await,
            (
                StatusCode::NOT_FOUND,
                "Recording was not enabled for this call".into()
            )
        );
        assert_eq!(
            error_of(w.get(w.pending, "").await).await,
            (StatusCode::NOT_FOUND, "Recording not yet available".into())
        );
    }
);

backend_independent!(an_api_key_is_required, |db: TestDb| async move {
    let w = world(&db, true).await;
    let url = w.server.url(&format!("/v1/calls/{}/recording", w.recorded));
    let missing = w.server.client.get(&url).send().await.unwrap();
    assert_eq!(missing.headers()["www-authenticate"], "Bearer");
    assert_eq!(
        error_of(missing).await,
        (StatusCode::UNAUTHORIZED, "Missing API key".into())
    );
    let unknown = w
        .server
        .client
        .get(&url)
        .bearer_auth("sfy_live_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA")
        .send()
        .await
        .unwrap();
    assert_eq!(
        error_of(unknown).await,
        (StatusCode::UNAUTHORIZED, "Invalid API key".into())
    );
});

/// The loopback S3 itself refuses what S3 refuses, so the success above means something.
#[tokio::test]
async fn the_loopback_s3_refuses_expired_unsigned_and_tampered_urls() {
    let s3 = FakeS3::start(&[(BUCKET, RECORDING_KEY, RECORDING_BYTES)], &credentials()).await;
    let r = recordings(s3.endpoint());
    let fetch = |url: String| async move {
        let response = reqwest::get(url).await.unwrap();
        let status = response.status();
        let content_type = response.headers()["content-type"]
            .to_str()
            .unwrap()
            .to_owned();
        let body = response.text().await.unwrap();
        (status, content_type, body)
    };
    let code = |body: &str| {
        let start = body.find("<Code>").unwrap() + "<Code>".len();
        let end = body.find("</Code>").unwrap();
        body[start..end].to_owned()
    };

    let fresh = r.presign_get(RECORDING_KEY, 60, now()).unwrap().to_string();
    let (status, _, _) = fetch(fresh.clone()).await;
    assert_eq!(status, StatusCode::OK);

    // Signed two minutes ago for one minute: past X-Amz-Date + X-Amz-Expires.
    let expired = r.presign_get(RECORDING_KEY, 60, now() - 120).unwrap();
    let (status, content_type, body) = fetch(expired.to_string()).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_eq!(content_type, "application/xml");
    assert_eq!(code(&body), "AccessDenied");
    assert!(body.contains("Request has expired"), "{body}");

    // Signed long ago for a day, still inside the window: fine.
    let old_but_valid = r.presign_get(RECORDING_KEY, 86_400, now() - 3_600).unwrap();
    assert_eq!(fetch(old_but_valid.to_string()).await.0, StatusCode::OK);

    let unsigned = format!(
        "{}/{BUCKET}/{}",
        s3.endpoint(),
        "recordings/2026/01/call%20one.wav"
    );
    let (status, _, body) = fetch(unsigned).await;
    assert_eq!(
        (status, code(&body).as_str()),
        (StatusCode::FORBIDDEN, "AccessDenied")
    );

    let mut without_signature = url::Url::parse(&fresh).unwrap();
    let kept: Vec<(String, String)> = without_signature
        .query_pairs()
        .into_owned()
        .filter(|(n, _)| n != "X-Amz-Signature")
        .collect();
    without_signature
        .query_pairs_mut()
        .clear()
        .extend_pairs(kept);
    let (status, _, body) = fetch(without_signature.to_string()).await;
    assert_eq!(
        (status, code(&body).as_str()),
        (StatusCode::FORBIDDEN, "AccessDenied")
    );

    // Stretching the expiry, or pointing the signature at another object, breaks it.
    let stretched = fresh.replace("X-Amz-Expires=60", "X-Amz-Expires=604800");
    assert_ne!(stretched, fresh);
    let (status, _, body) = fetch(stretched).await;
    assert_eq!(
        (status, code(&body).as_str()),
        (StatusCode::FORBIDDEN, "SignatureDoesNotMatch")
    );
    let elsewhere = fresh.replace("call%20one.wav", "call%20two.wav");
    assert_ne!(elsewhere, fresh);
    let (status, _, body) = fetch(elsewhere).await;
    assert_eq!(
        (status, code(&body).as_str()),
        (StatusCode::FORBIDDEN, "SignatureDoesNotMatch")
    );

    // Another secret signs nothing this S3 accepts.
    let mut wrong = credentials();
    wrong.secret_access_key = "not-the-secret".into();
    let forged = Recordings::new(
        &RecordingsConfig {
            bucket: BUCKET.into(),
            region: REGION.into(),
            endpoint: Some(s3.endpoint()),
        },
        wrong,
    )
    .unwrap()
    .presign_get(RECORDING_KEY, 60, now())
    .unwrap();
    let (status, _, body) = fetch(forged.to_string()).await;
    assert_eq!(
        (status, code(&body).as_str()),
        (StatusCode::FORBIDDEN, "SignatureDoesNotMatch")
    );

    // A correctly signed URL to a missing object is S3's 404.
    let missing = r.presign_get("recordings/none.wav", 60, now()).unwrap();
    let (status, _, body) = fetch(missing.to_string()).await;
    assert_eq!(
        (status, code(&body).as_str()),
        (StatusCode::NOT_FOUND, "NoSuchKey")
    );
}

// ---------------------------------------------------------------------------------------
// The S3 store: uploads signed with Signature V4, read back through the pre-signed GET.

#[tokio::test]
async fn the_s3_store_uploads_with_sigv4_and_reads_back_through_the_presigned_get() {
    let s3 = FakeS3::start(&[], &credentials()).await;
    let store = RecordingStore::S3(recordings(s3.endpoint()));
    let key = "recordings/2026/01/call two.mp3";
    let audio: Vec<u8> = (0..5_000u32).map(|i| (i * 7 % 251) as u8).collect();
    store.put(key, audio.clone(), now()).await.unwrap();
    // The fake accepted it only because the signature checked out.
    assert_eq!(
        s3.object(key),
        Some((audio.clone(), Some("audio/mpeg".into())))
    );

    let url = store.signed_url(key, 60, now()).unwrap();
    let fetched = reqwest::get(&url).await.unwrap();
    assert_eq!(fetched.status(), StatusCode::OK);
    assert_eq!(fetched.headers()["content-type"], "audio/mpeg");
    assert_eq!(fetched.bytes().await.unwrap().as_ref(), audio.as_slice());

    // A PUT the fake cannot verify is refused, and the store reports it.
    let unsigned = reqwest::Client::new()
        .put(format!(
            "{}/{BUCKET}/recordings/unsigned.mp3",
            s3.endpoint()
        ))
        .body("x")
        .send()
        .await
        .unwrap();
    assert_eq!(unsigned.status(), StatusCode::FORBIDDEN);
    let mut wrong = credentials();
    wrong.secret_access_key = "not-the-secret".into();
    let forged = RecordingStore::S3(
        Recordings::new(
            &RecordingsConfig {
                bucket: BUCKET.into(),
                region: REGION.into(),
                endpoint: Some(s3.endpoint()),
            },
            wrong,
        )
        .unwrap(),
    );
    assert!(matches!(
        forged.put(key, b"forged".to_vec(), now()).await,
        Err(StoreFailure::S3Status(403))
    ));
    assert!(matches!(
        forged.delete(key, now()).await,
        Err(StoreFailure::S3Status(403))
    ));
    assert_eq!(s3.object(key).unwrap().0, audio);

    // Keys that would leave the bucket are never sent.
    for bad in ["", "/x.mp3", "a/../../x.mp3"] {
        assert!(matches!(
            store.put(bad, b"x".to_vec(), now()).await,
            Err(StoreFailure::BadKey)
        ));
    }

    // Delete, then delete what is no longer there: both fine.
    store.delete(key, now()).await.unwrap();
    assert_eq!(s3.object(key), None);
    store.delete(key, now()).await.unwrap();
    assert_eq!(
        reqwest::get(&url).await.unwrap().status(),
        StatusCode::NOT_FOUND
    );
}

// ---------------------------------------------------------------------------------------
// The embedded store: files under a folder, served by the server at signed URLs.

const T0: i64 = 1_768_471_200;
const EMBEDDED_KEY: &str = "recordings/agent_1/call one.mp3";

/// A server whose recordings are the embedded store under a temporary folder, on a manual
/// clock at `T0`.
struct Embedded {
    server: TestServer,
    store: RecordingStore,
    clock: ManualClock,
    server_key: ServerKey,
    dir: TempDir,
    audio: Vec<u8>,
}

async fn embedded(db: &TestDb) -> Embedded {
    let dir = TempDir::new();
    let server_key = ServerKey::generate();
    let store = RecordingStore::Embedded(EmbeddedStore::new(
        dir.0.join("recordings"),
        Keys::from_server_key(&server_key).recording_url,
    ));
    let clock = ManualClock::new(UnixTime(T0));
    let config = Config {
        recordings: Some(store.clone()),
        server_key: server_key.clone(),
        ..common::config()
    };
    let builder = Application::builder(config)
        .store(db.store.clone())
        .live(LiveStore::in_process())
        .clock(Arc::new(clock.clone()));
    let server = TestServer::start_app(builder).await;
    let audio: Vec<u8> = (0..1_000u32).map(|i| (i * 13 % 256) as u8).collect();
    store.put(EMBEDDED_KEY, audio.clone(), T0).await.unwrap();
    Embedded {
        server,
        store,
        clock,
        server_key,
        dir,
        audio,
    }
}

impl Embedded {
    async fn fetch(&self, path: &str, range: Option<&str>) -> reqwest::Response {
        let mut request = self.server.client.get(self.server.url(path));
        if let Some(range) = range {
            request = request.header("range", range);
        }
        request.send().await.unwrap()
    }
}

backend_independent!(
    embedded_urls_serve_the_file_whole_and_in_ranges,
    |db: TestDb| async move {
        let e = embedded(&db).await;
        let path = e.store.signed_url(EMBEDDED_KEY, 600, T0).unwrap();
        assert!(
            path.starts_with(
                "/recordings/recordings/agent_1/call%20one.mp3?expires=1768471800&signature="
            ),
            "{path}"
        );

        let whole = e.fetch(&path, None).await;
        assert_eq!(whole.status(), StatusCode::OK);
        let h = whole.headers().clone();
        assert_eq!(h["content-type"], "audio/mpeg");
        assert_eq!(h["accept-ranges"], "bytes");
        assert_eq!(h["cache-control"], "private, max-age=600");
        assert_eq!(h["content-length"], "1000");
        assert_eq!(whole.bytes().await.unwrap().as_ref(), e.audio.as_slice());

        // The cache may keep it no longer than the URL works.
        e.clock.advance(590);
        let later = e.fetch(&path, None).await;
        assert_eq!(later.headers()["cache-control"], "private, max-age=10");

        for (range, start, end) in [
            ("bytes=0-99", 0, 99),
            ("bytes=900-", 900, 999),
            ("bytes=-10", 990, 999),
            ("bytes=500-5000", 500, 999),
        ] {
            let part = e.fetch(&path, Some(range)).await;
            assert_eq!(part.status(), StatusCode::PARTIAL_CONTENT, "{range}");
            let h = part.headers().clone();
            assert_eq!(
                h["content-range"],
                format!("bytes {start}-{end}/1000"),
                "{range}"
            );
            assert_eq!(h["content-type"], "audio/mpeg");
            assert_eq!(h["cache-control"], "private, max-age=10");
            assert_eq!(
                part.bytes().await.unwrap().as_ref(),
                &e.audio[start..=end],
                "{range}"
            );
        }

        let outside = e.fetch(&path, Some("bytes=1000-1100")).await;
        assert_eq!(outside.status(), StatusCode::RANGE_NOT_SATISFIABLE);
        assert_eq!(outside.headers()["content-range"], "bytes */1000");
        assert_eq!(
            error_of(outside).await,
            (
                StatusCode::RANGE_NOT_SATISFIABLE,
                "Range Not Satisfiable".into()
            )
        );

        // HEAD: the headers alone.
        let head = e
            .server
            .client
            .head(e.server.url(&path))
            .send()
            .await
            .unwrap();
        assert_eq!(head.status(), StatusCode::OK);
        assert_eq!(head.headers()["content-type"], "audio/mpeg");
        assert_eq!(head.headers()["content-length"], "1000");
        assert!(head.bytes().await.unwrap().is_empty());

        // Never compressed (MP3 is compressed already; ranges are of the file's bytes).
        let plain = e
            .server
            .client
            .get(e.server.url(&path))
            .header("accept-encoding", "br, gzip")
            .send()
            .await
            .unwrap();
        assert!(plain.headers().get("content-encoding").is_none());
        assert_eq!(plain.headers()["accept-ranges"], "bytes");
        assert_eq!(plain.bytes().await.unwrap().as_ref(), e.audio.as_slice());
    }
);

backend_independent!(
    every_embedded_url_that_does_not_lead_to_a_recording_is_the_same_404,
    |db: TestDb| async move {
        let e = embedded(&db).await;
        let good = e.store.signed_url(EMBEDDED_KEY, 60, T0).unwrap();
        let (path, query) = good.split_once('?').unwrap();
        let signature = query.split_once("&signature=").unwrap().1;

        // Another server key signs nothing this server accepts.
        let other = EmbeddedStore::new(
            e.dir.0.join("recordings"),
            ServerKey::generate().derive("recording-url/v1"),
        );
        let foreign = other.signed_path(EMBEDDED_KEY, 60, T0).unwrap();
        // The signature of another (stored) file, on this one's path.
        e.store
            .put("recordings/other.mp3", b"other".to_vec(), T0)
            .await
            .unwrap();
        let other_file = e.store.signed_url("recordings/other.mp3", 60, T0).unwrap();
        let other_signature = other_file.split_once("&signature=").unwrap().1;
        let missing = e
            .store
            .signed_url("recordings/never-stored.mp3", 60, T0)
            .unwrap();
        let folder = e.store.signed_url("recordings/agent_1", 60, T0).unwrap();
        let mut flipped = signature.to_owned();
        let first = if flipped.starts_with('A') { "B" } else { "A" };
        flipped.replace_range(0..1, first);

        let bad = [
            format!("{path}?expires={}&signature={flipped}", T0 + 60),
            format!("{path}?expires={}&signature={signature}", T0 + 61),
            format!("{path}?expires=0{}&signature={signature}", T0 + 60),
            format!("{path}?expires={}&signature={other_signature}", T0 + 60),
            format!("{path}?expires={}", T0 + 60),
            format!("{path}?signature={signature}"),
            path.to_owned(),
            format!("{good}&signature={signature}"),
            format!("{good}="),
            good.replace("call%20one", "call%20two"),
            foreign,
            missing,
            folder,
            "/recordings/".to_owned(),
        ];
        let reference = e.fetch(&bad[0], None).await;
        assert_eq!(reference.status(), StatusCode::NOT_FOUND);
        assert_eq!(reference.headers()["content-type"], "application/json");
        let reference_body = reference.bytes().await.unwrap();
        assert_eq!(reference_body.as_ref(), br#"{"error":"Not found"}"#);
        for url in &bad {
            let response = e.fetch(url, Some("bytes=0-9")).await;
            assert_eq!(response.status(), StatusCode::NOT_FOUND, "{url}");
            assert_eq!(
                response.headers()["content-type"],
                "application/json",
                "{url}"
            );
            assert_eq!(response.bytes().await.unwrap(), reference_body, "{url}");
        }

        // Good until its expiry, inclusive; the same 404 one second later.
        assert_eq!(e.fetch(&good, None).await.status(), StatusCode::OK);
        e.clock.advance(60);
        assert_eq!(e.fetch(&good, None).await.status(), StatusCode::OK);
        e.clock.advance(1);
        let expired = e.fetch(&good, None).await;
        assert_eq!(expired.status(), StatusCode::NOT_FOUND);
        assert_eq!(expired.bytes().await.unwrap(), reference_body);

        // Deleted: the same 404 (and deleting again is fine).
        let fresh = e.store.signed_url(EMBEDDED_KEY, 60, T0 + 61).unwrap();
        assert_eq!(e.fetch(&fresh, None).await.status(), StatusCode::OK);
        e.store.delete(EMBEDDED_KEY, T0).await.unwrap();
        e.store.delete(EMBEDDED_KEY, T0).await.unwrap();
        let gone = e.fetch(&fresh, None).await;
        assert_eq!(gone.status(), StatusCode::NOT_FOUND);
        assert_eq!(gone.bytes().await.unwrap(), reference_body);
    }
);

backend_independent!(
    embedded_keys_cannot_leave_the_folder,
    |db: TestDb| async move {
        let e = embedded(&db).await;
        // A secret beside the recordings folder.
        std::fs::write(e.dir.0.join("callscope.key"), b"secret").unwrap();
        for bad in [
            "",
            "/etc/passwd",
            "../callscope.key",
            "recordings/../../callscope.key",
            "a//b.mp3",
            "a/./b.mp3",
            "a/..",
            ".hidden.mp3",
            "a/.tmp-x",
            "a\\..\\b.mp3",
            "a\u{0}b.mp3",
            "trailing/",
        ] {
            assert!(
                matches!(
                    e.store.put(bad, b"x".to_vec(), T0).await,
                    Err(StoreFailure::BadKey)
                ),
                "{bad:?}"
            );
            assert!(
                matches!(e.store.delete(bad, T0).await, Err(StoreFailure::BadKey)),
                "{bad:?}"
            );
            assert!(e.store.signed_url(bad, 60, T0).is_err(), "{bad:?}");
        }
        assert!(e.dir.0.join("callscope.key").exists());

        // Even correctly signed, a key out of the folder is not served.
        let key = Keys::from_server_key(&e.server_key).recording_url;
        let expires = T0 + 60;
        for (escape, encoded) in [
            ("../callscope.key", "..%2Fcallscope.key"),
            ("../callscope.key", "%2E%2E/callscope.key"),
        ] {
            let mut mac = Hmac::<Sha256>::new_from_slice(&key).unwrap();
            mac.update(format!("callscope-recording/v1\n{expires}\n{escape}").as_bytes());
            let signature = base64::Engine::encode(
                &base64::engine::general_purpose::URL_SAFE_NO_PAD,
                mac.finalize().into_bytes(),
            );
            let url = format!("/recordings/{encoded}?expires={expires}&signature={signature}");
            let response = e.fetch(&url, None).await;
            assert_eq!(response.status(), StatusCode::NOT_FOUND, "{url}");
            assert_eq!(
                response.bytes().await.unwrap().as_ref(),
                br#"{"error":"Not found"}"#
            );
        }

        // Writes are whole: no temporary file is left, and a second put replaces the first.
        e.store
            .put(EMBEDDED_KEY, b"second take".to_vec(), T0)
            .await
            .unwrap();
        let folder = e.dir.0.join("recordings/recordings/agent_1");
        let names: Vec<String> = std::fs::read_dir(&folder)
            .unwrap()
            .map(|entry| entry.unwrap().file_name().into_string().unwrap())
            .collect();
        assert_eq!(names, ["call one.mp3"]);
        let path = e.store.signed_url(EMBEDDED_KEY, 60, T0).unwrap();
        let body = e.fetch(&path, None).await.bytes().await.unwrap();
        assert_eq!(body.as_ref(), b"second take");
    }
);

backend_independent!(
    the_recording_route_answers_with_an_embedded_url_that_plays,
    |db: TestDb| async move {
        let e = embedded(&db).await;
        let store = &db.store;
        let key = create_key(store, "acme", KeyMode::Live, UnixTime(1))
            .await
            .unwrap();
        let acme = store.account_id("acme").await.unwrap().unwrap();
        let agent = fixtures::agent(store, acme, 1).await;
        let recorded = insert(
            store,
            fixtures::completed_call(acme, agent.id, T0 - 3_600, 4),
            |c| {
                c.recording_enabled = true;
                c.has_recording = true;
                c.recording_key = Some(EMBEDDED_KEY.into());
            },
        )
        .await;
        let pending = insert(
            store,
            fixtures::completed_call(acme, agent.id, T0 - 1_800, 4),
            |c| {
                c.recording_enabled = true;
            },
        )
        .await;

        let response = e
            .server
            .get(
                &format!("/v1/calls/{recorded}/recording?expires_in=120"),
                key.reveal(),
            )
            .await;
        assert_eq!(response.status(), StatusCode::OK);
        assert_eq!(response.headers()["cache-control"], "no-store");
        let body: Value = response.json().await.unwrap();
        assert_eq!(
            body["expires_at"],
            Timestamp::from_unix(T0 + 120).unwrap().to_string()
        );
        let url = body["url"].as_str().unwrap();
        assert!(
            url.starts_with(&format!(
                "/recordings/recordings/agent_1/call%20one.mp3?expires={}&signature=",
                T0 + 120
            )),
            "{url}"
        );
        let played = e.fetch(url, Some("bytes=0-")).await;
        assert_eq!(played.status(), StatusCode::PARTIAL_CONTENT);
        assert_eq!(played.headers()["content-type"], "audio/mpeg");
        assert_eq!(played.bytes().await.unwrap().as_ref(), e.audio.as_slice());
        e.clock.advance(121);
        assert_eq!(e.fetch(url, None).await.status(), StatusCode::NOT_FOUND);

        let pending = e
            .server
            .get(&format!("/v1/calls/{pending}/recording"), key.reveal())
            .await;
        assert_eq!(
            error_of(pending).await,
            (StatusCode::NOT_FOUND, "Recording not yet available".into())
        );
    }
);

#[test]
fn the_embedded_store_is_the_default_beside_a_sqlite_database() {
    let key = ServerKey::generate();
    let config = Config::new("sqlite:///var/lib/callscope/callscope.db", key.clone());
    match config.recordings {
        Some(RecordingStore::Embedded(store)) => {
            assert_eq!(
                store.dir(),
                std::path::Path::new("/var/lib/callscope/recordings")
            )
        }
        other => panic!("{other:?}"),
    }
    assert!(
        Config::new("postgres://localhost/callscope", key.clone())
            .recordings
            .is_none()
    );
    assert!(Config::new("sqlite::memory:", key).recordings.is_none());
}
