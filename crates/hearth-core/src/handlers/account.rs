//! Accounts: SASL (AUTHENTICATE) and self sign-up (REGISTER, draft/account-registration).

use std::time::Instant;

use base64::Engine;
use hearth_proto::numeric::*;
use hearth_proto::{Cap, Message, casefold, is_valid_nick};

use crate::auth::{self, Via};
use crate::error::IrcError;
use crate::server::{Completion, Ctx, Server};

/// Longest SASL chunk (RFC: 400 bytes; a 400-byte chunk means more follows).
const CHUNK: usize = 400;
/// Longest SASL PLAIN payload we accept, base64.
const MAX_PAYLOAD: usize = 1600;
/// Shortest password REGISTER accepts.
pub const MIN_PASSWORD: usize = 8;

fn sasl_fail(s: &Server, ctx: &mut Ctx, why: &str) {
    s.num(ctx, ERR_SASLFAIL, [], &format!("SASL authentication failed: {why}"));
}

/// AUTHENTICATE <mechanism> | AUTHENTICATE <base64 chunk>|+ | AUTHENTICATE *
pub fn authenticate(s: &mut Server, ctx: &mut Ctx, msg: &Message) -> Result<(), IrcError> {
    let arg = msg.params[0].as_str();
    let c = s.client(ctx.id);
    if s.services.is_none() || !c.caps.contains(Cap::Sasl) {
        sasl_fail(s, ctx, "request the sasl capability first");
        return Ok(());
    }
    if c.account.is_some() {
        s.num(ctx, ERR_SASLALREADY, [], "You have already authenticated using SASL");
        return Ok(());
    }
    if c.auth_pending {
        sasl_fail(s, ctx, "a login is already being checked");
        return Ok(());
    }
    if arg == "*" {
        s.client_mut(ctx.id).sasl_buf = None;
        s.client_mut(ctx.id).sasl_overflow = false;
        s.client_mut(ctx.id).sasl_external = false;
        s.num(ctx, ERR_SASLABORTED, [], "SASL authentication aborted");
        return Ok(());
    }
    let Some(buf) = c.sasl_buf.clone() else {
        if arg.eq_ignore_ascii_case("PLAIN") {
            s.client_mut(ctx.id).sasl_buf = Some(Box::default());
            ctx.reply(Message::new("AUTHENTICATE").with_param("+"));
        } else if arg.eq_ignore_ascii_case("EXTERNAL") && s.cfg.sasl_external {
            if s.client(ctx.id).conn.cert_fp.is_none() {
                sasl_fail(s, ctx, auth::NO_CERT);
                return Ok(());
            }
            let c = s.client_mut(ctx.id);
            c.sasl_buf = Some(Box::default());
            c.sasl_external = true;
            ctx.reply(Message::new("AUTHENTICATE").with_param("+"));
        } else {
            let mechs = if s.cfg.sasl_external { "PLAIN,EXTERNAL" } else { "PLAIN" };
            s.num(ctx, RPL_SASLMECHS, [mechs], "are available SASL mechanisms");
            sasl_fail(s, ctx, "unknown mechanism");
        }
        return Ok(());
    };
    if arg.len() > CHUNK {
        // 905 is for one AUTHENTICATE line over 400 bytes.
        let c = s.client_mut(ctx.id);
        c.sasl_buf = None;
        c.sasl_overflow = false;
        s.num(ctx, ERR_SASLTOOLONG, [], "SASL message too long");
        return Ok(());
    }
    let mut buf = buf;
    if arg != "+" && !c.sasl_overflow {
        buf.push_str(arg);
    }
    let overflow = c.sasl_overflow || buf.len() > MAX_PAYLOAD;
    if arg.len() == CHUNK {
        // More follows. A payload over the limit is not kept, but read to its end
        // so that its remaining chunks are not taken for a new mechanism.
        let c = s.client_mut(ctx.id);
        c.sasl_buf = Some(if overflow { Box::default() } else { buf });
        c.sasl_overflow = overflow;
        return Ok(());
    }
    let c = s.client_mut(ctx.id);
    c.sasl_buf = None;
    c.sasl_overflow = false;
    let external = std::mem::take(&mut c.sasl_external);
    if overflow {
        // A whole payload over the limit fails like any bad payload: 904 (as ergo).
        sasl_fail(s, ctx, "the SASL payload is too long");
        return Ok(());
    }
    if external {
        // The payload is empty (`+`) or the account to log in to (authzid).
        match base64::engine::general_purpose::STANDARD
            .decode(buf.as_bytes())
            .ok()
            .and_then(|b| String::from_utf8(b).ok())
        {
            Some(authzid) => {
                let authzid = (!authzid.is_empty()).then_some(authzid);
                auth::start_external(s, ctx.id, authzid, ctx.label.take());
            }
            None => sasl_fail(s, ctx, "malformed EXTERNAL payload"),
        }
        return Ok(());
    }
    match decode_plain(&buf) {
        Some((account, password)) => {
            auth::start_login(s, ctx.id, account, password, Via::Sasl, ctx.label.take());
        }
        None => sasl_fail(s, ctx, "malformed PLAIN payload"),
    }
    Ok(())
}

