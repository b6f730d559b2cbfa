//! Masking of e-mail addresses in free text.
//!
//! Rule: keep the first character of the local part and of the domain's first label, write
//! `***` for the rest of each, drop any further labels and keep the top-level domain:
//! `jane.doe@example.com` → `j***@e***.com`, `jane+news@mail.corp.example.co.uk` →
//! `j***@m***.uk`. Decisions for the edge cases:
//! - Always three stars, so the length of a name is not shown.
//! - A local part or first label shorter than 3 characters shows no character at all:
//!   `jo@example.com` → `***@e***.com`, `jane@x.io` → `j***@***.io`.
//! - An address is recognised by its `@`: the local part is the run of letters, digits and
//!   combining marks (any script) and `.` `_` `%` `+` `-` before it, starting at its first
//!   letter or digit (so `"`, `'`, `<`, `(`, `:` and the like around an address stay, and a
//!   leading `.` or `-` is kept as text); the domain is two or more labels of letters,
//!   digits, combining marks and `-`, joined by `.` (or the ideographic and fullwidth full
//!   stops), whose last label has a letter (`python@3.11` is not an address). A sentence's
//!   final `.` is not part of the domain.
//! - Internationalised addresses (`пример@почта.рф`, `用户@例子.广告`) and punycode labels
//!   are masked the same way; the kept first character is one Unicode scalar value.
//! - Not recognised: quoted local parts (`"jane doe"@…`), IP-literal domains
//!   (`jane@[192.0.2.1]`), single-label domains (`jane@localhost`), and addresses spelled
//!   out (`jane at example dot com`) or percent-encoded (`jane%40example.com`).

/// Combining marks that `char::is_alphanumeric` leaves out (accents written as a separate
/// code point, joiners), which must not end a name.
fn is_mark(c: char) -> bool {
    matches!(
        c,
        '\u{0300}'..='\u{036F}'
            | '\u{1AB0}'..='\u{1AFF}'
            | '\u{1DC0}'..='\u{1DFF}'
            | '\u{200C}'..='\u{200D}'
            | '\u{20D0}'..='\u{20FF}'
            | '\u{FE00}'..='\u{FE0F}'
            | '\u{FE20}'..='\u{FE2F}'
    )
}

fn is_local_char(c: char) -> bool {
    c.is_alphanumeric() || is_mark(c) || matches!(c, '.' | '_' | '%' | '+' | '-')
}

fn is_label_char(c: char) -> bool {
    c.is_alphanumeric() || is_mark(c) || c == '-'
}

/// Full stops that separate domain labels (IDNA accepts the ideographic and fullwidth ones).
fn is_label_dot(c: char) -> bool {
    matches!(c, '.' | '\u{3002}' | '\u{FF0E}' | '\u{FF61}')
}

/// Where the local part ending at the end of `before` starts, if it has one.
fn local_part_start(before: &str) -> Option<usize> {
    let run_start = before
        .char_indices()
        .rev()
        .take_while(|&(_, c)| is_local_char(c))
        .last()?
        .0;
    let (first, _) = before[run_start..]
        .char_indices()
        .find(|&(_, c)| c.is_alphanumeric())?;
    Some(run_start + first)
}

/// The domain at the start of `after`: the end of its first label, the start of the dot
/// before its last label, and its end (byte offsets into `after`).
fn domain_at(after: &str) -> Option<(usize, usize, usize)> {
    // (start, end) of each label, and the dot before each label after the first.
    let mut labels: Vec<(usize, usize)> = Vec::new();
    let mut chars = after.char_indices().peekable();
    let mut start = 0;
    loop {
        let mut end = start;
        while let Some(&(i, c)) = chars.peek() {
            if !is_label_char(c) {
                break;
            }
            end = i + c.len_utf8();
            chars.next();
        }
        if end == start {
            break;
        }
        labels.push((start, end));
        match chars.next() {
            Some((i, c)) if is_label_dot(c) => {
                start = i + c.len_utf8();
                if !chars.peek().is_some_and(|&(_, c)| is_label_char(c)) {
                    break;
                }
            }
            _ => break,
        }
    }
    // The top-level domain has a letter; trailing labels without one are not part of it.
    while labels
        .last()
        .is_some_and(|&(s, e)| !after[s..e].chars().any(char::is_alphabetic))
    {
        labels.pop();
    }
    if labels.len() < 2 {
        return None;
    }
    let (first, last) = (labels[0], labels[labels.len() - 1]);
    let dot = after[..last.0].char_indices().next_back()?.0;
    Some((first.1, dot, last.1))
}

/// Writes the first character of `part` (if it has 3 or more) and `***`.
fn hide(part: &str, out: &mut String) {
    let mut chars = part.chars();
    if let (Some(first), 3..) = (chars.next(), part.chars().count()) {
        out.push(first);
    }
    out.push_str("***");
}

