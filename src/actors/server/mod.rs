//! The server actor, split by concern: the round protocol
//! ([`protocol`]), client selection ([`selection`]), aggregation (the
//! [`Strategy`]) and evaluation. Recording is not here: the server emits
//! events, and the recorder and the event log subscribe to them.

pub mod protocol;
pub mod secure;
pub mod selection;

pub use protocol::{Next, Protocol};
pub use selection::{IdleSet, Selection, SelectionState};

use super::messages::{
    Deliver, DeliverReports, Envelope, Model, Outbox, Progress, Report, ReportsDelivered, SecureTask, SecureUp,
    TaskOrder, ToClient, ToServer,
};
use crate::byzantine::{self, Attackers};
use crate::data::Dataset;
use crate::metrics::Evaluation;
use crate::model::{Architecture, LocalTraining};
use crate::net::Faults;
use crate::net::Leg;
use crate::privacy::dp::{CentralDp, Step};
use crate::privacy::secagg;
use crate::scenario::raw::RawAttack;
use crate::scenario::FaultKind;
use crate::scenario::SecAggSpec;
use crate::scenario::{EvaluationSpec, StopSpec};
use crate::sim::SecAggPhase;
use crate::sim::{Detail, Event, EventKind, IdMap, RoundClose, TaskTag, VirtualTime};
use crate::strategy::{AnyStrategy, Strategy, Update};
use actix::{Actor, Context, Handler, MessageResult};
use secure::SecureRound;
use serde::{Deserialize, Serialize};
use std::sync::Arc;

/// Why a run ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum StopReason {
    Rounds,
    VirtualTime,
    TargetAccuracy,
    /// The next release would take epsilon above `stop.max_epsilon`.
    MaxEpsilon,
    /// The run can make no progress: no client will ever be available
    /// again, no task can ever report, or nothing is left to happen.
    Exhausted,
    /// An update or the global model held NaN or infinity.
    Diverged,
    /// Ctrl-C or SIGTERM: the run folder holds a checkpoint to resume.
    Interrupted,
}

impl StopReason {
    pub fn name(self) -> &'static str {
        match self {
            StopReason::Rounds => "rounds",
            StopReason::VirtualTime => "virtual_time",
            StopReason::TargetAccuracy => "target_accuracy",
            StopReason::MaxEpsilon => "max_epsilon",
            StopReason::Exhausted => "exhausted",
            StopReason::Diverged => "diverged",
            StopReason::Interrupted => "interrupted",
        }
    }
}

/// The server's fixed settings.
pub struct ServerConfig {
    pub clients: usize,
    pub bytes_down: u64,
    pub bytes_up: u64,
    pub training: LocalTraining,
    pub stop: StopSpec,
    pub evaluation: EvaluationSpec,
    /// Poisson selection: each client's probability of joining a round.
    pub poisson_q: Option<f64>,
    /// Secure aggregation, when on.
    pub secure: Option<SecAggSpec>,
    /// Parameters of the model.
    pub params: usize,
    /// Byzantine clients, if any.
    pub attackers: Option<Arc<Attackers>>,
    /// Scheduled faults (the server times them and goes down in its own).
    pub faults: Arc<Faults>,
    /// Why no task can ever report (every client drops out, or the sync
    /// deadline is shorter than the fastest possible task): the run stops
    /// as exhausted at once.
    pub doomed: Option<String>,
    /// The keys to name when the run diverges.
    pub suspects: Suspects,
}

/// The scenario keys that can make a run diverge, with their values, as
/// `key = value` text.
#[derive(Debug, Clone, Default)]
pub struct Suspects {
    /// What drives a client's update (`training.learning_rate`, ...).
    pub update: Vec<String>,
    /// What drives the server's step (`strategy.server_learning_rate`, ...).
    pub server: Vec<String>,
}

/// The latest model that evaluated to finite scores: where a diverged run
/// goes back to.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Sane {
    #[serde(with = "crate::checkpoint::shared_model")]
    pub model: Model,
    pub evaluation: Evaluation,
}

/// True if no value is NaN or infinite.
fn all_finite(xs: &[f64]) -> bool {
    // A value is NaN or infinite when its exponent bits are all ones; adding
    // one to the lowest exponent bit then carries into the sign bit, and
    // only then. Masks, adds and ORs with no early exit vectorise even on
    // baseline x86-64; `all(is_finite)` branched per value and cost 8% of
    // a small-model run.
    const EXPONENT: u64 = 0x7ff0_0000_0000_0000;
    xs.iter().fold(0u64, |acc, x| acc | ((x.to_bits() & EXPONENT) + (1 << 52))) >> 63 == 0
}

fn finite_scores(e: &Evaluation) -> bool {
    e.loss.is_finite() && e.accuracy.is_finite() && e.macro_f1.is_finite()
}

/// What the server knows at the end.
#[derive(Debug, Clone)]
pub struct ServerOutcome {
    pub final_evaluation: Evaluation,
    pub version: u64,
    pub virtual_time: VirtualTime,
    pub stop_reason: StopReason,
    pub params: Arc<Vec<f64>>,
    /// With DP: the epsilon spent (None: DP off, or unbounded).
    pub epsilon: Option<f64>,
    /// Why the run stopped, in words, for the stops that need them
    /// (exhausted, diverged).
    pub stop_message: Option<String>,
}

