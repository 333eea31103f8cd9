//! `fedsim compare` and `fedsim sweep` end to end on small scenarios.

use std::path::Path;
use std::process::{Command, Output};

fn fedsim(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_fedsim")).args(args).current_dir(env!("CARGO_MANIFEST_DIR")).output().unwrap()
}

fn ok(o: &Output) -> String {
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    String::from_utf8_lossy(&o.stdout).into_owned()
}

#[test]
fn compare_runs_every_scenario_and_writes_a_table_a_csv_and_a_plot() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("cmp");
    let files =
        ["fedavg", "fedavg_deadline", "fedasync", "fedbuff"].map(|f| format!("scenarios/sync_vs_async/{f}.yaml"));
    let mut args = vec!["compare"];
    args.extend(files.iter().map(String::as_str));
    args.extend(["--target", "0.9", "--out", out.to_str().unwrap()]);
    let stdout = ok(&fedsim(&args));
    for header in [
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
    ] {
        assert!(stdout.contains(header), "table lacks {header}: {stdout}");
    }
    let csv = std::fs::read_to_string(out.join("compare.csv")).unwrap();
    let lines: Vec<&str> = csv.lines().collect();
    assert_eq!(lines.len(), 5, "{csv}");
    assert!(lines[0].starts_with("scenario,strategy,final_accuracy,rounds,virtual_time_s,time_to_target_s"));
    assert!(lines[0].ends_with(",clients_late,clients_dropped,max_staleness,error"), "{}", lines[0]);
    assert!(lines[4].starts_with("sva_fedbuff,fedbuff,"));
    // --target 0.9 is used for time to target: every run reached it.
    for l in &lines[1..] {
        assert!(!l.split(',').nth(5).unwrap().is_empty(), "no time to target in {l}");
    }
    let svg = std::fs::read_to_string(out.join("accuracy.svg")).unwrap();
    assert!(svg.starts_with("<svg") && svg.contains("sva_fedbuff (fedbuff)") && svg.contains("target"));
    for name in ["sva_fedavg", "sva_fedavg_deadline", "sva_fedasync", "sva_fedbuff"] {
        assert!(out.join(name).join("summary.json").exists(), "{name} run folder");
    }
}

#[test]
fn sweep_of_two_strategies_by_three_seeds_gives_six_runs_and_two_rows() {
    let tmp = tempfile::tempdir().unwrap();
    let scenario = tmp.path().join("sweep.yaml");
    std::fs::write(
        &scenario,
        r#"
name: small-sweep
data: { dataset: iris }
clients:
  count: 6
  profiles:
    - { name: p, share: 1.0, compute: { samples_per_s: 50, jitter: { dist: exponential, mean_ms: 200 } }, network: { latency: { dist: constant, ms: 10 }, up_mbps: 1, down_mbps: 1 } }
model: { kind: softmax_regression }
strategy: { kind: fedavg, clients_per_round: 4, concurrency: 4, buffer_size: 2 }
stop: { rounds: 5 }
sweep:
  strategy.kind: [fedavg, fedbuff]
  seed: [1, 2, 3]
"#,
    )
    .unwrap();
    let out = tmp.path().join("sw");
    ok(&fedsim(&["sweep", scenario.to_str().unwrap(), "--jobs", "2", "--out", out.to_str().unwrap()]));
    let runs: Vec<_> = std::fs::read_dir(&out).unwrap().filter_map(|e| e.ok()).filter(|e| e.path().is_dir()).collect();
    assert_eq!(runs.len(), 6);
    assert!(Path::new(&out.join("strategy.kind=fedbuff,seed=3")).join("metrics.csv").exists());
    let csv = std::fs::read_to_string(out.join("sweep.csv")).unwrap();
    let lines: Vec<&str> = csv.lines().collect();
    assert_eq!(lines.len(), 3, "{csv}");
    assert!(lines[0].starts_with("strategy.kind,runs,accuracy_mean,accuracy_std,"), "{}", lines[0]);
    assert!(lines[1].starts_with("fedavg,3,") && lines[2].starts_with("fedbuff,3,"));
    // The deviation over seeds is a real one: the seeds give different runs.
    let std: f64 = lines[1].split(',').nth(3).unwrap().parse().unwrap();
    let vt_std: f64 = lines[1].split(',').nth(5).unwrap().parse().unwrap();
    assert!(std > 0.0 || vt_std > 0.0, "{csv}");
    // Same sweep, one job: identical tables.
    let out1 = tmp.path().join("sw1");
    ok(&fedsim(&["sweep", scenario.to_str().unwrap(), "--jobs", "1", "--out", out1.to_str().unwrap()]));
    assert_eq!(csv, std::fs::read_to_string(out1.join("sweep.csv")).unwrap());
}

