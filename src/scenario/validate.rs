//! Cross-field checks and the conversion of the raw scenario into the
//! checked one. Single-value ranges were already checked by the raw types;
//! what is left needs several values, the file system, or a feature flag.

use super::checked::*;
use super::error::{Issue, Problem};
use super::estimate::{Estimate, Limits};
use super::keys;
use super::raw::*;
use super::values::{describe, fmt_f64, NonNegativeU64, Probability};
use super::yaml::{parse_path, render, Path as KeyPath, Seg};
use crate::sim::VirtualTime;
use serde_yaml::Value;
use std::path::{Path, PathBuf};

fn key(parts: &[&str]) -> KeyPath {
    parts.iter().map(|p| Seg::Key(p.to_string())).collect()
}

fn with(base: &KeyPath, more: &[&str]) -> KeyPath {
    let mut p = base.clone();
    p.extend(more.iter().map(|m| Seg::Key(m.to_string())));
    p
}

fn inconsistent(path: KeyPath, expected: impl Into<String>, found: impl Into<String>) -> Issue {
    Issue::at_key(path, Problem::Inconsistent { expected: expected.into(), found: found.into() })
}

fn out_of_range(path: KeyPath, expected: impl Into<String>, found: impl Into<String>) -> Issue {
    Issue::at_value(path, Problem::OutOfRange { expected: expected.into(), found: found.into() })
}

/// Resolves a path named in the scenario against the scenario's folder and
/// checks that the file exists.
fn existing_file(base: &Path, text: &str, path: KeyPath) -> Result<PathBuf, Issue> {
    let resolved = base.join(text);
    if !text.is_empty() && resolved.is_file() {
        Ok(resolved)
    } else {
        Err(Issue::at_value(path, Problem::MissingFile { resolved }))
    }
}

/// Number of classes of a data source, when known without reading data.
fn known_classes(data: &RawData) -> Option<usize> {
    match data.dataset {
        DatasetKind::Digits => Some(10),
        DatasetKind::BreastCancer => Some(2),
        DatasetKind::Iris => Some(3),
        DatasetKind::Synthetic => data.synthetic.as_ref().map(|s| s.classes.0),
        DatasetKind::Csv => None,
    }
}

