//! `GET /openapi.json`: an OpenAPI 3.1 document that describes every route the router has,
//! with exactly the methods each answers, every reference resolving. A route added without
//! its `#[utoipa::path]` fails here. (tests/schemathesis/run.sh then fuzzes a live server
//! against the document.)

use std::collections::{BTreeMap, BTreeSet};

use crate::common;

use callscope_server::live::LiveStore;
use common::TestServer;
use reqwest::{Method, StatusCode};
use serde_json::Value;

/// The methods a route may answer; any other is a 405 everywhere.
const METHODS: [&str; 5] = ["get", "post", "put", "patch", "delete"];

/// The document as served, without credentials.
async fn served(server: &TestServer) -> Value {
    let response = reqwest::get(server.url("/openapi.json")).await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(
        response.headers()["content-type"].to_str().unwrap(),
        "application/json"
    );
    response.json().await.unwrap()
}

/// Every `$ref` in `value`.
fn refs<'a>(value: &'a Value, out: &mut Vec<&'a str>) {
    match value {
        Value::Object(map) => {
            for (k, v) in map {
                match (k.as_str(), v) {
                    ("$ref", Value::String(r)) => out.push(r),
                    _ => refs(v, out),
                }
            }
        }
        Value::Array(items) => items.iter().for_each(|v| refs(v, out)),
        _ => {}
    }
}

/// The documented operations: path → methods.
fn operations(doc: &Value) -> BTreeMap<String, BTreeSet<String>> {
    doc["paths"]
        .as_object()
        .unwrap()
        .iter()
        .map(|(path, item)| {
            let methods = METHODS
                .iter()
                .filter(|m| item.get(**m).is_some())
                .map(|m| m.to_string())
                .collect();
            (path.clone(), methods)
        })
        .collect()
}

/// A concrete path for a documented one: each `{param}` filled with a well-formed value.
fn concrete(path: &str) -> String {
    path.replace("{call_id}", "call_00000001")
        .replace("{id}", "wh_00000001")
        .replace("{token}", &"A".repeat(43))
        .replace("{key}", "recordings/call_00000001.mp3")
}

backend_independent!(
    the_document_is_openapi_3_1_and_covers_every_route,
    |db: common::TestDb| async move {
        let server = TestServer::start(db.store.clone(), LiveStore::in_process()).await;
        let doc = served(&server).await;
        assert!(
            doc["openapi"].as_str().unwrap().starts_with("3.1."),
            "{}",
            doc["openapi"]
        );
        assert_eq!(doc["info"]["title"], "callscope");
        // (Its validity against the OpenAPI 3.1 schema is checked by schemathesis, which
        // refuses to load an invalid document: tests/schemathesis/run.sh.)

        // Every route the router has is documented, and nothing else.
        let routed: BTreeSet<String> = callscope_server::routes::route_paths()
            .into_iter()
            .map(|p| p.replace("{*", "{"))
            .collect();
        let ops = operations(&doc);
        let documented: BTreeSet<String> = ops.keys().cloned().collect();
        assert_eq!(
            routed.difference(&documented).collect::<Vec<_>>(),
            Vec::<&String>::new(),
            "routes without documentation"
        );
        assert_eq!(
            documented.difference(&routed).collect::<Vec<_>>(),
            Vec::<&String>::new(),
            "documented paths no route serves"
        );

        // Every operation: a unique id, a security requirement (empty: public), responses,
        // and JSON errors only.
        let mut ids = BTreeSet::new();
        for (path, methods) in &ops {
            for method in methods {
                let op = &doc["paths"][path][method];
                let id = op["operationId"].as_str().expect("an operationId");
                assert!(ids.insert(id.to_owned()), "operationId {id} twice");
                assert!(op["security"].is_array(), "{method} {path}: no security");
                let responses = op["responses"].as_object().unwrap();
                assert!(!responses.is_empty(), "{method} {path}: no responses");
                for (status, response) in responses {
                    if status.starts_with('4') || status.starts_with('5') {
                        let content = response["content"].as_object();
                        let json_only = content.is_some_and(|c| {
                            c.keys().all(|k| k == "application/json") && !c.is_empty()
                        });
                        // 416 has no body; every other error is JSON.
                        assert!(
                            json_only || status == "416",
                            "{method} {path} {status}: {response}"
                        );
                    }
                }
            }
        }

        // The two credentials, and every reference resolves.
        let schemes = &doc["components"]["securitySchemes"];
        assert_eq!(schemes["ApiKey"]["scheme"], "bearer");
        assert_eq!(schemes["PipelineToken"]["scheme"], "bearer");
        let mut all = Vec::new();
        refs(&doc, &mut all);
        assert!(!all.is_empty());
        for r in all {
            let pointer = r.strip_prefix('#').expect("a local reference");
            assert!(doc.pointer(pointer).is_some(), "{r} does not resolve");
        }

        // Each documented path answers exactly its documented methods: any other is a 405.
        let client = reqwest::Client::new();
        for (path, methods) in &ops {
            let url = server.url(&concrete(path));
            for method in METHODS {
                let status = client
                    .request(
                        Method::from_bytes(method.to_uppercase().as_bytes()).unwrap(),
                        &url,
                    )
                    .send()
                    .await
                    .unwrap()
                    .status();
                if methods.contains(method) {
                    assert_ne!(status, StatusCode::METHOD_NOT_ALLOWED, "{method} {path}");
                } else {
                    assert_eq!(
                        status,
                        StatusCode::METHOD_NOT_ALLOWED,
                        "{method} {path} is routed but not documented"
                    );
                }
            }
        }
    }
);

