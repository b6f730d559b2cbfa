//! The HTTP application: shared state, the router and the layers every request passes.

use std::path::PathBuf;
use std::sync::Arc;

use axum::Router;
use axum::body::Body;
use axum::extract::{MatchedPath, Request};
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use tower::ServiceExt;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::compression::predicate::{DefaultPredicate, NotForContentType, Predicate};
use tower_http::compression::{CompressionLayer, CompressionLevel};
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::services::ServeDir;
use tower_http::timeout::TimeoutLayer;
use tower_http::trace::TraceLayer;

use crate::clock::SharedClock;
use crate::config::Config;
use crate::csp;
use crate::debug_link::DebugLinks;
use crate::error::{ApiError, default_message, log_failures, messages};
use crate::live::LiveStore;
use crate::request_limits;
use crate::routes;
use crate::secrets::Keys;
use crate::storage::Store;
use crate::telephony::Telephony;

/// Largest request body the API accepts.
pub const BODY_LIMIT: usize = 256 * 1024;

/// Everything a handler may need. Cheap to clone. Building one starts nothing: the jobs
/// behind it (view counting, webhook delivery) are run by `Application`.
#[derive(Clone)]
pub struct AppState {
    pub config: Arc<Config>,
    pub store: Store,
    pub live: LiveStore,
    pub keys: Arc<Keys>,
    /// Where "now" comes from, for handlers and jobs alike.
    pub clock: SharedClock,
    pub debug: Arc<DebugLinks>,
    /// The provider live calls are controlled through: Telnyx (when its API key is
    /// configured) or the simulator; `None`: no live-call control.
    pub telephony: Option<Telephony>,
    /// `POST /v1/traces`'s concurrency limit and span expiry.
    pub traces: Arc<crate::otlp::Intake>,
    /// The Content-Security-Policy of every HTML page (`csp::viewer_csp`).
    pub csp: HeaderValue,
}

impl AppState {
    /// Assembles the state; the purpose keys are derived from the config's server key.
    pub fn new(
        config: Arc<Config>,
        store: Store,
        live: LiveStore,
        clock: SharedClock,
        debug: DebugLinks,
    ) -> Self {
        Self {
            keys: Arc::new(Keys::from_server_key(&config.server_key)),
            traces: Arc::new(crate::otlp::Intake::new(config.otlp_concurrency)),
            csp: csp::viewer_csp(config.recordings.as_ref()),
            config,
            store,
            live,
            clock,
            debug: Arc::new(debug),
            telephony: None,
        }
    }
}

/// Builds the whole application. Requests must carry `ConnectInfo<SocketAddr>` (as
/// `http_server::serve` gives them): the public debug endpoint limits misses per client address.
pub fn router(state: AppState) -> Router {
    let dist = state.config.dist.clone();
    let request_timeout = state.config.request_timeout;
    // Before any handler: a body the route does not take (or one declared too large) is a
    // 413, answered before it is read.
    let api = routes::api()
        .route_layer(middleware::from_fn(request_limits::limit_body))
        .with_state(state.clone());

    Router::new()
        .merge(api)
        .fallback(move |request: Request| serve_file(dist.clone(), request))
        .method_not_allowed_fallback(|| async {
            ApiError::new(StatusCode::METHOD_NOT_ALLOWED, messages::METHOD_NOT_ALLOWED)
        })
        // Inside `json_errors`, so a timed-out request's 408 gets a JSON body too.
        .layer(TimeoutLayer::with_status_code(
            StatusCode::REQUEST_TIMEOUT,
            request_timeout,
        ))
        .layer(middleware::from_fn(json_errors))
        .layer(middleware::from_fn_with_state(
            state.csp.clone(),
            csp::on_html,
        ))
        // Brotli or gzip when the client takes it: the viewer's wasm is ~400 KB raw and a
        // long call's JSON ~1 MB. A fast level: responses are compressed as they are sent.
        .layer(
            CompressionLayer::new()
                .br(true)
                .gzip(true)
                .quality(CompressionLevel::Precise(4))
                // Recordings are MP3 already, and served in ranges.
                .compress_when(DefaultPredicate::new().and(NotForContentType::const_new("audio/"))),
        )
        .layer(axum::extract::DefaultBodyLimit::max(BODY_LIMIT))
        .layer(CatchPanicLayer::custom(|_| {
            ApiError::internal().into_response()
        }))
        // Inside the request's span, so a failure's log line carries its route.
        .layer(middleware::from_fn(log_failures))
        // URI and header limits, as JSON 414/431, in the request's span.
        .layer(middleware::from_fn(request_limits::limit_head))
        .layer(
            TraceLayer::new_for_http().make_span_with(|req: &Request<Body>| {
                // The matched route, never the raw path: debug tokens live in paths.
                let route = req
                    .extensions()
                    .get::<MatchedPath>()
                    .map(|p| p.as_str().to_owned())
                    .unwrap_or_else(|| "unmatched".to_owned());
                let request_id = req
                    .headers()
                    .get("x-request-id")
                    .and_then(|v| v.to_str().ok())
                    .unwrap_or("")
                    .to_owned();
                tracing::info_span!("request", method = %req.method(), route, request_id)
            }),
        )
        .layer(PropagateRequestIdLayer::x_request_id())
        .layer(SetRequestIdLayer::x_request_id(MakeRequestUuid))
}

