//! The client actor: one device holding one partition of the data.
//!
//! On a task it draws its timing from the network model with its own
//! streams, submits its local training to the compute pool, and announces
//! its phases and its report (or its disappearance) at the instants the time
//! model gives.

use super::messages::{Deliver, Envelope, Outbox, Report, TaskOrder, ToClient, ToServer};
use crate::data::ClientData;
use crate::model::Architecture;
use crate::net::{Device, TaskRngs};
use crate::sim::{ComputePool, Event, EventKind, Rng, SeedTree, TaskTag, VirtualTime};
use actix::{Actor, Context, Handler, MessageResult};
use rand::RngExt;
use std::sync::Arc;

/// What every client shares: the model, the clients' data and the pool of cores.
pub struct Shared {
    pub arch: Arc<Architecture>,
    pub data: ClientData,
    pub pool: Arc<ComputePool>,
}

pub struct ClientActor {
    id: u32,
    device: Arc<Device>,
    dropout: f64,
    shared: Arc<Shared>,
    net: Rng,
    compute: Rng,
    dropping: Rng,
    train: Rng,
}

impl ClientActor {
    /// `seeds` is the "clients" subtree; each client derives its own streams.
    pub fn new(id: u32, device: Arc<Device>, dropout: f64, shared: Arc<Shared>, seeds: SeedTree) -> Self {
        let mine = |purpose: &str| seeds.child(purpose).stream_for(id as u64);
        ClientActor {
            id,
            device,
            dropout,
            shared,
            net: mine("net"),
            compute: mine("compute"),
            dropping: mine("dropout"),
            train: mine("train"),
        }
    }

    /// Plans the task and returns its messages.
    pub fn on_task(&mut self, now: VirtualTime, order: TaskOrder) -> Outbox {
        let mut out = Outbox::default();
        let tag = TaskTag { client: self.id, serial: order.serial };
        let samples = self.shared.data.samples(self.id);
        let work = order.training.epochs as f64 * samples as f64;
        let plan = self.device.plan_task(
            order.bytes_down,
            order.bytes_up,
            work,
            self.dropout,
            TaskRngs { net: &mut self.net, compute: &mut self.compute, dropout: &mut self.dropping },
        );
        // Offsets are summed before rounding so each instant is within half
        // a nanosecond of the formula.
        let at = |offset_s: f64| now.after(VirtualTime::from_secs_f64(offset_s).as_nanos());
        let downloaded = plan.download_s;
        let computed = plan.download_s + plan.compute_s;
        let phase = |kind, t| Event::new(t, kind, Some(self.id), order.version);
        let cutoff = plan.drop_at_s.unwrap_or(f64::INFINITY);
        if downloaded < cutoff {
            out.log_later(Some(tag), phase(EventKind::DownloadDone, at(downloaded)).bytes(order.bytes_down));
        }
        if computed < cutoff {
            out.log_later(Some(tag), phase(EventKind::ComputeDone, at(computed)));
        }
        if let Some(drop_s) = plan.drop_at_s {
            out.send(
                at(drop_s),
                Some(tag),
                Envelope::Server(ToServer::Dropped { client: self.id, serial: order.serial }),
            );
            return out;
        }
        let seed: u64 = self.train.random();
        // The job holds what it reads, not `Shared`: a pending job must not
        // keep the pool that holds it alive.
        let (arch, data, id) = (self.shared.arch.clone(), self.shared.data.clone(), self.id);
        let (model, training) = (order.model.clone(), order.training);
        let job = self.shared.pool.submit(move || {
            let mut params = model.as_ref().clone();
            data.with_client(id, |train, rows| arch.train(&mut params, train, rows, &training, seed));
            params
        });
        let report = Report {
            client: self.id,
            serial: order.serial,
            base_version: order.version,
            samples,
            base: order.model,
            job,
            bytes: order.bytes_up,
        };
        out.send(at(plan.total_s()), Some(tag), Envelope::Server(ToServer::Report(report)));
        out
    }
}

impl Actor for ClientActor {
    type Context = Context<Self>;
}

impl Handler<Deliver<ToClient>> for ClientActor {
    type Result = MessageResult<Deliver<ToClient>>;

    fn handle(&mut self, d: Deliver<ToClient>, _ctx: &mut Context<Self>) -> Self::Result {
        MessageResult(match d.msg {
            ToClient::Task(order) => self.on_task(d.now, order),
        })
    }
}
