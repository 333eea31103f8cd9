//! The checked scenario: what the rest of fedsim sees after validation.
//!
//! Every value here has passed its range and cross-field checks, every path
//! is resolved against the scenario file's folder, and units are those of
//! the spec (milliseconds for delays, 10^6 bit/s for bandwidth, seconds for
//! virtual durations). Nothing outside `scenario` ever sees raw YAML.
//!
//! Each enum is defined once. Where the raw type already says everything
//! (a closed set of names, nothing to resolve), this module re-exports it
//! rather than copy it: [`Normalize`] and [`StrategyKind`], with their YAML
//! names (`name()`, `NAMES`) and `///` docs, live in [`raw`](super::raw).
//! The enums defined here differ from their raw counterparts: plain numbers
//! instead of checked newtypes (`Partition`, `Delay`, `Staleness`,
//! `OptimizerSpec`), resolved paths (`Availability`), or several raw keys
//! merged into one value
//! (`DataSource`, `ModelSpec`, `EvaluationSpec`, `CompressionSpec`); their
//! YAML names and the meaning of each variant are those of the raw type
//! named in their docs.

use std::path::PathBuf;

/// `output:` has nothing to resolve or merge: the raw struct is the
/// checked one.
pub use super::raw::RawOutput as OutputSpec;
pub use super::raw::{AccountantKind, DpLevel, Normalize, SelectionKind, StrategyKind};

/// A validated scenario, ready to run.
#[derive(Debug, Clone, PartialEq)]
pub struct Scenario {
    /// Output folder name, `[a-z0-9_-]+`.
    pub name: String,
    pub description: String,
    /// Root of the seed tree: every random choice derives from it.
    pub seed: u64,
    /// The scenario file (or `<string>` when loaded from text); used in messages.
    pub source: PathBuf,
    pub data: DataSpec,
    pub clients: ClientsSpec,
    pub model: ModelSpec,
    pub training: TrainingSpec,
    pub strategy: StrategySpec,
    /// Differential privacy and secure aggregation (both off by default).
    pub privacy: PrivacySpec,
    pub compression: CompressionSpec,
    /// The server's link; unlimited when the file has no `server:`.
    pub server: ServerSpec,
    pub stop: StopSpec,
    pub evaluation: EvaluationSpec,
    /// What the run folder holds beyond the contract's files.
    pub output: OutputSpec,
    /// Scheduled failures, in file order.
    pub faults: Vec<FaultSpec>,
    /// `sweep:` map, dotted key -> values (as YAML scalars rendered to text),
    /// in file order. Empty when the file has none.
    pub sweep: Vec<(String, Vec<String>)>,
    /// The scenario as YAML with every `--set` applied: loading it again
    /// (from the same `source` folder) gives this scenario. A run folder
    /// keeps it, so `fedsim resume` rebuilds the run from it.
    pub effective: String,
    /// The scenario with every default filled in, relative paths made
    /// absolute and no `sweep:` map, as YAML (`scenario.resolved.yaml`):
    /// loading it gives this scenario, without its sweep. See
    /// [`resolved_hash`](super::resolved_hash) for its hash.
    pub resolved: String,
}

