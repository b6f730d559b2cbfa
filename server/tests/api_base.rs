//! API base behaviour over real HTTP: auth, JSON errors everywhere, health.

mod common;

use callscope_server::auth::{KeyMode, create_key};
use callscope_server::clock::UnixTime;
use callscope_server::live::LiveStore;
use callscope_server::storage::AccountStatus;
use common::{TestDb, TestServer};
use reqwest::StatusCode;
use serde_json::Value;

async fn error_of(response: reqwest::Response) -> (StatusCode, String) {
    let status = response.status();
    let ct = response
        .headers()
        .get("content-type")
        .map(|v| v.to_str().unwrap().to_owned());
    assert_eq!(
        ct.as_deref(),
        Some("application/json"),
        "error bodies are JSON"
    );
    let body: Value = response.json().await.unwrap();
    let obj = body.as_object().unwrap();
    assert_eq!(obj.len(), 1, "exactly one field: {body}");
    (status, obj["error"].as_str().unwrap().to_owned())
}

both_backends!(auth_rejects_every_bad_key, |db: TestDb| async move {
    let key = create_key(&db.store, "acme", KeyMode::Live, UnixTime(1))
        .await
        .unwrap();
    let server = TestServer::start(db.store.clone(), LiveStore::in_process()).await;
    let url = server.url("/v1/calls");

    let missing = server.client.get(&url).send().await.unwrap();
    assert_eq!(missing.headers()["www-authenticate"], "Bearer");
    assert_eq!(
        error_of(missing).await,
        (StatusCode::UNAUTHORIZED, "Missing API key".into())
    );

    let well_formed_unknown = "sfy_live_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA";
    for bad in [
        format!("Bearer {well_formed_unknown}"),
        "Bearer sfy_live_short".into(),
        format!("Basic {}", key.reveal()),
        format!("Bearer{}", key.reveal()),
        "Bearer ".into(),
    ] {
        let r = server
            .client
            .get(&url)
            .header("authorization", bad.clone())
            .send()
            .await
            .unwrap();
        assert_eq!(
            error_of(r).await,
            (StatusCode::UNAUTHORIZED, "Invalid API key".into()),
            "{bad}"
        );
    }

    let ok = server.get("/v1/calls", key.reveal()).await;
    assert_eq!(ok.status(), StatusCode::OK);
    // The scheme is case-insensitive, as RFC 7235 says.
    let lower = server
        .client
        .get(&url)
        .header("authorization", format!("bearer {}", key.reveal()))
        .send()
        .await
        .unwrap();
    assert_eq!(lower.status(), StatusCode::OK);

    let owner = db.store.find_api_key(&key.hash()).await.unwrap().unwrap();
    db.store
        .set_account_status(owner.account_id, AccountStatus::Suspended)
        .await
        .unwrap();
    let r = server.get("/v1/calls", key.reveal()).await;
    assert_eq!(
        error_of(r).await,
        (StatusCode::FORBIDDEN, "Account suspended".into())
    );

    db.store
        .revoke_api_key(owner.key_id, UnixTime(2))
        .await
        .unwrap();
    let r = server.get("/v1/calls", key.reveal()).await;
    assert_eq!(
        error_of(r).await,
        (StatusCode::UNAUTHORIZED, "Invalid API key".into())
    );
});

both_backends!(errors_are_json_everywhere, |db: TestDb| async move {
    let key = create_key(&db.store, "acme", KeyMode::Test, UnixTime(1))
        .await
        .unwrap();
    let server = TestServer::start(db.store.clone(), LiveStore::in_process()).await;

    for path in [
        "/v1/nope",
        "/v1",
        "/api/v1/unknown",
        "/no-such-file.js",
        "/",
    ] {
        let r = server.get(path, key.reveal()).await;
        assert_eq!(
            error_of(r).await,
            (StatusCode::NOT_FOUND, "Not found".into()),
            "{path}"
        );
    }
    let r = server
        .client
        .delete(server.url("/v1/calls"))
        .bearer_auth(key.reveal())
        .send()
        .await
        .unwrap();
    assert_eq!(
        error_of(r).await,
        (StatusCode::METHOD_NOT_ALLOWED, "Method not allowed".into())
    );
    let r = server
        .client
        .post(server.url("/healthz"))
        .send()
        .await
        .unwrap();
    assert_eq!(error_of(r).await.0, StatusCode::METHOD_NOT_ALLOWED);
    let r = server.get("/v1/calls?limit=0", key.reveal()).await;
    assert_eq!(
        error_of(r).await,
        (
            StatusCode::BAD_REQUEST,
            "limit must be an integer between 1 and 100".into()
        )
    );
    let r = server.get("/v1/calls?%ZZ=1", key.reveal()).await;
    assert_eq!(error_of(r).await.0, StatusCode::BAD_REQUEST);
});

both_backends!(health_and_readiness, |db: TestDb| async move {
    let server = TestServer::start(db.store.clone(), LiveStore::in_process()).await;
    let r = server
        .client
        .get(server.url("/healthz"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(r.json::<Value>().await.unwrap()["status"], "ok");
    let r = server
        .client
        .get(server.url("/readyz"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert!(r.headers().contains_key("x-request-id"));

    db.store.close().await;
    let r = server
        .client
        .get(server.url("/readyz"))
        .send()
        .await
        .unwrap();
    assert_eq!(
        error_of(r).await,
        (
            StatusCode::SERVICE_UNAVAILABLE,
            "Database unavailable".into()
        )
    );
});

#[tokio::test]
async fn the_viewer_build_is_served_from_dist() {
    let db = TestDb::sqlite().await;
    let dist = std::env::temp_dir().join(format!("callscope_dist_{}", std::process::id()));
    std::fs::create_dir_all(&dist).unwrap();
    std::fs::write(
        dist.join("index.html"),
        "<!doctype html><title>viewer</title>",
    )
    .unwrap();
    std::fs::write(dist.join("app.js"), "export {}").unwrap();
    let server =
        TestServer::start_with_dist(db.store.clone(), LiveStore::in_process(), dist.clone()).await;
    let r = server.client.get(server.url("/")).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert!(r.text().await.unwrap().contains("viewer"));
    let r = server
        .client
        .get(server.url("/app.js"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let r = server
        .client
        .get(server.url("/../Cargo.toml"))
        .send()
        .await
        .unwrap();
    assert_ne!(r.status(), StatusCode::OK);
    std::fs::remove_dir_all(dist).unwrap();
}
