//! `POST /v1/traces`: OTLP/HTTP traces from voice agents (see `otlp`), authorised by the
//! pipeline token. A success is in the request's encoding: an `ExportTraceServiceResponse`
//! (with `partialSuccess` when spans were rejected). A refused request is JSON, as every
//! error of this server: `{"error", "code", "message"}`, which is also `google.rpc.Status`
//! in OTLP/JSON (exporters only log it; OTLP would have it protobuf for a protobuf request).

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

use crate::app::AppState;
use crate::otlp::wire::{self, Encoding, WireError};
use crate::otlp::{self, ingest};
use crate::pipeline::PipelineError;
use crate::pipeline_auth::PipelineAuth;

/// Seconds a client waits after a 429 or 503.
const RETRY_AFTER: &str = "1";

/// `POST /v1/traces`
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
    let request = match wire::decompress(&body, text(header::CONTENT_ENCODING))
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
