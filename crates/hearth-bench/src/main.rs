//! `hearth-bench`: a load generator and benchmark for IRC servers.
//!
//! It speaks plain IRC (RFC 1459/2812 plus the IRCv3 bits a scenario needs)
//! to any server, so the same figures can be taken from Hearth and from peer
//! servers. It never depends on Hearth's crates.
//!
//! # Layout
//! - `main.rs`     — CLI (clap), shared context, dispatch.
//! - `line.rs`     — buffered line splitter and zero-copy IRC line view.
//! - `conn.rs`     — one client: spread source address, registration, SASL.
//! - `fleet.rs`    — register many clients with bounded concurrency.
//! - `procstat.rs` — server/tool RSS and CPU from /proc.
//! - `report.rs`   — human lines plus one JSON line.
//! - `scenario/`   — one file per scenario (idle, traffic = fanout + dm,
//!   history, login, smoke).
#![forbid(unsafe_code)]

mod conn;
mod fleet;
mod line;
mod procstat;
mod report;
mod scenario;

use std::net::SocketAddr;
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use clap::{Args, Parser, Subcommand};

use crate::conn::Creds;
use crate::report::Report;

/// Load generator and benchmark for IRC servers.
///
/// Every scenario is bounded in client count and time. Client connections
/// come from 127.0.0.2..=127.0.0.254 (round-robin) when the server is on
/// loopback, so tens of thousands of connections do not exhaust ports.
/// Human-readable results are always printed; `--json` adds one JSON line.
#[derive(Parser, Debug)]
#[command(name = "hearth-bench", version)]
struct Cli {
    #[command(flatten)]
    common: Common,
    #[command(subcommand)]
    scenario: Scenario,
}

#[derive(Args, Debug, Clone)]
pub struct Common {
    /// Server address (host:port).
    #[arg(long, global = true, default_value = "127.0.0.1:6667", env = "BENCH_SERVER")]
    server: String,
    /// Connect every client over IRC-over-WebSocket (`text.ircv3.net`) to this
    /// URL, e.g. ws://127.0.0.1:8080/irc, instead of TCP to --server.
    #[arg(long, global = true, value_name = "URL")]
    ws: Option<String>,
    /// Server process id, for RSS (/proc/PID/status) and CPU (/proc/PID/stat).
    #[arg(long, global = true)]
    pid: Option<u32>,
    /// Print one JSON line of results at the end.
    #[arg(long, global = true)]
    json: bool,
    /// Upper bound in seconds for each phase (registration, joins, drain...).
    #[arg(long, global = true, default_value_t = 60.0)]
    timeout: f64,
    /// Log in every client with SASL PLAIN as <account-prefix><i>.
    #[arg(long, global = true)]
    sasl: bool,
    /// Account name prefix for --sasl and `login` (accounts bench0, bench1...).
    #[arg(long, global = true, default_value = "bench")]
    account_prefix: String,
    /// Password shared by all bench accounts.
    #[arg(long, global = true, env = "BENCH_PASSWORD", default_value = "")]
    password: String,
    /// Number of distinct accounts to cycle through (0 = one per client).
    #[arg(long, global = true, default_value_t = 0)]
    accounts: usize,
    /// Seconds the server's CPU is still counted after the last delivery of a traffic
    /// scenario, so work a server defers (storing history in batches) is in the
    /// figure; the same for every server (an idle server uses next to nothing). Longer
    /// than Hearth's inserter linger (up to 5 s before it stores what is left).
    #[arg(long, global = true, default_value_t = 7.0)]
    settle: f64,
}

#[derive(Subcommand, Debug)]
enum Scenario {
    /// Register N clients, join rooms, measure memory and registration cost.
    Idle(scenario::idle::IdleArgs),
    /// N clients in one channel; S senders at an aggregate rate; measure
    /// deliveries/s, loss and latency.
    Fanout(scenario::traffic::FanoutArgs),
    /// PRIVMSG between P pairs of clients; measure latency and loss.
    Dm(scenario::traffic::DmArgs),
    /// CHATHISTORY LATEST latency (needs draft/chathistory and batch).
    History(scenario::history::HistoryArgs),
    /// SASL PLAIN logins per second.
    Login(scenario::login::LoginArgs),
    /// A few seconds of every scenario with few clients; exit 1 on failure.
    Smoke(scenario::smoke::SmokeArgs),
}

