//! The API as an OpenAPI 3.1 document, served at `GET /openapi.json` (no auth). Built from
//! the handlers' `#[utoipa::path]` annotations and the wire types' schemas; what every
//! operation shares (authentication failures, storage outages, refused bodies and query
//! strings) is added here once, by `CommonErrors`, so each annotation lists only its own
//! answers. `tests/schemathesis/run.sh` fuzzes a live server against this document, and
//! the `openapi` tests check that it lists every route the router has.

pub mod params;
pub mod schemas;

use std::sync::LazyLock;

use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use utoipa::openapi::path::Operation;
use utoipa::openapi::request_body::RequestBody;
use utoipa::openapi::response::{Response as ApiResponse, ResponseBuilder};
use utoipa::openapi::security::{Http, HttpAuthScheme, SecurityScheme};
use utoipa::openapi::{
    ContentBuilder, HeaderBuilder, ObjectBuilder, Ref, RefOr, Type, schema::SchemaType,
};
use utoipa::{Modify, OpenApi};

use crate::routes;

/// The document's definition: every operation, and the modifiers that complete it.
#[derive(OpenApi)]
#[openapi(
    info(
        title = "callscope",
        description = "The Calls API (call history, transcripts, recordings, live-call control, webhooks), \
its public debug links, the voice pipeline's API, OTLP trace ingestion and Telnyx's webhooks. \
Every error is JSON, `{\"error\": \"<message>\"}`, with its status. Limits every request \
shares: a URI over 8 KiB is a 414, more than 100 header fields or 32 KiB of them a 431, a \
request over its time a 408, a wrong method a 405 and an unknown path under /v1, /api, \
/pipeline or /telnyx a 404, all with that body."
    ),
    paths(
        routes::health::healthz,
        routes::health::readyz,
        routes::debug::robots,
        document,
        routes::calls::list,
        routes::calls::summary,
        routes::calls::detail,
        routes::calls::status,
        routes::calls::webhooks,
        routes::control::end,
        routes::control::transfer,
        routes::control::gather,
        routes::recording::recording,
        routes::debug::issue,
        routes::debug::revoke,
        routes::webhooks::create,
        routes::webhooks::list,
        routes::webhooks::delete,
        routes::webhooks::test,
        routes::webhooks::deliveries,
        routes::pipeline::create,
        routes::pipeline::update,
        routes::pipeline::answer,
        routes::pipeline::turns,
        routes::pipeline::end,
        routes::telnyx::webhook,
        routes::traces::traces,
        routes::debug::public,
        routes::debug::events,
        routes::debug::recording,
        routes::recording_file::recording_file,
    ),
    components(schemas(callscope_shared::ErrorBody)),
    modifiers(&SecuritySchemes, &CommonErrors),
    tags(
        (name = "calls", description = "The account's calls (API key)"),
        (name = "call control", description = "End, transfer or gather on a live call (API key)"),
        (name = "debug links", description = "Issue and revoke a call's public debug link (API key)"),
        (name = "public", description = "What a debug link's holder sees, without a key"),
        (name = "webhooks", description = "The account's webhook endpoints (API key)"),
        (name = "pipeline", description = "The voice pipeline reports live calls (pipeline token)"),
        (name = "traces", description = "OTLP/HTTP traces from voice agents (pipeline token)"),
        (name = "telnyx", description = "Telnyx's call-control webhooks (Ed25519 signature)"),
        (name = "health", description = "Liveness, readiness and this document"),
    )
)]
pub struct ApiDoc;

/// The document as JSON, built once.
pub fn json() -> &'static str {
    static JSON: LazyLock<String> = LazyLock::new(|| {
        let mut doc = serde_json::to_value(ApiDoc::openapi()).expect("the document serialises");
        spell_links(&mut doc);
        doc.to_string()
    });
    &JSON
}

/// utoipa 5.5 writes a Link object's fields in Rust's spelling (`operation_id`); the spec's
/// are camelCase (`operationId`), and clients (schemathesis) read only those.
fn spell_links(value: &mut serde_json::Value) {
    match value {
        serde_json::Value::Object(map) => {
            if let Some(serde_json::Value::Object(links)) = map.get_mut("links") {
                for link in links.values_mut().filter_map(|l| l.as_object_mut()) {
                    for (rust, spec) in [
                        ("operation_id", "operationId"),
                        ("operation_ref", "operationRef"),
                        ("request_body", "requestBody"),
                    ] {
                        if let Some(v) = link.remove(rust) {
                            link.insert(spec.to_owned(), v);
                        }
                    }
                }
            }
            map.values_mut().for_each(spell_links);
        }
        serde_json::Value::Array(items) => items.iter_mut().for_each(spell_links),
        _ => {}
    }
}

/// `GET /openapi.json`: this document.
#[utoipa::path(get, path = "/openapi.json", operation_id = "openapi", tag = "health", security(()),
    responses((status = 200, description = "This document (OpenAPI 3.1)", content_type = "application/json", body = Object)))]
pub async fn document() -> Response {
    (
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        )],
        json(),
    )
        .into_response()
}

