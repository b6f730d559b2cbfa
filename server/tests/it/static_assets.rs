//! The viewer's files and the API's JSON over real HTTP: compressed when the client takes
//! it (brotli or gzip, byte-exact once decoded), plain otherwise, and cached for a year only
//! when Trunk's content hash is in the name.

use crate::common;

use std::io::Read;
use std::path::PathBuf;

use callscope_server::auth::{KeyMode, create_key};
use callscope_server::clock::UnixTime;
use callscope_server::live::LiveStore;
use common::{TestDb, TestServer, fixtures};
use reqwest::StatusCode;
use serde_json::Value;

const WASM: &str = "/callscope-viewer-0123456789abcdef_bg.wasm";

/// A dist folder with an index, a hashed asset (compressible, like real wasm) and an
/// unhashed one.
fn dist() -> (PathBuf, Vec<u8>) {
    let dir = std::env::temp_dir().join(format!(
        "callscope_static_{}_{}",
        std::process::id(),
        rand::random::<u32>()
    ));
    std::fs::create_dir_all(&dir).unwrap();
    let wasm: Vec<u8> = (0..200_000u32)
        .map(|i| b"callscope viewer "[(i % 17) as usize] ^ (i % 7) as u8)
        .collect();
    std::fs::write(dir.join(&WASM[1..]), &wasm).unwrap();
    std::fs::write(
        dir.join("index.html"),
        "<!doctype html><title>viewer</title>",
    )
    .unwrap();
    std::fs::write(
        dir.join("favicon.svg"),
        "<svg xmlns=\"http://www.w3.org/2000/svg\"/>",
    )
    .unwrap();
    (dir, wasm)
}

fn decode(encoding: Option<&str>, body: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    match encoding {
        Some("br") => {
            brotli::Decompressor::new(body, 4096)
                .read_to_end(&mut out)
                .unwrap();
        }
        Some("gzip") => {
            flate2::read::GzDecoder::new(body)
                .read_to_end(&mut out)
                .unwrap();
        }
        None => out.extend_from_slice(body),
        Some(other) => panic!("unexpected content-encoding {other}"),
    }
    out
}

async fn fetch(
    server: &TestServer,
    path: &str,
    accept: Option<&str>,
) -> (StatusCode, reqwest::header::HeaderMap, Vec<u8>) {
    let mut request = server.client.get(server.url(path));
    if let Some(accept) = accept {
        request = request.header("accept-encoding", accept);
    }
    let response = request.send().await.unwrap();
    let status = response.status();
    let headers = response.headers().clone();
    (status, headers, response.bytes().await.unwrap().to_vec())
}

fn encoding(headers: &reqwest::header::HeaderMap) -> Option<&str> {
    headers.get("content-encoding").map(|v| v.to_str().unwrap())
}

backend_independent!(
    viewer_files_are_compressed_when_asked_and_cached_by_hash,
    |db: TestDb| async move {
        let (dir, wasm) = dist();
        let server =
            TestServer::start_with_dist(db.store.clone(), LiveStore::in_process(), dir.clone())
                .await;

        for (accept, expected) in [
            (Some("br"), Some("br")),
            (Some("gzip"), Some("gzip")),
            (Some("gzip, deflate, br"), Some("br")),
            (None, None),
            (Some("identity"), None),
        ] {
            let (status, headers, body) = fetch(&server, WASM, accept).await;
            assert_eq!(status, StatusCode::OK, "{accept:?}");
            assert_eq!(encoding(&headers), expected, "{accept:?}");
            assert_eq!(
                decode(expected, &body),
                wasm,
                "{accept:?}: the same bytes once decoded"
            );
            if expected.is_some() {
                assert!(
                    body.len() < wasm.len() / 2,
                    "{accept:?}: {} bytes",
                    body.len()
                );
            }
            assert_eq!(
                headers["cache-control"], "public, max-age=31536000, immutable",
                "{accept:?}"
            );
        }

        // Names without Trunk's hash are revalidated on every use.
        for path in ["/", "/index.html", "/favicon.svg"] {
            let (status, headers, _) = fetch(&server, path, Some("br")).await;
            assert_eq!(status, StatusCode::OK, "{path}");
            assert_eq!(headers["cache-control"], "no-cache", "{path}");
        }

        // A missing file is still a JSON 404, not cached.
        let (status, headers, body) =
            fetch(&server, "/callscope-viewer-fedcba9876543210.js", None).await;
        assert_eq!(status, StatusCode::NOT_FOUND);
        assert!(headers.get("cache-control").is_none());
        let error: Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(error["error"], "Not found");
        std::fs::remove_dir_all(dir).unwrap();
    }
);

