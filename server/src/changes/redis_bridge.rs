//! Change announcements between instances, through Redis pub/sub on `<prefix>call-changes`.
//!
//! Each instance publishes its own changes (`<instance>:<call id>`) and subscribes to the
//! channel, passing on what other instances announce. Pub/sub keeps nothing: after the
//! subscription is (re)made, every listener is told to re-read all it follows
//! (`Change::Everything`), so a lost connection delays a change, never loses it for good.

use std::time::Duration;

use callscope_shared::CallId;
use futures_util::StreamExt;
use redis::AsyncCommands;

use super::{CallChanges, Change};

/// The channel's name under the instance's key prefix.
pub fn channel(prefix: &str) -> String {
    format!("{prefix}call-changes")
}

/// Starts publishing this instance's changes and passing on the others'. The tasks run
/// until the process ends.
pub fn start(changes: CallChanges, client: redis::Client, prefix: &str) {
    let channel = channel(prefix);
    let instance = format!("{:016x}", rand::random::<u64>());
    tokio::spawn(publish(
        changes.clone(),
        client.clone(),
        channel.clone(),
        instance.clone(),
    ));
    tokio::spawn(subscribe(changes, client, channel, instance));
}

/// Longest pause between attempts to reach Redis.
const MAX_BACKOFF: Duration = Duration::from_secs(5);

async fn publish(changes: CallChanges, client: redis::Client, channel: String, me: String) {
    let mut listener = changes.subscribe();
    let mut conn = None;
    while let Some(change) = listener.next().await {
        let Change::Call {
            call_id,
            remote: false,
        } = change
        else {
            continue;
        };
        if conn.is_none() {
            conn = redis::aio::ConnectionManager::new(client.clone())
                .await
                .ok();
        }
        let Some(c) = conn.as_mut() else {
            tracing::warn!(%call_id, "Redis unreachable: a change was not announced to other instances");
            continue;
        };
        let message = format!("{me}:{}", call_id.get());
        if let Err(err) = c.publish::<_, _, ()>(&channel, message).await {
            tracing::warn!(error = %err, %call_id, "announcing a change through Redis failed");
        }
    }
}

async fn subscribe(changes: CallChanges, client: redis::Client, channel: String, me: String) {
    let mut backoff = Duration::from_millis(100);
    loop {
        match client.get_async_pubsub().await {
            Ok(mut pubsub) => match pubsub.subscribe(&channel).await {
                Ok(()) => {
                    backoff = Duration::from_millis(100);
                    changes.notify_everything();
                    let mut messages = pubsub.on_message();
                    while let Some(message) = messages.next().await {
                        let Ok(text) = message.get_payload::<String>() else {
                            continue;
                        };
                        if let Some(call_id) = from_another(&text, &me) {
                            changes.notify_remote(call_id);
                        }
                    }
                    tracing::warn!("Redis change subscription ended; resubscribing");
                }
                Err(err) => tracing::warn!(error = %err, "subscribing to Redis changes failed"),
            },
            Err(err) => tracing::warn!(error = %err, "connecting to Redis for changes failed"),
        }
        tokio::time::sleep(backoff).await;
        backoff = (backoff * 2).min(MAX_BACKOFF);
    }
}

/// The call a message names, unless this instance sent it.
fn from_another(text: &str, me: &str) -> Option<CallId> {
    let (from, id) = text.split_once(':')?;
    if from == me {
        return None;
    }
    CallId::new(id.parse().ok()?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_of_this_instance_and_garbage_are_skipped() {
        assert_eq!(from_another("b:42", "a"), CallId::new(42));
        assert_eq!(from_another("a:42", "a"), None);
        assert_eq!(from_another("b:x", "a"), None);
        assert_eq!(from_another("b42", "a"), None);
        assert_eq!(from_another("b:0", "a"), None);
    }
}
