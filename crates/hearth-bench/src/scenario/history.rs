//! `history`: CHATHISTORY LATEST latency.
//!
//! One client (SASL-logged-in when `--account` or `--sasl` is given)
//! requests `draft/chathistory` and `batch`, joins the target, optionally
//! fills it with messages, then issues `CHATHISTORY LATEST <chan> * <limit>`
//! sequentially and times each until the closing `BATCH -<ref>`.

use std::time::{Duration, Instant};

use anyhow::{Result, bail};
use clap::Args;

use crate::Ctx;
use crate::conn::{Client, Creds, RegisterOpts};
use crate::line::Msg;
use crate::report::{Report, latency_histogram};
use crate::scenario::join;

#[derive(Args, Debug, Clone)]
pub struct HistoryArgs {
    /// Channel to query (default: a fresh run-unique channel).
    #[arg(long)]
    pub target: Option<String>,
    /// Number of CHATHISTORY requests.
    #[arg(long, default_value_t = 200)]
    pub count: usize,
    /// Messages requested per CHATHISTORY.
    #[arg(long, default_value_t = 100)]
    pub limit: usize,
    /// Send this many messages to the target first.
    #[arg(long, default_value_t = 0)]
    pub fill: usize,
    /// Messages sent per PING round trip while filling.
    #[arg(long, default_value_t = 50)]
    pub fill_chunk: usize,
    /// Account to log in with (SASL PLAIN); default <account-prefix>0 with --sasl.
    #[arg(long)]
    pub account: Option<String>,
}

pub async fn run(ctx: &Ctx, a: &HistoryArgs) -> Report {
    let mut rep = Report::new("history");
    let chan = a.target.clone().unwrap_or_else(|| ctx.channel("hist"));
    rep.add("target", chan.clone(), "");
    match tokio::time::timeout(ctx.timeout, go(ctx, a, &chan, &mut rep)).await {
        Ok(Ok(())) => {}
        Ok(Err(e)) => rep.fail(format!("{e:#}")),
        Err(_) => rep.fail("timed out"),
    }
    rep
}

async fn go(ctx: &Ctx, a: &HistoryArgs, chan: &str, rep: &mut Report) -> Result<()> {
    let sasl = match &a.account {
        Some(account) => Some(Creds { account: account.clone(), password: ctx_password(ctx) }),
        None if ctx.sasl => ctx.creds(0),
        None => None,
    };
    let opts = RegisterOpts { caps: vec!["batch", "draft/chathistory"], sasl, ws: ctx.ws.clone() };
    let (mut c, _) = Client::register(ctx.server, ctx.nick('h', 0), &opts).await?;
    join(&mut c, chan).await?;
    if a.fill > 0 {
        let t = Instant::now();
        fill(&mut c, chan, a.fill, a.fill_chunk.max(1)).await?;
        rep.add("filled", a.fill, "msgs");
        rep.add("fill_per_s", a.fill as f64 / t.elapsed().as_secs_f64(), "msg/s");
        // A server that stores in the background may still be catching up right after
        // the fill and say so (`FAIL CHATHISTORY MESSAGE_ERROR`, as Hearth does rather
        // than answer from stale rows): ask until it answers, and report how long that
        // took apart from the timed queries.
        let t = Instant::now();
        loop {
            c.send(&format!("CHATHISTORY LATEST {chan} * 1\r\n")).await?;
            match read_batch(&mut c).await {
                Ok(_) => break,
                Err(e) if format!("{e}").contains("MESSAGE_ERROR") && t.elapsed() < ctx.timeout => {
                    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
                }
                Err(e) => return Err(e),
            }
        }
        rep.add("caught_up_s", t.elapsed().as_secs_f64(), "s");
    }
    let mut hist = latency_histogram();
    let mut returned = 0usize;
    let started = Instant::now();
    for _ in 0..a.count {
        let t = Instant::now();
        c.send(&format!("CHATHISTORY LATEST {chan} * {}\r\n", a.limit)).await?;
        returned += read_batch(&mut c).await?;
        let _ = hist.record((t.elapsed().as_micros() as u64).max(1));
    }
    let secs = started.elapsed().as_secs_f64();
    rep.add("requests", a.count, "");
    rep.add("requests_per_s", a.count as f64 / secs.max(1e-9), "/s");
    rep.add("messages_per_request", returned as f64 / a.count.max(1) as f64, "");
    rep.add_latency("latency", &hist);
    if a.fill > 0 && returned == 0 {
        bail!("history returned no messages after --fill");
    }
    c.quit().await;
    Ok(())
}

fn ctx_password(ctx: &Ctx) -> String {
    ctx.creds(0).map(|c| c.password).unwrap_or_default()
}

/// Sends `n` messages, `chunk` at a time, each group followed by a PING
/// barrier so the server's flood control (if any) sees a well-behaved client
/// and its input buffer stays bounded.
async fn fill(c: &mut Client, chan: &str, n: usize, chunk: usize) -> Result<()> {
    let mut sent = 0;
    while sent < n {
        let k = (n - sent).min(chunk);
        let mut buf = String::with_capacity(k * 64);
        for i in 0..k {
            buf.push_str(&format!("PRIVMSG {chan} :history fill {}\r\n", sent + i));
        }
        buf.push_str(&format!("PING :fill{sent}\r\n"));
        c.send(&buf).await?;
        let token = format!("fill{sent}");
        tokio::time::timeout(
            Duration::from_secs(30),
            c.wait_for(|m: &Msg| m.is("PONG") && m.trailing() == Some(token.as_bytes())),
        )
        .await??;
        sent += k;
    }
    Ok(())
}

/// Reads one `BATCH +ref chathistory ... BATCH -ref`; returns the number of
/// messages inside. FAIL or an error numeric ends it with an error.
async fn read_batch(c: &mut Client) -> Result<usize> {
    let mut reference: Option<Vec<u8>> = None;
    let mut count = 0;
    loop {
        let Some(r) = c.next_range().await? else {
            bail!("connection closed during CHATHISTORY");
        };
        let line = c.rd.get(r);
        let m = Msg::parse(line);
        if m.is("BATCH") {
            let p = m.param(0).unwrap_or(b"");
            if let Some(rf) = p.strip_prefix(b"+") {
                if reference.is_none() {
                    reference = Some(rf.to_vec());
                }
            } else if let Some(rf) = p.strip_prefix(b"-")
                && reference.as_deref() == Some(rf)
            {
                return Ok(count);
            }
        } else if m.is("FAIL") || m.command == b"421" {
            bail!("server refused CHATHISTORY: {}", String::from_utf8_lossy(line));
        } else if reference.is_some() && m.tag("batch").is_some() {
            count += 1;
        }
    }
}
