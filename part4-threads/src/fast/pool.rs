//! The tuned pool: the plain pool's contract (a bounded queue, panics
//! contained, `shutdown(grace)`) with as few wake-ups as it can manage.
//!
//! A wake-up (a `futex` call and a context switch) is the dear part of a
//! hand-off, so a job queued while any worker is awake wakes nobody: that
//! worker looks at the queue before it sleeps. Sleepers wait on a stack,
//! and the one woken is the one that slept last, its caches still warm.
//! What that costs is latency when the awake worker is stuck in a slow
//! job; the submitter repairs it by calling [`Pool::watch`] now and then.
//! Jobs may be plain values ([`Task`]) rather than boxed closures, and
//! a whole batch is queued under one lock ([`Pool::execute_all`]).

use std::collections::VecDeque;
use std::panic::{self, AssertUnwindSafe};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, OnceLock};
use std::thread::Thread;
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};
use std::{fmt, io};

use crate::pool::lock;

/// How long a job may wait in the queue while a worker sleeps before
/// [`Pool::watch`] wakes that worker for it.
pub const STALE: Duration = Duration::from_millis(1);

// ANCHOR: task
/// A unit of work that a worker runs once.
///
/// Any closure is one. A pool for one kind of work can use a plain value
/// instead, and skip boxing every job.
pub trait Task: Send + 'static {
    /// Does the work.
    fn run(self);
}

impl<F: FnOnce() + Send + 'static> Task for F {
    fn run(self) {
        self()
    }
}

/// Any closure, boxed: a pool of these can run jobs of every kind.
pub type Job = Box<dyn FnOnce() + Send + 'static>;
// ANCHOR_END: task

/// A fixed number of worker threads taking jobs from one bounded queue.
///
/// When the queue is full, [`try_execute`] hands the job back instead of
/// letting the backlog (and every queued client's wait) grow without
/// end. Dropping the pool closes the queue and joins every worker.
///
/// [`try_execute`]: Pool::try_execute
pub struct Pool<T: Task = Job> {
    queue: Arc<Queue<T>>,
    workers: Vec<JoinHandle<()>>,
    live: Arc<Live>,
}

/// The queue the workers share: a `VecDeque` behind a mutex, and the
/// workers asleep until there is a job for them. Knowing its sleepers,
/// it wakes one only when nobody awake will get to the job.
struct Queue<T> {
    state: Mutex<State<T>>,
    /// The most jobs that may wait for a worker.
    capacity: usize,
    /// Run by a worker that found the queue empty, before it sleeps.
    idle: OnceLock<IdleHook>,
    /// How many workers there are.
    workers: usize,
}

/// What a worker does before it goes to sleep (see [`Pool::on_idle`]).
type IdleHook = Box<dyn Fn() + Send + Sync>;

// ANCHOR: state
struct State<T> {
    jobs: VecDeque<T>,
    /// Workers asleep that nobody has woken yet, the last to fall asleep
    /// on top. Whoever wakes one takes it off, so two jobs in a row do
    /// not both wake the same sleeper.
    sleepers: Vec<Arc<Sleeper>>,
    /// The pool is stopping: finish the queued jobs, take no more.
    closed: bool,
    /// Jobs ever queued, and ever taken by a worker: first in, first
    /// out, so these say which jobs still wait, with no time stamps.
    queued: u64,
    taken: u64,
    /// The watchdog's last look: how many jobs had been queued by then,
    /// and when that was. See [`Pool::watch`].
    mark: (u64, Instant),
}

/// A sleeping worker: its thread, to `unpark`, and the flag that says
/// it was woken (`park` may also return for no reason).
struct Sleeper {
    thread: Thread,
    woken: AtomicBool,
}

impl Sleeper {
    fn wake(&self) {
        self.woken.store(true, Ordering::Release);
        self.thread.unpark();
    }
}
// ANCHOR_END: state

// ANCHOR: push
impl<T> Queue<T> {
    /// Adds `jobs` to the queue, whose lock `state` holds, lets go of the
    /// lock, and wakes a worker if every worker sleeps: an awake one gets
    /// to quick jobs sooner than a sleeper could wake ([`Pool::watch`]
    /// covers slow ones). Woken after the unlock, so as not to wait on it.
    fn push(
        &self,
        mut state: MutexGuard<'_, State<T>>,
        jobs: impl ExactSizeIterator<Item = T>,
    ) {
        state.queued += jobs.len() as u64;
        state.jobs.extend(jobs);
        let sleeper = if state.sleepers.len() == self.workers {
            state.sleepers.pop()
        } else {
            None
        };
        drop(state);
        if let Some(sleeper) = sleeper {
            sleeper.wake();
        }
    }
}
// ANCHOR_END: push

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

