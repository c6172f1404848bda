//! Chat requests, unread counts of offline accounts, and every accept list at once.

use std::sync::Arc;

use hearth_store::{ChatRequest, Store, StoreError, Timestamp, Unread};

use crate::msg;

fn request(sender: &str, recipient: &str, created: i64) -> ChatRequest {
    ChatRequest {
        sender: sender.into(),
        recipient: recipient.into(),
        created: Timestamp(created),
        declined: None,
        held: vec![msg("m1", "alice\0bob", created)],
    }
}

pub async fn chat_requests_round_trip_and_cascade(store: Arc<dyn Store>) {
    for a in ["alice", "bob", "carol"] {
        store.create_account(a, "h").await.unwrap();
    }
    store.put_chat_request(&request("Alice", "bob", 20)).await.unwrap();
    store.put_chat_request(&request("carol", "bob", 10)).await.unwrap();
    let all = store.chat_requests().await.unwrap();
    assert_eq!(all.len(), 2);
    assert_eq!((all[0].sender.as_str(), all[1].sender.as_str()), ("carol", "alice"), "oldest first, casefolded");
    assert_eq!(all[1].held, request("alice", "bob", 20).held, "held messages come back whole");
    // Replacing: a declined request keeps its row, with no messages.
    let mut declined = request("alice", "bob", 20);
    declined.declined = Some(Timestamp(30));
    declined.held.clear();
    store.put_chat_request(&declined).await.unwrap();
    store.put_chat_request(&declined).await.unwrap();
    let all = store.chat_requests().await.unwrap();
    assert_eq!(all.iter().find(|r| r.sender == "alice").unwrap(), &declined);
    assert!(store.delete_chat_request("ALICE", "Bob").await.unwrap());
    assert!(!store.delete_chat_request("alice", "bob").await.unwrap());
    let err = store.put_chat_request(&request("alice", "nobody", 1)).await.unwrap_err();
    assert!(matches!(err, StoreError::NotFound { .. }), "{err:?}");
    // Deleting an account deletes the requests it made or got.
    store.delete_account("carol").await.unwrap();
    assert!(store.chat_requests().await.unwrap().is_empty());
}

pub async fn unread_counts_are_absolute_and_cleared(store: Arc<dyn Store>) {
    store.create_account("bob", "h").await.unwrap();
    let mut u = Unread {
        account: "Bob".into(),
        sender: "alice".into(),
        sender_nick: "Alice".into(),
        first: Timestamp(5),
        count: 1,
    };
    store.put_unread(&u).await.unwrap();
    u.count = 3;
    store.put_unread(&u).await.unwrap();
    store.put_unread(&u).await.unwrap();
    let guest = Unread { sender: "~zed".into(), sender_nick: "zed".into(), first: Timestamp(9), ..u.clone() };
    store.put_unread(&guest).await.unwrap();
    let all = store.unread().await.unwrap();
    assert_eq!(all.len(), 2);
    assert_eq!((all[0].account.as_str(), all[0].count, all[0].sender_nick.as_str()), ("bob", 3, "Alice"));
    assert_eq!(all[1].sender, "~zed");
    let err = store.put_unread(&Unread { account: "nobody".into(), ..u }).await.unwrap_err();
    assert!(matches!(err, StoreError::NotFound { .. }), "{err:?}");
    assert_eq!(store.clear_unread("BOB").await.unwrap(), 2);
    assert!(store.unread().await.unwrap().is_empty());
}

pub async fn every_accept_list_at_once(store: Arc<dyn Store>) {
    store.create_account("bob", "h").await.unwrap();
    store.create_account("alice", "h").await.unwrap();
    store.accept_add("bob", "Zed").await.unwrap();
    store.accept_add("alice", "bob").await.unwrap();
    store.accept_add("bob", "*").await.unwrap();
    let all = store.accept_lists().await.unwrap();
    let want = [("alice", "bob"), ("bob", "*"), ("bob", "zed")];
    assert_eq!(all, want.map(|(a, b)| (a.to_string(), b.to_string())));
}
