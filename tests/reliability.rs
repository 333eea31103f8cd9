//! Runs that cannot go on stop cleanly and say why: a diverging model
//! (`diverged`), a federation that can make no progress (`exhausted`), a
//! clock that would overflow (an error naming the key). Whatever stops a
//! run, its folder meets the contract (`../shared/tools/check-run`) and no
//! output file holds NaN or Infinity.

mod common;

use common::{check_run, run_file, run_yaml, run_yaml_in, Ran};
use fedsim::run::{run, RunError, RunOptions};
use fedsim::scenario::load_str;
use std::path::Path;
use std::process::Command;

/// Asserts no file of the run folder holds a non-finite number.
fn all_finite(ran: &Ran) {
    let bad = |x: &str| {
        let x = x.trim().trim_start_matches('-').to_ascii_lowercase();
        x == "nan" || x.starts_with("inf")
    };
    for f in ["metrics.csv", "rounds.csv", "clients.csv"] {
        for line in ran.read(f).lines() {
            assert!(!line.split(',').any(bad), "{f}: {line}");
        }
    }
    // JSON: a bare NaN or Infinity token (not inside a string).
    for f in ["summary.json", "events.jsonl", "trace.json", "audit.jsonl", "model.json"] {
        let text = ran.read(f);
        for token in text.split([':', ',', '[', '{', '}', ']', '\n']) {
            assert!(!bad(token), "{f} holds {token}");
        }
    }
    let model: serde_json::Value = serde_json::from_str(&ran.read("model.json")).unwrap();
    assert!(model["parameters"].as_array().unwrap().iter().all(|x| x.as_f64().is_some_and(f64::is_finite)));
}

/// A small sync scenario on digits with real devices; `extra` is appended.
fn base(extra: &str) -> String {
    format!(
        r#"
name: reliability
seed: 5
data: {{ dataset: digits, test_fraction: 0.2, partition: {{ kind: iid }} }}
clients:
  count: 12
  profiles:
    - name: phone
      share: 1.0
      compute: {{ samples_per_s: 200 }}
      network: {{ latency: {{ dist: constant, ms: 30 }}, up_mbps: 5, down_mbps: 20 }}
model: {{ kind: softmax_regression }}
training: {{ local_epochs: 1, batch_size: 16, learning_rate: 0.1 }}
{extra}
"#
    )
}

/// The metrics rows count every dispatch and drop of the log.
fn rows_count_every_task(ran: &Ran) {
    let rows = &ran.result.rows;
    assert_eq!(rows[0].round, 0);
    assert_eq!(rows[0].virtual_time.as_nanos(), 0);
    let selected: u64 = rows.iter().map(|r| r.clients_selected).sum();
    assert_eq!(selected as usize, ran.events_of("dispatch").len());
    let late: u64 = rows.iter().map(|r| r.clients_late).sum();
    assert_eq!(late as usize, ran.events_of("late").len());
}

#[test]
fn a_virtual_time_stop_mid_round_closes_the_round_and_counts_its_tasks() {
    // Each task takes 0.06 s of latency and ~0.6 s of training: a stop at
    // 2.5 s falls inside the fourth round; one at 0.3 s inside the first,
    // before any aggregation.
    for stop in [2.5, 0.3] {
        let yaml =
            base(&format!("strategy: {{ kind: fedavg, clients_per_round: 4 }}\nstop: {{ virtual_time_s: {stop} }}\n"));
        let ran = run_yaml(&yaml, 1);
        assert_eq!(ran.result.summary.stop_reason, "virtual_time");
        let last = ran.result.rows.last().unwrap();
        assert_eq!(last.virtual_time.as_secs_f64(), stop, "the last row is at the stop");
        assert!(last.round >= 1);
        let agg = ran.events_of("aggregate");
        assert_eq!(agg.last().unwrap()["close"], "stop");
        // The round's four tasks were all still training: cancelled as late.
        assert_eq!(last.clients_late, 4);
        assert_eq!(last.clients_completed, 0);
        rows_count_every_task(&ran);
        check_run(&ran.dir);
    }
}

