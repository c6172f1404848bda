//! Logging in: password checks on the hashing pool, and delays that grow with failures.
//!
//! # The policy
//! Every login waits, before its password is checked, for the longer of two delays:
//! - **per address** (an IPv4 address, or an IPv6 /64): 250 ms doubling with each recent
//!   failure from that address, up to 30 s. Checks from the address that are still
//!   pending count as failures, so twenty simultaneous guesses are not checked at once at
//!   zero delay; and at most `max_logins_per_ip` may be pending at all — more are refused
//!   at once ("wait and retry"), without hashing anything.
//! - **per account**: the same growth from the account's recent failures (and pending
//!   checks) from all addresses, but capped at [`ACCOUNT_MAX_DELAY`] (2 s). It slows a
//!   guesser that spreads over many addresses, yet however hard someone hammers an
//!   account from elsewhere, its owner logging in from a fresh address waits at most
//!   2 s here — plus one hash per other busy address at most, as the pool serves
//!   addresses round-robin ([`crate::hashing`]).
//!
//! A guesser's rate is thus bounded by its addresses: each one gets about one guess per
//! 30 s once it has failed a few times. Failures are forgotten after 15 minutes without
//! another one; a successful login clears its address and its account.
//!
//! Waiting happens before the check, not after a failure, so that a client cannot learn
//! the answer early by timing out.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use hearth_proto::numeric::*;
use hearth_proto::{Cap, Message};
use hearth_store::Timestamp;
use hearth_store::login_token;
use hearth_store::password::{self, Argon2Params, Scratch};

use crate::client::ConnId;
use crate::relay::Relay;
use crate::server::{Completion, Ctx, Server, Services};

/// Failures are forgotten after this long without another one.
const FORGET_AFTER: Duration = Duration::from_secs(15 * 60);
/// The first delay after one failure; it doubles with each further one.
const FIRST_DELAY: Duration = Duration::from_millis(250);
/// The longest delay an address waits for its own failures.
pub const MAX_DELAY: Duration = Duration::from_secs(30);
/// The longest delay an account's failures add to a login from any address — what
/// an attacker elsewhere can make the owner wait.
pub const ACCOUNT_MAX_DELAY: Duration = Duration::from_secs(2);
/// Above this many tracked addresses and accounts, idle entries are dropped.
const MAX_TRACKED: usize = 10_000;

/// The key an address is counted under: IPv4 addresses (also IPv4-mapped IPv6) as they
/// are, IPv6 addresses by their /64, which one subscriber usually gets whole.
pub fn source(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V4(_) => ip,
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => IpAddr::V6((u128::from(v6) & !((1u128 << 64) - 1)).into()),
        },
    }
}

/// Recent failures and checks in progress for one address or account.
#[derive(Debug, Default, Clone, Copy)]
struct Tally {
    failures: u32,
    last_failure: Option<Instant>,
    pending: u32,
}

impl Tally {
    /// Failures not yet forgotten.
    fn recent(&self, now: Instant) -> u32 {
        match self.last_failure {
            Some(t) if now.duration_since(t) < FORGET_AFTER => self.failures,
            _ => 0,
        }
    }

    /// Recent failures plus pending checks (as if they had failed): what the next
    /// delay is computed from.
    fn weight(&self, now: Instant) -> u32 {
        self.recent(now) + self.pending
    }

    fn idle(&self, now: Instant) -> bool {
        self.pending == 0 && self.weight(now) == 0
    }
}

/// 0 for no failures, then 250 ms doubling, at most `cap`.
fn backoff(n: u32, cap: Duration) -> Duration {
    if n == 0 { Duration::ZERO } else { (FIRST_DELAY * 2u32.pow((n - 1).min(8))).min(cap) }
}

/// How a check ended, for the bookkeeping.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Failed,
    Succeeded,
    /// Not a verdict on the password (store down, queue full, a REGISTER).
    Neither,
}

/// Login attempts per address and per account: pending checks, recent failures, and
/// the delays and refusals that follow from them. Pure bookkeeping, no I/O.
#[derive(Debug)]
pub struct Attempts {
    max_per_source: u32,
    sources: HashMap<IpAddr, Tally>,
    accounts: HashMap<String, Tally>,
    /// Failed logins since start, for `/metrics`.
    failures: u64,
}