/// `base64(authzid NUL authcid NUL password)` → (account, password).
fn decode_plain(b64: &str) -> Option<(String, String)> {
    let raw = base64::engine::general_purpose::STANDARD.decode(b64).ok()?;
    let mut parts = raw.split(|b| *b == 0);
    let authzid = std::str::from_utf8(parts.next()?).ok()?;
    let authcid = std::str::from_utf8(parts.next()?).ok()?;
    let password = std::str::from_utf8(parts.next()?).ok()?;
    if parts.next().is_some() || authcid.is_empty() {
        return None;
    }
    // Logging in on behalf of another account is not supported.
    if !authzid.is_empty() && casefold(authzid) != casefold(authcid) {
        return None;
    }
    Some((authcid.to_string(), password.to_string()))
}

/// REGISTER <account> <email> <password>
pub fn register(s: &mut Server, ctx: &mut Ctx, msg: &Message) -> Result<(), IrcError> {
    let fail = |code: &'static str, ctxs: Vec<String>, text: &str| IrcError::Fail(code, ctxs, text.to_string());
    let c = s.client(ctx.id);
    let requested = msg.params[0].clone();
    let account = if requested == "*" { c.nick.to_string() } else { requested.clone() };
    if s.services.is_none() || !s.cfg.open_registration {
        return Err(fail(
            "DISALLOWED",
            vec![requested],
            "Accounts are created by the administrator (hearth user add NAME)",
        ));
    }
    if c.account.is_some() {
        return Err(fail("ALREADY_AUTHENTICATED", vec![account], "You are already logged in"));
    }
    if c.nick_key.is_empty() {
        return Err(fail("NEED_NICK", vec!["*".into()], "Choose a nickname (NICK) first: the account takes its name"));
    }
    // The capability value does not advertise `custom-account-name`: an account is
    // named after the nickname of whoever registers it.
    if casefold(&account) != c.nick_key {
        return Err(fail(
            "ACCOUNT_NAME_MUST_BE_NICK",
            vec![account],
            "The account name must be your current nickname (or *)",
        ));
    }
    if !is_valid_nick(&account, s.cfg.nick_len) {
        return Err(fail("BAD_ACCOUNT_NAME", vec![account], "Account names follow the nickname rules"));
    }
    if s.account_names.contains(&casefold(&account)) {
        return Err(fail("ACCOUNT_EXISTS", vec![account], "That account already exists"));
    }
    let password = msg.params[2].clone();
    if password.chars().count() < MIN_PASSWORD {
        return Err(fail(
            "WEAK_PASSWORD",
            vec![account],
            &format!("Passwords need at least {MIN_PASSWORD} characters"),
        ));
    }
    let svc = s.services.clone().expect("checked above");
    let id = ctx.id;
    let ip = c.ip;
    // Hashing a new password costs what checking one does: the same per-address cap
    // and the same pool (no failure delay: this is not a guess).
    if s.attempts.admit(ip, None, Instant::now()).is_none() {
        let why = format!("Too many requests from your address: {}", auth::TOO_MANY_FROM_ADDRESS);
        return Err(fail("TEMPORARILY_UNAVAILABLE", vec![account], &why));
    }
    let label = ctx.label.take();
    s.client_mut(id).auth_pending = true;
    s.spawn(async move {
        let params = svc.argon2.clone();
        let hash = move |scratch: &mut _| hearth_store::password::hash_password_with(&password, &params, scratch);
        let created = match svc.hashes.submit(auth::source(ip), hash) {
            Err(_) => Err(Unregistered::Busy),
            Ok(hashed) => match hashed.await {
                Ok(hash) => {
                    svc.store.create_account(&account, &hash).await.map_err(|e| Unregistered::Error(e.to_string()))
                }
                Err(_) => Err(Unregistered::Error("the password hash did not finish".into())),
            },
        };
        let done: Completion = Box::new(move |s: &mut Server| finish_register(s, id, ip, account, created, label));
        done
    });
    Ok(())
}

