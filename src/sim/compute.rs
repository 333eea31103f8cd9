//! The compute pool: where local training really runs, on every core.
//!
//! A job is plain data (what to train, from which model, with which seed),
//! keyed by its task; the pool runs it with the one function it was built
//! with. Jobs wait until the runtime needs a result (a report is about to
//! be delivered), and then every waiting job runs at once, in parallel, so
//! the tasks in flight train as a batch. Since a job's result never depends
//! on which thread ran it or when, any thread count gives the same numbers;
//! and since the runtime waits for the batch before touching the clock,
//! virtual time cannot move while the math runs. A job whose task is
//! cancelled is dropped unrun; a checkpoint saves the waiting jobs as data.

use super::queue::TaskTag;
use crossbeam::channel::{unbounded, Sender};
use crossbeam::sync::WaitGroup;
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::thread::JoinHandle;

/// Runs one job.
pub type Runner<J> = Arc<dyn Fn(&J) -> Vec<f64> + Send + Sync>;

/// Below this many estimated operations a job runs alone on the calling
/// thread when its result is wanted: handing tiny jobs to workers costs
/// more than their math.
const INLINE_WORK: u64 = 100_000;

struct Batch<J> {
    jobs: Vec<J>,
    results: Vec<OnceLock<Vec<f64>>>,
    next: AtomicUsize,
    run: Runner<J>,
}

impl<J> Batch<J> {
    fn drain(&self) {
        loop {
            let i = self.next.fetch_add(1, Ordering::Relaxed);
            let Some(job) = self.jobs.get(i) else { return };
            let _ = self.results[i].set((self.run)(job));
        }
    }
}

type Task = Box<dyn FnOnce() + Send>;

/// A worker thread and the channel that hands it work.
type Worker = (Sender<(Task, WaitGroup)>, JoinHandle<()>);

struct State<J> {
    waiting: BTreeMap<TaskTag, J>,
    /// Results not yet taken, with their job (a checkpoint saves the job).
    done: BTreeMap<TaskTag, (J, Vec<f64>)>,
}

/// A fixed set of worker threads plus the calling thread.
///
/// ```
/// use fedsim::sim::{ComputePool, TaskTag};
/// use std::sync::Arc;
/// let pool = ComputePool::new(2, Arc::new(|x: &f64| vec![*x * 2.0]), |_| 1);
/// let tag = TaskTag { client: 0, serial: 1 };
/// pool.submit(tag, 21.0);
/// assert_eq!(pool.take(tag), Some(vec![42.0]));
/// ```
pub struct ComputePool<J> {
    state: Mutex<State<J>>,
    run: Runner<J>,
    /// Estimated operations of a job.
    cost: fn(&J) -> u64,
    workers: Vec<Worker>,
}

