use super::*;

fn ds(x: &[&[f32]], y: &[u32], n_classes: usize) -> Dataset {
    Dataset { x: x.concat(), y: y.to_vec(), n_features: x[0].len(), n_classes }
}

fn cfg(batch_size: usize, lr: f64) -> LocalTraining {
    LocalTraining {
        epochs: 1,
        batch_size,
        learning_rate: lr,
        shuffle: false,
        weight_decay: 0.0,
        prox_mu: 0.0,
        optimizer: OptimizerSpec::Sgd,
    }
}

fn close(a: &[f64], b: &[f64], tol: f64) -> bool {
    a.len() == b.len() && a.iter().zip(b).all(|(x, y)| (x - y).abs() <= tol)
}

fn all_rows(d: &Dataset) -> Vec<u32> {
    (0..d.rows() as u32).collect()
}

#[test]
fn param_counts_and_layouts() {
    let soft = Architecture::new(&ModelSpec::SoftmaxRegression, 64, 10).unwrap();
    assert_eq!(soft.param_count(), 650);
    assert_eq!(soft.layer_ranges(), vec![(0..640, 640..650)]);
    let logi = Architecture::new(&ModelSpec::LogisticRegression, 30, 2).unwrap();
    assert_eq!(logi.param_count(), 31);
    let mlp = Architecture::new(&ModelSpec::Mlp { hidden: vec![32, 16] }, 64, 10).unwrap();
    assert_eq!(mlp.param_count(), 64 * 32 + 32 + 32 * 16 + 16 + 16 * 10 + 10);
    assert_eq!(mlp.layer_ranges()[1], (2080..2592, 2592..2608));
}

#[test]
fn bad_shapes_are_clear_errors() {
    let e = Architecture::new(&ModelSpec::LogisticRegression, 4, 3).unwrap_err();
    assert!(e.to_string().starts_with("model.kind: logistic_regression needs exactly 2 classes"), "{e}");
    let e = Architecture::new(&ModelSpec::Mlp { hidden: vec![4, 0] }, 4, 3).unwrap_err();
    assert_eq!(e.to_string(), "model.hidden[1]: a hidden layer needs at least one unit");
}

#[test]
fn init_zeros_and_seeded_mlp() {
    let mut rng = SeedTree::new(1).stream();
    let soft = Architecture::new(&ModelSpec::SoftmaxRegression, 4, 3).unwrap();
    assert!(soft.init(&mut rng).iter().all(|&v| v == 0.0));
    let mlp = Architecture::new(&ModelSpec::Mlp { hidden: vec![8] }, 4, 3).unwrap();
    let a = mlp.init(&mut SeedTree::new(1).stream());
    let b = mlp.init(&mut SeedTree::new(1).stream());
    let c = mlp.init(&mut SeedTree::new(2).stream());
    assert_eq!(a, b);
    assert_ne!(a, c);
    for (w, bias) in mlp.layer_ranges() {
        assert!(a[w].iter().all(|&v| v != 0.0));
        assert!(a[bias].iter().all(|&v| v == 0.0));
    }
    // He: std sqrt(2/4) into the hidden layer; Glorot bound sqrt(6/11) out
    assert!(a[32 + 8..32 + 8 + 24].iter().all(|v| v.abs() <= (6.0f64 / 11.0).sqrt()));
}

#[test]
fn softmax_step_by_hand() {
    let arch = Architecture::new(&ModelSpec::SoftmaxRegression, 2, 2).unwrap();
    let data = ds(&[&[1.0, 2.0], &[0.0, 1.0]], &[0, 1], 2);
    // one row: p = (.5, .5), d = (-.5, .5); W -= 0.1 * x d^T, b -= 0.1 * d
    let mut p = vec![0.0; 6];
    arch.train(&mut p, &data, &[0], &cfg(32, 0.1), 0);
    assert!(close(&p, &[0.05, -0.05, 0.1, -0.1, 0.05, -0.05], 1e-15), "{p:?}");
    // both rows in one batch: the batch MEAN of the gradients
    // gW = [1,2]^T(-.5,.5) + [0,1]^T(.5,-.5) = [[-.5,.5],[-.5,.5]], gb = 0
    let mut p = vec![0.0; 6];
    arch.train(&mut p, &data, &[0, 1], &cfg(32, 0.1), 0);
    assert!(close(&p, &[0.025, -0.025, 0.025, -0.025, 0.0, 0.0], 1e-15), "{p:?}");
    // batch 1: two consecutive steps, the second from the first's result
    let mut p = vec![0.0; 6];
    arch.train(&mut p, &data, &[0, 1], &cfg(1, 0.1), 0);
    // row 1, x = (0, 1): z = W[1,:] + b = (0.1 + 0.05, -0.1 - 0.05)
    let (z0, z1) = (0.15f64, -0.15f64);
    let s1 = z1.exp() / (z0.exp() + z1.exp());
    let d = [1.0 - s1, s1 - 1.0]; // softmax - onehot(1)
    let want = [0.05, -0.05, 0.1 - 0.1 * d[0], -0.1 - 0.1 * d[1], 0.05 - 0.1 * d[0], -0.05 - 0.1 * d[1]];
    assert!(close(&p, &want, 1e-15), "{p:?} vs {want:?}");
}

