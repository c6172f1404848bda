//! Registering many clients at once with bounded concurrency, keeping the
//! registered ones responsive (PINGs answered) until the scenario takes them.

use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Result, bail};
use hdrhistogram::Histogram;
use tokio::sync::{Semaphore, mpsc, watch};

use crate::Ctx;
use crate::conn::{Client, RegisterOpts};
use crate::report::latency_histogram;

pub struct Fleet {
    /// Registered clients, in index order (failed ones are missing).
    pub clients: Vec<Client>,
    pub failures: usize,
    /// The first few failure reasons.
    pub errors: Vec<String>,
    /// From the first connect to the last 001 (or failure).
    pub elapsed: Duration,
    /// Connect-to-903 times in µs (SASL only).
    pub sasl_us: Histogram<u64>,
}

/// How many clients to register, and how.
pub struct FleetSpec {
    pub count: usize,
    /// Registrations in progress at once.
    pub in_flight: usize,
    /// New connections per second (0 = as fast as `in_flight` allows).
    pub connect_rate: f64,
    /// First letter of every nick, so scenarios never collide.
    pub letter: char,
    pub caps: Vec<&'static str>,
    pub sasl: bool,
}

impl Client {
    /// Reads and drops lines (answering PINGs) until `release` turns true.
    pub async fn park(&mut self, release: &mut watch::Receiver<bool>) -> Result<()> {
        loop {
            if *release.borrow_and_update() {
                return Ok(());
            }
            tokio::select! {
                r = self.next_range() => {
                    if r?.is_none() {
                        bail!("connection closed while idle");
                    }
                }
                changed = release.changed() => {
                    if changed.is_err() {
                        return Ok(());
                    }
                }
            }
        }
    }
}

pub async fn register_all(ctx: &Ctx, spec: FleetSpec) -> Fleet {
    let sem = Arc::new(Semaphore::new(spec.in_flight.max(1)));
    let (done_tx, mut done_rx) = mpsc::unbounded_channel::<Result<Option<u64>, String>>();
    let (release_tx, release_rx) = watch::channel(false);
    let started = Instant::now();
    let deadline = started + ctx.timeout;
    let mut handles = Vec::with_capacity(spec.count);
    for i in 0..spec.count {
        let sem = sem.clone();
        let done = done_tx.clone();
        let mut release = release_rx.clone();
        let server = ctx.server;
        let nick = ctx.nick(spec.letter, i);
        let opts = RegisterOpts {
            caps: spec.caps.clone(),
            sasl: spec.sasl.then(|| ctx.creds(i)).flatten(),
            ws: ctx.ws.clone(),
        };
        let not_before =
            (spec.connect_rate > 0.0).then(|| started + Duration::from_secs_f64(i as f64 / spec.connect_rate));
        handles.push(tokio::spawn(async move {
            if let Some(t) = not_before {
                tokio::time::sleep_until(t.into()).await;
            }
            let permit = sem.acquire_owned().await.ok();
            let reg = tokio::time::timeout_at(deadline.into(), Client::register(server, nick, &opts)).await;
            drop(permit);
            let mut client = match reg {
                Ok(Ok((c, timing))) => {
                    let _ = done.send(Ok(timing.sasl_ns));
                    c
                }
                Ok(Err(e)) => {
                    let _ = done.send(Err(format!("{e:#}")));
                    return None;
                }
                Err(_) => {
                    let _ = done.send(Err("registration timed out".into()));
                    return None;
                }
            };
            client.park(&mut release).await.ok()?;
            Some(client)
        }));
    }
    drop(done_tx);

    let mut fleet = Fleet {
        clients: Vec::with_capacity(spec.count),
        failures: 0,
        errors: Vec::new(),
        elapsed: Duration::ZERO,
        sasl_us: latency_histogram(),
    };
    let mut seen = 0;
    while seen < spec.count {
        match tokio::time::timeout_at((deadline + Duration::from_secs(1)).into(), done_rx.recv()).await {
            Ok(Some(Ok(sasl_ns))) => {
                if let Some(ns) = sasl_ns {
                    let _ = fleet.sasl_us.record((ns / 1000).max(1));
                }
            }
            Ok(Some(Err(e))) => {
                fleet.failures += 1;
                if fleet.errors.len() < 5 {
                    fleet.errors.push(e);
                }
            }
            Ok(None) | Err(_) => break,
        }
        seen += 1;
    }
    fleet.elapsed = started.elapsed();
    let _ = release_tx.send(true);
    for h in handles {
        if let Ok(Ok(Some(c))) = tokio::time::timeout(Duration::from_secs(5), h).await {
            fleet.clients.push(c);
        }
    }
    // Clients that registered but died while parked count as failures too.
    fleet.failures = spec.count - fleet.clients.len();
    fleet
}
