//! MONITOR (https://ircv3.net/specs/extensions/monitor) and the notifications it
//! asks for, plus extended-monitor (https://ircv3.net/specs/extensions/extended-monitor).
//!
//! A watch list belongs to one connection (each device keeps its own), bounded by
//! `max_monitor` (`MONITOR=` in ISUPPORT). [`Server::monitors`] indexes it by
//! casefolded nick so that a nick coming or going costs one lookup.

use hearth_proto::numeric::*;
use hearth_proto::{Cap, Message, casefold, is_valid_nick};

use crate::client::ConnId;
use crate::error::{IrcError, numeric};
use crate::relay::Relay;
use crate::server::{Ctx, Server};

/// Longest comma-separated list in one numeric, so that the line stays under 512 bytes
/// with the server name, the nick and `nick!user@host` entries.
const LIST_BYTES: usize = 300;

/// MONITOR {+|-} <target>{,<target>} | MONITOR C | MONITOR L | MONITOR S
pub fn monitor(s: &mut Server, ctx: &mut Ctx, msg: &Message) -> Result<(), IrcError> {
    let targets = || -> Result<Vec<&str>, IrcError> {
        let list: Vec<&str> =
            msg.params.get(1).map(|p| p.split(',').filter(|t| !t.is_empty()).collect()).unwrap_or_default();
        if list.is_empty() { Err(IrcError::NeedMoreParams) } else { Ok(list) }
    };
    match msg.params[0].as_str() {
        "+" => add(s, ctx, &targets()?),
        "-" => {
            // "Removes the given list of targets from the list of targets being
            // monitored. No output will be returned for use of this command."
            for t in targets()? {
                s.unwatch(ctx.session, t);
            }
        }
        // "Clears the list of targets being monitored. No output will be returned."
        "C" | "c" => s.unwatch_all(ctx.session),
        "L" | "l" => {
            // "Outputs the current list of targets being monitored. All output will
            // use RPL_MONLIST, and the output will be terminated with RPL_ENDOFMONLIST."
            let list: Vec<String> = s.client(ctx.session).monitoring.iter().map(ToString::to_string).collect();
            for chunk in chunks(&list) {
                s.num(ctx, RPL_MONLIST, [], &chunk);
            }
            s.num(ctx, RPL_ENDOFMONLIST, [], "End of MONITOR list");
        }
        "S" | "s" => {
            // "Outputs for each target in the list being monitored, whether the client
            // is online or offline."
            let list: Vec<String> = s.client(ctx.session).monitoring.iter().map(ToString::to_string).collect();
            status(s, ctx, &list);
        }
        other => {
            return Err(IrcError::Fail("INVALID_PARAMS", vec![other.to_string()], "Expected +, -, C, L or S".into()));
        }
    }
    Ok(())
}

/// `MONITOR + targets`: adds up to the limit, then tells the status of each.
fn add(s: &mut Server, ctx: &mut Ctx, targets: &[&str]) {
    let limit = s.cfg.max_monitor;
    let mut added = Vec::new();
    let mut rejected = Vec::new();
    for &t in targets {
        // "'target' MUST be a valid nick as determined by the IRC daemon": others are
        // ignored, as most servers do.
        if !is_valid_nick(t, s.cfg.nick_len) {
            continue;
        }
        let key = casefold(t);
        let list = &s.client(ctx.session).monitoring;
        if list.iter().any(|n| casefold(n) == key) {
            added.push(t.to_string());
        } else if list.len() >= limit {
            rejected.push(t);
        } else {
            s.client_mut(ctx.session).monitoring.push(t.into());
            s.monitors.entry(key).or_default().push(ctx.session);
            added.push(t.to_string());
        }
    }
    // "If any of the targets being added are online, the server will generate
    // RPL_MONONLINE numerics listing those targets that are online. If any of the
    // targets being added are offline, the server will generate RPL_MONOFFLINE
    // numerics listing those targets that are offline."
    status(s, ctx, &added);
    if !rejected.is_empty() {
        // ":<server> 734 <nick> <limit> <targets> :Monitor list is full." — with the
        // targets that did not fit.
        let limit = limit.to_string();
        let rejected = rejected.join(",");
        s.num(ctx, ERR_MONLISTFULL, [limit.as_str(), rejected.as_str()], "Monitor list is full.");
    }
}

