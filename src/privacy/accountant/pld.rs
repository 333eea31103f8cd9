//! Privacy-loss distributions (PLDs) of the Poisson-subsampled Gaussian, after `dp_accounting`'s `pld/` package
//! with the defaults its `PLDAccountant` uses: pessimistic connect-the-dots discretisation (Doroshenko et al. 2022)
//! on a grid of 1e-4, noise tails beyond e^-50 counted as infinite loss, composition by FFT on a window that
//! leaves out at most 1e-15 (Chernoff bound), and the worse of the add and remove directions (they differ once
//! q < 1). Where it departs: all steps are composed at once, as one product of spectra, rather than convolved one
//! after another; the Chernoff bound tries more orders, for windows near the real width; losses are kept within
//! +-MAX_LOSS; and plain Gaussians alone are composed exactly, in closed form.

use super::{log_add, normal_cdf, normal_log_cdf};
use rustfft::num_complex::Complex64;
use rustfft::{Fft, FftPlanner};
use std::f64::consts::PI;
use std::sync::Arc;

/// Spacing of the privacy-loss grid.
const INTERVAL: f64 = 1e-4;
/// ln of the noise mass left out at each end before discretising.
const LOG_MASS_TRUNCATION: f64 = -50.0;
/// Probability mass each composition may drop from the tails.
const TAIL_MASS_TRUNCATION: f64 = 1e-15;
/// Losses are kept within +-MAX_LOSS: connect-the-dots then puts delta(MAX_LOSS) on infinite loss and the mass
/// below on the lowest point, both pessimistic. It bounds the grid for tiny sigma, where epsilon comes out infinite.
const MAX_LOSS: f64 = 50.0;

#[derive(Clone, Copy)]
enum Direction {
    /// Neighbour with one record less: the upper distribution is the mixture.
    Remove,
    /// Neighbour with one record more: the lower distribution is the mixture.
    Add,
}

/// A distribution on the losses `(offset + i) * INTERVAL`, plus an atom at infinity.
#[derive(Clone)]
struct Pmf {
    offset: i64,
    probs: Vec<f64>,
    infinity_mass: f64,
}

/// One distinct step's PLD in each direction, with what composing it needs.
#[derive(Clone)]
pub(super) struct StepPld {
    remove: Base,
    /// None when q = 1, where both directions give the same PLD.
    add: Option<Base>,
}

impl StepPld {
    /// `0 < q <= 1`, `0 < sigma < infinity`.
    pub(super) fn new(q: f64, sigma: f64) -> Self {
        let add = (q < 1.0).then(|| Base::new(connect_dots(Direction::Add, q, sigma)));
        StepPld { remove: Base::new(connect_dots(Direction::Remove, q, sigma)), add }
    }
}

/// Epsilon at `delta` of each step composed its count of times: the worse direction.
pub(super) fn epsilon(steps: &mut [(StepPld, u64)], delta: f64) -> f64 {
    let remove = compose(steps.iter_mut().map(|(step, count)| (&mut step.remove, *count)).collect());
    if steps.iter().all(|(step, _)| step.add.is_none()) {
        return remove.epsilon_for_delta(delta);
    }
    let add = compose(
        steps.iter_mut().map(|(step, count)| (step.add.as_mut().unwrap_or(&mut step.remove), *count)).collect(),
    );
    remove.epsilon_for_delta(delta).max(add.epsilon_for_delta(delta))
}

/// Epsilon at `delta` of the plain Gaussian mechanism with sensitivity / noise = `mu`, from its exact
/// delta(eps) = Phi(mu/2 - eps/mu) - e^eps Phi(-mu/2 - eps/mu) (Balle & Wang 2018), by bisection.
pub(super) fn gaussian_epsilon(mu: f64, delta: f64) -> f64 {
    let delta_at = |eps: f64| normal_cdf(mu / 2.0 - eps / mu) - (eps + normal_log_cdf(-mu / 2.0 - eps / mu)).exp();
    let (mut lo, mut hi) = (0.0, 1.0);
    if delta_at(lo) <= delta {
        return 0.0;
    }
    while delta_at(hi) > delta {
        (lo, hi) = (hi, 2.0 * hi);
    }
    for _ in 0..100 {
        let mid = 0.5 * (lo + hi);
        if delta_at(mid) > delta {
            lo = mid;
        } else {
            hi = mid;
        }
    }
    hi // The end whose delta is within the target.
}

