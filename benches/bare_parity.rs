//! The yardstick of fedsim's performance target: the peer-parity workload
//! (`shared/bench/WORKLOAD.md`, `scenarios/bench/parity_N*.yaml`) as a bare
//! single-thread loop of the same arithmetic, with no actors, no clock and
//! no output files.
//!
//! It owns its own CSV reading, split, round-robin partition, softmax
//! regression SGD, FedAvg and evaluation, written as flat loops; only the
//! scenario file is read through fedsim's loader, so that every default
//! resolves exactly as in a fedsim run. Both programs print the same final
//! loss, and `/usr/bin/time` on each gives the comparison:
//!
//! ```text
//! cargo build --release --example bare_parity
//! /usr/bin/time target/release/examples/bare_parity scenarios/bench/parity_N100.yaml
//! /usr/bin/time target/release/fedsim run scenarios/bench/parity_N100.yaml --threads 1
//! ```
//!
//! Usage:
//!
//! ```text
//! bare_parity SCENARIO.yaml [--clients N] [--rounds R] [--csv PATH] [--every]
//! bare_parity --clients N --rounds R [--csv PATH] [--every]
//! ```
//!
//! With a scenario, clients, rounds, the CSV and its label column, the test
//! fraction and the local training come from it (flags given as well win);
//! a scenario asking for anything this loop does not do (another dataset,
//! shuffling, normalisation, a non-iid partition, another model or
//! strategy, partial participation, dropout, ...) is refused. Without one,
//! the workload is WORKLOAD.md's: the digits CSV of `scenarios/bench`, test
//! fraction 0.2, 1 epoch, batch 32, learning rate 0.1. `--every` also
//! prints every evaluation as `round,accuracy,loss,macro_f1` (the columns
//! of fedsim's `metrics.csv`, full precision).
//!
//! The last lines repeat fedsim's summary line (`accuracy .. loss ..
//! macro-F1 ..`, four decimals) and give `final_loss` and `final_accuracy`
//! at full precision, as `summary.json` holds them.

#![allow(clippy::needless_range_loop)] // written as the plain index loops it stands for

use fedsim::scenario::{
    load_file, Availability, DataSource, ModelSpec, Normalize, Partition, Scenario, StrategyKind, StrategySpec,
};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;

/// What the loop runs: WORKLOAD.md with its free parameters.
#[derive(Debug, Clone, PartialEq)]
pub struct Workload {
    /// Scenario name, or `parity_n<clients>`.
    pub name: String,
    pub csv: PathBuf,
    pub label_column: String,
    /// Train pool = the first `floor((1 - test_fraction) * rows)` rows.
    pub test_fraction: f64,
    pub clients: usize,
    /// FedAvg rounds over every client.
    pub rounds: usize,
    pub local_epochs: usize,
    pub batch_size: usize,
    pub learning_rate: f64,
}

impl Workload {
    /// WORKLOAD.md's workload on the repository's digits CSV.
    pub fn parity(clients: usize, rounds: usize) -> Self {
        Workload {
            name: format!("parity_n{clients}"),
            csv: Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios/bench/digits_shuffled_seed0.csv"),
            label_column: "label".into(),
            test_fraction: 0.2,
            clients,
            rounds,
            local_epochs: 1,
            batch_size: 32,
            learning_rate: 0.1,
        }
    }

    /// The workload of a checked scenario, or why this loop cannot run it.
    pub fn from_scenario(s: &Scenario) -> Result<Self, String> {
        let refuse = |what: &str| Err(format!("{}: the bare loop does not do {what}", s.source.display()));
        let DataSource::Csv(csv) = &s.data.source else { return refuse("a dataset other than csv") };
        if s.data.shuffle {
            return refuse("data.shuffle: true");
        }
        if s.data.normalize != Normalize::None {
            return refuse("data.normalize other than none");
        }
        if s.data.partition != Partition::Iid {
            return refuse("a partition other than iid");
        }
        if s.model != ModelSpec::SoftmaxRegression {
            return refuse("a model other than softmax_regression");
        }
        if s.training.shuffle || s.training.weight_decay != 0.0 {
            return refuse("training.shuffle or training.weight_decay");
        }
        let StrategySpec { kind, clients_per_round, deadline_s, over_selection, .. } = s.strategy;
        if kind != StrategyKind::FedAvg {
            return refuse("a strategy other than fedavg");
        }
        if clients_per_round != s.clients.count || deadline_s.is_some() || over_selection != 1.0 {
            return refuse("partial participation (every client must report every round)");
        }
        if s.clients.dropout != 0.0 || s.clients.availability != Availability::Always {
            return refuse("dropout or availability");
        }
        let Some(rounds) = s.stop.rounds else { return refuse("a run without stop.rounds") };
        if s.stop.virtual_time_s.is_some() || s.stop.target_accuracy.is_some() {
            return refuse("stop criteria other than rounds");
        }
        Ok(Workload {
            name: s.name.clone(),
            csv: csv.path.clone(),
            label_column: csv.label_column.clone(),
            test_fraction: s.data.test_fraction,
            clients: s.clients.count,
            rounds: usize::try_from(rounds).map_err(|_| "stop.rounds is too large".to_string())?,
            local_epochs: s.training.local_epochs as usize,
            batch_size: s.training.batch_size.max(1),
            learning_rate: s.training.learning_rate,
        })
    }
}

