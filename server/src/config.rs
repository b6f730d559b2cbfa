//! The server's configuration: one value, built from the command line once
//! (`Config::from_cli`) or by a test (`Config::new`), and read by every part of the
//! application through `AppState::config`. Values are checked as they are built (the
//! server key loaded, the recordings bucket and credentials validated), so a bad setting
//! stops `serve` before it listens.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use crate::cli::{DbArgs, KeyArgs, ServeArgs};
use crate::client_ip::TrustedProxies;
use crate::debug_link::recorder::FLUSH_EVERY;
use crate::recordings::embedded::EmbeddedStore;
use crate::recordings::store::default_recordings_dir;
use crate::recordings::{AwsCredentials, RecordingStore, Recordings};
use crate::secrets::{KeyError, Keys, ServerKey, default_key_file};
use crate::webhooks::DispatchConfig;

/// Default listen address.
pub const DEFAULT_BIND: &str = "127.0.0.1:8080";
/// Default misses per minute per client on the public debug endpoint.
pub const DEFAULT_DEBUG_MISS_LIMIT: u32 = 20;
/// Longest a request may take before it is answered `408 Request timed out`.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);
/// Default seconds a client has to send a request's line and headers (`--header-read-timeout`).
pub const DEFAULT_HEADER_READ_TIMEOUT_SECS: u64 = 10;
/// Default most open client connections (`--max-connections`).
pub const DEFAULT_MAX_CONNECTIONS: usize = 10_000;

// A saturated pool must answer 503 + Retry-After before the request times out.
const _: () = assert!(crate::storage::ACQUIRE_TIMEOUT.as_secs() < REQUEST_TIMEOUT.as_secs());

/// Everything `serve` runs with.
#[derive(Clone)]
pub struct Config {
    /// `sqlite://PATH` or `postgres://…`; used when the application connects itself.
    pub database_url: String,
    /// Connection pool size.
    pub db_max_connections: u32,
    /// Listen address (`:0` picks a free port).
    pub bind: SocketAddr,
    /// The viewer's built files (`dist/`).
    pub dist: PathBuf,
    /// Redis for live call state and shared miss counts; in-process when `None`.
    pub redis_url: Option<String>,
    /// Prefix of every Redis key.
    pub redis_prefix: String,
    /// Misses per minute one client may make on the public debug endpoint (0: no limit).
    pub debug_miss_limit: u32,
    /// Caps on open live debug streams, per instance and per client.
    pub live_streams: crate::debug_link::StreamLimits,
    /// Proxies whose `X-Forwarded-For` names the client (none by default).
    pub trusted_proxies: TrustedProxies,
    /// The root secret every other key is derived from.
    pub server_key: ServerKey,
    /// Webhooks: which targets are accepted (by the API and the dispatcher alike) and how
    /// the dispatcher delivers; `concurrency` 0 runs no dispatcher in this process.
    pub webhooks: DispatchConfig,
    /// Where recordings are kept: an S3 bucket (with the credentials that sign for it) or
    /// the embedded folder; `None` when neither is configured (PostgreSQL or in-memory
    /// SQLite without `--recordings-dir`): a call with a recording then gets a 503.
    pub recordings: Option<RecordingStore>,
    /// How saved recordings are fetched from the provider (its URL policy follows
    /// `webhooks.allow_private`).
    pub recording_downloads: crate::recordings::download::DownloadConfig,
    /// `POST /v1/traces` requests ingested at once; more get a 429.
    pub otlp_concurrency: usize,
    /// Where `GET /metrics` listens (Prometheus); `None`: no metrics.
    pub metrics_bind: Option<SocketAddr>,
    /// Time between recording retention passes (`recordings::retention`); zero runs no
    /// retention job in this process (nor does a server without a recordings store).
    pub recording_retention_interval: Duration,
    /// How often counted debug-link views are written.
    pub view_flush_every: Duration,
    /// Longest a request may take.
    pub request_timeout: Duration,
    /// How long a client may take to send a request's line and headers (from the first
    /// read of a new request, idle keep-alive included) before its connection is closed.
    pub header_read_timeout: Duration,
    /// Most client connections open at once; further ones wait in the listen backlog.
    pub max_connections: usize,
    /// Telnyx Call Control: API key, API URL and the webhook public key.
    pub telnyx: crate::telnyx::TelnyxSettings,
    /// Tokens the pipeline API accepts (`--pipeline-token`); empty: the API is off.
    pub pipeline_tokens: crate::pipeline_auth::PipelineTokens,
    /// Which provider controls live calls (`--telephony`). `Config::new` keeps Telnyx (so
    /// no control without its API key); the command line defaults to the simulator when
    /// no Telnyx API key is set.
    pub telephony: crate::telephony::TelephonyConfig,
}

