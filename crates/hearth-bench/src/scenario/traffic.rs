//! `fanout` and `dm`: timed PRIVMSG traffic with latency and loss.
//!
//! Every message text is `hb <sender> <seq> <ns>` where `<ns>` is the send
//! time in monotonic nanoseconds since the tool started; receivers subtract
//! it from their own clock. A message a client receives from itself (a
//! server echoing without echo-message) is counted as an echo, not a
//! delivery, so expected deliveries = sent × recipients per message.
//!
//! `--rate 0` measures saturation with a per-sender window: each sender keeps
//! at most `--window` messages in flight, where "in flight" means sent but
//! not yet seen by that sender's observer (for fanout: the last client,
//! which never sends; for dm: the sender's partner). Observers bump a
//! shared counter per sender and wake it. The server's queues therefore
//! never grow without bound, and deliveries/s is what it sustains end to
//! end. A window that makes no progress for 1 s is written off (counted in
//! `stalls`) so a lost message cannot wedge a sender.

use std::fmt::Write as _;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use clap::Args;
use hdrhistogram::Histogram;
use tokio::sync::{Notify, watch};

use crate::conn::Client;
use crate::fleet::{FleetSpec, register_all};
use crate::line::{Msg, parse_u64};
use crate::procstat::CpuMeter;
use crate::report::{Report, latency_histogram};
use crate::scenario::{join_all, quit_all, report_failures};
use crate::{Ctx, now_ns};

#[derive(Args, Debug, Clone)]
pub struct FanoutArgs {
    /// Clients in the channel.
    #[arg(long, default_value_t = 100)]
    pub clients: usize,
    /// How many of them send.
    #[arg(long, default_value_t = 1)]
    pub senders: usize,
    /// Aggregate messages per second over all senders; 0 = saturation.
    #[arg(long, default_value_t = 100.0)]
    pub rate: f64,
    /// Seconds of sending.
    #[arg(long, default_value_t = 10.0)]
    pub duration: f64,
    /// Saturation mode: messages each sender keeps in flight.
    #[arg(long, default_value_t = 20)]
    pub window: u64,
    /// Registrations in progress at once.
    #[arg(long, default_value_t = 20)]
    pub in_flight: usize,
    /// Maximum acceptable loss in percent before the run fails.
    #[arg(long, default_value_t = 1.0)]
    pub max_loss: f64,
}

#[derive(Args, Debug, Clone)]
pub struct DmArgs {
    /// Number of pairs (2 × pairs clients); the first of each pair sends.
    #[arg(long, default_value_t = 50)]
    pub pairs: usize,
    /// Aggregate messages per second over all pairs; 0 = saturation.
    #[arg(long, default_value_t = 500.0)]
    pub rate: f64,
    /// Seconds of sending.
    #[arg(long, default_value_t = 10.0)]
    pub duration: f64,
    /// Saturation mode: messages each sender keeps in flight.
    #[arg(long, default_value_t = 20)]
    pub window: u64,
    /// Registrations in progress at once.
    #[arg(long, default_value_t = 20)]
    pub in_flight: usize,
    /// Maximum acceptable loss in percent before the run fails.
    #[arg(long, default_value_t = 1.0)]
    pub max_loss: f64,
}

/// Who sends what to whom.
struct Plan {
    /// Client index of each sender (sender id = position here).
    senders: Vec<usize>,
    /// PRIVMSG target of each sender.
    targets: Vec<String>,
    /// Client index that observes each sender's messages (saturation).
    observers: Vec<usize>,
    recipients_per_msg: u64,
    rate: f64,
    duration: Duration,
    window: u64,
    max_loss: f64,
}

/// Per-sender in-flight window shared with its observer.
struct Window {
    observed: AtomicU64,
    wake: Notify,
}

struct Shared {
    windows: Vec<Window>,
    sender_of_client: Vec<Option<usize>>,
    observers: Vec<usize>,
    deliveries: AtomicU64,
    sent: AtomicU64,
}

