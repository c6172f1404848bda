//! Wires configuration, core and listeners into a running server.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use hearth_net::connection::ConnSettings;
use hearth_net::{Listeners, NetConfig, Shared};
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::config::FileConfig;
use hearth_core::hashing::HashPool;
use hearth_core::{Outbound, Services};
use hearth_store::{Store, StoreConfig};

/// Opens the database the configuration names (SQLite in `data_dir` by default).
pub async fn open_store(cfg: &FileConfig) -> anyhow::Result<Arc<dyn Store>> {
    let mut sc = StoreConfig { location: cfg.store_location(), ..StoreConfig::default() };
    sc.sqlite.synchronous_full = cfg.database.fsync;
    hearth_store::open_store(&sc).await.map_err(|e| {
        // An unwritable database is the right one in the wrong state: the
        // error says what to fix, and pointing at the config would mislead.
        let hint = match e {
            hearth_store::StoreError::NotWritable { .. } => "",
            _ => "\n(set `data_dir` or `[database] url` in the config file)",
        };
        anyhow::anyhow!("cannot open the database at {}: {e}{hint}", redact(&sc.location))
    })
}

/// Applies whatever an earlier run left in the history journal (`data_dir/journal`) to
/// the database, then opens it for appending. Call with the data directory locked.
pub async fn open_journal(cfg: &FileConfig, store: &dyn Store) -> anyhow::Result<hearth_store::journal::Journal> {
    drain_journal(cfg, store).await?;
    let dir = journal_dir(cfg);
    hearth_store::journal::Journal::create(&dir, cfg.database.fsync)
        .map_err(|e| anyhow::anyhow!("cannot open the history journal in {}: {e}", dir.display()))
}

/// The history journal's directory.
pub fn journal_dir(cfg: &FileConfig) -> std::path::PathBuf {
    cfg.data_dir.join("journal")
}

/// Stores what the journal holds (after a crash, or a stop before the database caught
/// up) and empties it. Call with the data directory locked.
pub async fn drain_journal(cfg: &FileConfig, store: &dyn Store) -> anyhow::Result<()> {
    let dir = journal_dir(cfg);
    let drained = hearth_store::journal::drain(&dir, store).await.map_err(|e| {
        anyhow::anyhow!(
            "cannot apply the history journal in {} to the database: {e}
(nothing was lost: the journal is kept              and applied at the next attempt; check that the database is reachable and writable)",
            dir.display()
        )
    })?;
    if drained.records > 0 {
        tracing::info!(
            records = drained.records,
            segments = drained.segments,
            "history journal applied to the database (the server had not finished storing before it stopped)"
        );
    }
    Ok(())
}

/// A database location without any password it may contain.
pub fn redact(location: &str) -> String {
    match (location.find("://"), location.rfind('@')) {
        (Some(scheme), Some(at)) if at > scheme => {
            let userinfo = &location[scheme + 3..at];
            let user = userinfo.split(':').next().unwrap_or("");
            format!("{}{user}{}", &location[..scheme + 3], &location[at..])
        }
        _ => location.to_string(),
    }
}

/// argon2id parameters from the configuration.
pub fn argon2_params(cfg: &FileConfig) -> anyhow::Result<hearth_store::password::Argon2Params> {
    let a = &cfg.accounts;
    Ok(hearth_store::password::Argon2Params::new(a.argon2_memory_kib, a.argon2_iterations, a.argon2_parallelism)?)
}

/// Listen addresses from the command line; an empty list means the config's.
#[derive(Debug, Clone, Default)]
pub struct Listen {
    /// Plain IRC (`--listen`).
    pub irc: Vec<SocketAddr>,
    /// IRC over TLS (`--tls-listen`).
    pub ircs: Vec<SocketAddr>,
    /// HTTP / HTTPS (`--web-listen`).
    pub web: Vec<SocketAddr>,
}

/// A server that is accepting connections.
pub struct Running {
    /// `name=addr` for each listener, as printed on stdout.
    pub description: String,
    /// The bound plain IRC addresses (with the real port when 0 was asked for).
    pub addrs: Vec<SocketAddr>,
    /// The bound IRC-over-TLS addresses.
    pub tls_addrs: Vec<SocketAddr>,
    /// The bound HTTP(S) addresses.
    pub web_addrs: Vec<SocketAddr>,
    /// The certificate, when TLS is on.
    pub tls: Option<Arc<crate::tls::Tls>>,
    pub shared: Shared,
    shutdown: watch::Sender<bool>,
    task: JoinHandle<()>,
    outbound: Option<Outbound>,
    control: Option<(JoinHandle<()>, std::path::PathBuf)>,
    _lock: crate::datadir::DataDirLock,
}

impl Running {
    /// Starts a graceful shutdown and waits until it is complete.
    pub async fn shutdown(self) {
        let _ = self.shutdown.send(true);
        self.wait().await;
    }

    /// A handle that starts the shutdown (e.g. from a signal handler).
    pub fn shutdown_sender(&self) -> watch::Sender<bool> {
        self.shutdown.clone()
    }