#[test]
fn sweep_without_a_sweep_map_is_an_error() {
    let o = fedsim(&["sweep", "scenarios/quickstart.yaml", "--out", "/nonexistent/x"]);
    assert!(!o.status.success() && o.status.code() != Some(101));
    assert!(String::from_utf8_lossy(&o.stderr).contains("sweep"));
}

/// A sweep of the noise multiplier shows epsilon, accuracy and the
/// attack's advantage side by side.
#[test]
fn a_noise_sweep_tabulates_epsilon_accuracy_and_leakage() {
    let tmp = tempfile::tempdir().unwrap();
    let scenario = tmp.path().join("noise.yaml");
    std::fs::write(
        &scenario,
        "name: noise\ndata: { dataset: digits }\nclients: { count: 50 }\nmodel: { kind: softmax_regression }\n\
         strategy: { kind: fedavg, clients_per_round: 10, selection: poisson }\n\
         privacy: { dp: { clip_norm: 1.0, noise_multiplier: 1.0 } }\nstop: { rounds: 10 }\n\
         evaluation: { every_rounds: 5 }\nsweep: { privacy.dp.noise_multiplier: [0.5, 4.0] }\n",
    )
    .unwrap();
    let out = tmp.path().join("out");
    ok(&fedsim(&["sweep", scenario.to_str().unwrap(), "--jobs", "2", "--out", out.to_str().unwrap()]));
    let csv = std::fs::read_to_string(out.join("sweep.csv")).unwrap();
    let mut lines = csv.lines();
    let header: Vec<&str> = lines.next().unwrap().split(',').collect();
    let col = |name: &str| header.iter().position(|h| *h == name).unwrap();
    let rows: Vec<Vec<&str>> = lines.map(|l| l.split(',').collect()).collect();
    assert_eq!(rows.len(), 2);
    let eps: Vec<f64> = rows.iter().map(|r| r[col("epsilon_mean")].parse().unwrap()).collect();
    assert!(eps[0] > 4.0 * eps[1], "more noise, less epsilon: {eps:?}");
    for r in &rows {
        let adv: f64 = r[col("attack_advantage_mean")].parse().unwrap();
        let auc: f64 = r[col("attack_auc_mean")].parse().unwrap();
        assert!((0.0..=1.0).contains(&adv) && (0.0..=1.0).contains(&auc));
    }
}

/// A small scenario in `dir` whose availability trace is `trace` (a
/// malformed trace loads, and fails only when the run reads it).
fn member(dir: &Path, name: &str, trace: &str) -> String {
    std::fs::write(dir.join(format!("{name}.csv")), trace).unwrap();
    let path = dir.join(format!("{name}.yaml"));
    std::fs::write(
        &path,
        format!(
            "name: {name}\nseed: 3\ndata: {{ dataset: iris }}\nclients:\n  count: 3\n  availability: {{ kind: trace, \
             path: {name}.csv }}\nstop: {{ rounds: 2 }}\nsweep: {{ seed: [1, 2] }}\n"
        ),
    )
    .unwrap();
    path.to_str().unwrap().to_string()
}

const GOOD_TRACE: &str = "client,start_s,end_s\n0,0,3600\n";
const BAD_TRACE: &str = "client,start_s,end_s\n0,soon,3600\n";

/// Hidden staging folders left anywhere under `dir`.
fn partial_folders(dir: &Path) -> Vec<String> {
    let mut found = Vec::new();
    for e in std::fs::read_dir(dir).unwrap().flatten() {
        let name = e.file_name().to_string_lossy().into_owned();
        if name.contains(".partial") {
            found.push(name);
        } else if e.path().is_dir() {
            found.extend(partial_folders(&e.path()));
        }
    }
    found
}

