//! The public debug link's address: its path prefix and the token's shape. The server
//! routes, issues and checks links with these; the viewer reads its own path with them.

/// The path prefix of a public debug link; the token follows it.
pub const DEBUG_PATH_PREFIX: &str = "/api/v1/call-debug/";

/// Bytes of randomness in a token.
pub const TOKEN_BYTES: usize = 32;

/// Length of a token's text: `TOKEN_BYTES` in base64url without padding.
pub const TOKEN_LEN: usize = (TOKEN_BYTES * 4).div_ceil(3);

/// The public path of the link with `token`: `/api/v1/call-debug/<token>`.
pub fn debug_path(token: &str) -> String {
    format!("{DEBUG_PATH_PREFIX}{token}")
}

/// The path under a link that serves the call's recording on this server (embedded store):
/// `/api/v1/call-debug/<token>/recording`.
pub fn recording_path(token: &str) -> String {
    format!("{}/recording", debug_path(token))
}

/// The token of a debug-link path `/api/v1/call-debug/<token>`, if `path` is one whose
/// token has the right shape. Anything else (missing or extra segments, a trailing slash,
/// percent-escapes, a query) is not a debug link.
pub fn token_of_path(path: &str) -> Option<&str> {
    let token = path.strip_prefix(DEBUG_PATH_PREFIX)?;
    is_token(token).then_some(token)
}

/// Whether `text` has a token's shape: exactly `TOKEN_LEN` base64url characters
/// (`A-Z a-z 0-9 - _`, no padding) that are the canonical encoding of `TOKEN_BYTES` bytes.
/// 43 characters carry 258 bits, so the last character's 2 low bits must be zero; with
/// them set the same bytes would have a second spelling.
pub fn is_token(text: &str) -> bool {
    let bytes = text.as_bytes();
    let Some((&last, _)) = bytes.split_last() else {
        return false;
    };
    bytes.len() == TOKEN_LEN
        && bytes.iter().all(|&b| sextet(b).is_some())
        && sextet(last).is_some_and(|v| v & 0b11 == 0)
}

/// The 6-bit value of a base64url character.
fn sextet(b: u8) -> Option<u8> {
    match b {
        b'A'..=b'Z' => Some(b - b'A'),
        b'a'..=b'z' => Some(b - b'a' + 26),
        b'0'..=b'9' => Some(b - b'0' + 52),
        b'-' => Some(62),
        b'_' => Some(63),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use base64::Engine;
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    use proptest::prelude::*;

    /// The check the server used before this module: decode, then re-encode to the same
    /// text (so each token has exactly one spelling).
    fn decodes_canonically_to_32_bytes(text: &str) -> bool {
        URL_SAFE_NO_PAD
            .decode(text)
            .is_ok_and(|b| b.len() == TOKEN_BYTES && URL_SAFE_NO_PAD.encode(&b) == text)
    }

    #[test]
    fn the_length_is_that_of_32_bytes_in_unpadded_base64url() {
        assert_eq!(TOKEN_LEN, 43);
        assert_eq!(URL_SAFE_NO_PAD.encode([0u8; TOKEN_BYTES]).len(), TOKEN_LEN);
    }

    #[test]
    fn paths_round_trip_and_only_debug_link_paths_have_a_token() {
        let token = URL_SAFE_NO_PAD.encode([0xfbu8; TOKEN_BYTES]);
        assert_eq!(debug_path(&token), format!("/api/v1/call-debug/{token}"));
        assert_eq!(token_of_path(&debug_path(&token)), Some(token.as_str()));
        for path in [
            String::new(),
            "/".into(),
            DEBUG_PATH_PREFIX.into(),
            DEBUG_PATH_PREFIX.trim_end_matches('/').into(),
            format!("{}/", debug_path(&token)),
            format!("{}/x", debug_path(&token)),
            format!("{}?a=1", debug_path(&token)),
            format!("/api/v1/calls/{token}"),
            debug_path(&token)[1..].to_owned(),
        ] {
            assert_eq!(token_of_path(&path), None, "{path:?}");
        }
    }

    #[test]
    fn wrong_lengths_alphabets_and_padding_bits_are_refused() {
        let good = URL_SAFE_NO_PAD.encode([7u8; TOKEN_BYTES]);
        assert!(is_token(&good));
        assert!(!is_token(&good[..42]));
        assert!(!is_token(&format!("{good}A")));
        assert!(!is_token(""));
        for bad in ['+', '/', '=', '%', '.', ' ', 'é'] {
            let t: String = good.chars().take(10).chain([bad]).collect::<String>() + &good[11..];
            assert!(!is_token(&t), "{bad:?}");
        }
        let body = &good[..42];
        for last in ['A', 'E', 'Q', 'g', 'w', '0', '4', '8'] {
            assert!(is_token(&format!("{body}{last}")), "{last:?}");
        }
        for last in ['B', 'D', 'F', 'h', 'z', '1', '9', '-', '_'] {
            assert!(!is_token(&format!("{body}{last}")), "{last:?}");
        }
    }

    proptest! {
        /// Every token the server can generate (32 random bytes, base64url) has the shape.
        #[test]
        fn every_encoding_of_32_bytes_is_a_token(bytes in prop::array::uniform32(any::<u8>())) {
            let token = URL_SAFE_NO_PAD.encode(bytes);
            prop_assert!(is_token(&token));
            let path = debug_path(&token);
            prop_assert_eq!(token_of_path(&path), Some(token.as_str()));
        }

        /// Other byte counts never are.
        #[test]
        fn encodings_of_other_lengths_are_not(bytes in prop::collection::vec(any::<u8>(), 0..64)) {
            prop_assume!(bytes.len() != TOKEN_BYTES);
            prop_assert!(!is_token(&URL_SAFE_NO_PAD.encode(&bytes)));
        }

        /// The shape check is exactly "decodes canonically to 32 bytes".
        #[test]
        fn the_shape_check_is_canonical_decoding(text in "[A-Za-z0-9_+/=. -]{41,45}") {
            prop_assert_eq!(is_token(&text), decodes_canonically_to_32_bytes(&text), "{}", text);
        }

        #[test]
        fn near_tokens_agree_with_canonical_decoding(
            bytes in prop::array::uniform32(any::<u8>()),
            at in 0usize..43,
            c in "[A-Za-z0-9_+/=-]",
        ) {
            let mut text = URL_SAFE_NO_PAD.encode(bytes);
            text.replace_range(at..at + 1, &c);
            prop_assert_eq!(is_token(&text), decodes_canonically_to_32_bytes(&text), "{}", text);
        }
    }
}
