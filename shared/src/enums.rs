//! The spec's enumerations, kebab-case on the wire, with parsers whose errors name the
//! allowed values (query parameters reuse them verbatim).

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// A value that is not one of an enumeration's members.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("must be one of: {allowed}")]
pub struct ParseEnumError {
    /// The allowed values, comma separated.
    pub allowed: String,
}

macro_rules! wire_enum {
    ($(#[$meta:meta])* $name:ident { $($variant:ident => $text:literal),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
        #[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
        #[cfg_attr(feature = "openapi", schema(rename_all = "kebab-case"))]
        pub enum $name {
            $(#[serde(rename = $text)] $variant),+
        }

        impl $name {
            /// Every value, in the spec's order.
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            /// The wire spelling.
            pub fn as_str(self) -> &'static str {
                match self { $($name::$variant => $text),+ }
            }

            /// The allowed values, comma separated, for error messages.
            pub fn allowed() -> String {
                Self::ALL.iter().map(|v| v.as_str()).collect::<Vec<_>>().join(", ")
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl FromStr for $name {
            type Err = ParseEnumError;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                match s {
                    $($text => Ok($name::$variant),)+
                    _ => Err(ParseEnumError { allowed: Self::allowed() }),
                }
            }
        }
    };
}

wire_enum!(
    /// Where a call is in its life.
    CallStatus {
        Ringing => "ringing",
        InProgress => "in-progress",
        Completed => "completed",
        Failed => "failed",
        Busy => "busy",
        NoAnswer => "no-answer",
        Canceled => "canceled",
        Rejected => "rejected",
    }
);

wire_enum!(
    /// How a call turned out for the caller.
    Disposition {
        Answered => "answered",
        NoAnswer => "no-answer",
        Transferred => "transferred",
        Busy => "busy",
        Failed => "failed",
        Voicemail => "voicemail",
        Rejected => "rejected",
    }
);

wire_enum!(
    /// Why a call ended.
    EndedReason {
        AgentHangup => "agent-hangup",
        CallerHangup => "caller-hangup",
        Api => "api",
        Timeout => "timeout",
        Transfer => "transfer",
        SilenceTimeout => "silence-timeout",
        Error => "error",
        MaxDuration => "max-duration",
    }
);

wire_enum!(
    /// Who spoke a transcript entry.
    Role {
        Assistant => "assistant",
        User => "user",
    }
);

impl CallStatus {
    /// Whether the call is still live (its state may change).
    pub fn is_live(self) -> bool {
        matches!(self, CallStatus::Ringing | CallStatus::InProgress)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wire_names_are_exactly_the_spec_lists() {
        let names = |all: &[&str]| all.join(" | ");
        assert_eq!(
            names(
                &CallStatus::ALL
                    .iter()
                    .map(|s| s.as_str())
                    .collect::<Vec<_>>()
            ),
            "ringing | in-progress | completed | failed | busy | no-answer | canceled | rejected"
        );
        assert_eq!(
            names(
                &EndedReason::ALL
                    .iter()
                    .map(|s| s.as_str())
                    .collect::<Vec<_>>()
            ),
            "agent-hangup | caller-hangup | api | timeout | transfer | silence-timeout | error | max-duration"
        );
        assert_eq!(
            names(
                &Disposition::ALL
                    .iter()
                    .map(|s| s.as_str())
                    .collect::<Vec<_>>()
            ),
            "answered | no-answer | transferred | busy | failed | voicemail | rejected"
        );
    }

    #[test]
    fn serde_and_from_str_agree() {
        for s in CallStatus::ALL {
            let json = serde_json::to_string(s).unwrap();
            assert_eq!(json, format!("\"{}\"", s.as_str()));
            assert_eq!(s.as_str().parse::<CallStatus>().unwrap(), *s);
        }
        let err = "done".parse::<CallStatus>().unwrap_err();
        assert!(err.to_string().contains("in-progress"));
        assert!("In-Progress".parse::<CallStatus>().is_err());
    }
}
