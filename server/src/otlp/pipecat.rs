//! Pipecat's trace of a call as transcript entries (`conversation` > `turn` > `stt`, `llm`,
//! `tts`; `shared/spec/voice-tracing.md`). Turn `n` gives the caller's entry `seq = 2n − 1`
//! (its `stt` transcripts) and the assistant's `seq = 2n` (its `llm` outputs, else its
//! `tts` texts), so an entry's number does not depend on which spans arrived first.
//!
//! - timestamps: the first `stt` / `tts` span's start (else the turn's) from the call's start;
//! - latency (all three or none): LLM TTFB = the first `llm` span's `metrics.ttfb`, TTS
//!   start = the first `tts` span's start − the turn's start, TTS TTFB = the first `tts`
//!   span's `metrics.ttfb`; the caller entry's STT latency = the `stt` span's `metrics.ttfb`;
//! - interrupted: `turn.was_interrupted` (not on a turn the call's end closed:
//!   `turn.ended_by_conversation_end`), or a `tts` span's `tts.interrupted`;
//! - tool calls: Pipecat has no tool span. A tool call shows in the `input` messages (OpenAI
//!   style: an assistant message's `tool_calls`, then `tool` messages with the results) of
//!   the `llm` span after the one that made it; it belongs to that earlier `llm` span's turn.

use std::collections::HashMap;

use callscope_shared::{Role, ToolCall};
use serde_json::Value;

use super::trace::{Span, Trace, ns_to_ms, offset_seconds};
use crate::pipeline::Turn;

pub const ROOT: &str = "conversation";
/// Every span name this mapping reads.
pub const SPANS: &[&str] = &[ROOT, "turn", "stt", "llm", "tts"];
const TURN: &[&str] = &["turn"];
const STT: &[&str] = &["stt"];
const LLM: &[&str] = &["llm"];
const TTS: &[&str] = &["tts"];

/// The entries of the trace's turns. `live`: only turns a later turn follows (their tool
/// results, in the next `llm` span's input, are in); otherwise every turn.
pub fn entries(trace: &Trace, call_start_ns: i64, live: bool) -> Vec<Turn> {
    let mut turns: Vec<(i64, &Span)> = trace
        .named(TURN)
        .filter_map(|t| {
            let n = t.number("turn.number")?;
            (n >= 1.0 && n.fract() == 0.0 && n <= 500_000.0).then_some((n as i64, t))
        })
        .collect();
    turns.sort_by_key(|(n, t)| (*n, t.start_ns));
    turns.dedup_by_key(|(n, _)| *n);
    let last = turns.last().map(|(n, _)| *n).unwrap_or(0);
    let tools = tool_calls(trace);
    let mut out = Vec::new();
    for (n, turn) in &turns {
        if live && *n == last {
            break;
        }
        out.extend(caller_entry(trace, turn, *n, call_start_ns));
        out.extend(assistant_entry(trace, turn, *n, call_start_ns, &tools));
    }
    out
}

fn caller_entry(trace: &Trace, turn: &Span, n: i64, call_start_ns: i64) -> Option<Turn> {
    // Every `stt` span: since Pipecat 1.3 one is a whole speech segment, and one the caller
    // ended by going quiet has `is_final = false` with what was said all the same.
    let stt: Vec<&Span> = trace.children_of(turn, STT).collect();
    let words: Vec<&str> = stt
        .iter()
        .filter_map(|s| s.text(&["transcript"]))
        .map(str::trim)
        .collect();
    if words.is_empty() {
        return None;
    }
    let first = stt.first()?;
    Some(Turn {
        seq: 2 * n - 1,
        role: Role::User,
        content: words.join(" "),
        timestamp: offset_seconds(first.start_ns, call_start_ns),
        tool_calls: Vec::new(),
        llm_ttfb_ms: None,
        tts_start_ms: None,
        tts_ttfb_ms: None,
        interrupted: false,
        stt_ms: first.millis("metrics.ttfb"),
    })
}

