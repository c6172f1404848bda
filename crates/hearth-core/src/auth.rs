//! Logging in: password checks off the event loop, and a delay that grows with
//! repeated failures from one IP address or for one account.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use hearth_proto::numeric::*;
use hearth_proto::{Cap, Message};

use crate::client::ConnId;
use crate::relay::Relay;
use crate::server::{Completion, Ctx, Server};

/// Failures are forgotten after this long without another one.
const FORGET_AFTER: Duration = Duration::from_secs(15 * 60);
/// The longest delay a login waits.
const MAX_DELAY: Duration = Duration::from_secs(30);

/// Recent login failures per IP address and per account.
#[derive(Debug, Default)]
pub struct Failures {
    map: HashMap<String, (u32, Instant)>,
}

fn ip_key(ip: IpAddr) -> String {
    format!("ip {ip}")
}

fn account_key(account: &str) -> String {
    format!("account {}", hearth_proto::casefold(account))
}

impl Failures {
    fn count(&self, key: &str, now: Instant) -> u32 {
        match self.map.get(key) {
            Some((n, last)) if now.duration_since(*last) < FORGET_AFTER => *n,
            _ => 0,
        }
    }

    /// How long the next login from `ip` for `account` waits before it is checked:
    /// 0 at first, then 250 ms doubling with each recent failure, up to 30 s.
    pub fn delay(&self, ip: IpAddr, account: &str, now: Instant) -> Duration {
        let n = self.count(&ip_key(ip), now).max(self.count(&account_key(account), now));
        if n == 0 {
            return Duration::ZERO;
        }
        (Duration::from_millis(250) * 2u32.pow((n - 1).min(8))).min(MAX_DELAY)
    }

    pub fn record(&mut self, ip: IpAddr, account: &str, now: Instant) {
        if self.map.len() > 10_000 {
            self.map.retain(|_, (_, last)| now.duration_since(*last) < FORGET_AFTER);
        }
        for key in [ip_key(ip), account_key(account)] {
            let e = self.map.entry(key).or_insert((0, now));
            if now.duration_since(e.1) >= FORGET_AFTER {
                e.0 = 0;
            }
            e.0 += 1;
            e.1 = now;
        }
    }

    pub fn clear(&mut self, ip: IpAddr, account: &str) {
        self.map.remove(&ip_key(ip));
        self.map.remove(&account_key(account));
    }
}

/// How the credentials arrived; decides the replies.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Via {
    Sasl,
    Pass,
}

/// The outcome of a password check.
#[derive(Debug)]
pub enum Checked {
    Ok { name: String, admin: bool },
    BadCredentials,
    Unavailable(String),
}

/// A hash to verify against when the account does not exist, so that unknown and
/// known accounts take the same time to refuse.
fn dummy_hash(params: &hearth_store::password::Argon2Params) -> &'static str {
    static HASH: OnceLock<String> = OnceLock::new();
    HASH.get_or_init(|| hearth_store::password::hash_password("not-a-real-password", params))
}

/// Starts checking `account`/`password` for connection `id`.
pub fn start_login(s: &mut Server, id: ConnId, account: String, password: String, via: Via, label: Option<String>) {
    let Some(svc) = s.services.clone() else {
        let mut ctx = Ctx::new(id, "AUTHENTICATE", label);
        s.num(&mut ctx, ERR_SASLFAIL, [], "SASL authentication failed: this server has no accounts");
        s.flush(ctx);
        return;
    };
    let c = s.client_mut(id);
    c.auth_pending = true;
    let ip = c.ip;
    let delay = s.failures.delay(ip, &account, Instant::now());
    s.spawn(async move {
        // Waiting before the check (not after a failure) keeps a client from learning
        // the answer early by timing out.
        tokio::time::sleep(delay).await;
        let checked = match svc.store.account(&account).await {
            Ok(found) => {
                let params = svc.argon2.clone();
                let verdict = tokio::task::spawn_blocking(move || match found {
                    Some(acct) => hearth_store::password::verify_password(&password, &acct.password_hash)
                        .then_some((acct.name, acct.admin)),
                    None => {
                        let _ = hearth_store::password::verify_password(&password, dummy_hash(&params));
                        None
                    }
                })
                .await;
                match verdict {
                    Ok(Some((name, admin))) => Checked::Ok { name, admin },
                    Ok(None) => Checked::BadCredentials,
                    Err(e) => Checked::Unavailable(e.to_string()),
                }
            }
            Err(e) => Checked::Unavailable(e.to_string()),
        };
        let done: Completion = Box::new(move |s: &mut Server| finish_login(s, id, ip, &account, checked, via, label));
        done
    });
}

