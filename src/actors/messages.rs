//! What actors say to each other, and what a handler hands back to the
//! kernel.
//!
//! Handlers never send directly: they return an [`Outbox`] of network
//! messages ([`Post`], which travel `net`), timers they set for themselves,
//! events and cancellations, and the kernel schedules them. That keeps every
//! actor a step function of (state, message, now), and everything pending a
//! plain value a checkpoint can hold.

use crate::model::LocalTraining;
use crate::net::Leg;
use crate::privacy::secagg;
use crate::sim::{Event, SecAggPhase, TaskTag, VirtualTime};
use serde::{Deserialize, Serialize};
use std::sync::Arc;

/// A model as it travels: its version and its parameters.
pub type Model = Arc<Vec<f64>>;

/// The server hands a client one task (a sync round's job or one async
/// dispatch); it reaches the client when its download is through.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct TaskOrder {
    pub serial: u32,
    /// The server version the task starts from.
    pub version: u64,
    #[serde(with = "crate::checkpoint::shared_model")]
    pub model: Model,
    /// Bytes of the model on the wire (the download).
    pub bytes_down: u64,
    /// Bytes of the update the client will send back.
    pub bytes_up: u64,
    pub training: Arc<LocalTraining>,
    /// The task's compute jitter and its upload's latency, s: drawn by the
    /// network when the task is dispatched (the server leaves zeros).
    pub jitter_s: f64,
    pub up_latency_s: f64,
    /// The L2 norm the client clips its update to (infinite without DP).
    pub clip_norm: f64,
    /// Secure aggregation: what the round's participants agree on.
    pub secure: Option<Box<SecureTask>>,
}

/// What a client of a secure-aggregation round is told with its task.
#[derive(Debug, Clone, Copy, Serialize, Deserialize)]
pub struct SecureTask {
    pub config: secagg::Config,
    /// Clients dispatched in the round: the most inputs the sum can hold.
    pub cohort: usize,
    /// Whether every update weighs the same (DP); else by sample count.
    pub unit_weights: bool,
}

impl SecureTask {
    /// Fractional bits of the fixed-point encoding in the ring Z_2^64:
    /// a resolution of 2^-24 (6e-8) per coordinate, and room for
    /// `cohort` inputs of magnitude up to 2^38 / cohort each.
    pub const FRAC_BITS: u32 = 24;

    /// A client's input: its weighted delta `w (params - base)`, its
    /// weight `w`, and 1 if its update was within DP's clip norm (adaptive
    /// clipping needs only their count), clipped to the range the cohort's
    /// sum can hold and encoded in the ring.
    pub fn encode(&self, base: &[f64], trained: &[f64], samples: u32, unclipped: bool) -> Vec<u64> {
        let w = if self.unit_weights { 1.0 } else { f64::from(samples) };
        let x: Vec<f64> =
            trained.iter().zip(base).map(|(p, b)| w * (p - b)).chain([w, f64::from(u8::from(unclipped))]).collect();
        secagg::encode(&x, Self::FRAC_BITS, secagg::max_clip(self.cohort, Self::FRAC_BITS))
    }
}

/// What a client keeps between secure aggregation's phases: its secrets
/// and its trained parameters (never sent in the clear). The kernel holds
/// it on the client's behalf and hands it to the client's handler with
/// each of the round's messages.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SecureMemory {
    pub state: secagg::ClientState,
    pub task: SecureTask,
    #[serde(with = "crate::checkpoint::shared_model")]
    pub base: Model,
    pub samples: u32,
    /// The trained parameters, filled in when the client's job is done.
    pub trained: Option<Vec<f64>>,
    /// The update was within DP's clip norm.
    pub unclipped: bool,
}

/// A secure-aggregation message from the server to a client.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub enum SecureDown {
    KeyList(Arc<secagg::KeyRoster>),
    Shares(secagg::ShareBundle),
    Survivors(Arc<secagg::UnmaskRequest>),
}

