//! A sweep run as independent cells (`--plan`, `--cell`, `--merge`) gives
//! the tables a local `fedsim sweep` of the same file gives, byte for byte;
//! a killed cell leaves no complete folder and reruns; a complete cell is
//! skipped; `--merge` names missing and stale cells and writes nothing.

use fedsim::experiment::{self, CellRun, Plan};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::{Duration, Instant};

/// Six fast cells (two strategies by three seeds), with a target drawn on
/// the plot.
const FAST: &str = "name: cells\ndata: { dataset: iris }\nclients:\n  count: 6\n  profiles:\n    - name: p\n      \
                    share: 1\n      compute: { samples_per_s: 100 }\n      network: { latency: { dist: lognormal, \
                    median_ms: 50, sigma: 0.5 }, up_mbps: 1, down_mbps: 5 }\nstrategy: { kind: fedavg, \
                    clients_per_round: 3 }\nstop: { rounds: 5, target_accuracy: 0.8 }\nsweep:\n  strategy.kind: \
                    [fedavg, fedbuff]\n  seed: [1, 2, 3]\n";

/// The files a merge must give exactly as a local sweep does.
const TABLES: [&str; 3] = ["sweep.csv", "sweep_runs.csv", "accuracy.svg"];

fn fedsim(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_fedsim")).args(args).output().unwrap()
}

fn write_scenario(dir: &Path, name: &str, text: &str) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    path
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// Runs the local sweep of `scenario` into `local`, and plan + every cell +
/// merge into `cells`; asserts the tables are the same bytes.
fn local_and_cells_agree(scenario: &Path, local: &Path, cells: &Path) -> Plan {
    experiment::sweep(scenario, Some(local), 2, false).unwrap();
    let plan = experiment::plan(scenario, cells).unwrap();
    for cell in &plan.cells {
        experiment::run_cell(scenario, cell.index, cells, 1).unwrap();
    }
    experiment::merge(cells).unwrap();
    for f in TABLES {
        assert_eq!(read(&local.join(f)), read(&cells.join(f)), "{f}: merged cells differ from the local sweep");
    }
    plan
}

#[test]
fn plan_cells_and_merge_match_a_local_sweep_byte_for_byte() {
    let tmp = tempfile::tempdir().unwrap();
    let scenario = write_scenario(tmp.path(), "s.yaml", FAST);
    let cells = tmp.path().join("cells");
    let plan = local_and_cells_agree(&scenario, &tmp.path().join("local"), &cells);
    assert_eq!(plan.cells.len(), 6);
    assert_eq!(plan.keys, ["strategy.kind", "seed"]);
    assert_eq!(plan.cells[4].dir, "strategy.kind=fedbuff,seed=2");
    assert_eq!(plan.cells[4].overrides["seed"], "2");
    // Each cell's hash is its run's scenario_hash, and the six differ.
    let mut hashes: Vec<&str> = plan.cells.iter().map(|c| c.hash.as_str()).collect();
    for c in &plan.cells {
        let summary: serde_json::Value =
            serde_json::from_str(&read(&cells.join("cells").join(c.index.to_string()).join("summary.json"))).unwrap();
        assert_eq!(summary["scenario_hash"], c.hash.as_str());
        assert!(c.scenario.is_some(), "a plan made from the file holds the cells' scenarios");
    }
    hashes.dedup();
    assert_eq!(hashes.len(), 6);
    // The plan on disk reads back with the same cells, and the copy of the
    // scenario gives the same plan (its hashes) from the sweep's folder.
    let again = Plan::read(&cells).unwrap();
    assert_eq!(
        again.cells.iter().map(|c| &c.hash).collect::<Vec<_>>(),
        plan.cells.iter().map(|c| &c.hash).collect::<Vec<_>>()
    );
    let from_copy = Plan::of(&cells.join(&plan.scenario.copy)).unwrap();
    assert_eq!(
        from_copy.cells.iter().map(|c| &c.hash).collect::<Vec<_>>(),
        plan.cells.iter().map(|c| &c.hash).collect::<Vec<_>>()
    );
    // The merged page links each cell's own report.
    assert!(read(&cells.join("report.html")).contains("href=\"cells/4/report.html\""));

    // A complete cell is skipped: same folder, same files, untouched.
    let cell0 = cells.join("cells/0");
    let before = (std::fs::metadata(&cell0).unwrap().modified().unwrap(), read(&cell0.join("summary.json")));
    let o = Command::new(env!("CARGO_BIN_EXE_fedsim"))
        .args(["sweep", scenario.to_str().unwrap(), "--cell-from-env", "TASK", "--out", cells.to_str().unwrap()])
        .env("TASK", "0")
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert!(String::from_utf8_lossy(&o.stdout).contains("skipped"), "{}", String::from_utf8_lossy(&o.stdout));
    let after = (std::fs::metadata(&cell0).unwrap().modified().unwrap(), read(&cell0.join("summary.json")));
    assert_eq!(before, after, "a skipped cell is not written again");
    assert!(matches!(experiment::run_cell(&scenario, 0, &cells, 1).unwrap(), CellRun::Skipped { .. }));
}

