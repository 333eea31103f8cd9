//! What actors say to each other, and what a handler hands back to the
//! runtime.
//!
//! Handlers never send directly: they return an [`Outbox`] of messages
//! stamped with the virtual instant they arrive, and the runtime queues
//! them. That keeps every actor a pure step function of (state, message,
//! now), which is what makes a run reproducible and its pending state
//! something a checkpoint can hold.

use crate::model::LocalTraining;
use crate::sim::{Event, JobHandle, TaskTag, VirtualTime};
use std::sync::Arc;

/// The server hands a client one task (a sync round's job or one async
/// dispatch). It arrives at the client at the dispatch instant; the client
/// models its own download from there.
#[derive(Debug, Clone)]
pub struct TaskOrder {
    pub serial: u32,
    /// The server version the task starts from.
    pub version: u64,
    pub model: Arc<Vec<f64>>,
    pub bytes_down: u64,
    pub bytes_up: u64,
    pub training: LocalTraining,
}

/// A finished update, arriving at the server.
#[derive(Clone)]
pub struct Report {
    pub client: u32,
    pub serial: u32,
    pub base_version: u64,
    pub samples: usize,
    pub base: Arc<Vec<f64>>,
    /// The local training job; the runtime makes sure it has run before the
    /// report is delivered.
    pub job: JobHandle,
    pub bytes: u64,
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

#[derive(Debug, Clone)]
pub enum ToServer {
    /// The run begins (time 0).
    Start,
    Report(Report),
    /// The client vanished mid-task; the server learns it at that instant.
    Dropped {
        client: u32,
        serial: u32,
    },
    /// A sync round's deadline.
    Deadline {
        version: u64,
    },
    /// A time-based evaluation is due.
    EvalTick,
    /// `stop.virtual_time_s` is reached.
    StopAt,
    /// Some client may have become available.
    Wake,
}

#[derive(Debug, Clone)]
pub enum ToClient {
    Task(TaskOrder),
}

/// Anything that waits in the runtime's queue.
#[derive(Debug, Clone)]
pub enum Envelope {
    Server(ToServer),
    Client(u32, ToClient),
    /// An event that is only written to the log when its instant comes.
    Log(Event),
}

/// Progress, for a progress bar.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Progress {
    pub version: u64,
    pub t: VirtualTime,
    pub accuracy: f64,
}

/// What a handler asks of the runtime.
#[derive(Debug, Default)]
pub struct Outbox {
    /// Messages with their arrival instant and, for a task's messages, its tag.
    pub sends: Vec<(VirtualTime, Option<TaskTag>, Envelope)>,
    /// Events that happen now.
    pub events: Vec<Event>,
    /// Tasks whose pending messages must never arrive.
    pub cancels: Vec<TaskTag>,
    pub progress: Option<Progress>,
    /// The run is over.
    pub halt: bool,
}

impl Outbox {
    pub fn send(&mut self, at: VirtualTime, tag: Option<TaskTag>, envelope: Envelope) {
        self.sends.push((at, tag, envelope));
    }

    pub fn log(&mut self, event: Event) {
        self.events.push(event);
    }

    /// An event written when `event.t` comes (dropped if its task is cancelled).
    pub fn log_later(&mut self, tag: Option<TaskTag>, event: Event) {
        self.sends.push((event.t, tag, Envelope::Log(event)));
    }
}

/// A message delivered at a virtual instant.
pub struct Deliver<M> {
    pub now: VirtualTime,
    pub msg: M,
}

impl<M: Send + 'static> actix::Message for Deliver<M> {
    type Result = Outbox;
}