impl Scenario {
    /// SHA-256 of [`Scenario::resolved`], lowercase hex: a run's
    /// `scenario_hash`, equal for two scenarios that run the same.
    pub fn resolved_sha256(&self) -> String {
        super::resolved_hash(&self.resolved)
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct DataSpec {
    pub source: DataSource,
    /// In (0, 1): the share of rows held out as the server's test set.
    pub test_fraction: f64,
    /// false: keep file order, the test set is the last rows.
    pub shuffle: bool,
    pub normalize: Normalize,
    pub partition: Partition,
}

/// The data set: [`raw::DatasetKind`](super::raw::DatasetKind) with its
/// `data.synthetic` or `data.csv` block.
#[derive(Debug, Clone, PartialEq)]
pub enum DataSource {
    Digits,
    BreastCancer,
    Iris,
    Synthetic(SyntheticSpec),
    Csv(CsvSpec),
}

/// LEAF-style synthetic(alpha, beta) data.
#[derive(Debug, Clone, PartialEq)]
pub struct SyntheticSpec {
    pub features: usize,
    pub classes: usize,
    pub samples: usize,
    /// How much the sources' models differ: each source's model is drawn
    /// around a mean u ~ N(0, alpha) (LEAF's synthetic(alpha, beta)).
    pub alpha: f64,
    /// How much the sources' features differ: each source's feature means
    /// are drawn around B ~ N(0, beta).
    pub beta: f64,
    /// Client k is source k, generated on demand (`data::ClientData::PerClient`);
    /// `samples` is then the train rows over all clients. See
    /// `data.synthetic.per_client` in docs/scenario-reference.md.
    pub per_client: bool,
}

#[derive(Debug, Clone, PartialEq)]
pub struct CsvSpec {
    /// Resolved against the scenario file's folder.
    pub path: PathBuf,
    pub label_column: String,
}

/// How the train pool is split over clients: [`raw::RawPartition`](super::raw::RawPartition)
/// with plain numbers.
#[derive(Debug, Clone, PartialEq)]
pub enum Partition {
    /// Round-robin over the train pool: client k gets rows k, k+N, ...
    Iid,
    /// Per-label Dirichlet(alpha) proportions over clients.
    Dirichlet { alpha: f64 },
    /// Rows sorted by label, cut into `count * shards_per_client` shards.
    Shards { shards_per_client: usize },
    /// Client sizes proportional to lognormal(0, sigma) draws.
    QuantitySkew { sigma: f64 },
}

#[derive(Debug, Clone, PartialEq)]
pub struct ClientsSpec {
    pub count: usize,
    /// Device tiers; empty means ideal devices (zero compute and network time).
    /// Shares sum to 1 (checked to 1e-6).
    pub profiles: Vec<Profile>,
    /// Per-task probability in [0, 1] that the client vanishes mid-task.
    pub dropout: f64,
    pub availability: Availability,
    /// Attackers among the clients, if any.
    pub byzantine: Option<ByzantineSpec>,
}

/// One of `faults:`, checked.
#[derive(Debug, Clone, PartialEq)]
pub struct FaultSpec {
    /// Virtual seconds, finite and >= 0.
    pub at_s: f64,
    /// Virtual seconds, finite and > 0.
    pub duration_s: f64,
    pub kind: FaultKind,
}

#[derive(Debug, Clone, PartialEq)]
pub enum FaultKind {
    Partition(FaultTargets),
    ServerDown,
    /// Bandwidth divided by `factor` (>= 1).
    SlowLink {
        factor: f64,
        targets: FaultTargets,
    },
}

impl FaultKind {
    /// The YAML name (`faults[].kind`).
    pub fn name(&self) -> &'static str {
        match self {
            FaultKind::Partition(_) => "partition",
            FaultKind::ServerDown => "server_down",
            FaultKind::SlowLink { .. } => "slow_link",
        }
    }
}

/// Which clients a fault hits.
#[derive(Debug, Clone, PartialEq)]
pub enum FaultTargets {
    /// `round(fraction * count)` clients drawn from the seed.
    Fraction(f64),
    /// These clients (ids below `clients.count`, sorted, distinct).
    Clients(Vec<u32>),
}

/// `clients.byzantine`, checked: the raw attack is used as it is.
#[derive(Debug, Clone, PartialEq)]
pub struct ByzantineSpec {
    /// The share of clients that attack, in [0, 1].
    pub fraction: f64,
    pub attack: super::raw::RawAttack,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Profile {
    pub name: String,
    pub share: f64,
    pub compute: Compute,
    pub network: Network,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Compute {
    /// Training throughput, > 0; `f64::INFINITY` means compute takes no time.
    pub samples_per_s: f64,
    /// Extra compute delay drawn once per task.
    pub jitter: Option<Delay>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Network {
    /// One-way latency, drawn for every message.
    pub latency: Delay,
    /// Upload bandwidth in 10^6 bit/s, > 0; infinite means no transfer time.
    pub up_mbps: f64,
    /// Download bandwidth in 10^6 bit/s, > 0; infinite means no transfer time.
    pub down_mbps: f64,
}

/// A delay distribution; every parameter in milliseconds, never negative:
/// [`raw::RawDelay`](super::raw::RawDelay) with plain numbers (and `Copy`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Delay {
    Constant {
        ms: f64,
    },
    Uniform {
        min_ms: f64,
        max_ms: f64,
    },
    /// Truncated at 0 by resampling.
    Normal {
        mean_ms: f64,
        std_ms: f64,
    },
    /// `median_ms * exp(sigma * Z)`.
    LogNormal {
        median_ms: f64,
        sigma: f64,
    },
    Exponential {
        mean_ms: f64,
    },
    /// Pareto type I, support `[scale_ms, inf)`.
    Pareto {
        scale_ms: f64,
        shape: f64,
    },
}

/// When clients can be selected: [`raw::RawAvailability`](super::raw::RawAvailability)
/// with plain numbers and the trace's path resolved.
#[derive(Debug, Clone, PartialEq)]
pub enum Availability {
    Always,
    /// One window of `on_fraction * period_h` hours per period, phase per client.
    Diurnal {
        period_h: f64,
        on_fraction: f64,
    },
    /// Per-client availability intervals read from a CSV `client,start_s,end_s`.
    Trace {
        path: PathBuf,
    },
}

/// The model: [`raw::ModelKind`](super::raw::ModelKind) with its `hidden`
/// widths.
#[derive(Debug, Clone, PartialEq)]
pub enum ModelSpec {
    /// Binary logistic regression (the data must have two classes).
    LogisticRegression,
    SoftmaxRegression,
    /// Fully connected ReLU network with these hidden widths.
    Mlp {
        hidden: Vec<usize>,
    },
}

#[derive(Debug, Clone, PartialEq)]
pub struct TrainingSpec {
    pub local_epochs: u32,
    pub batch_size: usize,
    pub learning_rate: f64,
    /// false: consecutive batches in the client's row order.
    pub shuffle: bool,
    /// L2 penalty coefficient (0 = none).
    pub weight_decay: f64,
    pub optimizer: OptimizerSpec,
}

/// The local optimiser: [`raw::RawOptimizer`](super::raw::RawOptimizer)
/// with plain numbers (and `Copy`, for [`crate::model::LocalTraining`]).
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub enum OptimizerSpec {
    Sgd,
    /// `beta` in [0, 1).
    Momentum {
        beta: f64,
        keep_state: bool,
    },
    /// `beta1`, `beta2` in [0, 1), `eps` > 0.
    Adam {
        beta1: f64,
        beta2: f64,
        eps: f64,
        keep_state: bool,
    },
}

impl OptimizerSpec {
    /// Whether a client's optimiser state carries over from one of its
    /// tasks to the next.
    pub fn keeps_state(&self) -> bool {
        match *self {
            OptimizerSpec::Sgd => false,
            OptimizerSpec::Momentum { keep_state, .. } | OptimizerSpec::Adam { keep_state, .. } => keep_state,
        }
    }
}

/// The weight `s(t)` of an update `t` versions stale:
/// [`raw::RawStaleness`](super::raw::RawStaleness) with plain numbers (and
/// `Copy`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Staleness {
    Constant,
    Polynomial { a: f64 },
    Hinge { a: f64, b: f64 },
}

/// The strategy with every default resolved for its kind. Fields a kind
/// does not use still hold their (checked) value or default.
#[derive(Debug, Clone, PartialEq)]
pub struct StrategySpec {
    pub kind: StrategyKind,
    /// Sync: reports aggregated per round (1..=clients.count).
    pub clients_per_round: usize,
    /// Sync: a round closes at this many virtual seconds at the latest.
    pub deadline_s: Option<f64>,
    /// Sync: >= 1; `ceil(clients_per_round * over_selection)` are dispatched.
    pub over_selection: f64,
    /// Async: clients training at any moment (1..=clients.count).
    pub concurrency: usize,
    /// FedBuff: updates per aggregation.
    pub buffer_size: usize,
    /// Async: the weight of a stale update. Default per kind:
    /// `Polynomial { a: 0.5 }` for FedBuff, `Constant` otherwise.
    pub staleness: Staleness,
    /// FedAsync mixing weight in (0, 1].
    pub mixing: f64,
    /// Server step size (eta), finite and > 0. Default per kind: 0.1 for
    /// FedAdam, FedYogi and FedAdagrad, 1.0 otherwise.
    pub server_learning_rate: f64,
    /// Async: updates staler than this are dropped (None = keep all).
    pub max_staleness: Option<u64>,
    /// FedProx: proximal coefficient, finite and >= 0 (default 0.01).
    pub mu: f64,
    /// FedAvgM: server momentum in [0, 1) (default 0.9).
    pub server_momentum: f64,
    /// FedAdam, FedYogi, FedAdagrad: first-moment decay in [0, 1). Default
    /// per kind: 0.0 for FedAdagrad, 0.9 otherwise.
    pub beta1: f64,
    /// FedAdam, FedYogi: second-moment decay in [0, 1) (default 0.99).
    pub beta2: f64,
    /// FedAdam, FedYogi, FedAdagrad: adaptivity floor, finite and > 0
    /// (default 1e-3; Flower's with `flower_compat`).
    pub tau: f64,
    /// FedAvgM, FedAdam, FedYogi, FedAdagrad: Flower's defaults and
    /// formulas (FedAdam's bias-corrected step). Default false.
    pub flower_compat: bool,
    /// Trimmed mean: fraction in [0, 0.5) dropped at each end, per
    /// coordinate (default 0.1).
    pub trim_fraction: f64,
    /// Krum, Multi-Krum: assumed byzantine clients per round (default 0).
    /// For these two kinds `clients_per_round >= 2 * byzantine + 3`.
    pub byzantine: usize,
    /// Updates averaged by Multi-Krum: 1 for Krum; for Multi-Krum the given
    /// value (1..=clients_per_round) or `clients_per_round - byzantine`;
    /// for every other kind `clients_per_round - byzantine` (at least 1).
    pub keep: usize,
    /// Sync: how a round's clients are drawn.
    pub selection: SelectionKind,
}

/// `privacy:` what protects the updates.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct PrivacySpec {
    pub dp: Option<DpSpec>,
    /// None when absent or `enabled: false`.
    pub secure_aggregation: Option<SecAggSpec>,
}

/// `privacy.dp` (see [`raw::RawDp`](super::raw::RawDp)).
#[derive(Debug, Clone, PartialEq)]
pub struct DpSpec {
    pub level: DpLevel,
    /// L2 norm every update is clipped to (the initial one when adaptive), > 0.
    pub clip_norm: f64,
    /// Noise std as a multiple of the clip norm, >= 0.
    pub noise_multiplier: f64,
    /// In (0, 1).
    pub delta: f64,
    pub accountant: AccountantKind,
    pub adaptive: Option<AdaptiveClip>,
}

/// `privacy.dp.clip` (Andrew et al. 2021).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct AdaptiveClip {
    /// In [0, 1].
    pub target_quantile: f64,
    /// > 0.
    pub learning_rate: f64,
}