impl Attempts {
    /// At most `max_per_source` checks pending per address (at least one).
    pub fn new(max_per_source: usize) -> Self {
        let max_per_source = u32::try_from(max_per_source).unwrap_or(u32::MAX).max(1);
        Attempts { max_per_source, sources: HashMap::new(), accounts: HashMap::new(), failures: 0 }
    }

    /// Admits one more check from `ip` (for `account` when it is a login) and returns
    /// how long it waits first; `None` when `ip` already has the most pending checks.
    /// Every admitted check must be ended with [`Attempts::finish`].
    pub fn admit(&mut self, ip: IpAddr, account: Option<&str>, now: Instant) -> Option<Duration> {
        if self.sources.len() + self.accounts.len() > MAX_TRACKED {
            self.sources.retain(|_, t| !t.idle(now));
            self.accounts.retain(|_, t| !t.idle(now));
        }
        let by_source = self.sources.entry(source(ip)).or_default();
        if by_source.pending >= self.max_per_source {
            return None;
        }
        let mut delay = backoff(by_source.weight(now), MAX_DELAY);
        by_source.pending += 1;
        if let Some(account) = account {
            let by_account = self.accounts.entry(hearth_proto::casefold(account)).or_default();
            delay = delay.max(backoff(by_account.weight(now), ACCOUNT_MAX_DELAY));
            by_account.pending += 1;
        }
        Some(delay)
    }

    /// Ends a check admitted by [`Attempts::admit`] with the same `ip` and `account`.
    pub fn finish(&mut self, ip: IpAddr, account: Option<&str>, outcome: Outcome, now: Instant) {
        if outcome == Outcome::Failed {
            self.failures += 1;
        }
        let key = account.map(hearth_proto::casefold);
        for tally in [self.sources.get_mut(&source(ip)), key.as_ref().and_then(|k| self.accounts.get_mut(k))]
            .into_iter()
            .flatten()
        {
            tally.pending = tally.pending.saturating_sub(1);
            match outcome {
                Outcome::Failed => {
                    tally.failures = tally.recent(now) + 1;
                    tally.last_failure = Some(now);
                }
                Outcome::Succeeded => {
                    tally.failures = 0;
                    tally.last_failure = None;
                }
                Outcome::Neither => {}
            }
        }
        if self.sources.get(&source(ip)).is_some_and(|t| t.idle(now)) {
            self.sources.remove(&source(ip));
        }
        if let Some(k) = key
            && self.accounts.get(&k).is_some_and(|t| t.idle(now))
        {
            self.accounts.remove(&k);
        }
    }

    /// Failed logins since start.
    pub fn failures(&self) -> u64 {
        self.failures
    }

