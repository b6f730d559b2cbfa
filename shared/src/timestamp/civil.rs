//! RFC 3339 by hand, for the viewer's wasm: the `time` crate's parser and formatter are a
//! large share of the bundle for the one form the server sends. Native builds keep `time`;
//! the tests below check that both agree.

use super::calendar::{civil_from_days, days_from_civil, days_in_month};

/// Unix seconds of RFC 3339 text (`2026-01-15T10:00:00Z`, any offset up to ±23:59, any
/// separator byte between date and time, fractional seconds truncated). Leap seconds
/// (`:60`) are refused.
pub(super) fn parse(text: &str) -> Option<i64> {
    let b = text.as_bytes();
    let num = |from: usize, len: usize| -> Option<i64> {
        b.get(from..from + len)?.iter().try_fold(0, |n, &c| {
            c.is_ascii_digit().then(|| n * 10 + i64::from(c - b'0'))
        })
    };
    let at = |i: usize, c: u8| b.get(i) == Some(&c);
    let (year, month, day) = (num(0, 4)?, num(5, 2)?, num(8, 2)?);
    let (hour, minute, second) = (num(11, 2)?, num(14, 2)?, num(17, 2)?);
    if !(at(4, b'-') && at(7, b'-') && at(13, b':') && at(16, b':')) {
        return None;
    }
    if !(1..=12).contains(&month)
        || !(1..=days_in_month(year, month)).contains(&day)
        || hour > 23
        || minute > 59
        || second > 59
    {
        return None;
    }
    let mut i = 19;
    if at(i, b'.') {
        let digits = b[i + 1..].iter().take_while(|c| c.is_ascii_digit()).count();
        if digits == 0 {
            return None;
        }
        i += 1 + digits;
    }
    let offset = match b.get(i)? {
        b'Z' | b'z' => {
            i += 1;
            0
        }
        &sign @ (b'+' | b'-') => {
            let (h, m) = (num(i + 1, 2)?, num(i + 4, 2)?);
            if !at(i + 3, b':') || h > 23 || m > 59 {
                return None;
            }
            i += 6;
            let minutes = h * 60 + m;
            if sign == b'-' { -minutes } else { minutes }
        }
        _ => return None,
    };
    if i != b.len() {
        return None;
    }
    let days = days_from_civil(year, month, day);
    Some(days * 86_400 + hour * 3600 + minute * 60 + second - offset * 60)
}

/// `YYYY-MM-DDTHH:MM:SSZ` of Unix seconds in years 0..=9999.
pub(super) fn format(unix: i64) -> String {
    let (days, secs) = (unix.div_euclid(86_400), unix.rem_euclid(86_400));
    let (year, month, day) = civil_from_days(days);
    let mut out = String::with_capacity(20);
    let mut push = |n: i64, width: u32, then: Option<char>| {
        for p in (0..width).rev() {
            out.push(char::from(b'0' + (n / 10_i64.pow(p) % 10) as u8));
        }
        out.extend(then);
    };
    push(year, 4, Some('-'));
    push(month, 2, Some('-'));
    push(day, 2, Some('T'));
    push(secs / 3600, 2, Some(':'));
    push(secs / 60 % 60, 2, Some(':'));
    push(secs % 60, 2, Some('Z'));
    out
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;
    use time::{OffsetDateTime, format_description::well_known::Rfc3339};

    use super::*;
    use crate::Timestamp;

    fn by_time(text: &str) -> Option<i64> {
        OffsetDateTime::parse(text, &Rfc3339)
            .ok()
            .map(|t| t.unix_timestamp())
    }

    #[test]
    fn known_instants() {
        assert_eq!(parse("2026-01-15T10:00:00Z"), Some(1_768_471_200));
        assert_eq!(parse("2026-01-15t11:00:00.750+01:00"), Some(1_768_471_200));
        assert_eq!(parse("2024-02-29 12:00:00z"), Some(1_709_208_000));
        assert_eq!(format(1_768_471_200), "2026-01-15T10:00:00Z");
        assert_eq!(format(0), "1970-01-01T00:00:00Z");
        assert_eq!(format(Timestamp::MAX), "9999-12-31T23:59:59Z");
    }

    #[test]
    fn refuses_what_time_refuses() {
        for bad in [
            "2026-13-01T00:00:00Z",
            "2026-02-29T00:00:00Z",
            "2026-04-31T00:00:00Z",
            "2026-01-15T24:00:00Z",
            "2026-01-15T10:60:00Z",
            "2026-01-15T10:00:00",
            "2026-01-15T10:00:00.Z",
            "2026-01-15T10:00:00+24:00",
            "2026-01-15T10:00:00+01:60",
            "2026-01-15T10:00:00+0100",
            "2026-01-15T10:00:00Zx",
            "2026-1-15T10:00:00Z",
            "+026-01-15T10:00:00Z",
            "yesterday",
            "",
        ] {
            assert_eq!(parse(bad), None, "{bad}");
            assert_eq!(by_time(bad), None, "time accepts {bad}");
        }
    }

    proptest! {
        #[test]
        fn formats_like_time(secs in Timestamp::MIN..=Timestamp::MAX) {
            let t = OffsetDateTime::from_unix_timestamp(secs).unwrap();
            let expected = format!(
                "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}Z",
                t.year(), u8::from(t.month()), t.day(), t.hour(), t.minute(), t.second()
            );
            prop_assert_eq!(format(secs), expected);
        }

        #[test]
        fn parses_like_time(
            secs in Timestamp::MIN..=Timestamp::MAX,
            offset in -(23 * 60 + 59)..=(23 * 60 + 59_i64),
            fraction in proptest::option::of("[0-9]{1,12}"),
            separator in prop::sample::select(vec!['T', 't', ' ']),
            zulu in prop::sample::select(vec!["Z", "z", "+00:00", "-00:00"]),
        ) {
            let local = format(secs + offset * 60);
            let (date, time) = local.split_at(10);
            let time = &time[1..time.len() - 1];
            let fraction = fraction.map(|f| format!(".{f}")).unwrap_or_default();
            let zone = if offset == 0 {
                zulu.to_owned()
            } else {
                let sign = if offset < 0 { '-' } else { '+' };
                format!("{sign}{:02}:{:02}", offset.abs() / 60, offset.abs() % 60)
            };
            let text = format!("{date}{separator}{time}{fraction}{zone}");
            if (Timestamp::MIN..=Timestamp::MAX).contains(&(secs + offset * 60)) {
                prop_assert_eq!(parse(&text), by_time(&text), "{}", text);
                prop_assert_eq!(parse(&text), Some(secs));
            }
        }

        #[test]
        fn arbitrary_text_parses_like_time(text in "[0-9:Tt .Zz+-]{0,30}") {
            // time also takes leap seconds, which the viewer never gets.
            if !text.contains(":60") {
                prop_assert_eq!(parse(&text), by_time(&text));
            }
        }
    }
}
