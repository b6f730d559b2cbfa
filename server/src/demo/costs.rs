//! What a demo call costs, in exact integer units (money in ten-thousandths, minutes in
//! hundredths), so every call's numbers add up to the last unit.

use callscope_shared::{Minutes, Money};

/// Recording is billed per minute of call: 0.01 per minute.
pub const RECORDING_RATE: Money = Money::from_units(100);
/// The outbound leg of a transfer: 0.12 per minute.
pub const TRANSFER_RATE: Money = Money::from_units(1_200);

/// The cost fields of a call.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Costs {
    pub minutes_used: Minutes,
    pub total_cost: Money,
    pub call_cost: Money,
    pub recording_cost: Money,
    pub llm_discount: Money,
    pub transfer_cost: Money,
}

/// What drives a call's costs; the random parts are chosen by the caller.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CostInputs {
    pub duration_seconds: i64,
    pub rate_per_minute: Money,
    /// Recording enabled on the agent and a recording exists.
    pub recorded: bool,
    pub transfer_duration_seconds: i64,
    /// LLM discount in basis points of the usage charge (0 for none).
    pub discount_bp: i64,
    /// The provider's cost in basis points of the usage charge.
    pub provider_bp: i64,
}

/// Seconds to minutes in hundredths, rounding half up: 127 s → 2.12.
pub fn minutes(seconds: i64) -> Minutes {
    Minutes::from_units((seconds.max(0) * 100 + 30) / 60)
}

/// `minutes × rate`, rounded half up to ten-thousandths: 2.12 × 0.25 → 0.5300.
pub fn charge(minutes: Minutes, rate: Money) -> Money {
    Money::from_units((minutes.units() * rate.units() + 50) / 100)
}

/// `share` basis points of `amount`, rounded half up.
fn share(amount: Money, bp: i64) -> Money {
    Money::from_units((amount.units() * bp + 5_000) / 10_000)
}

/// The billing formula:
///
/// - `minutes_used` = duration / 60, half up to hundredths;
/// - usage = `minutes_used × rate_per_minute`, half up to ten-thousandths;
/// - `recording_cost` = `minutes_used × 0.01` when recorded, else 0;
/// - `transfer_cost` = minutes(transfer duration) × 0.12;
/// - `llm_discount` = a share of usage (never more than usage);
/// - `total_cost` = usage + `recording_cost` + `transfer_cost` − `llm_discount`;
/// - `call_cost` (what the provider charged us) = a share of usage, independent of the rest.
pub fn costs(input: CostInputs) -> Costs {
    let minutes_used = minutes(input.duration_seconds);
    let usage = charge(minutes_used, input.rate_per_minute);
    let recording_cost = if input.recorded {
        charge(minutes_used, RECORDING_RATE)
    } else {
        Money::ZERO
    };
    let transfer_cost = charge(minutes(input.transfer_duration_seconds), TRANSFER_RATE);
    let llm_discount = share(usage, input.discount_bp.clamp(0, 10_000));
    let total =
        usage.units() + recording_cost.units() + transfer_cost.units() - llm_discount.units();
    Costs {
        minutes_used,
        total_cost: Money::from_units(total),
        call_cost: share(usage, input.provider_bp.max(0)),
        recording_cost,
        llm_discount,
        transfer_cost,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plain(duration_seconds: i64, rate: i64) -> CostInputs {
        CostInputs {
            duration_seconds,
            rate_per_minute: Money::from_units(rate),
            recorded: false,
            transfer_duration_seconds: 0,
            discount_bp: 0,
            provider_bp: 8_800,
        }
    }

    #[test]
    fn the_spec_example_adds_up() {
        let c = costs(plain(127, 2_500));
        assert_eq!(c.minutes_used, Minutes::from_units(212));
        assert_eq!(c.total_cost, Money::from_units(5_300));
        assert_eq!(c.call_cost, Money::from_units(4_664));
    }

    #[test]
    fn minutes_round_half_up() {
        assert_eq!(minutes(0), Minutes::ZERO);
        // 0.3 s of a minute is 0.5 hundredths: up.
        assert_eq!(minutes(3), Minutes::from_units(5));
        assert_eq!(minutes(60), Minutes::from_units(100));
        assert_eq!(minutes(61), Minutes::from_units(102));
    }

    #[test]
    fn every_part_is_in_the_total() {
        let c = costs(CostInputs {
            recorded: true,
            transfer_duration_seconds: 90,
            discount_bp: 1_500,
            ..plain(200, 3_000)
        });
        // 3.33 min: usage 0.9990, recording 0.0333, transfer 1.5 × 0.12 = 0.1800,
        // discount 15% of 0.9990 = 0.1499 (0.14985 half up).
        assert_eq!(c.recording_cost, Money::from_units(333));
        assert_eq!(c.transfer_cost, Money::from_units(1_800));
        assert_eq!(c.llm_discount, Money::from_units(1_499));
        assert_eq!(c.total_cost, Money::from_units(9_990 + 333 + 1_800 - 1_499));
    }
}
