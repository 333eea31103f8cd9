//! Staleness functions: how much an update computed on an old model counts.

use crate::scenario::Staleness;

/// The weight `s(t)` of an update `t` versions stale.
///
/// ```
/// use fedsim::scenario::Staleness;
/// use fedsim::strategy::staleness_weight;
/// assert_eq!(staleness_weight(Staleness::Constant, 7), 1.0);
/// assert!((staleness_weight(Staleness::Polynomial { a: 0.5 }, 5) - 0.408248).abs() < 1e-6);
/// assert_eq!(staleness_weight(Staleness::Hinge { a: 10.0, b: 4.0 }, 5), 1.0 / 11.0);
/// ```
pub fn staleness_weight(f: Staleness, t: u64) -> f64 {
    let t = t as f64;
    match f {
        Staleness::Constant => 1.0,
        Staleness::Polynomial { a } => (1.0 + t).powf(-a),
        Staleness::Hinge { a, b } => {
            if t <= b {
                1.0
            } else {
                1.0 / (a * (t - b) + 1.0)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hand_computed_values() {
        let poly = Staleness::Polynomial { a: 0.5 };
        let hinge = Staleness::Hinge { a: 10.0, b: 4.0 };
        let cases = [
            (Staleness::Constant, [1.0, 1.0, 1.0, 1.0]),
            (poly, [1.0, 1.0 / 2f64.sqrt(), 1.0 / 6f64.sqrt(), 1.0 / 11f64.sqrt()]),
            (hinge, [1.0, 1.0, 1.0 / 11.0, 1.0 / 61.0]),
        ];
        for (f, want) in cases {
            for (t, w) in [0u64, 1, 5, 10].into_iter().zip(want) {
                assert!((staleness_weight(f, t) - w).abs() < 1e-12, "{f:?} at {t}");
            }
        }
        assert!((staleness_weight(poly, 5) - 0.408248).abs() < 1e-6);
    }
}
