//! What the administrator sees and does on a running server (`hearth admin …`, the
//! console): plain functions on the [`Server`], called through the control socket.

use std::net::IpAddr;
use std::time::{Duration, Instant, SystemTime};

use hearth_proto::{Message, casefold};

use crate::server::{Server, to_bytes, unix_ms};

/// How long login failures are remembered for the statistics.
const FAILURE_WINDOW: Duration = Duration::from_secs(3600);
/// At most this many failure times are kept (a storm is counted as "at least").
const MAX_FAILURES_KEPT: usize = 100_000;

/// One person online (a user; several sessions of one account count once, with their
/// number).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Online {
    pub nick: String,
    pub account: Option<String>,
    pub address: IpAddr,
    /// The realname the client gave (many clients put their name or their own there).
    pub realname: String,
    /// Milliseconds since the epoch.
    pub connected_at: u64,
    pub idle_secs: u64,
    pub sessions: usize,
    pub channels: Vec<String>,
}

/// One room as the administrator sees it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct RoomInfo {
    pub name: String,
    pub members: Vec<String>,
    pub topic: Option<String>,
}

/// Figures for `hearth admin stats` that the core knows.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct CoreStats {
    pub uptime_secs: u64,
    pub connections: usize,
    pub users: usize,
    pub rooms: usize,
    pub messages_total: u64,
    pub logins_failed_last_hour: usize,
}

impl Server {
    /// Records a failed login for the statistics.
    pub(crate) fn note_login_failure(&mut self, now: Instant) {
        self.forget_old_login_failures(now);
        if self.login_failures.len() < MAX_FAILURES_KEPT {
            self.login_failures.push_back(now);
        }
    }

    /// Everyone online, sorted by nick.
    pub fn who(&self) -> Vec<Online> {
        let now = SystemTime::now();
        let mut out: Vec<Online> = self
            .clients
            .values()
            .filter(|c| c.registered && c.attached_to.is_none())
            .map(|c| Online {
                nick: c.nick.to_string(),
                account: c.account.clone(),
                address: c.ip,
                realname: c.realname.to_string(),
                connected_at: unix_ms(c.signon),
                idle_secs: now.duration_since(c.last_active).map(|d| d.as_secs()).unwrap_or(0),
                sessions: 1 + c.sessions.len(),
                channels: c
                    .channels
                    .iter()
                    .filter_map(|k| self.channels.get(k.as_str()))
                    .map(|ch| ch.name.clone())
                    .collect(),
            })
            .collect();
        out.sort_by_key(|o| casefold(&o.nick));
        out
    }

    /// Every room with its members, sorted by name.
    pub fn rooms_overview(&self) -> Vec<RoomInfo> {
        let mut out: Vec<RoomInfo> = self
            .channels
            .values()
            .map(|ch| {
                let mut members: Vec<String> =
                    ch.members.keys().filter_map(|id| self.clients.get(id)).map(|c| c.nick.to_string()).collect();
                members.sort_by_key(|n| casefold(n));
                RoomInfo { name: ch.name.clone(), members, topic: ch.topic.as_ref().map(|t| t.text.clone()) }
            })
            .collect();
        out.sort_by_key(|r| casefold(&r.name));
        out
    }

    /// Disconnects the user `nick` (every session) with `reason`. `false` when nobody
    /// has that nick.
    pub fn kick_user(&mut self, nick: &str, reason: &str) -> bool {
        let Some(id) = self.find_nick(nick) else { return false };
        let sessions = self.clients.get(&id).map(|c| c.sessions.clone()).unwrap_or_default();
        for sid in sessions.into_iter().chain(std::iter::once(id)) {
            self.quit_later(sid, format!("Kicked by the administrator: {reason}"));
        }
        self.commit();
        true
    }

    /// A server notice to every connection; returns how many got it.
    pub fn broadcast(&mut self, text: &str) -> usize {
        let server = self.cfg.server_name.clone();
        let targets: Vec<_> = self.clients.values().filter(|c| c.registered).map(|c| (c.id, c.nick.clone())).collect();
        for (id, nick) in &targets {
            let m = Message::new("NOTICE").with_source(server.as_str()).with_param(nick.as_str()).with_param(text);
            self.send_bytes(*id, to_bytes(&m));
        }
        self.commit();
        targets.len()
    }

    /// What the core counts.
    pub fn core_stats(&mut self) -> CoreStats {
        self.forget_old_login_failures(Instant::now());
        CoreStats {
            uptime_secs: SystemTime::now().duration_since(self.created).map(|d| d.as_secs()).unwrap_or(0),
            connections: self.connection_count(),
            users: self.user_count(),
            rooms: self.channels.len(),
            messages_total: self.messages_total,
            logins_failed_last_hour: self.login_failures.len(),
        }
    }

    fn forget_old_login_failures(&mut self, now: Instant) {
        while self.login_failures.front().is_some_and(|t| now.duration_since(*t) > FAILURE_WINDOW) {
            self.login_failures.pop_front();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Config;

    #[test]
    fn login_failures_are_counted_for_an_hour() {
        let mut s = Server::new(Config::default());
        let t = Instant::now();
        s.note_login_failure(t);
        s.note_login_failure(t);
        assert_eq!(s.core_stats().logins_failed_last_hour, 2);
        s.note_login_failure(t + FAILURE_WINDOW + Duration::from_secs(1));
        assert_eq!(s.login_failures.len(), 1, "older ones are forgotten");
    }
}
