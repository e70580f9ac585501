//! A fixed pool of worker threads behind a bounded queue.
//!
//! Built for the chapter rather than taken from a crate (`rayon`,
//! `threadpool`): it is short, and every line is a decision a server has
//! to make. How many threads? How long may the queue grow?
//! What happens to a worker whose job panics? How does it all stop?

use std::panic::{self, AssertUnwindSafe};
use std::sync::mpsc::{self, Receiver, SyncSender, TrySendError};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};
use std::{fmt, io};

/// A unit of work: a closure a worker runs once.
pub type Job = Box<dyn FnOnce() + Send + 'static>;

// ANCHOR: pool
/// A fixed number of worker threads taking jobs from one bounded queue.
///
/// The queue is a `sync_channel`: when it is full, [`try_execute`]
/// hands the job back instead of letting the backlog (and every queued
/// client's wait) grow without end. Dropping the pool closes the queue
/// and joins every worker.
///
/// [`try_execute`]: Pool::try_execute
pub struct Pool {
    /// The sending half of the queue; `None` once the pool is closing.
    queue: Option<SyncSender<Job>>,
    workers: Vec<JoinHandle<()>>,
    live: Arc<Live>,
}
// ANCHOR_END: pool

/// How many workers are alive, and a way to wait for that to change.
#[derive(Default)]
struct Live {
    count: Mutex<usize>,
    changed: Condvar,
}

/// Held by a worker thread; dropped when it ends, even by a panic.
struct Alive(Arc<Live>);

impl Alive {
    fn new(live: &Arc<Live>) -> Self {
        *lock(&live.count) += 1;
        Alive(Arc::clone(live))
    }
}

impl Drop for Alive {
    fn drop(&mut self) {
        *lock(&self.0.count) -= 1;
        self.0.changed.notify_all();
    }
}

impl Pool {
    /// Starts `size` workers (at least one) behind a queue holding up to
    /// `queue` jobs that no worker has taken yet.
    pub fn new(size: usize, queue: usize) -> io::Result<Pool> {
        let size = size.max(1);
        let (sender, receiver) = mpsc::sync_channel::<Job>(queue);
        // A std receiver has a single owner, so the workers share it
        // behind a mutex and take turns waiting on it. A real server
        // would use a multi-consumer queue (crossbeam's, or per-worker
        // queues with work stealing as rayon and tokio do) so that
        // handing out a job is not serialised on one lock.
        let receiver = Arc::new(Mutex::new(receiver));
        let mut pool = Pool {
            queue: Some(sender),
            workers: Vec::with_capacity(size),
            live: Arc::default(),
        };
        for n in 0..size {
            let receiver = Arc::clone(&receiver);
            // Counted before the thread runs, so `live_workers` is right
            // as soon as `new` returns; if the spawn fails, the closure
            // and this guard are dropped and the count goes back down.
            let alive = Alive::new(&pool.live);
            let worker = thread::Builder::new()
                .name(format!("worker-{n}"))
                .spawn(move || worker_loop(&receiver, alive))?;
            pool.workers.push(worker);
        }
        Ok(pool)
    }

    // ANCHOR: try-execute
    /// Queues `job` for the next free worker, or gives it back when the
    /// queue is full (or closed): the caller decides what "busy" means.
    pub fn try_execute<F>(&self, job: F) -> Result<(), Job>
    where
        F: FnOnce() + Send + 'static,
    {
        let job: Job = Box::new(job);
        let Some(queue) = &self.queue else {
            return Err(job);
        };
        queue.try_send(job).map_err(|e| match e {
            TrySendError::Full(job) | TrySendError::Disconnected(job) => job,
        })
    }
    // ANCHOR_END: try-execute

    /// How many worker threads the pool started.
    pub fn size(&self) -> usize {
        self.workers.len()
    }

    /// How many worker threads are running right now. It stays at
    /// [`size`](Pool::size) until the pool is dropped, whatever the jobs do.
    pub fn live_workers(&self) -> usize {
        *lock(&self.live.count)
    }

    // ANCHOR: shutdown
    /// Closes the queue and waits up to `grace` for the workers to finish
    /// what they hold. Returns `false` if some were still busy: they are
    /// left running, for a process about to exit to take with it (a
    /// plain `drop` would wait for them however long they take).
    pub fn shutdown(mut self, grace: Duration) -> bool {
        self.queue = None;
        let deadline = Instant::now() + grace;
        let mut live = lock(&self.live.count);
        while *live > 0 {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                break;
            }
            live = match self.live.changed.wait_timeout(live, left) {
                Ok((live, _)) => live,
                Err(poisoned) => poisoned.into_inner().0,
            };
        }
        let all_done = *live == 0;
        drop(live);
        if all_done {
            self.join_all();
        } else {
            self.workers.clear(); // detached: `Drop` has none to wait for
        }
        all_done
    }
    // ANCHOR_END: shutdown

    fn join_all(&mut self) {
        for worker in self.workers.drain(..) {
            // A worker never panics (it catches its jobs' panics), so an
            // error here has nothing left to report.
            let _ = worker.join();
        }
    }
}

