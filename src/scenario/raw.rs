//! The scenario file exactly as written: one serde struct per YAML mapping.
//!
//! These structs and their `///` comments are the single source of
//! `docs/scenario-reference.md`: every field says its meaning, unit, allowed
//! range and default. Unknown keys are rejected everywhere
//! (`deny_unknown_fields`), ranges that need one value are checked by the
//! field's type (see `values`), and defaults live in one place per struct
//! (`impl Default` or the struct's `default_*` functions). Cross-field checks
//! happen afterwards, in `validate`.
//!
//! Keyword enums that need nothing more than their name checked
//! (`Normalize`, `StrategyKind`) are also the checked scenario's types
//! (`checked` re-exports them), so each name is spelled here only.

pub use super::values::Name;
use super::values::{
    keyword_enum, tagged_enum, AtLeastOne, BatchSize, BufferSize, ClassCount, ClientCount, ClientCount0, DecayFraction,
    EpochCount, FeatureCount, FiniteF64, Interval, LayerWidth, NonNegativeF64, NonNegativeMs, NonNegativeU64,
    NonNegativeUsize, OpenFraction, PositiveF64, PositiveMs, Probability, QuantBits, Rate, RoundCount, SampleCount,
    ShardCount, Text, TrimFraction, UnitFraction,
};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// The whole scenario file.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, expecting = "a scenario mapping (name, data, clients, ...)")]
pub struct RawScenario {
    /// Required. Names the output folder (`runs/<name>/`): one or more of
    /// `a-z`, `0-9`, `_`, `-`.
    pub name: Name,
    /// Free text shown in reports. Default `""`.
    #[serde(default)]
    pub description: Text,
    /// Integer >= 0; the one seed every random choice derives from. Default 0.
    #[serde(default = "RawScenario::default_seed")]
    pub seed: NonNegativeU64,
    /// Required. The data set, its held-out test set and its partition.
    pub data: RawData,
    /// Required. The federation's clients: how many, their devices and links.
    pub clients: RawClients,
    /// The model every client trains. Default `{kind: softmax_regression}`.
    #[serde(default)]
    pub model: RawModel,
    /// What each client does locally per task. Default: see its keys.
    #[serde(default)]
    pub training: RawTraining,
    /// The server's strategy. Default `{kind: fedavg}` with the defaults of
    /// its keys.
    #[serde(default)]
    pub strategy: RawStrategy,
    /// Optional: differential privacy and secure aggregation
    /// (`docs/privacy.md`). Default none.
    #[serde(default)]
    pub privacy: Option<RawPrivacy>,
    /// Update compression on the wire: `none | topk | quantize`. Default
    /// `{kind: none}`. Not with `privacy.secure_aggregation`.
    #[serde(default)]
    pub compression: RawCompression,
    /// Optional: the server's own link, which every transfer also crosses.
    /// Default none: the server's link is unlimited (no bandwidth limit, no
    /// latency of its own).
    #[serde(default)]
    pub server: Option<RawServer>,
    /// Failures scheduled in virtual time (see `docs/time-model.md`,
    /// "Faults"), in any order. Default none.
    #[serde(default)]
    pub faults: Vec<RawFault>,
    /// When the run ends: the first bound reached. Default `{rounds: 100}`
    /// when the key is absent; when present it needs `rounds` or
    /// `virtual_time_s`.
    #[serde(default)]
    #[schemars(default = "RawScenario::default_stop_key")]
    pub stop: Option<RawStop>,
    /// How often the server evaluates on the test set: exactly one of
    /// `every_rounds` or `every_s`. Default `{every_rounds: 1}`.
    #[serde(default)]
    #[schemars(default = "RawScenario::default_evaluation_key")]
    pub evaluation: Option<RawEvaluation>,
    /// What a run writes beside its metrics (`trace.json`'s size). Default:
    /// see its keys.
    #[serde(default)]
    pub output: RawOutput,
    /// Optional map from a dotted key (e.g. `strategy.kind`) to a non-empty
    /// list of values; `fedsim sweep` runs the cross product. Default none.
    #[serde(default)]
    pub sweep: Option<RawSweep>,
}

impl RawScenario {
    fn default_seed() -> NonNegativeU64 {
        NonNegativeU64(0)
    }
    /// `stop` when the key is absent.
    pub fn default_stop() -> RawStop {
        RawStop { rounds: Some(RoundCount(100)), virtual_time_s: None, target_accuracy: None, max_epsilon: None }
    }
    /// `evaluation` when the key is absent.
    pub fn default_evaluation() -> RawEvaluation {
        RawEvaluation { every_rounds: Some(RoundCount(1)), every_s: None }
    }
    /// The schema's `default` of `stop` (what an absent key means).
    fn default_stop_key() -> Option<RawStop> {
        Some(Self::default_stop())
    }
    /// The schema's `default` of `evaluation` (what an absent key means).
    fn default_evaluation_key() -> Option<RawEvaluation> {
        Some(Self::default_evaluation())
    }
}

// ---------------------------------------------------------------- data

/// `data:` the data set, its held-out test set and how the train pool is
/// split over the clients.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, expecting = "a mapping with dataset, test_fraction, ...")]
pub struct RawData {
    /// Required. `digits | breast_cancer | iris | synthetic | csv`;
    /// `synthetic` needs `data.synthetic`, `csv` needs `data.csv`.
    pub dataset: DatasetKind,
    /// Fraction in (0, 1): the share of rows held out as the server's test
    /// set; train pool = floor((1 - test_fraction) * rows). Default 0.2.
    #[serde(default = "RawData::default_test_fraction")]
    pub test_fraction: OpenFraction,
    /// Shuffle rows before the split. `false` keeps file order and the test
    /// set is the last rows. Default true.
    #[serde(default = "RawData::default_shuffle")]
    pub shuffle: bool,
    /// Feature scaling, fit on the train pool only: `none | standard |
    /// minmax`. Default `standard`.
    #[serde(default = "RawData::default_normalize")]
    pub normalize: Normalize,
    /// How the train pool is split over clients. Default `{kind: iid}`.
    #[serde(default)]
    pub partition: RawPartition,
    /// LEAF-style synthetic data; required when `dataset: synthetic`,
    /// rejected otherwise (`{}` takes every default).
    #[serde(default)]
    pub synthetic: Option<RawSynthetic>,
    /// A CSV data set; required when `dataset: csv`, rejected otherwise.
    #[serde(default)]
    pub csv: Option<RawCsv>,
}

impl RawData {
    fn default_test_fraction() -> OpenFraction {
        OpenFraction(0.2)
    }
    fn default_shuffle() -> bool {
        true
    }
    fn default_normalize() -> Normalize {
        Normalize::Standard
    }
}

keyword_enum! {
    /// `data.dataset`
    pub enum DatasetKind {
        /// 8x8 handwritten digits: 1797 rows, 64 features, 10 classes.
        Digits = "digits",
        /// Wisconsin breast cancer: 569 rows, 30 features, 2 classes.
        BreastCancer = "breast_cancer",
        /// Iris: 150 rows, 4 features, 3 classes.
        Iris = "iris",
        /// Generated, see `data.synthetic`.
        Synthetic = "synthetic",
        /// A CSV file, see `data.csv`.
        Csv = "csv",
    }
}

