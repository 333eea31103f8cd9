//! Dropout: a client vanishes in mid-task with the configured probability.

mod common;
use common::run_yaml;

#[test]
fn observed_dropout_rate_is_within_three_standard_deviations() {
    let yaml = r#"
name: dropout-rate
seed: 9
data: { dataset: iris, test_fraction: 0.2 }
clients:
  count: 100
  dropout: { probability: 0.3 }
  profiles:
    - name: only
      share: 1.0
      compute: { samples_per_s: 100 }
      network: { latency: { dist: exponential, mean_ms: 40 }, up_mbps: 10, down_mbps: 10 }
model: { kind: softmax_regression }
strategy: { kind: fedavg, clients_per_round: 100 }
stop: { rounds: 25 }
"#;
    let ran = run_yaml(yaml, 2);
    let tasks = ran.events_of("dispatch").len() as f64;
    let drops = ran.events_of("drop").len() as f64;
    assert!(tasks >= 2000.0, "{tasks} tasks");
    let sd = (tasks * 0.3 * 0.7).sqrt();
    assert!((drops - 0.3 * tasks).abs() < 3.0 * sd, "{drops} drops of {tasks} tasks");
    // A dropped client never reports in that task, and vanishes within its task.
    let reports = ran.events_of("report").len() as f64;
    assert_eq!(reports + drops, tasks);
    let rows = &ran.result.rows;
    assert_eq!(rows.iter().map(|r| r.clients_dropped).sum::<u64>() as f64, drops);
    // Every delivery counts once in `messages`: the start, each task's
    // model arrival and end of training, each report, and each drop (the
    // server told of the vanished client); a dropped task's later
    // messages are never delivered. No timers here (rounds close when all
    // have answered, evaluation is by round).
    let delivered = ran.count(&["download_done", "compute_done", "report", "drop"]);
    assert_eq!(ran.summary_json()["messages"], 1 + delivered);
}