/// A labelled table: row-major features and class indices.
pub struct Table {
    /// Stored as `f32` and widened where used, as fedsim stores them (the
    /// parity CSV's `k / 16` values are exact either way).
    pub x: Vec<f32>,
    pub y: Vec<u32>,
    pub features: usize,
    pub classes: usize,
}

/// Reads a CSV with a header; `label` names the label column, every other
/// column is a numeric feature. Classes are the distinct labels, sorted
/// numerically if all are numbers (else as text), as fedsim orders them.
pub fn read_csv(path: &Path, label: &str) -> Result<Table, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let mut lines = text.lines().filter(|l| !l.trim().is_empty());
    let header: Vec<&str> = lines.next().ok_or_else(|| format!("{}: empty file", path.display()))?.split(',').collect();
    let label_at = header
        .iter()
        .position(|h| h.trim() == label)
        .ok_or_else(|| format!("{}: no column {label:?}", path.display()))?;
    let features = header.len() - 1;
    let (mut x, mut names) = (Vec::new(), Vec::<String>::new());
    let mut raw_y = Vec::new();
    for (i, line) in lines.enumerate() {
        let cells: Vec<&str> = line.split(',').map(str::trim).collect();
        if cells.len() != header.len() {
            return Err(format!(
                "{}: data row {} has {} cells, not {}",
                path.display(),
                i + 1,
                cells.len(),
                header.len()
            ));
        }
        for (c, cell) in cells.iter().enumerate() {
            if c == label_at {
                let id = names.iter().position(|n| n == cell).unwrap_or_else(|| {
                    names.push(cell.to_string());
                    names.len() - 1
                });
                raw_y.push(id);
            } else {
                x.push(cell.parse::<f32>().map_err(|e| format!("{}: data row {}: {e}", path.display(), i + 1))?);
            }
        }
    }
    let numbers: Option<Vec<f64>> = names.iter().map(|n| n.parse::<f64>().ok().filter(|v| !v.is_nan())).collect();
    let mut order: Vec<usize> = (0..names.len()).collect();
    match numbers {
        Some(v) => order.sort_by(|&a, &b| v[a].total_cmp(&v[b]).then_with(|| names[a].cmp(&names[b]))),
        None => order.sort_by(|&a, &b| names[a].cmp(&names[b])),
    }
    let mut class_of = vec![0u32; names.len()];
    for (class, &id) in order.iter().enumerate() {
        class_of[id] = class as u32;
    }
    let y = raw_y.into_iter().map(|id| class_of[id]).collect();
    Ok(Table { x, y, features, classes: names.len() })
}

/// A model's scores on the test rows.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Eval {
    /// Mean cross-entropy, natural log.
    pub loss: f64,
    pub correct: usize,
    pub accuracy: f64,
    /// Unweighted mean of the per-class F1 over all classes (0 for a class
    /// never predicted and never present).
    pub macro_f1: f64,
}