#[test]
fn an_async_virtual_time_stop_counts_every_task() {
    let yaml = base(
        "strategy: { kind: fedbuff, concurrency: 4, buffer_size: 3 }\nstop: { virtual_time_s: 2.0 }\n\
         evaluation: { every_rounds: 2 }\n",
    );
    let ran = run_yaml(&yaml, 2);
    assert_eq!(ran.result.summary.stop_reason, "virtual_time");
    assert_eq!(ran.result.rows.last().unwrap().virtual_time.as_secs_f64(), 2.0);
    rows_count_every_task(&ran);
    check_run(&ran.dir);
}

#[test]
fn a_diverging_run_stops_with_finite_outputs_naming_the_round_and_the_keys() {
    let ran = run_file("tests/scenarios/diverging.yaml", 2, &[]);
    let s = ran.summary_json();
    assert_eq!(s["stop_reason"], "diverged");
    let why = s["stop_message"].as_str().unwrap();
    assert!(why.contains("training.learning_rate = 1.0") && why.contains("training.weight_decay = 30.0"), "{why}");
    let round: u64 = why.strip_prefix("round ").unwrap().split(':').next().unwrap().parse().unwrap();
    // It stops long before stop.rounds, at the round it names: a client's
    // update blew up, so that version is the model set back to the latest
    // finite one.
    assert!(round < 50 && why.contains("the update of client"), "{why}");
    assert_eq!(ran.result.summary.rounds, round);
    assert_eq!(ran.events_of("diverged").len(), 1);
    assert_eq!(ran.events_of("aggregate").last().unwrap()["close"], "diverged");
    all_finite(&ran);
    rows_count_every_task(&ran);
    check_run(&ran.dir);
    assert!(fedsim::audit::verify_dir(&ran.dir).is_ok(), "the audit chain ends on the kept model");
}

#[test]
fn a_non_finite_update_stops_the_run_before_it_is_folded() {
    // A step of 1e308 per unit gradient overflows the update itself.
    let yaml = base("strategy: { kind: fedprox, clients_per_round: 4, mu: 0.5 }\nstop: { rounds: 5 }\n")
        .replace("learning_rate: 0.1", "learning_rate: 1.0e308");
    let ran = run_yaml(&yaml, 1);
    let s = ran.summary_json();
    assert_eq!(s["stop_reason"], "diverged");
    let why = s["stop_message"].as_str().unwrap();
    assert!(why.starts_with("round 1: "), "{why}");
    assert!(why.contains("strategy.mu = 0.5") && why.contains("training.learning_rate = 1e308"), "{why}");
    // The initial model is kept: version 1 is version 0's parameters.
    let first = &ran.result.rows[0];
    let last = ran.result.rows.last().unwrap();
    assert_eq!((last.round, last.accuracy, last.loss), (1, first.accuracy, first.loss));
    // The diverged update is neither completed nor stale.
    assert_eq!(last.clients_completed + last.updates_stale, 0);
    all_finite(&ran);
    check_run(&ran.dir);
}

#[test]
fn a_divergence_found_by_the_final_evaluation_outranks_the_rounds_stop() {
    // One full-batch step of 1e200: the MLP's parameters stay finite (about
    // 1e200), but its logits are their product and overflow. Evaluation
    // runs every 5 rounds, so the stop at round 1 is reached first and the
    // final evaluation finds the divergence.
    let yaml = base(
        "strategy: { kind: fedavg, clients_per_round: 4 }\nstop: { rounds: 1 }\nevaluation: { every_rounds: 5 }\n",
    )
    .replace("softmax_regression }", "mlp, hidden: [8] }")
    .replace("batch_size: 16, learning_rate: 0.1", "batch_size: 1000, learning_rate: 1.0e200");
    let ran = run_yaml(&yaml, 1);
    let s = ran.summary_json();
    assert_eq!(s["stop_reason"], "diverged", "{s}");
    let why = s["stop_message"].as_str().unwrap();
    assert!(why.starts_with("round 1: the model's test loss is not finite"), "{why}");
    // Version 2 is the initial model again, the last one that scores finite.
    let first = &ran.result.rows[0];
    let last = ran.result.rows.last().unwrap();
    assert_eq!((last.round, last.accuracy, last.loss), (2, first.accuracy, first.loss));
    assert_eq!(ran.events_of("aggregate").last().unwrap()["close"], "diverged");
    all_finite(&ran);
    rows_count_every_task(&ran);
    check_run(&ran.dir);
}

