//! E.164 phone numbers: `+`, then 8 to 15 digits, the first not 0.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// A phone number known to be valid E.164.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct E164(String);

/// Not an E.164 number.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("not an E.164 phone number")]
pub struct NotE164;

impl E164 {
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The digits after the `+`.
    pub fn digits(&self) -> &str {
        &self.0[1..]
    }
}

impl FromStr for E164 {
    type Err = NotE164;
    fn from_str(s: &str) -> Result<Self, NotE164> {
        let digits = s.strip_prefix('+').ok_or(NotE164)?;
        let ok = (8..=15).contains(&digits.len())
            && digits.bytes().all(|b| b.is_ascii_digit())
            && !digits.starts_with('0');
        ok.then(|| Self(s.to_owned())).ok_or(NotE164)
    }
}

impl fmt::Display for E164 {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl Serialize for E164 {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for E164 {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_only_e164() {
        assert!("+31612345678".parse::<E164>().is_ok());
        assert!("+12345678".parse::<E164>().is_ok());
        assert!("+123456789012345".parse::<E164>().is_ok());
        for bad in [
            "31612345678",
            "+1234567",
            "+1234567890123456",
            "+0612345678",
            "+3161234567a",
            "+31 612345678",
            "",
            "+",
        ] {
            assert!(bad.parse::<E164>().is_err(), "{bad}");
        }
    }
}
