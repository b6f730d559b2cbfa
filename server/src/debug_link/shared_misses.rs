//! Miss counts kept in Redis, so every instance behind a balancer sees the same count for a
//! client. One key per client, `{prefix}debug-miss:{client}`, holding the misses of a fixed
//! window that starts at the client's first miss and ends when the key expires.

use std::sync::Arc;
use std::time::Duration;

use redis::aio::ConnectionManager;

use crate::client_ip::ClientKey;

/// Longest a limiter call may wait for Redis before the request falls back to the
/// in-process counts: a slow Redis must not hold up the public endpoint.
const REDIS_BUDGET: Duration = Duration::from_millis(500);

#[derive(Debug, thiserror::Error)]
pub enum SharedError {
    #[error("redis: {0}")]
    Redis(#[from] redis::RedisError),
    #[error("redis did not answer within {REDIS_BUDGET:?}")]
    Timeout,
}

/// A client's window as Redis has it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Window {
    pub misses: u64,
    /// Milliseconds until the window ends; `None` when it has no expiry (`count` never
    /// leaves a key so).
    pub left_ms: Option<u64>,
}

pub struct SharedMisses {
    conn: ConnectionManager,
    prefix: Arc<str>,
}

impl SharedMisses {
    /// Counts under `{prefix}debug-miss:`; the prefix is the server's `--redis-prefix`.
    pub fn new(conn: ConnectionManager, prefix: Arc<str>) -> Self {
        Self { conn, prefix }
    }

    fn key(&self, client: ClientKey) -> String {
        format!("{}debug-miss:{client}", self.prefix)
    }

    /// The client's current window; `None` when it has none.
    pub async fn window(&self, client: ClientKey) -> Result<Option<Window>, SharedError> {
        let key = self.key(client);
        let mut conn = self.conn.clone();
        let (misses, pttl): (Option<u64>, i64) = within_budget(
            redis::pipe()
                .get(&key)
                .cmd("PTTL")
                .arg(&key)
                .query_async(&mut conn),
        )
        .await?;
        Ok(misses.map(|misses| Window {
            misses,
            left_ms: u64::try_from(pttl).ok(),
        }))
    }

    /// Counts one miss and returns the window with it. The first miss of a window creates
    /// the key with the window as its expiry; later ones only increment it. Creating,
    /// incrementing and reading back are one transaction (MULTI/EXEC), so a key never
    /// exists without its expiry and every concurrent miss, on any instance, sees its own
    /// place in the count.
    pub async fn count(&self, client: ClientKey, window: Duration) -> Result<Window, SharedError> {
        let key = self.key(client);
        let window_ms = u64::try_from(window.as_millis()).unwrap_or(u64::MAX).max(1);
        let mut conn = self.conn.clone();
        let (misses, pttl): (u64, i64) = within_budget(
            redis::pipe()
                .atomic()
                .cmd("SET")
                .arg(&key)
                .arg(0)
                .arg("PX")
                .arg(window_ms)
                .arg("NX")
                .ignore()
                .incr(&key, 1)
                .cmd("PTTL")
                .arg(&key)
                .query_async(&mut conn),
        )
        .await?;
        Ok(Window {
            misses,
            left_ms: u64::try_from(pttl).ok(),
        })
    }
}

async fn within_budget<T>(
    call: impl Future<Output = redis::RedisResult<T>>,
) -> Result<T, SharedError> {
    match tokio::time::timeout(REDIS_BUDGET, call).await {
        Ok(result) => Ok(result?),
        Err(_) => Err(SharedError::Timeout),
    }
}
