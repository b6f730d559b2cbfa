//! The API's one error type, and the one place each domain error becomes an HTTP answer:
//! every failure is `{"error": "<message>"}` with its status.
//!
//! Failures are logged once, by `log_failures`, not where they are converted: an
//! `ApiError` built from an internal failure carries its cause into the response's
//! extensions, and the middleware logs it inside the request's span (method, route,
//! request id), so the line says what was being done.

pub mod messages;

use std::borrow::Cow;
use std::sync::Arc;

use axum::Json;
use axum::extract::Request;
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use callscope_shared::{ErrorBody, WEBHOOK_EVENTS};

use crate::call_control::{EndError, GatherError, TransferError};
use crate::calls::CallError;
use crate::debug_link::DebugLinkError;
use crate::pipeline::PipelineError;
use crate::recordings::link::RecordingError;
use crate::storage::StoreError;
use crate::telnyx::{CommandError, WebhookError};
use crate::webhooks::MAX_ENDPOINTS;
use crate::webhooks::endpoints::EndpointError;

/// The internal failure behind an error answer; for the log only, never the client.
pub type Cause = Arc<dyn std::error::Error + Send + Sync + 'static>;

/// An error answer. Messages are the spec's, verbatim, where it has one.
#[derive(Debug, Clone)]
pub struct ApiError {
    pub status: StatusCode,
    pub message: Cow<'static, str>,
    /// Seconds for `Retry-After`, on 429 and 503.
    pub retry_after: Option<u64>,
    /// What failed inside, when something did (5xx); logged by `log_failures`.
    pub cause: Option<Cause>,
}

impl ApiError {
    pub fn new(status: StatusCode, message: impl Into<Cow<'static, str>>) -> Self {
        Self {
            status,
            message: message.into(),
            retry_after: None,
            cause: None,
        }
    }

    pub fn bad_request(message: impl Into<Cow<'static, str>>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, message)
    }

    pub fn unauthorized(message: impl Into<Cow<'static, str>>) -> Self {
        Self::new(StatusCode::UNAUTHORIZED, message)
    }

    pub fn forbidden(message: impl Into<Cow<'static, str>>) -> Self {
        Self::new(StatusCode::FORBIDDEN, message)
    }

    pub fn not_found(message: impl Into<Cow<'static, str>>) -> Self {
        Self::new(StatusCode::NOT_FOUND, message)
    }

    pub fn internal() -> Self {
        Self::new(StatusCode::INTERNAL_SERVER_ERROR, messages::INTERNAL)
    }

    /// 503: a dependency is down or saturated; the client may retry after `secs`.
    pub fn unavailable(message: impl Into<Cow<'static, str>>, secs: u64) -> Self {
        Self::new(StatusCode::SERVICE_UNAVAILABLE, message).with_retry_after(secs)
    }

    pub fn with_retry_after(mut self, secs: u64) -> Self {
        self.retry_after = Some(secs);
        self
    }

    /// Attaches the internal failure, to be logged with the request (never sent).
    pub fn caused_by(mut self, cause: impl std::error::Error + Send + Sync + 'static) -> Self {
        self.cause = Some(Arc::new(cause));
        self
    }
}

impl From<StoreError> for ApiError {
    fn from(err: StoreError) -> Self {
        // The database's message may quote stored values; it goes to the log only.
        let answer = if err.is_unavailable() {
            ApiError::unavailable(messages::SERVICE_UNAVAILABLE, 5)
        } else {
            ApiError::internal()
        };
        answer.caused_by(err)
    }
}

/// Seconds a client refused a live stream waits before trying again.
const STREAM_RETRY_AFTER: u64 = 10;

impl From<DebugLinkError> for ApiError {
    fn from(err: DebugLinkError) -> Self {
        match err {
            DebugLinkError::CallNotFound => ApiError::not_found(messages::CALL_NOT_FOUND),
            DebugLinkError::NotAvailable => ApiError::not_found(messages::DEBUG_LOG_NOT_AVAILABLE),
            DebugLinkError::LinkNotFound => ApiError::not_found(messages::DEBUG_LINK_NOT_FOUND),
            DebugLinkError::TooManyMisses { retry_after } => {
                ApiError::new(StatusCode::TOO_MANY_REQUESTS, messages::TOO_MANY_REQUESTS)
                    .with_retry_after(retry_after)
            }
            DebugLinkError::TooManyStreams => {
                ApiError::new(StatusCode::TOO_MANY_REQUESTS, messages::TOO_MANY_STREAMS)
                    .with_retry_after(STREAM_RETRY_AFTER)
            }
            DebugLinkError::Unsealable | DebugLinkError::Crypto(_) => {
                ApiError::internal().caused_by(err)
            }
            DebugLinkError::Store(store) => store.into(),
        }
    }
}

