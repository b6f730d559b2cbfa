//! The real server process.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};

static COUNTER: AtomicU64 = AtomicU64::new(0);

/// The `callscope` binary to test.
pub fn binary() -> PathBuf {
    if let Some(path) = std::env::var_os("CALLSCOPE_BIN") {
        return path.into();
    }
    // target/<profile>/deps/<test> → target/<profile>/callscope
    let exe = std::env::current_exe().expect("test executable path");
    let profile_dir = exe
        .parent()
        .and_then(Path::parent)
        .expect("target profile dir");
    let bin = profile_dir.join("callscope");
    assert!(
        bin.is_file(),
        "{} missing: run `cargo build -p callscope-server` first",
        bin.display()
    );
    bin
}

/// What `callscope demo --json` printed.
#[derive(Debug, Clone)]
pub struct Demo {
    pub api_key: String,
    pub debug_call_id: Option<String>,
    pub json: serde_json::Value,
}

/// A running server with its own scratch directory; killed and removed on drop.
pub struct Server {
    pub base_url: String,
    pub dir: PathBuf,
    child: Child,
}

impl Server {
    /// A scratch directory with a fresh SQLite database.
    fn scratch_dir() -> PathBuf {
        let n = COUNTER.fetch_add(1, Ordering::Relaxed);
        let dir = std::env::temp_dir().join(format!("callscope_e2e_{}_{n}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("scratch dir");
        dir
    }

    /// The SQLite URL of a scratch directory's database (its key file sits beside it).
    pub fn database_url(dir: &Path) -> String {
        format!("sqlite://{}/callscope.db", dir.display())
    }

    /// Fills a scratch database with demo data, then starts the server on it.
    pub fn start_with_demo(calls: u32) -> (Server, Demo) {
        let (dir, demo) = Self::demo_dir(calls);
        (Self::start_in(dir), demo)
    }

    /// A scratch directory whose database holds demo data; start a server on it with
    /// [`Server::start_in`] once the test has added what it needs
    /// ([`Server::database_url`]).
    pub fn demo_dir(calls: u32) -> (PathBuf, Demo) {
        let dir = Self::scratch_dir();
        let out = Command::new(binary())
            .args([
                "demo",
                "--calls",
                &calls.to_string(),
                "--seed",
                "7",
                "--json",
            ])
            .env("DATABASE_URL", Self::database_url(&dir))
            .stderr(Stdio::inherit())
            .output()
            .expect("run callscope demo");
        assert!(out.status.success(), "callscope demo failed");
        let json: serde_json::Value =
            serde_json::from_slice(&out.stdout).expect("demo --json prints one JSON object");
        let demo = Demo {
            api_key: json["api_key"].as_str().expect("api_key").to_owned(),
            debug_call_id: json["debug_call_id"].as_str().map(str::to_owned),
            json,
        };
        (dir, demo)
    }

    /// Starts the server on an empty scratch database.
    pub fn start() -> Server {
        Self::start_in(Self::scratch_dir())
    }

    /// Starts the server on the database in `dir` (removed when the server is dropped).
    pub fn start_in(dir: PathBuf) -> Server {
        let dist = std::env::var_os("CALLSCOPE_DIST")
            .map(PathBuf::from)
            .unwrap_or_else(|| crate::workspace_root().join("dist"));
        let mut child = Command::new(binary())
            .args(["serve", "--bind", "127.0.0.1:0"])
            .env("DATABASE_URL", Self::database_url(&dir))
            .env("CALLSCOPE_DIST", &dist)
            .env_remove("REDIS_URL")
            .env_remove("CALLSCOPE_LINK_KEY")
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("start callscope serve");
        // The server prints its address once it is listening.
        let stdout = child.stdout.take().expect("stdout");
        let mut line = String::new();
        BufReader::new(stdout)
            .read_line(&mut line)
            .expect("read listening line");
        let base_url = line
            .trim()
            .strip_prefix("callscope listening on ")
            .unwrap_or_else(|| panic!("unexpected first line from callscope serve: {line:?}"))
            .to_owned();
        Server {
            base_url,
            dir,
            child,
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base_url)
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
