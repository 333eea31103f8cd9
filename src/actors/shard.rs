//! Client shards: many clients, as plain state, in one actor.
//!
//! A registered client is a few bytes here (its sample count and device),
//! not an actor: a million clients cost a few megabytes, and nothing is
//! done for a client that is idle. The kernel delivers every message for a
//! shard at one instant in one batch. A task's state travels with its own
//! messages (the order, then the training timer), so a shard holds nothing
//! per task and a checkpoint finds all of it in the queue.

use super::messages::{Deliver, Envelope, Outbox, Report, TaskOrder, ToClient, ToServer};
use crate::data::ClientData;
use crate::model::{Architecture, LocalTraining};
use crate::net::{Leg, Network};
use crate::sim::{ComputePool, Event, EventKind, SeedTree, TaskTag, VirtualTime};
use actix::{Actor, Context, Handler, MessageResult};
use rand::RngExt;
use serde::{Deserialize, Serialize};
use std::sync::Arc;

/// One client's local training, as data: a checkpoint saves it and a
/// resumed run recomputes it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct TrainJob {
    pub client: u32,
    /// The model the task started from.
    pub base: Arc<Vec<f64>>,
    pub training: LocalTraining,
    pub seed: u64,
    /// Estimated operations (samples x epochs x parameters), to decide
    /// whether a batch is worth the worker threads.
    pub work: u64,
}

impl TrainJob {
    /// The function the compute pool runs jobs with.
    pub fn runner(arch: Arc<Architecture>, data: ClientData) -> crate::sim::Runner<TrainJob> {
        Arc::new(move |j: &TrainJob| {
            let mut params = j.base.as_ref().clone();
            data.with_client(j.client, |d, rows| arch.train(&mut params, d, rows, &j.training, j.seed));
            params
        })
    }
}

/// What a shard holds of one client.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClientState {
    /// Local sample count.
    pub samples: u32,
}

/// Clients `first..first + clients.len()`.
pub struct ClientShard {
    first: u32,
    clients: Vec<ClientState>,
    params: u64,
    network: Network,
    pool: Arc<ComputePool<TrainJob>>,
    train: SeedTree,
}

impl ClientShard {
    /// `seeds` is the run's root.
    pub fn new(
        first: u32,
        clients: Vec<ClientState>,
        params: usize,
        network: Network,
        pool: Arc<ComputePool<TrainJob>>,
        seeds: SeedTree,
    ) -> Self {
        ClientShard { first, clients, params: params as u64, network, pool, train: seeds.child("train") }
    }

    fn state(&self, c: u32) -> ClientState {
        self.clients[(c - self.first) as usize]
    }

    /// Handles one instant's messages for this shard's clients.
    pub fn on_batch(&mut self, now: VirtualTime, msgs: Vec<(u32, ToClient)>) -> Outbox {
        let mut out = Outbox::default();
        for (c, msg) in msgs {
            match msg {
                ToClient::Task(order) => self.on_model(now, c, order, &mut out),
                ToClient::Trained(order) => self.on_trained(now, c, order, &mut out),
            }
        }
        out
    }

    /// The model is here: train, as a timer for the modelled compute time
    /// and a job for the real math.
    fn on_model(&mut self, now: VirtualTime, c: u32, order: TaskOrder, out: &mut Outbox) {
        let tag = TaskTag { client: c, serial: order.serial };
        out.log(Event::new(now, EventKind::DownloadDone, Some(c), order.version).bytes(order.bytes_down));
        let samples = self.state(c).samples as u64;
        let work = order.training.epochs as u64 * samples;
        let compute_s = self.network.device(c).compute_s(work as f64, order.draws.jitter_s);
        let seed = self.train.task(c, order.serial as u64).random::<u64>();
        let job =
            TrainJob { client: c, base: order.model.clone(), training: order.training, seed, work: work * self.params };
        self.pool.submit(tag, job);
        let done = now.after(VirtualTime::from_secs_f64(compute_s).as_nanos());
        out.timer(done, Some(tag), Envelope::Client(c, ToClient::Trained(order)));
    }

    /// Training is over: send the update.
    fn on_trained(&mut self, now: VirtualTime, c: u32, order: TaskOrder, out: &mut Outbox) {
        let tag = TaskTag { client: c, serial: order.serial };
        out.log(Event::new(now, EventKind::ComputeDone, Some(c), order.version));
        let report = Report {
            client: c,
            serial: order.serial,
            base_version: order.version,
            samples: self.state(c).samples,
            base: order.model,
            bytes: order.bytes_up,
            draws: order.draws,
            params: None,
        };
        out.post(tag, Leg::Up, order.bytes_up, Envelope::Server(ToServer::Report(report)));
    }
}

impl Actor for ClientShard {
    type Context = Context<Self>;
}

impl Handler<Deliver<Vec<(u32, ToClient)>>> for ClientShard {
    type Result = MessageResult<Deliver<Vec<(u32, ToClient)>>>;

    fn handle(&mut self, d: Deliver<Vec<(u32, ToClient)>>, _ctx: &mut Context<Self>) -> Self::Result {
        MessageResult(self.on_batch(d.now, d.msg))
    }
}
