//! The kernel: the server and the client shards as actix actors it drives
//! itself, and the loop that delivers their messages in virtual-time order.
//!
//! The loop pops the earliest pending item and acts on it: a message for
//! the server (the reports waiting at the head of the queue at one instant
//! go in one call, handled in order as if one by one), a batch of messages
//! for client shards (every client message of that instant, grouped by
//! shard), a transfer through the server's link, or a client vanishing.
//! Handlers answer with an [`Outbox`]: its network messages go through
//! `net`, which says when they arrive; its events go to every sink. Items
//! are handled in queue order, so the order of events depends on virtual
//! time and scheduling order alone, never on threads; the compute pool's
//! batch finishes before the clock moves on.

use super::drive::Driven;
use super::messages::{
    secure_message_index, DeliverReports, Envelope, Outbox, Post, Progress, Report, SecureMemory, SecureUp, ToClient,
    ToServer,
};
use super::server::{Finish, Save, ServerActor, ServerOutcome, ServerState};
use super::shard::{Arrival, ClientAnswer, ClientShard, Prepare, TrainJob, Trained};
use super::Deliver;
use crate::checkpoint::CheckpointError;
use crate::data::ClientData;
use crate::model::OptimizerState;
use crate::net::{Leg, NetState, Network, Route};
use crate::sim::EventKind;
use crate::sim::{Clock, ComputePool, EventQueue, EventSink, Handle, TaskTag, VirtualTime};
use crate::strategy::AnyStrategy;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::io;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

#[derive(Debug, thiserror::Error)]
pub enum FederationError {
    #[error("writing the event log: {0}")]
    Log(#[from] io::Error),
    #[error(
        "virtual time stopped advancing at t = {t} s: {messages} messages at that instant, so every task takes no \
         time (ideal devices, or clients without data on instant links) and stop.virtual_time_s can never be \
         reached; set stop.rounds, or give clients.profiles latencies, bandwidths and a finite samples_per_s"
    )]
    Stalled { t: VirtualTime, messages: u64 },
    #[error(transparent)]
    Checkpoint(#[from] CheckpointError),
    #[error(
        "the virtual clock would pass its end (2^64 ns, about 584 years) at t = {t} s: {why}; a time that \
         large is no simulation"
    )]
    ClockOverflow { t: VirtualTime, why: String },
}

/// The run's state at an event boundary, borrowed for a checkpoint.
pub struct Snapshot<'a> {
    pub kernel: &'a KernelState,
    /// The transfers on the server's link.
    pub net: &'a NetState,
    pub server: &'a ServerState,
    pub strategy: &'a AnyStrategy,
    pub jobs: &'a [(TaskTag, TrainJob)],
}

/// A saved state to continue from.
pub struct Restart {
    pub kernel: KernelState,
    pub net: NetState,
    pub server: ServerState,
    pub strategy: AnyStrategy,
    pub jobs: Vec<(TaskTag, TrainJob)>,
}

/// How a run is steered from outside: checkpoints, interruption, resuming.
pub struct Control<'a> {
    /// Checkpoint whenever the model version reaches a multiple of this.
    pub checkpoint_every: Option<u64>,
    /// Set on Ctrl-C or SIGTERM: the run stops at the next event boundary,
    /// after a checkpoint.
    pub interrupt: &'a AtomicBool,
    /// Writes a checkpoint; the sinks are flushed first.
    pub save: &'a mut dyn FnMut(&Snapshot<'_>) -> Result<(), CheckpointError>,
    /// Continue from this state instead of starting afresh.
    pub resume: Option<Restart>,
}

/// Client messages a shard batch prepares ahead at most.
const LOOKAHEAD: usize = 256;

/// Reports at one instant handed to the server in one call at most.
const REPORT_BATCH: usize = 256;

/// Applied outboxes kept to lend again. Keeping every one of a sync
/// batch's hundreds (each with its vectors) scattered the heap so that
/// glibc gave its top back to the system and took it again every batch
/// (`parity_N1000`: 19,000 page faults instead of about 2,500, 0.094 s
/// instead of 0.056 s); keeping only 4 made `async_throughput` 3% slower.
const SPARE_OUTBOXES: usize = 64;

/// Totals of the loop itself.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct LoopStats {
    /// Messages delivered to actors.
    pub messages: u64,
    /// Events written to the log.
    pub events: u64,
}

