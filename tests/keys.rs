//! Scenario keys end to end from YAML: each test would fail if its key were
//! ignored.

mod common;
use common::{run_yaml, run_yaml_in};

fn base(extra_clients: &str, rest: &str) -> String {
    format!(
        r#"
name: keys
seed: 5
data: {{ dataset: iris, test_fraction: 0.2 }}
clients:
  count: 6
{extra_clients}
model: {{ kind: softmax_regression }}
{rest}
"#
    )
}

#[test]
fn trace_availability_limits_selection() {
    let tmp = tempfile::tempdir().unwrap();
    // Client 0 is available only from 100 s to 200 s; the others always.
    std::fs::write(tmp.path().join("trace.csv"), "client,start_s,end_s\n0,100,200\n").unwrap();
    let yaml = base(
        "  availability: { kind: trace, path: trace.csv }\n  profiles:\n    - { name: p, share: 1.0, compute: { samples_per_s: 10 }, network: { latency: { dist: constant, ms: 10 }, up_mbps: 1, down_mbps: 1 } }",
        "strategy: { kind: fedavg, clients_per_round: 6 }\nstop: { virtual_time_s: 400 }",
    );
    let ran = run_yaml_in(&yaml, 1, tmp.path());
    let dispatch_of_0: Vec<f64> =
        ran.events_of("dispatch").iter().filter(|e| e["client"] == 0).map(|e| e["t"].as_f64().unwrap()).collect();
    assert!(!dispatch_of_0.is_empty(), "client 0 was never selected");
    assert!(dispatch_of_0.iter().all(|&t| (100.0..200.0).contains(&t)), "{dispatch_of_0:?}");
    assert!(ran.events_of("dispatch").iter().any(|e| e["client"] == 1 && e["t"].as_f64().unwrap() < 100.0));
    assert_eq!(ran.result.summary.stop_reason, "virtual_time");
    assert!((ran.result.summary.virtual_time_s - 400.0).abs() < 1e-9);
}

#[test]
fn diurnal_availability_selects_only_clients_in_their_window() {
    let yaml = r#"
name: diurnal
seed: 2
data: { dataset: iris, test_fraction: 0.2 }
clients:
  count: 40
  availability: { kind: diurnal, period_h: 1, on_fraction: 0.25 }
  profiles:
    - { name: p, share: 1.0, compute: { samples_per_s: 1 }, network: { latency: { dist: constant, ms: 100 }, up_mbps: 1, down_mbps: 1 } }
strategy: { kind: fedavg, clients_per_round: 5 }
stop: { rounds: 30 }
"#;
    let ran = run_yaml(yaml, 1);
    let model = fedsim::net::AvailabilityModel::new(
        &fedsim::scenario::Availability::Diurnal { period_h: 1.0, on_fraction: 0.25 },
        40,
        fedsim::sim::SeedTree::new(2).child("availability"),
    )
    .unwrap();
    let dispatches = ran.events_of("dispatch");
    assert!(dispatches.len() >= 100);
    for e in dispatches {
        let t = fedsim::sim::VirtualTime::from_secs_f64(e["t"].as_f64().unwrap());
        assert!(model.is_available(e["client"].as_u64().unwrap() as u32, t), "{e}");
    }
}

#[test]
fn evaluation_every_s_and_target_accuracy_stop() {
    let yaml = base(
        "  profiles:\n    - { name: p, share: 1.0, compute: { samples_per_s: 24 }, network: { latency: { dist: constant, ms: 0 }, up_mbps: 1000, down_mbps: 1000 } }",
        "strategy: { kind: fedavg, clients_per_round: 6 }\nstop: { rounds: 500, target_accuracy: 0.9 }\nevaluation: { every_s: 5 }\ntraining: { learning_rate: 0.5 }",
    );
    let ran = run_yaml(&yaml, 1);
    let rows = &ran.result.rows;
    // Each round takes 20 rows / 24 samples/s ~ 0.83 s; evaluations fall on multiples of 5 s.
    for r in &rows[1..] {
        let t = r.virtual_time.as_secs_f64();
        assert!((t / 5.0 - (t / 5.0).round()).abs() < 1e-9, "evaluation at {t}");
    }
    assert_eq!(ran.result.summary.stop_reason, "target_accuracy");
    assert!(ran.result.summary.final_accuracy >= 0.9);
    assert_eq!(ran.result.summary.time_to_target_s, Some(rows.last().unwrap().virtual_time.as_secs_f64()));
    // The evaluation timer fires at 5 s, 10 s, ... up to the stop, once
    // each: `messages` counts the start, each task's three deliveries and
    // those ticks (the first at 5 s, not at the start).
    let end = rows.last().unwrap().virtual_time.as_secs_f64();
    let ticks = (end / 5.0).round() as u64;
    let delivered = ran.count(&["download_done", "compute_done", "report"]);
    assert_eq!(ran.summary_json()["messages"], 1 + delivered + ticks, "{ticks} ticks to {end} s");
}

