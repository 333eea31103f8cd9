//! Strategies: how the server schedules work and folds updates into its model.
//!
//! A strategy is a small trait the server actor calls: it says how work is
//! dispatched ([`Schedule`]: sync rounds or a continuous pool of busy
//! clients), folds in each update as it arrives, says when the model should
//! advance (async), and applies what it has gathered. Sync and async
//! strategies share the same actors and network; only this trait differs.

mod asynchronous;
mod fedavg;
mod robust;
mod server_opt;
mod staleness;

pub use asynchronous::{FedAsync, FedBuff};
pub use fedavg::{weighted_mean, FedAvg, WeightedSum};
pub use robust::{krum_select, median, trimmed_mean, Robust, Rule};
pub use server_opt::{ServerOptimizer, ServerRule};
pub use staleness::staleness_weight;

use crate::model::LocalTraining;
use crate::scenario::{StrategyKind, StrategySpec};
use crate::sim::VirtualTime;
use std::sync::Arc;

/// One client's finished local training, as the server receives it.
#[derive(Debug, Clone)]
pub struct Update {
    pub client: u32,
    /// Local sample count (FedAvg's weight).
    pub samples: usize,
    /// The client's parameters after local training.
    pub params: Vec<f64>,
    /// The global model the client started from.
    pub base: Arc<Vec<f64>>,
    pub base_version: u64,
    /// Server version at arrival minus `base_version`.
    pub staleness: u64,
}

/// How the server hands out work.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Schedule {
    /// Sync rounds (spec section 2).
    Rounds {
        clients_per_round: usize,
        over_selection: f64,
        /// Relative to the round's start.
        deadline: Option<VirtualTime>,
    },
    /// Async: keep this many clients busy, fold updates as they arrive.
    Continuous { concurrency: usize, max_staleness: Option<u64> },
}

/// The server's pluggable aggregation logic.
pub trait Strategy: Send {
    /// The spec's name of this strategy.
    fn name(&self) -> &'static str;

    fn schedule(&self) -> Schedule;

    /// What clients run locally (FedProx adds its proximal term here).
    fn local_training(&self, base: LocalTraining) -> LocalTraining {
        base
    }

    /// Takes in one update.
    fn fold(&mut self, update: Update);

    /// Async: whether the model should advance now. Sync rounds ignore it:
    /// the server closes a round by the spec's rules.
    fn ready(&self) -> bool {
        false
    }

    /// Applies what was folded since the last call to the global model;
    /// returns how many updates went in. With none, the model is unchanged.
    fn aggregate(&mut self, global: &mut [f64]) -> usize;
}

/// The strategy a scenario asks for.
pub fn build(spec: &StrategySpec) -> Box<dyn Strategy> {
    let rounds = Schedule::Rounds {
        clients_per_round: spec.clients_per_round,
        over_selection: spec.over_selection,
        deadline: spec.deadline_s.map(VirtualTime::from_secs_f64),
    };
    let pool = Schedule::Continuous { concurrency: spec.concurrency, max_staleness: spec.max_staleness };
    let eta = spec.server_learning_rate;
    let adaptive = |name, rule| Box::new(ServerOptimizer::new(name, rounds, rule, eta, spec.tau));
    let robust = |name, rule| Box::new(Robust::new(name, rounds, rule));
    let (beta1, beta2) = (spec.beta1, spec.beta2);
    match spec.kind {
        StrategyKind::FedAvg => Box::new(FedAvg::new(rounds)),
        StrategyKind::FedProx => Box::new(FedProx { inner: FedAvg::new(rounds), mu: spec.mu }),
        StrategyKind::FedAvgM => Box::new(ServerOptimizer::new(
            "fedavgm",
            rounds,
            ServerRule::Momentum { momentum: spec.server_momentum },
            eta,
            0.0,
        )),
        StrategyKind::FedAdagrad => adaptive("fedadagrad", ServerRule::Adagrad { beta1 }),
        StrategyKind::FedAdam => adaptive("fedadam", ServerRule::Adam { beta1, beta2 }),
        StrategyKind::FedYogi => adaptive("fedyogi", ServerRule::Yogi { beta1, beta2 }),
        StrategyKind::FedMedian => robust("fedmedian", Rule::Median),
        StrategyKind::TrimmedMean => robust("trimmed_mean", Rule::TrimmedMean { beta: spec.trim_fraction }),
        StrategyKind::Krum => robust("krum", Rule::Krum { byzantine: spec.byzantine, keep: 1 }),
        StrategyKind::MultiKrum => robust("multikrum", Rule::Krum { byzantine: spec.byzantine, keep: spec.keep }),
        StrategyKind::FedAsync => Box::new(FedAsync::new(pool, spec.mixing, spec.staleness)),
        StrategyKind::FedBuff => {
            Box::new(FedBuff::new(pool, spec.buffer_size, spec.server_learning_rate, spec.staleness))
        }
    }
}

/// FedProx (Li et al. 2020): FedAvg on the server; clients add the
/// proximal term `mu (w - x_start)` to every local gradient.
pub struct FedProx {
    inner: FedAvg,
    mu: f64,
}

impl Strategy for FedProx {
    fn name(&self) -> &'static str {
        "fedprox"
    }

    fn schedule(&self) -> Schedule {
        self.inner.schedule()
    }

    fn local_training(&self, base: LocalTraining) -> LocalTraining {
        LocalTraining { prox_mu: self.mu, ..base }
    }

    fn fold(&mut self, update: Update) {
        self.inner.fold(update);
    }

    fn aggregate(&mut self, global: &mut [f64]) -> usize {
        self.inner.aggregate(global)
    }
}
