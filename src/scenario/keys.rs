//! Every dotted key of the schema (list items as `[]`), with what it
//! accepts. Used for `sweep:` keys, messages about missing keys, and the
//! tests that keep `docs/scenario-reference.md` and the raw structs in step.

use super::yaml::{Path, Seg};

/// The keys of a delay distribution (`latency`, `jitter`), after its prefix.
const DELAY_KEYS: &[(&str, &str)] = &[
    ("", "a delay distribution: a mapping with `dist` and its parameters"),
    (".dist", "one of constant, uniform, normal, lognormal, exponential, pareto"),
    (".ms", "a duration in ms, finite and >= 0 (dist: constant)"),
    (".min_ms", "a duration in ms, finite and >= 0 (dist: uniform)"),
    (".max_ms", "a duration in ms, finite and >= min_ms (dist: uniform)"),
    (".mean_ms", "a duration in ms, finite and >= 0 (dist: normal, exponential)"),
    (".std_ms", "a duration in ms, finite and >= 0 (dist: normal)"),
    (".median_ms", "a duration in ms, finite and >= 0 (dist: lognormal)"),
    (".sigma", "a finite number >= 0 (dist: lognormal)"),
    (".scale_ms", "a duration in ms, finite and > 0 (dist: pareto)"),
    (".shape", "a finite number > 0 (dist: pareto)"),
];

