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
//! No bias correction, as in Reddi et al.'s Algorithm 2 (and Flower): the
//! first steps are therefore damped by `1 - beta1` for Adam and Yogi; `tau`
//! bounds the step where `v` is tiny. `v` starts at zero.

use super::fedavg::FedAvg;
use super::saved::Name;
use super::{Schedule, Strategy, Update};
use serde::{Deserialize, Serialize};

/// Which rule the server applies to the pseudo-gradient.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub enum ServerRule {
    Momentum { momentum: f64 },
    Adagrad { beta1: f64 },
    Adam { beta1: f64, beta2: f64 },
    Yogi { beta1: f64, beta2: f64 },
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
                ServerRule::Adam { beta1, beta2 } => {
                    *m = beta1 * *m + (1.0 - beta1) * delta;
                    *v = beta2 * *v + (1.0 - beta2) * delta * delta;
                    self.eta * *m / (v.sqrt() + self.tau)
                }
                ServerRule::Yogi { beta1, beta2 } => {
                    *m = beta1 * *m + (1.0 - beta1) * delta;
                    let d2 = delta * delta;
                    *v -= (1.0 - beta2) * d2 * (*v - d2).signum();
                    self.eta * *m / (v.sqrt() + self.tau)
                }
            };
        }
        n
    }
}
