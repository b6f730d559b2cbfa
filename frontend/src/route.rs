//! Which page the viewer is on, from the location's path. Pure: no DOM access.

/// The path prefix of a public debug link; the token follows it.
pub const DEBUG_PATH_PREFIX: &str = "/api/v1/call-debug/";

/// Length of a debug token: 32 bytes in base64url without padding.
pub const TOKEN_LEN: usize = 43;

/// The token of a debug-link path `/api/v1/call-debug/<token>`, if `path` is one.
///
/// A token is exactly 43 base64url characters (`A-Z a-z 0-9 - _`, no padding) and
/// canonical for 32 bytes: the last character carries 4 data bits, so its low 2 bits are
/// zero. Anything else (missing or extra segments, a trailing slash, percent-escapes) is
/// not a debug link.
pub fn debug_token(path: &str) -> Option<&str> {
    let token = path.strip_prefix(DEBUG_PATH_PREFIX)?;
    is_token(token).then_some(token)
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

fn is_token(s: &str) -> bool {
    let bytes = s.as_bytes();
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

    /// 42 characters of every kind, then a valid last character.
    const TOKEN: &str = "abcXYZ019-_abcdefghijklmnopqrstuvwxyzABCDEA";

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
    fn example_token_has_the_length_of_32_bytes_in_base64url() {
        assert_eq!(TOKEN.len(), TOKEN_LEN);
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
