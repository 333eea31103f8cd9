//! The server actor: holds the global model, selects and dispatches clients,
//! folds their updates through the strategy, evaluates, and decides when the
//! run is over.
//!
//! Sync rounds and the async continuous pool share everything here but the
//! dispatch rule, which the strategy's [`Schedule`] picks.

use super::idle::IdleSet;
use super::messages::{Deliver, Envelope, Outbox, Progress, Report, TaskOrder, ToClient, ToServer};
use crate::data::Dataset;
use crate::metrics::{Evaluation, MetricsRow, Recorder};
use crate::model::{Architecture, LocalTraining};
use crate::net::AvailabilityModel;
use crate::scenario::{EvaluationSpec, StopSpec};
use crate::sim::{Detail, Event, EventKind, Rng, TaskTag, VirtualTime};
use crate::strategy::{AnyStrategy, Schedule, Strategy, Update};
use actix::{Actor, Context, Handler, MessageResult};
use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

/// Why a run ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StopReason {
    Rounds,
    VirtualTime,
    TargetAccuracy,
    /// No client will ever be available again, or nothing is left to happen.
    Exhausted,
}

impl StopReason {
    pub fn name(self) -> &'static str {
        match self {
            StopReason::Rounds => "rounds",
            StopReason::VirtualTime => "virtual_time",
            StopReason::TargetAccuracy => "target_accuracy",
            StopReason::Exhausted => "exhausted",
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
    pub rows: Vec<MetricsRow>,
    pub staleness_histogram: BTreeMap<u64, u64>,
    pub final_evaluation: Evaluation,
    pub version: u64,
    pub virtual_time: VirtualTime,
    pub stop_reason: StopReason,
    pub params: Arc<Vec<f64>>,
}

/// Asks the server for its outcome once the runtime has stopped; it
/// evaluates the final model if no row holds it yet.
pub struct Finish {
    pub now: VirtualTime,
}

impl actix::Message for Finish {
    type Result = (ServerOutcome, Vec<Event>);
}

struct Round {
    outstanding: BTreeSet<u32>,
    reports: usize,
}

pub struct ServerActor {
    cfg: ServerConfig,
    strategy: AnyStrategy,
    schedule: Schedule,
    training: LocalTraining,
    global: Arc<Vec<f64>>,
    version: u64,
    arch: Arc<Architecture>,
    test: Arc<Dataset>,
    availability: AvailabilityModel,
    select: Rng,
    /// Per client: serial of its latest task.
    serial: Vec<u32>,
    idle: IdleSet,
    round: Option<Round>,
    in_flight: usize,
    wake_at: Option<VirtualTime>,
    recorder: Recorder,
    last_evaluated: Option<u64>,
    last_evaluation: Option<Evaluation>,
    stop_reason: Option<StopReason>,
}

impl ServerActor {
    pub fn new(
        cfg: ServerConfig,
        strategy: AnyStrategy,
        arch: Arc<Architecture>,
        test: Arc<Dataset>,
        initial: Vec<f64>,
        availability: AvailabilityModel,
        select: Rng,
    ) -> Self {
        let n = cfg.clients;
        ServerActor {
            schedule: strategy.schedule(),
            training: strategy.local_training(cfg.training),
            cfg,
            strategy,
            global: Arc::new(initial),
            version: 0,
            arch,
            test,
            availability,
            select,
            serial: vec![0; n],
            idle: IdleSet::all(n),
            round: None,
            in_flight: 0,
            wake_at: None,
            recorder: Recorder::default(),
            last_evaluated: None,
            last_evaluation: None,
            stop_reason: None,
        }
    }

