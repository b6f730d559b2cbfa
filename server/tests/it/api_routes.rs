//! Rules every route follows alike: path parameters that fail to decode, query parameters
//! (unknown, repeated, integers), and `Cache-Control: no-store` on answers carrying a secret.

use crate::common;

use callscope_server::auth::{KeyMode, create_key};
use callscope_server::config::Config;
use callscope_server::debug_link::DebugToken;
use callscope_server::live::LiveStore;
use callscope_shared::CallId;
use common::{TestDb, TestServer, fixtures};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

struct World {
    server: TestServer,
    key: String,
    call: CallId,
    /// A webhook endpoint's public id (`wh_…`).
    endpoint: String,
}

async fn world(db: &TestDb, miss_limit: u32) -> World {
    let store = &db.store;
    let key = create_key(
        store,
        "acme",
        KeyMode::Live,
        callscope_server::clock::UnixTime(1),
    )
    .await
    .unwrap();
    let acme = store.account_id("acme").await.unwrap().unwrap();
    let agent = fixtures::agent(store, acme, 1).await;
    let call = fixtures::store_call(
        store,
        &fixtures::completed_call(acme, agent.id, 1_768_471_200, 4),
    )
    .await;
    let mut config = Config {
        dist: "/nonexistent".into(),
        debug_miss_limit: miss_limit,
        ..common::config()
    };
    config.webhooks.allow_private = true;
    let server = TestServer::start_with(store.clone(), LiveStore::in_process(), config).await;
    let mut w = World {
        server,
        key: key.reveal().into(),
        call,
        endpoint: String::new(),
    };
    let (status, created) = w
        .send(
            Method::POST,
            "/v1/webhooks",
            Some(json!({"url": "http://127.0.0.1:9/hook"})),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    w.endpoint = created["id"].as_str().unwrap().to_owned();
    w
}

impl World {
    async fn request(&self, method: Method, path: &str, body: Option<Value>) -> reqwest::Response {
        let mut request = self
            .server
            .client
            .request(method, self.server.url(path))
            .bearer_auth(&self.key);
        if let Some(body) = body {
            request = request.json(&body);
        }
        request.send().await.unwrap()
    }

    async fn send(&self, method: Method, path: &str, body: Option<Value>) -> (StatusCode, Value) {
        let r = self.request(method, path, body).await;
        (r.status(), r.json().await.unwrap())
    }
}

fn error(message: &str) -> Value {
    json!({ "error": message })
}

backend_independent!(
    path_parameters_that_do_not_decode_are_the_routes_own_404,
    |db: TestDb| async move {
        let w = world(&db, 1000).await;
        for bad in ["%FF", "%C3%28", "call_%FF"] {
            for (method, path, message) in [
                (Method::GET, format!("/v1/calls/{bad}"), "Call not found"),
                (
                    Method::GET,
                    format!("/v1/calls/{bad}/status"),
                    "Call not found",
                ),
                (
                    Method::GET,
                    format!("/v1/calls/{bad}/webhooks"),
                    "Call not found",
                ),
                (
                    Method::GET,
                    format!("/v1/calls/{bad}/recording"),
                    "Call not found",
                ),
                (
                    Method::GET,
                    format!("/v1/calls/{bad}/debug-link"),
                    "Call not found",
                ),
                (
                    Method::POST,
                    format!("/v1/calls/{bad}/debug-link/revoke"),
                    "Call not found",
                ),
                (
                    Method::DELETE,
                    format!("/v1/webhooks/{bad}"),
                    "Webhook not found",
                ),
                (
                    Method::POST,
                    format!("/v1/webhooks/{bad}/test"),
                    "Webhook not found",
                ),
                (
                    Method::GET,
                    format!("/v1/webhooks/{bad}/deliveries"),
                    "Webhook not found",
                ),
            ] {
                assert_eq!(
                    w.send(method.clone(), &path, None).await,
                    (StatusCode::NOT_FOUND, error(message)),
                    "{method} {path}"
                );
            }
        }
    }
);

/// A response's headers, less those that differ between any two responses.
fn stable_headers(r: &reqwest::Response) -> Vec<(String, String)> {
    let mut headers: Vec<_> = r
        .headers()
        .iter()
        .filter(|(name, _)| !matches!(name.as_str(), "date" | "x-request-id"))
        .map(|(n, v)| (n.to_string(), v.to_str().unwrap().to_owned()))
        .collect();
    headers.sort();
    headers
}

backend_independent!(
    a_debug_token_that_does_not_decode_is_an_ordinary_miss,
    |db: TestDb| async move {
        let w = world(&db, 3).await;
        let public = |token: String| {
            let url = w.server.url(&format!("/api/v1/call-debug/{token}"));
            let client = w.server.client.clone();
            async move { client.get(url).send().await.unwrap() }
        };
        let unknown = public(DebugToken::generate().as_str().to_owned()).await;
        let expected = (unknown.status(), stable_headers(&unknown));
        let expected_body = unknown.bytes().await.unwrap();
        assert_eq!(expected.0, StatusCode::NOT_FOUND);
        assert!(
            expected
                .1
                .iter()
                .any(|(n, v)| n == "cache-control" && v == "no-store"),
            "{:?}",
            expected.1
        );
        for bad in ["%FF", &format!("{}%FF", "A".repeat(42))] {
            let r = public(bad.to_owned()).await;
            assert_eq!((r.status(), stable_headers(&r)), expected, "{bad}");
            assert_eq!(r.bytes().await.unwrap(), expected_body, "{bad}");
        }
        // Three misses so far, the limit: the next lookup is refused, so the two that did
        // not decode were counted.
        let r = public(DebugToken::generate().as_str().to_owned()).await;
        assert_eq!(r.status(), StatusCode::TOO_MANY_REQUESTS);
    }
);

backend_independent!(
    a_shared_link_with_tracking_parameters_still_opens,
    |db: TestDb| async move {
        let w = world(&db, 1000).await;
        let (status, link) = w
            .send(
                Method::GET,
                &format!("/v1/calls/{}/debug-link", w.call),
                None,
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{link}");
        let path = link["url"].as_str().unwrap().to_owned();
        let plain = w.request(Method::GET, &path, None).await;
        assert_eq!(plain.status(), StatusCode::OK);
        let plain: Value = plain.json().await.unwrap();
        let tracked = w
            .request(
                Method::GET,
                &format!("{path}?utm_source=slack&fbclid=abc&utm_source=again"),
                None,
            )
            .await;
        assert_eq!(tracked.status(), StatusCode::OK);
        assert_eq!(tracked.headers()["cache-control"], "no-store");
        assert_eq!(tracked.json::<Value>().await.unwrap(), plain);
    }
);

impl World {
    /// Every API route, with the query parameters it takes (a body where it needs one).
    fn routes(&self) -> Vec<(Method, String, &'static [&'static str], Option<Value>)> {
        let (call, hook) = (self.call, &self.endpoint);
        vec![
            (Method::GET, "/healthz".into(), &[], None),
            (Method::GET, "/readyz".into(), &[], None),
            (Method::GET, "/robots.txt".into(), &[], None),
            (
                Method::GET,
                "/v1/calls".into(),
                &[
                    "agent_id",
                    "status",
                    "disposition",
                    "from_date",
                    "to_date",
                    "after",
                    "limit",
                ],
                None,
            ),
            (
                Method::GET,
                "/v1/calls/summary".into(),
                &["agent_id", "from_date", "to_date"],
                None,
            ),
            (Method::GET, format!("/v1/calls/{call}"), &[], None),
            (Method::GET, format!("/v1/calls/{call}/status"), &[], None),
            (Method::GET, format!("/v1/calls/{call}/webhooks"), &[], None),
            (
                Method::GET,
                format!("/v1/calls/{call}/recording"),
                &["expires_in"],
                None,
            ),
            (
                Method::GET,
                format!("/v1/calls/{call}/debug-link"),
                &["expires_in", "include_recording"],
                None,
            ),
            (
                Method::POST,
                format!("/v1/calls/{call}/debug-link/revoke"),
                &[],
                None,
            ),
            (Method::GET, "/v1/webhooks".into(), &[], None),
            (
                Method::POST,
                "/v1/webhooks".into(),
                &[],
                Some(json!({"url": "http://127.0.0.1:9/other"})),
            ),
            (Method::DELETE, format!("/v1/webhooks/{hook}"), &[], None),
            (Method::POST, format!("/v1/webhooks/{hook}/test"), &[], None),
            (
                Method::GET,
                format!("/v1/webhooks/{hook}/deliveries"),
                &["after", "limit"],
                None,
            ),
        ]
    }
}

backend_independent!(
    unknown_and_repeated_query_parameters_are_400_on_every_route,
    |db: TestDb| async move {
        let w = world(&db, 1000).await;
        for (method, path, takes, body) in w.routes() {
            let takes = if takes.is_empty() {
                "this endpoint takes none".to_owned()
            } else {
                format!("allowed: {}", takes.join(", "))
            };
            let r = w
                .request(method.clone(), &format!("{path}?bogus=1"), body.clone())
                .await;
            assert_eq!(
                (r.status(), r.json::<Value>().await.unwrap()),
                (
                    StatusCode::BAD_REQUEST,
                    error(&format!("Unknown query parameter: bogus ({takes})"))
                ),
                "{method} {path}"
            );
        }
        for (method, path, takes, body) in w.routes() {
            let Some(name) = takes.first() else { continue };
            let r = w
                .send(method.clone(), &format!("{path}?{name}=1&{name}=1"), body)
                .await;
            assert_eq!(
                r,
                (
                    StatusCode::BAD_REQUEST,
                    error(&format!(
                        "Query parameter {name} must be given at most once"
                    ))
                ),
                "{method} {path}"
            );
        }
        // Nothing above was acted on: the endpoint is still there, and alone.
        let (status, list) = w.send(Method::GET, "/v1/webhooks", None).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(list["webhooks"].as_array().unwrap().len(), 1, "{list}");
        // And without a query every route answers as usual.
        for (method, path, _, body) in w.routes() {
            let status = w.request(method.clone(), &path, body).await.status();
            assert_ne!(status, StatusCode::BAD_REQUEST, "{method} {path}");
        }
    }
);

backend_independent!(
    integers_in_queries_are_plain_decimals,
    |db: TestDb| async move {
        let w = world(&db, 1000).await;
        let (call, hook) = (w.call, w.endpoint.clone());
        let limit = "limit must be an integer between 1 and 100";
        let link = "expires_in must be an integer between 60 and 7776000";
        let recording = "expires_in must be an integer between 60 and 86400";
        let agent = "agent_id must be an agent_* public id (agent_ and 8 hex characters) or a numeric agent id";
        let numeric = "agent_id must be a numeric agent id";
        for (path, name, message) in [
            ("/v1/calls".to_owned(), "limit", limit),
            (format!("/v1/webhooks/{hook}/deliveries"), "limit", limit),
            (format!("/v1/calls/{call}/debug-link"), "expires_in", link),
            (
                format!("/v1/calls/{call}/recording"),
                "expires_in",
                recording,
            ),
            ("/v1/calls".to_owned(), "agent_id", agent),
            ("/v1/calls/summary".to_owned(), "agent_id", numeric),
        ] {
            for value in ["+60", "060", "%2B60", "60%20", "6e1"] {
                assert_eq!(
                    w.send(Method::GET, &format!("{path}?{name}={value}"), None)
                        .await,
                    (StatusCode::BAD_REQUEST, error(message)),
                    "{path}?{name}={value}"
                );
            }
            let (status, body) = w
                .send(Method::GET, &format!("{path}?{name}=60"), None)
                .await;
            assert_ne!(status, StatusCode::BAD_REQUEST, "{path}?{name}=60: {body}");
        }
    }
);

backend_independent!(
    answers_carrying_a_secret_are_not_stored,
    |db: TestDb| async move {
        let w = world(&db, 1000).await;
        let call = w.call;
        for (method, path, body, secret) in [
            (
                Method::GET,
                format!("/v1/calls/{call}/debug-link"),
                None,
                "debug_token",
            ),
            (
                Method::POST,
                "/v1/webhooks".to_owned(),
                Some(json!({"url": "http://127.0.0.1:9/more"})),
                "secret",
            ),
        ] {
            let r = w.request(method.clone(), &path, body).await;
            assert!(r.status().is_success(), "{method} {path}: {}", r.status());
            assert_eq!(r.headers()["cache-control"], "no-store", "{method} {path}");
            let body: Value = r.json().await.unwrap();
            assert!(body[secret].is_string(), "{method} {path}: {body}");
        }
    }
);
