//! `HEARTH TOKEN NEW [<device>] | LIST | REVOKE <id|*>`: login tokens for "stay signed in
//! on this device" (issue 10). Any logged-in user manages their own account's tokens; a
//! token logs in with SASL PLAIN and the password `token:<token>` (see [`crate::auth`]).
//! The store keeps only the SHA-256 of a token ([`hearth_store::login_token`]). These are
//! not history: the changes go to the store directly, like REGISTER. Documented in
//! docs/protocol.md ("Login tokens").

use std::time::{Duration, UNIX_EPOCH};

use hearth_proto::{Cap, Message};
use hearth_store::{LoginToken, Store, login_token};

use crate::error::IrcError;
use crate::handlers::history::bounded;
use crate::server::{Completion, Ctx, Server};

/// The subcommand tag of the answers (as the admin answers).
use super::hearth_admin::TAG_ADMIN;
/// On `HEARTH TOKEN NEW`'s answer: the new token (shown once, never stored).
pub const TAG_TOKEN: &str = "hearth.chat/token";
/// On NEW and LIST answers: the token's id, for REVOKE.
pub const TAG_TOKEN_ID: &str = "hearth.chat/token-id";
/// On LIST answers: the device name.
pub const TAG_DEVICE: &str = "hearth.chat/device";

/// The longest device name kept (characters).
pub const MAX_DEVICE_CHARS: usize = 64;
/// The most tokens one account may have.
pub const MAX_TOKENS: usize = 100;

const USAGE: &str = "Usage: HEARTH TOKEN NEW [<device name>] | LIST | REVOKE <id|*>";

fn usage() -> IrcError {
    IrcError::Fail("INVALID_PARAMS", vec![], USAGE.into())
}

fn unavailable(what: &str) -> Answer {
    Answer::Fail("TEMPORARILY_UNAVAILABLE", String::new(), format!("Could not {what}, try again later"))
}

