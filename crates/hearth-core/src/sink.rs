//! A connection's bounded outbound queue.
//!
//! The core pushes already-serialised lines (`Bytes`, shared by reference between all
//! recipients of one message) into a [`Sink`]; the connection's task drains
//! everything queued in one go. The queue is bounded in bytes: a push that would exceed
//! the limit marks the sink as overflowed instead of blocking the sender, and the core
//! then disconnects that client with `SendQ exceeded`.
//!
//! A sink may also hold a [`DirectWrite`]: a non-blocking write to the connection's
//! socket. While a connection's reader handles its input it opens a *deferral*
//! ([`defer`]): lines pushed then to an idle direct sink are queued and the sink is
//! remembered; [`flush_deferred`] (before the reader awaits anything) writes each
//! remembered sink's queue with one vectored write from the reader's thread, as a
//! single-threaded C server does, without waking the sink's own task. Everything
//! one command sends to one connection (a welcome burst, the lines of one read that fan
//! out to a room) still leaves in one write; only what the socket does not take at once
//! waits for the writer. Order is kept because the direct write happens under the
//! sink's lock and only when the writer holds no batch. Outside a deferral a push wakes
//! the writer, as before. A deferral that reached more than a few connections (a
//! message to a room) hands them to their writers instead: under load a writer
//! coalesces several messages per write, where direct writes would cost one `write`
//! per member per message.

use std::cell::{Cell, RefCell};
use std::collections::VecDeque;
use std::io::{self, IoSlice};
use std::sync::Arc;

use bytes::Bytes;
use parking_lot::Mutex;
use std::task::{Context, Poll, Waker};

/// Sinks one deferral writes directly at most; more are handed to their writers.
const DIRECT_MAX_SINKS: usize = 8;

/// Lines per vectored direct write at most (the rest waits for the writer).
const MAX_IOV: usize = 64;

/// Room for this many lines is made at once when an empty queue gets its first line.
/// The writer takes the whole queue, memory and all (an idle connection keeps none),
/// so a busy one starts from nothing at every batch: growing 0 → 4 → 8 → 16 line by
/// line was 4 % of the server's CPU at fan-out saturation (issue 12).
const QUEUE_START: usize = 16;

/// Why a sink was closed; the writer sends the final line (if any) and ends.
#[derive(Debug, Default)]
struct State {
    queue: VecDeque<Bytes>,
    queued_bytes: usize,
    closed: bool,
    overflowed: bool,
    /// The writer took a batch and has not finished writing it.
    writing: bool,
    /// On this thread's deferral list: [`flush_deferred`] writes the queue.
    deferred: bool,
    /// The connection's task, woken when there is something to write or the sink was
    /// closed or overflowed. One waker: one task serves a connection's input and output.
    waker: Option<Waker>,
}

impl State {
    /// Remembers the task to wake (cloning its waker only when it changed).
    fn register(&mut self, cx: &Context<'_>) {
        if !self.waker.as_ref().is_some_and(|w| w.will_wake(cx.waker())) {
            self.waker = Some(cx.waker().clone());
        }
    }
}

thread_local! {
    /// Set between [`defer`] and [`flush_deferred`] on a reader's thread.
    static DEFERRING: Cell<bool> = const { Cell::new(false) };
    /// Direct sinks with lines queued during the deferral.
    static DEFERRED: RefCell<Vec<Arc<Sink>>> = const { RefCell::new(Vec::new()) };
}

/// Opens a deferral on this thread: until [`flush_deferred`], lines pushed to idle
/// direct sinks wait to be written together. The caller must call [`flush_deferred`]
/// before it awaits anything (the list is per thread).
pub fn defer() {
    DEFERRING.with(|d| d.set(true));
}

