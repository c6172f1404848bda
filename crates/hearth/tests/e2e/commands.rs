//! WHOWAS, OPER, WALLOPS, INFO, LINKS, ADMIN, STATS, HELP and bot mode.
//! Comments quote the specs the behaviour follows (Modern IRC, modern.ircdocs.horse;
//! IRCv3 bot-mode, ircv3.net/specs/extensions/bot-mode).

use hearth_proto::Message;

use crate::harness::*;

/// Reads replies until `end`, returning them (including `end`).
async fn until(c: &mut Client, end: &str) -> Vec<Message> {
    let mut out = Vec::new();
    loop {
        let m = c.recv().await;
        let done = m.command == end;
        out.push(m);
        if done {
            return out;
        }
    }
}

fn codes(ms: &[Message]) -> Vec<&str> {
    ms.iter().map(|m| m.command.as_str()).collect()
}

#[tokio::test]
async fn whowas_remembers_quits_and_nick_changes_newest_first() {
    let srv = start_server().await;
    let mut a = Client::register(srv.addr, "alice").await;
    let mut b = Client::register(srv.addr, "bob").await;
    a.send("NICK alice2").await;
    a.expect_cmd("NICK").await;
    a.send("NICK alice").await;
    a.expect_cmd("NICK").await;
    a.send("QUIT :bye").await;
    a.read_to_close().await;
    // Modern IRC: "The history is searched backward, returning the most recent entry
    // first." and "Servers MUST reply with either ERR_WASNOSUCHNICK (406) or a
    // non-empty list of WHOWAS entries, both followed with RPL_ENDOFWHOWAS (369)."
    b.send("WHOWAS ALICE").await;
    let replies = until(&mut b, "369").await;
    let users: Vec<&Message> = replies.iter().filter(|m| m.command == "314").collect();
    assert_eq!(users.len(), 2, "{replies:?}");
    assert_eq!(users[0].params[1..], ["alice", "~alice", "127.0.0.1", "*", "Real alice"]);
    assert!(codes(&replies).contains(&"312"), "RPL_WHOISSERVER follows the entry");
    assert_eq!(replies.last().unwrap().params[1], "ALICE");
    // "If there are multiple entries, up to <count> replies will be returned".
    b.send("WHOWAS alice 1").await;
    let one = until(&mut b, "369").await;
    assert_eq!(one.iter().filter(|m| m.command == "314").count(), 1);
    // "If given, <count> SHOULD be a positive number. Otherwise, a full search is done."
    b.send("WHOWAS alice -1").await;
    let all = until(&mut b, "369").await;
    assert_eq!(all.iter().filter(|m| m.command == "314").count(), 2);
    b.send("WHOWAS alice2").await;
    let changed = until(&mut b, "369").await;
    assert_eq!(codes(&changed), ["314", "312", "369"], "a nick change is remembered too");
    b.send("WHOWAS nobody").await;
    let none = until(&mut b, "369").await;
    assert_eq!(codes(&none), ["406", "369"]);
    assert_eq!(none[0].params[1], "nobody");
    // No nickname: ERR_NONICKNAMEGIVEN.
    b.send("WHOWAS").await;
    b.expect_cmd("431").await;
    srv.shutdown().await;
}

#[tokio::test]
async fn whowas_history_is_bounded_by_config() {
    let srv = start_with("[flood]\nburst = 0\n[limits]\nwhowas_entries = 1\n").await;
    let mut b = Client::register(srv.addr, "bob").await;
    for nick in ["first", "second"] {
        let mut c = Client::register(srv.addr, nick).await;
        c.send("QUIT").await;
        c.read_to_close().await;
    }
    b.sync().await;
    b.send("WHOWAS first").await;
    assert_eq!(codes(&until(&mut b, "369").await), ["406", "369"], "dropped: only one entry is kept");
    b.send("WHOWAS second").await;
    assert_eq!(codes(&until(&mut b, "369").await), ["314", "312", "369"]);
    srv.shutdown().await;
}

#[tokio::test]
async fn oper_checks_the_admin_accounts_password() {
    let srv = start_server().await;
    srv.add_account("root", "root-password", true).await;
    srv.add_account("pleb", "pleb-password", false).await;
    let mut c = Client::register(srv.addr, "carol").await;
    c.send("OPER root").await;
    c.expect_cmd("461").await;
    // Modern IRC, ERR_PASSWDMISMATCH: "Returned to indicate that the connection could
    // not be registered as the password was either incorrect or not supplied."
    c.send("OPER root wrong-password").await;
    c.expect_cmd("464").await;
    // ERR_NOOPERHOST: the account exists and the password is right, but it is no admin.
    c.send("OPER pleb pleb-password").await;
    c.expect_cmd("491").await;
    c.send("WALLOPS :not yet").await;
    c.expect_cmd("481").await;
    c.send("OPER root root-password").await;
    c.expect_cmd("381").await;
    let mode = c.expect_cmd("MODE").await;
    assert_eq!(mode.params, ["carol", "+o"]);
    c.send("WHOIS carol").await;
    c.expect_cmd("313").await;
    srv.shutdown().await;
}