/// Anything outside the API is a file of the viewer's build.
async fn serve_file(dist: PathBuf, request: Request) -> Response {
    let path = request.uri().path().to_owned();
    if routes::is_api_path(&path) {
        return ApiError::not_found(messages::NOT_FOUND).into_response();
    }
    // Files are fetched, never sent: like every route, a body here is refused. Other
    // methods fall through to `ServeDir`'s 405.
    if matches!(*request.method(), Method::GET | Method::HEAD)
        && let Err(refused) = request_limits::check_body(request.headers(), 0)
    {
        return refused.into_response();
    }
    // `trunk build` then `callscope precompress` leave `.br` and `.gz` beside the files:
    // sent as they are to a client that takes them (the compression layer leaves a
    // response that has its Content-Encoding alone).
    let files = ServeDir::new(dist).precompressed_br().precompressed_gzip();
    let mut response = match files.oneshot(request).await {
        Ok(response) => response.into_response(),
        Err(never) => match never {},
    };
    if response.status().is_success() {
        response
            .headers_mut()
            .insert(header::CACHE_CONTROL, cache_control(&path));
    }
    response
}

/// Trunk names every built asset with a hash of its content (`viewer-<16 hex>.css`,
/// `callscope-viewer-<16 hex>_bg.wasm`), so those can be kept for a year; anything else
/// (index.html) is checked on every use.
fn cache_control(path: &str) -> HeaderValue {
    let name = path.rsplit('/').next().unwrap_or_default();
    let stem = name.split('.').next().unwrap_or_default();
    let hashed = stem.rsplit_once('-').is_some_and(|(_, rest)| {
        let (hash, suffix) = rest.split_at(rest.len().min(16));
        hash.len() == 16
            && hash.bytes().all(|b| b.is_ascii_hexdigit())
            && (suffix.is_empty() || suffix.starts_with('_'))
    });
    HeaderValue::from_static(if hashed {
        "public, max-age=31536000, immutable"
    } else {
        "no-cache"
    })
}

/// Guarantees every error response is `{"error": …}` JSON, whichever layer produced it
/// (unknown route, unknown static file, timeout, body limit, panic).
async fn json_errors(request: Request, next: Next) -> Response {
    let response = next.run(request).await;
    let status = response.status();
    if !(status.is_client_error() || status.is_server_error()) {
        return response;
    }
    let is_json = response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"));
    if is_json {
        return response;
    }
    let retry_after = response.headers().get(header::RETRY_AFTER).cloned();
    let mut replaced = ApiError::new(status, default_message(status)).into_response();
    if let Some(value) = retry_after {
        replaced.headers_mut().insert(header::RETRY_AFTER, value);
    }
    replaced.headers_mut().insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    replaced
}
