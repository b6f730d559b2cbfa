//! Live call state: what `GET /v1/calls/:callId/status` reads while a call is in progress.
//! Redis when `REDIS_URL` is set (shared by every server instance), an in-process map
//! otherwise (one instance only).

use std::collections::HashMap;
use std::sync::{Arc, RwLock};

use callscope_shared::{CallId, CallStatus, Timestamp};
use redis::AsyncCommands;
use serde::{Deserialize, Serialize};

/// How long a live entry survives without an update; a crashed writer cannot leave a call
/// "in progress" for ever.
pub const LIVE_TTL_SECONDS: u64 = 6 * 60 * 60;

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
    #[error("live entry is not valid JSON: {0}")]
    Corrupt(#[from] serde_json::Error),
}

/// Where live state is kept. Cheap to clone.
#[derive(Clone)]
pub enum LiveStore {
    InProcess(Arc<RwLock<HashMap<i64, LiveCall>>>),
    Redis {
        conn: redis::aio::ConnectionManager,
        prefix: Arc<str>,
    },
}

impl LiveStore {
    pub fn in_process() -> Self {
        LiveStore::InProcess(Arc::default())
    }

    /// Connects to Redis; keys are namespaced by `prefix` (tests use their own).
    pub async fn redis(url: &str, prefix: &str) -> Result<Self, LiveError> {
        let client = redis::Client::open(url)?;
        let conn = redis::aio::ConnectionManager::new(client).await?;
        Ok(LiveStore::Redis {
            conn,
            prefix: Arc::from(prefix),
        })
    }

    fn key(prefix: &str, call_id: CallId) -> String {
        format!("{prefix}live:call:{}", call_id.get())
    }

    pub async fn ping(&self) -> Result<(), LiveError> {
        match self {
            LiveStore::InProcess(_) => Ok(()),
            LiveStore::Redis { conn, .. } => {
                let mut conn = conn.clone();
                let _: String = redis::cmd("PING").query_async(&mut conn).await?;
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
                    .insert(call_id.get(), call.clone());
                Ok(())
            }
            LiveStore::Redis { conn, prefix } => {
                let mut conn = conn.clone();
                let value = serde_json::to_string(call)?;
                let _: () = conn
                    .set_ex(Self::key(prefix, call_id), value, LIVE_TTL_SECONDS)
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
                .get(&call_id.get())
                .cloned()),
            LiveStore::Redis { conn, prefix } => {
                let mut conn = conn.clone();
                let value: Option<String> = conn.get(Self::key(prefix, call_id)).await?;
                Ok(value.map(|v| serde_json::from_str(&v)).transpose()?)
            }
        }
    }

    /// Forgets a call that has ended.
    pub async fn remove(&self, call_id: CallId) -> Result<(), LiveError> {
        match self {
            LiveStore::InProcess(map) => {
                map.write()
                    .unwrap_or_else(|e| e.into_inner())
                    .remove(&call_id.get());
                Ok(())
            }
            LiveStore::Redis { conn, prefix } => {
                let mut conn = conn.clone();
                let _: () = conn.del(Self::key(prefix, call_id)).await?;
                Ok(())
            }
        }
    }
}