/// Asks the server for its outcome once the run has stopped; it evaluates
/// the final model if something happened since the last row of
/// `metrics.csv`, so the rows account for every event. (An interrupted
/// run's final row is past its checkpoint: resuming cuts it off.)
pub struct Finish {
    pub now: VirtualTime,
    pub interrupted: bool,
}

/// Asks the server for its state and its strategy's, for a checkpoint.
pub struct Save;

impl actix::Message for Save {
    type Result = (ServerState, AnyStrategy);
}

impl actix::Message for Finish {
    type Result = (ServerOutcome, Vec<Event>);
}

/// What of the server changes as a run goes (a checkpoint saves it; the
/// strategy's state is saved beside it).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ServerState {
    selection: SelectionState,
    run: RunState,
}

impl ServerState {
    /// The model versions made when it was saved.
    pub fn version(&self) -> u64 {
        self.run.version
    }
}

/// The server's own changing state (selection keeps who is busy).
#[derive(Debug, Clone, Serialize, Deserialize)]
struct RunState {
    protocol: Protocol,
    #[serde(with = "crate::checkpoint::shared_model")]
    global: Model,
    /// Model versions made so far (0: the initial model).
    version: u64,
    /// The wake-up timer pending for the first instant an idle client
    /// comes online.
    wake_at: Option<VirtualTime>,
    /// The version last evaluated, and its scores.
    last_evaluated: Option<u64>,
    last_evaluation: Option<Evaluation>,
    /// Events logged since the last evaluation (no row counts them yet).
    unrecorded: bool,
    /// Why the run stops, once it does.
    stop_reason: Option<StopReason>,
    /// Central DP: the accountant and the noise (none without it).
    dp: Option<CentralDp>,
    /// How the open round's cohort was drawn (for the accountant).
    round_step: Option<Step>,
    /// Async: updates per client taken in since the last aggregation
    /// (DP's repeats per client; a stop releases them). A hash map that
    /// keeps its room when cleared: every report of an async run adds to
    /// it, and every version empties it.
    #[serde(serialize_with = "crate::sim::hash::by_key")]
    contributions: IdMap<u32, u32>,
    /// The open round's secure aggregation.
    secure_round: Option<SecureRound>,
    /// Why the sync round whose secure phases are running closed its
    /// training (its `aggregate` event says it once the sum is unmasked).
    closing: Option<RoundClose>,
    /// ALIE: the colluding attackers' honest updates of the open round.
    held: Vec<Update>,
    /// A `server_down` fault holds: nothing is dispatched.
    down: bool,
    /// Why the run stopped, in words (`diverged`, `exhausted`).
    stop_message: Option<String>,
    sane: Option<Sane>,
}

pub struct ServerActor {
    cfg: ServerConfig,
    strategy: AnyStrategy,
    /// What every task trains (shared by all of them).
    training: Arc<LocalTraining>,
    arch: Arc<Architecture>,
    test: Arc<Dataset>,
    selection: Selection,
    run: RunState,
}

impl ServerActor {
    pub fn new(
        cfg: ServerConfig,
        strategy: AnyStrategy,
        arch: Arc<Architecture>,
        test: Arc<Dataset>,
        initial: Vec<f64>,
        selection: Selection,
        dp: Option<CentralDp>,
    ) -> Self {
        let run = RunState {
            protocol: Protocol::new(strategy.schedule()),
            global: Arc::new(initial),
            version: 0,
            wake_at: None,
            last_evaluated: None,
            last_evaluation: None,
            unrecorded: false,
            stop_reason: None,
            dp,
            round_step: None,
            contributions: IdMap::default(),
            secure_round: None,
            closing: None,
            held: Vec::new(),
            down: false,
            stop_message: None,
            sane: None,
        };
        ServerActor {
            training: Arc::new(strategy.local_training(cfg.training)),
            cfg,
            strategy,
            arch,
            test,
            selection,
            run,
        }
    }

    pub fn state(&self) -> ServerState {
        ServerState { selection: self.selection.state.clone(), run: self.run.clone() }
    }

    pub fn restore(&mut self, s: ServerState) {
        self.selection.state = s.selection;
        self.run = s.run;
    }

    pub fn strategy_mut(&mut self) -> &mut AnyStrategy {
        &mut self.strategy
    }

    fn event(&self, t: VirtualTime, kind: EventKind, client: Option<u32>) -> Event {
        Event::new(t, kind, client, self.run.version)
    }

    /// Handles one message at `now`, answering into `out`.
    pub fn on_message(&mut self, now: VirtualTime, msg: ToServer, out: &mut Outbox) {
        if self.run.stop_reason.is_some() {
            return;
        }
        match msg {
            ToServer::Start => self.start(now, out),
            ToServer::Report(r) => self.on_report(now, r, out),
            ToServer::Dropped { client, serial } => self.on_dropped(now, client, serial, out),
            ToServer::Secure { client, serial, msg } => self.on_secure(now, client, serial, msg, out),
            ToServer::Deadline { version, opened_at } => {
                if version == self.run.version && self.run.protocol.deadline_of_open_round(opened_at) {
                    self.close_round(now, RoundClose::Deadline, out);
                }
            }
            ToServer::EvalTick => {
                if self.run.last_evaluated != Some(self.run.version) {
                    self.evaluate(now, out);
                }
                if let (EvaluationSpec::EveryS(s), None) = (self.cfg.evaluation, self.run.stop_reason) {
                    out.timer(now + VirtualTime::from_secs_f64(s), None, Envelope::Server(ToServer::EvalTick));
                }
            }
            ToServer::StopAt => {
                self.halt(StopReason::VirtualTime, out);
                self.wind_up(now, out);
            }
            ToServer::Fault { index, start } => self.on_fault(now, index as usize, start, out),
            ToServer::Wake => {
                if self.run.wake_at == Some(now) {
                    self.run.wake_at = None;
                }
                self.dispatch(now, out);
            }
        }
    }

