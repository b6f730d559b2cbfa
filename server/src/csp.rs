//! The one Content-Security-Policy of every HTML page the server sends: the viewer's
//! `index.html`, whether it is reached at `/`, as a file of the build, or through a public
//! debug link. Set on the way out of the whole router, so no HTML page can miss it.

use axum::extract::{Request, State};
use axum::http::{HeaderValue, header};
use axum::middleware::Next;
use axum::response::Response;

use crate::recordings::RecordingStore;

/// Our own origin only, no inline script or style, wasm allowed (the viewer is wasm), no
/// framing: a page that shows call data must not run or load anything else. Media from our
/// own origin: a debug link's recording (embedded store).
pub const VIEWER_CSP: &str = "default-src 'none'; script-src 'self' 'wasm-unsafe-eval'; style-src 'self'; \
     img-src 'self' data:; font-src 'self'; connect-src 'self'; media-src 'self'; manifest-src 'self'; \
     base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

/// The policy this server sends: [`VIEWER_CSP`], with the recordings bucket's origin
/// (`scheme://host[:port]` of the S3 endpoint) added to `media-src` when recordings are in
/// S3, since a debug link's recording then plays from the bucket.
pub fn viewer_csp(recordings: Option<&RecordingStore>) -> HeaderValue {
    let policy = match recordings {
        Some(RecordingStore::S3(bucket)) => VIEWER_CSP.replace(
            "media-src 'self';",
            &format!("media-src 'self' {};", bucket.origin()),
        ),
        _ => VIEWER_CSP.to_owned(),
    };
    HeaderValue::from_str(&policy).unwrap_or_else(|_| HeaderValue::from_static(VIEWER_CSP))
}

/// Middleware: every `text/html` response carries the policy (`viewer_csp`).
pub async fn on_html(State(policy): State<HeaderValue>, request: Request, next: Next) -> Response {
    let mut response = next.run(request).await;
    let is_html = response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.trim_start().to_ascii_lowercase().starts_with("text/html"));
    if is_html {
        response
            .headers_mut()
            .insert(header::CONTENT_SECURITY_POLICY, policy);
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::recordings::{AwsCredentials, Recordings, RecordingsConfig};

    #[test]
    fn media_comes_from_our_origin_and_an_s3_buckets() {
        assert_eq!(viewer_csp(None), VIEWER_CSP);
        assert!(VIEWER_CSP.contains("; media-src 'self';"));
        let bucket = Recordings::new(
            &RecordingsConfig {
                bucket: "recs".into(),
                region: "eu-west-1".into(),
                endpoint: Some("http://127.0.0.1:9000/s3".into()),
            },
            AwsCredentials {
                access_key_id: "AKID".into(),
                secret_access_key: "secret".into(),
                session_token: None,
            },
        )
        .unwrap();
        let policy = viewer_csp(Some(&RecordingStore::S3(bucket)));
        assert_eq!(
            policy,
            VIEWER_CSP.replace(
                "media-src 'self';",
                "media-src 'self' http://127.0.0.1:9000;"
            )
        );
    }
}
