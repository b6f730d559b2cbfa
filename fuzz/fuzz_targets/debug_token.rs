//! A debug-link token as presented in a URL: parsing never panics, and what parses prints
//! back as presented (the token is its own text).
#![no_main]

use callscope_server::debug_link::DebugToken;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|text: &str| {
    if let Some(token) = DebugToken::parse(text) {
        assert_eq!(token.as_str(), text);
        let _ = token.hash();
    }
});
