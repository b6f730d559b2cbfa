//! Public identifiers: `call_` + the internal numeric id zero-padded to 8 digits, and
//! `agent_` + 8 lowercase hex characters.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// A malformed public identifier.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IdError {
    #[error("not a call id (expected call_ followed by 8 digits)")]
    Call,
    #[error("not an agent id (expected agent_ followed by 8 hex characters)")]
    Agent,
}

/// A call's public id. Wraps the internal numeric id (always positive).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct CallId(i64);

impl CallId {
    /// From the internal numeric id; `None` unless positive.
    pub fn new(id: i64) -> Option<Self> {
        (id > 0).then_some(Self(id))
    }

    /// The internal numeric id.
    pub fn get(self) -> i64 {
        self.0
    }
}

impl fmt::Display for CallId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "call_{:08}", self.0)
    }
}

impl FromStr for CallId {
    type Err = IdError;
    /// Accepts exactly the form `Display` writes: at least 8 digits, padded only to 8.
    fn from_str(s: &str) -> Result<Self, IdError> {
        let digits = s.strip_prefix("call_").ok_or(IdError::Call)?;
        if digits.len() < 8 || digits.len() > 18 || !digits.bytes().all(|b| b.is_ascii_digit()) {
            return Err(IdError::Call);
        }
        let id: i64 = digits.parse().map_err(|_| IdError::Call)?;
        let canonical = CallId::new(id).ok_or(IdError::Call)?;
        if canonical.to_string() != s {
            return Err(IdError::Call);
        }
        Ok(canonical)
    }
}

/// An agent's public id: `agent_` + 8 lowercase hex characters.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct AgentId(String);

impl AgentId {
    /// The public id for 4 bytes of randomness (or any 32-bit value).
    pub fn from_bits(bits: u32) -> Self {
        Self(format!("agent_{bits:08x}"))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for AgentId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl FromStr for AgentId {
    type Err = IdError;
    fn from_str(s: &str) -> Result<Self, IdError> {
        let hex = s.strip_prefix("agent_").ok_or(IdError::Agent)?;
        let ok = hex.len() == 8 && hex.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'));
        ok.then(|| Self(s.to_owned())).ok_or(IdError::Agent)
    }
}

macro_rules! serde_via_str {
    ($t:ty) => {
        impl Serialize for $t {
            fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                serializer.collect_str(self)
            }
        }
        impl<'de> Deserialize<'de> for $t {
            fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                let text = String::deserialize(deserializer)?;
                text.parse().map_err(serde::de::Error::custom)
            }
        }
    };
}
serde_via_str!(CallId);
serde_via_str!(AgentId);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn call_ids_round_trip_and_reject_near_misses() {
        let id: CallId = "call_00000001".parse().unwrap();
        assert_eq!(id.get(), 1);
        assert_eq!(id.to_string(), "call_00000001");
        assert_eq!(
            CallId::new(123_456_789).unwrap().to_string(),
            "call_123456789"
        );
        assert_eq!(
            "call_123456789".parse::<CallId>().unwrap().get(),
            123_456_789
        );
        for bad in [
            "call_1",
            "call_00000000",
            "call_000000001",
            "CALL_00000001",
            "call_0000000a",
            "00000001",
            "call_-0000001",
            "call_99999999999999999999",
        ] {
            assert!(bad.parse::<CallId>().is_err(), "{bad}");
        }
    }

    #[test]
    fn agent_ids_are_lowercase_hex() {
        assert_eq!(AgentId::from_bits(0x28c5_1f81).as_str(), "agent_28c51f81");
        assert!("agent_28c51f81".parse::<AgentId>().is_ok());
        for bad in [
            "agent_28C51F81",
            "agent_28c51f8",
            "agent_28c51f811",
            "agent_28c51f8g",
            "28c51f81",
        ] {
            assert!(bad.parse::<AgentId>().is_err(), "{bad}");
        }
    }
}
