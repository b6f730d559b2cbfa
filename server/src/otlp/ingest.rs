//! From spans to calls (the rules are `otlp`'s module doc): spans are kept durably per trace;
//! after each request every trace it touched is looked at again, as a whole, so the result
//! does not depend on how the spans were split into requests or repeated.

use std::collections::BTreeMap;

use callscope_shared::{CallId, CallStatus, EndedReason};
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;

use super::spans::flatten;
use super::trace::Trace;
use super::{livekit, pipecat};
use crate::clock::UnixTime;
use crate::live::LiveStore;
use crate::pipeline::{self, EndCall, PipelineError, StartCall, Turn};
use crate::storage::{Store, StoredSpan, TraceClaim};

/// What a request did: spans rejected, and why (the first reason, with a count).
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Ingested {
    pub rejected: i64,
    pub message: String,
}

/// How long a request may take to create a trace's call before its claim is taken as
/// abandoned.
pub const STALE_CLAIM_SECONDS: i64 = 60;

/// How a call's end is told when the trace does not say (`callscope.ended_reason`).
pub const DEFAULT_ENDED_REASON: EndedReason = EndedReason::CallerHangup;

/// The frameworks whose traces are mapped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Framework {
    Pipecat,
    LiveKit,
}

impl Framework {
    fn of(trace: &Trace) -> Option<Self> {
        let any = |names: &[&str]| trace.named(names).next().is_some();
        if any(livekit::SPANS) {
            Some(Framework::LiveKit)
        } else if any(pipecat::SPANS) {
            Some(Framework::Pipecat)
        } else {
            None
        }
    }

    fn root_name(self) -> &'static str {
        match self {
            Framework::Pipecat => pipecat::ROOT,
            Framework::LiveKit => livekit::ROOT,
        }
    }
}

/// Applies an export request.
pub async fn ingest(
    store: &Store,
    live: &LiveStore,
    request: &ExportTraceServiceRequest,
    now: UnixTime,
) -> Result<Ingested, PipelineError> {
    let flat = flatten(request);
    let mut rejected = flat.rejected;
    let mut reasons: Vec<String> = flat.first_reason.into_iter().collect();
    let mut by_trace: BTreeMap<String, Vec<StoredSpan>> = BTreeMap::new();
    for span in flat.kept {
        by_trace
            .entry(span.trace_id.clone())
            .or_default()
            .push(span);
    }
    for (trace_id, spans) in by_trace {
        let claim = store.trace_claim(&trace_id).await?;
        if matches!(
            claim,
            TraceClaim::Call {
                completed: true,
                ..
            }
        ) {
            continue;
        }
        store.put_spans(&spans, now).await?;
        if let Some(reason) = apply(store, live, &trace_id, claim, now).await? {
            rejected += 1;
            reasons.push(reason);
        }
    }
    let message = match reasons.as_slice() {
        [] => String::new(),
        [one] => one.clone(),
        [first, rest @ ..] => format!("{first} (and {} more)", rest.len()),
    };
    Ok(Ingested { rejected, message })
}

/// Looks at the whole trace again: binds or creates its call, adds the entries that are
/// complete, and ends the call once the root is in. `claim` is what the trace fed when
/// this request began (a concurrent one may have claimed it since: claiming is
/// conditional, and adding entries and ending are idempotent). A reason when its root is
/// refused.
async fn apply(
    store: &Store,
    live: &LiveStore,
    trace_id: &str,
    claim: TraceClaim,
    now: UnixTime,
) -> Result<Option<String>, PipelineError> {
    let trace = Trace::new(store.trace_spans(trace_id).await?);
    let Some(framework) = Framework::of(&trace) else {
        return Ok(None);
    };
    let root = trace.root(&[framework.root_name()]).cloned();
    let claim = match claim {
        // Its creator stopped midway (a crash): claimed again by whoever comes next.
        TraceClaim::Creating { since } if now.since(since) > STALE_CLAIM_SECONDS => {
            store.release_stale_trace(trace_id, since).await?;
            store.trace_claim(trace_id).await?
        }
        claim => claim,
    };
    let call_id = match claim {
        TraceClaim::Call {
            completed: true, ..
        }
        | TraceClaim::Creating { .. } => return Ok(None),
        TraceClaim::Call { call_id, .. } => call_id,
        TraceClaim::Unclaimed => match named_call(store, &trace).await? {
            Some(call_id) if store.claim_trace(trace_id, Some(call_id), now).await? => call_id,
            // A concurrent request claimed it first: feed the call it named.
            Some(_) => match store.trace_claim(trace_id).await? {
                TraceClaim::Call {
                    call_id,
                    completed: false,
                } => call_id,
                _ => return Ok(None),
            },
            None => {
                let Some(root) = &root else {
                    // Not claimed yet: the spans wait for their root.
                    return Ok(None);
                };
                match create(store, live, trace_id, &trace, root, now).await? {
                    Ok(Some(call_id)) => call_id,
                    Ok(None) => return Ok(None),
                    Err(reason) => return Ok(Some(reason)),
                }
            }
        },
    };
    let Some(state) = store.call_state(call_id).await? else {
        return Ok(None);
    };
    let call_start_ns = state.started_at.secs().saturating_mul(1_000_000_000);
    let turns = match (framework, &root) {
        (Framework::Pipecat, root) => pipecat::entries(&trace, call_start_ns, root.is_none()),
        (Framework::LiveKit, Some(_)) => livekit::entries(&trace, call_start_ns),
        (Framework::LiveKit, None) => Vec::new(),
    };
    add(store, call_id, turns).await?;
    if let Some(root) = root {
        if state.status.is_live() {
            let end = EndCall {
                ended_reason: ended_reason(&trace),
                status: None,
                disposition: None,
                ended_at: UnixTime(root.end_ns / 1_000_000_000)
                    .max(state.started_at)
                    .timestamp(),
            };
            pipeline::end(store, live, call_id, end, now).await?;
        }
        store.complete_trace(trace_id).await?;
    }
    Ok(None)
}

