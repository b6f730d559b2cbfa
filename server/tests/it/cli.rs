//! The `callscope` binary's commands, run as a user would run them.

use crate::common;

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, ExitStatus, Output, Stdio};

use callscope_server::auth::ApiKey;
use callscope_server::clock::UnixTime;
use callscope_server::live::LiveStore;
use callscope_server::storage::{CallFilter, Store};
use callscope_shared::Timestamp;
use common::{TestDb, TestServer};
use reqwest::StatusCode;
use serde_json::Value;

const BIN: &str = env!("CARGO_BIN_EXE_callscope");

fn run(database_url: &str, args: &[&str]) -> Output {
    Command::new(BIN)
        .args(args)
        .env("DATABASE_URL", database_url)
        .env_remove("CALLSCOPE_LINK_KEY")
        .env_remove("REDIS_URL")
        .output()
        .expect("run callscope")
}

/// Runs a command that must succeed; returns its stdout.
fn run_ok(database_url: &str, args: &[&str]) -> String {
    let out = run(database_url, args);
    assert!(
        out.status.success(),
        "failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// Runs a command that must succeed and print JSON; returns what it printed.
fn run_json(database_url: &str, args: &[&str]) -> Value {
    serde_json::from_str(&run_ok(database_url, args)).unwrap()
}

/// Asserts the command failed and said `message` on stderr.
#[track_caller]
fn assert_fails_with(out: &Output, message: &str) {
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "it succeeded: {stderr}");
    assert!(stderr.contains(message), "{stderr}");
}

/// `callscope serve` on a free loopback port, without a server key in the environment.
fn serve(database_url: &str) -> Command {
    let mut cmd = Command::new(BIN);
    cmd.args(["serve", "--bind", "127.0.0.1:0", "--dist", "/nonexistent"])
        .env("DATABASE_URL", database_url)
        .env_remove("CALLSCOPE_LINK_KEY");
    cmd
}

/// A running server: started by `Server::start`, stopped with SIGTERM by `stop` (killed on
/// drop if a test fails first).
struct Server {
    child: Child,
    /// `http://127.0.0.1:port`, from the line it announces on stdout.
    base: String,
    client: reqwest::Client,
}

impl Server {
    /// Spawns `cmd` (a `serve` command) and waits for it to announce its address.
    fn start(mut cmd: Command, stderr: impl Into<Stdio>) -> Server {
        let mut child = cmd.stdout(Stdio::piped()).stderr(stderr).spawn().unwrap();
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let base = line
            .trim()
            .strip_prefix("callscope listening on ")
            .expect("listening line")
            .to_owned();
        Server {
            child,
            base,
            client: reqwest::Client::new(),
        }
    }

    fn get(&self, path: &str) -> reqwest::RequestBuilder {
        self.client.get(format!("{}{path}", self.base))
    }

    /// GET with `key` as the bearer key.
    async fn get_as(&self, path: &str, key: &str) -> reqwest::Response {
        self.get(path).bearer_auth(key).send().await.unwrap()
    }

    /// Sends SIGTERM and waits for the process to exit.
    fn stop(mut self) -> ExitStatus {
        let kill = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .unwrap();
        assert!(kill.success());
        self.child.wait().unwrap()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[tokio::test]
async fn keys_create_prints_only_the_key_once() {
    let db = TestDb::sqlite().await;
    let live = run_ok(&db.url, &["keys", "create", "--account", "acme"]);
    let test = run_ok(&db.url, &["keys", "create", "--account", "acme", "--test"]);
    for (text, prefix) in [(&live, "sfy_live_"), (&test, "sfy_test_")] {
        assert_eq!(text.lines().count(), 1, "{text:?}");
        let key = ApiKey::parse(text.trim_end()).expect("a well-formed key");
        assert!(key.reveal().starts_with(prefix));
        let owner = db
            .store
            .find_api_key(&key.hash())
            .await
            .unwrap()
            .expect("stored hashed");
        assert_eq!(
            Some(owner.account_id),
            db.store.account_id("acme").await.unwrap()
        );
    }
    assert_ne!(live, test);
    assert_fails_with(
        &run(&db.url, &["keys", "create", "--account", "  "]),
        "--account must not be empty",
    );
}

both_backends!(keys_list_and_revoke, |db: TestDb| async move {
    let url = db.url.as_str();
    let created = |args: &[&str]| ApiKey::parse(run_ok(url, args).trim_end()).unwrap();
    let first = created(&["keys", "create", "--account", "acme"]);
    let second = created(&["keys", "create", "--account", "acme", "--test"]);
    created(&["keys", "create", "--account", "globex"]);

    // Used keys show when; the list never shows a key itself.
    let server = TestServer::start(db.store.clone(), LiveStore::in_process()).await;
    assert_eq!(
        server.get("/v1/calls", first.reveal()).await.status(),
        StatusCode::OK
    );
    let listed = run_json(url, &["keys", "list", "--account", "acme", "--json"]);
    assert_eq!(listed["account"], "acme");
    let keys = listed["keys"].as_array().unwrap();
    assert_eq!(keys.len(), 2, "{listed}");
    assert_eq!(keys[0]["prefix"], first.display_prefix());
    assert_eq!(keys[1]["prefix"], second.display_prefix());
    let at = |v: &Value| Timestamp::parse(v.as_str().expect("an instant")).unwrap();
    at(&keys[0]["created_at"]);
    at(&keys[0]["last_used_at"]);
    assert_eq!(keys[1]["last_used_at"], Value::Null);
    assert_eq!(keys[0]["revoked_at"], Value::Null);
    let table = run_ok(url, &["keys", "list", "--account", "acme"]);
    let lines: Vec<&str> = table.lines().collect();
    assert_eq!(lines.len(), 3, "{table}");
    assert!(lines[0].starts_with("PREFIX"), "{table}");
    assert!(lines[1].starts_with(first.display_prefix()), "{table}");
    assert!(lines[2].starts_with(second.display_prefix()), "{table}");
    assert!(lines[2].contains("never"), "{table}");
    assert!(!table.contains(&first.reveal()[13..]), "{table}");
    assert_fails_with(
        &run(url, &["keys", "list", "--account", "nobody"]),
        "no account named \"nobody\"",
    );

    // Unknown and ambiguous prefixes revoke nothing.
    assert_fails_with(
        &run(url, &["keys", "revoke", "sfy_live_none"]),
        "no API key matches \"sfy_live_none\"",
    );
    let globex = db.store.account_id("globex").await.unwrap().unwrap();
    db.store
        .insert_api_key(globex, &[7; 32], first.display_prefix(), UnixTime(1))
        .await
        .unwrap();
    assert_fails_with(
        &run(url, &["keys", "revoke", first.display_prefix()]),
        &format!(
            "the prefix \"{}\" matches 2 live keys",
            first.display_prefix()
        ),
    );
    assert_eq!(
        server.get("/v1/calls", first.reveal()).await.status(),
        StatusCode::OK
    );

    // Narrowed to the account, it revokes: 401 at once.
    let said = run_ok(
        url,
        &[
            "keys",
            "revoke",
            first.display_prefix(),
            "--account",
            "acme",
        ],
    );
    assert!(said.contains("revoked"), "{said}");
    let r = server.get("/v1/calls", first.reveal()).await;
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(r.json::<Value>().await.unwrap()["error"], "Invalid API key");
    assert_eq!(
        server.get("/v1/calls", second.reveal()).await.status(),
        StatusCode::OK
    );
    let listed = run_json(url, &["keys", "list", "--account", "acme", "--json"]);
    at(&listed["keys"][0]["revoked_at"]);
    assert_eq!(listed["keys"][1]["revoked_at"], Value::Null);
    // Again: nothing to do, and it says so.
    let again = run_ok(
        url,
        &[
            "keys",
            "revoke",
            first.display_prefix(),
            "--account",
            "acme",
        ],
    );
    assert!(again.contains("already revoked"), "{again}");

    // The whole key names one key whatever its prefix shares.
    run_ok(url, &["keys", "revoke", second.reveal()]);
    assert_eq!(
        server.get("/v1/calls", second.reveal()).await.status(),
        StatusCode::UNAUTHORIZED
    );
});

both_backends!(accounts_suspend_and_activate, |db: TestDb| async move {
    let url = db.url.as_str();
    let key =
        ApiKey::parse(run_ok(url, &["keys", "create", "--account", "acme"]).trim_end()).unwrap();
    let server = TestServer::start(db.store.clone(), LiveStore::in_process()).await;
    let status = async || server.get("/v1/calls", key.reveal()).await.status();
    assert_eq!(status().await, StatusCode::OK);
    let said = run_ok(url, &["accounts", "suspend", "acme"]);
    assert_eq!(said, "account \"acme\": suspended\n");
    assert_eq!(status().await, StatusCode::FORBIDDEN);
    let said = run_ok(url, &["accounts", "activate", "acme"]);
    assert_eq!(said, "account \"acme\": active\n");
    assert_eq!(status().await, StatusCode::OK);
    // `reactivate`, the earlier name, is the same command.
    run_ok(url, &["accounts", "suspend", "acme"]);
    assert_eq!(status().await, StatusCode::FORBIDDEN);
    let said = run_ok(url, &["accounts", "reactivate", "acme"]);
    assert_eq!(said, "account \"acme\": active\n");
    assert_eq!(status().await, StatusCode::OK);
    // Activating an active account is a no-op that succeeds.
    run_ok(url, &["accounts", "activate", "acme"]);
    assert_eq!(status().await, StatusCode::OK);
    for command in ["suspend", "activate", "reactivate"] {
        assert_fails_with(
            &run(url, &["accounts", command, "nobody"]),
            "no account named \"nobody\"",
        );
    }
});

/// Every call of the Demo account, oldest id first, as JSON (full objects).
async fn demo_calls(store: &Store) -> Vec<Value> {
    let account = store
        .account_id("Demo")
        .await
        .unwrap()
        .expect("Demo account");
    let (page, more) = store
        .list_calls(account, &CallFilter::default(), None, 1_000)
        .await
        .unwrap();
    assert!(!more);
    let mut calls = Vec::new();
    for call in page.iter().rev() {
        let full = store
            .get_call(account, call.call_id)
            .await
            .unwrap()
            .unwrap();
        calls.push(serde_json::to_value(full).unwrap());
    }
    calls
}

#[tokio::test]
async fn demo_with_the_same_seed_writes_the_same_data() {
    let args = [
        "demo",
        "--calls",
        "60",
        "--seed",
        "11",
        "--until",
        "2026-01-31",
        "--json",
    ];
    let (a, b, c) = (
        TestDb::sqlite().await,
        TestDb::sqlite().await,
        TestDb::sqlite().await,
    );
    let report = run_json(&a.url, &args);
    run_ok(&b.url, &args);
    let mut other_seed = args;
    other_seed[4] = "12";
    run_ok(&c.url, &other_seed);

    assert_eq!(report["account"], "Demo");
    assert_eq!(
        (report["calls"].as_i64(), report["created"].as_i64()),
        (Some(60), Some(60))
    );
    assert!(ApiKey::parse(report["api_key"].as_str().unwrap()).is_some());
    let debug_url = report["debug_url"].as_str().unwrap();
    assert!(
        debug_url.starts_with("http://127.0.0.1:8080/api/v1/call-debug/"),
        "{debug_url}"
    );

    let (calls_a, calls_b, calls_c) = (
        demo_calls(&a.store).await,
        demo_calls(&b.store).await,
        demo_calls(&c.store).await,
    );
    assert_eq!(calls_a.len(), 60);
    assert_eq!(calls_a, calls_b, "same seed, same data");
    assert_ne!(calls_a, calls_c, "another seed, other data");
    for call in &calls_a {
        let started = call["started_at"].as_str().unwrap();
        assert!(
            ("2025-12-03".."2026-02-01").contains(&started),
            "{started} outside the 60 days"
        );
    }
}

#[tokio::test]
async fn demo_if_empty_leaves_a_filled_account_alone() {
    let db = TestDb::sqlite().await;
    run_ok(&db.url, &["demo", "--calls", "30", "--json"]);
    let again = run_json(&db.url, &["demo", "--calls", "30", "--if-empty", "--json"]);
    assert_eq!(
        (again["calls"].as_i64(), again["created"].as_i64()),
        (Some(30), Some(0))
    );
    let account = db.store.account_id("Demo").await.unwrap().unwrap();
    assert_eq!(db.store.count_calls(account).await.unwrap(), 30);

    // Every demo call with a recording has its audio beside the database, an MP3 as
    // long as the call up to ten minutes (silence at 8 kbit/s: 36 bytes per 36 ms).
    let recorded = db.store.stored_recordings(account, 1000).await.unwrap();
    assert!(!recorded.is_empty());
    let dir = callscope_server::recordings::store::default_recordings_dir(&db.url).unwrap();
    for (key, duration) in recorded {
        let bytes = std::fs::read(dir.join(&key)).unwrap_or_else(|e| panic!("{key}: {e}"));
        assert!(
            callscope_server::recordings::mp3::looks_like_mp3(&bytes),
            "{key}"
        );
        let expected =
            callscope_server::recordings::mp3::silent_mp3((duration.clamp(1, 600) * 1000) as u32);
        assert_eq!(bytes.len(), expected.len(), "{key}");
    }
}

#[tokio::test]
async fn migrate_is_idempotent_on_postgres_and_bad_urls_fail_clearly() {
    let db = TestDb::postgres().await;
    run_ok(&db.url, &["migrate"]);
    run_ok(&db.url, &["migrate"]);
    assert_fails_with(
        &run("mysql://localhost/x", &["migrate"]),
        "unsupported database URL",
    );
    // Several instances on one PostgreSQL must share a key: no silent per-instance default.
    assert_fails_with(
        &run(&db.url, &["serve", "--bind", "127.0.0.1:0"]),
        "CALLSCOPE_LINK_KEY",
    );
}

#[tokio::test]
async fn serve_announces_its_address_and_stops_cleanly_on_sigterm() {
    let db = TestDb::sqlite().await;
    let server = Server::start(serve(&db.url), Stdio::null());
    let health = server.get("/healthz").send().await.unwrap();
    assert_eq!(health.status(), 200);
    let key_file = db
        .url
        .trim_start_matches("sqlite://")
        .replace("test.db", "callscope.key");
    assert!(
        std::path::Path::new(&key_file).is_file(),
        "the server key file is created beside the database"
    );
    assert!(server.stop().success(), "graceful shutdown exits 0");
}

/// Every `+` followed by 8–15 digits in `text` (an E.164 number in full).
fn e164_numbers(text: &str) -> Vec<String> {
    let bytes = text.as_bytes();
    let mut found = Vec::new();
    for (i, _) in text.match_indices('+') {
        let digits = bytes[i + 1..]
            .iter()
            .take_while(|b| b.is_ascii_digit())
            .count();
        if (8..=15).contains(&digits) {
            found.push(text[i..i + 1 + digits].to_owned());
        }
    }
    found
}

#[tokio::test]
async fn logs_carry_no_key_token_or_phone_number() {
    let db = TestDb::sqlite().await;
    let report = run_json(&db.url, &["demo", "--calls", "40", "--json"]);
    let key = report["api_key"].as_str().unwrap().to_owned();
    let token = report["debug_url"]
        .as_str()
        .unwrap()
        .rsplit('/')
        .next()
        .unwrap()
        .to_owned();
    let call_id = report["debug_call_id"].as_str().unwrap().to_owned();
    let log_path =
        std::path::Path::new(db.url.trim_start_matches("sqlite://")).with_file_name("server.log");
    let log_file = std::fs::File::create(&log_path).unwrap();
    let mut cmd = serve(&db.url);
    cmd.env("RUST_LOG", "debug");
    let server = Server::start(cmd, log_file);
    let detail: Value = server
        .get_as(&format!("/v1/calls/{call_id}"), &key)
        .await
        .json()
        .await
        .unwrap();
    let from = detail["from_number"].as_str().unwrap().to_owned();
    for path in [
        "/v1/calls?limit=5".to_owned(),
        format!("/v1/calls/{call_id}/webhooks"),
        format!("/api/v1/call-debug/{token}"),
    ] {
        assert_eq!(server.get_as(&path, &key).await.status(), 200, "{path}");
    }
    let wrong = server.get_as("/v1/calls", &format!("{key}x")).await;
    assert_eq!(wrong.status(), 401);
    server.stop();

    let log = std::fs::read_to_string(&log_path).unwrap();
    assert!(log.contains("request"), "the requests were traced: {log}");
    assert!(!log.contains(&key[9..]), "API key in the log");
    assert!(!log.contains(&token), "debug token in the log");
    assert!(
        !log.contains(from.trim_start_matches('+')),
        "caller number in the log"
    );
    assert_eq!(
        e164_numbers(&log),
        Vec::<String>::new(),
        "phone numbers in the log"
    );
}

#[tokio::test]
async fn serve_refuses_a_bad_trusted_proxies_list() {
    let db = TestDb::sqlite().await;
    for (flag, env) in [
        (Some("10.0.0.0/33"), None),
        (Some("10.0.0.1, proxy.internal"), None),
        (None, Some("10.0.0.1,,::1")),
    ] {
        let mut cmd = serve(&db.url);
        cmd.env_remove("REDIS_URL")
            .env_remove("CALLSCOPE_TRUSTED_PROXIES");
        if let Some(value) = flag {
            cmd.args(["--trusted-proxies", value]);
        }
        if let Some(value) = env {
            cmd.env("CALLSCOPE_TRUSTED_PROXIES", value);
        }
        let out = cmd.output().unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "a usage error: {stderr}");
        assert!(stderr.contains("--trusted-proxies"), "{stderr}");
        assert!(
            stderr.contains("is not an IP address or CIDR range"),
            "{stderr}"
        );
        assert!(!stderr.contains("panicked"), "{stderr}");
        assert!(out.stdout.is_empty(), "it never listened");
    }
}

#[tokio::test]
async fn serve_takes_clients_from_trusted_proxies() {
    let db = TestDb::sqlite().await;
    let mut cmd = serve(&db.url);
    cmd.args(["--trusted-proxies", "192.0.2.0/24, 127.0.0.1"])
        .env("CALLSCOPE_DEBUG_MISS_LIMIT", "1")
        .env_remove("REDIS_URL");
    let server = Server::start(cmd, Stdio::null());
    let miss = |forwarded: &'static str| {
        server
            .get(&format!("/api/v1/call-debug/{}", "A".repeat(43)))
            .header("x-forwarded-for", forwarded)
            .send()
    };
    let statuses = [
        miss("203.0.113.1").await.unwrap().status(),
        miss("203.0.113.1").await.unwrap().status(),
        miss("203.0.113.2").await.unwrap().status(),
    ];
    server.stop();
    assert_eq!(statuses, [404, 429, 404]);
}

/// `agents create` / `agents list`: ids printed for scripts, JSON on request, and errors for
/// an unknown account or a bad rate.
#[tokio::test]
async fn agents_are_created_and_listed() {
    let db = TestDb::sqlite().await;
    run_ok(&db.url, &["keys", "create", "--account", "acme"]);
    let plain = run_ok(
        &db.url,
        &[
            "agents",
            "create",
            "--account",
            "acme",
            "--name",
            "Front desk",
        ],
    );
    let (public, numeric) = plain.trim().split_once(' ').unwrap();
    assert!(
        public.parse::<callscope_shared::AgentId>().is_ok(),
        "{plain}"
    );
    let numeric: i64 = numeric.parse().unwrap();
    let made = run_json(
        &db.url,
        &[
            "agents",
            "create",
            "--account",
            "acme",
            "--name",
            "Claims",
            "--rate-per-minute",
            "0.1250",
            "--recording",
            "--recording-rate-per-minute",
            "0.025",
            "--json",
        ],
    );
    assert_eq!(made["name"], "Claims");
    assert_eq!(made["rate_per_minute"], 0.125);
    assert_eq!(made["recording_enabled"], true);
    assert_eq!(made["recording_rate_per_minute"], 0.025);
    let list = run_json(&db.url, &["agents", "list", "--account", "acme", "--json"]);
    let agents = list["agents"].as_array().unwrap();
    assert_eq!(agents.len(), 2);
    assert_eq!(
        (agents[0]["agent_id"].as_str(), agents[0]["id"].as_i64()),
        (Some(public), Some(numeric))
    );
    assert_eq!(agents[0]["rate_per_minute"], 0.25);
    // The documented default recording rate.
    assert_eq!(agents[0]["recording_rate_per_minute"], 0.01);
    assert_eq!(agents[1], made);
    let lines = run_ok(&db.url, &["agents", "list", "--account", "acme"]);
    assert_eq!(lines.lines().count(), 2);
    assert!(
        lines
            .lines()
            .next()
            .unwrap()
            .starts_with(&format!("{public}\t{numeric}\t0.2500\t"))
    );

    assert_fails_with(
        &run(
            &db.url,
            &["agents", "create", "--account", "nobody", "--name", "X"],
        ),
        "no account named",
    );
    assert_fails_with(
        &run(&db.url, &["agents", "list", "--account", "nobody"]),
        "no account named",
    );
    assert_fails_with(
        &run(
            &db.url,
            &[
                "agents",
                "create",
                "--account",
                "acme",
                "--name",
                "X",
                "--rate-per-minute=0.12345",
            ],
        ),
        "--rate-per-minute",
    );
    assert_fails_with(
        &run(
            &db.url,
            &[
                "agents",
                "create",
                "--account",
                "acme",
                "--name",
                "X",
                "--recording-rate-per-minute=-1",
            ],
        ),
        "--recording-rate-per-minute",
    );
    let still = run_json(&db.url, &["agents", "list", "--account", "acme", "--json"]);
    assert_eq!(still["agents"].as_array().unwrap().len(), 2);
}
