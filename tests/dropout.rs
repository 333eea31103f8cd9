//! Dropout: a client vanishes in mid-task with the configured probability.

mod common;
use common::run_yaml;

/// `count` iris clients that vanish mid-task with `probability`, all of
/// them in every FedAvg round; one profile with 10 Mb/s links.
fn scenario(
    seed: u64,
    count: u32,
    probability: f64,
    samples_per_s: f64,
    latency: &str,
    training: &str,
    rounds: u32,
) -> String {
    format!(
        "name: dropout\nseed: {seed}\ndata: {{ dataset: iris, test_fraction: 0.2 }}\nclients:\n  count: {count}\n  \
         dropout: {{ probability: {probability} }}\n  profiles:\n    - name: only\n      share: 1.0\n      \
         compute: {{ samples_per_s: {samples_per_s} }}\n      network: {{ latency: {latency}, up_mbps: 10, down_mbps: 10 }}\n\
         model: {{ kind: softmax_regression }}\n{training}strategy: {{ kind: fedavg, clients_per_round: {count} }}\n\
         stop: {{ rounds: {rounds} }}\n"
    )
}

#[test]
fn observed_dropout_rate_is_within_three_standard_deviations() {
    let yaml = scenario(9, 100, 0.3, 100.0, "{ dist: exponential, mean_ms: 40 }", "", 25);
    let ran = run_yaml(&yaml, 2);
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

/// A client vanishes at `start + U * task` (docs/time-model.md), where the
/// task is its whole closed form: both legs (50 ms + 60 B at 10 Mb/s) and
/// 2 epochs of its 12 rows at 10 samples/s, 2.500096 s in all. Compute is
/// nearly all of it, so drops must reach late into the task: with U
/// uniform, the latest of ~100 falls past 90% of it.
#[test]
fn a_drop_falls_within_the_whole_task_including_every_epoch_of_compute() {
    let yaml = scenario(
        4,
        10,
        0.5,
        10.0,
        "{ dist: constant, ms: 50 }",
        "training: { local_epochs: 2, batch_size: 8, learning_rate: 0.1 }\n",
        20,
    );
    let ran = run_yaml(&yaml, 1);
    let task = 2.0 * (0.05 + 60.0 * 8.0 / 10e6) + 2.0 * 12.0 / 10.0;
    let mut started = std::collections::HashMap::new();
    let mut shares = Vec::new();
    for e in ran.events() {
        let (t, client) = (e["t"].as_f64().unwrap(), e["client"].as_u64());
        match e["kind"].as_str().unwrap() {
            "dispatch" => {
                started.insert(client.unwrap(), t);
            }
            "drop" => shares.push((t - started[&client.unwrap()]) / task),
            _ => {}
        }
    }
    assert!(shares.len() >= 60, "{} drops", shares.len());
    assert!(shares.iter().all(|&s| (-1e-9..=1.0 + 1e-9).contains(&s)), "a drop outside its task: {shares:?}");
    let latest = shares.iter().cloned().fold(0.0, f64::max);
    assert!(latest > 0.9, "the latest drop is at {latest} of the task: compute is left out of it");
}