/// Why REGISTER did not create the account.
#[derive(Debug)]
enum Unregistered {
    /// The hashing queue was full.
    Busy,
    Error(String),
}

fn finish_register(
    s: &mut Server,
    id: crate::ConnId,
    ip: std::net::IpAddr,
    account: String,
    created: Result<hearth_store::Account, Unregistered>,
    label: Option<String>,
) {
    s.attempts.finish(ip, None, auth::Outcome::Neither, Instant::now());
    if let Ok(acct) = &created {
        s.account_names.insert(casefold(&acct.name));
        tracing::info!(account = %acct.name, "account registered");
    }
    if !s.clients.contains_key(&id) {
        return;
    }
    let mut ctx = Ctx::new(id, "REGISTER", label);
    s.client_mut(id).auth_pending = false;
    match created {
        Ok(acct) => {
            ctx.reply(
                s.server_msg("REGISTER")
                    .with_param("SUCCESS")
                    .with_param(acct.name.as_str())
                    .with_param("Account created"),
            );
            s.client_mut(id).account = Some(acct.name.clone());
            crate::visibility::logged_in(s, id);
            let c = s.client(id);
            let mask = if c.mask.is_empty() { "*".to_string() } else { c.mask.to_string() };
            s.num(
                &mut ctx,
                RPL_LOGGEDIN,
                [mask.as_str(), acct.name.as_str()],
                &format!("You are now logged in as {}", acct.name),
            );
        }
        Err(e) => {
            let (code, text) = match e {
                Unregistered::Busy => ("TEMPORARILY_UNAVAILABLE", format!("Server busy: {}", auth::SERVER_BUSY)),
                Unregistered::Error(e) if e.contains("already exists") => {
                    ("ACCOUNT_EXISTS", "That account already exists".to_string())
                }
                Unregistered::Error(e) => {
                    tracing::error!("REGISTER failed: {e}");
                    ("TEMPORARILY_UNAVAILABLE", "Could not create the account, try again later".to_string())
                }
            };
            let nick = s.nick_of(id);
            ctx.reply(IrcError::Fail(code, vec![account], text).to_message(&s.cfg.server_name, &nick, "REGISTER"));
        }
    }
    crate::handlers::registration::try_register(s, &mut ctx);
    s.flush(ctx);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn b64(s: &[u8]) -> String {
        base64::engine::general_purpose::STANDARD.encode(s)
    }

    #[test]
    fn plain_payloads() {
        assert_eq!(decode_plain(&b64(b"\0alice\0secret")), Some(("alice".into(), "secret".into())));
        assert_eq!(decode_plain(&b64(b"alice\0alice\0pw")), Some(("alice".into(), "pw".into())));
        assert_eq!(decode_plain(&b64(b"bob\0alice\0pw")), None, "no impersonation");
        assert_eq!(decode_plain(&b64(b"\0\0pw")), None);
        assert_eq!(decode_plain(&b64(b"alice")), None);
        assert_eq!(decode_plain("not base64!"), None);
    }
}
