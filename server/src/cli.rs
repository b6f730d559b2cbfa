//! Command line: every flag has an environment fallback (flag wins).

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

use crate::client_ip::TrustedProxies;

#[derive(Debug, Parser)]
#[command(
    name = "callscope",
    version,
    about = "Calls API with public debug links"
)]
pub struct Cli {
    #[command(flatten)]
    pub db: DbArgs,

    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Args)]
pub struct DbArgs {
    /// Database: `sqlite://PATH` (created if missing) or `postgres://…`.
    #[arg(
        long,
        env = "DATABASE_URL",
        default_value = "sqlite://data/callscope.db",
        global = true
    )]
    pub database_url: String,

    /// Most open database connections of this process.
    #[arg(
        long,
        env = "CALLSCOPE_DB_MAX_CONNECTIONS",
        default_value_t = 10,
        global = true
    )]
    pub db_max_connections: u32,
}

// Parsed once at startup: the size of `Serve` costs nothing, boxing it would only add noise.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the HTTP server (migrates first).
    Serve(ServeArgs),
    /// Apply pending database migrations and exit.
    Migrate,
    /// Manage API keys.
    Keys {
        #[command(subcommand)]
        command: KeysCommand,
    },
    /// Suspend or activate accounts.
    Accounts {
        #[command(subcommand)]
        command: AccountsCommand,
    },
    /// Manage an account's agents.
    Agents {
        #[command(subcommand)]
        command: AgentsCommand,
    },
    /// Fill the "Demo" account with realistic, reproducible calls.
    Demo(DemoArgs),
    /// Play a voice pipeline against a running server: live calls that ring, are
    /// answered, talk (the demo's conversations, in real time) and hang up.
    Simulate(SimulateArgs),
    /// Write brotli (`.br`) and gzip (`.gz`) copies of the built viewer's files, which the
    /// server then sends as they are (run after `trunk build`).
    Precompress {
        /// The viewer's build folder.
        #[arg(default_value = "dist")]
        dir: std::path::PathBuf,
    },
}

