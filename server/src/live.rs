//! Live call state: what `GET /v1/calls/:callId/status` reads while a call is in progress,
//! and the one gather slot of each call. Redis when `REDIS_URL` is set (shared by every
//! server instance), an in-process map otherwise (one instance only).

use std::collections::HashMap;
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use callscope_shared::{CallId, CallStatus, Timestamp};
use redis::AsyncCommands;
use serde::{Deserialize, Serialize};

/// How long a live entry survives without an update; a crashed writer cannot leave a call
/// "in progress" for ever.
pub const LIVE_TTL_SECONDS: u64 = 6 * 60 * 60;

/// Longest one Redis call may take. A Redis that is down makes the connection manager
/// retry its reconnection, and a request waiting on it would otherwise be held until the
/// request timeout (408); bounded, it fails fast as a 503 with `Retry-After`.
pub const REDIS_CALL_TIMEOUT: Duration = Duration::from_secs(2);

/// Runs one Redis call within `REDIS_CALL_TIMEOUT`.
async fn bounded<T>(
    call: impl std::future::Future<Output = redis::RedisResult<T>>,
) -> Result<T, LiveError> {
    match tokio::time::timeout(REDIS_CALL_TIMEOUT, call).await {
        Ok(result) => Ok(result?),
        Err(_) => Err(LiveError::Timeout),
    }
}

/// The state of a call while it is live.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LiveCall {
    pub account_id: i64,
    pub status: CallStatus,
    pub started_at: Timestamp,
    /// When the call was answered (it went `in-progress`); `None` while ringing.
    #[serde(default)]
    pub answered_at: Option<Timestamp>,
    /// The telephony provider's handle of the call, for call control.
    #[serde(default)]
    pub call_control_id: Option<String>,
    /// `POST /v1/calls/:id/end` asked Telnyx to hang up, so the coming `call.hangup` is the
    /// API's (`ended_reason: "api"`).
    #[serde(default)]
    pub end_requested: bool,
}