/// Privacy loss at output `x` of the Gaussian with sensitivity 1 subsampled with probability `q`. For remove it
/// is ln(1 - q + q e^l(x)), where l(x) = (-1/2 - x) / sigma^2 is the plain Gaussian's; add mirrors it.
fn privacy_loss(direction: Direction, q: f64, sigma: f64, x: f64) -> f64 {
    let remove = |x: f64| log_add(q.ln() + (-0.5 - x) / (sigma * sigma), (-q).ln_1p());
    match direction {
        Direction::Remove => remove(x),
        Direction::Add => -remove(-x),
    }
}

/// The hockey-stick divergence at `eps`, i.e. the mechanism's delta(eps) in that direction. The loss falls as
/// the output grows, so it is the upper CDF minus e^eps times the lower CDF, both at the output whose loss is eps.
fn hockey_stick(direction: Direction, q: f64, sigma: f64, eps: f64) -> f64 {
    let s2 = sigma * sigma;
    let delta = match direction {
        Direction::Remove => {
            let t = eps.exp_m1() / q;
            if t <= -1.0 {
                return -eps.exp_m1(); // eps <= ln(1 - q): every output's loss exceeds eps.
            }
            let x = -0.5 - t.ln_1p() * s2;
            let upper = (1.0 - q) * normal_cdf(x / sigma) + q * normal_cdf((x + 1.0) / sigma);
            upper - (eps + normal_log_cdf(x / sigma)).exp()
        }
        Direction::Add => {
            let t = (-eps).exp_m1() / q;
            if t <= -1.0 {
                return 0.0; // eps >= -ln(1 - q): no output's loss reaches eps.
            }
            let x = 0.5 + t.ln_1p() * s2;
            let log_lower =
                log_add((-q).ln_1p() + normal_log_cdf(x / sigma), q.ln() + normal_log_cdf((x - 1.0) / sigma));
            normal_cdf(x / sigma) - (eps + log_lower).exp()
        }
    };
    delta.clamp(0.0, 1.0)
}

/// Pessimistic connect-the-dots PLD on the grid between the losses at the truncated noise's ends: the PLD with
/// those support points whose hockey-stick curve interpolates the mechanism's at every grid point.
fn connect_dots(direction: Direction, q: f64, sigma: f64) -> Pmf {
    let tail = sigma * normal_log_quantile(0.5f64.ln() + LOG_MASS_TRUNCATION);
    let (lowest_x, highest_x) = match direction {
        Direction::Remove => (tail - 1.0, -tail),
        Direction::Add => (tail, 1.0 - tail),
    };
    let hi = (privacy_loss(direction, q, sigma, lowest_x).min(MAX_LOSS) / INTERVAL).ceil() as i64;
    let lo = (privacy_loss(direction, q, sigma, highest_x).max(-MAX_LOSS) / INTERVAL).floor() as i64;
    let mut deltas: Vec<f64> = (lo..=hi).map(|k| hockey_stick(direction, q, sigma, k as f64 * INTERVAL)).collect();
    // delta(eps) is non-increasing; enforce it against rounding.
    for i in 1..deltas.len() {
        deltas[i] = deltas[i].min(deltas[i - 1]);
    }
    let n = deltas.len();
    let (em1, e) = (INTERVAL.exp_m1(), INTERVAL.exp());
    let probs = (0..n)
        .map(|i| {
            let first = if i == 0 { 1.0 - deltas[0] } else { 0.0 };
            let up = if i + 1 < n { (deltas[i + 1] - deltas[i]) / em1 } else { 0.0 };
            let down = if i > 0 { (deltas[i] - deltas[i - 1]) * e / em1 } else { 0.0 };
            (first + up - down).max(0.0)
        })
        .collect();
    Pmf { offset: lo, probs, infinity_mass: deltas[n - 1] }
}

/// The z with ln Phi(z) = `log_p` for a far-left tail (Newton's method on ln Phi, which is concave).
fn normal_log_quantile(log_p: f64) -> f64 {
    let mut z = -(-2.0 * log_p).sqrt();
    for _ in 0..100 {
        let log_cdf = normal_log_cdf(z);
        let log_pdf = -0.5 * z * z - 0.5 * (2.0 * PI).ln();
        let step = (log_cdf - log_p) / (log_pdf - log_cdf).exp();
        z -= step;
        if step.abs() < 1e-13 {
            break;
        }
    }
    z
}

/// Orders t (per grid step) at which the Chernoff bound sizes the composition's window: +-2^(m/2) per unit of loss
/// from 1/8 to 4096, so that the window stays near the real width from a few steps of a tiny q to very many steps.
/// (dp_accounting's +-1..20 / length are too small for long compositions, whose windows then waste FFT length.)
fn chernoff_orders() -> impl Iterator<Item = f64> {
    (-6..=24).flat_map(|m| {
        let t = 2f64.powf(f64::from(m) / 2.0) * INTERVAL;
        [t, -t]
    })
}