impl<J: Clone + Send + Sync + 'static> ComputePool<J> {
    /// `threads` >= 1 counts the calling thread.
    pub fn new(threads: usize, run: Runner<J>, cost: fn(&J) -> u64) -> Self {
        let workers = (1..threads.max(1))
            .map(|_| {
                let (tx, rx) = unbounded::<(Task, WaitGroup)>();
                let handle = std::thread::spawn(move || {
                    for (task, wg) in rx {
                        task();
                        drop(wg);
                    }
                });
                (tx, handle)
            })
            .collect();
        let state = State { waiting: BTreeMap::new(), done: BTreeMap::new() };
        ComputePool { state: Mutex::new(state), run, cost, workers }
    }

    pub fn threads(&self) -> usize {
        self.workers.len() + 1
    }

    fn state(&self) -> std::sync::MutexGuard<'_, State<J>> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Queues the job of task `tag`; it runs when a result is next needed.
    pub fn submit(&self, tag: TaskTag, job: J) {
        self.state().waiting.insert(tag, job);
    }

    /// The task was cancelled: its job never runs.
    pub fn cancel(&self, tag: TaskTag) {
        let mut s = self.state();
        s.waiting.remove(&tag);
        s.done.remove(&tag);
    }

    /// The result of `tag`'s job, running every waiting job first if it is
    /// not ready; `None` if no such job was submitted.
    pub fn take(&self, tag: TaskTag) -> Option<Vec<f64>> {
        let small = {
            let mut s = self.state();
            if let Some((_, r)) = s.done.remove(&tag) {
                return Some(r);
            }
            match s.waiting.get(&tag) {
                None => return None,
                Some(job) if (self.cost)(job) < INLINE_WORK => s.waiting.remove(&tag),
                Some(_) => None,
            }
        };
        // A small job runs alone, here, just when its result is wanted: the
        // result goes straight from the cache to its consumer, as in a
        // plain loop. Big ones run as a parallel batch.
        if let Some(job) = small {
            return Some((self.run)(&job));
        }
        self.flush();
        self.state().done.remove(&tag).map(|(_, r)| r)
    }

    /// Every job whose result has not been taken, in task order (for a
    /// checkpoint). A result already computed is saved as its job: it is
    /// recomputed on resume, with the same numbers.
    pub fn pending(&self) -> Vec<(TaskTag, J)> {
        let s = self.state();
        let mut all: Vec<(TaskTag, J)> = s.waiting.iter().map(|(t, j)| (*t, j.clone())).collect();
        all.extend(s.done.iter().map(|(t, (j, _))| (*t, j.clone())));
        all.sort_by_key(|(t, _)| *t);
        all
    }

    /// Runs every waiting job worth a thread, in parallel, and returns when
    /// all are done (small jobs wait to run alone when wanted).
    pub fn flush(&self) {
        let waiting: BTreeMap<TaskTag, J> = {
            let mut s = self.state();
            let (big, small) =
                std::mem::take(&mut s.waiting).into_iter().partition(|(_, j)| (self.cost)(j) >= INLINE_WORK);
            s.waiting = small;
            big
        };
        if waiting.is_empty() {
            return;
        }
        let (tags, jobs): (Vec<TaskTag>, Vec<J>) = waiting.into_iter().unzip();
        let batch = Arc::new(Batch {
            results: (0..jobs.len()).map(|_| OnceLock::new()).collect(),
            jobs,
            next: AtomicUsize::new(0),
            run: self.run.clone(),
        });
        let helpers = self.workers.len().min(batch.jobs.len() - 1);
        let wg = WaitGroup::new();
        for (tx, _) in &self.workers[..helpers] {
            let b = batch.clone();
            // A worker that died would only make this thread do its share.
            let _ = tx.send((Box::new(move || b.drain()), wg.clone()));
        }
        batch.drain();
        wg.wait();
        let batch = Arc::try_unwrap(batch).unwrap_or_else(|_| unreachable!("every worker has finished"));
        let mut s = self.state();
        for ((tag, job), r) in tags.into_iter().zip(batch.jobs).zip(batch.results) {
            s.done.insert(tag, (job, r.into_inner().expect("every job of the batch ran")));
        }
    }
}

impl<J> Drop for ComputePool<J> {
    fn drop(&mut self) {
        for (tx, handle) in self.workers.drain(..) {
            drop(tx);
            let _ = handle.join();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_flush_runs_all_waiting_jobs_and_skips_cancelled_ones() {
        for threads in [1, 3] {
            let pool = ComputePool::new(threads, Arc::new(|x: &u32| vec![*x as f64]), |_| 1_000_000);
            let tag = |s| TaskTag { client: 0, serial: s };
            for s in 0..20 {
                pool.submit(tag(s), s);
            }
            pool.cancel(tag(3));
            assert_eq!(pool.take(tag(5)), Some(vec![5.0]));
            assert_eq!(pool.pending().len(), 18);
            assert_eq!(pool.take(tag(3)), None);
            for s in (0..20).filter(|&s| s != 3 && s != 5) {
                assert_eq!(pool.take(tag(s)), Some(vec![s as f64]));
            }
        }
    }
}
