//! The server actor, split by concern: the round protocol
//! ([`protocol`]), client selection ([`selection`]), aggregation (the
//! [`Strategy`]) and evaluation. Recording is not here: the server emits
//! events, and the recorder and the event log subscribe to them.

pub mod protocol;
pub mod selection;

pub use protocol::{Next, Protocol};
pub use selection::{IdleSet, Selection, SelectionState};

use super::messages::{Deliver, Envelope, Model, Outbox, Progress, Report, TaskOrder, ToClient, ToServer};
use crate::data::Dataset;
use crate::metrics::Evaluation;
use crate::model::{Architecture, LocalTraining};
use crate::net::Leg;
use crate::scenario::{EvaluationSpec, StopSpec};
use crate::sim::{Detail, Event, EventKind, TaskTag, VirtualTime};
use crate::strategy::{AnyStrategy, Strategy, Update};
use actix::{Actor, Context, Handler, MessageResult};
use serde::{Deserialize, Serialize};
use std::sync::Arc;

/// Why a run ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum StopReason {
    Rounds,
    VirtualTime,
    TargetAccuracy,
    /// No client will ever be available again, or nothing is left to happen.
    Exhausted,
    /// Ctrl-C or SIGTERM: the run folder holds a checkpoint to resume.
    Interrupted,
}

impl StopReason {
    pub fn name(self) -> &'static str {
        match self {
            StopReason::Rounds => "rounds",
            StopReason::VirtualTime => "virtual_time",
            StopReason::TargetAccuracy => "target_accuracy",
            StopReason::Exhausted => "exhausted",
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
}

/// What the server knows at the end.
#[derive(Debug, Clone)]
pub struct ServerOutcome {
    pub final_evaluation: Evaluation,
    pub version: u64,
    pub virtual_time: VirtualTime,
    pub stop_reason: StopReason,
    pub params: Arc<Vec<f64>>,
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
    pub protocol: Protocol,
    pub selection: SelectionState,
    #[serde(with = "crate::checkpoint::shared_model")]
    pub global: Model,
    pub version: u64,
    pub wake_at: Option<VirtualTime>,
    pub last_evaluated: Option<u64>,
    pub last_evaluation: Option<Evaluation>,
    /// Events logged since the last evaluation (no row counts them yet).
    pub unrecorded: bool,
    pub stop_reason: Option<StopReason>,
}

pub struct ServerActor {
    cfg: ServerConfig,
    strategy: AnyStrategy,
    /// What every task trains (shared by all of them).
    training: Arc<LocalTraining>,
    arch: Arc<Architecture>,
    test: Arc<Dataset>,
    selection: Selection,
    protocol: Protocol,
    global: Model,
    version: u64,
    wake_at: Option<VirtualTime>,
    last_evaluated: Option<u64>,
    last_evaluation: Option<Evaluation>,
    unrecorded: bool,
    stop_reason: Option<StopReason>,
}

impl ServerActor {
    pub fn new(
        cfg: ServerConfig,
        strategy: AnyStrategy,
        arch: Arc<Architecture>,
        test: Arc<Dataset>,
        initial: Vec<f64>,
        selection: Selection,
    ) -> Self {
        ServerActor {
            protocol: Protocol::new(strategy.schedule()),
            training: Arc::new(strategy.local_training(cfg.training)),
            cfg,
            strategy,
            arch,
            test,
            selection,
            global: Arc::new(initial),
            version: 0,
            wake_at: None,
            last_evaluated: None,
            last_evaluation: None,
            unrecorded: false,
            stop_reason: None,
        }
    }

    pub fn state(&self) -> ServerState {
        ServerState {
            protocol: self.protocol.clone(),
            selection: self.selection.state.clone(),
            global: self.global.clone(),
            version: self.version,
            wake_at: self.wake_at,
            last_evaluated: self.last_evaluated,
            last_evaluation: self.last_evaluation.clone(),
            unrecorded: self.unrecorded,
            stop_reason: self.stop_reason,
        }
    }

    pub fn restore(&mut self, s: ServerState) {
        self.protocol = s.protocol;
        self.selection.state = s.selection;
        self.global = s.global;
        self.version = s.version;
        self.wake_at = s.wake_at;
        self.last_evaluated = s.last_evaluated;
        self.last_evaluation = s.last_evaluation;
        self.unrecorded = s.unrecorded;
        self.stop_reason = s.stop_reason;
    }

    pub fn strategy_mut(&mut self) -> &mut AnyStrategy {
        &mut self.strategy
    }

