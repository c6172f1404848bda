//! One connection: a reader that frames lines and feeds the core, and a writer that
//! drains the connection's [`Sink`] — everything queued goes out in one write.
//!
//! Generic over `AsyncRead + AsyncWrite` ([`serve`]), so tests can drive it over
//! `tokio::io::duplex` and TLS/WebSocket adapters can reuse it unchanged. Plain TCP
//! ([`serve_tcp`]) reads through readiness into a per-thread scratch buffer instead:
//! an idle connection then holds no read buffer at all, only the unfinished part of a
//! line when there is one.

use std::net::IpAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use std::cell::RefCell;
use std::io;

use bytes::Bytes;
use hearth_core::{ConnId, ConnInfo, DirectWrite, FloodGate, Sink};
use hearth_proto::{MAX_LINE_LEN, ParseError, parse_line};
use std::pin::Pin;
use std::task::{Context, Poll};
use tokio::io::Interest;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::time::{Instant, sleep, sleep_until};

use crate::Shared;
use crate::stats::NetStats;

/// Timeouts and flood settings one connection needs (copied from the core config).
#[derive(Debug, Clone)]
pub struct ConnSettings {
    pub sendq: usize,
    pub ping_interval: Duration,
    pub ping_timeout: Duration,
    pub registration_timeout: Duration,
    pub flood_burst: u32,
    pub flood_rate: f64,
    /// How long the writer keeps trying to flush after the session ended.
    pub linger: Duration,
    /// Counters for `/metrics`, shared by every connection.
    pub stats: Arc<NetStats>,
}

impl ConnSettings {
    pub fn from_core(cfg: &hearth_core::Config) -> Self {
        ConnSettings {
            sendq: cfg.sendq,
            ping_interval: cfg.ping_interval,
            ping_timeout: cfg.ping_timeout,
            registration_timeout: cfg.registration_timeout,
            flood_burst: cfg.flood_burst,
            flood_rate: cfg.flood_rate,
            linger: Duration::from_secs(2),
            stats: Arc::default(),
        }
    }
}

/// A source of input bytes: waits for input and appends what is there to `pending`.
pub trait ReadSome {
    /// Appends the bytes available now (at least one) to `pending`; `Ok(0)` at EOF.
    fn read_some(&mut self, pending: &mut Vec<u8>) -> impl Future<Output = io::Result<usize>> + Send;
}

/// Any `AsyncRead`: reads into `pending` directly (it keeps its capacity while idle).
pub struct Stream<R>(pub R);

impl<R: AsyncRead + Unpin + Send> ReadSome for Stream<R> {
    async fn read_some(&mut self, pending: &mut Vec<u8>) -> io::Result<usize> {
        pending.reserve(1024);
        self.0.read_buf(pending).await
    }
}

/// Bytes taken from the socket per read at most.
const SCRATCH: usize = 16 * 1024;

thread_local! {
    /// One read buffer per worker thread, shared by every connection on it.
    static SCRATCH_BUF: RefCell<Box<[u8]>> = RefCell::new(vec![0; SCRATCH].into_boxed_slice());
}

/// A plain TCP connection, shared by its reader, its writer task and its sink's
/// direct writes (every operation takes `&TcpStream`).
#[derive(Debug, Clone)]
pub struct Tcp(Arc<TcpStream>);

impl ReadSome for Tcp {
    async fn read_some(&mut self, pending: &mut Vec<u8>) -> io::Result<usize> {
        loop {
            self.0.readable().await?;
            // A short read drained the socket: report "would block" to tokio so it
            // clears the readiness now, instead of finding out with one more `recv`
            // per line (the next data raises a new readiness event).
            let mut got = None;
            let r = self.0.try_io(Interest::READABLE, || {
                SCRATCH_BUF.with(|scratch| {
                    let mut scratch = scratch.borrow_mut();
                    let socket = socket2::SockRef::from(&*self.0);
                    let n = io::Read::read(&mut &*socket, &mut scratch[..])?;
                    pending.extend_from_slice(&scratch[..n]);
                    got = Some(n);
                    if n > 0 && n < scratch.len() { Err(io::ErrorKind::WouldBlock.into()) } else { Ok(n) }
                })
            });
            match (r, got) {
                (_, Some(n)) => return Ok(n),
                (Err(e), None) if e.kind() == io::ErrorKind::WouldBlock => continue,
                (r, None) => return r,
            }
        }
    }
}

