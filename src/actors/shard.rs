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
//! a training job's seed and its timer, or the update to send), which the kernel
//! applies at the message's own instant. So the kernel hands a shard every client
//! message waiting in its queue in one batch, instants ahead, and keeps the
//! answers until their instants come (or drops them if their task is
//! cancelled first): one actor round trip serves hundreds of messages.

use super::messages::{secure_dropout_index, SecureDown, SecureMemory, SecureUp, TaskOrder, ToClient};
use crate::byzantine::Attackers;
use crate::data::ClientData;
use crate::model::{Architecture, LocalTraining, OptimizerState};
use crate::net::Network;
use crate::privacy::secagg;
use crate::privacy::ClientPipeline;
use crate::sim::{Event, EventKind, Handle, SeedTree, TaskTag, VirtualTime};
use actix::{Actor, Context, Handler, MessageResult};
use rand::{Rng, RngExt};
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
    /// The L2 norm the update is clipped to (infinite without DP).
    pub clip_norm: f64,
    /// Error feedback: what compression left out of the client's last
    /// update (filled in by the kernel when the job is submitted).
    pub residual: Option<Arc<Vec<f64>>>,
    /// `keep_state` optimisers: the client's optimiser state from its last
    /// task (filled in by the kernel when the job is submitted; none = zeros).
    pub optimizer: Option<Arc<OptimizerState>>,
}

/// A finished job: the parameters the client sends (clipped, noised and
/// compressed as its pipeline says), and what it keeps.
#[derive(Debug, Clone)]
pub struct Trained {
    pub params: Vec<f64>,
    /// The update was within the clip norm (adaptive clipping).
    pub unclipped: bool,
    /// Error feedback: the client's next residual.
    pub residual: Option<Vec<f64>>,
    /// `keep_state` optimisers: the client's state for its next task.
    pub optimizer: Option<OptimizerState>,
}

impl TrainJob {
    /// The function the compute pool runs jobs with.
    /// `attackers`: the run's Byzantine clients, whose updates it poisons.
    pub fn runner(
        arch: Arc<Architecture>,
        data: ClientData,
        pipeline: Arc<ClientPipeline>,
        attackers: Option<Arc<Attackers>>,
    ) -> crate::sim::Runner<TrainJob, Trained> {
        Arc::new(move |j: &TrainJob| {
            let mut params = j.base.as_ref().clone();
            let keep = j.training.optimizer.keeps_state();
            let mut state = match &j.optimizer {
                Some(s) if keep => s.as_ref().clone(),
                _ => OptimizerState::default(),
            };
            let attacker = attackers.as_deref().filter(|a| a.is_attacker(j.client));
            data.with_client(j.client, |d, rows| match attacker {
                Some(a) if a.flips_labels(j.client) => {
                    // Its own rows, in the same order, each label mirrored.
                    let local = d.flipped_subset(rows);
                    let all: Vec<u32> = (0..rows.len() as u32).collect();
                    arch.train_with(&mut params, &local, &all, &j.training, j.seed, &mut state)
                }
                _ => arch.train_with(&mut params, d, rows, &j.training, j.seed, &mut state),
            });
            if let Some(a) = attacker {
                a.poison(&j.base, &mut params, SeedTree::new(j.seed));
            }
            let out = pipeline.apply(
                &j.base,
                &mut params,
                j.clip_norm,
                j.residual.as_deref().map(Vec::as_slice),
                SeedTree::new(j.seed),
            );
            Trained { params, unclipped: out.unclipped, residual: out.residual, optimizer: keep.then_some(state) }
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
    /// Secure aggregation: each client's key seeds, and its vanishing.
    secure: SeedTree,
    /// Secure aggregation: the chance to vanish at each later phase.
    phase_dropout: f64,
}

/// A client message as its shard reads it, ahead of its instant: the
/// message stays in the kernel's queue until then, and a client's memory
/// between secure-aggregation phases stays in the kernel's keeping (the
/// answer may yet be dropped, the task cancelled first, and a checkpoint
/// must still find both).
pub struct Arrival<'m> {
    /// The message's place in the queue.
    pub handle: Handle,
    pub at: VirtualTime,
    pub client: u32,
    pub msg: &'m ToClient,
    /// Secure aggregation: what the client kept from the phase before.
    pub memory: Option<&'m SecureMemory>,
}

/// Client messages for one shard; the answer is one [`ClientAnswer`] per
/// message, by handle.
pub struct Prepare<'m>(pub Vec<Arrival<'m>>);

impl actix::Message for Prepare<'_> {
    type Result = Vec<(Handle, ClientAnswer)>;
}

/// What a client does on one message: it notes an event, then either
/// starts training (the seed and size of its job, and the timer of its
/// modelled compute time) or sends its update. The answer names what the
/// client decided, not the payloads: the kernel still holds the message
/// (the order, with its model), and builds the job or the report from it
/// ([`TrainJob::for_task`], [`super::messages::Report::for_task`]). A
/// fixed shape, not a general [`super::Outbox`], small (the kernel moves
/// millions of these), that allocates nothing outside secure aggregation.
#[derive(Debug)]
pub enum ClientAnswer {
    /// The model is in: train until `done`.
    Train {
        event: Event,
        done: VirtualTime,
        /// The job's seed and its estimated operations.
        seed: u64,
        work: u64,
    },
    /// Training is over: send the update.
    Send { event: Event, samples: u32 },
    /// Secure aggregation: a message to the server, and what the client
    /// keeps until the next phase.
    Secure { event: Option<Box<Event>>, tag: TaskTag, up: Box<SecureUp>, memory: Box<SecureMemory> },
    /// Secure aggregation: the client vanishes between phases.
    Vanish { tag: TaskTag },
}

