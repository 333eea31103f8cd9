//! Limits up front: what a checked scenario will cost, before it runs.
//!
//! [`Estimate::of`] sizes a run from its checked [`Scenario`] and its data's
//! [`Shape`]: the model's parameters, the bytes the process holds at its
//! peak (the models in flight, the data, per-client state, scratch), the
//! client tasks it dispatches, the work they do (multiply-adds of training
//! and evaluation) and the events it logs. [`Estimate::refusal`] compares
//! that with [`Limits`] (the memory this machine has available, read from
//! `/proc/meminfo`, with a safety factor, and fixed budgets of work and
//! events) and names the key behind the largest term.
//!
//! The figures are deliberately generous upper estimates, in `f64` so that
//! no product of counts can overflow: they exist to refuse a run that
//! cannot fit or cannot end, not to predict its exact footprint. A batch
//! scheduler's memory request (`--mem`) can use [`Estimate::memory_bytes`].

use super::checked::*;
use super::yaml::{Path as KeyPath, Seg};
use crate::data::Shape;
use std::sync::OnceLock;

/// The share of the machine's available memory a run may plan to use: the
/// estimate is an estimate, and the machine is shared.
pub const MEMORY_SAFETY: f64 = 0.8;
/// The most multiply-adds a run may plan (training and evaluation), far
/// beyond the shipped scenarios. Beyond it a run is refused rather than
/// left to run for ever.
pub const MAX_WORK: f64 = 1e14;
/// The most events a run may plan to log (`events.jsonl` lines, and the
/// evaluation timer's ticks).
pub const MAX_EVENTS: f64 = 2e8;
/// Bytes a registered client may cost (measured: about 22, see
/// docs/performance.md; the bound leaves room).
const CLIENT_BYTES: f64 = 64.0;
/// The process itself: code, runtime, output buffers.
const BASE_BYTES: f64 = 64.0 * 1024.0 * 1024.0;
/// Worker threads that may each hold training scratch.
const SCRATCH_THREADS: f64 = 16.0;
/// Events logged per client task (dispatch, download, compute, report...).
const EVENTS_PER_TASK: f64 = 8.0;

/// What a run may use.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Limits {
    /// Bytes a run may plan to hold; infinite when unknown.
    pub memory_bytes: f64,
    /// Bytes the machine had available, when known (for messages).
    pub available_bytes: Option<f64>,
    pub work: f64,
    pub events: f64,
}

impl Limits {
    /// This machine's limits: [`MEMORY_SAFETY`] of `MemAvailable` in
    /// `/proc/meminfo` (read once per process, so that every scenario of a
    /// sweep is judged alike), and the fixed budgets.
    pub fn machine() -> Limits {
        static AVAILABLE: OnceLock<Option<f64>> = OnceLock::new();
        let available = *AVAILABLE
            .get_or_init(|| std::fs::read_to_string("/proc/meminfo").ok().and_then(|text| mem_available(&text)));
        Limits::with_available(available)
    }

    /// No limits at all (for tests of what the estimate says).
    pub fn none() -> Limits {
        Limits { memory_bytes: f64::INFINITY, available_bytes: None, work: f64::INFINITY, events: f64::INFINITY }
    }

    /// The limits for a machine with `available` bytes (None: unknown, no
    /// memory limit).
    pub fn with_available(available: Option<f64>) -> Limits {
        Limits {
            memory_bytes: available.map_or(f64::INFINITY, |a| a * MEMORY_SAFETY),
            available_bytes: available,
            work: MAX_WORK,
            events: MAX_EVENTS,
        }
    }
}

/// `MemAvailable` of a `/proc/meminfo` text, in bytes.
fn mem_available(meminfo: &str) -> Option<f64> {
    let line = meminfo.lines().find(|l| l.starts_with("MemAvailable:"))?;
    let mut words = line.split_whitespace().skip(1);
    let n: f64 = words.next()?.parse().ok()?;
    let unit = match words.next() {
        Some("kB") | Some("KB") => 1024.0,
        Some("mB") | Some("MB") => 1024.0 * 1024.0,
        None => 1.0,
        Some(_) => return None,
    };
    Some(n * unit)
}

