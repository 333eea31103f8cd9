//! The federation: the server and client actors on an actix system, and the
//! loop that delivers their messages in virtual-time order.
//!
//! The loop pops the earliest pending message, runs any compute it needs on
//! the pool, delivers it to its actor and waits for the handler's
//! [`Outbox`], whose messages it queues. Exactly one message is in flight
//! at a time, so the order of events depends on virtual time and
//! scheduling order alone, never on threads.

use super::client::ClientActor;
use super::messages::{Deliver, Envelope, Outbox, Progress, ToServer};
use super::server::{Finish, ServerActor, ServerOutcome};
use crate::sim::{Clock, ComputePool, EventQueue, EventSink, VirtualTime};
use actix::{Actor, Addr};
use std::io;
use std::sync::Arc;

#[derive(Debug, thiserror::Error)]
pub enum FederationError {
    #[error("writing the event log: {0}")]
    Log(#[from] io::Error),
    #[error("an actor stopped unexpectedly: {0}")]
    Mailbox(#[from] actix::MailboxError),
    #[error(
        "virtual time stopped advancing at t = {t} s: {messages} messages at that instant, so every task takes no \
         time (ideal devices, or clients without data on instant links) and stop.virtual_time_s can never be \
         reached; set stop.rounds, or give clients.profiles latencies, bandwidths and a finite samples_per_s"
    )]
    Stalled { t: VirtualTime, messages: u64 },
}

/// Totals of the loop itself.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct LoopStats {
    /// Messages delivered to actors.
    pub messages: u64,
    /// Events written to the log.
    pub events: u64,
}

/// The actors of one run, ready to start.
pub struct Federation {
    pub server: ServerActor,
    pub clients: Vec<ClientActor>,
    pub pool: Arc<ComputePool>,
    /// Deliveries at one instant beyond which the run is declared stalled;
    /// `None` when the run has a bound that does not need time to pass.
    pub stall_limit: Option<u64>,
}

impl Federation {
    /// Runs to the end on a fresh actix system; blocks the calling thread.
    pub fn run(
        self,
        sink: &mut dyn EventSink,
        clock: &mut dyn Clock,
        progress: &mut dyn FnMut(Progress),
    ) -> Result<(ServerOutcome, LoopStats), FederationError> {
        // A current-thread runtime without the IO and timer drivers: the
        // clock is ours, and nothing here waits on a socket or a timer, so
        // the drivers would only cost a clock read per poll.
        let system = actix::System::with_tokio_rt(|| {
            tokio::runtime::Builder::new_current_thread().build().expect("a current-thread runtime starts")
        });
        let result = system.block_on(self.run_loop(sink, clock, progress));
        result
    }

    async fn run_loop(
        self,
        sink: &mut dyn EventSink,
        clock: &mut dyn Clock,
        progress: &mut dyn FnMut(Progress),
    ) -> Result<(ServerOutcome, LoopStats), FederationError> {
        let n = self.clients.len();
        let stall_limit = self.stall_limit;
        let server = self.server.start();
        let clients: Vec<Addr<ClientActor>> = self.clients.into_iter().map(Actor::start).collect();
        let pool = self.pool;
        let mut queue: EventQueue<Envelope> = EventQueue::new(n);
        let mut stats = LoopStats::default();
        queue.push(VirtualTime::ZERO, None, Envelope::Server(ToServer::Start));
        let mut now = VirtualTime::ZERO;
        let mut at_now = 0u64;
        while let Some((t, envelope)) = queue.pop() {
            if t > now {
                clock.advance_to(t);
                now = t;
                at_now = 0;
            }
            at_now += 1;
            if stall_limit.is_some_and(|limit| at_now > limit) {
                return Err(FederationError::Stalled { t: now, messages: at_now });
            }
            let outbox: Outbox = match envelope {
                Envelope::Log(event) => {
                    sink.record(&event)?;
                    stats.events += 1;
                    continue;
                }
                Envelope::Server(msg) => {
                    if let ToServer::Report(r) = &msg {
                        if !r.job.is_ready() {
                            pool.flush();
                        }
                    }
                    server.send(Deliver { now, msg }).await?
                }
                Envelope::Client(c, msg) => clients[c as usize].send(Deliver { now, msg }).await?,
            };
            stats.messages += 1;
            for event in &outbox.events {
                sink.record(event)?;
            }
            stats.events += outbox.events.len() as u64;
            if let Some(p) = outbox.progress {
                progress(p);
            }
            for tag in outbox.cancels {
                queue.cancel(tag);
            }
            if outbox.halt {
                break;
            }
            for (at, tag, envelope) in outbox.sends {
                queue.push(at, tag, envelope);
            }
        }
        let (outcome, events) = server.send(Finish { now }).await?;
        for event in &events {
            sink.record(event)?;
        }
        stats.events += events.len() as u64;
        Ok((outcome, stats))
    }
}