/// A step's PMF in one direction, with its log moment generating function at the Chernoff orders and its
/// spectrum at the FFT length last used.
#[derive(Clone)]
struct Base {
    pmf: Pmf,
    /// ln sum_j p_j e^(t j) for each t of `chernoff_orders`.
    log_mgfs: Vec<f64>,
    cyclic: Option<Cyclic>,
}

impl Base {
    fn new(pmf: Pmf) -> Self {
        let log_probs: Vec<f64> = pmf.probs.iter().map(|p| p.ln()).collect();
        let log_mgfs = chernoff_orders()
            .map(|t| {
                // Relative to the largest term, whatever t; terms below e^-745 of it would underflow: skip them.
                let exponents = log_probs.iter().enumerate().map(|(j, lp)| lp + t * j as f64);
                let max = exponents.clone().fold(f64::NEG_INFINITY, f64::max);
                max + exponents.filter(|&e| e > max - 745.0).map(|e| (e - max).exp()).sum::<f64>().ln()
            })
            .collect();
        Base { pmf, log_mgfs, cyclic: None }
    }

    /// Its spectrum on a cyclic grid of 2 * `half` points.
    fn cyclic(&mut self, half: usize) -> &Cyclic {
        if self.cyclic.as_ref().is_none_or(|c| c.twiddles.len() != half) {
            self.cyclic = Some(Cyclic::new(&self.pmf.probs, half));
        }
        self.cyclic.as_ref().expect("sized above")
    }
}

/// The composition of the bases, each `count` times: the inverse FFT of the product of their spectra's powers,
/// on a cyclic grid just long enough for the window holding all but TAIL_MASS_TRUNCATION of the mass (what lies
/// outside wraps into the window, within that mass, and is also counted as infinite loss).
fn compose(mut parts: Vec<(&mut Base, u64)>) -> Pmf {
    // Indices of the sum run from 0 to `top` above the sum of the offsets.
    let offset: i64 = parts.iter().map(|(base, count)| base.pmf.offset * *count as i64).sum();
    let top: i64 = parts.iter().map(|(base, count)| (base.pmf.probs.len() as i64 - 1) * *count as i64).sum();
    let log_tail = (2.0 / TAIL_MASS_TRUNCATION).ln();
    let (mut lo, mut hi) = (0, top);
    for (i, t) in chernoff_orders().enumerate() {
        // Chernoff: P[sum > b] <= exp(ln M(t) - t b) for t > 0, and symmetrically below for t < 0.
        let log_mgf: f64 = parts.iter().map(|(base, count)| *count as f64 * base.log_mgfs[i]).sum();
        let bound = (log_mgf + log_tail) / t;
        if bound.is_finite() && t > 0.0 {
            hi = hi.min(bound.ceil() as i64);
        } else if bound.is_finite() {
            lo = lo.max(bound.floor() as i64);
        }
    }
    let out_len = (hi - lo + 1) as usize;
    let longest = parts.iter().map(|(base, _)| base.pmf.probs.len()).max().unwrap_or(1);
    let half = grid_len(out_len.max(longest).div_ceil(2));
    let mut product = vec![Complex64::new(1.0, 0.0); half + 1];
    for (base, count) in &mut parts {
        // Powers below 1e-300 are left at zero without computing them.
        let negligible = (2.0 * 1e-300f64.ln() / *count as f64).exp();
        for (p, x) in product.iter_mut().zip(&base.cyclic(half).spectrum) {
            *p = if *p == Complex64::default() || x.norm_sqr() < negligible {
                Complex64::default()
            } else {
                *p * power(*x, *count)
            };
        }
    }
    let pairs = parts[0].0.cyclic(half).real_inverse(&product);
    let n = 2 * half as i64;
    let probs = (0..out_len)
        .map(|j| {
            let t = (lo + j as i64).rem_euclid(n) as usize;
            if t.is_multiple_of(2) {
                pairs[t / 2].re
            } else {
                pairs[t / 2].im
            }
        })
        .collect();
    // 1 - prod (1 - m)^count, plus what the window leaves out.
    let log_finite: f64 = parts.iter().map(|(base, count)| *count as f64 * (-base.pmf.infinity_mass).ln_1p()).sum();
    Pmf { offset: offset + lo, probs, infinity_mass: TAIL_MASS_TRUNCATION - log_finite.exp_m1() }
}

