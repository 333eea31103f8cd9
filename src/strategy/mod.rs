//! Strategies: how the server schedules work and folds updates into its model.
//!
//! A strategy is a small trait the server actor calls: it says how work is
//! dispatched ([`Schedule`]: sync rounds or a continuous pool of busy
//! clients), folds in each update as it arrives, says when the model should
//! advance (async), and applies what it has gathered. Sync and async
//! strategies share the same actors and network; only this trait differs.
//!
//! [`build`] returns an [`AnyStrategy`]: a plain enum of the built-in
//! strategies whose whole state (running sums, buffers, optimiser moments,
//! a pending update) derives serde, so a checkpoint can save it mid-round
//! and a resumed run aggregates bit for bit what the uninterrupted one
//! would have.

mod asynchronous;
mod fedavg;
mod robust;
mod saved;
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
use serde::{Deserialize, Serialize};
use std::sync::Arc;

/// One client's finished local training, as the server receives it.
///
/// Serialised, `base` is saved by value: updates that shared one base model
/// come back with a copy each.
#[derive(Debug, Clone, Serialize, Deserialize)]
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
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub enum Schedule {
    /// Sync rounds (spec section 2).
    Rounds {
        clients_per_round: usize,
        over_selection: f64,
        /// Relative to the round's start.
        #[serde(with = "saved::opt_time")]
        deadline: Option<VirtualTime>,
        /// Each client joins with probability `clients_per_round / clients`
        /// (and the round waits for every one of them), instead of a
        /// fixed-size draw.
        poisson: bool,
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

    /// Adds `noise` to the running sum of the updates folded since the
    /// last aggregation (DP's Gaussian on the sum); false if this strategy
    /// does not aggregate a sum.
    fn perturb(&mut self, _noise: &[f64]) -> bool {
        false
    }

    /// Folds `count` updates that all started from `base`, known only by
    /// their sum (secure aggregation): `weighted_delta` is the sum of
    /// `w_i (params_i - base)` and `weight` the sum of the `w_i`. False if
    /// this strategy needs the updates one by one.
    fn fold_sum(&mut self, _base: &[f64], _weighted_delta: &[f64], _weight: f64, _count: usize) -> bool {
        false
    }

    /// Applies what was folded since the last call to the global model;
    /// returns how many updates went in. With none, the model is unchanged.
    fn aggregate(&mut self, global: &mut [f64]) -> usize;

    /// Forgets what was folded since the last aggregation (the server went
    /// down and lost it); the strategy's own state (moments, momentum)
    /// stays.
    fn discard(&mut self);
}

/// Every built-in strategy, as one concrete type that can be saved.
///
/// It implements [`Strategy`] by handing each call to the strategy it
/// holds; serialise it with any serde format (checkpoints use postcard,
/// which keeps every `f64` exact).
///
/// ```
/// use fedsim::strategy::{AnyStrategy, FedAvg, Schedule, Strategy, Update};
/// use std::sync::Arc;
/// let mut s = AnyStrategy::from(FedAvg::new(Schedule::Continuous { concurrency: 1, max_staleness: None }));
/// let u = |samples, x| Update { client: 0, samples, params: vec![x], base: Arc::new(vec![0.0]), base_version: 0, staleness: 0 };
/// s.fold(u(1, 1.0));
/// // Saved mid-round and restored, it aggregates the same.
/// let mut back: AnyStrategy = postcard::from_bytes(&postcard::to_stdvec(&s).unwrap()).unwrap();
/// for s in [&mut s, &mut back] {
///     s.fold(u(3, 5.0));
///     let mut global = vec![0.0];
///     assert_eq!(s.aggregate(&mut global), 2);
///     assert_eq!(global, vec![4.0]);
/// }
/// ```
#[derive(Debug, Clone, Serialize, Deserialize)]
pub enum AnyStrategy {
    FedAvg(FedAvg),
    FedProx(FedProx),
    /// FedAvgM, FedAdagrad, FedAdam, FedYogi.
    ServerOpt(ServerOptimizer),
    /// FedMedian, trimmed mean, Krum, Multi-Krum.
    Robust(Robust),
    FedAsync(FedAsync),
    FedBuff(FedBuff),
}

/// Calls the same expression on whichever strategy `$any` holds.
macro_rules! each {
    ($any:expr, $s:ident => $call:expr) => {
        match $any {
            AnyStrategy::FedAvg($s) => $call,
            AnyStrategy::FedProx($s) => $call,
            AnyStrategy::ServerOpt($s) => $call,
            AnyStrategy::Robust($s) => $call,
            AnyStrategy::FedAsync($s) => $call,
            AnyStrategy::FedBuff($s) => $call,
        }
    };
}

impl Strategy for AnyStrategy {
    fn name(&self) -> &'static str {
        each!(self, s => s.name())
    }

    fn schedule(&self) -> Schedule {
        each!(self, s => s.schedule())
    }

    fn local_training(&self, base: LocalTraining) -> LocalTraining {
        each!(self, s => s.local_training(base))
    }

    fn fold(&mut self, update: Update) {
        each!(self, s => s.fold(update))
    }

    fn ready(&self) -> bool {
        each!(self, s => s.ready())
    }

    fn perturb(&mut self, noise: &[f64]) -> bool {
        each!(self, s => s.perturb(noise))
    }

    fn fold_sum(&mut self, base: &[f64], weighted_delta: &[f64], weight: f64, count: usize) -> bool {
        each!(self, s => s.fold_sum(base, weighted_delta, weight, count))
    }

    fn aggregate(&mut self, global: &mut [f64]) -> usize {
        each!(self, s => s.aggregate(global))
    }

    fn discard(&mut self) {
        each!(self, s => s.discard())
    }
}

