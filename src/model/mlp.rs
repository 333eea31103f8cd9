//! The multi-layer perceptron: fully connected layers, ReLU after every
//! hidden layer, softmax output; row-at-a-time forward and backward passes
//! over scratch buffers allocated once per call. The input rows are `f32`,
//! widened to `f64` where they are used; everything else is `f64`.

use super::{argmax, log_sum_exp, softmax_in_place, Sum};
use crate::data::Dataset;

/// Scratch for one forward/backward pass.
pub(super) struct MlpGrad {
    sizes: Vec<usize>,
    /// Per layer: offset of `W_l` in the parameter vector (`b_l` follows).
    offsets: Vec<usize>,
    /// Per layer: its output (ReLU'd for hidden layers; the logits, then the
    /// probabilities, for the last).
    act: Vec<Vec<f64>>,
    /// Per layer: dLoss/d(pre-activation).
    delta: Vec<Vec<f64>>,
}

impl MlpGrad {
    pub fn new(sizes: &[usize]) -> Self {
        let mut offsets = Vec::with_capacity(sizes.len() - 1);
        let mut at = 0;
        for w in sizes.windows(2) {
            offsets.push(at);
            at += w[0] * w[1] + w[1];
        }
        MlpGrad {
            sizes: sizes.to_vec(),
            offsets,
            act: sizes[1..].iter().map(|&n| vec![0.0; n]).collect(),
            delta: sizes[1..].iter().map(|&n| vec![0.0; n]).collect(),
        }
    }

    /// Leaves the output layer's logits in `act[last]`.
    #[inline]
    fn forward(&mut self, p: &[f64], x: &[f32]) {
        let layers = self.offsets.len();
        for l in 0..layers {
            let (n_in, n_out) = (self.sizes[l], self.sizes[l + 1]);
            let off = self.offsets[l];
            let w = &p[off..off + n_in * n_out];
            let b = &p[off + n_in * n_out..off + n_in * n_out + n_out];
            let (before, rest) = self.act.split_at_mut(l);
            let out = &mut rest[0];
            out.copy_from_slice(b);
            if l == 0 {
                add_input_times_w(x, w, out);
            } else {
                add_input_times_w(&before[l - 1], w, out);
            }
            if l + 1 < layers {
                out.iter_mut().for_each(|v| *v = v.max(0.0));
            }
        }
    }

    #[inline]
    pub fn accumulate(&mut self, p: &[f64], data: &Dataset, batch: &[u32], g: &mut [f64]) {
        let f = self.sizes[0];
        let layers = self.offsets.len();
        for &r in batch {
            let r = r as usize;
            let x = &data.x[r * f..(r + 1) * f];
            self.forward(p, x);
            let last = layers - 1;
            softmax_in_place(&mut self.act[last]);
            self.delta[last].copy_from_slice(&self.act[last]);
            self.delta[last][data.y[r] as usize] -= 1.0;
            for l in (0..layers).rev() {
                let (n_in, n_out) = (self.sizes[l], self.sizes[l + 1]);
                let off = self.offsets[l];
                let (gw, gb) = g[off..off + n_in * n_out + n_out].split_at_mut(n_in * n_out);
                let (d_before, d_rest) = self.delta.split_at_mut(l);
                let d = &d_rest[0];
                if l == 0 {
                    add_outer(x, d, gw);
                } else {
                    add_outer(&self.act[l - 1], d, gw);
                }
                for (gk, &dk) in gb.iter_mut().zip(d.iter()) {
                    *gk += dk;
                }
                if l > 0 {
                    let input = &self.act[l - 1];
                    let w = &p[off..off + n_in * n_out];
                    let prev = &mut d_before[l - 1];
                    for ((pj, &aj), wrow) in prev.iter_mut().zip(input.iter()).zip(w.chunks_exact(n_out)) {
                        // ReLU': the activation is positive iff its input was
                        *pj = if aj > 0.0 { wrow.iter().zip(d.iter()).map(|(a, b)| a * b).sum() } else { 0.0 };
                    }
                }
            }
        }
    }
}

/// `out += input W` (`W` is `input.len() x out.len()`, row-major), in
/// `f64` whatever the input's type (`f32` rows or `f64` activations).
#[inline(always)]
fn add_input_times_w<T: Copy + Into<f64>>(input: &[T], w: &[f64], out: &mut [f64]) {
    for (&xj, wrow) in input.iter().zip(w.chunks_exact(out.len())) {
        let xj: f64 = xj.into();
        for (o, &wk) in out.iter_mut().zip(wrow) {
            *o += xj * wk;
        }
    }
}

/// `gw += input d^T` (`gw` is `input.len() x d.len()`, row-major), in `f64`.
#[inline(always)]
fn add_outer<T: Copy + Into<f64>>(input: &[T], d: &[f64], gw: &mut [f64]) {
    for (&xj, grow) in input.iter().zip(gw.chunks_exact_mut(d.len())) {
        let xj: f64 = xj.into();
        for (gk, &dk) in grow.iter_mut().zip(d.iter()) {
            *gk += xj * dk;
        }
    }
}

/// Summed cross-entropy and predictions; `on_loss` sees each row's loss.
pub(super) fn eval(p: &[f64], data: &Dataset, sizes: &[usize], mut on_loss: impl FnMut(f64)) -> (f64, Vec<u32>) {
    let mut k = MlpGrad::new(sizes);
    let f = sizes[0];
    let last = sizes.len() - 2;
    let mut loss = Sum::default();
    let mut pred = Vec::with_capacity(data.rows());
    for (x, &y) in data.x.chunks_exact(f).zip(&data.y) {
        k.forward(p, x);
        let z = &k.act[last];
        let l = log_sum_exp(z) - z[y as usize];
        on_loss(l);
        loss.add(l);
        pred.push(argmax(z) as u32);
    }
    (loss.total(), pred)
}
