//! What the fault tests stop and kill: a private PostgreSQL and a private Redis (never the
//! shared ones other tests use), and the `callscope` binary as a child process. Each is
//! stopped and its files removed when dropped, so a failing test leaves nothing running.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use crate::common::TempDir;

/// A loopback port nothing listens on now (the OS's pick, released at once).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Whether this process runs as root (PostgreSQL refuses to run as root).
fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
}

/// PostgreSQL's server programs: `CALLSCOPE_TEST_PG_BIN`, or the newest
/// `/usr/lib/postgresql/<version>/bin` (Debian's layout).
fn pg_bin() -> PathBuf {
    if let Ok(dir) = std::env::var("CALLSCOPE_TEST_PG_BIN") {
        return PathBuf::from(dir);
    }
    let mut versions: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .expect("PostgreSQL's server programs in /usr/lib/postgresql (or CALLSCOPE_TEST_PG_BIN)")
        .filter_map(|e| {
            let e = e.ok()?;
            let version = e.file_name().to_str()?.parse().ok()?;
            Some((version, e.path().join("bin")))
        })
        .filter(|(_, bin)| bin.join("pg_ctl").is_file())
        .collect();
    versions.sort();
    versions
        .pop()
        .expect("a PostgreSQL version under /usr/lib/postgresql")
        .1
}

/// A PostgreSQL cluster of the test's own (trust auth, loopback, a free port), which the
/// test may stop and start again. Stopped (immediately) and deleted on drop.
pub struct PrivatePostgres {
    dir: TempDir,
    bin: PathBuf,
    port: u16,
    as_postgres: bool,
}

impl PrivatePostgres {
    /// Creates the cluster and starts it.
    pub async fn start() -> PrivatePostgres {
        let dir = TempDir::new();
        let as_postgres = is_root();
        if as_postgres {
            let ok = Command::new("chown")
                .args(["-R", "postgres"])
                .arg(&dir.0)
                .status()
                .unwrap()
                .success();
            assert!(ok, "chown of the cluster's folder to postgres");
        }
        let pg = PrivatePostgres {
            bin: pg_bin(),
            port: free_port(),
            dir,
            as_postgres,
        };
        let data = pg.data();
        pg.run(
            "initdb",
            &[
                "-D",
                data.to_str().unwrap(),
                "-A",
                "trust",
                "-U",
                "postgres",
                "-E",
                "UTF8",
                "--no-sync",
            ],
        )
        .await;
        pg.start_again().await;
        pg
    }

    /// `postgres://…` of the cluster's `postgres` database.
    pub fn url(&self) -> String {
        format!("postgres://postgres@127.0.0.1:{}/postgres", self.port)
    }

    fn data(&self) -> PathBuf {
        self.dir.0.join("data")
    }

    /// Starts the (stopped) cluster on its port and waits until it accepts connections.
    pub async fn start_again(&self) {
        let options = format!(
            "-p {} -k {} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=50",
            self.port,
            self.dir.0.display()
        );
        let log = self.dir.0.join("postgres.log");
        self.run(
            "pg_ctl",
            &[
                "-D",
                self.data().to_str().unwrap(),
                "-o",
                &options,
                "-l",
                log.to_str().unwrap(),
                "-t",
                "120",
                "-w",
                "start",
            ],
        )
        .await;
    }

    /// Stops the cluster as an operator would (`fast`: open connections are ended, nothing
    /// committed is lost) and waits until it is down.
    pub async fn stop(&self) {
        self.run(
            "pg_ctl",
            &[
                "-D",
                self.data().to_str().unwrap(),
                "-m",
                "fast",
                "-t",
                "120",
                "-w",
                "stop",
            ],
        )
        .await;
    }

    fn command(&self, program: &str) -> tokio::process::Command {
        let path = self.bin.join(program);
        let mut cmd = if self.as_postgres {
            let mut cmd = tokio::process::Command::new("runuser");
            cmd.args(["-u", "postgres", "--"]).arg(path);
            cmd
        } else {
            tokio::process::Command::new(path)
        };
        cmd.stdin(Stdio::null()).kill_on_drop(true);
        cmd
    }

    async fn run(&self, program: &str, args: &[&str]) {
        let out = self.command(program).args(args).output().await.unwrap();
        assert!(
            out.status.success(),
            "{program} {args:?} failed: {}{}\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr),
            std::fs::read_to_string(self.dir.0.join("postgres.log")).unwrap_or_default()
        );
    }
}