keyword_enum! {
    /// `data.normalize`
    pub enum Normalize {
        /// Features as they are.
        None = "none",
        /// `(x - mean) / std`, population std of the train pool (constant
        /// features get std 1).
        Standard = "standard",
        /// The train pool's range mapped to [0, 1].
        MinMax = "minmax",
    }
}

tagged_enum! {
    tag = "kind";
    /// `data.partition`: how the train pool is split over clients.
    pub enum RawPartition {
        /// Round-robin over the train pool: client k gets rows k, k+N, ...
        Iid(Iid) = "iid",
        /// Per-label Dirichlet(alpha) proportions over clients.
        Dirichlet(DirichletPartition) = "dirichlet",
        /// Rows sorted by label, cut into `clients.count * shards_per_client`
        /// shards, dealt at random.
        Shards(ShardsPartition) = "shards",
        /// Client sizes proportional to lognormal(0, sigma) draws.
        QuantitySkew(QuantitySkewPartition) = "quantity_skew",
    }
}

impl Default for RawPartition {
    fn default() -> Self {
        RawPartition::Iid(Iid {})
    }
}

/// A variant without parameters.
#[derive(Debug, Clone, PartialEq, Default, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, expecting = "no further keys")]
pub struct Iid {}

/// `data.partition` with `kind: dirichlet`.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize, JsonSchema)]
#[serde(default, deny_unknown_fields, expecting = "a mapping with alpha")]
pub struct DirichletPartition {
    /// Concentration, a finite number > 0: smaller is more skewed. Default 0.5.
    pub alpha: PositiveF64,
}

impl Default for DirichletPartition {
    fn default() -> Self {
        DirichletPartition { alpha: PositiveF64(0.5) }
    }
}

/// `data.partition` with `kind: shards`.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize, JsonSchema)]
#[serde(default, deny_unknown_fields, expecting = "a mapping with shards_per_client")]
pub struct ShardsPartition {
    /// Label-sorted shards per client, an integer from 1 to 1000000.
    /// Default 2.
    pub shards_per_client: ShardCount,
}

impl Default for ShardsPartition {
    fn default() -> Self {
        ShardsPartition { shards_per_client: ShardCount(2) }
    }
}

/// `data.partition` with `kind: quantity_skew`.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize, JsonSchema)]
#[serde(default, deny_unknown_fields, expecting = "a mapping with sigma")]
pub struct QuantitySkewPartition {
    /// Spread of the lognormal(0, sigma) size draws, finite and >= 0
    /// (0 = equal sizes). Default 1.0.
    pub sigma: NonNegativeF64,
}

impl Default for QuantitySkewPartition {
    fn default() -> Self {
        QuantitySkewPartition { sigma: NonNegativeF64(1.0) }
    }
}

/// `data.synthetic`: LEAF-style synthetic(alpha, beta) data.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize, JsonSchema)]
#[serde(default, deny_unknown_fields, expecting = "a mapping with features, classes, samples, alpha, beta, per_client")]
pub struct RawSynthetic {
    /// Features per row, an integer from 1 to 10000000. Default 60.
    pub features: FeatureCount,
    /// Classes, an integer from 2 to 100000. Default 10.
    pub classes: ClassCount,
    /// Rows in total (train pool and test set), an integer from 1 to
    /// 4000000000; with
    /// `per_client: true`, the train rows over all clients (client mean
    /// `samples / clients.count`), at least `clients.count`. Default 20000.
    pub samples: SampleCount,
    /// Spread of the per-source models' common mean u ~ N(0, alpha), finite
    /// and >= 0; each source's weights are N(u, 1) around it, so sources
    /// differ even at 0. Default 1.0.
    pub alpha: NonNegativeF64,
    /// Spread of the per-source feature means' common mean B ~ N(0, beta),
    /// finite and >= 0; each source's feature means are N(B, 1) around it.
    /// Default 1.0.
    pub beta: NonNegativeF64,
    /// Make client k LEAF source k, its rows generated on demand from the
    /// seed whenever it trains, never stored: a client costs no memory, so
    /// millions of clients fit. Then `samples` is the train rows over all
    /// clients and `data.partition` sets the client sizes: `iid` equal
    /// (`samples / clients.count`, the first `samples mod clients.count`
    /// clients one more), `quantity_skew {sigma}` lognormal(0, sigma)
    /// shares within each block of 64 consecutive clients (each block holds
    /// what `iid` would give it; every client at least 1 row); `dirichlet`
    /// and `shards` are rejected (no shared pool to split by label). The
    /// server's test set is fresh rows of the first K = min(clients.count,
    /// 1000) sources, `test_fraction` of their rows as if held out (their
    /// train rows T: ceil(T * test_fraction / (1 - test_fraction)) rows,
    /// at most 100000, spread in proportion to their sizes); `normalize` is
    /// fitted on those K clients' train rows; `shuffle` has no effect.
    /// Default false: one table of `samples` rows, split like any data set.
    pub per_client: bool,
}

impl Default for RawSynthetic {
    fn default() -> Self {
        RawSynthetic {
            features: FeatureCount(60),
            classes: ClassCount(10),
            samples: SampleCount(20000),
            alpha: NonNegativeF64(1.0),
            beta: NonNegativeF64(1.0),
            per_client: false,
        }
    }
}

/// `data.csv`: a CSV file with a header row.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, expecting = "a mapping with path and label_column")]
pub struct RawCsv {
    /// Required. The file, relative to the scenario file's folder; must exist.
    pub path: Text,
    /// Required. The header name of the label column; every other column is
    /// a numeric feature.
    pub label_column: Text,
}

// ---------------------------------------------------------------- clients

/// `clients:` how many clients there are, their devices and links, when
/// they drop out and when they can be selected.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, expecting = "a mapping with count, profiles, dropout, availability")]
pub struct RawClients {
    /// Required. Number of clients, an integer from 1 to 100000000.
    pub count: ClientCount,
    /// Device tiers. Shares sum to 1 (within 1e-6) and give exact counts
    /// (round(share * count), largest remainder), randomly placed. Default
    /// `[]`: ideal devices, whose compute and network take zero time.
    #[serde(default)]
    pub profiles: Vec<RawProfile>,
    /// Per-task dropout. Default `{probability: 0}`.
    #[serde(default)]
    pub dropout: RawDropout,
    /// When clients can be selected. Default `{kind: always}`.
    #[serde(default)]
    pub availability: RawAvailability,
    /// Attackers among the clients (see `docs/byzantine.md`). Default: none.
    #[serde(default)]
    pub byzantine: Option<RawByzantine>,
}

/// `clients.byzantine`: some clients attack the model, e.g.
///
/// ```yaml
/// byzantine: { fraction: 0.2, attack: { kind: scale, factor: -10 } }
/// ```
///
/// Exactly `round(fraction * count)` clients attack, drawn from the seed
/// (each is named by a `byzantine` event at time 0). They take part like
/// any other client; what they send is the attack's.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, expecting = "a mapping with fraction and attack")]
pub struct RawByzantine {
    /// Required. The share of clients that attack, a probability in [0, 1].
    pub fraction: Probability,
    /// Required. What the attackers do.
    pub attack: RawAttack,
}

