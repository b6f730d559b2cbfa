//! `POST /v1/traces`: OTLP/HTTP traces from voice agents (see `otlp`), authorised by the
//! pipeline token. A success is in the request's encoding: an `ExportTraceServiceResponse`
//! (with `partialSuccess` when spans were rejected). A refused request is JSON, as every
//! error of this server: `{"error", "code", "message"}`, which is also `google.rpc.Status`
//! in OTLP/JSON (exporters only log it; OTLP would have it protobuf for a protobuf request).

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use callscope_shared::ErrorBody;
use utoipa::ToSchema;

use crate::app::AppState;
use crate::otlp::wire::{self, Encoding, WireError};
use crate::otlp::{self, ingest};
use crate::pipeline::PipelineError;
use crate::pipeline_auth::PipelineAuth;

/// An OTLP/JSON `ExportTraceServiceRequest`: `resourceSpans`, each with `scopeSpans`, each
/// with `spans` (hex ids; int64 as strings or numbers). Absent, like any field at its
/// default in proto3 JSON: `{}` is a request with no spans.
#[derive(ToSchema)]
#[allow(dead_code, non_snake_case)] // Described, not deserialised; OTLP/JSON's names.
pub struct OtlpTraces {
    #[serde(default)]
    #[schema(value_type = Vec<Object>)]
    resourceSpans: Vec<serde_json::Value>,
}

/// An OTLP/JSON `ExportTraceServiceResponse`: `{}`, or the spans refused and why.
#[derive(ToSchema)]
#[allow(dead_code, non_snake_case)] // Described, not serialised (`wire::success` writes it).
pub struct OtlpSuccess {
    partialSuccess: Option<OtlpPartialSuccess>,
}

#[derive(ToSchema)]
#[allow(dead_code, non_snake_case)] // Described, not serialised.
pub struct OtlpPartialSuccess {
    /// An int64 as a decimal string (OTLP/JSON).
    #[schema(pattern = "^[0-9]+$")]
    rejectedSpans: String,
    errorMessage: String,
}

/// A refused trace request: this server's error (`error`) that is also `google.rpc.Status`
/// in OTLP/JSON (`code`, the gRPC code; `message`).
#[derive(ToSchema)]
#[allow(dead_code)] // Described, not serialised (`refused` writes it).
pub struct OtlpError {
    error: String,
    /// gRPC's code for the status (3 invalid argument, 8 resource exhausted, 14 unavailable…).
    code: i32,
    message: String,
}

/// Seconds a client waits after a 429 or 503.
const RETRY_AFTER: &str = "1";

/// `POST /v1/traces`
#[utoipa::path(post, path = "/v1/traces", operation_id = "otlp_traces", tag = "traces", security(("PipelineToken" = [])),
    params(("Content-Encoding" = Option<String>, Header, pattern = "^([gG][zZ][iI][pP]|[iI][dD][eE][nN][tT][iI][tT][yY])?$", description = "`gzip`, or `identity` (the default; also when empty); anything else is a 415")),
    request_body(description = "An OTLP `ExportTraceServiceRequest` (at most 16 MiB, before and after gunzip)",
        content(
            (crate::openapi::schemas::Binary = "application/x-protobuf"),
            (OtlpTraces = "application/json"),
        )),
    responses(
        (status = 200, description = "Ingested: an `ExportTraceServiceResponse` in the request's encoding (`partialSuccess` names spans refused)",
            content(
                (OtlpSuccess = "application/json"),
                (crate::openapi::schemas::Binary = "application/x-protobuf"),
            )),
        (status = 400, description = "A body that does not decode", body = OtlpError),
        (status = 404, description = "`The pipeline API is not enabled (set CALLSCOPE_PIPELINE_TOKEN)`", body = ErrorBody),
        (status = 413, description = "A body over 16 MiB, before or after gunzip", body = ErrorBody),
        (status = 415, description = "Another content type or encoding", body = OtlpError),
        (status = 429, description = "More requests at once than `--otlp-concurrency`", body = OtlpError,
            headers(("Retry-After" = u64, description = "Seconds to wait"))),
        (status = 503, description = "Storage unavailable", body = OtlpError,
            headers(("Retry-After" = u64, description = "Seconds to wait"))),
    ))]
pub async fn traces(
    State(state): State<AppState>,
    _: PipelineAuth,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let text = |name: header::HeaderName| headers.get(name).and_then(|v| v.to_str().ok());
    let encoding = match wire::encoding_of(text(header::CONTENT_TYPE)) {
        Ok(encoding) => encoding,
        Err(e) => {
            return refused(StatusCode::UNSUPPORTED_MEDIA_TYPE, &e.to_string());
        }
    };
    // A Content-Encoding that is not text names no encoding we take: 415, not "none".
    let content_encoding = match headers.get(header::CONTENT_ENCODING).map(|v| v.to_str()) {
        None => None,
        Some(Ok(encoding)) => Some(encoding),
        Some(Err(_)) => {
            let refusal = WireError::UnsupportedContentEncoding.to_string();
            return refused(StatusCode::UNSUPPORTED_MEDIA_TYPE, &refusal);
        }
    };
    let request = match wire::decompress(&body, content_encoding)
        .and_then(|bytes| wire::decode(encoding, &bytes))
    {
        Ok(request) => request,
        Err(e) => {
            let status = match e {
                WireError::TooLarge => StatusCode::PAYLOAD_TOO_LARGE,
                WireError::UnsupportedContentType | WireError::UnsupportedContentEncoding => {
                    StatusCode::UNSUPPORTED_MEDIA_TYPE
                }
                WireError::BadGzip | WireError::Undecodable(_) => StatusCode::BAD_REQUEST,
            };
            return refused(status, &e.to_string());
        }
    };
    let Ok(_permit) = state.traces.permits.try_acquire() else {
        return refused(
            StatusCode::TOO_MANY_REQUESTS,
            "Too many trace requests at once",
        );
    };
    let now = state.clock.now();
    otlp::expire_unclaimed(&state.store, &state.traces.last_expiry, now).await;
    match ingest(&state.store, &state.live, &request, now).await {
        Ok(done) => answer(
            encoding,
            StatusCode::OK,
            wire::success(encoding, done.rejected, &done.message),
        ),
        Err(e @ (PipelineError::Store(_) | PipelineError::Live(_))) => {
            tracing::warn!(error = %e, "trace ingestion failed");
            refused(
                StatusCode::SERVICE_UNAVAILABLE,
                "Storage unavailable, retry later",
            )
        }
        Err(e) => {
            tracing::warn!(error = %e, "trace ingestion failed");
            refused(
                StatusCode::SERVICE_UNAVAILABLE,
                "Trace not applied, retry later",
            )
        }
    }
}

fn answer(encoding: Encoding, status: StatusCode, body: Vec<u8>) -> Response {
    let mut response = (status, body).into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(encoding.content_type()),
    );
    if matches!(
        status,
        StatusCode::TOO_MANY_REQUESTS | StatusCode::SERVICE_UNAVAILABLE
    ) {
        response
            .headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from_static(RETRY_AFTER));
    }
    response
}

/// A refused request.
fn refused(status: StatusCode, message: &str) -> Response {
    let code = wire::grpc_code(status.as_u16());
    let body = serde_json::json!({"error": message, "code": code, "message": message});
    answer(Encoding::Json, status, body.to_string().into_bytes())
}
