//! `hearth`: the command-line entry point.

mod cli;

use std::io::{IsTerminal, Write};
use std::net::SocketAddr;
use std::path::PathBuf;

use anyhow::Context;
use clap::{Parser, Subcommand};
use hearth::config::{FileConfig, LogFormat};
use tracing_subscriber::EnvFilter;

/// Hearth — a private chat server for a family, a class, a team or a club.
///
/// Hearth speaks IRC, so any IRC client (irssi, WeeChat, HexChat, mobile apps) can
/// connect. With no configuration file it listens on 127.0.0.1:6667.
#[derive(Debug, Parser)]
#[command(
    name = "hearth",
    version,
    propagate_version = true,
    after_help = "Quick start:\n  hearth user add alice --admin        create the first account\n  \
                  hearth serve [--config FILE] [--listen ADDR]...   run the server (default 127.0.0.1:6667,\n  \
                  web client on http://127.0.0.1:8080)\n\n\
                  Every command accepts --config FILE (before or after the command).\n\
                  Docs: README.md, docs/configuration.md, docs/cli.md"
)]
struct Cli {
    /// Configuration file (TOML). Every key is optional; see docs/configuration.md.
    /// Without it, built-in defaults are used.
    #[arg(long, short = 'c', global = true, value_name = "FILE", env = "HEARTH_CONFIG")]
    config: Option<PathBuf>,

    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the chat server until SIGINT or SIGTERM (graceful shutdown).
    ///
    /// When the listeners are up it prints one line to stdout naming each of them,
    /// e.g. `hearth: listening irc=127.0.0.1:6667 ircs=127.0.0.1:6697 web=127.0.0.1:8080`
    /// (with port 0 the port the OS chose). SIGHUP reloads the TLS certificate.
    /// Logs go to stderr; set the level with RUST_LOG or `[log] level`.
    Serve {
        /// Listen on ADDR (IP:port) instead of the config's `server.listen`.
        /// Repeat for several listeners; port 0 picks a free port.
        #[arg(long, short = 'l', value_name = "ADDR")]
        listen: Vec<SocketAddr>,
        /// IRC over TLS on ADDR instead of the config's `server.tls_listen`
        /// (6697 by convention). Repeatable; port 0 picks a free port.
        #[arg(long, value_name = "ADDR")]
        tls_listen: Vec<SocketAddr>,
        /// HTTP (web client, /healthz, /metrics, IRC over WebSocket) on ADDR instead
        /// of the config's `web.listen` (127.0.0.1:8080). Repeatable; port 0 picks a
        /// free port.
        #[arg(long, value_name = "ADDR")]
        web_listen: Vec<SocketAddr>,
    },
    /// Manage accounts: add, list, delete, change passwords, administrators.
    ///
    /// Works while the server runs. Uses the database of the config file
    /// (default: SQLite in ./hearth-data).
    #[command(subcommand)]
    User(cli::user::UserCommand),
    /// Delete stored messages: purge by room or date, or apply the retention
    /// settings of `[history]` once.
    #[command(subcommand)]
    History(cli::history::HistoryCommand),
    /// Write a room's or a conversation's history as a readable log or as
    /// JSON Lines, to standard output or one file per day.
    ///
    /// Reads the database directly, so it works with the server stopped too.
    /// Times are UTC.
    #[command(after_help = "Examples:\n  hearth export --room general --date 2026-11-21\n  \
                            hearth export --room '#general' --since 2026-11-01 --until 2026-11-30 --out logs/\n  \
                            hearth export --conversation alice,bob --format json > alice-bob.jsonl")]
    Export(cli::export::ExportArgs),
    /// See and steer the running server: who is online, rooms, kick, broadcast,
    /// shutdown, live purge, statistics. Talks to it over its control socket
    /// (`data_dir/control.sock`), so run it on the server's machine as the user the
    /// server runs as (or root).
    #[command(after_help = "Examples:\n  hearth admin who\n  hearth admin kick bob please calm down\n  \
                            hearth admin shutdown --in 5m back in ten minutes\n  hearth admin stats --json")]
    Admin(cli::admin::AdminArgs),
    /// The admin commands interactively, with line editing, history and Tab
    /// completion (`help` lists them).
    Console,
    /// Write a consistent copy of the database to DIR/hearth.db, also while the
    /// server runs (SQLite; with PostgreSQL use pg_dump). DIR can then serve as a
    /// fresh server's data_dir.
    Backup {
        /// Where to put hearth.db (created if missing; must not hold a hearth.db).
        dir: PathBuf,
    },
    /// Chat from the terminal: rooms, private chats and the people online,
    /// numbered. Works with any IRC server. See docs/chat.md.
    #[command(after_help = "Examples:\n  hearth chat --user alice\n  \
                            hearth chat --server chat.example.org --tls --user alice --save")]
    Chat(hearth_tui::Options),
}

