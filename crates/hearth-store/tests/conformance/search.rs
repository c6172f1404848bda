//! Full-text search (soju.im/search): matching, filters, scope, and that deleted
//! history is never found.

use std::sync::Arc;

use hearth_store::{Retention, SearchQuery, SearchTarget, Store, StoredMessage, Timestamp, dm_key};

use super::{ids, msg};

/// A message `id` on `target` at `time` with `text`, from `nick` (account `nick`).
fn said(id: &str, target: &str, time: i64, nick: &str, text: &str) -> StoredMessage {
    let mut m = msg(id, target, time);
    m.sender = format!("{nick}!u@example.org");
    m.sender_account = Some(nick.to_owned());
    m.text = text.to_owned();
    m
}

/// A query for `text` over whole `targets`, limit 100.
fn find(text: &str, targets: &[&str]) -> SearchQuery {
    SearchQuery {
        targets: targets.iter().map(|t| SearchTarget::all(*t)).collect(),
        text: Some(text.to_owned()),
        limit: 100,
        ..SearchQuery::default()
    }
}

async fn found(store: &dyn Store, q: &SearchQuery) -> Vec<String> {
    ids(&store.search(q).await.unwrap())
}

/// On `#a`: a1 "That was fast!" (bill), a2 "Fasting is hard." (jackie), a3 "slow
/// and steady" (bill), a4 "FAST food" (jackie); on `#b`: b1 "fast lane" (bill).
async fn corpus(store: &dyn Store) {
    let rows = [
        said("a1", "#a", 10, "bill", "That was fast!"),
        said("a2", "#a", 20, "jackie", "Fasting is hard."),
        said("a3", "#a", 30, "bill", "slow and steady"),
        said("b1", "#b", 35, "bill", "fast lane"),
        said("a4", "#a", 40, "jackie", "FAST food"),
    ];
    assert_eq!(store.append(&rows).await.unwrap(), 5);
}

pub async fn search_matches_words_case_folded_and_chronological(store: Arc<dyn Store>) {
    corpus(&*store).await;
    // Whole words, case-insensitive: "fast" is not "Fasting".
    assert_eq!(found(&*store, &find("fast", &["#a"])).await, ["a1", "a4"]);
    assert_eq!(found(&*store, &find("FAST", &["#A"])).await, ["a1", "a4"], "case-insensitive");
    assert_eq!(found(&*store, &find("fasting", &["#a"])).await, ["a2"]);
    // Every word must occur.
    assert_eq!(found(&*store, &find("fast food", &["#a"])).await, ["a4"]);
    assert_eq!(found(&*store, &find("slow steady", &["#a"])).await, ["a3"]);
    assert!(found(&*store, &find("slow food", &["#a"])).await.is_empty());
    // Not a prefix either: "is" is not "island".
    store.append(&[said("a5", "#a", 50, "bill", "island")]).await.unwrap();
    assert_eq!(found(&*store, &find("is", &["#a"])).await, ["a2"]);
    // Every field round-trips.
    let got = store.search(&find("steady", &["#a"])).await.unwrap();
    assert_eq!(got, [said("a3", "#a", 30, "bill", "slow and steady")]);
}

pub async fn search_finds_only_privmsg_and_notice(store: Arc<dyn Store>) {
    let mut notice = said("n", "#a", 1, "bill", "needle notice");
    notice.command = "NOTICE".into();
    let mut part = said("p", "#a", 2, "bill", "needle in the reason");
    part.command = "PART".into();
    let mut tag = said("t", "#a", 3, "bill", "");
    tag.command = "TAGMSG".into();
    store.append(&[notice, part, tag, said("m", "#a", 4, "bill", "needle")]).await.unwrap();
    assert_eq!(found(&*store, &find("needle", &["#a"])).await, ["n", "m"]);
    let any = SearchQuery { text: None, ..find("", &["#a"]) };
    assert_eq!(found(&*store, &any).await, ["n", "m"], "no text: every message, still no events");
}

