//! The arithmetic of `../shared/bench/WORKLOAD.md` without the simulator:
//! `data::load` of the parity CSV, `Architecture::train` per client, a
//! plain sample-weighted average, and `Architecture::evaluate`, checked
//! against the float64 reference numbers.

use std::path::PathBuf;

use fedsim::data::{self, FederatedData};
use fedsim::model::{Architecture, LocalTraining};
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
    let arch = Architecture::new(&ModelSpec::SoftmaxRegression, fd.train.n_features, fd.train.n_classes).unwrap();
    let cfg = LocalTraining {
        epochs: 1,
        batch_size: 32,
        learning_rate: 0.1,
        shuffle: false,
        weight_decay: 0.0,
        prox_mu: 0.0,
    };
    let total: usize = fd.partition.iter().map(|p| p.len()).sum();
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
        for (k, rows) in fd.partition.iter().enumerate() {
            local.copy_from_slice(&global);
            arch.train(&mut local, &fd.train, rows, &cfg, k as u64);
            let w = rows.len() as f64 / total as f64;
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
    assert_eq!(fd.train.rows(), 1437);
    assert_eq!(fd.test.rows(), 360);
    assert_eq!((fd.train.n_features, fd.train.n_classes), (64, 10));
    assert_eq!(fd.class_names, (0..10).map(|c| c.to_string()).collect::<Vec<_>>());
    assert_eq!(fd.partition[0][..3], [0, 10, 20]);
    assert_eq!(fd.partition.iter().map(|p| p.len()).sum::<usize>(), 1437);

    let evals = fedavg(&fd, 50);
    let check = |round: usize, loss: f64, correct: f64| {
        let (l, c) = evals[round];
        assert!((l - loss).abs() < 1e-9, "round {round}: loss {l:.17} vs {loss:.17} (diff {:e})", l - loss);
        assert!((c - correct).abs() < 1e-9, "round {round}: {c} correct vs {correct}");
        eprintln!("round {round}: loss {l:.17} (reference {loss:.17}, diff {:e}), {c}/360", l - loss);
    };
    check(0, 2.302585092994046, 31.0);
    check(1, 2.2084153963744688, 270.0);
    check(50, 0.6188840533979704, 336.0);
}

/// A bare loop of the workload's local training, the yardstick for
/// `Architecture::train` (same math, written out flat).
fn bare_round(fd: &FederatedData, global: &[f64], next: &mut [f64], local: &mut [f64], g: &mut [f64]) {
    let (f, c) = (fd.train.n_features, fd.train.n_classes);
    let total: usize = fd.partition.iter().map(|p| p.len()).sum();
    let mut z = [0.0f64; 64];
    next.fill(0.0);
    for rows in &fd.partition {
        local.copy_from_slice(global);
        for batch in rows.chunks(32) {
            g.fill(0.0);
            for &r in batch {
                let r = r as usize;
                let x = &fd.train.x[r * f..(r + 1) * f];
                for k in 0..c {
                    z[k] = local[f * c + k];
                }
                for j in 0..f {
                    for k in 0..c {
                        z[k] += x[j] * local[j * c + k];
                    }
                }
                let max = z[..c].iter().cloned().fold(f64::NEG_INFINITY, f64::max);
                let mut s = 0.0;
                for k in 0..c {
                    z[k] = (z[k] - max).exp();
                    s += z[k];
                }
                for k in 0..c {
                    z[k] /= s;
                }
                z[fd.train.y[r] as usize] -= 1.0;
                for j in 0..f {
                    for k in 0..c {
                        g[j * c + k] += x[j] * z[k];
                    }
                }
                for k in 0..c {
                    g[f * c + k] += z[k];
                }
            }
            let m = batch.len() as f64;
            for (p, gi) in local.iter_mut().zip(g.iter()) {
                *p -= 0.1 * (gi / m);
            }
        }
        let w = rows.len() as f64 / total as f64;
        for (n, l) in next.iter_mut().zip(local.iter()) {
            *n += w * l;
        }
    }
}