/// What a TOKEN subcommand ends with.
enum Answer {
    Created { token: String, info: LoginToken },
    Listed(Vec<LoginToken>),
    Revoked { what: String, n: u64 },
    Fail(&'static str, String, String),
}

/// HEARTH TOKEN …; `args` follow `TOKEN`.
pub fn token(s: &mut Server, ctx: &mut Ctx, args: &[String]) -> Result<(), IrcError> {
    let Some(svc) = s.services.clone() else {
        return Err(IrcError::Fail("TEMPORARILY_UNAVAILABLE", vec![], "Accounts are off on this server".into()));
    };
    let Some(account) = s.client(ctx.id).account.clone() else {
        return Err(IrcError::Fail("ACCOUNT_REQUIRED", vec![], "Log in first to manage login tokens".into()));
    };
    let sub = args.first().map(|a| a.to_ascii_uppercase()).ok_or_else(usage)?;
    let rest = &args[1..];
    enum Job {
        New(String),
        List,
        Revoke(String),
    }
    let job = match sub.as_str() {
        "NEW" => {
            let device: String = rest.join(" ").trim().chars().take(MAX_DEVICE_CHARS).collect();
            Job::New(if device.is_empty() { "unnamed device".into() } else { device })
        }
        "LIST" if rest.is_empty() => Job::List,
        "REVOKE" if rest.len() == 1 => Job::Revoke(rest[0].clone()),
        _ => return Err(usage()),
    };
    let (id, session) = (ctx.id, ctx.session);
    let label = ctx.label.take();
    s.spawn(async move {
        let store: &dyn Store = &*svc.store;
        let answer = match job {
            Job::New(device) => match bounded(store.login_tokens(&account)).await {
                Ok(list) if list.len() >= MAX_TOKENS => Answer::Fail(
                    "LIMIT_EXCEEDED",
                    String::new(),
                    format!("You have {MAX_TOKENS} login tokens already; revoke some first"),
                ),
                Ok(_) => {
                    let token = login_token::generate();
                    let token_id = login_token::generate_id();
                    match bounded(store.add_login_token(&account, &token_id, &login_token::hash(&token), &device)).await
                    {
                        Ok(info) => Answer::Created { token, info },
                        Err(e) => {
                            tracing::error!("HEARTH TOKEN NEW failed: {e}");
                            unavailable("create a login token")
                        }
                    }
                }
                Err(e) => {
                    tracing::error!("HEARTH TOKEN NEW failed: {e}");
                    unavailable("create a login token")
                }
            },
            Job::List => match bounded(store.login_tokens(&account)).await {
                Ok(list) => Answer::Listed(list),
                Err(e) => {
                    tracing::error!("HEARTH TOKEN LIST failed: {e}");
                    unavailable("list your login tokens")
                }
            },
            Job::Revoke(which) => {
                let done = if which == "*" {
                    bounded(store.delete_login_tokens(&account)).await
                } else {
                    bounded(store.delete_login_token(&account, &which)).await.map(u64::from)
                };
                match done {
                    Ok(0) if which != "*" => {
                        Answer::Fail("INVALID_PARAMS", which.clone(), format!("You have no login token {which}"))
                    }
                    Ok(n) => Answer::Revoked { what: which, n },
                    Err(e) => {
                        tracing::error!("HEARTH TOKEN REVOKE failed: {e}");
                        unavailable("revoke the login token")
                    }
                }
            }
        };
        let done: Completion = Box::new(move |s: &mut Server| finish(s, id, session, answer, label));
        done
    });
    Ok(())
}

/// `ms` since the epoch as RFC 3339, to the second.
pub fn rfc3339(ms: i64) -> String {
    let t = UNIX_EPOCH + Duration::from_millis(u64::try_from(ms).unwrap_or(0));
    humantime::format_rfc3339_seconds(t).to_string()
}

fn notice(s: &Server, ctx: &mut Ctx, sub: &str, tags: &[(&str, String)], text: String) {
    let nick = s.nick_of(ctx.id);
    let mut m: Message = s.server_msg("NOTICE").with_param(nick).with_param(text);
    if s.client(ctx.session).caps.contains(Cap::MessageTags) {
        m = m.with_tag(TAG_ADMIN, sub);
        for (k, v) in tags {
            m = m.with_tag(*k, v.as_str());
        }
    }
    ctx.reply(m);
}

/// Answers the session that asked (one of the user's devices, see [`crate::sessions`]).
fn finish(s: &mut Server, id: crate::ConnId, session: crate::ConnId, answer: Answer, label: Option<String>) {
    if !s.clients.contains_key(&id) || !s.clients.contains_key(&session) {
        return;
    }
    let mut ctx = Ctx::for_session(id, session, "HEARTH", label);
    match answer {
        Answer::Created { token, info } => {
            tracing::info!(account = %info.account, token_id = %info.id, "login token created");
            let tags = [(TAG_TOKEN, token.clone()), (TAG_TOKEN_ID, info.id.clone())];
            let text = format!(
                "New login token {} for {}: log in with SASL PLAIN and the password token:{token} \
                 (shown only now; HEARTH TOKEN REVOKE {} ends it)",
                info.id, info.device, info.id
            );
            notice(s, &mut ctx, "token-new", &tags, text);
        }
        Answer::Listed(list) => {
            notice(s, &mut ctx, "token-count", &[], format!("{} login token(s):", list.len()));
            for t in list {
                let used = t.last_used_at.map_or_else(|| "never".to_string(), |u| rfc3339(u.0));
                let line = format!("{}: {}, created {}, last used {used}", t.id, t.device, rfc3339(t.created_at.0));
                let tags = [(TAG_TOKEN_ID, t.id.clone()), (TAG_DEVICE, t.device.clone())];
                notice(s, &mut ctx, "token-list", &tags, line);
            }
        }
        Answer::Revoked { what, n } => {
            let text =
                if what == "*" { format!("Revoked {n} login token(s)") } else { format!("Revoked login token {what}") };
            let tags = [(TAG_TOKEN_ID, what)];
            notice(s, &mut ctx, "token-revoke", &tags, text);
        }
        Answer::Fail(code, name, text) => {
            let nick = s.nick_of(id);
            let ctxs = if name.is_empty() { vec![] } else { vec![name] };
            ctx.reply(IrcError::Fail(code, ctxs, text).to_message(&s.cfg.server_name, &nick, "HEARTH"));
        }
    }
    s.flush(ctx);
}