tagged_enum! {
    tag = "kind";
    /// `clients.byzantine.attack`: what an attacker sends instead of its
    /// honest update (its trained parameters minus the model it started
    /// from, the delta).
    pub enum RawAttack {
        /// The delta negated.
        SignFlip(SignFlipAttack) = "sign_flip",
        /// The delta multiplied by `factor`.
        Scale(ScaleAttack) = "scale",
        /// Noise instead of the delta: each coordinate N(0, std^2).
        Gaussian(GaussianAttack) = "gaussian",
        /// Data poisoning: the attacker trains on its data with every label
        /// y replaced by (classes - 1 - y).
        LabelFlip(LabelFlipAttack) = "label_flip",
        /// "A little is enough" (Baruch et al. 2019): the attackers of a
        /// round collude, and each sends mean - z * std of their honest
        /// deltas, coordinate by coordinate; sync strategies only.
        Alie(AlieAttack) = "alie",
    }
}

/// `clients.byzantine.attack` with `kind: sign_flip`.
#[derive(Debug, Clone, PartialEq, Default, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, expecting = "no further keys")]
pub struct SignFlipAttack {}

/// `clients.byzantine.attack` with `kind: label_flip`.
#[derive(Debug, Clone, PartialEq, Default, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, expecting = "no further keys")]
pub struct LabelFlipAttack {}

/// `clients.byzantine.attack` with `kind: scale`.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize, JsonSchema)]
#[serde(default, deny_unknown_fields, expecting = "a mapping with factor")]
pub struct ScaleAttack {
    /// The delta's multiplier, a finite number (negative points the model
    /// away from the clients' descent). Default -10.
    pub factor: FiniteF64,
}

impl Default for ScaleAttack {
    fn default() -> Self {
        ScaleAttack { factor: FiniteF64(-10.0) }
    }
}

/// `clients.byzantine.attack` with `kind: gaussian`.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize, JsonSchema)]
#[serde(default, deny_unknown_fields, expecting = "a mapping with std")]
pub struct GaussianAttack {
    /// The noise's standard deviation per coordinate, a finite number > 0.
    /// Default 1.
    pub std: PositiveF64,
}

impl Default for GaussianAttack {
    fn default() -> Self {
        GaussianAttack { std: PositiveF64(1.0) }
    }
}

/// `clients.byzantine.attack` with `kind: alie`.
#[derive(Debug, Clone, PartialEq, Default, Deserialize, Serialize, JsonSchema)]
#[serde(default, deny_unknown_fields, expecting = "a mapping with z")]
pub struct AlieAttack {
    /// How many standard deviations the attackers shift the mean, a finite
    /// number >= 0. Default: the paper's largest shift that a majority
    /// still accepts, z = Phi^-1((n - s) / n) with s = floor(n/2 + 1) - m,
    /// for n updates in the round, m of them the attackers'.
    pub z: Option<NonNegativeF64>,
}

/// One device tier (`clients.profiles[]`).
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, expecting = "a profile mapping with name, share, compute, network")]
pub struct RawProfile {
    /// Required. The tier's name, `[a-z0-9_-]+`, unique among profiles.
    pub name: Name,
    /// Required. Probability in [0, 1]: the share of clients in this tier.
    pub share: Probability,
    /// Local training speed. Default: ideal (takes no time).
    #[serde(default)]
    pub compute: RawCompute,
    /// The tier's link. Default: ideal (no latency, infinite bandwidth).
    #[serde(default)]
    pub network: RawNetwork,
}

/// `clients.profiles[].compute`
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize, JsonSchema)]
#[serde(default, deny_unknown_fields, expecting = "a mapping with samples_per_s and jitter")]
pub struct RawCompute {
    /// Training throughput in samples per second, > 0; `.inf` means compute
    /// takes no time. Compute time = local_epochs * local_samples /
    /// samples_per_s (+ jitter). Default `.inf`.
    pub samples_per_s: Rate,
    /// Extra compute delay drawn once per task, a delay distribution in ms.
    /// Default none.
    pub jitter: Option<RawDelay>,
}

impl Default for RawCompute {
    fn default() -> Self {
        RawCompute { samples_per_s: Rate(f64::INFINITY), jitter: None }
    }
}

/// `clients.profiles[].network`
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize, JsonSchema)]
#[serde(default, deny_unknown_fields, expecting = "a mapping with latency, up_mbps, down_mbps")]
pub struct RawNetwork {
    /// One-way latency, drawn for every message. Default `{dist: constant,
    /// ms: 0}`.
    pub latency: RawDelay,
    /// Upload bandwidth in Mbit/s (10^6 bit/s), > 0; `.inf` means no
    /// transfer time. Default `.inf`.
    pub up_mbps: Rate,
    /// Download bandwidth in Mbit/s (10^6 bit/s), > 0; `.inf` means no
    /// transfer time. Default `.inf`.
    pub down_mbps: Rate,
}

impl Default for RawNetwork {
    fn default() -> Self {
        RawNetwork { latency: RawDelay::default(), up_mbps: Rate(f64::INFINITY), down_mbps: Rate(f64::INFINITY) }
    }
}

tagged_enum! {
    tag = "dist";
    /// A delay distribution (`latency`, `jitter`); every parameter in
    /// milliseconds, finite and >= 0; draws are never negative.
    pub enum RawDelay {
        /// Always `ms`.
        Constant(ConstantDelay) = "constant",
        /// Uniform on [min_ms, max_ms].
        Uniform(UniformDelay) = "uniform",
        /// Normal, truncated at 0 by resampling.
        Normal(NormalDelay) = "normal",
        /// `median_ms * exp(sigma * Z)`.
        LogNormal(LogNormalDelay) = "lognormal",
        /// Exponential with this mean.
        Exponential(ExponentialDelay) = "exponential",
        /// Pareto type I: support `[scale_ms, inf)`, mean
        /// `shape * scale_ms / (shape - 1)` for shape > 1.
        Pareto(ParetoDelay) = "pareto",
    }
}

impl Default for RawDelay {
    /// No delay: `{dist: constant, ms: 0}`.
    fn default() -> Self {
        RawDelay::Constant(ConstantDelay { ms: NonNegativeMs(0.0) })
    }
}

/// `dist: constant`
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, expecting = "a mapping with ms")]
pub struct ConstantDelay {
    /// Required. The delay in ms, finite and >= 0.
    pub ms: NonNegativeMs,
}

/// `dist: uniform`
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, expecting = "a mapping with min_ms and max_ms")]
pub struct UniformDelay {
    /// Required. Lower bound in ms, finite, >= 0 and <= max_ms.
    pub min_ms: NonNegativeMs,
    /// Required. Upper bound in ms, finite and >= min_ms.
    pub max_ms: NonNegativeMs,
}

/// `dist: normal`
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, expecting = "a mapping with mean_ms and std_ms")]
pub struct NormalDelay {
    /// Required. Mean in ms, finite and >= 0.
    pub mean_ms: NonNegativeMs,
    /// Required. Standard deviation in ms, finite and >= 0.
    pub std_ms: NonNegativeMs,
}

/// `dist: lognormal`
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, expecting = "a mapping with median_ms and sigma")]
pub struct LogNormalDelay {
    /// Required. Median in ms, finite and >= 0.
    pub median_ms: NonNegativeMs,
    /// Required. Log-scale spread (unitless), finite and >= 0.
    pub sigma: NonNegativeF64,
}

