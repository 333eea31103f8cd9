//! Every strategy kind runs end to end from YAML on the shared actors and
//! learns; the keys that tune them change the outcome.

mod common;
use common::run_yaml;

fn scenario(strategy: &str) -> String {
    format!(
        r#"
name: every-strategy
seed: 11
data: {{ dataset: digits, partition: {{ kind: dirichlet, alpha: 1.0 }} }}
clients:
  count: 12
  profiles:
    - {{ name: p, share: 1.0, compute: {{ samples_per_s: 100, jitter: {{ dist: exponential, mean_ms: 300 }} }}, network: {{ latency: {{ dist: constant, ms: 20 }}, up_mbps: 10, down_mbps: 10 }} }}
model: {{ kind: softmax_regression }}
strategy: {strategy}
stop: {{ rounds: 12 }}
"#
    )
}

#[test]
fn every_kind_runs_and_learns() {
    for (strategy, min_acc) in [
        ("{ kind: fedavg, clients_per_round: 8 }", 0.85),
        ("{ kind: fedprox, clients_per_round: 8, mu: 0.1 }", 0.85),
        ("{ kind: fedavgm, clients_per_round: 8, server_momentum: 0.5 }", 0.85),
        ("{ kind: fedadagrad, clients_per_round: 8, server_learning_rate: 0.05 }", 0.8),
        ("{ kind: fedadam, clients_per_round: 8, server_learning_rate: 0.05 }", 0.8),
        ("{ kind: fedyogi, clients_per_round: 8, server_learning_rate: 0.05 }", 0.8),
        ("{ kind: fedmedian, clients_per_round: 8 }", 0.8),
        ("{ kind: trimmed_mean, clients_per_round: 8, trim_fraction: 0.25 }", 0.8),
        ("{ kind: krum, clients_per_round: 8, byzantine: 1 }", 0.7),
        ("{ kind: multikrum, clients_per_round: 8, byzantine: 1, keep: 4 }", 0.8),
        ("{ kind: fedasync, concurrency: 6, mixing: 0.5 }", 0.6),
        ("{ kind: fedbuff, concurrency: 6, buffer_size: 3 }", 0.8),
    ] {
        let ran = run_yaml(&scenario(strategy), 2);
        let s = &ran.result.summary;
        assert_eq!(s.rounds, 12, "{strategy}");
        assert!(s.final_accuracy >= min_acc, "{strategy}: accuracy {}", s.final_accuracy);
        assert!(strategy.contains(&format!("kind: {},", s.strategy)), "{strategy} ran as {}", s.strategy);
    }
}

#[test]
fn tuning_keys_change_the_outcome() {
    let loss = |strategy: &str| run_yaml(&scenario(strategy), 1).result.rows.last().unwrap().loss;
    let fedavg = loss("{ kind: fedavg, clients_per_round: 8 }");
    assert_ne!(fedavg, loss("{ kind: fedprox, clients_per_round: 8, mu: 1.0 }"), "strategy.mu ignored");
    let m = |x: f64| loss(&format!("{{ kind: fedavgm, clients_per_round: 8, server_momentum: {x} }}"));
    assert_ne!(m(0.0), m(0.9), "strategy.server_momentum ignored");
    let adam = |k: &str| loss(&format!("{{ kind: fedadam, clients_per_round: 8, {k} }}"));
    let base = adam("beta1: 0.9");
    for k in ["beta1: 0.5", "beta2: 0.9", "tau: 0.1", "server_learning_rate: 0.5"] {
        assert_ne!(base, adam(k), "strategy.{k} ignored");
    }
    // Flower's defaults and FedAdam's bias correction, from YAML: explicit
    // keys are kept either way.
    for kind in ["fedadam", "fedyogi", "fedadagrad", "fedavgm"] {
        let flower = |on: bool| loss(&format!("{{ kind: {kind}, clients_per_round: 8, flower_compat: {on} }}"));
        assert_ne!(flower(false), flower(true), "strategy.flower_compat ignored by {kind}");
    }
    let pinned = |on: bool| {
        loss(&format!(
            "{{ kind: fedyogi, clients_per_round: 8, server_learning_rate: 0.05, tau: 0.001, flower_compat: {on} }}"
        ))
    };
    assert_eq!(pinned(false), pinned(true), "fedyogi with its keys given is Flower's rule already");
    let trim = |x: f64| loss(&format!("{{ kind: trimmed_mean, clients_per_round: 8, trim_fraction: {x} }}"));
    assert_ne!(trim(0.0), trim(0.25), "strategy.trim_fraction ignored");
    let mk = |keep: u32| loss(&format!("{{ kind: multikrum, clients_per_round: 8, keep: {keep} }}"));
    assert_ne!(mk(2), mk(6), "strategy.keep ignored");
    let kr = |f: u32| loss(&format!("{{ kind: krum, clients_per_round: 8, byzantine: {f} }}"));
    assert_ne!(kr(0), kr(2), "strategy.byzantine ignored");
    let asy = |k: &str| loss(&format!("{{ kind: fedasync, concurrency: 6, {k} }}"));
    assert_ne!(asy("mixing: 0.3"), asy("mixing: 0.9"), "strategy.mixing ignored");
    assert_ne!(
        asy("staleness: { fn: constant }"),
        asy("staleness: { fn: hinge, a: 10, b: 0 }"),
        "strategy.staleness ignored"
    );
    let buff = |k: &str| loss(&format!("{{ kind: fedbuff, concurrency: 6, {k} }}"));
    assert_ne!(
        buff("buffer_size: 3, server_learning_rate: 1.0"),
        buff("buffer_size: 3, server_learning_rate: 0.5"),
        "fedbuff server_learning_rate ignored"
    );
    assert_ne!(buff("buffer_size: 2"), buff("buffer_size: 4"), "strategy.buffer_size ignored");
}