#[test]
fn weight_decay_spares_biases_and_prox_pulls_to_anchor() {
    let arch = Architecture::new(&ModelSpec::SoftmaxRegression, 1, 2).unwrap();
    // x = 0: the data gradient of W is zero, so only the penalties move W
    let data = ds(&[&[0.0]], &[0], 2);
    let mut c = cfg(1, 1.0);
    c.weight_decay = 0.1;
    let mut p = vec![2.0, -1.0, 0.0, 0.0];
    arch.train(&mut p, &data, &[0], &c, 0);
    assert!(close(&p, &[1.8, -0.9, 0.5, -0.5], 1e-15), "{p:?}");
    // prox: zero at the first step (params == anchor), then mu * (b - b0)
    let mut c = cfg(1, 1.0);
    c.prox_mu = 0.5;
    c.epochs = 2;
    let mut p = vec![2.0, -1.0, 0.0, 0.0];
    arch.train(&mut p, &data, &[0], &c, 0);
    let s = 1.0 / (1.0 + (-1.0f64).exp()); // softmax(0.5, -0.5)[0]
    let want = [2.0, -1.0, 0.5 - (s - 1.0) - 0.25, -0.5 - (1.0 - s) + 0.25];
    assert!(close(&p, &want, 1e-15), "{p:?} vs {want:?}");
}

/// The step of one full batch with lr 1 is minus the mean-loss gradient:
/// check it against central finite differences of `evaluate().loss`.
fn check_gradient(arch: &Architecture, p0: &[f64], data: &Dataset) {
    let rows = all_rows(data);
    let mut p = p0.to_vec();
    arch.train(&mut p, data, &rows, &cfg(rows.len(), 1.0), 0);
    let analytic: Vec<f64> = p0.iter().zip(&p).map(|(a, b)| a - b).collect();
    let h = 1e-6;
    for i in 0..p0.len() {
        let mut plus = p0.to_vec();
        plus[i] += h;
        let mut minus = p0.to_vec();
        minus[i] -= h;
        let numeric = (arch.evaluate(&plus, data).loss - arch.evaluate(&minus, data).loss) / (2.0 * h);
        assert!((numeric - analytic[i]).abs() < 1e-7, "param {i}: numeric {numeric} vs analytic {}", analytic[i]);
    }
}

fn toy(n_features: usize, n_classes: usize, rows: usize, seed: u64) -> Dataset {
    use rand::RngExt;
    let mut rng = SeedTree::new(seed).stream();
    let x = (0..rows * n_features).map(|_| (rng.random::<f64>() * 2.0 - 1.0) as f32).collect();
    let y = (0..rows).map(|_| rng.random_range(0..n_classes as u32)).collect();
    Dataset { x, y, n_features, n_classes }
}

#[test]
fn gradients_match_finite_differences() {
    let data = toy(3, 4, 7, 1);
    let soft = Architecture::new(&ModelSpec::SoftmaxRegression, 3, 4).unwrap();
    let p0: Vec<f64> = (0..soft.param_count()).map(|i| (i as f64 * 0.37).sin()).collect();
    check_gradient(&soft, &p0, &data);

    // more classes than the compile-time specialisations cover
    let wide = toy(3, 17, 9, 6);
    let soft17 = Architecture::new(&ModelSpec::SoftmaxRegression, 3, 17).unwrap();
    let p0: Vec<f64> = (0..soft17.param_count()).map(|i| (i as f64 * 0.11).cos()).collect();
    check_gradient(&soft17, &p0, &wide);

    let data2 = toy(3, 2, 7, 2);
    let logi = Architecture::new(&ModelSpec::LogisticRegression, 3, 2).unwrap();
    check_gradient(&logi, &[0.3, -0.8, 0.5, 0.1], &data2);

    let mlp = Architecture::new(&ModelSpec::Mlp { hidden: vec![5, 4] }, 3, 4).unwrap();
    let p0 = mlp.init(&mut SeedTree::new(3).stream());
    let p0: Vec<f64> = p0.iter().enumerate().map(|(i, v)| v + 0.05 * (i as f64).cos()).collect();
    check_gradient(&mlp, &p0, &data);
}

