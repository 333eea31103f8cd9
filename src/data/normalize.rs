//! Feature scaling fitted on the train pool only.
//!
//! - `standard`: `(x - mean) / std`, mean and *population* std of the train
//!   pool; a constant feature (std 0) gets std 1, so it becomes 0.
//! - `minmax`: `(x - min) / (max - min)` with the train pool's range, which
//!   maps the train pool to [0, 1] (test values may fall outside); a
//!   constant feature is divided by 1, so it becomes 0.
//! - `none`: untouched.
//!
//! The statistics are fitted in `f64` on the stored (`f32`) values, and
//! each normalised value is computed in `f64` and rounded to `f32` once.

use super::Dataset;
use crate::scenario::checked::Normalize;

/// A per-feature affine map `x -> (x - shift) / scale`.
#[derive(Debug, Clone, PartialEq)]
pub struct Scaler {
    pub shift: Vec<f64>,
    pub scale: Vec<f64>,
}

impl Scaler {
    /// Fits the scaler of `kind` on `data`; `None` for `Normalize::None`.
    pub fn fit(kind: Normalize, data: &Dataset) -> Option<Scaler> {
        Scaler::fit_rows(kind, data.n_features, |visit| visit(&data.x))
    }

    /// Fits the scaler of `kind` on rows that are not held in one table:
    /// `pass(visit)` must call `visit` on the row-major features of every
    /// row, in the same order on every call (a chunk of whole rows per call;
    /// `pass` runs twice for `standard`, once for `minmax`). The result is
    /// bit for bit [`Scaler::fit`] of the concatenated rows.
    pub fn fit_rows(kind: Normalize, f: usize, mut pass: impl FnMut(&mut dyn FnMut(&[f32]))) -> Option<Scaler> {
        match kind {
            Normalize::None => None,
            Normalize::Standard => {
                let mut mean = vec![0.0; f];
                let mut n = 0usize;
                pass(&mut |x: &[f32]| {
                    for row in x.chunks_exact(f) {
                        for (m, &v) in mean.iter_mut().zip(row) {
                            *m += v as f64;
                        }
                        n += 1;
                    }
                });
                let inv_n = 1.0 / n.max(1) as f64;
                mean.iter_mut().for_each(|m| *m *= inv_n);
                // two-pass variance: exact for constant features
                let mut var = vec![0.0; f];
                pass(&mut |x: &[f32]| {
                    for row in x.chunks_exact(f) {
                        for ((s, &m), &v) in var.iter_mut().zip(&mean).zip(row) {
                            let d = v as f64 - m;
                            *s += d * d;
                        }
                    }
                });
                let scale = var.iter().map(|&s| (s * inv_n).sqrt()).map(|sd| if sd > 0.0 { sd } else { 1.0 }).collect();
                Some(Scaler { shift: mean, scale })
            }
            Normalize::MinMax => {
                let mut lo = vec![f64::INFINITY; f];
                let mut hi = vec![f64::NEG_INFINITY; f];
                let mut n = 0usize;
                pass(&mut |x: &[f32]| {
                    for row in x.chunks_exact(f) {
                        for ((l, h), &v) in lo.iter_mut().zip(hi.iter_mut()).zip(row) {
                            let v = v as f64;
                            *l = l.min(v);
                            *h = h.max(v);
                        }
                        n += 1;
                    }
                });
                if n == 0 {
                    lo.iter_mut().for_each(|l| *l = 0.0);
                    hi.iter_mut().for_each(|h| *h = 0.0);
                }
                let scale = lo.iter().zip(&hi).map(|(l, h)| if h > l { h - l } else { 1.0 }).collect();
                Some(Scaler { shift: lo, scale })
            }
        }
    }

    /// Applies the map to every row of `data` in place (in `f64`, the
    /// result rounded to `f32`).
    pub fn apply(&self, data: &mut Dataset) {
        let f = data.n_features;
        for row in data.x.chunks_exact_mut(f) {
            for ((v, &m), &s) in row.iter_mut().zip(&self.shift).zip(&self.scale) {
                *v = ((*v as f64 - m) / s) as f32;
            }
        }
    }
}

