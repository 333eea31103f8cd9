//! The time model of spec section 2, checked against hand-computed
//! closed forms on runs from YAML.

mod common;
use common::run_yaml;

/// Iris: 150 rows, train pool 120, 4 clients of exactly 30 rows each.
/// Softmax regression on 4 features and 3 classes: 15 parameters, 60 bytes.
fn scenario(strategy: &str, shares: (f64, f64)) -> String {
    format!(
        r#"
name: closed-form
seed: 3
data: {{ dataset: iris, test_fraction: 0.2, partition: {{ kind: iid }} }}
clients:
  count: 4
  profiles:
    - name: fast
      share: {}
      compute: {{ samples_per_s: 300 }}
      network: {{ latency: {{ dist: constant, ms: 50 }}, up_mbps: 1, down_mbps: 2 }}
    - name: slow
      share: {}
      compute: {{ samples_per_s: 30 }}
      network: {{ latency: {{ dist: constant, ms: 200 }}, up_mbps: 0.5, down_mbps: 1 }}
model: {{ kind: softmax_regression }}
training: {{ local_epochs: 2, batch_size: 8, learning_rate: 0.1 }}
strategy: {strategy}
stop: {{ rounds: 5 }}
"#,
        shares.0, shares.1
    )
}

const BYTES: f64 = 60.0;

/// download + compute + upload, spec section 2.
fn task(latency_s: f64, down_mbps: f64, samples_per_s: f64, up_mbps: f64) -> f64 {
    let download = latency_s + BYTES * 8.0 / (down_mbps * 1e6);
    let compute = 2.0 * 30.0 / samples_per_s;
    let upload = latency_s + BYTES * 8.0 / (up_mbps * 1e6);
    download + compute + upload
}

fn fast() -> f64 {
    task(0.050, 2.0, 300.0, 1.0)
}

fn slow() -> f64 {
    task(0.200, 1.0, 30.0, 0.5)
}

fn round_durations(times: &[f64]) -> Vec<f64> {
    std::iter::once(0.0).chain(times.iter().copied()).collect::<Vec<_>>().windows(2).map(|w| w[1] - w[0]).collect()
}

#[test]
fn the_slower_tier_sets_the_round() {
    // By hand: fast = 0.05 + 0.00024 + 0.2 + 0.05 + 0.00048 = 0.30072 s,
    //          slow = 0.2 + 0.00048 + 2.0 + 0.2 + 0.00096 = 2.40144 s.
    assert!((fast() - 0.30072).abs() < 1e-12 && (slow() - 2.40144).abs() < 1e-12);
    let ran = run_yaml(&scenario("{ kind: fedavg, clients_per_round: 4 }", (0.5, 0.5)), 1);
    let times = ran.aggregate_times();
    assert_eq!(times.len(), 5);
    for d in round_durations(&times) {
        assert!((d - slow()).abs() < 1e-9, "round lasted {d}, expected {}", slow());
    }
    assert!(ran.events_of("late").is_empty());
    // Every report of the fast tier lands fast() after its dispatch.
    let reports = ran.events_of("report");
    assert_eq!(reports.len(), 20);
    let first_round: Vec<f64> = reports.iter().filter(|e| e["round"] == 0).map(|e| e["t"].as_f64().unwrap()).collect();
    assert_eq!(first_round.len(), 4);
    assert_eq!(first_round.iter().filter(|&&t| (t - fast()).abs() < 1e-9).count(), 2);
    assert_eq!(first_round.iter().filter(|&&t| (t - slow()).abs() < 1e-9).count(), 2);
}

#[test]
fn a_deadline_shorter_than_the_slow_tier_keeps_only_the_fast_tier() {
    let ran = run_yaml(&scenario("{ kind: fedavg, clients_per_round: 4, deadline_s: 1.0 }", (0.5, 0.5)), 1);
    let times = ran.aggregate_times();
    for d in round_durations(&times) {
        assert!((d - 1.0).abs() < 1e-9, "round lasted {d}, expected the deadline");
    }
    for agg in ran.events_of("aggregate") {
        assert_eq!(agg["updates"], 2, "only the fast tier is aggregated");
    }
    assert_eq!(ran.events_of("late").len(), 2 * 5);
    let rows = &ran.result.rows;
    assert!(rows[1..].iter().all(|r| r.clients_completed == 2 && r.clients_late == 2 && r.clients_selected == 4));
}

/// 2 * 1.25 = 2.5 dispatches round up to 3, not down to 2.
#[test]
fn over_selection_rounds_a_fractional_cohort_up() {
    let ran = run_yaml(&scenario("{ kind: fedavg, clients_per_round: 2, over_selection: 1.25 }", (0.5, 0.5)), 1);
    assert_eq!(ran.events_of("dispatch").len(), 3 * 5);
    assert!(ran.events_of("aggregate").iter().all(|a| a["updates"] == 2));
    assert_eq!(ran.events_of("late").len(), 5);
}

#[test]
fn over_selection_keeps_the_first_arrivals() {
    // Select ceil(2 * 2.0) = 4, keep the first 2 reports: the fast tier.
    let ran = run_yaml(&scenario("{ kind: fedavg, clients_per_round: 2, over_selection: 2.0 }", (0.5, 0.5)), 1);
    for d in round_durations(&ran.aggregate_times()) {
        assert!((d - fast()).abs() < 1e-9, "round lasted {d}, expected {}", fast());
    }
    assert_eq!(ran.events_of("dispatch").len(), 4 * 5);
    assert_eq!(ran.events_of("late").len(), 2 * 5);
    // The late tasks never report, and their phases after the close are not logged.
    for late in ran.events_of("late") {
        let c = &late["client"];
        let r = &late["round"];
        assert!(!ran.events().iter().any(|e| e["kind"] == "report" && &e["client"] == c && &e["round"] == r));
    }
}
