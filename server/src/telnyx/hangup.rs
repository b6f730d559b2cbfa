//! How a call's end, as Telnyx reports it in `call.hangup`, becomes the spec's `status`,
//! `disposition` and `ended_reason`.
//!
//! Words: the **caller** is the person the agent talks to, the **callee** is callscope's
//! side (the agent's number, answered by Call Control). `ended_reason` names who or what
//! ended the call; `hangup_cause` picks status and disposition. Rows are checked top to
//! bottom; the first that matches wins ("by source": `agent-hangup` when
//! `hangup_source` is `callee`, else `caller-hangup` — `unknown` counts as the caller,
//! because callscope's own hangups are either `/end` (row 2–3) or the agent's, which
//! Telnyx reports as `callee`).
//!
//! | # | transfer done | `/end` asked | answered | hangup_cause | status | disposition | ended_reason |
//! |---|---|---|---|---|---|---|---|
//! | 1 | yes | any | any | any | completed | transferred | transfer |
//! | 2 | no | yes | yes | any | completed | answered | api |
//! | 3 | no | yes | no | any | canceled | no-answer | api |
//! | 4 | no | no | yes | time_limit | completed | answered | max-duration |
//! | 5 | no | no | no | time_limit | failed | failed | max-duration |
//! | 6 | no | no | yes | timeout | completed | answered | timeout |
//! | 7 | no | no | yes | not_found, unspecified, other | completed | answered | error |
//! | 8 | no | no | yes | normal_clearing, originator_cancel, user_busy, call_rejected, no_answer | completed | answered | by source |
//! | 9 | no | no | no | user_busy | busy | busy | by source |
//! | 10 | no | no | no | call_rejected | rejected | rejected | by source |
//! | 11 | no | no | no | no_answer, timeout | no-answer | no-answer | timeout |
//! | 12 | no | no | no | originator_cancel | canceled | no-answer | by source |
//! | 13 | no | no | no | normal_clearing, source callee | rejected | rejected | agent-hangup |
//! | 14 | no | no | no | normal_clearing, source caller/unknown | canceled | no-answer | caller-hangup |
//! | 15 | no | no | no | not_found, unspecified, other | failed | failed | error |

use callscope_shared::{CallStatus, Disposition, EndedReason};
use serde::Deserialize;

/// Telnyx's `hangup_cause`; a value Telnyx adds later is kept as `Other`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(from = "String")]
pub enum HangupCause {
    CallRejected,
    NormalClearing,
    OriginatorCancel,
    Timeout,
    TimeLimit,
    UserBusy,
    NotFound,
    NoAnswer,
    Unspecified,
    Other(String),
}

impl From<String> for HangupCause {
    fn from(text: String) -> Self {
        match text.as_str() {
            "call_rejected" => Self::CallRejected,
            "normal_clearing" => Self::NormalClearing,
            "originator_cancel" => Self::OriginatorCancel,
            "timeout" => Self::Timeout,
            "time_limit" => Self::TimeLimit,
            "user_busy" => Self::UserBusy,
            "not_found" => Self::NotFound,
            "no_answer" => Self::NoAnswer,
            "unspecified" => Self::Unspecified,
            _ => Self::Other(text),
        }
    }
}

impl HangupCause {
    /// The cause as Telnyx spells it.
    pub fn as_str(&self) -> &str {
        match self {
            Self::CallRejected => "call_rejected",
            Self::NormalClearing => "normal_clearing",
            Self::OriginatorCancel => "originator_cancel",
            Self::Timeout => "timeout",
            Self::TimeLimit => "time_limit",
            Self::UserBusy => "user_busy",
            Self::NotFound => "not_found",
            Self::NoAnswer => "no_answer",
            Self::Unspecified => "unspecified",
            Self::Other(other) => other,
        }
    }
}

/// Telnyx's `hangup_source`: which side hung up.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(from = "String")]
pub enum HangupSource {
    Caller,
    Callee,
    #[default]
    Unknown,
}

impl From<String> for HangupSource {
    fn from(text: String) -> Self {
        match text.as_str() {
            "caller" => Self::Caller,
            "callee" => Self::Callee,
            _ => Self::Unknown,
        }
    }
}