/// The two credentials: an account's API key and the pipeline's operator token.
struct SecuritySchemes;

impl Modify for SecuritySchemes {
    fn modify(&self, doc: &mut utoipa::openapi::OpenApi) {
        let components = doc.components.get_or_insert_with(Default::default);
        let bearer = |description: &str| {
            let mut http = Http::new(HttpAuthScheme::Bearer);
            http.description = Some(description.to_owned());
            SecurityScheme::Http(http)
        };
        components.add_security_scheme(
            "ApiKey",
            bearer(
                "An account's API key, `Authorization: Bearer sfy_live_…` (or `sfy_test_…`), made by `callscope keys create`",
            ),
        );
        components.add_security_scheme(
            "PipelineToken",
            bearer(
                "The pipeline's operator token (`--pipeline-token`), `Authorization: Bearer <token>`",
            ),
        );
    }
}

/// The answers every operation of a kind shares, added where an annotation has not
/// already described that status.
struct CommonErrors;

/// A `Retry-After` header, on 429 and 503.
fn retry_after() -> utoipa::openapi::Header {
    HeaderBuilder::new()
        .schema(
            ObjectBuilder::new()
                .schema_type(SchemaType::new(Type::Integer))
                .minimum(Some(0)),
        )
        .description(Some("Seconds to wait before retrying"))
        .build()
}

/// An error answer: the JSON error body, and `Retry-After` when it is given.
fn error(description: &str, retry: bool) -> ApiResponse {
    let mut response = ResponseBuilder::new().description(description).content(
        "application/json",
        ContentBuilder::new()
            .schema(Some(Ref::from_schema_name("ErrorBody")))
            .build(),
    );
    if retry {
        response = response.header("Retry-After", retry_after());
    }
    response.build()
}

fn add(op: &mut Operation, status: &str, response: impl FnOnce() -> ApiResponse) {
    if !op.responses.responses.contains_key(status) {
        op.responses
            .responses
            .insert(status.to_owned(), RefOr::T(response()));
    }
}

/// Whether `op` requires the named security scheme.
fn requires(op: &Operation, scheme: &str) -> bool {
    op.security.iter().flatten().any(|requirement| {
        serde_json::to_value(requirement)
            .ok()
            .and_then(|v| v.as_object().map(|o| o.contains_key(scheme)))
            .unwrap_or(false)
    })
}

/// Routes whose handler reads the body as bytes and checks it itself (no 415 from the
/// JSON extractor: Telnyx's signature is checked first, OTLP has its own answers).
const RAW_BODIES: [&str; 2] = ["/telnyx/webhooks", "/v1/traces"];

/// Whether `op` takes a JSON body.
fn takes_json(body: Option<&RequestBody>) -> bool {
    body.is_some_and(|b| b.content.contains_key("application/json"))
}

impl Modify for CommonErrors {
    fn modify(&self, doc: &mut utoipa::openapi::OpenApi) {
        for (path, item) in doc.paths.paths.iter_mut() {
            let public = path.starts_with(callscope_shared::link::DEBUG_PATH_PREFIX)
                || path.starts_with(crate::recordings::embedded::PATH_PREFIX);
            let static_answer =
                ["/healthz", "/robots.txt", "/openapi.json"].contains(&path.as_str());
            for op in [
                item.get.as_mut(),
                item.post.as_mut(),
                item.patch.as_mut(),
                item.delete.as_mut(),
                item.put.as_mut(),
            ]
            .into_iter()
            .flatten()
            {
                if requires(op, "ApiKey") {
                    add(op, "401", || {
                        error(
                            "`Missing API key` or `Invalid API key` (with `WWW-Authenticate: Bearer`)",
                            false,
                        )
                    });
                    add(op, "403", || error("`Account suspended`", false));
                }
                if requires(op, "PipelineToken") {
                    add(op, "401", || {
                        error(
                            "`Missing pipeline token` or `Invalid pipeline token`",
                            false,
                        )
                    });
                    add(op, "404", || {
                        error(
                            "`The pipeline API is not enabled (set CALLSCOPE_PIPELINE_TOKEN)`",
                            false,
                        )
                    });
                }
                if takes_json(op.request_body.as_ref()) && !RAW_BODIES.contains(&path.as_str()) {
                    add(op, "400", || {
                        error(
                            "`Request body is not valid JSON`, or a field the message names",
                            false,
                        )
                    });
                    add(op, "415", || {
                        error("`Content-Type must be application/json`", false)
                    });
                    add(op, "413", || error("`Request body too large`", false));
                } else {
                    add(op, "413", || {
                        error("`This endpoint takes no request body`", false)
                    });
                }
                if !public {
                    add(op, "400", || {
                        error(
                            "An unknown or repeated query parameter (the message names it)",
                            false,
                        )
                    });
                }
                if !static_answer {
                    add(op, "503", || {
                        error(
                            "`Service temporarily unavailable`: storage is down or saturated",
                            true,
                        )
                    });
                }
                add(op, "408", || error("`Request timed out`", false));
            }
        }
    }
}
