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
            let mut z = *b;
            for (&xj, wrow) in x.iter().zip(w.chunks_exact(C)) {
                let xj = xj as f64;
                let wrow: &[f64; C] = wrow.try_into().unwrap();
                for k in 0..C {
                    z[k] += xj * wrow[k];
                }
            }
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