/// Checks everything that needs more than one value and builds the
/// checked scenario. `source` names the scenario file; relative paths are
/// resolved against its folder.
pub(crate) fn check(raw: RawScenario, source: &Path) -> Result<Scenario, Issue> {
    let base = source.parent().unwrap_or(Path::new(""));
    let data = check_data(&raw.data, base)?;
    let clients = check_clients(&raw.clients, base)?;
    check_per_client(&data, clients.count)?;
    let model = check_model(&raw.model, &raw.data)?;
    let t = &raw.training;
    let training = TrainingSpec {
        local_epochs: t.local_epochs.0,
        batch_size: t.batch_size.0,
        learning_rate: t.learning_rate.0,
        shuffle: t.shuffle,
        weight_decay: t.weight_decay.0,
        optimizer: match &t.optimizer {
            RawOptimizer::Sgd(_) => OptimizerSpec::Sgd,
            RawOptimizer::Momentum(m) => OptimizerSpec::Momentum { beta: m.beta.0, keep_state: m.keep_state },
            RawOptimizer::Adam(a) => {
                OptimizerSpec::Adam { beta1: a.beta1.0, beta2: a.beta2.0, eps: a.eps.0, keep_state: a.keep_state }
            }
        },
    };
    let strategy = check_strategy(&raw.strategy, clients.count)?;
    let privacy = check_privacy(raw.privacy.as_ref(), &strategy)?;
    let compression = match &raw.compression {
        RawCompression::None(_) => CompressionSpec::None,
        RawCompression::TopK(t) => CompressionSpec::TopK { ratio: t.ratio.0, error_feedback: t.error_feedback },
        RawCompression::Quantize(q) => {
            CompressionSpec::Quantize { bits: u32::from(q.bits.0), error_feedback: q.error_feedback }
        }
    };
    if privacy.secure_aggregation.is_some() && compression != CompressionSpec::None {
        return Err(inconsistent(
            key(&["compression", "kind"]),
            "compression kind none with privacy.secure_aggregation (the server adds masked vectors in a ring, \
             where every client must send every coordinate in the same encoding: a sparsified or quantised \
             update would not unmask)",
            format!("kind: {}", raw.compression.name()),
        ));
    }
    if let Some(b) = clients.byzantine.as_ref().filter(|b| matches!(b.attack, RawAttack::Alie(_))) {
        // The attackers collude over one round's updates: there must be a
        // round, and the server must see its updates one by one.
        let why = if strategy.kind.is_async() {
            Some(format!("strategy.kind {}", strategy.kind.name()))
        } else if privacy.secure_aggregation.is_some() {
            Some("privacy.secure_aggregation".to_string())
        } else {
            None
        };
        if let Some(found) = why {
            return Err(inconsistent(
                key(&["clients", "byzantine", "attack", "kind"]),
                "a sync strategy without secure aggregation for attack kind alie (its attackers collude over the \
                 updates of one round)",
                format!("alie with {found} (fraction {})", fmt_f64(b.fraction)),
            ));
        }
    }
    let server = check_server(raw.server.as_ref())?;
    let faults = check_faults(&raw.faults, &clients, &privacy)?;
    let stop = match &raw.stop {
        None => RawScenario::default_stop(),
        Some(s) => s.clone(),
    };
    if raw.stop.is_some() && stop.rounds.is_none() && stop.virtual_time_s.is_none() {
        let found = if stop.target_accuracy.is_some() { "only target_accuracy" } else { "neither" };
        return Err(inconsistent(key(&["stop"]), "stop.rounds or stop.virtual_time_s (a run needs a bound)", found));
    }
    // Ideal devices take no time: a run bounded by virtual time alone would
    // spin at t = 0 for ever.
    if clients.profiles.is_empty() && stop.rounds.is_none() {
        return Err(inconsistent(
            key(&["stop", "virtual_time_s"]),
            "stop.rounds as well when clients.profiles is absent (ideal devices take no time, so virtual time never \
             reaches stop.virtual_time_s)",
            "only stop.virtual_time_s",
        ));
    }
    let stop = StopSpec {
        rounds: stop.rounds.map(|r| r.0),
        virtual_time_s: stop.virtual_time_s.map(|v| v.0),
        target_accuracy: stop.target_accuracy.map(|a| a.0),
        max_epsilon: stop.max_epsilon.map(|e| e.0),
    };
    if stop.max_epsilon.is_some() && privacy.dp.is_none() {
        return Err(inconsistent(
            key(&["stop", "max_epsilon"]),
            "a privacy.dp block (without differential privacy there is no epsilon to bound)",
            "stop.max_epsilon without privacy.dp",
        ));
    }
    let evaluation = match &raw.evaluation {
        None => RawScenario::default_evaluation(),
        Some(e) => e.clone(),
    };
    let evaluation = match (evaluation.every_rounds, evaluation.every_s) {
        (Some(r), None) => EvaluationSpec::EveryRounds(r.0),
        (None, Some(s)) => EvaluationSpec::EveryS(s.0),
        (Some(_), Some(_)) => {
            return Err(inconsistent(
                key(&["evaluation", "every_s"]),
                "exactly one of evaluation.every_rounds and evaluation.every_s",
                "both",
            ))
        }
        (None, None) => {
            return Err(inconsistent(
                key(&["evaluation"]),
                "exactly one of evaluation.every_rounds and evaluation.every_s",
                "neither",
            ))
        }
    };
    let sweep = match &raw.sweep {
        None => Vec::new(),
        Some(s) => check_sweep(s)?,
    };
    Ok(Scenario {
        effective: String::new(),
        resolved: String::new(),
        name: raw.name.0,
        description: raw.description.0,
        seed: raw.seed.0,
        source: source.to_path_buf(),
        data,
        clients,
        model,
        training,
        strategy,
        privacy,
        compression,
        server,
        stop,
        evaluation,
        output: raw.output.clone(),
        faults,
        sweep,
    })
}

