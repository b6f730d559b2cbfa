//! The pipeline API (`/pipeline/v1/`): the voice pipeline reports a live call as it
//! happens. Operator-authenticated (`PipelineAuth`); requests name the agent, whose
//! account owns the call. Handlers parse, call the lifecycle service, serialise.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use callscope_shared::{
    Call, CallStatus, Disposition, EndedReason, ErrorBody, Money, Role, Timestamp, ToolCall,
};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::ToSchema;

use super::calls::parse_call_id;
use crate::app::AppState;
use crate::call_control::start_recording_soon;
use crate::calls::AgentRef;
use crate::error::ApiError;
use crate::extract::{ApiJson, PathParam};
use crate::pipeline::{self, CallPatch, EndCall, StartCall, Turn, TurnsAdded};
use crate::pipeline_auth::PipelineAuth;

/// `POST /pipeline/v1/calls`
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateBody {
    /// `agent_…` or the numeric id (a string or a number).
    #[schema(schema_with = crate::openapi::schemas::agent_ref)]
    agent_id: Value,
    /// E.164 when it looks like a number; otherwise (a SIP URI, `anonymous`) kept as sent,
    /// 1 to 256 characters without control characters.
    #[schema(min_length = 1, max_length = 256)]
    from_number: String,
    /// As `from_number`.
    #[schema(min_length = 1, max_length = 256)]
    to_number: String,
    /// The provider's call control id; a second create naming it answers the same call.
    #[serde(default)]
    call_control_id: Option<String>,
    /// `ringing` (the default) or `in-progress`.
    #[serde(default)]
    status: Option<CallStatus>,
    /// When the call started; default now, at most 5 minutes ahead.
    #[serde(default)]
    started_at: Option<Timestamp>,
    /// A JSON object.
    #[serde(default)]
    #[schema(value_type = Option<Object>)]
    metadata: Option<Value>,
}

fn agent_ref(value: &Value) -> Result<AgentRef, ApiError> {
    let parsed = match value {
        Value::String(text) => pipeline::parse_agent_ref(text),
        Value::Number(n) => n.as_i64().filter(|n| *n > 0).map(AgentRef::Numeric),
        _ => None,
    };
    parsed.ok_or_else(|| {
        ApiError::bad_request("agent_id must be an agent_* public id or a numeric agent id")
    })
}

/// `POST /pipeline/v1/calls` → 201 with the call (200 with the existing one when its
/// `call_control_id` names a call already made).
#[utoipa::path(post, path = "/pipeline/v1/calls", operation_id = "pipeline_create_call", tag = "pipeline", security(("PipelineToken" = [])),
    request_body(content = CreateBody, content_type = "application/json"),
    responses(
        (status = 201, description = "The new call", body = Call,
            links(
                ("AnswerCall" = (operation_id = "pipeline_answer_call", parameters(("call_id" = "$response.body#/call_id")))),
                ("AddTurns" = (operation_id = "pipeline_add_turns", parameters(("call_id" = "$response.body#/call_id")))),
                ("UpdateCall" = (operation_id = "pipeline_update_call", parameters(("call_id" = "$response.body#/call_id")))),
                ("EndCall" = (operation_id = "pipeline_end_call", parameters(("call_id" = "$response.body#/call_id")))),
            )),
        (status = 200, description = "The call its `call_control_id` already names, unchanged", body = Call),
        (status = 400, description = "A field missing, unknown, of the wrong type or out of range (the message names it)", body = ErrorBody),
        (status = 404, description = "`Agent not found`, or `The pipeline API is not enabled (set CALLSCOPE_PIPELINE_TOKEN)`", body = ErrorBody),
    ))]
