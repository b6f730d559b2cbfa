//! A pagination cursor as a client sends it back: decoding never panics, and no forged
//! text decodes (only what `encode` made under the key passes the MAC); what decodes
//! encodes back to the same text.
#![no_main]

use callscope_server::cursor;
use callscope_server::ids::AccountId;
use libfuzzer_sys::fuzz_target;

const KEY: [u8; 32] = [7; 32];

fuzz_target!(|text: &str| {
    if let Ok(position) = cursor::decode(&KEY, AccountId(1), text) {
        assert_eq!(cursor::encode(&KEY, AccountId(1), position), text);
    }
});