impl<T: Task> Pool<T> {
    /// Starts `size` workers (at least one) behind a queue holding up to
    /// `queue` jobs that no worker has taken yet.
    pub fn new(size: usize, queue: usize) -> io::Result<Pool<T>> {
        let size = size.max(1);
        let mut pool = Pool {
            queue: Arc::new(Queue {
                state: Mutex::new(State {
                    jobs: VecDeque::new(),
                    sleepers: Vec::with_capacity(size),
                    closed: false,
                    queued: 0,
                    taken: 0,
                    mark: (0, Instant::now()),
                }),
                capacity: queue,
                idle: OnceLock::new(),
                workers: size,
            }),
            workers: Vec::with_capacity(size),
            live: Arc::default(),
        };
        for n in 0..size {
            let queue = Arc::clone(&pool.queue);
            // Counted before the thread runs, so `live_workers` is right
            // as soon as `new` returns; if the spawn fails, the closure
            // and this guard are dropped and the count goes back down.
            let alive = Alive::new(&pool.live);
            let worker = thread::Builder::new()
                .name(format!("worker-{n}"))
                .spawn(move || worker_loop(&queue, alive))?;
            pool.workers.push(worker);
        }
        Ok(pool)
    }

    /// Queues `job` for the next free worker, or gives it back when the
    /// queue is full (or closed): the caller decides what "busy" means.
    pub fn try_execute(&self, job: T) -> Result<(), T> {
        let state = lock(&self.queue.state);
        if state.closed || state.jobs.len() >= self.queue.capacity {
            return Err(job);
        }
        self.queue.push(state, std::iter::once(job));
        Ok(())
    }

    /// How many more jobs the queue would take right now. A snapshot:
    /// the workers only ever make it grow, so a single submitting thread
    /// (the loop) may rely on it until it submits.
    pub fn room(&self) -> usize {
        let state = lock(&self.queue.state);
        if state.closed {
            return 0;
        }
        self.queue.capacity.saturating_sub(state.jobs.len())
    }

    /// Queues every job of `jobs` at once, emptying it: one lock and at
    /// most one wake-up for the lot, where [`try_execute`] pays both per
    /// job. The caller checked [`room`] first; jobs beyond it are queued
    /// all the same rather than lost. On a closed pool they are dropped.
    ///
    /// Only one worker is woken, and it takes the jobs one after the
    /// other; if they turn out to be slow, [`watch`] wakes more.
    ///
    /// [`try_execute`]: Pool::try_execute
    /// [`room`]: Pool::room
    /// [`watch`]: Pool::watch
    pub fn execute_all(&self, jobs: &mut Vec<T>) {
        if jobs.is_empty() {
            return;
        }
        let state = lock(&self.queue.state);
        if state.closed {
            drop(state);
            jobs.clear();
            return;
        }
        self.queue.push(state, jobs.drain(..));
    }

    /// Queues `job`, the continuation of a job admitted earlier that gave
    /// its worker back (a parked response). No bound: its client already
    /// has part of the answer, and each admitted job has at most one
    /// continuation, so the queue exceeds its bound by at most that many.
    ///
    /// On a closed pool the job is dropped, like [`execute_all`]'s.
    ///
    /// [`execute_all`]: Pool::execute_all
    pub fn resume(&self, job: T) {
        let state = lock(&self.queue.state);
        if state.closed {
            drop(state);
            // Dropped outside the lock: dropping a job may run its
            // owners' drop guards, which take locks of their own.
            drop(job);
            return;
        }
        self.queue.push(state, std::iter::once(job));
    }

    // ANCHOR: watch
    /// The watchdog: wakes sleeping workers for jobs that have waited at
    /// least [`STALE`] (the awake workers are busy with something slow).
    /// Returns whether to call again within `STALE`: jobs wait and some
    /// worker sleeps. The submitter (the loop, at each turn's end) calls
    /// it while that is so, so a job waits at most about twice `STALE`.
    pub fn watch(&self, now: Instant) -> bool {
        let mut state = lock(&self.queue.state);
        let mut wake = Vec::new();
        let (queued_then, then) = state.mark;
        if now.saturating_duration_since(then) >= STALE {
            // First in, first out: of the jobs queued by the last look,
            // those no worker has taken yet are still at the front.
            let waited = queued_then.saturating_sub(state.taken);
            let asleep = state.sleepers.len();
            let n = asleep.min(waited.try_into().unwrap_or(usize::MAX));
            wake = state.sleepers.split_off(asleep - n);
            state.mark = (state.queued, now);
        }
        let again = !state.jobs.is_empty() && !state.sleepers.is_empty();
        drop(state);
        for sleeper in wake {
            sleeper.wake();
        }
        again
    }
    // ANCHOR_END: watch