    fn start(&mut self, now: VirtualTime, out: &mut Outbox) {
        if let Some(dp) = &self.run.dp {
            // Nothing released yet.
            let e = dp.epsilon();
            self.log(
                out,
                self.event(now, EventKind::Epsilon, None).detail(Detail::Epsilon(e.is_finite().then_some(e))),
            );
        }
        if let Some(a) = self.cfg.attackers.clone() {
            for &c in a.ids() {
                self.log(out, self.event(now, EventKind::Byzantine, Some(c)).detail(Detail::Attack(a.attack().name())));
            }
        }
        // The initial model opens the audit trail.
        let digest = crate::audit::model_digest(&self.run.global);
        self.log(out, self.event(now, EventKind::Model, None).detail(Detail::Digest(digest)));
        self.evaluate(now, out);
        if self.run.stop_reason.is_some() {
            return;
        }
        if let Some(s) = self.cfg.stop.virtual_time_s {
            out.timer(VirtualTime::from_secs_f64(s), None, Envelope::Server(ToServer::StopAt));
        }
        for (i, w) in self.cfg.faults.windows().iter().enumerate() {
            let index = i as u32;
            out.timer(w.start, None, Envelope::Server(ToServer::Fault { index, start: true }));
            out.timer(w.end, None, Envelope::Server(ToServer::Fault { index, start: false }));
        }
        if let EvaluationSpec::EveryS(s) = self.cfg.evaluation {
            out.timer(now + VirtualTime::from_secs_f64(s), None, Envelope::Server(ToServer::EvalTick));
        }
        if self.cfg.stop.rounds == Some(0) {
            return self.halt(StopReason::Rounds, out);
        }
        if let Some(why) = self.cfg.doomed.clone() {
            self.run.stop_message = Some(why);
            return self.halt(StopReason::Exhausted, out);
        }
        self.dispatch(now, out);
    }

    /// A scheduled fault starts or ends. The kernel applies a partition or
    /// a slow link to each message; the server logs them, and goes down
    /// itself.
    fn on_fault(&mut self, now: VirtualTime, index: usize, start: bool, out: &mut Outbox) {
        let w = &self.cfg.faults.windows()[index];
        let (kind, down) = (w.kind.name(), w.kind == FaultKind::ServerDown);
        let clients = self.cfg.faults.hits(index) as u32;
        let e = self.event(now, if start { EventKind::FaultStart } else { EventKind::FaultEnd }, None);
        self.log(out, e.detail(Detail::Fault { kind, clients }));
        match (down, start) {
            (true, true) => self.crash(now, out),
            (true, false) => {
                self.run.down = false;
                self.dispatch(now, out);
            }
            (false, _) => {}
        }
    }

    /// The server goes down: every task in flight fails (the server sees
    /// a drop each), and what it had gathered since the last version is
    /// lost: a sync round is abandoned, to restart when the server is back.
    fn crash(&mut self, now: VirtualTime, out: &mut Outbox) {
        self.run.down = true;
        let busy: Vec<u32> = (0..self.cfg.clients as u32).filter(|&c| !self.selection.state.idle.contains(c)).collect();
        for c in busy {
            let serial = self.selection.serial(c);
            if self.selection.settle(c, serial) {
                self.log(out, self.event(now, EventKind::Drop, Some(c)));
                out.cancels.push(TaskTag { client: c, serial });
                // Frees the pool's slot; a sync round is closed below.
                let _ = self.run.protocol.dropped(c);
            }
        }
        self.run.protocol.close();
        self.strategy.discard();
        self.run.held.clear();
        self.run.contributions.clear();
    }

    /// Hands out work as the protocol says: a new round, or refilled slots.
    fn dispatch(&mut self, now: VirtualTime, out: &mut Outbox) {
        if self.run.down {
            return;
        }
        // A secure round's own phases run before the next round starts.
        if self.run.secure_round.is_some() {
            return;
        }
        loop {
            let want = self.run.protocol.wanted();
            if want == 0 {
                return;
            }
            let (chosen, step) = self.choose(want, now);
            if let (Some(dp), Some(max), Some(step)) = (&self.run.dp, self.cfg.stop.max_epsilon, step) {
                if dp.epsilon_after(step) > max {
                    return self.halt(StopReason::MaxEpsilon, out);
                }
            }
            self.run.round_step = step.or(self.run.round_step);
            if let (Some(spec), false) = (self.cfg.secure, chosen.is_empty()) {
                self.open_secure_round(spec, &chosen);
            }
            if let Some(d) = self.run.protocol.started(now, &chosen) {
                let deadline = ToServer::Deadline { version: self.run.version, opened_at: now };
                out.timer(now + d, None, Envelope::Server(deadline));
            }
            for &c in &chosen {
                self.send_task(now, c, self.selection.serial(c), out);
            }
            if chosen.is_empty() && self.cfg.poisson_q.is_some() && self.selection.available(now) > 0 {
                // Nobody joined this Poisson round: it is over at once,
                // with the model unchanged (and accounted all the same).
                self.advance(now, RoundClose::Empty, out);
                if self.run.stop_reason.is_some() {
                    return;
                }
                continue;
            }
            if chosen.len() < want && (self.run.protocol.refills() || chosen.is_empty()) {
                self.wake_when_available(now, out);
            }
            return;
        }
    }