macro_rules! any_from {
    ($($variant:ident($ty:ty)),*) => {
        $(impl From<$ty> for AnyStrategy {
            fn from(s: $ty) -> Self {
                AnyStrategy::$variant(s)
            }
        })*
    };
}

any_from!(
    FedAvg(FedAvg),
    FedProx(FedProx),
    ServerOpt(ServerOptimizer),
    Robust(Robust),
    FedAsync(FedAsync),
    FedBuff(FedBuff)
);

/// The strategy a scenario asks for.
pub fn build(spec: &StrategySpec) -> AnyStrategy {
    let rounds = Schedule::Rounds {
        clients_per_round: spec.clients_per_round,
        over_selection: spec.over_selection,
        deadline: spec.deadline_s.map(VirtualTime::from_secs_f64),
        poisson: spec.selection == crate::scenario::SelectionKind::Poisson,
    };
    let pool = Schedule::Continuous { concurrency: spec.concurrency, max_staleness: spec.max_staleness };
    let eta = spec.server_learning_rate;
    // Names come from the scenario's own enum: one spelling per strategy.
    let name = spec.kind.name();
    let adaptive = |rule| AnyStrategy::ServerOpt(ServerOptimizer::new(name, rounds, rule, eta, spec.tau));
    let robust = |rule| AnyStrategy::Robust(Robust::new(name, rounds, rule));
    let (beta1, beta2) = (spec.beta1, spec.beta2);
    match spec.kind {
        StrategyKind::FedAvg => AnyStrategy::FedAvg(FedAvg::new(rounds)),
        StrategyKind::FedProx => AnyStrategy::FedProx(FedProx::new(rounds, spec.mu)),
        StrategyKind::FedAvgM => AnyStrategy::ServerOpt(ServerOptimizer::new(
            name,
            rounds,
            ServerRule::Momentum { momentum: spec.server_momentum },
            eta,
            0.0,
        )),
        StrategyKind::FedAdagrad => adaptive(ServerRule::Adagrad { beta1 }),
        StrategyKind::FedAdam if spec.flower_compat => adaptive(ServerRule::FlowerAdam { beta1, beta2, round: 0 }),
        StrategyKind::FedAdam => adaptive(ServerRule::Adam { beta1, beta2 }),
        StrategyKind::FedYogi => adaptive(ServerRule::Yogi { beta1, beta2 }),
        StrategyKind::FedMedian => robust(Rule::Median),
        StrategyKind::TrimmedMean => robust(Rule::TrimmedMean { beta: spec.trim_fraction }),
        StrategyKind::Krum => robust(Rule::Krum { byzantine: spec.byzantine, keep: 1 }),
        StrategyKind::MultiKrum => robust(Rule::Krum { byzantine: spec.byzantine, keep: spec.keep }),
        StrategyKind::FedAsync => AnyStrategy::FedAsync(FedAsync::new(pool, spec.mixing, spec.staleness)),
        StrategyKind::FedBuff => {
            AnyStrategy::FedBuff(FedBuff::new(pool, spec.buffer_size, spec.server_learning_rate, spec.staleness))
        }
    }
}