#[test]
fn a_compare_with_a_failing_member_is_written_whole_with_the_failure_listed() {
    let tmp = tempfile::tempdir().unwrap();
    let good = member(tmp.path(), "good", GOOD_TRACE);
    let bad = member(tmp.path(), "bad", BAD_TRACE);
    let out = tmp.path().join("cmp");
    let o = fedsim(&["compare", &good, &bad, "--out", out.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(1), "{}", String::from_utf8_lossy(&o.stderr));
    let stdout = String::from_utf8_lossy(&o.stdout);
    assert!(stdout.contains("failed: "), "{stdout}");
    let csv = std::fs::read_to_string(out.join("compare.csv")).unwrap();
    let lines: Vec<&str> = csv.lines().collect();
    assert_eq!(lines.len(), 3, "{csv}");
    assert!(lines[0].ends_with(",max_staleness,error"), "{csv}");
    // The member that ran has figures and no error; the other only its error.
    assert!(lines[1].starts_with("good,fedavg,") && lines[1].ends_with(','), "{csv}");
    assert!(lines[2].starts_with("bad,fedavg,,,"), "{csv}");
    assert!(lines[2].contains("clients.availability trace"), "{csv}");
    let error = std::fs::read_to_string(out.join("bad/error.txt")).unwrap();
    assert!(error.contains("bad.csv:2"), "{error}");
    assert!(out.join("good/summary.json").is_file());
    assert!(out.join("report.html").is_file() && out.join("accuracy.svg").is_file());
    assert!(!out.join(".fedsim-owner").exists());
    assert_eq!(partial_folders(tmp.path()), Vec::<String>::new());
}

#[test]
fn fail_fast_writes_nothing_and_keeps_an_earlier_group() {
    let tmp = tempfile::tempdir().unwrap();
    let good = member(tmp.path(), "good", GOOD_TRACE);
    let bad = member(tmp.path(), "bad", BAD_TRACE);
    let out = tmp.path().join("cmp");
    let o = fedsim(&["compare", &good, &bad, "--out", out.to_str().unwrap(), "--fail-fast", "--jobs", "1"]);
    assert_eq!(o.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert!(stderr.contains("bad: ") && stderr.contains("--fail-fast: nothing written"), "{stderr}");
    assert!(!out.exists());
    assert_eq!(partial_folders(tmp.path()), Vec::<String>::new());
    // A group written before stays as it was.
    ok(&fedsim(&["compare", &good, "--out", out.to_str().unwrap()]));
    let before = std::fs::read_to_string(out.join("compare.csv")).unwrap();
    let o = fedsim(&["compare", &good, &bad, "--out", out.to_str().unwrap(), "--fail-fast"]);
    assert_eq!(o.status.code(), Some(2));
    assert_eq!(std::fs::read_to_string(out.join("compare.csv")).unwrap(), before);
    assert!(!out.join("bad").exists());
}

#[test]
fn a_sweep_with_a_failing_combination_counts_it_apart_from_the_means() {
    let tmp = tempfile::tempdir().unwrap();
    member(tmp.path(), "bad", BAD_TRACE);
    let scenario = member(tmp.path(), "good", GOOD_TRACE);
    // The sweep's second trace is the malformed one.
    let text = std::fs::read_to_string(&scenario)
        .unwrap()
        .replace("sweep: { seed: [1, 2] }", "sweep: { clients.availability.path: [good.csv, bad.csv], seed: [1, 2] }");
    std::fs::write(&scenario, text).unwrap();
    let out = tmp.path().join("sw");
    let o = fedsim(&["sweep", &scenario, "--out", out.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(1), "{}", String::from_utf8_lossy(&o.stderr));
    let sweep = std::fs::read_to_string(out.join("sweep.csv")).unwrap();
    let lines: Vec<&str> = sweep.lines().collect();
    assert!(lines[0].ends_with(",failed"), "{sweep}");
    assert!(lines[1].starts_with("good.csv,2,") && lines[1].ends_with(",0"), "{sweep}");
    // Nothing ran: no figures, never a NaN.
    assert_eq!(lines[2], format!("bad.csv,0,{}2", ",".repeat(14)), "{sweep}");
    assert!(!sweep.contains("NaN"));
    let runs = std::fs::read_to_string(out.join("sweep_runs.csv")).unwrap();
    assert_eq!(runs.lines().filter(|l| l.contains("clients.availability trace")).count(), 2, "{runs}");
    assert_eq!(partial_folders(tmp.path()), Vec::<String>::new());
}

#[test]
fn a_later_run_removes_staging_folders_of_dead_processes() {
    let tmp = tempfile::tempdir().unwrap();
    let mut child = Command::new("true").spawn().unwrap();
    let dead = child.id();
    child.wait().unwrap();
    let stale = tmp.path().join(format!(".killed.partial-{dead}"));
    std::fs::create_dir_all(&stale).unwrap();
    std::fs::write(stale.join("events.jsonl"), "{}\n").unwrap();
    let good = member(tmp.path(), "good", GOOD_TRACE);
    ok(&fedsim(&["run", &good, "--quiet", "--out", tmp.path().join("run").to_str().unwrap()]));
    assert!(!stale.exists());
    assert_eq!(partial_folders(tmp.path()), Vec::<String>::new());
}
