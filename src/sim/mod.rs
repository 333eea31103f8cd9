//! The simulation kernel: virtual time, the seed tree, the event queue and
//! the loop that delivers messages to actors in virtual-time order.
//!
//! It owns *when* things happen and in which order; it knows nothing of
//! learning, networks or strategies.

pub mod seed;
pub mod time;

pub use seed::{Rng, SeedTree};
pub use time::VirtualTime;
