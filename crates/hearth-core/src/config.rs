//! The part of the configuration the core needs: names, texts and limits.
//!
//! The binary reads the TOML file and fills this in; every field has a default so the
//! server runs with no config file at all.

use std::time::Duration;

/// Settings the state machine consults. Cheap to clone behind an `Arc`.
#[derive(Debug, Clone)]
pub struct Config {
    /// The server's name, used as the source of numerics (`:hearth.local 001 …`).
    pub server_name: String,
    /// The network name advertised in ISUPPORT (`NETWORK=`).
    pub network: String,
    /// Message of the day, one entry per line; empty means `ERR_NOMOTD`.
    pub motd: Vec<String>,
    /// Optional server password every connection must give with `PASS`.
    pub password: Option<String>,
    /// Bytes of unsent output a connection may hold before `SendQ exceeded`.
    pub sendq: usize,
    /// Channels one user may be in at once.
    pub max_channels_per_user: usize,
    /// Maximum nickname length (`NICKLEN`).
    pub nick_len: usize,
    /// Maximum channel name length (`CHANNELLEN`).
    pub channel_len: usize,
    /// Maximum topic length (`TOPICLEN`).
    pub topic_len: usize,
    /// Maximum kick reason length (`KICKLEN`).
    pub kick_len: usize,
    /// Maximum away message length (`AWAYLEN`).
    pub away_len: usize,
    /// Maximum realname length.
    pub realname_len: usize,
    /// Targets one PRIVMSG/NOTICE may name (`TARGMAX`).
    pub max_targets: usize,
    /// Entries in a channel's ban list (`MAXLIST=b:`).
    pub max_bans: usize,
    /// Client-only tags that are not relayed (`CLIENTTAGDENY`), e.g. `["+typing"]`.
    pub client_tag_deny: Vec<String>,
    /// Server PING after this long without input from a client.
    pub ping_interval: Duration,
    /// Disconnect when a PING stays unanswered this long.
    pub ping_timeout: Duration,
    /// Disconnect a connection that has not registered after this long.
    pub registration_timeout: Duration,
    /// Flood control: lines a client may send in a burst (0 turns flood control off).
    pub flood_burst: u32,
    /// Flood control: lines per second allowed after the burst.
    pub flood_rate: f64,
    /// With a store: clients must log in before registration completes.
    pub require_login: bool,
    /// With a store: anyone may create an account with `REGISTER`.
    pub open_registration: bool,
    /// With a store: password checks (and REGISTER hashes) one address may have
    /// pending at once; more are refused at once, to be retried.
    pub max_logins_per_ip: usize,
    /// With a store: keep message history.
    pub history: bool,
    /// Messages replayed on JOIN to clients without `draft/chathistory`.
    pub replay_on_join: usize,
    /// Largest CHATHISTORY page.
    pub chathistory_max: usize,
    /// Nicknames one connection may watch with MONITOR (`MONITOR=` in ISUPPORT).
    pub max_monitor: usize,
    /// Connections one account may have attached to its nickname at once (1 turns
    /// multi-session off: a second login with the nickname gets `433`).
    pub max_sessions: usize,
    /// Rooms that always exist and that everyone joins after registering.
    pub default_rooms: Vec<String>,
    /// Admin accounts become IRC operators when they log in (else only with `OPER`).
    pub oper_on_login: bool,
    /// WHOWAS: how many departed nicknames are remembered (0 turns WHOWAS history off).
    pub whowas_entries: usize,
    /// WHOWAS: entries older than this are forgotten.
    pub whowas_max_age: Duration,
    /// ADMIN: RPL_ADMINLOC1 (where the server is), RPL_ADMINLOC2 (who runs it),
    /// RPL_ADMINEMAIL (how to reach them).
    pub admin_location: String,
    pub admin_info: String,
    pub admin_email: String,
    /// Chat requests and private messages (`[dm]`).
    pub dm: crate::chat::DmConfig,
    /// Presence: tell a person who logs in with nobody else online that they are
    /// alone, and who arrives first ([`crate::presence`]).
    pub alone_notice: bool,
    /// Presence: a private conversation is active (its partners are told when one
    /// leaves) for this long after the last message exchanged; zero turns "partner
    /// left" notices off.
    pub conversation_window: Duration,
    /// History visibility of new rooms (channel mode `+H` when `Joined`).
    pub history_visibility: crate::visibility::Visibility,
    /// IRCv3 STS (`sts` capability): set when the server has a TLS port.
    pub sts: Option<Sts>,
    /// SASL EXTERNAL (client-certificate fingerprints) is offered: set with TLS.
    pub sasl_external: bool,
}

/// The `sts` capability's values (<https://ircv3.net/specs/extensions/sts>): plain
/// connections are told the TLS port to upgrade to; TLS connections how long clients
/// must remember to use TLS only.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sts {
    /// `sts=port=…` on plain connections.
    pub port: u16,
    /// `sts=duration=…` (seconds) on TLS connections; 0 tells clients to forget it.
    pub duration: u64,
    /// Adds `preload`: the operator agrees to the policy being preloaded in clients.
    pub preload: bool,
}

impl Sts {
    /// The capability value for a connection over TLS or not.
    pub fn value(&self, tls: bool) -> String {
        let mut v = if tls { format!("duration={}", self.duration) } else { format!("port={}", self.port) };
        if tls && self.preload {
            v.push_str(",preload");
        }
        v
    }
}

impl Default for Config {
    fn default() -> Self {
        Config {
            server_name: "hearth.local".into(),
            network: "Hearth".into(),
            motd: vec!["Welcome to Hearth.".into()],
            password: None,
            sendq: 256 * 1024,
            max_channels_per_user: 50,
            nick_len: 30,
            channel_len: 64,
            topic_len: 390,
            kick_len: 390,
            away_len: 390,
            realname_len: 100,
            max_targets: 4,
            max_bans: 100,
            client_tag_deny: Vec::new(),
            ping_interval: Duration::from_secs(120),
            ping_timeout: Duration::from_secs(60),
            registration_timeout: Duration::from_secs(60),
            flood_burst: 20,
            flood_rate: 4.0,
            require_login: false,
            open_registration: false,
            max_logins_per_ip: 3,
            history: true,
            replay_on_join: 50,
            chathistory_max: 1000,
            max_monitor: 100,
            max_sessions: 5,
            default_rooms: Vec::new(),
            oper_on_login: true,
            whowas_entries: 1000,
            whowas_max_age: Duration::from_secs(3 * 24 * 3600),
            admin_location: "Hearth server".into(),
            admin_info: "Run by its administrator".into(),
            admin_email: "(no address configured)".into(),
            dm: crate::chat::DmConfig::default(),
            alone_notice: true,
            conversation_window: Duration::from_secs(30 * 60),
            history_visibility: crate::visibility::Visibility::Shared,
            sts: None,
            sasl_external: false,
        }
    }
}