/// What every scenario needs to know.
pub struct Ctx {
    pub server: SocketAddr,
    pub pid: Option<u32>,
    pub timeout: Duration,
    pub sasl: bool,
    /// See `--ws`.
    pub ws: Option<String>,
    /// See `--settle`.
    pub settle: Duration,
    account_prefix: String,
    password: String,
    accounts: usize,
    /// Two characters unique to this run, so nicks do not collide with a
    /// previous run's ghosts.
    tag: String,
}

impl Ctx {
    /// Nick `<letter><tag><i>` — at most 9 characters for i < 1,000,000.
    pub fn nick(&self, letter: char, i: usize) -> String {
        format!("{letter}{}{i}", self.tag)
    }

    /// Credentials for client `i`, when a password was given.
    pub fn creds(&self, i: usize) -> Option<Creds> {
        let i = if self.accounts > 0 { i % self.accounts } else { i };
        Some(Creds { account: format!("{}{i}", self.account_prefix), password: self.password.clone() })
    }

    /// A run-unique channel name.
    pub fn channel(&self, what: &str) -> String {
        format!("#{what}{}", self.tag)
    }
}

/// Monotonic origin for the timestamps carried in messages.
static START: OnceLock<Instant> = OnceLock::new();

/// Nanoseconds since the tool started (monotonic).
pub fn now_ns() -> u64 {
    ns_since_start(Instant::now())
}

/// `t` in nanoseconds since the tool started (the clock of `now_ns`).
pub fn ns_since_start(t: Instant) -> u64 {
    t.saturating_duration_since(*START.get_or_init(Instant::now)).as_nanos() as u64
}

/// Raises the open-file soft limit to the hard limit.
fn raise_nofile() {
    match rlimit::increase_nofile_limit(u64::MAX) {
        Ok(n) => {
            if n < 25_000 {
                eprintln!("hearth-bench: open files limited to {n}");
            }
        }
        Err(e) => eprintln!("hearth-bench: cannot raise RLIMIT_NOFILE: {e}"),
    }
}

fn run_tag() -> String {
    const A: &[u8] = b"abcdefghijklmnopqrstuvwxyz0123456789";
    let seed = std::process::id() as u64 ^ now_wall_nanos();
    let a = A[(seed % 26) as usize] as char;
    let b = A[((seed / 26) % 36) as usize] as char;
    format!("{a}{b}")
}

fn now_wall_nanos() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos() as u64 ^ d.as_secs())
        .unwrap_or(0)
}

fn main() -> Result<()> {
    let cli = Cli::parse();
    START.get_or_init(Instant::now);
    raise_nofile();
    let server: SocketAddr = std::net::ToSocketAddrs::to_socket_addrs(&cli.common.server)
        .with_context(|| format!("resolving {}", cli.common.server))?
        .next()
        .context("no address for --server")?;
    let ctx = Ctx {
        server,
        pid: cli.common.pid,
        timeout: Duration::from_secs_f64(cli.common.timeout),
        sasl: cli.common.sasl,
        ws: cli.common.ws.clone(),
        settle: Duration::from_secs_f64(cli.common.settle.max(0.0)),
        account_prefix: cli.common.account_prefix.clone(),
        password: cli.common.password.clone(),
        accounts: cli.common.accounts,
        tag: run_tag(),
    };
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    let reports: Vec<Report> = rt.block_on(async {
        match cli.scenario {
            Scenario::Idle(a) => vec![scenario::idle::run(&ctx, &a).await],
            Scenario::Fanout(a) => vec![scenario::traffic::fanout(&ctx, &a).await],
            Scenario::Dm(a) => vec![scenario::traffic::dm(&ctx, &a).await],
            Scenario::History(a) => vec![scenario::history::run(&ctx, &a).await],
            Scenario::Login(a) => vec![scenario::login::run(&ctx, &a).await],
            Scenario::Smoke(a) => scenario::smoke::run(&ctx, &a).await,
        }
    });
    // Do not wait for lingering client tasks.
    rt.shutdown_timeout(Duration::from_millis(200));
    let ok = reports.iter().all(Report::ok);
    if cli.common.json {
        let json = if reports.len() == 1 {
            reports[0].to_json()
        } else {
            serde_json::json!({
                "scenario": "smoke",
                "ok": ok,
                "results": reports.iter().map(Report::to_json).collect::<Vec<_>>(),
            })
        };
        println!("{json}");
    }
    if !ok {
        std::process::exit(1);
    }
    Ok(())
}
