//! Compression of a model update on its way from a client to the server: what the server decodes, and how many
//! bytes the update costs on the wire.
//!
//! An update is `delta` (client parameters minus the model the client started from) over `P` parameters, cut into
//! the model's tensors (each layer's weights and each bias), index ranges that partition `0..P`.
//!
//! | kind | decoded update | bytes on the wire |
//! | --- | --- | --- |
//! | `None` | `delta` | `4·P` (f32 values) |
//! | `TopK { ratio }` | the `k = ceil(ratio·P)` coordinates of largest magnitude, the rest zero | `min(8·k, 4·P)` |
//! | `Quantize { bits }` | per tensor, stochastic rounding to `2^bits` levels spanning `[min, max]` | `Σ_t (ceil(n_t·bits/8) + 8)` |
//!
//! Top-k sends `k` f32 values and `k` u32 indices, unless that is larger than the dense form, which is then sent
//! instead (with zeros in place of the dropped coordinates). Quantization sends, per tensor of `n_t` values, the
//! packed levels and an f32 offset and an f32 scale.
//!
//! Values travel as f32 but the simulator keeps them in f64 (so `TopK { ratio: 1.0 }` is exactly `None`); the one
//! place where f32 changes what the server decodes is the quantization grid, see [`Compression::apply`].
//!
//! Both lossy kinds can run with error feedback (Seide et al. 2014; Karimireddy et al. 2019): what compression
//! dropped from one update is kept by the client and added to its next one, so nothing is lost for good.

use std::ops::Range;

use rand::{Rng, RngExt};
use serde::{Deserialize, Serialize};

/// How a client's update is compressed before it is sent.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub enum Compression {
    /// Dense f32 values.
    None,
    /// Sparsification to the `ceil(ratio·P)` largest magnitudes; `ratio` in `(0, 1]`.
    TopK { ratio: f64 },
    /// Unbiased stochastic quantization to `bits` bits per value (1 to 32), with a grid per tensor.
    Quantize { bits: u32 },
}

impl Compression {
    /// Checks the parameters: a top-k `ratio` in `(0, 1]`, quantization `bits` in `1..=32`.
    pub fn validate(&self) -> Result<(), String> {
        match *self {
            Compression::TopK { ratio } if !(ratio > 0.0 && ratio <= 1.0) => {
                Err(format!("top-k ratio must be in (0, 1], got {ratio}"))
            }
            Compression::Quantize { bits } if !(1..=32).contains(&bits) => {
                Err(format!("quantization bits must be in 1..=32, got {bits}"))
            }
            _ => Ok(()),
        }
    }

    /// Bytes on the wire of one update over `tensors` (see the module table).
    ///
    /// ```
    /// use fedsim::privacy::compression::Compression;
    /// let tensors = [0..6, 6..10];
    /// assert_eq!(Compression::None.bytes(&tensors), 40);
    /// assert_eq!(Compression::TopK { ratio: 0.25 }.bytes(&tensors), 24); // k = 3: 3 values + 3 indices
    /// assert_eq!(Compression::Quantize { bits: 3 }.bytes(&tensors), (3 + 8) + (2 + 8));
    /// ```
    pub fn bytes(&self, tensors: &[Range<usize>]) -> u64 {
        let p = tensors.iter().map(|t| t.len()).sum::<usize>();
        match *self {
            Compression::None => 4 * p as u64,
            Compression::TopK { ratio } => (8 * top_k(ratio, p) as u64).min(4 * p as u64),
            Compression::Quantize { bits } => {
                tensors.iter().map(|t| (t.len() as u64 * u64::from(bits)).div_ceil(8) + 8).sum()
            }
        }
    }

    /// Compresses `delta` in place: it becomes exactly what the server decodes.
    ///
    /// With `residual` (error feedback), the residual is added to `delta` before compressing and then replaced by
    /// what compression dropped, `delta + residual - decoded`. An empty residual counts as zeros, so a client can
    /// start with `Vec::new()`.
    ///
    /// Quantization decodes with the f32 offset and scale that are on the wire. The offset is rounded down and the
    /// scale up to f32, so the grid still covers the tensor's `[min, max]` and every value is a convex combination
    /// of its two neighbouring levels: the stochastic rounding stays unbiased, `E[decoded] = v` up to f64 rounding,
    /// for every input within the f32 range. A constant tensor needs no grid and decodes exactly. Quantization draws one f64
    /// from `rng` per value of every non-constant tensor; `None` and `TopK` draw nothing.
    ///
    /// # Panics
    /// If the parameters are invalid (see [`Compression::validate`]) or a residual has neither 0 nor `P` values.
    ///
    /// ```
    /// use fedsim::privacy::compression::Compression;
    /// use rand::SeedableRng;
    /// let mut rng = rand_pcg::Pcg64Mcg::seed_from_u64(7);
    /// let mut delta = vec![0.5, -2.0, 0.1, 1.0];
    /// let mut residual = Vec::new();
    /// Compression::TopK { ratio: 0.5 }.apply(&mut delta, &[0..4], Some(&mut residual), &mut rng);
    /// assert_eq!(delta, [0.0, -2.0, 0.0, 1.0]);
    /// assert_eq!(residual, [0.5, 0.0, 0.1, 0.0]); // sent with the next update
    /// ```
    pub fn apply(
        &self,
        delta: &mut [f64],
        tensors: &[Range<usize>],
        mut residual: Option<&mut Vec<f64>>,
        rng: &mut impl Rng,
    ) {
        if let Err(e) = self.validate() {
            panic!("{e}");
        }
        debug_assert_eq!(tensors.iter().map(|t| t.len()).sum::<usize>(), delta.len(), "tensors must partition delta");
        if let Some(r) = residual.as_deref_mut() {
            if r.is_empty() {
                r.resize(delta.len(), 0.0);
            }
            assert_eq!(r.len(), delta.len(), "error-feedback residual of the wrong length");
            // The residual holds the compensated input until the decoded update is subtracted below.
            for (d, r) in delta.iter_mut().zip(r.iter_mut()) {
                *d += *r;
                *r = *d;
            }
        }
        match *self {
            Compression::None => {}
            Compression::TopK { ratio } => keep_top_k(delta, top_k(ratio, delta.len())),
            Compression::Quantize { bits } => {
                for t in tensors {
                    quantize(&mut delta[t.clone()], bits, rng);
                }
            }
        }
        if let Some(r) = residual {
            r.iter_mut().zip(delta.iter()).for_each(|(r, d)| *r -= d);
        }
    }
}

