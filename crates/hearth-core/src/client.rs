//! One connected session: identity, capabilities, registration progress, channels.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Arc;
use std::time::SystemTime;

use compact_str::CompactString;
use hearth_proto::CapSet;
use hearth_store::Timestamp;
use thin_vec::ThinVec;

use crate::sink::Sink;

/// Identifies a connection for its whole life; never reused within one process.
pub type ConnId = u64;

/// What the listener knows about a connection: how it arrived.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ConnInfo {
    /// Over TLS (directly, or a WebSocket over HTTPS).
    pub tls: bool,
    /// SHA-256 (lowercase hex) of the client certificate it presented, for SASL EXTERNAL.
    pub cert_fp: Option<String>,
}

/// A session as the core sees it. Kept small: everything else lives in channels.
#[derive(Debug)]
pub struct Client {
    pub id: ConnId,
    pub sink: Arc<Sink>,
    /// Current nickname, `*` until NICK.
    pub nick: CompactString,
    /// Casefolded nickname (the key in the nick table); empty until NICK.
    pub nick_key: CompactString,
    pub user: CompactString,
    pub realname: CompactString,
    /// Displayed host (the peer's IP address).
    pub host: CompactString,
    pub ip: IpAddr,
    /// `nick!user@host`, kept in sync so relays never rebuild it.
    pub mask: CompactString,
    pub caps: CapSet,
    /// CAP LS/REQ was sent and CAP END not yet: registration waits.
    pub cap_negotiating: bool,
    /// 302 or higher enables cap-notify implicitly and multiline LS.
    pub cap_version: u32,
    pub registered: bool,
    /// The server password (if any) was given correctly.
    pub pass_ok: bool,
    pub got_user: bool,
    pub invisible: bool,
    pub oper: bool,
    /// User mode +w: receives WALLOPS.
    pub wallops: bool,
    /// User mode +B (bot-mode): marked as a bot in WHO, WHOIS and a `bot` tag.
    pub bot: bool,
    /// User mode +g (caller-ID): private messages from people not accepted become chat
    /// requests. Mirrors the account's accept list ([`crate::chat`]).
    pub caller_id: bool,
    pub account: Option<String>,
    /// SASL PLAIN in progress: the base64 received so far (boxed: rare, and every
    /// connection holds a record).
    pub sasl_buf: Option<Box<String>>,
    /// The SASL payload in progress went over the limit: it is failed when it ends.
    pub sasl_overflow: bool,
    /// The SASL exchange in progress is EXTERNAL (its payload is an optional authzid).
    pub sasl_external: bool,
    /// A login is being checked; registration waits for it.
    pub auth_pending: bool,
    /// `PASS account:password`, checked when registration completes. Boxed, like
    /// every rare field: every connection pays for the record's size.
    pub pass_login: Option<Box<(String, String)>>,
    pub away: Option<Box<str>>,
    /// Read markers (draft/read-marker) of a client without an account, by casefolded
    /// target: they last as long as the connection. An account's are in the store.
    /// Boxed, and only once there is one.
    pub guest_markers: Option<Box<HashMap<String, Timestamp>>>,
    /// Casefolded names of the channels this client is in. This and the other lists
    /// are `ThinVec`s: one pointer, no allocation while empty (a `Vec` is three words,
    /// and every idle connection pays for the record's size).
    pub channels: ThinVec<CompactString>,
    /// Casefolded channels this client was invited to (lets them past +i).
    pub invites: ThinVec<CompactString>,
    pub signon: SystemTime,
    /// Last time the client sent a message to someone (for WHOIS idle).
    pub last_active: SystemTime,
    /// A `draft/multiline` batch being received (`BATCH +` seen, `BATCH -` not yet).
    /// Boxed: rare, and over half a kilobyte inline, which every connection would pay.
    pub multiline: Option<Box<crate::handlers::multiline::Pending>>,
    /// Set on an extra session of a user (another connection logged in to the same
    /// account with the same nick): the user's main connection, which holds the nick,
    /// the channels and the away state. See [`crate::sessions`].
    pub attached_to: Option<ConnId>,
    /// On a user's main connection: its extra sessions, oldest first.
    pub sessions: ThinVec<ConnId>,
    /// Nicknames this connection watches with MONITOR, as given (casefold to compare).
    pub monitoring: ThinVec<CompactString>,
    /// How the connection arrived (TLS, client certificate).
    pub conn: ConnInfo,
    /// When it connected, its last line, and the PING it has not answered (0: none),
    /// in the server's clock (see [`crate::timeouts`]).
    pub connected_ms: u64,
    pub input_ms: u64,
    pub pinged_ms: u64,
}

