//! Masking of phone numbers and e-mail addresses for the public debug view.
//!
//! Rule (DESIGN.md): keep `+`, the first 3 and the last 3 digits and write `*` for every
//! digit between: `+31612345678` → `+316*****678`. Decisions for the edge cases:
//! - A digit is any character Unicode counts as numeric: ASCII, fullwidth (`０`–`９`),
//!   Arabic-Indic, Devanagari and every other script's decimal digits (and, erring on the
//!   safe side, other numeric characters such as `²` or `Ⅻ`). Visible digits keep their
//!   script.
//! - At least 4 digits are always hidden, so short numbers keep fewer digits visible:
//!   `k = min(3, (n - 4) / 2)` digits stay visible at each end (n = number of digits);
//!   with 5 or fewer digits every digit is hidden.
//! - A value that is not E.164 (national format, SIP/tel URI, "anonymous") keeps its
//!   non-digit characters; every digit run in it is masked by the same rule, however short.
//! - In free text, a *phone-like run* is 7 or more digits, where up to three separator
//!   characters may stand between digit groups: any whitespace (including no-break and
//!   narrow no-break spaces), `-`, `.`, `,`, `/`, `_`, parentheses, Unicode dashes and
//!   their fullwidth forms. So `0612/345/678`, `06,12,34,56,78`, `06_1234_5678` and
//!   `0612 / 345678` are each one run. Each such run is masked by the rule above with its
//!   separators kept; shorter numbers (times, amounts, counts) are left as they are. Digit
//!   groups split only by separators count together, so a list such as `2019, 2020` or an
//!   amount like `1,250,000` is masked too: in a public view, masking too much is the
//!   safe mistake.
//! - E-mail addresses in free text are masked by [`email::mask_emails`] (rule there), before
//!   numbers, so an address made of digits is masked as an address.

pub mod email;

pub use email::mask_emails;

/// Whether `c` counts as a digit: any numeric character of any script.
fn is_digit(c: char) -> bool {
    c.is_numeric()
}

/// How many digits stay visible at each end of a run of `n` digits.
fn visible_each_side(n: usize) -> usize {
    n.saturating_sub(4).div_euclid(2).min(3)
}