/// A batch is indexed as a whole (SQLite: one statement after the rows, not a trigger
/// per row): a replayed batch (the journal after a crash) adds nothing twice, a batch
/// mixing old and new rows indexes only the new, and later batches are found too.
pub async fn search_indexes_each_message_once_across_replays(store: Arc<dyn Store>) {
    let first = [said("r1", "#a", 1, "bill", "needle one"), said("r2", "#a", 2, "bill", "needle two")];
    assert_eq!(store.append(&first).await.unwrap(), 2);
    assert_eq!(store.append(&first).await.unwrap(), 0, "a replay stores nothing");
    let mixed = [said("r2", "#a", 2, "bill", "needle two"), said("r3", "#a", 3, "jackie", "needle three")];
    assert_eq!(store.append(&mixed).await.unwrap(), 1);
    assert_eq!(found(&*store, &find("needle", &["#a"])).await, ["r1", "r2", "r3"]);
    assert_eq!(found(&*store, &find("three", &["#a"])).await, ["r3"]);
    // The sender's tokens come with the batch as well.
    let by_jackie = SearchQuery { sender: Some("jackie".into()), ..find("needle", &["#a"]) };
    assert_eq!(found(&*store, &by_jackie).await, ["r3"]);
    // A private conversation is indexed with its participants' scope.
    let key = dm_key("bill", "jackie");
    store.append(&[said("d1", &key, 4, "bill", "needle private")]).await.unwrap();
    assert_eq!(found(&*store, &find("needle", &[key.as_str()])).await, ["d1"]);
}

pub async fn search_filters_sender_time_and_limit(store: Arc<dyn Store>) {
    corpus(&*store).await;
    let both = ["#a", "#b"];
    // The sender by nick (of the stored nick!user@host) or by account, casefolded.
    let from = |who: &str| SearchQuery { sender: Some(who.into()), ..find("fast", &both) };
    assert_eq!(found(&*store, &from("BILL")).await, ["a1", "b1"]);
    let mut by_account = said("a6", "#a", 60, "other", "fast again");
    by_account.sender_account = Some("Jackie".into());
    store.append(&[by_account]).await.unwrap();
    assert_eq!(found(&*store, &from("jackie")).await, ["a4", "a6"]);
    assert!(found(&*store, &from("bil")).await.is_empty(), "a nick matches whole");
    assert!(found(&*store, &from("b%")).await.is_empty(), "LIKE wildcards are plain characters");

    // Time bounds are inclusive.
    let window = SearchQuery { after: Some(Timestamp(20)), before: Some(Timestamp(35)), ..find("fast", &both) };
    assert_eq!(found(&*store, &window).await, ["b1"]);
    let before = SearchQuery { before: Some(Timestamp(35)), ..find("fast", &both) };
    assert_eq!(found(&*store, &before).await, ["a1", "b1"]);

    // The limit keeps the latest matches, or the earliest ones from `after`.
    let latest = SearchQuery { limit: 2, ..find("fast", &both) };
    assert_eq!(found(&*store, &latest).await, ["a4", "a6"]);
    let earliest = SearchQuery { limit: 2, after: Some(Timestamp(0)), ..find("fast", &both) };
    assert_eq!(found(&*store, &earliest).await, ["a1", "b1"]);
    let none = SearchQuery { limit: 0, ..find("fast", &both) };
    assert!(found(&*store, &none).await.is_empty());
}

