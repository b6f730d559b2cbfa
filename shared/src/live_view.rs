//! The live stream of a public debug link, `GET /api/v1/call-debug/:token/events`
//! (Server-Sent Events). Every event's `data` is one JSON value of the types below, masked
//! by the same function as the JSON view; every event has an `id` (an opaque cursor) so a
//! reconnect with `Last-Event-ID` resumes where the client stood.
//!
//! A client starts from a `snapshot` (or from the JSON view, then reconnects with its
//! cursor), applies `turns`, `webhooks` and `call` in order, and stops on `end` (the view
//! is now final) or `closed` (the link was revoked or expired).

use serde::{Deserialize, Serialize};

use crate::{PublicTurn, PublicWebhookDelivery};

/// The whole view (`PublicDebugView`): the first event of a stream without a usable
/// `Last-Event-ID`, and whenever a change is not an append (the client replaces its view).
pub const SNAPSHOT: &str = "snapshot";
/// New turns at the end (`TurnsAppended`).
pub const TURNS: &str = "turns";
/// New webhook delivery attempts at the end (`WebhooksAppended`).
pub const WEBHOOKS: &str = "webhooks";
/// Status, duration, ending, latency summary and call-control events (`PublicCallState`).
pub const CALL: &str = "call";
/// The call has ended and the view is final (`{}`); the server closes the stream.
pub const END: &str = "end";
/// The link no longer opens (`StreamClosed`); the server closes the stream.
pub const CLOSED: &str = "closed";

/// Data of a `turns` event: `turns` go at index `from` (the client's turn count so far).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TurnsAppended {
    pub from: u32,
    pub turns: Vec<PublicTurn>,
}

/// Data of a `webhooks` event: `webhooks` go at index `from`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WebhooksAppended {
    pub from: u32,
    pub webhooks: Vec<PublicWebhookDelivery>,
}

/// Data of a `closed` event: `revoked` or `expired`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StreamClosed {
    pub reason: String,
}