/// Ends the deferral: writes what each sink pushed to during it holds, straight to its
/// socket; what the socket does not take goes to the sink's writer.
pub fn flush_deferred() {
    DEFERRING.with(|d| d.set(false));
    DEFERRED.with(|list| {
        // Flushing never pushes, so the list stays borrowed while it is drained.
        let mut list = list.borrow_mut();
        // A reply or a DM goes out at once; a fan-out to a big room goes to the members'
        // writers, which coalesce several messages per write when the server is busy
        // (one write per member per line made saturation a third as fast, issue 12).
        let write_now = list.len() <= DIRECT_MAX_SINKS;
        for sink in list.drain(..) {
            sink.flush(write_now);
        }
        // Give the memory back only if a fan-out made the list large.
        if list.capacity() > 64 {
            *list = Vec::new();
        }
    });
}

/// A non-blocking write to a connection's socket (plain TCP); see the module docs.
pub trait DirectWrite: Send + Sync + std::fmt::Debug {
    /// Writes what the socket takes now: `Ok(n)` (possibly fewer than the buffers
    /// hold), or `WouldBlock` when it takes nothing.
    fn try_write_vectored(&self, bufs: &[IoSlice<'_>]) -> io::Result<usize>;

    /// False for [`NoDirect`]: every line goes through the connection's writer.
    fn is_direct(&self) -> bool {
        true
    }
}

/// The direct writer of a sink that has none (TLS, WebSocket, tests).
#[derive(Debug, Clone, Copy, Default)]
pub struct NoDirect;

impl DirectWrite for NoDirect {
    fn try_write_vectored(&self, _: &[IoSlice<'_>]) -> io::Result<usize> {
        Err(io::ErrorKind::Unsupported.into())
    }

    fn is_direct(&self) -> bool {
        false
    }
}

/// Bounded, byte-counted outbound queue shared between the core and one connection's
/// task (which [`Sink::poll_take`]s the lines and waits on [`Sink::poll_closed`]).
///
/// The socket it writes to directly is its last field, so that one allocation holds
/// both: the listener makes an `Arc<Sink<Socket>>`, reads through it, and hands the
/// core the same allocation as an `Arc<Sink>` (`Sink<dyn DirectWrite>`). A separate
/// `Arc` for the socket was 64 more bytes per connection (issue 12).
#[derive(Debug)]
pub struct Sink<D: ?Sized = dyn DirectWrite> {
    state: Mutex<State>,
    limit: usize,
    direct: D,
}

/// What one [`Sink::push`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Push {
    /// The line is queued.
    Queued,
    /// The line did not fit: the sink is now overflowed; the owner must be disconnected.
    Overflow,
    /// The sink was already closed or overflowed; the line was dropped.
    Dropped,
}

impl Sink<NoDirect> {
    /// A sink that holds at most `limit` bytes of unsent output, all of it written by
    /// the connection's task.
    pub fn new(limit: usize) -> Self {
        Sink::with_direct(limit, NoDirect)
    }
}

impl<D: DirectWrite> Sink<D> {
    /// A sink whose lines go straight to the socket through `direct` whenever nothing
    /// waits before them (see the module docs).
    pub fn with_direct(limit: usize, direct: D) -> Self {
        Sink { state: Mutex::new(State::default()), limit, direct }
    }
}

impl<D: DirectWrite + ?Sized> Sink<D> {
    /// The direct writer (the connection's socket).
    pub fn direct(&self) -> &D {
        &self.direct
    }
}

impl Sink {
    /// Queues one serialised line. Never blocks on the network.
    pub fn push(self: &Arc<Self>, line: Bytes) -> Push {
        let mut st = self.state.lock();
        if st.closed || st.overflowed {
            return Push::Dropped;
        }
        if st.queued_bytes + line.len() > self.limit {
            st.overflowed = true;
            // The connection ends the session when the core is not already doing so.
            wake(st);
            return Push::Overflow;
        }
        let was_empty = st.queue.is_empty();
        if st.queue.capacity() == 0 {
            st.queue.reserve_exact(QUEUE_START);
        }
        st.queued_bytes += line.len();
        st.queue.push_back(line);
        if st.deferred {
            return Push::Queued;
        }
        if was_empty && !st.writing && self.direct.is_direct() && DEFERRING.with(Cell::get) {
            st.deferred = true;
            drop(st);
            DEFERRED.with(|list| list.borrow_mut().push(self.clone()));
            return Push::Queued;
        }
        if was_empty {
            wake(st);
        }
        Push::Queued
    }

    /// Ends this sink's deferral (see [`flush_deferred`]): with `write_now`, writes the
    /// queue straight to the socket unless the writer holds a batch; the writer is woken
    /// for whatever is still queued.
    fn flush(&self, write_now: bool) {
        let mut st = self.state.lock();
        st.deferred = false;
        if write_now && !st.writing && !st.closed && !st.queue.is_empty() && self.direct.is_direct() {
            let mut written = {
                // On the stack: this runs for every reply and DM.
                let mut slices = [IoSlice::new(&[]); MAX_IOV];
                let mut n = 0;
                for (slice, line) in slices.iter_mut().zip(&st.queue) {
                    *slice = IoSlice::new(line);
                    n += 1;
                }
                self.direct.try_write_vectored(&slices[..n]).unwrap_or(0)
            };
            st.queued_bytes -= written;
            while written > 0 {
                let first = st.queue.front_mut().expect("written bytes were queued");
                if first.len() <= written {
                    written -= first.len();
                    st.queue.pop_front();
                } else {
                    *first = first.slice(written..);
                    written = 0;
                }
            }
            if st.queue.is_empty() {
                // Keep no capacity while idle.
                st.queue = VecDeque::new();
            }
        }
        if !st.queue.is_empty() {
            wake(st);
        }
    }
}

impl<D: DirectWrite + ?Sized> Sink<D> {
    /// Queues a final line (even past the limit, it is small) and closes the sink: the
    /// writer flushes what is queued, then ends the connection.
    pub fn close_with(&self, last: Option<Bytes>) {
        let mut st = self.state.lock();
        if st.closed {
            return;
        }
        if st.overflowed {
            // The client is not reading: drop its backlog so the final line goes first.
            st.queue.clear();
            st.queued_bytes = 0;
        }
        if let Some(line) = last {
            st.queued_bytes += line.len();
            st.queue.push_back(line);
        }
        st.closed = true;
        wake(st);
    }

    /// True once [`Sink::close_with`] ran.
    pub fn is_closed(&self) -> bool {
        self.state.lock().closed
    }

    /// True once a push overflowed the limit.
    pub fn is_overflowed(&self) -> bool {
        self.state.lock().overflowed
    }

    /// Bytes queued and not yet taken by the writer.
    pub fn queued_bytes(&self) -> usize {
        self.state.lock().queued_bytes
    }

    /// Takes every queued line once there is something to write: `Ready(Some(lines))`,
    /// or `Ready(None)` when the sink is closed and empty (the connection should end).
    /// Until the taken lines are written (the next call), direct writes stay off, so
    /// nothing overtakes them. `Pending` registers the task to wake.
    pub fn poll_take(&self, cx: &Context<'_>) -> Poll<Option<VecDeque<Bytes>>> {
        let mut st = self.state.lock();
        if !st.queue.is_empty() {
            // Take the queue itself: its memory goes with it, nothing stays allocated
            // for a connection that has nothing to send.
            st.queued_bytes = 0;
            st.writing = true;
            st.deferred = false;
            return Poll::Ready(Some(std::mem::take(&mut st.queue)));
        }
        st.writing = false;
        if st.closed {
            return Poll::Ready(None);
        }
        st.register(cx);
        Poll::Pending
    }

    /// Waits until there is something to write or the sink is closed, then moves every
    /// queued line into `out`. Returns `false` when the sink is closed and empty.
    /// (The connection itself uses [`Sink::poll_take`]; one task waits on a sink.)
    pub async fn next_batch(&self, out: &mut Vec<Bytes>) -> bool {
        match std::future::poll_fn(|cx| self.poll_take(cx)).await {
            Some(lines) => {
                out.extend(lines);
                true
            }
            None => false,
        }
    }

    /// `Ready` once the sink is closed (the core ended this session) or overflowed;
    /// `Pending` registers the task to wake.
    pub fn poll_closed(&self, cx: &Context<'_>) -> Poll<()> {
        let mut st = self.state.lock();
        if st.closed || st.overflowed {
            return Poll::Ready(());
        }
        st.register(cx);
        Poll::Pending
    }

    /// Resolves once the sink is closed or overflowed (see [`Sink::poll_closed`]).
    pub async fn closed(&self) {
        std::future::poll_fn(|cx| self.poll_closed(cx)).await;
    }
}

/// Wakes the sink's task (if it waits), after releasing the lock.
fn wake(mut st: parking_lot::MutexGuard<'_, State>) {
    let waker = st.waker.take();
    drop(st);
    if let Some(waker) = waker {
        waker.wake();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn overflow_marks_and_drops() {
        let sink: Arc<Sink> = Arc::new(Sink::new(10));
        assert_eq!(sink.push(Bytes::from_static(b"12345")), Push::Queued);
        assert_eq!(sink.push(Bytes::from_static(b"12345")), Push::Queued);
        assert_eq!(sink.push(Bytes::from_static(b"1")), Push::Overflow);
        assert_eq!(sink.push(Bytes::from_static(b"1")), Push::Dropped);
        assert!(sink.is_overflowed());
    }

    #[tokio::test]
    async fn close_flushes_final_line_first_after_overflow() {
        let sink: Arc<Sink> = Arc::new(Sink::new(4));
        sink.push(Bytes::from_static(b"abcd"));
        sink.push(Bytes::from_static(b"e"));
        sink.close_with(Some(Bytes::from_static(b"ERROR")));
        let mut out = Vec::new();
        assert!(sink.next_batch(&mut out).await);
        assert_eq!(out, vec![Bytes::from_static(b"ERROR")]);
        out.clear();
        assert!(!sink.next_batch(&mut out).await);
    }

    /// Records what a direct write was given; takes at most `take` bytes per call
    /// (`usize::MAX`: everything), `WouldBlock` when `take` is 0.
    #[derive(Debug)]
    struct Socket {
        written: Arc<Mutex<Vec<u8>>>,
        calls: Arc<Mutex<usize>>,
        take: usize,
    }

    impl DirectWrite for Socket {
        fn try_write_vectored(&self, bufs: &[IoSlice<'_>]) -> io::Result<usize> {
            *self.calls.lock() += 1;
            if self.take == 0 {
                return Err(io::ErrorKind::WouldBlock.into());
            }
            let mut out = self.written.lock();
            let mut n = 0;
            for b in bufs {
                let k = b.len().min(self.take - n);
                out.extend_from_slice(&b[..k]);
                n += k;
                if n == self.take {
                    break;
                }
            }
            Ok(n)
        }
    }

    /// A direct sink, what its socket received, and how many writes it was asked for.
    type Direct = (Arc<Sink>, Arc<Mutex<Vec<u8>>>, Arc<Mutex<usize>>);

    fn direct(take: usize) -> Direct {
        let written = Arc::new(Mutex::new(Vec::new()));
        let calls = Arc::new(Mutex::new(0));
        let sock = Socket { written: written.clone(), calls: calls.clone(), take };
        (Arc::new(Sink::with_direct(1 << 20, sock)), written, calls)
    }

    #[tokio::test]
    async fn a_deferral_writes_each_connection_once_and_in_order() {
        let (sink, written, calls) = direct(usize::MAX);
        defer();
        sink.push(Bytes::from_static(b"one\r\n"));
        sink.push(Bytes::from_static(b"two\r\n"));
        assert!(written.lock().is_empty(), "nothing is written before the flush");
        flush_deferred();
        assert_eq!(&written.lock()[..], b"one\r\ntwo\r\n");
        assert_eq!(*calls.lock(), 1, "one write for both lines");
        assert_eq!(sink.queued_bytes(), 0, "nothing left for the writer");
    }

    #[tokio::test]
    async fn what_the_socket_does_not_take_goes_to_the_writer_in_order() {
        let (sink, written, _) = direct(4);
        defer();
        sink.push(Bytes::from_static(b"abcdef"));
        sink.push(Bytes::from_static(b"gh"));
        flush_deferred();
        assert_eq!(&written.lock()[..], b"abcd");
        let mut out = Vec::new();
        assert!(sink.next_batch(&mut out).await);
        assert_eq!(out, vec![Bytes::from_static(b"ef"), Bytes::from_static(b"gh")]);

        let (sink, written, _) = direct(0);
        defer();
        sink.push(Bytes::from_static(b"blocked"));
        flush_deferred();
        assert!(written.lock().is_empty());
        let mut out = Vec::new();
        assert!(sink.next_batch(&mut out).await);
        assert_eq!(out, vec![Bytes::from_static(b"blocked")]);
    }

    #[tokio::test]
    async fn no_direct_write_outside_a_deferral_or_while_the_writer_holds_a_batch() {
        let (sink, written, _) = direct(usize::MAX);
        sink.push(Bytes::from_static(b"first"));
        flush_deferred();
        assert!(written.lock().is_empty(), "outside a deferral the writer writes");
        let mut out = Vec::new();
        assert!(sink.next_batch(&mut out).await, "the writer now holds a batch");
        defer();
        sink.push(Bytes::from_static(b"second"));
        flush_deferred();
        assert!(written.lock().is_empty(), "must not overtake the writer's batch");
        out.clear();
        assert!(sink.next_batch(&mut out).await);
        assert_eq!(out, vec![Bytes::from_static(b"second")]);
    }

    #[tokio::test]
    async fn a_fan_out_to_many_connections_goes_to_their_writers() {
        let sinks: Vec<_> = (0..DIRECT_MAX_SINKS + 1).map(|_| direct(usize::MAX)).collect();
        defer();
        for (sink, _, _) in &sinks {
            sink.push(Bytes::from_static(b"to the room"));
        }
        flush_deferred();
        for (sink, written, calls) in &sinks {
            assert!(written.lock().is_empty() && *calls.lock() == 0);
            let mut out = Vec::new();
            assert!(sink.next_batch(&mut out).await);
            assert_eq!(out, vec![Bytes::from_static(b"to the room")]);
        }
    }

    /// A queue that gets a line makes room for a batch at once (not 4, 8, 16 lines in
    /// turn), and the writer's take leaves nothing allocated behind.
    #[tokio::test]
    async fn a_first_line_makes_room_for_a_batch_and_the_take_frees_it() {
        let sink: Arc<Sink> = Arc::new(Sink::new(1 << 20));
        assert_eq!(sink.state.lock().queue.capacity(), 0);
        sink.push(Bytes::from_static(b"x"));
        assert!(sink.state.lock().queue.capacity() >= QUEUE_START);
        let mut out = Vec::new();
        assert!(sink.next_batch(&mut out).await);
        assert_eq!(sink.state.lock().queue.capacity(), 0, "an idle connection keeps no queue memory");
    }

    #[tokio::test]
    async fn batch_takes_everything_queued() {
        let sink: Arc<Sink> = Arc::new(Sink::new(100));
        for _ in 0..5 {
            sink.push(Bytes::from_static(b"x"));
        }
        let mut out = Vec::new();
        assert!(sink.next_batch(&mut out).await);
        assert_eq!(out.len(), 5);
        assert_eq!(sink.queued_bytes(), 0);
    }
}