/// The checks that need the data's shape (a CSV's columns and labels, the
/// rows a split leaves), and the run's estimate against `limits`: each
/// refusal names the key at fault.
pub(crate) fn check_shape_and_limits(s: &Scenario, limits: &Limits) -> Result<(), Issue> {
    let shape = crate::data::shape(&s.data).map_err(|e| {
        let path = parse_path(e.key()).unwrap_or_default();
        Issue::at_value(path, Problem::Data { message: e.detail() })
    })?;
    if s.model == ModelSpec::LogisticRegression && shape.classes != 2 {
        return Err(out_of_range(
            key(&["model", "kind"]),
            format!(
                "a model for {} classes ({} is binary; use {} or {})",
                shape.classes,
                ModelKind::LogisticRegression.name(),
                ModelKind::SoftmaxRegression.name(),
                ModelKind::Mlp.name()
            ),
            format!("{} with data.dataset: {}", ModelKind::LogisticRegression.name(), data_name(&s.data.source)),
        ));
    }
    let estimate = Estimate::of(s, &shape);
    if let Some((path, expected, found)) = estimate.refusal(s, limits) {
        return Err(out_of_range(path, expected, found));
    }
    // A deadline no task can meet closes every round empty.
    let fastest = super::estimate::fastest_task_s(s, estimate.parameters);
    if let (Some(deadline), Some(fastest)) = (s.strategy.deadline_s, fastest) {
        if deadline < fastest && !s.strategy.kind.is_async() {
            return Err(out_of_range(
                key(&["strategy", "deadline_s"]),
                format!(
                    "a deadline of at least the fastest task any profile can finish ({} s: both latencies and the \
                     download of the model), else every round closes with no report",
                    fmt_f64(fastest)
                ),
                fmt_f64(deadline),
            ));
        }
    }
    Ok(())
}

fn data_name(d: &DataSource) -> &'static str {
    match d {
        DataSource::Digits => DatasetKind::Digits.name(),
        DataSource::BreastCancer => DatasetKind::BreastCancer.name(),
        DataSource::Iris => DatasetKind::Iris.name(),
        DataSource::Synthetic(_) => DatasetKind::Synthetic.name(),
        DataSource::Csv(_) => DatasetKind::Csv.name(),
    }
}

fn check_data(d: &RawData, base: &Path) -> Result<DataSpec, Issue> {
    let dataset = d.dataset.name();
    let wrong_block = |block: &str, wanted: DatasetKind| {
        inconsistent(
            key(&["data", block]),
            format!("no data.{block} block unless data.dataset is {}", wanted.name()),
            format!("data.dataset: {dataset}"),
        )
    };
    if d.dataset != DatasetKind::Csv && d.csv.is_some() {
        return Err(wrong_block("csv", DatasetKind::Csv));
    }
    if d.dataset != DatasetKind::Synthetic && d.synthetic.is_some() {
        return Err(wrong_block("synthetic", DatasetKind::Synthetic));
    }
    let source = match d.dataset {
        DatasetKind::Digits => DataSource::Digits,
        DatasetKind::BreastCancer => DataSource::BreastCancer,
        DatasetKind::Iris => DataSource::Iris,
        DatasetKind::Synthetic => {
            let Some(s) = &d.synthetic else {
                return Err(Issue::at_key(
                    key(&["data", "synthetic"]),
                    Problem::Missing {
                        expected: format!(
                            "a `synthetic:` block (e.g. `{{}}` for the defaults) when data.dataset is {}",
                            DatasetKind::Synthetic.name()
                        ),
                    },
                ));
            };
            DataSource::Synthetic(SyntheticSpec {
                features: s.features.0,
                classes: s.classes.0,
                samples: s.samples.0,
                alpha: s.alpha.0,
                beta: s.beta.0,
                per_client: s.per_client,
            })
        }
        DatasetKind::Csv => {
            let Some(c) = &d.csv else {
                return Err(Issue::at_key(
                    key(&["data", "csv"]),
                    Problem::Missing {
                        expected: format!(
                            "a `csv: {{path, label_column}}` block when data.dataset is {}",
                            DatasetKind::Csv.name()
                        ),
                    },
                ));
            };
            let path = existing_file(base, &c.path.0, key(&["data", "csv", "path"]))?;
            if c.label_column.0.is_empty() {
                return Err(out_of_range(
                    key(&["data", "csv", "label_column"]),
                    "the header name of the label column",
                    "an empty string",
                ));
            }
            DataSource::Csv(CsvSpec { path, label_column: c.label_column.0.clone() })
        }
    };
    let partition = match &d.partition {
        RawPartition::Iid(_) => Partition::Iid,
        RawPartition::Dirichlet(p) => Partition::Dirichlet { alpha: p.alpha.0 },
        RawPartition::Shards(p) => Partition::Shards { shards_per_client: p.shards_per_client.0 },
        RawPartition::QuantitySkew(p) => Partition::QuantitySkew { sigma: p.sigma.0 },
    };
    Ok(DataSpec { source, test_fraction: d.test_fraction.0, shuffle: d.shuffle, normalize: d.normalize, partition })
}

