//! Room memberships (history visibility, channel mode `+H`): since when an account
//! has been a member of a room.

use std::sync::Arc;

use hearth_store::journal::{self, Op, Record};
use hearth_store::{Membership, Store, StoreError, Timestamp};

use crate::rooms::room;

fn member(room: &str, account: &str, since: i64) -> Membership {
    Membership { room: room.into(), account: account.into(), since: Timestamp(since) }
}

pub async fn memberships_set_replace_remove_and_list(store: Arc<dyn Store>) {
    store.upsert_room(&room("#B")).await.unwrap();
    store.upsert_room(&room("#a")).await.unwrap();
    store.create_account("Alice", "h").await.unwrap();
    store.create_account("bob", "h").await.unwrap();
    assert!(store.memberships().await.unwrap().is_empty());

    store.set_member("#b", "ALICE", Timestamp(10)).await.unwrap();
    store.set_member("#a", "bob", Timestamp(5)).await.unwrap();
    store.set_member("#a", "alice", Timestamp(7)).await.unwrap();
    // A new membership replaces the old one; setting it again is harmless.
    store.set_member("#B", "alice", Timestamp(20)).await.unwrap();
    store.set_member("#B", "alice", Timestamp(20)).await.unwrap();
    assert_eq!(
        store.memberships().await.unwrap(),
        [member("#a", "alice", 7), member("#a", "bob", 5), member("#b", "alice", 20)],
        "casefolded keys, ordered by room then account"
    );

    assert!(store.remove_member("#A", "Bob").await.unwrap());
    assert!(!store.remove_member("#a", "bob").await.unwrap());
    assert_eq!(store.memberships().await.unwrap().len(), 2);

    let err = store.set_member("#nowhere", "alice", Timestamp(1)).await.unwrap_err();
    assert!(matches!(err, StoreError::NotFound { .. }), "{err:?}");
    let err = store.set_member("#a", "nobody", Timestamp(1)).await.unwrap_err();
    assert!(matches!(err, StoreError::NotFound { .. }), "{err:?}");
}

pub async fn memberships_follow_renames_and_deletions(store: Arc<dyn Store>) {
    store.upsert_room(&room("#old")).await.unwrap();
    store.upsert_room(&room("#other")).await.unwrap();
    store.create_account("alice", "h").await.unwrap();
    store.create_account("bob", "h").await.unwrap();
    store.set_member("#old", "alice", Timestamp(3)).await.unwrap();
    store.set_member("#other", "bob", Timestamp(4)).await.unwrap();
    store.set_member("#other", "alice", Timestamp(4)).await.unwrap();

    assert!(store.rename_room("#old", "#New").await.unwrap());
    store.delete_account("bob").await.unwrap();
    assert_eq!(
        store.memberships().await.unwrap(),
        [member("#new", "alice", 3), member("#other", "alice", 4)],
        "a membership moves with its room and goes with its account"
    );
    store.delete_room("#other").await.unwrap();
    assert_eq!(store.memberships().await.unwrap(), [member("#new", "alice", 3)]);
}

pub async fn journaled_memberships_apply_in_order(store: Arc<dyn Store>) {
    store.upsert_room(&room("#a")).await.unwrap();
    store.create_account("alice", "h").await.unwrap();
    let join = |since| Record::Op(Op::JoinRoom { room: "#a".into(), account: "alice".into(), since: Timestamp(since) });
    let leave = Record::Op(Op::LeaveRoom { room: "#a".into(), account: "alice".into() });
    // Join, leave, join again: only the last membership counts.
    let gone = Record::Op(Op::JoinRoom { room: "#a".into(), account: "ghost".into(), since: Timestamp(1) });
    journal::apply(&*store, &[join(1), leave.clone(), gone, join(9)]).await.unwrap();
    assert_eq!(store.memberships().await.unwrap(), [member("#a", "alice", 9)], "an unknown account is skipped");
    journal::apply(&*store, &[leave]).await.unwrap();
    assert!(store.memberships().await.unwrap().is_empty());
}