/// `dist: exponential`
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, expecting = "a mapping with mean_ms")]
pub struct ExponentialDelay {
    /// Required. Mean in ms, finite and >= 0.
    pub mean_ms: NonNegativeMs,
}

/// `dist: pareto`
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, expecting = "a mapping with scale_ms and shape")]
pub struct ParetoDelay {
    /// Required. Minimum (scale) in ms, finite and > 0.
    pub scale_ms: PositiveMs,
    /// Required. Tail index (unitless), finite and > 0.
    pub shape: PositiveF64,
}

/// `clients.dropout`
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize, JsonSchema)]
#[serde(default, deny_unknown_fields, expecting = "a mapping with probability")]
pub struct RawDropout {
    /// Probability in [0, 1], drawn once per task, that the client vanishes
    /// mid-task. Default 0.
    pub probability: Probability,
}

impl Default for RawDropout {
    fn default() -> Self {
        RawDropout { probability: Probability(0.0) }
    }
}

tagged_enum! {
    tag = "kind";
    /// `clients.availability`: when clients can be selected.
    pub enum RawAvailability {
        /// Every client, all the time.
        Always(Iid) = "always",
        /// One window of `on_fraction * period_h` per period, at a phase
        /// drawn per client from the seed.
        Diurnal(DiurnalAvailability) = "diurnal",
        /// Intervals read from a CSV `client,start_s,end_s`.
        Trace(TraceAvailability) = "trace",
    }
}

impl Default for RawAvailability {
    fn default() -> Self {
        RawAvailability::Always(Iid {})
    }
}

/// `clients.availability` with `kind: diurnal`.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize, JsonSchema)]
#[serde(default, deny_unknown_fields, expecting = "a mapping with period_h and on_fraction")]
pub struct DiurnalAvailability {
    /// The period in hours of virtual time, finite and > 0. Default 24.
    pub period_h: PositiveF64,
    /// Fraction in (0, 1] of each period a client is available. Default 0.5.
    pub on_fraction: UnitFraction,
}

impl Default for DiurnalAvailability {
    fn default() -> Self {
        DiurnalAvailability { period_h: PositiveF64(24.0), on_fraction: UnitFraction(0.5) }
    }
}

/// `clients.availability` with `kind: trace`.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, expecting = "a mapping with path")]
pub struct TraceAvailability {
    /// Required. A CSV of rows `client,start_s,end_s` (availability
    /// intervals in virtual seconds), relative to the scenario file's
    /// folder; must exist. A client with no row is always available. Its
    /// content is checked when the run starts.
    pub path: Text,
}

// ---------------------------------------------------------------- model

/// `model:` the model every client trains and the server aggregates.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize, JsonSchema)]
#[serde(default, deny_unknown_fields, expecting = "a mapping with kind (and hidden for mlp)")]
pub struct RawModel {
    /// `logistic_regression` (binary data only) `| softmax_regression |
    /// mlp`. `logistic_regression` is rejected for a data set known to have
    /// another number of classes (digits 10, iris 3, synthetic `classes`).
    /// Default `softmax_regression`.
    pub kind: ModelKind,
    /// Hidden layer widths, a non-empty list of integers from 1 to
    /// 1000000000, e.g. `[64]` (the memory estimate bounds the model).
    /// Required for `mlp`, rejected for the other kinds.
    #[schemars(length(min = 1))]
    pub hidden: Option<Vec<LayerWidth>>,
}

impl Default for RawModel {
    fn default() -> Self {
        RawModel { kind: ModelKind::SoftmaxRegression, hidden: None }
    }
}

keyword_enum! {
    /// `model.kind`
    pub enum ModelKind {
        /// Binary logistic regression; the data must have two classes.
        LogisticRegression = "logistic_regression",
        /// Multinomial logistic regression.
        SoftmaxRegression = "softmax_regression",
        /// Fully connected ReLU network with `hidden` widths.
        Mlp = "mlp",
    }
}

// ---------------------------------------------------------------- training

/// `training:` what each client does per task.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize, JsonSchema)]
#[serde(
    default,
    deny_unknown_fields,
    expecting = "a mapping with local_epochs, batch_size, learning_rate, shuffle, weight_decay, optimizer"
)]
pub struct RawTraining {
    /// Passes over the client's data per task, an integer from 1 to
    /// 1000000. Default 1.
    pub local_epochs: EpochCount,
    /// Rows per local step, an integer from 1 to 1000000000. Default 32.
    pub batch_size: BatchSize,
    /// The local optimiser's step size (`lr`), finite and > 0. Default 0.1.
    pub learning_rate: PositiveF64,
    /// Shuffle the client's rows each epoch; `false` takes consecutive
    /// batches in the client's row order. Default true.
    pub shuffle: bool,
    /// L2 penalty coefficient, finite and >= 0 (0 = none), added to the
    /// gradient of the weights (not the biases) before the optimiser sees
    /// it, whatever the optimiser. Default 0.
    pub weight_decay: NonNegativeF64,
    /// The local optimiser: how each minibatch's gradient becomes a step.
    /// Its state (momentum's velocity, Adam's moments and step count)
    /// starts at zero at every task, unless `keep_state: true`.
    /// `docs/training.md` gives the update rules. Default `{kind: sgd}`.
    pub optimizer: RawOptimizer,
}

impl Default for RawTraining {
    fn default() -> Self {
        RawTraining {
            local_epochs: EpochCount(1),
            batch_size: BatchSize(32),
            learning_rate: PositiveF64(0.1),
            shuffle: true,
            weight_decay: NonNegativeF64(0.0),
            optimizer: RawOptimizer::default(),
        }
    }
}

tagged_enum! {
    tag = "kind";
    /// `training.optimizer`: how each minibatch's gradient `g` (the batch
    /// mean, plus `weight_decay` and FedProx's proximal term) becomes a step
    /// of size `lr` = `training.learning_rate` (`docs/training.md`).
    pub enum RawOptimizer {
        /// Plain minibatch SGD: `p -= lr * g`. No state.
        Sgd(Iid) = "sgd",
        /// Heavy-ball momentum, PyTorch's form (no dampening):
        /// `v = beta * v + g; p -= lr * v`, `v` starting at zero.
        Momentum(MomentumOptimizer) = "momentum",
        /// Adam with bias correction (Kingma & Ba 2015, as PyTorch's `Adam`
        /// with L2 `weight_decay`): `m = beta1 m + (1 - beta1) g;`
        /// `v = beta2 v + (1 - beta2) g^2;`
        /// `p -= lr * (m / (1 - beta1^t)) / (sqrt(v / (1 - beta2^t)) + eps)`,
        /// `t` the step count from 1.
        Adam(AdamOptimizer) = "adam",
    }
}

impl Default for RawOptimizer {
    fn default() -> Self {
        RawOptimizer::Sgd(Iid {})
    }
}

/// `training.optimizer` with `kind: momentum`.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize, JsonSchema)]
#[serde(default, deny_unknown_fields, expecting = "a mapping with beta and keep_state")]
pub struct MomentumOptimizer {
    /// Momentum coefficient, in [0, 1) (0 is plain SGD). Default 0.9.
    pub beta: DecayFraction,
    /// Keep each client's velocity from one of its tasks to the next
    /// (held on the client's behalf, saved in checkpoints) instead of
    /// starting each task at zero. Default false.
    pub keep_state: bool,
}