#[derive(Default)]
struct Stats {
    deliveries: u64,
    echoes: u64,
    sent: u64,
    stalls: u64,
    last_delivery: Option<Instant>,
    error: Option<String>,
}

pub async fn fanout(ctx: &Ctx, a: &FanoutArgs) -> Report {
    let mut rep = Report::new("fanout");
    rep.add("clients", a.clients, "");
    rep.add("senders", a.senders, "");
    rep.add("rate", a.rate, "msg/s");
    if a.clients < 2 || a.senders == 0 || a.senders >= a.clients {
        rep.fail("need clients >= 2 and 1 <= senders < clients");
        return rep;
    }
    let fleet = register_all(ctx, spec('f', a.clients, a.in_flight, ctx)).await;
    report_failures(&mut rep, &fleet, a.clients);
    if fleet.clients.len() < a.clients {
        quit_all(fleet.clients).await;
        return rep;
    }
    let chan = ctx.channel("fan");
    let (clients, errors) = join_all(fleet.clients, |_| chan.clone(), ctx.timeout).await;
    if !errors.is_empty() {
        rep.fail(format!("{} joins failed: {}", errors.len(), errors[0]));
        quit_all(clients).await;
        return rep;
    }
    // Let the JOIN storm drain before measuring.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let n = clients.len();
    let plan = Plan {
        senders: (0..a.senders).collect(),
        targets: vec![chan; a.senders],
        observers: vec![n - 1; a.senders],
        recipients_per_msg: (n - 1) as u64,
        rate: a.rate,
        duration: Duration::from_secs_f64(a.duration),
        window: a.window.max(1),
        max_loss: a.max_loss,
    };
    run_traffic(ctx, clients, plan, &mut rep).await;
    rep
}

pub async fn dm(ctx: &Ctx, a: &DmArgs) -> Report {
    let mut rep = Report::new("dm");
    rep.add("pairs", a.pairs, "");
    rep.add("rate", a.rate, "msg/s");
    if a.pairs == 0 {
        rep.fail("need at least one pair");
        return rep;
    }
    let fleet = register_all(ctx, spec('d', a.pairs * 2, a.in_flight, ctx)).await;
    report_failures(&mut rep, &fleet, a.pairs * 2);
    if fleet.clients.len() < a.pairs * 2 {
        quit_all(fleet.clients).await;
        return rep;
    }
    let clients = fleet.clients;
    let plan = Plan {
        senders: (0..a.pairs).map(|p| 2 * p).collect(),
        targets: (0..a.pairs).map(|p| clients[2 * p + 1].nick.clone()).collect(),
        observers: (0..a.pairs).map(|p| 2 * p + 1).collect(),
        recipients_per_msg: 1,
        rate: a.rate,
        duration: Duration::from_secs_f64(a.duration),
        window: a.window.max(1),
        max_loss: a.max_loss,
    };
    run_traffic(ctx, clients, plan, &mut rep).await;
    rep
}

fn spec(letter: char, count: usize, in_flight: usize, ctx: &Ctx) -> FleetSpec {
    FleetSpec { count, in_flight, connect_rate: 0.0, letter, caps: Vec::new(), sasl: ctx.sasl }
}

/// Phases broadcast to every client task.
const RUNNING: u8 = 1;
const DRAINING: u8 = 2;
const DONE: u8 = 3;

