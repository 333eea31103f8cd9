//! Latency and jitter distributions (spec section 1), sampled in
//! milliseconds and never negative.

use crate::scenario::Delay;
use crate::sim::Rng;
use rand::RngExt;
use rand_distr::{Distribution, Exp1, StandardNormal};

/// A [`Delay`] ready to sample.
///
/// ```
/// use fedsim::net::DelaySampler;
/// use fedsim::scenario::Delay;
/// use fedsim::sim::SeedTree;
/// let d = DelaySampler::new(Delay::Constant { ms: 80.0 });
/// assert_eq!(d.sample_ms(&mut SeedTree::new(1).stream()), 80.0);
/// ```
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct DelaySampler(Delay);

impl DelaySampler {
    pub fn new(delay: Delay) -> Self {
        DelaySampler(delay)
    }

    /// One draw, in milliseconds.
    pub fn sample_ms(&self, rng: &mut Rng) -> f64 {
        match self.0 {
            Delay::Constant { ms } => ms,
            Delay::Uniform { min_ms, max_ms } => min_ms + (max_ms - min_ms) * rng.random::<f64>(),
            Delay::Normal { mean_ms, std_ms } => {
                // Truncated at zero by resampling; mean >= 0 keeps the
                // acceptance probability at least one half.
                loop {
                    let z: f64 = StandardNormal.sample(rng);
                    let x = mean_ms + std_ms * z;
                    if x >= 0.0 {
                        return x;
                    }
                }
            }
            Delay::LogNormal { median_ms, sigma } => {
                let z: f64 = StandardNormal.sample(rng);
                median_ms * (sigma * z).exp()
            }
            Delay::Exponential { mean_ms } => {
                let e: f64 = Exp1.sample(rng);
                mean_ms * e
            }
            Delay::Pareto { scale_ms, shape } => {
                // Inverse CDF of Pareto type I; 1 - U lies in (0, 1].
                let u = 1.0 - rng.random::<f64>();
                scale_ms * u.powf(-1.0 / shape)
            }
        }
    }

    /// One draw, in seconds.
    pub fn sample_s(&self, rng: &mut Rng) -> f64 {
        self.sample_ms(rng) / 1e3
    }

    /// The least value a draw can take, in seconds (the support's lower end).
    pub fn min_s(&self) -> f64 {
        let ms = match self.0 {
            Delay::Constant { ms } => ms,
            Delay::Uniform { min_ms, .. } => min_ms,
            Delay::Pareto { scale_ms, .. } => scale_ms,
            Delay::Normal { .. } | Delay::LogNormal { .. } | Delay::Exponential { .. } => 0.0,
        };
        ms.max(0.0) / 1e3
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sim::SeedTree;

    fn mean_of(d: Delay, n: usize) -> (f64, f64) {
        let s = DelaySampler::new(d);
        let mut rng = SeedTree::new(7).stream();
        let xs: Vec<f64> = (0..n).map(|_| s.sample_ms(&mut rng)).collect();
        let min = xs.iter().cloned().fold(f64::INFINITY, f64::min);
        (xs.iter().sum::<f64>() / n as f64, min)
    }

    #[test]
    fn distributions_have_their_documented_means_and_supports() {
        let n = 200_000;
        let (m, lo) = mean_of(Delay::Uniform { min_ms: 10.0, max_ms: 30.0 }, n);
        assert!((m - 20.0).abs() < 0.1 && lo >= 10.0);
        let (m, lo) = mean_of(Delay::Exponential { mean_ms: 500.0 }, n);
        assert!((m - 500.0).abs() < 5.0 && lo >= 0.0);
        // Pareto type I: mean shape*scale/(shape-1) = 3*100/2 = 150, support [100, inf).
        let (m, lo) = mean_of(Delay::Pareto { scale_ms: 100.0, shape: 3.0 }, n);
        assert!((m - 150.0).abs() < 2.0, "pareto mean {m}");
        assert!(lo >= 100.0);
        // Lognormal: mean median*exp(sigma^2/2).
        let (m, _) = mean_of(Delay::LogNormal { median_ms: 80.0, sigma: 0.6 }, n);
        assert!((m - 80.0 * (0.18f64).exp()).abs() < 1.0, "lognormal mean {m}");
        let (_, lo) = mean_of(Delay::Normal { mean_ms: 5.0, std_ms: 10.0 }, n);
        assert!(lo >= 0.0);
    }

    #[test]
    fn no_draw_falls_below_the_least_value() {
        let mut rng = SeedTree::new(5).stream();
        for d in [
            Delay::Constant { ms: 7.0 },
            Delay::Uniform { min_ms: 10.0, max_ms: 30.0 },
            Delay::Pareto { scale_ms: 100.0, shape: 1.5 },
            Delay::Exponential { mean_ms: 5.0 },
        ] {
            let s = DelaySampler::new(d);
            let lo = (0..10_000).map(|_| s.sample_s(&mut rng)).fold(f64::INFINITY, f64::min);
            assert!(lo >= s.min_s(), "{d:?}: {lo} < {}", s.min_s());
            // The bound is tight: within 1% of the smallest of 10000 draws.
            assert!(lo - s.min_s() <= 0.01 * lo.max(1e-3), "{d:?}: {lo} vs {}", s.min_s());
        }
    }

    #[test]
    fn lognormal_median_is_median_ms() {
        let s = DelaySampler::new(Delay::LogNormal { median_ms: 80.0, sigma: 0.6 });
        let mut rng = SeedTree::new(3).stream();
        let mut xs: Vec<f64> = (0..100_001).map(|_| s.sample_ms(&mut rng)).collect();
        xs.sort_by(f64::total_cmp);
        assert!((xs[50_000] - 80.0).abs() < 1.0);
    }
}
