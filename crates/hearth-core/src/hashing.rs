//! The password-hashing pool: a few dedicated OS threads run every argon2 hash and
//! verification, fed from one bounded queue that is served round-robin across client
//! addresses.
//!
//! Why dedicated threads rather than `tokio::task::spawn_blocking`: one argon2 call
//! needs its whole memory cost (19 MiB by default) at once. Spread over tokio's
//! blocking pool (up to 512 threads) hundreds of those buffers were alive together,
//! and glibc keeps freed memory in per-thread arenas instead of giving it back: 200
//! concurrent logins took the server from 11 MB to 3.9 GB, for good. Each worker here
//! owns one argon2 working buffer ([`Scratch`]) that every hash it runs reuses, so the
//! memory for hashing is a fixed `threads × memory cost`, allocated once. (Bounding
//! the threads alone is not enough: argon2 allocates and frees per call, and glibc
//! kept about 11 freed buffers per thread. `malloc_trim` would need unsafe code,
//! which the workspace forbids.)
//!
//! Why round-robin: an address with many queued checks must not starve the others —
//! above all an account's owner while someone else guesses its password. Each turn
//! takes one job from the next address that has any, so a job waits for at most one
//! job per other address ahead of it.
//!
//! The queue's bound counts jobs waiting for a thread, not logins still sitting out
//! their failure delay: sleeping attempts cost nothing, and an attacker who could park
//! attempts in the queue for 30 s would lock everyone out with "busy" far too cheaply.

use std::collections::{HashMap, VecDeque};
use std::hash::Hash;
use std::net::IpAddr;
use std::panic::AssertUnwindSafe;
use std::sync::Arc;

use hearth_store::password::Scratch;
use parking_lot::{Condvar, Mutex};
use tokio::sync::oneshot;

/// The queue already holds as many jobs as it may.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("the password-hashing queue is full")]
pub struct QueueFull;

/// A bounded queue served round-robin across keys (client addresses).
#[derive(Debug)]
pub struct FairQueue<K, T> {
    by_key: HashMap<K, VecDeque<T>>,
    /// Keys that have jobs, in the order their next job is served.
    turns: VecDeque<K>,
    len: usize,
    cap: usize,
}

impl<K: Hash + Eq + Copy, T> FairQueue<K, T> {
    /// A queue that holds at most `cap` jobs in total.
    pub fn new(cap: usize) -> Self {
        FairQueue { by_key: HashMap::new(), turns: VecDeque::new(), len: 0, cap }
    }

    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Appends `item` to `key`'s jobs; hands it back when the queue is full.
    pub fn push(&mut self, key: K, item: T) -> Result<(), T> {
        if self.len >= self.cap {
            return Err(item);
        }
        let jobs = self.by_key.entry(key).or_default();
        if jobs.is_empty() {
            self.turns.push_back(key);
        }
        jobs.push_back(item);
        self.len += 1;
        Ok(())
    }

    /// The oldest job of the key whose turn it is; that key then goes to the back.
    pub fn pop(&mut self) -> Option<(K, T)> {
        let key = self.turns.pop_front()?;
        let jobs = self.by_key.get_mut(&key).expect("every key in turns has jobs");
        let item = jobs.pop_front().expect("every key in turns has jobs");
        if jobs.is_empty() {
            self.by_key.remove(&key);
        } else {
            self.turns.push_back(key);
        }
        self.len -= 1;
        Some((key, item))
    }
}

type Job = Box<dyn FnOnce(&mut Scratch) + Send>;

struct State {
    queue: FairQueue<IpAddr, Job>,
    closed: bool,
}

struct Shared {
    state: Mutex<State>,
    wake: Condvar,
}

/// Closes the pool when the last [`HashPool`] handle goes: the workers stop.
struct Closer(Arc<Shared>);

impl Drop for Closer {
    fn drop(&mut self) {
        self.0.state.lock().closed = true;
        self.0.wake.notify_all();
    }
}

/// Runs CPU- and memory-heavy password work on a fixed set of threads. Cheap to clone.
#[derive(Clone)]
pub struct HashPool {
    closer: Arc<Closer>,
    threads: usize,
}

impl std::fmt::Debug for HashPool {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HashPool").field("threads", &self.threads).field("queued", &self.queued()).finish()
    }
}

