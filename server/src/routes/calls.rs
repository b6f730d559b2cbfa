//! The Calls read API: list, summary, detail, status and webhook deliveries.

use axum::Json;
use axum::extract::State;
use callscope_shared::{
    Call, CallId, CallList, CallStatusView, CallWebhooks, ErrorBody, Minutes, Money, Summary,
    SummaryFilters,
};

use super::params::{Allowed, Params};
use crate::app::AppState;
use crate::auth::Auth;
use crate::calls::{self, CallError};
use crate::clock::UnixTime;
use crate::cursor;
use crate::error::{ApiError, messages};
use crate::extract::PathParam;
use crate::ids::AgentRowId;
use crate::storage::CallFilter;

/// A path's call id; malformed ids are simply not found.
pub fn parse_call_id(text: &str) -> Result<CallId, ApiError> {
    text.parse().map_err(|_| CallError::NotFound.into())
}

/// The query parameters of `GET /v1/calls`.
pub const LIST_PARAMS: Allowed = &[
    "agent_id",
    "status",
    "disposition",
    "from_date",
    "to_date",
    "after",
    "limit",
];

/// `GET /v1/calls`
#[utoipa::path(get, path = "/v1/calls", operation_id = "list_calls", tag = "calls", security(("ApiKey" = [])),
    params(crate::openapi::params::ListQuery),
    responses(
        (status = 200, description = "A page of the account's calls, newest first (no transcript or latency_data)", body = CallList,
            links(
                ("GetCall" = (operation_id = "get_call", parameters(("call_id" = "$response.body#/calls/0/call_id")))),
                ("CallStatus" = (operation_id = "call_status", parameters(("call_id" = "$response.body#/calls/0/call_id")))),
                ("CallWebhooks" = (operation_id = "call_webhooks", parameters(("call_id" = "$response.body#/calls/0/call_id")))),
                ("CallRecording" = (operation_id = "call_recording", parameters(("call_id" = "$response.body#/calls/0/call_id")))),
                ("IssueDebugLink" = (operation_id = "issue_debug_link", parameters(("call_id" = "$response.body#/calls/0/call_id")))),
                ("RevokeDebugLink" = (operation_id = "revoke_debug_link", parameters(("call_id" = "$response.body#/calls/0/call_id")))),
            )),
        (status = 400, description = "A bad filter, limit or cursor, or an unknown or repeated parameter", body = ErrorBody),
    ))]
pub async fn list(
    State(state): State<AppState>,
    auth: Auth,
    params: Params,
) -> Result<Json<CallList>, ApiError> {
    let limit = params.int_in("limit", 1..=100, 50)? as u32;
    let status = params.status()?;
    let disposition = params.disposition()?;
    let dates = params.date_range()?;
    let after = params
        .get("after")
        .map(|text| {
            cursor::decode(&state.keys.cursor, auth.account_id, text)
                .map_err(|_| ApiError::bad_request(messages::BAD_CURSOR))
        })
        .transpose()?;
    let agent = params.agent_any()?;
    let filter = CallFilter {
        agent_id: None,
        status,
        disposition,
        from: dates.from.map(UnixTime),
        to: dates.to.map(UnixTime),
    };
    let (calls, has_more) =
        calls::list(&state.store, auth.account_id, agent, filter, after, limit).await?;
    let next_cursor = has_more.then(|| calls.last()).flatten().map(|last| {
        let at = cursor::Position {
            started_at: last.started_at.unix(),
            id: last.call_id.get(),
        };
        cursor::encode(&state.keys.cursor, auth.account_id, at)
    });
    Ok(Json(CallList {
        calls,
        has_more,
        next_cursor,
    }))
}

/// The query parameters of `GET /v1/calls/summary`.
pub const SUMMARY_PARAMS: Allowed = &["agent_id", "from_date", "to_date"];

