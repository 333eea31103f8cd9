//! Privacy accounting for DP-FedAvg: which (epsilon, delta) guarantee the rounds released so far add up to.
//!
//! A round is one release of the subsampled Gaussian mechanism (sampling probability `q`, noise multiplier
//! `sigma`). This module owns composing those releases and converting the result to epsilon at a fixed delta,
//! with two accountants that follow Google's `dp_accounting` (0.6): Renyi DP ([`AccountantKind::Rdp`], in
//! `rdp.rs`) and a discretised privacy-loss distribution ([`AccountantKind::Pld`], in `pld.rs`). Deciding
//! which sampling and sigma a round counts as is the caller's business.

mod pld;
mod rdp;

use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::f64::consts::PI;
use std::fmt;
use std::sync::{Mutex, MutexGuard, PoisonError};

/// Which accountant composes the steps: the scenario's `privacy.dp.accountant`.
pub use crate::scenario::AccountantKind;

/// How each step's participants were drawn.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Sampling {
    /// Each record joins independently with probability `q` (add/remove adjacency).
    Poisson,
    /// A fixed-size sample without replacement, `q` = sample / population (replace-one adjacency; RDP only).
    WithoutReplacement,
}

/// Whether `kind` can account steps drawn by `sampling`.
pub fn supports(kind: AccountantKind, sampling: Sampling) -> bool {
    !(kind == AccountantKind::Pld && sampling == Sampling::WithoutReplacement)
}

/// `count` identical steps.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
struct StepGroup {
    sampling: Sampling,
    q: f64,
    sigma: f64,
    count: u64,
}

impl StepGroup {
    fn key(&self) -> StepKey {
        (self.sampling, self.q.to_bits(), self.sigma.to_bits())
    }

    /// Sampling nobody, or adding infinite noise, reveals nothing.
    fn is_free(&self) -> bool {
        self.q == 0.0 || self.sigma == f64::INFINITY
    }
}

type StepKey = (Sampling, u64, u64);

/// The steps composed so far; serde so a checkpoint can save it.
///
/// Steps are kept grouped by `(sampling, q, sigma)`, so composing one step per round stays small however many
/// rounds run. What each distinct step costs (its RDP curve, or its discretised PLD) is computed once and cached,
/// as is the last epsilon; the cache is not serialised and is rebuilt on demand after a restore.
///
/// ```
/// use fedsim::privacy::accountant::{Accountant, AccountantKind, Sampling};
///
/// let mut accountant = Accountant::new(AccountantKind::Rdp, 1e-5);
/// assert_eq!(accountant.epsilon(), 0.0);
/// accountant.compose(Sampling::Poisson, 0.01, 1.0, 1000);
/// let eps = accountant.epsilon();
/// assert!((eps - 2.1014).abs() < 0.02, "{eps}");
/// // What one more round would cost, without composing it.
/// assert!(accountant.epsilon_with(Sampling::Poisson, 0.01, 1.0, 1) > eps);
/// assert_eq!(accountant.steps(), 1000);
/// ```
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Accountant {
    kind: AccountantKind,
    delta: f64,
    groups: Vec<StepGroup>,
    #[serde(skip)]
    cache: Cache,
}

impl Accountant {
    /// An accountant with nothing composed, reporting epsilon at `delta`.
    ///
    /// # Panics
    /// If `delta` is not in (0, 1).
    pub fn new(kind: AccountantKind, delta: f64) -> Self {
        assert!(delta > 0.0 && delta < 1.0, "delta must be in (0, 1), got {delta}");
        Accountant { kind, delta, groups: Vec::new(), cache: Cache::default() }
    }

    /// Composes `count` identical steps.
    ///
    /// `sigma` = 0 means no noise (epsilon becomes infinite); `q` = 0 or `sigma` = infinity costs nothing.
    ///
    /// # Panics
    /// If `q` is not in `[0, 1]`, `sigma` is negative or NaN, or the accountant does not [`supports`] `sampling`.
    pub fn compose(&mut self, sampling: Sampling, q: f64, sigma: f64, count: u64) {
        let step = self.checked_step(sampling, q, sigma, count);
        add_step(&mut self.groups, step);
    }

    /// Epsilon of everything composed so far at the accountant's delta (0.0 with no steps, infinity when no
    /// finite epsilon can be certified).
    pub fn epsilon(&self) -> f64 {
        self.epsilon_of(&self.groups)
    }

    /// Epsilon if `count` more such steps were composed (does not change `self`).
    ///
    /// # Panics
    /// As [`Accountant::compose`].
    pub fn epsilon_with(&self, sampling: Sampling, q: f64, sigma: f64, count: u64) -> f64 {
        let mut groups = self.groups.clone();
        add_step(&mut groups, self.checked_step(sampling, q, sigma, count));
        self.epsilon_of(&groups)
    }

