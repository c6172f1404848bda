//! Login tokens (issue 10, "stay signed in on this device"): `HEARTH TOKEN NEW | LIST |
//! REVOKE` for any logged-in user, and SASL PLAIN with the password `token:<token>`.

use crate::harness::*;

/// Asks for a token; returns (token, id).
async fn new_token(c: &mut Client, device: &str) -> (String, String) {
    c.send(&format!("HEARTH TOKEN NEW {device}")).await;
    let m = c.expect(|m| m.tag("hearth.chat/admin").is_some() || m.command == "FAIL").await;
    assert_eq!(m.tag("hearth.chat/admin"), Some("token-new"), "{m}");
    let token = m.tag("hearth.chat/token").expect("token tag").to_string();
    let id = m.tag("hearth.chat/token-id").expect("id tag").to_string();
    assert_eq!(token.len(), 43, "{m}");
    (token, id)
}

/// A good login, which clears the address's failures (and so their growing delay).
async fn clear_failures(addr: std::net::SocketAddr) {
    assert_eq!(try_login(addr, "ok", "amy", "amy-password").await, "903");
}

/// A SASL PLAIN login as `account` with `password`: 903 or 904.
async fn try_login(addr: std::net::SocketAddr, nick: &str, account: &str, password: &str) -> String {
    let mut c = Client::connect(addr).await;
    c.start_sasl(nick, &[]).await;
    c.send(&sasl_plain(account, password)).await;
    c.expect(|m| m.command == "903" || m.command == "904").await.command
}

#[tokio::test]
async fn tokens_log_in_until_revoked_or_the_password_changes() {
    let srv = start_server().await;
    srv.add_account("root", "admin-password", true).await;
    srv.add_account("Amy", "amy-password", false).await;
    let mut root = Client::login(srv.addr, "root", "root", "admin-password", &[]).await;
    let mut amy = Client::login(srv.addr, "amy", "amy", "amy-password", &["message-tags"]).await;

    // Not an operator: the admin subcommands still answer 481, TOKEN works.
    amy.send("HEARTH WHO").await;
    amy.expect_cmd("481").await;
    let (token, id) = new_token(&mut amy, "Firefox on Linux").await;

    // Logging in with it, under any case of the account name.
    assert_eq!(try_login(srv.addr, "amy2", "AMY", &format!("token:{token}")).await, "903");
    let mut phone = Client::login(srv.addr, "amy3", "amy", &format!("token:{token}"), &[]).await;
    phone.send("WHOIS amy3").await;
    let whois = phone.expect_cmd("330").await;
    assert_eq!(whois.params[2], "Amy", "{whois}");

    // Listed with its device and last use.
    amy.send("HEARTH TOKEN LIST").await;
    let lines = amy.sync().await;
    let listed = lines
        .iter()
        .find(|m| m.tag("hearth.chat/admin") == Some("token-list"))
        .unwrap_or_else(|| panic!("no listed token: {lines:?}"));
    assert_eq!(listed.tag("hearth.chat/token-id"), Some(id.as_str()));
    assert_eq!(listed.tag("hearth.chat/device"), Some("Firefox on Linux"));
    assert!(!listed.params[1].contains("last used never"), "{listed}");
    assert!(!lines.iter().any(|m| m.to_string().contains(&token)), "LIST never shows a token");

    // Wrong tokens, and someone else's token, fail like a wrong password.
    assert_eq!(try_login(srv.addr, "x1", "amy", "token:not-a-token").await, "904");
    assert_eq!(try_login(srv.addr, "x2", "root", &format!("token:{token}")).await, "904");
    // A token is no password for OPER.
    phone.send(&format!("OPER amy token:{token}")).await;
    phone.expect_cmd("464").await;
    clear_failures(srv.addr).await;

    // Revoked: it stops working; revoking it again fails.
    amy.send(&format!("HEARTH TOKEN REVOKE {id}")).await;
    let m = amy.expect_cmd("NOTICE").await;
    assert_eq!(m.tag("hearth.chat/admin"), Some("token-revoke"), "{m}");
    assert_eq!(try_login(srv.addr, "x3", "amy", &format!("token:{token}")).await, "904");
    clear_failures(srv.addr).await;
    amy.send(&format!("HEARTH TOKEN REVOKE {id}")).await;
    assert_eq!(amy.expect_cmd("FAIL").await.params[1], "INVALID_PARAMS");

    // `REVOKE *` ends them all.
    let (t1, _) = new_token(&mut amy, "one").await;
    let (t2, _) = new_token(&mut amy, "two").await;
    amy.send("HEARTH TOKEN REVOKE *").await;
    let m = amy.expect_cmd("NOTICE").await;
    assert_eq!(m.params[1], "Revoked 2 login token(s)");
    for t in [t1, t2] {
        assert_eq!(try_login(srv.addr, "x4", "amy", &format!("token:{t}")).await, "904");
    }
    clear_failures(srv.addr).await;

    // A new password revokes every token.
    let (token, _) = new_token(&mut amy, "laptop").await;
    assert_eq!(try_login(srv.addr, "amy4", "amy", &format!("token:{token}")).await, "903");
    root.send("HEARTH PASSWD amy amy-new-password").await;
    root.expect(|m| m.command == "NOTICE" && m.params[1].starts_with("Changed the password")).await;
    assert_eq!(try_login(srv.addr, "x5", "amy", &format!("token:{token}")).await, "904");
    assert_eq!(try_login(srv.addr, "amy5", "amy", "amy-new-password").await, "903");
    srv.shutdown().await;
}