impl SecureDown {
    pub fn phase(&self) -> SecAggPhase {
        match self {
            SecureDown::KeyList(_) => SecAggPhase::KeyList,
            SecureDown::Shares(_) => SecAggPhase::Shares,
            SecureDown::Survivors(_) => SecAggPhase::Survivors,
        }
    }

    pub fn wire_bytes(&self) -> u64 {
        match self {
            SecureDown::KeyList(m) => m.wire_bytes(),
            SecureDown::Shares(m) => m.wire_bytes(),
            SecureDown::Survivors(m) => m.wire_bytes(),
        }
    }
}

/// A secure-aggregation message from a client to the server.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub enum SecureUp {
    AdvertiseKeys(secagg::AdvertiseKeys),
    ShareKeys(secagg::ShareKeys),
    MaskedInput(secagg::MaskedInput),
    UnmaskShares(secagg::UnmaskShares),
}

impl SecureUp {
    pub fn phase(&self) -> SecAggPhase {
        match self {
            SecureUp::AdvertiseKeys(_) => SecAggPhase::AdvertiseKeys,
            SecureUp::ShareKeys(_) => SecAggPhase::ShareKeys,
            SecureUp::MaskedInput(_) => SecAggPhase::MaskedInput,
            SecureUp::UnmaskShares(_) => SecAggPhase::UnmaskShares,
        }
    }

    pub fn wire_bytes(&self) -> u64 {
        match self {
            SecureUp::AdvertiseKeys(m) => m.wire_bytes(),
            SecureUp::ShareKeys(m) => m.wire_bytes(),
            SecureUp::MaskedInput(m) => m.wire_bytes(),
            SecureUp::UnmaskShares(m) => m.wire_bytes(),
        }
    }
}

/// The index of a secure-aggregation message within its task (the
/// network draws each message's latency from it). None for the keys'
/// advertisement: it is the task's own upload, whose latency was drawn
/// with the task (and decides when a dropout strikes).
pub fn secure_message_index(phase: SecAggPhase) -> Option<u64> {
    (phase != SecAggPhase::AdvertiseKeys).then_some(phase as u64)
}

/// The index of a client's dropout draw in one secure-aggregation phase
/// of one task: distinct for every (serial, phase), so no two of a
/// client's phases, in this task or another, share a draw. (The seven
/// phases fit in the low three bits.)
pub fn secure_dropout_index(serial: u32, phase: SecAggPhase) -> u64 {
    (serial as u64) << 3 | phase as u64
}

/// A finished update, arriving at the server.
#[derive(Clone, Serialize, Deserialize)]
pub struct Report {
    pub client: u32,
    pub serial: u32,
    pub base_version: u64,
    pub samples: u32,
    /// The model the client started from.
    #[serde(with = "crate::checkpoint::shared_model")]
    pub base: Model,
    pub bytes: u64,
    /// The upload's latency, s (drawn at dispatch).
    pub latency_s: f64,
    /// The client's parameters after local training: filled in by the
    /// kernel from the compute pool just before delivery.
    #[serde(skip)]
    pub params: Option<Vec<f64>>,
    /// The update was within the clip norm (filled in with `params`).
    #[serde(skip)]
    pub unclipped: bool,
}

impl Report {
    /// The update of client `c`'s task `order`, with `samples` samples:
    /// its parameters are filled in by the kernel just before delivery.
    pub fn for_task(c: u32, order: TaskOrder, samples: u32) -> Self {
        Report {
            client: c,
            serial: order.serial,
            base_version: order.version,
            samples,
            base: order.model,
            bytes: order.bytes_up,
            latency_s: order.up_latency_s,
            params: None,
            unclipped: true,
        }
    }
}