impl HashPool {
    /// Starts `threads` workers (at least one) behind a queue of at most `queue` jobs
    /// (at least one).
    pub fn new(threads: usize, queue: usize) -> std::io::Result<Self> {
        let threads = threads.max(1);
        let shared = Arc::new(Shared {
            state: Mutex::new(State { queue: FairQueue::new(queue.max(1)), closed: false }),
            wake: Condvar::new(),
        });
        for n in 0..threads {
            let shared = shared.clone();
            std::thread::Builder::new().name(format!("hearth-hash-{n}")).spawn(move || work(&shared))?;
        }
        Ok(HashPool { closer: Arc::new(Closer(shared)), threads })
    }

    /// Jobs waiting for a thread.
    pub fn queued(&self) -> usize {
        self.closer.0.state.lock().queue.len()
    }

    /// Queues `job` on behalf of client address `key`; it runs with the worker's argon2
    /// memory (pass it to `hearth_store::password::*_with`), and the receiver gets its
    /// result. The receiver reports an error if the job panicked or the pool closed first.
    pub fn submit<R: Send + 'static>(
        &self,
        key: IpAddr,
        job: impl FnOnce(&mut Scratch) -> R + Send + 'static,
    ) -> Result<oneshot::Receiver<R>, QueueFull> {
        let (tx, rx) = oneshot::channel();
        let job: Job = Box::new(move |scratch| {
            let _ = tx.send(job(scratch));
        });
        let shared = &self.closer.0;
        shared.state.lock().queue.push(key, job).map_err(|_| QueueFull)?;
        shared.wake.notify_one();
        Ok(rx)
    }
}

fn work(shared: &Shared) {
    let mut scratch = Scratch::default();
    loop {
        let job = {
            let mut st = shared.state.lock();
            loop {
                if st.closed {
                    return;
                }
                if let Some((_, job)) = st.queue.pop() {
                    break job;
                }
                shared.wake.wait(&mut st);
            }
        };
        // A panic must not cost the pool a thread; its caller sees the reply channel
        // closed and reports the check as unavailable.
        let _ = std::panic::catch_unwind(AssertUnwindSafe(|| job(&mut scratch)));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn queue_is_bounded_and_round_robin_across_keys() {
        let mut q = FairQueue::new(5);
        for n in 0..3 {
            q.push("flood", n).unwrap();
        }
        q.push("owner", 10).unwrap();
        q.push("other", 20).unwrap();
        assert_eq!(q.push("owner", 11), Err(11), "full");
        let order: Vec<_> = std::iter::from_fn(|| q.pop()).collect();
        assert_eq!(order, [("flood", 0), ("owner", 10), ("other", 20), ("flood", 1), ("flood", 2)]);
        assert!(q.is_empty());
        q.push("owner", 12).unwrap();
        assert_eq!(q.pop(), Some(("owner", 12)));
        assert_eq!(q.pop(), None);
    }

    #[test]
    fn a_late_key_is_served_before_an_earlier_keys_backlog() {
        let mut q = FairQueue::new(100);
        for n in 0..50 {
            q.push(n % 5, n).unwrap();
        }
        q.pop();
        q.push(99, 99).unwrap();
        let pos = std::iter::from_fn(|| q.pop()).position(|(k, _)| k == 99).unwrap();
        assert_eq!(pos, 5, "behind one job of each of the 5 other keys, not their 49");
    }

    #[tokio::test]
    async fn pool_runs_jobs_on_its_own_threads_and_refuses_when_full() {
        let pool = HashPool::new(1, 2).unwrap();
        let ip: IpAddr = "127.0.0.1".parse().unwrap();
        let name = pool.submit(ip, |_| std::thread::current().name().map(str::to_string)).unwrap();
        assert_eq!(name.await.unwrap().as_deref(), Some("hearth-hash-0"));
        // Block the only worker, fill the queue, overflow it.
        let (gate_tx, gate_rx) = std::sync::mpsc::channel::<()>();
        let blocked = pool.submit(ip, move |_| gate_rx.recv().is_ok()).unwrap();
        while pool.queued() > 0 {
            tokio::task::yield_now().await;
        }
        let a = pool.submit(ip, |_| 1).unwrap();
        let b = pool.submit(ip, |_| 2).unwrap();
        assert_eq!(pool.submit(ip, |_| 3).err(), Some(QueueFull));
        gate_tx.send(()).unwrap();
        assert!(blocked.await.unwrap());
        assert_eq!((a.await.unwrap(), b.await.unwrap()), (1, 2));
        let panicked = pool.submit(ip, |_| -> u8 { panic!("boom") }).unwrap();
        assert!(panicked.await.is_err(), "a panicking job reports an error");
        assert_eq!(pool.submit(ip, |_| 4).unwrap().await.unwrap(), 4, "the worker survived");
    }
}
