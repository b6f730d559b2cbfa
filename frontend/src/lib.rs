//! The public debug viewer: a Leptos client-side app, built into `dist/` by Trunk.
//! `main.rs` mounts it; everything else lives here so tests can reach it.

pub mod app;
pub mod route;

/// Id of the element the app mounts into (in `index.html`).
pub const MOUNT_ID: &str = "app";

/// Attribute set on the mount element once the app is in the DOM; end-to-end tests wait
/// for `#app[data-app-mounted=true]`.
pub const MOUNTED_ATTR: &str = "data-app-mounted";
