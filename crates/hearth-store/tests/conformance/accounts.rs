//! Accounts and accept lists.

use std::sync::Arc;

use hearth_store::{Store, StoreError, Timestamp};

pub async fn create_get_list_count(store: Arc<dyn Store>) {
    assert_eq!(store.account_count().await.unwrap(), 0);
    let created = store.create_account("Bob", "$argon2id$bob").await.unwrap();
    assert_eq!(created.name, "Bob");
    assert!(!created.admin);
    store.create_account("alice", "$argon2id$alice").await.unwrap();

    let bob = store.account("BOB").await.unwrap().expect("case-insensitive lookup");
    assert_eq!(bob.name, "Bob", "display name keeps its case");
    assert_eq!(bob.password_hash, "$argon2id$bob");
    assert_eq!(bob.created_at, created.created_at);
    assert!(store.account("carol").await.unwrap().is_none());

    let names: Vec<_> = store.accounts().await.unwrap().into_iter().map(|a| a.name).collect();
    assert_eq!(names, ["alice", "Bob"], "ordered by casefolded name");
    assert_eq!(store.account_count().await.unwrap(), 2);
}

pub async fn duplicate_name_in_other_case_already_exists(store: Arc<dyn Store>) {
    store.create_account("Alice", "h1").await.unwrap();
    let err = store.create_account("aLICE", "h2").await.unwrap_err();
    assert!(matches!(err, StoreError::AlreadyExists { kind: "account", .. }), "{err:?}");
    assert_eq!(store.account("alice").await.unwrap().unwrap().password_hash, "h1");
    assert_eq!(store.account_count().await.unwrap(), 1);
}

pub async fn password_and_admin_updates(store: Arc<dyn Store>) {
    store.create_account("alice", "old").await.unwrap();
    store.set_password_hash("ALICE", "new").await.unwrap();
    store.set_admin("Alice", true).await.unwrap();
    let alice = store.account("alice").await.unwrap().unwrap();
    assert_eq!(alice.password_hash, "new");
    assert!(alice.admin);
    store.set_admin("alice", false).await.unwrap();
    assert!(!store.account("alice").await.unwrap().unwrap().admin);

    let err = store.set_password_hash("nobody", "x").await.unwrap_err();
    assert!(matches!(err, StoreError::NotFound { kind: "account", .. }), "{err:?}");
    let err = store.set_admin("nobody", true).await.unwrap_err();
    assert!(matches!(err, StoreError::NotFound { .. }), "{err:?}");
}

pub async fn delete_cascades_markers_ops_and_accepts(store: Arc<dyn Store>) {
    store.create_account("alice", "h").await.unwrap();
    store.upsert_room(&super::rooms::room("#hearth")).await.unwrap();
    store.add_operator("#hearth", "alice").await.unwrap();
    store.set_read_marker("alice", "#hearth", Timestamp(5)).await.unwrap();
    store.accept_add("alice", "bob").await.unwrap();

    assert!(store.delete_account("ALICE").await.unwrap());
    assert!(!store.delete_account("alice").await.unwrap(), "already gone");
    assert!(store.account("alice").await.unwrap().is_none());
    assert!(store.operators("#hearth").await.unwrap().is_empty());
    assert!(store.accept_list("alice").await.unwrap().is_empty());
    // Re-registering the name starts clean.
    store.create_account("alice", "h").await.unwrap();
    assert_eq!(store.read_marker("alice", "#hearth").await.unwrap(), None);
}

pub async fn accept_lists(store: Arc<dyn Store>) {
    store.create_account("alice", "h").await.unwrap();
    assert!(store.accept_add("Alice", "Carol").await.unwrap());
    assert!(store.accept_add("alice", "bob").await.unwrap());
    assert!(!store.accept_add("alice", "BOB").await.unwrap(), "already accepted");
    assert_eq!(store.accept_list("ALICE").await.unwrap(), ["bob", "carol"]);
    assert!(store.accept_remove("alice", "Bob").await.unwrap());
    assert!(!store.accept_remove("alice", "bob").await.unwrap());
    assert_eq!(store.accept_list("alice").await.unwrap(), ["carol"]);
    let err = store.accept_add("nobody", "bob").await.unwrap_err();
    assert!(matches!(err, StoreError::NotFound { .. }), "{err:?}");
}