/// `GET /v1/calls/summary`
#[utoipa::path(get, path = "/v1/calls/summary", operation_id = "calls_summary", tag = "calls", security(("ApiKey" = [])),
    params(crate::openapi::params::SummaryQuery),
    responses(
        (status = 200, description = "Aggregate figures of the account's calls in the range", body = Summary),
        (status = 400, description = "A bad agent id or date, or an unknown or repeated parameter", body = ErrorBody),
    ))]
pub async fn summary(
    State(state): State<AppState>,
    auth: Auth,
    params: Params,
) -> Result<Json<Summary>, ApiError> {
    let agent_id = params.agent_numeric()?;
    let dates = params.date_range()?;
    let t = state
        .store
        .summary(
            auth.account_id,
            agent_id.map(AgentRowId),
            dates.from.map(UnixTime),
            dates.to.map(UnixTime),
        )
        .await?;
    // Sums are exact; money is shown to the cent, rounded half away from zero.
    let cents = |units: i64| Money::from_units(units).round_to(2);
    Ok(Json(Summary {
        total_calls: t.total_calls,
        completed_calls: t.completed_calls,
        failed_calls: t.failed_calls,
        answered_calls: t.answered_calls,
        no_answer_calls: t.no_answer_calls,
        total_duration_seconds: t.total_duration_seconds,
        total_minutes_used: Minutes::from_units(t.minutes_used_e2),
        total_cost: cents(t.total_cost_e4),
        total_recording_cost: cents(t.recording_cost_e4),
        total_llm_discount: cents(t.llm_discount_e4),
        filters: SummaryFilters {
            agent_id,
            from_date: dates.from_text,
            to_date: dates.to_text,
        },
    }))
}

/// `GET /v1/calls/:callId`
#[utoipa::path(get, path = "/v1/calls/{call_id}", operation_id = "get_call", tag = "calls", security(("ApiKey" = [])),
    params(crate::openapi::params::CallPath),
    responses(
        (status = 200, description = "The call, with transcript and latency_data", body = Call),
        (status = 404, description = "`Call not found` (unknown, another account's, or malformed id)", body = ErrorBody),
    ))]
pub async fn detail(
    State(state): State<AppState>,
    auth: Auth,
    PathParam(call_id): PathParam,
) -> Result<Json<Call>, ApiError> {
    let call_id = parse_call_id(&call_id)?;
    Ok(Json(
        calls::detail(&state.store, auth.account_id, call_id).await?,
    ))
}

/// `GET /v1/calls/:callId/status`: live state while the call is live, the record after.
#[utoipa::path(get, path = "/v1/calls/{call_id}/status", operation_id = "call_status", tag = "calls", security(("ApiKey" = [])),
    params(crate::openapi::params::CallPath),
    responses(
        (status = 200, description = "The call's state: live while it is live, the record after", body = CallStatusView),
        (status = 404, description = "`Call not found`", body = ErrorBody),
    ))]
pub async fn status(
    State(state): State<AppState>,
    auth: Auth,
    PathParam(call_id): PathParam,
) -> Result<Json<CallStatusView>, ApiError> {
    let call_id = parse_call_id(&call_id)?;
    let view = calls::status(
        &state.store,
        &state.live,
        auth.account_id,
        call_id,
        state.clock.now(),
    )
    .await?;
    Ok(Json(view))
}

/// `GET /v1/calls/:callId/webhooks`
#[utoipa::path(get, path = "/v1/calls/{call_id}/webhooks", operation_id = "call_webhooks", tag = "calls", security(("ApiKey" = [])),
    params(crate::openapi::params::CallPath),
    responses(
        (status = 200, description = "Up to 500 delivery attempts of the call's events, oldest first", body = CallWebhooks),
        (status = 404, description = "`Call not found`", body = ErrorBody),
    ))]
pub async fn webhooks(
    State(state): State<AppState>,
    auth: Auth,
    PathParam(call_id): PathParam,
) -> Result<Json<CallWebhooks>, ApiError> {
    let call_id = parse_call_id(&call_id)?;
    let deliveries = calls::deliveries(&state.store, auth.account_id, call_id).await?;
    Ok(Json(CallWebhooks {
        call_id,
        deliveries,
    }))
}