pub async fn create(
    State(state): State<AppState>,
    _: PipelineAuth,
    ApiJson(body): ApiJson<CreateBody>,
) -> Result<(StatusCode, Json<Call>), ApiError> {
    let start = StartCall {
        agent: agent_ref(&body.agent_id)?,
        from_number: body.from_number,
        to_number: body.to_number,
        call_control_id: body.call_control_id,
        status: body.status.unwrap_or(CallStatus::Ringing),
        started_at: body.started_at,
        metadata: body.metadata.unwrap_or_else(|| serde_json::json!({})),
    };
    let (call, created) =
        pipeline::create(&state.store, &state.live, start, state.clock.now()).await?;
    if call.status == CallStatus::InProgress {
        start_recording_soon(&state.store, state.telephony.as_ref(), call.call_id);
    }
    let status = if created {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok((status, Json(call)))
}

/// `POST /pipeline/v1/calls/:callId/answer`
#[utoipa::path(post, path = "/pipeline/v1/calls/{call_id}/answer", operation_id = "pipeline_answer_call", tag = "pipeline", security(("PipelineToken" = [])),
    params(crate::openapi::params::CallPath),
    responses(
        (status = 200, description = "The call, now in progress (unchanged if it already was)", body = Call),
        (status = 404, description = "`Call not found`, or the pipeline API is not enabled", body = ErrorBody),
        (status = 409, description = "`Call is not in progress`: it has ended", body = ErrorBody),
    ))]
pub async fn answer(
    State(state): State<AppState>,
    _: PipelineAuth,
    PathParam(call_id): PathParam,
) -> Result<Json<Call>, ApiError> {
    let call_id = parse_call_id(&call_id)?;
    let call = pipeline::answer(&state.store, &state.live, call_id, state.clock.now()).await?;
    start_recording_soon(&state.store, state.telephony.as_ref(), call_id);
    Ok(Json(call))
}

/// One entry of `POST /pipeline/v1/calls/:callId/turns`. The latency fields and
/// `interrupted` are for assistant entries, `stt_ms` for user entries (400 on the other).
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TurnBody {
    /// The entry's place in the transcript.
    #[schema(minimum = 1, maximum = 1000000)]
    seq: i64,
    role: Role,
    content: String,
    /// Seconds from the call's start.
    #[schema(minimum = 0, maximum = 86400)]
    timestamp: f64,
    #[serde(default)]
    tool_calls: Vec<ToolCall>,
    #[serde(default)]
    #[schema(minimum = 0, maximum = 600000)]
    llm_ttfb_ms: Option<i64>,
    #[serde(default)]
    #[schema(minimum = 0, maximum = 600000)]
    tts_start_ms: Option<i64>,
    #[serde(default)]
    #[schema(minimum = 0, maximum = 600000)]
    tts_ttfb_ms: Option<i64>,
    #[serde(default)]
    interrupted: bool,
    #[serde(default)]
    #[schema(minimum = 0, maximum = 600000)]
    stt_ms: Option<i64>,
}

/// `POST /pipeline/v1/calls/:callId/turns`: all or nothing.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TurnsBody {
    #[schema(min_items = 1, max_items = 1000)]
    turns: Vec<TurnBody>,
}

/// What a turns request did: `added` new entries, `repeated` ones already stored.
#[derive(Debug, Serialize, ToSchema)]
pub struct TurnsAnswer {
    call_id: callscope_shared::CallId,
    added: usize,
    repeated: usize,
    turn_count: usize,
}

/// `POST /pipeline/v1/calls/:callId/turns`
#[utoipa::path(post, path = "/pipeline/v1/calls/{call_id}/turns", operation_id = "pipeline_add_turns", tag = "pipeline", security(("PipelineToken" = [])),
    params(crate::openapi::params::CallPath),
    request_body(content = TurnsBody, content_type = "application/json"),
    responses(
        (status = 200, description = "The entries were stored (repeats counted, not stored twice)", body = TurnsAnswer),
        (status = 400, description = "A field missing, unknown, of the wrong type or out of range (the message names it)", body = ErrorBody),
        (status = 404, description = "`Call not found`, or the pipeline API is not enabled", body = ErrorBody),
        (status = 409, description = "`seq N already holds a different entry`, or `Call has ended`", body = ErrorBody),
    ))]
