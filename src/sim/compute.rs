//! The compute pool: where local training really runs, on every core.
//!
//! A job is plain data (what to train, from which model, with which seed),
//! keyed by its task; the pool runs it with the one function it was built
//! with. Worker threads take waiting jobs as soon as they are submitted and
//! train them in the background while the kernel goes on delivering
//! messages; when the kernel needs a result (a report is about to be
//! delivered) it waits for that one job, or runs it itself if no worker has
//! started it. A job's result never depends on which thread ran it or when,
//! so any thread count gives the same numbers; and since the kernel waits
//! for a result before delivering the message that carries it, virtual
//! time never moves ahead of the math that decides it.
//!
//! Small jobs (below [`INLINE_WORK`] estimated operations) are never handed
//! to a worker: they run on the kernel's thread exactly when wanted, where
//! their result goes straight from the cache to the aggregation. A job whose
//! task is cancelled is dropped unrun (or its result discarded); a
//! checkpoint saves every job not yet taken, as data.

use super::hash::{IdMap, IdSet};
use super::queue::TaskTag;
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::thread::JoinHandle;

/// Runs one job.
pub type Runner<J, O = Vec<f64>> = Arc<dyn Fn(&J) -> O + Send + Sync>;

/// Below this many estimated operations a job runs on the kernel's thread
/// when its result is wanted: handing tiny jobs to workers costs more than
/// their math.
pub const INLINE_WORK: u64 = 100_000;

/// Keyed by task; hashed (a pool holds as many jobs as tasks in flight),
/// and sorted where order shows ([`ComputePool::pending`]).
struct State<J, O> {
    /// Submitted, not started; big jobs in `queue` order for the workers.
    waiting: IdMap<TaskTag, J>,
    /// Big waiting jobs, in submission order (a worker takes the oldest).
    queue: std::collections::VecDeque<TaskTag>,
    /// Being trained by a worker.
    running: IdMap<TaskTag, J>,
    /// Cancelled while running: the result is dropped when it lands.
    doomed: IdSet<TaskTag>,
    /// Results not yet taken, with their job (a checkpoint saves the job).
    done: IdMap<TaskTag, (J, O)>,
    shutdown: bool,
}

struct Shared<J, O> {
    state: Mutex<State<J, O>>,
    /// Signals a new big job (to workers) and a finished one (to the kernel).
    changed: Condvar,
    run: Runner<J, O>,
}

impl<J, O> Shared<J, O> {
    fn lock(&self) -> MutexGuard<'_, State<J, O>> {
        super::lock(&self.state)
    }
}

/// Worker threads plus the calling thread.
///
/// ```
/// use fedsim::sim::{ComputePool, TaskTag};
/// use std::sync::Arc;
/// let pool = ComputePool::new(2, Arc::new(|x: &f64| vec![*x * 2.0]), |_| 1);
/// let tag = TaskTag { client: 0, serial: 1 };
/// pool.submit(tag, 21.0);
/// assert_eq!(pool.take(tag), Some(vec![42.0]));
/// ```
pub struct ComputePool<J, O = Vec<f64>> {
    shared: Arc<Shared<J, O>>,
    /// Estimated operations of a job.
    cost: fn(&J) -> u64,
    workers: Vec<JoinHandle<()>>,
}

impl<J: Clone + Send + Sync + 'static, O: Send + 'static> ComputePool<J, O> {
    /// `threads` >= 1 counts the calling thread.
    pub fn new(threads: usize, run: Runner<J, O>, cost: fn(&J) -> u64) -> Self {
        let state = State {
            waiting: IdMap::default(),
            queue: Default::default(),
            running: IdMap::default(),
            doomed: IdSet::default(),
            done: IdMap::default(),
            shutdown: false,
        };
        let shared = Arc::new(Shared { state: Mutex::new(state), changed: Condvar::new(), run });
        let workers = (1..threads.max(1))
            .map(|_| {
                let shared = shared.clone();
                std::thread::spawn(move || work(&shared))
            })
            .collect();
        ComputePool { shared, cost, workers }
    }

    /// Queues the job of task `tag`: a worker starts it as soon as one is
    /// free, or it runs when its result is wanted.
    pub fn submit(&self, tag: TaskTag, job: J) {
        let big = !self.workers.is_empty() && (self.cost)(&job) >= INLINE_WORK;
        let mut s = self.shared.lock();
        s.waiting.insert(tag, job);
        if big {
            s.queue.push_back(tag);
            drop(s);
            self.shared.changed.notify_one();
        }
    }

    /// The task was cancelled: its job never runs, or its result is dropped.
    pub fn cancel(&self, tag: TaskTag) {
        let mut s = self.shared.lock();
        s.waiting.remove(&tag);
        s.done.remove(&tag);
        if s.running.contains_key(&tag) {
            s.doomed.insert(tag);
        }
    }