#[test]
fn logistic_learns_a_separable_set() {
    let arch = Architecture::new(&ModelSpec::LogisticRegression, 1, 2).unwrap();
    let data = ds(&[&[-2.0], &[-1.0], &[-0.5], &[0.5], &[1.0], &[2.0]], &[0, 0, 0, 1, 1, 1], 2);
    let mut p = arch.init(&mut SeedTree::new(0).stream());
    // zero params: p = 0.5 everywhere, a tie, predicted as class 0
    assert_eq!(arch.predict(&p, &data), vec![0; 6]);
    let e0 = arch.evaluate(&p, &data);
    assert!((e0.loss - 2f64.ln()).abs() < 1e-15);
    let mut c = cfg(2, 0.5);
    c.epochs = 100;
    arch.train(&mut p, &data, &all_rows(&data), &c, 0);
    let e = arch.evaluate(&p, &data);
    assert_eq!(e.accuracy, 1.0);
    assert_eq!(e.macro_f1, 1.0);
    assert!(e.loss < 0.1, "{e:?}");
    assert!(p[0] > 0.0);
    assert_eq!(e.per_class[1].support, 3);
}

#[test]
fn mlp_loss_decreases() {
    let data = toy(4, 3, 60, 7);
    let arch = Architecture::new(&ModelSpec::Mlp { hidden: vec![16] }, 4, 3).unwrap();
    let mut p = arch.init(&mut SeedTree::new(5).stream());
    let before = arch.evaluate(&p, &data).loss;
    let mut c = cfg(8, 0.1);
    c.epochs = 200;
    c.shuffle = true;
    arch.train(&mut p, &data, &all_rows(&data), &c, 9);
    let after = arch.evaluate(&p, &data);
    assert!(after.loss < 0.7 * before, "{before} -> {}", after.loss);
    assert!(after.accuracy > 0.6, "{after:?}");
}

#[test]
fn zero_rows_leave_params_and_shuffle_is_seeded() {
    let data = toy(3, 4, 40, 2);
    let arch = Architecture::new(&ModelSpec::SoftmaxRegression, 3, 4).unwrap();
    let p0: Vec<f64> = (0..16).map(|i| i as f64 * 0.1).collect();
    let mut p = p0.clone();
    arch.train(&mut p, &data, &[], &cfg(4, 0.1), 0);
    assert_eq!(p, p0);
    let mut c = cfg(4, 0.1);
    c.shuffle = true;
    c.epochs = 3;
    let run = |seed| {
        let mut p = p0.clone();
        arch.train(&mut p, &data, &all_rows(&data), &c, seed);
        p
    };
    assert_eq!(run(1), run(1));
    assert_ne!(run(1), run(2));
    // no shuffle: the row order given is the batch order
    let mut fwd = p0.clone();
    arch.train(&mut fwd, &data, &all_rows(&data), &cfg(4, 0.1), 0);
    let mut rev = p0.clone();
    let mut rows = all_rows(&data);
    rows.reverse();
    arch.train(&mut rev, &data, &rows, &cfg(4, 0.1), 0);
    assert_ne!(fwd, rev);
}

#[test]
fn evaluation_ties_go_to_the_lowest_class() {
    let data = toy(3, 4, 20, 4);
    let arch = Architecture::new(&ModelSpec::SoftmaxRegression, 3, 4).unwrap();
    let p = vec![0.0; arch.param_count()];
    let e = arch.evaluate(&p, &data);
    assert_eq!(arch.predict(&p, &data), vec![0; 20]);
    assert!((e.loss - 4f64.ln()).abs() < 1e-15);
    let zeros = data.y.iter().filter(|&&y| y == 0).count();
    assert_eq!(e.accuracy, zeros as f64 / 20.0);
    assert_eq!(e.per_class.len(), 4);
}

// ------------------------------------------------------ local optimisers

fn with_optimizer(optimizer: OptimizerSpec, lr: f64) -> LocalTraining {
    LocalTraining { optimizer, ..cfg(1, lr) }
}

