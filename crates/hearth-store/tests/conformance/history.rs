//! History: append, the CHATHISTORY queries, read markers, retention.

use std::sync::Arc;
use std::time::Duration;

use hearth_store::{Bound, Retention, Store, StoreError, Timestamp, dm_key, dm_peer};

use super::{ids, msg};

fn at(ms: i64) -> Bound {
    Bound::Time(Timestamp(ms))
}

fn id(s: &str) -> Bound {
    Bound::MsgId(s.to_owned())
}

/// m1..=m10 on `#h` at times 10, 20, …, 100.
async fn ten(store: &dyn Store) {
    let batch: Vec<_> = (1..=10).map(|i| msg(&format!("m{i}"), "#h", i * 10)).collect();
    assert_eq!(store.append(&batch).await.unwrap(), 10);
}

fn range(a: i64, b: i64) -> Vec<String> {
    (a..=b).map(|i| format!("m{i}")).collect()
}

pub async fn append_skips_duplicate_msgids(store: Arc<dyn Store>) {
    assert_eq!(store.append(&[]).await.unwrap(), 0);
    assert_eq!(store.append(&[msg("a", "#h", 1), msg("b", "#h", 2)]).await.unwrap(), 2);
    // A retried batch, or one overlapping an earlier one, stores each msgid once.
    assert_eq!(store.append(&[msg("b", "#h", 2), msg("c", "#h", 3)]).await.unwrap(), 1);
    assert_eq!(ids(&store.latest("#h", None, 10).await.unwrap()), ["a", "b", "c"]);
}

pub async fn latest_is_chronological_and_casefolded(store: Arc<dyn Store>) {
    let mut m = msg("x1", "#Hearth", 5);
    m.recipient = "#Hearth".to_owned();
    m.sender_account = None;
    m.tags = "+draft/react=👍;+typing=active".to_owned();
    m.text = "héllo wörld".to_owned();
    m.command = "NOTICE".to_owned();
    store.append(std::slice::from_ref(&m)).await.unwrap();
    ten(&*store).await;

    let got = store.latest("#HEARTH", None, 1).await.unwrap();
    let mut expected = m.clone();
    expected.target = "#hearth".to_owned();
    assert_eq!(got, [expected], "every field round-trips; target stored casefolded");

    assert_eq!(ids(&store.latest("#h", None, 3).await.unwrap()), range(8, 10));
    assert_eq!(ids(&store.latest("#h", None, 100).await.unwrap()), range(1, 10));
    assert!(store.latest("#empty", None, 10).await.unwrap().is_empty());
}

pub async fn latest_after_bound(store: Arc<dyn Store>) {
    ten(&*store).await;
    assert_eq!(ids(&store.latest("#h", Some(&id("m7")), 10).await.unwrap()), range(8, 10));
    assert_eq!(ids(&store.latest("#h", Some(&id("m2")), 3).await.unwrap()), range(8, 10));
    assert_eq!(ids(&store.latest("#h", Some(&at(70)), 10).await.unwrap()), range(8, 10));
    assert_eq!(ids(&store.latest("#h", Some(&at(65)), 10).await.unwrap()), range(7, 10));
    assert!(store.latest("#h", Some(&id("m10")), 10).await.unwrap().is_empty());
}

pub async fn before_and_after_by_msgid_and_timestamp(store: Arc<dyn Store>) {
    ten(&*store).await;
    // Bounds are exclusive; results are chronological.
    assert_eq!(ids(&store.before("#h", &id("m5"), 2).await.unwrap()), range(3, 4));
    assert_eq!(ids(&store.before("#h", &at(50), 2).await.unwrap()), range(3, 4));
    assert_eq!(ids(&store.before("#h", &at(55), 2).await.unwrap()), range(4, 5));
    assert_eq!(ids(&store.before("#h", &id("m3"), 10).await.unwrap()), range(1, 2));
    assert!(store.before("#h", &id("m1"), 10).await.unwrap().is_empty());

    assert_eq!(ids(&store.after("#h", &id("m5"), 2).await.unwrap()), range(6, 7));
    assert_eq!(ids(&store.after("#h", &at(50), 2).await.unwrap()), range(6, 7));
    assert_eq!(ids(&store.after("#h", &at(45), 2).await.unwrap()), range(5, 6));
    assert_eq!(ids(&store.after("#h", &at(0), 100).await.unwrap()), range(1, 10));
    assert!(store.after("#h", &id("m10"), 10).await.unwrap().is_empty());
}

