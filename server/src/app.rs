//! The HTTP application: shared state, the router and the layers every request passes.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::extract::{MatchedPath, Request};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use tower::ServiceExt;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::compression::{CompressionLayer, CompressionLevel};
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::services::ServeDir;
use tower_http::timeout::TimeoutLayer;
use tower_http::trace::TraceLayer;

use crate::client_ip::TrustedProxies;
use crate::debug_link::{MissLimiter, SharedMisses, ViewRecorder};
use crate::error::{ApiError, default_message};
use crate::live::LiveStore;
use crate::recordings::Recordings;
use crate::routes;
use crate::secrets::Keys;
use crate::storage::Store;
use crate::webhooks::WebhookSettings;

/// Largest request body the API accepts.
pub const BODY_LIMIT: usize = 256 * 1024;

/// Everything a handler may need. Cheap to clone.
#[derive(Clone)]
pub struct AppState {
    pub store: Store,
    pub live: LiveStore,
    pub keys: Arc<Keys>,
    pub settings: Arc<Settings>,
    pub debug: Arc<DebugLinks>,
    pub webhooks: Arc<WebhookSettings>,
    /// Proxies whose `X-Forwarded-For` names the client (none by default).
    pub trusted_proxies: Arc<TrustedProxies>,
    /// The recordings bucket and the credentials that pre-sign its URLs; `None` when not
    /// configured (a call with a recording then gets a 503).
    pub recordings: Option<Arc<Recordings>>,
}

/// The public debug endpoint's helpers: miss limiting and view counting.
pub struct DebugLinks {
    pub limiter: MissLimiter,
    pub recorder: ViewRecorder,
}

/// Serving settings fixed at start.
#[derive(Debug, Clone)]
pub struct Settings {
    /// The viewer's built files (`dist/`).
    pub dist: PathBuf,
    /// Misses per minute one client may make on the public debug endpoint (0: no limit).
    pub debug_miss_limit: u32,
}

impl AppState {
    /// Assembles the state and starts its background tasks (view counting) on the current
    /// runtime. With live state in Redis, debug-link miss counts are shared through the same
    /// Redis, under the same key prefix.
    pub fn new(store: Store, live: LiveStore, keys: Keys, settings: Settings) -> Self {
        let mut limiter = MissLimiter::new(settings.debug_miss_limit, Duration::from_secs(60));
        if let LiveStore::Redis { conn, prefix } = &live {
            limiter = limiter.shared_through(SharedMisses::new(conn.clone(), prefix.clone()));
        }
        let debug = DebugLinks {
            limiter,
            recorder: ViewRecorder::start(store.clone()),
        };
        Self {
            store,
            live,
            keys: Arc::new(keys),
            settings: Arc::new(settings),
            debug: Arc::new(debug),
            webhooks: Arc::default(),
            trusted_proxies: Arc::default(),
            recordings: None,
        }
    }

    /// Sets the proxies whose `X-Forwarded-For` is believed (default: none).
    pub fn with_trusted_proxies(mut self, proxies: TrustedProxies) -> Self {
        self.trusted_proxies = Arc::new(proxies);
        self
    }

    /// Sets where recordings are and how their URLs are signed (default: not configured).
    pub fn with_recordings(mut self, recordings: Option<Recordings>) -> Self {
        self.recordings = recordings.map(Arc::new);
        self
    }

    /// Replaces the webhook settings (default: private targets refused).
    pub fn with_webhook_settings(mut self, settings: WebhookSettings) -> Self {
        self.webhooks = Arc::new(settings);
        self
    }
}

/// Builds the whole application. Serve it with `into_make_service_with_connect_info::<SocketAddr>()`:
/// the public debug endpoint limits misses per client address.
pub fn router(state: AppState) -> Router {
    let dist = state.settings.dist.clone();
    let api = routes::api().with_state(state.clone());

    Router::new()
        .merge(api)
        .fallback(move |request: Request| serve_file(dist.clone(), request))
        .method_not_allowed_fallback(|| async {
            ApiError::new(StatusCode::METHOD_NOT_ALLOWED, "Method not allowed")
        })
        .layer(middleware::from_fn(json_errors))
        // Brotli or gzip when the client takes it: the viewer's wasm is ~400 KB raw and a
        // long call's JSON ~1 MB. A fast level: responses are compressed as they are sent.
        .layer(
            CompressionLayer::new()
                .br(true)
                .gzip(true)
                .quality(CompressionLevel::Precise(4)),
        )
        .layer(axum::extract::DefaultBodyLimit::max(BODY_LIMIT))
        .layer(TimeoutLayer::with_status_code(
            StatusCode::REQUEST_TIMEOUT,
            Duration::from_secs(30),
        ))
        .layer(CatchPanicLayer::custom(|_| {
            ApiError::internal().into_response()
        }))
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
        return ApiError::not_found("Not found").into_response();
    }
    let mut response = match ServeDir::new(dist).oneshot(request).await {
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