/// With `data.synthetic.per_client` each client is its own source, so the
/// partitions that split a shared pool by label (`dirichlet`, `shards`)
/// mean nothing, and every client needs at least one row.
fn check_per_client(data: &DataSpec, count: usize) -> Result<(), Issue> {
    let DataSource::Synthetic(s) = &data.source else { return Ok(()) };
    if !s.per_client {
        return Ok(());
    }
    if let Partition::Dirichlet { .. } | Partition::Shards { .. } = data.partition {
        let kind = if matches!(data.partition, Partition::Shards { .. }) { "shards" } else { "dirichlet" };
        return Err(Issue::at_value(
            key(&["data", "partition", "kind"]),
            Problem::Inconsistent {
                expected: "iid or quantity_skew when data.synthetic.per_client is true (each client is its own \
                           source, with no shared pool to split by label; the partition only sets client sizes)"
                    .into(),
                found: format!("kind: {kind}"),
            },
        ));
    }
    if s.samples < count {
        return Err(out_of_range(
            key(&["data", "synthetic", "samples"]),
            format!(
                "an integer >= clients.count ({count}) when data.synthetic.per_client is true (samples is the \
                 train rows over all clients, and every client needs at least one)"
            ),
            s.samples.to_string(),
        ));
    }
    Ok(())
}

fn check_delay(d: &RawDelay, path: KeyPath) -> Result<Delay, Issue> {
    Ok(match d {
        RawDelay::Constant(c) => Delay::Constant { ms: c.ms.0 },
        RawDelay::Uniform(u) => {
            if u.min_ms.0 > u.max_ms.0 {
                return Err(Issue::at_value(
                    with(&path, &["min_ms"]),
                    Problem::Inconsistent {
                        expected: format!("min_ms <= max_ms ({})", fmt_f64(u.max_ms.0)),
                        found: fmt_f64(u.min_ms.0),
                    },
                ));
            }
            Delay::Uniform { min_ms: u.min_ms.0, max_ms: u.max_ms.0 }
        }
        RawDelay::Normal(n) => Delay::Normal { mean_ms: n.mean_ms.0, std_ms: n.std_ms.0 },
        RawDelay::LogNormal(l) => Delay::LogNormal { median_ms: l.median_ms.0, sigma: l.sigma.0 },
        RawDelay::Exponential(e) => Delay::Exponential { mean_ms: e.mean_ms.0 },
        RawDelay::Pareto(p) => Delay::Pareto { scale_ms: p.scale_ms.0, shape: p.shape.0 },
    })
}

fn check_faults(raw: &[RawFault], clients: &ClientsSpec, privacy: &PrivacySpec) -> Result<Vec<FaultSpec>, Issue> {
    let mut faults = Vec::new();
    for (i, f) in raw.iter().enumerate() {
        let here: KeyPath = vec![Seg::Key("faults".into()), Seg::Index(i)];
        let targets = |fraction: Option<Probability>, ids: &Option<Vec<NonNegativeU64>>| match (fraction, ids) {
            (Some(_), Some(_)) => Err(inconsistent(
                with(&here, &["clients"]),
                "either fraction or clients, not both",
                "both fraction and clients",
            )),
            (fraction, None) => Ok(FaultTargets::Fraction(fraction.map_or(1.0, |f| f.0))),
            (None, Some(ids)) => {
                let mut out = Vec::with_capacity(ids.len());
                for (j, id) in ids.iter().enumerate() {
                    if id.0 >= clients.count as u64 {
                        let mut at = with(&here, &["clients"]);
                        at.push(Seg::Index(j));
                        return Err(inconsistent(
                            at,
                            format!("a client id below clients.count ({})", clients.count),
                            id.0.to_string(),
                        ));
                    }
                    out.push(id.0 as u32);
                }
                out.sort_unstable();
                out.dedup();
                Ok(FaultTargets::Clients(out))
            }
        };
        let (at_s, duration_s, kind) = match f {
            RawFault::Partition(p) => {
                (p.at_s.0, p.duration_s.0, FaultKind::Partition(targets(p.fraction, &p.clients)?))
            }
            RawFault::ServerDown(d) => {
                if privacy.dp.is_some() || privacy.secure_aggregation.is_some() {
                    return Err(inconsistent(
                        with(&here, &["kind"]),
                        "no privacy block with kind server_down (what a crashed server loses of DP's adaptive \
                         clipping or of a secure round is not modelled)",
                        "server_down with privacy",
                    ));
                }
                (d.at_s.0, d.duration_s.0, FaultKind::ServerDown)
            }
            RawFault::SlowLink(s) => (
                s.at_s.0,
                s.duration_s.0,
                FaultKind::SlowLink { factor: s.factor.0, targets: targets(s.fraction, &s.clients)? },
            ),
        };
        if at_s + duration_s >= VirtualTime::NEVER.as_secs_f64() {
            return Err(inconsistent(
                with(&here, &["duration_s"]),
                "a fault that ends within the clock's range (about 584 years)",
                format!("at_s + duration_s = {}", fmt_f64(at_s + duration_s)),
            ));
        }
        faults.push(FaultSpec { at_s, duration_s, kind });
    }
    Ok(faults)
}