pub async fn unknown_or_foreign_msgid_is_an_error(store: Arc<dyn Store>) {
    ten(&*store).await;
    store.append(&[msg("other", "#elsewhere", 55)]).await.unwrap();
    for bound in [id("nope"), id("other")] {
        let err = store.before("#h", &bound, 5).await.unwrap_err();
        assert!(matches!(err, StoreError::UnknownMsgid(_)), "{err:?}");
        let err = store.around("#h", &bound, 5).await.unwrap_err();
        assert!(matches!(err, StoreError::UnknownMsgid(_)), "{err:?}");
        let err = store.between("#h", &at(0), &bound, 5).await.unwrap_err();
        assert!(matches!(err, StoreError::UnknownMsgid(_)), "{err:?}");
    }
}

pub async fn same_millisecond_keeps_insertion_order(store: Arc<dyn Store>) {
    // Seven messages in one millisecond, in two batches, ids not sorted.
    let first: Vec<_> = ["q", "c", "x"].iter().map(|i| msg(i, "#h", 1000)).collect();
    let second: Vec<_> = ["a", "z", "b", "m"].iter().map(|i| msg(i, "#h", 1000)).collect();
    store.append(&first).await.unwrap();
    store.append(&second).await.unwrap();
    let order = ["q", "c", "x", "a", "z", "b", "m"];
    assert_eq!(ids(&store.latest("#h", None, 10).await.unwrap()), order);
    assert_eq!(ids(&store.before("#h", &id("b"), 2).await.unwrap()), ["a", "z"]);
    assert_eq!(ids(&store.after("#h", &id("x"), 2).await.unwrap()), ["a", "z"]);
    // A timestamp bound excludes or includes the whole millisecond.
    assert!(store.before("#h", &at(1000), 10).await.unwrap().is_empty());
    assert!(store.after("#h", &at(1000), 10).await.unwrap().is_empty());
    assert_eq!(store.after("#h", &at(999), 10).await.unwrap().len(), 7);
}

pub async fn paging_10000_without_gaps_or_duplicates(store: Arc<dyn Store>) {
    const N: i64 = 10_000;
    // Two messages per millisecond, so msgid bounds must break ties.
    let all: Vec<_> = (0..N).map(|i| msg(&format!("p{i:05}"), "#big", 1_000 + i / 2)).collect();
    for chunk in all.chunks(1_000) {
        store.append(chunk).await.unwrap();
    }
    store.append(&[msg("noise", "#other", 1_500)]).await.unwrap();
    let expected = ids(&all);

    // Backwards from the newest, 100 at a time.
    let mut page = store.latest("#big", None, 100).await.unwrap();
    let mut back = Vec::new();
    while let Some(first) = page.first().cloned() {
        back.splice(0..0, ids(&page));
        page = store.before("#big", &id(&first.msgid), 100).await.unwrap();
    }
    assert_eq!(back.len(), expected.len());
    assert!(back == expected, "backward paging has a gap, duplicate or misorder");

    // Forwards from the start, 333 at a time (pages not aligned to ties).
    let mut forward = Vec::new();
    let mut bound = at(0);
    loop {
        let page = store.after("#big", &bound, 333).await.unwrap();
        let Some(last) = page.last() else { break };
        bound = id(&last.msgid);
        forward.extend(ids(&page));
    }
    assert!(forward == expected, "forward paging has a gap, duplicate or misorder");
}

pub async fn around_msgid_and_timestamp(store: Arc<dyn Store>) {
    ten(&*store).await;
    // limit/2 strictly before, the rest from the pivot on.
    assert_eq!(ids(&store.around("#h", &id("m5"), 4).await.unwrap()), range(3, 6));
    assert_eq!(ids(&store.around("#h", &id("m5"), 5).await.unwrap()), range(3, 7));
    assert_eq!(ids(&store.around("#h", &at(50), 4).await.unwrap()), range(3, 6));
    assert_eq!(ids(&store.around("#h", &at(55), 4).await.unwrap()), range(4, 7));
    assert_eq!(ids(&store.around("#h", &id("m1"), 4).await.unwrap()), range(1, 2));
    assert_eq!(ids(&store.around("#h", &id("m10"), 4).await.unwrap()), range(8, 10));
    assert_eq!(ids(&store.around("#h", &id("m5"), 1).await.unwrap()), ["m5"]);
}