/// RPL_MONONLINE for the nicks of `list` that are online (as `nick!user@host`),
/// RPL_MONOFFLINE for the others.
fn status(s: &Server, ctx: &mut Ctx, list: &[String]) {
    let mut online = Vec::new();
    let mut offline = Vec::new();
    for n in list {
        match s.find_nick(n).filter(|id| s.is_registered(*id)) {
            Some(id) => online.push(s.client(id).mask.to_string()),
            None => offline.push(n.clone()),
        }
    }
    for chunk in chunks(&online) {
        s.num(ctx, RPL_MONONLINE, [], &chunk);
    }
    for chunk in chunks(&offline) {
        s.num(ctx, RPL_MONOFFLINE, [], &chunk);
    }
}

/// Comma-separated lists of at most [`LIST_BYTES`] each.
fn chunks(items: &[String]) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    for i in items {
        if !cur.is_empty() && cur.len() + 1 + i.len() > LIST_BYTES {
            out.push(std::mem::take(&mut cur));
        }
        if !cur.is_empty() {
            cur.push(',');
        }
        cur.push_str(i);
    }
    if !cur.is_empty() {
        out.push(cur);
    }
    out
}

impl Server {
    /// Connection `session` stops watching `nick`.
    pub(crate) fn unwatch(&mut self, session: ConnId, nick: &str) {
        let key = casefold(nick);
        if let Some(c) = self.clients.get_mut(&session) {
            c.monitoring.retain(|n| casefold(n) != key);
        }
        if let Some(w) = self.monitors.get_mut(&key) {
            w.retain(|id| *id != session);
            if w.is_empty() {
                self.monitors.remove(&key);
            }
        }
    }

    /// Connection `session` stops watching anyone (MONITOR C, or it is leaving).
    pub(crate) fn unwatch_all(&mut self, session: ConnId) {
        let list = self.clients.get_mut(&session).map(|c| std::mem::take(&mut c.monitoring)).unwrap_or_default();
        for n in list {
            self.unwatch(session, &n);
        }
    }

    /// Sends one MONITOR numeric about `item` to everyone watching `nick`.
    fn monitor_notify(&mut self, nick: &str, code: &str, item: &str) {
        let watchers = self.monitors.get(&casefold(nick)).cloned().unwrap_or_default();
        for w in watchers {
            let m = numeric(&self.cfg.server_name, code, &self.nick_of(w), [], item);
            self.send_message(w, &m);
        }
    }

    /// User `id` is now online under its current nick (registered, or changed nick).
    pub(crate) fn monitor_online(&mut self, id: ConnId) {
        let c = self.client(id);
        let (nick, mask) = (c.nick.clone(), c.mask.clone());
        self.monitor_notify(&nick, RPL_MONONLINE, &mask);
    }

    /// Nobody is online as `nick` any more (last session quit, or nick changed).
    pub(crate) fn monitor_offline(&mut self, nick: &str) {
        self.monitor_notify(nick, RPL_MONOFFLINE, nick);
    }

    /// extended-monitor: sends `relay` (AWAY, ACCOUNT, SETNAME, …, about user `id`) to
    /// the connections watching its nick that negotiated extended-monitor and `need`,
    /// unless they already got it as one of `peers` (users sharing a channel) or are
    /// the user itself.
    pub(crate) fn deliver_to_watchers(&mut self, relay: &mut Relay, id: ConnId, peers: &[ConnId], need: Cap) {
        let key = casefold(&self.client(id).nick);
        let watchers = self.monitors.get(&key).cloned().unwrap_or_default();
        for w in watchers {
            let user = self.user_of(w);
            if user == id || peers.contains(&user) {
                continue;
            }
            let Some(c) = self.clients.get(&w) else { continue };
            if c.caps.contains(Cap::ExtendedMonitor) && c.caps.contains(need) {
                let line = relay.bytes_for(c.caps);
                self.send_bytes(w, line);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lists_are_split_under_the_line_limit() {
        let items: Vec<String> = (0..100).map(|i| format!("nick{i:03}!~user@192.168.100.100")).collect();
        let parts = chunks(&items);
        assert!(parts.len() > 1);
        assert!(parts.iter().all(|p| p.len() <= LIST_BYTES));
        assert_eq!(parts.join(",").split(',').count(), 100);
        assert!(chunks(&[]).is_empty());
    }
}
