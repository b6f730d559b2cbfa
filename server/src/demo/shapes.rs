//! How a demo call turns out: the one choice that fixes its status, disposition and ended
//! reason together, so they never contradict each other. Every demo call has ended: a call
//! left ringing or in progress would stay so for ever, which no live call does (live calls
//! come from `callscope simulate`).

use callscope_shared::{CallStatus, Disposition, EndedReason};

/// How a call turned out; decides status, disposition and ended reason together.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shape {
    Answered(EndedReason),
    Transferred,
    Voicemail(EndedReason),
    /// Never connected: failed, busy, no-answer, canceled or rejected.
    Unanswered(CallStatus),
}

impl Shape {
    pub fn status(self) -> CallStatus {
        match self {
            Shape::Answered(_) | Shape::Transferred | Shape::Voicemail(_) => CallStatus::Completed,
            Shape::Unanswered(s) => s,
        }
    }

    pub fn disposition(self) -> Option<Disposition> {
        Some(match self {
            Shape::Answered(_) => Disposition::Answered,
            Shape::Transferred => Disposition::Transferred,
            Shape::Voicemail(_) => Disposition::Voicemail,
            Shape::Unanswered(CallStatus::Busy) => Disposition::Busy,
            Shape::Unanswered(CallStatus::Rejected) => Disposition::Rejected,
            Shape::Unanswered(CallStatus::Failed) => Disposition::Failed,
            // No-answer, and canceled: the caller gave up while it rang.
            Shape::Unanswered(_) => Disposition::NoAnswer,
        })
    }

    pub fn ended_reason(self) -> Option<EndedReason> {
        Some(match self {
            Shape::Answered(r) | Shape::Voicemail(r) => r,
            Shape::Transferred => EndedReason::Transfer,
            Shape::Unanswered(CallStatus::NoAnswer) => EndedReason::Timeout,
            Shape::Unanswered(CallStatus::Canceled) => EndedReason::CallerHangup,
            // We declined the call (a blocked number).
            Shape::Unanswered(CallStatus::Rejected) => EndedReason::AgentHangup,
            // Failed, busy: the call could not be set up.
            Shape::Unanswered(_) => EndedReason::Error,
        })
    }

    /// The agent placed the call (reminders, call-backs).
    pub fn outbound(self) -> bool {
        matches!(
            self,
            Shape::Voicemail(_)
                | Shape::Unanswered(CallStatus::Busy)
                | Shape::Unanswered(CallStatus::NoAnswer)
        )
    }
}

use CallStatus as S;
use EndedReason as R;

/// The first calls of every plan: all final statuses, dispositions and ended reasons.
pub const COVERAGE: [Shape; 14] = [
    Shape::Answered(R::CallerHangup),
    Shape::Answered(R::AgentHangup),
    Shape::Transferred,
    Shape::Voicemail(R::Timeout),
    Shape::Unanswered(S::NoAnswer),
    Shape::Answered(R::Api),
    Shape::Unanswered(S::Busy),
    Shape::Answered(R::SilenceTimeout),
    Shape::Unanswered(S::Failed),
    Shape::Answered(R::MaxDuration),
    Shape::Voicemail(R::SilenceTimeout),
    Shape::Unanswered(S::Canceled),
    Shape::Answered(R::Error),
    Shape::Unanswered(S::Rejected),
];

/// How the rest turn out, per thousand calls: mostly answered.
pub const SHAPES: [(Shape, u32); 14] = [
    (Shape::Answered(R::CallerHangup), 405),
    (Shape::Answered(R::AgentHangup), 255),
    (Shape::Answered(R::SilenceTimeout), 35),
    (Shape::Answered(R::Api), 25),
    (Shape::Answered(R::Error), 20),
    (Shape::Answered(R::MaxDuration), 20),
    (Shape::Transferred, 60),
    (Shape::Voicemail(R::Timeout), 25),
    (Shape::Voicemail(R::SilenceTimeout), 15),
    (Shape::Unanswered(S::NoAnswer), 50),
    (Shape::Unanswered(S::Busy), 30),
    (Shape::Unanswered(S::Failed), 20),
    (Shape::Unanswered(S::Canceled), 25),
    (Shape::Unanswered(S::Rejected), 15),
];