    /// Checks pending from `ip`'s address.
    pub fn pending(&self, ip: IpAddr) -> u32 {
        self.sources.get(&source(ip)).map_or(0, |t| t.pending)
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
    Ok {
        name: String,
        admin: bool,
    },
    BadCredentials,
    /// Refused without a check; the text says why and to retry.
    Busy(&'static str),
    Unavailable(String),
}

/// Refusal text when an address has too many checks pending.
pub const TOO_MANY_FROM_ADDRESS: &str =
    "too many logins from your address are being checked; wait a few seconds and try again";
/// Refusal text when the hashing queue is full.
pub const SERVER_BUSY: &str = "the server is busy checking other logins; wait a few seconds and try again";

/// A hash to verify against when the account does not exist, so that unknown and
/// known accounts take the same time to refuse.
fn dummy_hash(params: &Argon2Params, scratch: &mut Scratch) -> &'static str {
    static HASH: OnceLock<String> = OnceLock::new();
    HASH.get_or_init(|| password::hash_password_with("not-a-real-password", params, scratch))
}

/// Starts checking `account`/`password` for connection `id`.
pub fn start_login(s: &mut Server, id: ConnId, account: String, password: String, via: Via, label: Option<String>) {
    let Some(svc) = s.services.clone() else {
        let mut ctx = Ctx::new(id, "AUTHENTICATE", label);
        s.num(&mut ctx, ERR_SASLFAIL, [], "SASL authentication failed: this server has no accounts");
        s.flush(ctx);
        return;
    };
    let ip = s.client(id).ip;
    let Some(delay) = s.attempts.admit(ip, Some(&account), Instant::now()) else {
        tracing::info!(%ip, account, "login refused: too many checks pending from this address");
        reply_login(s, id, Checked::Busy(TOO_MANY_FROM_ADDRESS), via, label);
        return;
    };
    s.client_mut(id).auth_pending = true;
    s.spawn(async move {
        tokio::time::sleep(delay).await;
        let checked = check_login(&svc, ip, &account, password).await;
        let done: Completion = Box::new(move |s: &mut Server| finish_login(s, id, ip, &account, checked, via, label));
        done
    });
}

/// Starts SASL EXTERNAL for connection `id`: the account that registered the
/// fingerprint of its TLS client certificate (`hearth user cert add`). `authzid`, when
/// the client names one, must be that account. Nothing is guessed here (the TLS
/// handshake proved the key), so no delay applies; a failure still counts for
/// `/metrics`.
pub fn start_external(s: &mut Server, id: ConnId, authzid: Option<String>, label: Option<String>) {
    let (Some(svc), Some(fp)) = (s.services.clone(), s.client(id).conn.cert_fp.clone()) else {
        reply_login(s, id, Checked::Busy(NO_CERT), Via::Sasl, label);
        return;
    };
    s.client_mut(id).auth_pending = true;
    s.spawn(async move {
        let checked = match crate::handlers::history::bounded(svc.store.account_by_cert(&fp)).await {
            Ok(Some(acct))
                if authzid.as_deref().is_none_or(|z| hearth_proto::casefold(z) == hearth_proto::casefold(&acct.name)) =>
            {
                Checked::Ok { name: acct.name, admin: acct.admin }
            }
            // Not a password: say what is wrong with the certificate instead.
            Ok(Some(_)) => Checked::Busy("this certificate belongs to another account"),
            Ok(None) => Checked::Busy(UNKNOWN_CERT),
            Err(e) => Checked::Unavailable(e.to_string()),
        };
        let done: Completion = Box::new(move |s: &mut Server| {
            if matches!(checked, Checked::Busy(_)) {
                s.attempts.failures += 1;
                tracing::info!(ip = %s.clients.get(&id).map(|c| c.ip.to_string()).unwrap_or_default(), fingerprint = %fp, "EXTERNAL login failed");
            }
            if s.clients.contains_key(&id) {
                reply_login(s, id, checked, Via::Sasl, label);
            }
        });
        done
    });
}

/// EXTERNAL without a client certificate.
pub const NO_CERT: &str = "EXTERNAL needs a TLS client certificate";
/// EXTERNAL with a certificate no account has registered.
pub const UNKNOWN_CERT: &str =
    "no account has registered this certificate (the administrator adds it with `hearth user cert add`)";

/// [`check`] for a login (SASL PLAIN, PASS; OPER takes passwords only): a password
/// `token:<token>` is first looked up as a login token of `account` (`HEARTH TOKEN NEW`;
/// by its SHA-256, no slow hash needed); a token that logs in records its use. When it is not one, it is checked as an ordinary password, so a password that
/// happens to start with `token:` still works and a wrong token costs what a wrong
/// password does. Either way the caller's delays and failure counts apply.
async fn check_login(svc: &Services, ip: IpAddr, account: &str, password: String) -> Checked {
    if let Some(token) = password.strip_prefix(login_token::PREFIX) {
        match crate::handlers::history::bounded(svc.store.account_by_login_token(&login_token::hash(token))).await {
            Ok(Some((token, acct))) if hearth_proto::casefold(&acct.name) == hearth_proto::casefold(account) => {
                if let Err(e) =
                    crate::handlers::history::bounded(svc.store.touch_login_token(&token.id, Timestamp::now())).await
                {
                    tracing::warn!("could not record the use of login token {}: {e}", token.id);
                }
                return Checked::Ok { name: acct.name, admin: acct.admin };
            }
            Ok(_) => {}
            Err(e) => return Checked::Unavailable(e.to_string()),
        }
    }
    check(svc, ip, account, password).await
}

/// Looks the account up and verifies the password on the hashing pool; an unknown
/// account is verified against a dummy hash so that it takes as long.
pub(crate) async fn check(svc: &Services, ip: IpAddr, account: &str, password: String) -> Checked {
    let found = match crate::handlers::history::bounded(svc.store.account(account)).await {
        Ok(found) => found,
        Err(e) => return Checked::Unavailable(e.to_string()),
    };
    let params = svc.argon2.clone();
    let verify = move |scratch: &mut Scratch| match found {
        Some(acct) => {
            password::verify_password_with(&password, &acct.password_hash, scratch).then_some((acct.name, acct.admin))
        }
        None => {
            let _ = password::verify_password_with(&password, dummy_hash(&params, scratch), scratch);
            None
        }
    };
    let Ok(verdict) = svc.hashes.submit(source(ip), verify) else {
        return Checked::Busy(SERVER_BUSY);
    };
    match verdict.await {
        Ok(Some((name, admin))) => Checked::Ok { name, admin },
        Ok(None) => Checked::BadCredentials,
        Err(_) => Checked::Unavailable("the password check did not finish".into()),
    }
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
    let outcome = match &checked {
        Checked::Ok { .. } => Outcome::Succeeded,
        Checked::BadCredentials => {
            tracing::info!(%ip, account, "login failed: wrong account or password");
            s.note_login_failure(Instant::now());
            Outcome::Failed
        }
        Checked::Busy(_) | Checked::Unavailable(_) => Outcome::Neither,
    };
    s.attempts.finish(ip, Some(account), outcome, Instant::now());
    if s.clients.contains_key(&id) {
        reply_login(s, id, checked, via, label);
    }
}

/// Tells connection `id` how its login went.
fn reply_login(s: &mut Server, id: ConnId, checked: Checked, via: Via, label: Option<String>) {
    let mut ctx = Ctx::new(id, if via == Via::Sasl { "AUTHENTICATE" } else { "PASS" }, label);
    let c = s.client_mut(id);
    c.auth_pending = false;
    c.sasl_buf = None;
    let ip = c.ip;
    match checked {
        Checked::Ok { name, admin } => {
            tracing::info!(%ip, account = %name, "logged in");
            let c = s.client_mut(id);
            c.account = Some(name.clone());
            crate::visibility::logged_in(s, id);
            // `[accounts] oper_on_login`: otherwise admins use OPER.
            let admin = admin && s.cfg.oper_on_login;
            let c = s.client_mut(id);
            c.oper |= admin;
            let (mask, registered) = (c.mask.clone(), c.registered);
            let shown_mask = if mask.is_empty() { "*".to_string() } else { mask.to_string() };
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
                s.deliver(&mut relay, peers.clone(), None, Some(Cap::AccountNotify));
                s.deliver_to_watchers(&mut relay, id, &peers, Cap::AccountNotify);
            }
        }
        Checked::BadCredentials => match via {
            Via::Sasl => s.num(&mut ctx, ERR_SASLFAIL, [], "SASL authentication failed: wrong account or password"),
            Via::Pass => {
                s.num(&mut ctx, ERR_PASSWDMISMATCH, [], "Wrong account or password (PASS account:password)");
                s.quit_later(id, "Wrong account or password".into());
            }
        },
        Checked::Busy(why) => match via {
            Via::Sasl => s.num(&mut ctx, ERR_SASLFAIL, [], &format!("SASL authentication failed: {why}")),
            Via::Pass => {
                s.num(&mut ctx, ERR_PASSWDMISMATCH, [], &format!("Login refused: {why}"));
                s.quit_later(id, "Login refused, try again later".into());
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

    const MS: fn(u64) -> Duration = Duration::from_millis;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    /// Admits and fails one check.
    fn fail(a: &mut Attempts, from: IpAddr, account: &str, t: Instant) {
        a.admit(from, Some(account), t).expect("admitted");
        a.finish(from, Some(account), Outcome::Failed, t);
    }

    #[test]
    fn delay_grows_per_address_and_is_forgotten() {
        let mut a = Attempts::new(3);
        let (me, other) = (ip("127.0.0.1"), ip("127.0.0.2"));
        let t = Instant::now();
        assert_eq!(a.admit(me, Some("alice"), t), Some(Duration::ZERO));
        a.finish(me, Some("alice"), Outcome::Failed, t);
        assert_eq!(a.admit(me, Some("bob"), t), Some(MS(250)), "same address, other account");
        a.finish(me, Some("bob"), Outcome::Failed, t);
        fail(&mut a, me, "carol", t);
        assert_eq!(a.admit(me, Some("dave"), t), Some(Duration::from_secs(1)));
        a.finish(me, Some("dave"), Outcome::Neither, t);
        assert_eq!(a.admit(other, Some("erin"), t), Some(Duration::ZERO), "nobody else is slowed");
        a.finish(other, Some("erin"), Outcome::Succeeded, t);
        for _ in 0..20 {
            fail(&mut a, me, "alice", t);
        }
        assert_eq!(a.admit(me, Some("zed"), t), Some(MAX_DELAY));
        a.finish(me, Some("zed"), Outcome::Neither, t);
        let later = t + FORGET_AFTER;
        assert_eq!(a.admit(me, Some("alice"), later), Some(Duration::ZERO), "forgotten");
        a.finish(me, Some("alice"), Outcome::Failed, later);
        assert_eq!(a.admit(me, Some("zed"), later), Some(MS(250)), "counting starts again");
        a.finish(me, Some("zed"), Outcome::Succeeded, later);
        assert_eq!(a.admit(me, Some("zed"), later), Some(Duration::ZERO), "a success clears the address");
    }

    #[test]
    fn concurrent_attempts_count_as_failures_and_are_capped_per_address() {
        // Regression: 20 simultaneous wrong passwords were all checked at zero delay.
        let mut a = Attempts::new(3);
        let (me, v6, v6_same_64) = (ip("10.0.0.1"), ip("2001:db8::1"), ip("2001:db8::ffff:2"));
        let t = Instant::now();
        let delays: Vec<_> = (0..5).map(|n| a.admit(me, Some(&format!("acct{n}")), t)).collect();
        assert_eq!(delays, [Some(Duration::ZERO), Some(MS(250)), Some(MS(500)), None, None]);
        assert_eq!(a.pending(me), 3);
        a.finish(me, Some("acct0"), Outcome::Failed, t);
        // Two still pending plus one failure.
        assert_eq!(a.admit(me, Some("acct3"), t), Some(Duration::from_secs(1)));
        // A /64 is one address.
        assert_eq!(a.admit(v6, Some("x"), t), Some(Duration::ZERO));
        assert_eq!(a.admit(v6_same_64, Some("y"), t), Some(MS(250)));
        assert_eq!(source(ip("::ffff:10.0.0.1")), me, "IPv4-mapped is IPv4");
    }

    #[test]
    fn hammering_an_account_from_elsewhere_delays_its_owner_at_most_two_seconds() {
        let mut a = Attempts::new(3);
        let t = Instant::now();
        for n in 0..100 {
            fail(&mut a, ip(&format!("10.0.{}.{}", n / 250, n % 250 + 1)), "alice", t);
        }
        // Attempts still pending against alice from elsewhere.
        for n in 0..3 {
            a.admit(ip("10.9.9.9"), Some("ALICE"), t).unwrap_or_else(|| panic!("admit {n}"));
        }
        assert_eq!(a.admit(ip("192.0.2.7"), Some("alice"), t), Some(ACCOUNT_MAX_DELAY), "owner, fresh address");
        assert_eq!(a.admit(ip("192.0.2.8"), Some("bob"), t), Some(Duration::ZERO), "other accounts unaffected");
        // Concurrent guesses at one account from many addresses are spaced too.
        let mut b = Attempts::new(3);
        let delays: Vec<_> = (1..=5).map(|n| b.admit(ip(&format!("10.1.0.{n}")), Some("carol"), t).unwrap()).collect();
        assert_eq!(delays, [Duration::ZERO, MS(250), MS(500), MS(1000), ACCOUNT_MAX_DELAY]);
    }

    #[test]
    fn idle_entries_are_dropped() {
        let mut a = Attempts::new(3);
        let t = Instant::now();
        a.admit(ip("10.0.0.1"), Some("alice"), t);
        a.finish(ip("10.0.0.1"), Some("alice"), Outcome::Succeeded, t);
        a.admit(ip("10.0.0.2"), None, t);
        a.finish(ip("10.0.0.2"), None, Outcome::Neither, t);
        assert!(a.sources.is_empty() && a.accounts.is_empty(), "{a:?}");
    }
}
