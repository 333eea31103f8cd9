//! Byzantine clients: which clients attack, and what they send.
//!
//! The attackers are drawn once from the seed (purpose `byzantine`):
//! exactly `round(fraction * count)` of the clients, uniformly. They are
//! scheduled, dropped and delayed like anyone else; only their update
//! differs. Model-poisoning attacks (`sign_flip`, `scale`, `gaussian`)
//! rewrite the trained parameters on the client, before its privacy
//! pipeline; `label_flip` poisons the training data; `alie` (Baruch et
//! al. 2019, "A little is enough") needs the attackers to collude over a
//! round's updates, so the server's round holds their honest updates and
//! replaces them at the round's close ([`alie`]).

use crate::scenario::raw::RawAttack;
use crate::scenario::ByzantineSpec;
use crate::sim::SeedTree;
use rand_distr::{Distribution, Normal};

/// The run's attackers and their attack.
///
/// ```
/// use fedsim::byzantine::Attackers;
/// use fedsim::scenario::{raw::{RawAttack, SignFlipAttack}, ByzantineSpec};
/// use fedsim::sim::SeedTree;
/// let spec = ByzantineSpec { fraction: 0.25, attack: RawAttack::SignFlip(SignFlipAttack {}) };
/// let a = Attackers::draw(&spec, 8, SeedTree::new(1));
/// assert_eq!(a.ids().len(), 2);
/// let (base, mut params) = (vec![1.0, 1.0], vec![1.5, 0.0]);
/// a.poison(&base, &mut params, SeedTree::new(2));
/// assert_eq!(params, vec![0.5, 2.0]);
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct Attackers {
    /// Sorted client ids.
    ids: Vec<u32>,
    attack: RawAttack,
}

impl Attackers {
    /// Draws `round(fraction * clients)` attackers from `seeds`.
    pub fn draw(spec: &ByzantineSpec, clients: usize, seeds: SeedTree) -> Self {
        let m = ((spec.fraction * clients as f64).round() as usize).min(clients);
        let mut rng = seeds.child("byzantine").stream();
        let mut ids: Vec<u32> = rand::seq::index::sample(&mut rng, clients, m).into_iter().map(|i| i as u32).collect();
        ids.sort_unstable();
        Attackers { ids, attack: spec.attack.clone() }
    }

    /// The attackers, by id.
    pub fn ids(&self) -> &[u32] {
        &self.ids
    }

    pub fn attack(&self) -> &RawAttack {
        &self.attack
    }

    pub fn is_attacker(&self, client: u32) -> bool {
        self.ids.binary_search(&client).is_ok()
    }

    /// Whether `client` trains on flipped labels.
    pub fn flips_labels(&self, client: u32) -> bool {
        matches!(self.attack, RawAttack::LabelFlip(_)) && self.is_attacker(client)
    }

    /// Whether `client`'s update is held for the round's collusion.
    pub fn colludes(&self, client: u32) -> bool {
        matches!(self.attack, RawAttack::Alie(_)) && self.is_attacker(client)
    }

    /// A model-poisoning attacker's update: rewrites `params` (trained
    /// from `base`); `seeds` draws the Gaussian attack's noise. Other
    /// attacks leave `params` as trained.
    pub fn poison(&self, base: &[f64], params: &mut [f64], seeds: SeedTree) {
        match &self.attack {
            RawAttack::SignFlip(_) => params.iter_mut().zip(base).for_each(|(p, b)| *p = b - (*p - b)),
            RawAttack::Scale(s) => params.iter_mut().zip(base).for_each(|(p, b)| *p = b + s.factor.0 * (*p - b)),
            RawAttack::Gaussian(g) => {
                let normal = Normal::new(0.0, g.std.0).expect("a finite std > 0");
                let mut rng = seeds.child("byzantine.gaussian").stream();
                params.iter_mut().zip(base).for_each(|(p, b)| *p = b + normal.sample(&mut rng));
            }
            RawAttack::LabelFlip(_) | RawAttack::Alie(_) => {}
        }
    }
}

/// The label an attacker trains on instead of `y`.
pub fn flipped(y: u32, classes: usize) -> u32 {
    classes as u32 - 1 - y
}

/// ALIE's shift when `m` of a round's `n` updates are the attackers': the
/// largest z for which the shifted value is still closer to the mean than
/// `s = floor(n/2 + 1) - m` honest updates, `z = Phi^-1((n - s) / n)`,
/// and 0 when there is no such majority to hide in.
///
/// ```
/// // 50 workers, 12 of them attackers: s = 14, z = Phi^-1(36/50) ~ 0.58.
/// assert!((fedsim::byzantine::alie_z(50, 12) - 0.5828).abs() < 1e-3);
/// ```
pub fn alie_z(n: usize, m: usize) -> f64 {
    let s = (n / 2 + 1).saturating_sub(m);
    let p = (n - s.min(n)) as f64 / n.max(1) as f64;
    if p <= 0.5 {
        return 0.0;
    }
    if p >= 1.0 {
        // Phi^-1(1) is infinite: stay where the normal table ends.
        return 8.0;
    }
    // Phi is increasing: bisect.
    let (mut lo, mut hi) = (0.0f64, 8.0f64);
    for _ in 0..80 {
        let mid = 0.5 * (lo + hi);
        if crate::privacy::accountant::normal_cdf(mid) < p {
            lo = mid;
        } else {
            hi = mid;
        }
    }
    0.5 * (lo + hi)
}

