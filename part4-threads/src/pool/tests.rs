//! The plain pool's own checks.

use super::*;
use std::sync::mpsc::{Sender, channel};

fn submit(pool: &Pool, job: impl FnOnce() + Send + 'static) {
    assert!(pool.try_execute(Box::new(job)).is_ok(), "queue full");
}

/// Keeps a worker busy until the returned sender is dropped.
fn occupy(pool: &Pool) -> Sender<()> {
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
fn jobs_run_at_the_same_time() {
    // Three jobs that each wait for the other two: they finish only if
    // three workers run them at once.
    let pool = Pool::new(3, 16).unwrap();
    let barrier = Arc::new(std::sync::Barrier::new(3));
    let (done, finished) = channel();
    for _ in 0..3 {
        let (barrier, done) = (Arc::clone(&barrier), done.clone());
        submit(&pool, move || {
            barrier.wait();
            done.send(()).unwrap();
        });
    }
    for _ in 0..3 {
        finished.recv().unwrap();
    }
}

#[test]
fn a_full_queue_hands_the_job_back() {
    let pool = Pool::new(1, 1).unwrap();
    // Occupy the only worker, then fill the only queue slot.
    let release = occupy(&pool);
    submit(&pool, || {});
    let (ran, was_run) = channel();
    let job: Job = Box::new(move || ran.send("here").unwrap());
    let back = pool.try_execute(job).expect_err("the queue is full");
    // The caller has its job again, and may run it itself.
    back();
    assert_eq!(was_run.recv().unwrap(), "here");
    drop(release);
}

#[test]
fn execute_ignores_the_bound() {
    let pool = Pool::new(1, 1).unwrap();
    let release = occupy(&pool);
    submit(&pool, || {});
    assert!(pool.try_execute(Box::new(|| {})).is_err());
    let (done, finished) = channel();
    pool.execute(Box::new(move || done.send(()).unwrap()));
    drop(release);
    finished.recv().unwrap();
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
    let release = occupy(&pool);
    assert!(!pool.shutdown(Duration::from_millis(50)));
    drop(release);
}

#[test]
fn shutdown_of_an_idle_pool_joins_everyone() {
    let pool = Pool::new(4, 8).unwrap();
    assert!(pool.shutdown(Duration::from_secs(5)));
}

#[test]
fn a_closed_pool_takes_no_jobs() {
    let pool = Pool::new(1, 8).unwrap();
    pool.close();
    assert!(pool.try_execute(Box::new(|| {})).is_err());
    // `execute` drops the job unrun, and its captures with it.
    let (done, finished) = channel();
    pool.execute(Box::new(move || done.send(()).unwrap()));
    assert!(finished.recv().is_err(), "the job ran on a closed pool");
}
