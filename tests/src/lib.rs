//! End-to-end harness: starts the real `callscope` binary on a free port with a scratch
//! SQLite database and the built viewer, and drives headless Chromium through chromedriver.
//!
//! The binary is the one `cargo build -p callscope-server` put beside this test's own
//! executable (`CALLSCOPE_BIN` overrides); the viewer is the workspace's `dist/`
//! (`CALLSCOPE_DIST` overrides). Both are built by the test command before tests run.

pub mod axe;
pub mod browser;
pub mod live_call;
pub mod long_call;
pub mod page;
pub mod recorded_call;
pub mod server;

pub use browser::Browser;
pub use server::{Demo, Options, Server};

/// The workspace root.
pub fn workspace_root() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("workspace root")
        .to_path_buf()
}

/// Where tests save screenshots (not committed): `test-artifacts/` in the workspace.
pub fn artifacts_dir() -> std::path::PathBuf {
    let dir = std::env::var_os("CALLSCOPE_ARTIFACTS")
        .map(Into::into)
        .unwrap_or_else(|| workspace_root().join("test-artifacts"));
    std::fs::create_dir_all(&dir).expect("create artifacts dir");
    dir
}
