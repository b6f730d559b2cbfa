//! The made-up particulars of one call (who calls, their numbers and references), drawn
//! once so a conversation mentions the same policy or booking throughout.

use time::{Duration, OffsetDateTime};

use super::phones::{self, Region};
use super::random::{DemoRng, between, digits, pick};

/// Everything a dialogue template can mention.
#[derive(Debug, Clone)]
pub struct Facts {
    pub region: Region,
    pub first_name: &'static str,
    pub last_name: &'static str,
    /// The caller's own number, E.164 (the call's from/to).
    pub caller: String,
    pub caller_spoken: String,
    /// Another number the caller gives, E.164 and as said.
    pub alt: String,
    pub alt_spoken: String,
    pub account: String,
    pub policy: String,
    pub claim: String,
    pub booking: String,
    pub invoice: String,
    pub ticket: String,
    pub amount: String,
    pub deductible: String,
    pub date_phrase: &'static str,
    pub check_in: String,
    pub due_date: String,
    pub nights: i64,
    pub guests: i64,
    pub property: &'static str,
    pub city: &'static str,
    pub meter: String,
    pub iban: String,
    pub email: String,
}

const FIRST: [[&str; 8]; 3] = [
    [
        "Sanne", "Daan", "Lotte", "Bram", "Femke", "Joost", "Eva", "Ruben",
    ],
    [
        "Oliver", "Amelia", "Harry", "Isla", "George", "Poppy", "Jack", "Freya",
    ],
    [
        "Emily", "Jacob", "Madison", "Tyler", "Hannah", "Marcus", "Olivia", "Ethan",
    ],
];
const LAST: [[&str; 8]; 3] = [
    [
        "de Vries", "Jansen", "Bakker", "Visser", "Smit", "Meijer", "de Boer", "Mulder",
    ],
    [
        "Whitaker", "Hughes", "Patel", "Turner", "Walsh", "Bennett", "Holloway", "Clarke",
    ],
    [
        "Carter", "Ramirez", "Brooks", "Nguyen", "Sullivan", "Foster", "Coleman", "Price",
    ],
];
const CITIES: [[&str; 4]; 3] = [
    ["Utrecht", "Haarlem", "Zwolle", "Delft"],
    ["Leeds", "Bristol", "York", "Brighton"],
    ["Denver", "Austin", "Portland", "Raleigh"],
];
const PROPERTIES: [&str; 5] = [
    "Dune Lodge",
    "Harbour View Cottage",
    "The Old Boathouse",
    "Pine Cabin 4",
    "Lighthouse Loft",
];
const DATE_PHRASES: [&str; 6] = [
    "yesterday evening",
    "last Tuesday",
    "on the 14th",
    "this morning",
    "on Friday the 21st",
    "two days ago",
];
const BANKS: [&str; 3] = ["ABNA", "RABO", "INGB"];

fn index(region: Region) -> usize {
    match region {
        Region::Nl => 0,
        Region::Uk => 1,
        Region::Us => 2,
    }
}

fn currency(region: Region) -> &'static str {
    match region {
        Region::Nl => "€",
        Region::Uk => "£",
        Region::Us => "$",
    }
}

/// A day `days` after `at`, as YYYY-MM-DD.
fn iso_day(at: i64, days: i64) -> String {
    let day = OffsetDateTime::from_unix_timestamp(at)
        .map(|t| t.date())
        .unwrap_or(time::Date::MIN);
    day.checked_add(Duration::days(days))
        .unwrap_or(day)
        .to_string()
}

/// Groups `text` in blocks of 4 separated by spaces, like a printed account number.
fn grouped(text: &str) -> String {
    let chars: Vec<char> = text.chars().collect();
    chars
        .chunks(4)
        .map(|c| c.iter().collect::<String>())
        .collect::<Vec<_>>()
        .join(" ")
}