fn check_clients(c: &RawClients, base: &Path) -> Result<ClientsSpec, Issue> {
    let mut profiles = Vec::new();
    for (i, p) in c.profiles.iter().enumerate() {
        let here: KeyPath = vec![Seg::Key("clients".into()), Seg::Key("profiles".into()), Seg::Index(i)];
        if let Some(j) = c.profiles[..i].iter().position(|q| q.name == p.name) {
            return Err(Issue::at_value(
                with(&here, &["name"]),
                Problem::Inconsistent {
                    expected: "a profile name used once".into(),
                    found: format!("`{}`, already the name of clients.profiles[{j}]", p.name.0),
                },
            ));
        }
        let jitter = match &p.compute.jitter {
            None => None,
            Some(j) => Some(check_delay(j, with(&here, &["compute", "jitter"]))?),
        };
        let latency = check_delay(&p.network.latency, with(&here, &["network", "latency"]))?;
        profiles.push(Profile {
            name: p.name.0.clone(),
            share: p.share.0,
            compute: Compute { samples_per_s: p.compute.samples_per_s.0, jitter },
            network: Network { latency, up_mbps: p.network.up_mbps.0, down_mbps: p.network.down_mbps.0 },
        });
    }
    if let Some(last) = c.profiles.len().checked_sub(1) {
        let sum: f64 = c.profiles.iter().map(|p| p.share.0).sum();
        if (sum - 1.0).abs() > 1e-6 {
            let terms: Vec<String> = c.profiles.iter().map(|p| fmt_f64(p.share.0)).collect();
            return Err(Issue::at_value(
                vec![
                    Seg::Key("clients".into()),
                    Seg::Key("profiles".into()),
                    Seg::Index(last),
                    Seg::Key("share".into()),
                ],
                Problem::Inconsistent {
                    expected: "profile shares that sum to 1".into(),
                    found: format!("{} = {}", terms.join(" + "), fmt_f64(sum)),
                },
            ));
        }
    }
    let availability = match &c.availability {
        RawAvailability::Always(_) => Availability::Always,
        RawAvailability::Diurnal(d) => Availability::Diurnal { period_h: d.period_h.0, on_fraction: d.on_fraction.0 },
        RawAvailability::Trace(t) => {
            Availability::Trace { path: existing_file(base, &t.path.0, key(&["clients", "availability", "path"]))? }
        }
    };
    let byzantine = c.byzantine.as_ref().map(|b| ByzantineSpec { fraction: b.fraction.0, attack: b.attack.clone() });
    Ok(ClientsSpec { count: c.count.0, profiles, dropout: c.dropout.probability.0, availability, byzantine })
}

/// The server's link: a bandwidth that is absent is unlimited (the raw
/// type already checked that a given one is finite and > 0).
fn check_server(s: Option<&RawServer>) -> Result<ServerSpec, Issue> {
    let Some(n) = s.and_then(|s| s.network.as_ref()) else {
        return Ok(ServerSpec::default());
    };
    let unlimited = ServerNetwork::default();
    Ok(ServerSpec {
        network: ServerNetwork {
            up_mbps: n.up_mbps.map_or(unlimited.up_mbps, |r| r.0),
            down_mbps: n.down_mbps.map_or(unlimited.down_mbps, |r| r.0),
            latency: check_delay(&n.latency, key(&["server", "network", "latency"]))?,
        },
    })
}