    fn event(&self, t: VirtualTime, kind: EventKind, client: Option<u32>) -> Event {
        Event::new(t, kind, client, self.version)
    }

    /// Handles one message at `now`.
    pub fn on_message(&mut self, now: VirtualTime, msg: ToServer) -> Outbox {
        let mut out = Outbox::default();
        if self.stop_reason.is_some() {
            return out;
        }
        match msg {
            ToServer::Start => self.start(now, &mut out),
            ToServer::Report(r) => self.on_report(now, r, &mut out),
            ToServer::Dropped { client, serial } => self.on_dropped(now, client, serial, &mut out),
            ToServer::Deadline { version } => {
                if version == self.version && self.protocol.round_open() {
                    self.close_round(now, &mut out);
                }
            }
            ToServer::EvalTick => {
                if self.last_evaluated != Some(self.version) {
                    self.evaluate(now, &mut out);
                }
                if let (EvaluationSpec::EveryS(s), None) = (self.cfg.evaluation, self.stop_reason) {
                    out.timer(now + VirtualTime::from_secs_f64(s), None, Envelope::Server(ToServer::EvalTick));
                }
            }
            ToServer::StopAt => self.halt(StopReason::VirtualTime, &mut out),
            ToServer::Wake => {
                if self.wake_at == Some(now) {
                    self.wake_at = None;
                }
                self.dispatch(now, &mut out);
            }
        }
        out
    }

    fn start(&mut self, now: VirtualTime, out: &mut Outbox) {
        self.evaluate(now, out);
        if self.stop_reason.is_some() {
            return;
        }
        if let Some(s) = self.cfg.stop.virtual_time_s {
            out.timer(VirtualTime::from_secs_f64(s), None, Envelope::Server(ToServer::StopAt));
        }
        if let EvaluationSpec::EveryS(s) = self.cfg.evaluation {
            out.timer(now + VirtualTime::from_secs_f64(s), None, Envelope::Server(ToServer::EvalTick));
        }
        if self.cfg.stop.rounds == Some(0) {
            return self.halt(StopReason::Rounds, out);
        }
        self.dispatch(now, out);
    }

    /// Hands out work as the protocol says: a new round, or refilled slots.
    fn dispatch(&mut self, now: VirtualTime, out: &mut Outbox) {
        let want = self.protocol.wanted();
        if want == 0 {
            return;
        }
        let chosen = self.selection.choose(want, now);
        if let Some(d) = self.protocol.started(&chosen) {
            out.timer(now + d, None, Envelope::Server(ToServer::Deadline { version: self.version }));
        }
        for &c in &chosen {
            self.send_task(now, c, self.selection.serial(c), out);
        }
        if chosen.len() < want && (self.protocol.refills() || chosen.is_empty()) {
            self.wake_when_available(now, out);
        }
    }

    fn send_task(&mut self, now: VirtualTime, c: u32, serial: u32, out: &mut Outbox) {
        let order = TaskOrder {
            serial,
            version: self.version,
            model: self.global.clone(),
            bytes_down: self.cfg.bytes_down,
            bytes_up: self.cfg.bytes_up,
            training: self.training.clone(),
            jitter_s: 0.0,
            up_latency_s: 0.0,
        };
        self.log(out, self.event(now, EventKind::Dispatch, Some(c)).bytes(self.cfg.bytes_down));
        let tag = TaskTag { client: c, serial };
        out.post(tag, Leg::Down, self.cfg.bytes_down, Envelope::Client(c, ToClient::Task(order)));
    }