/// `ceil(ratio·p)`, clamped to `0..=p`. The product is shrunk by a relative 1e-12 first so that a ratio with no
/// exact binary form does not round up a whole coordinate: 0.1·30 is 3.0000000000000004 in f64, and k must be 3.
fn top_k(ratio: f64, p: usize) -> usize {
    // `as` saturates: a NaN or negative product gives 0.
    ((ratio * p as f64 * (1.0 - 1e-12)).ceil() as usize).min(p)
}

/// Zeroes all but the `k` coordinates of largest magnitude, ties going to the lower index, in O(P).
fn keep_top_k(delta: &mut [f64], k: usize) {
    if k >= delta.len() {
        return;
    }
    let mut order: Vec<usize> = (0..delta.len()).collect();
    // A total order (magnitude descending, then index), so the kept set does not depend on the selection algorithm.
    order.select_nth_unstable_by(k, |&a, &b| delta[b].abs().total_cmp(&delta[a].abs()).then(a.cmp(&b)));
    for &i in &order[k..] {
        delta[i] = 0.0;
    }
}

/// Stochastic quantization of one tensor on a grid of `2^bits` levels from its f32 offset in f32 steps.
fn quantize(xs: &mut [f64], bits: u32, rng: &mut impl Rng) {
    let (lo, hi) = xs.iter().fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), &x| (lo.min(x), hi.max(x)));
    if xs.is_empty() || lo == hi {
        return;
    }
    let top = ((1u64 << bits) - 1) as f64;
    let offset = f32_at_most(lo);
    let step = -f32_at_most(-(hi - offset) / top);
    for x in xs {
        let level = (*x - offset) / step;
        let floor = level.floor();
        // Up with the probability of the fractional part: E[level] is exact. The `min` only absorbs f64 rounding
        // of `level` at the top of the grid, which covers `hi` by construction.
        let level = (floor + f64::from(u8::from(rng.random::<f64>() < level - floor))).min(top);
        *x = offset + level * step;
    }
}