/// Everything pending in the kernel: a checkpoint saves it.
#[derive(Serialize, Deserialize)]
pub struct KernelState {
    pub queue: EventQueue<Envelope>,
    /// Messages sharing the server's link, by task and leg.
    pub in_transit: BTreeMap<(TaskTag, Leg), Envelope>,
    /// The instant of the link tick that is live (older ones are stale).
    pub tick_at: Option<VirtualTime>,
    pub now: VirtualTime,
    pub stats: LoopStats,
    /// Error feedback: each client's residual, kept on the client's behalf
    /// from one of its updates to the next.
    pub residuals: BTreeMap<u32, Arc<Vec<f64>>>,
    /// `training.optimizer.keep_state`: each client's optimiser state, kept
    /// on the client's behalf from one of its tasks to the next (updated
    /// when the task's update reaches the server, or under secure
    /// aggregation when its first message does).
    pub optimizers: BTreeMap<u32, Arc<OptimizerState>>,
    /// Secure aggregation: what each client of the round keeps between
    /// phases, held on its behalf (the server never reads it).
    pub secure_memory: BTreeMap<TaskTag, SecureMemory>,
}

impl KernelState {
    /// Client `c`'s message as its shard reads it, with what the client
    /// keeps between secure-aggregation phases.
    fn arrival<'m>(&'m self, handle: Handle, at: VirtualTime, c: u32, msg: &'m ToClient) -> Arrival<'m> {
        let memory = match msg {
            ToClient::Secure { serial, .. } => self.secure_memory.get(&TaskTag { client: c, serial: *serial }),
            _ => None,
        };
        Arrival { handle, at, client: c, msg, memory }
    }
}

/// The actors of one run, ready to start.
pub struct Federation {
    pub server: ServerActor,
    pub shards: Vec<ClientShard>,
    /// Clients per shard: client `c` lives in shard `c / shard_size`.
    pub shard_size: u32,
    pub network: Network,
    pub data: ClientData,
    pub pool: Arc<ComputePool<TrainJob, Trained>>,
    /// Deliveries at one instant beyond which the run is declared stalled;
    /// `None` when the run has a bound that does not need time to pass.
    pub stall_limit: Option<u64>,
}

/// Client handlers' answers computed ahead, by the queue slot of their
/// message (derived state: a checkpoint does not need them). Slots are
/// reused, so each answer keeps its message's sequence number.
#[derive(Default)]
struct Prepared(Vec<Option<(u64, ClientAnswer)>>);

impl Prepared {
    fn put(&mut self, h: Handle, answer: ClientAnswer) {
        if self.0.len() <= h.slot() {
            self.0.resize_with(h.slot() + 1, || None);
        }
        self.0[h.slot()] = Some((h.seq(), answer));
    }

    /// The answer to this message, if it was prepared.
    fn take(&mut self, h: Handle) -> Option<ClientAnswer> {
        let entry = self.0.get_mut(h.slot())?;
        match entry {
            Some((seq, _)) if *seq == h.seq() => entry.take().map(|(_, a)| a),
            _ => None,
        }
    }
}

/// The running loop's view of the world (the actors are behind addresses).
struct Kernel<'a> {
    state: KernelState,
    network: Network,
    data: ClientData,
    pool: Arc<ComputePool<TrainJob, Trained>>,
    sinks: &'a mut [Box<dyn EventSink>],
    checkpoint_every: Option<u64>,
    /// A checkpoint is due at the next event boundary.
    checkpoint_due: bool,
    /// Client messages queued since the shards last prepared a batch.
    fresh: Vec<Handle>,
    /// Why an item was due past the clock's end (the run stops with an error).
    overflow: Option<String>,
    /// Applied outboxes, emptied, to lend to the next calls.
    spare: Vec<Outbox>,
}