/// One term of the memory estimate.
#[derive(Debug, Clone, PartialEq)]
pub struct Part {
    /// The dotted key whose value drives this term.
    pub key: String,
    /// What the bytes are, in words, with the value behind them.
    pub what: String,
    pub bytes: f64,
}

/// What a scenario costs.
#[derive(Debug, Clone, PartialEq)]
pub struct Estimate {
    /// Trainable scalars of the model.
    pub parameters: f64,
    /// Bytes held at the peak: the sum of [`Estimate::parts`] and the
    /// process's own.
    pub memory_bytes: f64,
    pub parts: Vec<Part>,
    /// Client tasks dispatched over the run (None: unknown, as when only
    /// virtual time bounds a run of devices that take no time).
    pub tasks: Option<f64>,
    /// Multiply-adds of training and evaluation over the run.
    pub work: Option<f64>,
    /// Events logged over the run.
    pub events: Option<f64>,
    /// The key that multiplies the work and events most, and its value.
    pub work_key: (String, String),
    /// The key of the evaluation cadence, when evaluation dominates.
    pub evaluation_dominates: bool,
}

/// The path of a dotted key with no list indices.
fn path(dotted: &str) -> KeyPath {
    dotted.split('.').map(|k| Seg::Key(k.to_string())).collect()
}

/// The mean of a delay in seconds (infinite for a heavy tail without one).
fn mean_s(d: &Delay) -> f64 {
    let ms = match *d {
        Delay::Constant { ms } => ms,
        Delay::Uniform { min_ms, max_ms } => (min_ms + max_ms) / 2.0,
        Delay::Normal { mean_ms, std_ms } => mean_ms.max(0.0) + std_ms,
        Delay::LogNormal { median_ms, sigma } => median_ms * (sigma * sigma / 2.0).exp(),
        Delay::Exponential { mean_ms } => mean_ms,
        Delay::Pareto { scale_ms, shape } if shape > 1.0 => shape * scale_ms / (shape - 1.0),
        Delay::Pareto { .. } => f64::INFINITY,
    };
    ms / 1000.0
}

/// The least a delay can be, in seconds.
fn min_s(d: &Delay) -> f64 {
    let ms = match *d {
        Delay::Constant { ms } => ms,
        Delay::Uniform { min_ms, .. } => min_ms,
        Delay::Pareto { scale_ms, .. } => scale_ms,
        Delay::Normal { .. } | Delay::LogNormal { .. } | Delay::Exponential { .. } => 0.0,
    };
    ms / 1000.0
}

/// A lower bound on any client task's duration in seconds, over the
/// profiles (None without profiles: ideal devices take no time): the
/// latency of the download and of the upload, and the download of
/// `parameters` as f32 (compute and the upload may take no time).
pub fn fastest_task_s(s: &Scenario, parameters: f64) -> Option<f64> {
    s.clients
        .profiles
        .iter()
        .map(|p| {
            let down =
                if p.network.down_mbps.is_finite() { 32.0 * parameters / (p.network.down_mbps * 1e6) } else { 0.0 };
            2.0 * min_s(&p.network.latency) + down
        })
        .reduce(f64::min)
}

/// Bytes in words: `480 GB`, `12.5 MB`.
pub fn human_bytes(b: f64) -> String {
    if !b.is_finite() {
        return "more bytes than can be counted".into();
    }
    let units = [("TB", 1e12), ("GB", 1e9), ("MB", 1e6), ("kB", 1e3)];
    for (name, size) in units {
        if b >= size {
            let x = b / size;
            return if x >= 100.0 { format!("{x:.0} {name}") } else { format!("{x:.1} {name}") };
        }
    }
    format!("{b:.0} bytes")
}

/// A count in words: `1.2e15` for large ones, plain below a million.
fn count(x: f64) -> String {
    if x < 1e6 {
        format!("{x:.0}")
    } else {
        format!("{x:.1e}")
    }
}

