//! One trace's stored spans, read back for a mapping: attributes by name, parents,
//! children, and times as offsets from the call's start.

use serde_json::{Map, Value};

use crate::storage::StoredSpan;

/// A span of the trace.
#[derive(Debug, Clone)]
pub struct Span {
    pub id: String,
    pub parent: Option<String>,
    pub name: String,
    pub start_ns: i64,
    pub end_ns: i64,
    pub attrs: Map<String, Value>,
}

impl Span {
    pub fn from_stored(s: StoredSpan) -> Self {
        let attrs = match serde_json::from_str(&s.attributes) {
            Ok(Value::Object(map)) => map,
            _ => Map::new(),
        };
        Self {
            id: s.span_id,
            parent: s.parent_id,
            name: s.name,
            start_ns: s.start_ns,
            end_ns: s.end_ns,
            attrs,
        }
    }

    /// The first of `keys` that is a non-empty string.
    pub fn text(&self, keys: &[&str]) -> Option<&str> {
        keys.iter()
            .find_map(|k| self.attrs.get(*k).and_then(Value::as_str))
            .filter(|s| !s.trim().is_empty())
    }

    /// A number (an int, a double, or a string holding one).
    pub fn number(&self, key: &str) -> Option<f64> {
        match self.attrs.get(key)? {
            Value::Number(n) => n.as_f64(),
            Value::String(s) => s.trim().parse().ok(),
            _ => None,
        }
        .filter(|n: &f64| n.is_finite())
    }

    pub fn flag(&self, key: &str) -> bool {
        match self.attrs.get(key) {
            Some(Value::Bool(b)) => *b,
            Some(Value::String(s)) => s.eq_ignore_ascii_case("true"),
            _ => false,
        }
    }

    /// Seconds as whole milliseconds, within the pipeline's latency range.
    pub fn millis(&self, key: &str) -> Option<i64> {
        self.number(key).map(seconds_to_ms)
    }
}

/// Seconds to milliseconds, clamped to 0..=600,000 (the pipeline API's latency range).
pub fn seconds_to_ms(seconds: f64) -> i64 {
    ((seconds * 1000.0).round() as i64).clamp(0, crate::pipeline::MAX_LATENCY_MS)
}

/// Nanoseconds between two instants as milliseconds, clamped as [`seconds_to_ms`].
pub fn ns_to_ms(later: i64, earlier: i64) -> i64 {
    seconds_to_ms(later.saturating_sub(earlier) as f64 / 1e9)
}

/// The spans of one trace, by start time.
pub struct Trace {
    pub spans: Vec<Span>,
}

impl Trace {
    pub fn new(stored: Vec<StoredSpan>) -> Self {
        let mut spans: Vec<Span> = stored.into_iter().map(Span::from_stored).collect();
        spans.sort_by(|a, b| (a.start_ns, &a.id).cmp(&(b.start_ns, &b.id)));
        Self { spans }
    }

    pub fn named<'a>(&'a self, names: &'a [&str]) -> impl Iterator<Item = &'a Span> + 'a {
        self.spans
            .iter()
            .filter(|s| names.contains(&s.name.as_str()))
    }

    pub fn children_of<'a>(
        &'a self,
        parent: &'a Span,
        names: &'a [&str],
    ) -> impl Iterator<Item = &'a Span> + 'a {
        self.named(names)
            .filter(move |s| s.parent.as_deref() == Some(parent.id.as_str()))
    }

    /// Whether `span` descends from `ancestor` (through stored spans).
    pub fn descends_from(&self, span: &Span, ancestor: &Span) -> bool {
        let mut parent = span.parent.as_deref();
        for _ in 0..64 {
            match parent {
                Some(id) if id == ancestor.id => return true,
                Some(id) => match self.spans.iter().find(|s| s.id == id) {
                    Some(next) => parent = next.parent.as_deref(),
                    None => return false,
                },
                None => return false,
            }
        }
        false
    }

    /// The root: the span named one of `names` (one per trace). It may have a parent: an
    /// application's own span around the session (LiveKit's `job_entrypoint` when the
    /// provider is set globally, any ambient span for Pipecat).
    pub fn root(&self, names: &[&str]) -> Option<&Span> {
        self.spans.iter().find(|s| names.contains(&s.name.as_str()))
    }

    /// The first string any span has under `key` (a parentless span's first).
    pub fn attribute(&self, key: &str) -> Option<&str> {
        let mut spans: Vec<&Span> = self.spans.iter().collect();
        spans.sort_by_key(|s| s.parent.is_some());
        spans.into_iter().find_map(|s| s.text(&[key]))
    }
}

/// Seconds from `call_start_ns` to `at_ns`, never negative.
pub fn offset_seconds(at_ns: i64, call_start_ns: i64) -> f64 {
    let seconds = at_ns.saturating_sub(call_start_ns) as f64 / 1e9;
    (seconds.max(0.0) * 1000.0).round() / 1000.0
}