impl Facts {
    /// Facts for a caller with number `caller` from `region`, calling at `started_at`.
    pub fn draw(rng: &mut DemoRng, region: Region, caller: String, started_at: i64) -> Self {
        let r = index(region);
        let first_name = pick(rng, &FIRST[r]);
        let last_name = pick(rng, &LAST[r]);
        let caller_spoken = phones::spoken(rng, &caller, region);
        let alt = phones::mobile(rng, region);
        let alt_spoken = phones::spoken(rng, &alt, region);
        let account_digits = digits(rng, 8);
        let account = if between(rng, 0, 1) == 0 {
            account_digits.clone()
        } else {
            grouped(&account_digits)
        };
        let cur = currency(region);
        let amount = format!("{cur}{}.{}", between(rng, 12, 480), digits(rng, 2));
        let deductible = format!("{cur}{}", pick(rng, &[100, 150, 250, 500]));
        let iban = match region {
            Region::Nl => grouped(&format!(
                "NL{}{}0{}",
                digits(rng, 2),
                pick(rng, &BANKS),
                digits(rng, 9)
            )),
            Region::Uk => format!(
                "sort code 20-{}-{}, account {}",
                digits(rng, 2),
                digits(rng, 2),
                digits(rng, 8)
            ),
            Region::Us => format!(
                "routing number 0210000{}, account {}",
                digits(rng, 2),
                digits(rng, 10)
            ),
        };
        let email = format!(
            "{}.{}@example.com",
            first_name.to_lowercase(),
            last_name.to_lowercase().replace(' ', "")
        );
        Self {
            region,
            first_name,
            last_name,
            caller,
            caller_spoken,
            alt,
            alt_spoken,
            account,
            policy: format!("POL-{}", digits(rng, 8)),
            claim: format!("CLM-{}", digits(rng, 6)),
            booking: format!(
                "SV-{}{}",
                pick(rng, &["K", "M", "Q", "T", "X"]),
                digits(rng, 5)
            ),
            invoice: format!("INV-{}", digits(rng, 7)),
            ticket: format!("T-{}", digits(rng, 6)),
            amount,
            deductible,
            date_phrase: pick(rng, &DATE_PHRASES),
            check_in: iso_day(started_at, between(rng, 7, 60)),
            due_date: iso_day(started_at, between(rng, 5, 20)),
            nights: between(rng, 2, 7),
            guests: between(rng, 2, 6),
            property: pick(rng, &PROPERTIES),
            city: pick(rng, &CITIES[r]),
            meter: digits(rng, 5),
            iban,
            email,
        }
    }

    pub fn name(&self) -> String {
        format!("{} {}", self.first_name, self.last_name)
    }

    /// The account number's digits only, as a system would take it.
    pub fn account_digits(&self) -> String {
        self.account.replace(' ', "")
    }

    /// The last name spelled out, as callers do: "V-I-S-S-E-R".
    pub fn spelled(&self) -> String {
        self.last_name
            .split(' ')
            .map(|w| {
                w.chars()
                    .map(|c| c.to_uppercase().to_string())
                    .collect::<Vec<_>>()
                    .join("-")
            })
            .collect::<Vec<_>>()
            .join(", ")
    }

    /// The value of a template placeholder, `None` if unknown.
    pub fn lookup(&self, key: &str) -> Option<String> {
        Some(match key {
            "name" => self.name(),
            "first_name" => self.first_name.to_owned(),
            "spelled" => self.spelled(),
            "caller" => self.caller_spoken.clone(),
            "alt" => self.alt_spoken.clone(),
            "account" => self.account.clone(),
            "account_tail" => {
                let d = self.account_digits();
                d[d.len() - 4..].to_owned()
            }
            "policy" => self.policy.clone(),
            "claim" => self.claim.clone(),
            "booking" => self.booking.clone(),
            "invoice" => self.invoice.clone(),
            "ticket" => self.ticket.clone(),
            "amount" => self.amount.clone(),
            "deductible" => self.deductible.clone(),
            "date" => self.date_phrase.to_owned(),
            "check_in" => self.check_in.clone(),
            "due_date" => self.due_date.clone(),
            "nights" => self.nights.to_string(),
            "guests" => self.guests.to_string(),
            "property" => self.property.to_owned(),
            "city" => self.city.to_owned(),
            "meter" => self.meter.clone(),
            "iban" => self.iban.clone(),
            "email" => self.email.clone(),
            _ => return None,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::demo::random::SeedableRng;

    #[test]
    fn facts_are_consistent() {
        let mut rng = DemoRng::seed_from_u64(4);
        let f = Facts::draw(&mut rng, Region::Nl, "+31612345678".into(), 1_768_471_200);
        assert_eq!(f.account_digits().len(), 8);
        assert!(f.check_in.starts_with("2026-"), "{}", f.check_in);
        assert!(f.email.ends_with("@example.com") && !f.email.contains(' '));
        assert!(f.lookup("nope").is_none());
        assert!(!f.spelled().is_empty());
    }
}