/// A PMF's spectrum on a cyclic grid of n = 2 * half points, kept for frequencies 0..=half (the rest mirrors them,
/// the PMF being real), with what a real inverse FFT through a complex one of length half needs.
#[derive(Clone)]
struct Cyclic {
    spectrum: Vec<Complex64>,
    /// e^(2 pi i f / n) for f < half.
    twiddles: Vec<Complex64>,
    inverse: Arc<dyn Fft<f64>>,
}

impl Cyclic {
    fn new(probs: &[f64], half: usize) -> Self {
        let n = 2 * half;
        let mut planner = FftPlanner::new();
        let mut spectrum = vec![Complex64::default(); n];
        spectrum.iter_mut().zip(probs).for_each(|(z, &p)| z.re = p);
        planner.plan_fft_forward(n).process(&mut spectrum);
        spectrum.truncate(half + 1);
        let twiddles = (0..half).map(|f| Complex64::from_polar(1.0, 2.0 * PI * f as f64 / n as f64)).collect();
        Cyclic { spectrum, twiddles, inverse: planner.plan_fft_inverse(half) }
    }

    /// The real sequence with spectrum `x` (frequencies 0..=half), as pairs `x[2t] + i x[2t + 1]`: those have the
    /// spectrum `E + iO`, where `E[f] = (X[f] + conj X[half - f]) / 2` and
    /// `O[f] = (X[f] - conj X[half - f]) e^(2 pi i f / n) / 2` are the spectra of the even and odd samples.
    fn real_inverse(&self, x: &[Complex64]) -> Vec<Complex64> {
        let half = self.twiddles.len();
        let mut pairs: Vec<Complex64> = (self.twiddles.iter().enumerate())
            .map(|(f, twiddle)| {
                let (a, b) = (x[f], x[half - f].conj());
                (a + b + Complex64::i() * (a - b) * twiddle) * (0.5 / half as f64)
            })
            .collect();
        self.inverse.process(&mut pairs);
        pairs
    }
}

/// The FFT length for `needed` points: the next 2^a times 1, 5/4, 3/2 or 7/4. At most a quarter too long, few
/// enough that a growing count seldom needs a new spectrum, and a function of the need alone, so that epsilon does
/// not depend on what the cache held before (a restored checkpoint gets the very same numbers).
fn grid_len(needed: usize) -> usize {
    let pow2 = needed.next_power_of_two();
    [4, 5, 6, 7].into_iter().map(|m| pow2 / 8 * m).find(|&n| n >= needed).unwrap_or(pow2)
}

impl Pmf {
    /// The smallest epsilon >= 0 whose hockey-stick divergence is at most `delta` (infinite if none is): scans
    /// down from the largest loss, keeping delta(eps) = upper mass above eps - e^eps * lower mass above eps.
    fn epsilon_for_delta(&self, delta: f64) -> f64 {
        if self.infinity_mass > delta {
            return f64::INFINITY;
        }
        let (mut upper, mut lower) = (self.infinity_mass, 0.0);
        for (i, p) in self.probs.iter().enumerate().rev() {
            let loss = (self.offset + i as i64) as f64 * INTERVAL;
            if upper > delta && lower > 0.0 && ((upper - delta) / lower).ln() >= loss {
                break; // The answer lies above this loss.
            }
            upper += p;
            lower += (-loss).exp() * p;
            if upper >= delta && lower == 0.0 {
                return loss.max(0.0); // e^-loss underflowed: the loss is huge.
            }
        }
        if upper <= lower + delta {
            0.0
        } else {
            ((upper - delta) / lower).ln()
        }
    }
}

/// z^k by repeated squaring.
fn power(mut z: Complex64, mut k: u64) -> Complex64 {
    let mut result = Complex64::new(1.0, 0.0);
    while k > 0 {
        if k & 1 == 1 {
            result *= z;
        }
        z *= z;
        k >>= 1;
    }
    result
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_gaussian_grid_is_just_above_the_closed_form() {
        // dp_accounting discretises q = 1 as well (20.676 at sigma = 2, 50 steps); the exact curve gives 20.6755.
        let exact = gaussian_epsilon(50f64.sqrt() / 2.0, 1e-5);
        assert!((exact - 20.675_508).abs() < 1e-5, "{exact}");
        let grid = epsilon(&mut [(StepPld::new(1.0, 2.0), 50)], 1e-5);
        assert!(exact <= grid && grid < exact + 1e-3, "{grid} vs {exact}");
    }
}
