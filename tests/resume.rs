//! Save and resume: a run interrupted by SIGINT at several points, or
//! resumed from a `--checkpoint-every` checkpoint, leaves `metrics.csv`,
//! `events.jsonl`, `model.json`, `audit.jsonl`, `trace.json`, `clients.csv`,
//! `rounds.csv` and the plots byte-identical to an uninterrupted run;
//! a corrupted or foreign checkpoint is refused with a clear error.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::Duration;

const FEDSIM: &str = env!("CARGO_BIN_EXE_fedsim");
const COMPARED: [&str; 16] = [
    "metrics.csv",
    "events.jsonl",
    "model.json",
    "audit.jsonl",
    "trace.json",
    "clients.csv",
    "rounds.csv",
    "plots/accuracy_time.svg",
    "plots/accuracy_round.svg",
    "plots/loss_time.svg",
    "plots/loss_round.svg",
    "plots/bytes.svg",
    "plots/participation.svg",
    "plots/staleness.svg",
    "plots/timeline.svg",
    "report.html",
];

fn scenario(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios").join(name)
}

/// Dropout and diurnal availability on top of each scenario.
const WORLD: [&str; 4] = [
    "--set",
    "clients.dropout.probability=0.1",
    "--set",
    "clients.availability={kind: diurnal, period_h: 0.02, on_fraction: 0.6}",
];

fn fedsim(args: &[&str]) -> Output {
    Command::new(FEDSIM).args(args).output().expect("fedsim runs")
}

fn run(scenario: &Path, out: &Path, extra: &[&str]) -> Output {
    let mut args = vec!["run", scenario.to_str().unwrap(), "--out", out.to_str().unwrap(), "-q"];
    args.extend_from_slice(&WORLD);
    args.extend_from_slice(extra);
    fedsim(&args)
}

/// `b` holds what `a` holds, byte for byte (and no optional output `a`
/// was told not to write).
fn assert_same(a: &Path, b: &Path, what: &str) {
    for f in COMPARED {
        match (std::fs::read(a.join(f)), std::fs::read(b.join(f))) {
            (Ok(x), Ok(y)) => assert!(x == y, "{what}: {f} differs from the uninterrupted run"),
            (Err(_), Err(_)) => assert!(!f.ends_with(".csv") && f != "events.jsonl", "{what}: no {f}"),
            (x, _) => {
                panic!("{what}: {f} is {} the uninterrupted run", if x.is_ok() { "missing from" } else { "extra to" })
            }
        }
    }
}

fn resume(dir: &Path) -> Output {
    fedsim(&["resume", dir.to_str().unwrap(), "-q"])
}

fn check(file: &str) {
    check_with(file, &[]);
}

/// `extra`: more `--set` arguments for every run.
fn check_with(file: &str, extra: &[&str]) {
    let tmp = tempfile::tempdir().unwrap();
    let reference = tmp.path().join("reference");
    assert!(run(&scenario(file), &reference, extra).status.success());

    // Resumed from a periodic checkpoint (the last one, version 6 or later).
    let periodic = tmp.path().join("periodic");
    let mut args = vec!["--checkpoint-every", "3"];
    args.extend_from_slice(extra);
    assert!(run(&scenario(file), &periodic, &args).status.success());
    // Taken when the model reached a multiple of 3, never in between.
    let (ck, _) = fedsim::checkpoint::read(&periodic).expect("the checkpoint reads back");
    assert!(
        ck.server.version() >= 3 && ck.server.version() % 3 == 0,
        "{file}: checkpoint at version {}",
        ck.server.version()
    );
    // A model version ends its round, and the round's tasks with it: what
    // their clients kept between secure-aggregation phases goes too.
    assert_eq!(
        ck.kernel.secure_memory.len(),
        0,
        "{file}: the checkpoint at version {} keeps the secure memory of ended tasks",
        ck.server.version()
    );
    let out = resume(&periodic);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert_same(&reference, &periodic, &format!("{file} resumed from --checkpoint-every"));

    // Interrupted at several points of a paced run.
    let mut interrupted = 0;
    for (i, wait_ms) in [150u64, 400, 900].into_iter().enumerate() {
        let dir = tmp.path().join(format!("sigint{i}"));
        let mut args = vec!["run", file, "--out", dir.to_str().unwrap(), "-q", "--realtime", "100"];
        args.extend_from_slice(&WORLD);
        args.extend_from_slice(extra);
        let scenario = scenario(file);
        args[1] = scenario.to_str().unwrap();
        let mut child = Command::new(FEDSIM).args(&args).spawn().unwrap();
        std::thread::sleep(Duration::from_millis(wait_ms));
        let _ = Command::new("kill").args(["-INT", &child.id().to_string()]).status();
        let status = child.wait().unwrap();
        if status.code() == Some(130) {
            interrupted += 1;
            let summary = std::fs::read_to_string(dir.join("summary.json")).unwrap();
            assert!(summary.contains("\"stop_reason\": \"interrupted\""), "{summary}");
            // An interrupted folder meets the contract too.
            common::check_run(&dir);
            assert!(!tmp.path().read_dir().unwrap().any(|e| e
                .unwrap()
                .file_name()
                .to_string_lossy()
                .contains("partial")));
            let out = resume(&dir);
            assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        } else {
            assert!(status.success(), "{file}: exit {status:?}");
        }
        assert_same(&reference, &dir, &format!("{file} interrupted after {wait_ms} ms"));
    }
    assert!(interrupted >= 1, "{file}: no SIGINT landed mid-run");
}

