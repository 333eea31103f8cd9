//! A sweep as independent, deterministic cells, for clusters: `fedsim
//! sweep S.yaml --plan DIR` writes the plan (`DIR/plan.json`), each job
//! runs one cell (`--cell I --out DIR`, into `DIR/cells/<I>/`), and
//! `--merge DIR` checks every cell against the plan and writes the tables
//! a local `fedsim sweep` writes, through the same writers.
//!
//! Cell `I` is the `I`-th combination of the local sweep's order
//! ([`combinations`]). A cell is known by the hash of its resolved
//! scenario (`summary.json`'s `scenario_hash`): a cell already complete
//! with that hash is skipped, so a requeued job does nothing twice, and
//! `--merge` refuses a cell whose hash is not the plan's (stale). A cell is
//! written through the run's staging folder, so a killed cell leaves no
//! complete folder.

use super::{combination_dir, sweep_of, write, write_sweep_files, ExperimentError, Outcome, SweepRun};
use crate::checkpoint;
use crate::report::{self, Summary};
use crate::run::{self, RunOptions, RESOLVED_FILE};
use crate::scenario::{self, Availability, DataSource, Override, Scenario};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};

/// The plan's file name in a sweep's folder.
pub const PLAN_FILE: &str = "plan.json";
/// The folder of the cells in a sweep's folder: `cells/<I>/`.
pub const CELLS_DIR: &str = "cells";
/// The copy of the scenario in a sweep's folder (its paths absolute).
const SCENARIO_COPY: &str = "scenario.yaml";

/// `plan.json`: what every cell of a sweep runs.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Plan {
    /// The fedsim version that made the plan.
    pub fedsim_version: String,
    pub scenario: PlanScenario,
    /// The scenario's `name` (the sweep report's title).
    pub name: String,
    /// The sweep's keys, in file order.
    pub keys: Vec<String>,
    /// Every cell, in the local sweep's order (`index` = position).
    pub cells: Vec<PlanCell>,
}

/// The scenario file a plan was made from.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PlanScenario {
    /// The path as given on the command line.
    pub path: String,
    /// SHA-256 (hex) of the file's bytes.
    pub sha256: String,
    /// Its copy beside the plan (`scenario.yaml`, relative paths made
    /// absolute), which cells can run from.
    pub copy: String,
    /// The data files the cells read (absolute): they must be at these
    /// paths wherever the cells run.
    pub data_files: Vec<String>,
}

/// One cell of a plan.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PlanCell {
    pub index: usize,
    /// Sweep key -> value (YAML text), as `--set` would give them.
    pub overrides: serde_json::Map<String, serde_json::Value>,
    /// The local sweep's folder name of this combination
    /// (`strategy.kind=fedavg,seed=1`); the cell runs in `cells/<index>/`.
    pub dir: String,
    /// SHA-256 (hex) of the cell's resolved scenario: its run's
    /// `scenario_hash`.
    pub hash: String,
    /// The cell's scenario name and strategy kind, for the row of a cell
    /// that failed.
    pub scenario_name: String,
    pub strategy: String,
    /// The cell's checked scenario, when the plan was made from the file
    /// (not when read from `plan.json`): e.g. for its resource estimate.
    #[serde(skip)]
    pub scenario: Option<Scenario>,
}

impl Plan {
    /// The plan of the sweep in `path`, every cell's scenario loaded and
    /// checked (nothing is written).
    pub fn of(path: &Path) -> Result<Plan, ExperimentError> {
        let (base, combos) = sweep_of(path)?;
        let bytes = std::fs::read(path).map_err(|source| scenario::ScenarioError::Io { path: path.into(), source })?;
        let mut data_files: Vec<String> = Vec::new();
        let mut cells = Vec::with_capacity(combos.len());
        for (index, c) in combos.iter().enumerate() {
            let s = scenario::load_file(path, c)?;
            for f in data_files_of(&s) {
                if !data_files.contains(&f) {
                    data_files.push(f);
                }
            }
            cells.push(PlanCell {
                index,
                overrides: c.iter().map(|o| (o.key.clone(), serde_json::Value::from(o.value.clone()))).collect(),
                dir: combination_dir(c),
                hash: s.resolved_sha256(),
                scenario_name: s.name.clone(),
                strategy: s.strategy.kind.name().to_string(),
                scenario: Some(s),
            });
        }
        Ok(Plan {
            fedsim_version: report::FEDSIM_VERSION.to_string(),
            scenario: PlanScenario {
                path: path.display().to_string(),
                sha256: hex::encode(Sha256::digest(&bytes)),
                copy: SCENARIO_COPY.to_string(),
                data_files,
            },
            name: base.name.clone(),
            keys: base.sweep.iter().map(|(k, _)| k.clone()).collect(),
            cells,
        })
    }

