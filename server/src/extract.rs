//! Extractors whose rejections are JSON errors with a clear message, never axum's text.

use axum::extract::path::ErrorKind;
use axum::extract::rejection::{JsonRejection, PathRejection, QueryRejection};
use std::fmt;
use std::marker::PhantomData;

use axum::extract::{FromRequest, FromRequestParts, Path, Request};
use axum::http::StatusCode;
use axum::http::request::Parts;

use serde::de::value::MapAccessDeserializer;
use serde::de::{DeserializeOwned, MapAccess, Visitor};
use serde::{Deserialize, Deserializer};

use crate::error::{ApiError, messages};

/// `axum::Json` with JSON errors, whose body must be a JSON object: serde would otherwise
/// read a struct from an array by position (`[null, null]` for a patch, `["agent_…", …]`
/// for a create), a body no client means and the API's document does not allow.
#[derive(Debug, Clone, Copy, Default)]
pub struct ApiJson<T>(pub T);

impl<S, T> FromRequest<S> for ApiJson<T>
where
    S: Send + Sync,
    T: DeserializeOwned,
{
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &S) -> Result<Self, ApiError> {
        let axum::Json(JsonObject(value)) =
            axum::Json::<JsonObject<T>>::from_request(request, state).await?;
        Ok(Self(value))
    }
}

/// `axum::Json` of any JSON value, with JSON errors: for the handlers that read their fields
/// from the value themselves and answer every wrong shape with their field's own message
/// (a transfer body that is not `{"destination": "<E.164>"}`, an array included, is the
/// spec's `destination must be a valid E.164 phone number`).
#[derive(Debug, Clone, Default)]
pub struct AnyJson(pub serde_json::Value);

impl<S: Send + Sync> FromRequest<S> for AnyJson {
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &S) -> Result<Self, ApiError> {
        let axum::Json(value) =
            axum::Json::<serde_json::Value>::from_request(request, state).await?;
        Ok(Self(value))
    }
}

/// A `T` read only from a JSON object.
struct JsonObject<T>(T);

impl<'de, T: Deserialize<'de>> Deserialize<'de> for JsonObject<T> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Object<T>(PhantomData<T>);
        impl<'de, T: Deserialize<'de>> Visitor<'de> for Object<T> {
            type Value = T;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a JSON object")
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<T, A::Error> {
                T::deserialize(MapAccessDeserializer::new(map))
            }
        }
        deserializer
            .deserialize_map(Object(PhantomData))
            .map(JsonObject)
    }
}

/// A route's one path parameter (a call id, a webhook id, a debug token), as text for the
/// route to parse. Every id of ours is ASCII, so a parameter whose percent-decoding is not
/// UTF-8 (`/v1/calls/%FF`) is just another malformed id: it arrives as U+FFFD, which no id
/// parser accepts, and gets the route's own not-found answer (`Call not found`, `Webhook
/// not found`, or the public path's miss, counted by the limiter), never axum's 400.
#[derive(Debug, Clone)]
pub struct PathParam(pub String);

impl<S: Send + Sync> FromRequestParts<S> for PathParam {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        match Path::<String>::from_request_parts(parts, state).await {
            Ok(Path(text)) => Ok(Self(text)),
            Err(PathRejection::FailedToDeserializePathParams(err))
                if matches!(err.kind(), ErrorKind::InvalidUtf8InPathParam { .. }) =>
            {
                Ok(Self(char::REPLACEMENT_CHARACTER.to_string()))
            }
            Err(other) => Err(other.into()),
        }
    }
}

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
