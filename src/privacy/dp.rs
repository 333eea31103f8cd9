//! Differential privacy of model updates: clipping and local noise on the
//! client, central noise, adaptive clipping and the accounting on the
//! server.
//!
//! - `level: client` is DP-FedAvg (McMahan et al. 2018): each client clips
//!   its update (the delta from the model it started from) to the clip norm
//!   `C` in L2; every update weighs the same; the server adds Gaussian
//!   noise of std `noise_multiplier * C` to the sum, which the strategy
//!   then divides as it always does.
//! - `level: local`: each client adds that noise to its own clipped update
//!   before it leaves; the server aggregates as usual.
//! - Adaptive clipping (Andrew et al. 2021): clients also say whether they
//!   were clipped; the server noises the count and moves `C`
//!   geometrically toward the target quantile of the update norms.
//!
//! What epsilon each release costs is accounted in
//! [`accountant`](super::accountant); [`CentralDp::account`] says
//! which sampling each round is accounted as (`docs/privacy.md`).

use super::accountant::{Accountant, Sampling};
use crate::scenario::{AccountantKind, DpLevel, DpSpec};
use crate::sim::SeedTree;
use rand_distr::{Distribution, StandardNormal};
use serde::{Deserialize, Serialize};

/// Scales `delta` so its L2 norm is at most `clip`; returns whether it was
/// already within (Andrew et al.'s "unclipped" bit).
///
/// ```
/// let mut d = vec![3.0, 4.0];
/// assert!(!fedsim::privacy::dp::clip(&mut d, 1.0));
/// assert!((d[0] - 0.6).abs() < 1e-12 && (d[1] - 0.8).abs() < 1e-12);
/// ```
pub fn clip(delta: &mut [f64], clip: f64) -> bool {
    let norm = delta.iter().map(|x| x * x).sum::<f64>().sqrt();
    if norm <= clip {
        return true;
    }
    let scale = clip / norm;
    delta.iter_mut().for_each(|x| *x *= scale);
    false
}

/// Adds N(0, std^2) to every coordinate, from the stream of `seeds`.
pub fn add_gaussian(x: &mut [f64], std: f64, seeds: SeedTree) {
    if std == 0.0 {
        return;
    }
    let mut rng = seeds.stream();
    for v in x {
        let z: f64 = StandardNormal.sample(&mut rng);
        *v += std * z;
    }
}

/// The server's side of DP: the current clip norm, the noise, and the
/// accountant. Saved whole in a checkpoint.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CentralDp {
    level: DpLevel,
    noise_multiplier: f64,
    /// The clip norm the next round's clients use.
    clip_norm: f64,
    adaptive: Option<Adaptive>,
    /// Updates in the current round, and how many were unclipped.
    updates: u64,
    unclipped: u64,
    accountant: Accountant,
    kind: AccountantKind,
    delta: f64,
    /// Local DP: how many updates each client has sent (a client's epsilon
    /// composes over its own releases).
    releases: std::collections::BTreeMap<u32, u32>,
    max_releases: u32,
    seeds: SeedTree,
}

impl CentralDp {
    /// `expected_clients`: a round's expected number of updates (Andrew et
    /// al. size the count's noise from it).
    pub fn new(spec: &DpSpec, expected_clients: usize, seeds: SeedTree) -> Self {
        CentralDp {
            level: spec.level,
            noise_multiplier: spec.noise_multiplier,
            clip_norm: spec.clip_norm,
            // Andrew et al.'s default: the count's noise is expected/20.
            adaptive: spec.adaptive.map(|a| Adaptive {
                target: a.target_quantile,
                rate: a.learning_rate,
                expected: expected_clients as f64,
            }),
            updates: 0,
            unclipped: 0,
            accountant: Accountant::new(spec.accountant, spec.delta),
            kind: spec.accountant,
            delta: spec.delta,
            releases: Default::default(),
            max_releases: 0,
            seeds: seeds.child("privacy.dp"),
        }
    }

    /// The clip norm clients use now.
    pub fn clip_norm(&self) -> f64 {
        self.clip_norm
    }

    /// Whether every update weighs the same (central DP: one client's
    /// weight would scale its sensitivity).
    pub fn unit_weights(&self) -> bool {
        self.level == DpLevel::Client
    }

    /// A securely aggregated round: `clients` sent masked inputs, of which
    /// `unclipped` (their sum is all the server learns) were within the clip.
    pub fn on_secure_sum(&mut self, clients: &[u32], unclipped: u64) {
        for &c in clients {
            self.on_update(c, false);
        }
        self.unclipped += unclipped;
    }

