//! The SQL of [`Store::search`](crate::Store::search), built once for both dialects.
//!
//! Only the full-text match differs between SQLite (an FTS5 table joined by rowid)
//! and PostgreSQL (a generated `tsvector` column): each backend describes its part in
//! a [`TextMatch`]; the scope, sender, time and order clauses are shared.
//!
//! Why the order is `seq` (stored order), not `(time, seq)`: FTS5 hands out matches
//! in rowid order, so `ORDER BY rowid DESC LIMIT n` stops after `n` matches in
//! scope instead of collecting and sorting every message containing a common word.
//! The journal stores messages in the order the server timed them, so the two orders
//! agree; the rows are sorted by time afterwards anyway.

use crate::search::{SearchQuery, search_terms};

/// A bind parameter of the search statement.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Arg {
    Text(String),
    Int(i64),
}

/// How one dialect matches text.
pub(crate) struct TextMatch {
    /// The FROM clause when there is text to match; messages are `m`.
    pub from: &'static str,
    /// The match condition; `$?` stands for the placeholder of the query string.
    pub condition: &'static str,
    /// What to order by, in stored order, when there is text to match.
    pub order: &'static str,
    /// The query string from the search and its words (never empty).
    pub query: fn(&SearchQuery, &[String]) -> String,
}

/// The statement and its binds, or `None` when nothing can match (empty scope,
/// a text without words, a zero limit).
pub(crate) fn search_sql(q: &SearchQuery, dialect: &TextMatch) -> Option<(String, Vec<Arg>)> {
    if q.limit == 0 || (q.targets.is_empty() && q.participant.is_none()) {
        return None;
    }
    let mut args = Vec::new();
    let mut arg = |a: Arg| {
        args.push(a);
        format!("${}", args.len())
    };
    let mut conditions = vec!["m.command IN ('PRIVMSG', 'NOTICE')".to_string()];

    // Full-text first: its placeholder is then $1 in both dialects.
    let (from, order) = match &q.text {
        Some(text) => {
            let terms = search_terms(text);
            if terms.is_empty() {
                return None;
            }
            let p = arg(Arg::Text((dialect.query)(q, &terms)));
            conditions.push(dialect.condition.replace("$?", &p));
            (dialect.from, dialect.order)
        }
        None => ("messages m", "m.seq"),
    };

    // The scope: whole targets, targets from a time on, the participant's conversations.
    let mut scope = Vec::new();
    let whole: Vec<String> = q
        .targets
        .iter()
        .filter(|t| t.visible_from.is_none())
        .map(|t| arg(Arg::Text(crate::casefold(&t.key))))
        .collect();
    if !whole.is_empty() {
        scope.push(format!("m.target IN ({})", whole.join(", ")));
    }
    for t in q.targets.iter().filter(|t| t.visible_from.is_some()) {
        let key = arg(Arg::Text(crate::casefold(&t.key)));
        let from = arg(Arg::Int(t.visible_from.map_or(i64::MIN, |f| f.0)));
        scope.push(format!("(m.target = {key} AND m.time >= {from})"));
    }
    if let Some(me) = &q.participant {
        let me = arg(Arg::Text(crate::casefold(me)));
        scope.push(format!("m.target IN (SELECT target FROM dm_targets WHERE participant = {me})"));
    }
    conditions.push(format!("({})", scope.join(" OR ")));

    if let Some(sender) = &q.sender {
        let nick = crate::casefold(sender);
        let mask = format!("{}!%", like_escape(&nick));
        let (a, b) = (arg(Arg::Text(nick)), arg(Arg::Text(mask)));
        conditions.push(format!(
            "(lower(m.sender) = {a} OR lower(m.sender) LIKE {b} ESCAPE '\\' OR lower(m.sender_account) = {a})"
        ));
    }
    if let Some(after) = q.after {
        conditions.push(format!("m.time >= {}", arg(Arg::Int(after.0))));
    }
    if let Some(before) = q.before {
        conditions.push(format!("m.time <= {}", arg(Arg::Int(before.0))));
    }
    // soju.im/search: "If `after` is specified, messages SHOULD be searched from that
    // time. Otherwise, messages SHOULD be searched from the `before` time".
    let direction = if q.after.is_some() { "ASC" } else { "DESC" };
    let limit = arg(Arg::Int(i64::try_from(q.limit).unwrap_or(i64::MAX)));
    let sql = format!(
        "SELECT {cols} FROM {from} WHERE {conds} ORDER BY {order} {direction} LIMIT {limit}",
        cols = crate::sql::MSG_COLUMNS_M,
        conds = conditions.join(" AND "),
    );
    Some((sql, args))
}

/// `s` with LIKE's wildcards and escape character escaped by `\`.
fn like_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if matches!(c, '\\' | '%' | '_') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::search::SearchTarget;
    use crate::types::Timestamp;

    const DIALECT: TextMatch =
        TextMatch { from: "f JOIN messages m", condition: "f MATCH $?", order: "f.rowid", query: |_, t| t.join(" ") };

    #[test]
    fn nothing_to_find_is_no_statement() {
        let q = SearchQuery { limit: 10, ..Default::default() };
        assert!(search_sql(&q, &DIALECT).is_none(), "empty scope");
        let q = SearchQuery { targets: vec![SearchTarget::all("#a")], text: Some("?!".into()), limit: 10, ..q };
        assert!(search_sql(&q, &DIALECT).is_none(), "no words");
    }

    #[test]
    fn every_value_is_a_bind_parameter() {
        let q = SearchQuery {
            targets: vec![SearchTarget::all("#A"), SearchTarget { key: "#b".into(), visible_from: Some(Timestamp(5)) }],
            participant: Some("alice".into()),
            text: Some("Hello' OR 1=1 --".into()),
            sender: Some("we_ird\\%".into()),
            after: Some(Timestamp(1)),
            before: None,
            limit: 7,
        };
        let (sql, args) = search_sql(&q, &DIALECT).unwrap();
        assert!(sql.contains("f MATCH $1"), "{sql}");
        assert!(sql.contains("m.target IN ($2)") && sql.contains("(m.target = $3 AND m.time >= $4)"), "{sql}");
        assert!(sql.ends_with("ORDER BY f.rowid ASC LIMIT $9"), "{sql}");
        assert!(!sql.contains("Hello") && !sql.contains("we_ird"));
        assert_eq!(args[0], Arg::Text("hello or 1".into()));
        assert_eq!(args[1], Arg::Text("#a".into()));
        assert_eq!(args[6], Arg::Text("we\\_ird\\\\\\%!%".into()));
    }
}