impl Kernel<'_> {
    /// Queues an item; a client message is also remembered as not yet
    /// prepared by its shard.
    fn enqueue(&mut self, at: VirtualTime, tag: Option<TaskTag>, envelope: Envelope) {
        // Times saturate at the clock's end: an item due there overflowed.
        if at == VirtualTime::NEVER && self.overflow.is_none() {
            self.overflow = Some(self.blame(tag, &envelope));
        }
        let client = matches!(envelope, Envelope::Client(..));
        let h = self.state.queue.push(at, tag, envelope);
        if client {
            self.fresh.push(h);
        }
    }

    /// The scenario key behind an item due past the clock's end.
    fn blame(&self, tag: Option<TaskTag>, envelope: &Envelope) -> String {
        let timer = |key: &str| format!("{key} puts a timer beyond it");
        match (envelope, tag) {
            (Envelope::Server(ToServer::StopAt), _) => timer("stop.virtual_time_s"),
            (Envelope::Server(ToServer::EvalTick), _) => timer("evaluation.every_s"),
            (Envelope::Server(ToServer::Deadline { .. }), _) => timer("strategy.deadline_s"),
            (Envelope::Server(ToServer::Wake), _) => timer("clients.availability"),
            (_, Some(tag)) => {
                let (key, s) = self.network.longest_part(tag, self.data.samples(tag.client) as u64);
                format!("{key} makes a task of client {} take {s:.3e} s", tag.client)
            }
            _ => "a transfer through the server's link (server.network) never ends".to_string(),
        }
    }

    fn record(&mut self, events: &[crate::sim::Event]) -> io::Result<()> {
        for sink in self.sinks.iter_mut() {
            for e in events {
                sink.record(e)?;
            }
        }
        self.state.stats.events += events.len() as u64;
        Ok(())
    }

    /// A task is over before its time: none of its messages may arrive.
    fn cancel(&mut self, tag: TaskTag) {
        let now = self.state.now;
        self.state.queue.cancel(tag);
        self.network.cancel(now, tag);
        for leg in [Leg::Down, Leg::Up] {
            self.state.in_transit.remove(&(tag, leg));
        }
        self.pool.cancel(tag);
        self.state.secure_memory.remove(&tag);
        self.schedule_tick();
    }

    fn schedule_tick(&mut self) {
        let next = self.network.next_completion();
        if let Some(t) = next.filter(|_| next != self.state.tick_at) {
            if t == VirtualTime::NEVER && self.overflow.is_none() {
                self.overflow = Some(self.blame(None, &Envelope::LinkTick));
            }
            self.state.tick_at = next;
            self.state.queue.push(t, None, Envelope::LinkTick);
        }
    }

    fn route(&mut self, post: Post) {
        let now = self.state.now;
        let Post { tag, leg, bytes, mut envelope } = post;
        if self.network.faults().cuts(now, tag.client) {
            // Lost on a cut link (`faults:` partition): the task fails now,
            // and the server sees it as a drop.
            self.state.queue.push(now, Some(tag), Envelope::Drop(tag));
            return;
        }
        let latency_s = match &mut envelope {
            Envelope::Client(c, ToClient::Task(order)) => {
                // A new task: the network draws its fate now, and what the
                // client and its upload need of it travels with the task.
                let draws = self.network.draws(*c, order.serial);
                (order.jitter_s, order.up_latency_s) = (draws.jitter_s, draws.leg_latency_s(Leg::Up));
                let work = order.training.epochs as f64 * self.data.samples(*c) as f64;
                let bytes = [order.bytes_down, order.bytes_up];
                if let Some(at) = self.network.drop_at(now, tag, bytes, work, &draws) {
                    self.enqueue(at, Some(tag), Envelope::Drop(tag));
                }
                draws.leg_latency_s(Leg::Down)
            }
            Envelope::Server(ToServer::Report(r)) => r.latency_s,
            // Secure aggregation's messages draw a latency each.
            Envelope::Server(ToServer::Secure { msg, .. }) => match secure_message_index(msg.phase()) {
                Some(k) => self.network.message_latency_s(tag, k, leg),
                None => self.network.draws(tag.client, tag.serial).leg_latency_s(leg),
            },
            Envelope::Client(_, ToClient::Secure { msg, .. }) => match secure_message_index(msg.phase()) {
                Some(k) => self.network.message_latency_s(tag, k, leg),
                None => self.network.draws(tag.client, tag.serial).leg_latency_s(leg),
            },
            _ => self.network.draws(tag.client, tag.serial).leg_latency_s(leg),
        };
        match self.network.send(now, tag, leg, bytes, latency_s) {
            Route::At(t) => self.enqueue(t, Some(tag), envelope),
            Route::Queued => {
                self.state.in_transit.insert((tag, leg), envelope);
                self.schedule_tick();
            }
        }
    }

    /// Applies client `c`'s answer to `msg` at its instant.
    fn apply_client(&mut self, c: u32, msg: ToClient, answer: ClientAnswer) -> io::Result<()> {
        match (answer, msg) {
            (ClientAnswer::Train { event, done, seed, work }, ToClient::Task(order)) => {
                self.record(std::slice::from_ref(&event))?;
                let tag = TaskTag { client: c, serial: order.serial };
                let mut job = TrainJob::for_task(c, &order, seed, work);
                job.residual = self.state.residuals.get(&c).cloned();
                job.optimizer = self.state.optimizers.get(&c).cloned();
                self.pool.submit(tag, job);
                self.enqueue(done, Some(tag), Envelope::Client(c, ToClient::Trained(order)));
            }
            (ClientAnswer::Send { event, samples }, ToClient::Trained(order)) => {
                self.record(std::slice::from_ref(&event))?;
                let (tag, bytes) = (TaskTag { client: c, serial: order.serial }, order.bytes_up);
                let report = Report::for_task(c, order, samples);
                self.route(Post { tag, leg: Leg::Up, bytes, envelope: Envelope::Server(ToServer::Report(report)) });
            }
            (ClientAnswer::Secure { event, tag, up, memory }, _) => {
                if let Some(e) = event {
                    self.record(std::slice::from_ref(&*e))?;
                }
                self.state.secure_memory.insert(tag, *memory);
                let bytes = up.wire_bytes();
                let msg = ToServer::Secure { client: tag.client, serial: tag.serial, msg: *up };
                self.route(Post { tag, leg: Leg::Up, bytes, envelope: Envelope::Server(msg) });
            }
            // The server learns of it now, as from a dropped connection.
            (ClientAnswer::Vanish { tag }, _) => {
                self.state.queue.push(self.state.now, Some(tag), Envelope::Drop(tag));
            }
            (answer, msg) => unreachable!("client {c} answered {msg:?} with {answer:?}"),
        }
        Ok(())
    }

    /// An empty outbox for a handler's answer.
    fn lend(&mut self) -> Outbox {
        self.spare.pop().unwrap_or_default()
    }

    /// Applies a handler's answer; true if the run is over. The outbox is
    /// kept for [`Kernel::lend`].
    fn apply(&mut self, mut outbox: Outbox, progress: &mut dyn FnMut(Progress)) -> io::Result<bool> {
        self.record(&outbox.events)?;
        if let Some(n) = self.checkpoint_every {
            self.checkpoint_due |= outbox.events.iter().any(|e| e.kind == EventKind::Aggregate && e.round % n == 0);
        }
        if let Some(p) = outbox.progress {
            progress(p);
        }
        for tag in outbox.cancels.drain(..) {
            self.cancel(tag);
        }
        if outbox.halt {
            return Ok(true);
        }
        for post in outbox.posts.drain(..) {
            self.route(post);
        }
        for (at, tag, envelope) in outbox.timers.drain(..) {
            self.enqueue(at, tag, envelope);
        }
        outbox.clear();
        if self.spare.len() < SPARE_OUTBOXES {
            self.spare.push(outbox);
        }
        Ok(false)
    }
}