/// Masks the digits of `run` (which may contain separators) by the keep-3-and-3 rule.
fn mask_run(run: &str, out: &mut String) {
    let n = run.chars().filter(|&c| is_digit(c)).count();
    let keep = visible_each_side(n);
    let mut seen = 0;
    for c in run.chars() {
        if is_digit(c) {
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
        match (is_digit(c), run_start) {
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

/// Most separator characters allowed between two digit groups of one run.
const MAX_GAP: usize = 3;

/// Characters that may stand between the digit groups of one number: whitespace, ASCII
/// `-.,/_()`, the Unicode hyphens and dashes (U+2010–2015), minus sign, middle dots
/// (U+00B7, U+30FB), small em dash and hyphen-minus, and fullwidth `( ) , - . / _`.
fn is_separator(c: char) -> bool {
    c.is_whitespace()
        || matches!(c, '-' | '.' | ',' | '/' | '_' | '(' | ')')
        || matches!(
            c,
            '\u{2010}'..='\u{2015}' | '\u{2212}' | '\u{00B7}' | '\u{30FB}'
        )
        || matches!(c, '\u{FE58}' | '\u{FE63}')
        || matches!(
            c,
            '\u{FF08}' | '\u{FF09}' | '\u{FF0C}'..='\u{FF0F}' | '\u{FF3F}'
        )
}

/// Finds the end (exclusive, an index into `chars`) of the phone-like candidate that starts
/// with a digit at `start`, and the number of digits in it. Separators are up to three
/// characters between digit groups (so `(020) 123`, `12 - 34` and `0612 / 345` stay one run).
fn scan_run(chars: &[(usize, char)], start: usize) -> (usize, usize) {
    let mut end = start;
    let mut digits = 0;
    let mut i = start;
    while i < chars.len() {
        if is_digit(chars[i].1) {
            digits += 1;
            i += 1;
            end = i;
            continue;
        }
        let mut j = i;
        while j < chars.len() && j - i < MAX_GAP && is_separator(chars[j].1) {
            j += 1;
        }
        if j > i && j < chars.len() && is_digit(chars[j].1) {
            i = j;
        } else {
            break;
        }
    }
    (end, digits)
}

/// Masks every phone-like digit run inside free text, keeping everything else (and the
/// length in characters).
pub fn mask_numbers(text: &str) -> String {
    let chars: Vec<(usize, char)> = text.char_indices().collect();
    let byte_at = |i: usize| chars.get(i).map_or(text.len(), |&(b, _)| b);
    let mut out = String::with_capacity(text.len());
    let mut copied = 0;
    let mut i = 0;
    while i < chars.len() {
        if !is_digit(chars[i].1) {
            i += 1;
            continue;
        }
        // Runs are consumed whole, so the character before `i` is not a digit.
        let (end, digits) = scan_run(&chars, i);
        if digits >= PHONE_LIKE_MIN_DIGITS {
            let (from, to) = (byte_at(i), byte_at(end));
            out.push_str(&text[copied..from]);
            mask_run(&text[from..to], &mut out);
            copied = to;
        }
        i = end;
    }
    out.push_str(&text[copied..]);
    out
}

/// Masks free text for the public view: e-mail addresses, then phone-like digit runs.
pub fn mask_text(text: &str) -> String {
    mask_numbers(&mask_emails(text))
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

    #[test]
    fn text_runs_with_other_separators() {
        for (text, masked) in [
            ("0612/345/678", "061*/***/678"),
            ("06,12,34,56,78", "06,1*,**,*6,78"),
            ("06_1234_5678", "06_1***_*678"),
            ("0612 / 345678", "061* / ***678"),
            (
                "06\u{a0}12\u{a0}34\u{a0}56\u{a0}78",
                "06\u{a0}1*\u{a0}**\u{a0}*6\u{a0}78",
            ),
            (
                "+31\u{202f}6\u{202f}1234\u{202f}5678",
                "+31\u{202f}6\u{202f}****\u{202f}*678",
            ),
            ("06\u{2013}12345678", "06\u{2013}1****678"),
            ("０６１２３４５６７８", "０６１****６７８"),
            ("tel ٠٦١٢٣٤٥٦٧٨.", "tel ٠٦١****٦٧٨."),
            ("०६१२३४५६७८", "०६१****६७८"),
            ("06１２345678", "06１****678"),
            ("（020）５５５ 0199", "（020）*** *199"),
        ] {
            assert_eq!(mask_text(text), masked, "{text}");
        }
        // Gaps of more than three separators end a run; short numbers stay.
        assert_eq!(mask_text("0612 -- / 345"), "0612 -- / 345");
        assert_eq!(mask_text("on 12/05, at 10:30"), "on 12/05, at 10:30");
        assert_eq!(mask_phone("+３１６１２３４５６７８"), "+３１６*****６７８");
    }

    #[test]
    fn text_masks_emails_before_numbers() {
        assert_eq!(
            mask_text("mail jane.doe@example.com or call 0612/345/678."),
            "mail j***@e***.com or call 061*/***/678."
        );
        assert_eq!(mask_text("0612345678@sms.example.nl"), "0***@s***.nl");
        assert_eq!(mask_text("jane0612345678@example.com"), "j***@e***.com");
    }

    /// Digit `d` (0–9) in the script whose zero is `zero`.
    fn in_script(zero: char, d: u32) -> char {
        char::from_u32(zero as u32 + d).unwrap()
    }

    /// Zeros of scripts whose decimal digits are 10 consecutive code points: ASCII,
    /// fullwidth, Arabic-Indic, Extended Arabic-Indic, Devanagari, Bengali, Thai, Myanmar,
    /// mathematical bold.
    const ZEROS: [char; 9] = [
        '0',
        '\u{FF10}',
        '\u{0660}',
        '\u{06F0}',
        '\u{0966}',
        '\u{09E6}',
        '\u{0E50}',
        '\u{1040}',
        '\u{1D7CE}',
    ];

    /// Separators a number may be written with, as the generator uses them.
    const SEPARATORS: [&str; 17] = [
        "", " ", "-", ".", " - ", "/", " / ", ",", ", ", "_", "(", ") ", "\u{a0}", "\u{202f}",
        "\u{2009}", "\u{2013}", "\u{ff0f}",
    ];

    /// The longest run of digits (any script) once the generator's separators are removed.
    fn longest_digit_run(s: &str) -> usize {
        let separators: Vec<char> = SEPARATORS.iter().flat_map(|s| s.chars()).collect();
        let mut longest = 0;
        let mut current = 0;
        for c in s.chars().filter(|c| !separators.contains(c)) {
            current = if c.is_numeric() { current + 1 } else { 0 };
            longest = longest.max(current);
        }
        longest
    }

    fn digits_of(s: &str) -> String {
        s.chars()
            .filter_map(|c| {
                ZEROS
                    .iter()
                    .find_map(|&z| (c as u32).checked_sub(z as u32).filter(|d| *d < 10))
                    .map(|d| char::from_digit(d, 10).unwrap())
            })
            .collect()
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
            before in "[a-z ,]{0,20}", d in "[1-9][0-9]{6,14}", after in "[a-z ,.]{0,20}",
            plus in any::<bool>(),
            group in 1usize..=4,
            seps in prop::collection::vec(prop::sample::select(SEPARATORS.to_vec()), 15),
            scripts in prop_oneof![
                prop::sample::select(ZEROS.to_vec()).prop_map(|z| vec![z; 15]),
                prop::collection::vec(prop::sample::select(ZEROS.to_vec()), 15),
            ],
        ) {
            // Written or spoken in any script, with separators every few digits.
            let mut number = String::from(if plus { "+" } else { "" });
            for (i, c) in d.chars().enumerate() {
                if i > 0 && i % group == 0 {
                    number.push_str(seps[i]);
                }
                number.push(in_script(scripts[i], c.to_digit(10).unwrap()));
            }
            let text = format!("{before}{number}{after}");
            let masked = mask_text(&text);
            prop_assert!(longest_digit_run(&masked) < PHONE_LIKE_MIN_DIGITS, "{} -> {}", text, masked);
            prop_assert!(!digits_of(&masked).contains(&d), "{} -> {}", text, masked);
            prop_assert_eq!(masked.chars().count(), text.chars().count());
        }

        #[test]
        fn number_masking_never_panics_and_keeps_length(s in "\\PC{0,60}") {
            let masked = mask_numbers(&s);
            prop_assert_eq!(masked.chars().count(), s.chars().count());
        }

        #[test]
        fn text_masking_is_idempotent(s in "[a-z0-9@. ,/_\u{a0}０-９-]{0,60}") {
            let masked = mask_text(&s);
            prop_assert_eq!(mask_text(&masked), masked);
        }
    }
}
