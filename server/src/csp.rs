//! The one Content-Security-Policy of every HTML page the server sends: the viewer's
//! `index.html`, whether it is reached at `/`, as a file of the build, or through a public
//! debug link. Set on the way out of the whole router, so no HTML page can miss it.

use axum::extract::Request;
use axum::http::{HeaderValue, header};
use axum::middleware::Next;
use axum::response::Response;

/// Our own origin only, no inline script or style, wasm allowed (the viewer is wasm), no
/// framing: a page that shows call data must not run or load anything else.
pub const VIEWER_CSP: &str = "default-src 'none'; script-src 'self' 'wasm-unsafe-eval'; style-src 'self'; \
     img-src 'self' data:; font-src 'self'; connect-src 'self'; manifest-src 'self'; base-uri 'none'; \
     form-action 'none'; frame-ancestors 'none'";

/// Middleware: every `text/html` response carries [`VIEWER_CSP`].
pub async fn on_html(request: Request, next: Next) -> Response {
    let mut response = next.run(request).await;
    let is_html = response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.trim_start().to_ascii_lowercase().starts_with("text/html"));
    if is_html {
        response.headers_mut().insert(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static(VIEWER_CSP),
        );
    }
    response
}