impl Default for MomentumOptimizer {
    fn default() -> Self {
        MomentumOptimizer { beta: DecayFraction(0.9), keep_state: false }
    }
}

/// `training.optimizer` with `kind: adam`.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize, JsonSchema)]
#[serde(default, deny_unknown_fields, expecting = "a mapping with beta1, beta2, eps and keep_state")]
pub struct AdamOptimizer {
    /// First-moment decay, in [0, 1). Default 0.9.
    pub beta1: DecayFraction,
    /// Second-moment decay, in [0, 1). Default 0.999.
    pub beta2: DecayFraction,
    /// Added to the root of the bias-corrected second moment, finite and
    /// > 0. Default 1e-8.
    pub eps: PositiveF64,
    /// Keep each client's moments and step count from one of its tasks to
    /// the next (held on the client's behalf, saved in checkpoints)
    /// instead of starting each task at zero. Default false.
    pub keep_state: bool,
}

impl Default for AdamOptimizer {
    fn default() -> Self {
        AdamOptimizer {
            beta1: DecayFraction(0.9),
            beta2: DecayFraction(0.999),
            eps: PositiveF64(1e-8),
            keep_state: false,
        }
    }
}

// ---------------------------------------------------------------- strategy

/// `strategy:` how the server schedules work and aggregates.
/// `docs/strategies.md` explains each strategy and what its keys do.
///
/// Keys that the chosen kind does not use (e.g. `mixing` or `mu` with
/// `fedavg`) are accepted, range-checked and ignored, so that one file can
/// be swept over `strategy.kind`:
///
/// ```yaml
/// strategy: { kind: fedavg, mu: 0.1, trim_fraction: 0.2 }
/// sweep: { strategy.kind: [fedavg, fedprox, trimmed_mean] }
/// ```
///
/// Cross-field checks apply only to the kinds that use the keys: the
/// `byzantine` bound only to `krum` and `multikrum`, the `keep` bound only
/// to `multikrum`. In a sweep, each value is checked with the kind it runs
/// with.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize, JsonSchema)]
#[serde(default, deny_unknown_fields, expecting = "a mapping with kind and its options")]
pub struct RawStrategy {
    /// `fedavg | fedprox | fedavgm | fedadam | fedyogi | fedadagrad |
    /// fedmedian | trimmed_mean | krum | multikrum` (sync) `| fedasync |
    /// fedbuff` (async). Default `fedavg`.
    pub kind: StrategyKind,
    /// Sync: reports aggregated per round, an integer in 1..=clients.count.
    /// Default: all clients.
    pub clients_per_round: Option<ClientCount>,
    /// Sync: a round closes after this many virtual seconds at the latest,
    /// finite and >= 0.001. Default none (no deadline).
    pub deadline_s: Option<Interval>,
    /// Sync: `ceil(clients_per_round * over_selection)` clients are
    /// dispatched, the first `clients_per_round` reports kept; finite and
    /// >= 1. Default 1.
    pub over_selection: AtLeastOne,
    /// Async: clients training at any moment, an integer in
    /// 1..=clients.count. Default: `clients_per_round`.
    pub concurrency: Option<ClientCount>,
    /// FedBuff: updates per aggregation, an integer from 1 to 1000000.
    /// Default 10.
    pub buffer_size: BufferSize,
    /// Async: how an update's weight decays with its staleness. Default
    /// per kind (`RawStrategy::default_staleness`): `{fn: polynomial, a:
    /// 0.5}` (`1/sqrt(1 + t)`) for fedbuff, `{fn: constant}` otherwise.
    pub staleness: Option<RawStaleness>,
    /// FedAsync mixing weight alpha, in (0, 1]. Default 0.6.
    pub mixing: UnitFraction,
    /// Server step size (eta) applied to the aggregated update, a finite
    /// number > 0. Default per kind
    /// (`RawStrategy::default_server_learning_rate`): 0.1 for fedadam,
    /// fedyogi and fedadagrad, 1.0 otherwise; with `flower_compat`, 0.01
    /// for fedyogi (Flower's).
    pub server_learning_rate: Option<PositiveF64>,
    /// Async: updates staler than this many versions are dropped, an
    /// integer >= 0. Default none (keep all).
    pub max_staleness: Option<NonNegativeU64>,
    /// FedProx: proximal coefficient `mu` of the local term
    /// `mu/2 * |w - x|^2` (unitless), finite and >= 0. Default 0.01.
    pub mu: NonNegativeF64,
    /// FedAvgM: server momentum, in [0, 1). Default 0.9; 0.0 (Flower's)
    /// with `flower_compat`.
    pub server_momentum: Option<DecayFraction>,
    /// FedAdam, FedYogi, FedAdagrad: first-moment decay `beta1`, in [0, 1).
    /// Default per kind (`RawStrategy::default_beta1`): 0.0 for fedadagrad,
    /// 0.9 otherwise.
    pub beta1: Option<DecayFraction>,
    /// FedAdam, FedYogi: second-moment decay `beta2`, in [0, 1). Default
    /// 0.99.
    pub beta2: DecayFraction,
    /// FedAdam, FedYogi, FedAdagrad: adaptivity floor `tau` added to the
    /// root of the second moment, finite and > 0. Default 1e-3; with
    /// `flower_compat`, Flower's: 1e-9 for fedadam and fedadagrad, 1e-3
    /// for fedyogi (`RawStrategy::default_tau`).
    pub tau: Option<PositiveF64>,
    /// FedAvgM, FedAdam, FedYogi, FedAdagrad: behave as Flower's strategy
    /// of the same name (Flower 1.13 and later). The defaults of the keys
    /// not given become Flower's (`tau`, `server_learning_rate` of
    /// fedyogi, `server_momentum`), and FedAdam steps with Flower's
    /// bias-corrected rate `eta * sqrt(1 - beta2^(r+1)) / (1 - beta1^(r+1))`
    /// at its 1-based round r. Ignored by the other kinds. Default false.
    pub flower_compat: bool,
    /// Trimmed mean: fraction of the values dropped at EACH end, per
    /// coordinate, in [0, 0.5) (`0.1` drops the lowest 10% and the highest
    /// 10%; `0` is the plain mean). Default 0.1.
    pub trim_fraction: TrimFraction,
    /// Krum, Multi-Krum: assumed number `f` of byzantine clients per round,
    /// an integer >= 0 with `clients_per_round >= 2 * byzantine + 3`
    /// (Blanchard et al. need n > 2f + 2); a scenario that breaks it is
    /// rejected at this key. Default 0.
    pub byzantine: ClientCount0,
    /// Multi-Krum: updates with the lowest Krum scores that are averaged,
    /// an integer in 1..=clients_per_round. Default `clients_per_round -
    /// byzantine`. (Krum is Multi-Krum with `keep: 1`.)
    pub keep: Option<ClientCount>,
    /// Sync: how a round's clients are drawn. Default `uniform`.
    pub selection: SelectionKind,
}