pub async fn between_both_directions(store: Arc<dyn Store>) {
    ten(&*store).await;
    // Exclusive at both ends, chronological, limit applied from `a`'s side.
    assert_eq!(ids(&store.between("#h", &id("m2"), &id("m8"), 100).await.unwrap()), range(3, 7));
    assert_eq!(ids(&store.between("#h", &id("m2"), &id("m8"), 2).await.unwrap()), range(3, 4));
    assert_eq!(ids(&store.between("#h", &id("m8"), &id("m2"), 2).await.unwrap()), range(6, 7));
    assert_eq!(ids(&store.between("#h", &at(20), &at(80), 100).await.unwrap()), range(3, 7));
    assert_eq!(ids(&store.between("#h", &at(80), &at(20), 100).await.unwrap()), range(3, 7));
    assert_eq!(ids(&store.between("#h", &at(15), &id("m4"), 100).await.unwrap()), range(2, 3));
    assert_eq!(ids(&store.between("#h", &id("m9"), &at(65), 10).await.unwrap()), range(7, 8));
    assert!(store.between("#h", &at(50), &at(50), 10).await.unwrap().is_empty());
    assert!(store.between("#h", &id("m5"), &id("m6"), 10).await.unwrap().is_empty());
}

pub async fn dm_conversation_key_is_shared(store: Arc<dyn Store>) {
    let key = dm_key("Alice", "bob");
    assert_eq!(key, dm_key("BOB", "alice"));
    let mut to_bob = msg("d1", &dm_key("Alice", "Bob"), 10);
    to_bob.recipient = "Bob".to_owned();
    let mut to_alice = msg("d2", &dm_key("bob", "alice"), 20);
    to_alice.recipient = "alice".to_owned();
    to_alice.sender = "bob!b@host".to_owned();
    store.append(&[to_bob, to_alice]).await.unwrap();

    let got = store.latest(&key, None, 10).await.unwrap();
    assert_eq!(ids(&got), ["d1", "d2"]);
    assert_eq!(got[0].recipient, "Bob", "original recipient kept for replay");
    assert_eq!(got[0].target, key);
    assert_eq!(dm_peer(&got[0].target, "alice"), Some("bob"));
    assert!(store.latest(&dm_key("alice", "carol"), None, 10).await.unwrap().is_empty());
}

pub async fn targets_window_and_limit(store: Arc<dyn Store>) {
    store
        .append(&[
            msg("a1", "#a", 10),
            msg("a2", "#a", 50),
            msg("b1", "#b", 30),
            msg("c1", "#c", 40), // a channel the user is not in
            msg("d1", &dm_key("alice", "bob"), 20),
            msg("d2", &dm_key("carol", "alice"), 60),
            msg("d3", &dm_key("bob", "carol"), 45), // not alice's conversation
        ])
        .await
        .unwrap();
    let chans = vec!["#A".to_owned(), "#b".to_owned(), "#quiet".to_owned()];
    let all = store.targets("Alice", &chans, Timestamp(0), Timestamp(100), 10).await.unwrap();
    let pairs: Vec<_> = all.iter().map(|t| (t.target.as_str(), t.latest.0)).collect();
    assert_eq!(
        pairs,
        [("alice bob", 20), ("#b", 30), ("#a", 50), ("alice carol", 60)],
        "oldest latest-time first, only the caller's targets"
    );

    // The window is exclusive and restricts which message counts as latest.
    let window = store.targets("alice", &chans, Timestamp(10), Timestamp(50), 10).await.unwrap();
    let pairs: Vec<_> = window.iter().map(|t| (t.target.as_str(), t.latest.0)).collect();
    assert_eq!(pairs, [("alice bob", 20), ("#b", 30)]);

    // Limit from the `from` side: earliest when ascending, latest when not.
    let first = store.targets("alice", &chans, Timestamp(0), Timestamp(100), 2).await.unwrap();
    assert_eq!(first.iter().map(|t| t.latest.0).collect::<Vec<_>>(), [20, 30]);
    let last = store.targets("alice", &chans, Timestamp(100), Timestamp(0), 2).await.unwrap();
    assert_eq!(last.iter().map(|t| t.latest.0).collect::<Vec<_>>(), [50, 60]);
}