    /// Draws the clients to start, and (with DP, for a sync round) how the
    /// draw is accounted.
    fn choose(&mut self, want: usize, now: VirtualTime) -> (Vec<u32>, Option<Step>) {
        if let Some(q) = self.cfg.poisson_q.filter(|_| !self.run.protocol.refills()) {
            return (self.selection.choose_poisson(q, now), Some(Step::Poisson { q }));
        }
        if self.run.dp.is_none() || self.run.protocol.refills() {
            return (self.selection.choose(want, now), None);
        }
        let available = self.selection.available(now);
        let chosen = self.selection.choose(want, now);
        let step = (!chosen.is_empty()).then(|| Step::WithoutReplacement { q: chosen.len() as f64 / available as f64 });
        (chosen, step)
    }

    fn send_task(&mut self, now: VirtualTime, c: u32, serial: u32, out: &mut Outbox) {
        let order = TaskOrder {
            serial,
            version: self.run.version,
            model: self.run.global.clone(),
            bytes_down: self.cfg.bytes_down,
            // Under secure aggregation the task's upload is the keys'
            // advertisement: the update leaves later, masked.
            bytes_up: if self.run.secure_round.is_some() {
                secagg::AdvertiseKeys::WIRE_BYTES
            } else {
                self.cfg.bytes_up
            },
            training: self.training.clone(),
            jitter_s: 0.0,
            up_latency_s: 0.0,
            clip_norm: self.run.dp.as_ref().map_or(f64::INFINITY, CentralDp::clip_norm),
            secure: self.run.secure_round.as_ref().map(|r| Box::new(r.task)),
        };
        self.log(out, self.event(now, EventKind::Dispatch, Some(c)).bytes(self.cfg.bytes_down));
        let tag = TaskTag { client: c, serial };
        out.post(tag, Leg::Down, self.cfg.bytes_down, Envelope::Client(c, ToClient::Task(order)));
    }

    /// Schedules a wake-up at the first instant an idle client is available.
    fn wake_when_available(&mut self, now: VirtualTime, out: &mut Outbox) {
        match self.selection.next_available(now) {
            Some(t) if self.run.wake_at.is_none_or(|w| t < w) => {
                self.run.wake_at = Some(t);
                out.timer(t, None, Envelope::Server(ToServer::Wake));
            }
            Some(_) => {}
            None if self.in_flight() == 0 && self.run.wake_at.is_none() => {
                self.run.stop_message = Some(format!(
                    "at t = {now} s no task is in flight and no client will ever be available again \
                     (clients.availability{})",
                    if self.cfg.faults.windows().iter().any(|w| matches!(w.kind, FaultKind::Partition(_))) {
                        ", and the partitions of faults"
                    } else {
                        ""
                    }
                ));
                self.halt(StopReason::Exhausted, out);
                self.wind_up(now, out);
            }
            None => {}
        }
    }

    fn in_flight(&self) -> usize {
        self.cfg.clients - self.selection.state.idle.len()
    }

    fn on_report(&mut self, now: VirtualTime, r: Report, out: &mut Outbox) {
        if !self.selection.settle(r.client, r.serial) {
            return;
        }
        let staleness = self.run.version - r.base_version;
        self.log(
            out,
            self.event(now, EventKind::Report, Some(r.client)).bytes(r.bytes).detail(Detail::Staleness(staleness)),
        );
        let Some(params) = r.params else { unreachable!("the kernel fills in a report's parameters") };
        if !all_finite(&params) {
            let message = format!(
                "round {}: the update of client {} holds NaN or infinity (local training diverged); lower {}",
                self.run.version + 1,
                r.client,
                self.cfg.suspects.update.join(" or ")
            );
            return self.diverge(now, Some(r.client), message, out);
        }
        if self.run.protocol.max_staleness().is_some_and(|max| staleness > max) {
            self.log(out, self.event(now, EventKind::Stale, Some(r.client)).detail(Detail::Staleness(staleness)));
            self.run.protocol.discarded(r.client);
            return self.dispatch(now, out);
        }
        let mut samples = r.samples as usize;
        if let Some(dp) = &mut self.run.dp {
            dp.on_update(r.client, r.unclipped);
            if dp.unit_weights() {
                samples = 1;
            }
        }
        if self.run.protocol.refills() {
            *self.run.contributions.entry(r.client).or_insert(0) += 1;
        }
        let update =
            Update { client: r.client, samples, params, base: r.base, base_version: r.base_version, staleness };
        if self.cfg.attackers.as_ref().is_some_and(|a| a.colludes(r.client)) {
            // Folded at the round's close, once the colluders know each other's.
            self.run.held.push(update);
        } else {
            self.strategy.fold(update);
        }
        let next = self.run.protocol.reported(r.client);
        self.after(now, next, out);
    }

