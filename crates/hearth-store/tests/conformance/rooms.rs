//! Rooms: metadata, bans, persistent operators.

use std::sync::Arc;

use hearth_store::{Ban, BanList, Room, Store, StoreError, Timestamp, Topic};

pub fn room(name: &str) -> Room {
    Room {
        name: name.to_owned(),
        topic: None,
        modes: "nt".to_owned(),
        key: None,
        limit: None,
        created_at: Timestamp(0),
    }
}

fn ban(mask: &str, at: i64) -> Ban {
    Ban { mask: mask.to_owned(), set_by: "alice".to_owned(), set_at: Timestamp(at), list: BanList::Ban }
}

fn on(list: BanList, mask: &str, at: i64) -> Ban {
    Ban { list, ..ban(mask, at) }
}

/// +b, +e and +I entries share one table: the same mask may be on each list, and
/// removing it from one list leaves the others.
pub async fn exception_lists_are_separate(store: Arc<dyn Store>) {
    store.upsert_room(&room("#hearth")).await.unwrap();
    assert!(store.add_ban("#hearth", &ban("*!*@host", 10)).await.unwrap());
    assert!(store.add_ban("#hearth", &on(BanList::Exception, "*!*@HOST", 20)).await.unwrap());
    assert!(store.add_ban("#hearth", &on(BanList::InviteException, "~a:alice", 30)).await.unwrap());
    assert!(!store.add_ban("#hearth", &on(BanList::Exception, "*!*@host", 40)).await.unwrap(), "same list");
    let all = store.bans("#hearth").await.unwrap();
    assert_eq!(
        all,
        [ban("*!*@host", 10), on(BanList::Exception, "*!*@HOST", 20), on(BanList::InviteException, "~a:alice", 30)]
    );
    let key = BanList::Exception.qualify("*!*@host");
    assert!(store.remove_ban("#hearth", &key).await.unwrap());
    assert!(!store.remove_ban("#hearth", &key).await.unwrap());
    assert!(store.remove_ban("#hearth", &BanList::InviteException.qualify("~A:ALICE")).await.unwrap());
    assert_eq!(store.bans("#hearth").await.unwrap(), [ban("*!*@host", 10)], "the +b entry stays");
    assert_eq!(BanList::split(&key), (BanList::Exception, "*!*@host"));
    assert_eq!(BanList::split("e!*@*"), (BanList::Ban, "e!*@*"));
}

pub async fn upsert_get_list_delete(store: Arc<dyn Store>) {
    let mut hearth = room("#Hearth");
    hearth.topic = Some(Topic {
        text: "Welcome home".to_owned(),
        set_by: "alice!a@host".to_owned(),
        set_at: Timestamp(1_700_000_000_123),
    });
    hearth.key = Some("sekrit".to_owned());
    hearth.limit = Some(50);
    store.upsert_room(&hearth).await.unwrap();
    store.upsert_room(&room("#anteroom")).await.unwrap();

    let got = store.room("#HEARTH").await.unwrap().expect("case-insensitive");
    assert_eq!(got.name, "#Hearth");
    assert_eq!(got.topic, hearth.topic);
    assert_eq!(got.modes, "nt");
    assert_eq!(got.key.as_deref(), Some("sekrit"));
    assert_eq!(got.limit, Some(50));
    assert!(got.created_at.0 > 0, "set by the store");

    // Upsert replaces everything but created_at.
    let mut changed = room("#hearth");
    changed.modes = "imnt".to_owned();
    store.upsert_room(&changed).await.unwrap();
    let again = store.room("#hearth").await.unwrap().unwrap();
    assert_eq!(again.topic, None);
    assert_eq!(again.key, None);
    assert_eq!(again.limit, None);
    assert_eq!(again.modes, "imnt");
    assert_eq!(again.name, "#hearth");
    assert_eq!(again.created_at, got.created_at);

    let names: Vec<_> = store.rooms().await.unwrap().into_iter().map(|r| r.name).collect();
    assert_eq!(names, ["#anteroom", "#hearth"]);
    assert!(store.delete_room("#HEARTH").await.unwrap());
    assert!(!store.delete_room("#hearth").await.unwrap());
    assert!(store.room("#hearth").await.unwrap().is_none());
}