#[test]
fn sync_fedavg_resumes_byte_identical() {
    check("dropout.yaml");
}

#[test]
fn fedbuff_resumes_byte_identical() {
    check("sync_vs_async/fedbuff.yaml");
}

#[test]
fn fedasync_resumes_byte_identical() {
    check("sync_vs_async/fedasync.yaml");
}

/// Secure aggregation mid-protocol (keys, shares and masked sums in
/// flight) and DP's accountant and adaptive clip norm are saved whole.
#[test]
fn secure_aggregation_with_dp_resumes_byte_identical() {
    check_with(
        "privacy/secagg_dropout.yaml",
        &["--set", "privacy.dp={clip_norm: 2.0, noise_multiplier: 0.5, clip: {target_quantile: 0.5}}"],
    );
}

/// FedBuff's buffer is the noised sum; its accounting and error-feedback
/// residuals of compressed updates survive a resume.
#[test]
fn fedbuff_with_dp_and_compression_resumes_byte_identical() {
    check_with(
        "sync_vs_async/fedbuff.yaml",
        &[
            "--set",
            "privacy.dp={clip_norm: 1.0, noise_multiplier: 0.8}",
            "--set",
            "compression={kind: topk, ratio: 0.2, error_feedback: true}",
        ],
    );
}

/// Optimiser state kept across a client's tasks (`keep_state`) is saved
/// whole: Adam's moments on the report path, momentum's velocity under
/// secure aggregation (kept when the client advertises its keys).
#[test]
fn kept_optimizer_state_resumes_byte_identical() {
    check_with(
        "dropout.yaml",
        &["--set", "training.optimizer={kind: adam, keep_state: true}", "--set", "training.learning_rate=0.01"],
    );
    check_with("privacy/secagg_dropout.yaml", &["--set", "training.optimizer={kind: momentum, keep_state: true}"]);
}

/// Byzantine clients: ALIE's held updates of an open round and the
/// Gaussian attack's draws are saved whole.
#[test]
fn byzantine_attacks_resume_byte_identical() {
    check_with("dropout.yaml", &["--set", "clients.byzantine={fraction: 0.3, attack: {kind: alie}}"]);
    check_with(
        "sync_vs_async/fedbuff.yaml",
        &["--set", "clients.byzantine={fraction: 0.2, attack: {kind: gaussian, std: 0.5}}"],
    );
}

/// Scheduled faults: a server outage (the server's down state and the
/// restarted round), a partition and a slow link, across checkpoints.
#[test]
fn faults_resume_byte_identical() {
    check_with(
        "dropout.yaml",
        &[
            "--set",
            "faults=[{kind: server_down, at_s: 2, duration_s: 3}, {kind: partition, at_s: 6, duration_s: 4, \
             fraction: 0.3}, {kind: slow_link, at_s: 1, duration_s: 20, factor: 3, fraction: 0.5}]",
        ],
    );
}

/// Transfers sharing the server's link (`server.network`): what each has
/// left to send, and when the link next frees a share, are saved whole.
#[test]
fn server_link_transfers_resume_byte_identical() {
    check_with("dropout.yaml", &["--set", "server.network={up_mbps: 2, down_mbps: 2}"]);
}

/// With the optional outputs switched off, a resumed run still writes
/// only the contract's files, the same bytes.
#[test]
fn a_run_without_optional_outputs_resumes_byte_identical() {
    check_with(
        "sync_vs_async/fedasync.yaml",
        &["--set", "output={trace: false, audit: false, plots: false, report: false}"],
    );
}

