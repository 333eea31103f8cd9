//! FedAvg (McMahan et al. 2017): the sample-weighted mean of client models.

use super::{Schedule, Strategy, Update};
use crate::scenario::StrategyKind;
use serde::{Deserialize, Serialize};

/// A running sum of weighted vectors: memory stays one model whatever the
/// number of updates folded in (FedAvg sums models, FedBuff deltas).
#[derive(Debug, Default, Clone, Serialize, Deserialize)]
pub struct WeightedSum {
    sum: Vec<f64>,
    weight: f64,
    count: usize,
}

impl WeightedSum {
    /// Adds `w * x`.
    pub fn add(&mut self, w: f64, x: impl ExactSizeIterator<Item = f64>) {
        if self.sum.len() != x.len() {
            self.sum = vec![0.0; x.len()];
        }
        for (s, v) in self.sum.iter_mut().zip(x) {
            *s += w * v;
        }
        self.weight += w;
        self.count += 1;
    }

    /// Adds a sum of `count` weighted vectors made elsewhere, their
    /// weights summing to `weight`.
    pub fn add_sum(&mut self, weight: f64, count: usize, sum: impl ExactSizeIterator<Item = f64>) {
        self.add(1.0, sum);
        self.weight += weight - 1.0;
        self.count += count - 1;
    }

    /// Adds `noise` to the sum (not to the weights); nothing if no vector
    /// was added since the last [`WeightedSum::clear`].
    pub fn perturb(&mut self, noise: &[f64]) {
        if self.count > 0 {
            self.sum.iter_mut().zip(noise).for_each(|(s, z)| *s += z);
        }
    }

    pub fn sum(&self) -> &[f64] {
        &self.sum
    }

    /// The sum of the weights.
    pub fn weight(&self) -> f64 {
        self.weight
    }

    /// Vectors added since the last [`WeightedSum::clear`].
    pub fn count(&self) -> usize {
        self.count
    }

    /// Starts over; returns how many vectors had been added.
    pub fn clear(&mut self) -> usize {
        self.sum.iter_mut().for_each(|s| *s = 0.0);
        self.weight = 0.0;
        std::mem::take(&mut self.count)
    }
}

/// The sample-weighted mean of the client models.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct FedAvg {
    schedule: Schedule,
    sum: WeightedSum,
}

impl FedAvg {
    pub fn new(schedule: Schedule) -> Self {
        FedAvg { schedule, sum: WeightedSum::default() }
    }
}

impl Strategy for FedAvg {
    fn discard(&mut self) {
        self.sum = WeightedSum::default();
    }

    fn name(&self) -> &'static str {
        StrategyKind::FedAvg.name()
    }

    fn schedule(&self) -> Schedule {
        self.schedule
    }

    fn fold(&mut self, update: Update) {
        self.sum.add(update.samples as f64, update.params.iter().copied());
    }

    fn perturb(&mut self, noise: &[f64]) -> bool {
        self.sum.perturb(noise);
        true
    }

    fn fold_sum(&mut self, base: &[f64], weighted_delta: &[f64], weight: f64, count: usize) -> bool {
        if count > 0 {
            self.sum.add_sum(weight, count, base.iter().zip(weighted_delta).map(|(b, d)| weight * b + d));
        }
        true
    }

    fn aggregate(&mut self, global: &mut [f64]) -> usize {
        let weight = self.sum.weight();
        if weight > 0.0 {
            for (g, s) in global.iter_mut().zip(self.sum.sum()) {
                *g = s / weight;
            }
        }
        self.sum.clear()
    }
}

