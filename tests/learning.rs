//! The shipped scenarios learn what they promise.

mod common;
use common::run_file;

#[test]
fn quickstart_reaches_090() {
    let ran = run_file("scenarios/quickstart.yaml", 2, &[]);
    let acc = ran.result.summary.final_accuracy;
    assert!(acc >= 0.90, "quickstart final accuracy {acc}");
}

#[test]
fn hospitals_reaches_093() {
    let ran = run_file("scenarios/hospitals.yaml", 2, &[]);
    let acc = ran.result.summary.final_accuracy;
    assert!(acc >= 0.93, "hospitals final accuracy {acc}");
}

/// `data.synthetic.per_client`: 200 clients, each its own LEAF source made
/// on demand, learn a global model well above chance (the test set's
/// majority class) from YAML end to end. Under LEAF's law every source has
/// its own random model, so what a global model can learn is to tell the
/// sources apart by their feature means and predict each one's usual
/// labels; that takes enough features (LEAF's 60; with 5 a global model
/// stays at chance). The test set holds fresh rows of the same 200 sources,
/// so a test set drawn from other sources than the clients' would fail here.
#[test]
fn per_client_synthetic_learns_above_chance() {
    let yaml = r#"
name: per-client
seed: 7
data:
  dataset: synthetic
  synthetic: { features: 60, classes: 3, samples: 10000, per_client: true }
  partition: { kind: quantity_skew, sigma: 1.0 }
clients: { count: 200 }
model: { kind: softmax_regression }
training: { local_epochs: 2, batch_size: 10, learning_rate: 0.1 }
strategy: { kind: fedavg, clients_per_round: 20 }
stop: { rounds: 100 }
"#;
    let ran = common::run_yaml(yaml, 2);
    let support: Vec<f64> = ran.result.classes().iter().map(|(_, s)| s.support as f64).collect();
    let total: f64 = support.iter().sum();
    // K = 200 sources, 10,000 train rows: ceil(10000 * 0.2 / 0.8) test rows
    assert_eq!(total, 2500.0);
    let chance = support.iter().cloned().fold(0.0, f64::max) / total;
    let acc = ran.result.summary.final_accuracy;
    eprintln!("per-client accuracy {acc}, chance {chance}");
    assert!(acc > chance + 0.1, "accuracy {acc} vs chance {chance}");
    assert_eq!(ran.result.summary.clients, 200);
}