    /// One update was taken in.
    pub fn on_update(&mut self, client: u32, unclipped: bool) {
        self.updates += 1;
        self.unclipped += u64::from(unclipped);
        if self.level == DpLevel::Local {
            let n = self.releases.entry(client).or_insert(0);
            *n += 1;
            self.max_releases = self.max_releases.max(*n);
        }
    }

    /// The noise std on the sum of updates (central DP only). With
    /// adaptive clipping part of the budget goes to the count: Andrew et
    /// al.'s `sigma_delta = (sigma^-2 - (2 sigma_b)^-2)^(-1/2)` keeps the
    /// whole mechanism at `noise_multiplier`.
    fn sum_noise_multiplier(&self) -> f64 {
        match self.adaptive {
            // Validation keeps the count's share below the whole budget
            // (noise_multiplier < 2 sigma_b), so the rest is positive.
            Some(a) if self.noise_multiplier > 0.0 => {
                (self.noise_multiplier.powi(-2) - (2.0 * a.count_std()).powi(-2)).max(f64::MIN_POSITIVE).powf(-0.5)
            }
            _ => self.noise_multiplier,
        }
    }

    /// The central noise for the sum of `dim` coordinates released as
    /// model version `version` (None for local DP).
    pub fn sum_noise(&self, version: u64, dim: usize) -> Option<Vec<f64>> {
        if self.level != DpLevel::Client {
            return None;
        }
        let mut z = vec![0.0; dim];
        add_gaussian(&mut z, self.sum_noise_multiplier() * self.clip_norm, self.seeds.child("sum").index(version));
        Some(z)
    }

    /// The epsilon spent after one more release accounted as `step`.
    pub fn epsilon_after(&self, step: Step) -> f64 {
        if self.level == DpLevel::Local {
            return self.local_epsilon(self.max_releases + 1);
        }
        let (sampling, q, sigma) = self.step_terms(step);
        self.accountant.epsilon_with(sampling, q, sigma, 1)
    }

    /// The epsilon spent so far.
    pub fn epsilon(&self) -> f64 {
        match self.level {
            DpLevel::Local => self.local_epsilon(self.max_releases),
            DpLevel::Client => self.accountant.epsilon(),
        }
    }

    /// Local DP: the worst-off client's releases, each a plain Gaussian on
    /// a vector anywhere in the clip ball (replace-one: sensitivity `2C`),
    /// with no amplification, since the server sees who sent what.
    fn local_epsilon(&self, releases: u32) -> f64 {
        let mut a = Accountant::new(self.kind, self.delta);
        a.compose(Sampling::Poisson, 1.0, self.noise_multiplier / 2.0, u64::from(releases));
        a.epsilon()
    }

    /// How one release is accounted: central DP composes a subsampled
    /// Gaussian per round. A fixed-size draw (sampling without
    /// replacement, a FedBuff buffer) is replace-one: the sensitivity
    /// doubles, and in a buffer it counts once per update of the client.
    fn step_terms(&self, step: Step) -> (Sampling, f64, f64) {
        let sigma = self.noise_multiplier;
        match step {
            Step::Poisson { q } => (Sampling::Poisson, q, sigma),
            Step::WithoutReplacement { q } => (Sampling::WithoutReplacement, q, sigma / 2.0),
            // No amplification, and replace-one in effect: without a
            // client, others' updates fill its places in the fixed-size
            // buffer, so the sum moves by up to 2C per place it held.
            Step::Full { repeats } => (Sampling::Poisson, 1.0, sigma / (2.0 * f64::from(repeats.max(1)))),
        }
    }

    /// A release happened: account it and, with adaptive clipping, move
    /// the clip norm for the next round. Returns the epsilon so far.
    pub fn account(&mut self, version: u64, step: Step) -> f64 {
        let (sampling, q, sigma) = self.step_terms(step);
        if self.level == DpLevel::Client {
            self.accountant.compose(sampling, q, sigma, 1);
        }
        if let Some(a) = self.adaptive {
            // Each update says 1/2 if it was within the clip, -1/2 if not:
            // adding or removing a client moves the sum by 1/2 at most.
            let mut count = [self.unclipped as f64 - 0.5 * self.updates as f64];
            add_gaussian(&mut count, a.count_std(), self.seeds.child("count").index(version));
            let b = count[0] / a.expected.max(1.0) + 0.5;
            self.clip_norm *= (-a.rate * (b - a.target)).exp();
        }
        self.updates = 0;
        self.unclipped = 0;
        self.epsilon()
    }
}

