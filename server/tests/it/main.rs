//! The server's integration tests, one binary (`cargo test -p callscope-server --test it`)
//! so the suite links once. `common` holds the scratch databases, the served app and the
//! rule for which tests run on both backends.

#[macro_use]
mod common;

mod api_base;
mod api_calls;
mod api_routes;
mod call_control;
mod cli;
mod debug_links;
mod debug_recording;
mod edge;
mod fake_telnyx;
mod faults;
mod live_view;
mod metrics;
mod miss_limiter;
mod openapi;
mod otlp;
mod otlp_clients;
mod pipeline;
mod public_view_cache;
mod recording_capture;
mod recordings;
mod retention;
mod simulate;
mod simulated;
mod static_assets;
mod storage;
mod telnyx;
mod telnyx_flow;
mod webhooks;
