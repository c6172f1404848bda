//! Full-text search (soju.im/search): the query type and how a person's words become
//! a full-text query that neither FTS5 nor `tsquery` can misread.
//!
//! The text is never handed to the database's query parser as typed. It is cut into
//! words (runs of letters and digits, lowercased — what SQLite's `unicode61`
//! tokenizer and PostgreSQL's `simple` configuration index), and only those words go
//! into the query, each quoted for FTS5 and bare for `tsquery`, where they hold
//! nothing but letters and digits. So `"`, `*`, `:`, `&`, `|`, `!`, `(`, `NEAR`, `OR`
//! and friends are plain separators or plain words, never syntax.

use crate::types::{Timestamp, casefold};

/// At most this many words of a query are used; the rest are ignored (a bound on
/// the work one query can cause).
pub const MAX_TERMS: usize = 16;

/// A conversation a search may look into.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SearchTarget {
    /// The conversation key: a channel key or a [`dm_key`](crate::dm_key).
    pub key: String,
    /// Messages earlier than this time are hidden from this reader (one at exactly
    /// this time is visible); `None` hides nothing.
    pub visible_from: Option<Timestamp>,
}

impl SearchTarget {
    /// `key` with nothing hidden.
    pub fn all(key: impl Into<String>) -> SearchTarget {
        SearchTarget { key: key.into(), visible_from: None }
    }
}

/// One search: what to match and, for privacy, where it may look.
///
/// Every condition given must hold. The scope is the union of `targets` and the
/// conversations of `participant`; an empty scope finds nothing. To search one
/// conversation (`in=`), pass only it in `targets` and no `participant`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SearchQuery {
    /// Conversations the reader may read, each with its visibility bound.
    pub targets: Vec<SearchTarget>,
    /// Also every direct conversation this participant takes part in (casefolded
    /// account, or `~nick` for a guest, as in [`dm_key`](crate::dm_key)), entirely.
    pub participant: Option<String>,
    /// Words that must all occur in the text (see [`search_terms`]). `None` matches
    /// any text; a text without a single word matches nothing.
    pub text: Option<String>,
    /// Only messages from this nick (the nick of the stored `nick!user@host`) or
    /// account, compared casefolded.
    pub sender: Option<String>,
    /// Only messages at or after this time.
    pub after: Option<Timestamp>,
    /// Only messages at or before this time.
    pub before: Option<Timestamp>,
    /// At most this many results; 0 returns nothing.
    pub limit: usize,
}

/// The words of `text` that a search matches: runs of letters and digits,
/// lowercased, each once, in order of appearance, at most [`MAX_TERMS`].
///
/// Each matches whole words only, not as a prefix: an FTS5 prefix query merges the
/// doclists of every word it covers before it can return the first row, which made
/// a search of a common prefix over 1,000,000 messages take hundreds of
/// milliseconds (see docs/performance.md, "Search").
pub fn search_terms(text: &str) -> Vec<String> {
    let mut terms: Vec<String> = Vec::new();
    for word in text.split(|c: char| !c.is_alphanumeric()).filter(|w| !w.is_empty()) {
        let word = word.to_lowercase();
        if !terms.contains(&word) {
            terms.push(word);
        }
        if terms.len() == MAX_TERMS {
            break;
        }
    }
    terms
}

/// An FTS5 MATCH expression for `q` with its words `terms`: every term in the text
/// column, the scope's tokens in the scope column, the sender's token in the sender
/// column (as migration 0007 indexes them), e.g.
/// `{text}: ("fast" "is") AND {scope}: ("t2361" OR "p616c696365")`.
/// Terms are quoted strings (FTS5 reads nothing inside quotes as syntax, and terms
/// hold no `"`); tokens are the lowercase hex of the casefolded UTF-8 (SQLite's
/// `hex()`, folded as FTS5 folds it).
pub(crate) fn fts5_query(q: &SearchQuery, terms: &[String]) -> String {
    let words: Vec<String> = terms.iter().map(|t| format!("\"{t}\"")).collect();
    let mut scope: Vec<String> = q.targets.iter().map(|t| format!("\"t{}\"", hex::encode(casefold(&t.key)))).collect();
    if let Some(me) = &q.participant {
        scope.push(format!("\"p{}\"", hex::encode(casefold(me))));
    }
    let mut out = format!("{{text}}: ({}) AND {{scope}}: ({})", words.join(" "), scope.join(" OR "));
    if let Some(sender) = &q.sender {
        out.push_str(&format!(" AND {{sender}}: \"{}\"", hex::encode(casefold(sender))));
    }
    out
}

/// A `to_tsquery('simple', …)` expression requiring every term: `fast & is`.
/// Terms hold only letters and digits, which `tsquery` reads as plain lexemes.
pub(crate) fn tsquery(_q: &SearchQuery, terms: &[String]) -> String {
    terms.join(" & ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn terms_are_words_lowercased_once() {
        assert_eq!(search_terms("That was FAST! fast?"), ["that", "was", "fast"]);
        assert_eq!(search_terms("héllo wörld"), ["héllo", "wörld"]);
        assert!(search_terms(" \"*:&|!() ").is_empty());
        assert_eq!(search_terms(&"w ".repeat(3)), ["w"]);
        let many: String = (0..40).map(|i| format!("w{i} ")).collect();
        assert_eq!(search_terms(&many).len(), MAX_TERMS);
    }

    #[test]
    fn syntax_characters_never_reach_the_query() {
        let terms = search_terms("a\"b OR c* NEAR(d) e:f & g | !h 'i' -j ^k");
        assert_eq!(terms, ["a", "b", "or", "c", "near", "d", "e", "f", "g", "h", "i", "j", "k"]);
        let q = SearchQuery {
            targets: vec![SearchTarget::all("#A")],
            participant: Some("Al".into()),
            sender: Some("BOB".into()),
            ..SearchQuery::default()
        };
        assert_eq!(
            fts5_query(&q, &search_terms("fast is")),
            "{text}: (\"fast\" \"is\") AND {scope}: (\"t2361\" OR \"p616c\") AND {sender}: \"626f62\""
        );
        assert_eq!(tsquery(&q, &search_terms("fast is")), "fast & is");
    }
}