backend_independent!(
    the_documented_ranges_are_the_ones_enforced,
    |db: common::TestDb| async move {
        let server = TestServer::start(db.store.clone(), LiveStore::in_process()).await;
        let doc = served(&server).await;
        let param = |path: &str, name: &str| -> Value {
            doc["paths"][path]["get"]["parameters"]
                .as_array()
                .unwrap()
                .iter()
                .find(|p| p["name"] == name)
                .unwrap_or_else(|| panic!("{path} has no {name}"))["schema"]
                .clone()
        };
        let range = |schema: &Value| (schema["minimum"].as_i64(), schema["maximum"].as_i64());
        use callscope_server::debug_link::{MAX_EXPIRES_IN, MIN_EXPIRES_IN};
        assert_eq!(
            range(&param("/v1/calls/{call_id}/debug-link", "expires_in")),
            (Some(MIN_EXPIRES_IN), Some(MAX_EXPIRES_IN))
        );
        assert_eq!(
            range(&param("/v1/calls/{call_id}/recording", "expires_in")),
            (Some(60), Some(86_400))
        );
        assert_eq!(range(&param("/v1/calls", "limit")), (Some(1), Some(100)));
        assert_eq!(
            range(&param("/v1/webhooks/{id}/deliveries", "limit")),
            (Some(1), Some(100))
        );

        // The enumerations as the wire spells them.
        let values = |name: &str| -> Vec<String> {
            doc["components"]["schemas"][name]["enum"]
                .as_array()
                .unwrap_or_else(|| panic!("{name} has no enum"))
                .iter()
                .map(|v| v.as_str().unwrap().to_owned())
                .collect()
        };
        let wire = |all: Vec<&str>| all.into_iter().map(str::to_owned).collect::<Vec<_>>();
        use callscope_shared::{CallStatus, Disposition, EndedReason, Role};
        assert_eq!(
            values("CallStatus"),
            wire(CallStatus::ALL.iter().map(|v| v.as_str()).collect())
        );
        assert_eq!(
            values("Disposition"),
            wire(Disposition::ALL.iter().map(|v| v.as_str()).collect())
        );
        assert_eq!(
            values("EndedReason"),
            wire(EndedReason::ALL.iter().map(|v| v.as_str()).collect())
        );
        assert_eq!(
            values("Role"),
            wire(Role::ALL.iter().map(|v| v.as_str()).collect())
        );
    }
);
