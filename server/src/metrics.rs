//! Prometheus metrics (`GET /metrics` on `--metrics-bind`, off the public port), recorded
//! through the `metrics` facade and rendered by `metrics-exporter-prometheus`.
//!
//! Series (every name here, once):
//! - `callscope_http_requests_total{route, method, status}` and
//!   `callscope_http_request_duration_seconds{route, method}`: per matched route (the
//!   route's pattern, never the path with its ids or tokens);
//! - `callscope_live_calls`, `callscope_outbox_pending_jobs`,
//!   `callscope_outbox_oldest_due_seconds`, `callscope_db_pool_connections{state}`: read at
//!   each scrape;
//! - `callscope_webhook_deliveries_total{outcome}`: `delivered`, `retrying`, `failed`;
//! - `callscope_provider_commands_total{provider, action, outcome}` and
//!   `callscope_provider_command_duration_seconds{provider, action}`;
//! - `callscope_debug_link_views_total`, `callscope_debug_link_misses_total`.

use std::sync::OnceLock;
use std::time::Instant;

use axum::Router;
use axum::extract::{MatchedPath, Request, State};
use axum::http::{HeaderValue, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};

use crate::app::AppState;

pub const HTTP_REQUESTS: &str = "callscope_http_requests_total";
pub const HTTP_DURATION: &str = "callscope_http_request_duration_seconds";
pub const LIVE_CALLS: &str = "callscope_live_calls";
pub const OUTBOX_PENDING: &str = "callscope_outbox_pending_jobs";
pub const OUTBOX_OLDEST_DUE: &str = "callscope_outbox_oldest_due_seconds";
pub const DB_POOL: &str = "callscope_db_pool_connections";
pub const DELIVERIES: &str = "callscope_webhook_deliveries_total";
pub const PROVIDER_COMMANDS: &str = "callscope_provider_commands_total";
pub const PROVIDER_DURATION: &str = "callscope_provider_command_duration_seconds";
pub const LINK_VIEWS: &str = "callscope_debug_link_views_total";
pub const LINK_MISSES: &str = "callscope_debug_link_misses_total";

/// Histogram buckets, in seconds: 1 ms to 10 s.
const BUCKETS: &[f64] = &[
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

/// The process's recorder, installed on first use (one per process: the facade is global).
pub fn handle() -> &'static PrometheusHandle {
    static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();
    HANDLE.get_or_init(|| {
        let builder = PrometheusBuilder::new()
            .set_buckets(BUCKETS)
            .expect("the bucket list is not empty");
        match builder.install_recorder() {
            Ok(handle) => handle,
            // Another recorder was installed first: render ours, which records nothing.
            Err(_) => PrometheusBuilder::new().build_recorder().handle(),
        }
    })
}

/// Route middleware (`route_layer`, so the matched route is known): counts and times the
/// request under its route pattern.
pub async fn track_http(request: Request, next: Next) -> Response {
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map(|p| p.as_str().to_owned())
        .unwrap_or_else(|| "unmatched".to_owned());
    let method = request.method().as_str().to_owned();
    let started = Instant::now();
    let response = next.run(request).await;
    let status = response.status().as_u16().to_string();
    metrics::counter!(HTTP_REQUESTS, "route" => route.clone(), "method" => method.clone(), "status" => status)
        .increment(1);
    metrics::histogram!(HTTP_DURATION, "route" => route, "method" => method)
        .record(started.elapsed().as_secs_f64());
    response
}

/// A provider command's outcome and duration.
pub fn provider_command(provider: &'static str, action: &'static str, ok: bool, started: Instant) {
    let outcome = if ok { "accepted" } else { "failed" };
    metrics::counter!(PROVIDER_COMMANDS, "provider" => provider, "action" => action, "outcome" => outcome)
        .increment(1);
    metrics::histogram!(PROVIDER_DURATION, "provider" => provider, "action" => action)
        .record(started.elapsed().as_secs_f64());
}

/// A webhook delivery attempt's outcome: `delivered`, `retrying` or `failed`.
pub fn delivery(outcome: &'static str) {
    metrics::counter!(DELIVERIES, "outcome" => outcome).increment(1);
}

pub fn link_view() {
    metrics::counter!(LINK_VIEWS).increment(1);
}

pub fn link_miss() {
    metrics::counter!(LINK_MISSES).increment(1);
}

/// The metrics server's routes: `GET /metrics` only.
pub fn router(state: AppState) -> Router {
    handle();
    Router::new()
        .route("/metrics", get(scrape))
        .with_state(state)
}

async fn scrape(State(state): State<AppState>) -> Response {
    let now = state.clock.now();
    match state.store.gauges(now).await {
        Ok(g) => {
            metrics::gauge!(LIVE_CALLS).set(g.live_calls as f64);
            metrics::gauge!(OUTBOX_PENDING).set(g.outbox_pending as f64);
            metrics::gauge!(OUTBOX_OLDEST_DUE).set(g.outbox_oldest_due_seconds as f64);
        }
        Err(e) => tracing::warn!(error = %e, "reading the metrics gauges failed"),
    }
    let (size, idle) = state.store.pool_usage();
    metrics::gauge!(DB_POOL, "state" => "idle").set(idle as f64);
    metrics::gauge!(DB_POOL, "state" => "in_use").set(size.saturating_sub(idle as u32) as f64);
    let handle = handle();
    handle.run_upkeep();
    let mut response = handle.render().into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; version=0.0.4; charset=utf-8"),
    );
    response
}