impl Client {
    pub fn new(id: ConnId, ip: IpAddr, sink: Arc<Sink>) -> Self {
        let now = SystemTime::now();
        let host = match ip {
            IpAddr::V6(v6) if v6.to_ipv4_mapped().is_some() => v6.to_ipv4_mapped().unwrap().to_string(),
            other => {
                let s = other.to_string();
                // A leading ':' would break the line syntax (e.g. "::1").
                if s.starts_with(':') { format!("0{s}") } else { s }
            }
        };
        Client {
            id,
            sink,
            nick: "*".into(),
            nick_key: CompactString::default(),
            user: CompactString::default(),
            realname: CompactString::default(),
            host: host.into(),
            ip,
            mask: CompactString::default(),
            caps: CapSet::empty(),
            cap_negotiating: false,
            cap_version: 0,
            registered: false,
            pass_ok: false,
            got_user: false,
            invisible: false,
            oper: false,
            wallops: false,
            bot: false,
            caller_id: false,
            account: None,
            sasl_buf: None,
            sasl_overflow: false,
            sasl_external: false,
            auth_pending: false,
            pass_login: None,
            away: None,
            guest_markers: None,
            channels: ThinVec::new(),
            invites: ThinVec::new(),
            signon: now,
            last_active: now,
            multiline: None,
            attached_to: None,
            sessions: ThinVec::new(),
            monitoring: ThinVec::new(),
            conn: ConnInfo::default(),
            connected_ms: 0,
            input_ms: 0,
            pinged_ms: 0,
        }
    }

    /// Recomputes `nick!user@host` after the nick or user changed.
    pub fn update_mask(&mut self) {
        self.mask = compact_str::format_compact!("{}!{}@{}", self.nick, self.user, self.host);
    }

    /// User modes as shown by `MODE nick` (`+i`, `+o`, `+w`, `+B`, `+g`).
    pub fn mode_string(&self) -> String {
        let mut s = String::from("+");
        for (on, c) in
            [(self.bot, 'B'), (self.caller_id, 'g'), (self.invisible, 'i'), (self.oper, 'o'), (self.wallops, 'w')]
        {
            if on {
                s.push(c);
            }
        }
        s
    }
}

#[cfg(test)]
mod size_tests {
    /// Every connection holds one record, idle or not. Issue 12 found it at 1.2 KB, over
    /// half of it a rare `draft/multiline` batch held inline (now boxed); 560 bytes
    /// until the PASS login and the guest read markers were boxed too (504), and the
    /// four lists made thin (440: a 448-byte heap chunk instead of 576). The sink
    /// pointer became a fat one (16 bytes, see [`crate::Sink`]), and the SASL buffer
    /// and the away text were boxed: 424, a 432-byte chunk.
    #[test]
    fn a_client_record_stays_small() {
        let size = std::mem::size_of::<super::Client>();
        println!("Client: {size} bytes");
        assert!(size <= 424, "the client record grew to {size} bytes");
    }

    /// The short names a session carries (nick, its casefolded key, user, realname,
    /// host) live inside the record, not in five heap allocations of their own: a
    /// `CompactString` keeps up to 24 bytes inline (issue 12: 0.16 KiB less per idle
    /// connection). The mask, `nick!user@host`, is usually longer and may not.
    #[test]
    fn short_names_live_inside_the_record() {
        let mut s = crate::Server::new(crate::Config::default());
        let sink: std::sync::Arc<crate::Sink> = std::sync::Arc::new(crate::Sink::new(1 << 20));
        let id = s.connect_with("127.0.0.1".parse().unwrap(), sink, super::ConnInfo::default());
        for line in ["NICK Ann", "USER ann 0 * :Ann Example"] {
            s.handle(id, &hearth_proto::parse_line(line.as_bytes()).unwrap());
        }
        let c = s.client(id);
        assert!(c.registered);
        assert_eq!(c.mask, "Ann!~ann@127.0.0.1");
        for (field, value) in [
            ("nick", &c.nick),
            ("nick_key", &c.nick_key),
            ("user", &c.user),
            ("realname", &c.realname),
            ("host", &c.host),
        ] {
            assert!(
                !value.is_empty() && !value.is_heap_allocated(),
                "{field} {value:?} is a heap allocation of its own"
            );
        }
    }
}