/// Scores `p` (W row-major `features x classes`, then b) on rows `rows`.
fn evaluate(t: &Table, p: &[f64], rows: std::ops::Range<usize>, z: &mut [f64]) -> Eval {
    let (f, c) = (t.features, t.classes);
    let (mut loss, mut correct) = (0.0, 0usize);
    let (mut tp, mut predicted, mut support) = (vec![0usize; c], vec![0usize; c], vec![0usize; c]);
    let n = rows.len();
    for r in rows {
        let x = &t.x[r * f..(r + 1) * f];
        z[..c].copy_from_slice(&p[f * c..f * c + c]);
        for j in 0..f {
            for k in 0..c {
                z[k] += x[j] as f64 * p[j * c + k];
            }
        }
        // ties go to the lowest class index
        let mut best = 0;
        for k in 1..c {
            if z[k] > z[best] {
                best = k;
            }
        }
        let max = z[best];
        let mut s = 0.0;
        for k in 0..c {
            s += (z[k] - max).exp();
        }
        let y = t.y[r] as usize;
        loss += max + s.ln() - z[y];
        support[y] += 1;
        predicted[best] += 1;
        if best == y {
            tp[y] += 1;
            correct += 1;
        }
    }
    let ratio = |a: usize, b: usize| if b == 0 { 0.0 } else { a as f64 / b as f64 };
    let mut f1_sum = 0.0;
    for k in 0..c {
        let (pr, re) = (ratio(tp[k], predicted[k]), ratio(tp[k], support[k]));
        f1_sum += if pr + re > 0.0 { 2.0 * pr * re / (pr + re) } else { 0.0 };
    }
    let nf = n.max(1) as f64;
    Eval { loss: loss / nf, correct, accuracy: ratio(correct, n), macro_f1: f1_sum / c.max(1) as f64 }
}

/// One client's local training: `epochs` passes of minibatch SGD over
/// `rows` in order, batch-mean cross-entropy gradient. `C` (the class
/// count) is a constant so that the logits live in registers, as in
/// fedsim's own kernel: the yardstick should be a good plain loop, not a
/// slow one.
fn local_sgd<const C: usize>(t: &Table, rows: &[usize], p: &mut [f64], g: &mut [f64], w: &Workload) {
    let f = t.features;
    for _ in 0..w.local_epochs {
        for batch in rows.chunks(w.batch_size) {
            g.fill(0.0);
            let (gw, gb) = g.split_at_mut(f * C);
            let (weights, bias) = p.split_at(f * C);
            for &r in batch {
                let x = &t.x[r * f..(r + 1) * f];
                let mut z = [0.0f64; C];
                z.copy_from_slice(bias);
                for (&xj, wrow) in x.iter().zip(weights.chunks_exact(C)) {
                    let xj = xj as f64;
                    for k in 0..C {
                        z[k] += xj * wrow[k];
                    }
                }
                let max = z.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
                let mut s = 0.0;
                for k in 0..C {
                    z[k] = (z[k] - max).exp();
                    s += z[k];
                }
                for k in 0..C {
                    z[k] /= s;
                }
                z[t.y[r] as usize] -= 1.0;
                for (&xj, grow) in x.iter().zip(gw.chunks_exact_mut(C)) {
                    let xj = xj as f64;
                    for k in 0..C {
                        grow[k] += xj * z[k];
                    }
                }
                for k in 0..C {
                    gb[k] += z[k];
                }
            }
            let m = batch.len() as f64;
            for (pi, gi) in p.iter_mut().zip(g.iter()) {
                *pi -= w.learning_rate * (gi / m);
            }
        }
    }
}

type LocalSgd = fn(&Table, &[usize], &mut [f64], &mut [f64], &Workload);

/// [`local_sgd`] for `classes` classes (2 to 16).
fn local_sgd_for(classes: usize) -> Option<LocalSgd> {
    macro_rules! fixed {
        ($($n:literal)*) => {
            match classes {
                $($n => Some(local_sgd::<$n> as LocalSgd),)*
                _ => None,
            }
        };
    }
    fixed!(2 3 4 5 6 7 8 9 10 11 12 13 14 15 16)
}

/// Runs the workload; returns the evaluation before round 1 and after every
/// round (`rounds + 1` entries), and calls `each(round, eval)` on each.
pub fn run(w: &Workload, mut each: impl FnMut(usize, &Eval)) -> Result<Vec<Eval>, String> {
    let t = read_csv(&w.csv, &w.label_column)?;
    let rows = t.y.len();
    let n_train = ((1.0 - w.test_fraction) * rows as f64).floor() as usize;
    if n_train == 0 || n_train >= rows || w.clients == 0 {
        return Err(format!("{} rows, {} clients: need train and test rows and a client", rows, w.clients));
    }
    let (f, c) = (t.features, t.classes);
    let train = local_sgd_for(c).ok_or_else(|| format!("{c} classes: the bare loop does 2 to 16"))?;
    let dim = f * c + c;
    // Client k: train rows k, k + N, k + 2N, ...
    let partition: Vec<Vec<usize>> = (0..w.clients).map(|k| (k..n_train).step_by(w.clients).collect()).collect();
    let (mut global, mut next, mut local, mut g) = (vec![0.0; dim], vec![0.0; dim], vec![0.0; dim], vec![0.0; dim]);
    let mut z = vec![0.0; c];
    let mut evals = Vec::with_capacity(w.rounds + 1);
    let first = evaluate(&t, &global, n_train..rows, &mut z);
    each(0, &first);
    evals.push(first);
    for round in 1..=w.rounds {
        next.fill(0.0);
        for part in &partition {
            local.copy_from_slice(&global);
            train(&t, part, &mut local, &mut g, w);
            // FedAvg: weight n_k / sum n_j.
            let weight = part.len() as f64 / n_train as f64;
            for (n, l) in next.iter_mut().zip(&local) {
                *n += weight * l;
            }
        }
        std::mem::swap(&mut global, &mut next);
        let e = evaluate(&t, &global, n_train..rows, &mut z);
        each(round, &e);
        evals.push(e);
    }
    Ok(evals)
}