/// Fits on `train`, applies to `train` and `test`.
pub fn fit_apply(kind: Normalize, train: &mut Dataset, test: &mut Dataset) {
    if let Some(s) = Scaler::fit(kind, train) {
        s.apply(train);
        s.apply(test);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ds(rows: &[[f32; 3]]) -> Dataset {
        Dataset { x: rows.concat(), y: vec![0; rows.len()], n_features: 3, n_classes: 1 }
    }

    #[test]
    fn standard_uses_train_pool_population_std() {
        let mut train = ds(&[[1.0, 5.0, 2.0], [3.0, 5.0, 4.0], [5.0, 5.0, 9.0]]);
        let mut test = ds(&[[7.0, 6.0, 0.0]]);
        fit_apply(Normalize::Standard, &mut train, &mut test);
        // stored values are the f64 results rounded to f32 once
        let sd0 = (8.0f64 / 3.0).sqrt(); // population std of 1,3,5
        assert_eq!(train.x[0], (-2.0 / sd0) as f32);
        assert_eq!(train.x[3], 0.0);
        // constant feature: std 1, so x - mean
        assert_eq!([train.x[1], train.x[4], train.x[7]], [0.0, 0.0, 0.0]);
        // the test set uses the train pool's statistics, not its own
        assert_eq!(test.x[0], ((7.0 - 3.0) / sd0) as f32);
        assert_eq!(test.x[1], 1.0);
        // train columns have mean 0 and population std 1 (up to the f32
        // rounding of the three stored values: half an f32 epsilon each)
        let sd2 = (26.0f64 / 3.0).sqrt(); // population std of 2,4,9
        let col2 = [train.x[2], train.x[5], train.x[8]];
        assert_eq!(col2, [(-3.0 / sd2) as f32, (-1.0 / sd2) as f32, (4.0 / sd2) as f32]);
        let col2 = col2.map(|v| v as f64);
        let half_eps = f32::EPSILON as f64 / 2.0;
        let m: f64 = col2.iter().sum::<f64>() / 3.0;
        let v: f64 = col2.iter().map(|x| (x - m) * (x - m)).sum::<f64>() / 3.0;
        let abs_mean = col2.iter().map(|x| x.abs()).sum::<f64>() / 3.0;
        assert!(m.abs() < 1e-15 + abs_mean * half_eps, "{m}");
        assert!((v - 1.0).abs() < 1e-12 + 2.0 * v * half_eps, "{v}");
    }

    #[test]
    fn minmax_maps_train_range_to_unit_interval() {
        let mut train = ds(&[[1.0, 5.0, -2.0], [3.0, 5.0, 2.0]]);
        let mut test = ds(&[[5.0, 6.0, 0.0]]);
        fit_apply(Normalize::MinMax, &mut train, &mut test);
        assert_eq!(train.x, vec![0.0, 0.0, 0.0, 1.0, 0.0, 1.0]);
        assert_eq!(test.x, vec![2.0, 1.0, 0.5]);
    }

    #[test]
    fn fitting_rows_in_chunks_is_fitting_the_table() {
        let rows: Vec<[f32; 3]> = (0..37).map(|i| [i as f32 * 0.37, (i % 5) as f32, 7.0 - i as f32 / 3.0]).collect();
        let table = ds(&rows);
        for kind in [Normalize::Standard, Normalize::MinMax] {
            let whole = Scaler::fit(kind, &table).unwrap();
            let mut passes = 0;
            let chunked = Scaler::fit_rows(kind, 3, |visit| {
                passes += 1;
                for piece in rows.chunks(5) {
                    visit(&piece.concat());
                }
            })
            .unwrap();
            assert_eq!(chunked, whole, "{kind:?}");
            assert_eq!(passes, if kind == Normalize::Standard { 2 } else { 1 });
        }
        assert_eq!(Scaler::fit_rows(Normalize::None, 3, |_| panic!("no pass for none")), None);
    }

    #[test]
    fn none_leaves_data_alone() {
        let mut train = ds(&[[1.0, 5.0, -2.0], [3.0, 5.0, 2.0]]);
        let mut test = ds(&[[5.0, 6.0, 0.0]]);
        let (a, b) = (train.clone(), test.clone());
        fit_apply(Normalize::None, &mut train, &mut test);
        assert_eq!((train, test), (a, b));
    }
}