impl std::fmt::Debug for Report {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Report")
            .field("client", &self.client)
            .field("serial", &self.serial)
            .field("base_version", &self.base_version)
            .finish()
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub enum ToServer {
    /// The run begins (time 0).
    Start,
    Report(Report),
    /// The client vanished mid-task; the server learns it at that instant.
    Dropped {
        client: u32,
        serial: u32,
    },
    /// A sync round's deadline: the round opened at `opened_at`.
    Deadline {
        version: u64,
        opened_at: VirtualTime,
    },
    /// A scheduled fault (`faults[index]`) starts or ends.
    Fault {
        index: u32,
        start: bool,
    },
    /// A time-based evaluation is due.
    EvalTick,
    /// `stop.virtual_time_s` is reached.
    StopAt,
    /// Some client may have become available.
    Wake,
    /// A secure-aggregation message from `client`'s task `serial`.
    Secure {
        client: u32,
        serial: u32,
        msg: SecureUp,
    },
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub enum ToClient {
    /// The model has arrived.
    Task(TaskOrder),
    /// The client's own timer: local training is over.
    Trained(TaskOrder),
    /// A secure-aggregation message for the client's task `serial` (the
    /// shard reads it with the client's memory from the phase before,
    /// [`super::shard::Arrival`]).
    Secure { serial: u32, msg: SecureDown },
}

/// Anything that waits in the kernel's queue.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub enum Envelope {
    Server(ToServer),
    Client(u32, ToClient),
    /// The server link's next transfer is through.
    LinkTick,
    /// A task's client vanishes.
    Drop(TaskTag),
}

/// A message that travels the network: every one belongs to a task.
#[derive(Debug, Clone)]
pub struct Post {
    pub tag: TaskTag,
    pub leg: Leg,
    pub bytes: u64,
    pub envelope: Envelope,
}

/// Progress, for a progress bar.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Progress {
    pub version: u64,
    pub t: VirtualTime,
    pub accuracy: f64,
}

/// What a handler asks of the kernel.
#[derive(Debug, Default)]
pub struct Outbox {
    /// Messages over the network, sent now.
    pub posts: Vec<Post>,
    /// Timers: messages to self at an instant, with their task if any.
    pub timers: Vec<(VirtualTime, Option<TaskTag>, Envelope)>,
    /// Events that happen now.
    pub events: Vec<Event>,
    /// Tasks whose pending messages must never arrive.
    pub cancels: Vec<TaskTag>,
    pub progress: Option<Progress>,
    /// The run is over.
    pub halt: bool,
}

impl Outbox {
    /// Empties it, keeping its buffers' capacity: the kernel lends the same
    /// few outboxes to every call, so a handler's answer allocates nothing
    /// once they have grown.
    pub fn clear(&mut self) {
        let Outbox { posts, timers, events, cancels, progress, halt } = self;
        posts.clear();
        timers.clear();
        events.clear();
        cancels.clear();
        (*progress, *halt) = (None, false);
    }

    pub fn post(&mut self, tag: TaskTag, leg: Leg, bytes: u64, envelope: Envelope) {
        self.posts.push(Post { tag, leg, bytes, envelope });
    }

    pub fn timer(&mut self, at: VirtualTime, tag: Option<TaskTag>, envelope: Envelope) {
        self.timers.push((at, tag, envelope));
    }

    pub fn log(&mut self, event: Event) {
        self.events.push(event);
    }
}

/// A message delivered at a virtual instant, with an empty outbox lent
/// for the answer (see [`Outbox::clear`]).
pub struct Deliver<M> {
    pub now: VirtualTime,
    pub msg: M,
    pub out: Outbox,
}

impl<M: Send + 'static> actix::Message for Deliver<M> {
    type Result = Outbox;
}