fn assistant_entry(
    trace: &Trace,
    turn: &Span,
    n: i64,
    call_start_ns: i64,
    tools: &HashMap<String, Vec<ToolCall>>,
) -> Option<Turn> {
    let llm: Vec<&Span> = trace.children_of(turn, LLM).collect();
    let tts: Vec<&Span> = trace.children_of(turn, TTS).collect();
    let joined = |spans: &[&Span], key: &str| -> String {
        spans
            .iter()
            .filter_map(|s| s.text(&[key]))
            .map(str::trim)
            .collect::<Vec<_>>()
            .join(" ")
    };
    let mut content = joined(&llm, "output");
    if content.is_empty() {
        content = joined(&tts, "text");
    }
    let tool_calls: Vec<ToolCall> = llm
        .iter()
        .flat_map(|s| tools.get(&s.id).cloned().unwrap_or_default())
        .collect();
    if content.is_empty() && tool_calls.is_empty() {
        return None;
    }
    let first_llm = llm.first();
    let first_tts = tts.first();
    let latency = match (first_llm, first_tts) {
        (Some(l), Some(t)) => match (l.millis("metrics.ttfb"), t.millis("metrics.ttfb")) {
            (Some(llm_ttfb), Some(tts_ttfb)) => {
                Some((llm_ttfb, ns_to_ms(t.start_ns, turn.start_ns), tts_ttfb))
            }
            _ => None,
        },
        _ => None,
    };
    let at = first_tts
        .or(first_llm)
        .map_or(turn.start_ns, |s| s.start_ns);
    Some(Turn {
        seq: 2 * n,
        role: Role::Assistant,
        content,
        timestamp: offset_seconds(at, call_start_ns),
        tool_calls,
        llm_ttfb_ms: latency.map(|l| l.0),
        tts_start_ms: latency.map(|l| l.1),
        tts_ttfb_ms: latency.map(|l| l.2),
        interrupted: interrupted(turn, &tts),
        stt_ms: None,
    })
}

/// Whether the caller cut the turn off: `turn.was_interrupted`, except on a turn the end of
/// the call closed (Pipecat sets it on a goodbye the pipeline ended right after), or a
/// `tts` span's `tts.interrupted`.
fn interrupted(turn: &Span, tts: &[&Span]) -> bool {
    (turn.flag("turn.was_interrupted") && !turn.flag("turn.ended_by_conversation_end"))
        || tts.iter().any(|t| t.flag("tts.interrupted"))
}

/// Tool calls by the id of the `llm` span that made them.
fn tool_calls(trace: &Trace) -> HashMap<String, Vec<ToolCall>> {
    let llm: Vec<&Span> = trace.named(LLM).collect();
    let mut seen: HashMap<String, ()> = HashMap::new();
    let mut out: HashMap<String, Vec<ToolCall>> = HashMap::new();
    for (k, span) in llm.iter().enumerate() {
        let Some(messages) = span
            .text(&["input"])
            .and_then(|t| serde_json::from_str::<Value>(t).ok())
        else {
            continue;
        };
        let Some(messages) = messages.as_array() else {
            continue;
        };
        let results: HashMap<&str, String> = messages
            .iter()
            .filter(|m| m["role"] == "tool")
            .filter_map(|m| Some((m["tool_call_id"].as_str()?, text_of(&m["content"]))))
            .collect();
        // The span that made the calls: the one before (or this one, for the first).
        let maker = llm[k.saturating_sub(1)];
        for message in messages.iter().filter(|m| m["role"] == "assistant") {
            for call in message["tool_calls"].as_array().into_iter().flatten() {
                let Some(id) = call["id"].as_str() else {
                    continue;
                };
                if seen.insert(id.to_owned(), ()).is_some() {
                    continue;
                }
                let function = &call["function"];
                let Some(name) = function["name"].as_str().filter(|n| !n.trim().is_empty()) else {
                    continue;
                };
                let arguments = match &function["arguments"] {
                    Value::String(text) => {
                        serde_json::from_str(text).unwrap_or_else(|_| Value::String(text.clone()))
                    }
                    Value::Null => Value::Object(Default::default()),
                    other => other.clone(),
                };
                out.entry(maker.id.clone()).or_default().push(ToolCall {
                    name: name.chars().take(256).collect(),
                    arguments,
                    result: results.get(id).cloned(),
                });
            }
        }
    }
    out
}

/// A message's content as text (a string, or OpenAI's list of text parts).
fn text_of(content: &Value) -> String {
    match content {
        Value::String(s) => s.clone(),
        Value::Array(parts) => parts
            .iter()
            .filter_map(|p| p["text"].as_str())
            .collect::<Vec<_>>()
            .join(""),
        Value::Null => String::new(),
        other => other.to_string(),
    }
}
