//! Operator commands: OPER (admin accounts become IRC operators) and WALLOPS.

use std::time::Instant;

use hearth_proto::Message;
use hearth_proto::numeric::*;

use crate::auth::{self, Checked, Outcome};
use crate::error::IrcError;
use crate::relay::Relay;
use crate::server::{Completion, Ctx, Server};

/// OPER <account> <password>
///
/// The account's password is checked like a login (same hashing pool, same delays
/// after failures); only administrator accounts may become operators.
pub fn oper(s: &mut Server, ctx: &mut Ctx, msg: &Message) -> Result<(), IrcError> {
    let (account, password) = (msg.params[0].clone(), msg.params[1].clone());
    let Some(svc) = s.services.clone() else {
        s.num(ctx, ERR_NOOPERHOST, [], "No O-lines for your host: this server has no accounts");
        return Ok(());
    };
    let c = s.client(ctx.id);
    if c.auth_pending {
        return Err(IrcError::Fail("OPER", vec![], "A password check is already in progress".into()));
    }
    let ip = c.ip;
    let Some(delay) = s.attempts.admit(ip, Some(&account), Instant::now()) else {
        return Err(IrcError::Fail(
            "TEMPORARILY_UNAVAILABLE",
            vec![],
            format!("Try again: {}", auth::TOO_MANY_FROM_ADDRESS),
        ));
    };
    let (id, label) = (ctx.id, ctx.label.take());
    s.client_mut(id).auth_pending = true;
    s.spawn(async move {
        tokio::time::sleep(delay).await;
        let checked = auth::check(&svc, ip, &account, password).await;
        let done: Completion = Box::new(move |s: &mut Server| finish_oper(s, id, ip, &account, checked, label));
        done
    });
    Ok(())
}

fn finish_oper(
    s: &mut Server,
    id: crate::ConnId,
    ip: std::net::IpAddr,
    account: &str,
    checked: Checked,
    label: Option<String>,
) {
    let outcome = match &checked {
        Checked::Ok { .. } => Outcome::Succeeded,
        Checked::BadCredentials => Outcome::Failed,
        Checked::Busy(_) | Checked::Unavailable(_) => Outcome::Neither,
    };
    s.attempts.finish(ip, Some(account), outcome, Instant::now());
    if !s.clients.contains_key(&id) {
        return;
    }
    s.client_mut(id).auth_pending = false;
    let mut ctx = Ctx::new(id, "OPER", label);
    match checked {
        Checked::Ok { admin: true, name } => {
            tracing::info!(%ip, account = %name, "OPER");
            let c = s.client_mut(id);
            let was = std::mem::replace(&mut c.oper, true);
            let nick = c.nick.clone();
            s.num(&mut ctx, RPL_YOUREOPER, [], "You are now an IRC operator");
            if !was {
                ctx.reply(Message::new("MODE").with_source(nick.as_str()).with_param(nick.as_str()).with_param("+o"));
            }
        }
        Checked::Ok { admin: false, .. } => {
            s.num(&mut ctx, ERR_NOOPERHOST, [], "No O-lines for your host: that account is not an administrator")
        }
        Checked::BadCredentials => s.num(&mut ctx, ERR_PASSWDMISMATCH, [], "Password incorrect"),
        Checked::Busy(why) => s.num(&mut ctx, ERR_PASSWDMISMATCH, [], &format!("Not checked: {why}")),
        Checked::Unavailable(why) => {
            tracing::error!("OPER check failed: {why}");
            s.num(&mut ctx, ERR_PASSWDMISMATCH, [], "Cannot check passwords right now, try again in a minute");
        }
    }
    s.flush(ctx);
}

/// WALLOPS <text> — operators only (checked by the dispatcher).
///
/// Modern IRC: "The WALLOPS command is used to send a message to all currently
/// connected users who have set the 'w' user mode for themselves." and "Servers MAY
/// echo WALLOPS messages to their sender even if they don't have the 'w' user mode."
pub fn wallops(s: &mut Server, ctx: &mut Ctx, msg: &Message) -> Result<(), IrcError> {
    let text = &msg.params[0];
    if text.is_empty() {
        return Err(IrcError::NeedMoreParams);
    }
    let me = s.client(ctx.id);
    let m = Message::new("WALLOPS").with_source(me.mask.as_str()).with_param(text.as_str());
    let mut relay = Relay::new(m, Server::now_time()).with_account(me.account.clone());
    let caps = me.caps;
    let targets: Vec<_> = s.clients.values().filter(|c| c.registered && c.wallops).map(|c| c.id).collect();
    s.deliver(&mut relay, targets, Some(ctx.id), None);
    // The sender always gets its copy (labelled, as a reply), +w or not.
    ctx.reply(relay.message_for(caps));
    Ok(())
}
