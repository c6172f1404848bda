//! `idle`: register N clients, join rooms, measure what idle connections
//! cost the server.

use std::time::Duration;

use clap::Args;
use tokio::sync::watch;

use crate::Ctx;
use crate::fleet::{FleetSpec, register_all};
use crate::procstat::{CpuMeter, rss_kib};
use crate::report::Report;
use crate::scenario::{join_all, quit_all, report_failures};

#[derive(Args, Debug, Clone)]
pub struct IdleArgs {
    /// Number of clients to register.
    #[arg(long, default_value_t = 1000)]
    pub clients: usize,
    /// Clients per room (client i joins room i / room-size); 0 = no rooms.
    #[arg(long, default_value_t = 100)]
    pub room_size: usize,
    /// Registrations in progress at once.
    #[arg(long, default_value_t = 100)]
    pub in_flight: usize,
    /// New connections per second (0 = unlimited; in-flight still applies).
    #[arg(long, default_value_t = 0.0)]
    pub connect_rate: f64,
    /// Seconds to hold the clients idle before reading the server's RSS.
    #[arg(long, default_value_t = 2.0)]
    pub hold: f64,
}

pub async fn run(ctx: &Ctx, a: &IdleArgs) -> Report {
    let mut rep = Report::new("idle");
    rep.add("clients", a.clients, "");
    rep.add("in_flight", a.in_flight, "");
    let rss0 = ctx.pid.and_then(rss_kib);
    let cpu = CpuMeter::start(ctx.pid);
    let fleet = register_all(
        ctx,
        FleetSpec {
            count: a.clients,
            in_flight: a.in_flight,
            connect_rate: a.connect_rate,
            letter: 'i',
            caps: Vec::new(),
            sasl: ctx.sasl,
        },
    )
    .await;
    let used = cpu.stop();
    report_failures(&mut rep, &fleet, a.clients);
    let n = fleet.clients.len();
    let secs = fleet.elapsed.as_secs_f64();
    rep.add("register_s", secs, "s");
    rep.add("registrations_per_s", n as f64 / secs.max(1e-9), "/s");
    rep.add_opt("server_cpu_ms_per_reg", used.server_s.map(|s| s * 1000.0 / n.max(1) as f64), "ms");
    rep.add("tool_cpu_s", used.tool_s, "s");

    let mut clients = fleet.clients;
    if a.room_size > 0 && !clients.is_empty() {
        let t = std::time::Instant::now();
        let size = a.room_size;
        let (joined, errors) = join_all(clients, |i| ctx.channel(&format!("r{}x", i / size)), ctx.timeout).await;
        rep.add("join_s", t.elapsed().as_secs_f64(), "s");
        if !errors.is_empty() {
            rep.fail(format!("{} joins failed: {}", errors.len(), errors[0]));
        }
        clients = joined;
    }

    // Hold everyone idle (PINGs answered) while the server settles.
    let (release_tx, release_rx) = watch::channel(false);
    let mut held = Vec::with_capacity(clients.len());
    for mut c in clients {
        let mut rx = release_rx.clone();
        held.push(tokio::spawn(async move { c.park(&mut rx).await.ok().map(|_| c) }));
    }
    tokio::time::sleep(Duration::from_secs_f64(a.hold)).await;
    let rss1 = ctx.pid.and_then(rss_kib);
    let _ = release_tx.send(true);
    let mut alive = Vec::with_capacity(held.len());
    for h in held {
        if let Ok(Some(c)) = h.await {
            alive.push(c);
        }
    }
    if alive.len() < n {
        rep.fail(format!("{} clients dropped while idle", n - alive.len()));
    }
    rep.add_opt("server_rss_before_kib", rss0.map(|v| v as f64), "KiB");
    rep.add_opt("server_rss_after_kib", rss1.map(|v| v as f64), "KiB");
    let per_conn = match (rss0, rss1) {
        (Some(b), Some(a)) if n > 0 => Some((a as f64 - b as f64) / n as f64),
        _ => None,
    };
    rep.add_opt("kib_per_conn", per_conn, "KiB");
    quit_all(alive).await;
    rep
}
