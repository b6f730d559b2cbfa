//! An export request flattened into the spans callscope keeps: checked (ids, times, size),
//! attributes as one JSON object, only the span names the mappings read (`kept`).

use std::collections::BTreeMap;

use base64::Engine as _;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1::{AnyValue, KeyValue, any_value};
use serde_json::{Map, Value};

use crate::storage::StoredSpan;

/// Whether a mapping reads spans of this name (Pipecat's or LiveKit Agents'); others are
/// accepted and dropped.
pub fn kept(name: &str) -> bool {
    super::pipecat::SPANS.contains(&name) || super::livekit::SPANS.contains(&name)
}

/// Largest attributes of one span, as JSON.
pub const MAX_ATTRIBUTES_BYTES: usize = 1024 * 1024;
/// Deepest nesting of an attribute value kept (arrays and key-value lists).
const MAX_DEPTH: usize = 16;

/// The spans of a request: those kept, and how many were rejected, with the first reason.
#[derive(Debug, Default)]
pub struct Flattened {
    pub kept: Vec<StoredSpan>,
    pub rejected: i64,
    pub first_reason: Option<String>,
}

impl Flattened {
    fn reject(&mut self, reason: String) {
        self.rejected += 1;
        self.first_reason.get_or_insert(reason);
    }
}

/// Flattens and checks every span of the request.
pub fn flatten(request: &ExportTraceServiceRequest) -> Flattened {
    let mut out = Flattened::default();
    for resource in &request.resource_spans {
        for scope in &resource.scope_spans {
            for span in &scope.spans {
                if !kept(&span.name) {
                    continue;
                }
                match check(span) {
                    Ok(stored) => out.kept.push(stored),
                    Err(reason) => out.reject(format!("span {:?}: {reason}", span.name)),
                }
            }
        }
    }
    out
}

fn check(span: &opentelemetry_proto::tonic::trace::v1::Span) -> Result<StoredSpan, String> {
    let id = |bytes: &[u8], len: usize, what: &str| {
        if bytes.len() != len || bytes.iter().all(|b| *b == 0) {
            return Err(format!("{what} must be {len} bytes, not all zero"));
        }
        Ok(hex(bytes))
    };
    let trace_id = id(&span.trace_id, 16, "traceId")?;
    let span_id = id(&span.span_id, 8, "spanId")?;
    let parent_id = match span.parent_span_id.as_slice() {
        [] => None,
        bytes => Some(id(bytes, 8, "parentSpanId")?),
    };
    let start = i64::try_from(span.start_time_unix_nano)
        .map_err(|_| "startTimeUnixNano is out of range")?;
    let end =
        i64::try_from(span.end_time_unix_nano).map_err(|_| "endTimeUnixNano is out of range")?;
    if start <= 0 || end < start {
        return Err("times must be set, with endTimeUnixNano not before startTimeUnixNano".into());
    }
    let attributes = Value::Object(attributes(&span.attributes)).to_string();
    if attributes.len() > MAX_ATTRIBUTES_BYTES {
        return Err("attributes are larger than 1 MiB".into());
    }
    Ok(StoredSpan {
        trace_id,
        span_id,
        parent_id,
        name: span.name.clone(),
        start_ns: start,
        end_ns: end,
        attributes,
    })
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Attributes as a JSON object (a repeated key: the last wins, as in the SDKs).
pub fn attributes(pairs: &[KeyValue]) -> Map<String, Value> {
    let mut sorted = BTreeMap::new();
    for pair in pairs {
        sorted.insert(pair.key.clone(), any(pair.value.as_ref(), 0));
    }
    sorted.into_iter().collect()
}

fn any(value: Option<&AnyValue>, depth: usize) -> Value {
    let Some(value) = value.and_then(|v| v.value.as_ref()) else {
        return Value::Null;
    };
    if depth >= MAX_DEPTH {
        return Value::Null;
    }
    match value {
        any_value::Value::StringValue(s) => Value::String(s.clone()),
        any_value::Value::BoolValue(b) => Value::Bool(*b),
        any_value::Value::IntValue(i) => Value::from(*i),
        any_value::Value::DoubleValue(d) => serde_json::Number::from_f64(*d)
            .map(Value::Number)
            .unwrap_or(Value::Null),
        any_value::Value::ArrayValue(a) => {
            Value::Array(a.values.iter().map(|v| any(Some(v), depth + 1)).collect())
        }
        any_value::Value::KvlistValue(kv) => Value::Object(
            kv.values
                .iter()
                .map(|p| (p.key.clone(), any(p.value.as_ref(), depth + 1)))
                .collect(),
        ),
        any_value::Value::BytesValue(b) => {
            Value::String(base64::engine::general_purpose::STANDARD.encode(b))
        }
        _ => Value::Null,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use opentelemetry_proto::tonic::trace::v1::{ResourceSpans, ScopeSpans, Span};

    fn kv(key: &str, value: any_value::Value) -> KeyValue {
        KeyValue {
            key: key.into(),
            value: Some(AnyValue { value: Some(value) }),
            ..Default::default()
        }
    }

    fn span(name: &str, trace: u8, id: u8, parent: Option<u8>) -> Span {
        Span {
            trace_id: vec![trace; 16],
            span_id: vec![id; 8],
            parent_span_id: parent.map(|p| vec![p; 8]).unwrap_or_default(),
            name: name.into(),
            start_time_unix_nano: 1_768_471_200_000_000_000,
            end_time_unix_nano: 1_768_471_201_000_000_000,
            attributes: vec![
                kv("turn.number", any_value::Value::IntValue(3)),
                kv("metrics.ttfb", any_value::Value::DoubleValue(0.25)),
                kv("transcript", any_value::Value::StringValue("hi".into())),
                kv("tts.interrupted", any_value::Value::BoolValue(true)),
            ],
            ..Default::default()
        }
    }

    fn request(spans: Vec<Span>) -> ExportTraceServiceRequest {
        ExportTraceServiceRequest {
            resource_spans: vec![ResourceSpans {
                scope_spans: vec![ScopeSpans {
                    spans,
                    ..Default::default()
                }],
                ..Default::default()
            }],
        }
    }

    #[test]
    fn kept_spans_are_checked_and_flattened() {
        let mut zero = span("turn", 0, 2, None);
        zero.trace_id = vec![0; 16];
        let mut backwards = span("llm", 1, 3, Some(2));
        backwards.end_time_unix_nano = 1;
        let out = flatten(&request(vec![
            span("conversation", 1, 1, None),
            span("turn", 1, 2, Some(1)),
            span("http.request", 1, 9, Some(1)),
            zero,
            backwards,
        ]));
        assert_eq!(out.kept.len(), 2);
        assert_eq!(out.rejected, 2);
        assert_eq!(
            out.first_reason.as_deref(),
            Some("span \"turn\": traceId must be 16 bytes, not all zero")
        );
        let turn = &out.kept[1];
        assert_eq!(turn.trace_id, "01".repeat(16));
        assert_eq!(turn.parent_id.as_deref(), Some("0101010101010101"));
        let attributes: Value = serde_json::from_str(&turn.attributes).unwrap();
        assert_eq!(
            attributes,
            serde_json::json!({"metrics.ttfb": 0.25, "transcript": "hi",
                "tts.interrupted": true, "turn.number": 3})
        );
    }
}
