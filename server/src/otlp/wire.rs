//! OTLP/HTTP on the wire: the request's encoding (protobuf or JSON, by `Content-Type`),
//! gzip, the body cap (also after decompression), decoding with the ecosystem's messages
//! (`opentelemetry-proto`, `prost`), and the answers in the request's encoding.

use std::io::Read;

use opentelemetry_proto::tonic::collector::trace::v1::{
    ExportTracePartialSuccess, ExportTraceServiceRequest, ExportTraceServiceResponse,
};
use prost::Message;

/// Largest body accepted, compressed or not (OTLP exporters batch 512 spans by default;
/// a Pipecat `llm` span carries the whole conversation so far in `input`).
pub const MAX_BODY_BYTES: usize = 16 * 1024 * 1024;

/// How the request (and so the answer) is encoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Encoding {
    Protobuf,
    Json,
}

impl Encoding {
    pub fn content_type(self) -> &'static str {
        match self {
            Encoding::Protobuf => "application/x-protobuf",
            Encoding::Json => "application/json",
        }
    }
}

/// Why a body was not decoded; the text is the answer's message.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WireError {
    #[error("Content-Type must be application/x-protobuf or application/json")]
    UnsupportedContentType,
    #[error("Content-Encoding must be gzip or identity")]
    UnsupportedContentEncoding,
    #[error("request body is larger than 16 MiB")]
    TooLarge,
    #[error("request body is not valid gzip")]
    BadGzip,
    #[error("request body is not an OTLP ExportTraceServiceRequest: {0}")]
    Undecodable(String),
}

/// The encoding a `Content-Type` names (parameters such as `charset` are ignored).
pub fn encoding_of(content_type: Option<&str>) -> Result<Encoding, WireError> {
    let essence = content_type
        .and_then(|t| t.split(';').next())
        .map(|t| t.trim().to_ascii_lowercase());
    match essence.as_deref() {
        Some("application/x-protobuf") | Some("application/protobuf") => Ok(Encoding::Protobuf),
        Some("application/json") => Ok(Encoding::Json),
        _ => Err(WireError::UnsupportedContentType),
    }
}

/// The body as sent, gunzipped when `Content-Encoding: gzip`, within [`MAX_BODY_BYTES`].
pub fn decompress(body: &[u8], content_encoding: Option<&str>) -> Result<Vec<u8>, WireError> {
    if body.len() > MAX_BODY_BYTES {
        return Err(WireError::TooLarge);
    }
    match content_encoding
        .map(|e| e.trim().to_ascii_lowercase())
        .as_deref()
    {
        None | Some("") | Some("identity") => Ok(body.to_vec()),
        Some("gzip") | Some("x-gzip") => {
            let mut out = Vec::new();
            flate2::read::GzDecoder::new(body)
                .take(MAX_BODY_BYTES as u64 + 1)
                .read_to_end(&mut out)
                .map_err(|_| WireError::BadGzip)?;
            if out.len() > MAX_BODY_BYTES {
                return Err(WireError::TooLarge);
            }
            Ok(out)
        }
        Some(_) => Err(WireError::UnsupportedContentEncoding),
    }
}

/// Decodes an export request.
pub fn decode(encoding: Encoding, bytes: &[u8]) -> Result<ExportTraceServiceRequest, WireError> {
    match encoding {
        Encoding::Protobuf => ExportTraceServiceRequest::decode(bytes)
            .map_err(|e| WireError::Undecodable(e.to_string())),
        // serde would read the message from an array by position (`[]` is an empty one);
        // OTLP/JSON is an object.
        Encoding::Json if bytes.trim_ascii_start().first() != Some(&b'{') => Err(
            WireError::Undecodable("the body must be a JSON object".to_owned()),
        ),
        Encoding::Json => serde_json::from_slice(bytes).or_else(|e| {
            // Protobuf's JSON mapping leaves empty repeated fields out, so an empty array
            // or key-value list attribute comes as `{"arrayValue": {}}` (the Python SDK's
            // message through `MessageToJson`, LiveKit's `lk.provider_tools: []`), which
            // the messages' serde refuses; put the empty `values` in and decode again.
            let mut value: serde_json::Value =
                serde_json::from_slice(bytes).map_err(|_| undecodable(&e))?;
            fill_empty_lists(&mut value);
            serde_json::from_value(value).map_err(|_| undecodable(&e))
        }),
    }
}

/// serde's message names the line and column, never the body itself.
fn undecodable(e: &serde_json::Error) -> WireError {
    WireError::Undecodable(e.to_string())
}

/// Gives every `arrayValue` / `kvlistValue` object without `values` an empty one.
fn fill_empty_lists(value: &mut serde_json::Value) {
    match value {
        serde_json::Value::Object(map) => {
            for (key, inner) in map.iter_mut() {
                if let ("arrayValue" | "kvlistValue", serde_json::Value::Object(list)) =
                    (key.as_str(), &mut *inner)
                {
                    list.entry("values")
                        .or_insert_with(|| serde_json::Value::Array(Vec::new()));
                }
                fill_empty_lists(inner);
            }
        }
        serde_json::Value::Array(items) => items.iter_mut().for_each(fill_empty_lists),
        _ => {}
    }
}

