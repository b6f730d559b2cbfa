//! Extractors whose rejections are JSON errors with a clear message, never axum's text.

use axum::extract::rejection::{JsonRejection, PathRejection, QueryRejection};
use axum::extract::{FromRequest, FromRequestParts};
use axum::http::StatusCode;

use crate::error::{ApiError, messages};

/// `axum::Json` with JSON errors.
#[derive(Debug, Clone, Copy, Default, FromRequest)]
#[from_request(via(axum::Json), rejection(ApiError))]
pub struct ApiJson<T>(pub T);

/// `axum::extract::Query` with JSON errors.
#[derive(Debug, Clone, Copy, Default, FromRequestParts)]
#[from_request(via(axum::extract::Query), rejection(ApiError))]
pub struct ApiQuery<T>(pub T);

impl From<JsonRejection> for ApiError {
    fn from(rejection: JsonRejection) -> Self {
        let status = match rejection {
            JsonRejection::MissingJsonContentType(_) => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            JsonRejection::BytesRejection(ref r) => r.status(),
            _ => StatusCode::BAD_REQUEST,
        };
        let message = match rejection {
            JsonRejection::MissingJsonContentType(_) => messages::CONTENT_TYPE_JSON.to_owned(),
            JsonRejection::JsonSyntaxError(_) => messages::BODY_NOT_JSON.to_owned(),
            JsonRejection::BytesRejection(_) => crate::error::default_message(status).into_owned(),
            other => format!("Invalid request body: {}", other.body_text()),
        };
        ApiError::new(status, message)
    }
}

impl From<QueryRejection> for ApiError {
    fn from(rejection: QueryRejection) -> Self {
        ApiError::bad_request(format!("Invalid query string: {}", rejection.body_text()))
    }
}

impl From<PathRejection> for ApiError {
    fn from(_: PathRejection) -> Self {
        ApiError::not_found(messages::NOT_FOUND)
    }
}
