//! Renyi-DP curves of the subsampled Gaussian and their conversion to (epsilon, delta), after `dp_accounting`'s
//! `rdp_privacy_accountant.py`.

use super::{log_add, log_binomials, log_erfc, Sampling};
use std::f64::consts::{LN_2, SQRT_2};
use std::sync::LazyLock;

/// `dp_accounting`'s default orders: 1.1, 1.2, ..., 10.9, then 11..=63, 128, 256, 512, 1024.
pub(super) static ORDERS: LazyLock<Vec<f64>> = LazyLock::new(|| {
    let fine = (1..100).map(|x| 1.0 + f64::from(x) / 10.0);
    fine.chain((11..64).map(f64::from)).chain([128.0, 256.0, 512.0, 1024.0]).collect()
});

/// RDP of one step at each of [`ORDERS`]; infinite where no bound holds. `sigma` > 0 and `q` > 0.
pub(super) fn curve(sampling: Sampling, q: f64, sigma: f64) -> Vec<f64> {
    if q == 1.0 {
        // No amplification either way: the plain Gaussian.
        return ORDERS.iter().map(|a| a / (2.0 * sigma * sigma)).collect();
    }
    match sampling {
        Sampling::Poisson => ORDERS.iter().map(|&a| poisson_log_a(q, sigma, a) / (a - 1.0)).collect(),
        Sampling::WithoutReplacement => {
            let wor = WithoutReplacement::new(q, sigma);
            ORDERS.iter().map(|&a| wor.rdp(a)).collect()
        }
    }
}

/// The smallest epsilon any order certifies at `delta` (Canonne-Kamath-Steinke 2020, Prop. 12; Asoodeh et al.),
/// never below 0. Orders whose RDP is NaN (a degenerate sigma) certify nothing: `f64::min` skips them.
pub(super) fn epsilon(rdp: &[f64], delta: f64) -> f64 {
    let per_order = ORDERS.iter().zip(rdp).map(|(&a, &r)| {
        if r < 0.0 || delta * delta + (-r).exp_m1() > 0.0 {
            // Negative is numerical noise; otherwise the KL bound delta <= sqrt(1 - exp(-r)) already holds.
            0.0
        } else if a > 1.01 {
            r + (-1.0 / a).ln_1p() - (delta * a).ln() / (a - 1.0)
        } else {
            // The conversion is numerically unstable as alpha -> 1.
            f64::INFINITY
        }
    });
    per_order.fold(f64::INFINITY, f64::min).max(0.0)
}

/// ln A_alpha of the Poisson-subsampled Gaussian (Mironov, Talwar, Zhang 2019), 0 < q < 1.
fn poisson_log_a(q: f64, sigma: f64, alpha: f64) -> f64 {
    let (log_q, log_1mq) = (q.ln(), (-q).ln_1p());
    let var2 = 2.0 * sigma * sigma;
    if alpha.fract() == 0.0 {
        // A finite binomial sum.
        let terms = log_binomials(alpha).take(alpha as usize + 1).enumerate();
        return terms.fold(f64::NEG_INFINITY, |acc, (i, log_coef)| {
            let i = i as f64;
            log_add(acc, log_coef + i * log_q + (alpha - i) * log_1mq + (i * i - i) / var2)
        });
    }
    // Fractional order: the two halves of the integral split at z0, each an infinite series (Sec. 3.3).
    const MAX_TERMS: usize = 1000;
    let z0 = sigma * sigma * (1.0 / q - 1.0).ln() + 0.5;
    let (mut log_a0, mut log_a1) = (f64::NEG_INFINITY, f64::NEG_INFINITY);
    let (mut last_s0, mut last_s1) = (f64::NEG_INFINITY, f64::NEG_INFINITY);
    for (i, log_coef) in log_binomials(alpha).take(MAX_TERMS).enumerate() {
        let (i, j) = (i as f64, alpha - i as f64);
        let log_e0 = 0.5f64.ln() + log_erfc((i - z0) / (SQRT_2 * sigma));
        let log_e1 = 0.5f64.ln() + log_erfc((z0 - j) / (SQRT_2 * sigma));
        let log_s0 = log_coef + i * log_q + j * log_1mq + (i * i - i) / var2 + log_e0;
        let log_s1 = log_coef + j * log_q + i * log_1mq + (j * j - j) / var2 + log_e1;
        log_a0 = log_add(log_a0, log_s0);
        log_a1 = log_add(log_a1, log_s1);
        let total = log_add(log_a0, log_a1);
        // Stop once both series decrease and their terms no longer matter.
        if log_s0 < last_s0 && log_s1 < last_s1 && log_s0.max(log_s1) < total - 30.0 {
            return total;
        }
        (last_s0, last_s1) = (log_s0, log_s1);
    }
    f64::INFINITY // Not converged: this order certifies nothing.
}