/// The success answer: empty, or a partial success naming the spans rejected and why.
pub fn success(encoding: Encoding, rejected: i64, message: &str) -> Vec<u8> {
    let response = ExportTraceServiceResponse {
        partial_success: (rejected > 0 || !message.is_empty()).then(|| ExportTracePartialSuccess {
            rejected_spans: rejected,
            error_message: message.to_owned(),
        }),
    };
    match encoding {
        Encoding::Protobuf => response.encode_to_vec(),
        // By OTLP/JSON's rules (the crate's serde writes `null` and int64 as a number):
        // fields at their default are omitted, an int64 is a decimal string.
        Encoding::Json => match response.partial_success {
            None => b"{}".to_vec(),
            Some(p) => serde_json::json!({"partialSuccess": {
                "rejectedSpans": p.rejected_spans.to_string(),
                "errorMessage": p.error_message,
            }})
            .to_string()
            .into_bytes(),
        },
    }
}

/// gRPC's code for an HTTP status (`google.rpc.Status.code`, which OTLP errors carry).
pub fn grpc_code(http_status: u16) -> i32 {
    match http_status {
        400 | 413 | 415 => 3, // INVALID_ARGUMENT
        401 => 16,            // UNAUTHENTICATED
        429 => 8,             // RESOURCE_EXHAUSTED
        503 => 14,            // UNAVAILABLE
        _ => 13,              // INTERNAL
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_json_body_must_be_an_object() {
        assert!(decode(Encoding::Json, b" {}").is_ok());
        for body in [&b"[]"[..], b"[[]]", b"null", b"1", b""] {
            assert!(
                matches!(decode(Encoding::Json, body), Err(WireError::Undecodable(_))),
                "{body:?}"
            );
        }
    }
    use std::io::Write;

    #[test]
    fn content_types_choose_the_encoding() {
        assert_eq!(
            encoding_of(Some("application/x-protobuf")),
            Ok(Encoding::Protobuf)
        );
        assert_eq!(
            encoding_of(Some("Application/JSON; charset=utf-8")),
            Ok(Encoding::Json)
        );
        for bad in [None, Some(""), Some("text/plain"), Some("application/grpc")] {
            assert_eq!(encoding_of(bad), Err(WireError::UnsupportedContentType));
        }
    }

    #[test]
    fn gzip_is_undone_within_the_cap() {
        let gz = |bytes: &[u8]| {
            let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
            e.write_all(bytes).unwrap();
            e.finish().unwrap()
        };
        assert_eq!(decompress(&gz(b"abc"), Some("gzip")).unwrap(), b"abc");
        assert_eq!(decompress(b"abc", None).unwrap(), b"abc");
        assert_eq!(
            decompress(b"abc", Some("br")),
            Err(WireError::UnsupportedContentEncoding)
        );
        assert_eq!(
            decompress(b"not gzip", Some("gzip")),
            Err(WireError::BadGzip)
        );
        // A small body that inflates past the cap: a zip bomb.
        let bomb = gz(&vec![0u8; MAX_BODY_BYTES + 1]);
        assert!(bomb.len() < 100_000);
        assert_eq!(decompress(&bomb, Some("gzip")), Err(WireError::TooLarge));
        assert_eq!(
            decompress(&vec![0u8; MAX_BODY_BYTES + 1], None),
            Err(WireError::TooLarge)
        );
    }

    #[test]
    fn empty_list_attributes_in_json_decode() {
        // As protobuf's JSON mapping writes them: the empty `values` left out.
        let body = br#"{"resourceSpans": [{"scopeSpans": [{"spans": [{
            "traceId": "0102030405060708090a0b0c0d0e0f10", "spanId": "0102030405060708",
            "name": "llm_node", "startTimeUnixNano": "1", "endTimeUnixNano": "2",
            "attributes": [{"key": "lk.provider_tools", "value": {"arrayValue": {}}},
                           {"key": "nested", "value": {"kvlistValue": {}}}]}]}]}]}"#;
        let request = decode(Encoding::Json, body).unwrap();
        let span = &request.resource_spans[0].scope_spans[0].spans[0];
        assert_eq!(span.attributes.len(), 2);
        assert_eq!(
            span.attributes[0].value.as_ref().unwrap().value,
            Some(
                opentelemetry_proto::tonic::common::v1::any_value::Value::ArrayValue(
                    Default::default()
                )
            )
        );
        // Still refused: what is not an export request at all, with serde's first message.
        assert_eq!(
            decode(Encoding::Json, br#"{"resourceSpans": 3}"#),
            Err(WireError::Undecodable(
                "invalid type: integer `3`, expected a sequence at line 1 column 19".into()
            ))
        );
    }

    #[test]
    fn answers_are_in_the_request_encoding() {
        assert_eq!(success(Encoding::Protobuf, 0, ""), Vec::<u8>::new());
        assert_eq!(success(Encoding::Json, 0, ""), b"{}".to_vec());
        let json: serde_json::Value =
            serde_json::from_slice(&success(Encoding::Json, 2, "why")).unwrap();
        assert_eq!(
            json,
            serde_json::json!({"partialSuccess": {"rejectedSpans": "2", "errorMessage": "why"}})
        );
        let proto =
            ExportTraceServiceResponse::decode(success(Encoding::Protobuf, 2, "why").as_slice())
                .unwrap();
        assert_eq!(proto.partial_success.unwrap().rejected_spans, 2);
    }
}
