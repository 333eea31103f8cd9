//! The actors: the server, the clients, the messages between them, and the
//! federation that runs them on a virtual clock.
//!
//! Actors own the protocol (who says what, when); the math they call lives
//! in `model` and `strategy`, the timing in `net`, the clock and queue in
//! `sim`.

pub mod client;
pub mod federation;
pub mod idle;
pub mod messages;
pub mod server;

pub use client::{ClientActor, Shared};
pub use federation::{Federation, FederationError, LoopStats};
pub use messages::{Envelope, Outbox, Progress, ToClient, ToServer};
pub use server::{ServerActor, ServerConfig, ServerOutcome, StopReason};