impl HangupSource {
    /// The source as Telnyx spells it.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Caller => "caller",
            Self::Callee => "callee",
            Self::Unknown => "unknown",
        }
    }
}

/// What is known when a call's (original leg's) `call.hangup` arrives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HangupFacts {
    pub cause: HangupCause,
    pub source: HangupSource,
    /// A `call.answered` came for this leg.
    pub answered: bool,
    /// callscope's `POST /v1/calls/:id/end` sent the hangup.
    pub ended_by_api: bool,
    /// A transfer of this call was bridged (`transfer.completed`).
    pub transferred: bool,
}

/// The spec's three fields for an ended call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CallOutcome {
    pub status: CallStatus,
    pub disposition: Disposition,
    pub ended_reason: EndedReason,
}

impl CallOutcome {
    /// A call whose transfer completed (row 1): the AI's part ended when the new leg
    /// answered.
    pub const TRANSFERRED: CallOutcome = CallOutcome {
        status: CallStatus::Completed,
        disposition: Disposition::Transferred,
        ended_reason: EndedReason::Transfer,
    };

    /// The three as the lifecycle service takes them.
    pub fn fields(self) -> (CallStatus, Disposition, EndedReason) {
        (self.status, self.disposition, self.ended_reason)
    }
}

impl HangupFacts {
    /// The table in this module's documentation.
    pub fn outcome(&self) -> CallOutcome {
        use CallStatus as S;
        use Disposition as D;
        use EndedReason as R;
        use HangupCause as C;
        let by_source = match self.source {
            HangupSource::Callee => R::AgentHangup,
            HangupSource::Caller | HangupSource::Unknown => R::CallerHangup,
        };
        let (status, disposition, ended_reason) = match (&self.cause, self.answered) {
            _ if self.transferred => CallOutcome::TRANSFERRED.fields(),
            (_, true) if self.ended_by_api => (S::Completed, D::Answered, R::Api),
            (_, false) if self.ended_by_api => (S::Canceled, D::NoAnswer, R::Api),
            (C::TimeLimit, true) => (S::Completed, D::Answered, R::MaxDuration),
            (C::TimeLimit, false) => (S::Failed, D::Failed, R::MaxDuration),
            (C::Timeout, true) => (S::Completed, D::Answered, R::Timeout),
            (C::NotFound | C::Unspecified | C::Other(_), true) => {
                (S::Completed, D::Answered, R::Error)
            }
            (
                C::NormalClearing
                | C::OriginatorCancel
                | C::UserBusy
                | C::CallRejected
                | C::NoAnswer,
                true,
            ) => (S::Completed, D::Answered, by_source),
            (C::UserBusy, false) => (S::Busy, D::Busy, by_source),
            (C::CallRejected, false) => (S::Rejected, D::Rejected, by_source),
            (C::NoAnswer | C::Timeout, false) => (S::NoAnswer, D::NoAnswer, R::Timeout),
            (C::OriginatorCancel, false) => (S::Canceled, D::NoAnswer, by_source),
            (C::NormalClearing, false) if self.source == HangupSource::Callee => {
                (S::Rejected, D::Rejected, R::AgentHangup)
            }
            (C::NormalClearing, false) => (S::Canceled, D::NoAnswer, R::CallerHangup),
            (C::NotFound | C::Unspecified | C::Other(_), false) => (S::Failed, D::Failed, R::Error),
        };
        CallOutcome {
            status,
            disposition,
            ended_reason,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn outcome(
        cause: &str,
        source: &str,
        answered: bool,
        ended_by_api: bool,
        transferred: bool,
    ) -> String {
        let o = HangupFacts {
            cause: HangupCause::from(cause.to_owned()),
            source: HangupSource::from(source.to_owned()),
            answered,
            ended_by_api,
            transferred,
        }
        .outcome();
        format!("{}/{}/{}", o.status, o.disposition, o.ended_reason)
    }

    const CAUSES: [&str; 10] = [
        "call_rejected",
        "normal_clearing",
        "originator_cancel",
        "timeout",
        "time_limit",
        "user_busy",
        "not_found",
        "no_answer",
        "unspecified",
        "something_new",
    ];
    const SOURCES: [&str; 3] = ["caller", "callee", "unknown"];

    #[test]
    fn row_1_a_completed_transfer_wins_over_everything() {
        for cause in CAUSES {
            for source in SOURCES {
                for (answered, api) in [(true, true), (true, false), (false, false)] {
                    assert_eq!(
                        outcome(cause, source, answered, api, true),
                        "completed/transferred/transfer"
                    );
                }
            }
        }
    }

    #[test]
    fn rows_2_3_a_hangup_after_end_is_api() {
        for cause in CAUSES {
            for source in SOURCES {
                assert_eq!(
                    outcome(cause, source, true, true, false),
                    "completed/answered/api"
                );
                assert_eq!(
                    outcome(cause, source, false, true, false),
                    "canceled/no-answer/api"
                );
            }
        }
    }

    #[test]
    fn rows_4_5_time_limit_is_max_duration() {
        assert_eq!(
            outcome("time_limit", "unknown", true, false, false),
            "completed/answered/max-duration"
        );
        assert_eq!(
            outcome("time_limit", "unknown", false, false, false),
            "failed/failed/max-duration"
        );
    }

    #[test]
    fn rows_6_7_answered_calls_cut_off() {
        assert_eq!(
            outcome("timeout", "caller", true, false, false),
            "completed/answered/timeout"
        );
        for cause in ["not_found", "unspecified", "something_new"] {
            for source in SOURCES {
                assert_eq!(
                    outcome(cause, source, true, false, false),
                    "completed/answered/error"
                );
            }
        }
    }

    #[test]
    fn row_8_answered_calls_ended_by_a_side() {
        for cause in [
            "normal_clearing",
            "originator_cancel",
            "user_busy",
            "call_rejected",
            "no_answer",
        ] {
            assert_eq!(
                outcome(cause, "caller", true, false, false),
                "completed/answered/caller-hangup"
            );
            assert_eq!(
                outcome(cause, "unknown", true, false, false),
                "completed/answered/caller-hangup"
            );
            assert_eq!(
                outcome(cause, "callee", true, false, false),
                "completed/answered/agent-hangup"
            );
        }
    }

    #[test]
    fn rows_9_10_busy_and_rejected_before_answer() {
        assert_eq!(
            outcome("user_busy", "caller", false, false, false),
            "busy/busy/caller-hangup"
        );
        assert_eq!(
            outcome("user_busy", "callee", false, false, false),
            "busy/busy/agent-hangup"
        );
        assert_eq!(
            outcome("call_rejected", "callee", false, false, false),
            "rejected/rejected/agent-hangup"
        );
        assert_eq!(
            outcome("call_rejected", "unknown", false, false, false),
            "rejected/rejected/caller-hangup"
        );
    }

    #[test]
    fn row_11_no_answer_before_answer() {
        for cause in ["no_answer", "timeout"] {
            for source in SOURCES {
                assert_eq!(
                    outcome(cause, source, false, false, false),
                    "no-answer/no-answer/timeout"
                );
            }
        }
    }

    #[test]
    fn rows_12_to_14_hung_up_while_ringing() {
        assert_eq!(
            outcome("originator_cancel", "caller", false, false, false),
            "canceled/no-answer/caller-hangup"
        );
        assert_eq!(
            outcome("originator_cancel", "callee", false, false, false),
            "canceled/no-answer/agent-hangup"
        );
        assert_eq!(
            outcome("normal_clearing", "callee", false, false, false),
            "rejected/rejected/agent-hangup"
        );
        for source in ["caller", "unknown"] {
            assert_eq!(
                outcome("normal_clearing", source, false, false, false),
                "canceled/no-answer/caller-hangup"
            );
        }
    }

    #[test]
    fn row_15_failures_before_answer() {
        for cause in ["not_found", "unspecified", "something_new"] {
            assert_eq!(
                outcome(cause, "unknown", false, false, false),
                "failed/failed/error"
            );
        }
    }

    #[test]
    fn wire_values_parse() {
        assert_eq!(
            serde_json::from_str::<HangupCause>("\"user_busy\"").unwrap(),
            HangupCause::UserBusy
        );
        assert_eq!(
            serde_json::from_str::<HangupCause>("\"x\"").unwrap(),
            HangupCause::Other("x".into())
        );
        assert_eq!(
            serde_json::from_str::<HangupSource>("\"callee\"").unwrap(),
            HangupSource::Callee
        );
    }
}
