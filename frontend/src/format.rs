//! Text formatting for the viewer. Pure: no DOM, no clock; the caller passes the viewer's
//! UTC offset where local time is wanted.

use callscope_shared::timestamp::calendar::civil_from_days;

/// `m:ss` (or `h:mm:ss` from an hour) for a number of seconds from the start of the call.
/// Negative and non-finite inputs show as `0:00`; fractions are truncated.
pub fn clock(seconds: f64) -> String {
    let total = if seconds.is_finite() && seconds > 0.0 {
        seconds as u64
    } else {
        0
    };
    let (h, m, s) = (total / 3600, (total / 60) % 60, total % 60);
    if h > 0 {
        format!("{h}:{m:02}:{s:02}")
    } else {
        format!("{m:02}:{s:02}")
    }
}

/// A signed offset like `+0:12` or `-0:03`, for events around the call's start.
pub fn signed_clock(seconds: i64) -> String {
    let sign = if seconds < 0 { '-' } else { '+' };
    format!("{sign}{}", clock(seconds.unsigned_abs() as f64))
}

/// A call duration: `45s`, `2m 07s`, `1h 02m 03s`.
pub fn duration(seconds: i64) -> String {
    let s = seconds.max(0);
    let (h, m, s) = (s / 3600, (s / 60) % 60, s % 60);
    match (h, m) {
        (0, 0) => format!("{s}s"),
        (0, _) => format!("{m}m {s:02}s"),
        _ => format!("{h}h {m:02}m {s:02}s"),
    }
}

/// Milliseconds with a thousands separator: `850 ms`, `1,204 ms`.
pub fn ms(value: u32) -> String {
    format!("{} ms", thousands(u64::from(value)))
}

/// A metric value or an em dash when there is none.
pub fn opt_ms(value: Option<u32>) -> String {
    value.map_or_else(|| "—".to_owned(), ms)
}

/// `1234567` → `1,234,567`.
pub fn thousands(value: u64) -> String {
    let digits = value.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// `YYYY-MM-DD HH:MM:SS` of Unix seconds shifted by `offset_minutes` east of UTC.
pub fn date_time(unix: i64, offset_minutes: i32) -> String {
    let t = unix + i64::from(offset_minutes) * 60;
    let (days, secs) = (t.div_euclid(86_400), t.rem_euclid(86_400));
    let (y, mo, d) = civil_from_days(days);
    format!(
        "{y:04}-{mo:02}-{d:02} {:02}:{:02}:{:02}",
        secs / 3600,
        (secs / 60) % 60,
        secs % 60
    )
}

/// `UTC`, `UTC+1`, `UTC-3:30` for an offset in minutes east of UTC.
pub fn utc_offset(offset_minutes: i32) -> String {
    if offset_minutes == 0 {
        return "UTC".to_owned();
    }
    let sign = if offset_minutes < 0 { '-' } else { '+' };
    let abs = offset_minutes.unsigned_abs();
    match abs % 60 {
        0 => format!("UTC{sign}{}", abs / 60),
        m => format!("UTC{sign}{}:{m:02}", abs / 60),
    }
}

/// A wire enum value (`in-progress`, `caller-hangup`) as a label: `In progress`. Wire
/// values are ASCII: ASCII case mapping keeps Unicode's case tables out of the wasm.
pub fn label(wire: &str) -> String {
    let mut out = String::with_capacity(wire.len());
    for (i, c) in wire.chars().enumerate() {
        match c {
            '-' | '_' => out.push(' '),
            c if i == 0 => out.push(c.to_ascii_uppercase()),
            c => out.push(c),
        }
    }
    out
}

/// `1 turn`, `3 turns`.
pub fn plural(n: usize, one: &str, many: &str) -> String {
    format!(
        "{} {}",
        thousands(n as u64),
        if n == 1 { one } else { many }
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clock_pads_minutes_and_seconds_and_grows_hours() {
        assert_eq!(clock(0.0), "00:00");
        assert_eq!(clock(7.9), "00:07");
        assert_eq!(clock(127.0), "02:07");
        assert_eq!(clock(3723.0), "1:02:03");
        assert_eq!(clock(-5.0), "00:00");
        assert_eq!(clock(f64::NAN), "00:00");
        assert_eq!(signed_clock(-3), "-00:03");
        assert_eq!(signed_clock(75), "+01:15");
    }

    #[test]
    fn durations_read_naturally() {
        assert_eq!(duration(45), "45s");
        assert_eq!(duration(127), "2m 07s");
        assert_eq!(duration(3723), "1h 02m 03s");
        assert_eq!(duration(-1), "0s");
    }

    #[test]
    fn milliseconds_get_separators_and_missing_values_a_dash() {
        assert_eq!(ms(850), "850 ms");
        assert_eq!(ms(1204), "1,204 ms");
        assert_eq!(thousands(1_234_567), "1,234,567");
        assert_eq!(thousands(0), "0");
        assert_eq!(opt_ms(None), "—");
        assert_eq!(opt_ms(Some(95)), "95 ms");
    }

    #[test]
    fn date_time_is_civil_time_at_the_offset() {
        // 2026-01-15T10:00:00Z
        assert_eq!(date_time(1_768_471_200, 0), "2026-01-15 10:00:00");
        assert_eq!(date_time(1_768_471_200, 60), "2026-01-15 11:00:00");
        assert_eq!(date_time(1_768_471_200, -630), "2026-01-14 23:30:00");
        assert_eq!(date_time(0, 0), "1970-01-01 00:00:00");
        // Leap day.
        assert_eq!(date_time(1_709_208_000, 0), "2024-02-29 12:00:00");
    }

    #[test]
    fn offsets_and_labels() {
        assert_eq!(utc_offset(0), "UTC");
        assert_eq!(utc_offset(60), "UTC+1");
        assert_eq!(utc_offset(-210), "UTC-3:30");
        assert_eq!(label("in-progress"), "In progress");
        assert_eq!(label("caller-hangup"), "Caller hangup");
        assert_eq!(plural(1, "turn", "turns"), "1 turn");
        assert_eq!(plural(5000, "turn", "turns"), "5,000 turns");
    }
}
