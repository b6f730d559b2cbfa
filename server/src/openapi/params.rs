//! The parameters of the API's operations as the document shows them. The handlers read
//! them through `routes::params` (strictly: unknown or repeated ones are a 400); these
//! types only describe them, with the same ranges (`tests/it/openapi.rs` checks the ranges
//! against the constants the handlers use). Dates are `YYYY-MM-DD` from 1970, real
//! calendar days.

#![allow(dead_code)] // Fields are read by the derive only.

use callscope_shared::{CallId, CallStatus, Disposition};
use utoipa::IntoParams;

/// A call's public id in the path; a malformed one is simply not found (404).
#[derive(IntoParams)]
#[into_params(parameter_in = Path)]
pub struct CallPath {
    pub call_id: CallId,
}

/// A webhook endpoint's id in the path (`wh_` + its number, zero-padded to 8 digits); a
/// malformed one is not found (404).
#[derive(IntoParams)]
#[into_params(parameter_in = Path)]
pub struct WebhookPath {
    #[param(pattern = "^wh_[0-9]{8,18}$", example = "wh_00000001")]
    pub id: String,
}

/// A public debug link's token: 43 base64url characters (32 random bytes). Anything else
/// is a miss (404), counted against the client like a wrong token.
#[derive(IntoParams)]
#[into_params(parameter_in = Path)]
pub struct TokenPath {
    #[param(
        pattern = "^[A-Za-z0-9_-]{42}[AEIMQUYcgkosw048]$",
        min_length = 43,
        max_length = 43
    )]
    pub token: String,
}

/// `GET /v1/calls`
#[derive(IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ListQuery {
    /// An agent: its `agent_…` public id or its numeric id. Another account's agent
    /// matches no calls.
    #[param(
        pattern = "^(agent_[0-9a-f]{8}|[1-9][0-9]{0,17})$",
        example = "agent_28c51f81"
    )]
    pub agent_id: Option<String>,
    pub status: Option<CallStatus>,
    pub disposition: Option<Disposition>,
    /// First UTC day of `started_at`, inclusive (YYYY-MM-DD, from 1970).
    #[param(format = Date, pattern = "^(19[7-9][0-9]|[2-9][0-9]{3})-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])$", example = "2026-01-01")]
    pub from_date: Option<String>,
    /// Last UTC day of `started_at`, inclusive (YYYY-MM-DD, not before `from_date`).
    #[param(format = Date, pattern = "^(19[7-9][0-9]|[2-9][0-9]{3})-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])$", example = "2026-01-31")]
    pub to_date: Option<String>,
    /// The `next_cursor` of the previous page; anything else is a 400.
    pub after: Option<String>,
    /// Calls per page.
    #[param(minimum = 1, maximum = 100, default = 50)]
    pub limit: Option<i64>,
}

/// `GET /v1/calls/summary`
#[derive(IntoParams)]
#[into_params(parameter_in = Query)]
pub struct SummaryQuery {
    /// A numeric agent id only (`agent_…` public ids are a 400 here).
    #[param(pattern = "^[1-9][0-9]{0,17}$", example = "12")]
    pub agent_id: Option<String>,
    /// First UTC day, inclusive (YYYY-MM-DD, from 1970).
    #[param(format = Date, pattern = "^(19[7-9][0-9]|[2-9][0-9]{3})-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])$", example = "2026-01-01")]
    pub from_date: Option<String>,
    /// Last UTC day, inclusive (YYYY-MM-DD, not before `from_date`).
    #[param(format = Date, pattern = "^(19[7-9][0-9]|[2-9][0-9]{3})-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])$", example = "2026-01-31")]
    pub to_date: Option<String>,
}

/// `GET /v1/calls/{call_id}/recording`
#[derive(IntoParams)]
#[into_params(parameter_in = Query)]
pub struct RecordingQuery {
    /// Seconds the signed URL stays valid.
    #[param(minimum = 60, maximum = 86400, default = 3600)]
    pub expires_in: Option<i64>,
}

/// `GET /v1/calls/{call_id}/debug-link`
#[derive(IntoParams)]
#[into_params(parameter_in = Query)]
pub struct IssueQuery {
    /// Seconds until the link expires (60 s to 90 days); absent: it never expires. An
    /// existing link keeps its expiry.
    #[param(minimum = 60, maximum = 7776000)]
    pub expires_in: Option<i64>,
    /// Whether the public view carries the call's recording (fixed for the link's life).
    #[param(default = false)]
    pub include_recording: Option<bool>,
}

/// `GET /v1/webhooks/{id}/deliveries`
#[derive(IntoParams)]
#[into_params(parameter_in = Query)]
pub struct DeliveriesQuery {
    /// The `next_cursor` of the previous page; anything else is a 400.
    pub after: Option<String>,
    /// Attempts per page.
    #[param(minimum = 1, maximum = 100, default = 50)]
    pub limit: Option<i64>,
}

/// `GET /api/v1/call-debug/{token}/recording`: the signed URL's own parameters (others are
/// ignored). Any failure is the link's one 404.
#[derive(IntoParams)]
#[into_params(parameter_in = Query)]
pub struct LinkRecordingQuery {
    /// Unix seconds until which the URL is good.
    pub expires: String,
    pub signature: String,
}

/// `GET /recordings/{key}` (embedded recordings store): the signed URL.
#[derive(IntoParams)]
#[into_params(parameter_in = Query)]
pub struct RecordingFileQuery {
    /// Unix seconds until which the URL is good.
    pub expires: String,
    pub signature: String,
}
