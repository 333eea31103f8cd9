//! The compute pool: where local training really runs, on every core.
//!
//! Actors submit jobs (pure functions of their inputs) and carry the
//! returned handle in their messages; the runtime flushes the pool, running
//! all pending jobs in parallel, before it delivers a message whose result
//! is not ready. Since a job's result never depends on which thread ran it
//! or when, any thread count gives the same numbers; and since the runtime
//! waits for the flush before touching the clock, virtual time cannot move
//! while the math is running.

use crossbeam::channel::{unbounded, Sender};
use crossbeam::sync::WaitGroup;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::thread::JoinHandle;

type Work = Box<dyn FnOnce() -> Vec<f64> + Send>;

/// Where a job's result lands.
#[derive(Default)]
pub struct Slot {
    result: OnceLock<Vec<f64>>,
    cancelled: AtomicBool,
}

/// A claim on a submitted job's result.
pub type JobHandle = Arc<Slot>;

impl Slot {
    pub fn is_ready(&self) -> bool {
        self.result.get().is_some()
    }

    /// The result, once the pool has run the job.
    pub fn get(&self) -> Option<&Vec<f64>> {
        self.result.get()
    }

    /// The job is no longer wanted: a flush skips it.
    pub fn cancel(&self) {
        self.cancelled.store(true, Ordering::Relaxed);
    }
}

struct Job {
    slot: JobHandle,
    work: Work,
}

impl Job {
    fn run(self) {
        if !self.slot.cancelled.load(Ordering::Relaxed) {
            let _ = self.slot.result.set((self.work)());
        }
    }
}

/// A worker thread and the channel that hands it batches.
type Worker = (Sender<(Arc<Batch>, WaitGroup)>, JoinHandle<()>);

struct Batch {
    jobs: Vec<Mutex<Option<Job>>>,
    next: AtomicUsize,
}

impl Batch {
    fn drain(&self) {
        loop {
            let i = self.next.fetch_add(1, Ordering::Relaxed);
            let Some(cell) = self.jobs.get(i) else { return };
            let job = cell.lock().map(|mut j| j.take()).unwrap_or(None);
            if let Some(job) = job {
                job.run();
            }
        }
    }
}

/// A fixed set of worker threads plus the calling thread.
///
/// ```
/// use fedsim::sim::ComputePool;
/// let pool = ComputePool::new(2);
/// let h = pool.submit(|| vec![1.0, 2.0]);
/// assert!(!h.is_ready());
/// pool.flush();
/// assert_eq!(h.get(), Some(&vec![1.0, 2.0]));
/// ```
pub struct ComputePool {
    pending: Mutex<Vec<Job>>,
    workers: Vec<Worker>,
}

impl ComputePool {
    /// `threads` >= 1 counts the calling thread.
    pub fn new(threads: usize) -> Self {
        let workers = (1..threads.max(1))
            .map(|_| {
                let (tx, rx) = unbounded::<(Arc<Batch>, WaitGroup)>();
                let handle = std::thread::spawn(move || {
                    for (batch, wg) in rx {
                        batch.drain();
                        drop(wg);
                    }
                });
                (tx, handle)
            })
            .collect();
        ComputePool { pending: Mutex::new(Vec::new()), workers }
    }

    pub fn threads(&self) -> usize {
        self.workers.len() + 1
    }

    /// Queues a job; it runs at the next [`ComputePool::flush`].
    pub fn submit(&self, work: impl FnOnce() -> Vec<f64> + Send + 'static) -> JobHandle {
        let slot = JobHandle::default();
        let job = Job { slot: slot.clone(), work: Box::new(work) };
        self.pending.lock().expect("compute pool poisoned").push(job);
        slot
    }

    /// Jobs waiting for a flush.
    pub fn pending(&self) -> usize {
        self.pending.lock().map(|p| p.len()).unwrap_or(0)
    }

    /// Runs every pending job, in parallel, and returns when all are done.
    pub fn flush(&self) {
        let jobs = std::mem::take(&mut *self.pending.lock().expect("compute pool poisoned"));
        let jobs: Vec<Job> = jobs.into_iter().filter(|j| !j.slot.cancelled.load(Ordering::Relaxed)).collect();
        if jobs.len() <= 1 || self.workers.is_empty() {
            jobs.into_iter().for_each(Job::run);
            return;
        }
        let helpers = self.workers.len().min(jobs.len() - 1);
        let batch = Arc::new(Batch {
            jobs: jobs.into_iter().map(|j| Mutex::new(Some(j))).collect(),
            next: AtomicUsize::new(0),
        });
        let wg = WaitGroup::new();
        for (tx, _) in &self.workers[..helpers] {
            // A worker that died would only make this thread do its share.
            let _ = tx.send((batch.clone(), wg.clone()));
        }
        batch.drain();
        wg.wait();
    }
}

impl Drop for ComputePool {
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
    fn flush_runs_all_and_skips_cancelled() {
        let pool = ComputePool::new(3);
        let hs: Vec<_> = (0..20).map(|i| pool.submit(move || vec![i as f64])).collect();
        hs[3].cancel();
        pool.flush();
        for (i, h) in hs.iter().enumerate() {
            if i == 3 {
                assert!(!h.is_ready());
            } else {
                assert_eq!(h.get(), Some(&vec![i as f64]));
            }
        }
        assert_eq!(pool.pending(), 0);
    }
}