/// What every colluding attacker sends: `base + mean - z * std` of their
/// honest deltas (`honest[i] - base`), coordinate by coordinate, with the
/// population std.
///
/// ```
/// let base = [0.0, 10.0];
/// let honest: [&[f64]; 2] = [&[1.0, 10.0], &[3.0, 12.0]];
/// let sent = fedsim::byzantine::alie(&base, &honest, 1.0);
/// assert_eq!(sent, vec![1.0, 10.0]);
/// ```
pub fn alie(base: &[f64], honest: &[&[f64]], z: f64) -> Vec<f64> {
    let k = honest.len().max(1) as f64;
    base.iter()
        .enumerate()
        .map(|(j, &b)| {
            let mean = honest.iter().map(|h| h[j] - b).sum::<f64>() / k;
            let var = honest.iter().map(|h| (h[j] - b - mean).powi(2)).sum::<f64>() / k;
            b + mean - z * var.sqrt()
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scenario::raw::{GaussianAttack, ScaleAttack};
    use crate::scenario::values::{FiniteF64, PositiveF64};

    fn spec(fraction: f64, attack: RawAttack) -> ByzantineSpec {
        ByzantineSpec { fraction, attack }
    }

    #[test]
    fn exactly_the_rounded_share_attack_and_the_draw_follows_the_seed() {
        let s = spec(0.2, RawAttack::Scale(ScaleAttack { factor: FiniteF64(-10.0) }));
        let a = Attackers::draw(&s, 103, SeedTree::new(7));
        assert_eq!(a.ids().len(), 21);
        assert!(a.ids().windows(2).all(|w| w[0] < w[1]) && *a.ids().last().unwrap() < 103);
        assert_eq!(a, Attackers::draw(&s, 103, SeedTree::new(7)));
        assert_ne!(a.ids(), Attackers::draw(&s, 103, SeedTree::new(8)).ids());
        assert!(a.ids().iter().all(|&c| a.is_attacker(c)));
        assert_eq!((0..103).filter(|&c| a.is_attacker(c)).count(), 21);
        assert_eq!(Attackers::draw(&spec(1.0, s.attack.clone()), 5, SeedTree::new(1)).ids(), &[0, 1, 2, 3, 4]);
    }

    #[test]
    fn scale_multiplies_the_delta_and_gaussian_replaces_it_with_noise_of_its_std() {
        let base = vec![1.0; 4];
        let a = Attackers { ids: vec![0], attack: RawAttack::Scale(ScaleAttack { factor: FiniteF64(-10.0) }) };
        let mut p = vec![1.5, 1.0, 0.0, 2.0];
        a.poison(&base, &mut p, SeedTree::new(1));
        assert_eq!(p, vec![-4.0, 1.0, 11.0, -9.0]);
        let g = Attackers { ids: vec![0], attack: RawAttack::Gaussian(GaussianAttack { std: PositiveF64(2.0) }) };
        let base = vec![5.0; 20_000];
        let mut p = base.clone();
        g.poison(&base, &mut p, SeedTree::new(3));
        let d: Vec<f64> = p.iter().map(|x| x - 5.0).collect();
        let mean = d.iter().sum::<f64>() / d.len() as f64;
        let std = (d.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / d.len() as f64).sqrt();
        assert!(mean.abs() < 0.05 && (std - 2.0).abs() < 0.05, "mean {mean}, std {std}");
    }

    #[test]
    fn alie_z_follows_the_paper_and_is_zero_without_a_majority() {
        // n = 50, m = 12: s = 26 - 12 = 14, so Phi(z) = 36/50.
        let z = alie_z(50, 12);
        assert!((crate::privacy::accountant::normal_cdf(z) - 36.0 / 50.0).abs() < 1e-9);
        assert!(alie_z(50, 20) > z, "more attackers, a bolder shift");
        assert_eq!(alie_z(4, 0), 0.0, "s = 3, (4 - 3)/4 < 1/2");
        // docs/byzantine.md's table: n = 20, m = 4, s = 7, Phi(z) = 13/20.
        assert!((alie_z(20, 4) - 0.385).abs() < 1e-3);
    }

    #[test]
    fn flipped_labels_mirror_the_classes() {
        assert_eq!((0..10).map(|y| flipped(y, 10)).collect::<Vec<_>>(), vec![9, 8, 7, 6, 5, 4, 3, 2, 1, 0]);
        assert_eq!(flipped(0, 2), 1);
    }
}