pub async fn turns(
    State(state): State<AppState>,
    _: PipelineAuth,
    PathParam(call_id): PathParam,
    ApiJson(body): ApiJson<TurnsBody>,
) -> Result<Json<TurnsAnswer>, ApiError> {
    let call_id = parse_call_id(&call_id)?;
    let turns = body
        .turns
        .into_iter()
        .map(|t| Turn {
            seq: t.seq,
            role: t.role,
            content: t.content,
            timestamp: t.timestamp,
            tool_calls: t.tool_calls,
            llm_ttfb_ms: t.llm_ttfb_ms,
            tts_start_ms: t.tts_start_ms,
            tts_ttfb_ms: t.tts_ttfb_ms,
            interrupted: t.interrupted,
            stt_ms: t.stt_ms,
        })
        .collect();
    let TurnsAdded {
        call_id,
        added,
        repeated,
        turn_count,
    } = pipeline::add_turns(&state.store, call_id, turns).await?;
    Ok(Json(TurnsAnswer {
        call_id,
        added,
        repeated,
        turn_count,
    }))
}

/// `PATCH /pipeline/v1/calls/:callId`
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PatchBody {
    /// A JSON object.
    #[serde(default)]
    #[schema(value_type = Option<Object>)]
    metadata: Option<Value>,
    /// A JSON object.
    #[serde(default)]
    #[schema(value_type = Option<Object>)]
    extracted_data: Option<Value>,
    #[serde(default)]
    ws_unavailable: Option<bool>,
    #[serde(default)]
    llm_discount: Option<Money>,
    #[serde(default)]
    call_cost: Option<Money>,
}

/// `PATCH /pipeline/v1/calls/:callId`
#[utoipa::path(patch, path = "/pipeline/v1/calls/{call_id}", operation_id = "pipeline_update_call", tag = "pipeline", security(("PipelineToken" = [])),
    params(crate::openapi::params::CallPath),
    request_body(content = PatchBody, content_type = "application/json"),
    responses(
        (status = 200, description = "The call, patched", body = Call),
        (status = 400, description = "A field unknown, of the wrong type or out of range (the message names it)", body = ErrorBody),
        (status = 404, description = "`Call not found`, or the pipeline API is not enabled", body = ErrorBody),
    ))]
pub async fn update(
    State(state): State<AppState>,
    _: PipelineAuth,
    PathParam(call_id): PathParam,
    ApiJson(body): ApiJson<PatchBody>,
) -> Result<Json<Call>, ApiError> {
    let call_id = parse_call_id(&call_id)?;
    let patch = CallPatch {
        metadata: body.metadata,
        extracted_data: body.extracted_data,
        ws_unavailable: body.ws_unavailable,
        llm_discount: body.llm_discount,
        call_cost: body.call_cost,
    };
    Ok(Json(pipeline::update(&state.store, call_id, patch).await?))
}

/// `POST /pipeline/v1/calls/:callId/end`
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EndBody {
    ended_reason: EndedReason,
    #[serde(default)]
    status: Option<CallStatus>,
    #[serde(default)]
    disposition: Option<Disposition>,
    #[serde(default)]
    ended_at: Option<Timestamp>,
}

/// `POST /pipeline/v1/calls/:callId/end`
#[utoipa::path(post, path = "/pipeline/v1/calls/{call_id}/end", operation_id = "pipeline_end_call", tag = "pipeline", security(("PipelineToken" = [])),
    params(crate::openapi::params::CallPath),
    request_body(content = EndBody, content_type = "application/json"),
    responses(
        (status = 200, description = "The ended call (ending again: the record as it stands)", body = Call),
        (status = 400, description = "A field missing, unknown, of the wrong type or out of range (the message names it)", body = ErrorBody),
        (status = 404, description = "`Call not found`, or the pipeline API is not enabled", body = ErrorBody),
    ))]
pub async fn end(
    State(state): State<AppState>,
    _: PipelineAuth,
    PathParam(call_id): PathParam,
    ApiJson(body): ApiJson<EndBody>,
) -> Result<Json<Call>, ApiError> {
    let call_id = parse_call_id(&call_id)?;
    let end = EndCall {
        ended_reason: body.ended_reason,
        status: body.status,
        disposition: body.disposition,
        ended_at: body.ended_at,
    };
    Ok(Json(
        pipeline::end(&state.store, &state.live, call_id, end, state.clock.now()).await?,
    ))
}
