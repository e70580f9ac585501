//! A fixed pool of worker threads behind a bounded queue.
//!
//! The Rust Book's chapter 21 builds a `ThreadPool`: a few workers take
//! boxed closures (`Job`s) from a queue they share and run them, and
//! dropping the pool lets them finish and joins them. This is that pool,
//! with what a server adds:
//!
//! - the queue is a `VecDeque` behind a `Mutex`, with a `Condvar` to
//!   sleep on, where the Book shares a channel's receiver behind a
//!   `Mutex`: the same thing, and we can look at its length, for
//! - a bound: [`Pool::try_execute`] hands the job back when the queue is
//!   full, so the server can say 503 instead of letting the wait grow;
//! - a job that panics does not take its worker with it;
//! - [`Pool::shutdown`] waits a grace period, not however long it takes.

use std::collections::VecDeque;
use std::panic::{self, AssertUnwindSafe};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::thread::{self, JoinHandle};
use std::time::Duration;
use std::{fmt, io};

#[cfg(test)]
mod tests;

// ANCHOR: pool
/// What a worker runs: any closure, boxed, as in the Rust Book.
pub type Job = Box<dyn FnOnce() + Send + 'static>;

/// A fixed number of worker threads taking jobs from one bounded queue.
///
/// Dropping the pool closes the queue, lets the workers finish the jobs
/// already queued, and joins them.
pub struct Pool {
    shared: Arc<Shared>,
    workers: Vec<JoinHandle<()>>,
}

/// What the pool and its workers share.
struct Shared {
    state: Mutex<State>,
    /// Signalled once per job queued, and for everyone at closing.
    job_ready: Condvar,
    /// Signalled when a worker ends, for [`Pool::shutdown`].
    worker_ended: Condvar,
    /// The most jobs that may wait for a worker.
    capacity: usize,
}

/// The queue and what the workers tell about themselves, under one lock.
struct State {
    jobs: VecDeque<Job>,
    /// No more jobs are taken; workers end once the queue is empty.
    closed: bool,
    /// Workers whose thread has ended.
    ended: usize,
}
// ANCHOR_END: pool

// ANCHOR: new
impl Pool {
    /// Starts `size` workers (at least one) behind a queue that holds up
    /// to `capacity` jobs no worker has taken yet.
    pub fn new(size: usize, capacity: usize) -> io::Result<Pool> {
        let shared = Arc::new(Shared {
            state: Mutex::new(State {
                jobs: VecDeque::new(),
                closed: false,
                ended: 0,
            }),
            job_ready: Condvar::new(),
            worker_ended: Condvar::new(),
            capacity,
        });
        let mut pool = Pool {
            shared,
            workers: Vec::with_capacity(size.max(1)),
        };
        for id in 0..size.max(1) {
            let shared = Arc::clone(&pool.shared);
            // A name shows in `top -H`, in `ps -L` and in panic messages.
            // If the OS refuses a thread, `?` drops `pool`, which joins
            // the workers started so far.
            let worker = thread::Builder::new()
                .name(format!("worker-{id}"))
                .spawn(move || work(&shared))?;
            pool.workers.push(worker);
        }
        Ok(pool)
    }
    // ANCHOR_END: new

    // ANCHOR: try-execute
    /// Queues `job` for the next free worker, or hands it back when
    /// `capacity` jobs already wait (or the pool is closed): the caller
    /// decides what "busy" means. Part 4's server answers 503.
    pub fn try_execute(&self, job: Job) -> Result<(), Job> {
        let mut state = lock(&self.shared.state);
        if state.closed || state.jobs.len() >= self.shared.capacity {
            return Err(job);
        }
        state.jobs.push_back(job);
        drop(state);
        // One job, one worker to wake; the others sleep on.
        self.shared.job_ready.notify_one();
        Ok(())
    }

    /// Queues `job` whatever the bound, like the Book's `execute`. Only
    /// for work admitted already: part 4 resumes a response that paused
    /// with it, since refusing would cut that response off midway. On a
    /// closed pool the job is dropped.
    pub fn execute(&self, job: Job) {
        let mut state = lock(&self.shared.state);
        if state.closed {
            drop(state);
            // Dropped without our lock held: its captures may take locks.
            drop(job);
            return;
        }
        state.jobs.push_back(job);
        drop(state);
        self.shared.job_ready.notify_one();
    }
    // ANCHOR_END: try-execute

    /// How many worker threads the pool started.
    pub fn size(&self) -> usize {
        self.workers.len()
    }

    /// How many worker threads are running. It stays at
    /// [`size`](Pool::size), whatever the jobs do, until the pool closes.
    pub fn live_workers(&self) -> usize {
        self.size() - lock(&self.shared.state).ended
    }

    // ANCHOR: shutdown
    /// Closes the queue and waits up to `grace` for the workers to finish
    /// the jobs queued and end. `false` if some are still busy: they are
    /// left running for the exiting process to take with it, where a
    /// plain `drop` would wait for them however long they take.
    pub fn shutdown(mut self, grace: Duration) -> bool {
        self.close();
        let size = self.size();
        let state = lock(&self.shared.state);
        let (state, _) = self
            .shared
            .worker_ended
            .wait_timeout_while(state, grace, |s| s.ended < size)
            .unwrap_or_else(PoisonError::into_inner);
        let all_ended = state.ended == size;
        drop(state);
        if !all_ended {
            self.workers.clear(); // detached: `Drop` has none to wait for
        }
        all_ended
    }

    /// Takes no more jobs, and wakes every worker to see it.
    fn close(&self) {
        lock(&self.shared.state).closed = true;
        self.shared.job_ready.notify_all();
    }
    // ANCHOR_END: shutdown
}

// ANCHOR: drop
impl Drop for Pool {
    /// As in the Book: close the queue, then join every worker, which
    /// ends once the jobs already queued are done.
    fn drop(&mut self) {
        self.close();
        for worker in self.workers.drain(..) {
            // A worker catches its jobs' panics, so it never panics
            // itself: there is no error here to report.
            let _ = worker.join();
        }
    }
}
// ANCHOR_END: drop

impl fmt::Debug for Pool {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Pool")
            .field("size", &self.size())
            .field("live", &self.live_workers())
            .finish_non_exhaustive()
    }
}

// ANCHOR: worker
/// One worker: take a job, run it, until the pool closes.
fn work(shared: &Shared) {
    while let Some(job) = next_job(shared) {
        // A job that panics must not end its worker, or each panic would
        // shrink the pool by one until nobody serves. (The panic hook
        // has printed the message already.)
        let _ = panic::catch_unwind(AssertUnwindSafe(job));
    }
    lock(&shared.state).ended += 1;
    shared.worker_ended.notify_all();
}

/// Takes the next job, sleeping while there is none. `None` once the
/// pool is closed and the queue empty: the worker ends.
fn next_job(shared: &Shared) -> Option<Job> {
    let state = lock(&shared.state);
    // `wait_while` sleeps, letting go of the lock, until a job is queued
    // or the pool closes, and checks again after every wake-up: a
    // condition variable may wake a thread for no reason at all.
    let mut state = shared
        .job_ready
        .wait_while(state, |s| s.jobs.is_empty() && !s.closed)
        .unwrap_or_else(PoisonError::into_inner);
    state.jobs.pop_front()
}
// ANCHOR_END: worker

/// Locks a mutex, ignoring poisoning: what the pool guards (a queue, a
/// count, a buffer) stays valid whatever a panicking holder did.
pub(crate) fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}