#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Address to listen on.
    #[arg(long, env = "CALLSCOPE_BIND", default_value = crate::config::DEFAULT_BIND)]
    pub bind: SocketAddr,

    /// The viewer's built files (Trunk's `dist/`).
    #[arg(long, env = "CALLSCOPE_DIST", default_value = "dist")]
    pub dist: PathBuf,

    /// Redis for live call state and debug-link miss counts, shared by every instance;
    /// in-process when unset.
    #[arg(long, env = "REDIS_URL")]
    pub redis_url: Option<String>,

    /// Prefix of every Redis key this server writes.
    #[arg(long, env = "CALLSCOPE_REDIS_PREFIX", default_value = "callscope:")]
    pub redis_prefix: String,

    /// Misses per minute one client may make on the public debug endpoint before it gets
    /// 429s (0: no limit).
    #[arg(long, env = "CALLSCOPE_DEBUG_MISS_LIMIT", default_value_t = crate::config::DEFAULT_DEBUG_MISS_LIMIT)]
    pub debug_miss_limit: u32,

    /// Most live debug streams (`/api/v1/call-debug/:token/events`) open on this instance.
    #[arg(long, env = "CALLSCOPE_LIVE_STREAMS_MAX", value_name = "N", default_value_t = 2_000,
          value_parser = clap::value_parser!(u32).range(1..=1_000_000))]
    pub live_streams_max: u32,

    /// Most live debug streams one client may hold open on this instance.
    #[arg(long, env = "CALLSCOPE_LIVE_STREAMS_PER_CLIENT", value_name = "N", default_value_t = 10,
          value_parser = clap::value_parser!(u32).range(1..=1_000_000))]
    pub live_streams_per_client: u32,

    /// Proxies (IP addresses or CIDR ranges, comma-separated) whose `X-Forwarded-For` names
    /// the client, for per-client limits; empty: the TCP peer is the client.
    #[arg(long, env = "CALLSCOPE_TRUSTED_PROXIES", value_name = "LIST", default_value = "",
          hide_default_value = true, value_parser = parse_trusted_proxies)]
    pub trusted_proxies: TrustedProxies,

    /// Accept webhook endpoints on private, loopback and link-local addresses, and deliver
    /// to them; download provider recordings from such addresses too (refused by default).
    #[arg(long, env = "CALLSCOPE_WEBHOOK_ALLOW_PRIVATE")]
    pub webhook_allow_private: bool,

    /// Serve Prometheus metrics at GET /metrics on this address (e.g. 127.0.0.1:9090); off
    /// when unset. Keep it off the public port: it is not authenticated.
    #[arg(long, env = "CALLSCOPE_METRICS_BIND")]
    pub metrics_bind: Option<std::net::SocketAddr>,

    /// `POST /v1/traces` requests ingested at once; more are answered 429 with Retry-After.
    #[arg(long, env = "CALLSCOPE_OTLP_CONCURRENCY", default_value_t = crate::otlp::DEFAULT_CONCURRENCY as u16,
          value_parser = clap::value_parser!(u16).range(1..=1024))]
    pub otlp_concurrency: u16,

    /// Seconds one webhook delivery attempt may take.
    #[arg(long, env = "CALLSCOPE_WEBHOOK_TIMEOUT", default_value_t = 10,
          value_parser = clap::value_parser!(u64).range(1..=300))]
    pub webhook_timeout: u64,

    /// Webhook attempts in flight at once in this process; 0 runs no dispatcher here.
    #[arg(long, env = "CALLSCOPE_WEBHOOK_CONCURRENCY", default_value_t = 32)]
    pub webhook_concurrency: usize,

    /// Seconds between passes of recording retention (stored recordings deleted 90 days
    /// after their call, 7 days on a suspended account); the first pass runs at start.
    /// 0: no retention job in this process.
    #[arg(long, env = "CALLSCOPE_RECORDING_RETENTION_INTERVAL", value_name = "SECONDS",
          default_value_t = crate::recordings::retention::DEFAULT_INTERVAL.as_secs(),
          value_parser = clap::value_parser!(u64).range(0..=86_400))]
    pub recording_retention_interval: u64,

    /// S3 bucket holding call recordings; unset: the embedded folder (`--recordings-dir`).
    /// Uploads and URLs are signed with AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY and
    /// AWS_SESSION_TOKEN (optional).
    #[arg(long, env = "CALLSCOPE_RECORDINGS_BUCKET", value_name = "BUCKET")]
    pub recordings_bucket: Option<String>,

    /// Folder of the embedded recordings store, used when no bucket is set. Default:
    /// `recordings/` beside a SQLite database; with PostgreSQL and no folder, recordings
    /// are not configured.
    #[arg(
        long,
        env = "CALLSCOPE_RECORDINGS_DIR",
        value_name = "DIR",
        conflicts_with = "recordings_bucket"
    )]
    pub recordings_dir: Option<PathBuf>,

    /// Region of the recordings bucket (part of every signature).
    #[arg(long, env = "CALLSCOPE_S3_REGION", value_name = "REGION", default_value = crate::recordings::DEFAULT_REGION)]
    pub s3_region: String,

    /// Base URL of the S3 API; URLs are path-style, `<endpoint>/<bucket>/<key>`.
    /// Default: `https://s3.<region>.amazonaws.com`.
    #[arg(long, env = "CALLSCOPE_S3_ENDPOINT", value_name = "URL")]
    pub s3_endpoint: Option<String>,

    /// Seconds a client has to send a request's line and headers before its connection is
    /// closed (slow or idle clients must not hold connections).
    #[arg(long, env = "CALLSCOPE_HEADER_READ_TIMEOUT", value_name = "SECS",
          default_value_t = crate::config::DEFAULT_HEADER_READ_TIMEOUT_SECS,
          value_parser = clap::value_parser!(u64).range(1..=3600))]
    pub header_read_timeout: u64,

    /// Most client connections open at once; further ones wait in the listen backlog until
    /// one closes.
    #[arg(long, env = "CALLSCOPE_MAX_CONNECTIONS", value_name = "N",
          default_value_t = crate::config::DEFAULT_MAX_CONNECTIONS,
          value_parser = parse_max_connections)]
    pub max_connections: usize,

    /// Operator token(s) of the pipeline API (`/pipeline/v1/`), comma-separated to rotate;
    /// unset: the pipeline API is off.
    #[arg(
        long,
        env = "CALLSCOPE_PIPELINE_TOKEN",
        hide_env_values = true,
        value_name = "TOKENS"
    )]
    pub pipeline_token: Option<String>,

    #[command(flatten)]
    pub key: KeyArgs,

    /// Who controls live calls (end, transfer, gather): `telnyx` (needs a Telnyx API key)
    /// or `simulated` (built in, no account). Default: telnyx when a Telnyx API key is set,
    /// else simulated.
    #[arg(long, env = "CALLSCOPE_TELEPHONY", value_enum, value_name = "PROVIDER")]
    pub telephony: Option<crate::telephony::TelephonyKind>,

    #[command(flatten)]
    pub telnyx: crate::telnyx::TelnyxArgs,
}