    fn on_dropped(&mut self, now: VirtualTime, client: u32, serial: u32, out: &mut Outbox) {
        if let Some(round) = self.run.secure_round.as_mut().filter(|r| r.in_protocol() && r.member(client, serial)) {
            if round.lost(client) {
                self.log(out, self.event(now, EventKind::Drop, Some(client)));
                self.secure_phase_over(now, out);
            }
            return;
        }
        if !self.selection.settle(client, serial) {
            return;
        }
        self.log(out, self.event(now, EventKind::Drop, Some(client)));
        let next = self.run.protocol.dropped(client);
        self.after(now, next, out);
    }

    fn after(&mut self, now: VirtualTime, next: Next, out: &mut Outbox) {
        match next {
            Next::Wait => {}
            Next::CloseRound(why) => self.close_round(now, why, out),
            Next::Refill => {
                if self.strategy.ready() {
                    if let (Some(dp), Some(max)) = (&self.run.dp, self.cfg.stop.max_epsilon) {
                        if dp.epsilon_after(self.buffer_step()) > max {
                            return self.halt(StopReason::MaxEpsilon, out);
                        }
                    }
                    self.advance(now, RoundClose::Update, out);
                }
                if self.run.stop_reason.is_none() {
                    self.dispatch(now, out);
                }
            }
        }
    }

    /// Secure aggregation: the round's clients agree on a threshold of
    /// `ceil(threshold * dispatched)` (at least 2) and on the input size
    /// (the update and its weight).
    fn open_secure_round(&mut self, spec: SecAggSpec, chosen: &[u32]) {
        let threshold = ((spec.threshold * chosen.len() as f64).ceil() as usize).max(2);
        let task = SecureTask {
            // The update, its weight and its unclipped bit.
            config: secagg::Config { threshold, dim: self.cfg.params + 2 },
            cohort: chosen.len(),
            unit_weights: self.run.dp.as_ref().is_some_and(CentralDp::unit_weights),
        };
        let serials = chosen.iter().map(|&c| (c, self.selection.serial(c))).collect();
        self.run.secure_round = SecureRound::new(task, serials, self.run.global.clone()).ok();
    }

    /// A secure-aggregation message arrived.
    fn on_secure(&mut self, now: VirtualTime, client: u32, serial: u32, msg: SecureUp, out: &mut Outbox) {
        let Some(round) = self.run.secure_round.as_mut().filter(|r| r.member(client, serial)) else { return };
        let (phase, bytes) = (msg.phase(), msg.wire_bytes());
        if phase == SecAggPhase::AdvertiseKeys {
            // Training is over for this client: its advertisement is the
            // sync round's report.
            if !self.selection.settle(client, serial) || !round.receive(client, msg) {
                return;
            }
            self.log(out, self.event(now, EventKind::SecAgg(phase), Some(client)).bytes(bytes));
            let next = self.run.protocol.reported(client);
            return self.after(now, next, out);
        }
        if round.receive(client, msg) {
            self.log(out, self.event(now, EventKind::SecAgg(phase), Some(client)).bytes(bytes));
            if self.run.secure_round.as_ref().is_some_and(SecureRound::phase_over) {
                self.secure_phase_over(now, out);
            }
        }
    }

    /// Every client of a secure phase answered or vanished: the next
    /// phase, the unmasked sum, or an abort.
    fn secure_phase_over(&mut self, now: VirtualTime, out: &mut Outbox) {
        let Some(round) = self.run.secure_round.as_mut() else { return };
        if !round.phase_over() {
            return;
        }
        match round.close() {
            secure::Step::Send(to) => {
                for (c, msg) in to {
                    let serial = round.serials[&c];
                    let bytes = msg.wire_bytes();
                    let e = Event::new(now, EventKind::SecAgg(msg.phase()), Some(c), self.run.version).bytes(bytes);
                    self.run.unrecorded = true;
                    out.log(e);
                    let tag = TaskTag { client: c, serial };
                    let envelope = Envelope::Client(c, ToClient::Secure { serial, msg });
                    out.post(tag, Leg::Down, bytes, envelope);
                }
                // Nobody to send to: the phase is over at once.
                if self.run.secure_round.as_ref().is_some_and(SecureRound::phase_over) {
                    self.secure_phase_over(now, out);
                }
            }
            secure::Step::Done { weighted_delta, weight, unclipped, clients } => {
                let round = self.run.secure_round.take().expect("a round is open");
                let count = clients.len();
                let summed = self.strategy.fold_sum(&round.base, &weighted_delta, weight, count);
                debug_assert!(summed, "validation admits secure aggregation only with strategies that sum updates");
                if let Some(dp) = &mut self.run.dp {
                    dp.on_secure_sum(&clients, unclipped);
                }
                self.log(out, self.event(now, EventKind::Unmasked, None).detail(Detail::Updates(count as u32)));
                self.end_secure_round(now, round, out);
            }
            secure::Step::Abort(_) => {
                let round = self.run.secure_round.take().expect("a round is open");
                self.log(out, self.event(now, EventKind::SecAggAbort, None));
                self.end_secure_round(now, round, out);
            }
        }
    }

    /// The secure round is over (unmasked or aborted): its tasks end, the
    /// model advances (unchanged after an abort) and the next round starts.
    fn end_secure_round(&mut self, now: VirtualTime, round: SecureRound, out: &mut Outbox) {
        out.cancels.extend(round.tags());
        // Secure phases start only once `close_round` has recorded why
        // training closed; the fallback is never taken.
        let why = self.run.closing.take().unwrap_or(RoundClose::AllReported);
        self.advance(now, why, out);
        if self.run.stop_reason.is_none() {
            self.dispatch(now, out);
        }
    }