#[test]
fn corrupted_and_foreign_checkpoints_are_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let (a, b) = (tmp.path().join("a"), tmp.path().join("b"));
    assert!(run(&scenario("dropout.yaml"), &a, &["--checkpoint-every", "5"]).status.success());
    assert!(run(&scenario("quickstart.yaml"), &b, &["--checkpoint-every", "1"]).status.success());

    // Another scenario's checkpoint.
    std::fs::copy(a.join("checkpoint.bin"), b.join("checkpoint.bin")).unwrap();
    let out = resume(&b);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains("belongs to another scenario") && err.contains("checkpoint.bin"), "{err}");

    // A flipped byte in the body.
    let path = a.join("checkpoint.bin");
    let mut bytes = std::fs::read(&path).unwrap();
    let last = bytes.len() - 1;
    bytes[last] ^= 0x40;
    std::fs::write(&path, &bytes).unwrap();
    let out = resume(&a);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains("corrupted"), "{err}");

    // Not a checkpoint at all, and none there.
    std::fs::write(&path, b"hello").unwrap();
    assert!(String::from_utf8_lossy(&resume(&a).stderr).contains("not a fedsim checkpoint"));
    std::fs::remove_file(&path).unwrap();
    assert!(String::from_utf8_lossy(&resume(&a).stderr).contains("cannot read"));
    // The refused folders are untouched.
    assert!(a.join("events.jsonl").exists() && b.join("metrics.csv").exists());
}

#[test]
fn same_instant_reports_are_checkpointed_one_model_version_at_a_time() {
    // Four identical clients on constant links with equal shards: every
    // report of a wave arrives at one instant, and each advances the model.
    let tmp = tempfile::tempdir().unwrap();
    let file = tmp.path().join("waves.yaml");
    std::fs::write(
        &file,
        "name: waves\nseed: 3\ndata: { dataset: iris, test_fraction: 0.2, partition: { kind: iid } }\n\
         clients:\n  count: 4\n  profiles:\n    - name: twin\n      share: 1.0\n      compute: { samples_per_s: 100 }\n      \
         network: { latency: { dist: constant, ms: 20 }, up_mbps: 10, down_mbps: 10 }\n\
         model: { kind: softmax_regression }\ntraining: { local_epochs: 1, batch_size: 8, learning_rate: 0.1 }\n\
         strategy: { kind: fedasync, concurrency: 4, mixing: 0.5 }\nstop: { rounds: 11 }\n",
    )
    .unwrap();
    let out = tmp.path().join("run");
    let o = fedsim(&["run", file.to_str().unwrap(), "--out", out.to_str().unwrap(), "-q", "--checkpoint-every", "3"]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let log = std::fs::read_to_string(out.join("events.jsonl")).unwrap();
    let events = log.lines().map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap());
    let times: Vec<f64> = events.filter(|e| e["kind"] == "report").map(|e| e["t"].as_f64().unwrap()).collect();
    assert!(times.windows(2).filter(|w| w[0] == w[1]).count() >= 8, "the reports share instants: {times:?}");
    // Versions 9 and 10 come from one instant; the last checkpoint is at 9.
    let (ck, _) = fedsim::checkpoint::read(&out).expect("the checkpoint reads back");
    assert_eq!(ck.server.version(), 9);
}

/// A resumed run takes checkpoints of its own (here one per version), and
/// each counts the bytes of the logs written before the resume too: a
/// second resume, from the last of them, still gives the uninterrupted
/// run's files byte for byte.
#[test]
fn a_resumed_run_can_be_resumed_again() {
    let tmp = tempfile::tempdir().unwrap();
    let reference = tmp.path().join("reference");
    assert!(run(&scenario("dropout.yaml"), &reference, &[]).status.success());
    let dir = tmp.path().join("twice");
    let o = run(&scenario("dropout.yaml"), &dir, &["--checkpoint-every", "25"]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let first = fedsim::checkpoint::read(&dir).expect("the first checkpoint reads back").0.server.version();
    assert_eq!(first, 25);
    let o = fedsim(&["resume", dir.to_str().unwrap(), "-q", "--checkpoint-every", "1"]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let second = fedsim::checkpoint::read(&dir).expect("the resumed run's checkpoint reads back").0.server.version();
    assert!(second > first, "the resumed run took no checkpoint of its own: {second}");
    assert_same(&reference, &dir, "resumed once");
    let o = resume(&dir);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert_same(&reference, &dir, "resumed from a resumed run's checkpoint");
}
