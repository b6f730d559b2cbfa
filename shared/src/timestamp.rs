//! Instants on the wire: RFC 3339 in UTC with whole seconds (`2026-01-15T10:00:00Z`),
//! held as Unix seconds so storage, ordering and arithmetic stay integer.

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};
#[cfg(not(target_arch = "wasm32"))]
use time::{OffsetDateTime, format_description::well_known::Rfc3339, macros::format_description};

pub mod calendar;
// The viewer's wasm parses and formats by hand (a smaller bundle); native builds use `time`.
#[cfg(any(test, target_arch = "wasm32"))]
mod civil;

/// A UTC instant with one-second resolution.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Timestamp(i64);

impl Timestamp {
    /// Earliest and latest instants we accept: years 1970..=9999 keep the text form fixed-width.
    pub const MIN: i64 = 0;
    pub const MAX: i64 = 253_402_300_799;

    /// Builds from Unix seconds; `None` outside years 1970..=9999.
    pub fn from_unix(secs: i64) -> Option<Self> {
        (Self::MIN..=Self::MAX)
            .contains(&secs)
            .then_some(Self(secs))
    }

    /// Unix seconds.
    pub fn unix(self) -> i64 {
        self.0
    }

    /// Parses RFC 3339 with any offset; fractional seconds are truncated.
    pub fn parse(text: &str) -> Option<Self> {
        #[cfg(not(target_arch = "wasm32"))]
        let unix = OffsetDateTime::parse(text, &Rfc3339).ok()?.unix_timestamp();
        #[cfg(target_arch = "wasm32")]
        let unix = civil::parse(text)?;
        Self::from_unix(unix)
    }

    /// This instant plus `secs` seconds, saturating at the representable range.
    pub fn plus_seconds(self, secs: i64) -> Self {
        Self(self.0.saturating_add(secs).clamp(Self::MIN, Self::MAX))
    }
}

impl fmt::Display for Timestamp {
    #[cfg(target_arch = "wasm32")]
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&civil::format(self.0))
    }

    #[cfg(not(target_arch = "wasm32"))]
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let at = OffsetDateTime::from_unix_timestamp(self.0).map_err(|_| fmt::Error)?;
        let text = at
            .format(format_description!(
                "[year]-[month]-[day]T[hour]:[minute]:[second]Z"
            ))
            .map_err(|_| fmt::Error)?;
        f.write_str(&text)
    }
}

impl Serialize for Timestamp {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Timestamp {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        Timestamp::parse(&text)
            .ok_or_else(|| serde::de::Error::custom(format!("invalid RFC 3339 timestamp: {text}")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_with_z_and_whole_seconds() {
        let t = Timestamp::from_unix(1_768_471_200).unwrap();
        assert_eq!(t.to_string(), "2026-01-15T10:00:00Z");
        assert_eq!(Timestamp::parse("2026-01-15T10:00:00Z"), Some(t));
        assert_eq!(Timestamp::parse("2026-01-15T11:00:00.750+01:00"), Some(t));
    }

    #[test]
    fn rejects_garbage_and_out_of_range() {
        assert_eq!(Timestamp::parse("2026-13-01T00:00:00Z"), None);
        assert_eq!(Timestamp::parse("yesterday"), None);
        assert_eq!(Timestamp::from_unix(-1), None);
        assert_eq!(Timestamp::from_unix(Timestamp::MAX + 1), None);
    }
}