/// Each combination learns about as well as it does: the floors sit 2 to
/// 4 points under the measured final accuracy (beside each; chance is 0.1
/// on digits, 0.2 on the 5-class synthetic set, 0.63 on breast_cancer's
/// majority class).
#[test]
fn every_partition_normalisation_and_model_runs_and_learns() {
    for (data, model, min_acc) in [
        // 0.897
        ("{ dataset: digits, partition: { kind: dirichlet, alpha: 0.5 } }", "{ kind: softmax_regression }", 0.87),
        (
            // 0.822: two label shards per client, the hardest split.
            "{ dataset: digits, partition: { kind: shards, shards_per_client: 2 }, normalize: minmax }",
            "{ kind: softmax_regression }",
            0.79,
        ),
        // 0.900
        ("{ dataset: digits, partition: { kind: quantity_skew, sigma: 1.0 } }", "{ kind: mlp, hidden: [32] }", 0.87),
        // 0.956
        ("{ dataset: breast_cancer }", "{ kind: logistic_regression }", 0.93),
        (
            // 0.8025
            "{ dataset: synthetic, synthetic: { features: 20, classes: 5, samples: 4000, alpha: 0.5, beta: 0.5 } }",
            "{ kind: softmax_regression }",
            0.77,
        ),
    ] {
        let yaml = format!(
            "name: combo\nseed: 1\ndata: {data}\nclients: {{ count: 10 }}\nmodel: {model}\nstrategy: {{ kind: fedavg, clients_per_round: 10 }}\nstop: {{ rounds: 15 }}\n"
        );
        let ran = run_yaml(&yaml, 2);
        let acc = ran.result.summary.final_accuracy;
        assert!(acc >= min_acc, "{data} / {model}: accuracy {acc}");
    }
}

/// Each training key moves the loss after 2 rounds its way, by about as
/// much as it does (measured once, runs being deterministic for a seed;
/// the figures are beside each band). The bands would fail under the
/// opposite direction or an effect half or twice the size. From the
/// initial loss ln 10 = 2.3026, the defaults (batch 32, learning rate 0.1,
/// one epoch) reach 0.9111.
#[test]
fn training_keys_move_the_loss_their_way() {
    let run = |training: &str| {
        let yaml = format!(
            "name: t\nseed: 1\ndata: {{ dataset: digits }}\nclients: {{ count: 5 }}\nmodel: {{ kind: softmax_regression }}\ntraining: {training}\nstop: {{ rounds: 2 }}\n"
        );
        let rows = run_yaml(&yaml, 1).result.rows;
        assert!((rows[0].loss - 10f64.ln()).abs() < 1e-9, "the initial model predicts uniformly");
        rows.last().unwrap().loss
    };
    let ratio = |a: f64, b: f64, band: std::ops::Range<f64>, what: &str| {
        assert!(band.contains(&(b / a)), "{what}: {b} / {a} = {}, expected in {band:?}", b / a);
    };
    let plain = run("{ shuffle: false }");
    // An L2 pull towards zero: 0.9684 (x1.063).
    ratio(plain, run("{ shuffle: false, weight_decay: 0.1 }"), 1.03..1.15, "training.weight_decay");
    // Twice the local steps: 0.6399 (x0.702).
    ratio(plain, run("{ shuffle: false, local_epochs: 2 }"), 0.55..0.85, "training.local_epochs");
    // Batches of 8 take four times the steps of batches of 32: 0.4570
    // (x0.502).
    ratio(plain, run("{ shuffle: false, batch_size: 8 }"), 0.38..0.65, "training.batch_size");
    // A tenth of the rate: the loss falls 0.2936 instead of 1.3915 (x0.211;
    // not x0.1, as the default run is already slowing down).
    let drop = |l: f64| 10f64.ln() - l;
    ratio(drop(plain), drop(run("{ shuffle: false, learning_rate: 0.01 }")), 0.12..0.35, "training.learning_rate");
    // Shuffling reorders the same rows within each epoch: with batches of
    // 8 the loss moves by a few percent, 0.4460 against 0.4570 (x0.976),
    // not by what dropping or repeating rows would do.
    let r = run("{ shuffle: true, batch_size: 8 }") / run("{ shuffle: false, batch_size: 8 }");
    assert!((0.005..0.08).contains(&(1.0 - r).abs()), "training.shuffle: ratio {r}");
}