impl Drop for PrivatePostgres {
    fn drop(&mut self) {
        let pg_ctl = self.bin.join("pg_ctl");
        let data = self.data();
        let mut cmd = if self.as_postgres {
            let mut cmd = Command::new("runuser");
            cmd.args(["-u", "postgres", "--"]).arg(pg_ctl);
            cmd
        } else {
            Command::new(pg_ctl)
        };
        // Already stopped is fine: the folder goes either way (TempDir's drop, after this).
        let _ = cmd
            .arg("-D")
            .arg(&data)
            .args(["-m", "immediate", "-w", "stop"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
    }
}

/// A Redis of the test's own (no persistence, a free port) that it may kill and start again
/// on the same port. Killed on drop.
pub struct PrivateRedis {
    port: u16,
    dir: TempDir,
    child: Option<Child>,
}

impl PrivateRedis {
    pub async fn start() -> PrivateRedis {
        let mut redis = PrivateRedis {
            port: free_port(),
            dir: TempDir::new(),
            child: None,
        };
        redis.start_again().await;
        redis
    }

    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }

    /// Starts `redis-server` on the port and waits until it answers `PING`.
    pub async fn start_again(&mut self) {
        assert!(self.child.is_none(), "already running");
        let child = Command::new("redis-server")
            .args(["--port", &self.port.to_string()])
            .args(["--bind", "127.0.0.1", "--save", "", "--appendonly", "no"])
            .arg("--dir")
            .arg(&self.dir.0)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("redis-server on PATH");
        self.child = Some(child);
        let client = redis::Client::open(self.url()).unwrap();
        let answers = wait_until(Duration::from_secs(60), async || {
            let Ok(mut conn) = client.get_multiplexed_async_connection().await else {
                return false;
            };
            redis::cmd("PING")
                .query_async::<String>(&mut conn)
                .await
                .is_ok()
        })
        .await;
        assert!(answers, "the private Redis did not answer PING within 60 s");
    }

    /// SIGSTOP, then SIGCONT: Redis keeps its connections open but answers nothing (a
    /// stalled Redis, the worst case for a caller), then goes on.
    pub fn pause(&self, paused: bool) {
        let child = self.child.as_ref().expect("running");
        let signal = if paused { "-STOP" } else { "-CONT" };
        let status = Command::new("kill")
            .args([signal, &child.id().to_string()])
            .status()
            .unwrap();
        assert!(status.success(), "kill {signal}");
    }

    /// SIGKILL: Redis is gone at once, as in a crash.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

impl Drop for PrivateRedis {
    fn drop(&mut self) {
        self.kill();
    }
}

/// `callscope serve` as a child process (the real binary, as deployed), which the test may
/// kill with SIGKILL. Killed on drop. Its log goes to `log` (read it when a test fails).
pub struct ServerProcess {
    child: Child,
    /// `http://127.0.0.1:port`, from the line it prints once it listens.
    pub base: String,
}

impl ServerProcess {
    /// Runs `callscope serve` with `args` (after `serve`) and `env`, and waits (up to
    /// 120 s) for it to listen.
    pub async fn start(database_url: &str, args: &[String], log: &Path) -> ServerProcess {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_callscope"));
        cmd.arg("serve")
            .args(["--bind", "127.0.0.1:0", "--dist", "/nonexistent-dist"])
            .args(args)
            .env("DATABASE_URL", database_url)
            .env("RUST_LOG", "info,sqlx=warn")
            .env_remove("REDIS_URL")
            .env_remove("CALLSCOPE_LINK_KEY")
            .env_remove("CALLSCOPE_PIPELINE_TOKEN")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(
                std::fs::OpenOptions::new()
                    .create(true)
                    .append(true)
                    .open(log)
                    .unwrap(),
            );
        let mut child = cmd.spawn().expect("run callscope serve");
        let stdout = child.stdout.take().unwrap();
        let line = tokio::task::spawn_blocking(move || {
            let mut line = String::new();
            BufReader::new(stdout).read_line(&mut line).map(|_| line)
        });
        let line = tokio::time::timeout(Duration::from_secs(120), line).await;
        let base = match line {
            Ok(Ok(Ok(line))) => line
                .trim()
                .strip_prefix("callscope listening on ")
                .map(str::to_owned),
            _ => None,
        };
        let Some(base) = base else {
            let _ = child.kill();
            let _ = child.wait();
            panic!(
                "callscope serve did not start:\n{}",
                std::fs::read_to_string(log).unwrap_or_default()
            );
        };
        ServerProcess { child, base }
    }

    /// SIGKILL, as a crash or an OOM kill: nothing is drained or flushed.
    pub fn kill9(mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Polls `check` (every 200 ms) until it holds or `limit` passes; whether it held.
pub async fn wait_until(limit: Duration, mut check: impl AsyncFnMut() -> bool) -> bool {
    let deadline = tokio::time::Instant::now() + limit;
    loop {
        if check().await {
            return true;
        }
        if tokio::time::Instant::now() >= deadline {
            return false;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// Sends the in-process server's warnings and errors (each failed request's cause) to the
/// test's output, which the harness shows when the test fails: a 500 found under a fault
/// names its cause.
pub fn show_server_errors() {
    let _ = tracing_subscriber::fmt()
        .with_env_filter("callscope_server=warn")
        .with_test_writer()
        .try_init();
}
