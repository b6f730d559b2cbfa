//! Which page the viewer is on, from the location's path. Pure: no DOM access.

use callscope_shared::link;

/// The token of a debug-link path `/api/v1/call-debug/<token>`, if `path` is one: the
/// shared rule the server routes and checks tokens by (`callscope_shared::link`). Anything
/// else (missing or extra segments, a trailing slash, percent-escapes, a token of the
/// wrong shape) is not a debug link.
pub fn debug_token(path: &str) -> Option<&str> {
    link::token_of_path(path)
}

/// The prefix of a turn's fragment: `#turn-3` is the third turn (counting from 1).
pub const TURN_ANCHOR: &str = "turn-";

/// The fragment id of turn `index` (0-based): `turn-{index + 1}`.
pub fn turn_anchor(index: usize) -> String {
    format!("{TURN_ANCHOR}{}", index + 1)
}

/// The 0-based turn index a location hash (`#turn-3`, with or without `#`) points at.
pub fn turn_from_hash(hash: &str) -> Option<usize> {
    let n: usize = hash
        .strip_prefix('#')
        .unwrap_or(hash)
        .strip_prefix(TURN_ANCHOR)?
        .parse()
        .ok()?;
    n.checked_sub(1)
}

#[cfg(test)]
mod tests {
    use super::*;
    use base64::Engine;
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    use callscope_shared::link::{DEBUG_PATH_PREFIX, TOKEN_BYTES};

    /// 42 characters of every kind, then a valid last character.
    const TOKEN: &str = "abcXYZ019-_abcdefghijklmnopqrstuvwxyzABCDEA";

    /// A token made the way the server makes one: `TOKEN_BYTES` bytes, unpadded base64url.
    fn server_style(bytes: [u8; TOKEN_BYTES]) -> String {
        URL_SAFE_NO_PAD.encode(bytes)
    }

    #[test]
    fn turn_anchors_count_from_one_and_round_trip() {
        assert_eq!(turn_anchor(0), "turn-1");
        assert_eq!(turn_from_hash("#turn-3"), Some(2));
        assert_eq!(turn_from_hash("turn-1"), Some(0));
        assert_eq!(
            turn_from_hash(&format!("#{}", turn_anchor(4999))),
            Some(4999)
        );
        for bad in [
            "", "#", "#turn-", "#turn-0", "#turn--1", "#turn-x", "#other-3", "#turn-3a",
        ] {
            assert_eq!(turn_from_hash(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn the_example_token_is_the_encoding_of_32_bytes() {
        let bytes: [u8; TOKEN_BYTES] = URL_SAFE_NO_PAD
            .decode(TOKEN)
            .expect("base64url")
            .try_into()
            .expect("32 bytes");
        assert_eq!(server_style(bytes), TOKEN);
    }

    #[test]
    fn every_token_made_like_the_servers_opens_the_viewer() {
        let counting: [u8; TOKEN_BYTES] = std::array::from_fn(|i| (i * 37 + 11) as u8);
        let patterns = (0..=255u8)
            .map(|b| [b; TOKEN_BYTES])
            .chain([counting, counting.map(|b| !b)]);
        for bytes in patterns {
            let token = server_style(bytes);
            let path = format!("{DEBUG_PATH_PREFIX}{token}");
            assert_eq!(debug_token(&path), Some(token.as_str()), "{bytes:?}");
        }
    }

    #[test]
    fn encodings_of_other_byte_counts_do_not() {
        for n in (0..64).filter(|&n| n != TOKEN_BYTES) {
            let token = URL_SAFE_NO_PAD.encode(vec![0xa5u8; n]);
            assert_eq!(
                debug_token(&format!("{DEBUG_PATH_PREFIX}{token}")),
                None,
                "{n}"
            );
        }
    }

    #[test]
    fn extracts_the_token_of_a_debug_link() {
        let path = format!("{DEBUG_PATH_PREFIX}{TOKEN}");
        assert_eq!(debug_token(&path), Some(TOKEN));
    }

    #[test]
    fn rejects_other_paths() {
        for path in [
            "/",
            "",
            "/index.html",
            "/api/v1/call-debug/",
            "/api/v1/call-debug",
            "/v1/calls/call_00000001",
            &format!("/api/v1/calls/{TOKEN}"),
            &format!("api/v1/call-debug/{TOKEN}"),
        ] {
            assert_eq!(debug_token(path), None, "{path:?}");
        }
    }

    #[test]
    fn rejects_a_trailing_slash_or_extra_segment() {
        assert_eq!(debug_token(&format!("{DEBUG_PATH_PREFIX}{TOKEN}/")), None);
        assert_eq!(debug_token(&format!("{DEBUG_PATH_PREFIX}{TOKEN}/x")), None);
    }

    #[test]
    fn rejects_wrong_lengths() {
        let short = &TOKEN[..42];
        let long = format!("{TOKEN}A");
        assert_eq!(debug_token(&format!("{DEBUG_PATH_PREFIX}{short}")), None);
        assert_eq!(debug_token(&format!("{DEBUG_PATH_PREFIX}{long}")), None);
    }

    #[test]
    fn rejects_characters_outside_base64url() {
        for bad in ['+', '/', '=', '%', '.', ' ', 'é'] {
            let token: String =
                TOKEN.chars().take(10).chain([bad]).collect::<String>() + &TOKEN[11..];
            assert_eq!(
                debug_token(&format!("{DEBUG_PATH_PREFIX}{token}")),
                None,
                "{bad:?}"
            );
        }
    }

    #[test]
    fn rejects_a_last_character_with_nonzero_padding_bits() {
        let body = &TOKEN[..42];
        for last in ['A', 'E', 'Q', 'g', 'w', '0', '4', '8'] {
            let path = format!("{DEBUG_PATH_PREFIX}{body}{last}");
            assert!(debug_token(&path).is_some(), "{last:?} should be accepted");
        }
        for last in ['B', 'D', 'F', 'h', 'z', '1', '9', '-', '_'] {
            let path = format!("{DEBUG_PATH_PREFIX}{body}{last}");
            assert_eq!(debug_token(&path), None, "{last:?} should be rejected");
        }
    }
}
