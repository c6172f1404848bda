//! The configuration file: TOML, every key optional with a documented default
//! (`docs/configuration.md`). Unknown keys and bad values are rejected at start with
//! the file, line and key named.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context, bail};
use serde::Deserialize;

/// The whole file.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct FileConfig {
    /// Where the embedded SQLite database lives (created on first start).
    pub data_dir: PathBuf,
    pub database: DatabaseSection,
    pub accounts: AccountsSection,
    pub history: HistorySection,
    pub rooms: RoomsSection,
    pub presence: PresenceSection,
    pub server: ServerSection,
    pub limits: LimitsSection,
    pub flood: FloodSection,
    pub timeouts: TimeoutsSection,
    pub log: LogSection,
    pub dm: DmSection,
    pub tls: TlsSection,
    pub web: WebSection,
}

impl Default for FileConfig {
    fn default() -> Self {
        FileConfig {
            data_dir: PathBuf::from("./hearth-data"),
            database: DatabaseSection::default(),
            accounts: AccountsSection::default(),
            history: HistorySection::default(),
            rooms: RoomsSection::default(),
            presence: PresenceSection::default(),
            server: ServerSection::default(),
            limits: LimitsSection::default(),
            flood: FloodSection::default(),
            timeouts: TimeoutsSection::default(),
            log: LogSection::default(),
            dm: DmSection::default(),
            tls: TlsSection::default(),
            web: WebSection::default(),
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DatabaseSection {
    /// `postgres://user@host/db` to use PostgreSQL instead of SQLite in `data_dir`.
    pub url: Option<String>,
    /// `fsync` every history-journal append and SQLite commit (`true`: survives power
    /// loss) or rely on the data having been written to the OS (`false`: survives a
    /// crash or `kill -9` of the server; a power cut may lose the last moments).
    pub fsync: bool,
    /// How far (MiB of history journal) the database may fall behind before senders
    /// are paced until it catches up.
    pub max_lag_mib: u64,
}

impl Default for DatabaseSection {
    fn default() -> Self {
        DatabaseSection { url: None, fsync: false, max_lag_mib: 64 }
    }
}

/// Who may create accounts.
#[derive(Debug, Clone, Copy, Deserialize, PartialEq, Eq, Default)]
#[serde(rename_all = "lowercase")]
pub enum Registration {
    /// Only `hearth user add` creates accounts.
    #[default]
    Admin,
    /// Anyone may sign up with the IRCv3 `REGISTER` command.
    Open,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AccountsSection {
    pub registration: Registration,
    /// Refuse to finish registration for clients that have not logged in.
    pub require_login: bool,
    /// argon2id memory cost in KiB.
    pub argon2_memory_kib: u32,
    /// argon2id passes.
    pub argon2_iterations: u32,
    /// argon2id lanes.
    pub argon2_parallelism: u32,
    /// Threads that hash and check passwords: at most this many argon2 hashes (each
    /// `argon2_memory_kib`) are in memory at once.
    pub max_concurrent_hashes: usize,
    /// Password checks that may wait for a hashing thread; more are refused.
    pub login_queue: usize,
    /// Password checks one address (IPv6: one /64) may have pending; more are refused.
    pub max_logins_per_ip: usize,
    /// Admin accounts become IRC operators as they log in; otherwise they use `OPER`.
    pub oper_on_login: bool,
    /// Connections logged in to one account that may share its nickname at once.
    pub max_sessions: usize,
}

impl Default for AccountsSection {
    fn default() -> Self {
        AccountsSection {
            registration: Registration::Admin,
            require_login: true,
            argon2_memory_kib: 19 * 1024,
            argon2_iterations: 2,
            argon2_parallelism: 1,
            max_concurrent_hashes: 2,
            login_queue: 64,
            max_logins_per_ip: 3,
            oper_on_login: true,
            max_sessions: hearth_core::Config::default().max_sessions,
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct HistorySection {
    /// Store channel and private messages.
    pub enabled: bool,
    /// Messages replayed to a client that joins without `draft/chathistory`.
    pub replay_on_join: usize,
    /// Largest CHATHISTORY page (`CHATHISTORY=` in ISUPPORT).
    pub max_page: usize,
    /// Delete messages older than this many days (0 = keep forever).
    pub max_age_days: u64,
    /// Keep at most this many messages per room or conversation (0 = no limit).
    pub max_per_target: u64,
}

impl Default for HistorySection {
    fn default() -> Self {
        HistorySection { enabled: true, replay_on_join: 50, max_page: 1000, max_age_days: 0, max_per_target: 0 }
    }
}

/// `[dm]`: chat requests (consent before private messages).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DmSection {
    /// `"request"`: people you have not accepted send a chat request; `"open"`:
    /// anyone may write to anyone; `"rooms"`: people who share a room may write
    /// directly, others send a chat request.
    pub policy: String,
    /// Messages of earlier conversation both people see when a request is accepted.
    pub history_on_accept: usize,
    /// A request nobody answered is dropped after this many days.
    pub request_expiry_days: u64,
    /// Messages held per request; more are refused until it is answered.
    pub max_held: usize,
    /// Requests one person may have waiting at once.
    pub max_pending_per_sender: usize,
    /// After a decline, the same person cannot ask again for this many days.
    pub decline_cooldown_days: u64,
}

impl Default for DmSection {
    fn default() -> Self {
        DmSection {
            policy: "request".into(),
            history_on_accept: 20,
            request_expiry_days: 30,
            max_held: 5,
            max_pending_per_sender: 10,
            decline_cooldown_days: 7,
        }
    }
}

impl DmSection {
    fn core(&self) -> hearth_core::chat::DmConfig {
        use hearth_core::chat::DmPolicy;
        let days = |d: u64| Duration::from_secs(d.saturating_mul(86_400));
        hearth_core::chat::DmConfig {
            policy: match self.policy.as_str() {
                "open" => DmPolicy::Open,
                "rooms" => DmPolicy::Rooms,
                _ => DmPolicy::Request,
            },
            history_on_accept: self.history_on_accept,
            request_expiry: days(self.request_expiry_days),
            max_held: self.max_held,
            max_pending_per_sender: self.max_pending_per_sender,
            decline_cooldown: days(self.decline_cooldown_days),
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RoomsSection {
    /// Rooms that always exist and that everyone joins on login.
    pub default: Vec<String>,
    /// Who may read a new room's past (channel mode `+H` for `joined`).
    pub history_visibility: HistoryVisibility,
}

impl Default for RoomsSection {
    fn default() -> Self {
        RoomsSection { default: vec!["#general".into()], history_visibility: HistoryVisibility::Shared }
    }
}

/// `[rooms] history_visibility`: who may read a room's past.
#[derive(Debug, Clone, Copy, Deserialize, PartialEq, Eq, Default)]
#[serde(rename_all = "lowercase")]
pub enum HistoryVisibility {
    /// Members see the room's whole history.
    #[default]
    Shared,
    /// A member sees only what was said while they were a member.
    Joined,
}

/// `[presence]`: "you are alone" and "partner left".
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct PresenceSection {
    /// Tell a person who logs in while nobody else is online, and then who arrives.
    pub alone_notice: bool,
    /// A private conversation counts as active this many minutes after its last
    /// message: its partners are told when one of them leaves (0 = never told).
    pub conversation_minutes: u64,
}

impl Default for PresenceSection {
    fn default() -> Self {
        PresenceSection { alone_notice: true, conversation_minutes: 30 }
    }
}

impl FileConfig {
    /// The database location: the PostgreSQL URL, or the SQLite data directory.
    pub fn store_location(&self) -> String {
        match &self.database.url {
            Some(url) => url.clone(),
            None => self.data_dir.display().to_string(),
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ServerSection {
    /// Server name shown to clients (source of numerics).
    pub name: String,
    /// Network name (`NETWORK=` in ISUPPORT).
    pub network: String,
    /// Addresses to listen on for plain IRC.
    pub listen: Vec<String>,
    /// Addresses to listen on for IRC over TLS (6697 by convention); empty: no TLS.
    pub tls_listen: Vec<String>,
    /// Message of the day (may contain newlines).
    pub motd: String,
    /// Read the MOTD from this file instead (relative to the config file).
    pub motd_file: Option<PathBuf>,
    /// Optional server password (PASS) every client must give.
    pub password: Option<String>,
    /// ADMIN replies: where the server is (RPL_ADMINLOC1), who runs it
    /// (RPL_ADMINLOC2), how to reach them (RPL_ADMINEMAIL).
    pub admin_location: String,
    pub admin_info: String,
    pub admin_email: String,
}

impl Default for ServerSection {
    fn default() -> Self {
        ServerSection {
            name: "hearth.local".into(),
            network: "Hearth".into(),
            listen: vec!["127.0.0.1:6667".into()],
            tls_listen: Vec::new(),
            motd: "Welcome to Hearth.".into(),
            motd_file: None,
            password: None,
            admin_location: hearth_core::Config::default().admin_location,
            admin_info: hearth_core::Config::default().admin_info,
            admin_email: hearth_core::Config::default().admin_email,
        }
    }
}

/// `[tls]`: the certificate for `server.tls_listen` (and HTTPS).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TlsSection {
    /// PEM certificate chain (leaf first); relative to the config file. Without
    /// `cert` and `key`, a self-signed certificate is made in `data_dir/tls/`.
    pub cert: Option<PathBuf>,
    /// PEM private key (PKCS#8, PKCS#1 or SEC1); relative to the config file.
    pub key: Option<PathBuf>,
    /// Advertise IRCv3 STS (`sts` capability). Default: on with `cert`/`key` files,
    /// off with the self-signed certificate (clients would then refuse to connect).
    pub sts: Option<bool>,
    /// Port STS tells plain clients to use (default: the first `tls_listen` port).
    pub sts_port: Option<u16>,
    /// Seconds clients keep the STS policy (0 tells them to drop it).
    pub sts_duration: u64,
    /// Allow the policy to be preloaded into clients.
    pub sts_preload: bool,
}

impl Default for TlsSection {
    fn default() -> Self {
        TlsSection { cert: None, key: None, sts: None, sts_port: None, sts_duration: 30 * 86_400, sts_preload: false }
    }
}

/// `[web]`: the HTTP listener (web client, /healthz, /metrics, IRC over WebSocket).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct WebSection {
    /// Addresses for HTTP; empty turns the web side off.
    pub listen: Vec<String>,
    /// Serve HTTPS (with the `[tls]` certificate) when IRC has TLS listeners. `false`
    /// keeps plain HTTP, e.g. behind a reverse proxy that terminates TLS.
    pub https: bool,
    /// Web pages from other origins allowed to open the WebSocket
    /// (`https://chat.example.org`, or `*`); the page's own origin always may.
    pub allowed_origins: Vec<String>,
    /// Reverse proxies (addresses or CIDR blocks) whose `X-Forwarded-For` and
    /// `X-Forwarded-Proto` are believed.
    pub trusted_proxies: Vec<String>,
}

impl Default for WebSection {
    fn default() -> Self {
        WebSection {
            listen: vec!["127.0.0.1:8080".into()],
            https: true,
            allowed_origins: Vec::new(),
            trusted_proxies: Vec::new(),
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LimitsSection {
    pub sendq: usize,
    pub max_clients: usize,
    pub max_per_ip: usize,
    pub max_channels_per_user: usize,
    pub nick_len: usize,
    pub channel_len: usize,
    pub topic_len: usize,
    pub away_len: usize,
    pub kick_len: usize,
    pub max_targets: usize,
    pub max_bans: usize,
    pub client_tag_deny: Vec<String>,
    /// WHOWAS remembers this many departed nicknames (0: none)…
    pub whowas_entries: usize,
    /// …for at most this many hours.
    pub whowas_max_age_hours: u64,
    /// Nicknames one connection may watch with MONITOR.
    pub max_monitor: usize,
}

impl Default for LimitsSection {
    fn default() -> Self {
        let c = hearth_core::Config::default();
        LimitsSection {
            sendq: c.sendq,
            max_clients: 10_000,
            max_per_ip: 20,
            max_channels_per_user: c.max_channels_per_user,
            nick_len: c.nick_len,
            channel_len: c.channel_len,
            topic_len: c.topic_len,
            away_len: c.away_len,
            kick_len: c.kick_len,
            max_targets: c.max_targets,
            max_bans: c.max_bans,
            client_tag_deny: c.client_tag_deny,
            whowas_entries: c.whowas_entries,
            whowas_max_age_hours: c.whowas_max_age.as_secs() / 3600,
            max_monitor: c.max_monitor,
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct FloodSection {
    /// Lines a client may send at once; 0 turns flood control off.
    pub burst: u32,
    /// Lines per second after the burst.
    pub rate: f64,
}

impl Default for FloodSection {
    fn default() -> Self {
        let c = hearth_core::Config::default();
        FloodSection { burst: c.flood_burst, rate: c.flood_rate }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TimeoutsSection {
    /// Seconds of silence before the server sends PING.
    pub ping_interval: f64,
    /// Seconds to wait for any reply to that PING.
    pub ping_timeout: f64,
    /// Seconds a new connection has to finish registration.
    pub registration: f64,
    /// Seconds shutdown waits for clients to receive their last lines.
    pub shutdown_grace: f64,
}

impl Default for TimeoutsSection {
    fn default() -> Self {
        TimeoutsSection { ping_interval: 120.0, ping_timeout: 60.0, registration: 60.0, shutdown_grace: 5.0 }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LogSection {
    /// Log filter (`info`, `debug`, `hearth_net=debug,info`…); `RUST_LOG` wins.
    pub level: String,
    /// How each log line is written.
    pub format: LogFormat,
}

impl Default for LogSection {
    fn default() -> Self {
        LogSection { level: "info".into(), format: LogFormat::Text }
    }
}

/// The shape of log lines on stderr.
#[derive(Debug, Clone, Copy, Deserialize, PartialEq, Eq, Default)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    /// One readable line per event; coloured only when stderr is a terminal.
    #[default]
    Text,
    /// One JSON object per line, for log shippers.
    Json,
}

impl FileConfig {
    /// Reads and checks `path`. Errors name the file, the line and the key.
    pub fn load(path: &Path) -> anyhow::Result<Self> {
        let text =
            std::fs::read_to_string(path).with_context(|| format!("cannot read config file {}", path.display()))?;
        let mut cfg = Self::parse(&text).map_err(|e| anyhow::anyhow!("invalid config file {}: {e}", path.display()))?;
        // A relative data directory is relative to the config file, not the working directory.
        if cfg.data_dir.is_relative() {
            cfg.data_dir = path.parent().unwrap_or(Path::new(".")).join(&cfg.data_dir);
        }
        // Certificate paths too.
        for p in [&mut cfg.tls.cert, &mut cfg.tls.key].into_iter().flatten() {
            if p.is_relative() {
                *p = path.parent().unwrap_or(Path::new(".")).join(&*p);
            }
        }
        if let Some(motd) = &cfg.server.motd_file {
            let full = path.parent().unwrap_or(Path::new(".")).join(motd);
            cfg.server.motd = std::fs::read_to_string(&full).with_context(|| {
                format!("config file {}: cannot read server.motd_file {}", path.display(), full.display())
            })?;
        }
        Ok(cfg)
    }

    /// Parses and validates TOML text.
    pub fn parse(text: &str) -> anyhow::Result<Self> {
        let cfg: FileConfig = toml::from_str(text).map_err(|e| anyhow::anyhow!("{}", e.to_string().trim_end()))?;
        cfg.validate(text)?;
        Ok(cfg)
    }

    fn validate(&self, text: &str) -> anyhow::Result<()> {
        let fail = |key: &str, why: &str| -> anyhow::Result<()> {
            let line = line_of(text, key).map(|l| format!("line {l}, ")).unwrap_or_default();
            bail!("{line}key `{key}`: {why}")
        };
        if !["request", "open", "rooms"].contains(&self.dm.policy.as_str()) {
            fail("dm.policy", "must be \"request\", \"open\" or \"rooms\"")?;
        }
        if self.dm.max_held == 0 {
            fail("dm.max_held", "must be at least 1")?;
        }
        if self.dm.request_expiry_days == 0 {
            fail("dm.request_expiry_days", "must be at least 1")?;
        }
        if !hearth_proto::is_valid_hostname(&self.server.name) {
            fail("server.name", "must be a host name such as irc.example.org")?;
        }
        if self.server.network.is_empty() || self.server.network.contains(' ') {
            fail("server.network", "must be one word")?;
        }
        if self.server.listen.is_empty() && self.server.tls_listen.is_empty() {
            fail("server.listen", "needs at least one address such as \"127.0.0.1:6667\" (or use server.tls_listen)")?;
        }
        for (key, list, example) in [
            ("server.listen", &self.server.listen, "0.0.0.0:6667"),
            ("server.tls_listen", &self.server.tls_listen, "0.0.0.0:6697"),
            ("web.listen", &self.web.listen, "127.0.0.1:8080"),
        ] {
            for a in list {
                if a.parse::<SocketAddr>().is_err() {
                    fail(key, &format!("`{a}` is not an IP:port address such as \"{example}\""))?;
                }
            }
        }
        if self.tls.cert.is_some() != self.tls.key.is_some() {
            fail(
                if self.tls.cert.is_some() { "tls.cert" } else { "tls.key" },
                "give both `cert` and `key`, or neither",
            )?;
        }
        for p in &self.web.trusted_proxies {
            if let Err(e) = p.parse::<hearth_web::Cidr>() {
                fail("web.trusted_proxies", &e)?;
            }
        }
        for o in &self.web.allowed_origins {
            if o != "*" && !(o.starts_with("http://") || o.starts_with("https://")) {
                fail(
                    "web.allowed_origins",
                    &format!("`{o}` is not an origin such as \"https://chat.example.org\" (or \"*\")"),
                )?;
            }
        }
        if let Some(p) = &self.server.password
            && (p.is_empty() || p.contains(' '))
        {
            fail("server.password", "must be non-empty and contain no spaces")?;
        }
        if let Some(url) = &self.database.url
            && !(url.starts_with("postgres://") || url.starts_with("postgresql://"))
        {
            fail("database.url", "must be a postgres:// URL (leave it out to use SQLite in data_dir)")?;
        }
        for room in &self.rooms.default {
            if !hearth_proto::is_valid_channel(room, self.limits.channel_len) {
                fail("rooms.default", &format!("`{room}` is not a channel name such as \"#general\""))?;
            }
        }
        if self.presence.conversation_minutes > 10_080 {
            fail("presence.conversation_minutes", "must be between 0 and 10080 (a week)")?;
        }
        if self.history.max_page == 0 || self.history.max_page > 10_000 {
            fail("history.max_page", "must be between 1 and 10000")?;
        }
        if self.accounts.argon2_memory_kib < 8
            || self.accounts.argon2_iterations == 0
            || self.accounts.argon2_parallelism == 0
        {
            fail("accounts.argon2_memory_kib", "argon2 needs at least 8 KiB, 1 iteration and 1 lane")?;
        }
        for (key, v, max) in [
            ("accounts.max_concurrent_hashes", self.accounts.max_concurrent_hashes, 256),
            ("accounts.login_queue", self.accounts.login_queue, 100_000),
            ("accounts.max_logins_per_ip", self.accounts.max_logins_per_ip, 1000),
            ("accounts.max_sessions", self.accounts.max_sessions, 100),
        ] {
            if !(1..=max).contains(&v) {
                fail(key, &format!("must be between 1 and {max}"))?;
            }
        }
        let l = &self.limits;
        if l.sendq < 4096 {
            fail("limits.sendq", "must be at least 4096 bytes")?;
        }
        if !(1..=64).contains(&l.nick_len) {
            fail("limits.nick_len", "must be between 1 and 64")?;
        }
        if !(2..=200).contains(&l.channel_len) {
            fail("limits.channel_len", "must be between 2 and 200")?;
        }
        for (key, v) in
            [("limits.topic_len", l.topic_len), ("limits.away_len", l.away_len), ("limits.kick_len", l.kick_len)]
        {
            if !(1..=400).contains(&v) {
                fail(key, "must be between 1 and 400")?;
            }
        }
        if l.max_channels_per_user == 0 || l.max_targets == 0 {
            fail(
                if l.max_targets == 0 { "limits.max_targets" } else { "limits.max_channels_per_user" },
                "must be at least 1",
            )?;
        }
        if self.flood.rate.is_nan() || self.flood.rate <= 0.0 {
            fail("flood.rate", "must be a positive number of lines per second")?;
        }
        let t = &self.timeouts;
        for (key, v) in [
            ("timeouts.ping_interval", t.ping_interval),
            ("timeouts.ping_timeout", t.ping_timeout),
            ("timeouts.registration", t.registration),
            ("timeouts.shutdown_grace", t.shutdown_grace),
        ] {
            let in_range = v > 0.0 && v < 86_400.0;
            if !in_range {
                fail(key, "must be a number of seconds between 0 and 86400")?;
            }
        }
        Ok(())
    }

    /// The listen addresses, already validated.
    pub fn listen_addrs(&self) -> Vec<SocketAddr> {
        self.server.listen.iter().filter_map(|a| a.parse().ok()).collect()
    }

    /// The TLS listen addresses, already validated.
    pub fn tls_listen_addrs(&self) -> Vec<SocketAddr> {
        self.server.tls_listen.iter().filter_map(|a| a.parse().ok()).collect()
    }

    /// The HTTP listen addresses, already validated.
    pub fn web_listen_addrs(&self) -> Vec<SocketAddr> {
        self.web.listen.iter().filter_map(|a| a.parse().ok()).collect()
    }

    /// The `[web]` settings the HTTP side needs.
    pub fn web(&self) -> hearth_web::WebConfig {
        hearth_web::WebConfig {
            allowed_origins: self.web.allowed_origins.clone(),
            trusted_proxies: self.web.trusted_proxies.iter().filter_map(|p| p.parse().ok()).collect(),
        }
    }

    /// The core's view of this configuration.
    pub fn core(&self) -> hearth_core::Config {
        let motd: Vec<String> = self.server.motd.lines().map(str::to_string).collect();
        let l = &self.limits;
        hearth_core::Config {
            server_name: self.server.name.clone(),
            network: self.server.network.clone(),
            motd,
            password: self.server.password.clone(),
            sendq: l.sendq,
            max_channels_per_user: l.max_channels_per_user,
            nick_len: l.nick_len,
            channel_len: l.channel_len,
            topic_len: l.topic_len,
            kick_len: l.kick_len,
            away_len: l.away_len,
            max_targets: l.max_targets,
            max_bans: l.max_bans,
            client_tag_deny: l.client_tag_deny.clone(),
            ping_interval: secs(self.timeouts.ping_interval),
            ping_timeout: secs(self.timeouts.ping_timeout),
            registration_timeout: secs(self.timeouts.registration),
            flood_burst: self.flood.burst,
            flood_rate: self.flood.rate,
            require_login: self.accounts.require_login,
            open_registration: self.accounts.registration == Registration::Open,
            max_logins_per_ip: self.accounts.max_logins_per_ip,
            max_sessions: self.accounts.max_sessions,
            max_monitor: l.max_monitor,
            history: self.history.enabled,
            replay_on_join: self.history.replay_on_join,
            chathistory_max: self.history.max_page,
            default_rooms: self.rooms.default.clone(),
            oper_on_login: self.accounts.oper_on_login,
            whowas_entries: l.whowas_entries,
            whowas_max_age: Duration::from_secs(l.whowas_max_age_hours.saturating_mul(3600)),
            admin_location: self.server.admin_location.clone(),
            admin_info: self.server.admin_info.clone(),
            admin_email: self.server.admin_email.clone(),
            dm: self.dm.core(),
            alone_notice: self.presence.alone_notice,
            conversation_window: Duration::from_secs(self.presence.conversation_minutes * 60),
            history_visibility: match self.rooms.history_visibility {
                HistoryVisibility::Shared => hearth_core::visibility::Visibility::Shared,
                HistoryVisibility::Joined => hearth_core::visibility::Visibility::Joined,
            },
            ..hearth_core::Config::default()
        }
    }
}

fn secs(v: f64) -> Duration {
    Duration::from_secs_f64(v)
}

/// The 1-based line where `section.key` is set, if it is in the text.
fn line_of(text: &str, dotted: &str) -> Option<usize> {
    let (section, key) = dotted.split_once('.').unwrap_or(("", dotted));
    let mut current = String::new();
    for (i, raw) in text.lines().enumerate() {
        let line = raw.trim();
        if let Some(name) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
            current = name.trim().to_string();
        } else if current == section
            && let Some((k, _)) = line.split_once('=')
            && k.trim() == key
        {
            return Some(i + 1);
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_file_is_all_defaults() {
        let c = FileConfig::parse("").unwrap();
        assert_eq!(c.server.listen, vec!["127.0.0.1:6667"]);
        assert_eq!(c.limits.sendq, 256 * 1024);
    }

    #[test]
    fn unknown_key_names_line_and_key() {
        let err = FileConfig::parse("[server]\nname = \"a.b\"\nlisten_on = 5\n").unwrap_err().to_string();
        assert!(err.contains("line 3"), "{err}");
        assert!(err.contains("listen_on"), "{err}");
    }

    #[test]
    fn bad_value_names_line_and_key() {
        let err = FileConfig::parse("[limits]\n\nsendq = 10\n").unwrap_err().to_string();
        assert!(err.contains("line 3") && err.contains("limits.sendq"), "{err}");
        let err = FileConfig::parse("[server]\nlisten = [\"nope\"]\n").unwrap_err().to_string();
        assert!(err.contains("line 2") && err.contains("server.listen"), "{err}");
    }

    #[test]
    fn log_format_is_text_or_json() {
        assert_eq!(FileConfig::parse("").unwrap().log.format, LogFormat::Text);
        assert_eq!(FileConfig::parse("[log]\nformat = \"json\"\n").unwrap().log.format, LogFormat::Json);
        let err = FileConfig::parse("[log]\nlevel = \"info\"\nformat = \"xml\"\n").unwrap_err().to_string();
        assert!(err.contains("line 3") && err.contains("format") && err.contains("json"), "{err}");
    }

    #[test]
    fn presence_and_history_visibility() {
        let c = FileConfig::parse("").unwrap();
        assert!(c.presence.alone_notice);
        assert_eq!(c.rooms.history_visibility, HistoryVisibility::Shared);
        let c = FileConfig::parse("[rooms]\nhistory_visibility = \"joined\"\n[presence]\nconversation_minutes = 5\n")
            .unwrap();
        assert_eq!(c.core().history_visibility, hearth_core::visibility::Visibility::Joined);
        assert_eq!(c.core().conversation_window, Duration::from_secs(300));
        let err = FileConfig::parse("[rooms]\nhistory_visibility = \"secret\"\n").unwrap_err().to_string();
        assert!(err.contains("line 2") && err.contains("history_visibility"), "{err}");
    }

    #[test]
    fn wrong_type_is_reported() {
        let err = FileConfig::parse("[flood]\nburst = \"lots\"\n").unwrap_err().to_string();
        assert!(err.contains("line 2") && err.contains("burst"), "{err}");
    }
}

#[cfg(test)]
mod example_file {
    #[test]
    fn documented_example_file_is_valid() {
        let text = include_str!("../../../docs/hearth.example.toml");
        super::FileConfig::parse(text).expect("docs/hearth.example.toml parses");
    }
}