pub async fn search_stays_inside_its_scope(store: Arc<dyn Store>) {
    corpus(&*store).await;
    let ab = dm_key("alice", "bob");
    let bc = dm_key("bob", "carol");
    let guest = dm_key("~dave", "alice");
    store
        .append(&[
            said("d1", &ab, 50, "alice", "fast secret of alice and bob"),
            said("d2", &bc, 51, "bob", "fast secret of bob and carol"),
            said("d3", &guest, 52, "dave", "fast secret of a guest"),
        ])
        .await
        .unwrap();
    // Only the targets given.
    assert_eq!(found(&*store, &find("fast", &["#b"])).await, ["b1"]);
    assert!(found(&*store, &find("fast", &[])).await.is_empty(), "an empty scope finds nothing");
    // The participant's own conversations, and nobody else's.
    let alice = SearchQuery { participant: Some("Alice".into()), ..find("secret", &[]) };
    assert_eq!(found(&*store, &alice).await, ["d1", "d3"]);
    let carol = SearchQuery { participant: Some("carol".into()), ..find("secret", &["#a"]) };
    assert_eq!(found(&*store, &carol).await, ["d2"]);
    let dave = SearchQuery { participant: Some("~dave".into()), ..find("secret", &[]) };
    assert_eq!(found(&*store, &dave).await, ["d3"]);
    // A target visible from a time on: nothing from before it (that time included).
    let joined = SearchQuery {
        targets: vec![SearchTarget { key: "#A".into(), visible_from: Some(Timestamp(20)) }, SearchTarget::all("#b")],
        ..find("fast", &[])
    };
    assert_eq!(found(&*store, &joined).await, ["b1", "a4"]);
    let later = SearchQuery {
        targets: vec![SearchTarget { key: "#a".into(), visible_from: Some(Timestamp(41)) }],
        ..find("fast", &[])
    };
    assert!(found(&*store, &later).await.is_empty());
}

pub async fn search_never_finds_purged_redacted_or_trimmed_messages(store: Arc<dyn Store>) {
    corpus(&*store).await;
    assert!(store.redact("#a", "a4").await.unwrap());
    assert_eq!(found(&*store, &find("fast", &["#a"])).await, ["a1"]);
    store.append(&[said("a5", "#a", 45, "bill", "fast again")]).await.unwrap();
    store.purge(Some("#a"), Some(Timestamp(15))).await.unwrap();
    assert_eq!(found(&*store, &find("fast", &["#a"])).await, ["a5"]);
    // Trim keeps the newest message per target.
    store.trim(&Retention { max_age: None, max_per_target: Some(1) }, Timestamp(100)).await.unwrap();
    assert_eq!(found(&*store, &find("slow", &["#a"])).await, Vec::<String>::new());
    assert_eq!(found(&*store, &find("fast", &["#a", "#b"])).await, ["b1", "a5"]);
    // A renamed room's messages are found under the new key only.
    store.rename_history("#a", "#Renamed").await.unwrap();
    assert!(found(&*store, &find("again", &["#a"])).await.is_empty());
    assert_eq!(found(&*store, &find("again", &["#renamed"])).await, ["a5"]);
    store.purge(None, None).await.unwrap();
    assert!(found(&*store, &find("fast", &["#a", "#b", "#renamed"])).await.is_empty());
    // The index is still sound afterwards: new messages are found.
    store.append(&[said("z", "#a", 200, "bill", "fast again")]).await.unwrap();
    assert_eq!(found(&*store, &find("fast", &["#a"])).await, ["z"]);
}

pub async fn search_text_is_never_query_syntax(store: Arc<dyn Store>) {
    corpus(&*store).await;
    store.append(&[said("q", "#a", 50, "bill", "he said \"fast\" OR NEAR(x) it's 100% a:b & c|d")]).await.unwrap();
    let nasty = [
        "\"",
        "\"fast",
        "fast\"*",
        "*",
        "fast*",
        "NEAR(fast food)",
        "fast OR slow",
        "fast AND NOT food",
        "-fast",
        "^fast",
        "fast:*",
        "a:b & c | !d",
        "'; DROP TABLE messages; --",
        "100%",
        "\\",
        "(",
        ")",
        "{col}: fast",
        "text:fast",
        "\u{0}",
        "😀 fast",
    ];
    for text in nasty {
        let got = store.search(&find(text, &["#a"])).await;
        assert!(got.is_ok(), "{text:?}: {got:?}");
    }
    // Syntax characters are separators: the words still match.
    assert_eq!(found(&*store, &find("\"fast\" OR", &["#a"])).await, ["q"]);
    assert_eq!(found(&*store, &find("a:b & c|d", &["#a"])).await, ["q"]);
    assert_eq!(found(&*store, &find("it's 100%", &["#a"])).await, ["q"]);
    assert!(found(&*store, &find("*", &["#a"])).await.is_empty(), "no words, no matches");
    assert_eq!(store.latest("#a", None, 10).await.unwrap().len(), 5, "the table is still there");
}
