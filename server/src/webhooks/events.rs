//! Event names and bodies. A body is fixed when the event is queued: every attempt sends the
//! same bytes under the same event id.

use callscope_shared::{AgentId, CallId};
use serde_json::json;

use crate::clock::UnixTime;
use crate::storage::{NewCall, OutboxEvent};

pub const CALL_STARTED: &str = "call.started";
pub const CALL_ENDED: &str = "call.ended";
pub const WEBHOOK_TEST: &str = "webhook.test";

/// A random (version 4) UUID: the event id, also sent as `webhook-id`.
pub fn new_event_id() -> String {
    uuid::Uuid::new_v4().to_string()
}

fn instant(at: UnixTime) -> Option<String> {
    at.timestamp().map(|t| t.to_string())
}

/// `call.started`, and `call.ended` too when the call is stored already over. Its signature
/// is the one `Store::insert_call` takes to build a new call's events.
pub fn for_new_call(
    call: &NewCall,
    id: CallId,
    agent: &AgentId,
    now: UnixTime,
) -> Vec<OutboxEvent> {
    let mut out = Vec::with_capacity(2);
    let event_id = new_event_id();
    let body = json!({
        "event": CALL_STARTED,
        "event_id": event_id,
        "created_at": instant(now),
        "call_id": id.to_string(),
        "agent_id": agent.as_str(),
        "from_number": call.from_number,
        "to_number": call.to_number,
        "status": call.status.as_str(),
        "started_at": instant(call.started_at),
    });
    out.push(OutboxEvent {
        event_id,
        event: CALL_STARTED.into(),
        payload: body.to_string(),
    });
    if !call.status.is_live() {
        let event_id = new_event_id();
        let body = json!({
            "event": CALL_ENDED,
            "event_id": event_id,
            "created_at": instant(now),
            "call_id": id.to_string(),
            "agent_id": agent.as_str(),
            "from_number": call.from_number,
            "to_number": call.to_number,
            "status": call.status.as_str(),
            "disposition": call.disposition.map(|d| d.as_str()),
            "ended_reason": call.ended_reason.map(|r| r.as_str()),
            "duration_seconds": call.duration_seconds,
            "started_at": instant(call.started_at),
            "ended_at": call.ended_at.and_then(instant),
        });
        out.push(OutboxEvent {
            event_id,
            event: CALL_ENDED.into(),
            payload: body.to_string(),
        });
    }
    out
}

/// The `webhook.test` event for one endpoint.
pub fn test_event(webhook_id: &str, now: UnixTime) -> OutboxEvent {
    let event_id = new_event_id();
    let body = json!({
        "event": WEBHOOK_TEST,
        "event_id": event_id,
        "created_at": instant(now),
        "webhook_id": webhook_id,
    });
    OutboxEvent {
        event_id,
        event: WEBHOOK_TEST.into(),
        payload: body.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn event_ids_are_v4_uuids() {
        let id = new_event_id();
        assert_eq!(id.len(), 36);
        assert_eq!(&id[14..15], "4");
        assert!("89ab".contains(&id[19..20]));
        assert_ne!(id, new_event_id());
    }
}
