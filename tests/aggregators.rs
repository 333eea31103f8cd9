//! Aggregators on the vectors of the acceptance criteria:
//! [1,2,3,4] (n=10), [2,-1,0.5,4] (n=20), [-1,0,2.5,10] (n=70).

use fedsim::strategy::{FedAvg, Robust, Rule, Schedule, ServerOptimizer, ServerRule, Strategy, Update};
use std::sync::Arc;

const ROUNDS: Schedule = Schedule::Rounds { clients_per_round: 3, over_selection: 1.0, deadline: None, poisson: false };

fn fold_all(s: &mut dyn Strategy, start: &[f64]) -> Vec<f64> {
    let base = Arc::new(start.to_vec());
    for (n, params) in
        [(10, vec![1.0, 2.0, 3.0, 4.0]), (20, vec![2.0, -1.0, 0.5, 4.0]), (70, vec![-1.0, 0.0, 2.5, 10.0])]
    {
        s.fold(Update { client: 0, samples: n, params, base: base.clone(), base_version: 0, staleness: 0 });
    }
    let mut g = start.to_vec();
    assert_eq!(s.aggregate(&mut g), 3);
    g
}

fn assert_close(a: &[f64], b: &[f64], tol: f64) {
    assert_eq!(a.len(), b.len());
    for (x, y) in a.iter().zip(b) {
        assert!((x - y).abs() <= tol, "{a:?} != {b:?}");
    }
}

#[test]
fn fedavg_is_the_sample_weighted_mean() {
    assert_close(&fold_all(&mut FedAvg::new(ROUNDS), &[0.0; 4]), &[-0.2, 0.0, 2.15, 8.2], 1e-12);
}

#[test]
fn median_is_coordinate_wise() {
    assert_close(&fold_all(&mut Robust::new("fedmedian", ROUNDS, Rule::Median), &[0.0; 4]), &[1.0, 0.0, 2.5, 4.0], 0.0);
}

/// The middle value of an odd count (here the third of five, which no
/// count of three tells from the second), the mean of the two middle
/// values of an even one.
#[test]
fn the_median_of_odd_and_even_counts() {
    assert_eq!(fedsim::strategy::median(&mut [5.0, 1.0, 4.0, 2.0, 3.0]), 3.0);
    assert_eq!(fedsim::strategy::median(&mut [7.0]), 7.0);
    assert_eq!(fedsim::strategy::median(&mut [4.0, 1.0, 3.0, 2.0]), 2.5);
    assert_eq!(fedsim::strategy::median(&mut [9.0, -1.0]), 4.0);
}

#[test]
fn krum_with_no_byzantine_picks_the_most_central() {
    let krum = Rule::Krum { byzantine: 0, keep: 1 };
    assert_close(&fold_all(&mut Robust::new("krum", ROUNDS, krum), &[0.0; 4]), &[1.0, 2.0, 3.0, 4.0], 0.0);
    // Multi-Krum keeping two averages [1,2,3,4] and [2,-1,0.5,4].
    let multi = Rule::Krum { byzantine: 0, keep: 2 };
    assert_close(&fold_all(&mut Robust::new("multikrum", ROUNDS, multi), &[0.0; 4]), &[1.5, 0.5, 1.75, 4.0], 1e-12);
}

/// beta * n = 1.5 cuts floor(1.5) = 1 value at each end, not 2.
#[test]
fn a_fractional_trim_rounds_down() {
    let mut xs = [100.0, 0.0, 10.0, 2.0, 1.0];
    assert!((fedsim::strategy::trimmed_mean(&mut xs, 0.3) - 13.0 / 3.0).abs() < 1e-12);
    // At most (n - 1) / 2 per end: something always stays.
    let mut xs = [5.0, 1.0, 3.0, 2.0];
    assert!((fedsim::strategy::trimmed_mean(&mut xs, 0.49) - 2.5).abs() < 1e-12);
    // Called directly with half or more (a scenario cannot ask for it):
    // floor(0.5 x 4) = 2 per end would leave nothing; the cap keeps 2.
    for beta in [0.5, 0.9] {
        let mut xs = [5.0, 1.0, 3.0, 2.0];
        assert_eq!(fedsim::strategy::trimmed_mean(&mut xs, beta), 2.5, "beta {beta}");
    }
}

#[test]
fn trimmed_mean_drops_the_extremes() {
    // beta 1/3 of 3 values drops one at each end: the median.
    let t = Rule::TrimmedMean { beta: 1.0 / 3.0 };
    assert_close(&fold_all(&mut Robust::new("trimmed_mean", ROUNDS, t), &[0.0; 4]), &[1.0, 0.0, 2.5, 4.0], 1e-12);
    // beta 0 is the unweighted mean.
    let t = Rule::TrimmedMean { beta: 0.0 };
    assert_close(
        &fold_all(&mut Robust::new("trimmed_mean", ROUNDS, t), &[0.0; 4]),
        &[2.0 / 3.0, 1.0 / 3.0, 2.0, 6.0],
        1e-12,
    );
}

#[test]
fn fedadagrad_steps_by_eta_times_the_sign_on_its_first_round() {
    let mut s = ServerOptimizer::new("fedadagrad", ROUNDS, ServerRule::Adagrad { beta1: 0.0 }, 0.1, 1e-9);
    assert_close(&fold_all(&mut s, &[0.5, -0.5, 1.0, 0.0]), &[0.4, -0.4, 1.1, 0.1], 1e-9);
}

#[test]
fn fedavgm_with_zero_momentum_and_unit_rate_is_fedavg() {
    let mut s = ServerOptimizer::new("fedavgm", ROUNDS, ServerRule::Momentum { momentum: 0.0 }, 1.0, 0.0);
    assert_close(&fold_all(&mut s, &[0.5, -0.5, 1.0, 0.0]), &[-0.2, 0.0, 2.15, 8.2], 1e-12);
}

#[test]
fn fedadam_first_step_is_damped_by_one_minus_beta1() {
    // m = 0.1 delta, v = 0.01 delta^2: step = eta * 0.1 |delta| / (0.1 |delta| + tau) ~ eta * sign.
    let mut s = ServerOptimizer::new("fedadam", ROUNDS, ServerRule::Adam { beta1: 0.9, beta2: 0.99 }, 0.1, 1e-9);
    assert_close(&fold_all(&mut s, &[0.5, -0.5, 1.0, 0.0]), &[0.4, -0.4, 1.1, 0.1], 1e-6);
    // Yogi's v from zero: v = (1 - beta2) delta^2, the same first step as Adam.
    let mut y = ServerOptimizer::new("fedyogi", ROUNDS, ServerRule::Yogi { beta1: 0.9, beta2: 0.99 }, 0.1, 1e-9);
    assert_close(&fold_all(&mut y, &[0.5, -0.5, 1.0, 0.0]), &[0.4, -0.4, 1.1, 0.1], 1e-6);
}
