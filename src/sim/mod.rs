//! The simulation kernel: virtual time, the seed tree, the pending-event
//! queue, the compute pool, the clock and the event log.
//!
//! It owns *when* things happen, in which order, and where the heavy math
//! runs; it knows nothing of learning, networks or strategies (those are
//! `model`, `net` and `strategy`; the actors that combine them are in
//! `actors`).

pub mod clock;
pub mod compute;
pub mod digits;
pub mod hash;
pub mod log;
pub mod queue;
pub mod seed;
pub mod time;

pub use clock::{AsFastAsPossible, Clock, Pace, RealTime};
pub use compute::{ComputePool, Runner};
pub use hash::{IdHasher, IdMap, IdSet};
pub use log::{Batched, Detail, Event, EventKind, EventSink, JsonLines, NoLog, RoundClose, SecAggPhase};
pub use queue::{EventQueue, Handle, TaskTag};
pub use seed::{Rng, SeedTree};
pub use time::VirtualTime;

/// Locks a mutex shared between the kernel and its helper threads (the
/// compute pool, the output sinks, the data kept between the scenario
/// check and the load). A panic elsewhere while it was held leaves the
/// data as it was; the run goes on with it.
pub fn lock<T>(m: &std::sync::Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}
