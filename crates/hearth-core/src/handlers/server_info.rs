//! Questions about the server itself: INFO, LINKS, ADMIN, STATS, HELP/HELPOP.

use std::time::SystemTime;

use hearth_proto::Message;
use hearth_proto::numeric::*;

use crate::error::IrcError;
use crate::server::{Ctx, Server, server_time};

/// INFO
///
/// Modern IRC: "Upon receiving an INFO command, the server will respond with zero or
/// more RPL_INFO replies, followed by one RPL_ENDOFINFO numeric."
pub fn info(s: &mut Server, ctx: &mut Ctx, _msg: &Message) -> Result<(), IrcError> {
    let lines = [
        format!("{} — Hearth, a private chat server that speaks IRC", crate::VERSION),
        "Written in Rust; IRCv3 capabilities, persistent rooms and history.".to_string(),
        format!("This server ({}) started {}", s.cfg.server_name, server_time(s.created)),
    ];
    for l in &lines {
        s.num(ctx, RPL_INFO, [], l);
    }
    s.num(ctx, RPL_ENDOFINFO, [], "End of INFO list");
    Ok(())
}

/// LINKS
///
/// Modern IRC: "a server MUST send replies back using zero or more RPL_LINKS messages
/// and mark the end of the list using a RPL_ENDOFLINKS message." Hearth is one
/// server, so the list is itself.
pub fn links(s: &mut Server, ctx: &mut Ctx, _msg: &Message) -> Result<(), IrcError> {
    let server = s.cfg.server_name.clone();
    let info = format!("0 {}", s.cfg.network);
    s.num(ctx, RPL_LINKS, ["*", server.as_str()], &info);
    s.num(ctx, RPL_ENDOFLINKS, ["*"], "End of /LINKS list");
    Ok(())
}

/// ADMIN [<target>]
///
/// Modern IRC: "the given server SHOULD respond with the RPL_ADMINME, RPL_ADMINLOC1,
/// RPL_ADMINLOC2, and RPL_ADMINEMAIL replies."
pub fn admin(s: &mut Server, ctx: &mut Ctx, _msg: &Message) -> Result<(), IrcError> {
    let server = s.cfg.server_name.clone();
    s.num(ctx, RPL_ADMINME, [server.as_str()], "Administrative info");
    let cfg = s.cfg.clone();
    s.num(ctx, RPL_ADMINLOC1, [], &cfg.admin_location);
    s.num(ctx, RPL_ADMINLOC2, [], &cfg.admin_info);
    s.num(ctx, RPL_ADMINEMAIL, [], &cfg.admin_email);
    Ok(())
}

/// STATS <query>: `u` uptime, `m` command counts, `o` operators online (operators
/// only); other letters answer with just RPL_ENDOFSTATS.
pub fn stats(s: &mut Server, ctx: &mut Ctx, msg: &Message) -> Result<(), IrcError> {
    let query = msg.params[0].chars().next().unwrap_or('*');
    let letter = query.to_string();
    match query {
        'u' => {
            let up = SystemTime::now().duration_since(s.created).map(|d| d.as_secs()).unwrap_or(0);
            let text = format!(
                "Server Up {} days {}:{:02}:{:02}",
                up / 86_400,
                (up % 86_400) / 3600,
                (up % 3600) / 60,
                up % 60
            );
            s.num(ctx, RPL_STATSUPTIME, [], &text);
        }
        'm' => {
            let mut counts: Vec<(&str, u64)> = s.stats.commands.iter().map(|(c, n)| (*c, *n)).collect();
            counts.sort();
            let nick = s.nick_of(ctx.id);
            for (cmd, n) in counts {
                // "<client> <command> <count>"
                ctx.reply(
                    s.server_msg(RPL_STATSCOMMANDS).with_param(nick.as_str()).with_param(cmd).with_param(n.to_string()),
                );
            }
        }
        'o' if !s.client(ctx.id).oper => return Err(IrcError::NoPrivileges),
        'o' => {
            let mut opers: Vec<(String, String)> = s
                .clients
                .values()
                .filter(|c| c.registered && c.oper)
                .map(|c| (c.nick.to_string(), format!("{}@{}", c.user, c.host)))
                .collect();
            opers.sort();
            let nick = s.nick_of(ctx.id);
            for (oper, host) in opers {
                ctx.reply(
                    s.server_msg(RPL_STATSOLINE)
                        .with_param(nick.as_str())
                        .with_param("O")
                        .with_param(host)
                        .with_param("*")
                        .with_param(oper),
                );
            }
        }
        _ => {}
    }
    s.num(ctx, RPL_ENDOFSTATS, [letter.as_str()], "End of /STATS report");
    Ok(())
}

/// HELP [<subject>] (also HELPOP)
///
/// Modern IRC: "servers MUST either: reply with a single ERR_HELPNOTFOUND message; or
/// reply with a single RPL_HELPSTART message, then arbitrarily many RPL_HELPTXT
/// messages, then a single RPL_ENDOFHELP." and "The RPL_HELPSTART message SHOULD be
/// some sort of title and the first RPL_HELPTXT message SHOULD be empty."
pub fn help(s: &mut Server, ctx: &mut Ctx, msg: &Message) -> Result<(), IrcError> {
    let asked = msg.params.first().map(String::as_str).filter(|p| !p.is_empty());
    let Some((title, body)) = crate::help::lookup(asked.unwrap_or("index")) else {
        // "The <subject> MUST be the one requested by the client, but may be
        // casefolded; unless it would be an invalid parameter, in which case it MUST
        // be `*`."
        let subject = asked.filter(|a| !a.contains(' ') && !a.starts_with(':')).unwrap_or("*");
        s.num(ctx, ERR_HELPNOTFOUND, [subject], "No help available on this topic");
        return Ok(());
    };
    let subject = asked.map(str::to_ascii_uppercase).unwrap_or_else(|| "*".into());
    s.num(ctx, RPL_HELPSTART, [subject.as_str()], title);
    s.num(ctx, RPL_HELPTXT, [subject.as_str()], "");
    let (last, rest) = body.split_last().map(|(l, r)| (*l, r)).unwrap_or(("", &[]));
    for line in rest {
        s.num(ctx, RPL_HELPTXT, [subject.as_str()], line);
    }
    s.num(ctx, RPL_ENDOFHELP, [subject.as_str()], last);
    Ok(())
}