/// Where the server key comes from (see `secrets.rs`).
#[derive(Debug, Args)]
pub struct KeyArgs {
    /// The server key itself: base64 of 32 random bytes. Same on every instance.
    #[arg(long, env = "CALLSCOPE_LINK_KEY", hide_env_values = true)]
    pub link_key: Option<String>,

    /// A file holding the server key; created (mode 0600) if missing. Defaults to
    /// `callscope.key` beside a SQLite database.
    #[arg(long, env = "CALLSCOPE_LINK_KEY_FILE")]
    pub link_key_file: Option<PathBuf>,
}

#[derive(Debug, Subcommand)]
pub enum KeysCommand {
    /// Create an API key (and the account, if new); prints only the key, once.
    Create {
        /// Account name.
        #[arg(long)]
        account: String,
        /// Make an `sfy_test_` key instead of `sfy_live_`.
        #[arg(long)]
        test: bool,
    },
    /// List an account's keys: prefix, created, last used, revoked (never the keys).
    List {
        /// Account name.
        #[arg(long)]
        account: String,
        /// Print one JSON object (`account`, `keys`: `prefix`, `created_at`,
        /// `last_used_at`, `revoked_at`) on stdout.
        #[arg(long)]
        json: bool,
    },
    /// Revoke a key at once, on every instance.
    Revoke {
        /// The prefix `keys list` shows (e.g. `sfy_live_AbCd`), or the whole key.
        #[arg(value_name = "PREFIX")]
        key: String,
        /// Only this account's keys (when a prefix is shared across accounts).
        #[arg(long)]
        account: Option<String>,
    },
}

#[derive(Debug, Subcommand)]
pub enum AccountsCommand {
    /// Suspend an account: its API keys get 403 and its debug links stop opening.
    Suspend {
        /// Account name.
        name: String,
    },
    /// Activate a suspended account: its keys and (unexpired, unrevoked) links work again.
    /// `reactivate` is the same command under its earlier name.
    #[command(visible_alias = "reactivate")]
    Activate {
        /// Account name.
        name: String,
    },
}

#[derive(Debug, Subcommand)]
pub enum AgentsCommand {
    /// Create an agent in an existing account; prints its public and numeric ids.
    Create {
        #[arg(long)]
        account: String,
        #[arg(long)]
        name: String,
        /// Price per minute of call, up to 4 decimals.
        #[arg(long, default_value = "0.25", value_parser = crate::agents::parse_rate)]
        rate_per_minute: callscope_shared::Money,
        /// Record the agent's calls.
        #[arg(long)]
        recording: bool,
        /// Price per minute of recording (started minutes of an answered call), up to 4
        /// decimals.
        #[arg(long, default_value = crate::billing::DEFAULT_RECORDING_RATE_TEXT,
              value_parser = crate::agents::parse_rate)]
        recording_rate_per_minute: callscope_shared::Money,
        /// Print one JSON object.
        #[arg(long)]
        json: bool,
    },
    /// List an account's agents, oldest first.
    List {
        #[arg(long)]
        account: String,
        /// Print one JSON object (`{"agents": [...]}`).
        #[arg(long)]
        json: bool,
    },
}

#[derive(Debug, Args)]
pub struct DemoArgs {
    /// How many calls to write.
    #[arg(long, default_value_t = 200, value_parser = clap::value_parser!(u32).range(1..=10_000_000))]
    pub calls: u32,

    /// Seed of the generator: the same seed and end date give the same data.
    #[arg(long, default_value_t = 42)]
    pub seed: u64,

    /// Last day (YYYY-MM-DD, UTC) of the window; up to now when omitted.
    #[arg(long)]
    pub until: Option<String>,

    /// Length of the window in days.
    #[arg(long, default_value_t = 60, value_parser = clap::value_parser!(u32).range(1..=3650))]
    pub days: u32,

    /// Write nothing if the Demo account already has calls (still prints a fresh key).
    #[arg(long)]
    pub if_empty: bool,

