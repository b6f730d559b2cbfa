//! LiveKit Agents' trace of a session as transcript entries (`agent_session` > `user_turn`,
//! `agent_turn` (`assistant_turn` before 1.3.1) > `llm_node`, `tts_node`, `function_tool`;
//! `shared/spec/voice-tracing.md`). Content attributes are read under 1.7's `lk.pii.` names
//! and the earlier unprefixed ones. LiveKit's spans carry no turn number, so entries are
//! numbered by start time once the whole session is in (the root span ends last).
//!
//! - `user_turn` → the caller's entry (`lk.pii.user_transcript`), at its start; STT latency
//!   = `lk.transcription_delay`;
//! - `agent_turn` → the assistant's entry: its `llm_node` texts (`lk.pii.response.text`),
//!   else what was spoken (`lk.pii.input_text` of its `tts_request` spans, else of its
//!   `tts_node`s: `session.say()` has no `llm_node`); LLM TTFB = the first `llm_node`'s
//!   `lk.response.ttft`, TTS start = the first `tts_node`'s start − the turn's start, TTS
//!   TTFB = its `lk.response.ttfb`; `lk.interrupted`; every `function_tool` under it is a
//!   tool call (`lk.function_tool.name`, `lk.pii.function_tool.arguments` parsed as JSON,
//!   `lk.pii.function_tool.output`).

use callscope_shared::{Role, ToolCall};
use serde_json::Value;

use super::trace::{Span, Trace, ns_to_ms, offset_seconds};
use crate::pipeline::Turn;

pub const ROOT: &str = "agent_session";
/// Every span name this mapping reads.
pub const SPANS: &[&str] = &[
    ROOT,
    "user_turn",
    "agent_turn",
    "assistant_turn",
    "llm_node",
    "tts_node",
    "tts_request",
    "function_tool",
];
const USER_TURN: &[&str] = &["user_turn"];
const AGENT_TURN: &[&str] = &["agent_turn", "assistant_turn"];
const LLM: &[&str] = &["llm_node"];
const TTS: &[&str] = &["tts_node"];
/// Where the spoken text is: `tts_request` (under `tts_node`) since 1.2.
const TTS_REQUEST: &[&str] = &["tts_request"];
const TOOL: &[&str] = &["function_tool"];

/// The entries of the whole session, numbered from 1 by start time.
pub fn entries(trace: &Trace, call_start_ns: i64) -> Vec<Turn> {
    let mut out: Vec<(i64, Turn)> = Vec::new();
    for span in trace.named(USER_TURN) {
        let Some(text) = span.text(&["lk.pii.user_transcript", "lk.user_transcript"]) else {
            continue;
        };
        out.push((
            span.start_ns,
            Turn {
                seq: 0,
                role: Role::User,
                content: text.trim().to_owned(),
                timestamp: offset_seconds(span.start_ns, call_start_ns),
                tool_calls: Vec::new(),
                llm_ttfb_ms: None,
                tts_start_ms: None,
                tts_ttfb_ms: None,
                interrupted: false,
                stt_ms: span.millis("lk.transcription_delay"),
            },
        ));
    }
    for turn in trace.named(AGENT_TURN) {
        if let Some(entry) = assistant_entry(trace, turn, call_start_ns) {
            out.push((turn.start_ns, entry));
        }
    }
    out.sort_by_key(|(start, t)| (*start, t.role == Role::Assistant));
    out.into_iter()
        .enumerate()
        .map(|(i, (_, mut turn))| {
            turn.seq = i as i64 + 1;
            turn
        })
        .collect()
}

fn assistant_entry(trace: &Trace, turn: &Span, call_start_ns: i64) -> Option<Turn> {
    let under = |names: &'static [&'static str]| -> Vec<&Span> {
        trace
            .named(names)
            .filter(|s| trace.descends_from(s, turn))
            .collect()
    };
    let (llm, tts, tools) = (under(LLM), under(TTS), under(TOOL));
    let requests = under(TTS_REQUEST);
    let joined = |spans: &[&Span], keys: &[&str]| -> String {
        spans
            .iter()
            .filter_map(|s| s.text(keys))
            .map(str::trim)
            .collect::<Vec<_>>()
            .join(" ")
    };
    let mut content = joined(&llm, &["lk.pii.response.text", "lk.response.text"]);
    if content.is_empty() {
        // `session.say()`: no `llm_node`; the text is on the `tts_request`.
        let spoken = if requests.is_empty() { &tts } else { &requests };
        content = joined(spoken, &["lk.pii.input_text", "lk.input_text"]);
    }
    let tool_calls: Vec<ToolCall> = tools
        .iter()
        .filter_map(|t| {
            let name = t.text(&["lk.function_tool.name"])?;
            let arguments = match t.text(&[
                "lk.pii.function_tool.arguments",
                "lk.function_tool.arguments",
            ]) {
                Some(text) => {
                    serde_json::from_str(text).unwrap_or_else(|_| Value::String(text.to_owned()))
                }
                None => Value::Object(Default::default()),
            };
            Some(ToolCall {
                name: name.chars().take(256).collect(),
                arguments,
                result: t
                    .text(&["lk.pii.function_tool.output", "lk.function_tool.output"])
                    .map(str::to_owned),
            })
        })
        .collect();
    if content.is_empty() && tool_calls.is_empty() {
        return None;
    }
    let latency = match (llm.first(), tts.first()) {
        (Some(l), Some(t)) => match (l.millis("lk.response.ttft"), t.millis("lk.response.ttfb")) {
            (Some(llm_ttfb), Some(tts_ttfb)) => {
                Some((llm_ttfb, ns_to_ms(t.start_ns, turn.start_ns), tts_ttfb))
            }
            _ => None,
        },
        _ => None,
    };
    let at = tts
        .first()
        .or(llm.first())
        .map_or(turn.start_ns, |s| s.start_ns);
    Some(Turn {
        seq: 0,
        role: Role::Assistant,
        content,
        timestamp: offset_seconds(at, call_start_ns),
        tool_calls,
        llm_ttfb_ms: latency.map(|l| l.0),
        tts_start_ms: latency.map(|l| l.1),
        tts_ttfb_ms: latency.map(|l| l.2),
        interrupted: turn.flag("lk.interrupted"),
        stt_ms: None,
    })
}
