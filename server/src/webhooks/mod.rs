//! Webhooks: endpoints an account registers, events written to a durable outbox in the
//! transaction that caused them, and the dispatcher that delivers them, signed per Standard
//! Webhooks, with retries.

pub mod dispatcher;
pub mod endpoints;
pub mod events;
pub mod secret;
pub mod target;

use crate::ids::EndpointId;

pub use crate::clock::{Clock, ManualClock, SystemClock};
pub use dispatcher::{DEFAULT_SCHEDULE, DispatchConfig, Dispatcher, DispatcherHandle};
pub use secret::SigningSecret;

/// Most endpoints one account may have.
pub const MAX_ENDPOINTS: usize = 20;

/// An endpoint's public id: `wh_` + at least 8 digits of its numeric id.
pub fn endpoint_public_id(id: EndpointId) -> String {
    format!("wh_{:08}", id.get())
}

/// Parses `wh_00000001`; anything else is `None`.
pub fn parse_endpoint_id(text: &str) -> Option<EndpointId> {
    let digits = text.strip_prefix("wh_")?;
    if digits.len() < 8 || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let id: i64 = digits.parse().ok()?;
    let id = EndpointId(id);
    (id.get() > 0 && endpoint_public_id(id) == text).then_some(id)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endpoint_ids_round_trip_in_one_spelling() {
        assert_eq!(endpoint_public_id(EndpointId(7)), "wh_00000007");
        assert_eq!(parse_endpoint_id("wh_00000007"), Some(EndpointId(7)));
        assert_eq!(
            parse_endpoint_id("wh_123456789"),
            Some(EndpointId(123_456_789))
        );
        for bad in [
            "",
            "wh_",
            "wh_7",
            "wh_000000007",
            "wh_0000000x",
            "wh_00000000",
            "7",
        ] {
            assert_eq!(parse_endpoint_id(bad), None, "{bad}");
        }
    }
}
