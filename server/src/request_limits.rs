//! Requests refused before any handler runs, each with the API's JSON error.
//!
//! **Head size.** hyper refuses oversized request heads itself, but with an empty body
//! and only past its own, generous limits (a URI over 64 KiB, a head over its ~400 KiB
//! read buffer, over `http_server`'s field count). So the documented limits are ours and
//! lower, and enforced here, where the answer can be JSON: a URI over [`MAX_URI_BYTES`] is
//! a 414, headers over [`MAX_HEADER_BYTES`] in total or [`MAX_HEADERS`] fields a 431.
//!
//! **Bodies.** Every route has a body limit: [`BODY_LIMIT`] for the routes that read one,
//! 0 for the rest (GET, DELETE, and the POSTs that act on the path alone). A declared body
//! over it is a 413 answered from the headers alone, before a byte of the body is read,
//! so a client that sent `Expect: 100-continue` gets the 413 instead of `100 Continue`.
//! A chunked body of unknown length on a route that reads one is limited while it is read
//! (`DefaultBodyLimit`, also a 413).

use axum::extract::{MatchedPath, Request};
use axum::http::{HeaderMap, Method, StatusCode, Uri, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::app::BODY_LIMIT;
use crate::error::{ApiError, messages};

/// Longest request URI (path and query as sent), in bytes.
pub const MAX_URI_BYTES: usize = 8 * 1024;
/// Most bytes of header fields per request, counted as sent (`name: value\r\n`).
pub const MAX_HEADER_BYTES: usize = 32 * 1024;
/// Most header fields per request.
pub const MAX_HEADERS: usize = 100;

/// Middleware (outside every route and the viewer's files): 414 and 431 as JSON.
pub async fn limit_head(request: Request, next: Next) -> Response {
    if uri_len(request.uri()) > MAX_URI_BYTES {
        return ApiError::new(StatusCode::URI_TOO_LONG, messages::URI_TOO_LONG).into_response();
    }
    let headers = request.headers();
    let header_bytes: usize = headers
        .iter()
        .map(|(name, value)| name.as_str().len() + value.len() + 4)
        .sum();
    if headers.len() > MAX_HEADERS || header_bytes > MAX_HEADER_BYTES {
        return ApiError::new(
            StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE,
            messages::HEADERS_TOO_LARGE,
        )
        .into_response();
    }
    next.run(request).await
}

/// Route middleware (`Router::route_layer`, so it runs only for a routed method and a
/// wrong method stays a 405): a body the route does not take, or a declared one over its
/// limit, is a 413.
pub async fn limit_body(request: Request, next: Next) -> Response {
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map(MatchedPath::as_str)
        .unwrap_or_default();
    let limit = body_limit(request.method(), route);
    if let Err(refused) = check_body(request.headers(), limit) {
        return refused.into_response();
    }
    next.run(request).await
}

/// The largest body `method` on `route` reads; 0 for a route that reads none. A new
/// route that reads a body must be listed here (its tests fail with 413 otherwise).
fn body_limit(method: &Method, route: &str) -> usize {
    match (method, route) {
        (&Method::POST, "/v1/webhooks")
        | (&Method::POST, "/pipeline/v1/calls")
        | (&Method::POST, "/pipeline/v1/calls/{call_id}/turns")
        | (&Method::POST, "/pipeline/v1/calls/{call_id}/end")
        | (&Method::POST, "/v1/calls/{call_id}/transfer")
        | (&Method::POST, "/v1/calls/{call_id}/gather")
        | (&Method::PATCH, "/pipeline/v1/calls/{call_id}") => BODY_LIMIT,
        (&Method::POST, "/telnyx/webhooks") => crate::routes::telnyx::WEBHOOK_BODY_LIMIT,
        (&Method::POST, "/v1/traces") => crate::otlp::wire::MAX_BODY_BYTES,
        _ => 0,
    }
}

/// Refuses a request whose headers declare a body over `limit` (any body at all when the
/// limit is 0, chunked ones included).
pub fn check_body(headers: &HeaderMap, limit: usize) -> Result<(), ApiError> {
    let chunked = headers.contains_key(header::TRANSFER_ENCODING);
    let length = headers
        .get(header::CONTENT_LENGTH)
        .map(|v| v.to_str().ok().and_then(|v| v.parse::<u64>().ok()));
    let too_large = || ApiError::new(StatusCode::PAYLOAD_TOO_LARGE, messages::BODY_TOO_LARGE);
    let not_taken = || ApiError::new(StatusCode::PAYLOAD_TOO_LARGE, messages::BODY_NOT_ALLOWED);
    match (chunked, length) {
        (false, None | Some(Some(0))) => Ok(()),
        _ if limit == 0 => Err(not_taken()),
        (false, Some(Some(n))) if n > limit as u64 => Err(too_large()),
        // hyper has already refused an unparsable Content-Length; be safe anyway.
        (false, Some(None)) => Err(too_large()),
        _ => Ok(()),
    }
}

/// The URI's length as the client sent it (origin form: path and query; absolute form
/// also scheme and authority).
fn uri_len(uri: &Uri) -> usize {
    let scheme = uri.scheme_str().map_or(0, |s| s.len() + "://".len());
    let authority = uri.authority().map_or(0, |a| a.as_str().len());
    let rest = uri.path_and_query().map_or(0, |pq| pq.as_str().len());
    scheme + authority + rest
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn headers(pairs: &[(header::HeaderName, &'static str)]) -> HeaderMap {
        pairs
            .iter()
            .map(|(n, v)| (n.clone(), HeaderValue::from_static(v)))
            .collect()
    }

    #[test]
    fn no_body_or_an_empty_one_passes_everywhere() {
        assert!(check_body(&headers(&[]), 0).is_ok());
        assert!(check_body(&headers(&[(header::CONTENT_LENGTH, "0")]), 0).is_ok());
    }

    #[test]
    fn any_body_is_refused_where_none_is_taken() {
        for h in [
            headers(&[(header::CONTENT_LENGTH, "1")]),
            headers(&[(header::TRANSFER_ENCODING, "chunked")]),
        ] {
            let err = check_body(&h, 0).unwrap_err();
            assert_eq!(err.status, StatusCode::PAYLOAD_TOO_LARGE);
            assert_eq!(err.message, messages::BODY_NOT_ALLOWED);
        }
    }

    #[test]
    fn a_declared_length_over_the_limit_is_refused_up_to_it_passes() {
        let at = BODY_LIMIT.to_string().leak();
        assert!(check_body(&headers(&[(header::CONTENT_LENGTH, at)]), BODY_LIMIT).is_ok());
        let over = (BODY_LIMIT + 1).to_string().leak();
        let err = check_body(&headers(&[(header::CONTENT_LENGTH, over)]), BODY_LIMIT).unwrap_err();
        assert_eq!(err.message, messages::BODY_TOO_LARGE);
        // Chunked: limited while read.
        let chunked = headers(&[(header::TRANSFER_ENCODING, "chunked")]);
        assert!(check_body(&chunked, BODY_LIMIT).is_ok());
    }

    #[test]
    fn uri_length_counts_what_was_sent() {
        assert_eq!(uri_len(&"/v1/calls?limit=5".parse().unwrap()), 17);
        assert_eq!(uri_len(&"http://a.b/x".parse().unwrap()), 12);
    }
}
