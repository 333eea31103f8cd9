//! The `fedsim` binary end to end: runs, validates, and refuses bad input
//! with a located message, no panic and no output folder.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn fedsim(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_fedsim")).args(args).current_dir(env!("CARGO_MANIFEST_DIR")).output().unwrap()
}

fn manifest(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(rel)
}

/// `# expect: KEY line N` in a bad scenario's header.
fn expectation(text: &str) -> Option<(String, usize)> {
    let line = text.lines().find_map(|l| l.trim_start_matches('#').trim().strip_prefix("expect:"))?;
    let mut parts = line.split_whitespace();
    let key = parts.next()?.to_string();
    let n = parts.skip_while(|&w| w != "line").nth(1)?.parse().ok()?;
    Some((key, n))
}

#[test]
fn bad_scenarios_fail_with_a_located_message_and_leave_nothing() {
    let dir = manifest("tests/bad_scenarios");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "yaml"))
        .collect();
    files.sort();
    assert!(files.len() >= 15, "only {} bad scenarios", files.len());
    for file in files {
        let text = std::fs::read_to_string(&file).unwrap();
        let tmp = tempfile::tempdir().unwrap();
        let out = tmp.path().join("run");
        let o = fedsim(&["run", file.to_str().unwrap(), "--out", out.to_str().unwrap(), "--quiet"]);
        let stderr = String::from_utf8_lossy(&o.stderr);
        let name = file.file_name().unwrap().to_string_lossy();
        assert!(!o.status.success(), "{name}: accepted");
        assert_ne!(o.status.code(), Some(101), "{name}: panicked: {stderr}");
        assert!(!stderr.contains("panicked"), "{name}: {stderr}");
        assert!(stderr.contains(&*name), "{name}: message does not name the file: {stderr}");
        if let Some((key, line)) = expectation(&text) {
            assert!(stderr.contains(&key), "{name}: message does not name `{key}`: {stderr}");
            assert!(stderr.contains(&format!(":{line}:")), "{name}: message does not give line {line}: {stderr}");
        }
        assert_eq!(std::fs::read_dir(tmp.path()).unwrap().count(), 0, "{name}: left files behind");
        // `validate` agrees.
        let v = fedsim(&["validate", file.to_str().unwrap()]);
        assert!(!v.status.success() && v.status.code() != Some(101), "{name}: validate");
    }
}

#[test]
fn run_prints_the_report_and_writes_a_folder_that_meets_the_contract() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("q");
    let o = fedsim(&[
        "run",
        "scenarios/quickstart.yaml",
        "--out",
        out.to_str().unwrap(),
        "--set",
        "stop.rounds=3",
        "--threads",
        "2",
    ]);
    let stdout = String::from_utf8_lossy(&o.stdout);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert!(stdout.contains("precision") && stdout.contains("f1-score") && stdout.contains("macro avg"), "{stdout}");
    for f in ["metrics.csv", "summary.json", "events.jsonl"] {
        assert!(out.join(f).exists(), "{f} missing");
    }
    let summary: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("summary.json")).unwrap()).unwrap();
    assert_eq!(summary["rounds"], 3);
    common::check_run(&out);
}

#[test]
fn validate_accepts_every_shipped_scenario() {
    let mut files = vec![];
    for dir in ["scenarios", "scenarios/bench", "scenarios/labs"] {
        for e in std::fs::read_dir(manifest(dir)).unwrap() {
            let p = e.unwrap().path();
            if p.extension().is_some_and(|e| e == "yaml") {
                files.push(p.to_string_lossy().into_owned());
            }
        }
    }
    assert!(files.len() >= 8);
    let mut args = vec!["validate"];
    args.extend(files.iter().map(String::as_str));
    let o = fedsim(&args);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
}

#[test]
fn a_bad_override_is_named() {
    let o = fedsim(&["run", "scenarios/quickstart.yaml", "--set", "clients.dropout.probability=2", "--quiet"]);
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert!(!o.status.success() && o.status.code() != Some(101));
    assert!(stderr.contains("clients.dropout.probability"), "{stderr}");
}

#[test]
fn a_bad_csv_row_fails_at_run_time_with_its_line_and_leaves_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    std::fs::write(tmp.path().join("d.csv"), "a,b,label\n1,2,0\n3,x,1\n5,6,0\n7,8,1\n").unwrap();
    let scenario = tmp.path().join("s.yaml");
    std::fs::write(
        &scenario,
        "name: badcsv\ndata: { dataset: csv, csv: { path: d.csv, label_column: label } }\nclients: { count: 2 }\n",
    )
    .unwrap();
    let out = tmp.path().join("runs/badcsv");
    let o = fedsim(&["run", scenario.to_str().unwrap(), "--out", out.to_str().unwrap()]);
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert!(!o.status.success() && o.status.code() != Some(101), "{stderr}");
    assert!(stderr.contains("d.csv:3: column 2 `b`: `x`"), "{stderr}");
    assert_eq!(stderr.matches("d.csv:3").count(), 1, "said twice: {stderr}");
    assert!(!tmp.path().join("runs").exists() || std::fs::read_dir(tmp.path().join("runs")).unwrap().count() == 0);
}

#[test]
fn the_default_run_folder_is_runs_slash_name() {
    let tmp = tempfile::tempdir().unwrap();
    let scenario = manifest("scenarios/quickstart.yaml");
    let o = Command::new(env!("CARGO_BIN_EXE_fedsim"))
        .args(["run", scenario.to_str().unwrap(), "--set", "stop.rounds=1", "--quiet"])
        .current_dir(tmp.path())
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert!(tmp.path().join("runs/quickstart/metrics.csv").exists());
}

