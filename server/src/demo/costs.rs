//! What a demo call costs, in exact integer units (money in ten-thousandths, minutes in
//! hundredths), so every call's numbers add up to the last unit.

use callscope_shared::{Minutes, Money};

use crate::billing::{self, Parts, charge, minutes};

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
    /// The agent records its calls.
    pub recording_enabled: bool,
    /// The agent's recording rate per minute.
    pub recording_rate_per_minute: Money,
    pub transfer_duration_seconds: i64,
    /// LLM discount in basis points of the usage charge (0 for none).
    pub discount_bp: i64,
    /// The provider's cost in basis points of the usage charge.
    pub provider_bp: i64,
}

/// `share` basis points of `amount`, rounded half up.
fn share(amount: Money, bp: i64) -> Money {
    Money::from_units((amount.units() * bp + 5_000) / 10_000)
}

/// The billing rules of [`crate::billing`] on a demo call that has ended (as a live call
/// ends): its minutes and parts, plus the random ones:
///
/// - `llm_discount` = a share of usage (never more than usage);
/// - `call_cost` (what the provider charged us) = a share of usage, independent of the rest.
pub fn costs(input: CostInputs) -> Costs {
    let minutes_used = minutes(input.duration_seconds);
    let usage = charge(minutes_used, input.rate_per_minute);
    let recording_cost = if input.recording_enabled {
        billing::recording_cost(minutes_used, input.recording_rate_per_minute)
    } else {
        Money::ZERO
    };
    let transfer_cost = billing::transfer_cost(input.transfer_duration_seconds);
    let llm_discount = share(usage, input.discount_bp.clamp(0, 10_000));
    Costs {
        minutes_used,
        total_cost: billing::total_cost(Parts {
            minutes_used,
            rate_per_minute: input.rate_per_minute,
            recording_cost,
            transfer_cost,
            llm_discount,
        }),
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
            recording_enabled: false,
            recording_rate_per_minute: billing::DEFAULT_RECORDING_RATE,
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
    fn every_part_is_in_the_total() {
        let c = costs(CostInputs {
            recording_enabled: true,
            transfer_duration_seconds: 90,
            discount_bp: 1_500,
            ..plain(200, 3_000)
        });
        // 3.33 min: usage 0.9990, recording 4 started minutes × 0.01 = 0.0400, transfer
        // 1.5 × 0.12 = 0.1800, discount 15% of 0.9990 = 0.1499 (0.14985 half up).
        assert_eq!(c.recording_cost, Money::from_units(400));
        assert_eq!(c.transfer_cost, Money::from_units(1_800));
        assert_eq!(c.llm_discount, Money::from_units(1_499));
        assert_eq!(c.total_cost, Money::from_units(9_990 + 400 + 1_800 - 1_499));
    }
}
