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

/// How to start a server beyond the defaults.
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// Turns the pipeline API on with this operator token (`CALLSCOPE_PIPELINE_TOKEN`).
    pub pipeline_token: Option<String>,
}

/// A running server with its own scratch directory; killed and removed on drop.
pub struct Server {
    pub base_url: String,
    pub dir: PathBuf,
    options: Options,
    child: Option<Child>,
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
        Self::start_in_with(dir, Options::default())
    }

    /// [`Server::start_in`] with `options`.
    pub fn start_in_with(dir: PathBuf, options: Options) -> Server {
        let (child, base_url) = Self::spawn(&dir, &options, "127.0.0.1:0");
        Server {
            base_url,
            dir,
            options,
            child: Some(child),
        }
    }

    /// Stops the server process at once (SIGKILL, as a crash would), keeping its database:
    /// clients see their connections drop and new ones refused, until [`Server::resume`].
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Starts the server again, on the same database and address, after [`Server::stop`].
    pub fn resume(&mut self) {
        assert!(self.child.is_none(), "resume a stopped server only");
        let bind = self
            .base_url
            .strip_prefix("http://")
            .expect("an http base URL")
            .to_owned();
        let (child, base_url) = Self::spawn(&self.dir, &self.options, &bind);
        assert_eq!(base_url, self.base_url, "the same address again");
        self.child = Some(child);
    }

    /// Starts `callscope serve` on `bind`; the process and the base URL it printed.
    fn spawn(dir: &Path, options: &Options, bind: &str) -> (Child, String) {
        let dist = std::env::var_os("CALLSCOPE_DIST")
            .map(PathBuf::from)
            .unwrap_or_else(|| crate::workspace_root().join("dist"));
        let mut command = Command::new(binary());
        command
            .args(["serve", "--bind", bind])
            .env("DATABASE_URL", Self::database_url(dir))
            .env("CALLSCOPE_DIST", &dist)
            .env_remove("REDIS_URL")
            .env_remove("CALLSCOPE_LINK_KEY")
            .env_remove("CALLSCOPE_PIPELINE_TOKEN");
        if let Some(token) = &options.pipeline_token {
            command.env("CALLSCOPE_PIPELINE_TOKEN", token);
        }
        let mut child = command
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
        (child, base_url)
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base_url)
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.stop();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