    /// How many steps were composed.
    pub fn steps(&self) -> u64 {
        self.groups.iter().map(|g| g.count).sum()
    }

    fn checked_step(&self, sampling: Sampling, q: f64, sigma: f64, count: u64) -> StepGroup {
        assert!((0.0..=1.0).contains(&q), "sampling probability must be in [0, 1], got {q}");
        assert!(sigma >= 0.0, "noise multiplier must be >= 0, got {sigma}");
        assert!(supports(self.kind, sampling), "{:?} accountant cannot account {sampling:?} sampling", self.kind);
        StepGroup { sampling, q, sigma, count }
    }

    fn epsilon_of(&self, groups: &[StepGroup]) -> f64 {
        let mut cache = self.cache.lock();
        if let Some((last_groups, eps)) = &cache.last {
            if last_groups == groups {
                return *eps;
            }
        }
        let costly: Vec<StepGroup> = groups.iter().filter(|g| !g.is_free()).copied().collect();
        let eps = if costly.is_empty() {
            0.0
        } else if costly.iter().any(|g| g.sigma == 0.0) {
            f64::INFINITY
        } else {
            match self.kind {
                AccountantKind::Rdp => cache.rdp_epsilon(&costly, self.delta),
                AccountantKind::Pld => cache.pld_epsilon(&costly, self.delta),
            }
        };
        cache.last = Some((groups.to_vec(), eps));
        eps
    }
}

fn add_step(groups: &mut Vec<StepGroup>, step: StepGroup) {
    if step.count == 0 {
        return;
    }
    match groups.iter_mut().find(|g| g.key() == step.key()) {
        Some(group) => group.count = group.count.saturating_add(step.count),
        None => groups.push(step),
    }
}

/// What is expensive to recompute: per distinct step, its RDP curve or its PLD; and the last answer.
#[derive(Default, Clone)]
struct CacheState {
    rdp_curves: HashMap<StepKey, Vec<f64>>,
    plds: HashMap<StepKey, pld::StepPld>,
    last: Option<(Vec<StepGroup>, f64)>,
}

impl CacheState {
    fn rdp_epsilon(&mut self, groups: &[StepGroup], delta: f64) -> f64 {
        let mut total = vec![0.0; rdp::ORDERS.len()];
        for g in groups {
            let curve = self.rdp_curves.entry(g.key()).or_insert_with(|| rdp::curve(g.sampling, g.q, g.sigma));
            total.iter_mut().zip(curve.iter()).for_each(|(t, r)| *t += g.count as f64 * r);
        }
        rdp::epsilon(&total, delta)
    }

    fn pld_epsilon(&mut self, groups: &[StepGroup], delta: f64) -> f64 {
        if groups.iter().all(|g| g.q == 1.0) {
            // Plain Gaussians compose exactly into one, whose privacy curve is closed-form: no grid needed.
            let mu = groups.iter().map(|g| g.count as f64 / (g.sigma * g.sigma)).sum::<f64>().sqrt();
            return pld::gaussian_epsilon(mu, delta);
        }
        // Taken out of the map for the computation (to borrow them together), in the groups' order so that the
        // floating-point result does not depend on the map's.
        let mut steps: Vec<(pld::StepPld, u64)> = groups
            .iter()
            .map(|g| (self.plds.remove(&g.key()).unwrap_or_else(|| pld::StepPld::new(g.q, g.sigma)), g.count))
            .collect();
        let eps = pld::epsilon(&mut steps, delta);
        self.plds.extend(groups.iter().map(StepGroup::key).zip(steps.into_iter().map(|(step, _)| step)));
        eps
    }
}

/// Interior mutability so `epsilon(&self)` can fill the cache; a mutex keeps the accountant `Send + Sync`.
#[derive(Default)]
struct Cache(Mutex<CacheState>);

impl Cache {
    fn lock(&self) -> MutexGuard<'_, CacheState> {
        // The state is only ever a cache, so one left by a panicking thread is still usable.
        self.0.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl Clone for Cache {
    fn clone(&self) -> Self {
        Cache(Mutex::new(self.lock().clone()))
    }
}

impl fmt::Debug for Cache {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Cache")
    }
}

// Special functions shared by both accountants (std has no erfc).

/// ln(e^a + e^b) without overflow.
fn log_add(a: f64, b: f64) -> f64 {
    let (lo, hi) = if a < b { (a, b) } else { (b, a) };
    if lo == f64::NEG_INFINITY {
        return hi;
    }
    hi + (lo - hi).exp().ln_1p()
}

