//! Softmax and logistic regression kernels: per-batch gradient sums and
//! evaluation passes over contiguous row slices. The rows are `f32`; each
//! feature is widened to `f64` where it is used, and all arithmetic is
//! `f64` (see [`crate::data`]).

use super::{argmax, log_sum_exp, softmax_in_place, Sum};
use crate::data::Dataset;

/// Softmax regression gradient: per row, `d = softmax(x W + b) - onehot(y)`,
/// `gW += x d^T`, `gb += d`.
pub(super) struct SoftmaxGrad {
    f: usize,
    c: usize,
    z: Vec<f64>,
}

/// `b + x W` for `C` classes, each logit summed in feature order (`z[k] +=
/// x[j] * W[j][k]`, a multiply then an add), as [`logits`] does.
#[cfg(not(target_arch = "x86_64"))]
#[inline(always)]
fn logits_fixed<const C: usize>(x: &[f32], w: &[f64], b: &[f64; C]) -> [f64; C] {
    let mut z = *b;
    for (&xj, wrow) in x.iter().zip(w.chunks_exact(C)) {
        let xj = xj as f64;
        for k in 0..C {
            z[k] += xj * wrow[k];
        }
    }
    z
}

/// `b + x W` for `C` classes, as [`logits`] computes it, with the logits
/// held two to an SSE2 register: the same multiplies and adds in the same
/// order (SSE2 has no fused multiply-add), so the same numbers bit for bit.
/// Left to itself the compiler unpacks and repacks every pair on every
/// feature; held in pairs, the parity workload runs about 11% faster.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "sse2")]
#[inline]
fn logits_fixed<const C: usize>(x: &[f32], w: &[f64], b: &[f64; C]) -> [f64; C] {
    use std::arch::x86_64::{_mm_add_pd, _mm_cvtsd_f64, _mm_mul_pd, _mm_set1_pd, _mm_set_pd, _mm_unpackhi_pd};
    const { assert!(C <= 16) };
    let mut acc = [_mm_set1_pd(0.0); 8];
    for p in 0..C / 2 {
        acc[p] = _mm_set_pd(b[2 * p + 1], b[2 * p]);
    }
    let mut odd = if C % 2 == 1 { b[C - 1] } else { 0.0 };
    for (&xj, wrow) in x.iter().zip(w.chunks_exact(C)) {
        let xj = xj as f64;
        let xv = _mm_set1_pd(xj);
        for p in 0..C / 2 {
            acc[p] = _mm_add_pd(acc[p], _mm_mul_pd(xv, _mm_set_pd(wrow[2 * p + 1], wrow[2 * p])));
        }
        if C % 2 == 1 {
            odd += xj * wrow[C - 1];
        }
    }
    let mut z = [0.0; C];
    for p in 0..C / 2 {
        z[2 * p] = _mm_cvtsd_f64(acc[p]);
        z[2 * p + 1] = _mm_cvtsd_f64(_mm_unpackhi_pd(acc[p], acc[p]));
    }
    if C % 2 == 1 {
        z[C - 1] = odd;
    }
    z
}

impl SoftmaxGrad {
    pub fn new(f: usize, c: usize) -> Self {
        SoftmaxGrad { f, c, z: vec![0.0; c] }
    }

    #[inline]
    pub fn accumulate(&mut self, p: &[f64], data: &Dataset, batch: &[u32], g: &mut [f64]) {
        // a compile-time class count lets the compiler keep the logits in
        // registers and unroll the inner loops (about 1.3x on digits)
        macro_rules! fixed {
            ($($n:literal)*) => {
                match self.c {
                    $($n => self.accumulate_fixed::<$n>(p, data, batch, g),)*
                    _ => self.accumulate_any(p, data, batch, g),
                }
            };
        }
        fixed!(2 3 4 5 6 7 8 9 10 11 12 13 14 15 16)
    }

    #[inline]
    fn accumulate_fixed<const C: usize>(&mut self, p: &[f64], data: &Dataset, batch: &[u32], g: &mut [f64]) {
        let f = self.f;
        let (w, b) = p.split_at(f * C);
        let (gw, gb) = g.split_at_mut(f * C);
        let b: &[f64; C] = b.try_into().unwrap();
        let gb: &mut [f64; C] = gb.try_into().unwrap();
        for &r in batch {
            let r = r as usize;
            let x = &data.x[r * f..(r + 1) * f];
            // SAFETY: `logits_fixed` needs SSE2, which every x86_64 target
            // has (elsewhere it is the plain loop, and this block is moot).
            #[allow(unused_unsafe)]
            let mut z = unsafe { logits_fixed::<C>(x, w, b) };
            softmax_in_place(&mut z);
            z[data.y[r] as usize] -= 1.0;
            for (&xj, grow) in x.iter().zip(gw.chunks_exact_mut(C)) {
                let xj = xj as f64;
                let grow: &mut [f64; C] = grow.try_into().unwrap();
                for k in 0..C {
                    grow[k] += xj * z[k];
                }
            }
            for k in 0..C {
                gb[k] += z[k];
            }
        }
    }