/// The largest f32 not above `x`, as f64 (`as` rounds to nearest, which may be above).
fn f32_at_most(x: f64) -> f64 {
    let f = x as f32;
    if f64::from(f) <= x {
        return f64::from(f);
    }
    // One f32 step towards -inf (`f32::next_down` needs Rust 1.86).
    let down = match f {
        0.0 => -f32::from_bits(1),
        f if f > 0.0 => f32::from_bits(f.to_bits() - 1),
        f => f32::from_bits(f.to_bits() + 1),
    };
    f64::from(down)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use rand::SeedableRng;
    use rand_pcg::Pcg64Mcg;

    const TENSORS: [Range<usize>; 2] = [0..6, 6..10];

    #[test]
    fn bytes_formulas() {
        let topk = |ratio| Compression::TopK { ratio }.bytes(&TENSORS);
        let quant = |bits| Compression::Quantize { bits }.bytes(&TENSORS);
        assert_eq!(Compression::None.bytes(&TENSORS), 40);
        assert_eq!(topk(0.1), 8);
        assert_eq!(topk(0.25), 24); // k = ceil(2.5) = 3
        assert_eq!(topk(0.5), 40); // k = 5: sparse and dense are the same size
        assert_eq!(topk(0.75), 40); // k = 8 would be 64 bytes sparse: sent dense
        assert_eq!(Compression::TopK { ratio: 0.1 }.bytes(&[0..10, 10..30]), 24); // k = 3, not 4
        assert_eq!(quant(1), (1 + 8) + (1 + 8));
        assert_eq!(quant(3), (3 + 8) + (2 + 8)); // 18 bits and 12 bits
        assert_eq!(quant(32), (24 + 8) + (16 + 8));
        assert_eq!(Compression::None.bytes(&[]), 0);
    }

    #[test]
    fn invalid_parameters_are_rejected() {
        assert!(Compression::TopK { ratio: 0.0 }.validate().is_err());
        assert!(Compression::TopK { ratio: f64::NAN }.validate().is_err());
        assert!(Compression::TopK { ratio: 1.5 }.validate().is_err());
        assert!(Compression::Quantize { bits: 0 }.validate().is_err());
        assert!(Compression::Quantize { bits: 33 }.validate().is_err());
        assert!(Compression::Quantize { bits: 32 }.validate().is_ok());
    }

    #[test]
    fn topk_of_one_is_no_compression() {
        let original: Vec<f64> = (0..10).map(|i| (i as f64 * 1.3).sin()).collect();
        let mut delta = original.clone();
        let c = Compression::TopK { ratio: 1.0 };
        c.apply(&mut delta, &TENSORS, None, &mut Pcg64Mcg::seed_from_u64(0));
        assert_eq!(delta, original);
        assert_eq!(c.bytes(&TENSORS), Compression::None.bytes(&TENSORS));
    }

    #[test]
    fn topk_keeps_exactly_the_largest_magnitudes() {
        // Magnitudes 5, 3, 3, 3, 1, ...: k = 3 keeps 5 and the two 3s of lowest index.
        let mut delta = vec![1.0, -3.0, 0.5, 3.0, -5.0, 0.0, 3.0, 1.0, -0.25, 0.75];
        Compression::TopK { ratio: 0.3 }.apply(&mut delta, &TENSORS, None, &mut Pcg64Mcg::seed_from_u64(0));
        assert_eq!(delta, [0.0, -3.0, 0.0, 3.0, -5.0, 0.0, 0.0, 0.0, 0.0, 0.0]);
    }

    #[test]
    fn constant_tensor_quantizes_exactly() {
        let mut delta = vec![0.1; 6].into_iter().chain([-0.3; 4]).collect::<Vec<_>>();
        let original = delta.clone();
        Compression::Quantize { bits: 2 }.apply(&mut delta, &TENSORS, None, &mut Pcg64Mcg::seed_from_u64(0));
        assert_eq!(delta, original);
    }

    #[test]
    fn error_feedback_delivers_the_running_sum() {
        let delta: Vec<f64> = (0..20).map(|i| (i as f64 * 0.37).sin()).collect();
        let max = delta.iter().fold(0.0f64, |m, d| m.max(d.abs()));
        let (c, tensors) = (Compression::TopK { ratio: 0.1 }, [0..10, 10..20]);
        let (mut residual, mut sent, mut rng) = (Vec::new(), vec![0.0; 20], Pcg64Mcg::seed_from_u64(0));
        for round in 1..=500 {
            let mut d = delta.clone();
            c.apply(&mut d, &tensors, Some(&mut residual), &mut rng);
            sent.iter_mut().zip(&d).for_each(|(s, d)| *s += d);
            for i in 0..20 {
                // The residual is exactly what is still owed, and it stays bounded: the sums converge.
                let owed = round as f64 * delta[i] - sent[i];
                assert!((residual[i] - owed).abs() < 1e-9, "round {round}: {} vs {owed}", residual[i]);
                assert!(residual[i].abs() <= 20.0 / 2.0 * max, "round {round}: residual {} grows", residual[i]);
            }
        }
        // Without feedback a coordinate that is never in the top 2 would be owed 500·|delta|.
        let gap = (0..20).map(|i| (500.0 * delta[i] - sent[i]).abs()).fold(0.0, f64::max);
        assert!(gap <= 0.02 * 500.0 * max, "gap {gap}");
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

        #[test]
        fn quantization_is_unbiased(values in prop::collection::vec(-1.0f64..1.0, 2..9), bits in 1u32..=8) {
            const RUNS: usize = 4000;
            let tensors = [0..values.len() / 2, values.len() / 2..values.len()];
            let c = Compression::Quantize { bits };
            let mut rng = Pcg64Mcg::seed_from_u64(u64::from(bits));
            let mut mean = vec![0.0; values.len()];
            for _ in 0..RUNS {
                let mut d = values.clone();
                c.apply(&mut d, &tensors, None, &mut rng);
                mean.iter_mut().zip(&d).for_each(|(m, d)| *m += d / RUNS as f64);
            }
            for t in &tensors {
                let xs = &values[t.clone()];
                let (lo, hi) = xs.iter().fold((f64::INFINITY, f64::NEG_INFINITY), |(l, h), &x| (l.min(x), h.max(x)));
                // One level (f32 rounding widens it by at most a relative 2^-23); per-value variance <= width²/4.
                let width = (hi - lo) / ((1u64 << bits) - 1) as f64 * (1.0 + 1e-6);
                let std_err = width / 2.0 / (RUNS as f64).sqrt();
                for i in t.clone() {
                    let err = (mean[i] - values[i]).abs();
                    prop_assert!(err <= 6.0 * std_err + 1e-12, "value {} mean {} ({} std errs)", values[i], mean[i], err / std_err);
                }
            }
        }
    }
}