fn check_model(m: &RawModel, data: &RawData) -> Result<ModelSpec, Issue> {
    let spec = match (m.kind, &m.hidden) {
        (ModelKind::Mlp, None) => {
            return Err(Issue::at_key(
                key(&["model", "hidden"]),
                Problem::Missing {
                    expected: format!(
                        "a non-empty list of layer widths >= 1 when model.kind is {}, e.g. [64]",
                        ModelKind::Mlp.name()
                    ),
                },
            ))
        }
        (ModelKind::Mlp, Some(h)) if h.is_empty() => {
            return Err(out_of_range(key(&["model", "hidden"]), "at least one layer width, e.g. [64]", "[]"))
        }
        (ModelKind::Mlp, Some(h)) => ModelSpec::Mlp { hidden: h.iter().map(|w| w.0).collect() },
        (kind, Some(_)) => {
            return Err(inconsistent(
                key(&["model", "hidden"]),
                format!("no hidden layers unless model.kind is {}", ModelKind::Mlp.name()),
                format!("model.kind: {}", kind.name()),
            ))
        }
        (ModelKind::LogisticRegression, None) => ModelSpec::LogisticRegression,
        (ModelKind::SoftmaxRegression, None) => ModelSpec::SoftmaxRegression,
    };
    if spec == ModelSpec::LogisticRegression {
        if let Some(classes) = known_classes(data).filter(|&c| c != 2) {
            return Err(out_of_range(
                key(&["model", "kind"]),
                format!(
                    "a model for {classes} classes ({} is binary; use {} or {})",
                    ModelKind::LogisticRegression.name(),
                    ModelKind::SoftmaxRegression.name(),
                    ModelKind::Mlp.name()
                ),
                format!("{} with data.dataset: {}", ModelKind::LogisticRegression.name(), data.dataset.name()),
            ));
        }
    }
    Ok(spec)
}