backend_independent!(
    precompressed_files_are_sent_as_built,
    |db: TestDb| async move {
        let (dir, wasm) = dist();
        let made = callscope_server::precompress::precompress(&dir).unwrap();
        assert!(
            made.iter()
                .any(|c| c.path.ends_with(&WASM[1..]) && c.brotli.is_some())
        );
        let server =
            TestServer::start_with_dist(db.store.clone(), LiveStore::in_process(), dir.clone())
                .await;
        let br = std::fs::read(dir.join(format!("{}.br", &WASM[1..]))).unwrap();
        let gz = std::fs::read(dir.join(format!("{}.gz", &WASM[1..]))).unwrap();
        for (accept, expected, bytes) in [
            (Some("gzip, deflate, br"), Some("br"), &br),
            (Some("gzip"), Some("gzip"), &gz),
            (None, None, &wasm),
        ] {
            let (status, headers, body) = fetch(&server, WASM, accept).await;
            assert_eq!(status, StatusCode::OK, "{accept:?}");
            assert_eq!(encoding(&headers), expected, "{accept:?}");
            // The built file itself (quality 11), not one compressed again per response.
            assert_eq!(&body, bytes, "{accept:?}");
            assert_eq!(decode(expected, &body), wasm, "{accept:?}");
            assert_eq!(headers["content-type"], "application/wasm", "{accept:?}");
            assert_eq!(
                headers["cache-control"], "public, max-age=31536000, immutable",
                "{accept:?}"
            );
        }
        std::fs::remove_dir_all(dir).unwrap();
    }
);

backend_independent!(
    api_json_is_compressed_when_asked_and_identical_once_decoded,
    |db: TestDb| async move {
        let key = create_key(&db.store, "acme", KeyMode::Live, UnixTime(1))
            .await
            .unwrap();
        let account = db.store.account_id("acme").await.unwrap().unwrap();
        let agent = fixtures::agent(&db.store, account, 1).await;
        fixtures::store_call(
            &db.store,
            &fixtures::completed_call(account, agent.id, 1_768_471_200, 200),
        )
        .await;
        let server = TestServer::start(db.store.clone(), LiveStore::in_process()).await;
        let get = |accept: Option<&'static str>| {
            let mut request = server
                .client
                .get(server.url("/v1/calls/call_00000001"))
                .bearer_auth(key.reveal());
            if let Some(accept) = accept {
                request = request.header("accept-encoding", accept);
            }
            request.send()
        };
        let plain = get(None).await.unwrap();
        assert_eq!(plain.status(), StatusCode::OK);
        assert!(plain.headers().get("content-encoding").is_none());
        let plain = plain.bytes().await.unwrap().to_vec();
        for accept in ["br", "gzip"] {
            let response = get(Some(accept)).await.unwrap();
            assert_eq!(response.status(), StatusCode::OK);
            let headers = response.headers().clone();
            assert_eq!(encoding(&headers), Some(accept));
            assert_eq!(headers["content-type"], "application/json");
            let body = response.bytes().await.unwrap();
            assert!(
                body.len() < plain.len() / 2,
                "{accept}: {} of {}",
                body.len(),
                plain.len()
            );
            assert_eq!(decode(Some(accept), &body), plain, "{accept}");
        }
    }
);