#[test]
fn the_cli_exits_3_on_divergence_and_says_why() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("d");
    let o = Command::new(env!("CARGO_BIN_EXE_fedsim"))
        .args(["run", "tests/scenarios/diverging.yaml", "--out", out.to_str().unwrap(), "-q"])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(3), "{}", String::from_utf8_lossy(&o.stderr));
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert!(stderr.contains("stopped by diverged: round ") && stderr.contains("training.learning_rate"), "{stderr}");
    check_run(&out);
    assert_eq!(std::fs::read_dir(tmp.path()).unwrap().count(), 1, "no stray folder");
}

#[test]
fn an_async_pool_whose_every_task_drops_out_is_exhausted_at_once() {
    let yaml = base("strategy: { kind: fedasync, concurrency: 3 }\nstop: { rounds: 100000 }\n")
        .replace("model: {", "  dropout: { probability: 1.0 }\nmodel: {");
    let ran = run_yaml(&yaml, 1);
    let s = ran.summary_json();
    assert_eq!(s["stop_reason"], "exhausted");
    assert!(s["stop_message"].as_str().unwrap().contains("clients.dropout.probability is 1"));
    assert!(ran.events_of("dispatch").is_empty());
    check_run(&ran.dir);
}

#[test]
fn a_deadline_shorter_than_any_task_is_exhausted_at_once() {
    // The fastest task: 2 x 30 ms latency, 2600 B at 20 and 5 Mb/s, 119 or
    // 120 rows at 200 rows/s: about 0.66 s.
    let yaml = base("strategy: { kind: fedavg, clients_per_round: 4, deadline_s: 0.5 }\nstop: { rounds: 1000000 }\n");
    let ran = run_yaml(&yaml, 1);
    let s = ran.summary_json();
    assert_eq!(s["stop_reason"], "exhausted");
    let why = s["stop_message"].as_str().unwrap();
    assert!(why.contains("strategy.deadline_s = 0.5 s") && why.contains("fastest possible task (0.6"), "{why}");
    check_run(&ran.dir);
    // A deadline the fastest client can meet runs.
    let yaml = base("strategy: { kind: fedavg, clients_per_round: 4, deadline_s: 0.7 }\nstop: { rounds: 2 }\n");
    assert_eq!(run_yaml(&yaml, 1).result.summary.stop_reason, "rounds");
}

/// Writes `trace.csv` into `dir`, every one of the 12 clients online from
/// 0 to `end_s` only, and gives `yaml` that availability.
fn online_until(dir: &Path, end_s: u32, yaml: String) -> String {
    let trace: String = std::iter::once("client,start_s,end_s\n".to_string())
        .chain((0..12).map(|c| format!("{c},0,{end_s}\n")))
        .collect();
    std::fs::write(dir.join("trace.csv"), trace).unwrap();
    yaml.replace("model: {", "  availability: { kind: trace, path: trace.csv }\nmodel: {")
}

#[test]
fn clients_that_never_come_back_exhaust_the_run_at_their_last_window() {
    let tmp = tempfile::tempdir().unwrap();
    let yaml = online_until(
        tmp.path(),
        5,
        base("strategy: { kind: fedbuff, concurrency: 3, buffer_size: 4 }\nstop: { rounds: 1000000 }\n"),
    );
    let ran = run_yaml_in(&yaml, 1, tmp.path());
    let s = ran.summary_json();
    assert_eq!(s["stop_reason"], "exhausted");
    let why = s["stop_message"].as_str().unwrap();
    assert!(why.contains("no client will ever be available again"), "{why}");
    // The last task started before 5 s; nothing after it.
    let last_dispatch = ran.events_of("dispatch").last().unwrap()["t"].as_f64().unwrap();
    assert!(last_dispatch < 5.0);
    rows_count_every_task(&ran);
    check_run(&ran.dir);
}