/// Every key but those of delay distributions.
const KEYS: &[(&str, &str)] = &[
    ("name", "a name of lowercase letters, digits, `_` and `-`"),
    ("description", "a string"),
    ("seed", "an integer >= 0"),
    ("data", "a mapping with at least `dataset`"),
    ("data.dataset", "one of digits, breast_cancer, iris, synthetic, csv"),
    ("data.test_fraction", "a fraction in (0, 1), exclusive"),
    ("data.shuffle", "a boolean"),
    ("data.normalize", "one of none, standard, minmax"),
    ("data.partition", "a mapping with `kind` and its parameters"),
    ("data.partition.kind", "one of iid, dirichlet, shards, quantity_skew"),
    ("data.partition.alpha", "a finite number > 0 (kind: dirichlet)"),
    ("data.partition.shards_per_client", "an integer >= 1 (kind: shards)"),
    ("data.partition.sigma", "a finite number >= 0 (kind: quantity_skew)"),
    ("data.synthetic", "a mapping with features, classes, samples, alpha, beta"),
    ("data.synthetic.features", "an integer >= 1"),
    ("data.synthetic.classes", "an integer >= 2"),
    ("data.synthetic.samples", "an integer >= 1"),
    ("data.synthetic.alpha", "a finite number >= 0"),
    ("data.synthetic.beta", "a finite number >= 0"),
    ("data.csv", "a mapping with path and label_column"),
    ("data.csv.path", "the path of an existing CSV file, relative to the scenario"),
    ("data.csv.label_column", "the header name of the label column"),
    ("clients", "a mapping with at least `count`"),
    ("clients.count", "an integer >= 1"),
    ("clients.profiles", "a list of profiles whose shares sum to 1"),
    ("clients.profiles[]", "a profile mapping with name, share, compute, network"),
    ("clients.profiles[].name", "a name of lowercase letters, digits, `_` and `-`"),
    ("clients.profiles[].share", "a probability in [0, 1]"),
    ("clients.profiles[].compute", "a mapping with samples_per_s and jitter"),
    ("clients.profiles[].compute.samples_per_s", "a number > 0 (or .inf for no delay)"),
    ("clients.profiles[].network", "a mapping with latency, up_mbps, down_mbps"),
    ("clients.profiles[].network.up_mbps", "a number > 0 (or .inf for no delay)"),
    ("clients.profiles[].network.down_mbps", "a number > 0 (or .inf for no delay)"),
    ("clients.dropout", "a mapping with probability"),
    ("clients.dropout.probability", "a probability in [0, 1]"),
    ("clients.availability", "a mapping with `kind` and its parameters"),
    ("clients.availability.kind", "one of always, diurnal, trace"),
    ("clients.availability.period_h", "a finite number > 0 (kind: diurnal)"),
    ("clients.availability.on_fraction", "a fraction in (0, 1] (kind: diurnal)"),
    ("clients.availability.path", "the path of an existing CSV file, relative to the scenario (kind: trace)"),
    ("model", "a mapping with kind (and hidden for mlp)"),
    ("model.kind", "one of logistic_regression, softmax_regression, mlp"),
    ("model.hidden", "a non-empty list of layer widths >= 1 (kind: mlp)"),
    ("model.hidden[]", "an integer >= 1"),
    ("training", "a mapping"),
    ("training.local_epochs", "an integer >= 1"),
    ("training.batch_size", "an integer >= 1"),
    ("training.learning_rate", "a finite number > 0"),
    ("training.shuffle", "a boolean"),
    ("training.weight_decay", "a finite number >= 0"),
    ("strategy", "a mapping with kind and its options"),
    (
        "strategy.kind",
        "one of fedavg, fedprox, fedavgm, fedadam, fedyogi, fedadagrad, fedmedian, trimmed_mean, krum, multikrum, \
         fedasync, fedbuff",
    ),
    ("strategy.clients_per_round", "an integer from 1 to clients.count"),
    ("strategy.deadline_s", "a finite number > 0"),
    ("strategy.over_selection", "a finite number >= 1"),
    ("strategy.concurrency", "an integer from 1 to clients.count"),
    ("strategy.buffer_size", "an integer >= 1"),
    ("strategy.staleness", "a mapping with `fn` and its parameters"),
    ("strategy.staleness.fn", "one of constant, polynomial, hinge"),
    ("strategy.staleness.a", "a finite number >= 0 (fn: polynomial, hinge)"),
    ("strategy.staleness.b", "a finite number >= 0 (fn: hinge)"),
    ("strategy.mixing", "a fraction in (0, 1]"),
    ("strategy.server_learning_rate", "a finite number > 0"),
    ("strategy.max_staleness", "an integer >= 0"),
    ("strategy.mu", "a finite number >= 0"),
    ("strategy.server_momentum", "a fraction in [0, 1)"),
    ("strategy.beta1", "a fraction in [0, 1)"),
    ("strategy.beta2", "a fraction in [0, 1)"),
    ("strategy.tau", "a finite number > 0"),
    ("strategy.trim_fraction", "a fraction in [0, 0.5)"),
    ("strategy.byzantine", "an integer >= 0 (kind: krum, multikrum: clients_per_round >= 2 * byzantine + 3)"),
    ("strategy.keep", "an integer from 1 to clients_per_round (kind: multikrum)"),
    ("privacy", "a mapping with dp and secure_aggregation (not supported yet)"),
    ("privacy.dp", "a mapping with level, clip_norm, noise_multiplier, delta"),
    ("privacy.dp.level", "one of client, local"),
    ("privacy.dp.clip_norm", "a finite number > 0"),
    ("privacy.dp.noise_multiplier", "a finite number >= 0"),
    ("privacy.dp.delta", "a fraction in (0, 1), exclusive"),
    ("privacy.secure_aggregation", "a mapping with enabled and threshold"),
    ("privacy.secure_aggregation.enabled", "a boolean"),
    ("privacy.secure_aggregation.threshold", "a fraction in (0, 1]"),
    ("compression", "a mapping with `kind` and its parameters"),
    ("compression.kind", "one of none, topk, quantize"),
    ("compression.ratio", "a fraction in (0, 1] (kind: topk)"),
    ("compression.bits", "a bit width from 1 to 32 (kind: quantize)"),
    ("stop", "a mapping with rounds and/or virtual_time_s"),
    ("stop.rounds", "an integer >= 1"),
    ("stop.virtual_time_s", "a finite number > 0"),
    ("stop.target_accuracy", "a probability in [0, 1]"),
    ("evaluation", "a mapping with exactly one of every_rounds, every_s"),
    ("evaluation.every_rounds", "an integer >= 1"),
    ("evaluation.every_s", "a finite number > 0"),
    ("sweep", "a mapping from dotted keys to non-empty lists of values"),
];

/// Every dotted key with what it accepts, in schema order.
pub fn all() -> Vec<(String, &'static str)> {
    let mut out = Vec::new();
    for &(key, what) in KEYS {
        out.push((key.to_string(), what));
        let prefix = match key {
            "clients.profiles[].compute" => Some("clients.profiles[].compute.jitter"),
            "clients.profiles[].network" => Some("clients.profiles[].network.latency"),
            _ => None,
        };
        if let Some(prefix) = prefix {
            for &(suffix, what) in DELAY_KEYS {
                out.push((format!("{prefix}{suffix}"), what));
            }
        }
    }
    out
}

/// A path with its list indices replaced by `[]`: `clients.profiles[].share`.
pub fn normalize(path: &[Seg]) -> String {
    super::yaml::render_path(path, false)
}

/// What the key at `path` accepts, if the schema has it.
pub fn expected_for(path: &Path) -> Option<&'static str> {
    let key = normalize(path);
    all().into_iter().find(|(k, _)| *k == key).map(|(_, w)| w)
}

/// Whether the schema has this key (indices normalised).
pub fn exists(path: &Path) -> bool {
    expected_for(path).is_some()
}