    /// Reads `dir/plan.json`.
    pub fn read(dir: &Path) -> Result<Plan, ExperimentError> {
        let path = dir.join(PLAN_FILE);
        let text = std::fs::read_to_string(&path).map_err(|e| ExperimentError::Cell {
            path: path.clone(),
            what: format!("cannot read the plan ({e}); `fedsim sweep S.yaml --plan DIR` writes it"),
        })?;
        serde_json::from_str(&text)
            .map_err(|e| ExperimentError::Cell { path, what: format!("not a plan written by fedsim: {e}") })
    }

    /// A cell's overrides, in the order of the sweep's keys.
    fn overrides(&self, cell: &PlanCell) -> Vec<Override> {
        self.keys
            .iter()
            .filter_map(|k| {
                let v = cell.overrides.get(k)?;
                Some(Override::new(k.clone(), v.as_str().map_or_else(|| v.to_string(), str::to_string)))
            })
            .collect()
    }
}

/// The data files a scenario reads, absolute.
fn data_files_of(s: &Scenario) -> Vec<String> {
    let mut files = Vec::new();
    if let DataSource::Csv(c) = &s.data.source {
        files.push(&c.path);
    }
    if let Availability::Trace { path } = &s.clients.availability {
        files.push(path);
    }
    files.into_iter().map(|p| std::fs::canonicalize(p).unwrap_or_else(|_| p.clone()).display().to_string()).collect()
}

/// `fedsim sweep S.yaml --plan DIR`: writes `DIR/plan.json` and
/// `DIR/scenario.yaml` (the scenario, its relative paths made absolute, so
/// cells can run from `DIR` alone), and returns the plan.
pub fn plan(path: &Path, dir: &Path) -> Result<Plan, ExperimentError> {
    let plan = Plan::of(path)?;
    let (base, _) = sweep_of(path)?;
    let copy = scenario::with_absolute_paths(&base.effective, path).unwrap_or(base.effective);
    std::fs::create_dir_all(dir).map_err(|source| ExperimentError::Write { path: dir.to_owned(), source })?;
    write_atomic(&dir.join(SCENARIO_COPY), &copy)?;
    let json = serde_json::to_string_pretty(&plan).expect("a plan always serialises");
    write_atomic(&dir.join(PLAN_FILE), &(json + "\n"))?;
    Ok(plan)
}

/// Writes a file whole or not at all: a temporary file beside it, renamed.
fn write_atomic(path: &Path, text: &str) -> Result<(), ExperimentError> {
    let name = path.file_name().map_or_else(String::new, |n| n.to_string_lossy().into_owned());
    let tmp = path.with_file_name(format!(".{name}.partial-{}", std::process::id()));
    write(&tmp, text)?;
    std::fs::rename(&tmp, path).map_err(|source| ExperimentError::Write { path: path.to_owned(), source })
}

/// What `--cell` did.
#[derive(Debug)]
pub enum CellRun {
    /// The cell ran (or continued from its checkpoint) to its end.
    Ran(Box<run::RunResult>),
    /// The cell was already complete with the same hash: nothing was done.
    Skipped { dir: PathBuf },
    /// The cell's run failed; its folder holds `error.txt`.
    Failed { dir: PathBuf, error: String },
}

