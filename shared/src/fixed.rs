//! Exact decimal amounts. Money is held in ten-thousandths (the spec shows 4 decimals) and
//! minutes in hundredths, as integers, so sums never drift the way floats do.

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// An exact decimal with `D` fractional digits, stored as an integer count of `10^-D`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Fixed<const D: u32>(i64);

/// Money in ten-thousandths of the account currency.
pub type Money = Fixed<4>;
/// Minutes in hundredths of a minute.
pub type Minutes = Fixed<2>;

impl<const D: u32> Fixed<D> {
    pub const ZERO: Self = Self(0);
    const SCALE: i64 = 10_i64.pow(D);

    /// From the raw integer count of `10^-D` units.
    pub const fn from_units(units: i64) -> Self {
        Self(units)
    }

    /// The raw integer count of `10^-D` units.
    pub const fn units(self) -> i64 {
        self.0
    }

    /// Rounds half away from zero to `digits` fractional digits (`digits <= D`).
    pub fn round_to(self, digits: u32) -> Self {
        let step = 10_i64.pow(D.saturating_sub(digits));
        let half = step / 2;
        let rounded = if self.0 >= 0 {
            (self.0 + half) / step * step
        } else {
            (self.0 - half) / step * step
        };
        Self(rounded)
    }

    /// Adds, saturating instead of wrapping.
    pub fn saturating_add(self, other: Self) -> Self {
        Self(self.0.saturating_add(other.0))
    }

    /// The nearest `f64`; exact to print, since an exact decimal of at most 17 significant
    /// digits survives a correctly rounded division and a shortest round-trip print.
    pub fn to_f64(self) -> f64 {
        self.0 as f64 / Self::SCALE as f64
    }

    /// From a float, rounded to the nearest unit; `None` for NaN, infinities and overflow.
    pub fn from_f64(value: f64) -> Option<Self> {
        let scaled = (value * Self::SCALE as f64).round();
        (scaled.is_finite() && scaled.abs() < 9.0e15).then_some(Self(scaled as i64))
    }
}

impl<const D: u32> std::iter::Sum for Fixed<D> {
    fn sum<I: Iterator<Item = Self>>(iter: I) -> Self {
        iter.fold(Self::ZERO, Self::saturating_add)
    }
}

impl<const D: u32> fmt::Display for Fixed<D> {
    /// Always `D` fractional digits: `0.5300`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let sign = if self.0 < 0 { "-" } else { "" };
        let abs = self.0.unsigned_abs();
        let scale = Self::SCALE as u64;
        write!(
            f,
            "{sign}{}.{:0width$}",
            abs / scale,
            abs % scale,
            width = D as usize
        )
    }
}

impl<const D: u32> Serialize for Fixed<D> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_f64(self.to_f64())
    }
}

impl<'de, const D: u32> Deserialize<'de> for Fixed<D> {
    fn deserialize<De: Deserializer<'de>>(deserializer: De) -> Result<Self, De::Error> {
        let value = f64::deserialize(deserializer)?;
        Fixed::from_f64(value).ok_or_else(|| serde::de::Error::custom("amount out of range"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn prints_exact_json_numbers() {
        assert_eq!(
            serde_json::to_string(&Money::from_units(5300)).unwrap(),
            "0.53"
        );
        assert_eq!(
            serde_json::to_string(&Money::from_units(4664)).unwrap(),
            "0.4664"
        );
        assert_eq!(
            serde_json::to_string(&Minutes::from_units(256040)).unwrap(),
            "2560.4"
        );
        assert_eq!(Money::from_units(5300).to_string(), "0.5300");
        assert_eq!(Money::from_units(-5).to_string(), "-0.0005");
    }

    #[test]
    fn rounds_half_away_from_zero() {
        assert_eq!(
            Money::from_units(5_632_850).round_to(2),
            Money::from_units(5_632_900)
        );
        assert_eq!(
            Money::from_units(5_632_849).round_to(2),
            Money::from_units(5_632_800)
        );
        assert_eq!(Money::from_units(-150).round_to(2), Money::from_units(-200));
    }

    proptest! {
        #[test]
        fn json_round_trip_is_exact(units in -1_000_000_000_000_i64..1_000_000_000_000) {
            let m = Money::from_units(units);
            let text = serde_json::to_string(&m).unwrap();
            prop_assert_eq!(serde_json::from_str::<Money>(&text).unwrap(), m);
        }
    }
}