    fn server_event(&self, t: VirtualTime, kind: EventKind) -> Event {
        Event::new(t, kind, None, self.version)
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
                if version == self.version && self.round.is_some() {
                    self.close_round(now, &mut out);
                }
            }
            ToServer::EvalTick => {
                if self.last_evaluated != Some(self.version) {
                    self.evaluate(now, &mut out);
                }
                if let (EvaluationSpec::EveryS(s), None) = (self.cfg.evaluation, self.stop_reason) {
                    out.send(now + VirtualTime::from_secs_f64(s), None, Envelope::Server(ToServer::EvalTick));
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
            out.send(VirtualTime::from_secs_f64(s), None, Envelope::Server(ToServer::StopAt));
        }
        if let EvaluationSpec::EveryS(s) = self.cfg.evaluation {
            out.send(now + VirtualTime::from_secs_f64(s), None, Envelope::Server(ToServer::EvalTick));
        }
        if self.cfg.stop.rounds == Some(0) {
            return self.halt(StopReason::Rounds, out);
        }
        self.dispatch(now, out);
    }

    /// Hands out work as the schedule says: a new round, or refilled slots.
    fn dispatch(&mut self, now: VirtualTime, out: &mut Outbox) {
        let want = match self.schedule {
            Schedule::Rounds { clients_per_round, over_selection, .. } => {
                if self.round.is_some() {
                    return;
                }
                (clients_per_round as f64 * over_selection).ceil() as usize
            }
            Schedule::Continuous { concurrency, .. } => concurrency.saturating_sub(self.in_flight),
        };
        if want == 0 {
            return;
        }
        let mut chosen = self.idle.take(want, now, &self.availability, &mut self.select);
        let take = chosen.len();
        chosen.sort_unstable();
        if let (Schedule::Rounds { deadline, .. }, false) = (self.schedule, chosen.is_empty()) {
            self.round = Some(Round { outstanding: chosen.iter().copied().collect(), reports: 0 });
            if let Some(d) = deadline {
                out.send(now + d, None, Envelope::Server(ToServer::Deadline { version: self.version }));
            }
        }
        let none_chosen = chosen.is_empty();
        for c in chosen {
            self.send_task(now, c, out);
        }
        // A round waits only when nobody could be chosen; a pool refills
        // its empty slots as soon as someone comes online.
        let refill = matches!(self.schedule, Schedule::Continuous { .. });
        if take < want && (refill || none_chosen) {
            self.wake_when_available(now, out);
        }
    }

    fn send_task(&mut self, now: VirtualTime, c: u32, out: &mut Outbox) {
        let i = c as usize;
        self.serial[i] += 1;
        self.in_flight += 1;
        let order = TaskOrder {
            serial: self.serial[i],
            version: self.version,
            model: self.global.clone(),
            bytes_down: self.cfg.bytes_down,
            bytes_up: self.cfg.bytes_up,
            training: self.training,
        };
        self.recorder.dispatched(self.cfg.bytes_down);
        out.log(Event::new(now, EventKind::Dispatch, Some(c), self.version).bytes(self.cfg.bytes_down));
        out.send(now, Some(TaskTag { client: c, serial: order.serial }), Envelope::Client(c, ToClient::Task(order)));
    }

    /// Schedules a wake-up at the first instant an idle client is available.
    fn wake_when_available(&mut self, now: VirtualTime, out: &mut Outbox) {
        let next = self.idle.iter().filter_map(|c| self.availability.next_available(c, now)).filter(|&t| t > now).min();
        match next {
            Some(t) if self.wake_at.is_none_or(|w| t < w) => {
                self.wake_at = Some(t);
                out.send(t, None, Envelope::Server(ToServer::Wake));
            }
            Some(_) => {}
            None if self.in_flight == 0 && self.wake_at.is_none() => self.halt(StopReason::Exhausted, out),
            None => {}
        }
    }

    /// Marks a client's task as over; false if it was not outstanding.
    fn settle(&mut self, client: u32, serial: u32) -> bool {
        let i = client as usize;
        if self.idle.contains(client) || self.serial[i] != serial {
            return false;
        }
        self.idle.insert(client);
        self.in_flight -= 1;
        if let Some(round) = &mut self.round {
            round.outstanding.remove(&client);
        }
        true
    }

