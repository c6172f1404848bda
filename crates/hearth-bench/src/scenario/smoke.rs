//! `smoke`: every scenario for a couple of seconds with few clients, for CI.
//! Fails (exit 1) if any registration, join or delivery fails or loss > 0.

use clap::Args;

use crate::Ctx;
use crate::report::Report;
use crate::scenario::{history, idle, login, traffic};

#[derive(Args, Debug, Clone)]
pub struct SmokeArgs {
    /// Clients per scenario.
    #[arg(long, default_value_t = 20)]
    pub clients: usize,
    /// Seconds of traffic per timed scenario.
    #[arg(long, default_value_t = 2.0)]
    pub duration: f64,
    /// Also run `login` and `history` (default: only with --sasl); both log
    /// in with SASL PLAIN as <account-prefix>0.. with --password.
    #[arg(long)]
    pub accounts_ready: bool,
}

pub async fn run(ctx: &Ctx, a: &SmokeArgs) -> Vec<Report> {
    let n = a.clients.max(4);
    let mut out = Vec::new();
    out.push(
        idle::run(
            ctx,
            &idle::IdleArgs { clients: n, room_size: (n / 2).max(2), in_flight: 10, connect_rate: 0.0, hold: 0.5 },
        )
        .await,
    );
    let fan = traffic::FanoutArgs {
        clients: n,
        senders: 2,
        rate: 50.0,
        duration: a.duration,
        window: 10,
        in_flight: 10,
        max_loss: 0.0,
    };
    out.push(traffic::fanout(ctx, &fan).await);
    out.push(traffic::fanout(ctx, &traffic::FanoutArgs { rate: 0.0, ..fan }).await);
    out.push(
        traffic::dm(
            ctx,
            &traffic::DmArgs {
                pairs: (n / 2).max(1),
                rate: 100.0,
                duration: a.duration,
                window: 10,
                in_flight: 10,
                max_loss: 0.0,
            },
        )
        .await,
    );
    if ctx.sasl || a.accounts_ready {
        out.push(login::run(ctx, &login::LoginArgs { clients: n, in_flight: 10 }).await);
        out.push(
            history::run(
                ctx,
                &history::HistoryArgs {
                    target: None,
                    count: 10,
                    limit: 100,
                    fill: 20,
                    fill_chunk: 10,
                    account: ctx.creds(0).map(|c| c.account),
                },
            )
            .await,
        );
    }
    let failed: Vec<_> = out.iter().filter(|r| !r.ok()).map(|r| r.to_json()["scenario"].to_string()).collect();
    if failed.is_empty() {
        println!("smoke: {} passed, 0 failed", out.len());
    } else {
        println!("smoke: {} passed, {} failed ({})", out.len() - failed.len(), failed.len(), failed.join(", "));
    }
    out
}