pub async fn read_markers_only_move_forward(store: Arc<dyn Store>) {
    store.create_account("alice", "h").await.unwrap();
    assert_eq!(store.read_marker("alice", "#h").await.unwrap(), None);
    assert_eq!(store.set_read_marker("Alice", "#H", Timestamp(100)).await.unwrap(), Timestamp(100));
    assert_eq!(store.set_read_marker("alice", "#h", Timestamp(50)).await.unwrap(), Timestamp(100));
    assert_eq!(store.read_marker("ALICE", "#h").await.unwrap(), Some(Timestamp(100)));
    assert_eq!(store.set_read_marker("alice", "#h", Timestamp(150)).await.unwrap(), Timestamp(150));
    assert_eq!(store.read_marker("alice", "#h").await.unwrap(), Some(Timestamp(150)));
    assert_eq!(store.read_marker("alice", "#other").await.unwrap(), None, "per target");
    let err = store.set_read_marker("nobody", "#h", Timestamp(1)).await.unwrap_err();
    assert!(matches!(err, StoreError::NotFound { .. }), "{err:?}");
}

pub async fn purge_by_target_and_time(store: Arc<dyn Store>) {
    ten(&*store).await;
    let other: Vec<_> = (1..=5).map(|i| msg(&format!("o{i}"), "#o", i * 10)).collect();
    store.append(&other).await.unwrap();

    assert_eq!(store.purge(Some("#H"), Some(Timestamp(30))).await.unwrap(), 2);
    assert_eq!(ids(&store.after("#h", &at(0), 100).await.unwrap()), range(3, 10));
    assert_eq!(store.purge(None, Some(Timestamp(40))).await.unwrap(), 4, "m3, o1..o3");
    assert_eq!(store.purge(Some("#o"), None).await.unwrap(), 2);
    assert!(store.latest("#o", None, 10).await.unwrap().is_empty());
    assert_eq!(store.purge(None, None).await.unwrap(), 7);
    assert!(store.latest("#h", None, 10).await.unwrap().is_empty());
}

pub async fn trim_by_age_and_count(store: Arc<dyn Store>) {
    ten(&*store).await;
    let other: Vec<_> = (1..=3).map(|i| msg(&format!("o{i}"), "#o", 100 + i)).collect();
    store.append(&other).await.unwrap();

    let by_age = Retention { max_age: Some(Duration::from_millis(75)), max_per_target: None };
    // now = 105: older than 30 goes (m1, m2).
    assert_eq!(store.trim(&by_age, Timestamp(105)).await.unwrap(), 2);
    let by_count = Retention { max_age: None, max_per_target: Some(4) };
    assert_eq!(store.trim(&by_count, Timestamp(105)).await.unwrap(), 4, "m3..m6");
    assert_eq!(ids(&store.after("#h", &at(0), 100).await.unwrap()), range(7, 10));
    assert_eq!(store.latest("#o", None, 10).await.unwrap().len(), 3, "under the cap");
    assert_eq!(store.trim(&Retention::default(), Timestamp(105)).await.unwrap(), 0);
}

pub async fn export_is_inclusive_and_chronological(store: Arc<dyn Store>) {
    ten(&*store).await;
    let got = store.export("#H", Timestamp(30), Timestamp(60)).await.unwrap();
    assert_eq!(ids(&got), range(3, 6));
    let all = store.export("#h", Timestamp::MIN, Timestamp::MAX).await.unwrap();
    assert_eq!(ids(&all), range(1, 10));
}

pub async fn zero_limit_returns_nothing(store: Arc<dyn Store>) {
    ten(&*store).await;
    assert!(store.latest("#h", None, 0).await.unwrap().is_empty());
    assert!(store.before("#h", &at(1000), 0).await.unwrap().is_empty());
    assert!(store.after("#h", &at(0), 0).await.unwrap().is_empty());
    assert!(store.around("#h", &id("m5"), 0).await.unwrap().is_empty());
    assert!(store.between("#h", &at(0), &at(1000), 0).await.unwrap().is_empty());
    assert!(store.targets("x", &["#h".into()], Timestamp(0), Timestamp(1000), 0).await.unwrap().is_empty());
}

