//! The one place the viewer talks to the server: it fetches its own page's URL as JSON.

use std::sync::Arc;

use callscope_shared::PublicDebugView;
use serde::de::DeserializeOwned;

/// A loaded call: the parsed view and the JSON exactly as served (for the download).
#[derive(Debug, Clone)]
pub struct Loaded {
    pub view: Arc<PublicDebugView>,
    pub raw: Arc<str>,
}

/// Why a call could not be shown.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LoadError {
    /// 404: unknown, malformed, expired or revoked link.
    NotFound,
    /// 429, with the server's `Retry-After` in seconds when given.
    RateLimited { retry_after: Option<u32> },
    /// The request never got an answer.
    Network(String),
    /// Any other status, or a body that is not the expected JSON.
    Server(String),
}

/// Classifies an answer by status. Pure, so tests can pin it.
pub fn classify(status: u16, retry_after: Option<&str>, body: String) -> Result<Loaded, LoadError> {
    match status {
        200 => from_json::<PublicDebugView>(&body)
            .map(|view| Loaded {
                view: Arc::new(view),
                raw: body.into(),
            })
            .map_err(|e| LoadError::Server(format!("unexpected answer: {e}"))),
        404 => Err(LoadError::NotFound),
        429 => Err(LoadError::RateLimited {
            retry_after: retry_after.and_then(|v| v.trim().parse().ok()),
        }),
        other => Err(LoadError::Server(format!("the server answered {other}"))),
    }
}

/// Parses JSON text. In the browser, with the browser's own parser (`JSON.parse`) and
/// serde-wasm-bindgen reading the result: a JSON parser in the wasm would be a large share
/// of the bundle. Native builds (the tests) use serde_json.
#[cfg(target_arch = "wasm32")]
pub fn from_json<T: DeserializeOwned>(text: &str) -> Result<T, String> {
    let value = web_sys::js_sys::JSON::parse(text).map_err(|_| "not JSON".to_owned())?;
    serde_wasm_bindgen::from_value(value).map_err(|e| e.to_string())
}

/// Parses JSON text (native builds: serde_json).
#[cfg(not(target_arch = "wasm32"))]
pub fn from_json<T: DeserializeOwned>(text: &str) -> Result<T, String> {
    serde_json::from_str(text).map_err(|e| e.to_string())
}

/// `GET <path>` with `Accept: application/json`.
pub async fn fetch_call(path: &str) -> Result<Loaded, LoadError> {
    let response = gloo_net::http::Request::get(path)
        .header("Accept", "application/json")
        .send()
        .await
        .map_err(|e| LoadError::Network(e.to_string()))?;
    let status = response.status();
    let retry_after = response.headers().get("retry-after");
    let body = response
        .text()
        .await
        .map_err(|e| LoadError::Network(e.to_string()))?;
    classify(status, retry_after.as_deref(), body)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_map_to_states() {
        assert_eq!(
            classify(404, None, "{}".into()).unwrap_err(),
            LoadError::NotFound
        );
        assert_eq!(
            classify(429, Some("37"), String::new()).unwrap_err(),
            LoadError::RateLimited {
                retry_after: Some(37)
            }
        );
        assert!(matches!(
            classify(500, None, String::new()),
            Err(LoadError::Server(_))
        ));
        assert!(matches!(
            classify(200, None, "not json".into()),
            Err(LoadError::Server(_))
        ));
    }

    #[test]
    fn a_200_keeps_the_raw_json_for_the_download() {
        let body = r#"{"call_id":"call_00000001","status":"completed","duration_seconds":127,
            "from":"+316*****678","to":"+318*****345","started_at":"2026-01-15T10:00:00Z",
            "turns":[{"role":"assistant","content":"Hello","llm_ttfb_ms":210,"tts_start_ms":320,"tts_ttfb_ms":95}]}"#;
        let loaded = classify(200, None, body.into()).unwrap();
        assert_eq!(loaded.view.turns.len(), 1);
        assert_eq!(&*loaded.raw, body);
    }
}