async fn run_traffic(ctx: &Ctx, clients: Vec<Client>, plan: Plan, rep: &mut Report) {
    let n = clients.len();
    let mut sender_of_client = vec![None; n];
    for (sid, &ci) in plan.senders.iter().enumerate() {
        sender_of_client[ci] = Some(sid);
    }
    let shared = Arc::new(Shared {
        windows: (0..plan.senders.len()).map(|_| Window { observed: AtomicU64::new(0), wake: Notify::new() }).collect(),
        sender_of_client,
        observers: plan.observers.clone(),
        deliveries: AtomicU64::new(0),
        sent: AtomicU64::new(0),
    });
    let (phase_tx, phase_rx) = watch::channel(0u8);
    let start = Instant::now() + Duration::from_millis(100);
    let per_sender = plan.rate / plan.senders.len() as f64;
    let mut handles = Vec::with_capacity(n);
    for (ci, c) in clients.into_iter().enumerate() {
        let role = shared.sender_of_client[ci].map(|sid| SenderRole {
            sid,
            target: plan.targets[sid].clone(),
            rate: per_sender,
            // Stagger senders over one period so they do not burst together.
            offset: if per_sender > 0.0 {
                Duration::from_secs_f64(sid as f64 / plan.senders.len() as f64 / per_sender)
            } else {
                Duration::ZERO
            },
            window: plan.window,
        });
        handles.push(tokio::spawn(client_task(c, ci, role, shared.clone(), phase_rx.clone(), start)));
    }
    tokio::time::sleep_until(start.into()).await;
    let cpu = CpuMeter::start(ctx.pid);
    let _ = phase_tx.send(RUNNING);
    tokio::time::sleep(plan.duration).await;
    let _ = phase_tx.send(DRAINING);
    // Drain: until every expected delivery arrived, no progress for 1 s, or
    // the timeout.
    let drain_deadline = Instant::now() + ctx.timeout.min(Duration::from_secs(10));
    let mut last = shared.deliveries.load(Ordering::Relaxed);
    let mut last_change = Instant::now();
    // Give senders a moment to publish their final counts.
    tokio::time::sleep(Duration::from_millis(20)).await;
    loop {
        let got = shared.deliveries.load(Ordering::Relaxed);
        let expected = shared.sent.load(Ordering::Relaxed) * plan.recipients_per_msg;
        if got >= expected || Instant::now() >= drain_deadline {
            break;
        }
        if got != last {
            last = got;
            last_change = Instant::now();
        } else if last_change.elapsed() > Duration::from_secs(1) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    // Count what the server still does for these messages (see --settle).
    tokio::time::sleep(ctx.settle).await;
    let used = cpu.stop();
    let _ = phase_tx.send(DONE);

    let mut hist = latency_histogram();
    let mut total = Stats::default();
    let mut alive = Vec::with_capacity(n);
    let mut errors = Vec::new();
    for h in handles {
        let Ok(Ok((c, st, h))) = tokio::time::timeout(Duration::from_secs(5), h).await else {
            errors.push("client task hung".to_string());
            continue;
        };
        let _ = hist.add(&h);
        total.deliveries += st.deliveries;
        total.echoes += st.echoes;
        total.sent += st.sent;
        total.stalls += st.stalls;
        total.last_delivery = total.last_delivery.max(st.last_delivery);
        if let Some(e) = st.error {
            errors.push(e);
        }
        if let Some(c) = c {
            alive.push(c);
        }
    }
    let expected = total.sent * plan.recipients_per_msg;
    let span = total
        .last_delivery
        .map(|t| t.saturating_duration_since(start).as_secs_f64())
        .unwrap_or(0.0)
        .max(plan.duration.as_secs_f64().min(1e-3));
    rep.add("duration_s", plan.duration.as_secs_f64(), "s");
    rep.add("sent", total.sent, "msgs");
    rep.add("sent_per_s", total.sent as f64 / plan.duration.as_secs_f64(), "msg/s");
    rep.add("expected_deliveries", expected, "");
    rep.add("deliveries", total.deliveries, "");
    rep.add("deliveries_per_s", total.deliveries as f64 / span.max(1e-9), "/s");
    let loss =
        if expected > 0 { 100.0 * (expected.saturating_sub(total.deliveries)) as f64 / expected as f64 } else { 0.0 };
    rep.add("loss_pct", loss, "%");
    rep.add("echoes", total.echoes, "");
    if plan.rate == 0.0 {
        rep.add("window", plan.window, "msgs");
        rep.add("stalls", total.stalls, "");
    }
    rep.add_latency("latency", &hist);
    rep.add_opt("server_cpu_s", used.server_s, "s");
    // Nanosecond CPU per message sent, for rates too low for 10 ms ticks (a
    // room at 1 msg/s); includes what the server spends while nobody talks.
    if let (Some(ns), true) = (used.server_ns, total.sent > 0) {
        rep.add("server_cpu_us_per_msg", ns as f64 / 1000.0 / total.sent as f64, "µs");
    }
    rep.add("tool_cpu_s", used.tool_s, "s");
    rep.add("wall_s", used.wall_s, "s");
    if used.tool_s > 0.9 * used.wall_s * std::thread::available_parallelism().map_or(1, |n| n.get()) as f64 {
        println!("  note: the tool was near saturation; figures may be tool-bound");
    }
    if !errors.is_empty() {
        rep.fail(format!("{} clients failed: {}", errors.len(), errors[0]));
    }
    if total.sent == 0 {
        rep.fail("no message was sent");
    } else if loss > plan.max_loss {
        rep.fail(format!("loss {loss:.2}% exceeds {}%", plan.max_loss));
    }
    quit_all(alive).await;
}

struct SenderRole {
    sid: usize,
    target: String,
    rate: f64,
    offset: Duration,
    window: u64,
}

/// Largest batch one sender writes at once.
const MAX_BATCH: u64 = 256;

/// One client: receives (and, if it has a role, sends) until DONE.
async fn client_task(
    mut c: Client,
    me: usize,
    role: Option<SenderRole>,
    shared: Arc<Shared>,
    mut phase: watch::Receiver<u8>,
    start: Instant,
) -> (Option<Client>, Stats, Histogram<u64>) {
    let mut st = Stats::default();
    let mut hist = latency_histogram();
    let mut buf: Vec<u8> = Vec::with_capacity(4096);
    let mut cur = 0u8;
    // Saturation: messages written off after a stall.
    let mut forgiven = 0u64;
    let mut last_observed = 0u64;
    let mut last_progress = Instant::now();
    let mut next_send = start;
    let far = Instant::now() + Duration::from_secs(3600);
    loop {
        // Saturation: refill the window before waiting for anything.
        if let Some(r) = role.as_ref().filter(|r| r.rate == 0.0 && cur == RUNNING) {
            let observed = shared.windows[r.sid].observed.load(Ordering::Acquire);
            if observed != last_observed {
                last_observed = observed;
                last_progress = Instant::now();
            }
            let in_flight = st.sent.saturating_sub(observed + forgiven);
            if in_flight < r.window {
                let k = (r.window - in_flight).min(MAX_BATCH);
                if let Err(e) = send_batch(&mut c, r, &mut buf, &mut st, k, &shared).await {
                    st.error = Some(e);
                    return (None, st, hist);
                }
            }
        }
        let sat_full = role.as_ref().is_some_and(|r| r.rate == 0.0) && cur == RUNNING;
        let rate_due = match role.as_ref() {
            Some(r) if r.rate > 0.0 && cur == RUNNING => next_send,
            _ => far,
        };
        let wake = role.as_ref().map(|r| &shared.windows[r.sid].wake);
        tokio::select! {
            line = c.next_range() => {
                match line {
                    Ok(Some(r)) => {
                        // Everything this read brought in, handled here: one clock
                        // reading for all of it (the lines arrived together), and no
                        // trip back through select! per line.
                        let now = Instant::now();
                        let now_ns = crate::ns_since_start(now);
                        let mut next = Some(r);
                        while let Some(r) = next {
                            let m = Msg::parse(c.rd.get(r));
                            if m.is("PRIVMSG") {
                                on_privmsg(&m, me, &shared, &mut st, &mut hist, now_ns);
                            } else if m.is("ERROR") {
                                st.error = Some(format!("{} got ERROR: {}", c.nick, String::from_utf8_lossy(m.trailing().unwrap_or(b""))));
                                return (None, st, hist);
                            }
                            next = c.buffered_range();
                        }
                        if st.deliveries > 0 {
                            st.last_delivery = Some(now);
                        }
                    }
                    Ok(None) => {
                        st.error = Some(format!("{}: server closed the connection", c.nick));
                        return (None, st, hist);
                    }
                    Err(e) => {
                        st.error = Some(format!("{}: {e:#}", c.nick));
                        return (None, st, hist);
                    }
                }
            }
            changed = phase.changed() => {
                if changed.is_err() { return (Some(c), st, hist); }
                cur = *phase.borrow_and_update();
                if cur == DONE { return (Some(c), st, hist); }
                if cur == RUNNING && let Some(r) = role.as_ref() {
                    next_send = start + r.offset;
                }
            }
            _ = tokio::time::sleep_until(rate_due.into()), if rate_due != far => {
                let Some(r) = role.as_ref() else { continue };
                let elapsed = Instant::now().saturating_duration_since(start + r.offset).as_secs_f64();
                let due = (elapsed * r.rate).floor() as u64 + 1;
                let k = due.saturating_sub(st.sent).min(MAX_BATCH);
                if k > 0
                    && let Err(e) = send_batch(&mut c, r, &mut buf, &mut st, k, &shared).await
                {
                    st.error = Some(e);
                    return (None, st, hist);
                }
                next_send = start + r.offset + Duration::from_secs_f64(st.sent as f64 / r.rate);
            }
            _ = async { wake.expect("sender has a window").notified().await }, if sat_full && wake.is_some() => {}
            _ = tokio::time::sleep_until((last_progress + Duration::from_secs(1)).into()), if sat_full => {
                // No progress for a second: write off what is in flight.
                let observed = shared.windows[role.as_ref().map_or(0, |r| r.sid)].observed.load(Ordering::Acquire);
                forgiven = st.sent.saturating_sub(observed);
                last_progress = Instant::now();
                st.stalls += 1;
            }
        }
    }
}

async fn send_batch(
    c: &mut Client,
    r: &SenderRole,
    buf: &mut Vec<u8>,
    st: &mut Stats,
    k: u64,
    shared: &Shared,
) -> Result<(), String> {
    buf.clear();
    let mut s = String::with_capacity(64);
    for _ in 0..k {
        s.clear();
        let _ = write!(s, "PRIVMSG {} :hb {} {} {}\r\n", r.target, r.sid, st.sent, now_ns());
        buf.extend_from_slice(s.as_bytes());
        st.sent += 1;
    }
    shared.sent.fetch_add(k, Ordering::Relaxed);
    c.send_bytes(buf).await.map_err(|e| format!("{}: send failed: {e:#}", c.nick))
}

fn on_privmsg(m: &Msg, me: usize, shared: &Shared, st: &mut Stats, hist: &mut Histogram<u64>, now: u64) {
    let Some(text) = m.trailing() else { return };
    let Some(body) = text.strip_prefix(b"hb ") else {
        return;
    };
    let mut f = body.split(|&b| b == b' ');
    let (Some(sid), Some(_seq), Some(ts)) =
        (f.next().and_then(parse_u64), f.next().and_then(parse_u64), f.next().and_then(parse_u64))
    else {
        return;
    };
    let sid = sid as usize;
    if shared.sender_of_client.get(me).copied().flatten() == Some(sid) {
        st.echoes += 1;
        return;
    }
    let _ = hist.record((now.saturating_sub(ts) / 1000).max(1));
    st.deliveries += 1;
    shared.deliveries.fetch_add(1, Ordering::Relaxed);
    if shared.observers.get(sid) == Some(&me) {
        let w = &shared.windows[sid];
        w.observed.fetch_add(1, Ordering::Release);
        w.wake.notify_one();
    }
}
