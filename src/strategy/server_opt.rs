//! Server optimisers on the averaged pseudo-gradient (Reddi et al. 2021,
//! "Adaptive Federated Optimization"): FedAvgM, FedAdagrad, FedAdam, FedYogi.
//!
//! Each round the sample-weighted mean of the client models gives the
//! pseudo-gradient `delta = mean - x`; the server then steps
//!
//! ```text
//! FedAvgM:    v = momentum * v + delta;               x = x + eta * v
//! others:     m = beta1 * m + (1 - beta1) * delta
//!   Adagrad:  v = v + delta^2
//!   Adam:     v = beta2 * v + (1 - beta2) * delta^2
//!   Yogi:     v = v - (1 - beta2) * delta^2 * sign(v - delta^2)
//!             x = x + eta * m / (sqrt(v) + tau)
//! ```
//!
//! No bias correction, as in Reddi et al.'s Algorithm 2 (and Flower up to
//! 1.12): the first steps are therefore damped by `1 - beta1` for Adam and
//! Yogi; `tau` bounds the step where `v` is tiny. `v` starts at zero.
//! `sign` is the paper's: 0 at 0 (numpy's `np.sign`, not `f64::signum`).
//!
//! `strategy.flower_compat` selects [`ServerRule::FlowerAdam`], Flower's
//! FedAdam since 1.13 (`framework/py/flwr/server/strategy/fedadam.py`):
//! the same moments, stepped with the bias-corrected rate
//! `eta * sqrt(1 - beta2^(r + 1)) / (1 - beta1^(r + 1))`, where `r` is
//! Flower's 1-based `server_round` (so the first round uses `r + 1 = 2`).
//! Flower's FedYogi, FedAdagrad and FedAvgM step exactly as the rules
//! above; only their defaults differ (`RawStrategy::flower_compat`).

use super::fedavg::FedAvg;
use super::saved::Name;
use super::{Schedule, Strategy, Update};
use serde::{Deserialize, Serialize};

/// Which rule the server applies to the pseudo-gradient.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub enum ServerRule {
    Momentum {
        momentum: f64,
    },
    Adagrad {
        beta1: f64,
    },
    Adam {
        beta1: f64,
        beta2: f64,
    },
    Yogi {
        beta1: f64,
        beta2: f64,
    },
    /// Flower's FedAdam (1.13 and later): Adam's moments with a
    /// bias-corrected step; `round` counts the rounds aggregated so far
    /// (empty ones included), Flower's `server_round - 1`.
    FlowerAdam {
        beta1: f64,
        beta2: f64,
        round: u64,
    },
}

/// The paper's `sign`: -1, 0 or +1 (`f64::signum` gives +1 at +0.0).
fn sign(x: f64) -> f64 {
    if x > 0.0 {
        1.0
    } else if x < 0.0 {
        -1.0
    } else {
        0.0
    }
}