impl Federation {
    /// Runs to the end on the calling thread (the actors are driven in
    /// place: no runtime is involved).
    pub fn run(
        mut self,
        sinks: &mut [Box<dyn EventSink>],
        clock: &mut dyn Clock,
        progress: &mut dyn FnMut(Progress),
        control: Control<'_>,
    ) -> Result<(ServerOutcome, LoopStats), FederationError> {
        let n = self.server_clients();
        let stall_limit = self.stall_limit;
        let shard_size = self.shard_size;
        let Control { checkpoint_every, interrupt, save, resume } = control;
        let mut resumed = None;
        if let Some(r) = resume {
            self.server.restore(r.server);
            *self.server.strategy_mut() = r.strategy;
            for (tag, job) in r.jobs {
                self.pool.submit(tag, job);
            }
            self.network.restore(r.net);
            resumed = Some(r.kernel);
        }
        let mut server = Driven::new(self.server);
        let mut shards: Vec<Driven<ClientShard>> = self.shards.into_iter().map(Driven::new).collect();
        let state = resumed.unwrap_or_else(|| {
            let mut queue = EventQueue::new(n);
            queue.push(VirtualTime::ZERO, None, Envelope::Server(ToServer::Start));
            KernelState {
                queue,
                in_transit: BTreeMap::new(),
                tick_at: None,
                now: VirtualTime::ZERO,
                stats: LoopStats::default(),
                residuals: BTreeMap::new(),
                optimizers: BTreeMap::new(),
                secure_memory: BTreeMap::new(),
            }
        });
        let mut k = Kernel {
            state,
            network: self.network,
            data: self.data,
            pool: self.pool,
            sinks,
            checkpoint_every,
            checkpoint_due: false,
            fresh: Vec::new(),
            overflow: None,
            spare: Vec::new(),
        };
        // A resumed queue's client messages are all unprepared.
        k.fresh = k.state.queue.handles();
        let mut at_now = 0u64;
        let mut prepared = Prepared::default();
        let mut interrupted = false;
        // Reports go to the server in batches, one by one when checkpoints
        // are due at exact model versions (a batch may advance the model
        // more than once).
        let report_batch = if checkpoint_every.is_some() { 1 } else { REPORT_BATCH };
        // The report path's buffers, kept from one batch to the next.
        let (mut reports, mut outboxes, mut kept) = (Vec::new(), Vec::new(), Vec::new());
        loop {
            // An event boundary: everything pending is in the queue.
            if interrupt.load(Ordering::Relaxed) {
                interrupted = true;
            }
            if k.checkpoint_due || interrupted {
                k.checkpoint_due = false;
                for sink in k.sinks.iter_mut() {
                    sink.flush()?;
                }
                let (server_state, strategy) = server.call(Save);
                let jobs = k.pool.pending();
                save(&Snapshot {
                    kernel: &k.state,
                    net: k.network.state(),
                    server: &server_state,
                    strategy: &strategy,
                    jobs: &jobs,
                })?;
                if interrupted {
                    break;
                }
            }
            let Some((t, handle, envelope)) = k.state.queue.pop_entry() else { break };
            for gone in k.state.queue.take_discarded() {
                prepared.take(gone);
            }
            if t > k.state.now {
                clock.advance_to(t);
                k.state.now = t;
                at_now = 0;
            }
            let now = t;
            at_now += 1;
            if stall_limit.is_some_and(|limit| at_now > limit) {
                return Err(FederationError::Stalled { t: now, messages: at_now });
            }
            let done = match envelope {
                // A run of reports at this instant: one actor call for all.
                Envelope::Server(ToServer::Report(first)) => {
                    reports.push(first);
                    while reports.len() < report_batch {
                        let next = k
                            .state
                            .queue
                            .pop_if(|at, e| at == now && matches!(e, Envelope::Server(ToServer::Report(_))));
                        match next {
                            Some((_, _, Envelope::Server(ToServer::Report(r)))) => reports.push(r),
                            _ => break,
                        }
                    }
                    for gone in k.state.queue.take_discarded() {
                        prepared.take(gone);
                    }
                    // (A stall shows at the next item's check.)
                    at_now += reports.len() as u64 - 1;
                    // What each client keeps is kept only if its report is
                    // handled (a skipped one's task was cancelled first).
                    for r in &mut reports {
                        let tag = TaskTag { client: r.client, serial: r.serial };
                        let trained = k.pool.take(tag).expect("a live report has its job");
                        kept.push((tag, trained.residual, trained.optimizer));
                        (r.params, r.unclipped) = (Some(trained.params), trained.unclipped);
                    }
                    outboxes.extend((0..reports.len()).map(|_| Some(k.lend())));
                    let delivered = server.call(DeliverReports { now, reports, outboxes });
                    (reports, outboxes) = (delivered.reports, delivered.outboxes);
                    let mut done = false;
                    for ((tag, residual, optimizer), outbox) in kept.drain(..).zip(outboxes.drain(..)) {
                        let Some(outbox) = outbox else { continue };
                        if let Some(residual) = residual {
                            k.state.residuals.insert(tag.client, Arc::new(residual));
                        }
                        if let Some(state) = optimizer {
                            k.state.optimizers.insert(tag.client, Arc::new(state));
                        }
                        k.state.stats.messages += 1;
                        if k.apply(outbox, progress)? {
                            done = true;
                            break;
                        }
                    }
                    done
                }
                Envelope::Server(msg) => {
                    if let ToServer::Secure { client, serial, msg: SecureUp::AdvertiseKeys(_) } = &msg {
                        // The client keeps its update; only masked, it will leave.
                        let tag = TaskTag { client: *client, serial: *serial };
                        if let Some(t) = k.pool.take(tag) {
                            if let Some(state) = t.optimizer {
                                k.state.optimizers.insert(tag.client, Arc::new(state));
                            }
                            if let Some(m) = k.state.secure_memory.get_mut(&tag) {
                                (m.trained, m.unclipped) = (Some(t.params), t.unclipped);
                            }
                        }
                    }
                    k.state.stats.messages += 1;
                    let outbox = server.call(Deliver { now, msg, out: k.lend() });
                    k.apply(outbox, progress)?
                }
                Envelope::Client(c, msg) => {
                    let answer = match prepared.take(handle) {
                        Some(answer) => answer,
                        None => {
                            // This message and every other client message
                            // waiting unprepared, one batch per shard: the
                            // handlers are pure, so their answers can be
                            // computed now and applied at their instants.
                            // The shards read the messages where they wait.
                            let state = &k.state;
                            let mut batches: Vec<Vec<Arrival<'_>>> = shards.iter().map(|_| Vec::new()).collect();
                            batches[(c / shard_size) as usize].push(state.arrival(handle, t, c, &msg));
                            // At most LOOKAHEAD of them: enough to amortise
                            // the round trip, small enough that the buffers
                            // stay in cache.
                            let mut taken = 1;
                            while taken < LOOKAHEAD {
                                let Some(h) = k.fresh.pop() else { break };
                                if let Some((at, Envelope::Client(c, msg))) = state.queue.get(h) {
                                    batches[(c / shard_size) as usize].push(state.arrival(h, at, *c, msg));
                                    taken += 1;
                                }
                            }
                            for (shard, batch) in shards.iter_mut().zip(batches) {
                                if !batch.is_empty() {
                                    for (h, answer) in shard.call(Prepare(batch)) {
                                        prepared.put(h, answer);
                                    }
                                }
                            }
                            prepared.take(handle).expect("the batch held this message")
                        }
                    };
                    k.state.stats.messages += 1;
                    k.apply_client(c, msg, answer)?;
                    false
                }
                Envelope::LinkTick => {
                    if k.state.tick_at == Some(now) {
                        k.state.tick_at = None;
                        for (tag, leg, at) in k.network.finish_until(now) {
                            if let Some(env) = k.state.in_transit.remove(&(tag, leg)) {
                                k.enqueue(at, Some(tag), env);
                            }
                        }
                        k.schedule_tick();
                    }
                    false
                }
                Envelope::Drop(tag) => {
                    k.cancel(tag);
                    let msg = ToServer::Dropped { client: tag.client, serial: tag.serial };
                    k.state.stats.messages += 1;
                    let outbox = server.call(Deliver { now, msg, out: k.lend() });
                    k.apply(outbox, progress)?
                }
            };
            if let Some(why) = k.overflow.take() {
                return Err(FederationError::ClockOverflow { t: k.state.now, why });
            }
            if done {
                break;
            }
        }
        let (outcome, events) = server.call(Finish { now: k.state.now, interrupted });
        k.record(&events)?;
        for sink in k.sinks.iter_mut() {
            sink.flush()?;
        }
        Ok((outcome, k.state.stats))
    }

    fn server_clients(&self) -> usize {
        self.data.n_clients()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A queue slot is reused once its item is popped; an answer prepared
    /// for the earlier item must not be taken for the later one.
    #[test]
    fn a_prepared_answer_is_for_its_own_message_only() {
        let mut queue = EventQueue::new(1);
        let first = queue.push(VirtualTime::ZERO, None, ());
        queue.pop_entry();
        let second = queue.push(VirtualTime::ZERO, None, ());
        assert_eq!(first.slot(), second.slot());
        assert_ne!(first.seq(), second.seq());
        let tag = TaskTag { client: 3, serial: 7 };
        let mut prepared = Prepared::default();
        prepared.put(first, ClientAnswer::Vanish { tag });
        assert!(prepared.take(second).is_none(), "the later message took the earlier one's answer");
        assert!(matches!(prepared.take(first), Some(ClientAnswer::Vanish { tag: t }) if t == tag));
        assert!(prepared.take(first).is_none(), "an answer is taken once");
    }
}