/// ln |C(alpha, i)| for i = 0, 1, 2, ...: the generalised binomial coefficients, whose sign alternates past a
/// fractional alpha.
fn log_binomials(alpha: f64) -> impl Iterator<Item = f64> {
    (0u32..).scan(0.0, move |log_c, i| {
        let current = *log_c;
        *log_c += ((alpha - f64::from(i)) / f64::from(i + 1)).abs().ln();
        Some(current)
    })
}

// W. J. Cody, "Rational Chebyshev approximations for the error function", Math. Comp. 23 (1969), as in Netlib's
// CALERF, with the published digits: erf on [0, 0.46875] (A / B), erfc(y) e^(y^2) on (0.46875, 4] (C / D) and
// beyond (P / Q).
#[rustfmt::skip]
#[allow(clippy::excessive_precision)]
mod cody {
    pub const A: [f64; 5] = [3.16112374387056560e0, 1.13864154151050156e2, 3.77485237685302021e2,
        3.20937758913846947e3, 1.85777706184603153e-1];
    pub const B: [f64; 4] = [2.36012909523441209e1, 2.44024637934444173e2, 1.28261652607737228e3,
        2.84423683343917062e3];
    pub const C: [f64; 9] = [5.64188496988670089e-1, 8.88314979438837594e0, 6.61191906371416295e1,
        2.98635138197400131e2, 8.81952221241769090e2, 1.71204761263407058e3, 2.05107837782607147e3,
        1.23033935479799725e3, 2.15311535474403846e-8];
    pub const D: [f64; 8] = [1.57449261107098347e1, 1.17693950891312499e2, 5.37181101862009858e2,
        1.62138957456669019e3, 3.29079923573345963e3, 4.36261909014324716e3, 3.43936767414372164e3,
        1.23033935480374942e3];
    pub const P: [f64; 6] = [3.05326634961232344e-1, 3.60344899949804439e-1, 1.25781726111229246e-1,
        1.60837851487422766e-2, 6.58749161529837803e-4, 1.63153871373020978e-2];
    pub const Q: [f64; 5] = [2.56852019228982242e0, 1.87295284992346047e0, 5.27905102951428412e-1,
        6.05183413124413191e-2, 2.33520497626869185e-3];
}

/// erf(x) for |x| <= 0.46875.
fn erf_small(x: f64) -> f64 {
    use cody::{A, B};
    let z = x * x;
    let num = A[..3].iter().fold(A[4] * z, |acc, a| (acc + a) * z) + A[3];
    let den = B[..3].iter().fold(z, |acc, b| (acc + b) * z) + B[3];
    x * num / den
}

/// e^(y^2) erfc(y) for y > 0.46875, to ~1e-16 relative.
fn erfcx_large(y: f64) -> f64 {
    use cody::{C, D, P, Q};
    if y <= 4.0 {
        let num = C[..7].iter().fold(C[8] * y, |acc, c| (acc + c) * y) + C[7];
        let den = D[..7].iter().fold(y, |acc, d| (acc + d) * y) + D[7];
        num / den
    } else {
        let z = 1.0 / (y * y);
        let num = P[..4].iter().fold(P[5] * z, |acc, p| (acc + p) * z) + P[4];
        let den = Q[..4].iter().fold(z, |acc, q| (acc + q) * z) + Q[4];
        (1.0 / PI.sqrt() - z * num / den) / y
    }
}

fn erfc(x: f64) -> f64 {
    let y = x.abs();
    if y <= 0.46875 {
        return 1.0 - erf_small(x);
    }
    if y >= 26.543 {
        // Cody's xbig: erfc(y) underflows; this also keeps infinities out of the split below.
        return if x < 0.0 { 2.0 } else { 0.0 };
    }
    // Splitting y^2 = ysq^2 + (y - ysq)(y + ysq) keeps exp(-y^2) accurate to the last bits (Cody).
    let ysq = (16.0 * y).trunc() / 16.0;
    let r = (-ysq * ysq).exp() * (-(y - ysq) * (y + ysq)).exp() * erfcx_large(y);
    if x < 0.0 {
        2.0 - r
    } else {
        r
    }
}

/// ln(erfc(x)), accurate far into the right tail where erfc underflows.
fn log_erfc(x: f64) -> f64 {
    if x > 0.46875 {
        -x * x + erfcx_large(x).ln()
    } else {
        erfc(x).ln()
    }
}

/// Standard normal CDF.
pub(crate) fn normal_cdf(z: f64) -> f64 {
    0.5 * erfc(-z / std::f64::consts::SQRT_2)
}