/// FedProx (Li et al. 2020): FedAvg on the server; clients add the
/// proximal term `mu (w - x_start)` to every local gradient.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct FedProx {
    inner: FedAvg,
    mu: f64,
}

impl FedProx {
    /// FedAvg with proximal coefficient `mu` (>= 0) on the clients.
    pub fn new(schedule: Schedule, mu: f64) -> Self {
        FedProx { inner: FedAvg::new(schedule), mu }
    }
}

impl Strategy for FedProx {
    fn discard(&mut self) {
        self.inner.discard();
    }

    fn name(&self) -> &'static str {
        StrategyKind::FedProx.name()
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

    fn perturb(&mut self, noise: &[f64]) -> bool {
        self.inner.perturb(noise)
    }

    fn fold_sum(&mut self, base: &[f64], weighted_delta: &[f64], weight: f64, count: usize) -> bool {
        self.inner.fold_sum(base, weighted_delta, weight, count)
    }

    fn aggregate(&mut self, global: &mut [f64]) -> usize {
        self.inner.aggregate(global)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scenario::Staleness;

    const ROUNDS: Schedule = Schedule::Rounds {
        clients_per_round: 4,
        over_selection: 1.0,
        deadline: Some(VirtualTime::from_nanos(30_000_000_123)),
        poisson: false,
    };
    const POOL: Schedule = Schedule::Continuous { concurrency: 3, max_staleness: Some(4) };
    const ROBUST_RULES: [Rule; 3] =
        [Rule::Median, Rule::TrimmedMean { beta: 0.2 }, Rule::Krum { byzantine: 1, keep: 1 }];

    /// The k-th of a fixed stream of updates: awkward values (so that any
    /// lost bit shows), varied sample counts, bases and staleness.
    fn update(k: u64) -> Update {
        let x = |i: u64| ((k * 7 + i * 13) as f64 * 0.618_033_988_749_895).sin() / 3.0 + 1e-3 * k as f64;
        Update {
            client: k as u32,
            samples: 17 + (k as usize * 29) % 61,
            params: (0..5).map(x).collect(),
            base: Arc::new((0..5).map(|i| x(i + 40) * 0.5).collect()),
            base_version: k / 3,
            staleness: k % 4,
        }
    }

    fn save(s: &AnyStrategy) -> Vec<u8> {
        postcard::to_stdvec(s).expect("a strategy serialises")
    }

    /// Drives `s` through two rounds and a half (so running sums,
    /// moments and buffers all hold something), saves and restores it
    /// mid-round, then runs the copy and the original on: every later
    /// aggregate must match bit for bit.
    fn resumes_bit_identically(mut s: AnyStrategy) {
        let mut global = vec![0.25, -0.5, 0.125, 1.0, -2.0];
        let mut k = 0;
        let mut round = |s: &mut AnyStrategy, global: &mut Vec<f64>, folds: u64| {
            for _ in 0..folds {
                s.fold(update(k));
                k += 1;
            }
            s.aggregate(global)
        };
        round(&mut s, &mut global, 3);
        round(&mut s, &mut global, 4);
        s.fold(update(100));
        s.fold(update(101));

        let bytes = save(&s);
        let mut back: AnyStrategy = postcard::from_bytes(&bytes).expect("a saved strategy restores");
        assert_eq!(save(&back), bytes, "the restored state saves to the same bytes");
        assert_eq!((back.name(), back.schedule(), back.ready()), (s.name(), s.schedule(), s.ready()));
        let base = LocalTraining {
            epochs: 1,
            batch_size: 32,
            learning_rate: 0.1,
            shuffle: false,
            weight_decay: 0.0,
            prox_mu: 0.0,
            optimizer: crate::model::OptimizerSpec::Sgd,
        };
        assert_eq!(back.local_training(base), s.local_training(base));

        let mut resumed = global.clone();
        for (folds, first) in [(1, 102), (3, 200), (2, 300)] {
            for i in 0..folds {
                s.fold(update(first + i));
                back.fold(update(first + i));
            }
            assert_eq!(s.ready(), back.ready());
            assert_eq!(s.aggregate(&mut global), back.aggregate(&mut resumed));
            let bits = |v: &[f64]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
            assert_eq!(bits(&global), bits(&resumed), "{} after a restore", s.name());
        }
        assert!(global.iter().all(|x| x.is_finite()));
    }

    #[test]
    fn fedavg_resumes_bit_identically() {
        resumes_bit_identically(FedAvg::new(ROUNDS).into());
    }

    #[test]
    fn fedprox_resumes_bit_identically() {
        resumes_bit_identically(FedProx::new(ROUNDS, 0.01).into());
    }

    #[test]
    fn server_optimizers_resume_bit_identically() {
        let rules = [
            ("fedavgm", ServerRule::Momentum { momentum: 0.9 }, 0.0),
            ("fedadagrad", ServerRule::Adagrad { beta1: 0.0 }, 1e-3),
            ("fedadam", ServerRule::Adam { beta1: 0.9, beta2: 0.99 }, 1e-3),
            ("fedyogi", ServerRule::Yogi { beta1: 0.9, beta2: 0.99 }, 1e-3),
        ];
        for (name, rule, tau) in rules {
            resumes_bit_identically(ServerOptimizer::new(name, ROUNDS, rule, 0.1, tau).into());
        }
    }

    #[test]
    fn robust_rules_resume_bit_identically() {
        let rules = [
            ("fedmedian", Rule::Median),
            ("trimmed_mean", Rule::TrimmedMean { beta: 0.2 }),
            ("krum", Rule::Krum { byzantine: 0, keep: 1 }),
            ("multikrum", Rule::Krum { byzantine: 0, keep: 2 }),
        ];
        for (name, rule) in rules {
            resumes_bit_identically(Robust::new(name, ROUNDS, rule).into());
        }
    }

    #[test]
    fn fedasync_resumes_bit_identically() {
        resumes_bit_identically(FedAsync::new(POOL, 0.6, Staleness::Polynomial { a: 0.5 }).into());
        // Saved between an arrival and its mixing-in: the pending update
        // is part of the state.
        let mut s: AnyStrategy = FedAsync::new(POOL, 0.6, Staleness::Hinge { a: 10.0, b: 1.0 }).into();
        s.fold(update(3));
        let mut back: AnyStrategy = postcard::from_bytes(&save(&s)).unwrap();
        assert!(back.ready());
        let (mut a, mut b) = (vec![1.0; 5], vec![1.0; 5]);
        assert_eq!((s.aggregate(&mut a), back.aggregate(&mut b)), (1, 1));
        assert_eq!(a, b);
    }

    #[test]
    fn fedbuff_resumes_bit_identically() {
        resumes_bit_identically(FedBuff::new(POOL, 3, 1.0, Staleness::Polynomial { a: 0.5 }).into());
        resumes_bit_identically(FedBuff::new(POOL, 2, 0.7, Staleness::Constant).into());
    }

    #[test]
    fn a_hand_named_strategy_keeps_its_name() {
        let s: AnyStrategy = Robust::new("my_median", ROUNDS, Rule::Median).into();
        let back: AnyStrategy = postcard::from_bytes(&save(&s)).unwrap();
        assert_eq!(back.name(), "my_median");
    }

    /// The robust rules aggregate no sum, so they decline DP's noise on
    /// one and a sum of masked updates (validation admits `privacy.dp` and
    /// secure aggregation only with summing strategies): `perturb` and
    /// `fold_sum` say false and the aggregate is as without them.
    #[test]
    fn robust_rules_decline_noise_on_a_sum() {
        for rule in ROBUST_RULES {
            let mut noised: AnyStrategy = Robust::new("r", ROUNDS, rule).into();
            let mut clean = noised.clone();
            for k in 0..5 {
                noised.fold(update(k));
                clean.fold(update(k));
            }
            assert!(!noised.perturb(&[1e6; 5]), "{rule:?}");
            assert!(!noised.fold_sum(&[0.0; 5], &[1e6; 5], 1.0, 1), "{rule:?}");
            let (mut a, mut b) = (vec![0.0; 5], vec![0.0; 5]);
            assert_eq!(noised.aggregate(&mut a), clean.aggregate(&mut b));
            assert_eq!(a, b, "{rule:?}");
        }
    }

    /// A round lost to `server_down` leaves nothing behind in a robust
    /// rule: the restarted round aggregates its own updates only.
    #[test]
    fn robust_rules_forget_a_discarded_round() {
        for rule in ROBUST_RULES {
            let mut s: AnyStrategy = Robust::new("r", ROUNDS, rule).into();
            let mut fresh = s.clone();
            for k in 0..5 {
                s.fold(update(k));
            }
            s.discard();
            let mut global = vec![0.5; 5];
            assert_eq!(s.aggregate(&mut global), 0, "{rule:?}");
            assert_eq!(global, [0.5; 5]);
            for k in 5..10 {
                s.fold(update(k));
                fresh.fold(update(k));
            }
            let (mut a, mut b) = (vec![0.0; 5], vec![0.0; 5]);
            assert_eq!((s.aggregate(&mut a), fresh.aggregate(&mut b)), (5, 5), "{rule:?}");
            assert_eq!(a, b, "{rule:?}");
        }
    }

    /// FedAvg, FedProx and the server optimisers (which wrap it; FedAvgM
    /// with no momentum and a unit step is the mean) and the enum over
    /// them hand every call through: a known sum is folded, noised,
    /// averaged and dropped the same way by each.
    #[test]
    fn wrappers_pass_every_call_through() {
        let fedavgm = ServerOptimizer::new("fedavgm", ROUNDS, ServerRule::Momentum { momentum: 0.0 }, 1.0, 0.0);
        for mut s in [
            AnyStrategy::FedAvg(FedAvg::new(ROUNDS)),
            AnyStrategy::FedProx(FedProx::new(ROUNDS, 0.1)),
            AnyStrategy::ServerOpt(fedavgm),
        ] {
            assert!(!s.ready(), "sync rounds never ask to advance");
            // Two updates from base [1, 2], weight 2 in all: the sum of
            // the weighted models is 2 * base + delta = [4, 2].
            assert!(s.fold_sum(&[1.0, 2.0], &[2.0, -2.0], 2.0, 2));
            assert!(s.perturb(&[2.0, 0.0]));
            let mut global = vec![0.0; 2];
            assert_eq!(s.aggregate(&mut global), 2);
            assert_eq!(global, [3.0, 1.0]);
            // A discarded round leaves the model as it was.
            assert!(s.fold_sum(&[1.0, 2.0], &[8.0, 8.0], 2.0, 2));
            s.discard();
            assert_eq!(s.aggregate(&mut global), 0);
            assert_eq!(global, [3.0, 1.0]);
        }
    }
}
