//! fedsim: federated learning simulated as a system of actors on a
//! deterministic virtual clock.
//!
//! A scenario (YAML, see `scenario`) describes the data, the clients and
//! their devices and links, the model, the local training, the server's
//! strategy and when to stop. `run::run` turns it into actors (`actors`)
//! that exchange messages through the network model (`net`) on a virtual
//! clock (`sim`); the learning itself is real (`model`, `data`,
//! `strategy`), and a run leaves its metrics and event log (`report`).

pub mod actors;
pub mod audit;
pub mod byzantine;
pub mod checkpoint;
pub mod cluster;
pub mod data;
pub mod experiment;
pub mod metrics;
pub mod model;
pub mod net;
pub mod privacy;
pub mod report;
pub mod run;
pub mod scenario;
pub mod sim;
pub mod strategy;
pub mod watch;
