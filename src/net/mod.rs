//! The network and device model: how long a client's task takes, whether it
//! drops out, and when a client is available.
//!
//! It turns the scenario's profiles into per-client [`Device`]s, draws a
//! task's download, compute and upload times (spec section 2) from the
//! client's own streams, answers availability questions, and shares the
//! server's link max-min fairly between concurrent transfers
//! ([`SharedLink`]). It does not schedule anything: the actors put its
//! answers on the virtual clock.

pub mod availability;
pub mod delay;
pub mod device;
pub mod link;

pub use availability::{AvailabilityError, AvailabilityModel};
pub use delay::DelaySampler;
pub use device::{place_profiles, Device, TaskPlan, TaskRngs};
pub use link::{SharedLink, TransferId};
