//! One scenario and seed give the same bytes, whatever the thread count;
//! another seed gives other events.

mod common;
use common::run_file;

const SETS: &[&str] = &["stop.rounds=6", "clients.dropout.probability=0.1"];

#[test]
fn same_seed_same_bytes_any_thread_count() {
    let a = run_file("scenarios/stragglers.yaml", 1, SETS);
    let b = run_file("scenarios/stragglers.yaml", 1, SETS);
    let c = run_file("scenarios/stragglers.yaml", 2, SETS);
    for name in ["metrics.csv", "events.jsonl"] {
        assert_eq!(a.read(name), b.read(name), "{name} differs between two runs");
        assert_eq!(a.read(name), c.read(name), "{name} differs between --threads 1 and 2");
    }
    assert!(!a.events_of("drop").is_empty(), "the scenario should exercise dropout");
}

#[test]
fn another_seed_gives_other_events() {
    let a = run_file("scenarios/stragglers.yaml", 2, SETS);
    let mut sets = SETS.to_vec();
    sets.push("seed=12345");
    let b = run_file("scenarios/stragglers.yaml", 2, &sets);
    assert_ne!(a.read("events.jsonl"), b.read("events.jsonl"));
}

#[test]
fn pacing_against_the_wall_clock_changes_nothing() {
    use fedsim::run::{run, RunOptions};
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios/quickstart.yaml");
    let scenario = fedsim::scenario::load_file(&path, &["stop.rounds=2".parse().unwrap()]).unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let go = |dir: &str, realtime: Option<f64>| {
        let opts = RunOptions { out: Some(tmp.path().join(dir)), threads: 1, realtime, ..RunOptions::default() };
        run(&scenario, &opts, &mut |_| {}).unwrap();
        std::fs::read_to_string(tmp.path().join(dir).join("events.jsonl")).unwrap()
    };
    // Two rounds of about a second of virtual time, at 1000x: a few ms of waiting.
    assert_eq!(go("fast", None), go("paced", Some(1000.0)));
}

/// Optimiser state kept per client across its tasks (held by the kernel,
/// filled into each job) does not depend on the thread count either, with
/// sync rounds or an async pool.
#[test]
fn kept_optimizer_state_is_thread_independent() {
    for kind in ["strategy.kind=fedavg", "strategy.kind=fedbuff"] {
        let mut sets = SETS.to_vec();
        sets.extend(["training.optimizer={kind: adam, keep_state: true}", "training.learning_rate=0.01", kind]);
        let a = run_file("scenarios/stragglers.yaml", 1, &sets);
        let b = run_file("scenarios/stragglers.yaml", 2, &sets);
        assert_eq!(a.read("metrics.csv"), b.read("metrics.csv"), "{kind}: metrics differ between --threads 1 and 2");
        assert_eq!(a.read("model.json"), b.read("model.json"), "{kind}: models differ between --threads 1 and 2");
        let at = sets.iter().position(|s| s.contains("keep_state")).unwrap();
        sets[at] = "training.optimizer={kind: adam}";
        let reset = run_file("scenarios/stragglers.yaml", 2, &sets);
        assert_ne!(a.read("model.json"), reset.read("model.json"), "{kind}: keep_state changed nothing");
    }
}

/// `summary.json`'s `messages` counts every delivery: on instant links a
/// task is three (the model's arrival, the training timer, the update's
/// arrival), plus the server's start. A sync round's reports reach the
/// server in one actor call, and each still counts.
#[test]
fn every_delivery_is_counted_once() {
    for threads in [1, 2] {
        let ran = run_file("scenarios/bench/parity_N10.yaml", threads, &[]);
        let tasks = ran.events_of("dispatch").len() as u64;
        assert_eq!(tasks, 500);
        assert_eq!(ran.result.summary.messages, 3 * tasks + 1);
    }
}
