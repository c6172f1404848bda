//! WHOWAS: who used a nickname that is no longer online.

use std::time::SystemTime;

use hearth_proto::Message;
use hearth_proto::numeric::*;

use crate::error::IrcError;
use crate::server::{Ctx, Server};

/// WHOWAS <nick> [<count>]
///
/// Modern IRC: "Servers MUST reply with either ERR_WASNOSUCHNICK (406) or a non-empty
/// list of WHOWAS entries, both followed with RPL_ENDOFWHOWAS (369)."
pub fn whowas(s: &mut Server, ctx: &mut Ctx, msg: &Message) -> Result<(), IrcError> {
    let Some(nick) = msg.params.first().filter(|n| !n.is_empty()) else {
        return Err(IrcError::NoNicknameGiven);
    };
    // "If given, <count> SHOULD be a positive number. Otherwise, a full search is done."
    let count = msg.params.get(1).and_then(|c| c.parse::<i64>().ok()).filter(|c| *c > 0).map(|c| c as usize);
    let entries = s.whowas.lookup(nick, count, SystemTime::now());
    let server = s.cfg.server_name.clone();
    let network = s.cfg.network.clone();
    if entries.is_empty() {
        s.num(ctx, ERR_WASNOSUCHNICK, [nick.as_str()], "There was no such nickname");
    }
    let me = s.nick_of(ctx.id);
    for e in entries {
        ctx.reply(
            s.server_msg(RPL_WHOWASUSER)
                .with_param(me.as_str())
                .with_param(e.nick.as_str())
                .with_param(e.user.as_str())
                .with_param(e.host.as_str())
                .with_param("*")
                .with_param(e.realname.as_str()),
        );
        if let Some(acct) = &e.account {
            s.num(ctx, RPL_WHOISACCOUNT, [e.nick.as_str(), acct.as_str()], "was logged in as");
        }
        let when = humantime::format_rfc3339_seconds(e.left).to_string();
        s.num(ctx, RPL_WHOISSERVER, [e.nick.as_str(), server.as_str()], &format!("{network}, left {when}"));
    }
    s.num(ctx, RPL_ENDOFWHOWAS, [nick.as_str()], "End of WHOWAS");
    Ok(())
}
