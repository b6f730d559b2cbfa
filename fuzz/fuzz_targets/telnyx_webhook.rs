//! A Telnyx webhook delivery: the signature headers and the envelope. Verification never
//! panics and never accepts a body it did not sign with the fuzzer's key; the envelope
//! parser never panics on any body.
#![no_main]

use axum::http::{HeaderMap, HeaderValue};
use callscope_server::clock::UnixTime;
use callscope_server::telnyx::settings::WebhookPublicKey;
use callscope_server::telnyx::webhook;
use libfuzzer_sys::arbitrary::{self, Arbitrary};
use libfuzzer_sys::fuzz_target;

#[derive(Debug, Arbitrary)]
struct Delivery<'a> {
    signature: &'a [u8],
    timestamp: &'a [u8],
    body: &'a [u8],
    now: i64,
}

/// A public key nobody holds the private half of here: no fuzzed signature can be valid.
const KEY: &str = "11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=";

fuzz_target!(|d: Delivery<'_>| {
    let key = WebhookPublicKey::from_base64(KEY).expect("a valid key");
    let mut headers = HeaderMap::new();
    if let Ok(v) = HeaderValue::from_bytes(d.signature) {
        headers.insert("telnyx-signature-ed25519", v);
    }
    if let Ok(v) = HeaderValue::from_bytes(d.timestamp) {
        headers.insert("telnyx-timestamp", v);
    }
    assert!(webhook::verify_and_parse(&key, &headers, d.body, UnixTime(d.now)).is_err());
    let _ = webhook::parse(d.body);
});