pub async fn client_certificates(store: Arc<dyn Store>) {
    let (fp1, fp2) = ("a".repeat(64), "b".repeat(64));
    store.create_account("Alice", "h").await.unwrap();
    store.create_account("bob", "h").await.unwrap();
    assert!(store.add_cert("alice", &fp2).await.unwrap());
    assert!(store.add_cert("ALICE", &fp1).await.unwrap());
    assert!(!store.add_cert("alice", &fp1).await.unwrap(), "already there");
    let err = store.add_cert("bob", &fp1).await.unwrap_err();
    assert!(matches!(err, StoreError::AlreadyExists { kind: "certificate", .. }), "{err:?}");
    let err = store.add_cert("nobody", &"c".repeat(64)).await.unwrap_err();
    assert!(matches!(err, StoreError::NotFound { .. }), "{err:?}");
    assert_eq!(store.certs("alice").await.unwrap(), [fp1.clone(), fp2.clone()]);
    assert_eq!(store.account_by_cert(&fp1).await.unwrap().unwrap().name, "Alice");
    assert!(store.account_by_cert(&"c".repeat(64)).await.unwrap().is_none());
    assert!(store.remove_cert("alice", &fp2).await.unwrap());
    assert!(!store.remove_cert("alice", &fp2).await.unwrap());
    assert!(!store.remove_cert("bob", &fp1).await.unwrap(), "not bob's");
    assert!(store.delete_account("alice").await.unwrap());
    assert!(store.account_by_cert(&fp1).await.unwrap().is_none(), "deleted with the account");
    assert!(store.add_cert("bob", &fp1).await.unwrap(), "free again");
}

pub async fn login_tokens(store: Arc<dyn Store>) {
    use hearth_store::login_token;
    store.create_account("Alice", "h").await.unwrap();
    store.create_account("bob", "h").await.unwrap();
    let (t1, t2, t3) = (login_token::generate(), login_token::generate(), login_token::generate());
    let added = store.add_login_token("ALICE", "id1", &login_token::hash(&t1), "Firefox").await.unwrap();
    assert_eq!((added.account.as_str(), added.device.as_str(), added.last_used_at), ("alice", "Firefox", None));
    store.add_login_token("alice", "id2", &login_token::hash(&t2), "Phone").await.unwrap();
    store.add_login_token("bob", "id3", &login_token::hash(&t3), "").await.unwrap();
    let err = store.add_login_token("nobody", "id4", &login_token::hash("x"), "").await.unwrap_err();
    assert!(matches!(err, StoreError::NotFound { .. }), "{err:?}");
    let err = store.add_login_token("bob", "id1", &login_token::hash("y"), "").await.unwrap_err();
    assert!(matches!(err, StoreError::AlreadyExists { .. }), "{err:?}");

    let ids: Vec<_> = store.login_tokens("alice").await.unwrap().into_iter().map(|t| t.id).collect();
    assert_eq!(ids, ["id1", "id2"]);
    let (token, account) = store.account_by_login_token(&login_token::hash(&t1)).await.unwrap().unwrap();
    assert_eq!((token.id.as_str(), account.name.as_str()), ("id1", "Alice"));
    assert!(store.account_by_login_token(&login_token::hash("wrong")).await.unwrap().is_none());
    assert!(store.account_by_login_token(&t1).await.unwrap().is_none(), "the token itself is not stored");

    assert!(store.touch_login_token("id1", Timestamp(1234)).await.unwrap());
    assert!(!store.touch_login_token("nope", Timestamp(1234)).await.unwrap());
    assert_eq!(store.login_tokens("alice").await.unwrap()[0].last_used_at, Some(Timestamp(1234)));

    assert!(!store.delete_login_token("bob", "id1").await.unwrap(), "not bob's");
    assert!(store.delete_login_token("alice", "id1").await.unwrap());
    assert!(store.account_by_login_token(&login_token::hash(&t1)).await.unwrap().is_none(), "revoked");
    store.add_login_token("alice", "id5", &login_token::hash("t5"), "").await.unwrap();
    assert_eq!(store.delete_login_tokens("alice").await.unwrap(), 2);
    assert!(store.login_tokens("alice").await.unwrap().is_empty());

    // A new password revokes them all; deleting the account too.
    store.add_login_token("alice", "id6", &login_token::hash("t6"), "").await.unwrap();
    store.set_password_hash("alice", "h2").await.unwrap();
    assert!(store.login_tokens("alice").await.unwrap().is_empty(), "password change revokes");
    assert!(store.delete_account("bob").await.unwrap());
    assert!(store.account_by_login_token(&login_token::hash(&t3)).await.unwrap().is_none(), "deleted with the account");
}
