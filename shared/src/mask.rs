//! Masking of phone numbers for the public debug view.
//!
//! Rule (DESIGN.md): keep `+`, the first 3 and the last 3 digits and write `*` for every
//! digit between: `+31612345678` → `+316*****678`. Decisions for the edge cases:
//! - At least 4 digits are always hidden, so short numbers keep fewer digits visible:
//!   `k = min(3, (n - 4) / 2)` digits stay visible at each end (n = number of digits);
//!   with 5 or fewer digits every digit is hidden.
//! - A value that is not E.164 (national format, SIP/tel URI, "anonymous") keeps its
//!   non-digit characters; every digit run in it is masked by the same rule, however short.
//! - In free text, a *phone-like run* is 7 or more digits, optionally led by `+`, where
//!   up to three spaces, `-`, `.` or parentheses may separate digit groups. Each such run is
//!   masked by the rule above with its separators kept; shorter numbers (times, amounts,
//!   counts) are left as they are.

/// How many digits stay visible at each end of a run of `n` digits.
fn visible_each_side(n: usize) -> usize {
    n.saturating_sub(4).div_euclid(2).min(3)
}

/// Masks the digits of `run` (which may contain separators) by the keep-3-and-3 rule.
fn mask_run(run: &str, out: &mut String) {
    let n = run.bytes().filter(u8::is_ascii_digit).count();
    let keep = visible_each_side(n);
    let mut seen = 0;
    for c in run.chars() {
        if c.is_ascii_digit() {
            seen += 1;
            if seen <= keep || seen > n - keep {
                out.push(c);
            } else {
                out.push('*');
            }
        } else {
            out.push(c);
        }
    }
}

/// Masks a phone-number field (`from`/`to`). Every digit run is masked, whatever its length.
pub fn mask_phone(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    let mut run_start: Option<usize> = None;
    for (i, c) in value.char_indices() {
        match (c.is_ascii_digit(), run_start) {
            (true, None) => run_start = Some(i),
            (false, Some(start)) => {
                mask_run(&value[start..i], &mut out);
                run_start = None;
                out.push(c);
            }
            (false, None) => out.push(c),
            (true, Some(_)) => {}
        }
    }
    if let Some(start) = run_start {
        mask_run(&value[start..], &mut out);
    }
    out
}

/// Minimum digits for a run inside free text to count as phone-like.
pub const PHONE_LIKE_MIN_DIGITS: usize = 7;

fn is_separator(b: u8) -> bool {
    matches!(b, b' ' | b'-' | b'.' | b'(' | b')')
}

/// Finds the end (exclusive) of the phone-like candidate that starts with a digit at
/// `start`, and the number of digits in it. Separators are single characters between
/// digit groups (up to three of them, so `(020) 123` and `12 - 34` stay one run).
fn scan_run(bytes: &[u8], start: usize) -> (usize, usize) {
    let mut end = start;
    let mut digits = 0;
    let mut i = start;
    while i < bytes.len() {
        if bytes[i].is_ascii_digit() {
            digits += 1;
            i += 1;
            end = i;
            continue;
        }
        // Up to three separator characters (` - `), then a digit must follow.
        let mut j = i;
        while j < bytes.len() && j - i < 3 && is_separator(bytes[j]) {
            j += 1;
        }
        if j > i && j < bytes.len() && bytes[j].is_ascii_digit() {
            i = j;
        } else {
            break;
        }
    }
    (end, digits)
}

/// Masks every phone-like digit run inside free text, keeping everything else.
pub fn mask_text(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = String::with_capacity(text.len());
    let mut copied = 0;
    let mut i = 0;
    while i < bytes.len() {
        let starts_run = bytes[i].is_ascii_digit() && (i == 0 || !bytes[i - 1].is_ascii_digit());
        if !starts_run {
            i += 1;
            continue;
        }
        let (end, digits) = scan_run(bytes, i);
        if digits >= PHONE_LIKE_MIN_DIGITS {
            // All indices are at ASCII bytes, so these are char boundaries.
            out.push_str(&text[copied..i]);
            mask_run(&text[i..end], &mut out);
            copied = end;
        }
        i = end.max(i + 1);
    }
    out.push_str(&text[copied..]);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn spec_examples() {
        assert_eq!(mask_phone("+31612345678"), "+316*****678");
        assert_eq!(mask_phone("+31850012345"), "+318*****345");
    }

    #[test]
    fn short_and_odd_phone_fields() {
        assert_eq!(mask_phone("+12345678"), "+12****78");
        assert_eq!(mask_phone("+1234567890"), "+123****890");
        assert_eq!(mask_phone("+123456789012345"), "+123*********345");
        assert_eq!(mask_phone("112"), "***");
        assert_eq!(mask_phone("12345"), "*****");
        assert_eq!(mask_phone("123456"), "1****6");
        assert_eq!(mask_phone(""), "");
        assert_eq!(mask_phone("anonymous"), "anonymous");
        assert_eq!(
            mask_phone("sip:+31612345678@pbx.example.com"),
            "sip:+316*****678@pbx.example.com"
        );
        assert_eq!(mask_phone("tel:+31-6-1234-5678"), "tel:+**-*-****-****");
        assert_eq!(mask_phone("0612345678"), "061****678");
    }

    #[test]
    fn text_runs_with_separators() {
        assert_eq!(
            mask_text("call me on +31 6 1234 5678 please"),
            "call me on +31 6 **** *678 please"
        );
        assert_eq!(mask_text("it's 06-12345678."), "it's 06-1****678.");
        assert_eq!(mask_text("(020) 555 0199"), "(020) *** *199");
        assert_eq!(mask_text("1 2 3 4 5 6 7"), "1 * * * * * 7");
        assert_eq!(
            mask_text("at 10:30 for 2 people, order 123456"),
            "at 10:30 for 2 people, order 123456"
        );
        assert_eq!(mask_text("no digits"), "no digits");
        assert_eq!(mask_text("ünïcode 0612345678 ✓"), "ünïcode 061****678 ✓");
    }

    fn digits_of(s: &str) -> String {
        s.chars().filter(char::is_ascii_digit).collect()
    }

    proptest! {
        #[test]
        fn e164_never_survives_a_phone_field(d in "[1-9][0-9]{7,14}") {
            let n = format!("+{d}");
            let masked = mask_phone(&n);
            prop_assert_eq!(masked.len(), n.len());
            prop_assert!(masked.matches('*').count() >= 4);
            prop_assert!(!digits_of(&masked).contains(&d));
        }

        #[test]
        fn embedded_numbers_never_survive_text(
            before in "[a-z ,]{0,20}", d in "[1-9][0-9]{7,14}", after in "[a-z ,.]{0,20}",
            sep in prop::sample::select(vec!["", " ", "-", ".", " - "]),
        ) {
            // Spoken or written with separators every few digits.
            let spaced: String = d.chars().enumerate().flat_map(|(i, c)| {
                let s = if i > 0 && i % 3 == 0 { sep } else { "" };
                s.chars().chain(std::iter::once(c)).collect::<Vec<_>>()
            }).collect();
            let text = format!("{before}+{spaced}{after}");
            let masked = mask_text(&text);
            prop_assert!(!digits_of(&masked).contains(&d), "{} -> {}", text, masked);
        }

        #[test]
        fn text_masking_never_panics_and_keeps_length(s in "\\PC{0,60}") {
            let masked = mask_text(&s);
            prop_assert_eq!(masked.chars().count(), s.chars().count());
        }
    }
}
