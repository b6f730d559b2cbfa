//! Callers' phone numbers: E.164 for the call record, and the many ways people say them
//! out loud (which is what the debug view has to mask).

use super::random::{DemoRng, between, digits, pick, weighted};

/// Where a caller is from; decides number formats, names and currency.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Region {
    Nl,
    Uk,
    Us,
}

/// Most callers are Dutch, then British, then American.
pub fn region(rng: &mut DemoRng) -> Region {
    weighted(rng, &[(Region::Nl, 60), (Region::Uk, 25), (Region::Us, 15)])
}

/// US area codes used with the fictional 555-01xx range.
const US_AREAS: [&str; 6] = ["212", "415", "312", "617", "303", "512"];

/// A mobile number in E.164. UK and US numbers come from ranges reserved for fiction
/// (Ofcom's 07700 900xxx, 555-0100..0199), Dutch ones are random 06 numbers.
pub fn mobile(rng: &mut DemoRng, region: Region) -> String {
    match region {
        Region::Nl => format!("+316{}{}", between(rng, 1, 9), digits(rng, 7)),
        Region::Uk => format!("+447700900{}", digits(rng, 3)),
        Region::Us => format!("+1{}5550{}", pick(rng, &US_AREAS), between(rng, 100, 199)),
    }
}

/// `number` (E.164, as `mobile` makes them) the way a caller might say or type it.
pub fn spoken(rng: &mut DemoRng, number: &str, region: Region) -> String {
    let d = number.trim_start_matches('+');
    match region {
        // +31 6 1234 5678 → national 06 1234 5678
        Region::Nl => {
            let (six, rest) = (&d[2..3], &d[3..]);
            match between(rng, 0, 4) {
                0 => format!("+31 {six} {} {}", &rest[..4], &rest[4..]),
                1 => format!("0{six}-{rest}"),
                2 => format!("0{six} {} {}", &rest[..4], &rest[4..]),
                3 => format!("0{six}{rest}"),
                _ => number.to_owned(),
            }
        }
        // +44 7700 900123 → 07700 900123
        Region::Uk => {
            let rest = &d[2..];
            match between(rng, 0, 2) {
                0 => format!("+44 {} {}", &rest[..4], &rest[4..]),
                1 => format!("0{} {}", &rest[..4], &rest[4..]),
                _ => format!("0{rest}"),
            }
        }
        // +1 212 555 0147
        Region::Us => {
            let (area, exchange, line) = (&d[1..4], &d[4..7], &d[7..]);
            match between(rng, 0, 3) {
                0 => format!("({area}) {exchange}-{line}"),
                1 => format!("{area}-{exchange}-{line}"),
                2 => format!("+1 {area} {exchange} {line}"),
                _ => format!("{area} {exchange} {line}"),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::demo::random::SeedableRng;
    use callscope_shared::E164;

    #[test]
    fn numbers_are_e164_and_spoken_forms_keep_the_digits() {
        let mut rng = DemoRng::seed_from_u64(11);
        for _ in 0..500 {
            let r = region(&mut rng);
            let n = mobile(&mut rng, r);
            assert!(n.parse::<E164>().is_ok(), "{n}");
            let said = spoken(&mut rng, &n, r);
            let said_digits: String = said.chars().filter(char::is_ascii_digit).collect();
            let tail = &n[n.len() - 7..];
            assert!(said_digits.ends_with(tail), "{said} vs {n}");
        }
    }
}