impl Drop for Pool {
    /// Closing the queue ends each worker's loop once the jobs already
    /// queued are done; then every thread is joined.
    fn drop(&mut self) {
        self.queue = None;
        self.join_all();
    }
}

impl fmt::Debug for Pool {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Pool")
            .field("size", &self.size())
            .field("live", &self.live_workers())
            .finish_non_exhaustive()
    }
}

// ANCHOR: worker-loop
/// One worker: take a job, run it, repeat until the queue is closed.
fn worker_loop(receiver: &Mutex<Receiver<Job>>, alive: Alive) {
    let _alive = alive;
    loop {
        // The lock is held while waiting for a job but released (at the
        // end of this statement) before running it, so the other workers
        // can take the next one meanwhile.
        let next = lock(receiver).recv();
        let Ok(job) = next else {
            return; // the queue is closed and empty: the pool is stopping
        };
        // A job that panics must not take its worker with it, or every
        // panic would shrink the pool by one until nobody serves. (The
        // panic hook has already printed the message.)
        let _ = panic::catch_unwind(AssertUnwindSafe(job));
    }
}
// ANCHOR_END: worker-loop

/// Locks a mutex, ignoring poisoning: every value guarded here (a
/// counter, a receiver, a list) is valid whatever a panicking holder did.
pub(crate) fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::mpsc::channel;

    fn submit(pool: &Pool, job: impl FnOnce() + Send + 'static) {
        assert!(pool.try_execute(job).is_ok(), "queue full");
    }

    #[test]
    fn runs_jobs_on_its_workers() {
        let pool = Pool::new(3, 16).unwrap();
        let (done, results) = channel();
        for i in 0..10 {
            let done = done.clone();
            submit(&pool, move || done.send(i * i).unwrap());
        }
        let mut got: Vec<i32> = results.iter().take(10).collect();
        got.sort_unstable();
        assert_eq!(got, [0, 1, 4, 9, 16, 25, 36, 49, 64, 81]);
        assert_eq!((pool.size(), pool.live_workers()), (3, 3));
    }

    #[test]
    fn full_queue_gives_the_job_back() {
        let pool = Pool::new(1, 1).unwrap();
        let (started, wait_started) = channel();
        let (release, hold) = channel::<()>();
        // Occupy the only worker, then fill the only queue slot.
        submit(&pool, move || {
            started.send(()).unwrap();
            let _ = hold.recv();
        });
        wait_started.recv().unwrap();
        submit(&pool, || {});
        assert!(pool.try_execute(|| {}).is_err(), "queue should be full");
        drop(release);
    }

    #[test]
    fn panicking_jobs_do_not_shrink_the_pool() {
        let pool = Pool::new(2, 8).unwrap();
        for _ in 0..4 {
            submit(&pool, || panic!("a job panics"));
        }
        let (done, finished) = channel();
        for _ in 0..4 {
            let done = done.clone();
            submit(&pool, move || done.send(()).unwrap());
        }
        for _ in 0..4 {
            finished.recv().unwrap();
        }
        assert_eq!(pool.live_workers(), 2);
    }

    #[test]
    fn drop_runs_queued_jobs_then_joins() {
        let (done, finished) = channel();
        let pool = Pool::new(1, 8).unwrap();
        for _ in 0..5 {
            let done = done.clone();
            submit(&pool, move || done.send(()).unwrap());
        }
        drop(pool);
        drop(done);
        assert_eq!(finished.iter().count(), 5);
    }

    #[test]
    fn shutdown_leaves_a_stuck_worker_behind() {
        let pool = Pool::new(2, 8).unwrap();
        let (release, hold) = channel::<()>();
        let (started, wait_started) = channel();
        submit(&pool, move || {
            started.send(()).unwrap();
            let _ = hold.recv();
        });
        wait_started.recv().unwrap();
        assert!(!pool.shutdown(Duration::from_millis(50)));
        drop(release);
    }

    #[test]
    fn shutdown_of_an_idle_pool_joins_everyone() {
        let pool = Pool::new(4, 8).unwrap();
        assert!(pool.shutdown(Duration::from_secs(5)));
    }
}