    #[inline]
    fn accumulate_any(&mut self, p: &[f64], data: &Dataset, batch: &[u32], g: &mut [f64]) {
        let (f, c) = (self.f, self.c);
        let (w, b) = p.split_at(f * c);
        let (gw, gb) = g.split_at_mut(f * c);
        let z = &mut self.z[..c];
        for &r in batch {
            let r = r as usize;
            let x = &data.x[r * f..(r + 1) * f];
            logits(x, w, b, z);
            softmax_in_place(z);
            z[data.y[r] as usize] -= 1.0;
            for (&xj, grow) in x.iter().zip(gw.chunks_exact_mut(c)) {
                let xj = xj as f64;
                for (gk, &dk) in grow.iter_mut().zip(z.iter()) {
                    *gk += xj * dk;
                }
            }
            for (gk, &dk) in gb.iter_mut().zip(z.iter()) {
                *gk += dk;
            }
        }
    }
}

/// `z = b + x W` (`W` is `f x c`, row-major).
#[inline(always)]
fn logits(x: &[f32], w: &[f64], b: &[f64], z: &mut [f64]) {
    let c = z.len();
    z.copy_from_slice(b);
    for (&xj, wrow) in x.iter().zip(w.chunks_exact(c)) {
        let xj = xj as f64;
        for (zk, &wk) in z.iter_mut().zip(wrow) {
            *zk += xj * wk;
        }
    }
}

/// Summed cross-entropy and predictions of softmax regression.
pub(super) fn softmax_eval(
    p: &[f64],
    data: &Dataset,
    f: usize,
    c: usize,
    mut on_loss: impl FnMut(f64),
) -> (f64, Vec<u32>) {
    let (w, b) = p.split_at(f * c);
    let mut z = vec![0.0; c];
    let mut loss = Sum::default();
    let mut pred = Vec::with_capacity(data.rows());
    for (x, &y) in data.x.chunks_exact(f).zip(&data.y) {
        logits(x, w, b, &mut z);
        let l = log_sum_exp(&z) - z[y as usize];
        on_loss(l);
        loss.add(l);
        pred.push(argmax(&z) as u32);
    }
    (loss.total(), pred)
}

/// Binary logistic regression gradient: `d = sigmoid(w.x + b) - y`,
/// `gw += d x`, `gb += d`.
pub(super) struct LogisticGrad {
    f: usize,
}

impl LogisticGrad {
    pub fn new(f: usize) -> Self {
        LogisticGrad { f }
    }

    #[inline]
    pub fn accumulate(&self, p: &[f64], data: &Dataset, batch: &[u32], g: &mut [f64]) {
        let f = self.f;
        let (w, b) = p.split_at(f);
        let (gw, gb) = g.split_at_mut(f);
        for &r in batch {
            let r = r as usize;
            let x = &data.x[r * f..(r + 1) * f];
            let d = sigmoid(dot(w, x) + b[0]) - data.y[r] as f64;
            for (gj, &xj) in gw.iter_mut().zip(x) {
                *gj += d * xj as f64;
            }
            gb[0] += d;
        }
    }
}

/// `w . x` in `f64`.
#[inline(always)]
fn dot(w: &[f64], x: &[f32]) -> f64 {
    w.iter().zip(x).map(|(&w, &x)| w * x as f64).sum()
}

/// `1 / (1 + exp(-z))` without overflow.
#[inline]
pub(super) fn sigmoid(z: f64) -> f64 {
    if z >= 0.0 {
        1.0 / (1.0 + (-z).exp())
    } else {
        let e = z.exp();
        e / (1.0 + e)
    }
}

/// Summed binary cross-entropy and predictions (class 1 iff p > 0.5).
pub(super) fn logistic_eval(p: &[f64], data: &Dataset, f: usize, mut on_loss: impl FnMut(f64)) -> (f64, Vec<u32>) {
    let (w, b) = p.split_at(f);
    let mut loss = Sum::default();
    let mut pred = Vec::with_capacity(data.rows());
    for (x, &y) in data.x.chunks_exact(f).zip(&data.y) {
        let z = dot(w, x) + b[0];
        // -[y ln p + (1-y) ln(1-p)] = softplus(z) - y z, computed stably
        let l = z.max(0.0) - y as f64 * z + (-z.abs()).exp().ln_1p();
        on_loss(l);
        loss.add(l);
        pred.push((sigmoid(z) > 0.5) as u32);
    }
    (loss.total(), pred)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The logits held in pairs are the plain loop's, bit for bit, for
    /// even and odd class counts.
    fn same_logits<const C: usize>(
        x: &[f32],
        w: &[f64],
        b: &[f64],
    ) -> Result<(), proptest::test_runner::TestCaseError> {
        let b: &[f64; C] = b[..C].try_into().unwrap();
        let w = &w[..x.len() * C];
        let mut plain = [0.0; C];
        logits(x, w, b, &mut plain);
        // SAFETY: SSE2 is part of every x86_64 target.
        #[allow(unused_unsafe)]
        let paired = unsafe { logits_fixed::<C>(x, w, b) };
        proptest::prop_assert_eq!(paired.map(f64::to_bits), plain.map(f64::to_bits));
        Ok(())
    }

    proptest::proptest! {
        #[test]
        fn logits_in_pairs_are_the_plain_loops(
            x in proptest::collection::vec(-4.0f32..4.0, 0..70),
            w in proptest::collection::vec(-3.0f64..3.0, 70 * 16),
            b in proptest::collection::vec(-2.0f64..2.0, 16),
        ) {
            same_logits::<2>(&x, &w, &b)?;
            same_logits::<3>(&x, &w, &b)?;
            same_logits::<10>(&x, &w, &b)?;
            same_logits::<15>(&x, &w, &b)?;
            same_logits::<16>(&x, &w, &b)?;
        }
    }
}
