//! The billing rules, one definition each, in exact integer units (money in
//! ten-thousandths, minutes in hundredths). Live calls (the pipeline and the telephony
//! provider's events), transfers and the demo data all price a call here, so every call's
//! numbers add up to the last unit and the daily roll-ups (the summary) follow them.
//!
//! - `minutes_used` = billed duration / 60 in hundredths, half up (127 s → 2.12); only an
//!   answered call has a billed duration, the others 0.
//! - usage = `minutes_used × rate_per_minute` (the agent's rate), half up.
//! - `recording_cost` (agents that record) = started minutes of the billed duration ×
//!   the agent's recording rate: `minutes_used` rounded up to a whole minute, so 0 s → 0,
//!   1–60 s → 1, 61–120 s → 2, 121 s → 3. While the call is live one minute is pre-debited
//!   ([`recording_predebit`]); its end settles the balance ([`recording_cost`]), which may
//!   be a refund: a call that never connects (or lasts 0 s) ends with 0.
//! - `transfer_cost` = minutes(transferred conversation) × [`TRANSFER_RATE`].
//! - `total_cost` = usage + `recording_cost` + `transfer_cost` − `llm_discount`.

use callscope_shared::{Minutes, Money};

/// The recording rate of an agent created without one: 0.01 per minute.
pub const DEFAULT_RECORDING_RATE: Money = Money::from_units(100);
/// The recording rate as `agents create --recording-rate-per-minute` defaults to it.
pub const DEFAULT_RECORDING_RATE_TEXT: &str = "0.01";
/// Whole minutes of recording pre-debited when a recorded call starts.
pub const RECORDING_PREDEBIT_MINUTES: i64 = 1;
/// The outbound leg of a transfer: 0.12 per minute.
pub const TRANSFER_RATE: Money = Money::from_units(1_200);

/// Seconds to minutes in hundredths, rounding half up: 127 s → 2.12.
pub fn minutes(seconds: i64) -> Minutes {
    Minutes::from_units((seconds.max(0) * 100 + 30) / 60)
}

/// `minutes × rate`, rounded half up to ten-thousandths: 2.12 × 0.25 → 0.5300.
pub fn charge(minutes: Minutes, rate: Money) -> Money {
    Money::from_units((minutes.units() * rate.units() + 50) / 100)
}

/// The whole minutes recording bills for a call of `minutes_used`: every started minute
/// (`minutes_used` rounded up). Seconds give the same: 60 s → 1, 61 s → 2.
pub fn recording_minutes(minutes_used: Minutes) -> i64 {
    (minutes_used.units().max(0) + 99) / 100
}

/// What a recorded call carries in `recording_cost` while it is live: the pre-debited minute.
pub fn recording_predebit(rate: Money) -> Money {
    Money::from_units(RECORDING_PREDEBIT_MINUTES * rate.units())
}

/// The final `recording_cost` of a recorded call that used `minutes_used`.
pub fn recording_cost(minutes_used: Minutes, rate: Money) -> Money {
    Money::from_units(recording_minutes(minutes_used) * rate.units())
}

/// The cost of a transferred conversation of `seconds`.
pub fn transfer_cost(seconds: i64) -> Money {
    charge(minutes(seconds), TRANSFER_RATE)
}

/// The parts `total_cost` is made of.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Parts {
    pub minutes_used: Minutes,
    pub rate_per_minute: Money,
    pub recording_cost: Money,
    pub transfer_cost: Money,
    pub llm_discount: Money,
}

/// `minutes_used × rate_per_minute + recording_cost + transfer_cost − llm_discount`.
pub fn total_cost(p: Parts) -> Money {
    Money::from_units(
        charge(p.minutes_used, p.rate_per_minute).units()
            + p.recording_cost.units()
            + p.transfer_cost.units()
            - p.llm_discount.units(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn minutes_round_half_up() {
        assert_eq!(minutes(0), Minutes::ZERO);
        // 0.3 s of a minute is 0.5 hundredths: up.
        assert_eq!(minutes(3), Minutes::from_units(5));
        assert_eq!(minutes(60), Minutes::from_units(100));
        assert_eq!(minutes(61), Minutes::from_units(102));
        assert_eq!(minutes(127), Minutes::from_units(212));
    }

    #[test]
    fn recording_bills_started_minutes() {
        let rate = Money::from_units(100);
        for (seconds, billed) in [
            (0, 0),
            (1, 1),
            (29, 1),
            (59, 1),
            (60, 1),
            (61, 2),
            (119, 2),
            (120, 2),
            (121, 3),
            (3_600, 60),
            (3_601, 61),
        ] {
            assert_eq!(recording_minutes(minutes(seconds)), billed, "{seconds} s");
            assert_eq!(
                recording_cost(minutes(seconds), rate),
                Money::from_units(billed * 100),
                "{seconds} s"
            );
        }
        assert_eq!(
            recording_predebit(Money::from_units(250)),
            Money::from_units(250)
        );
    }

    #[test]
    fn every_part_is_in_the_total() {
        let parts = Parts {
            minutes_used: minutes(200),
            rate_per_minute: Money::from_units(3_000),
            recording_cost: recording_cost(minutes(200), DEFAULT_RECORDING_RATE),
            transfer_cost: transfer_cost(90),
            llm_discount: Money::from_units(1_499),
        };
        // 3.33 min: usage 0.9990, recording 4 minutes × 0.01, transfer 1.5 × 0.12.
        assert_eq!(parts.recording_cost, Money::from_units(400));
        assert_eq!(parts.transfer_cost, Money::from_units(1_800));
        assert_eq!(
            total_cost(parts),
            Money::from_units(9_990 + 400 + 1_800 - 1_499)
        );
    }

    #[test]
    fn the_default_rate_text_is_the_default_rate() {
        assert_eq!(
            crate::agents::parse_rate(DEFAULT_RECORDING_RATE_TEXT),
            Ok(DEFAULT_RECORDING_RATE)
        );
    }
}