#[tokio::test]
async fn admins_are_not_opers_on_login_when_configured_so() {
    let toml = "[flood]\nburst = 0\n[accounts]\nrequire_login = false\nargon2_memory_kib = 8\n\
                argon2_iterations = 1\noper_on_login = false\n";
    let srv = start_with(toml).await;
    srv.add_account("root", "root-password", true).await;
    let mut r = Client::login(srv.addr, "root", "root", "root-password", &[]).await;
    r.send("MODE root").await;
    let umode = r.expect_cmd("221").await;
    assert!(!umode.params[1].contains('o'), "{umode}");
    r.send("OPER root root-password").await;
    r.expect_cmd("381").await;
    r.send("MODE root").await;
    assert!(r.expect_cmd("221").await.params[1].contains('o'));
    // "-o" gives it up again.
    r.send("MODE root -o").await;
    r.expect_cmd("MODE").await;
    srv.shutdown().await;
}

#[tokio::test]
async fn wallops_reach_plus_w_users_only() {
    let srv = start_server().await;
    srv.add_account("root", "root-password", true).await;
    let mut op = Client::login(srv.addr, "root", "root", "root-password", &[]).await;
    let mut w = Client::register(srv.addr, "watcher").await;
    let mut quiet = Client::register(srv.addr, "quiet").await;
    w.send("MODE watcher +w").await;
    assert_eq!(w.expect_cmd("MODE").await.params, ["watcher", "+w"]);
    // Modern IRC: "The WALLOPS command is used to send a message to all currently
    // connected users who have set the 'w' user mode for themselves."
    op.send("WALLOPS :maintenance at noon").await;
    let got = w.expect_cmd("WALLOPS").await;
    assert_eq!(got.params, ["maintenance at noon"]);
    assert!(got.source.as_deref().unwrap().starts_with("root!"));
    // "Servers MAY echo WALLOPS messages to their sender even if they don't have the
    // 'w' user mode."
    op.expect_cmd("WALLOPS").await;
    assert!(quiet.sync().await.iter().all(|m| m.command != "WALLOPS"));
    srv.shutdown().await;
}

#[tokio::test]
async fn info_links_admin() {
    let toml = "[flood]\nburst = 0\n[server]\nadmin_location = \"Basement rack\"\n\
                admin_info = \"Run by Ada\"\nadmin_email = \"ada@example.org\"\n";
    let srv = start_with(toml).await;
    let mut c = Client::register(srv.addr, "carol").await;
    // "the server will respond with zero or more RPL_INFO replies, followed by one
    // RPL_ENDOFINFO numeric."
    c.send("INFO").await;
    let info = until(&mut c, "374").await;
    assert!(info.iter().any(|m| m.command == "371" && m.params[1].contains("hearth")), "{info:?}");
    // "a server MUST send replies back using zero or more RPL_LINKS messages and mark
    // the end of the list using a RPL_ENDOFLINKS message."
    c.send("LINKS").await;
    let links = until(&mut c, "365").await;
    assert_eq!(codes(&links), ["364", "365"]);
    assert_eq!(links[0].params[1..3], ["*", "hearth.local"]);
    // "the given server SHOULD respond with the RPL_ADMINME, RPL_ADMINLOC1,
    // RPL_ADMINLOC2, and RPL_ADMINEMAIL replies."
    c.send("ADMIN").await;
    let admin = until(&mut c, "259").await;
    assert_eq!(codes(&admin), ["256", "257", "258", "259"]);
    assert_eq!(admin[1].params[1], "Basement rack");
    assert_eq!(admin[2].params[1], "Run by Ada");
    assert_eq!(admin[3].params[1], "ada@example.org");
    srv.shutdown().await;
}

#[tokio::test]
async fn stats_uptime_commands_and_operators() {
    let srv = start_server().await;
    srv.add_account("root", "root-password", true).await;
    let mut c = Client::register(srv.addr, "carol").await;
    // STATS: "u - returns a string showing how long the server has been up."
    c.send("STATS u").await;
    let up = until(&mut c, "219").await;
    assert_eq!(codes(&up), ["242", "219"]);
    assert!(up[0].params[1].starts_with("Server Up 0 days"), "{}", up[0]);
    assert_eq!(up[1].params[1], "u");
    // "m - returns a list of commands supported by the server and the usage count for
    // each if the usage count is non zero"
    c.send("INFO").await;
    until(&mut c, "374").await;
    c.send("STATS m").await;
    let m = until(&mut c, "219").await;
    let info = m.iter().find(|x| x.command == "212" && x.params[1] == "INFO").expect("INFO counted");
    assert_eq!(info.params[2], "1");
    // "o - returns a list of hosts from which normal clients may become operators":
    // operators only here.
    c.send("STATS o").await;
    c.expect_cmd("481").await;
    let mut op = Client::login(srv.addr, "root", "root", "root-password", &[]).await;
    op.sync().await;
    op.send("STATS o").await;
    let o = until(&mut op, "219").await;
    assert_eq!(codes(&o), ["243", "219"]);
    assert_eq!(o[0].params[1..], ["O", "~root@127.0.0.1", "*", "root"]);
    c.send("STATS").await;
    c.expect_cmd("461").await;
    srv.shutdown().await;
}