/// Masks every e-mail address in `text` by the rule above, keeping everything else.
pub fn mask_emails(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut copied = 0;
    for (at, _) in text.match_indices('@') {
        if at < copied {
            continue;
        }
        let Some(local) = local_part_start(&text[copied..at]).map(|s| copied + s) else {
            continue;
        };
        let domain = at + 1;
        let Some((first_end, dot, end)) = domain_at(&text[domain..]) else {
            continue;
        };
        out.push_str(&text[copied..local]);
        hide(&text[local..at], &mut out);
        out.push('@');
        hide(&text[domain..domain + first_end], &mut out);
        out.push_str(&text[domain + dot..domain + end]);
        copied = domain + end;
    }
    out.push_str(&text[copied..]);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn the_rule() {
        assert_eq!(mask_emails("jane.doe@example.com"), "j***@e***.com");
        assert_eq!(mask_emails("JANE@EXAMPLE.COM"), "J***@E***.COM");
        assert_eq!(mask_emails("jane+news@example.com"), "j***@e***.com");
        assert_eq!(
            mask_emails("jane_doe-1%x@mail.corp.example.co.uk"),
            "j***@m***.uk"
        );
        assert_eq!(mask_emails("0612345678@sms.example.nl"), "0***@s***.nl");
        assert_eq!(
            mask_emails("jane@xn--bcher-kva.example"),
            "j***@x***.example"
        );
        assert_eq!(mask_emails("jane@example.xn--p1ai"), "j***@e***.xn--p1ai");
    }

    #[test]
    fn short_parts_show_nothing() {
        assert_eq!(mask_emails("j@example.com"), "***@e***.com");
        assert_eq!(mask_emails("jo@example.com"), "***@e***.com");
        assert_eq!(mask_emails("joe@example.com"), "j***@e***.com");
        assert_eq!(mask_emails("jane@x.io"), "j***@***.io");
        assert_eq!(mask_emails("jane@ab.io"), "j***@***.io");
        assert_eq!(mask_emails("a@b.co"), "***@***.co");
    }

    #[test]
    fn unicode_addresses() {
        assert_eq!(mask_emails("пример@почта.рф"), "п***@п***.рф");
        assert_eq!(mask_emails("用户@例子.广告"), "***@***.广告");
        assert_eq!(mask_emails("josé@exämple.de"), "j***@e***.de");
        // A decomposed accent (e + U+0301) does not end the local part.
        assert_eq!(mask_emails("jose\u{301}@example.com"), "j***@e***.com");
        assert_eq!(mask_emails("jane@example。com"), "j***@e***。com");
        assert_eq!(mask_emails("राम@उदाहरण.भारत"), "र***@उ***.भारत");
    }

    #[test]
    fn addresses_inside_punctuation() {
        for (text, masked) in [
            (
                r#"{"email":"jane@example.com"}"#,
                r#"{"email":"j***@e***.com"}"#,
            ),
            (
                "{'email': 'jane@example.com'}",
                "{'email': 'j***@e***.com'}",
            ),
            ("<jane@example.com>", "<j***@e***.com>"),
            ("(jane@example.com)", "(j***@e***.com)"),
            ("«jane@example.com»", "«j***@e***.com»"),
            ("“jane@example.com”", "“j***@e***.com”"),
            ("Mail jane@example.com.", "Mail j***@e***.com."),
            (
                "jane@example.com, joe@example.org;",
                "j***@e***.com, j***@e***.org;",
            ),
            (
                "mailto:jane@example.com?subject=x",
                "mailto:j***@e***.com?subject=x",
            ),
            ("?email=jane@example.com&x=1", "?email=j***@e***.com&x=1"),
            ("…—jane@example.com!", "…—j***@e***.com!"),
            ("..jane@example.com", "..j***@e***.com"),
            ("is jane@example.com\nok", "is j***@e***.com\nok"),
        ] {
            assert_eq!(mask_emails(text), masked, "{text}");
        }
    }

    #[test]
    fn not_addresses() {
        for text in [
            "@jane",
            "jane@",
            "jane @ example.com",
            "jane@localhost",
            "python@3.11",
            "+@example.com",
            "jane@.com",
            "\"jane doe\"@",
            "j***@e***.com",
            "***@***.io",
            "no at sign",
            "",
        ] {
            assert_eq!(mask_emails(text), text, "{text}");
        }
        // Trailing labels without a letter are not part of the domain.
        assert_eq!(mask_emails("jane@example.com.42"), "j***@e***.com.42");
        // A second @ right after an address starts nothing new.
        assert_eq!(
            mask_emails("jane@example.com@evil.org"),
            "j***@e***.com@evil.org"
        );
    }

    proptest! {
        #[test]
        fn generated_addresses_never_survive(
            local in "[a-zA-Z0-9\u{e9}\u{444}\u{7528}][a-zA-Z0-9._\u{e9}\u{444}\u{7528}-]{0,15}(\\+[a-z0-9]{1,8})?",
            labels in prop::collection::vec("[a-z0-9\u{e4}\u{43f}\u{4f8b}][a-z0-9\u{e4}\u{43f}-]{0,10}", 1..4),
            tld in prop::sample::select(vec!["com", "nl", "co", "io", "рф", "广告", "xn--p1ai"]),
            (before, after) in prop::sample::select(vec![
                ("", ""), (" ", "."), ("\"", "\""), ("'", "'"), ("<", ">"), ("(", ")"),
                ("{\"to\":\"", "\"}"), ("mailto:", "?s=1"), ("e-mail: ", ", thanks"), ("«", "»"),
            ]),
        ) {
            let email = format!("{local}@{}.{tld}", labels.join("."));
            let text = format!("{before}{email}{after}");
            let masked = mask_emails(&text);
            let keep = |s: &str| if s.chars().count() >= 3 { s.chars().next().unwrap().to_string() } else { String::new() };
            let expected = format!("{before}{}***@{}***.{tld}{after}", keep(&local), keep(&labels[0]));
            prop_assert_eq!(&masked, &expected, "{}", text);
            prop_assert_eq!(mask_emails(&masked), masked.clone(), "idempotent");
        }

        #[test]
        fn never_panics_and_is_idempotent(s in "\\PC{0,60}") {
            let masked = mask_emails(&s);
            prop_assert_eq!(mask_emails(&masked), masked);
        }
    }
}