/// The existing call the trace names: `callscope.call_id` on any span, or Pipecat's
/// `conversation.id` when it is a callscope call id.
async fn named_call(store: &Store, trace: &Trace) -> Result<Option<CallId>, PipelineError> {
    for key in ["callscope.call_id", "conversation.id"] {
        let Some(call_id) = trace
            .attribute(key)
            .and_then(|t| t.trim().parse::<CallId>().ok())
        else {
            continue;
        };
        if store.call_state(call_id).await?.is_some() {
            return Ok(Some(call_id));
        }
    }
    Ok(None)
}

/// Creates the call the root describes (`callscope.agent_id`, `callscope.from_number`,
/// `callscope.to_number`, optional `callscope.call_control_id`). `Ok(None)`: another request
/// claimed the trace first; `Err`: the root is refused, for the reason given.
async fn create(
    store: &Store,
    live: &LiveStore,
    trace_id: &str,
    trace: &Trace,
    root: &super::trace::Span,
    now: UnixTime,
) -> Result<Result<Option<CallId>, String>, PipelineError> {
    let get = |key: &str| trace.attribute(key).map(str::to_owned);
    let (Some(agent), Some(from), Some(to)) = (
        get("callscope.agent_id"),
        get("callscope.from_number"),
        get("callscope.to_number"),
    ) else {
        return Ok(Err(format!(
            "trace {trace_id} names no callscope call: set callscope.call_id to an existing \
             call, or callscope.agent_id, callscope.from_number and callscope.to_number"
        )));
    };
    let Some(agent) = pipeline::parse_agent_ref(&agent) else {
        return Ok(Err(format!(
            "trace {trace_id}: callscope.agent_id must be an agent_* public id or a numeric agent id"
        )));
    };
    if !store.claim_trace(trace_id, None, now).await? {
        return Ok(Ok(None));
    }
    let start = StartCall {
        agent,
        from_number: from,
        to_number: to,
        call_control_id: get("callscope.call_control_id"),
        status: CallStatus::InProgress,
        started_at: UnixTime(root.start_ns / 1_000_000_000).timestamp(),
        metadata: serde_json::json!({}),
    };
    match pipeline::create(store, live, start, now).await {
        Ok((call, _)) => {
            store.set_trace_call(trace_id, call.call_id).await?;
            Ok(Ok(Some(call.call_id)))
        }
        Err(e @ (PipelineError::Store(_) | PipelineError::Live(_))) => {
            store.release_trace(trace_id).await?;
            Err(e)
        }
        Err(e) => {
            store.release_trace(trace_id).await?;
            Ok(Err(format!("trace {trace_id}: {e}")))
        }
    }
}

fn ended_reason(trace: &Trace) -> EndedReason {
    trace
        .attribute("callscope.ended_reason")
        .and_then(|r| r.parse().ok())
        .unwrap_or(DEFAULT_ENDED_REASON)
}

/// Adds the entries; one that differs from what its number already holds (spans that came
/// in an order no exporter uses) is left as first stored.
async fn add(store: &Store, call_id: CallId, turns: Vec<Turn>) -> Result<(), PipelineError> {
    if turns.is_empty() {
        return Ok(());
    }
    for chunk in turns.chunks(pipeline::MAX_TURNS_PER_REQUEST) {
        match pipeline::add_late_turns(store, call_id, chunk.to_vec()).await {
            Ok(_) => {}
            Err(PipelineError::SeqConflict(_) | PipelineError::Invalid(_)) => {
                for turn in chunk {
                    match pipeline::add_late_turns(store, call_id, vec![turn.clone()]).await {
                        Ok(_) => {}
                        Err(e @ (PipelineError::SeqConflict(_) | PipelineError::Invalid(_))) => {
                            tracing::info!(%call_id, seq = turn.seq, error = %e,
                                "trace entry not added");
                        }
                        Err(e) => return Err(e),
                    }
                }
            }
            Err(e) => return Err(e),
        }
    }
    Ok(())
}
