//! Experiments over several runs: `fedsim compare` (scenarios side by side)
//! and `fedsim sweep` (the cross product of a file's `sweep:` map).
//!
//! Runs are independent, so they go in parallel, one per core; each run is
//! itself deterministic, so the tables do not depend on the job count.
//! Every scenario is checked before the first run starts.
//!
//! A group is written whole or not at all: its folder is staged and
//! renamed into place at the end. A member that fails is a row of the
//! tables with its error (and `error.txt` in its folder), and the group
//! still appears; with `fail_fast` the first failure stops the group and
//! nothing is written.
//!
//! A sweep can also run as independent cells, one job each on a cluster,
//! merged afterwards into the same tables (module `cells`: `plan`, `run_cell`,
//! `merge`).

use crate::report::html::Cell;
use crate::report::{self, Series};
use crate::run::{self, RunError, RunOptions, RunResult};
use crate::scenario::{self, Override, Scenario, ScenarioError};
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;

mod cells;
pub use cells::{merge, plan, run_cell, CellRun, Plan, PlanCell, PlanScenario, CELLS_DIR, PLAN_FILE};

#[derive(Debug, thiserror::Error)]
pub enum ExperimentError {
    #[error(transparent)]
    Scenario(#[from] ScenarioError),
    #[error("{0}")]
    Run(#[from] RunError),
    #[error("{path}: {what}")]
    Sweep { path: PathBuf, what: String },
    #[error("cannot write {path}: {source}")]
    Write { path: PathBuf, source: std::io::Error },
    #[error("{0}")]
    Plot(#[from] report::PlotError),
    #[error(transparent)]
    Html(#[from] report::HtmlError),
    #[error(transparent)]
    Output(#[from] report::OutputError),
    /// With `fail_fast`: the first member that failed (nothing was written).
    #[error("{member}: {error} (--fail-fast: nothing written)")]
    Member { member: String, error: Box<RunError> },
    /// A sweep cell or plan that cannot be used as it is.
    #[error("{path}: {what}")]
    Cell { path: PathBuf, what: String },
    /// `--merge`: cells not (or no longer) done; nothing was written.
    #[error("{dir}: cannot merge, {}; nothing written", .problems.join("; "))]
    Incomplete { dir: PathBuf, problems: Vec<String> },
}

/// One run's line in a comparison.
#[derive(Debug, Clone, PartialEq)]
pub struct Outcome {
    pub scenario: String,
    pub strategy: String,
    pub final_accuracy: f64,
    pub rounds: u64,
    pub virtual_time_s: f64,
    pub time_to_target_s: Option<f64>,
    pub bytes_up: u64,
    pub bytes_down: u64,
    /// Over every folded update of the run (None: none was folded).
    pub mean_staleness: Option<f64>,
    /// With DP: the epsilon spent.
    pub epsilon: Option<f64>,
    /// The membership-inference attack on the final model: advantage, AUC.
    pub attack: Option<(f64, f64)>,
    /// Tasks cancelled as late, and tasks whose client vanished, over the run.
    pub clients_late: u64,
    pub clients_dropped: u64,
    /// The largest staleness of a folded update (None: none was folded).
    pub max_staleness: Option<u64>,
    pub dir: PathBuf,
    /// (virtual seconds, accuracy) of every evaluation.
    pub curve: Vec<(f64, f64)>,
    /// Why the member failed (then the figures above are zeros and the
    /// tables show none of them).
    pub error: Option<String>,
}

impl Outcome {
    fn of(r: &RunResult) -> Self {
        let curve = r.rows.iter().map(|row| (row.virtual_time.as_secs_f64(), row.accuracy)).collect();
        Outcome::from_summary(&r.summary, curve, r.dir.clone())
    }

    /// A run's line from its summary and its accuracy curve.
    fn from_summary(summary: &report::Summary, curve: Vec<(f64, f64)>, dir: PathBuf) -> Self {
        let hist = &summary.staleness_histogram;
        let folded: u64 = hist.values().sum();
        let mean_staleness =
            (folded > 0).then(|| hist.iter().map(|(k, v)| (k * v) as f64).sum::<f64>() / folded as f64);
        Outcome {
            scenario: summary.scenario.clone(),
            strategy: summary.strategy.clone(),
            final_accuracy: summary.final_accuracy,
            rounds: summary.rounds,
            virtual_time_s: summary.virtual_time_s,
            time_to_target_s: summary.time_to_target_s,
            bytes_up: summary.bytes_up,
            bytes_down: summary.bytes_down,
            mean_staleness,
            epsilon: summary.epsilon,
            attack: summary.privacy_audit.map(|a| (a.advantage, a.auc)),
            clients_late: summary.clients_late,
            clients_dropped: summary.clients_dropped,
            max_staleness: summary.max_staleness,
            dir,
            curve,
            error: None,
        }
    }

    /// The line of a member that failed.
    fn failed(s: &Scenario, dir: PathBuf, error: &RunError) -> Self {
        Outcome::failed_with(&s.name, s.strategy.kind.name(), dir, error.to_string())
    }

    /// The line of a member `scenario` (with `strategy`) that failed with
    /// `error`.
    fn failed_with(scenario: &str, strategy: &str, dir: PathBuf, error: String) -> Self {
        Outcome {
            scenario: scenario.to_string(),
            strategy: strategy.to_string(),
            final_accuracy: 0.0,
            rounds: 0,
            virtual_time_s: 0.0,
            time_to_target_s: None,
            bytes_up: 0,
            bytes_down: 0,
            mean_staleness: None,
            epsilon: None,
            attack: None,
            clients_late: 0,
            clients_dropped: 0,
            max_staleness: None,
            dir,
            curve: Vec::new(),
            error: Some(error),
        }
    }
}

/// What a group's members came to, in plan order, with their final folders.
fn outcomes_of(
    plans: &[(Scenario, PathBuf)],
    results: &[Option<Result<RunResult, RunError>>],
    staging: &Path,
    out: &Path,
) -> Result<Vec<Outcome>, ExperimentError> {
    plans
        .iter()
        .zip(results)
        .map(|((scenario, dir), r)| {
            let final_dir = out.join(dir.strip_prefix(staging).unwrap_or(dir));
            let mut o = match r {
                Some(Ok(r)) => Outcome::of(r),
                Some(Err(e)) => {
                    // The member's folder holds its error.
                    write(&dir.join("error.txt"), &format!("{e}\n"))?;
                    Outcome::failed(scenario, dir.clone(), e)
                }
                None => unreachable!("without fail_fast every member runs"),
            };
            o.dir = final_dir;
            Ok(o)
        })
        .collect()
}

/// With `fail_fast`, the first failure (in plan order) as an error.
fn first_failure(
    plans: &[(Scenario, PathBuf)],
    results: Vec<Option<Result<RunResult, RunError>>>,
) -> Result<Vec<Option<Result<RunResult, RunError>>>, ExperimentError> {
    if let Some(i) = results.iter().position(|r| matches!(r, Some(Err(_)))) {
        let member = plans[i].1.file_name().map_or_else(String::new, |n| n.to_string_lossy().into_owned());
        let Some(Some(Err(error))) = results.into_iter().nth(i) else { unreachable!("found above") };
        return Err(ExperimentError::Member { member, error: Box::new(error) });
    }
    Ok(results)
}

/// Runs `jobs` at once on `workers` threads; results keep the input order.
/// With `fail_fast` no run starts after one has failed (those are None).
fn run_all(
    plans: &[(Scenario, PathBuf)],
    jobs: usize,
    target: Option<f64>,
    fail_fast: bool,
) -> Vec<Option<Result<RunResult, RunError>>> {
    let failed = std::sync::atomic::AtomicBool::new(false);
    let cores = run::host_cores();
    let jobs = jobs.clamp(1, plans.len().max(1));
    let threads = (cores / jobs).max(1);
    let next = AtomicUsize::new(0);
    let results: Vec<Mutex<Option<Result<RunResult, RunError>>>> = plans.iter().map(|_| Mutex::new(None)).collect();
    std::thread::scope(|s| {
        for _ in 0..jobs {
            s.spawn(|| loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                let Some((scenario, out)) = plans.get(i) else { break };
                if fail_fast && failed.load(Ordering::SeqCst) {
                    break;
                }
                let opts = RunOptions { out: Some(out.clone()), threads, target, ..RunOptions::default() };
                let r = run::run(scenario, &opts, &mut |_| {});
                if r.is_err() {
                    failed.store(true, Ordering::SeqCst);
                }
                *results[i].lock().expect("no worker panics holding it") = Some(r);
            });
        }
    });
    results.into_iter().map(|m| m.into_inner().expect("not poisoned")).collect()
}

/// Names of run folders: the scenario's name, made unique by a suffix.
fn unique_names(scenarios: &[Scenario]) -> Vec<String> {
    let mut seen: BTreeMap<&str, usize> = BTreeMap::new();
    scenarios
        .iter()
        .map(|s| {
            let n = seen.entry(&s.name).or_insert(0);
            *n += 1;
            if *n == 1 {
                s.name.clone()
            } else {
                format!("{}-{}", s.name, n)
            }
        })
        .collect()
}

/// `fedsim compare`: runs every scenario into `out/<name>/`, writes
/// `out/compare.csv`, `out/accuracy.svg` and `out/report.html`.
pub fn compare(
    paths: &[PathBuf],
    target: Option<f64>,
    out: &Path,
    jobs: usize,
    fail_fast: bool,
) -> Result<Vec<Outcome>, ExperimentError> {
    let scenarios: Vec<Scenario> = paths.iter().map(|p| scenario::load_file(p, &[])).collect::<Result<_, _>>()?;
    compare_scenarios(scenarios, target, out, jobs, fail_fast)
}

/// [`compare`] over scenarios already loaded (with their own overrides,
/// or from text: the Python package's dicts).
pub fn compare_scenarios(
    scenarios: Vec<Scenario>,
    target: Option<f64>,
    out: &Path,
    jobs: usize,
    fail_fast: bool,
) -> Result<Vec<Outcome>, ExperimentError> {
    let names = unique_names(&scenarios);
    let group = report::OutputDir::create(out)?;
    let stage = group.path().to_path_buf();
    let plans: Vec<(Scenario, PathBuf)> = scenarios.into_iter().zip(names).map(|(s, n)| (s, stage.join(n))).collect();
    let results = run_all(&plans, jobs, target, fail_fast);
    let results = if fail_fast { first_failure(&plans, results)? } else { results };
    let outcomes = outcomes_of(&plans, &results, &stage, out)?;
    let results: Vec<&RunResult> = results.iter().filter_map(|r| r.as_ref()?.as_ref().ok()).collect();
    write(&stage.join("compare.csv"), &compare_csv(&outcomes))?;
    let series: Vec<Series> = outcomes
        .iter()
        .filter(|o| o.error.is_none())
        .map(|o| Series::new(format!("{} ({})", o.scenario, o.strategy), o.curve.clone()))
        .collect();
    let target = target.or_else(|| results.iter().find_map(|r| r.summary.target_accuracy));
    let svg = report::accuracy_svg("test accuracy over virtual time", &series, target)?;
    write(&stage.join("accuracy.svg"), &svg)?;
    let rows: Vec<Vec<Cell>> = outcomes.iter().map(|o| member_cells(o, out, &[])).collect();
    let page = report::html::experiment_page(
        "fedsim compare",
        &format!("{} scenarios side by side{}", outcomes.len(), failures_note(&outcomes)),
        &svg,
        &TABLE_HEADER,
        &rows,
    );
    report::html::write_page(&stage, &page)?;
    group.publish()?;
    Ok(outcomes)
}

/// `; N failed` for a page's subtitle, or nothing.
fn failures_note(outcomes: &[Outcome]) -> String {
    match outcomes.iter().filter(|o| o.error.is_some()).count() {
        0 => String::new(),
        n => format!("; {n} failed (see the table)"),
    }
}

/// A member's row of an experiment page: `keys` (a sweep's values) first,
/// then [`TABLE_HEADER`]'s cells, the scenario linked to its report.html.
fn member_cells(o: &Outcome, out: &Path, keys: &[&str]) -> Vec<Cell> {
    let rel = o.dir.strip_prefix(out).unwrap_or(&o.dir);
    let href = format!("{}/{}", rel.display(), report::REPORT_FILE);
    let mut cells: Vec<Cell> = keys.iter().map(|k| Cell::text(*k)).collect();
    for (i, text) in table_cells(o).into_iter().enumerate() {
        // A failed member has no report.html.
        let href = (i == 0 && o.error.is_none()).then(|| href.clone());
        cells.push(Cell { href, text });
    }
    cells
}

fn write(path: &Path, text: &str) -> Result<(), ExperimentError> {
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).map_err(|source| ExperimentError::Write { path: parent.to_owned(), source })?;
    }
    std::fs::write(path, text).map_err(|source| ExperimentError::Write { path: path.to_owned(), source })
}

fn opt(x: Option<f64>) -> String {
    x.map_or(String::new(), |v| format!("{v:?}"))
}

/// The result columns shared by `compare.csv` and `sweep_runs.csv` (new
/// ones are appended: scripts read these files by position too). `error`
/// is empty for a member that ran, and then the only value of one that
/// failed.
const RESULT_COLUMNS: &str =
    "final_accuracy,rounds,virtual_time_s,time_to_target_s,bytes_up,bytes_down,mean_staleness,\
                              epsilon,attack_advantage,attack_auc,clients_late,clients_dropped,max_staleness,error";

/// A CSV field: quoted when it holds a comma, quote or line break.
fn csv_field(text: &str) -> String {
    if text.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", text.replace('"', "\"\""))
    } else {
        text.to_string()
    }
}

impl Outcome {
    /// The values of [`RESULT_COLUMNS`].
    fn csv_fields(&self) -> String {
        if let Some(e) = &self.error {
            return format!("{}{}", ",".repeat(13), csv_field(e));
        }
        format!(
            "{:?},{},{:?},{},{},{},{},{},{},{},{},{},{},",
            self.final_accuracy,
            self.rounds,
            self.virtual_time_s,
            opt(self.time_to_target_s),
            self.bytes_up,
            self.bytes_down,
            opt(self.mean_staleness),
            opt(self.epsilon),
            opt(self.attack.map(|a| a.0)),
            opt(self.attack.map(|a| a.1)),
            self.clients_late,
            self.clients_dropped,
            self.max_staleness.map_or(String::new(), |m| m.to_string()),
        )
    }
}

/// `compare.csv`: one line per scenario.
pub fn compare_csv(outcomes: &[Outcome]) -> String {
    let mut s = format!("scenario,strategy,{RESULT_COLUMNS}\n");
    for o in outcomes {
        let _ = writeln!(s, "{},{},{}", o.scenario, o.strategy, o.csv_fields());
    }
    s
}

/// The columns of the comparison table (text and HTML).
const TABLE_HEADER: [&str; 12] = [
    "scenario",
    "strategy",
    "accuracy",
    "model versions",
    "virtual s",
    "to target s",
    "bytes up",
    "bytes down",
    "staleness",
    "max staleness",
    "late",
    "dropped",
];

/// A member's cells under [`TABLE_HEADER`].
fn table_cells(o: &Outcome) -> [String; 12] {
    if o.error.is_some() {
        let mut cells: [String; 12] = std::array::from_fn(|_| "-".to_string());
        cells[0] = o.scenario.clone();
        cells[1] = o.strategy.clone();
        cells[2] = "failed".into();
        return cells;
    }
    [
        o.scenario.clone(),
        o.strategy.clone(),
        format!("{:.4}", o.final_accuracy),
        o.rounds.to_string(),
        format!("{:.2}", o.virtual_time_s),
        o.time_to_target_s.map_or("-".into(), |t| format!("{t:.2}")),
        o.bytes_up.to_string(),
        o.bytes_down.to_string(),
        o.mean_staleness.map_or("-".into(), |m| format!("{m:.2}")),
        o.max_staleness.map_or("-".into(), |m| m.to_string()),
        o.clients_late.to_string(),
        o.clients_dropped.to_string(),
    ]
}

/// The comparison as an aligned text table.
pub fn compare_table(outcomes: &[Outcome]) -> String {
    let header = TABLE_HEADER;
    let rows: Vec<[String; 12]> = outcomes.iter().map(table_cells).collect();
    let widths: Vec<usize> = (0..header.len())
        .map(|i| rows.iter().map(|r| r[i].len()).chain([header[i].len()]).max().unwrap_or(0))
        .collect();
    let mut s = String::new();
    let line = |cells: Vec<&str>, s: &mut String| {
        let parts: Vec<String> = cells
            .iter()
            .enumerate()
            .map(|(i, c)| if i < 2 { format!("{c:<w$}", w = widths[i]) } else { format!("{c:>w$}", w = widths[i]) })
            .collect();
        let _ = writeln!(s, "{}", parts.join("  ").trim_end());
    };
    line(header.to_vec(), &mut s);
    for r in &rows {
        line(r.iter().map(String::as_str).collect(), &mut s);
    }
    for o in outcomes {
        if let Some(e) = &o.error {
            let _ = writeln!(s, "failed: {}: {e}", o.dir.display());
        }
    }
    s
}

/// One combination of a sweep: its overrides and what came of them.
#[derive(Debug, Clone)]
pub struct SweepRun {
    pub overrides: Vec<Override>,
    pub outcome: Outcome,
}

/// The cross product of the sweep map, first key slowest.
pub fn combinations(sweep: &[(String, Vec<String>)]) -> Vec<Vec<Override>> {
    sweep.iter().fold(vec![vec![]], |acc, (key, values)| {
        acc.iter()
            .flat_map(|prefix| {
                values.iter().map(move |v| {
                    let mut c = prefix.clone();
                    c.push(Override { key: key.clone(), value: v.clone() });
                    c
                })
            })
            .collect()
    })
}

/// The base scenario of a sweep file and its combinations, in order (a
/// local sweep's runs, a plan's cells).
fn sweep_of(path: &Path) -> Result<(Scenario, Vec<Vec<Override>>), ExperimentError> {
    let base = scenario::load_file(path, &[])?;
    if base.sweep.is_empty() {
        return Err(ExperimentError::Sweep {
            path: path.to_owned(),
            what: "sweep: expected a `sweep:` map of dotted keys to lists of values, found none".into(),
        });
    }
    let combos = combinations(&base.sweep);
    Ok((base, combos))
}

/// A folder name for a combination: `strategy.kind=fedavg,seed=1`.
fn combination_dir(c: &[Override]) -> String {
    let name: String = c.iter().map(|o| format!("{}={}", o.key, o.value)).collect::<Vec<_>>().join(",");
    name.chars().map(|ch| if ch.is_ascii_alphanumeric() || "=,._-".contains(ch) { ch } else { '_' }).collect()
}

/// `fedsim sweep`: runs every combination into `out/<combination>/` and
/// writes `out/sweep.csv` (means and standard deviations over `seed`, one
/// line per combination of the other keys) and `out/sweep_runs.csv`.
pub fn sweep(path: &Path, out: Option<&Path>, jobs: usize, fail_fast: bool) -> Result<Vec<SweepRun>, ExperimentError> {
    let (base, combos) = sweep_of(path)?;
    let out = out.map_or_else(|| PathBuf::from("runs").join(format!("{}-sweep", base.name)), Path::to_path_buf);
    let scenarios: Vec<Scenario> = combos.iter().map(|c| scenario::load_file(path, c)).collect::<Result<_, _>>()?;
    let group = report::OutputDir::create(&out)?;
    let stage = group.path().to_path_buf();
    let plans: Vec<(Scenario, PathBuf)> =
        scenarios.into_iter().zip(&combos).map(|(s, c)| (s, stage.join(combination_dir(c)))).collect();
    let results = run_all(&plans, jobs, None, fail_fast);
    let results = if fail_fast { first_failure(&plans, results)? } else { results };
    let outcomes = outcomes_of(&plans, &results, &stage, &out)?;
    let target = results.iter().filter_map(|r| r.as_ref()?.as_ref().ok()).find_map(|r| r.summary.target_accuracy);
    let runs: Vec<SweepRun> =
        combos.into_iter().zip(outcomes).map(|(overrides, outcome)| SweepRun { overrides, outcome }).collect();
    let keys: Vec<&str> = base.sweep.iter().map(|(k, _)| k.as_str()).collect();
    write_sweep_files(&stage, &out, &base.name, &keys, &runs, target)?;
    group.publish()?;
    Ok(runs)
}

/// A sweep's files in `dir`: `sweep_runs.csv`, `sweep.csv`, `accuracy.svg`
/// and `report.html` (members linked relative to `out`, the folder `dir`
/// becomes), for runs in plan order. `target`: the first member's
/// `stop.target_accuracy` that ran, drawn on the plot. A local sweep and
/// `--merge` both write through here.
fn write_sweep_files(
    dir: &Path,
    out: &Path,
    name: &str,
    keys: &[&str],
    runs: &[SweepRun],
    target: Option<f64>,
) -> Result<(), ExperimentError> {
    write(&dir.join("sweep_runs.csv"), &sweep_runs_csv(keys, runs))?;
    write(&dir.join("sweep.csv"), &sweep_csv(keys, runs))?;
    let series: Vec<Series> = runs
        .iter()
        .filter(|r| r.outcome.error.is_none())
        .map(|r| Series::new(combination_dir(&r.overrides), r.outcome.curve.clone()))
        .collect();
    let svg = report::accuracy_svg("test accuracy over virtual time", &series, target)?;
    write(&dir.join("accuracy.svg"), &svg)?;
    let rows: Vec<Vec<Cell>> = runs
        .iter()
        .map(|r| {
            let values: Vec<&str> = r.overrides.iter().map(|o| o.value.as_str()).collect();
            member_cells(&r.outcome, out, &values)
        })
        .collect();
    let header: Vec<&str> = keys.iter().copied().chain(TABLE_HEADER).collect();
    let page = report::html::experiment_page(
        &format!("fedsim sweep: {name}"),
        &format!("{} runs over {}{}", runs.len(), keys.join(", "), failures_note(&outcomes_only(runs))),
        &svg,
        &header,
        &rows,
    );
    report::html::write_page(dir, &page)?;
    Ok(())
}

fn outcomes_only(runs: &[SweepRun]) -> Vec<Outcome> {
    runs.iter().map(|r| r.outcome.clone()).collect()
}

fn sweep_runs_csv(keys: &[&str], runs: &[SweepRun]) -> String {
    let mut s = format!("{},{RESULT_COLUMNS}\n", keys.join(","));
    for r in runs {
        let values: Vec<&str> = r.overrides.iter().map(|x| x.value.as_str()).collect();
        let _ = writeln!(s, "{},{}", values.join(","), r.outcome.csv_fields());
    }
    s
}

/// Mean and sample standard deviation (0 for a single value).
pub fn mean_std(xs: &[f64]) -> (f64, f64) {
    let n = xs.len() as f64;
    let mean = xs.iter().sum::<f64>() / n;
    let var = if xs.len() > 1 { xs.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (n - 1.0) } else { 0.0 };
    (mean, var.sqrt())
}

/// Groups runs by every key but `seed` and summarises each group over its
/// members that ran (`runs`); `failed` counts the others.
pub fn sweep_csv(keys: &[&str], runs: &[SweepRun]) -> String {
    let group_keys: Vec<usize> = (0..keys.len()).filter(|&i| keys[i] != "seed").collect();
    let mut groups: Vec<(Vec<String>, Vec<&Outcome>, usize)> = Vec::new();
    for r in runs {
        let id: Vec<String> = group_keys.iter().map(|&i| r.overrides[i].value.clone()).collect();
        let i = match groups.iter().position(|(g, ..)| *g == id) {
            Some(i) => i,
            None => {
                groups.push((id, Vec::new(), 0));
                groups.len() - 1
            }
        };
        if r.outcome.error.is_some() {
            groups[i].2 += 1;
        } else {
            groups[i].1.push(&r.outcome);
        }
    }
    let mut s: String = group_keys.iter().map(|&i| format!("{},", keys[i])).collect();
    s += "runs,accuracy_mean,accuracy_std,virtual_time_s_mean,virtual_time_s_std,rounds_mean,rounds_std,\
          time_to_target_s_mean,time_to_target_s_std,reached_target,bytes_up_mean,mean_staleness_mean,epsilon_mean,\
          attack_advantage_mean,attack_auc_mean,failed\n";
    for (id, outs, failed) in groups {
        let id_cells = id.iter().map(|v| format!("{v},")).collect::<String>();
        if outs.is_empty() {
            // Nothing ran: no figure to give (never a NaN).
            let _ = writeln!(s, "{id_cells}0,{}{failed}", ",".repeat(14));
            continue;
        }
        let stat = |f: &dyn Fn(&Outcome) -> f64| mean_std(&outs.iter().map(|o| f(o)).collect::<Vec<_>>());
        let (acc, acc_sd) = stat(&|o| o.final_accuracy);
        let (vt, vt_sd) = stat(&|o| o.virtual_time_s);
        let (rounds, rounds_sd) = stat(&|o| o.rounds as f64);
        let reached: Vec<f64> = outs.iter().filter_map(|o| o.time_to_target_s).collect();
        let (ttt, ttt_sd) = if reached.is_empty() {
            (None, None)
        } else {
            let (m, sd) = mean_std(&reached);
            (Some(m), Some(sd))
        };
        let (up, _) = stat(&|o| o.bytes_up as f64);
        let stale: Vec<f64> = outs.iter().filter_map(|o| o.mean_staleness).collect();
        let stale = (!stale.is_empty()).then(|| mean_std(&stale).0);
        // A mean over the runs that have the value (epsilon: runs with DP).
        let mean_of = |f: &dyn Fn(&Outcome) -> Option<f64>| {
            let v: Vec<f64> = outs.iter().filter_map(|o| f(o)).collect();
            (v.len() == outs.len()).then(|| mean_std(&v).0)
        };
        let _ = writeln!(
            s,
            "{id_cells}{},{acc:?},{acc_sd:?},{vt:?},{vt_sd:?},{rounds:?},{rounds_sd:?},{},{},{},{up:?},{},{},{},{},{failed}",
            outs.len(),
            opt(ttt),
            opt(ttt_sd),
            reached.len(),
            opt(stale),
            opt(mean_of(&|o| o.epsilon)),
            opt(mean_of(&|o| o.attack.map(|a| a.0))),
            opt(mean_of(&|o| o.attack.map(|a| a.1))),
        );
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn combinations_are_the_cross_product_first_key_slowest() {
        let c = combinations(&[
            ("a".into(), vec!["1".into(), "2".into()]),
            ("seed".into(), vec!["7".into(), "8".into(), "9".into()]),
        ]);
        assert_eq!(c.len(), 6);
        assert_eq!(combination_dir(&c[0]), "a=1,seed=7");
        assert_eq!(combination_dir(&c[5]), "a=2,seed=9");
    }

    #[test]
    fn mean_and_sample_std() {
        let (m, sd) = mean_std(&[1.0, 2.0, 3.0]);
        assert_eq!(m, 2.0);
        assert!((sd - 1.0).abs() < 1e-12);
        assert_eq!(mean_std(&[5.0]), (5.0, 0.0));
    }
}
