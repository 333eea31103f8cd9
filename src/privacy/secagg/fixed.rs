//! Fixed-point encoding of real-valued updates into the ring Z_2^64 the masks live in.
//!
//! A value `x` becomes `round(clamp(x, −clip, clip) · 2^frac_bits)` stored as a two's-complement
//! `u64`, so wrapping addition of encodings is addition of the underlying integers. The sum decodes
//! correctly as long as its true value stays inside the `i64` range; [`max_clip`] gives a clip that
//! guarantees this for a cohort. Rounding errs by at most 2^−(frac_bits+1) per encoded value.

/// The largest `clip` for which the sum of `n` encoded values cannot overflow: `n · clip · 2^frac_bits
/// = 2^62`. Each encoding is then at most `2^62 / n + 1/2` in magnitude and any sum of `n` of them
/// stays below 2^63, with a factor-two margin. With `frac_bits = 24` and `n = 1000`, clip ≈ 2.7 · 10^8.
pub fn max_clip(n: usize, frac_bits: u32) -> f64 {
    2f64.powi(62 - frac_bits as i32) / n as f64
}

/// Encodes each value, clipped to `[−clip, clip]`, as `round(x · 2^frac_bits)` in two's complement.
/// NaN encodes as 0.
///
/// # Panics
/// If `clip` is negative or NaN.
pub fn encode(x: &[f64], frac_bits: u32, clip: f64) -> Vec<u64> {
    let scale = 2f64.powi(frac_bits as i32);
    // `as i64` saturates and maps NaN to 0; a clip within `max_clip` never reaches saturation.
    x.iter().map(|&v| (v.clamp(-clip, clip) * scale).round() as i64 as u64).collect()
}

/// Decodes a (summed) encoding: each word read as `i64` and divided by 2^frac_bits.
pub fn decode(sum: &[u64], frac_bits: u32) -> Vec<f64> {
    let scale = 2f64.powi(-(frac_bits as i32));
    sum.iter().map(|&w| w as i64 as f64 * scale).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const FRAC: u32 = 24;
    const HALF_ULP: f64 = 1.0 / (1u64 << (FRAC + 1)) as f64;

    proptest! {
        #[test]
        fn round_trip_within_half_ulp(x in prop::collection::vec(-1e3f64..1e3, 1..50)) {
            let back = decode(&encode(&x, FRAC, 1e3), FRAC);
            for (a, b) in x.iter().zip(&back) {
                prop_assert!((a - b).abs() <= HALF_ULP, "{a} decoded as {b}");
            }
        }

        #[test]
        fn sum_of_mixed_signs_within_n_half_ulps(x in prop::collection::vec(-100f64..100.0, 2..30)) {
            let sum = x.iter().map(|&v| encode(&[v], FRAC, 100.0)[0]).fold(0u64, u64::wrapping_add);
            let decoded = decode(&[sum], FRAC)[0];
            prop_assert!((decoded - x.iter().sum::<f64>()).abs() <= x.len() as f64 * HALF_ULP);
        }
    }

    #[test]
    fn clips_and_keeps_the_cohort_sum_in_range() {
        assert_eq!(decode(&encode(&[5.0, -5.0, -0.75, f64::NAN], FRAC, 2.0), FRAC), [2.0, -2.0, -0.75, 0.0]);
        assert_eq!(encode(&[-1.0], FRAC, 1.0), [(1u64 << FRAC).wrapping_neg()]);
        let (n, clip) = (1000, max_clip(1000, FRAC));
        let worst = encode(&[-clip], FRAC, clip)[0];
        let sum = (0..n).fold(0u64, |acc, _| acc.wrapping_add(worst));
        let decoded = decode(&[sum], FRAC)[0];
        // At 2^62 the f64 read-back itself rounds, so compare relatively: the point is no wrap-around.
        assert!((decoded / (-clip * n as f64) - 1.0).abs() < 1e-12, "{decoded} wrapped around");
    }
}