    /// Schedules a wake-up at the first instant an idle client is available.
    fn wake_when_available(&mut self, now: VirtualTime, out: &mut Outbox) {
        match self.selection.next_available(now) {
            Some(t) if self.wake_at.is_none_or(|w| t < w) => {
                self.wake_at = Some(t);
                out.timer(t, None, Envelope::Server(ToServer::Wake));
            }
            Some(_) => {}
            None if self.in_flight() == 0 && self.wake_at.is_none() => self.halt(StopReason::Exhausted, out),
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
        let staleness = self.version - r.base_version;
        self.log(
            out,
            self.event(now, EventKind::Report, Some(r.client)).bytes(r.bytes).detail(Detail::Staleness(staleness)),
        );
        let Some(params) = r.params else { unreachable!("the kernel fills in a report's parameters") };
        if self.protocol.max_staleness().is_some_and(|max| staleness > max) {
            self.log(out, self.event(now, EventKind::Stale, Some(r.client)).detail(Detail::Staleness(staleness)));
            self.protocol.discarded(r.client);
            return self.dispatch(now, out);
        }
        self.strategy.fold(Update {
            client: r.client,
            samples: r.samples as usize,
            params,
            base: r.base,
            base_version: r.base_version,
            staleness,
        });
        let next = self.protocol.reported(r.client);
        self.after(now, next, out);
    }

    fn on_dropped(&mut self, now: VirtualTime, client: u32, serial: u32, out: &mut Outbox) {
        if !self.selection.settle(client, serial) {
            return;
        }
        self.log(out, self.event(now, EventKind::Drop, Some(client)));
        let next = self.protocol.dropped(client);
        self.after(now, next, out);
    }

    fn after(&mut self, now: VirtualTime, next: Next, out: &mut Outbox) {
        match next {
            Next::Wait => {}
            Next::CloseRound => self.close_round(now, out),
            Next::Refill => {
                if self.strategy.ready() {
                    self.advance(now, out);
                }
                if self.stop_reason.is_none() {
                    self.dispatch(now, out);
                }
            }
        }
    }

    /// Closes a sync round: cancels the stragglers, aggregates what is in
    /// hand, and starts the next round at the same instant.
    fn close_round(&mut self, now: VirtualTime, out: &mut Outbox) {
        let Some(stragglers) = self.protocol.close() else { return };
        for c in stragglers {
            let serial = self.selection.serial(c);
            self.selection.settle(c, serial);
            self.log(out, self.event(now, EventKind::Late, Some(c)));
            out.cancels.push(TaskTag { client: c, serial });
        }
        self.advance(now, out);
        if self.stop_reason.is_none() {
            self.dispatch(now, out);
        }
    }

    /// The model version advances; evaluate and check the stop rules.
    fn advance(&mut self, now: VirtualTime, out: &mut Outbox) {
        let global: &mut Vec<f64> = Arc::make_mut(&mut self.global);
        let updates = self.strategy.aggregate(global);
        self.version += 1;
        self.log(out, self.event(now, EventKind::Aggregate, None).detail(Detail::Updates(updates as u32)));
        if let EvaluationSpec::EveryRounds(k) = self.cfg.evaluation {
            if self.version % k == 0 {
                self.evaluate(now, out);
            }
        }
        if self.stop_reason.is_none() && self.cfg.stop.rounds.is_some_and(|r| self.version >= r) {
            self.halt(StopReason::Rounds, out);
        }
    }

    /// Logs a server event; anything but an evaluation is then owed a row.
    fn log(&mut self, out: &mut Outbox, event: Event) {
        self.unrecorded = event.kind != EventKind::Evaluate;
        out.log(event);
    }

    fn evaluate(&mut self, now: VirtualTime, out: &mut Outbox) {
        let eval = match (&self.last_evaluation, self.last_evaluated == Some(self.version)) {
            // The same model scores the same: no need to run the test set again.
            (Some(e), true) => e.clone(),
            _ => self.arch.evaluate(&self.global, &self.test),
        };
        self.log(
            out,
            self.event(now, EventKind::Evaluate, None).detail(Detail::Scores {
                accuracy: eval.accuracy,
                loss: eval.loss,
                macro_f1: eval.macro_f1,
            }),
        );
        out.progress = Some(Progress { version: self.version, t: now, accuracy: eval.accuracy });
        self.last_evaluated = Some(self.version);
        let reached = self.cfg.stop.target_accuracy.is_some_and(|target| eval.accuracy >= target);
        self.last_evaluation = Some(eval);
        if reached {
            self.halt(StopReason::TargetAccuracy, out);
        }
    }

    fn halt(&mut self, reason: StopReason, out: &mut Outbox) {
        self.stop_reason.get_or_insert(reason);
        out.halt = true;
    }

    /// The outcome, evaluating the final model first if events happened
    /// since the last row.
    pub fn finish(&mut self, now: VirtualTime, interrupted: bool) -> (ServerOutcome, Vec<Event>) {
        let mut out = Outbox::default();
        if interrupted {
            self.stop_reason = Some(StopReason::Interrupted);
        }
        if self.unrecorded {
            self.evaluate(now, &mut out);
        }
        let outcome = ServerOutcome {
            final_evaluation: self.last_evaluation.clone().expect("the initial model is always evaluated"),
            version: self.version,
            virtual_time: now,
            stop_reason: self.stop_reason.unwrap_or(StopReason::Exhausted),
            params: self.global.clone(),
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
        MessageResult(self.on_message(d.now, d.msg))
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