impl Estimate {
    /// The estimate of a checked scenario whose data has `shape`.
    pub fn of(s: &Scenario, shape: &Shape) -> Estimate {
        let features = shape.features as f64;
        let classes = shape.classes as f64;
        // Layer sizes as the model builds them.
        let mut sizes = vec![features];
        match &s.model {
            ModelSpec::LogisticRegression => sizes.push(1.0),
            ModelSpec::SoftmaxRegression => sizes.push(classes),
            ModelSpec::Mlp { hidden } => {
                sizes.extend(hidden.iter().map(|&h| h as f64));
                sizes.push(classes);
            }
        }
        let parameters: f64 = sizes.windows(2).map(|w| w[0] * w[1] + w[1]).sum();
        let widest = sizes.iter().copied().fold(0.0, f64::max);
        let model_bytes = 8.0 * parameters;
        // The key that makes the model big, and how to say it.
        let (model_key, model_what) = match &s.model {
            ModelSpec::Mlp { hidden } => {
                let (i, w) = hidden.iter().enumerate().max_by_key(|(_, &w)| w).map_or((0, 0), |(i, &w)| (i, w));
                (format!("model.hidden[{i}]"), format!("{w} units"))
            }
            _ => match &s.data.source {
                DataSource::Synthetic(syn) if syn.features >= syn.classes => {
                    ("data.synthetic.features".to_string(), format!("{} features", syn.features))
                }
                DataSource::Synthetic(syn) => {
                    ("data.synthetic.classes".to_string(), format!("{} classes", syn.classes))
                }
                DataSource::Csv(_) => ("data.csv.path".to_string(), format!("{} feature columns", shape.features)),
                _ => ("model.kind".to_string(), format!("{} parameters", count(parameters))),
            },
        };

        let st = &s.strategy;
        let count_clients = s.clients.count as f64;
        let asynchronous = st.kind.is_async();
        let (flight_key, in_flight) = if asynchronous {
            ("strategy.concurrency", st.concurrency as f64)
        } else {
            ("strategy.clients_per_round", (st.clients_per_round as f64 * st.over_selection).ceil())
        };
        let held = match st.kind {
            StrategyKind::FedBuff => st.buffer_size as f64,
            StrategyKind::FedAsync => 1.0,
            _ => st.clients_per_round as f64,
        };
        let mut parts = vec![
            Part {
                key: model_key.clone(),
                what: format!(
                    "{model_what} need {} of parameters per model ({} parameters)",
                    human_bytes(model_bytes),
                    count(parameters)
                ),
                // The global model, the server optimiser's two moments,
                // the aggregate and its scratch, the evaluation's copy.
                bytes: 6.0 * model_bytes,
            },
            Part {
                key: if st.kind == StrategyKind::FedBuff && held > in_flight {
                    "strategy.buffer_size".to_string()
                } else {
                    flight_key.to_string()
                },
                what: format!(
                    "{} tasks in flight and {} updates held, each a model of {}",
                    count(in_flight),
                    count(held),
                    human_bytes(model_bytes)
                ),
                bytes: (2.0 * in_flight + held) * model_bytes,
            },
            Part {
                key: "clients.count".into(),
                what: format!("{} registered clients", count(count_clients)),
                bytes: CLIENT_BYTES * count_clients,
            },
        ];
        // State kept per client between its tasks.
        let state_vectors = match s.training.optimizer {
            OptimizerSpec::Momentum { keep_state: true, .. } => 1.0,
            OptimizerSpec::Adam { keep_state: true, .. } => 2.0,
            _ => 0.0,
        };
        let feedback = matches!(
            s.compression,
            CompressionSpec::TopK { error_feedback: true, .. } | CompressionSpec::Quantize { error_feedback: true, .. }
        );
        let rows_per_client = (shape.train_rows as f64 / count_clients).max(1.0);
        let row_bytes = 4.0 * features + 4.0;
        let data_key = match &s.data.source {
            DataSource::Synthetic(_) => "data.synthetic.samples",
            DataSource::Csv(_) => "data.csv.path",
            _ => "data.dataset",
        };
        if shape.per_client {
            parts.push(Part {
                key: data_key.into(),
                what: format!(
                    "a test set of {} rows and {} rows per task in flight, {} features each",
                    count(shape.test_rows as f64),
                    count(rows_per_client),
                    shape.features
                ),
                bytes: row_bytes * (shape.test_rows as f64 + in_flight * rows_per_client),
            });
        } else {
            parts.push(Part {
                key: data_key.into(),
                what: format!("a table of {} rows of {} features", count(shape.rows as f64), shape.features),
                // The table as read and its split copy, and the partition's
                // row indices.
                bytes: 2.0 * row_bytes * shape.rows as f64 + 4.0 * shape.train_rows as f64 + 8.0 * count_clients,
            });
        }
        if let Partition::Shards { shards_per_client } = s.data.partition {
            let shards = shards_per_client as f64 * count_clients;
            parts.push(Part {
                key: "data.partition.shards_per_client".into(),
                what: format!("{} shards ({shards_per_client} per client)", count(shards)),
                bytes: 16.0 * shards,
            });
        }
        if state_vectors > 0.0 || feedback {
            let vectors = state_vectors + if feedback { 1.0 } else { 0.0 };
            let key = if state_vectors > 0.0 { "training.optimizer.keep_state" } else { "compression.error_feedback" };
            parts.push(Part {
                key: key.into(),
                what: format!("{vectors} model-sized vectors kept per client, {} clients", count(count_clients)),
                bytes: vectors * model_bytes * count_clients,
            });
        }
        let batch = (s.training.batch_size as f64).min(rows_per_client).max(1.0);
        parts.push(Part {
            key: "training.batch_size".into(),
            what: format!("activations of {} rows by {} units per training thread", count(batch), count(widest)),
            bytes: SCRATCH_THREADS * 2.0 * 8.0 * batch * widest,
        });
        parts.push(Part {
            key: model_key.clone(),
            what: format!(
                "activations of the {} test rows by {} units at evaluation",
                count(shape.test_rows as f64),
                count(widest)
            ),
            bytes: 2.0 * 8.0 * shape.test_rows as f64 * widest,
        });
        if matches!(st.kind, StrategyKind::Krum | StrategyKind::MultiKrum) || s.privacy.secure_aggregation.is_some() {
            parts.push(Part {
                key: flight_key.into(),
                what: format!("pairwise state of {} clients per round", count(in_flight)),
                bytes: 64.0 * in_flight * in_flight,
            });
        }
        let memory_bytes = BASE_BYTES + parts.iter().map(|p| p.bytes).sum::<f64>();

        // Work: how many tasks, and what each costs.
        let epochs = f64::from(s.training.local_epochs);
        let transfer_s = |mbps: f64| if mbps.is_finite() { 4.0 * parameters * 8.0 / (mbps * 1e6) } else { 0.0 };
        let task_s: Vec<f64> = s
            .clients
            .profiles
            .iter()
            .map(|p| {
                let compute = if p.compute.samples_per_s.is_finite() {
                    epochs * rows_per_client / p.compute.samples_per_s
                } else {
                    0.0
                };
                let jitter = p.compute.jitter.as_ref().map_or(0.0, mean_s);
                compute
                    + jitter
                    + 2.0 * mean_s(&p.network.latency)
                    + transfer_s(p.network.down_mbps)
                    + transfer_s(p.network.up_mbps)
            })
            .collect();
        let fastest = task_s.iter().copied().fold(f64::INFINITY, f64::min);
        let slowest = task_s.iter().copied().fold(0.0, f64::max);
        let rounds = s.stop.rounds.map(|r| r as f64).or_else(|| {
            // Only virtual time bounds the run: each version takes at
            // least about one of the fastest tasks.
            let t = s.stop.virtual_time_s?;
            (fastest > 0.0 && fastest.is_finite()).then(|| {
                let per_task = t / fastest;
                match st.kind {
                    StrategyKind::FedAsync => per_task * in_flight,
                    StrategyKind::FedBuff => per_task * in_flight / st.buffer_size as f64,
                    _ => per_task,
                }
            })
        });
        let tasks = rounds.map(|r| match st.kind {
            StrategyKind::FedAsync => r + in_flight,
            StrategyKind::FedBuff => r * st.buffer_size as f64 + in_flight,
            _ => r * in_flight,
        });
        let per_task = 3.0 * parameters * epochs * rows_per_client + 4.0 * parameters;
        // Virtual time the run spans, for the evaluation timer.
        let by_rounds = s.stop.rounds.and_then(|r| {
            let r = r as f64;
            let round = st.deadline_s.map_or(slowest, |d| d.min(slowest));
            let span = if asynchronous { r * round * held / in_flight } else { r * round };
            span.is_finite().then_some(span)
        });
        let span = match (s.stop.virtual_time_s, by_rounds) {
            (Some(t), Some(r)) => Some(t.min(r)),
            (t, r) => t.or(r),
        };
        let (evaluations, ticks) = match s.evaluation {
            EvaluationSpec::EveryRounds(n) => (rounds.map(|r| r / n as f64 + 1.0), Some(0.0)),
            EvaluationSpec::EveryS(every) => {
                let ticks = span.map(|t| t / every);
                // An evaluation happens at a tick only if the model changed.
                let evals = match (ticks, rounds) {
                    (Some(t), Some(r)) => Some(t.min(r) + 1.0),
                    _ => None,
                };
                (evals, ticks)
            }
        };
        let eval_work = evaluations.map(|e| e * shape.test_rows as f64 * parameters * 2.0);
        let train_work = tasks.map(|t| t * per_task);
        let work = match (train_work, eval_work) {
            (Some(t), Some(e)) => Some(t + e),
            _ => None,
        };
        let events = match (tasks, evaluations, ticks) {
            (Some(t), Some(e), Some(k)) => Some(t * EVENTS_PER_TASK + 2.0 * e + k),
            _ => None,
        };
        // Evaluating every few rounds grows with the rounds, which are
        // named instead; a timer grows on its own.
        let evaluation_dominates = match (s.evaluation, train_work, eval_work, tasks, ticks) {
            (EvaluationSpec::EveryS(_), Some(t), Some(e), Some(n), Some(k)) => e > t || k > n * EVENTS_PER_TASK,
            _ => false,
        };
        // The key that multiplies the work most, against its default.
        let mut candidates: Vec<(f64, String, String)> = vec![(
            epochs,
            "training.local_epochs".into(),
            format!("{} local epochs per task", s.training.local_epochs),
        )];
        match (s.stop.rounds, s.stop.virtual_time_s) {
            (Some(r), _) => candidates.push((r as f64 / 100.0, "stop.rounds".into(), format!("{r} rounds"))),
            (None, Some(t)) => candidates.push((
                t / 3600.0,
                "stop.virtual_time_s".into(),
                format!("{t} virtual seconds, about {} model versions", count(rounds.unwrap_or(0.0))),
            )),
            (None, None) => {}
        }
        match st.kind {
            StrategyKind::FedBuff => candidates.push((
                st.buffer_size as f64 / 10.0,
                "strategy.buffer_size".into(),
                format!("{} updates per version", st.buffer_size),
            )),
            StrategyKind::FedAsync => {}
            _ => candidates.push((
                in_flight / 10.0,
                "strategy.clients_per_round".into(),
                format!("{} clients per round", count(in_flight)),
            )),
        }
        candidates.push((
            shape.train_rows as f64 / 20_000.0,
            data_key.into(),
            format!("{} train rows", count(shape.train_rows as f64)),
        ));
        candidates.push((parameters / 1e5, model_key, format!("{model_what} ({} parameters)", count(parameters))));
        let work_key =
            candidates.into_iter().max_by(|a, b| a.0.total_cmp(&b.0)).map(|(_, k, w)| (k, w)).unwrap_or_default();
        Estimate { parameters, memory_bytes, parts, tasks, work, events, work_key, evaluation_dominates }
    }

