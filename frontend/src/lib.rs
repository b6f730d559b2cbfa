//! The public debug viewer: a Leptos client-side app, built into `dist/` by Trunk.
//! `main.rs` mounts it; everything else lives here so tests can reach it.
//!
//! Components, one per visible part: `header` (with the live badge), `latency_summary`,
//! `timeline`, `player` (the recording, when the link includes it), `transcript`,
//! `call_control`, `webhooks` (composed by `app`). `client`
//! fetches the call; `follow` follows a live call's stream; `call_data` holds the view the
//! components read, changed in place by live events; `dom` holds the few imperative
//! browser calls. Pure logic with native tests: `format`, `latency`, `search`, `chart`
//! (geometry), `markup` (the charts' SVG), `history`, `route`, `live` (events, link state).

pub mod app;
pub mod call_control;
pub mod call_data;
pub mod chart;
pub mod client;
pub mod dom;
pub mod follow;
pub mod format;
pub mod header;
pub mod history;
pub mod latency;
pub mod latency_summary;
pub mod live;
pub mod markup;
pub mod player;
pub mod route;
pub mod search;
pub mod timeline;
pub mod transcript;
pub mod webhooks;

/// Id of the element the app mounts into (in `index.html`).
pub const MOUNT_ID: &str = "app";

/// Attribute set on the mount element once the app is in the DOM; end-to-end tests wait
/// for `#app[data-app-mounted=true]`.
pub const MOUNTED_ATTR: &str = "data-app-mounted";