/// Sampling without replacement under replace-one adjacency: the bound of Wang, Balle, Kasiviswanathan 2019
/// (Theorem 27), for the Gaussian whose RDP is alpha / (2 sigma^2). 0 < q < 1.
struct WithoutReplacement {
    log_q: f64,
    sigma: f64,
    /// ln |Delta^(m+1) f(-1)| for m = 0..=MAX_EXACT_ORDER + 1, f(x) = exp(cgf(x)): forward differences of the
    /// Gaussian's moment generating function, shared by every integer order up to MAX_EXACT_ORDER.
    log_diffs: Vec<f64>,
}

impl WithoutReplacement {
    /// Above this order the exact bound's O(alpha^2) differences give way to the Stirling-type simplification.
    const MAX_EXACT_ORDER: usize = 256;

    fn new(q: f64, sigma: f64) -> Self {
        let mut wor = WithoutReplacement { log_q: q.ln(), sigma, log_diffs: Vec::new() };
        // Repeated differences in (sign, ln|value|) form: the values exp(cgf(k)) overflow long before k = 256.
        let mut values: Vec<(bool, f64)> =
            (-1..=Self::MAX_EXACT_ORDER as i32 + 1).map(|k| (true, wor.cgf(k as f64))).collect();
        while values.len() > 1 {
            values = values.windows(2).map(|w| signed_log_sub(w[1], w[0])).collect();
            wor.log_diffs.push(values[0].1);
        }
        wor
    }

    /// The Gaussian's privacy-loss cumulant generating function at x: x * rdp(x + 1).
    fn cgf(&self, x: f64) -> f64 {
        x * (x + 1.0) / (2.0 * self.sigma * self.sigma)
    }

    fn rdp(&self, alpha: f64) -> f64 {
        if alpha.fract() == 0.0 {
            return self.log_a(alpha as usize) / (alpha - 1.0);
        }
        // Fractional orders: the CGF is convex in alpha, so interpolate between the neighbouring integers
        // (Corollary 10).
        let (lo, hi) = (alpha.floor(), alpha.ceil());
        let t = alpha - lo;
        ((1.0 - t) * self.log_a(lo as usize) + t * self.log_a(hi as usize)) / (alpha - 1.0)
    }

    /// ln of Theorem 27's bound on `E[(P/Q)^alpha]` for an integer order.
    fn log_a(&self, alpha: usize) -> f64 {
        if alpha == 1 {
            return 0.0; // The CGF at order 1 is ln E[P/Q] = 0.
        }
        let log_binomial: Vec<f64> = log_binomials(alpha as f64).take(alpha + 1).collect();
        let rdp2 = 2.0 / (2.0 * self.sigma * self.sigma);
        // The i = 2 term: min(4 (e^eps(2) - 1), 2 e^eps(2)).
        let log_em1 = rdp2 + (-(-rdp2).exp()).ln_1p();
        let second = 2.0 * self.log_q + log_binomial[2] + (4f64.ln() + log_em1).min(rdp2 + LN_2);
        (3..=alpha).fold(log_add(0.0, second), |acc, i| {
            let bound = if alpha <= Self::MAX_EXACT_ORDER {
                let lo = self.log_diffs[2 * (i / 2) - 1];
                let hi = self.log_diffs[2 * i.div_ceil(2) - 1];
                (4f64.ln() + 0.5 * (lo + hi)).min(LN_2 + self.cgf(i as f64 - 1.0))
            } else {
                LN_2 + self.cgf(i as f64 - 1.0)
            };
            log_add(acc, bound + i as f64 * self.log_q + log_binomial[i])
        })
    }
}