    /// Waits until the server has stopped (and history is written).
    pub async fn wait(self) {
        let _ = self.task.await;
        if let Some((task, path)) = &self.control {
            task.abort();
            let _ = std::fs::remove_file(path);
        }
        if let Some(ob) = &self.outbound
            && !ob.wait_idle(Duration::from_secs(10)).await
        {
            tracing::error!(
                "the database did not catch up with the history journal within 10 s; the journal keeps the rest                  and the next start applies it"
            );
        }
    }
}

/// Binds the listeners (`listen` overrides the config's plain IRC addresses; TLS and
/// HTTP come from the config) and starts serving.
pub async fn start(cfg: &FileConfig, listen: &[SocketAddr]) -> anyhow::Result<Running> {
    start_listening(cfg, &Listen { irc: listen.to_vec(), ..Listen::default() }).await
}

/// Binds the listeners (each non-empty list of `listen` overrides the config's) and
/// starts serving.
pub async fn start_listening(cfg: &FileConfig, listen: &Listen) -> anyhow::Result<Running> {
    // First of all: one server per data directory.
    let lock = crate::datadir::DataDirLock::acquire(&cfg.data_dir)?;
    let pick =
        |given: &[SocketAddr], configured: Vec<SocketAddr>| if given.is_empty() { configured } else { given.to_vec() };
    let named =
        |name: &str, addrs: Vec<SocketAddr>| addrs.into_iter().map(|a| (name.to_string(), a)).collect::<Vec<_>>();
    let mut listeners = Listeners::bind(&named("irc", pick(&listen.irc, cfg.listen_addrs()))).await?;
    let tls_addrs = pick(&listen.ircs, cfg.tls_listen_addrs());
    let tls = if tls_addrs.is_empty() { None } else { Some(Arc::new(crate::tls::Tls::setup(cfg)?)) };
    if let Some(tls) = &tls {
        let acceptor = hearth_net::tls::irc_acceptor(tls.certs.clone());
        listeners.bind_tls(&named("ircs", tls_addrs), acceptor).await?;
    }
    let mut web_listeners = Vec::new();
    for addr in pick(&listen.web, cfg.web_listen_addrs()) {
        web_listeners.push(hearth_net::listener::bind_one(addr).await?);
    }
    let mut description = listeners.describe();
    for l in &web_listeners {
        description.push(' ');
        description.push_str(&hearth_net::listener::describe("web", l));
    }
    let bound = listeners.local_addrs();
    let bound_tls = listeners.tls_addrs();
    let web_addrs: Vec<SocketAddr> = web_listeners.iter().filter_map(|l| l.local_addr().ok()).collect();
    let mut core_cfg = cfg.core();
    core_cfg.sasl_external = tls.is_some();
    if let (Some(tls), Some(first)) = (&tls, bound_tls.first())
        && cfg.tls.sts.unwrap_or(!tls.self_signed)
    {
        core_cfg.sts = Some(hearth_core::config::Sts {
            port: cfg.tls.sts_port.unwrap_or(first.port()),
            duration: cfg.tls.sts_duration,
            preload: cfg.tls.sts_preload,
        });
    }
    let net = NetConfig {
        max_clients: cfg.limits.max_clients,
        max_per_ip: cfg.limits.max_per_ip,
        shutdown_grace: Duration::from_secs_f64(cfg.timeouts.shutdown_grace),
        conn: ConnSettings::from_core(&core_cfg),
    };
    let store = open_store(cfg).await?;
    let journal = open_journal(cfg, &*store).await?;
    let max_lag = cfg.database.max_lag_mib.max(1).saturating_mul(1024 * 1024);
    let (outbound, writer) = Outbound::new(store.clone(), journal, max_lag);
    tokio::spawn(writer);
    let hashes = HashPool::new(cfg.accounts.max_concurrent_hashes, cfg.accounts.login_queue)
        .map_err(|e| anyhow::anyhow!("cannot start the password-hashing threads: {e}"))?;
    let services = Services { store: store.clone(), outbound: outbound.clone(), argon2: argon2_params(cfg)?, hashes };
    let mut server = hearth_core::Server::new(core_cfg).with_services(services);
    let rooms = store.load_rooms().await.map_err(|e| anyhow::anyhow!("cannot load rooms: {e}"))?;
    let names: Vec<String> = rooms.iter().map(|r| r.room.name.clone()).collect();
    server.restore_rooms(rooms);
    let members = store.memberships().await.map_err(|e| anyhow::anyhow!("cannot load room memberships: {e}"))?;
    server.restore_memberships(members);
    if cfg.history.enabled && cfg.history.replay_on_join > 0 {
        for name in names {
            let tail = store.latest(&name, None, cfg.history.replay_on_join).await;
            server.preload_recent(&name, tail.map_err(|e| anyhow::anyhow!("cannot load history of {name}: {e}"))?);
        }
    }
    server.ensure_rooms(&cfg.rooms.default);
    let accounts = store.accounts().await.map_err(|e| anyhow::anyhow!("cannot load accounts: {e}"))?;
    if accounts.is_empty() {
        tracing::warn!(
            "there are no accounts yet: create the first one with `hearth user add NAME --admin`{}",
            if cfg.accounts.require_login { " (login is required, so nobody can connect until then)" } else { "" }
        );
    }
    server.set_account_names(accounts.into_iter().map(|a| a.name));
    let chat = async {
        Ok::<_, hearth_store::StoreError>((
            store.accept_lists().await?,
            store.chat_requests().await?,
            store.unread().await?,
        ))
    };
    let (accepts, requests, unread) =
        chat.await.map_err(|e| anyhow::anyhow!("cannot load accept lists and chat requests: {e}"))?;
    server.restore_chat(accepts, requests, unread);
    let shared: Shared = Arc::new(parking_lot::Mutex::new(server));
    tokio::spawn(refresh_accounts(store.clone(), shared.clone()));
    if cfg.history.max_age_days > 0 || cfg.history.max_per_target > 0 {
        let policy = hearth_store::Retention {
            max_age: (cfg.history.max_age_days > 0).then(|| Duration::from_secs(cfg.history.max_age_days * 86_400)),
            max_per_target: (cfg.history.max_per_target > 0).then_some(cfg.history.max_per_target),
        };
        tokio::spawn(retention(shared.clone(), outbound.clone(), policy));
    }
    let (tx, rx) = watch::channel(false);
    let control = match crate::control::bind(&cfg.data_dir) {
        Ok(listener) => {
            let handler = crate::control::Handler {
                store: store.clone(),
                shared: shared.clone(),
                outbound: outbound.clone(),
                shutdown: tx.clone(),
                journal_dir: journal_dir(cfg),
            };
            let task = tokio::spawn(crate::control::serve(listener, Arc::new(handler)));
            Some((task, crate::control::socket_path(&cfg.data_dir)))
        }
        Err(e) => {
            tracing::warn!(
                "cannot open the control socket {}: {e}; admin commands (hearth user/history) cannot reach this server",
                crate::control::socket_path(&cfg.data_dir).display()
            );
            None
        }
    };
    let grace = net.shutdown_grace;
    let net = hearth_net::Net::new(shared.clone(), &net);
    let web_acceptor = tls.as_ref().filter(|_| cfg.web.https).map(|t| hearth_net::tls::http_acceptor(t.certs.clone()));
    let web = Arc::new(hearth_web::Web {
        net: net.clone(),
        cfg: cfg.web(),
        outbound: Some(outbound.clone()),
        tls: web_acceptor.is_some(),
        started: std::time::Instant::now(),
    });
    for l in web_listeners {
        net.tracker.spawn(hearth_web::run(l, web_acceptor.clone(), web.clone()));
    }
    let task = tokio::spawn(hearth_net::listener::run(listeners, net, grace, rx));
    Ok(Running {
        description,
        addrs: bound,
        tls_addrs: bound_tls,
        web_addrs,
        tls,
        shared,
        shutdown: tx,
        task,
        outbound: Some(outbound),
        control,
        _lock: lock,
    })
}