    /// Sets what a worker does when it finds no job, before it sleeps:
    /// the moment it has finished everything it was given. Part 4 tells
    /// the loop about the responses made since it last looked, once for
    /// all of them. Only the first call has any effect.
    pub fn on_idle(&self, hook: impl Fn() + Send + Sync + 'static) {
        let _ = self.queue.idle.set(Box::new(hook));
    }

    /// How many worker threads the pool started.
    pub fn size(&self) -> usize {
        self.workers.len()
    }

    /// How many worker threads are running right now. It stays at
    /// [`size`](Pool::size) until the pool is dropped, whatever the jobs do.
    pub fn live_workers(&self) -> usize {
        *lock(&self.live.count)
    }

    /// Stops taking jobs and wakes every sleeping worker, so that each
    /// finishes the queued jobs and then sees the pool is closing.
    fn close(&self) {
        let sleepers = {
            let mut state = lock(&self.queue.state);
            state.closed = true;
            std::mem::take(&mut state.sleepers)
        };
        for sleeper in sleepers {
            sleeper.wake();
        }
    }

    /// Closes the queue and waits up to `grace` for the workers to finish
    /// what they hold. Returns `false` if some were still busy: they are
    /// left running, for a process about to exit to take with it (a
    /// plain `drop` would wait for them however long they take).
    pub fn shutdown(mut self, grace: Duration) -> bool {
        self.close();
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

    fn join_all(&mut self) {
        for worker in self.workers.drain(..) {
            // A worker never panics (it catches its jobs' panics), so an
            // error here has nothing left to report.
            let _ = worker.join();
        }
    }
}

impl<T: Task> Drop for Pool<T> {
    /// Closing the queue ends each worker's loop once the jobs already
    /// queued are done; then every thread is joined.
    fn drop(&mut self) {
        self.close();
        self.join_all();
    }
}

impl<T: Task> fmt::Debug for Pool<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Pool")
            .field("size", &self.size())
            .field("live", &self.live_workers())
            .finish_non_exhaustive()
    }
}

// ANCHOR: worker-loop
/// One worker: take a job, run it, repeat until the queue is closed.
fn worker_loop<T: Task>(queue: &Queue<T>, alive: Alive) {
    let _alive = alive;
    let me = Arc::new(Sleeper {
        thread: thread::current(),
        woken: AtomicBool::new(false),
    });
    while let Some(job) = next_job(queue, &me) {
        // A job that panics must not take its worker with it, or every
        // panic would shrink the pool by one until nobody serves. (The
        // panic hook has already printed the message.)
        let _ = panic::catch_unwind(AssertUnwindSafe(|| job.run()));
    }
}

/// Takes the next job, sleeping while there is none. `None`: the pool is
/// closed and its queue empty, so the worker ends.
///
/// A worker takes jobs without sleeping while there are any, and wakes
/// no peer for the ones it leaves: it will be back for them sooner than
/// a peer could wake. The watchdog ([`Pool::watch`]) covers slow jobs.
fn next_job<T>(queue: &Queue<T>, me: &Arc<Sleeper>) -> Option<T> {
    let mut state = lock(&queue.state);
    let mut idle_told = false;
    loop {
        if let Some(job) = state.jobs.pop_front() {
            state.taken += 1;
            return Some(job);
        }
        if state.closed {
            return None; // the queue is closed and empty: stop
        }
        if !idle_told && let Some(hook) = queue.idle.get() {
            // Out of work: run the hook, without the lock (it may take
            // locks of its own), then look at the queue once more.
            drop(state);
            hook();
            idle_told = true;
            state = lock(&queue.state);
            continue;
        }
        // Asleep until someone takes us off the list and wakes us.
        me.woken.store(false, Ordering::Relaxed);
        state.sleepers.push(Arc::clone(me));
        drop(state);
        while !me.woken.load(Ordering::Acquire) {
            thread::park();
        }
        state = lock(&queue.state);
    }
}
// ANCHOR_END: worker-loop

#[cfg(test)]
mod tests;