pub async fn redact_deletes_one_message_of_its_target(store: Arc<dyn Store>) {
    ten(&*store).await;
    store.append(&[msg("o1", "#other", 15)]).await.unwrap();
    assert!(store.redact("#H", "m3").await.unwrap());
    // Another target's msgid is not this target's to delete; a second redaction is
    // harmless (a journal replay repeats it).
    assert!(!store.redact("#h", "o1").await.unwrap());
    assert!(!store.redact("#h", "m3").await.unwrap());
    let left = store.latest("#h", None, 100).await.unwrap();
    assert_eq!(ids(&left), ["m1", "m2", "m4", "m5", "m6", "m7", "m8", "m9", "m10"]);
    assert!(matches!(store.before("#h", &id("m3"), 5).await, Err(StoreError::UnknownMsgid(_))));
    assert_eq!(ids(&store.latest("#other", None, 10).await.unwrap()), ["o1"]);
}

/// A Redact record replayed after the message it deletes (a crash before the
/// journal was emptied) leaves the message deleted: the journal applies in order.
pub async fn journal_replay_keeps_redacted_messages_deleted(store: Arc<dyn Store>) {
    use hearth_store::journal::{self, Journal, Record, Redact};
    let dir = tempfile::tempdir().unwrap();
    {
        let mut j = Journal::create(dir.path(), false).unwrap();
        j.append(&[Record::Message(msg("a", "#h", 1)), Record::Message(msg("b", "#h", 2))]).unwrap();
        j.append(&[Record::Redact(Redact { target: "#h".into(), msgid: "a".into() })]).unwrap();
        j.append(&[Record::Message(msg("c", "#h", 3))]).unwrap();
    }
    // The first run got everything into the database, then died before the
    // journal was emptied: the restart replays all of it.
    let segment = std::fs::read(dir.path().join("journal-0.log")).unwrap();
    journal::drain(dir.path(), &*store).await.unwrap();
    assert_eq!(ids(&store.latest("#h", None, 10).await.unwrap()), ["b", "c"]);
    std::fs::write(dir.path().join("journal-0.log"), segment).unwrap();
    journal::drain(dir.path(), &*store).await.unwrap();
    assert_eq!(ids(&store.latest("#h", None, 10).await.unwrap()), ["b", "c"]);
}

pub async fn rename_history_moves_messages_and_markers(store: Arc<dyn Store>) {
    use hearth_store::journal::{self, Record, Rename};
    store.create_account("alice", "x").await.unwrap();
    store.create_account("bob", "x").await.unwrap();
    store.append(&[msg("n1", "#new", 5)]).await.unwrap();
    ten(&*store).await;
    store.set_read_marker("alice", "#h", Timestamp(50)).await.unwrap();
    store.set_read_marker("bob", "#h", Timestamp(20)).await.unwrap();
    store.set_read_marker("bob", "#new", Timestamp(30)).await.unwrap();
    // Through the journal, in order: a message said before the rename lands under
    // the new name too.
    let records = [
        Record::Message(msg("m11", "#h", 110)),
        Record::Rename(Rename { from: "#H".into(), to: "#New".into() }),
        Record::Message(msg("m12", "#new", 120)),
    ];
    journal::apply(&*store, &records).await.unwrap();
    assert!(store.latest("#h", None, 100).await.unwrap().is_empty());
    let mut want = vec!["n1".to_string()];
    want.extend(range(1, 12));
    let moved = store.latest("#new", None, 100).await.unwrap();
    assert_eq!(ids(&moved), want);
    // Replayed lines name the channel as it is called now.
    assert!(moved.iter().filter(|m| m.msgid != "m12" && m.msgid != "n1").all(|m| m.recipient == "#New"), "{moved:?}");
    assert_eq!(store.read_marker("alice", "#new").await.unwrap(), Some(Timestamp(50)));
    assert_eq!(store.read_marker("bob", "#new").await.unwrap(), Some(Timestamp(30)));
    assert_eq!(store.read_marker("alice", "#h").await.unwrap(), None);
    // Replayed again: nothing left to move, nothing lost.
    journal::apply(&*store, &records).await.unwrap();
    assert_eq!(store.latest("#new", None, 100).await.unwrap().len(), 13);
}

/// `hearth admin rooms`: stored messages per conversation key.
pub async fn message_counts_per_target(store: Arc<dyn Store>) {
    assert!(store.message_counts().await.unwrap().is_empty());
    store.append(&[msg("a", "#one", 1), msg("b", "#one", 2), msg("c", "#two", 3)]).await.unwrap();
    let counts = store.message_counts().await.unwrap();
    assert_eq!(counts, [("#one".to_string(), 2), ("#two".to_string(), 1)]);
}
