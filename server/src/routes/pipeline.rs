//! The pipeline API (`/pipeline/v1/`): the voice pipeline reports a live call as it
//! happens. Operator-authenticated (`PipelineAuth`); requests name the agent, whose
//! account owns the call. Handlers parse, call the lifecycle service, serialise.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use callscope_shared::{
    Call, CallStatus, Disposition, EndedReason, Money, Role, Timestamp, ToolCall,
};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::calls::parse_call_id;
use crate::app::AppState;
use crate::call_control::start_recording_soon;
use crate::calls::AgentRef;
use crate::error::ApiError;
use crate::extract::{ApiJson, PathParam};
use crate::pipeline::{self, CallPatch, EndCall, StartCall, Turn, TurnsAdded};
use crate::pipeline_auth::PipelineAuth;

/// `POST /pipeline/v1/calls`
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CreateBody {
    /// `agent_…` or the numeric id (a string or a number).
    agent_id: Value,
    from_number: String,
    to_number: String,
    #[serde(default)]
    call_control_id: Option<String>,
    #[serde(default)]
    status: Option<CallStatus>,
    #[serde(default)]
    started_at: Option<Timestamp>,
    #[serde(default)]
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

/// One entry of `POST /pipeline/v1/calls/:callId/turns`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TurnBody {
    seq: i64,
    role: Role,
    content: String,
    timestamp: f64,
    #[serde(default)]
    tool_calls: Vec<ToolCall>,
    #[serde(default)]
    llm_ttfb_ms: Option<i64>,
    #[serde(default)]
    tts_start_ms: Option<i64>,
    #[serde(default)]
    tts_ttfb_ms: Option<i64>,
    #[serde(default)]
    interrupted: bool,
    #[serde(default)]
    stt_ms: Option<i64>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TurnsBody {
    turns: Vec<TurnBody>,
}

#[derive(Debug, Serialize)]
pub struct TurnsAnswer {
    call_id: callscope_shared::CallId,
    added: usize,
    repeated: usize,
    turn_count: usize,
}

/// `POST /pipeline/v1/calls/:callId/turns`
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
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PatchBody {
    #[serde(default)]
    metadata: Option<Value>,
    #[serde(default)]
    extracted_data: Option<Value>,
    #[serde(default)]
    ws_unavailable: Option<bool>,
    #[serde(default)]
    llm_discount: Option<Money>,
    #[serde(default)]
    call_cost: Option<Money>,
}

/// `PATCH /pipeline/v1/calls/:callId`
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
#[derive(Debug, Deserialize)]
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