/// Adaptive clipping's settings (Andrew et al. 2021).
#[derive(Debug, Clone, Copy, Serialize, Deserialize)]
struct Adaptive {
    /// The quantile of update norms the clip norm tracks.
    target: f64,
    /// Geometric step size.
    rate: f64,
    /// Updates expected per release.
    expected: f64,
}

impl Adaptive {
    /// The noise std of the count of unclipped updates: Andrew et al.'s
    /// default, expected / 20.
    fn count_std(self) -> f64 {
        self.expected / 20.0
    }
}

/// Adaptive clipping needs `noise_multiplier < expected / 10` (twice the
/// count's noise): above it the count alone would spend the whole budget.
pub fn adaptive_noise_limit(expected_clients: usize) -> f64 {
    2.0 * expected_clients as f64 / 20.0
}

/// How one round's participants were drawn, for the accountant.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub enum Step {
    /// Each client joined with probability `q`.
    Poisson { q: f64 },
    /// A fixed number drawn without replacement, `q` = drawn / available.
    WithoutReplacement { q: f64 },
    /// No sampling to amplify (a FedBuff buffer); the most any one client
    /// contributed.
    Full { repeats: u32 },
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        /// Every clipped update's norm is at most the clip norm, and an
        /// update within it is untouched.
        #[test]
        fn clipped_norm_is_at_most_the_clip(v in prop::collection::vec(-1e3f64..1e3, 1..50), c in 1e-3f64..1e2) {
            let mut d = v.clone();
            let within = clip(&mut d, c);
            let norm = d.iter().map(|x| x * x).sum::<f64>().sqrt();
            prop_assert!(norm <= c * (1.0 + 1e-12));
            if within {
                prop_assert_eq!(d, v);
            }
        }
    }

    fn adaptive(target: f64) -> CentralDp {
        use crate::scenario::{AccountantKind, AdaptiveClip};
        let spec = DpSpec {
            level: DpLevel::Client,
            clip_norm: 1.0,
            noise_multiplier: 1.0,
            delta: 1e-5,
            accountant: AccountantKind::Rdp,
            adaptive: Some(AdaptiveClip { target_quantile: target, learning_rate: 0.2 }),
        };
        CentralDp::new(&spec, 100, SeedTree::new(3))
    }

    /// Andrew et al.: the clip norm moves geometrically toward the target
    /// quantile of the update norms.
    #[test]
    fn adaptive_clipping_tracks_the_target_quantile() {
        // Updates of norms 0.01, 0.02, ..., 1.00 (100 a round); the median
        // target is 0.5.
        let mut dp = adaptive(0.5);
        for version in 1..=80 {
            let c = dp.clip_norm();
            for i in 1..=100u32 {
                dp.on_update(i, f64::from(i) / 100.0 <= c);
            }
            dp.account(version, Step::Poisson { q: 0.1 });
        }
        assert!((dp.clip_norm() - 0.5).abs() < 0.06, "{}", dp.clip_norm());
        // Every update below the clip: it shrinks; every one above: it grows.
        let mut low = adaptive(0.5);
        let mut high = adaptive(0.5);
        for version in 1..=5 {
            (0..100).for_each(|i| low.on_update(i, true));
            (0..100).for_each(|i| high.on_update(i, false));
            low.account(version, Step::Poisson { q: 0.1 });
            high.account(version, Step::Poisson { q: 0.1 });
        }
        assert!(low.clip_norm() < 0.95 && high.clip_norm() > 1.05);
        // Part of the budget goes to the count: the sum's noise is larger.
        assert!(low.sum_noise_multiplier() > 1.0);
    }

    #[test]
    fn noise_has_the_asked_std_and_depends_on_the_seed() {
        let mut z = vec![0.0; 20_000];
        add_gaussian(&mut z, 2.0, SeedTree::new(1));
        let var = z.iter().map(|x| x * x).sum::<f64>() / z.len() as f64;
        assert!((var.sqrt() - 2.0).abs() < 0.05, "{}", var.sqrt());
        let mut again = vec![0.0; 20_000];
        add_gaussian(&mut again, 2.0, SeedTree::new(1));
        assert_eq!(z, again);
        add_gaussian(&mut again, 2.0, SeedTree::new(2));
        assert_ne!(z, again);
    }
}
