//! Reading what we stored: the flag type both backends decode, and the checked conversions
//! row structs use to become domain values. Anything out of range is `StoreError::Corrupt`,
//! never clamped.

use callscope_shared::CallId;
use sqlx::any::{AnyTypeInfo, AnyTypeInfoKind, AnyValueRef};
use sqlx::error::BoxDynError;
use sqlx::{Any, Decode, Type};

use super::{StoreError, StoreResult};
use crate::clock::UnixTime;

/// A boolean column. PostgreSQL returns `BOOLEAN`; SQLite stores it as an integer, which
/// sqlx's `Any` driver will not decode as `bool`. This accepts both, and only 0 or 1.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Flag(pub bool);

impl Type<Any> for Flag {
    fn type_info() -> AnyTypeInfo {
        <bool as Type<Any>>::type_info()
    }

    fn compatible(ty: &AnyTypeInfo) -> bool {
        ty.kind() == AnyTypeInfoKind::Bool || ty.kind().is_integer()
    }
}

impl<'r> Decode<'r, Any> for Flag {
    fn decode(value: AnyValueRef<'r>) -> Result<Self, BoxDynError> {
        if let Ok(b) = <bool as Decode<Any>>::decode(value.clone()) {
            return Ok(Flag(b));
        }
        match <i64 as Decode<Any>>::decode(value)? {
            0 => Ok(Flag(false)),
            1 => Ok(Flag(true)),
            other => Err(format!("flag {other} is neither 0 nor 1").into()),
        }
    }
}

impl From<Flag> for bool {
    fn from(f: Flag) -> bool {
        f.0
    }
}

/// A JSON column written by us.
pub(super) fn json<T: serde::de::DeserializeOwned>(text: &str, what: &str) -> StoreResult<T> {
    serde_json::from_str(text).map_err(|e| StoreError::Corrupt(format!("{what}: {e}")))
}

/// An enum column written by us (its text form).
pub(super) fn enumerated<T: std::str::FromStr>(text: &str, what: &str) -> StoreResult<T> {
    text.parse()
        .map_err(|_| StoreError::Corrupt(format!("{what}: {text:?}")))
}

/// A nullable enum column written by us.
pub(super) fn optional_enumerated<T: std::str::FromStr>(
    text: Option<String>,
    what: &str,
) -> StoreResult<Option<T>> {
    text.map(|t| enumerated(&t, what)).transpose()
}

/// An instant in the years the wire accepts.
pub(super) fn timestamp(at: UnixTime) -> StoreResult<callscope_shared::Timestamp> {
    at.timestamp()
        .ok_or_else(|| StoreError::Corrupt(format!("instant {at}")))
}

/// A call id as stored.
pub(super) fn call_id(id: i64) -> StoreResult<CallId> {
    CallId::new(id).ok_or_else(|| StoreError::Corrupt(format!("call id {id}")))
}

/// A stored integer that must fit a narrower type (counts, milliseconds, status codes).
pub(super) fn narrow<T: TryFrom<i64>>(value: i64, what: &str) -> StoreResult<T> {
    T::try_from(value).map_err(|_| StoreError::Corrupt(format!("{what} {value} out of range")))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// SQLite hands flags back as integers, PostgreSQL as booleans: both decode, and an
    /// integer other than 0 or 1 is an error, not `true`.
    #[tokio::test]
    async fn flags_decode_from_integers_and_booleans_only_as_0_or_1() {
        sqlx::any::install_default_drivers();
        let mut conn = <sqlx::AnyConnection as sqlx::Connection>::connect("sqlite::memory:")
            .await
            .unwrap();
        for (value, expected) in [(0_i64, false), (1, true)] {
            let flag: Flag = sqlx::query_scalar("SELECT $1")
                .bind(value)
                .fetch_one(&mut conn)
                .await
                .unwrap();
            assert_eq!(flag, Flag(expected));
        }
        let flag: Flag = sqlx::query_scalar("SELECT $1")
            .bind(true)
            .fetch_one(&mut conn)
            .await
            .unwrap();
        assert_eq!(flag, Flag(true));
        let bad = sqlx::query_scalar::<_, Flag>("SELECT 2")
            .fetch_one(&mut conn)
            .await;
        assert!(bad.is_err());
    }

    #[test]
    fn out_of_range_values_are_corrupt_not_clamped() {
        assert!(matches!(
            narrow::<u32>(-1, "turn count"),
            Err(StoreError::Corrupt(_))
        ));
        assert!(matches!(
            narrow::<u16>(70_000, "status code"),
            Err(StoreError::Corrupt(_))
        ));
        assert_eq!(narrow::<u32>(7, "turn count").unwrap(), 7);
        assert!(matches!(
            timestamp(UnixTime(i64::MAX)),
            Err(StoreError::Corrupt(_))
        ));
    }
}