/// Reports that reach the server at one instant, one after the other in
/// the queue: handled in order exactly as if delivered one by one, in one
/// actor call. As the queue would, the server skips (`None`) a report
/// whose task an earlier outbox of the batch cancels (a cancel covers the
/// client's earlier tasks too), and handles nothing after an outbox that
/// halts the run.
///
/// The kernel lends the buffers and gets them back ([`ReportsDelivered`]),
/// so that the hot path of an async run allocates nothing per report.
pub struct DeliverReports {
    pub now: VirtualTime,
    pub reports: Vec<Report>,
    /// One empty outbox (`Some`) per report, for its answer.
    pub outboxes: Vec<Option<Outbox>>,
}

impl actix::Message for DeliverReports {
    type Result = ReportsDelivered;
}

/// The answer to [`DeliverReports`].
pub struct ReportsDelivered {
    /// The reports' buffer, emptied.
    pub reports: Vec<Report>,
    /// Each handled report's outbox in order, `None` for a skipped one; cut
    /// after an outbox that halts the run.
    pub outboxes: Vec<Option<Outbox>>,
}

#[cfg(test)]
mod tests {
    use super::{secure_dropout_index, secure_message_index, Envelope, Outbox, Progress, ToServer};
    use crate::net::Leg;
    use crate::sim::{Event, EventKind, SecAggPhase, TaskTag, VirtualTime};

    /// A lent outbox must come back as empty as a new one, or the next
    /// handler's answer would carry the last one's messages.
    #[test]
    fn a_cleared_outbox_is_empty_and_keeps_its_buffers() {
        let tag = TaskTag { client: 1, serial: 2 };
        let mut out = Outbox::default();
        out.post(tag, Leg::Down, 10, Envelope::LinkTick);
        out.timer(VirtualTime::ZERO, None, Envelope::Server(ToServer::Wake));
        out.log(Event::new(VirtualTime::ZERO, EventKind::Dispatch, Some(1), 0));
        out.cancels.push(tag);
        out.progress = Some(Progress { version: 1, t: VirtualTime::ZERO, accuracy: 0.5 });
        out.halt = true;
        out.clear();
        let Outbox { posts, timers, events, cancels, progress, halt } = &out;
        assert!(posts.is_empty() && timers.is_empty() && events.is_empty() && cancels.is_empty());
        assert!(progress.is_none() && !halt);
        assert!(posts.capacity() > 0 && timers.capacity() > 0 && events.capacity() > 0 && cancels.capacity() > 0);
    }

    const PHASES: [SecAggPhase; 7] = [
        SecAggPhase::AdvertiseKeys,
        SecAggPhase::KeyList,
        SecAggPhase::ShareKeys,
        SecAggPhase::Shares,
        SecAggPhase::MaskedInput,
        SecAggPhase::Survivors,
        SecAggPhase::UnmaskShares,
    ];

    /// Each (task serial, phase) has a dropout draw of its own, the
    /// highest serials included.
    #[test]
    fn every_task_and_phase_draws_its_own_dropout() {
        let serials = (0..100).chain([u32::MAX - 1, u32::MAX]);
        let mut seen = std::collections::BTreeSet::new();
        for serial in serials {
            for phase in PHASES {
                assert!(seen.insert(secure_dropout_index(serial, phase)), "{serial} {phase:?}");
            }
        }
        assert_eq!(seen.len(), 102 * 7);
    }

    /// The keys' advertisement is the task's own upload (its latency was
    /// drawn with the task); every later message has an index of its own,
    /// distinct per phase, so each draws its latency apart.
    #[test]
    fn only_the_advertisement_shares_the_task_latency() {
        assert_eq!(secure_message_index(SecAggPhase::AdvertiseKeys), None);
        let later = &PHASES[1..];
        let indices: Vec<u64> = later.iter().map(|&p| secure_message_index(p).expect("an index")).collect();
        let distinct: std::collections::BTreeSet<u64> = indices.iter().copied().collect();
        assert_eq!(distinct.len(), later.len(), "{indices:?}");
        assert!(indices.iter().all(|&k| k >= 1), "{indices:?}");
    }
}