    /// Closes a sync round: cancels the stragglers, aggregates what is in
    /// hand, and starts the next round at the same instant.
    fn close_round(&mut self, now: VirtualTime, why: RoundClose, out: &mut Outbox) {
        let reports = self.run.protocol.round_reports();
        let Some(stragglers) = self.run.protocol.close() else { return };
        for c in stragglers {
            let serial = self.selection.serial(c);
            self.selection.settle(c, serial);
            self.log(out, self.event(now, EventKind::Late, Some(c)));
            out.cancels.push(TaskTag { client: c, serial });
        }
        if let Some(round) = self.run.secure_round.as_mut() {
            // The sync round's rules closed training: whoever advertised
            // keys by now is U1.
            round.end_training();
            self.run.closing = Some(why);
            // Training is over: secure aggregation's own phases begin.
            return self.secure_phase_over(now, out);
        }
        self.fold_colluders(reports);
        self.advance(now, why, out);
        if self.run.stop_reason.is_none() {
            self.dispatch(now, out);
        }
    }

    /// The model version advances (the round closed for reason `why`);
    /// evaluate and check the stop rules.
    fn advance(&mut self, now: VirtualTime, why: RoundClose, out: &mut Outbox) {
        // The model before, to go back to should this aggregation diverge.
        let before = self.run.global.clone();
        let global: &mut Vec<f64> = Arc::make_mut(&mut self.run.global);
        if let Some(noise) = self.run.dp.as_ref().and_then(|dp| dp.sum_noise(self.run.version + 1, global.len())) {
            let noised = self.strategy.perturb(&noise);
            debug_assert!(noised, "validation admits central DP only with strategies that sum updates");
        }
        let updates = self.strategy.aggregate(global);
        if !all_finite(&self.run.global) {
            self.run.global = before;
            let mut keys = self.cfg.suspects.server.clone();
            keys.extend(self.cfg.suspects.update.iter().cloned());
            let message = format!(
                "round {}: aggregating {updates} updates gave a model with NaN or infinity (the run diverged); \
                 lower {}",
                self.run.version + 1,
                keys.join(" or ")
            );
            return self.diverge(now, None, message, out);
        }
        self.run.version += 1;
        self.log(
            out,
            self.event(now, EventKind::Aggregate, None)
                .detail(Detail::Aggregation { updates: updates as u32, close: why }),
        );
        if self.run.dp.is_some() {
            let step = if self.run.protocol.refills() {
                self.buffer_step()
            } else {
                // Conservative if a round was somehow not drawn: no amplification.
                self.run.round_step.take().unwrap_or(Step::Full { repeats: 1 })
            };
            let dp = self.run.dp.as_mut().expect("checked above");
            let epsilon = dp.account(self.run.version, step);
            let e = self
                .event(now, EventKind::Epsilon, None)
                .detail(Detail::Epsilon(epsilon.is_finite().then_some(epsilon)));
            self.log(out, e);
        }
        self.run.contributions.clear();
        let digest = crate::audit::model_digest(&self.run.global);
        self.log(out, self.event(now, EventKind::Model, None).detail(Detail::Digest(digest)));
        if let EvaluationSpec::EveryRounds(k) = self.cfg.evaluation {
            if self.run.version.is_multiple_of(k) {
                self.evaluate(now, out);
            }
        }
        if self.run.stop_reason.is_none() && self.cfg.stop.rounds.is_some_and(|r| self.run.version >= r) {
            self.halt(StopReason::Rounds, out);
        }
    }

    /// ALIE: the round's colluding attackers each send the same
    /// `mean - z * std` of their honest updates (z from the round's count
    /// of updates and of attackers, unless the scenario sets it).
    /// `reports`: the round's updates, the attackers' included.
    fn fold_colluders(&mut self, reports: usize) {
        let held = std::mem::take(&mut self.run.held);
        let Some(first) = held.first() else { return };
        let Some(RawAttack::Alie(alie)) = self.cfg.attackers.as_ref().map(|a| a.attack()) else { return };
        let n = reports.max(held.len());
        let z = alie.z.map_or_else(|| byzantine::alie_z(n, held.len()), |z| z.0);
        let honest: Vec<&[f64]> = held.iter().map(|u| u.params.as_slice()).collect();
        let sent = byzantine::alie(&first.base, &honest, z);
        for u in held {
            self.strategy.fold(Update { params: sent.clone(), ..u });
        }
    }

    /// How a FedBuff aggregation is accounted: no sampling to amplify, and
    /// the most updates any one client has in the buffer.
    fn buffer_step(&self) -> Step {
        Step::Full { repeats: self.run.contributions.values().copied().max().unwrap_or(1) }
    }

    /// The epsilon spent so far (None without DP, or unbounded).
    pub fn epsilon(&self) -> Option<f64> {
        self.run.dp.as_ref().map(CentralDp::epsilon).filter(|e| e.is_finite())
    }

