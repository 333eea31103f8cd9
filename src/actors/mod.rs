//! The actors: the server, the client shards, the messages between them,
//! and the kernel that runs them on a virtual clock.
//!
//! Actors own the protocol (who says what, when); the math they call lives
//! in `model` and `strategy`, the links in `net`, the clock and queue in
//! `sim`.

pub mod drive;
pub mod federation;
pub mod messages;
pub mod server;
pub mod shard;

pub use federation::{Control, Federation, FederationError, KernelState, LoopStats, Restart, Snapshot};
pub use messages::{Deliver, Envelope, Outbox, Progress, ToClient, ToServer};
pub use server::{ServerActor, ServerConfig, ServerOutcome, StopReason};
pub use shard::{ClientShard, ClientState, TrainJob};