/// Yogi's second moment: `v - (1 - beta2) d2 sign(v - d2)`.
fn yogi_v(v: f64, d2: f64, beta2: f64) -> f64 {
    v - (1.0 - beta2) * d2 * sign(v - d2)
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ServerOptimizer {
    name: Name,
    mean: FedAvg,
    rule: ServerRule,
    eta: f64,
    tau: f64,
    /// First and second moments (empty until the first aggregation).
    m: Vec<f64>,
    v: Vec<f64>,
}

impl ServerOptimizer {
    pub fn new(name: &'static str, schedule: Schedule, rule: ServerRule, eta: f64, tau: f64) -> Self {
        ServerOptimizer { name: Name(name), mean: FedAvg::new(schedule), rule, eta, tau, m: Vec::new(), v: Vec::new() }
    }
}

impl Strategy for ServerOptimizer {
    fn discard(&mut self) {
        self.mean.discard();
    }

    fn name(&self) -> &'static str {
        self.name.0
    }

    fn schedule(&self) -> Schedule {
        self.mean.schedule()
    }

    fn fold(&mut self, update: Update) {
        self.mean.fold(update);
    }

    fn perturb(&mut self, noise: &[f64]) -> bool {
        self.mean.perturb(noise)
    }

    fn fold_sum(&mut self, base: &[f64], weighted_delta: &[f64], weight: f64, count: usize) -> bool {
        self.mean.fold_sum(base, weighted_delta, weight, count)
    }

    fn aggregate(&mut self, global: &mut [f64]) -> usize {
        let mut mean = global.to_vec();
        let n = self.mean.aggregate(&mut mean);
        // Flower's server_round advances with every round, empty or not.
        let mut eta = self.eta;
        if let ServerRule::FlowerAdam { beta1, beta2, round } = &mut self.rule {
            *round += 1;
            let t = *round as f64 + 1.0;
            eta *= (1.0 - beta2.powf(t)).sqrt() / (1.0 - beta1.powf(t));
        }
        if n == 0 {
            return 0;
        }
        if self.m.len() != global.len() {
            self.m = vec![0.0; global.len()];
            self.v = vec![0.0; global.len()];
        }
        for i in 0..global.len() {
            let delta = mean[i] - global[i];
            let (m, v) = (&mut self.m[i], &mut self.v[i]);
            global[i] += match self.rule {
                ServerRule::Momentum { momentum } => {
                    *m = momentum * *m + delta;
                    self.eta * *m
                }
                ServerRule::Adagrad { beta1 } => {
                    *m = beta1 * *m + (1.0 - beta1) * delta;
                    *v += delta * delta;
                    self.eta * *m / (v.sqrt() + self.tau)
                }
                ServerRule::Adam { beta1, beta2 } | ServerRule::FlowerAdam { beta1, beta2, .. } => {
                    *m = beta1 * *m + (1.0 - beta1) * delta;
                    *v = beta2 * *v + (1.0 - beta2) * delta * delta;
                    eta * *m / (v.sqrt() + self.tau)
                }
                ServerRule::Yogi { beta1, beta2 } => {
                    *m = beta1 * *m + (1.0 - beta1) * delta;
                    *v = yogi_v(*v, delta * delta, beta2);
                    self.eta * *m / (v.sqrt() + self.tau)
                }
            };
        }
        n
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    #[test]
    fn yogi_sign_is_zero_at_v_equal_d2() {
        // v == d^2: the paper's sign is 0, v stays; signum would give 3.6.
        assert_eq!(yogi_v(4.0, 4.0, 0.9), 4.0);
        assert_eq!(yogi_v(1.0, 4.0, 0.9), 1.0 + 0.1 * 4.0);
        assert_eq!(yogi_v(9.0, 4.0, 0.9), 9.0 - 0.1 * 4.0);
        assert_eq!(sign(-0.0), 0.0);
    }

    /// Two rounds of one client whose model is `target`: delta = target - x.
    fn two_steps(rule: ServerRule, eta: f64, tau: f64, x0: &[f64], targets: [&[f64]; 2]) -> Vec<f64> {
        let mut s =
            ServerOptimizer::new("test", Schedule::Continuous { concurrency: 1, max_staleness: None }, rule, eta, tau);
        let mut x = x0.to_vec();
        for (k, target) in targets.into_iter().enumerate() {
            let base = Arc::new(x.clone());
            s.fold(Update {
                client: 0,
                samples: 3,
                params: target.to_vec(),
                base,
                base_version: k as u64,
                staleness: 0,
            });
            assert_eq!(s.aggregate(&mut x), 1);
        }
        x
    }

    fn close(a: &[f64], b: &[f64]) {
        assert!(a.iter().zip(b).all(|(a, b)| (a - b).abs() < 1e-12), "{a:?} != {b:?}");
    }

    /// FedAdagrad with momentum (Reddi et al. 2021, Algorithm 2), beta1
    /// 0.9, eta 1, tau 0, x = 0, one client at 1 then at x + 2:
    /// m = 0.1, v = 1, x = 0.1; then m = 0.9 * 0.1 + 0.1 * 2 = 0.29,
    /// v = 1 + 4 = 5, x = 0.1 + 0.29 / sqrt 5.
    #[test]
    fn fedadagrad_with_momentum_matches_a_hand_computed_step() {
        let got = two_steps(ServerRule::Adagrad { beta1: 0.9 }, 1.0, 0.0, &[0.0], [&[1.0], &[2.1]]);
        close(&got, &[0.1 + 0.29 / 5f64.sqrt()]);
    }

    /// Flower 1.13+ `fedadam.py` by hand, beta1 0.9, beta2 0.99, eta 0.1,
    /// tau 1e-9, x = [0, 1], one client at [1, -1] then at x + [0.5, 0].
    /// Round 1 (server_round 1, exponent 2): delta = [1, -2],
    /// m = [0.1, -0.2], v = [0.01, 0.04],
    /// eta_norm = 0.1 * sqrt(1 - 0.99^2) / (1 - 0.9^2) = 0.1 * sqrt(0.0199) / 0.19,
    /// x += eta_norm * m / (sqrt(v) + tau) = eta_norm * [1, -1] (to 1e-7 relative).
    #[test]
    fn flower_fedadam_matches_a_hand_computed_step() {
        let rule = ServerRule::FlowerAdam { beta1: 0.9, beta2: 0.99, round: 0 };
        let tau = 1e-9;
        let e1 = 0.1 * 0.0199f64.sqrt() / 0.19;
        let x1 = [0.0 + e1 * 0.1 / (0.1 + tau), 1.0 - e1 * 0.2 / (0.2 + tau)];
        // Round 2 (exponent 3): delta = [0.5, 0].
        let (m, v): ([f64; 2], [f64; 2]) =
            ([0.9 * 0.1 + 0.1 * 0.5, 0.9 * -0.2], [0.99 * 0.01 + 0.01 * 0.25, 0.99 * 0.04]);
        let e2 = 0.1 * (1.0 - 0.99f64.powi(3)).sqrt() / (1.0 - 0.9f64.powi(3));
        let x2 = [x1[0] + e2 * m[0] / (v[0].sqrt() + tau), x1[1] + e2 * m[1] / (v[1].sqrt() + tau)];
        let got = two_steps(rule, 0.1, tau, &[0.0, 1.0], [&[1.0, -1.0], &[x1[0] + 0.5, x1[1]]]);
        close(&got, &x2);
        // Without bias correction (fedsim's own FedAdam) the step differs.
        let plain = two_steps(
            ServerRule::Adam { beta1: 0.9, beta2: 0.99 },
            0.1,
            tau,
            &[0.0, 1.0],
            [&[1.0, -1.0], &[x1[0] + 0.5, x1[1]]],
        );
        assert!((plain[0] - got[0]).abs() > 1e-3);
    }

    /// Flower `fedyogi.py` by hand (no bias correction, np.sign), its
    /// defaults eta 0.01, tau 1e-3, beta1 0.9, beta2 0.99; x = [0, 0], one
    /// client at [2, 0] then at x + [2, 0].
    #[test]
    fn flower_fedyogi_matches_a_hand_computed_step() {
        let (eta, tau) = (0.01, 1e-3);
        // Round 1: delta = [2, 0], m = [0.2, 0], v = 0 - 0.01 * 4 * sign(0 - 4) = [0.04, 0]
        // (the 0 coordinate: sign(0 - 0) = 0, v stays 0).
        let x1 = [eta * 0.2 / (0.2 + tau), 0.0];
        // Round 2: delta = [2, 0], m = [0.38, 0], v = 0.04 + 0.04 = [0.08, 0].
        let x2 = [x1[0] + eta * 0.38 / (0.08f64.sqrt() + tau), 0.0];
        let rule = ServerRule::Yogi { beta1: 0.9, beta2: 0.99 };
        let got = two_steps(rule, eta, tau, &[0.0, 0.0], [&[2.0, 0.0], &[x1[0] + 2.0, 0.0]]);
        close(&got, &x2);
    }
}