/// ln of the standard normal CDF.
fn normal_log_cdf(z: f64) -> f64 {
    0.5f64.ln() + log_erfc(-z / std::f64::consts::SQRT_2)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Runs `steps` as one accountant and returns its epsilon.
    fn epsilon(kind: AccountantKind, steps: &[(Sampling, f64, f64, u64)]) -> f64 {
        let mut accountant = Accountant::new(kind, 1e-5);
        steps.iter().for_each(|&(s, q, sigma, n)| accountant.compose(s, q, sigma, n));
        accountant.epsilon()
    }

    #[test]
    fn special_functions_match_reference_values() {
        // Values from mpmath at 30 digits.
        let close = |a: f64, b: f64, tol: f64| assert!((a - b).abs() <= tol * b.abs(), "{a} vs {b}");
        close(erfc(0.3), 0.671_373_240_540_872_6, 1e-15);
        close(erfc(-1.5), 1.966_105_146_475_310_7, 1e-15);
        close(erfc(3.0), 2.209_049_699_858_544e-5, 1e-14);
        assert_eq!((erfc(f64::NEG_INFINITY), erfc(f64::INFINITY), normal_log_cdf(f64::INFINITY)), (2.0, 0.0, 0.0));
        close(log_erfc(30.0), -903.974_117_110_643_9, 1e-15);
        close(normal_log_cdf(-12.0), -75.410_673_001_568_8, 1e-14);
        let log_binomial = |n: f64, k: usize| log_binomials(n).nth(k).unwrap();
        close(log_binomial(1024.0, 512), 706.090_941_497_353_3, 1e-13);
        close(log_binomial(2.5, 6), 0.004_882_812_5f64.ln(), 1e-13);
    }

    fn assert_within(got: f64, want: f64, rel: f64) {
        assert!((got - want).abs() <= rel * want, "got {got}, want {want} within {rel}");
    }

    const POISSON_CASES: [(f64, f64, u64); 3] = [(0.01, 1.0, 1000), (1.0, 2.0, 50), (0.1, 1.0, 100)];

    #[test]
    fn rdp_matches_dp_accounting() {
        for ((q, sigma, n), want) in POISSON_CASES.into_iter().zip([2.1014, 22.020, 7.9039]) {
            assert_within(epsilon(AccountantKind::Rdp, &[(Sampling::Poisson, q, sigma, n)]), want, 0.01);
        }
    }

    #[test]
    fn pld_matches_dp_accounting() {
        for ((q, sigma, n), want) in POISSON_CASES.into_iter().zip([1.8282, 20.676, 7.0466]) {
            assert_within(epsilon(AccountantKind::Pld, &[(Sampling::Poisson, q, sigma, n)]), want, 0.01);
        }
    }

    #[test]
    fn rdp_composes_different_steps_by_summing_curves() {
        let (a, b) = ((Sampling::Poisson, 0.02, 1.2, 300), (Sampling::WithoutReplacement, 0.05, 2.0, 200));
        let total: Vec<f64> = rdp::curve(a.0, a.1, a.2)
            .iter()
            .zip(rdp::curve(b.0, b.1, b.2))
            .map(|(ra, rb)| a.3 as f64 * ra + b.3 as f64 * rb)
            .collect();
        let both = epsilon(AccountantKind::Rdp, &[a, b]);
        assert_eq!(both, rdp::epsilon(&total, 1e-5));
        assert!(both > epsilon(AccountantKind::Rdp, &[a]) && both > epsilon(AccountantKind::Rdp, &[b]));
    }

    #[test]
    fn pld_composition_of_different_steps_lies_between_the_single_kinds() {
        // Per step, q = 0.02 costs more than q = 0.01 at the same sigma, so 250 of each lies between 500 of either.
        let (costly, cheap) = ((Sampling::Poisson, 0.02, 1.0, 250), (Sampling::Poisson, 0.01, 1.0, 250));
        let mixed = epsilon(AccountantKind::Pld, &[costly, cheap]);
        let all_cheap = epsilon(AccountantKind::Pld, &[(Sampling::Poisson, 0.01, 1.0, 500)]);
        let all_costly = epsilon(AccountantKind::Pld, &[(Sampling::Poisson, 0.02, 1.0, 500)]);
        assert!(all_cheap < mixed && mixed < all_costly, "{all_cheap} {mixed} {all_costly}");
        // The same steps composed in another order or in pieces give the same epsilon.
        let pieces = [cheap, (Sampling::Poisson, 0.02, 1.0, 100), (Sampling::Poisson, 0.02, 1.0, 150)];
        assert_within(epsilon(AccountantKind::Pld, &pieces), mixed, 1e-9);
        // And the PLD is tighter than RDP's bound for them, also with a plain Gaussian among them.
        assert!(mixed < epsilon(AccountantKind::Rdp, &[costly, cheap]));
        let plain = (Sampling::Poisson, 1.0, 8.0, 20);
        let with_plain = epsilon(AccountantKind::Pld, &[costly, cheap, plain]);
        assert!(mixed < with_plain && with_plain < epsilon(AccountantKind::Rdp, &[costly, cheap, plain]));
    }

    #[test]
    fn epsilon_with_previews_without_composing() {
        for kind in [AccountantKind::Rdp, AccountantKind::Pld] {
            let mut accountant = Accountant::new(kind, 1e-5);
            accountant.compose(Sampling::Poisson, 0.05, 1.5, 40);
            let before = accountant.epsilon();
            let preview = accountant.epsilon_with(Sampling::Poisson, 0.05, 1.5, 10);
            assert_eq!(accountant.epsilon(), before);
            accountant.compose(Sampling::Poisson, 0.05, 1.5, 10);
            assert_eq!((accountant.epsilon(), accountant.steps()), (preview, 50));
            assert!(preview > before);
        }
    }

    #[test]
    fn no_steps_and_free_steps_cost_nothing() {
        for kind in [AccountantKind::Rdp, AccountantKind::Pld] {
            assert_eq!(epsilon(kind, &[]), 0.0);
            assert_eq!(epsilon(kind, &[(Sampling::Poisson, 0.0, 1.0, 100)]), 0.0);
            assert_eq!(epsilon(kind, &[(Sampling::Poisson, 0.5, f64::INFINITY, 100)]), 0.0);
            assert_eq!(epsilon(kind, &[(Sampling::Poisson, 0.5, 0.0, 1)]), f64::INFINITY);
        }
    }

    #[test]
    fn tiny_sigma_is_huge_or_infinite_never_nan() {
        for kind in [AccountantKind::Rdp, AccountantKind::Pld] {
            for (q, sigma) in [(0.5, 1e-3), (0.5, 1e-200), (1.0, 1e-3), (1.0, 1e-200)] {
                let eps = epsilon(kind, &[(Sampling::Poisson, q, sigma, 10)]);
                assert!(eps > 1e3, "{kind:?} q {q} sigma {sigma}: {eps}");
            }
        }
    }

    #[test]
    fn checkpoint_round_trip_keeps_steps_and_epsilon() {
        fn shareable<T: Send + Sync>(_: &T) {}
        let mut accountant = Accountant::new(AccountantKind::Rdp, 1e-5);
        accountant.compose(Sampling::Poisson, 0.01, 1.0, 600);
        accountant.compose(Sampling::Poisson, 0.01, 1.0, 400);
        let eps = accountant.epsilon();
        shareable(&accountant);
        let restored: Accountant = serde_json::from_str(&serde_json::to_string(&accountant).unwrap()).unwrap();
        assert_eq!(restored.steps(), 1000);
        assert_eq!(restored.epsilon(), eps);
        assert!(supports(AccountantKind::Rdp, Sampling::WithoutReplacement));
        assert!(!supports(AccountantKind::Pld, Sampling::WithoutReplacement));
    }

    #[test]
    #[should_panic(expected = "cannot account")]
    fn pld_refuses_sampling_without_replacement() {
        Accountant::new(AccountantKind::Pld, 1e-5).compose(Sampling::WithoutReplacement, 0.1, 1.0, 1);
    }

    mod monotone {
        use super::*;
        use proptest::prelude::*;

        proptest! {
            #![proptest_config(ProptestConfig { cases: 16, ..ProptestConfig::default() })]

            #[test]
            fn epsilon_grows_with_steps_and_falls_with_sigma(
                q in 0.01f64..1.0, sigma in 0.8f64..3.0, steps in 1u64..50, extra in 1u64..50, more_noise in 1.05f64..2.0,
            ) {
                for kind in [AccountantKind::Rdp, AccountantKind::Pld] {
                    let base = epsilon(kind, &[(Sampling::Poisson, q, sigma, steps)]);
                    let longer = epsilon(kind, &[(Sampling::Poisson, q, sigma, steps + extra)]);
                    let noisier = epsilon(kind, &[(Sampling::Poisson, q, sigma * more_noise, steps)]);
                    prop_assert!(base.is_finite() && base > 0.0);
                    prop_assert!(longer >= base, "{kind:?}: {longer} < {base}");
                    prop_assert!(noisier <= base, "{kind:?}: {noisier} > {base}");
                }
            }
        }
    }
}