pub async fn bans_add_remove_list(store: Arc<dyn Store>) {
    store.upsert_room(&room("#hearth")).await.unwrap();
    assert!(store.add_ban("#hearth", &ban("*!*@Spam.example", 20)).await.unwrap());
    assert!(store.add_ban("#Hearth", &ban("troll!*@*", 10)).await.unwrap());
    assert!(!store.add_ban("#hearth", &ban("*!*@spam.EXAMPLE", 30)).await.unwrap(), "same mask");
    let bans = store.bans("#HEARTH").await.unwrap();
    assert_eq!(bans, [ban("troll!*@*", 10), ban("*!*@Spam.example", 20)], "oldest first");

    assert!(store.remove_ban("#hearth", "*!*@SPAM.example").await.unwrap());
    assert!(!store.remove_ban("#hearth", "*!*@spam.example").await.unwrap());
    assert_eq!(store.bans("#hearth").await.unwrap().len(), 1);

    let err = store.add_ban("#nowhere", &ban("x!*@*", 1)).await.unwrap_err();
    assert!(matches!(err, StoreError::NotFound { kind: "room", .. }), "{err:?}");

    store.delete_room("#hearth").await.unwrap();
    store.upsert_room(&room("#hearth")).await.unwrap();
    assert!(store.bans("#hearth").await.unwrap().is_empty(), "deleted with the room");
}

pub async fn operators_need_room_and_account(store: Arc<dyn Store>) {
    store.upsert_room(&room("#hearth")).await.unwrap();
    store.create_account("Zed", "h").await.unwrap();
    store.create_account("alice", "h").await.unwrap();
    assert!(store.add_operator("#HEARTH", "ZED").await.unwrap());
    assert!(store.add_operator("#hearth", "alice").await.unwrap());
    assert!(!store.add_operator("#hearth", "Alice").await.unwrap());
    assert_eq!(store.operators("#hearth").await.unwrap(), ["alice", "zed"]);

    let err = store.add_operator("#hearth", "nobody").await.unwrap_err();
    assert!(matches!(err, StoreError::NotFound { .. }), "{err:?}");
    let err = store.add_operator("#nowhere", "alice").await.unwrap_err();
    assert!(matches!(err, StoreError::NotFound { .. }), "{err:?}");

    assert!(store.remove_operator("#hearth", "ZED").await.unwrap());
    assert!(!store.remove_operator("#hearth", "zed").await.unwrap());
    assert_eq!(store.operators("#hearth").await.unwrap(), ["alice"]);
}

pub async fn load_rooms_restores_everything(store: Arc<dyn Store>) {
    let mut a = room("#a");
    a.topic = Some(Topic { text: "t".into(), set_by: "s".into(), set_at: Timestamp(3) });
    store.upsert_room(&a).await.unwrap();
    store.upsert_room(&room("#b")).await.unwrap();
    store.create_account("alice", "h").await.unwrap();
    store.add_ban("#a", &ban("x!*@*", 1)).await.unwrap();
    store.add_operator("#a", "alice").await.unwrap();

    let all = store.load_rooms().await.unwrap();
    assert_eq!(all.len(), 2);
    assert_eq!(all[0].room.name, "#a");
    assert_eq!(all[0].room.topic, a.topic);
    assert_eq!(all[0].bans, [ban("x!*@*", 1)]);
    assert_eq!(all[0].operators, ["alice"]);
    assert!(all[1].bans.is_empty() && all[1].operators.is_empty());
}

pub async fn rename_room_keeps_state_bans_and_operators(store: Arc<dyn Store>) {
    store.create_account("alice", "x").await.unwrap();
    let mut old = room("#Old");
    old.topic = Some(Topic { text: "t".to_owned(), set_by: "alice".to_owned(), set_at: Timestamp(7) });
    old.key = Some("k".to_owned());
    store.upsert_room(&old).await.unwrap();
    let created = store.room("#old").await.unwrap().unwrap().created_at;
    store.add_ban("#old", &ban("*!*@bad", 1)).await.unwrap();
    store.add_operator("#old", "alice").await.unwrap();
    store.upsert_room(&room("#taken")).await.unwrap();

    assert!(matches!(store.rename_room("#old", "#Taken").await, Err(StoreError::AlreadyExists { .. })));
    assert!(!store.rename_room("#missing", "#x").await.unwrap());
    assert!(store.rename_room("#old", "#New").await.unwrap());
    assert_eq!(store.room("#old").await.unwrap(), None);
    let new = store.room("#new").await.unwrap().unwrap();
    assert_eq!(new.name, "#New");
    assert_eq!(new.topic, old.topic);
    assert_eq!(new.key.as_deref(), Some("k"));
    assert_eq!(new.created_at, created);
    assert_eq!(store.bans("#new").await.unwrap().len(), 1);
    assert_eq!(store.operators("#new").await.unwrap(), ["alice"]);
    assert!(store.bans("#old").await.unwrap().is_empty());
    // Only the case changes: the same row, a new display name.
    assert!(store.rename_room("#new", "#NEW").await.unwrap());
    assert_eq!(store.room("#new").await.unwrap().unwrap().name, "#NEW");
    assert_eq!(store.operators("#new").await.unwrap(), ["alice"]);
}