/// `cargo test --release --test parity_math -- --ignored --nocapture`:
/// wall time of `Architecture::train` against the bare loop above.
#[test]
#[ignore]
fn train_speed_against_a_bare_loop() {
    use std::time::Instant;
    for n in [10, 100, 1000] {
        let fd = parity_data(n);
        let arch = Architecture::new(&ModelSpec::SoftmaxRegression, 64, 10).unwrap();
        let cfg = LocalTraining {
            epochs: 1,
            batch_size: 32,
            learning_rate: 0.1,
            shuffle: false,
            weight_decay: 0.0,
            prox_mu: 0.0,
        };
        let total: usize = fd.partition.iter().map(|p| p.len()).sum();
        let rounds = 300;
        let (mut ga, mut na, mut la) = (vec![0.0; 650], vec![0.0; 650], vec![0.0; 650]);
        let (mut gb, mut nb, mut lb, mut scratch) = (vec![0.0; 650], vec![0.0; 650], vec![0.0; 650], vec![0.0; 650]);
        let mut t_ours = 0.0;
        let mut t_bare = 0.0;
        for _ in 0..rounds {
            let t = Instant::now();
            na.fill(0.0);
            for (k, rows) in fd.partition.iter().enumerate() {
                la.copy_from_slice(&ga);
                arch.train(&mut la, &fd.train, rows, &cfg, k as u64);
                let w = rows.len() as f64 / total as f64;
                for (x, l) in na.iter_mut().zip(&la) {
                    *x += w * l;
                }
            }
            std::mem::swap(&mut ga, &mut na);
            t_ours += t.elapsed().as_secs_f64();
            let t = Instant::now();
            bare_round(&fd, &gb, &mut nb, &mut lb, &mut scratch);
            std::mem::swap(&mut gb, &mut nb);
            t_bare += t.elapsed().as_secs_f64();
        }
        let diff = ga.iter().zip(&gb).map(|(a, b)| (a - b).abs()).fold(0.0, f64::max);
        eprintln!(
            "N={n}: train {:.3} ms/round, bare {:.3} ms/round, ratio {:.3}, max |diff| {diff:e}",
            t_ours * 1e3 / rounds as f64,
            t_bare * 1e3 / rounds as f64,
            t_ours / t_bare
        );
        assert!(diff < 1e-9);
    }
}

/// `cargo test --release --test parity_math -- --ignored --nocapture`:
/// wall time of loading `scenarios/bench/synthetic_100k.yaml`'s data.
#[test]
#[ignore]
fn synthetic_scale_load_time() {
    use fedsim::scenario::checked::SyntheticSpec;
    let spec = DataSpec {
        source: DataSource::Synthetic(SyntheticSpec {
            features: 60,
            classes: 10,
            samples: 1_000_000,
            alpha: 1.0,
            beta: 1.0,
        }),
        test_fraction: 0.02,
        shuffle: true,
        normalize: Normalize::Standard,
        partition: Partition::Iid,
    };
    let mut bare = spec.clone();
    bare.shuffle = false;
    bare.normalize = Normalize::None;
    let t = std::time::Instant::now();
    drop(data::load(&bare, 100_000, SeedTree::new(1).child("data")).unwrap());
    eprintln!("without shuffle and scaling: {:.2} s", t.elapsed().as_secs_f64());
    let t = std::time::Instant::now();
    let fd = data::load(&spec, 100_000, SeedTree::new(1).child("data")).unwrap();
    eprintln!("synthetic 1e6 x 60, 1e5 sources: {:.2} s", t.elapsed().as_secs_f64());
    assert_eq!(fd.train.rows(), 980_000);
    assert_eq!(fd.partition.len(), 100_000);
    let counts = fd.train.class_counts();
    eprintln!("train class counts {counts:?}");
}