/// The weighted mean of vectors: `sum_k w_k x_k / sum_k w_k` (None if the
/// weights sum to zero).
///
/// ```
/// use fedsim::strategy::weighted_mean;
/// let m = weighted_mean(&[(1.0, &[0.0, 2.0][..]), (3.0, &[4.0, 2.0][..])]).unwrap();
/// assert_eq!(m, vec![3.0, 2.0]);
/// ```
pub fn weighted_mean(items: &[(f64, &[f64])]) -> Option<Vec<f64>> {
    let total: f64 = items.iter().map(|(w, _)| w).sum();
    let dim = items.first()?.1.len();
    (total > 0.0).then(|| (0..dim).map(|i| items.iter().map(|(w, x)| w * x[i]).sum::<f64>() / total).collect())
}

#[cfg(test)]
mod tests {
    use super::{FedAvg, Schedule, Strategy, Update, WeightedSum};
    use proptest::prelude::{prop, prop_assert, proptest};
    use std::sync::Arc;

    /// Noise drawn for a round that got no update is not kept: the next
    /// round's sum starts from zero.
    #[test]
    fn noise_on_an_empty_sum_is_dropped() {
        let mut s = WeightedSum::default();
        s.add(1.0, [1.0, 2.0].into_iter());
        assert_eq!(s.clear(), 1);
        s.perturb(&[10.0, 10.0]);
        s.add(1.0, [3.0, 4.0].into_iter());
        assert_eq!(s.sum(), [3.0, 4.0]);
    }

    fn update(samples: usize, params: Vec<f64>) -> Update {
        Update { client: 0, samples, params, base: Arc::new(vec![]), base_version: 0, staleness: 0 }
    }

    #[test]
    fn fedavg_weights_by_sample_count() {
        let mut s = FedAvg::new(Schedule::Continuous { concurrency: 1, max_staleness: None });
        s.fold(update(10, vec![1.0, 2.0, 3.0, 4.0]));
        s.fold(update(20, vec![2.0, -1.0, 0.5, 4.0]));
        s.fold(update(70, vec![-1.0, 0.0, 2.5, 10.0]));
        let mut g = vec![0.0; 4];
        assert_eq!(s.aggregate(&mut g), 3);
        for (a, b) in g.iter().zip([-0.2, 0.0, 2.15, 8.2]) {
            assert!((a - b).abs() < 1e-12, "{g:?}");
        }
        // Nothing folded: the model stays.
        assert_eq!(s.aggregate(&mut g), 0);
        assert!((g[3] - 8.2).abs() < 1e-12);
    }

    /// The public helper, outside any strategy: `sum w x / sum w`, and no
    /// mean of nothing or of zero weight.
    #[test]
    fn weighted_mean_divides_by_the_total_weight() {
        let m = super::weighted_mean(&[(1.0, &[0.0, 2.0][..]), (3.0, &[4.0, 2.0][..])]).unwrap();
        assert_eq!(m, vec![3.0, 2.0]);
        assert_eq!(super::weighted_mean(&[(2.0, &[5.0][..])]), Some(vec![5.0]));
        assert_eq!(super::weighted_mean(&[(0.0, &[1.0][..])]), None);
        assert_eq!(super::weighted_mean(&[]), None);
    }

    proptest! {
        /// The weights sum to one: the mean of identical vectors is that
        /// vector, and the mean lies within the inputs' range.
        #[test]
        fn weighted_mean_is_a_convex_combination(xs in prop::collection::vec((1usize..100, -1e3f64..1e3), 1..20)) {
            let mut s = FedAvg::new(Schedule::Continuous { concurrency: 1, max_staleness: None });
            for &(n, x) in &xs {
                s.fold(update(n, vec![x, 7.0]));
            }
            let mut g = vec![0.0; 2];
            s.aggregate(&mut g);
            let lo = xs.iter().map(|p| p.1).fold(f64::INFINITY, f64::min);
            let hi = xs.iter().map(|p| p.1).fold(f64::NEG_INFINITY, f64::max);
            prop_assert!(g[0] >= lo - 1e-9 && g[0] <= hi + 1e-9);
            prop_assert!((g[1] - 7.0).abs() < 1e-9);
        }
    }
}
