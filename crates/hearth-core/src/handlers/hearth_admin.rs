//! `HEARTH <subcommand>`: the administrator's commands from inside IRC (issue 11: "Admin
//! accounts inside IRC … can do the same through IRC operator commands (KILL, WALLOPS,
//! and a documented `HEARTH` or `/admin` command family)"). IRC operators only; the
//! same core functions as `hearth admin` on the control socket. Answers are server
//! NOTICEs to the operator (in a labeled-response batch when labelled), errors are
//! standard replies `FAIL HEARTH <code> …`. Documented in docs/protocol.md.

use hearth_proto::{Message, casefold};

use crate::error::IrcError;
use crate::server::{Ctx, Server};

fn usage() -> IrcError {
    IrcError::Fail(
        "INVALID_PARAMS",
        vec![],
        "Usage: HEARTH WHO | ROOMS | STATS | KICK <nick> [<reason>] | BROADCAST <text> | PURGE <#room> [<before>]"
            .into(),
    )
}

fn notice(s: &Server, ctx: &mut Ctx, text: String) {
    let nick = s.nick_of(ctx.id);
    ctx.reply(s.server_msg("NOTICE").with_param(nick).with_param(text));
}

/// HEARTH WHO | ROOMS | STATS | KICK <nick> [<reason>] | BROADCAST <text> | PURGE <#room> [<before>]
pub fn hearth(s: &mut Server, ctx: &mut Ctx, msg: &Message) -> Result<(), IrcError> {
    let sub = msg.params[0].to_ascii_uppercase();
    let args = &msg.params[1..];
    match sub.as_str() {
        "WHO" => {
            let people = s.who();
            notice(s, ctx, format!("{} online:", people.len()));
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
                notice(s, ctx, line);
            }
        }
        "ROOMS" => {
            for r in s.rooms_overview() {
                let topic = r.topic.map(|t| format!(": {t}")).unwrap_or_default();
                notice(s, ctx, format!("{} ({} members){topic}", r.name, r.members.len()));
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
            notice(s, ctx, format!("Disconnected {nick} ({reason})"));
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
                Some(_) => notice(s, ctx, format!("Purging the history of {room}: it leaves history and replay now")),
                None => return Err(IrcError::Fail("TEMPORARILY_UNAVAILABLE", vec![], "History is off".into())),
            }
        }
        _ => return Err(usage()),
    }
    Ok(())
}