    /// The result of `tag`'s job: taken if ready, waited for if a worker is
    /// on it, run here otherwise; `None` if no such job was submitted.
    pub fn take(&self, tag: TaskTag) -> Option<O> {
        let mut s = self.shared.lock();
        loop {
            if let Some((_, r)) = s.done.remove(&tag) {
                return Some(r);
            }
            if let Some(job) = s.waiting.remove(&tag) {
                drop(s);
                return Some((self.shared.run)(&job));
            }
            if !s.running.contains_key(&tag) {
                return None;
            }
            // A worker is on it: rather than sit idle, train the next queued
            // job meanwhile.
            match next_queued(&mut s) {
                Some((other, job)) => {
                    drop(s);
                    let result = (self.shared.run)(&job);
                    s = self.shared.lock();
                    finish(&mut s, other, job, result);
                }
                None => s = self.shared.changed.wait(s).unwrap_or_else(|p| p.into_inner()),
            }
        }
    }

    /// Every job whose result has not been taken, in task order (for a
    /// checkpoint). A result already computed is saved as its job: it is
    /// recomputed on resume, with the same numbers.
    pub fn pending(&self) -> Vec<(TaskTag, J)> {
        let s = self.shared.lock();
        let mut all: Vec<(TaskTag, J)> = s.waiting.iter().map(|(t, j)| (*t, j.clone())).collect();
        all.extend(s.running.iter().filter(|(t, _)| !s.doomed.contains(t)).map(|(t, j)| (*t, j.clone())));
        all.extend(s.done.iter().map(|(t, (j, _))| (*t, j.clone())));
        all.sort_by_key(|(t, _)| *t);
        all
    }
}

/// The oldest queued big job still waiting, now marked running.
fn next_queued<J: Clone, O>(s: &mut State<J, O>) -> Option<(TaskTag, J)> {
    while let Some(tag) = s.queue.pop_front() {
        // Taken or cancelled meanwhile: nothing to do.
        if let Some(job) = s.waiting.remove(&tag) {
            s.running.insert(tag, job.clone());
            return Some((tag, job));
        }
    }
    None
}

/// Files a running job's result (or drops it if its task was cancelled).
fn finish<J, O>(s: &mut State<J, O>, tag: TaskTag, job: J, result: O) {
    s.running.remove(&tag);
    if !s.doomed.remove(&tag) {
        s.done.insert(tag, (job, result));
    }
}

/// A worker: trains the oldest waiting big job, until shutdown.
fn work<J: Clone, O>(shared: &Shared<J, O>) {
    let mut s = shared.lock();
    loop {
        if s.shutdown {
            return;
        }
        let Some((tag, job)) = next_queued(&mut s) else {
            s = shared.changed.wait(s).unwrap_or_else(|p| p.into_inner());
            continue;
        };
        drop(s);
        let result = (shared.run)(&job);
        s = shared.lock();
        finish(&mut s, tag, job, result);
        shared.changed.notify_all();
    }
}

impl<J, O> Drop for ComputePool<J, O> {
    fn drop(&mut self) {
        self.shared.lock().shutdown = true;
        self.shared.changed.notify_all();
        for handle in self.workers.drain(..) {
            let _ = handle.join();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dropping_the_pool_stops_its_workers() {
        // The workers hold the runner; once they have stopped, nothing does.
        let token = Arc::new(());
        let held = token.clone();
        let runner = move |x: &u32| {
            let _keep = &held;
            vec![*x as f64]
        };
        let pool = ComputePool::new(3, Arc::new(runner), |_: &u32| 1);
        assert_eq!(pool.workers.len(), 2);
        drop(pool);
        assert_eq!(Arc::strong_count(&token), 1, "a worker still runs");
    }

    #[test]
    fn every_job_gives_its_result_once_and_cancelled_ones_none() {
        for (threads, cost) in [(1, 1), (3, 1), (1, 1_000_000), (3, 1_000_000)] {
            let pool = ComputePool::new(
                threads,
                Arc::new(|x: &u32| {
                    std::thread::sleep(std::time::Duration::from_micros(50));
                    vec![*x as f64]
                }),
                if cost == 1 { |_: &u32| 1 } else { |_: &u32| 1_000_000 },
            );
            let tag = |s| TaskTag { client: 0, serial: s };
            for s in 0..40 {
                pool.submit(tag(s), s);
            }
            pool.cancel(tag(3));
            assert_eq!(pool.take(tag(5)), Some(vec![5.0]));
            assert_eq!(pool.pending().len(), 38);
            assert_eq!(pool.take(tag(3)), None);
            assert_eq!(pool.take(tag(5)), None, "a result is taken once");
            for s in (0..40).filter(|&s| s != 3 && s != 5) {
                assert_eq!(pool.take(tag(s)), Some(vec![s as f64]), "threads {threads}, cost {cost}");
            }
            assert!(pool.pending().is_empty());
        }
    }

    #[test]
    fn workers_train_big_jobs_ahead_of_need() {
        let pool = ComputePool::new(2, Arc::new(|x: &u32| vec![*x as f64]), |_| 1_000_000);
        let tag = TaskTag { client: 1, serial: 1 };
        pool.submit(tag, 7);
        // The worker finishes it without anyone asking.
        let start = std::time::Instant::now();
        while pool.shared.lock().done.is_empty() && start.elapsed().as_secs() < 10 {
            std::thread::yield_now();
        }
        assert!(pool.shared.lock().done.contains_key(&tag));
        assert_eq!(pool.take(tag), Some(vec![7.0]));
    }
}