    /// Why the scenario cannot run within `limits`, as (the key at fault,
    /// what was expected, what was found), or None if it can.
    pub fn refusal(&self, s: &Scenario, limits: &Limits) -> Option<(KeyPath, String, String)> {
        if self.memory_bytes > limits.memory_bytes {
            // The first term that alone is too much (the model before
            // its copies), else the largest.
            let part = self
                .parts
                .iter()
                .find(|p| p.bytes > limits.memory_bytes)
                .or_else(|| self.parts.iter().max_by(|a, b| a.bytes.total_cmp(&b.bytes)))?;
            let available = limits.available_bytes.map_or(String::new(), |a| {
                format!(
                    " (this machine has {} available; a run may plan on {:.0}%)",
                    human_bytes(a),
                    MEMORY_SAFETY * 100.0
                )
            });
            return Some((
                parse_key(&part.key),
                format!("a scenario that fits in {} of memory{available}", human_bytes(limits.memory_bytes)),
                format!("{}: about {} in all", part.what, human_bytes(self.memory_bytes)),
            ));
        }
        let cadence = || match s.evaluation {
            EvaluationSpec::EveryRounds(n) => ("evaluation.every_rounds".to_string(), format!("every {n} rounds")),
            EvaluationSpec::EveryS(t) => ("evaluation.every_s".to_string(), format!("every {t} virtual seconds")),
        };
        let (key, why) = if self.evaluation_dominates { cadence() } else { self.work_key.clone() };
        if let Some(work) = self.work.filter(|&w| w > limits.work) {
            return Some((
                parse_key(&key),
                format!(
                    "a run of at most {} multiply-adds (a longer run is refused rather than \
                     left running)",
                    count(limits.work)
                ),
                format!("{why}: about {} multiply-adds over {} client tasks", count(work), count(self.tasks?)),
            ));
        }
        if let Some(events) = self.events.filter(|&e| e > limits.events) {
            return Some((
                parse_key(&key),
                format!("a run of at most {} events", count(limits.events)),
                format!("{why}: about {} events over {} client tasks", count(events), count(self.tasks?)),
            ));
        }
        None
    }
}