    /// Logs a server event; anything but an evaluation (or the epsilon
    /// that comes with an aggregation) is then owed a row. A fault's start
    /// or end is not: no row counts them, and a version made only to
    /// record one would be a round that dispatched nobody.
    fn log(&mut self, out: &mut Outbox, event: Event) {
        if matches!(event.kind, EventKind::Epsilon | EventKind::Model | EventKind::FaultStart | EventKind::FaultEnd) {
            return out.log(event);
        }
        self.run.unrecorded = event.kind != EventKind::Evaluate;
        out.log(event);
    }

    fn evaluate(&mut self, now: VirtualTime, out: &mut Outbox) {
        let eval = match (&self.run.last_evaluation, self.run.last_evaluated == Some(self.run.version)) {
            // The same model scores the same: no need to run the test set again.
            (Some(e), true) => e.clone(),
            _ => self.arch.evaluate(&self.run.global, &self.test),
        };
        if !finite_scores(&eval) {
            let mut keys = self.cfg.suspects.update.clone();
            keys.extend(self.cfg.suspects.server.iter().cloned());
            let message = format!(
                "round {}: the model's test loss is not finite (the run diverged); lower {}",
                self.run.version,
                keys.join(" or ")
            );
            return self.diverge(now, None, message, out);
        }
        self.run.sane = Some(Sane { model: self.run.global.clone(), evaluation: eval.clone() });
        self.log(
            out,
            self.event(now, EventKind::Evaluate, None).detail(Detail::Scores {
                accuracy: eval.accuracy,
                loss: eval.loss,
                macro_f1: eval.macro_f1,
            }),
        );
        out.progress = Some(Progress { version: self.run.version, t: now, accuracy: eval.accuracy });
        self.run.last_evaluated = Some(self.run.version);
        let reached = self.cfg.stop.target_accuracy.is_some_and(|target| eval.accuracy >= target);
        self.run.last_evaluation = Some(eval);
        if reached {
            self.halt(StopReason::TargetAccuracy, out);
        }
    }

    /// Every task still open is over: cancelled and recorded as `late`; a
    /// secure round aborts. True if anything was open.
    fn cancel_open(&mut self, now: VirtualTime, out: &mut Outbox) -> bool {
        let mut open = self.run.protocol.close().is_some();
        if let Some(round) = self.run.secure_round.take() {
            open = true;
            out.cancels.extend(round.tags());
            self.run.closing = None;
            self.log(out, self.event(now, EventKind::SecAggAbort, None));
        }
        for c in 0..self.cfg.clients as u32 {
            if !self.selection.state.idle.contains(c) {
                let serial = self.selection.serial(c);
                self.selection.settle(c, serial);
                self.log(out, self.event(now, EventKind::Late, Some(c)));
                out.cancels.push(TaskTag { client: c, serial });
                open = true;
            }
        }
        open
    }

    /// A run that stops between model versions (virtual time, exhaustion,
    /// interruption): the tasks still open are cancelled as late and what
    /// the server holds is aggregated now, as a deadline would. So the last
    /// row of metrics.csv is at the stop and counts every task (a second
    /// row for the last evaluated version would break the rows' order).
    fn wind_up(&mut self, now: VirtualTime, out: &mut Outbox) {
        if !self.run.unrecorded {
            return;
        }
        let reports = self.run.protocol.round_reports();
        let open = self.cancel_open(now, out);
        if !open && self.run.contributions.is_empty() && self.run.last_evaluated != Some(self.run.version) {
            // Nothing was cut short or is held, and the final evaluation
            // makes a new row. (What the server holds is aggregated even
            // with nothing open, so that how often the model is evaluated
            // never changes the models a run makes.)
            return;
        }
        if let (Some(dp), Some(max), true) = (&self.run.dp, self.cfg.stop.max_epsilon, self.run.protocol.refills()) {
            if dp.epsilon_after(self.buffer_step()) > max {
                // Releasing the buffer would exceed the budget: it is dropped.
                return;
            }
        }
        self.fold_colluders(reports);
        self.advance(now, RoundClose::Stop, out);
    }

    /// The run diverged: it stops now. Every open task is cancelled, and
    /// the model version advances one last time to the latest model that
    /// evaluates to finite scores (the current one if it does), so every
    /// output stays finite and the last row counts every task.
    fn diverge(&mut self, now: VirtualTime, client: Option<u32>, message: String, out: &mut Outbox) {
        self.log(out, self.event(now, EventKind::Diverged, client));
        self.run.stop_message.get_or_insert(message);
        // Divergence outranks a stop already reached (a final evaluation
        // can find it), but an interrupted run stays resumable.
        if self.run.stop_reason != Some(StopReason::Interrupted) {
            self.run.stop_reason = Some(StopReason::Diverged);
        }
        self.halt(StopReason::Diverged, out);
        self.cancel_open(now, out);
        let current = all_finite(&self.run.global)
            .then(|| self.arch.evaluate(&self.run.global, &self.test))
            .filter(finite_scores)
            .map(|evaluation| Sane { model: self.run.global.clone(), evaluation });
        let Some(Sane { model, evaluation }) = current.or_else(|| self.run.sane.clone()) else { return };
        self.run.global = model;
        self.run.version += 1;
        self.log(
            out,
            self.event(now, EventKind::Aggregate, None)
                .detail(Detail::Aggregation { updates: 0, close: RoundClose::Diverged }),
        );
        let digest = crate::audit::model_digest(&self.run.global);
        self.log(out, self.event(now, EventKind::Model, None).detail(Detail::Digest(digest)));
        let scores =
            Detail::Scores { accuracy: evaluation.accuracy, loss: evaluation.loss, macro_f1: evaluation.macro_f1 };
        self.log(out, self.event(now, EventKind::Evaluate, None).detail(scores));
        out.progress = Some(Progress { version: self.run.version, t: now, accuracy: evaluation.accuracy });
        self.run.last_evaluated = Some(self.run.version);
        self.run.last_evaluation = Some(evaluation);
    }