/// a - b for numbers given as (is non-negative, ln of the absolute value).
fn signed_log_sub(a: (bool, f64), b: (bool, f64)) -> (bool, f64) {
    let minus_b = (!b.0, b.1);
    if a.0 == minus_b.0 {
        return (a.0, log_add(a.1, minus_b.1));
    }
    let (big, small) = if a.1 >= minus_b.1 { (a, minus_b) } else { (minus_b, a) };
    if big.1 == small.1 {
        return (true, f64::NEG_INFINITY);
    }
    (big.0, big.1 + (-(small.1 - big.1).exp()).ln_1p())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rdp_epsilon(sampling: Sampling, q: f64, sigma: f64, steps: f64) -> f64 {
        let total: Vec<f64> = curve(sampling, q, sigma).iter().map(|r| r * steps).collect();
        epsilon(&total, 1e-5)
    }

    #[test]
    fn default_orders_are_dp_accountings() {
        assert_eq!(ORDERS.len(), 99 + 53 + 4);
        assert_eq!((ORDERS[0], ORDERS[98], ORDERS[99], ORDERS[151], ORDERS[155]), (1.1, 10.9, 11.0, 63.0, 1024.0));
    }

    #[test]
    fn without_replacement_costs_more_than_poisson_at_small_q() {
        // At small q the second-order terms dominate, and Theorem 27's q^2 C(alpha, 2) min(4 (e^(1/sigma^2) - 1),
        // 2 e^(1/sigma^2)) exceeds Poisson's q^2 C(alpha, 2) (e^(1/sigma^2) - 1) (checked against both definitions
        // in high precision, orders 1.1 to 1024).
        for (q, sigma, steps) in [(0.01, 1.0, 1000.0), (0.001, 0.8, 5000.0), (0.05, 2.0, 200.0)] {
            let wor = rdp_epsilon(Sampling::WithoutReplacement, q, sigma, steps);
            let poisson = rdp_epsilon(Sampling::Poisson, q, sigma, steps);
            assert!(wor >= poisson, "q {q} sigma {sigma}: {wor} < {poisson}");
        }
    }

    #[test]
    fn without_replacement_matches_the_formula_by_hand() {
        // alpha = 2: ln(1 + q^2 min(4 (e - 1), 2 e)) at sigma = 1, with q = 0.1: ln(1 + 0.01 * 5.43656).
        let wor = WithoutReplacement::new(0.1, 1.0);
        assert!((wor.rdp(2.0) - (0.054_365_636_569_180_9f64).ln_1p()).abs() < 1e-12);
        // alpha = 1.5 interpolates the CGFs at 1 (zero) and 2: (0.5 * 0 + 0.5 * cgf(2)) / 0.5 = rdp(2).
        assert!((wor.rdp(1.5) - wor.rdp(2.0)).abs() < 1e-12);
        // q = 1 is the plain Gaussian.
        let plain = curve(Sampling::WithoutReplacement, 1.0, 2.0);
        assert!(ORDERS.iter().zip(&plain).all(|(a, r)| (r - a / 8.0).abs() < 1e-15));
        // Monotone in steps.
        let (few, many) = (
            rdp_epsilon(Sampling::WithoutReplacement, 0.01, 1.0, 100.0),
            rdp_epsilon(Sampling::WithoutReplacement, 0.01, 1.0, 1000.0),
        );
        assert!(0.0 < few && few < many, "{few} {many}");
    }
}