impl From<CallError> for ApiError {
    fn from(err: CallError) -> Self {
        match err {
            CallError::NotFound => ApiError::not_found(messages::CALL_NOT_FOUND),
            CallError::Live(_) => {
                ApiError::unavailable(messages::SERVICE_UNAVAILABLE, 2).caused_by(err)
            }
            CallError::Store(store) => store.into(),
        }
    }
}

impl From<RecordingError> for ApiError {
    fn from(err: RecordingError) -> Self {
        match err {
            RecordingError::CallNotFound => ApiError::not_found(messages::CALL_NOT_FOUND),
            RecordingError::NotEnabled => ApiError::not_found(messages::RECORDING_NOT_ENABLED),
            RecordingError::NotYetAvailable => {
                ApiError::not_found(messages::RECORDING_NOT_YET_AVAILABLE)
            }
            RecordingError::Failed(reason) => {
                ApiError::not_found(format!("{}{reason}", messages::RECORDING_FAILED_PREFIX))
            }
            RecordingError::Deleted => ApiError::not_found(messages::RECORDING_DELETED),
            // A recording exists but this server cannot sign for it: the operator's doing,
            // not the client's and not a crash, so 503 with a message saying so.
            RecordingError::NotConfigured => ApiError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                messages::RECORDINGS_NOT_CONFIGURED,
            ),
            // Stored data this server will not sign (see `recordings::UnsignableKey`).
            RecordingError::Unsignable { .. } | RecordingError::ExpiryOutOfRange => {
                ApiError::internal().caused_by(err)
            }
            RecordingError::Store(store) => store.into(),
        }
    }
}

impl From<EndpointError> for ApiError {
    fn from(err: EndpointError) -> Self {
        match err {
            EndpointError::NotFound => ApiError::not_found(messages::WEBHOOK_NOT_FOUND),
            EndpointError::Disabled => {
                ApiError::new(StatusCode::CONFLICT, messages::WEBHOOK_DISABLED)
            }
            EndpointError::UnknownEvent => ApiError::bad_request(format!(
                "events must contain only: {}",
                WEBHOOK_EVENTS.join(", ")
            )),
            // The target check's text is written for the client.
            EndpointError::Target(target) => ApiError::bad_request(target.to_string()),
            EndpointError::TooMany => ApiError::bad_request(format!(
                "An account can have at most {MAX_ENDPOINTS} webhook endpoints"
            )),
            EndpointError::Crypto(_) => ApiError::internal().caused_by(err),
            EndpointError::Store(store) => store.into(),
        }
    }
}

impl From<PipelineError> for ApiError {
    fn from(err: PipelineError) -> Self {
        let conflict = |m: String| ApiError::new(StatusCode::CONFLICT, m);
        match err {
            PipelineError::CallNotFound => ApiError::not_found(messages::CALL_NOT_FOUND),
            PipelineError::AgentNotFound => ApiError::not_found(messages::AGENT_NOT_FOUND),
            PipelineError::NotInProgress => conflict(messages::CALL_NOT_IN_PROGRESS.into()),
            PipelineError::Ended => conflict(messages::CALL_HAS_ENDED.into()),
            PipelineError::SeqConflict(seq) => {
                conflict(format!("seq {seq} already holds a different entry"))
            }
            PipelineError::Invalid(message) => ApiError::bad_request(message),
            PipelineError::Live(_) => {
                ApiError::unavailable(messages::SERVICE_UNAVAILABLE, 2).caused_by(err)
            }
            PipelineError::Store(store) => store.into(),
        }
    }
}

/// `POST /telnyx/webhooks` on a server without Telnyx's public key: nothing can be verified,
/// so nothing is accepted (the operator's setting, hence 503 and no `Retry-After`).
#[derive(Debug, Clone, Copy)]
pub struct TelnyxNotConfigured;

impl From<TelnyxNotConfigured> for ApiError {
    fn from(_: TelnyxNotConfigured) -> Self {
        ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            messages::TELNYX_WEBHOOKS_NOT_CONFIGURED,
        )
    }
}

impl From<WebhookError> for ApiError {
    fn from(err: WebhookError) -> Self {
        // Every variant is the sender's: a forged or stale delivery (401), or a body that is
        // not Telnyx's envelope (400). The message says which check failed.
        let status = match err {
            WebhookError::Envelope(_) => StatusCode::BAD_REQUEST,
            _ => StatusCode::UNAUTHORIZED,
        };
        ApiError::new(status, format!("Invalid Telnyx webhook: {err}"))
    }
}