/// `fedsim sweep S.yaml --cell I --out DIR`: runs cell `index` of the
/// sweep in `path` into `DIR/cells/<index>/`, unless it is already
/// complete there with the same hash. With `DIR/plan.json`, the cell's
/// hash must be the plan's. A cell that a signal stopped (a preempted job)
/// continues from its checkpoint.
pub fn run_cell(path: &Path, index: usize, out: &Path, threads: usize) -> Result<CellRun, ExperimentError> {
    let (_, combos) = sweep_of(path)?;
    let Some(combo) = combos.get(index) else {
        return Err(ExperimentError::Cell {
            path: path.to_owned(),
            what: format!("--cell {index}: the sweep has {} cells, 0 to {}", combos.len(), combos.len() - 1),
        });
    };
    let s = scenario::load_file(path, combo)?;
    let hash = s.resolved_sha256();
    if out.join(PLAN_FILE).exists() {
        let plan = Plan::read(out)?;
        let planned = plan.cells.get(index).map(|c| c.hash.as_str());
        if planned != Some(hash.as_str()) {
            return Err(ExperimentError::Cell {
                path: out.join(PLAN_FILE),
                what: format!(
                    "cell {index} ({}) of {} resolves to scenario hash {hash}, but the plan has {}: the scenario \
                     (or fedsim) changed since the plan was made; make the plan again or run the file it was made \
                     from",
                    combination_dir(combo),
                    path.display(),
                    planned.map_or_else(|| format!("only {} cells", plan.cells.len()), str::to_string),
                ),
            });
        }
    }
    let dir = out.join(CELLS_DIR).join(index.to_string());
    let opts = RunOptions { out: Some(dir.clone()), threads, ..RunOptions::default() };
    match read_summary(&dir) {
        Some(summary) if summary.scenario_hash == hash && summary.stop_reason != "interrupted" => {
            return Ok(CellRun::Skipped { dir });
        }
        Some(summary) if summary.scenario_hash == hash && dir.join(checkpoint::FILE).exists() => {
            // Stopped by a signal (preempted): continue where it stopped.
            if let Ok(r) = run::resume(&dir, &opts, &mut |_| {}) {
                return Ok(CellRun::Ran(Box::new(r)));
            }
        }
        _ => {}
    }
    match run::run(&s, &opts, &mut |_| {}) {
        Ok(r) => Ok(CellRun::Ran(Box::new(r))),
        Err(e) => {
            // The folder of a failed cell: its error and the resolved
            // scenario (whose hash `--merge` checks), published whole.
            let error = e.to_string();
            let staged = report::OutputDir::create(&dir)?;
            write(&staged.file("error.txt"), &format!("{error}\n"))?;
            write(&staged.file(RESOLVED_FILE), &s.resolved)?;
            staged.publish()?;
            Ok(CellRun::Failed { dir, error })
        }
    }
}

/// A cell folder's `summary.json`, if it has one that reads.
fn read_summary(dir: &Path) -> Option<Summary> {
    serde_json::from_str(&std::fs::read_to_string(dir.join("summary.json")).ok()?).ok()
}

