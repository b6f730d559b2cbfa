//! The callscope server: the Calls API, public debug links and webhook delivery, over
//! SQLite or PostgreSQL. `main.rs` is only the command line around this library.

pub mod agents;
pub mod app;
pub mod application;
pub mod auth;
pub mod billing;
pub mod call_control;
pub mod calls;
pub mod changes;
pub mod cli;
pub mod client_ip;
pub mod clock;
pub mod config;
pub mod csp;
pub mod cursor;
pub mod debug_link;
pub mod demo;
pub mod error;
pub mod extract;
pub mod http_server;
pub mod ids;
pub mod live;
pub mod operator;
pub mod pipeline;
pub mod pipeline_auth;
pub mod recordings;
pub mod request_limits;
pub mod request_line;
pub mod routes;
pub mod secrets;
pub mod serve;
pub mod simulate;
pub mod storage;
pub mod telephony;
pub mod telnyx;
pub mod webhooks;