impl DirectWrite for Tcp {
    fn try_write_vectored(&self, bufs: &[io::IoSlice<'_>]) -> io::Result<usize> {
        self.0.try_write_vectored(bufs)
    }
}

impl AsyncWrite for Tcp {
    fn poll_write(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        loop {
            std::task::ready!(self.0.poll_write_ready(cx))?;
            match self.0.try_write(buf) {
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => continue,
                r => return Poll::Ready(r),
            }
        }
    }

    fn poll_flush(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    fn poll_shutdown(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(socket2::SockRef::from(&*self.0).shutdown(std::net::Shutdown::Write))
    }
}

/// Serves one TCP connection until either side ends it; `guard` (e.g. the
/// connection's permit) lives exactly as long as the connection.
///
/// Not an `async fn`: splitting here keeps the stream and the arguments out of the
/// task's state, which is what every idle connection costs in memory.
pub fn serve_tcp<G: Send + 'static>(
    stream: TcpStream,
    ip: IpAddr,
    shared: Shared,
    settings: ConnSettings,
    guard: G,
) -> impl Future<Output = ()> + Send {
    let tcp = Tcp(Arc::new(stream));
    let sink = Sink::with_direct(settings.sendq, Box::new(tcp.clone()));
    serve_sink(tcp.clone(), tcp, sink, ip, ConnInfo::default(), shared, settings, guard)
}

/// Serves one connection over any byte stream until either side ends it.
pub fn serve<S>(stream: S, ip: IpAddr, shared: Shared, settings: ConnSettings) -> impl Future<Output = ()> + Send
where
    S: AsyncRead + AsyncWrite + Send + 'static,
{
    serve_with(stream, ip, ConnInfo::default(), shared, settings, ())
}

/// [`serve`] with what the listener knows about the connection (TLS, a client
/// certificate) and a guard that lives as long as the connection.
pub fn serve_with<S, G>(
    stream: S,
    ip: IpAddr,
    info: ConnInfo,
    shared: Shared,
    settings: ConnSettings,
    guard: G,
) -> impl Future<Output = ()> + Send
where
    S: AsyncRead + AsyncWrite + Send + 'static,
    G: Send + 'static,
{
    let (rd, wr) = tokio::io::split(stream);
    serve_parts(Stream(rd), wr, ip, info, shared, settings, guard)
}

/// Serves one connection whose input comes through `rd` and output goes to `wr` —
/// e.g. the message adapters of [`crate::messages`] for WebSocket.
///
/// Not an `async fn`, like [`serve_tcp`]: a wrapper future would hold its arguments
/// beside the connection future for the connection's life.
pub fn serve_parts<R, W, G>(
    rd: R,
    wr: W,
    ip: IpAddr,
    info: ConnInfo,
    shared: Shared,
    settings: ConnSettings,
    guard: G,
) -> impl Future<Output = ()>
where
    R: ReadSome,
    W: AsyncWrite + Unpin,
{
    let sink = Sink::new(settings.sendq);
    serve_sink(rd, wr, sink, ip, info, shared, settings, guard)
}

/// [`serve_parts`] with the connection's sink made by the caller.
#[allow(clippy::too_many_arguments)]
async fn serve_sink<R, W, G>(
    rd: R,
    wr: W,
    sink: Sink,
    ip: IpAddr,
    info: ConnInfo,
    shared: Shared,
    settings: ConnSettings,
    guard: G,
) where
    R: ReadSome,
    W: AsyncWrite + Unpin,
{
    let _guard = guard;
    let sink = Arc::new(sink);
    let (id, pacing) = {
        let mut core = shared.lock();
        (core.connect_with(ip, sink.clone(), info), core.pacing())
    };
    tracing::debug!(conn = id, %ip, "connected");
    let (reason, ()) = tokio::join!(
        async {
            let reason = read_loop(rd, id, &shared, &sink, &settings, pacing.as_deref()).await;
            // A return from inside the loop may leave lines deferred.
            hearth_core::flush_deferred();
            // Whatever ended the reader ends the session; the writer flushes and stops.
            let mut core = shared.lock();
            core.disconnect(id, &reason);
            let tasks = core.take_tasks();
            drop(core);
            run_tasks(&shared, tasks);
            reason
        },
        write_loop(wr, &sink, settings.linger)
    );
    tracing::debug!(conn = id, %ip, reason, "connection closed");
}

/// Reads and handles lines until EOF, an error, a timeout, or the core closing the sink.
/// Returns the quit reason.
async fn read_loop<R>(
    mut rd: R,
    id: ConnId,
    shared: &Shared,
    sink: &Sink,
    settings: &ConnSettings,
    pacing: Option<&AtomicBool>,
) -> String
where
    R: ReadSome,
{
    // Input not handled yet; empty (no allocation) whenever the client is idle.
    let mut buf: Vec<u8> = Vec::new();
    let mut discarding = false;
    let start = Instant::now();
    let mut gate = FloodGate::new(settings.flood_burst, settings.flood_rate, Instant::now().into_std());
    let mut last_input = start;
    let mut ping_sent: Option<Instant> = None;
    let mut registered = false;
    // Lines handled so far, to yield every LINES_PER_TURN of them (across reads: one
    // read may hold only a line or two).
    let mut handled: usize = 0;
    // One timer for the connection's life, moved only when it fires early or must fire
    // sooner: re-arming it for every line (the deadline moves with each input) was a
    // timer-wheel insert and removal per message.
    let timer = sleep_until(start + settings.registration_timeout);
    tokio::pin!(timer);
    loop {
        let deadline = if !registered {
            start + settings.registration_timeout
        } else if let Some(sent) = ping_sent {
            sent + settings.ping_timeout
        } else {
            last_input + settings.ping_interval
        };
        if deadline < timer.deadline() {
            timer.as_mut().reset(deadline);
        }
        let n = tokio::select! {
            r = rd.read_some(&mut buf) => match r {
                Ok(0) => return "Connection closed".into(),
                Ok(n) => n,
                Err(e) => return format!("Read error: {}", short_io_error(&e)),
            },
            () = sink.closed() => return closed_reason(sink),
            () = &mut timer => {
                if Instant::now() < deadline {
                    // Input came meanwhile: the real deadline is later.
                    timer.as_mut().reset(deadline);
                    continue;
                }
                // Fired: wait for the next deadline, whatever it turns out to be.
                timer.as_mut().reset(Instant::now() + settings.ping_interval.max(settings.ping_timeout));
                if !registered {
                    if shared.lock().is_registered(id) {
                        registered = true;
                        continue;
                    }
                    return "Registration timed out".into();
                }
                if ping_sent.is_some() {
                    return format!("Ping timeout: {} seconds", (settings.ping_interval + settings.ping_timeout).as_secs());
                }
                let mut core = shared.lock();
                core.ping(id);
                let tasks = core.take_tasks();
                drop(core);
                run_tasks(shared, tasks);
                ping_sent = Some(Instant::now());
                continue;
            }
        };
        debug_assert!(n > 0);
        last_input = Instant::now();
        ping_sent = None;
        // Handle every complete line in the buffer.
        let mut consumed = 0;
        while let Some(pos) = memchr(b'\n', &buf[consumed..]) {
            handled += 1;
            if handled.is_multiple_of(LINES_PER_TURN) {
                // See LINES_PER_TURN: let the recipients' writers drain their queues.
                hearth_core::flush_deferred();
                tokio::task::yield_now().await;
            }
            let line = &buf[consumed..consumed + pos + 1];
            consumed += pos + 1;
            if discarding {
                discarding = false;
                continue;
            }
            if line.len() > MAX_LINE_LEN + 2 {
                shared.lock().reject_line(id, &ParseError::BodyTooLong);
                continue;
            }
            let wait = gate.admit(Instant::now().into_std());
            if !wait.is_zero() && !Box::pin(pause(wait, sink)).await {
                return closed_reason(sink);
            }
            let parsed = parse_line(line);
            settings.stats.lines.fetch_add(1, Ordering::Relaxed);
            if let Ok(msg) = &parsed
                && matches!(msg.command.as_str(), "PRIVMSG" | "NOTICE" | "TAGMSG")
            {
                settings.stats.messages.fetch_add(1, Ordering::Relaxed);
            }
            if let (Some(flag), Ok(msg)) = (pacing, &parsed)
                && flag.load(Ordering::Relaxed)
                && matches!(msg.command.as_str(), "PRIVMSG" | "NOTICE" | "TAGMSG")
            {
                // The database is far behind the history journal: take messages
                // slowly until it catches up (see Outbound::pacing).
                if !Box::pin(pause(PACE, sink)).await {
                    return closed_reason(sink);
                }
            }
            // What this line sends is written when the reader next waits: all of it for
            // one connection in one write (see hearth_core::sink). Every await in this
            // loop, and the return, is preceded by `flush_deferred`.
            hearth_core::defer();
            let tasks = {
                let mut core = shared.lock();
                match parsed {
                    Ok(msg) => core.handle(id, &msg),
                    Err(ParseError::Empty) => {}
                    Err(e) => core.reject_line(id, &e),
                }
                if !registered {
                    registered = core.is_registered(id);
                }
                core.take_tasks()
            };
            if !tasks.is_empty() {
                // This client's next line waits until this one is fully answered.
                // Boxed: rare and large, it would otherwise size every idle connection.
                if !Box::pin(run_in_order(shared, tasks, sink)).await {
                    return closed_reason(sink);
                }
                if !registered {
                    registered = shared.lock().is_registered(id);
                }
            }
            if sink.is_closed() || sink.is_overflowed() {
                return closed_reason(sink);
            }
        }
        hearth_core::flush_deferred();
        if consumed == buf.len() {
            // Everything handled: give the memory back while the client is quiet.
            buf = Vec::new();
        } else if consumed > 0 {
            buf.drain(..consumed);
        }
        if buf.len() > MAX_LINE_LEN + 2 {
            // An over-long line without its end yet: drop what we have and the rest of it.
            if !discarding {
                shared.lock().reject_line(id, &ParseError::BodyTooLong);
            }
            discarding = true;
            buf.clear();
        }
    }
}

/// Waits `wait` unless the session ends first (`false`).
async fn pause(wait: Duration, sink: &Sink) -> bool {
    hearth_core::flush_deferred();
    tokio::select! {
        () = sleep(wait) => true,
        () = sink.closed() => false,
    }
}

/// How long a message waits while the database is far behind the history journal.
const PACE: Duration = Duration::from_millis(100);

/// Lines one connection handles before it lets other tasks run.
///
/// Each line can fan out to every member of a channel. Without a yield, a client that
/// sends a large backlog has all of it handled in one go (tokio's budget allows over a
/// hundred reads per turn), and the recipients' writer tasks — which may sit on the same
/// worker, behind this one — cannot drain their queues in between: clients that read
/// perfectly well would be cut off with "SendQ exceeded" by someone else's flood.
const LINES_PER_TURN: usize = 4;

/// Drains the sink into the socket until the sink is closed and empty, or the peer
/// stops reading for longer than `linger` after the session ended.
async fn write_loop<W>(mut wr: W, sink: &Sink, linger: Duration)
where
    W: AsyncWrite + Unpin,
{
    let mut batch: Vec<Bytes> = Vec::new();
    while sink.next_batch(&mut batch).await {
        let write = async {
            if batch.len() == 1 {
                wr.write_all(&batch[0]).await?;
            } else {
                // One write for everything queued; the buffer lives only while writing.
                let mut joined = Vec::with_capacity(batch.iter().map(Bytes::len).sum());
                for b in &batch {
                    joined.extend_from_slice(b);
                }
                wr.write_all(&joined).await?;
            }
            // A no-op on TCP; TLS and WebSocket hold output until flushed.
            wr.flush().await
        };
        // Boxed, like every rare suspend point: see the size test below.
        let ok = Box::pin(async {
            tokio::select! {
                r = write => r.is_ok(),
                () = async { sink.closed().await; sleep(linger).await } => false,
            }
        })
        .await;
        // Keep no capacity: after a burst (a room's worth of JOINs) an idle
        // connection would otherwise hold kilobytes of empty slots.
        batch = Vec::new();
        if !ok {
            // The peer is gone or not reading: make sure the reader ends too.
            sink.close_with(None);
            return;
        }
    }
    let _ = tokio::time::timeout(linger, wr.flush()).await;
    let _ = tokio::time::timeout(linger, wr.shutdown()).await;
}

/// Runs the asynchronous steps one client's command started (a history query, a
/// password check) to the end, applying each completion (and any steps it starts in
/// turn) in order, before the client's next line is handled: one client's commands are
/// answered strictly in order, so a `PING` after a `CHATHISTORY` gets its `PONG` after
/// the history batch. Only this connection waits; every other client goes on. Returns
/// `false` when the session ended meanwhile (what is left still runs, detached, so its
/// effects are not lost).
async fn run_in_order(shared: &Shared, tasks: Vec<hearth_core::Task>, sink: &Sink) -> bool {
    hearth_core::flush_deferred();
    let mut queue: std::collections::VecDeque<hearth_core::Task> = tasks.into();
    while let Some(mut task) = queue.pop_front() {
        let done = tokio::select! {
            done = &mut task => done,
            () = sink.closed() => {
                queue.push_front(task);
                run_tasks(shared, queue.into());
                return false;
            }
        };
        let more = {
            let mut core = shared.lock();
            core.complete(done);
            core.take_tasks()
        };
        queue.extend(more);
    }
    true
}

/// Runs the core's asynchronous steps (database queries, password checks) off the
/// state lock; each hands its result back to the core when done.
pub fn run_tasks(shared: &Shared, tasks: Vec<hearth_core::Task>) {
    for task in tasks {
        let shared = shared.clone();
        tokio::spawn(async move {
            let done = task.await;
            let mut core = shared.lock();
            core.complete(done);
            let more = core.take_tasks();
            drop(core);
            run_tasks(&shared, more);
        });
    }
}

fn closed_reason(sink: &Sink) -> String {
    if sink.is_overflowed() { "SendQ exceeded".into() } else { "Closed".into() }
}

fn memchr(needle: u8, hay: &[u8]) -> Option<usize> {
    hay.iter().position(|&b| b == needle)
}

fn short_io_error(e: &std::io::Error) -> String {
    match e.kind() {
        std::io::ErrorKind::ConnectionReset => "Connection reset by peer".into(),
        std::io::ErrorKind::UnexpectedEof => "Connection closed".into(),
        _ => e.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What an idle TCP connection's task holds besides its session record: the
    /// connection future (reader and writer joined). Every suspend point shares this
    /// space, so a rare, large one (a history query answered in order, a flood pause)
    /// must be boxed or it makes every idle connection pay for it. Issue 12 measured
    /// 1,740 bytes per task (1,696 of them this future) before boxing the rare suspend
    /// points (1,584 after); ircd-hybrid's whole idle connection is 1.9 KiB.
    #[tokio::test]
    async fn an_idle_connection_future_is_small() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let _client = tokio::net::TcpStream::connect(addr).await.unwrap();
        let (stream, _) = listener.accept().await.unwrap();
        let shared: Shared =
            Arc::new(parking_lot::Mutex::new(hearth_core::Server::new(hearth_core::Config::default())));
        let settings = ConnSettings::from_core(&hearth_core::Config::default());
        let fut = serve_tcp(stream, addr.ip(), shared, settings, ());
        let size = std::mem::size_of_val(&fut);
        println!("serve_tcp future: {size} bytes");
        assert!(size <= 1600, "the connection future grew to {size} bytes");
    }
}