keyword_enum! {
    /// `strategy.selection`
    pub enum SelectionKind {
        /// `ceil(clients_per_round * over_selection)` available clients,
        /// uniformly without replacement.
        Uniform = "uniform",
        /// Each available client joins independently with probability
        /// `q = clients_per_round / clients.count`; the round closes when
        /// every one of them has reported or dropped (or at the deadline).
        Poisson = "poisson",
    }
}

impl Default for RawStrategy {
    fn default() -> Self {
        RawStrategy {
            kind: StrategyKind::FedAvg,
            clients_per_round: None,
            deadline_s: None,
            over_selection: AtLeastOne(1.0),
            concurrency: None,
            buffer_size: BufferSize(10),
            staleness: None,
            mixing: UnitFraction(0.6),
            server_learning_rate: None,
            max_staleness: None,
            mu: NonNegativeF64(0.01),
            server_momentum: None,
            beta1: None,
            beta2: DecayFraction(0.99),
            tau: None,
            flower_compat: false,
            trim_fraction: TrimFraction(0.1),
            byzantine: ClientCount0(0),
            keep: None,
            selection: SelectionKind::Uniform,
        }
    }
}

impl RawStrategy {
    /// `staleness` when the key is absent: `1/sqrt(1 + t)` for fedbuff,
    /// constant otherwise.
    pub fn default_staleness(kind: StrategyKind) -> RawStaleness {
        match kind {
            StrategyKind::FedBuff => RawStaleness::Polynomial(PolynomialStaleness::default()),
            _ => RawStaleness::default(),
        }
    }
    /// `server_learning_rate` when the key is absent: the adaptive
    /// optimisers' eta 0.1, otherwise 1.0 (the plain averaged step).
    /// With `flower_compat`, fedyogi's is Flower's 0.01.
    pub fn default_server_learning_rate(kind: StrategyKind, flower_compat: bool) -> PositiveF64 {
        match kind {
            StrategyKind::FedYogi if flower_compat => PositiveF64(0.01),
            StrategyKind::FedAdam | StrategyKind::FedYogi | StrategyKind::FedAdagrad => PositiveF64(0.1),
            _ => PositiveF64(1.0),
        }
    }
    /// `tau` when the key is absent: 1e-3; with `flower_compat`, Flower's
    /// 1e-9 for fedadam and fedadagrad (its fedyogi's is 1e-3 too).
    pub fn default_tau(kind: StrategyKind, flower_compat: bool) -> PositiveF64 {
        match kind {
            StrategyKind::FedAdam | StrategyKind::FedAdagrad if flower_compat => PositiveF64(1e-9),
            _ => PositiveF64(1e-3),
        }
    }
    /// `server_momentum` when the key is absent: 0.9; with
    /// `flower_compat`, Flower's 0.0.
    pub fn default_server_momentum(flower_compat: bool) -> DecayFraction {
        DecayFraction(if flower_compat { 0.0 } else { 0.9 })
    }
    /// `beta1` when the key is absent: 0.0 (no momentum) for fedadagrad,
    /// 0.9 otherwise.
    pub fn default_beta1(kind: StrategyKind) -> DecayFraction {
        match kind {
            StrategyKind::FedAdagrad => DecayFraction(0.0),
            _ => DecayFraction(0.9),
        }
    }
}

keyword_enum! {
    /// `strategy.kind`
    pub enum StrategyKind {
        /// Federated averaging, weighted by local sample count.
        FedAvg = "fedavg",
        /// FedAvg with a proximal term `mu` in local training.
        FedProx = "fedprox",
        /// FedAvg with server momentum `server_momentum`.
        FedAvgM = "fedavgm",
        /// Server-side Adam on the averaged update.
        FedAdam = "fedadam",
        /// Server-side Yogi on the averaged update.
        FedYogi = "fedyogi",
        /// Server-side Adagrad on the averaged update.
        FedAdagrad = "fedadagrad",
        /// Robust: coordinate-wise median of the updates.
        FedMedian = "fedmedian",
        /// Robust: coordinate-wise mean after dropping `trim_fraction` of
        /// the values at each end.
        TrimmedMean = "trimmed_mean",
        /// Robust: the update with the lowest Krum score (`byzantine`).
        Krum = "krum",
        /// Robust: the mean of the `keep` updates with the lowest Krum
        /// scores (`byzantine`, `keep`).
        MultiKrum = "multikrum",
        /// Async: every arrival is mixed in with weight `mixing * s(staleness)`.
        FedAsync = "fedasync",
        /// Async: aggregate every `buffer_size` arrivals.
        FedBuff = "fedbuff",
    }
}

impl StrategyKind {
    /// Async strategies fold updates in as they arrive; the others run
    /// rounds.
    pub fn is_async(self) -> bool {
        matches!(self, StrategyKind::FedAsync | StrategyKind::FedBuff)
    }
}

tagged_enum! {
    tag = "fn";
    /// `strategy.staleness`: the weight `s(t)` of an update `t` versions stale.
    pub enum RawStaleness {
        /// `s(t) = 1`.
        Constant(Iid) = "constant",
        /// `s(t) = (1 + t)^-a`.
        Polynomial(PolynomialStaleness) = "polynomial",
        /// `s(t) = 1` for `t <= b`, else `1 / (a * (t - b) + 1)`.
        Hinge(HingeStaleness) = "hinge",
    }
}

impl Default for RawStaleness {
    fn default() -> Self {
        RawStaleness::Constant(Iid {})
    }
}

/// `strategy.staleness` with `fn: polynomial`.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize, JsonSchema)]
#[serde(default, deny_unknown_fields, expecting = "a mapping with a")]
pub struct PolynomialStaleness {
    /// Decay exponent, finite and >= 0. Default 0.5.
    pub a: NonNegativeF64,
}

impl Default for PolynomialStaleness {
    fn default() -> Self {
        PolynomialStaleness { a: NonNegativeF64(0.5) }
    }
}

/// `strategy.staleness` with `fn: hinge`.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize, JsonSchema)]
#[serde(default, deny_unknown_fields, expecting = "a mapping with a and b")]
pub struct HingeStaleness {
    /// Decay slope, finite and >= 0. Default 10.
    pub a: NonNegativeF64,
    /// Staleness (in versions) tolerated without decay, finite and >= 0.
    /// Default 4.
    pub b: NonNegativeF64,
}

impl Default for HingeStaleness {
    fn default() -> Self {
        HingeStaleness { a: NonNegativeF64(10.0), b: NonNegativeF64(4.0) }
    }
}

// ---------------------------------------------------------------- privacy

/// `privacy:` differential privacy and secure aggregation, each optional
/// (`docs/privacy.md` explains both and what they cost).
#[derive(Debug, Clone, PartialEq, Default, Deserialize, Serialize, JsonSchema)]
#[serde(default, deny_unknown_fields, expecting = "a mapping with dp and secure_aggregation")]
pub struct RawPrivacy {
    /// Differential privacy. Default none.
    pub dp: Option<RawDp>,
    /// Secure aggregation. Default none.
    pub secure_aggregation: Option<RawSecureAggregation>,
}

