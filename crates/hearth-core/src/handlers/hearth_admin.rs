//! `HEARTH <subcommand>`: the administrator's commands from inside IRC (issue 11: "Admin
//! accounts inside IRC … can do the same through IRC operator commands (KILL, WALLOPS,
//! and a documented `HEARTH` or `/admin` command family)"). IRC operators only (except
//! `HEARTH TOKEN`, every user's login tokens: [`super::login_tokens`]); the
//! same core functions as `hearth admin` and `hearth user` on the server's machine. Answers are server
//! NOTICEs to the operator (in a labeled-response batch when labelled), errors are
//! standard replies `FAIL HEARTH <code> …`. Documented in docs/protocol.md.

use hearth_proto::{Cap, Message, casefold, is_valid_nick};

use crate::auth;
use crate::error::IrcError;
use crate::server::{Completion, Ctx, Server};

/// The vendor tag naming the subcommand a NOTICE answers (for clients with
/// message-tags, such as the web client's Admin page).
pub const TAG_ADMIN: &str = "hearth.chat/admin";
/// On `HEARTH WHO` person lines: the nickname, account (`*` for none) and idle seconds.
pub const TAG_NICK: &str = "hearth.chat/nick";
pub const TAG_ACCOUNT: &str = "hearth.chat/account";
pub const TAG_IDLE: &str = "hearth.chat/idle";

/// The longest account name (as `hearth user add`: the nick rules apply).
pub const MAX_NAME_LEN: usize = 30;
/// The shortest password (as `hearth user add` and REGISTER).
pub const MIN_PASSWORD_CHARS: usize = 8;

const USAGE: &str = "Usage: HEARTH WHO | ROOMS | STATS | KICK <nick> [<reason>] | BROADCAST <text> | \
                     PURGE <#room> [<before>] | USERADD <name> <password> [admin] | PASSWD <name> <password>";

fn usage() -> IrcError {
    IrcError::Fail("INVALID_PARAMS", vec![], USAGE.into())
}

fn notice(s: &Server, ctx: &mut Ctx, text: String) {
    tagged_notice(s, ctx, None, &[], text);
}

/// A NOTICE to the operator; `sub` and `tags` only reach clients with message-tags.
fn tagged_notice(s: &Server, ctx: &mut Ctx, sub: Option<&str>, tags: &[(&str, String)], text: String) {
    let nick = s.nick_of(ctx.id);
    let mut m = s.server_msg("NOTICE").with_param(nick).with_param(text);
    if let Some(sub) = sub
        && s.client(ctx.session).caps.contains(Cap::MessageTags)
    {
        m = m.with_tag(TAG_ADMIN, sub);
        for (k, v) in tags {
            m = m.with_tag(*k, v.as_str());
        }
    }
    ctx.reply(m);
}