fn load_config(path: Option<&PathBuf>) -> anyhow::Result<FileConfig> {
    match path {
        Some(p) => FileConfig::load(p),
        None => Ok(FileConfig::default()),
    }
}

/// Logs go to stderr, coloured only when it is a terminal: escape codes in a
/// file or a journal are noise.
fn init_logging(level: &str, format: LogFormat) {
    let filter = EnvFilter::try_from_default_env()
        .or_else(|_| EnvFilter::try_new(level))
        .unwrap_or_else(|_| EnvFilter::new("info"));
    let fmt = tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr);
    match format {
        LogFormat::Text => fmt.with_ansi(std::io::stderr().is_terminal()).init(),
        LogFormat::Json => fmt.json().with_ansi(false).init(),
    }
}

fn main() -> std::process::ExitCode {
    // Before anything touches TLS: one crypto provider for the whole process (rcgen and
    // rustls must agree; see shared/STACK.md).
    let _ = rustls::crypto::ring::default_provider().install_default();
    let cli = Cli::parse();
    match run(cli) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("hearth: error: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}

fn run(cli: Cli) -> anyhow::Result<()> {
    let cfg = load_config(cli.config.as_ref())?;
    let admin = |cfg: FileConfig| {
        init_logging("warn", cfg.log.format);
        cli::Ctx::new(cfg, cli.config.as_deref())
    };
    match cli.command {
        Command::Serve { listen, tls_listen, web_listen } => {
            init_logging(&cfg.log.level, cfg.log.format);
            let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
            rt.block_on(serve(cfg, hearth::app::Listen { irc: listen, ircs: tls_listen, web: web_listen }))
        }
        Command::User(cmd) => cli::block_on(cli::user::run(&admin(cfg), cmd)),
        Command::History(cmd) => cli::block_on(cli::history::run(&admin(cfg), cmd)),
        Command::Export(args) => cli::block_on(cli::export::run(&admin(cfg), args)),
        Command::Admin(args) => cli::block_on(cli::admin::run(&admin(cfg), args)),
        Command::Console => cli::console::run(&admin(cfg)),
        Command::Backup { dir } => cli::block_on(cli::backup::run(&admin(cfg), &dir)),
        Command::Chat(opts) => Ok(hearth_tui::run(opts)?),
    }
}

async fn serve(cfg: FileConfig, listen: hearth::app::Listen) -> anyhow::Result<()> {
    // Install the handlers before announcing readiness: whoever reads the line below
    // may signal at once, and an uninstalled handler means the default action (death).
    let mut signals = Signals::install()?;
    let running = hearth::app::start_listening(&cfg, &listen).await.context("cannot start the server")?;
    {
        let mut out = std::io::stdout().lock();
        writeln!(out, "hearth: listening {}", running.description)?;
        out.flush()?;
    }
    // Under systemd (Type=notify) the unit is "started" only now; elsewhere a no-op.
    if let Err(e) = sd_notify::notify(&[sd_notify::NotifyState::Ready]) {
        tracing::warn!("cannot tell systemd the server is ready: {e}");
    }
    tracing::info!("listening {}", running.description);
    let stop = running.shutdown_sender();
    let tls = running.tls.clone();
    tokio::spawn(async move {
        while signals.wait().await == Signal::Reload {
            match &tls {
                Some(tls) => match tls.reload() {
                    Ok(fp) => tracing::info!(fingerprint = %fp, "SIGHUP: TLS certificate reloaded"),
                    Err(e) => tracing::error!("SIGHUP: {e:#}; the certificate in use stays"),
                },
                None => tracing::info!("SIGHUP: no TLS listener, nothing to reload"),
            }
        }
        tracing::info!("signal received, shutting down");
        let _ = sd_notify::notify(&[sd_notify::NotifyState::Stopping]);
        let _ = stop.send(true);
    });
    running.wait().await;
    tracing::info!("stopped");
    Ok(())
}

/// SIGTERM and SIGINT, both ending the server gracefully; SIGHUP, reloading the
/// TLS certificate.
struct Signals {
    term: tokio::signal::unix::Signal,
    int: tokio::signal::unix::Signal,
    hup: tokio::signal::unix::Signal,
}

#[derive(Debug, PartialEq, Eq)]
enum Signal {
    Stop,
    Reload,
}

impl Signals {
    fn install() -> anyhow::Result<Self> {
        use tokio::signal::unix::{SignalKind, signal};
        Ok(Signals {
            term: signal(SignalKind::terminate()).context("install SIGTERM handler")?,
            int: signal(SignalKind::interrupt()).context("install SIGINT handler")?,
            hup: signal(SignalKind::hangup()).context("install SIGHUP handler")?,
        })
    }

    async fn wait(&mut self) -> Signal {
        tokio::select! {
            _ = self.term.recv() => Signal::Stop,
            _ = self.int.recv() => Signal::Stop,
            _ = self.hup.recv() => Signal::Reload,
        }
    }
}