/// Devices on which nothing takes time, bounded by virtual time only.
const INSTANT: &str = "name: NAME\ndata: { dataset: iris }\nclients:\n  count: 4\n  profiles:\n    - { name: p, share: 1.0, compute: { samples_per_s: .inf }, network: { latency: { dist: constant, ms: 0 }, up_mbps: .inf, down_mbps: .inf } }\nstop: { virtual_time_s: 10 }\n";

#[test]
fn a_run_whose_clock_cannot_move_stops_with_an_error_instead_of_hanging() {
    let tmp = tempfile::tempdir().unwrap();
    let scenario = tmp.path().join("zero.yaml");
    // Instant devices: tasks take no time, and only virtual time bounds the
    // run (validation cannot tell: the profile looks like any other).
    // Sync rounds, and an async pool of one whose reports come one by one.
    for strategy in ["", "strategy: { kind: fedasync, concurrency: 1 }\n"] {
        std::fs::write(&scenario, INSTANT.replace("NAME", "zero") + strategy).unwrap();
        let out = tmp.path().join("run");
        let o = fedsim(&["run", scenario.to_str().unwrap(), "--out", out.to_str().unwrap(), "--quiet"]);
        let stderr = String::from_utf8_lossy(&o.stderr);
        assert!(!o.status.success() && o.status.code() != Some(101), "{strategy}{stderr}");
        assert!(stderr.contains("virtual time stopped advancing") && stderr.contains("stop.rounds"), "{stderr}");
        // It stops at the first delivery past the limit of a million at
        // one instant, every report of a same-instant batch counted.
        assert!(stderr.contains(": 1000001 messages at that instant"), "{stderr}");
        assert_eq!(std::fs::read_dir(tmp.path()).unwrap().count(), 1, "left files behind");
    }
}

#[test]
fn an_interrupted_run_leaves_a_whole_resumable_folder_and_no_half_one() {
    let tmp = tempfile::tempdir().unwrap();
    let scenario = tmp.path().join("long.yaml");
    // About two seconds of work before the stall check ends it.
    std::fs::write(&scenario, INSTANT.replace("NAME", "long")).unwrap();
    let out = tmp.path().join("run");
    let mut child = Command::new(env!("CARGO_BIN_EXE_fedsim"))
        .args(["run", scenario.to_str().unwrap(), "--out", out.to_str().unwrap(), "--quiet"])
        .spawn()
        .unwrap();
    // Wait until the run has started writing, then interrupt it.
    let started = std::time::Instant::now();
    while std::fs::read_dir(tmp.path()).unwrap().count() < 2 && started.elapsed().as_secs() < 10 {
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    std::thread::sleep(std::time::Duration::from_millis(200));
    Command::new("kill").args(["-TERM", &child.id().to_string()]).status().unwrap();
    let status = child.wait().unwrap();
    assert_eq!(status.code(), Some(130), "{status:?}");
    let mut left: Vec<_> = std::fs::read_dir(tmp.path()).unwrap().map(|e| e.unwrap().file_name()).collect();
    left.sort();
    assert_eq!(left, vec![std::ffi::OsString::from("long.yaml"), std::ffi::OsString::from("run")]);
    for f in ["checkpoint.bin", "scenario.yaml", "events.jsonl", "metrics.csv", "model.json"] {
        assert!(out.join(f).exists(), "{f} missing");
    }
    let summary = std::fs::read_to_string(out.join("summary.json")).unwrap();
    assert!(summary.contains("\"stop_reason\": \"interrupted\""), "{summary}");
}

#[test]
fn schema_prints_the_shipped_json_schema() {
    let o = fedsim(&["schema"]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let printed: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let shipped: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/docs/scenario.schema.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(printed, shipped);
    assert!(printed["properties"]["server"].is_object(), "the schema knows the server key");
}

/// metrics.csv accounts for every dispatch, report, drop and late task in
/// events.jsonl, whatever stopped the run (here virtual time, mid-round),
/// and its rounds strictly increase.
#[test]
fn the_metrics_rows_account_for_every_event_when_time_runs_out() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("q");
    let scenario = concat!(env!("CARGO_MANIFEST_DIR"), "/scenarios/quickstart.yaml");
    let o = fedsim(&["run", scenario, "--out", out.to_str().unwrap(), "-q", "--set", "stop={virtual_time_s: 20}"]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let events = std::fs::read_to_string(out.join("events.jsonl")).unwrap();
    let count = |kind: &str| events.matches(&format!("\"kind\":\"{kind}\"")).count() as u64;
    let metrics = std::fs::read_to_string(out.join("metrics.csv")).unwrap();
    let rows: Vec<Vec<u64>> = metrics
        .lines()
        .skip(1)
        .map(|l| {
            l.split(',')
                .enumerate()
                .filter(|(i, _)| [0, 5, 6, 7, 12].contains(i))
                .map(|(_, v)| v.parse().unwrap())
                .collect()
        })
        .collect();
    let sum = |col: usize| rows.iter().map(|r| r[col]).sum::<u64>();
    assert!(count("dispatch") > 0 && count("late") + count("drop") + count("report") <= count("dispatch"));
    assert_eq!(sum(1), count("dispatch"), "clients_selected");
    assert_eq!(sum(2), count("report"), "clients_completed");
    assert_eq!(sum(3), count("drop"), "clients_dropped");
    assert_eq!(sum(4), count("late"), "clients_late");
    assert!(rows.windows(2).all(|w| w[0][0] < w[1][0]), "rounds strictly increase");
    assert!(String::from_utf8_lossy(&std::fs::read(out.join("summary.json")).unwrap()).contains("\"virtual_time\""));
}
