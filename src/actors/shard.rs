//! Client shards: many clients, as plain state, in one actor.
//!
//! A registered client is a few bytes here (its sample count), not an
//! actor: a million clients cost a few megabytes, and nothing is done for a
//! client that is idle. A task's state travels with its own messages (the
//! order, then the training timer), so a shard holds nothing per task and a
//! checkpoint finds all of it in the queue.
//!
//! A client's handler is a pure function of its message: it reads only the
//! shard's fixed state and answers with a [`ClientAnswer`] (an event, then
//! a training job and its timer, or the update to send), which the kernel
//! applies at the message's own instant. So the kernel hands a shard every client
//! message waiting in its queue in one batch, instants ahead, and keeps the
//! answers until their instants come (or drops them if their task is
//! cancelled first): one actor round trip serves hundreds of messages.

use super::messages::{Report, TaskOrder, ToClient};
use crate::data::ClientData;
use crate::model::{Architecture, LocalTraining};
use crate::net::Network;
use crate::sim::{Event, EventKind, SeedTree, TaskTag, VirtualTime};
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
    #[serde(with = "crate::checkpoint::shared_model")]
    pub base: Arc<Vec<f64>>,
    pub training: Arc<LocalTraining>,
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
    /// Operations to make one row of a client's data (per-client synthetic
    /// data is generated for every job; a table costs nothing).
    row_ops: u64,
    network: Network,
    train: SeedTree,
}

/// Client messages for one shard, each with its queue sequence number and
/// instant; the answer is one [`ClientAnswer`] per message, by sequence
/// number.
pub struct Prepare(pub Vec<(u64, VirtualTime, u32, ToClient)>);

impl actix::Message for Prepare {
    type Result = Vec<(u64, ClientAnswer)>;
}

/// What a client does on one message: it notes an event, then either
/// starts training (a job and the timer of its modelled compute time) or
/// sends its update. A fixed shape, not a general [`super::Outbox`]: the
/// kernel applies millions of these, and they allocate nothing.
#[derive(Debug)]
pub enum ClientAnswer {
    Train { event: Event, tag: TaskTag, job: TrainJob, done: VirtualTime, order: TaskOrder },
    Send { event: Event, tag: TaskTag, bytes: u64, report: Report },
}

impl ClientShard {
    /// `seeds` is the run's root.
    /// `row_ops`: operations to make one row of a client's data (0 for a table).
    pub fn new(
        first: u32,
        clients: Vec<ClientState>,
        params: usize,
        row_ops: u64,
        network: Network,
        seeds: SeedTree,
    ) -> Self {
        ClientShard { first, clients, params: params as u64, row_ops, network, train: seeds.child("train") }
    }

    fn state(&self, c: u32) -> ClientState {
        self.clients[(c - self.first) as usize]
    }

    /// Handles one message for client `c`, delivered at `now`.
    pub fn on_message(&self, now: VirtualTime, c: u32, msg: ToClient) -> ClientAnswer {
        match msg {
            ToClient::Task(order) => self.on_model(now, c, order),
            ToClient::Trained(order) => self.on_trained(now, c, order),
        }
    }

    /// The model is here: train, as a timer for the modelled compute time
    /// and a job for the real math.
    fn on_model(&self, now: VirtualTime, c: u32, order: TaskOrder) -> ClientAnswer {
        let tag = TaskTag { client: c, serial: order.serial };
        let event = Event::new(now, EventKind::DownloadDone, Some(c), order.version).bytes(order.bytes_down);
        let samples = self.state(c).samples as u64;
        let work = order.training.epochs as u64 * samples;
        let compute_s = self.network.device(c).compute_s(work as f64, order.jitter_s);
        let seed = self.train.task(c, order.serial as u64).random::<u64>();
        let job = TrainJob {
            client: c,
            base: order.model.clone(),
            training: order.training.clone(),
            seed,
            work: work * self.params + samples * self.row_ops,
        };
        let done = now.after(VirtualTime::from_secs_f64(compute_s).as_nanos());
        ClientAnswer::Train { event, tag, job, done, order }
    }

    /// Training is over: send the update.
    fn on_trained(&self, now: VirtualTime, c: u32, order: TaskOrder) -> ClientAnswer {
        let tag = TaskTag { client: c, serial: order.serial };
        let event = Event::new(now, EventKind::ComputeDone, Some(c), order.version);
        let report = Report {
            client: c,
            serial: order.serial,
            base_version: order.version,
            samples: self.state(c).samples,
            base: order.model,
            bytes: order.bytes_up,
            latency_s: order.up_latency_s,
            params: None,
        };
        ClientAnswer::Send { event, tag, bytes: order.bytes_up, report }
    }
}

impl Actor for ClientShard {
    type Context = Context<Self>;
}

impl Handler<Prepare> for ClientShard {
    type Result = MessageResult<Prepare>;

    fn handle(&mut self, batch: Prepare, _ctx: &mut Context<Self>) -> Self::Result {
        MessageResult(batch.0.into_iter().map(|(seq, at, c, msg)| (seq, self.on_message(at, c, msg))).collect())
    }
}