fn check_strategy(s: &RawStrategy, count: usize) -> Result<StrategySpec, Issue> {
    let at_most = |name: &str, v: usize| {
        if v > count {
            Err(out_of_range(
                key(&["strategy", name]),
                format!("an integer from 1 to clients.count ({count})"),
                v.to_string(),
            ))
        } else {
            Ok(v)
        }
    };
    let clients_per_round = match s.clients_per_round {
        None => count,
        Some(v) => at_most("clients_per_round", v.0)?,
    };
    let concurrency = match s.concurrency {
        None => clients_per_round,
        Some(v) => at_most("concurrency", v.0)?,
    };
    let kind = s.kind;
    let staleness = match s.staleness.clone().unwrap_or_else(|| RawStrategy::default_staleness(s.kind)) {
        RawStaleness::Constant(_) => Staleness::Constant,
        RawStaleness::Polynomial(p) => Staleness::Polynomial { a: p.a.0 },
        RawStaleness::Hinge(h) => Staleness::Hinge { a: h.a.0, b: h.b.0 },
    };
    let server_learning_rate =
        s.server_learning_rate.unwrap_or(RawStrategy::default_server_learning_rate(s.kind, s.flower_compat)).0;
    let beta1 = s.beta1.unwrap_or(RawStrategy::default_beta1(s.kind)).0;
    let byzantine = s.byzantine.0;
    let krum_like = matches!(kind, StrategyKind::Krum | StrategyKind::MultiKrum);
    if krum_like {
        // Blanchard et al. need n > 2f + 2 updates per aggregation.
        let needed = byzantine.checked_mul(2).and_then(|x| x.checked_add(3));
        if needed.is_none_or(|n| clients_per_round < n) {
            let name = kind.name();
            return Err(if clients_per_round >= 3 {
                out_of_range(
                    key(&["strategy", "byzantine"]),
                    format!(
                        "an integer from 0 to {} ({name} needs clients_per_round >= 2 * byzantine + 3, and \
                         clients_per_round is {clients_per_round})",
                        (clients_per_round - 3) / 2
                    ),
                    byzantine.to_string(),
                )
            } else {
                out_of_range(
                    key(&["strategy", "byzantine"]),
                    format!("clients_per_round >= 2 * byzantine + 3 for {name} (at least 3 clients per round)"),
                    format!("byzantine {byzantine} with clients_per_round {clients_per_round}"),
                )
            });
        }
    }
    let keep = match (kind, s.keep) {
        (StrategyKind::Krum, _) => 1,
        (StrategyKind::MultiKrum, Some(k)) if k.0 > clients_per_round => {
            return Err(out_of_range(
                key(&["strategy", "keep"]),
                format!("an integer from 1 to clients_per_round ({clients_per_round})"),
                k.0.to_string(),
            ))
        }
        (StrategyKind::MultiKrum, Some(k)) => k.0,
        // Multi-Krum's default (>= byzantine + 3, by the check above); other
        // kinds do not check `byzantine`, so saturate and keep at least 1.
        _ => clients_per_round.saturating_sub(byzantine).max(1),
    };
    if s.selection == SelectionKind::Poisson {
        if kind.is_async() {
            return Err(inconsistent(
                key(&["strategy", "selection"]),
                "selection: uniform with an async strategy (poisson draws each sync round's cohort; an async \
                 pool refills one slot at a time)",
                format!("selection: poisson with kind: {}", kind.name()),
            ));
        }
        if s.over_selection.0 != 1.0 {
            return Err(inconsistent(
                key(&["strategy", "over_selection"]),
                "over_selection 1 with selection: poisson (each client joins with probability q; there is no \
                 fixed number to over-select)",
                fmt_f64(s.over_selection.0),
            ));
        }
    }
    Ok(StrategySpec {
        kind,
        clients_per_round,
        deadline_s: s.deadline_s.map(|d| d.0),
        over_selection: s.over_selection.0,
        concurrency,
        buffer_size: s.buffer_size.0,
        staleness,
        mixing: s.mixing.0,
        server_learning_rate,
        max_staleness: s.max_staleness.map(|m| m.0),
        mu: s.mu.0,
        server_momentum: s.server_momentum.unwrap_or(RawStrategy::default_server_momentum(s.flower_compat)).0,
        beta1,
        beta2: s.beta2.0,
        tau: s.tau.unwrap_or(RawStrategy::default_tau(s.kind, s.flower_compat)).0,
        flower_compat: s.flower_compat,
        trim_fraction: s.trim_fraction.0,
        byzantine,
        keep,
        selection: s.selection,
    })
}