/// HEARTH WHO | ROOMS | STATS | KICK <nick> [<reason>] | BROADCAST <text> | PURGE <#room> [<before>]
/// | USERADD <name> <password> [admin] | PASSWD <name> <password>
pub fn hearth(s: &mut Server, ctx: &mut Ctx, msg: &Message) -> Result<(), IrcError> {
    let sub = msg.params[0].to_ascii_uppercase();
    let args = &msg.params[1..];
    if sub == "TOKEN" {
        return super::login_tokens::token(s, ctx, args);
    }
    if !s.client(ctx.id).oper {
        return Err(IrcError::NoPrivileges);
    }
    match sub.as_str() {
        "WHO" => {
            let people = s.who();
            tagged_notice(s, ctx, Some("who-count"), &[], format!("{} online:", people.len()));
            for p in people {
                let line = format!(
                    "{} (account {}) from {}, idle {}s, {} device(s), in {}",
                    p.nick,
                    p.account.as_deref().unwrap_or("-"),
                    p.address,
                    p.idle_secs,
                    p.sessions,
                    if p.channels.is_empty() { "no rooms".to_string() } else { p.channels.join(" ") }
                );
                let tags = [
                    (TAG_NICK, p.nick.clone()),
                    (TAG_ACCOUNT, p.account.clone().unwrap_or_else(|| "*".into())),
                    (TAG_IDLE, p.idle_secs.to_string()),
                ];
                tagged_notice(s, ctx, Some("who"), &tags, line);
            }
        }
        "ROOMS" => {
            for r in s.rooms_overview() {
                let topic = r.topic.map(|t| format!(": {t}")).unwrap_or_default();
                let line = format!("{} ({} members){topic}", r.name, r.members.len());
                tagged_notice(s, ctx, Some("rooms"), &[], line);
            }
        }
        "STATS" => {
            let st = s.core_stats();
            notice(
                s,
                ctx,
                format!(
                    "up {}s, {} connections, {} people, {} rooms, {} messages, {} failed logins in the last hour",
                    st.uptime_secs, st.connections, st.users, st.rooms, st.messages_total, st.logins_failed_last_hour
                ),
            );
        }
        "KICK" => {
            let Some(nick) = args.first() else { return Err(usage()) };
            // `/quote HEARTH KICK bob be nice` arrives as several parameters.
            let reason = if args.len() > 1 { args[1..].join(" ") } else { "no reason given".into() };
            if casefold(nick) == casefold(&s.nick_of(ctx.id)) {
                return Err(IrcError::Fail("INVALID_PARAMS", vec![nick.clone()], "You cannot kick yourself".into()));
            }
            // The operator's answer goes first: kick_user ends sessions and commits.
            if s.find_nick(nick).is_none() {
                return Err(IrcError::Fail(
                    "INVALID_TARGET",
                    vec![nick.clone()],
                    format!("Nobody named {nick} is online"),
                ));
            }
            tagged_notice(s, ctx, Some("kick"), &[], format!("Disconnected {nick} ({reason})"));
            s.kick_user(nick, &reason);
        }
        "BROADCAST" => {
            if args.is_empty() {
                return Err(usage());
            }
            let n = s.broadcast(&args.join(" "));
            notice(s, ctx, format!("Sent to {n} connections"));
        }
        "PURGE" => {
            let Some(room) = args.first().filter(|r| r.starts_with(['#', '&'])) else { return Err(usage()) };
            let before = match args.get(1) {
                None => None,
                Some(raw) => match humantime::parse_rfc3339_weak(raw) {
                    Ok(t) => Some(hearth_store::Timestamp::from(t)),
                    Err(_) => {
                        return Err(IrcError::Fail(
                            "INVALID_PARAMS",
                            vec![raw.clone()],
                            "Give the time as 2026-11-21T12:00:00Z".into(),
                        ));
                    }
                },
            };
            match s.purge_history(Some(room), before) {
                Some(_) => tagged_notice(
                    s,
                    ctx,
                    Some("purge"),
                    &[],
                    format!("Purging the history of {room}: it leaves history and replay now"),
                ),
                None => return Err(IrcError::Fail("TEMPORARILY_UNAVAILABLE", vec![], "History is off".into())),
            }
        }
        "USERADD" => {
            let (Some(name), Some(password)) = (args.first(), args.get(1)) else { return Err(usage()) };
            let admin = match args.get(2).map(|a| a.to_ascii_lowercase()) {
                None => false,
                Some(a) if a == "admin" => true,
                Some(_) => return Err(usage()),
            };
            if args.len() > 3 {
                return Err(usage());
            }
            check_name(name)?;
            if s.account_names.contains(&casefold(name)) {
                return Err(exists(name));
            }
            check_password(name, password)?;
            start_hash(s, ctx, Change::Add { name: name.clone(), admin }, password.clone())?;
        }
        "PASSWD" => {
            let (Some(name), Some(password)) = (args.first(), args.get(1)) else { return Err(usage()) };
            if args.len() > 2 {
                return Err(usage());
            }
            check_name(name)?;
            if !s.account_names.contains(&casefold(name)) {
                return Err(IrcError::Fail("INVALID_PARAMS", vec![name.clone()], format!("No account named {name}")));
            }
            check_password(name, password)?;
            start_hash(s, ctx, Change::Passwd { name: name.clone() }, password.clone())?;
        }
        _ => return Err(usage()),
    }
    Ok(())
}

fn check_name(name: &str) -> Result<(), IrcError> {
    if is_valid_nick(name, MAX_NAME_LEN) {
        return Ok(());
    }
    Err(IrcError::Fail(
        "INVALID_PARAMS",
        vec![name.to_string()],
        format!(
            "Account names follow the nickname rules: letters, digits, - and []\\`_^{{|}}, not starting with a digit \
             or -, at most {MAX_NAME_LEN} characters"
        ),
    ))
}

/// Never puts the password in the answer.
fn check_password(name: &str, password: &str) -> Result<(), IrcError> {
    if password.chars().count() < MIN_PASSWORD_CHARS {
        return Err(IrcError::Fail(
            "WEAK_PASSWORD",
            vec![name.to_string()],
            format!("Passwords need at least {MIN_PASSWORD_CHARS} characters"),
        ));
    }
    Ok(())
}

fn exists(name: &str) -> IrcError {
    IrcError::Fail(
        "ACCOUNT_EXISTS",
        vec![name.to_string()],
        format!("An account named {name} already exists (names ignore case)"),
    )
}

/// What a hashed password is for.
enum Change {
    Add { name: String, admin: bool },
    Passwd { name: String },
}