    /// Public base URL of the server, for the links the demo prints.
    #[arg(
        long,
        env = "CALLSCOPE_PUBLIC_URL",
        default_value = "http://127.0.0.1:8080"
    )]
    pub base_url: String,

    /// Print one JSON object (`api_key`, `account`, `calls`, `created`, `debug_call_id`,
    /// `debug_url`) on stdout.
    #[arg(long)]
    pub json: bool,

    #[command(flatten)]
    pub key: KeyArgs,
}

#[derive(Debug, Args)]
pub struct SimulateArgs {
    /// Calls at once.
    #[arg(long, default_value_t = 3, value_parser = clap::value_parser!(u32).range(1..=1000))]
    pub calls: u32,

    /// Base URL of the running server.
    #[arg(
        long,
        env = "CALLSCOPE_PUBLIC_URL",
        default_value = "http://127.0.0.1:8080"
    )]
    pub base_url: String,

    /// The server's pipeline token (the first one, when several are given comma-separated).
    #[arg(
        long,
        env = "CALLSCOPE_PIPELINE_TOKEN",
        hide_env_values = true,
        value_name = "TOKEN"
    )]
    pub pipeline_token: String,

    /// An agent to call (`agent_…` or numeric); repeat for several. Default: the Demo
    /// account's agents, read from the database.
    #[arg(long = "agent", value_name = "AGENT_ID")]
    pub agents: Vec<String>,

    /// Keep `--calls` calls live until SIGINT/SIGTERM, starting a new one as each ends
    /// (then the calls still live hang up).
    #[arg(long)]
    pub forever: bool,

    /// Play this many times faster than real time.
    #[arg(long, default_value_t = 1.0, value_parser = parse_speed)]
    pub speed: f64,

    /// Seconds the first call is on hold after its opening exchange (so it stays live
    /// for a while; divided by `--speed` like all call time).
    #[arg(long, default_value_t = 0, value_name = "SECS")]
    pub hold: u64,

    /// Seed of the conversations (default: random).
    #[arg(long)]
    pub seed: Option<u64>,
}

fn parse_speed(text: &str) -> Result<f64, String> {
    match text.parse::<f64>() {
        Ok(x) if x.is_finite() && (0.01..=100_000.0).contains(&x) => Ok(x),
        _ => Err("must be a number from 0.01 to 100000".to_owned()),
    }
}

fn parse_max_connections(text: &str) -> Result<usize, String> {
    match text.parse::<usize>() {
        Ok(n) if (1..=1_000_000).contains(&n) => Ok(n),
        _ => Err("must be a whole number from 1 to 1000000".to_owned()),
    }
}

fn parse_trusted_proxies(text: &str) -> Result<TrustedProxies, String> {
    text.parse()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn serve_args(flags: &[&str]) -> Result<ServeArgs, clap::Error> {
        let argv = ["callscope", "serve"].iter().chain(flags);
        match Cli::try_parse_from(argv)?.command {
            Command::Serve(args) => Ok(args),
            other => panic!("parsed as {other:?}"),
        }
    }

    #[test]
    fn the_retention_interval_defaults_to_an_hour_and_0_turns_it_off() {
        assert_eq!(serve_args(&[]).unwrap().recording_retention_interval, 3_600);
        for (flag, secs) in [("0", 0), ("60", 60), ("86400", 86_400)] {
            let args = serve_args(&["--recording-retention-interval", flag]).unwrap();
            assert_eq!(args.recording_retention_interval, secs);
        }
        for bad in ["86401", "-1", "1h"] {
            assert!(
                serve_args(&["--recording-retention-interval", bad]).is_err(),
                "{bad}"
            );
        }
    }

    #[test]
    fn connection_flags_have_defaults_and_ranges() {
        let defaults = serve_args(&[]).unwrap();
        assert_eq!(defaults.header_read_timeout, 10);
        assert_eq!(defaults.max_connections, 10_000);
        let set = serve_args(&["--header-read-timeout", "3", "--max-connections", "5"]).unwrap();
        assert_eq!((set.header_read_timeout, set.max_connections), (3, 5));
        for bad in [
            ["--header-read-timeout", "0"],
            ["--header-read-timeout", "3601"],
            ["--max-connections", "0"],
            ["--max-connections", "1000001"],
            ["--max-connections", "many"],
        ] {
            assert!(serve_args(&bad).is_err(), "{bad:?}");
        }
    }
}