#[test]
fn a_failed_cell_is_a_row_with_its_error_as_in_a_local_sweep() {
    let tmp = tempfile::tempdir().unwrap();
    std::fs::write(tmp.path().join("good.csv"), "client,start_s,end_s\n0,0,3600\n").unwrap();
    std::fs::write(tmp.path().join("bad.csv"), "client,start_s,end_s\n0,soon,3600\n").unwrap();
    let scenario = write_scenario(
        tmp.path(),
        "s.yaml",
        "name: traces\ndata: { dataset: iris }\nclients:\n  count: 3\n  availability: { kind: trace, path: good.csv \
         }\nstop: { rounds: 2 }\nsweep: { clients.availability.path: [good.csv, bad.csv], seed: [1, 2] }\n",
    );
    let cells = tmp.path().join("cells");
    let plan = local_and_cells_agree(&scenario, &tmp.path().join("local"), &cells);
    assert_eq!(plan.scenario.data_files.len(), 2, "{:?}", plan.scenario.data_files);
    // The copy's swept paths are absolute: from the sweep's folder it
    // plans the same cells.
    let from_copy = Plan::of(&cells.join(&plan.scenario.copy)).unwrap();
    let hashes = |p: &Plan| p.cells.iter().map(|c| c.hash.clone()).collect::<Vec<_>>();
    assert_eq!(hashes(&from_copy), hashes(&plan));
    assert!(!read(&cells.join("scenario.yaml")).contains("- bad.csv"), "{}", read(&cells.join("scenario.yaml")));
    let runs = read(&cells.join("sweep_runs.csv"));
    // Both bad.csv rows hold the error, and no figure.
    let failed: Vec<&str> = runs.lines().filter(|l| l.starts_with("bad.csv,")).collect();
    assert_eq!(failed.len(), 2, "{runs}");
    assert!(
        failed.iter().all(|l| l.contains(",,,,,,,,,,,,,,\"") && l.contains("expected non-negative seconds")),
        "{runs}"
    );
    assert!(cells.join("cells/2/error.txt").exists());
    // The command says so, and exits 1.
    let o = fedsim(&["sweep", scenario.to_str().unwrap(), "--cell", "3", "--out", cells.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(1), "{}", String::from_utf8_lossy(&o.stderr));
    assert!(String::from_utf8_lossy(&o.stderr).contains("cell 3 failed"), "{}", String::from_utf8_lossy(&o.stderr));
}

#[test]
fn merge_names_missing_and_stale_cells_and_writes_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    let scenario = write_scenario(tmp.path(), "s.yaml", FAST);
    let dir = tmp.path().join("cells");
    experiment::plan(&scenario, &dir).unwrap();
    for i in [0, 2, 3, 5] {
        experiment::run_cell(&scenario, i, &dir, 1).unwrap();
    }
    let e = experiment::merge(&dir).unwrap_err().to_string();
    assert!(e.contains("cell 1 (strategy.kind=fedavg,seed=2") && e.contains("is missing"), "{e}");
    assert!(e.contains("cell 4 (strategy.kind=fedbuff,seed=2"), "{e}");
    assert!(!e.contains("cell 0 ") && !e.contains("cell 5 "), "{e}");
    for f in TABLES {
        assert!(!dir.join(f).exists(), "{f} written by a merge that failed");
    }
    // The command exits 2 with the names.
    let o = fedsim(&["sweep", "--merge", dir.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("cell 1 (strategy.kind=fedavg,seed=2"));

    // A cell run from another scenario than the plan's is refused...
    let changed = write_scenario(tmp.path(), "changed.yaml", &FAST.replace("rounds: 5", "rounds: 4"));
    let e = experiment::run_cell(&changed, 1, &dir, 1).unwrap_err().to_string();
    assert!(e.contains("cell 1") && e.contains("but the plan has"), "{e}");
    assert!(!dir.join("cells/1").exists());
    // ...and one whose folder holds another scenario's run is named stale.
    for i in [1, 4] {
        experiment::run_cell(&scenario, i, &dir, 1).unwrap();
    }
    let summary = dir.join("cells/3/summary.json");
    let text = read(&summary);
    let hash = Plan::read(&dir).unwrap().cells[3].hash.clone();
    std::fs::write(&summary, text.replace(&hash, &"0".repeat(64))).unwrap();
    let e = experiment::merge(&dir).unwrap_err().to_string();
    assert!(e.contains("cell 3 (strategy.kind=fedbuff,seed=1") && e.contains("is stale"), "{e}");
    assert!(!dir.join("sweep.csv").exists());
    // Rerunning the stale cell replaces it; then the merge succeeds.
    experiment::run_cell(&scenario, 3, &dir, 1).unwrap();
    assert_eq!(experiment::merge(&dir).unwrap().len(), 6);
}

/// Starts `fedsim sweep S --cell I --out DIR` and returns once its run
/// has begun, with the run's staging folder.
fn start_cell(scenario: &Path, i: usize, dir: &Path) -> (std::process::Child, PathBuf) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_fedsim"))
        .args(["sweep", scenario.to_str().unwrap(), "--cell", &i.to_string(), "--out", dir.to_str().unwrap()])
        .args(["--threads", "1"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let staging = dir.join("cells").join(format!(".{i}.partial-{}", child.id()));
    let started = Instant::now();
    while !staging.join("events.jsonl").exists() {
        assert!(child.try_wait().unwrap().is_none(), "cell {i} ended before its run was seen");
        assert!(started.elapsed() < Duration::from_secs(60), "cell {i} never started");
        std::thread::sleep(Duration::from_millis(5));
    }
    // Well into the run (about a second long), not at its first event.
    std::thread::sleep(Duration::from_millis(100));
    assert!(child.try_wait().unwrap().is_none(), "cell {i} ended before it could be stopped");
    (child, staging)
}

#[test]
fn a_killed_cell_leaves_no_complete_folder_and_reruns_to_the_same_tables() {
    let tmp = tempfile::tempdir().unwrap();
    // Cells 0 and 1 take about a second each; the others a moment.
    let scenario = write_scenario(
        tmp.path(),
        "s.yaml",
        "name: slow\ndata: { dataset: digits }\nclients: { count: 20 }\nmodel: { kind: mlp, hidden: [64] }\n\
         output: { trace: false, audit: false, plots: false, report: false }\n\
         sweep: { stop.rounds: [150, 2], seed: [1, 2] }\n",
    );
    let dir = tmp.path().join("cells");
    experiment::plan(&scenario, &dir).unwrap();
    let (mut child, staging) = start_cell(&scenario, 0, &dir);
    child.kill().unwrap(); // SIGKILL: nothing can clean up
    child.wait().unwrap();
    assert!(!dir.join("cells/0").exists(), "a killed cell leaves no complete folder");
    assert!(staging.exists(), "SIGKILL leaves the staging folder");
    assert!(
        experiment::merge(&dir).unwrap_err().to_string().contains("cell 0 (stop.rounds=150,seed=1"),
        "the killed cell is missing"
    );
    // The requeued cell runs, and the stale staging folder goes.
    assert!(matches!(experiment::run_cell(&scenario, 0, &dir, 1).unwrap(), CellRun::Ran(_)));
    assert!(!staging.exists());
    // A cell stopped by SIGTERM (a preempted job) publishes its folder as
    // interrupted, with a checkpoint: --merge does not take it, and the
    // requeued cell continues it to the same end.
    let (child, _) = start_cell(&scenario, 1, &dir);
    let term = Command::new("kill").args(["-TERM", &child.id().to_string()]).status().unwrap();
    assert!(term.success());
    let o = child.wait_with_output().unwrap();
    assert_eq!(o.status.code(), Some(130), "{}", String::from_utf8_lossy(&o.stderr));
    assert!(read(&dir.join("cells/1/summary.json")).contains("\"stop_reason\": \"interrupted\""));
    assert!(dir.join("cells/1/checkpoint.bin").exists());
    experiment::run_cell(&scenario, 2, &dir, 1).unwrap();
    experiment::run_cell(&scenario, 3, &dir, 1).unwrap();
    let e = experiment::merge(&dir).unwrap_err().to_string();
    assert!(e.contains("cell 1 (stop.rounds=150,seed=2") && e.contains("interrupted"), "{e}");
    assert!(matches!(experiment::run_cell(&scenario, 1, &dir, 1).unwrap(), CellRun::Ran(_)));
    for i in 1..4 {
        experiment::run_cell(&scenario, i, &dir, 1).unwrap();
    }
    experiment::merge(&dir).unwrap();
    let local = tmp.path().join("local");
    experiment::sweep(&scenario, Some(&local), 2, false).unwrap();
    for f in TABLES {
        assert_eq!(read(&local.join(f)), read(&dir.join(f)), "{f}");
    }
}

#[test]
fn bad_cell_indices_are_clear_errors() {
    let tmp = tempfile::tempdir().unwrap();
    let scenario = write_scenario(tmp.path(), "s.yaml", FAST);
    let s = scenario.to_str().unwrap();
    let out = tmp.path().join("out");
    let o = fedsim(&["sweep", s, "--cell", "6", "--out", out.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("--cell 6: the sweep has 6 cells, 0 to 5"));
    let o = Command::new(env!("CARGO_BIN_EXE_fedsim"))
        .args(["sweep", s, "--cell-from-env", "FEDSIM_TEST_UNSET", "--out", out.to_str().unwrap()])
        .env_remove("FEDSIM_TEST_UNSET")
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("FEDSIM_TEST_UNSET is not set"));
    let o = Command::new(env!("CARGO_BIN_EXE_fedsim"))
        .args(["sweep", s, "--cell-from-env", "TASK", "--out", out.to_str().unwrap()])
        .env("TASK", "x1")
        .output()
        .unwrap();
    assert!(
        String::from_utf8_lossy(&o.stderr).contains("expected a cell index"),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    // --cell needs --out; --merge takes no scenario.
    assert_eq!(fedsim(&["sweep", s, "--cell", "0"]).status.code(), Some(2));
    assert_eq!(fedsim(&["sweep", s, "--merge", out.to_str().unwrap()]).status.code(), Some(2));
    let o = fedsim(&["sweep", s, "--threads", "2", "--out", out.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("--threads: only with --cell"));
    assert!(!out.exists());
}