impl TrainJob {
    /// Client `c`'s job for the task `order` (see [`ClientAnswer::Train`]).
    pub fn for_task(c: u32, order: &TaskOrder, seed: u64, work: u64) -> Self {
        TrainJob {
            client: c,
            base: order.model.clone(),
            training: order.training.clone(),
            seed,
            work,
            clip_norm: order.clip_norm,
            residual: None,
            optimizer: None,
        }
    }
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
        phase_dropout: f64,
    ) -> Self {
        ClientShard {
            first,
            clients,
            params: params as u64,
            row_ops,
            network,
            train: seeds.child("train"),
            secure: seeds.child("privacy.secagg"),
            phase_dropout,
        }
    }

    fn state(&self, c: u32) -> ClientState {
        self.clients[(c - self.first) as usize]
    }

    /// Handles one message.
    pub fn on_message(&self, a: &Arrival<'_>) -> ClientAnswer {
        match a.msg {
            ToClient::Task(order) => self.on_model(a.at, a.client, order),
            ToClient::Trained(order) => self.on_trained(a.at, a.client, order),
            ToClient::Secure { serial, msg } => {
                let tag = TaskTag { client: a.client, serial: *serial };
                match a.memory {
                    Some(memory) => self.on_secure(tag, msg, Box::new(memory.clone())),
                    None => ClientAnswer::Vanish { tag },
                }
            }
        }
    }

    /// A secure-aggregation phase: the client answers the server's
    /// message with the next step of the protocol, or vanishes. A step
    /// that fails (a message it cannot use) ends its part as vanishing
    /// would: an honest client stops rather than reveal anything.
    fn on_secure(&self, tag: TaskTag, msg: &SecureDown, mut memory: Box<SecureMemory>) -> ClientAnswer {
        let draw = secure_dropout_index(tag.serial, msg.phase());
        if self.phase_dropout > 0.0
            && self.secure.child("dropout").task(tag.client, draw).random::<f64>() < self.phase_dropout
        {
            return ClientAnswer::Vanish { tag };
        }
        let m = &mut *memory;
        let up = match msg {
            SecureDown::KeyList(roster) => m.state.share_keys(roster).map(SecureUp::ShareKeys),
            SecureDown::Shares(bundle) => {
                let trained = m.trained.as_deref().unwrap_or(&m.base);
                let input = m.task.encode(&m.base, trained, m.samples, m.unclipped);
                m.state.masked_input(bundle, &input).map(SecureUp::MaskedInput)
            }
            SecureDown::Survivors(request) => m.state.unmask(request).map(SecureUp::UnmaskShares),
        };
        match up {
            Ok(up) => ClientAnswer::Secure { event: None, tag, up: Box::new(up), memory },
            Err(_) => ClientAnswer::Vanish { tag },
        }
    }

    /// The model is here: train, as a timer for the modelled compute time
    /// and a job for the real math.
    fn on_model(&self, now: VirtualTime, c: u32, order: &TaskOrder) -> ClientAnswer {
        let event = Event::new(now, EventKind::DownloadDone, Some(c), order.version).bytes(order.bytes_down);
        let samples = self.state(c).samples as u64;
        let work = order.training.epochs as u64 * samples;
        let compute_s = self.network.device(c).compute_s(work as f64, order.jitter_s);
        let seed = self.train.task(c, order.serial as u64).random::<u64>();
        let done = now.after(VirtualTime::from_secs_f64(compute_s).as_nanos());
        ClientAnswer::Train { event, done, seed, work: work * self.params + samples * self.row_ops }
    }

    /// Training is over: send the update (or, under secure aggregation,
    /// advertise the round's keys and keep the update).
    fn on_trained(&self, now: VirtualTime, c: u32, order: &TaskOrder) -> ClientAnswer {
        let event = Event::new(now, EventKind::ComputeDone, Some(c), order.version);
        let samples = self.state(c).samples;
        let Some(&task) = order.secure.as_deref() else { return ClientAnswer::Send { event, samples } };
        let tag = TaskTag { client: c, serial: order.serial };
        let mut seed = [0u8; 32];
        self.secure.child("keys").task(c, order.serial as u64).fill_bytes(&mut seed);
        let (state, keys) = secagg::advertise(c, &task.config, seed);
        let memory = SecureMemory { state, task, base: order.model.clone(), samples, trained: None, unclipped: true };
        ClientAnswer::Secure {
            event: Some(Box::new(event)),
            tag,
            up: Box::new(SecureUp::AdvertiseKeys(keys)),
            memory: Box::new(memory),
        }
    }
}

impl Actor for ClientShard {
    type Context = Context<Self>;
}

impl<'m> Handler<Prepare<'m>> for ClientShard {
    type Result = MessageResult<Prepare<'m>>;

    fn handle(&mut self, batch: Prepare<'m>, _ctx: &mut Context<Self>) -> Self::Result {
        MessageResult(batch.0.iter().map(|a| (a.handle, self.on_message(a))).collect())
    }
}