/// `(virtual seconds, accuracy)` of every row of a run's `metrics.csv`,
/// exactly as the run held them (times are whole nanoseconds).
fn accuracy_curve(dir: &Path) -> Result<Vec<(f64, f64)>, String> {
    let path = dir.join("metrics.csv");
    let text = std::fs::read_to_string(&path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    let mut lines = text.lines();
    let header: Vec<&str> = lines.next().unwrap_or_default().split(',').collect();
    let col =
        |name: &str| header.iter().position(|h| *h == name).ok_or(format!("{}: no {name} column", path.display()));
    let (t, acc) = (col("virtual_time_s")?, col("accuracy")?);
    lines
        .enumerate()
        .map(|(i, line)| {
            let fields: Vec<&str> = line.split(',').collect();
            let bad = || format!("{}:{}: not a metrics row", path.display(), i + 2);
            let time = fields.get(t).and_then(|f| parse_virtual_time(f)).ok_or_else(bad)?;
            let accuracy = fields.get(acc).and_then(|f| f.parse::<f64>().ok()).ok_or_else(bad)?;
            Ok((time, accuracy))
        })
        .collect()
}

/// `12.000000345` (seconds with nine decimals) as the run's clock held it.
fn parse_virtual_time(text: &str) -> Option<f64> {
    let (secs, nanos) = text.split_once('.')?;
    if nanos.len() != 9 {
        return None;
    }
    let ns = secs.parse::<u64>().ok()?.checked_mul(1_000_000_000)?.checked_add(nanos.parse::<u64>().ok()?)?;
    Some(crate::sim::VirtualTime::from_nanos(ns).as_secs_f64())
}

/// `fedsim sweep --merge DIR`: checks every cell of `DIR/plan.json` and
/// writes `sweep_runs.csv`, `sweep.csv`, `accuracy.svg` and `report.html`
/// into `DIR`, as a local sweep of the same file would. A cell missing,
/// stopped before its end, or run from another scenario (stale hash) is an
/// error naming it, and nothing is written; a cell that failed is a row
/// with its error.
pub fn merge(dir: &Path) -> Result<Vec<SweepRun>, ExperimentError> {
    let plan = Plan::read(dir)?;
    let mut problems = Vec::new();
    let mut runs = Vec::with_capacity(plan.cells.len());
    let mut target = None;
    for cell in &plan.cells {
        let cell_dir = dir.join(CELLS_DIR).join(cell.index.to_string());
        let name = format!("cell {} ({}, {})", cell.index, cell.dir, cell_dir.display());
        let overrides = plan.overrides(cell);
        let error = std::fs::read_to_string(cell_dir.join("error.txt")).ok();
        let outcome = if let Some(error) = error {
            let resolved = std::fs::read_to_string(cell_dir.join(RESOLVED_FILE)).unwrap_or_default();
            if scenario::resolved_hash(&resolved) != cell.hash {
                problems.push(format!("{name} is stale: it failed on another scenario than the plan's"));
                continue;
            }
            let error = error.strip_suffix('\n').unwrap_or(&error).to_string();
            Outcome::failed_with(&cell.scenario_name, &cell.strategy, cell_dir, error)
        } else if !cell_dir.join("summary.json").exists() {
            problems.push(format!("{name} is missing"));
            continue;
        } else {
            let Some(summary) = read_summary(&cell_dir) else {
                problems.push(format!("{name}: its summary.json does not read"));
                continue;
            };
            if summary.scenario_hash != cell.hash {
                problems.push(format!(
                    "{name} is stale: its scenario_hash {} is not the plan's {}",
                    summary.scenario_hash, cell.hash
                ));
                continue;
            }
            if summary.stop_reason == "interrupted" {
                problems.push(format!("{name} was interrupted before its end: run the cell again to continue it"));
                continue;
            }
            let curve =
                accuracy_curve(&cell_dir).map_err(|what| ExperimentError::Cell { path: cell_dir.clone(), what })?;
            target = target.or(summary.target_accuracy);
            Outcome::from_summary(&summary, curve, cell_dir)
        };
        runs.push(SweepRun { overrides, outcome });
    }
    if !problems.is_empty() {
        return Err(ExperimentError::Incomplete { dir: dir.to_owned(), problems });
    }
    // Written into a staging folder first, then moved into place file by
    // file: a failure leaves none of them half-written.
    let staged = report::OutputDir::create(&dir.join(".merge"))?;
    let keys: Vec<&str> = plan.keys.iter().map(String::as_str).collect();
    write_sweep_files(staged.path(), dir, &plan.name, &keys, &runs, target)?;
    for file in ["sweep_runs.csv", "sweep.csv", "accuracy.svg", report::REPORT_FILE] {
        std::fs::rename(staged.file(file), dir.join(file))
            .map_err(|source| ExperimentError::Write { path: dir.join(file), source })?;
    }
    drop(staged);
    Ok(runs)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn virtual_times_parse_to_the_clock_s_value() {
        for ns in [0u64, 1, 999_999_999, 12_000_000_345, 3_600_123_456_789] {
            let t = crate::sim::VirtualTime::from_nanos(ns);
            let mut text = Vec::new();
            t.push_secs(&mut text);
            assert_eq!(parse_virtual_time(std::str::from_utf8(&text).unwrap()), Some(t.as_secs_f64()));
        }
        assert_eq!(parse_virtual_time("12.5"), None);
        assert_eq!(parse_virtual_time("x.000000000"), None);
    }
}