/// Evaluation takes no virtual time and changes nothing: however often the
/// model is evaluated, a run makes the same models, at the same instants.
/// Here the clients leave for good at 4 s, so the run is exhausted with
/// nothing in flight: FedBuff then holds a partial buffer (aggregated at
/// the stop, as at a time limit), and FedAsync holds nothing (its last
/// version is final, evaluated or not).
#[test]
fn how_often_the_model_is_evaluated_never_changes_the_models() {
    let tmp = tempfile::tempdir().unwrap();
    for strategy in ["fedbuff, concurrency: 3, buffer_size: 4", "fedasync, concurrency: 3"] {
        let models = |every: u32| {
            let yaml = online_until(
                tmp.path(),
                4,
                base(&format!(
                    "strategy: {{ kind: {strategy} }}\nstop: {{ rounds: 1000000 }}\nevaluation: {{ every_rounds: {every} }}\n"
                )),
            );
            let ran = run_yaml_in(&yaml, 1, tmp.path());
            assert_eq!(ran.summary_json()["stop_reason"], "exhausted", "{strategy}");
            rows_count_every_task(&ran);
            check_run(&ran.dir);
            let models: Vec<String> =
                ran.events_of("model").iter().map(|m| format!("{} {}", m["t"], m["sha256"])).collect();
            (models, ran.events_of("aggregate").last().unwrap()["close"].clone())
        };
        let (every_version, last_close) = models(1);
        for every in [2, 3] {
            assert_eq!(models(every).0, every_version, "{strategy}, every {every} versions");
        }
        // FedBuff's last buffer is partial; FedAsync aggregates every update.
        let partial = if strategy.starts_with("fedbuff") { "stop" } else { "update" };
        assert_eq!(last_close, partial, "{strategy}");
    }
}

/// Runs `yaml` expecting an error; returns its message, and checks that
/// no folder (nor a staging one) is left.
fn run_error(yaml: &str) -> String {
    let tmp = tempfile::tempdir().unwrap();
    let base = Path::new(env!("CARGO_MANIFEST_DIR"));
    let scenario = load_str(yaml, &base.join("overflow.yaml"), &[]).unwrap();
    let opts = RunOptions { out: Some(tmp.path().join("run")), threads: 1, ..RunOptions::default() };
    let err = run(&scenario, &opts, &mut |_| {}).expect_err("the run must fail");
    assert!(matches!(err, RunError::Clock { .. }), "{err}");
    assert_eq!(std::fs::read_dir(tmp.path()).unwrap().count(), 0, "left a folder behind");
    err.to_string()
}