#[tokio::test]
async fn tokens_need_a_login_and_plain_clients_see_the_token_in_the_text() {
    let srv = start_server().await;
    srv.add_account("ben", "ben-password", false).await;
    let mut guest = Client::register(srv.addr, "guest").await;
    guest.send("HEARTH TOKEN NEW").await;
    assert_eq!(guest.expect_cmd("FAIL").await.params[1], "ACCOUNT_REQUIRED");

    let mut ben = Client::login(srv.addr, "ben", "ben", "ben-password", &[]).await;
    ben.send("HEARTH TOKEN NEW").await;
    let m = ben.expect_cmd("NOTICE").await;
    assert!(m.tags.is_empty(), "no tags without message-tags: {m}");
    let token = m.params[1].split("token:").nth(1).and_then(|t| t.split(' ').next()).expect("token in the text");
    assert_eq!(try_login(srv.addr, "ben2", "ben", &format!("token:{token}")).await, "903");
    // A second device of the same user (an attached session) gets its own answers.
    let mut laptop = Client::login(srv.addr, "ben", "ben", "ben-password", &["message-tags"]).await;
    let (t2, _) = new_token(&mut laptop, "laptop").await;
    assert_eq!(try_login(srv.addr, "ben3", "ben", &format!("token:{t2}")).await, "903");
    ben.send("HEARTH TOKEN FROB").await;
    assert_eq!(ben.expect_cmd("FAIL").await.params[1], "INVALID_PARAMS");
    srv.shutdown().await;
}

#[tokio::test]
async fn hearth_user_tokens_lists_and_revokes_through_the_running_server() {
    use crate::faults::{Setup, stderr, stdout, stop};
    let s = Setup::new("");
    let out = s.run_with(&s.config, &["user", "add", "cleo", "--password-stdin"], "cleo-password\n").await;
    assert!(out.status.success(), "{}", stderr(&out));
    let (server, addr) = s.serve(0).await;
    let mut cleo = Client::login(addr, "cleo", "cleo", "cleo-password", &["message-tags"]).await;
    let (t1, id1) = new_token(&mut cleo, "Firefox on Linux").await;
    let (t2, _) = new_token(&mut cleo, "Phone").await;

    let out = s.run(&["user", "tokens", "CLEO"]).await;
    assert!(out.status.success(), "{}", stderr(&out));
    let listed = stdout(&out);
    assert!(listed.lines().any(|l| l.starts_with(&id1) && l.contains("Firefox on Linux")), "{listed}");
    assert_eq!(listed.lines().count(), 2, "{listed}");
    assert!(!listed.contains(&t1), "tokens are never shown again");

    let out = s.run(&["user", "tokens", "cleo", "--revoke", &id1]).await;
    assert!(out.status.success() && stdout(&out).contains("revoked"), "{}{}", stdout(&out), stderr(&out));
    assert_eq!(try_login(addr, "c1", "cleo", &format!("token:{t1}")).await, "904");
    let out = s.run(&["user", "tokens", "cleo", "--revoke", &id1]).await;
    assert!(!out.status.success(), "already revoked");
    assert_eq!(try_login(addr, "c2", "cleo", &format!("token:{t2}")).await, "903");
    let out = s.run(&["user", "tokens", "cleo", "--revoke", "all"]).await;
    assert!(stdout(&out).contains("revoked 1 login token(s)"), "{}{}", stdout(&out), stderr(&out));
    assert_eq!(try_login(addr, "c3", "cleo", &format!("token:{t2}")).await, "904");
    stop(server).await;
}
