//! `POST /v1/traces` bodies: decompression (gzip, with the size cap) and decoding as
//! protobuf and as OTLP/JSON never panic, whatever the bytes.
#![no_main]

use callscope_server::otlp::wire::{self, Encoding};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let (flags, body) = data.split_first().unwrap_or((&0, &[]));
    let encoding = if flags & 1 == 0 {
        Encoding::Protobuf
    } else {
        Encoding::Json
    };
    let bytes = if flags & 2 == 0 {
        body.to_vec()
    } else {
        match wire::decompress(body, Some("gzip")) {
            Ok(b) => b,
            Err(_) => return,
        }
    };
    let _ = wire::decode(encoding, &bytes);
});