impl Config {
    /// The command line's defaults, on `database_url` with `server_key`.
    pub fn new(database_url: impl Into<String>, server_key: ServerKey) -> Self {
        let database_url = database_url.into();
        let recordings = embedded_recordings(None, &database_url, &server_key);
        Self {
            database_url,
            db_max_connections: 10,
            bind: DEFAULT_BIND
                .parse()
                .expect("the default bind address parses"),
            dist: PathBuf::from("dist"),
            redis_url: None,
            redis_prefix: "callscope:".to_owned(),
            debug_miss_limit: DEFAULT_DEBUG_MISS_LIMIT,
            live_streams: Default::default(),
            trusted_proxies: TrustedProxies::default(),
            server_key,
            webhooks: DispatchConfig::default(),
            recordings,
            recording_downloads: Default::default(),
            otlp_concurrency: crate::otlp::DEFAULT_CONCURRENCY,
            metrics_bind: None,
            recording_retention_interval: crate::recordings::retention::DEFAULT_INTERVAL,
            view_flush_every: FLUSH_EVERY,
            request_timeout: REQUEST_TIMEOUT,
            header_read_timeout: Duration::from_secs(DEFAULT_HEADER_READ_TIMEOUT_SECS),
            max_connections: DEFAULT_MAX_CONNECTIONS,
            telnyx: crate::telnyx::TelnyxSettings::default(),
            pipeline_tokens: Default::default(),
            telephony: crate::telephony::TelephonyConfig::Telnyx,
        }
    }

    /// `serve`'s configuration from its flags (and their environment fallbacks). Loads or
    /// creates the server key and reads the AWS credentials from the environment.
    pub fn from_cli(db: &DbArgs, args: ServeArgs) -> anyhow::Result<Self> {
        let server_key = server_key(&args.key, &db.database_url)?;
        let recordings = match args.recordings_bucket.as_deref() {
            None => embedded_recordings(args.recordings_dir.clone(), &db.database_url, &server_key),
            Some(bucket) => Some(RecordingStore::S3(Recordings::from_settings(
                bucket,
                &args.s3_region,
                args.s3_endpoint.as_deref(),
                AwsCredentials::from_env()?,
            )?)),
        };
        let webhooks = DispatchConfig {
            timeout: Duration::from_secs(args.webhook_timeout),
            concurrency: args.webhook_concurrency,
            allow_private: args.webhook_allow_private,
            ..DispatchConfig::default()
        };
        let telephony = args.telephony.unwrap_or_else(|| {
            crate::telephony::TelephonyKind::default_for(args.telnyx.telnyx_api_key.is_some())
        });
        Ok(Self {
            db_max_connections: db.db_max_connections,
            bind: args.bind,
            dist: args.dist,
            redis_url: args.redis_url,
            redis_prefix: args.redis_prefix,
            debug_miss_limit: args.debug_miss_limit,
            live_streams: crate::debug_link::StreamLimits {
                per_instance: args.live_streams_max as usize,
                per_client: args.live_streams_per_client as usize,
            },
            trusted_proxies: args.trusted_proxies,
            recording_downloads: crate::recordings::download::DownloadConfig {
                allow_private: args.webhook_allow_private,
                ..Default::default()
            },
            otlp_concurrency: usize::from(args.otlp_concurrency),
            metrics_bind: args.metrics_bind,
            webhooks,
            recordings,
            recording_retention_interval: Duration::from_secs(args.recording_retention_interval),
            header_read_timeout: Duration::from_secs(args.header_read_timeout),
            max_connections: args.max_connections,
            telnyx: args.telnyx.into(),
            telephony: crate::telephony::TelephonyConfig::from_kind(telephony),
            pipeline_tokens: args.pipeline_token.as_deref().unwrap_or("").parse()?,
            ..Self::new(db.database_url.clone(), server_key)
        })
    }
}

/// The embedded recordings store in `dir`, or by default `recordings/` beside a SQLite
/// database; `None` on PostgreSQL (or in-memory SQLite) without a folder.
fn embedded_recordings(
    dir: Option<PathBuf>,
    database_url: &str,
    server_key: &ServerKey,
) -> Option<RecordingStore> {
    let dir = dir.or_else(|| default_recordings_dir(database_url))?;
    let key = Keys::from_server_key(server_key).recording_url;
    Some(RecordingStore::Embedded(EmbeddedStore::new(dir, key)))
}

/// The server key from the flags, the environment or the default key file.
pub fn server_key(args: &KeyArgs, database_url: &str) -> Result<ServerKey, KeyError> {
    if let Some(text) = &args.link_key {
        return ServerKey::from_base64(text);
    }
    let file = args
        .link_key_file
        .clone()
        .or_else(|| default_key_file(database_url))
        .ok_or(KeyError::Missing)?;
    ServerKey::load_or_create(&file)
}