/// `privacy.secure_aggregation` when enabled.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SecAggSpec {
    /// In (0, 1]: `ceil(threshold * dispatched)` clients must answer every phase.
    pub threshold: f64,
    /// Per later phase, in [0, 1).
    pub phase_dropout: f64,
}

/// Update compression: the kinds of [`raw::RawCompression`](super::raw::RawCompression)
/// that fedsim supports.
#[derive(Debug, Clone, PartialEq)]
pub enum CompressionSpec {
    None,
    /// Keep the `ratio` largest coordinates (in (0, 1]).
    TopK {
        ratio: f64,
        error_feedback: bool,
    },
    /// Stochastic rounding to `bits` (1..=32) per coordinate.
    Quantize {
        bits: u32,
        error_feedback: bool,
    },
}

/// The server's side of every transfer (`server:`).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ServerSpec {
    /// The server's link; [`ServerNetwork::default`] (unlimited) when
    /// `server.network` is absent.
    pub network: ServerNetwork,
}

/// The server's link. Concurrent transfers share its bandwidth max-min
/// fairly, each also capped by its client's own link ([`Network`]).
#[derive(Debug, Clone, PartialEq)]
pub struct ServerNetwork {
    /// Upload bandwidth (server to clients) in 10^6 bit/s, finite and > 0;
    /// `f64::INFINITY` = unlimited.
    pub up_mbps: f64,
    /// Download bandwidth (clients to server) in 10^6 bit/s, finite and > 0;
    /// `f64::INFINITY` = unlimited.
    pub down_mbps: f64,
    /// One-way latency in ms, drawn for every message and added to the
    /// client's own latency; `Delay::Constant { ms: 0.0 }` = none.
    pub latency: Delay,
}

impl Default for ServerNetwork {
    /// Unlimited: infinite bandwidth both ways and no latency.
    fn default() -> Self {
        ServerNetwork { up_mbps: f64::INFINITY, down_mbps: f64::INFINITY, latency: Delay::Constant { ms: 0.0 } }
    }
}

impl ServerNetwork {
    /// Whether the server's link adds nothing to a transfer: infinite
    /// bandwidth both ways and a constant latency of 0 ms.
    pub fn is_unlimited(&self) -> bool {
        self.up_mbps == f64::INFINITY && self.down_mbps == f64::INFINITY && self.latency == Delay::Constant { ms: 0.0 }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct StopSpec {
    /// Server model versions.
    pub rounds: Option<u64>,
    pub virtual_time_s: Option<f64>,
    /// Also the target of `time_to_target_s`.
    pub target_accuracy: Option<f64>,
    /// With DP: stop before epsilon would exceed this.
    pub max_epsilon: Option<f64>,
}

/// How often the server evaluates: the one key of
/// [`raw::RawEvaluation`](super::raw::RawEvaluation) that is set.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum EvaluationSpec {
    EveryRounds(u64),
    EveryS(f64),
}