/// Which strategies each privacy mechanism works with, and the accountant
/// against the sampling it must account for.
fn check_privacy(p: Option<&RawPrivacy>, strategy: &StrategySpec) -> Result<PrivacySpec, Issue> {
    let Some(p) = p else { return Ok(PrivacySpec::default()) };
    let kind = strategy.kind;
    // Strategies whose aggregate is a (weighted) sum of updates: noise and
    // masks act on that sum. Robust rules look at each update, and FedAsync
    // applies each update on its own.
    let sums = matches!(
        kind,
        StrategyKind::FedAvg
            | StrategyKind::FedProx
            | StrategyKind::FedAvgM
            | StrategyKind::FedAdam
            | StrategyKind::FedYogi
            | StrategyKind::FedAdagrad
            | StrategyKind::FedBuff
    );
    let dp = match &p.dp {
        None => None,
        Some(d) => {
            if !sums {
                return Err(inconsistent(
                    key(&["privacy", "dp"]),
                    "a strategy that sums updates (fedavg, fedprox, fedavgm, fedadam, fedyogi, fedadagrad or \
                     fedbuff): DP bounds each client's share of a sum",
                    format!("strategy.kind: {}", kind.name()),
                ));
            }
            let sampled = d.level == DpLevel::Client && !kind.is_async();
            if d.accountant == AccountantKind::Pld && strategy.selection == SelectionKind::Uniform && sampled {
                return Err(inconsistent(
                    key(&["privacy", "dp", "accountant"]),
                    "accountant: rdp with strategy.selection: uniform (the PLD accountant covers Poisson sampling; \
                     fixed-size sampling without replacement is accounted by RDP), or strategy.selection: poisson",
                    "accountant: pld with selection: uniform",
                ));
            }
            Some(DpSpec {
                level: d.level,
                clip_norm: d.clip_norm.0,
                noise_multiplier: d.noise_multiplier.0,
                delta: d.delta.0,
                accountant: d.accountant,
                adaptive: d
                    .clip
                    .as_ref()
                    .map(|c| AdaptiveClip { target_quantile: c.target_quantile.0, learning_rate: c.learning_rate.0 }),
            })
        }
    };
    if p.dp.as_ref().is_some_and(|d| d.clip.is_some() && d.level == DpLevel::Local) {
        return Err(inconsistent(
            key(&["privacy", "dp", "clip"]),
            "no adaptive clip with level: local (the clip norm adapts to the server's noised count of \
             clipped updates, a central mechanism)",
            "privacy.dp.clip with level: local",
        ));
    }
    if let Some(d) = p.dp.as_ref().filter(|d| d.clip.is_some()) {
        if kind.is_async() {
            return Err(inconsistent(
                key(&["privacy", "dp", "clip"]),
                "no adaptive clip with an async strategy (a buffer would mix updates clipped to different norms, \
                 and its noise can only be scaled to one)",
                format!("privacy.dp.clip with strategy.kind: {}", kind.name()),
            ));
        }
        let limit = crate::privacy::dp::adaptive_noise_limit(strategy.clients_per_round);
        if d.noise_multiplier.0 >= limit {
            return Err(out_of_range(
                key(&["privacy", "dp", "noise_multiplier"]),
                format!(
                    "a noise multiplier below {} with adaptive clipping (the count of unclipped updates takes \
                     noise of std clients_per_round / 20, Andrew et al. 2021, which must leave part of the budget \
                     for the updates' sum)",
                    fmt_f64(limit)
                ),
                fmt_f64(d.noise_multiplier.0),
            ));
        }
    }
    let secure_aggregation = match &p.secure_aggregation {
        Some(sa) if sa.enabled => {
            if kind.is_async() || !sums {
                return Err(inconsistent(
                    key(&["privacy", "secure_aggregation"]),
                    "a sync strategy that sums updates (fedavg, fedprox, fedavgm, fedadam, fedyogi or fedadagrad): \
                     the server only ever learns a round's sum",
                    format!("strategy.kind: {}", kind.name()),
                ));
            }
            if strategy.clients_per_round < 2 {
                return Err(inconsistent(
                    key(&["strategy", "clients_per_round"]),
                    "at least 2 with privacy.secure_aggregation (the sum of one update is that update, and Shamir \
                     sharing needs a threshold of 2)",
                    strategy.clients_per_round.to_string(),
                ));
            }
            Some(SecAggSpec { threshold: sa.threshold.0, phase_dropout: sa.phase_dropout.0 })
        }
        _ => None,
    };
    Ok(PrivacySpec { dp, secure_aggregation })
}

fn check_sweep(s: &RawSweep) -> Result<Vec<(String, Vec<String>)>, Issue> {
    let mut out = Vec::new();
    for (k, v) in &s.0 {
        let Value::String(k) = k else {
            return Err(Issue::at_key(
                key(&["sweep"]),
                Problem::WrongType { expected: "dotted keys such as strategy.kind".into(), found: describe(k) },
            ));
        };
        let here = vec![Seg::Key("sweep".into()), Seg::Key(k.clone())];
        let path = parse_path(k);
        let valid = path
            .as_ref()
            .is_some_and(|p| !p.is_empty() && matches!(&p[0], Seg::Key(first) if first != "sweep") && keys::exists(p));
        if !valid {
            let all = keys::all();
            let normalized = path.as_ref().map_or_else(|| k.clone(), |p| keys::normalize(p));
            let hint = super::error::nearest(&normalized, all.iter().map(|(key, _)| key.as_str()))
                .map_or(String::new(), |best| format!(" (did you mean `{best}`?)"));
            return Err(Issue::at_key(
                here,
                Problem::OutOfRange {
                    expected: "a dotted key of the scenario, such as strategy.kind or clients.profiles[0].share".into(),
                    found: format!("`{k}`{hint}"),
                },
            ));
        }
        let Value::Sequence(items) = v else {
            return Err(Issue::at_value(
                here,
                Problem::WrongType { expected: "a non-empty list of values".into(), found: describe(v) },
            ));
        };
        if items.is_empty() {
            return Err(out_of_range(here, "a non-empty list of values", "[]"));
        }
        out.push((k.clone(), items.iter().map(render).collect()));
    }
    Ok(out)
}