#[derive(Debug, thiserror::Error)]
pub enum LiveError {
    #[error("redis: {0}")]
    Redis(#[from] redis::RedisError),
    #[error("redis did not answer within {REDIS_CALL_TIMEOUT:?}")]
    Timeout,
    #[error("live entry is not valid JSON: {0}")]
    Corrupt(#[from] serde_json::Error),
}

/// One instance's live state.
#[derive(Default)]
pub struct InProcess {
    calls: HashMap<i64, LiveCall>,
    /// Call → (gather id, expiry) of its active gather.
    gathers: HashMap<i64, (String, Instant)>,
}

/// Deletes `KEYS[1]` only while it holds `ARGV[1]`: a gather frees only its own slot.
const RELEASE_IF_OWNED: &str = "if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) else return 0 end";

/// Where live state is kept. Cheap to clone.
#[derive(Clone)]
pub enum LiveStore {
    InProcess(Arc<RwLock<InProcess>>),
    Redis {
        conn: redis::aio::ConnectionManager,
        prefix: Arc<str>,
        /// For connections of their own (the change announcements' subscription).
        client: redis::Client,
    },
}

impl LiveStore {
    pub fn in_process() -> Self {
        LiveStore::InProcess(Arc::default())
    }

    /// Connects to Redis; keys are namespaced by `prefix` (tests use their own).
    pub async fn redis(url: &str, prefix: &str) -> Result<Self, LiveError> {
        let client = redis::Client::open(url)?;
        let conn = redis::aio::ConnectionManager::new(client.clone()).await?;
        Ok(LiveStore::Redis {
            conn,
            prefix: Arc::from(prefix),
            client,
        })
    }

    fn key(prefix: &str, call_id: CallId) -> String {
        format!("{prefix}live:call:{}", call_id.get())
    }

    fn gather_key(prefix: &str, call_id: CallId) -> String {
        format!("{prefix}live:gather:{}", call_id.get())
    }

    pub async fn ping(&self) -> Result<(), LiveError> {
        match self {
            LiveStore::InProcess(_) => Ok(()),
            LiveStore::Redis { conn, .. } => {
                let mut conn = conn.clone();
                let _: String = bounded(redis::cmd("PING").query_async(&mut conn)).await?;
                Ok(())
            }
        }
    }

    /// Records or replaces a live call's state.
    pub async fn put(&self, call_id: CallId, call: &LiveCall) -> Result<(), LiveError> {
        match self {
            LiveStore::InProcess(map) => {
                map.write()
                    .unwrap_or_else(|e| e.into_inner())
                    .calls
                    .insert(call_id.get(), call.clone());
                Ok(())
            }
            LiveStore::Redis { conn, prefix, .. } => {
                let mut conn = conn.clone();
                let value = serde_json::to_string(call)?;
                let _: () =
                    bounded(conn.set_ex(Self::key(prefix, call_id), value, LIVE_TTL_SECONDS))
                        .await?;
                Ok(())
            }
        }
    }

    /// The live state of a call, if it is live.
    pub async fn get(&self, call_id: CallId) -> Result<Option<LiveCall>, LiveError> {
        match self {
            LiveStore::InProcess(map) => Ok(map
                .read()
                .unwrap_or_else(|e| e.into_inner())
                .calls
                .get(&call_id.get())
                .cloned()),
            LiveStore::Redis { conn, prefix, .. } => {
                let mut conn = conn.clone();
                let value: Option<String> = bounded(conn.get(Self::key(prefix, call_id))).await?;
                Ok(value.map(|v| serde_json::from_str(&v)).transpose()?)
            }
        }
    }

    /// Forgets a call that has ended, and its gather slot.
    pub async fn remove(&self, call_id: CallId) -> Result<(), LiveError> {
        match self {
            LiveStore::InProcess(map) => {
                let mut map = map.write().unwrap_or_else(|e| e.into_inner());
                map.calls.remove(&call_id.get());
                map.gathers.remove(&call_id.get());
                Ok(())
            }
            LiveStore::Redis { conn, prefix, .. } => {
                let mut conn = conn.clone();
                let keys = [
                    Self::key(prefix, call_id),
                    Self::gather_key(prefix, call_id),
                ];
                let _: () = bounded(conn.del(&keys[..])).await?;
                Ok(())
            }
        }
    }

    /// Takes the call's gather slot for `gather_id` for `ttl` (a lost `call.gather.ended`
    /// cannot hold it for ever): `false` when another gather holds it. Atomic across
    /// instances (`SET NX` in Redis).
    pub async fn claim_gather(
        &self,
        call_id: CallId,
        gather_id: &str,
        ttl: Duration,
    ) -> Result<bool, LiveError> {
        match self {
            LiveStore::InProcess(map) => {
                let mut map = map.write().unwrap_or_else(|e| e.into_inner());
                let now = Instant::now();
                match map.gathers.get(&call_id.get()) {
                    Some((_, expiry)) if *expiry > now => Ok(false),
                    _ => {
                        map.gathers
                            .insert(call_id.get(), (gather_id.to_owned(), now + ttl));
                        Ok(true)
                    }
                }
            }
            LiveStore::Redis { conn, prefix, .. } => {
                let mut conn = conn.clone();
                let set: Option<String> = bounded(
                    redis::cmd("SET")
                        .arg(Self::gather_key(prefix, call_id))
                        .arg(gather_id)
                        .arg("NX")
                        .arg("PX")
                        .arg(u64::try_from(ttl.as_millis()).unwrap_or(u64::MAX).max(1))
                        .query_async(&mut conn),
                )
                .await?;
                Ok(set.is_some())
            }
        }
    }

    /// Frees the call's gather slot if `gather_id` holds it (a late end of an older gather
    /// leaves a newer one's slot alone).
    pub async fn release_gather(&self, call_id: CallId, gather_id: &str) -> Result<(), LiveError> {
        match self {
            LiveStore::InProcess(map) => {
                let mut map = map.write().unwrap_or_else(|e| e.into_inner());
                if map
                    .gathers
                    .get(&call_id.get())
                    .is_some_and(|(id, _)| id == gather_id)
                {
                    map.gathers.remove(&call_id.get());
                }
                Ok(())
            }
            LiveStore::Redis { conn, prefix, .. } => {
                let mut conn = conn.clone();
                let _: i64 = bounded(
                    redis::cmd("EVAL")
                        .arg(RELEASE_IF_OWNED)
                        .arg(1)
                        .arg(Self::gather_key(prefix, call_id))
                        .arg(gather_id)
                        .query_async(&mut conn),
                )
                .await?;
                Ok(())
            }
        }
    }
}
