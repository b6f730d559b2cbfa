//! Case-insensitive search over the transcript. The text of every turn is folded once
//! (one lower-case char per char, so positions map back to the original); each query is
//! then a plain scan, fast enough for thousands of turns without freezing the page.

/// The folded text of every turn.
pub struct Index {
    turns: Vec<Vec<char>>,
}

/// One turn with matches: its index and the char ranges of its non-overlapping matches.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hit {
    pub turn: usize,
    pub ranges: Vec<(usize, usize)>,
}

/// The result of one query.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Found {
    pub hits: Vec<Hit>,
    /// Matches over all turns.
    pub count: usize,
}

/// Lower-cases one char to one char (the first of its lower-case mapping).
fn fold(c: char) -> char {
    if c.is_ascii() {
        c.to_ascii_lowercase()
    } else {
        c.to_lowercase().next().unwrap_or(c)
    }
}

/// The query as it is searched for: folded, with surrounding white space trimmed.
pub fn normalize(query: &str) -> Vec<char> {
    query.trim().chars().map(fold).collect()
}

/// Non-overlapping matches of `needle` in `hay`, as char ranges.
fn ranges(hay: &[char], needle: &[char]) -> Vec<(usize, usize)> {
    let mut out = Vec::new();
    if needle.is_empty() || needle.len() > hay.len() {
        return out;
    }
    let mut i = 0;
    while i + needle.len() <= hay.len() {
        if hay[i] == needle[0] && hay[i..i + needle.len()] == *needle {
            out.push((i, i + needle.len()));
            i += needle.len();
        } else {
            i += 1;
        }
    }
    out
}

impl Index {
    pub fn new<'a>(texts: impl IntoIterator<Item = &'a str>) -> Index {
        Index {
            turns: texts
                .into_iter()
                .map(|t| t.chars().map(fold).collect())
                .collect(),
        }
    }

    /// Adds the text of the next turn (a live call's new turn).
    pub fn push(&mut self, text: &str) {
        self.turns.push(text.chars().map(fold).collect());
    }

    /// How many turns are indexed.
    pub fn len(&self) -> usize {
        self.turns.len()
    }

    pub fn is_empty(&self) -> bool {
        self.turns.is_empty()
    }

    /// Every match of `query` (case-insensitive); an empty query finds nothing.
    pub fn find(&self, query: &str) -> Found {
        self.find_from(query, 0)
    }

    /// Every match of `query` in turns `first` and after (the ones a live call added).
    pub fn find_from(&self, query: &str, first: usize) -> Found {
        let needle = normalize(query);
        let mut found = Found::default();
        if needle.is_empty() {
            return found;
        }
        for (turn, hay) in self.turns.iter().enumerate().skip(first) {
            let r = ranges(hay, &needle);
            if !r.is_empty() {
                found.count += r.len();
                found.hits.push(Hit { turn, ranges: r });
            }
        }
        found
    }
}

/// A piece of text to show, marked or not.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Piece {
    pub text: String,
    pub mark: bool,
}

/// Splits `text` into pieces at the char `ranges` (sorted, non-overlapping).
pub fn pieces(text: &str, ranges: &[(usize, usize)]) -> Vec<Piece> {
    let chars: Vec<char> = text.chars().collect();
    let mut out = Vec::with_capacity(ranges.len() * 2 + 1);
    let mut at = 0;
    for &(start, end) in ranges {
        let (start, end) = (start.min(chars.len()), end.min(chars.len()));
        if start > at {
            out.push(Piece {
                text: chars[at..start].iter().collect(),
                mark: false,
            });
        }
        if end > start {
            out.push(Piece {
                text: chars[start..end].iter().collect(),
                mark: true,
            });
        }
        at = end.max(at);
    }
    if at < chars.len() || out.is_empty() {
        out.push(Piece {
            text: chars[at.min(chars.len())..].iter().collect(),
            mark: false,
        });
    }
    out
}

/// `3 matches in 2 turns`, `No matches`.
pub fn summary(found: &Found) -> String {
    summary_of(found.count, found.hits.len())
}

/// [`summary`] from the counts: `matches` over `turns` turns.
pub fn summary_of(matches: usize, turns: usize) -> String {
    if matches == 0 {
        return "No matches".to_owned();
    }
    format!(
        "{} in {}",
        crate::format::plural(matches, "match", "matches"),
        crate::format::plural(turns, "turn", "turns")
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn turns_added_later_are_searched_from_where_they_start() {
        let mut index = Index::new(["A claim", "nothing"]);
        index.push("Another CLAIM, claim");
        assert_eq!(index.len(), 3);
        let later = index.find_from("claim", 2);
        assert_eq!(later.count, 2);
        assert_eq!(later.hits.len(), 1);
        assert_eq!(later.hits[0].turn, 2);
        assert_eq!(index.find("claim").count, 3);
        assert_eq!(summary_of(3, 2), "3 matches in 2 turns");
    }

    fn index() -> Index {
        Index::new([
            "Hello, how can I help?",
            "I need to file a claim. A CLAIM for my car.",
            "Ünïcode ÄRGER über alles",
            "",
        ])
    }

    #[test]
    fn finds_case_insensitive_matches_and_counts_them() {
        let found = index().find("claim");
        assert_eq!(found.count, 2);
        assert_eq!(found.hits.len(), 1);
        assert_eq!(found.hits[0].turn, 1);
        assert_eq!(found.hits[0].ranges, vec![(17, 22), (26, 31)]);
        assert_eq!(summary(&found), "2 matches in 1 turn");
    }

    #[test]
    fn folds_non_ascii_letters_too() {
        let found = index().find("ärger");
        assert_eq!(found.count, 1);
        assert_eq!(found.hits[0].ranges, vec![(8, 13)]);
    }

    #[test]
    fn empty_and_blank_queries_find_nothing_and_misses_say_so() {
        assert_eq!(index().find("").count, 0);
        assert_eq!(index().find("   ").count, 0);
        let none = index().find("zebra");
        assert_eq!(none.count, 0);
        assert_eq!(summary(&none), "No matches");
    }

    #[test]
    fn matches_do_not_overlap() {
        let idx = Index::new(["aaaa"]);
        assert_eq!(idx.find("aa").count, 2);
        assert_eq!(idx.find(" AA ").count, 2);
    }

    #[test]
    fn pieces_mark_exactly_the_ranges_in_the_original_text() {
        let p = pieces("A claim, a CLAIM", &[(2, 7), (11, 16)]);
        let shown: Vec<(&str, bool)> = p.iter().map(|p| (p.text.as_str(), p.mark)).collect();
        assert_eq!(
            shown,
            [
                ("A ", false),
                ("claim", true),
                (", a ", false),
                ("CLAIM", true)
            ]
        );
        assert_eq!(pieces("plain", &[]).len(), 1);
        assert_eq!(pieces("", &[]).len(), 1);
    }
}
