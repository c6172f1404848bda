//! Keepalive and registration deadlines, checked for every connection in one pass.
//!
//! As the C servers do, one clock drives them all: the listener calls [`Server::tick`]
//! every [`Server::tick_period`], and each pass pings clients that have been quiet for
//! `ping_interval`, ends those that left a PING unanswered for `ping_timeout`, and
//! ends connections that did not register within `registration_timeout`. A connection
//! then needs no timer of its own (issue 12: a timer per connection was memory every
//! idle client paid, and a timer-wheel update per line).
//!
//! Time here is milliseconds since the server started. A line records when it was
//! handled, so a client is pinged after at least `ping_interval` of silence (and at
//! most one period more); the passes read the clock once each.

use std::time::{Duration, Instant};

use crate::client::ConnId;
use crate::server::Server;

impl Server {
    /// How often [`Server::tick`] should run: a quarter of the shortest deadline, at
    /// most a second, at least 10 ms.
    pub fn tick_period(&self) -> Duration {
        let shortest = self.cfg.ping_interval.min(self.cfg.ping_timeout).min(self.cfg.registration_timeout);
        (shortest / 4).clamp(Duration::from_millis(10), Duration::from_secs(1))
    }

    /// Advances the clock to `now` and acts on every deadline that passed.
    pub fn tick(&mut self, now: Instant) {
        let now_ms = self.ms_since_start(now);
        let ms = |d: Duration| u64::try_from(d.as_millis()).unwrap_or(u64::MAX);
        let (registration, interval, timeout) =
            (ms(self.cfg.registration_timeout), ms(self.cfg.ping_interval), ms(self.cfg.ping_timeout));
        let mut unregistered: Vec<ConnId> = Vec::new();
        let mut unanswered: Vec<ConnId> = Vec::new();
        let mut quiet: Vec<ConnId> = Vec::new();
        for c in self.clients.values_mut() {
            if !c.registered {
                if now_ms.saturating_sub(c.connected_ms) >= registration {
                    unregistered.push(c.id);
                }
            } else if c.pinged_ms != 0 {
                if now_ms.saturating_sub(c.pinged_ms) >= timeout {
                    unanswered.push(c.id);
                }
            } else if now_ms.saturating_sub(c.input_ms) >= interval {
                // Marked now, so the next pass waits for the answer.
                c.pinged_ms = now_ms.max(1);
                quiet.push(c.id);
            }
        }
        for id in unregistered {
            self.disconnect(id, "Registration timed out");
        }
        let reason = format!("Ping timeout: {} seconds", (self.cfg.ping_interval + self.cfg.ping_timeout).as_secs());
        for id in unanswered {
            self.disconnect(id, &reason);
        }
        for id in quiet {
            self.ping(id);
        }
    }

    /// Milliseconds since the server started, now.
    pub(crate) fn now_ms(&self) -> u64 {
        self.ms_since_start(Instant::now())
    }

    /// Milliseconds from the server's start to `now`.
    fn ms_since_start(&self, now: Instant) -> u64 {
        u64::try_from(now.saturating_duration_since(self.started).as_millis()).unwrap_or(u64::MAX)
    }

    /// Records input from `id` (any line): it is alive, and an outstanding PING is
    /// answered.
    pub(crate) fn note_input(&mut self, id: ConnId) -> bool {
        let clock = self.now_ms();
        match self.clients.get_mut(&id) {
            Some(c) => {
                c.input_ms = clock;
                c.pinged_ms = 0;
                true
            }
            None => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use std::net::{IpAddr, Ipv4Addr};
    use std::sync::Arc;

    use bytes::Bytes;
    use hearth_proto::parse_line;

    use super::*;
    use crate::{Config, Sink};

    const IP: IpAddr = IpAddr::V4(Ipv4Addr::LOCALHOST);

    fn server() -> (Server, Instant) {
        let cfg = Config {
            ping_interval: Duration::from_secs(10),
            ping_timeout: Duration::from_secs(5),
            registration_timeout: Duration::from_secs(3),
            ..Config::default()
        };
        let s = Server::new(cfg);
        let start = s.started;
        (s, start)
    }

    fn drain(sink: &Sink) -> String {
        let mut out = Vec::new();
        let waker = std::task::Waker::noop();
        if let std::task::Poll::Ready(Some(lines)) = sink.poll_take(&std::task::Context::from_waker(waker)) {
            out.extend(lines);
        }
        out.iter().map(|b: &Bytes| String::from_utf8_lossy(b).into_owned()).collect()
    }

    fn register(s: &mut Server, nick: &str) -> (ConnId, Arc<Sink>) {
        let sink: Arc<Sink> = Arc::new(Sink::new(1 << 20));
        let id = s.connect(IP, sink.clone());
        s.handle(id, &parse_line(format!("NICK {nick}\r\n").as_bytes()).unwrap());
        s.handle(id, &parse_line(b"USER u 0 * :U\r\n").unwrap());
        assert!(s.is_registered(id));
        drain(&sink);
        (id, sink)
    }

    #[test]
    fn a_connection_that_does_not_register_in_time_is_closed() {
        let (mut s, t0) = server();
        let sink: Arc<Sink> = Arc::new(Sink::new(1 << 20));
        let id = s.connect(IP, sink.clone());
        s.tick(t0 + Duration::from_millis(2_900));
        assert!(!sink.is_closed(), "still within registration_timeout");
        s.tick(t0 + Duration::from_secs(3));
        assert!(sink.is_closed());
        assert!(drain(&sink).contains("Registration timed out"));
        assert_eq!(s.connection_count(), 0, "{id} is gone");
    }

    #[test]
    fn a_quiet_client_is_pinged_once_then_closed_if_it_does_not_answer() {
        let (mut s, t0) = server();
        let (_, sink) = register(&mut s, "quiet");
        s.tick(t0 + Duration::from_millis(9_900));
        assert_eq!(drain(&sink), "", "nothing before ping_interval");
        s.tick(t0 + Duration::from_secs(10));
        assert_eq!(drain(&sink), format!("PING {}\r\n", s.config().server_name));
        s.tick(t0 + Duration::from_millis(14_900));
        assert_eq!(drain(&sink), "", "one PING, and still within ping_timeout");
        s.tick(t0 + Duration::from_secs(15));
        assert!(sink.is_closed());
        assert!(drain(&sink).contains("Ping timeout: 15 seconds"));
    }

    #[test]
    fn any_line_answers_the_ping_and_restarts_the_interval() {
        let (mut s, t0) = server();
        let (id, sink) = register(&mut s, "lively");
        s.tick(t0 + Duration::from_secs(10));
        assert!(drain(&sink).starts_with("PING"));
        s.tick(t0 + Duration::from_secs(12));
        // The line is handled at real time, which this test cannot set: pretend it
        // came 12 s after the start.
        s.handle(id, &parse_line(b"PONG :x\r\n").unwrap());
        s.clients.get_mut(&id).unwrap().input_ms = 12_000;
        s.tick(t0 + Duration::from_millis(21_900));
        assert!(!sink.is_closed(), "an answered PING does not time out");
        assert_eq!(drain(&sink), "");
        s.tick(t0 + Duration::from_secs(22));
        assert!(drain(&sink).starts_with("PING"), "quiet for ping_interval again");
    }
}