/// A dotted key with `[i]` indices as a path.
fn parse_key(k: &str) -> KeyPath {
    super::yaml::parse_path(k).unwrap_or_else(|| path(k))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    fn load(text: &str) -> (Scenario, Shape) {
        let s = super::super::load::load_unlimited(text, Path::new("t.yaml")).unwrap();
        let shape = crate::data::shape(&s.data).unwrap();
        (s, shape)
    }

    const BASE: &str = "name: t\ndata: { dataset: digits }\nclients: { count: 100 }\n";

    #[test]
    fn meminfo_is_read_in_bytes() {
        let text = "MemTotal:       24000000 kB\nMemFree:  100 kB\nMemAvailable:   20000000 kB\n";
        assert_eq!(mem_available(text), Some(20000000.0 * 1024.0));
        assert_eq!(mem_available("MemTotal: 5 kB\n"), None);
        let l = Limits::with_available(Some(1000.0));
        assert_eq!(l.memory_bytes, 1000.0 * MEMORY_SAFETY);
        assert_eq!(Limits::with_available(None).memory_bytes, f64::INFINITY);
    }

    #[test]
    fn parameters_are_counted_as_the_model_builds_them() {
        let (s, shape) = load(BASE);
        // Softmax regression on digits: 64 * 10 + 10.
        assert_eq!(Estimate::of(&s, &shape).parameters, 650.0);
        let (s, shape) = load(&format!("{BASE}model: {{ kind: mlp, hidden: [32, 16] }}\n"));
        assert_eq!(Estimate::of(&s, &shape).parameters, (64 * 32 + 32 + 32 * 16 + 16 + 16 * 10 + 10) as f64);
    }

    #[test]
    fn a_huge_layer_is_refused_at_its_key_with_the_estimate() {
        let (s, shape) = load(&format!("{BASE}model: {{ kind: mlp, hidden: [64, 1000000000] }}\n"));
        let e = Estimate::of(&s, &shape);
        let (key, expected, found) = e.refusal(&s, &Limits::with_available(Some(16e9))).unwrap();
        assert_eq!(super::super::yaml::path_string(&key), "model.hidden[1]");
        assert!(expected.contains("12.8 GB"), "{expected}");
        // 64*64+64 + 64*1e9+1e9 + 1e9*10+10 parameters, 8 bytes each.
        assert!(found.starts_with("1000000000 units need 600 GB of parameters per model"), "{found}");
        // The same scenario on a machine with no known limit still runs
        // out of work budget? No: it has 100 rounds of small tasks.
        assert!(e.memory_bytes > 600e9 * 6.0);
    }

    #[test]
    fn the_default_scenario_fits_a_small_machine() {
        let (s, shape) = load(BASE);
        let e = Estimate::of(&s, &shape);
        assert_eq!(e.refusal(&s, &Limits::with_available(Some(1e9))), None);
        assert!(e.memory_bytes < 200e6, "{}", e.memory_bytes);
        // 100 rounds of 100 clients.
        assert_eq!(e.tasks, Some(10_000.0));
    }

    #[test]
    fn endless_work_is_refused_at_the_key_that_multiplies_it() {
        let (s, shape) = load(&format!("{BASE}training: {{ local_epochs: 1000000 }}\nstop: {{ rounds: 100000 }}\n"));
        let e = Estimate::of(&s, &shape);
        let (key, expected, found) = e.refusal(&s, &Limits::with_available(None)).unwrap();
        assert_eq!(super::super::yaml::path_string(&key), "training.local_epochs");
        assert!(expected.contains("multiply-adds"), "{expected}");
        assert!(found.contains("1000000 local epochs"), "{found}");

        let (s, shape) = load(&format!("{BASE}strategy: {{ kind: fedbuff, buffer_size: 1000000 }}\n"));
        let e = Estimate::of(&s, &shape);
        let (key, ..) = e.refusal(&s, &Limits::with_available(None)).unwrap();
        assert_eq!(super::super::yaml::path_string(&key), "strategy.buffer_size");

        let (s, shape) = load(&format!("{BASE}strategy: {{ clients_per_round: 1 }}\nstop: {{ rounds: 1000000000 }}\n"));
        let e = Estimate::of(&s, &shape);
        let (key, expected, _) = e.refusal(&s, &Limits::with_available(None)).unwrap();
        assert_eq!(super::super::yaml::path_string(&key), "stop.rounds");
        assert!(expected.contains("multiply-adds"), "{expected}");

        // Cheap rounds, but too many events to log.
        let (s, shape) = load(&format!("{BASE}strategy: {{ clients_per_round: 1 }}\nstop: {{ rounds: 100000000 }}\n"));
        let e = Estimate::of(&s, &shape);
        assert!(e.work.unwrap() < MAX_WORK);
        let (key, expected, _) = e.refusal(&s, &Limits::with_available(None)).unwrap();
        assert_eq!(super::super::yaml::path_string(&key), "stop.rounds");
        assert!(expected.contains("events"), "{expected}");
    }

    #[test]
    fn a_dense_evaluation_timer_is_refused_at_its_key() {
        let text = format!(
            "{BASE}clients: {{ count: 10, profiles: [{{ name: a, share: 1, compute: {{ samples_per_s: 100 }}, \
             network: {{ latency: {{ dist: constant, ms: 10 }}, up_mbps: 1, down_mbps: 1 }} }}] }}\n\
             stop: {{ virtual_time_s: 1.0e9 }}\nevaluation: {{ every_s: 0.001 }}\n"
        )
        .replace("clients: { count: 100 }\n", "");
        let (s, shape) = load(&text);
        let e = Estimate::of(&s, &shape);
        let (key, ..) = e.refusal(&s, &Limits::with_available(None)).unwrap();
        assert_eq!(super::super::yaml::path_string(&key), "evaluation.every_s");
    }

    #[test]
    fn bytes_read_in_words() {
        assert_eq!(human_bytes(480e9), "480 GB");
        assert_eq!(human_bytes(12.5e6), "12.5 MB");
        assert_eq!(human_bytes(12.0), "12 bytes");
    }
}
