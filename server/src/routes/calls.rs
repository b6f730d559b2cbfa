//! The Calls read API: list, summary, detail, status and webhook deliveries.

use axum::Json;
use axum::extract::{Path, State};
use callscope_shared::{
    Call, CallId, CallList, CallStatusView, CallWebhooks, Minutes, Money, Summary, SummaryFilters,
};

use super::params::{AgentRef, Params};
use crate::app::AppState;
use crate::auth::Auth;
use crate::clock::{self, UnixTime};
use crate::cursor;
use crate::error::ApiError;
use crate::extract::ApiQuery;
use crate::ids::AgentRowId;
use crate::storage::CallFilter;

/// The spec's answer for a call that is missing or belongs to another account.
pub fn call_not_found() -> ApiError {
    ApiError::not_found("Call not found")
}

/// A path's call id; malformed ids are simply not found.
pub fn parse_call_id(text: &str) -> Result<CallId, ApiError> {
    text.parse().map_err(|_| call_not_found())
}

const LIST_PARAMS: &[&str] = &[
    "agent_id",
    "status",
    "disposition",
    "from_date",
    "to_date",
    "after",
    "limit",
];

/// `GET /v1/calls`
pub async fn list(
    State(state): State<AppState>,
    auth: Auth,
    ApiQuery(query): ApiQuery<Vec<(String, String)>>,
) -> Result<Json<CallList>, ApiError> {
    let params = Params::new(query, LIST_PARAMS)?;
    let limit = params.int_in("limit", 1..=100, 50)? as u32;
    let status = params.status()?;
    let disposition = params.disposition()?;
    let dates = params.date_range()?;
    let after = params
        .get("after")
        .map(|text| {
            cursor::decode(&state.keys.cursor, auth.account_id, text).map_err(|_| {
                ApiError::bad_request("after must be a next_cursor value returned by this endpoint")
            })
        })
        .transpose()?;
    let agent_id = match params.agent_any()? {
        None => None,
        Some(AgentRef::Numeric(id)) => Some(AgentRowId(id)),
        Some(AgentRef::Public(public)) => match state
            .store
            .agent_by_public_id(auth.account_id, &public)
            .await?
        {
            Some(agent) => Some(agent.id),
            // An agent this account does not have matches no calls.
            None => {
                return Ok(Json(CallList {
                    calls: Vec::new(),
                    has_more: false,
                    next_cursor: None,
                }));
            }
        },
    };
    let filter = CallFilter {
        agent_id,
        status,
        disposition,
        from: dates.from.map(UnixTime),
        to: dates.to.map(UnixTime),
    };
    let (calls, has_more) = state
        .store
        .list_calls(auth.account_id, &filter, after, limit)
        .await?;
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

/// `GET /v1/calls/summary`
pub async fn summary(
    State(state): State<AppState>,
    auth: Auth,
    ApiQuery(query): ApiQuery<Vec<(String, String)>>,
) -> Result<Json<Summary>, ApiError> {
    let params = Params::new(query, &["agent_id", "from_date", "to_date"])?;
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
pub async fn detail(
    State(state): State<AppState>,
    auth: Auth,
    Path(call_id): Path<String>,
) -> Result<Json<Call>, ApiError> {
    let call_id = parse_call_id(&call_id)?;
    let call = state
        .store
        .get_call(auth.account_id, call_id)
        .await?
        .ok_or_else(call_not_found)?;
    Ok(Json(call))
}

/// `GET /v1/calls/:callId/status`: live state while the call is live, the record after.
pub async fn status(
    State(state): State<AppState>,
    auth: Auth,
    Path(call_id): Path<String>,
) -> Result<Json<CallStatusView>, ApiError> {
    let call_id = parse_call_id(&call_id)?;
    let row = state
        .store
        .call_status(auth.account_id, call_id)
        .await?
        .ok_or_else(call_not_found)?;
    if !row.status.is_live() {
        return Ok(Json(CallStatusView {
            call_id,
            status: row.status,
            duration_seconds: row.duration_seconds,
            started_at: row.started_at,
            ended_at: row.ended_at,
        }));
    }
    let live = state.live.get(call_id).await.map_err(|err| {
        tracing::error!(error = %err, "live store failure");
        ApiError::new(
            axum::http::StatusCode::SERVICE_UNAVAILABLE,
            "Service temporarily unavailable",
        )
        .with_retry_after(2)
    })?;
    // The live entry wins; without one (e.g. expired), the record's own state stands.
    let (status, started_at) = live
        .filter(|l| l.account_id == auth.account_id.get())
        .map(|l| (l.status, l.started_at))
        .unwrap_or((row.status, row.started_at));
    Ok(Json(CallStatusView {
        call_id,
        status,
        duration_seconds: (clock::now() - started_at.unix()).max(0),
        started_at,
        ended_at: None,
    }))
}

/// `GET /v1/calls/:callId/webhooks`
pub async fn webhooks(
    State(state): State<AppState>,
    auth: Auth,
    Path(call_id): Path<String>,
) -> Result<Json<CallWebhooks>, ApiError> {
    let call_id = parse_call_id(&call_id)?;
    if !state.store.owns_call(auth.account_id, call_id).await? {
        return Err(call_not_found());
    }
    let deliveries = state.store.call_deliveries(call_id).await?;
    Ok(Json(CallWebhooks {
        call_id,
        deliveries,
    }))
}