/// `privacy.dp`
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize, JsonSchema)]
#[serde(default, deny_unknown_fields, expecting = "a mapping with level, clip_norm, noise_multiplier, delta")]
pub struct RawDp {
    /// `client` (the server adds noise to the clipped sum) `| local` (each
    /// client noises its own update). Default `client`.
    pub level: DpLevel,
    /// L2 norm each update is clipped to, finite and > 0. Default 1.0.
    pub clip_norm: PositiveF64,
    /// Noise std as a multiple of `clip_norm`, finite and >= 0. Default 1.0.
    pub noise_multiplier: NonNegativeF64,
    /// The delta of (epsilon, delta)-DP, in (0, 1). Default 1e-5.
    pub delta: OpenFraction,
    /// How epsilon is computed: `rdp | pld`. Default `rdp`.
    pub accountant: AccountantKind,
    /// Adaptive clipping (Andrew et al. 2021): `clip_norm` is the initial
    /// norm, then it tracks a quantile of the update norms. Default none
    /// (a fixed `clip_norm`).
    pub clip: Option<RawAdaptiveClip>,
}

/// `privacy.dp.clip`: after each round the clip norm moves geometrically
/// toward the `target_quantile` of the clients' update norms:
/// `C <- C * exp(-learning_rate * (b - target_quantile))`, where `b` is the
/// noised fraction of updates that were not clipped.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize, JsonSchema)]
#[serde(default, deny_unknown_fields, expecting = "a mapping with target_quantile and learning_rate")]
pub struct RawAdaptiveClip {
    /// The quantile of update norms the clip norm tracks, in [0, 1].
    /// Default 0.5.
    pub target_quantile: Probability,
    /// Geometric step size (unitless), finite and > 0. Default 0.2.
    pub learning_rate: PositiveF64,
}

impl Default for RawAdaptiveClip {
    fn default() -> Self {
        RawAdaptiveClip { target_quantile: Probability(0.5), learning_rate: PositiveF64(0.2) }
    }
}

keyword_enum! {
    /// `privacy.dp.accountant`
    pub enum AccountantKind {
        /// Renyi DP of the subsampled Gaussian (Mironov et al. 2019), with
        /// dp-accounting's orders and its RDP-to-(epsilon, delta) conversion.
        Rdp = "rdp",
        /// A discretised privacy-loss distribution, composed by FFT:
        /// tighter; Poisson sampling only.
        Pld = "pld",
    }
}

impl Default for RawDp {
    fn default() -> Self {
        RawDp {
            level: DpLevel::Client,
            clip_norm: PositiveF64(1.0),
            noise_multiplier: NonNegativeF64(1.0),
            delta: OpenFraction(1e-5),
            accountant: AccountantKind::Rdp,
            clip: None,
        }
    }
}

keyword_enum! {
    /// `privacy.dp.level`
    pub enum DpLevel {
        /// Central DP: noise on the aggregate.
        Client = "client",
        /// Local DP: noise on each update.
        Local = "local",
    }
}

/// `privacy.secure_aggregation`
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize, JsonSchema)]
#[serde(default, deny_unknown_fields, expecting = "a mapping with enabled and threshold")]
pub struct RawSecureAggregation {
    /// Whether updates are masked so the server sees only their sum.
    /// Default true (writing the block turns it on).
    pub enabled: bool,
    /// Fraction in (0, 1] of a round's dispatched clients whose shares are
    /// needed to unmask the sum: `t = ceil(threshold * dispatched)`, at
    /// least 2. Fewer survivors at any phase abort the round. Default 0.5.
    pub threshold: UnitFraction,
    /// Probability in [0, 1) that a client vanishes at each of the
    /// protocol's later phases (when the key list, its shares and the
    /// survivor list reach it), on top of `clients.dropout`. Default 0.
    pub phase_dropout: DecayFraction,
}

impl Default for RawSecureAggregation {
    fn default() -> Self {
        RawSecureAggregation { enabled: true, threshold: UnitFraction(0.5), phase_dropout: DecayFraction(0.0) }
    }
}

// ---------------------------------------------------------------- compression

tagged_enum! {
    tag = "kind";
    /// `compression:` of client updates on the wire (`docs/privacy.md`
    /// gives each kind's bytes). Not with `privacy.secure_aggregation`.
    pub enum RawCompression {
        /// Full f32 updates.
        None(Iid) = "none",
        /// Keep the largest `ratio` of the update's coordinates.
        TopK(TopKCompression) = "topk",
        /// Quantise every coordinate to `bits` bits.
        Quantize(QuantizeCompression) = "quantize",
    }
}

impl Default for RawCompression {
    fn default() -> Self {
        RawCompression::None(Iid {})
    }
}

/// `compression` with `kind: topk`.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, expecting = "a mapping with ratio")]
pub struct TopKCompression {
    /// Required. Fraction in (0, 1] of coordinates kept.
    pub ratio: UnitFraction,
    /// Error feedback: what compression dropped is added to the client's
    /// next update. Default false.
    #[serde(default)]
    pub error_feedback: bool,
}

/// `compression` with `kind: quantize`.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, expecting = "a mapping with bits")]
pub struct QuantizeCompression {
    /// Required. Bits per coordinate, an integer from 1 to 32.
    pub bits: QuantBits,
    /// Error feedback: what quantisation lost is added to the client's
    /// next update. Default false.
    #[serde(default)]
    pub error_feedback: bool,
}

// ---------------------------------------------------------------- server

/// `server:` the server's side of every transfer. Concurrent transfers
/// share the server's link max-min fairly, each also capped by its client's
/// own link (`clients.profiles[].network`). Absent: unlimited.
#[derive(Debug, Clone, PartialEq, Default, Deserialize, Serialize, JsonSchema)]
#[serde(default, deny_unknown_fields, expecting = "a mapping with network")]
pub struct RawServer {
    /// The server's link: bandwidth each way and latency. Default none:
    /// unlimited (no bandwidth limit, no latency of its own).
    pub network: Option<RawServerNetwork>,
}

/// `server.network`: every key is optional; an absent key sets no limit.
// The derived default is that: no bandwidths, `RawDelay::default()` latency.
#[derive(Debug, Clone, PartialEq, Default, Deserialize, Serialize, JsonSchema)]
#[serde(default, deny_unknown_fields, expecting = "a mapping with up_mbps, down_mbps, latency")]
pub struct RawServerNetwork {
    /// The server's upload bandwidth (models sent to clients) in Mbit/s
    /// (10^6 bit/s), a finite number > 0, shared by the downloads in
    /// progress. Default none: unlimited.
    pub up_mbps: Option<PositiveF64>,
    /// The server's download bandwidth (updates received from clients) in
    /// Mbit/s (10^6 bit/s), a finite number > 0, shared by the uploads in
    /// progress. Default none: unlimited.
    pub down_mbps: Option<PositiveF64>,
    /// One-way latency of the server's side, a delay distribution in ms
    /// drawn for every message and added to the client's own
    /// `network.latency`. Default `{dist: constant, ms: 0}`.
    pub latency: RawDelay,
}

// ---------------------------------------------------------------- stop, evaluation