/// How often the account list is read again from the database.
///
/// Every change this server makes (`hearth user add` and `del` through the control
/// socket, `HEARTH USERADD`, `REGISTER`) updates the core's list at once, and a second
/// server cannot open the same data directory; this only catches accounts another
/// program changed in a shared PostgreSQL database. It was every 5 s: a full read of
/// the accounts table and a rebuild under the state lock, a quarter of what an idle
/// server did with its CPU (issue 12).
const ACCOUNTS_REFRESH: Duration = Duration::from_secs(300);

/// Reads the account list again every [`ACCOUNTS_REFRESH`].
async fn refresh_accounts(store: Arc<dyn Store>, shared: Shared) {
    let start = tokio::time::Instant::now() + ACCOUNTS_REFRESH;
    let mut tick = tokio::time::interval_at(start, ACCOUNTS_REFRESH);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        match store.accounts().await {
            Ok(list) => shared.lock().set_account_names(list.into_iter().map(|a| a.name)),
            Err(e) => tracing::warn!("cannot refresh the account list: {e}"),
        }
    }
}

/// Applies the retention policy at start and every hour, through the journal (so a
/// crash cannot bring trimmed messages back).
async fn retention(shared: Shared, outbound: Outbound, policy: hearth_store::Retention) {
    let mut tick = tokio::time::interval(Duration::from_secs(3600));
    loop {
        tick.tick().await;
        let Some(id) = shared.lock().trim_history(&policy, hearth_store::Timestamp::now()) else { return };
        match outbound.wait_result(id, Duration::from_secs(600)).await {
            Ok(0) => {}
            Ok(n) => tracing::info!("retention: deleted {n} old messages"),
            Err(e) => tracing::warn!("retention did not run to the end ({e:?}); it is retried within the hour"),
        }
    }
}