/// Three rows of 2 features, 2 classes; batch 1 and no shuffle make three
/// steps, on rows 0, 1, 2 in turn.
fn three_rows() -> (Dataset, [([f64; 2], usize); 3]) {
    let rows = [([1.0, 2.0], 0), ([0.0, 1.0], 1), ([1.0, -1.0], 1)];
    let data = ds(&[&[1.0, 2.0], &[0.0, 1.0], &[1.0, -1.0]], &[0, 1, 1], 2);
    (data, rows)
}

/// Softmax regression's gradient of one row, by hand: `z = b + x W`,
/// `d = softmax(z) - onehot(y)`, `gW = x d^T`, `gb = d` (W row-major 2x2,
/// then b).
fn grad_by_hand(p: &[f64], x: [f64; 2], y: usize) -> [f64; 6] {
    let z = [p[4] + x[0] * p[0] + x[1] * p[2], p[5] + x[0] * p[1] + x[1] * p[3]];
    let e = [z[0].exp(), z[1].exp()];
    let mut d = [e[0] / (e[0] + e[1]), e[1] / (e[0] + e[1])];
    d[y] -= 1.0;
    [x[0] * d[0], x[0] * d[1], x[1] * d[0], x[1] * d[1], d[0], d[1]]
}

#[test]
fn momentum_steps_by_hand() {
    let arch = Architecture::new(&ModelSpec::SoftmaxRegression, 2, 2).unwrap();
    let (data, rows) = three_rows();
    let (lr, beta, wd, mu) = (0.1, 0.9, 0.1, 0.5);
    let mut c = with_optimizer(OptimizerSpec::Momentum { beta, keep_state: false }, lr);
    c.weight_decay = wd;
    c.prox_mu = mu;

    // Step 1 from zero: row 0 gives p = (.5, .5), d = (-.5, .5), so
    // g = x d^T, d; decay and prox are zero at p = anchor = 0; v = g.
    let mut p = vec![0.0; 6];
    arch.train(&mut p, &data, &[0], &c, 0);
    assert!(close(&p, &[0.05, -0.05, 0.1, -0.1, 0.05, -0.05], 1e-15), "{p:?}");

    // Three steps: d = g + wd * w (weights only) + mu * (p - 0);
    // v = beta v + d; p -= lr v.
    let mut want = [0.0f64; 6];
    let mut v = [0.0f64; 6];
    for (x, y) in rows {
        let g = grad_by_hand(&want, x, y);
        for i in 0..6 {
            let decay = if i < 4 { wd * want[i] } else { 0.0 };
            let d = g[i] + decay + mu * want[i];
            v[i] = beta * v[i] + d;
            want[i] -= lr * v[i];
        }
    }
    let mut p = vec![0.0; 6];
    let mut state = OptimizerState::default();
    arch.train_with(&mut p, &data, &[0, 1, 2], &c, 0, &mut state);
    assert!(close(&p, &want, 1e-14), "{p:?} vs {want:?}");
    assert!(close(&state.m, &v, 1e-14), "{:?} vs {v:?}", state.m);
    assert_eq!(state.steps, 3);
    assert!(state.v.is_empty(), "momentum keeps one vector");
}

#[test]
fn adam_steps_by_hand() {
    let arch = Architecture::new(&ModelSpec::SoftmaxRegression, 2, 2).unwrap();
    let (data, rows) = three_rows();
    let (lr, b1, b2, eps) = (0.01, 0.9, 0.999, 1e-8);
    let c = with_optimizer(OptimizerSpec::Adam { beta1: b1, beta2: b2, eps, keep_state: false }, lr);

    // Step 1: m = (1 - b1) g, v = (1 - b2) g^2, so the corrected moments
    // are g and g^2 and the step is lr * g / (|g| + eps): about lr per
    // coordinate, whatever the gradient's size.
    let g1 = [-0.5, 0.5, -1.0, 1.0, -0.5, 0.5];
    let mut p = vec![0.0; 6];
    arch.train(&mut p, &data, &[0], &c, 0);
    let want1: Vec<f64> = g1.iter().map(|g: &f64| -lr * g / (g.abs() + eps)).collect();
    assert!(close(&p, &want1, 1e-17), "{p:?} vs {want1:?}");
    assert!(close(&p, &[0.01, -0.01, 0.01, -0.01, 0.01, -0.01], 1e-9), "{p:?}");

    // Three steps, t = 1, 2, 3.
    let mut want = [0.0f64; 6];
    let (mut m, mut v) = ([0.0f64; 6], [0.0f64; 6]);
    for (t, (x, y)) in rows.into_iter().enumerate() {
        let t = (t + 1) as i32;
        let g = grad_by_hand(&want, x, y);
        for i in 0..6 {
            m[i] = b1 * m[i] + (1.0 - b1) * g[i];
            v[i] = b2 * v[i] + (1.0 - b2) * g[i] * g[i];
            let m_hat = m[i] / (1.0 - b1.powi(t));
            let v_hat = v[i] / (1.0 - b2.powi(t));
            want[i] -= lr * m_hat / (v_hat.sqrt() + eps);
        }
    }
    let mut p = vec![0.0; 6];
    let mut state = OptimizerState::default();
    arch.train_with(&mut p, &data, &[0, 1, 2], &c, 0, &mut state);
    assert!(close(&p, &want, 1e-14), "{p:?} vs {want:?}");
    assert!(close(&state.m, &m, 1e-15) && close(&state.v, &v, 1e-15), "{state:?}");
    assert_eq!(state.steps, 3);
}