impl From<EndError> for ApiError {
    fn from(err: EndError) -> Self {
        match err {
            EndError::Pipeline(e) => e.into(),
            // Telnyx refused (or we could not ask it): a bad gateway, with Telnyx's reason.
            EndError::Telnyx(e) => telnyx_failure("End", StatusCode::BAD_GATEWAY, e),
        }
    }
}

impl From<TransferError> for ApiError {
    fn from(err: TransferError) -> Self {
        let conflict = |m: &'static str| ApiError::new(StatusCode::CONFLICT, m);
        match err {
            TransferError::InvalidDestination => {
                ApiError::bad_request(messages::DESTINATION_INVALID)
            }
            TransferError::NoControlChannel => conflict(messages::NO_CONTROL_CHANNEL),
            TransferError::AlreadyInProgress => conflict(messages::TRANSFER_IN_PROGRESS),
            TransferError::Pipeline(e) => e.into(),
            TransferError::Telnyx(e) => {
                telnyx_failure("Transfer", StatusCode::UNPROCESSABLE_ENTITY, e)
            }
        }
    }
}

impl From<GatherError> for ApiError {
    fn from(err: GatherError) -> Self {
        let conflict = |m: &'static str| ApiError::new(StatusCode::CONFLICT, m);
        match err {
            GatherError::NotActive => conflict(messages::CALL_NOT_ACTIVE),
            GatherError::NoControlChannel => conflict(messages::NO_CONTROL_CHANNEL),
            GatherError::AlreadyInProgress => conflict(messages::GATHER_IN_PROGRESS),
            GatherError::Pipeline(e) => e.into(),
            GatherError::Telnyx(e) => telnyx_failure("Gather", StatusCode::UNPROCESSABLE_ENTITY, e),
        }
    }
}

/// A command Telnyx refused (`refused`, with Telnyx's reason: `Transfer failed: <reason>`)
/// or could not take (503 with `Retry-After`).
fn telnyx_failure(command: &str, refused: StatusCode, err: CommandError) -> ApiError {
    let message = format!("{command} failed: {}", err.reason());
    let status = match err {
        CommandError::Unavailable { .. } => {
            return ApiError::unavailable(message, 5).caused_by(err);
        }
        _ => refused,
    };
    ApiError::new(status, message).caused_by(err)
}

/// The cause of an error answer, as the response carries it to `log_failures`.
#[derive(Clone)]
struct Failure(Cause);

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut response = (self.status, Json(ErrorBody::new(self.message))).into_response();
        if let Some(secs) = self.retry_after {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(secs));
        }
        if self.status == StatusCode::UNAUTHORIZED {
            response
                .headers_mut()
                .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        }
        if let Some(cause) = self.cause {
            response.extensions_mut().insert(Failure(cause));
        }
        response
    }
}

/// Logs the cause of every failed request once, inside the request's span. A 503 is a
/// dependency that is down or saturated (a warning: it heals); anything else is an error.
pub async fn log_failures(request: Request, next: Next) -> Response {
    let mut response = next.run(request).await;
    if let Some(Failure(cause)) = response.extensions_mut().remove::<Failure>() {
        let status = response.status().as_u16();
        if response.status() == StatusCode::SERVICE_UNAVAILABLE {
            tracing::warn!(status, error = %cause, "request failed");
        } else {
            tracing::error!(status, error = %cause, "request failed");
        }
    }
    response
}

/// The message used when a framework layer (not our handlers) produced an error status.
pub fn default_message(status: StatusCode) -> Cow<'static, str> {
    match status {
        StatusCode::NOT_FOUND => messages::NOT_FOUND.into(),
        StatusCode::METHOD_NOT_ALLOWED => messages::METHOD_NOT_ALLOWED.into(),
        StatusCode::PAYLOAD_TOO_LARGE => messages::BODY_TOO_LARGE.into(),
        StatusCode::UNSUPPORTED_MEDIA_TYPE => messages::CONTENT_TYPE_JSON.into(),
        StatusCode::REQUEST_TIMEOUT => messages::REQUEST_TIMED_OUT.into(),
        StatusCode::URI_TOO_LONG => messages::URI_TOO_LONG.into(),
        StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE => messages::HEADERS_TOO_LARGE.into(),
        StatusCode::INTERNAL_SERVER_ERROR => messages::INTERNAL.into(),
        other => other
            .canonical_reason()
            .unwrap_or("Request failed")
            .to_owned()
            .into(),
    }
}