/// `stop:` the first bound reached ends the run. Absent: `{rounds: 100}`.
/// Present: it needs `rounds` or `virtual_time_s` (a `target_accuracy`
/// alone might never be reached).
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, expecting = "a mapping with rounds, virtual_time_s, target_accuracy")]
pub struct RawStop {
    /// Server model versions, an integer from 1 to 1000000000. Default
    /// none (100 when `stop` is absent).
    #[serde(default)]
    pub rounds: Option<RoundCount>,
    /// Virtual seconds, finite and > 0. Default none. Without
    /// `clients.profiles` (ideal devices, on which nothing takes time) it
    /// needs `rounds` too; a run whose clock still cannot move stops with
    /// an error after a million messages at one instant.
    #[serde(default)]
    pub virtual_time_s: Option<PositiveF64>,
    /// Test accuracy in [0, 1] that ends the run when reached (also the
    /// target of `time_to_target_s`). Default none.
    #[serde(default)]
    pub target_accuracy: Option<Probability>,
    /// With `privacy.dp`: the run stops before the next round (or FedBuff
    /// aggregation) would take epsilon above this, finite and > 0.
    /// Default none.
    #[serde(default)]
    pub max_epsilon: Option<PositiveF64>,
}

/// `evaluation:` how often the server evaluates its model on the test set:
/// exactly one of the two keys. Absent: `{every_rounds: 1}`.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, expecting = "a mapping with every_rounds or every_s")]
pub struct RawEvaluation {
    /// Evaluate every this many server versions, an integer from 1 to
    /// 1000000000.
    #[serde(default)]
    pub every_rounds: Option<RoundCount>,
    /// Evaluate every this many virtual seconds, finite and >= 0.001 (a
    /// shorter interval would tick without the clock moving on).
    #[serde(default)]
    pub every_s: Option<Interval>,
}

// ---------------------------------------------------------------- faults

tagged_enum! {
    tag = "kind";
    /// `faults[]`: one failure, from `at_s` for `duration_s` virtual
    /// seconds, e.g.
    ///
    /// ```yaml
    /// faults:
    ///   - { kind: partition, at_s: 10, duration_s: 5, fraction: 0.3 }
    ///   - { kind: server_down, at_s: 30, duration_s: 2 }
    ///   - { kind: slow_link, at_s: 40, duration_s: 20, factor: 4, clients: [0, 1] }
    /// ```
    pub enum RawFault {
        /// Some clients are cut off: a message sent to or from one of them
        /// while the fault lasts is lost, and its task fails; the server
        /// sees the loss as a drop. A cut client cannot be reached, so it
        /// is not selected while the fault lasts.
        Partition(PartitionFault) = "partition",
        /// The server is down: every task in flight fails at `at_s` (the
        /// open sync round is abandoned, the async pool emptied), and work
        /// is dispatched again when it is back up.
        ServerDown(ServerDownFault) = "server_down",
        /// Some clients' links are slower: a message sent to or from one of
        /// them while the fault lasts moves at its bandwidth / `factor`.
        SlowLink(SlowLinkFault) = "slow_link",
    }
}

/// `faults[]` with `kind: partition`.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, expecting = "a mapping with at_s, duration_s and fraction or clients")]
pub struct PartitionFault {
    /// Required. When the fault starts, virtual seconds, finite and >= 0.
    pub at_s: NonNegativeF64,
    /// Required. How long it lasts, virtual seconds, finite and > 0.
    pub duration_s: PositiveF64,
    /// The share of clients cut off, drawn from the seed (exactly
    /// round(fraction * count)), a probability in [0, 1]. Default: every
    /// client, unless `clients` names them.
    #[serde(default)]
    pub fraction: Option<Probability>,
    /// The clients cut off, by id (instead of `fraction`). Default none.
    #[serde(default)]
    pub clients: Option<Vec<NonNegativeU64>>,
}

/// `faults[]` with `kind: server_down`.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, expecting = "a mapping with at_s and duration_s")]
pub struct ServerDownFault {
    /// Required. When the fault starts, virtual seconds, finite and >= 0.
    pub at_s: NonNegativeF64,
    /// Required. How long it lasts, virtual seconds, finite and > 0.
    pub duration_s: PositiveF64,
}

/// `faults[]` with `kind: slow_link`.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, expecting = "a mapping with at_s, duration_s, factor and fraction or clients")]
pub struct SlowLinkFault {
    /// Required. When the fault starts, virtual seconds, finite and >= 0.
    pub at_s: NonNegativeF64,
    /// Required. How long it lasts, virtual seconds, finite and > 0.
    pub duration_s: PositiveF64,
    /// Required. The bandwidth divisor, a finite number >= 1.
    pub factor: AtLeastOne,
    /// The share of clients slowed, drawn from the seed, a probability in
    /// [0, 1]. Default: every client, unless `clients` names them.
    #[serde(default)]
    pub fraction: Option<Probability>,
    /// The clients slowed, by id (instead of `fraction`). Default none.
    #[serde(default)]
    pub clients: Option<Vec<NonNegativeU64>>,
}

// ---------------------------------------------------------------- output

/// `output:` what a run folder holds beyond the contract's files (see
/// `docs/outputs.md`). Nothing here changes the run itself: `metrics.csv`,
/// `summary.json`, `events.jsonl`, `clients.csv`, `rounds.csv`,
/// `scenario.yaml` and `model.json` are always written. Switching an output
/// off saves its cost on long runs (a 100,000-version async run writes
/// about 60 MB of audit and 40 MB of trace), e.g.
///
/// ```yaml
/// output: { trace: false, audit: false, plots: false, report: false }
/// ```
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize, JsonSchema)]
#[serde(default, deny_unknown_fields, expecting = "a mapping with trace_clients, trace, audit, plots, report")]
pub struct RawOutput {
    /// Client tracks drawn in `trace.json`, an integer >= 0: the first this
    /// many clients to be dispatched a task get a track each; later ones
    /// are not drawn (the counters still count them, and the trace's
    /// `otherData` says how many were left out). Keeps a run with a million
    /// clients openable in Perfetto. Default 200.
    pub trace_clients: NonNegativeUsize,
    /// Write `trace.json` (Chrome trace events), true or false. Default true.
    pub trace: bool,
    /// Write `audit.jsonl` (the hash-chained compliance log, one record per
    /// model version), true or false. Default true.
    pub audit: bool,
    /// Draw the SVG plots in `plots/`, true or false. Default true.
    pub plots: bool,
    /// Write `report.html` (it shows the plots drawn), true or false.
    /// Default true.
    pub report: bool,
}

impl Default for RawOutput {
    fn default() -> Self {
        RawOutput { trace_clients: NonNegativeUsize(200), trace: true, audit: true, plots: true, report: true }
    }
}

// ---------------------------------------------------------------- sweep

/// `sweep:` dotted key -> non-empty list of values, in file order (checked
/// in `validate`, where keys with dots can be located exactly).
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(transparent)]
pub struct RawSweep(pub serde_yaml::Mapping);

impl JsonSchema for RawSweep {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "RawSweep".into()
    }
    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({
            "description": "`sweep:` a mapping from a dotted key (list items by index, e.g.\n`clients.profiles[0].share`) to a non-empty list of values; `fedsim sweep`\nruns the cross product, e.g.\n\n```yaml\nsweep: { strategy.kind: [fedavg, fedbuff], seed: [1, 2, 3] }\n```\n\nEach key must be a key of this schema (any but `sweep` itself). Each value\nis checked when the file is loaded, by setting it alone on the scenario: a\nvalue that makes the scenario invalid is reported at its place in the\nsweep, with the reason.",
            "type": "object",
            "additionalProperties": { "type": "array", "minItems": 1 }
        })
    }
}
