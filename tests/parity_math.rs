//! The arithmetic of `../shared/bench/WORKLOAD.md` without the simulator:
//! `data::load` of the parity CSV, `Architecture::train` per client, a
//! plain sample-weighted average, and `Architecture::evaluate`, checked
//! against the float64 reference numbers.

// The reference numbers are quoted as published; the bare loop is written
// with plain indices on purpose.
#![allow(clippy::excessive_precision, clippy::needless_range_loop)]

use std::path::PathBuf;

use fedsim::data::{self, FederatedData};
use fedsim::model::{Architecture, LocalTraining, OptimizerSpec};
use fedsim::scenario::checked::{CsvSpec, DataSource, DataSpec, ModelSpec, Normalize, Partition};
use fedsim::sim::SeedTree;

fn parity_data(n_clients: usize) -> FederatedData {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("scenarios/bench/digits_shuffled_seed0.csv");
    let spec = DataSpec {
        source: DataSource::Csv(CsvSpec { path, label_column: "label".into() }),
        test_fraction: 0.2,
        shuffle: false,
        normalize: Normalize::None,
        partition: Partition::Iid,
    };
    data::load(&spec, n_clients, SeedTree::new(0).child("data")).expect("the parity CSV loads")
}

/// Runs `rounds` FedAvg rounds over every client; returns (loss, correct)
/// after each evaluation, round 0 first.
fn fedavg(fd: &FederatedData, rounds: usize) -> Vec<(f64, f64)> {
    let arch = Architecture::new(&ModelSpec::SoftmaxRegression, fd.n_features, fd.n_classes).unwrap();
    let cfg = LocalTraining {
        epochs: 1,
        batch_size: 32,
        learning_rate: 0.1,
        shuffle: false,
        weight_decay: 0.0,
        prox_mu: 0.0,
        optimizer: OptimizerSpec::Sgd,
    };
    let total = fd.clients.total_rows() as usize;
    let mut global = arch.init(&mut SeedTree::new(0).stream());
    let mut local = vec![0.0; global.len()];
    let mut next = vec![0.0; global.len()];
    let n_test = fd.test.rows() as f64;
    let eval = |g: &[f64]| {
        let e = arch.evaluate(g, &fd.test);
        (e.loss, e.accuracy * n_test)
    };
    let mut out = vec![eval(&global)];
    for _ in 0..rounds {
        next.fill(0.0);
        for k in 0..fd.clients.n_clients() as u32 {
            local.copy_from_slice(&global);
            fd.clients.with_client(k, |train, rows| arch.train(&mut local, train, rows, &cfg, k as u64));
            let w = fd.clients.samples(k) as f64 / total as f64;
            for (n, l) in next.iter_mut().zip(&local) {
                *n += w * l;
            }
        }
        std::mem::swap(&mut global, &mut next);
        out.push(eval(&global));
    }
    out
}

#[test]
fn digits_fedavg_n10_matches_the_float64_reference() {
    let fd = parity_data(10);
    assert_eq!(fd.clients.total_rows(), 1437);
    assert_eq!(fd.test.rows(), 360);
    assert_eq!((fd.n_features, fd.n_classes), (64, 10));
    assert_eq!(fd.class_names, (0..10).map(|c| c.to_string()).collect::<Vec<_>>());
    assert_eq!(fd.clients.with_client(0, |_, rows| rows[..3].to_vec()), [0, 10, 20]);
    assert_eq!((0..10).map(|k| fd.clients.samples(k)).sum::<usize>(), 1437);

    let evals = fedavg(&fd, 50);
    let check = |round: usize, loss: f64, correct: f64| {
        let (l, c) = evals[round];
        assert!((l - loss).abs() < 1e-9, "round {round}: loss {l:.17} vs {loss:.17} (diff {:e})", l - loss);
        assert!((c - correct).abs() < 1e-9, "round {round}: {c} correct vs {correct}");
        eprintln!("round {round}: loss {l:.17} (reference {loss:.17}, diff {:e}), {c}/360", l - loss);
    };
    check(0, std::f64::consts::LN_10, 31.0); // the reference's 2.302585092994046
    check(1, 2.2084153963744688, 270.0);
    check(50, 0.6188840533979704, 336.0);
}
