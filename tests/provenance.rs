//! Provenance in every run folder: `summary.json` names the fedsim version,
//! the commit, the resolved scenario's hash, the seed and the host's cores,
//! and `scenario.resolved.yaml` reruns to the same `metrics.csv`, byte for
//! byte, from wherever it is loaded.

mod common;
use common::{opts, run_file, run_yaml_in, Ran};
use fedsim::run::{run, RESOLVED_FILE};
use fedsim::scenario::load_file;
use std::path::Path;

/// Runs the run folder's `scenario.resolved.yaml` and checks it gives the
/// same metrics, model and hash.
fn rerun_resolved(ran: &Ran, what: &str) {
    let resolved = ran.dir.join(RESOLVED_FILE);
    let scenario = load_file(&resolved, &[]).unwrap_or_else(|e| panic!("{what}: {e}"));
    assert!(scenario.sweep.is_empty(), "{what}: a resolved scenario has no sweep");
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("again");
    run(&scenario, &opts(&dir, 2), &mut |_| {}).unwrap_or_else(|e| panic!("{what}: {e}"));
    let read = |d: &Path, f: &str| std::fs::read_to_string(d.join(f)).unwrap();
    assert_eq!(read(&ran.dir, "metrics.csv"), read(&dir, "metrics.csv"), "{what}: metrics.csv differs");
    assert_eq!(read(&ran.dir, "model.json"), read(&dir, "model.json"), "{what}: model.json differs");
    // The rerun resolves to the same text, so to the same hash.
    assert_eq!(read(&ran.dir, RESOLVED_FILE), read(&dir, RESOLVED_FILE), "{what}");
    let summary = |d: &Path| serde_json::from_str::<serde_json::Value>(&read(d, "summary.json")).unwrap();
    assert_eq!(summary(&ran.dir)["scenario_hash"], summary(&dir)["scenario_hash"], "{what}");
}

#[test]
fn summary_records_provenance() {
    let ran = run_file("scenarios/quickstart.yaml", 1, &["stop.rounds=2", "seed=7"]);
    let s: serde_json::Value = serde_json::from_str(&ran.read("summary.json")).unwrap();
    assert_eq!(s["fedsim_version"], env!("CARGO_PKG_VERSION"));
    let commit = s["git_commit"].as_str().unwrap();
    assert!(
        commit == "unknown" || (commit.len() == 40 && commit.chars().all(|c| c.is_ascii_hexdigit())),
        "git_commit: {commit}"
    );
    assert_eq!(s["seed"], 7);
    let cores = std::thread::available_parallelism().unwrap().get();
    assert_eq!(s["host_cores"], cores);
    let hash = s["scenario_hash"].as_str().unwrap();
    assert_eq!(hash, fedsim::scenario::resolved_hash(&ran.read(RESOLVED_FILE)));
    assert_eq!(hash, ran.result.summary.scenario_hash);
    assert_eq!(hash.len(), 64);
    // The resolved file holds the overrides and the defaults the file left out.
    let resolved = ran.read(RESOLVED_FILE);
    assert!(resolved.contains("seed: 7\n") && resolved.contains("  rounds: 2\n"), "{resolved}");
    assert!(resolved.contains("  mu: 0.01\n") && resolved.contains("  trace_clients: 200\n"), "{resolved}");
    // host_cores describes the machine: report.html leaves it out.
    let page = ran.read("report.html");
    assert!(!page.contains("host_cores") && page.contains(hash), "report.html");
}

#[test]
fn another_scenario_has_another_hash_and_threads_do_not_change_it() {
    let a = run_file("scenarios/quickstart.yaml", 1, &["stop.rounds=2"]);
    let b = run_file("scenarios/quickstart.yaml", 2, &["stop.rounds=2"]);
    let c = run_file("scenarios/quickstart.yaml", 1, &["stop.rounds=2", "training.learning_rate=0.05"]);
    let (a, b, c) = (&a.result.summary, &b.result.summary, &c.result.summary);
    assert_eq!(a.scenario_hash, b.scenario_hash);
    assert_ne!(a.scenario_hash, c.scenario_hash);
}

#[test]
fn resolved_scenarios_rerun_to_the_same_metrics() {
    // Sync, async, central DP, and a trace file given by a relative path.
    for (file, sets) in [
        ("scenarios/quickstart.yaml", &["stop.rounds=3"][..]),
        ("scenarios/sync_vs_async/fedbuff.yaml", &["stop.virtual_time_s=200"][..]),
        ("scenarios/privacy/dp_client.yaml", &["stop.rounds=4"][..]),
        ("scenarios/availability_trace.yaml", &["stop.virtual_time_s=600"][..]),
    ] {
        let ran = run_file(file, 2, sets);
        assert!(ran.result.summary.rounds > 0, "{file}");
        rerun_resolved(&ran, file);
    }
}

#[test]
fn a_csv_data_set_reruns_from_its_absolute_path() {
    let yaml = "name: csv\ndata: { dataset: csv, csv: { path: heart.csv, label_column: target } }\n\
                clients: { count: 4 }\nstop: { rounds: 3 }\n";
    let base = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/bad_scenarios");
    let ran = run_yaml_in(yaml, 1, &base);
    let resolved = ran.read(RESOLVED_FILE);
    let abs = std::fs::canonicalize(base.join("heart.csv")).unwrap();
    assert!(resolved.contains(&format!("path: {}", abs.display())), "{resolved}");
    rerun_resolved(&ran, "csv");
}