#[tokio::test]
async fn help_and_helpop() {
    let srv = start_server().await;
    let mut c = Client::register(srv.addr, "carol").await;
    // Modern IRC: "reply with a single RPL_HELPSTART message, then arbitrarily many
    // RPL_HELPTXT messages, then a single RPL_ENDOFHELP." and "The RPL_HELPSTART
    // message SHOULD be some sort of title and the first RPL_HELPTXT message SHOULD be
    // empty."
    c.send("HELP").await;
    let index = until(&mut c, "706").await;
    assert_eq!(index[0].command, "704");
    assert_eq!(index[0].params[1], "*");
    assert_eq!(index[1].command, "705");
    assert_eq!(index[1].params[2], "");
    assert!(index.iter().any(|m| m.params.last().unwrap().contains("WHOWAS")));
    c.send("HELP privmsg").await;
    let h = until(&mut c, "706").await;
    assert_eq!(h[0].params[1], "PRIVMSG");
    assert!(h[0].params[2].contains("PRIVMSG <target>"), "{}", h[0]);
    assert!(h.iter().all(|m| m.params[1] == "PRIVMSG"));
    // "On these servers, the client may try sending the HELPOP command (with the same
    // syntax specified here)".
    c.send("HELPOP extbans").await;
    let x = until(&mut c, "706").await;
    assert!(x.iter().any(|m| m.params[2].contains("~a:")));
    // ERR_HELPNOTFOUND: "The <subject> MUST be the one requested by the client, but may
    // be casefolded; unless it would be an invalid parameter, in which case it MUST be
    // `*`."
    c.send("HELP frobnicate").await;
    let nf = c.expect_cmd("524").await;
    assert_eq!(nf.params[1], "frobnicate");
    c.send("HELP :two words").await;
    assert_eq!(c.expect_cmd("524").await.params[1], "*");
    srv.shutdown().await;
}

#[tokio::test]
async fn bot_mode_shows_in_isupport_whois_who_and_tags() {
    let srv = start_server().await;
    let mut a = Client::register_with_caps(srv.addr, "alice", &["message-tags"]).await;
    let mut plain = Client::register(srv.addr, "plain").await;
    let mut bot = Client::register(srv.addr, "robot").await;
    // Bot mode: "Servers publishing the BOT ISUPPORT token let clients mark themselves
    // as bots by setting a user mode."
    a.send("VERSION").await;
    let mut tokens = Vec::new();
    for m in until(&mut a, "351").await.into_iter().chain(a.sync().await) {
        if m.command == "005" {
            tokens.extend(m.params[1..m.params.len() - 1].to_vec());
        }
    }
    for want in ["BOT=B", "ELIST=CMNTU", "EXTBAN=~,aq", "ACCOUNTEXTBAN=a", "EXCEPTS=e", "INVEX=I"] {
        assert!(tokens.iter().any(|t| t == want), "{want} not in {tokens:?}");
    }
    assert!(tokens.iter().any(|t| t == "CHANMODES=beI,k,l,Himnst"), "{tokens:?}");
    bot.send("MODE robot +B").await;
    assert_eq!(bot.expect_cmd("MODE").await.params, ["robot", "+B"]);
    // "When a client is marked as a bot, they are given a special numeric as part of
    // their WHOIS response" (RPL_WHOISBOT, 335).
    a.send("WHOIS robot").await;
    let whois = until(&mut a, "318").await;
    assert!(codes(&whois).contains(&"335"), "{whois:?}");
    // "it is indicated in their WHO flags" (the B flag).
    a.send("WHO robot").await;
    let who = a.expect_cmd("352").await;
    assert!(who.params[6].contains('B'), "{who}");
    a.expect_cmd("315").await;
    // "servers may include the bot tag on that client's outgoing messages."
    bot.send("PRIVMSG alice :beep").await;
    let tagged = a.expect_cmd("PRIVMSG").await;
    assert_eq!(tagged.tag("bot"), Some(""), "{tagged}");
    bot.send("PRIVMSG plain :beep").await;
    let untagged = plain.expect_cmd("PRIVMSG").await;
    assert!(untagged.tags.is_empty(), "{untagged}");
    bot.send("MODE robot -B").await;
    bot.expect_cmd("MODE").await;
    bot.send("PRIVMSG alice :human now").await;
    assert_eq!(a.expect_cmd("PRIVMSG").await.tag("bot"), None);
    srv.shutdown().await;
}
