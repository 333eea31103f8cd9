//! Async strategies on the shared actors: FedBuff's versions advance at
//! hand-computed instants; FedAsync folds every arrival; async runs are as
//! deterministic as sync ones.

mod common;
use common::run_yaml;

/// Iris: 120 train rows over 10 clients, 12 each. Ideal links; the fast
/// tier trains 12 rows in 1 s, the slow tier in 2.5 s.
fn two_tiers(strategy: &str, rounds: u64) -> String {
    format!(
        r#"
name: async-tiers
seed: 4
data: {{ dataset: iris, test_fraction: 0.2 }}
clients:
  count: 10
  profiles:
    - name: fast
      share: 0.5
      compute: {{ samples_per_s: 12 }}
      network: {{ latency: {{ dist: constant, ms: 0 }}, up_mbps: .inf, down_mbps: .inf }}
    - name: slow
      share: 0.5
      compute: {{ samples_per_s: 4.8 }}
      network: {{ latency: {{ dist: constant, ms: 0 }}, up_mbps: .inf, down_mbps: .inf }}
model: {{ kind: softmax_regression }}
strategy: {strategy}
stop: {{ rounds: {rounds} }}
"#
    )
}

#[test]
fn fedbuff_versions_advance_when_the_fifth_delta_of_each_batch_arrives() {
    let ran = run_yaml(&two_tiers("{ kind: fedbuff, concurrency: 10, buffer_size: 5 }", 9), 1);
    // By hand: all ten start at 0. The fast five return at 1 s and, being
    // the only idle clients, restart at once; the slow five return at 2.5 s.
    // Batches of five therefore complete at 1, 2, 2.5, 3, 4, then at 5 the
    // slow five (dispatched earlier) and the fast five, 6, 7, 7.5.
    let want = [1.0, 2.0, 2.5, 3.0, 4.0, 5.0, 5.0, 6.0, 7.0];
    let times = ran.aggregate_times();
    assert_eq!(times.len(), want.len());
    for (t, w) in times.iter().zip(want) {
        assert!((t - w).abs() < 1e-9, "aggregates at {times:?}, want {want:?}");
    }
    // Each aggregate comes right after the fifth report since the previous one.
    let mut reports_since = 0;
    for e in ran.events() {
        match e["kind"].as_str().unwrap() {
            "report" => reports_since += 1,
            "aggregate" => {
                assert_eq!(reports_since, 5, "{e}");
                assert_eq!(e["updates"], 5);
                reports_since = 0;
            }
            _ => {}
        }
    }
    // Concurrency holds: every arrival frees a slot that is refilled at
    // once, except the last, which ends the run.
    let dispatches = ran.events_of("dispatch").len();
    assert_eq!(dispatches, 10 + ran.events_of("report").len() - 1);
    // Staleness: the slow tier's first reports are 2 versions stale.
    let slow_first: Vec<u64> = ran
        .events_of("report")
        .iter()
        .filter(|e| (e["t"].as_f64().unwrap() - 2.5).abs() < 1e-9)
        .map(|e| e["staleness"].as_u64().unwrap())
        .collect();
    assert_eq!(slow_first, vec![2; 5]);
    let rows = &ran.result.rows;
    assert!(rows[1..].iter().all(|r| r.mean_staleness.is_some()));
    assert!(ran.result.summary.staleness_histogram.contains_key(&2));
}

#[test]
fn fedasync_advances_on_every_arrival() {
    let ran = run_yaml(
        &two_tiers("{ kind: fedasync, concurrency: 10, mixing: 0.5, staleness: { fn: polynomial, a: 0.5 } }", 12),
        1,
    );
    assert_eq!(ran.events_of("aggregate").len(), 12);
    let times = ran.aggregate_times();
    // Five fast arrivals at 1 s, five more at 2 s, then two of the slow tier at 2.5 s.
    assert_eq!(times.iter().filter(|&&t| (t - 1.0).abs() < 1e-9).count(), 5);
    assert_eq!(times.iter().filter(|&&t| (t - 2.0).abs() < 1e-9).count(), 5);
    assert_eq!(times.iter().filter(|&&t| (t - 2.5).abs() < 1e-9).count(), 2);
}

/// A drop frees a slot but brings no update: FedAsync refills the slot and
/// the model stays as it is (no aggregate of zero updates).
#[test]
fn fedasync_advances_on_updates_only_never_on_a_drop() {
    let yaml = two_tiers("{ kind: fedasync, concurrency: 10, mixing: 0.5 }", 30)
        .replace("  count: 10\n", "  count: 10\n  dropout: { probability: 0.3 }\n");
    let ran = run_yaml(&yaml, 1);
    let drops = ran.events_of("drop").len();
    assert!(drops >= 5, "the scenario must drop tasks: {drops} drops");
    // Each version mixes in exactly the report just before it.
    let mut previous = String::new();
    for e in ran.events() {
        let kind = e["kind"].as_str().unwrap();
        if kind == "aggregate" {
            assert_eq!(e["updates"], 1, "{e}");
            assert_eq!(previous, "report", "{e} follows a {previous}");
        }
        previous = kind.to_string();
    }
    assert_eq!(ran.events_of("aggregate").len(), 30);
    assert_eq!(ran.events_of("report").len(), 30);
}

#[test]
fn max_staleness_drops_and_counts_stale_updates() {
    let ran = run_yaml(&two_tiers("{ kind: fedbuff, concurrency: 10, buffer_size: 5, max_staleness: 1 }", 6), 1);
    let stale = ran.events_of("stale");
    assert!(!stale.is_empty());
    assert!(stale.iter().all(|e| e["staleness"].as_u64().unwrap() > 1));
    let counted: u64 = ran.result.rows.iter().map(|r| r.updates_stale).sum();
    assert_eq!(counted as usize, stale.len());
}

#[test]
fn async_runs_are_deterministic_for_any_thread_count() {
    let yaml = two_tiers("{ kind: fedbuff, concurrency: 6, buffer_size: 3 }", 15).replace(
        "model: { kind: softmax_regression }",
        "  dropout: { probability: 0.2 }\nmodel: { kind: softmax_regression }",
    );
    // Jitter makes arrival order matter.
    let yaml = yaml.replace(
        "compute: { samples_per_s: 12 }",
        "compute: { samples_per_s: 12, jitter: { dist: exponential, mean_ms: 300 } }",
    );
    let a = run_yaml(&yaml, 1);
    let b = run_yaml(&yaml, 2);
    assert_eq!(a.read("events.jsonl"), b.read("events.jsonl"));
    assert_eq!(a.read("metrics.csv"), b.read("metrics.csv"));
    assert!(!a.events_of("drop").is_empty());
}