/// Applies a password check's outcome.
fn finish_login(
    s: &mut Server,
    id: ConnId,
    ip: IpAddr,
    account: &str,
    checked: Checked,
    via: Via,
    label: Option<String>,
) {
    let now = Instant::now();
    if matches!(checked, Checked::BadCredentials) {
        s.failures.record(ip, account, now);
        tracing::info!(%ip, account, "login failed: wrong account or password");
    }
    if !s.clients.contains_key(&id) {
        return;
    }
    let mut ctx = Ctx::new(id, if via == Via::Sasl { "AUTHENTICATE" } else { "PASS" }, label);
    let c = s.client_mut(id);
    c.auth_pending = false;
    c.sasl_buf = None;
    match checked {
        Checked::Ok { name, admin } => {
            s.failures.clear(ip, &name);
            tracing::info!(%ip, account = %name, "logged in");
            let c = s.client_mut(id);
            c.account = Some(name.clone());
            c.oper |= admin;
            let (mask, registered) = (c.mask.clone(), c.registered);
            let shown_mask = if mask.is_empty() { "*".to_string() } else { mask.clone() };
            s.num(
                &mut ctx,
                RPL_LOGGEDIN,
                [shown_mask.as_str(), name.as_str()],
                &format!("You are now logged in as {name}"),
            );
            if via == Via::Sasl {
                s.num(&mut ctx, RPL_SASLSUCCESS, [], "SASL authentication successful");
            }
            if registered {
                if admin {
                    s.num(&mut ctx, RPL_YOUREOPER, [], "You are now an IRC operator");
                }
                let m = Message::new("ACCOUNT").with_source(mask.as_str()).with_param(name.as_str());
                let mut relay = Relay::new(m, Server::now_time());
                let peers = s.peers(id);
                s.deliver(&mut relay, peers, None, Some(Cap::AccountNotify));
            }
        }
        Checked::BadCredentials => match via {
            Via::Sasl => s.num(&mut ctx, ERR_SASLFAIL, [], "SASL authentication failed: wrong account or password"),
            Via::Pass => {
                s.num(&mut ctx, ERR_PASSWDMISMATCH, [], "Wrong account or password (PASS account:password)");
                s.quit_later(id, "Wrong account or password".into());
            }
        },
        Checked::Unavailable(why) => {
            tracing::error!("login check failed: {why}");
            s.num(&mut ctx, ERR_SASLFAIL, [], "Login is unavailable right now, please try again in a minute");
            if via == Via::Pass {
                s.quit_later(id, "Login unavailable".into());
            }
        }
    }
    crate::handlers::registration::try_register(s, &mut ctx);
    s.flush(ctx);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delay_grows_per_ip_and_per_account_and_is_forgotten() {
        let mut f = Failures::default();
        let ip: IpAddr = "127.0.0.1".parse().unwrap();
        let other: IpAddr = "127.0.0.2".parse().unwrap();
        let t = Instant::now();
        assert_eq!(f.delay(ip, "alice", t), Duration::ZERO);
        f.record(ip, "alice", t);
        assert_eq!(f.delay(ip, "alice", t), Duration::from_millis(250));
        f.record(ip, "alice", t);
        f.record(ip, "alice", t);
        assert_eq!(f.delay(ip, "bob", t), Duration::from_secs(1), "same IP, other account");
        assert_eq!(f.delay(other, "ALICE", t), Duration::from_secs(1), "other IP, same account");
        assert_eq!(f.delay(other, "bob", t), Duration::ZERO, "nobody else is slowed");
        for _ in 0..20 {
            f.record(ip, "alice", t);
        }
        assert_eq!(f.delay(ip, "alice", t), MAX_DELAY);
        assert_eq!(f.delay(ip, "alice", t + FORGET_AFTER), Duration::ZERO);
        f.clear(ip, "alice");
        assert_eq!(f.delay(ip, "alice", t), Duration::ZERO);
    }
}