#[test]
fn adam_decays_weights_not_biases() {
    let arch = Architecture::new(&ModelSpec::SoftmaxRegression, 1, 2).unwrap();
    // x = 0: the data gradient of W is zero, so only the decay moves W:
    // d = wd * w, and Adam's first step is lr * d / (|d| + eps).
    let data = ds(&[&[0.0]], &[0], 2);
    let (lr, wd, eps) = (0.01, 0.1, 1e-8);
    let mut c = with_optimizer(OptimizerSpec::Adam { beta1: 0.9, beta2: 0.999, eps, keep_state: false }, lr);
    c.weight_decay = wd;
    let mut p = vec![2.0, -1.0, 0.0, 0.0];
    arch.train(&mut p, &data, &[0], &c, 0);
    let step = |d: f64| lr * d / (d.abs() + eps);
    // biases: d = softmax(0, 0) - onehot(0) = (-.5, .5), no decay
    let want = [2.0 - step(wd * 2.0), -1.0 - step(-wd), -step(-0.5), -step(0.5)];
    assert!(close(&p, &want, 1e-16), "{p:?} vs {want:?}");
}

/// A kept state continues where the last task left off: two one-epoch
/// tasks from one state are one two-epoch task (no shuffle, no prox);
/// a fresh state at each task is not.
#[test]
fn kept_state_continues_across_tasks() {
    let data = toy(3, 4, 20, 11);
    let rows = all_rows(&data);
    let arch = Architecture::new(&ModelSpec::Mlp { hidden: vec![6] }, 3, 4).unwrap();
    let p0 = arch.init(&mut SeedTree::new(4).stream());
    for optimizer in [
        OptimizerSpec::Momentum { beta: 0.9, keep_state: true },
        OptimizerSpec::Adam { beta1: 0.9, beta2: 0.999, eps: 1e-8, keep_state: true },
    ] {
        let mut c = LocalTraining { optimizer, ..cfg(4, 0.01) };
        let mut kept = p0.clone();
        let mut state = OptimizerState::default();
        arch.train_with(&mut kept, &data, &rows, &c, 0, &mut state);
        arch.train_with(&mut kept, &data, &rows, &c, 0, &mut state);
        assert_eq!(state.steps, 10);
        let mut fresh = p0.clone();
        arch.train(&mut fresh, &data, &rows, &c, 0);
        arch.train(&mut fresh, &data, &rows, &c, 0);
        c.epochs = 2;
        let mut once = p0.clone();
        arch.train(&mut once, &data, &rows, &c, 0);
        assert_eq!(kept, once, "{optimizer:?}");
        assert_ne!(fresh, once, "{optimizer:?}");
    }
}

/// Momentum with beta 0 is SGD, bit for bit.
#[test]
fn momentum_zero_is_sgd() {
    let data = toy(3, 4, 20, 12);
    let rows = all_rows(&data);
    let arch = Architecture::new(&ModelSpec::Mlp { hidden: vec![5] }, 3, 4).unwrap();
    let p0 = arch.init(&mut SeedTree::new(5).stream());
    let mut c = cfg(3, 0.05);
    c.weight_decay = 0.01;
    let mut sgd = p0.clone();
    arch.train(&mut sgd, &data, &rows, &c, 0);
    c.optimizer = OptimizerSpec::Momentum { beta: 0.0, keep_state: false };
    let mut mom = p0.clone();
    arch.train(&mut mom, &data, &rows, &c, 0);
    assert_eq!(sgd, mom);
}