/// The command line: a scenario and/or flags (see the module docs).
fn parse_args(args: &[String]) -> Result<(Workload, bool), String> {
    let (mut scenario, mut clients, mut rounds, mut csv, mut every) = (None, None, None, None, false);
    let mut it = args.iter();
    while let Some(a) = it.next() {
        let mut value = |flag: &str| it.next().cloned().ok_or_else(|| format!("{flag} needs a value"));
        let number = |flag: &str, v: String| v.parse::<usize>().map_err(|_| format!("{flag}: {v:?} is not a count"));
        match a.as_str() {
            "--clients" => clients = Some(number("--clients", value("--clients")?)?),
            "--rounds" => rounds = Some(number("--rounds", value("--rounds")?)?),
            "--csv" => csv = Some(PathBuf::from(value("--csv")?)),
            "--every" => every = true,
            "-h" | "--help" => return Err(String::new()),
            flag if flag.starts_with('-') => return Err(format!("unknown option {flag}")),
            path if scenario.is_none() => scenario = Some(PathBuf::from(path)),
            extra => return Err(format!("one scenario only ({extra:?} is a second)")),
        }
    }
    let mut w = match &scenario {
        Some(path) => Workload::from_scenario(&load_file(path, &[]).map_err(|e| e.to_string())?)?,
        None => {
            let n = clients.ok_or("give a scenario, or --clients N and --rounds R")?;
            Workload::parity(n, rounds.ok_or("--rounds R is needed without a scenario")?)
        }
    };
    if let Some(n) = clients {
        if scenario.is_some() {
            w.name = format!("{}_n{n}", w.name);
        }
        w.clients = n;
    }
    w.rounds = rounds.unwrap_or(w.rounds);
    w.csv = csv.unwrap_or(w.csv);
    Ok((w, every))
}

const USAGE: &str = "usage: bare_parity SCENARIO.yaml [--clients N] [--rounds R] [--csv PATH] [--every]
       bare_parity --clients N --rounds R [--csv PATH] [--every]";

fn main() -> ExitCode {
    let started = Instant::now();
    let args: Vec<String> = std::env::args().skip(1).collect();
    // Writes ignore errors: a closed pipe (`| head`) is no reason to panic.
    let mut out = std::io::stdout().lock();
    let (w, every) = match parse_args(&args) {
        Ok(parsed) => parsed,
        Err(e) if e.is_empty() => {
            let _ = writeln!(out, "{USAGE}");
            return ExitCode::SUCCESS;
        }
        Err(e) => {
            eprintln!("error: {e}\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    if every {
        let _ = writeln!(out, "round,accuracy,loss,macro_f1");
    }
    let evals = match run(&w, |r, e| {
        if every {
            let _ = writeln!(out, "{r},{},{},{}", e.accuracy, e.loss, e.macro_f1);
        }
    }) {
        Ok(evals) => evals,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(2);
        }
    };
    let Some(last) = evals.last() else { return ExitCode::FAILURE };
    let wall = started.elapsed().as_secs_f64();
    let lines = [
        format!("{} (fedavg, bare loop): {} clients, {} rounds", w.name, w.clients, w.rounds),
        format!("  rounds        {}", w.rounds),
        format!("  accuracy      {:.4}   loss {:.4}   macro-F1 {:.4}", last.accuracy, last.loss, last.macro_f1),
        format!("  final_loss    {}", last.loss),
        format!("  final_accuracy {} ({} correct)", last.accuracy, last.correct),
        format!("  wall time     {wall:.3} s (1 thread)"),
    ];
    let _ = writeln!(out, "{}", lines.join("\n"));
    ExitCode::SUCCESS
}
