//! Opaque list cursors: a keyset position `(started_at, id)` with a MAC bound to the account,
//! so a malformed, edited or borrowed cursor is a 400, never a 500 or another tenant's page.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, Mac};
use sha2::Sha256;

use crate::ids::AccountId;

/// Where the previous page ended: the last call's `started_at` and id.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Position {
    pub started_at: i64,
    pub id: i64,
}

/// The cursor is not one we issued (for this account).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("invalid cursor")]
pub struct InvalidCursor;

const MAC_LEN: usize = 16;
const VERSION: u8 = 1;

fn mac(key: &[u8; 32], account_id: AccountId, payload: &[u8]) -> [u8; MAC_LEN] {
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(key).expect("HMAC takes any key length");
    mac.update(&account_id.get().to_be_bytes());
    mac.update(payload);
    let full = mac.finalize().into_bytes();
    let mut out = [0u8; MAC_LEN];
    out.copy_from_slice(&full[..MAC_LEN]);
    out
}

/// Encodes a position for `account_id`: base64url of version, position and MAC.
pub fn encode(key: &[u8; 32], account_id: AccountId, at: Position) -> String {
    let mut bytes = Vec::with_capacity(1 + 16 + MAC_LEN);
    bytes.push(VERSION);
    bytes.extend_from_slice(&at.started_at.to_be_bytes());
    bytes.extend_from_slice(&at.id.to_be_bytes());
    let tag = mac(key, account_id, &bytes);
    bytes.extend_from_slice(&tag);
    URL_SAFE_NO_PAD.encode(bytes)
}

/// Decodes a cursor issued for `account_id`, checking its MAC in constant time.
pub fn decode(
    key: &[u8; 32],
    account_id: AccountId,
    text: &str,
) -> Result<Position, InvalidCursor> {
    if text.len() > 64 {
        return Err(InvalidCursor);
    }
    let bytes = URL_SAFE_NO_PAD.decode(text).map_err(|_| InvalidCursor)?;
    if bytes.len() != 1 + 16 + MAC_LEN || bytes[0] != VERSION {
        return Err(InvalidCursor);
    }
    let (payload, tag) = bytes.split_at(17);
    let mut check = <Hmac<Sha256> as Mac>::new_from_slice(key).expect("HMAC takes any key length");
    check.update(&account_id.get().to_be_bytes());
    check.update(payload);
    check
        .verify_truncated_left(tag)
        .map_err(|_| InvalidCursor)?;
    let started_at = i64::from_be_bytes(payload[1..9].try_into().map_err(|_| InvalidCursor)?);
    let id = i64::from_be_bytes(payload[9..17].try_into().map_err(|_| InvalidCursor)?);
    Ok(Position { started_at, id })
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const KEY: [u8; 32] = [7; 32];

    #[test]
    fn round_trips_for_its_account_only() {
        let at = Position {
            started_at: 1_768_471_200,
            id: 42,
        };
        let c = encode(&KEY, AccountId(1), at);
        assert_eq!(decode(&KEY, AccountId(1), &c), Ok(at));
        assert_eq!(decode(&KEY, AccountId(2), &c), Err(InvalidCursor));
        assert_eq!(decode(&[8; 32], AccountId(1), &c), Err(InvalidCursor));
    }

    #[test]
    fn garbage_is_rejected() {
        for bad in ["", "abc", "!!!!", &"A".repeat(44), &"A".repeat(200)] {
            assert_eq!(decode(&KEY, AccountId(1), bad), Err(InvalidCursor), "{bad}");
        }
    }

    proptest! {
        #[test]
        fn any_edit_is_detected(started_at in 0i64..4_000_000_000, id in 1i64..i64::MAX, flip in 0usize..33, bit in 0u8..8) {
            let c = encode(&KEY, AccountId(9), Position { started_at, id });
            let mut bytes = URL_SAFE_NO_PAD.decode(&c).unwrap();
            bytes[flip] ^= 1 << bit;
            prop_assert_eq!(decode(&KEY, AccountId(9), &URL_SAFE_NO_PAD.encode(bytes)), Err(InvalidCursor));
        }
    }
}