    fn halt(&mut self, reason: StopReason, out: &mut Outbox) {
        self.run.stop_reason.get_or_insert(reason);
        out.halt = true;
    }

    /// The outcome, evaluating the final model first if events happened
    /// since the last row.
    pub fn finish(&mut self, now: VirtualTime, interrupted: bool) -> (ServerOutcome, Vec<Event>) {
        let mut out = Outbox::default();
        if interrupted {
            self.run.stop_reason = Some(StopReason::Interrupted);
        }
        if self.run.stop_reason.is_none() {
            self.run.stop_reason = Some(StopReason::Exhausted);
            self.run.stop_message.get_or_insert_with(|| format!("at t = {now} s nothing is left to happen"));
            self.wind_up(now, &mut out);
        }
        if interrupted {
            self.wind_up(now, &mut out);
        }
        if self.run.unrecorded {
            self.evaluate(now, &mut out);
        }
        let outcome = ServerOutcome {
            final_evaluation: self.run.last_evaluation.clone().expect("the initial model is always evaluated"),
            version: self.run.version,
            virtual_time: now,
            stop_reason: self.run.stop_reason.unwrap_or(StopReason::Exhausted),
            params: self.run.global.clone(),
            epsilon: self.epsilon(),
            stop_message: self.run.stop_message.clone(),
        };
        (outcome, out.events)
    }
}

impl Actor for ServerActor {
    type Context = Context<Self>;
}

impl Handler<Deliver<ToServer>> for ServerActor {
    type Result = MessageResult<Deliver<ToServer>>;

    fn handle(&mut self, d: Deliver<ToServer>, _ctx: &mut Context<Self>) -> Self::Result {
        let mut out = d.out;
        self.on_message(d.now, d.msg, &mut out);
        MessageResult(out)
    }
}

impl Handler<DeliverReports> for ServerActor {
    type Result = MessageResult<DeliverReports>;

    fn handle(&mut self, d: DeliverReports, _ctx: &mut Context<Self>) -> Self::Result {
        let DeliverReports { now, mut reports, mut outboxes } = d;
        let mut cancelled: Vec<TaskTag> = Vec::new();
        // A missing outbox is made here (the kernel lends one per report).
        outboxes.resize_with(reports.len(), || None);
        let mut handled = 0;
        for (r, slot) in reports.drain(..).zip(outboxes.iter_mut()) {
            handled += 1;
            if cancelled.iter().any(|c| c.client == r.client && r.serial <= c.serial) {
                *slot = None;
                continue;
            }
            let out = slot.get_or_insert_with(Outbox::default);
            self.on_message(now, ToServer::Report(r), out);
            cancelled.extend_from_slice(&out.cancels);
            if out.halt {
                break;
            }
        }
        outboxes.truncate(handled);
        MessageResult(ReportsDelivered { reports, outboxes })
    }
}

impl Handler<Finish> for ServerActor {
    type Result = MessageResult<Finish>;

    fn handle(&mut self, f: Finish, _ctx: &mut Context<Self>) -> Self::Result {
        MessageResult(self.finish(f.now, f.interrupted))
    }
}

impl Handler<Save> for ServerActor {
    type Result = MessageResult<Save>;

    fn handle(&mut self, _: Save, _ctx: &mut Context<Self>) -> Self::Result {
        MessageResult((self.state(), self.strategy.clone()))
    }
}

#[cfg(test)]
mod tests {
    use super::{all_finite, finite_scores};
    use crate::metrics::Evaluation;

    #[test]
    fn scores_are_finite_only_when_all_three_are() {
        let e = Evaluation { loss: 0.5, accuracy: 0.9, macro_f1: 0.8, per_class: Vec::new() };
        assert!(finite_scores(&e));
        for bad in [f64::NAN, f64::INFINITY] {
            assert!(!finite_scores(&Evaluation { loss: bad, ..e.clone() }));
            assert!(!finite_scores(&Evaluation { accuracy: bad, ..e.clone() }));
            assert!(!finite_scores(&Evaluation { macro_f1: bad, ..e.clone() }));
        }
    }

    #[test]
    fn all_finite_finds_one_bad_value_anywhere() {
        let mut xs = vec![0.0, -1.5, f64::MAX, f64::MIN_POSITIVE, -0.0, 1e-310];
        assert!(all_finite(&xs));
        assert!(all_finite(&[]));
        for bad in [f64::NAN, f64::INFINITY, f64::NEG_INFINITY, -f64::NAN] {
            for at in 0..xs.len() {
                let keep = xs[at];
                xs[at] = bad;
                assert!(!all_finite(&xs), "{bad} at {at}");
                xs[at] = keep;
            }
        }
        // The flags are ORed, never toggled: an even count of bad values
        // is found as surely as one.
        assert!(!all_finite(&[f64::NAN, 1.0, f64::INFINITY]));
        assert!(!all_finite(&[f64::NAN; 4]));
    }
}
