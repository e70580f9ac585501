//! The tuned pool's own checks.

use super::*;
use std::sync::mpsc::channel;

fn submit(pool: &Pool, job: impl FnOnce() + Send + 'static) {
    assert!(pool.try_execute(Box::new(job)).is_ok(), "queue full");
}

/// Keeps a worker busy until the returned sender is dropped.
fn occupy(pool: &Pool) -> std::sync::mpsc::Sender<()> {
    let (started, wait_started) = channel();
    let (release, hold) = channel::<()>();
    submit(pool, move || {
        started.send(()).unwrap();
        let _ = hold.recv();
    });
    wait_started.recv().unwrap();
    release
}

#[test]
fn runs_jobs_on_its_workers() {
    let pool: Pool = Pool::new(3, 16).unwrap();
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
    let pool: Pool = Pool::new(1, 1).unwrap();
    // Occupy the only worker, then fill the only queue slot.
    let release = occupy(&pool);
    submit(&pool, || {});
    assert!(
        pool.try_execute(Box::new(|| {})).is_err(),
        "queue should be full"
    );
    drop(release);
}

#[test]
fn resume_ignores_the_bound() {
    let pool: Pool = Pool::new(1, 1).unwrap();
    let release = occupy(&pool);
    submit(&pool, || {});
    assert_eq!(pool.room(), 0);
    // The queue is full, and a resumed job is queued all the same.
    let (done, finished) = channel();
    pool.resume(Box::new(move || done.send(()).unwrap()));
    drop(release);
    finished.recv().unwrap();
}

#[test]
fn the_watchdog_wakes_a_worker_for_jobs_stuck_behind_a_slow_one() {
    let pool: Pool = Pool::new(2, 16).unwrap();
    // Both workers asleep, so that who wakes whom is ours to say.
    while lock(&pool.queue.state).sleepers.len() < 2 {
        thread::yield_now();
    }
    let (started, wait_started) = channel();
    let (release, hold) = channel::<()>();
    let (done, finished) = channel();
    let slow: Job = Box::new(move || {
        started.send(()).unwrap();
        let _ = hold.recv();
    });
    let quick: Job = Box::new(move || done.send(()).unwrap());
    // One worker is woken for both, and gets stuck in the first.
    pool.execute_all(&mut vec![slow, quick]);
    wait_started.recv().unwrap();
    let now = Instant::now() + STALE;
    // The first look only takes note of the waiting job...
    assert!(pool.watch(now), "a job waits while a worker sleeps");
    assert_eq!(lock(&pool.queue.state).sleepers.len(), 1);
    // ...and once it has waited `STALE`, the sleeper is woken for it.
    assert!(!pool.watch(now + STALE));
    finished
        .recv_timeout(Duration::from_secs(10))
        .expect("the quick job ran while the slow one still holds");
    drop(release);
}

#[test]
fn a_worker_runs_the_idle_hook_when_it_runs_out_of_jobs() {
    let pool: Pool = Pool::new(1, 16).unwrap();
    let (idle, idled) = channel();
    let idle = Mutex::new(idle);
    pool.on_idle(move || {
        let _ = lock(&idle).send(());
    });
    let release = occupy(&pool);
    // The worker may have gone idle once before the job came; not
    // again while it holds the job.
    while idled.try_recv().is_ok() {}
    drop(release);
    idled
        .recv_timeout(Duration::from_secs(10))
        .expect("the worker ran the hook once the job was done");
}

#[test]
fn panicking_jobs_do_not_shrink_the_pool() {
    let pool: Pool = Pool::new(2, 8).unwrap();
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
    let pool: Pool = Pool::new(1, 8).unwrap();
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
    let pool: Pool = Pool::new(2, 8).unwrap();
    let release = occupy(&pool);
    assert!(!pool.shutdown(Duration::from_millis(50)));
    drop(release);
}

#[test]
fn shutdown_of_an_idle_pool_joins_everyone() {
    let pool: Pool = Pool::new(4, 8).unwrap();
    assert!(pool.shutdown(Duration::from_secs(5)));
}
