//! `login`: SASL PLAIN logins per second.

use clap::Args;

use crate::Ctx;
use crate::fleet::{FleetSpec, register_all};
use crate::procstat::CpuMeter;
use crate::report::Report;
use crate::scenario::{quit_all, report_failures};

#[derive(Args, Debug, Clone)]
pub struct LoginArgs {
    /// Number of clients that log in (account <account-prefix><i>).
    #[arg(long, default_value_t = 200)]
    pub clients: usize,
    /// Logins in progress at once.
    #[arg(long, default_value_t = 50)]
    pub in_flight: usize,
}

pub async fn run(ctx: &Ctx, a: &LoginArgs) -> Report {
    let mut rep = Report::new("login");
    rep.add("clients", a.clients, "");
    let cpu = CpuMeter::start(ctx.pid);
    let fleet = register_all(
        ctx,
        FleetSpec {
            count: a.clients,
            in_flight: a.in_flight,
            connect_rate: 0.0,
            letter: 'l',
            caps: Vec::new(),
            sasl: true,
        },
    )
    .await;
    let used = cpu.stop();
    report_failures(&mut rep, &fleet, a.clients);
    let n = fleet.clients.len();
    let secs = fleet.elapsed.as_secs_f64();
    rep.add("elapsed_s", secs, "s");
    rep.add("logins_per_s", n as f64 / secs.max(1e-9), "/s");
    rep.add_latency("connect_to_903", &fleet.sasl_us);
    rep.add_opt("server_cpu_ms_per_login", used.server_s.map(|s| s * 1000.0 / n.max(1) as f64), "ms");
    rep.add("tool_cpu_s", used.tool_s, "s");
    quit_all(fleet.clients).await;
    rep
}
