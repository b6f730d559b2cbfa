//! Event names and bodies. A body is fixed when the event is queued: every attempt sends the
//! same bytes under the same event id.

use callscope_shared::{AgentId, CallId, CallStatus, Disposition, EndedReason};
use serde_json::json;

use crate::clock::UnixTime;
use crate::storage::{CallState, NewCall, OutboxEvent};

pub const CALL_STARTED: &str = "call.started";
pub const CALL_ENDED: &str = "call.ended";
pub const WEBHOOK_TEST: &str = "webhook.test";
pub const TRANSFER_INITIATED: &str = "transfer.initiated";
pub const TRANSFER_COMPLETED: &str = "transfer.completed";
pub const TRANSFER_FAILED: &str = "transfer.failed";
pub const GATHER_COMPLETED: &str = "call.gather.completed";

/// A random (version 4) UUID: the event id, also sent as `webhook-id`.
pub fn new_event_id() -> String {
    uuid::Uuid::new_v4().to_string()
}

fn instant(at: UnixTime) -> Option<String> {
    at.timestamp().map(|t| t.to_string())
}

/// What a call event says about its call.
struct CallFacts<'a> {
    call_id: CallId,
    agent: &'a AgentId,
    from_number: &'a str,
    to_number: &'a str,
    status: CallStatus,
    disposition: Option<Disposition>,
    ended_reason: Option<EndedReason>,
    duration_seconds: i64,
    started_at: UnixTime,
    ended_at: Option<UnixTime>,
}

/// An event for the outbox: the envelope every event shares (`event`, `event_id`,
/// `created_at`), then its own `fields`, fixed as the bytes every attempt sends.
fn outbox_event(event: &str, now: UnixTime, fields: serde_json::Value) -> OutboxEvent {
    let event_id = new_event_id();
    let mut body = json!({
        "event": event,
        "event_id": event_id,
        "created_at": instant(now),
    });
    if let (Some(body), serde_json::Value::Object(fields)) = (body.as_object_mut(), fields) {
        body.extend(fields);
    }
    OutboxEvent {
        event_id,
        event: event.into(),
        payload: body.to_string(),
    }
}

impl CallFacts<'_> {
    fn started(&self, now: UnixTime) -> OutboxEvent {
        let fields = json!({
            "call_id": self.call_id.to_string(),
            "agent_id": self.agent.as_str(),
            "from_number": self.from_number,
            "to_number": self.to_number,
            "status": self.status.as_str(),
            "started_at": instant(self.started_at),
        });
        outbox_event(CALL_STARTED, now, fields)
    }

    fn ended(&self, now: UnixTime) -> OutboxEvent {
        let fields = json!({
            "call_id": self.call_id.to_string(),
            "agent_id": self.agent.as_str(),
            "from_number": self.from_number,
            "to_number": self.to_number,
            "status": self.status.as_str(),
            "disposition": self.disposition.map(|d| d.as_str()),
            "ended_reason": self.ended_reason.map(|r| r.as_str()),
            "duration_seconds": self.duration_seconds,
            "started_at": instant(self.started_at),
            "ended_at": self.ended_at.and_then(instant),
        });
        outbox_event(CALL_ENDED, now, fields)
    }
}

/// `call.started`, and `call.ended` too when the call is stored already over. Its signature
/// is the one `Store::insert_call` takes to build a new call's events.
pub fn for_new_call(
    call: &NewCall,
    id: CallId,
    agent: &AgentId,
    now: UnixTime,
) -> Vec<OutboxEvent> {
    let facts = CallFacts {
        call_id: id,
        agent,
        from_number: &call.from_number,
        to_number: &call.to_number,
        status: call.status,
        disposition: call.disposition,
        ended_reason: call.ended_reason,
        duration_seconds: call.duration_seconds,
        started_at: call.started_at,
        ended_at: call.ended_at,
    };
    let mut out = vec![facts.started(now)];
    if !call.status.is_live() {
        out.push(facts.ended(now));
    }
    out
}

/// `call.ended` for a live call that has just ended (`CallTx::enqueue` takes it).
pub fn for_ended_call(call: &CallState, agent: &AgentId, now: UnixTime) -> Vec<OutboxEvent> {
    let facts = CallFacts {
        call_id: call.call_id,
        agent,
        from_number: &call.from_number,
        to_number: &call.to_number,
        status: call.status,
        disposition: call.disposition,
        ended_reason: call.ended_reason,
        duration_seconds: call.duration_seconds,
        started_at: call.started_at,
        ended_at: call.ended_at,
    };
    vec![facts.ended(now)]
}

/// What became of a transfer, for its events.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TransferOutcome {
    Initiated,
    /// The new leg answered at this instant.
    Completed(UnixTime),
    /// The new leg hung up first, for this reason (Telnyx's `hangup_cause`).
    Failed(String),
}

/// `transfer.initiated`, `transfer.completed` or `transfer.failed` for a call's transfer to
/// `destination`.
pub fn for_transfer(
    call: &CallState,
    agent: &AgentId,
    destination: &str,
    outcome: &TransferOutcome,
    now: UnixTime,
) -> OutboxEvent {
    let mut fields = json!({
        "call_id": call.call_id.to_string(),
        "agent_id": agent.as_str(),
        "destination": destination,
    });
    let event = match outcome {
        TransferOutcome::Initiated => TRANSFER_INITIATED,
        TransferOutcome::Completed(at) => {
            fields["answered_at"] = json!(instant(*at));
            TRANSFER_COMPLETED
        }
        TransferOutcome::Failed(reason) => {
            fields["reason"] = json!(reason);
            TRANSFER_FAILED
        }
    };
    outbox_event(event, now, fields)
}

/// `call.gather.completed`: the spec's `status` (`completed` with the digits as `input`, or
/// `timeout` with `input: null`), and `reason`, Telnyx's own status (`valid`, `timeout`,
/// `invalid`, `call_hangup`, `cancelled`, `cancelled_amd`) for the cases the spec's two
/// values fold together.
pub fn for_gather(
    call: &CallState,
    agent: &AgentId,
    input: Option<&str>,
    reason: &str,
    now: UnixTime,
) -> OutboxEvent {
    let fields = json!({
        "call_id": call.call_id.to_string(),
        "agent_id": agent.as_str(),
        "status": if input.is_some() { "completed" } else { "timeout" },
        "input": input,
        "reason": reason,
    });
    outbox_event(GATHER_COMPLETED, now, fields)
}

/// The `webhook.test` event for one endpoint.
pub fn test_event(webhook_id: &str, now: UnixTime) -> OutboxEvent {
    outbox_event(WEBHOOK_TEST, now, json!({ "webhook_id": webhook_id }))
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