/// Every latency distribution from YAML: with ideal compute and links a
/// task is exactly two latency draws, so task durations show the support.
#[test]
fn every_latency_distribution_shapes_task_durations() {
    for (dist, lo, hi, mean) in [
        ("{ dist: constant, ms: 40 }", 0.080, 0.080, 0.080),
        ("{ dist: uniform, min_ms: 10, max_ms: 30 }", 0.020, 0.060, 0.040),
        ("{ dist: normal, mean_ms: 50, std_ms: 10 }", 0.0, f64::INFINITY, 0.100),
        ("{ dist: lognormal, median_ms: 20, sigma: 0.5 }", 0.0, f64::INFINITY, 2.0 * 0.020 * (0.125f64).exp()),
        ("{ dist: exponential, mean_ms: 25 }", 0.0, f64::INFINITY, 0.050),
        ("{ dist: pareto, scale_ms: 10, shape: 3 }", 0.020, f64::INFINITY, 2.0 * 0.015),
    ] {
        let yaml = format!(
            "name: dist\nseed: 3\ndata: {{ dataset: iris }}\nclients:\n  count: 40\n  profiles:\n    - {{ name: p, share: 1.0, compute: {{ samples_per_s: .inf }}, network: {{ latency: {dist}, up_mbps: .inf, down_mbps: .inf }} }}\nmodel: {{ kind: softmax_regression }}\nstrategy: {{ kind: fedavg, clients_per_round: 40 }}\nstop: {{ rounds: 25 }}\n"
        );
        let ran = run_yaml(&yaml, 1);
        let mut start = std::collections::HashMap::new();
        for e in ran.events_of("dispatch") {
            start.insert((e["client"].as_u64(), e["round"].as_u64()), e["t"].as_f64().unwrap());
        }
        let durations: Vec<f64> = ran
            .events_of("report")
            .iter()
            .map(|e| e["t"].as_f64().unwrap() - start[&(e["client"].as_u64(), e["round"].as_u64())])
            .collect();
        assert_eq!(durations.len(), 1000, "{dist}");
        assert!(durations.iter().all(|&d| d >= lo - 1e-9 && d <= hi + 1e-9), "{dist}: outside [{lo}, {hi}]");
        let m = durations.iter().sum::<f64>() / durations.len() as f64;
        assert!((m - mean).abs() < 0.08 * mean, "{dist}: mean task {m}, expected about {mean}");
    }
}

#[test]
fn evaluation_every_rounds_and_the_final_row() {
    let yaml = "name: every\ndata: { dataset: iris }\nclients: { count: 4 }\nmodel: { kind: softmax_regression }\nstop: { rounds: 7 }\nevaluation: { every_rounds: 3 }\n";
    let ran = run_yaml(yaml, 1);
    let rounds: Vec<u64> = ran.result.rows.iter().map(|r| r.round).collect();
    // 0, every third version, and the last version even off the cadence.
    assert_eq!(rounds, [0, 3, 6, 7]);
    assert_eq!(ran.events_of("evaluate").len(), 4);
    // Counts since the previous row add up over the run.
    let dispatched: u64 = ran.result.rows.iter().map(|r| r.clients_selected).sum();
    assert_eq!(dispatched, 7 * 4);
}

#[test]
fn server_network_from_yaml_and_set() {
    use fedsim::scenario::{load_str, Delay, Override, ServerNetwork};
    let src = std::path::Path::new("server.yaml");
    let plain = "name: s\ndata: { dataset: iris }\nclients: { count: 4 }\n";
    assert!(load_str(plain, src, &[]).unwrap().server.network.is_unlimited());
    let set = [Override::new("server.network.up_mbps", "10")];
    assert_eq!(
        load_str(plain, src, &set).unwrap().server.network,
        ServerNetwork { up_mbps: 10.0, ..ServerNetwork::default() }
    );
    let given =
        format!("{plain}server: {{ network: {{ up_mbps: 1, down_mbps: 2, latency: {{ dist: constant, ms: 5 }} }} }}\n");
    let s = load_str(&given, src, &set).unwrap();
    assert_eq!(s.server.network, ServerNetwork { up_mbps: 10.0, down_mbps: 2.0, latency: Delay::Constant { ms: 5.0 } });
}

/// The server's link end to end: four ideal clients share the server's
/// 1 Mbit/s uplink for their downloads and its 2 Mbit/s downlink for their
/// uploads, and every message adds the server's 5 ms. Iris softmax
/// regression has 4 * 3 + 3 = 15 parameters: 60 bytes, 480 bits each way.
#[test]
fn server_link_is_shared_by_concurrent_transfers() {
    let yaml = "name: server\nseed: 1\ndata: { dataset: iris }\nclients: { count: 4 }\nmodel: { kind: softmax_regression }\nstrategy: { kind: fedavg, clients_per_round: 4 }\nserver: { network: { up_mbps: 1, down_mbps: 2, latency: { dist: constant, ms: 5 } } }\nstop: { rounds: 1 }\n";
    let ran = run_yaml(yaml, 1);
    let bits = 4.0 * 480.0;
    let expected = 0.005 + bits / 1e6 + bits / 2e6 + 0.005;
    let got = ran.result.summary.virtual_time_s;
    assert!((got - expected).abs() < 1e-6, "one round took {got} s, expected {expected} s");
}