#[test]
fn a_clock_that_would_overflow_is_an_error_naming_the_key() {
    let slow = base("strategy: { kind: fedavg, clients_per_round: 4 }\nstop: { rounds: 3 }\n")
        .replace("samples_per_s: 200", "samples_per_s: 1.0e-12");
    let e = run_error(&slow);
    assert!(e.contains("overflow.yaml") && e.contains("clients.profiles[0].compute.samples_per_s"), "{e}");
    assert!(e.contains("584 years"), "{e}");
    // docs/outputs.md quotes this message: "e.g. `clients.profiles[0].
    // compute.samples_per_s makes a task of client 0 take 1.440e14 s`".
    let doc = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/outputs.md")).unwrap();
    let doc = doc.split_whitespace().collect::<Vec<_>>().join(" ");
    let quoted = doc.split("is an error that names the scenario key behind it and the length it gave, e.g. `").nth(1);
    let quoted =
        quoted.and_then(|q| q.split('`').next()).expect("docs/outputs.md quotes the message").replace(". ", ".");
    assert!(e.contains(&quoted), "the doc quotes {quoted:?}; the run says {e}");
    let heavy = base("strategy: { kind: fedavg, clients_per_round: 4 }\nstop: { rounds: 3 }\n")
        .replace("{ dist: constant, ms: 30 }", "{ dist: pareto, scale_ms: 1, shape: 0.001 }");
    let e = run_error(&heavy);
    assert!(e.contains("clients.profiles[0].network.latency"), "{e}");
    // A server timer past the end names the key that set it.
    let ticks = base(
        "strategy: { kind: fedavg, clients_per_round: 4 }\nstop: { rounds: 3 }\nevaluation: { every_s: 1.0e11 }\n",
    );
    let e = run_error(&ticks);
    assert!(e.contains("evaluation.every_s puts a timer beyond it"), "{e}");
    let deadline = base("strategy: { kind: fedavg, clients_per_round: 4, deadline_s: 1.0e11 }\nstop: { rounds: 3 }\n");
    let e = run_error(&deadline);
    assert!(e.contains("strategy.deadline_s puts a timer beyond it"), "{e}");
    // The stop timer too, even when stop.rounds would end the run first.
    let stop = base("strategy: { kind: fedavg, clients_per_round: 4 }\nstop: { rounds: 3, virtual_time_s: 1.0e12 }\n");
    let e = run_error(&stop);
    assert!(e.contains("stop.virtual_time_s puts a timer beyond it"), "{e}");
    // Nobody is online before 1e11 s: the server's wake-up timer is past the end.
    let dir = tempfile::tempdir().unwrap();
    let trace = dir.path().join("late.csv");
    let rows: String = (0..12).map(|c| format!("{c},1.0e11,1.1e11\n")).collect();
    std::fs::write(&trace, format!("client,start_s,end_s\n{rows}")).unwrap();
    let late = base("strategy: { kind: fedavg, clients_per_round: 4 }\nstop: { rounds: 3 }\n").replace(
        "  count: 12\n",
        &format!("  count: 12\n  availability: {{ kind: trace, path: {} }}\n", trace.display()),
    );
    let e = run_error(&late);
    assert!(e.contains("clients.availability puts a timer beyond it"), "{e}");
    // A far-off stop is refused before the run, by the work estimate, at its key.
    let far = base("strategy: { kind: fedavg, clients_per_round: 4 }\nstop: { virtual_time_s: 1.0e12 }\n");
    let e = load_str(&far, &Path::new(env!("CARGO_MANIFEST_DIR")).join("overflow.yaml"), &[]).unwrap_err().to_string();
    assert!(e.contains("overflow.yaml:") && e.contains("stop.virtual_time_s"), "{e}");
}

#[test]
fn every_stop_reason_leaves_a_folder_that_meets_the_contract() {
    let cases = [
        ("rounds", "strategy: { kind: fedavg, clients_per_round: 4 }\nstop: { rounds: 3 }\n"),
        (
            "virtual_time",
            "strategy: { kind: fedbuff, concurrency: 4, buffer_size: 2 }\nstop: { virtual_time_s: 1.5 }\n",
        ),
        // A sync round open at the stop, and versions not yet evaluated
        // (about 0.7 s a round, evaluated every fourth).
        (
            "virtual_time",
            "strategy: { kind: fedavg, clients_per_round: 4 }\nstop: { virtual_time_s: 2.3 }\n\
             evaluation: { every_rounds: 4 }\n",
        ),
        (
            "target_accuracy",
            "strategy: { kind: fedavg, clients_per_round: 4 }\nstop: { rounds: 50, target_accuracy: 0.5 }\n",
        ),
        (
            "max_epsilon",
            "strategy: { kind: fedavg, clients_per_round: 4 }\nstop: { rounds: 50, max_epsilon: 2.0 }\n\
             privacy: { dp: { level: client, clip_norm: 1.0, noise_multiplier: 1.0, delta: 1.0e-5 } }\n",
        ),
        ("exhausted", "strategy: { kind: fedavg, clients_per_round: 4, deadline_s: 0.1 }\nstop: { rounds: 5 }\n"),
    ];
    for (reason, extra) in cases {
        let ran = run_yaml(&base(extra), 1);
        assert_eq!(ran.result.summary.stop_reason, reason, "{extra}");
        all_finite(&ran);
        rows_count_every_task(&ran);
        check_run(&ran.dir);
        if reason == "virtual_time" {
            // Tasks were open at the stop: what the server held is
            // aggregated then, as a deadline would.
            let last = ran.events_of("aggregate").pop().unwrap();
            assert_eq!(last["close"], "stop", "{extra}");
            assert_eq!(last["t"].as_f64(), Some(ran.result.summary.virtual_time_s), "{extra}");
        }
    }
    // diverged: above; interrupted: tests/resume.rs.
}