    fn on_report(&mut self, now: VirtualTime, r: Report, out: &mut Outbox) {
        if !self.settle(r.client, r.serial) {
            return;
        }
        let staleness = self.version - r.base_version;
        self.recorder.arrived(r.bytes);
        out.log(
            Event::new(now, EventKind::Report, Some(r.client), self.version)
                .bytes(r.bytes)
                .detail(Detail::Staleness(staleness)),
        );
        let Some(params) = r.job.get().cloned() else {
            unreachable!("the runtime runs a report's job before delivering it")
        };
        if let Schedule::Continuous { max_staleness: Some(max), .. } = self.schedule {
            if staleness > max {
                self.recorder.stale();
                out.log(
                    Event::new(now, EventKind::Stale, Some(r.client), self.version)
                        .detail(Detail::Staleness(staleness)),
                );
                return self.dispatch(now, out);
            }
        }
        self.strategy.fold(Update {
            client: r.client,
            samples: r.samples,
            params,
            base: r.base,
            base_version: r.base_version,
            staleness,
        });
        self.recorder.folded(staleness);
        match self.schedule {
            Schedule::Rounds { clients_per_round, .. } => {
                let round = self.round.as_mut().expect("a report settles only in an open round");
                round.reports += 1;
                if round.reports >= clients_per_round || round.outstanding.is_empty() {
                    self.close_round(now, out);
                }
            }
            Schedule::Continuous { .. } => {
                if self.strategy.ready() {
                    self.advance(now, out);
                }
                if self.stop_reason.is_none() {
                    self.dispatch(now, out);
                }
            }
        }
    }

    fn on_dropped(&mut self, now: VirtualTime, client: u32, serial: u32, out: &mut Outbox) {
        if !self.settle(client, serial) {
            return;
        }
        self.recorder.dropped();
        out.log(Event::new(now, EventKind::Drop, Some(client), self.version));
        match &self.round {
            Some(round) if round.outstanding.is_empty() => self.close_round(now, out),
            Some(_) => {}
            None => self.dispatch(now, out),
        }
    }

    /// Closes a sync round: cancels the stragglers, aggregates what is in
    /// hand, and starts the next round at the same instant.
    fn close_round(&mut self, now: VirtualTime, out: &mut Outbox) {
        let Some(round) = self.round.take() else { return };
        for c in round.outstanding {
            let i = c as usize;
            self.idle.insert(c);
            self.in_flight -= 1;
            self.recorder.late();
            out.log(Event::new(now, EventKind::Late, Some(c), self.version));
            out.cancels.push(TaskTag { client: c, serial: self.serial[i] });
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
        out.log(self.server_event(now, EventKind::Aggregate).detail(Detail::Updates(updates as u32)));
        if let EvaluationSpec::EveryRounds(k) = self.cfg.evaluation {
            if self.version % k == 0 {
                self.evaluate(now, out);
            }
        }
        if self.stop_reason.is_none() && self.cfg.stop.rounds.is_some_and(|r| self.version >= r) {
            self.halt(StopReason::Rounds, out);
        }
    }

    fn evaluate(&mut self, now: VirtualTime, out: &mut Outbox) {
        let eval = self.arch.evaluate(&self.global, &self.test);
        out.log(
            self.server_event(now, EventKind::Evaluate)
                .detail(Detail::Scores { accuracy: eval.accuracy, loss: eval.loss }),
        );
        self.recorder.row(self.version, now, &eval);
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

    /// The outcome, evaluating the final model first if no row holds it.
    pub fn finish(&mut self, now: VirtualTime) -> (ServerOutcome, Vec<Event>) {
        let mut out = Outbox::default();
        if self.last_evaluated != Some(self.version) {
            self.evaluate(now, &mut out);
        }
        let (rows, staleness_histogram) = std::mem::take(&mut self.recorder).into_rows();
        let outcome = ServerOutcome {
            rows,
            staleness_histogram,
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
        MessageResult(self.finish(f.now))
    }
}
