//! A pipeline turns batch, checked as `POST /pipeline/v1/calls/:id/turns` checks it before
//! touching the store: from the JSON body (every entry field as the route reads it) to the
//! batch's rules. Never panics; a refusal is a 4xx.
#![no_main]

use callscope_server::pipeline::{Turn, check_batch};
use callscope_shared::{Role, ToolCall};
use libfuzzer_sys::fuzz_target;
use serde_json::Value;

fn turn(v: &Value) -> Option<Turn> {
    let int = |name: &str| v.get(name).and_then(Value::as_i64);
    Some(Turn {
        seq: int("seq")?,
        role: serde_json::from_value::<Role>(v.get("role")?.clone()).ok()?,
        content: v.get("content")?.as_str()?.to_owned(),
        timestamp: v.get("timestamp")?.as_f64()?,
        tool_calls: v
            .get("tool_calls")
            .map(|t| serde_json::from_value::<Vec<ToolCall>>(t.clone()))
            .transpose()
            .ok()?
            .unwrap_or_default(),
        llm_ttfb_ms: int("llm_ttfb_ms"),
        tts_start_ms: int("tts_start_ms"),
        tts_ttfb_ms: int("tts_ttfb_ms"),
        interrupted: v.get("interrupted").and_then(Value::as_bool).unwrap_or(false),
        stt_ms: int("stt_ms"),
    })
}

fuzz_target!(|body: &[u8]| {
    let Ok(body) = serde_json::from_slice::<Value>(body) else {
        return;
    };
    let Some(entries) = body.get("turns").and_then(Value::as_array) else {
        return;
    };
    let Some(turns) = entries.iter().map(turn).collect::<Option<Vec<_>>>() else {
        return;
    };
    let n = turns.len();
    match check_batch(turns) {
        Ok(distinct) => assert!(distinct >= 1 && distinct <= n),
        Err(e) => {
            let status = callscope_server::error::ApiError::from(e).status;
            assert!(status.is_client_error(), "{status}");
        }
    }
});
