//! The days the demo spreads calls over (60 by default), and when in them people call.

use time::Date;
use time::macros::format_description;

use super::random::{DemoRng, between, chance};

const DAY: i64 = 86_400;

/// `[start, end)` in Unix seconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Window {
    pub start: i64,
    pub end: i64,
}

/// `--until` is not a usable date.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum UntilError {
    #[error("invalid --until {0:?}: expected a UTC date as YYYY-MM-DD, e.g. 2026-01-31")]
    Format(String),
    #[error("--until {0} is out of range: the window before it must start in 1970 or later")]
    Range(String),
}

impl Window {
    /// The `days` whole UTC days ending with `day`: reproducible, whatever the time now.
    pub fn ending_on(day: Date, days: i64) -> Result<Self, UntilError> {
        let midnight = day.midnight().assume_utc().unix_timestamp();
        let end = midnight + DAY;
        let start = end - days * DAY;
        if start < 0 {
            return Err(UntilError::Range(day.to_string()));
        }
        Ok(Self { start, end })
    }

    /// The `days` days up to and including the second `now`: without `--until` no call
    /// lies in the future and the live calls are really minutes old.
    pub fn ending_at(now: i64, days: i64) -> Self {
        Self {
            start: now + 1 - days * DAY,
            end: now + 1,
        }
    }

    /// `days` days ending with `--until` (a date) or, when absent, up to `now`.
    pub fn from_until(until: Option<&str>, now: i64, days: i64) -> Result<Self, UntilError> {
        match until {
            None => Ok(Self::ending_at(now, days)),
            Some(text) => {
                let day = Date::parse(text.trim(), format_description!("[year]-[month]-[day]"))
                    .map_err(|_| UntilError::Format(text.to_owned()))?;
                Self::ending_on(day, days)
            }
        }
    }
}

/// Relative call volume by UTC hour: European office hours, a lunch dip, quiet nights.
const HOURLY: [u32; 24] = [
    1, 1, 1, 1, 1, 2, 4, 8, 12, 14, 14, 12, 10, 12, 13, 12, 10, 8, 6, 4, 3, 2, 2, 1,
];
/// Saturdays and Sundays get about a third of a weekday's calls.
const WEEKEND_PERCENT: u32 = 35;

/// Relative volume at instant `t`, out of `14 × 100`.
fn volume(t: i64) -> u32 {
    let days = t.div_euclid(DAY);
    let hour = (t.rem_euclid(DAY) / 3_600) as usize;
    // 1970-01-01 was a Thursday: Monday is 0.
    let weekday = (days + 3).rem_euclid(7);
    let day_share = if weekday >= 5 { WEEKEND_PERCENT } else { 100 };
    HOURLY[hour] * day_share
}

/// A start instant in `[lo, hi)`, busier in office hours and on weekdays (rejection
/// sampling: a bounded number of tries, then uniform).
pub fn sample_start(rng: &mut DemoRng, lo: i64, hi: i64) -> i64 {
    let max = f64::from(14 * 100);
    for _ in 0..64 {
        let t = between(rng, lo, hi - 1);
        if chance(rng, f64::from(volume(t)) / max) {
            return t;
        }
    }
    between(rng, lo, hi - 1)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::demo::random::SeedableRng;
    use time::macros::date;

    #[test]
    fn a_date_gives_sixty_whole_days() {
        let w = Window::from_until(Some("2026-01-31"), 0, 60).unwrap();
        assert_eq!(
            w.end,
            date!(2026 - 02 - 01)
                .midnight()
                .assume_utc()
                .unix_timestamp()
        );
        assert_eq!(w.end - w.start, 60 * DAY);
    }

    #[test]
    fn bad_dates_are_clear_errors() {
        for bad in ["2026-13-01", "2026-02-30", "yesterday", "2026/01/31", ""] {
            let err = Window::from_until(Some(bad), 0, 60).unwrap_err();
            assert!(err.to_string().contains("YYYY-MM-DD"), "{bad}: {err}");
        }
        assert!(matches!(
            Window::from_until(Some("1970-01-15"), 0, 60),
            Err(UntilError::Range(_))
        ));
    }

    #[test]
    fn days_sets_the_length() {
        let w = Window::from_until(Some("2026-01-31"), 0, 365).unwrap();
        assert_eq!(w.end - w.start, 365 * DAY);
    }

    #[test]
    fn without_a_date_the_window_ends_now() {
        let w = Window::from_until(None, 1_800_000_000, 60).unwrap();
        assert_eq!(w.end, 1_800_000_001);
    }

    #[test]
    fn office_hours_are_busier_than_nights() {
        let mut rng = DemoRng::seed_from_u64(5);
        let w = Window::from_until(Some("2026-01-31"), 0, 60).unwrap();
        let starts: Vec<i64> = (0..5_000)
            .map(|_| sample_start(&mut rng, w.start, w.end))
            .collect();
        assert!(starts.iter().all(|t| (w.start..w.end).contains(t)));
        let hour = |t: &&i64| (*t).rem_euclid(DAY) / 3_600;
        let day = starts.iter().filter(|t| (9..11).contains(&hour(t))).count();
        let night = starts.iter().filter(|t| (1..3).contains(&hour(t))).count();
        assert!(day > night * 5, "day {day}, night {night}");
    }
}