/// How a USERADD or PASSWD ended.
enum Outcome {
    Created { name: String, admin: bool },
    Changed { name: String },
    Fail(&'static str, String, String),
}

/// Hashes `password` on the core's bounded hashing pool, then changes the store;
/// the answer comes back as a [`Completion`].
fn start_hash(s: &mut Server, ctx: &mut Ctx, change: Change, password: String) -> Result<(), IrcError> {
    let Some(svc) = s.services.clone() else {
        return Err(IrcError::Fail("TEMPORARILY_UNAVAILABLE", vec![], "Accounts are off on this server".into()));
    };
    let (id, session) = (ctx.id, ctx.session);
    let ip = s.client(session).ip;
    let label = ctx.label.take();
    s.spawn(async move {
        let params = svc.argon2.clone();
        let hash = move |scratch: &mut _| hearth_store::password::hash_password_with(&password, &params, scratch);
        let outcome = match svc.hashes.submit(auth::source(ip), hash) {
            Err(_) => {
                Outcome::Fail("TEMPORARILY_UNAVAILABLE", String::new(), format!("Server busy: {}", auth::SERVER_BUSY))
            }
            Ok(hashed) => match hashed.await {
                Err(_) => Outcome::Fail(
                    "TEMPORARILY_UNAVAILABLE",
                    String::new(),
                    "The password hash did not finish, try again".into(),
                ),
                Ok(hash) => apply(&*svc.store, change, &hash).await,
            },
        };
        let done: Completion = Box::new(move |s: &mut Server| finish(s, id, session, outcome, label));
        done
    });
    Ok(())
}

async fn apply(store: &dyn hearth_store::Store, change: Change, hash: &str) -> Outcome {
    use hearth_store::StoreError;
    match change {
        Change::Add { name, admin } => match store.create_account(&name, hash).await {
            Ok(account) => {
                if admin && let Err(e) = store.set_admin(&account.name, true).await {
                    tracing::error!("HEARTH USERADD: could not make {} an administrator: {e}", account.name);
                    return Outcome::Fail(
                        "TEMPORARILY_UNAVAILABLE",
                        account.name.clone(),
                        format!("Created account {} but could not make it an administrator", account.name),
                    );
                }
                Outcome::Created { name: account.name, admin }
            }
            Err(StoreError::AlreadyExists { .. }) => {
                Outcome::Fail("ACCOUNT_EXISTS", name.clone(), format!("An account named {name} already exists"))
            }
            Err(e) => {
                tracing::error!("HEARTH USERADD failed: {e}");
                Outcome::Fail("TEMPORARILY_UNAVAILABLE", name, "Could not create the account, try again later".into())
            }
        },
        Change::Passwd { name } => {
            // The stored spelling, for the answer.
            let stored = match store.account(&name).await {
                Ok(Some(a)) => a.name,
                Ok(None) => return Outcome::Fail("INVALID_PARAMS", name.clone(), format!("No account named {name}")),
                Err(e) => {
                    tracing::error!("HEARTH PASSWD failed: {e}");
                    return Outcome::Fail("TEMPORARILY_UNAVAILABLE", name, "Could not change the password".into());
                }
            };
            match store.set_password_hash(&stored, hash).await {
                Ok(()) => Outcome::Changed { name: stored },
                Err(StoreError::NotFound { .. }) => {
                    Outcome::Fail("INVALID_PARAMS", name.clone(), format!("No account named {name}"))
                }
                Err(e) => {
                    tracing::error!("HEARTH PASSWD failed: {e}");
                    Outcome::Fail("TEMPORARILY_UNAVAILABLE", name, "Could not change the password".into())
                }
            }
        }
    }
}

fn finish(s: &mut Server, id: crate::ConnId, session: crate::ConnId, outcome: Outcome, label: Option<String>) {
    match &outcome {
        Outcome::Created { name, admin } => {
            s.add_account_name(name);
            tracing::info!(account = %name, admin, "account created by an operator (HEARTH USERADD)");
        }
        Outcome::Changed { name } => tracing::info!(account = %name, "password changed by an operator (HEARTH PASSWD)"),
        Outcome::Fail(..) => {}
    }
    // The answer goes to the session that asked (one of the user's devices).
    if !s.clients.contains_key(&id) || !s.clients.contains_key(&session) {
        return;
    }
    let mut ctx = Ctx::for_session(id, session, "HEARTH", label);
    match outcome {
        Outcome::Created { name, admin } => {
            let what = if admin { " (administrator)" } else { "" };
            let tags = [(TAG_ACCOUNT, name.clone())];
            tagged_notice(s, &mut ctx, Some("useradd"), &tags, format!("Created account {name}{what}"));
        }
        Outcome::Changed { name } => {
            let tags = [(TAG_ACCOUNT, name.clone())];
            tagged_notice(s, &mut ctx, Some("passwd"), &tags, format!("Changed the password of {name}"));
        }
        Outcome::Fail(code, name, text) => {
            let nick = s.nick_of(id);
            let ctxs = if name.is_empty() { vec![] } else { vec![name] };
            ctx.reply(IrcError::Fail(code, ctxs, text).to_message(&s.cfg.server_name, &nick, "HEARTH"));
        }
    }
    s.flush(ctx);
}
