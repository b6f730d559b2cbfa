//! E.164 parsing and the public view's masking: never panic; a parsed number prints back
//! as given and is never shown whole; masked text keeps no run of 7 digits.
#![no_main]

use callscope_shared::E164;
use callscope_shared::mask::{mask_phone, mask_text};
use libfuzzer_sys::fuzz_target;

fn longest_digit_run(text: &str) -> usize {
    text.split(|c: char| !c.is_ascii_digit())
        .map(str::len)
        .max()
        .unwrap_or(0)
}

fuzz_target!(|text: &str| {
    if let Ok(number) = text.parse::<E164>() {
        assert_eq!(number.as_str(), text);
        assert_ne!(mask_phone(text), text, "a number is shown masked");
    }
    let masked = mask_text(text);
    assert!(longest_digit_run(&masked) < 7, "{text:?} → {masked:?}");
    let _ = mask_phone(text);
});
