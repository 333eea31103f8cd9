//! Asynchronous strategies: updates are folded in as they arrive.
//!
//! - FedAsync (Xie et al. 2019): every arrival mixes
//!   `w <- (1 - a_t) w + a_t w_client`, `a_t = mixing * s(staleness)`.
//! - FedBuff (Nguyen et al. 2022): each client returns its delta from the
//!   model it started on, weighted by `s(staleness)`; after `buffer_size`
//!   deltas the server applies `server_learning_rate` times their mean.

use super::fedavg::WeightedSum;
use super::saved::StalenessDef;
use super::staleness::staleness_weight;
use super::{Schedule, Strategy, Update};
use crate::scenario::Staleness;
use crate::scenario::StrategyKind;
use serde::{Deserialize, Serialize};

/// FedAsync: mixes every arrival into the model at once.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct FedAsync {
    schedule: Schedule,
    mixing: f64,
    #[serde(with = "StalenessDef")]
    staleness: Staleness,
    /// The arrival not yet mixed in.
    pending: Option<Update>,
}

impl FedAsync {
    pub fn new(schedule: Schedule, mixing: f64, staleness: Staleness) -> Self {
        FedAsync { schedule, mixing, staleness, pending: None }
    }
}

impl Strategy for FedAsync {
    fn discard(&mut self) {
        self.pending = None;
    }

    fn name(&self) -> &'static str {
        StrategyKind::FedAsync.name()
    }

    fn schedule(&self) -> Schedule {
        self.schedule
    }

    fn fold(&mut self, update: Update) {
        self.pending = Some(update);
    }

    fn ready(&self) -> bool {
        self.pending.is_some()
    }

    fn aggregate(&mut self, global: &mut [f64]) -> usize {
        let Some(u) = self.pending.take() else { return 0 };
        let a = self.mixing * staleness_weight(self.staleness, u.staleness);
        for (g, p) in global.iter_mut().zip(&u.params) {
            *g = (1.0 - a) * *g + a * p;
        }
        1
    }
}

/// FedBuff: buffers staleness-weighted deltas, applies their mean.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct FedBuff {
    schedule: Schedule,
    buffer_size: usize,
    server_learning_rate: f64,
    #[serde(with = "StalenessDef")]
    staleness: Staleness,
    deltas: WeightedSum,
}

impl FedBuff {
    pub fn new(schedule: Schedule, buffer_size: usize, server_learning_rate: f64, staleness: Staleness) -> Self {
        FedBuff { schedule, buffer_size, server_learning_rate, staleness, deltas: WeightedSum::default() }
    }
}

impl Strategy for FedBuff {
    fn discard(&mut self) {
        self.deltas = WeightedSum::default();
    }

    fn name(&self) -> &'static str {
        StrategyKind::FedBuff.name()
    }

    fn schedule(&self) -> Schedule {
        self.schedule
    }

    fn fold(&mut self, update: Update) {
        let w = staleness_weight(self.staleness, update.staleness);
        self.deltas.add(w, update.params.iter().zip(update.base.iter()).map(|(p, b)| p - b));
    }

    fn ready(&self) -> bool {
        self.deltas.count() >= self.buffer_size
    }

    /// The buffer is the noised sum.
    fn perturb(&mut self, noise: &[f64]) -> bool {
        self.deltas.perturb(noise);
        true
    }

    fn aggregate(&mut self, global: &mut [f64]) -> usize {
        let n = self.deltas.count();
        if n == 0 {
            return 0;
        }
        // The mean over the buffer (not over the weights): a stale delta
        // counts less, it does not make the others count more.
        let scale = self.server_learning_rate / n as f64;
        for (g, s) in global.iter_mut().zip(self.deltas.sum()) {
            *g += scale * s;
        }
        self.deltas.clear()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    /// An update from a model whose every parameter was `base`.
    fn update(base: f64, params: Vec<f64>, staleness: u64) -> Update {
        Update { client: 0, samples: 1, base: Arc::new(vec![base; params.len()]), params, base_version: 0, staleness }
    }

    /// FedAsync's step (Xie et al. 2019, eq. 2): x = (1 - a) x + a x_new,
    /// with a = mixing * s(staleness): here 0.5 * (1 + 1)^-1 = 0.25, so
    /// 10 and 14 give 11, and -2 and 2 give -1.
    #[test]
    fn fedasync_mixes_each_arrival_by_its_staleness_weighted_rate() {
        let schedule = Schedule::Continuous { concurrency: 2, max_staleness: None };
        let mut s = FedAsync::new(schedule, 0.5, Staleness::Polynomial { a: 1.0 });
        let mut global = vec![10.0, -2.0];
        assert_eq!(s.aggregate(&mut global), 0, "nothing pending");
        s.fold(update(0.0, vec![14.0, 2.0], 1));
        assert!(s.ready());
        assert_eq!(s.aggregate(&mut global), 1);
        assert_eq!(global, [11.0, -1.0]);
        assert!(!s.ready());
    }

    /// A buffer lost to `server_down` is forgotten: the next aggregation
    /// holds the later updates only.
    #[test]
    fn fedbuff_forgets_a_discarded_buffer() {
        let schedule = Schedule::Continuous { concurrency: 2, max_staleness: None };
        let mut s = FedBuff::new(schedule, 2, 1.0, Staleness::Constant);
        s.fold(update(0.0, vec![100.0], 0));
        s.discard();
        s.fold(update(0.0, vec![2.0], 0));
        assert!(!s.ready(), "one update of two");
        s.fold(update(0.0, vec![4.0], 0));
        let mut global = vec![0.0];
        assert_eq!(s.aggregate(&mut global), 2);
        assert_eq!(global, [3.0]);
    }

    /// FedBuff's step is the mean over the buffer's count of the
    /// staleness-weighted deltas, (1 * 2 + 0.5 * 4) / 2 = 2, not their
    /// weighted mean (4 / 1.5).
    #[test]
    fn fedbuff_divides_the_weighted_sum_by_the_buffer_count() {
        let schedule = Schedule::Continuous { concurrency: 2, max_staleness: None };
        let mut s = FedBuff::new(schedule, 2, 1.0, Staleness::Polynomial { a: 1.0 });
        s.fold(update(10.0, vec![12.0], 0));
        assert!(!s.ready());
        s.fold(update(10.0, vec![14.0], 1));
        assert!(s.ready());
        let mut global = vec![10.0];
        assert_eq!(s.aggregate(&mut global), 2);
        assert!((global[0] - 12.0).abs() < 1e-12, "{global:?}");
        assert!(!s.ready(), "the buffer empties");
    }
}
