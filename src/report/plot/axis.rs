//! Where a chart's axes start and end, and when time goes on a
//! logarithmic axis.
//!
//! The rules, shared by every plot:
//! - **y fits the data**: from the smallest to the largest value, widened
//!   by [`MARGIN`] of that span on each side so no point sits on the
//!   border, but never past the metric's [`Bounds`] (accuracy stays within
//!   0..1). Accuracies of 0.80 to 0.93 fill the height instead of a tenth
//!   of a 0..1 axis.
//! - Learning curves leave the initial model (round 0, the untrained model
//!   at chance accuracy and maximal loss) out of the fit when they have
//!   later points: it would squeeze every trained value into a sliver. Its
//!   segment is still drawn, entering through the chart's edge.
//! - **log time** when curves of very different lengths share the chart:
//!   if the longest lasts more than [`LOG_TIME_RATIO`] times the shortest
//!   (by the virtual time of their last point), see [`log_time`].

use super::PlotError;

/// Share of the data's span left free below and above it.
pub const MARGIN: f64 = 0.05;

/// Longest over shortest run duration beyond which time goes on a log axis.
/// On a linear axis the shortest run would get under a quarter of the
/// width, its curve flattened against the y axis by the others' long tails
/// (FedAvg waiting for stragglers next to FedAsync); on a log axis each
/// run's rise and plateau stay visible.
pub const LOG_TIME_RATIO: f64 = 4.0;

/// Values a metric cannot leave: the margin stops at them (the data itself
/// is never cut).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Bounds {
    pub lo: f64,
    pub hi: f64,
}

impl Bounds {
    pub const NONE: Bounds = Bounds { lo: f64::NEG_INFINITY, hi: f64::INFINITY };
    /// Accuracy, F1: 0 to 1.
    pub const UNIT: Bounds = Bounds { lo: 0.0, hi: 1.0 };
    /// Loss, bytes, counts, epsilon.
    pub const NON_NEGATIVE: Bounds = Bounds { lo: 0.0, hi: f64::INFINITY };
}

/// The y range for `values` (non-finite ones ignored) under the module's
/// rule; `(0, 1)` clipped to `bounds` when there is no value.
///
/// Equal values get a range around them of 10% of their magnitude (1 around
/// zero), so a flat line sits mid-height.
///
/// ```
/// use fedsim::report::axis::{fit, Bounds};
/// let (lo, hi) = fit("y", [0.80, 0.85, 0.93].into_iter(), Bounds::UNIT).unwrap();
/// assert!((lo - 0.7935).abs() < 1e-9 && (hi - 0.9365).abs() < 1e-9);
/// ```
pub fn fit(axis: &'static str, values: impl Iterator<Item = f64>, bounds: Bounds) -> Result<(f64, f64), PlotError> {
    let (lo, hi) =
        values.filter(|v| v.is_finite()).fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), v| (lo.min(v), hi.max(v)));
    if lo > hi {
        return Ok((bounds.lo.max(0.0).min(bounds.hi), 1f64.min(bounds.hi).max(bounds.lo)));
    }
    let span = hi - lo;
    let (a, b) = if span <= f64::EPSILON * lo.abs().max(hi.abs()) {
        let half = if lo == 0.0 { 0.5 } else { lo.abs() * 0.05 };
        (lo - half, hi + half)
    } else {
        (lo - span * MARGIN, hi + span * MARGIN)
    };
    // The margin stops at a bound the data respects.
    let a = a.max(bounds.lo.min(lo));
    let b = b.min(bounds.hi.max(hi));
    if !(b - a).is_finite() || b <= a {
        return Err(PlotError::Range { axis, lo: a, hi: b });
    }
    Ok((a, b))
}

/// Whether curves ending at `ends` (virtual seconds of each curve's last
/// point) go on a logarithmic time axis: at least two curves, all ending
/// after 0, and the longest more than [`LOG_TIME_RATIO`] times the
/// shortest.
///
/// ```
/// use fedsim::report::axis::log_time;
/// assert!(log_time(&[164.8, 728.0, 209.3, 143.8]));
/// assert!(!log_time(&[100.0, 300.0]));
/// assert!(!log_time(&[728.0]));
/// ```
pub fn log_time(ends: &[f64]) -> bool {
    let (lo, hi) = ends.iter().fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), &v| (lo.min(v), hi.max(v)));
    ends.len() >= 2 && lo > 0.0 && hi.is_finite() && hi / lo > LOG_TIME_RATIO
}

/// The x range of a log time axis over the positive `xs`: a little room
/// on either side, multiplicatively.
pub fn log_span(xs: impl Iterator<Item = f64>) -> Result<(f64, f64), PlotError> {
    let (lo, hi) = xs
        .filter(|x| x.is_finite() && *x > 0.0)
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), v| (lo.min(v), hi.max(v)));
    let (lo, hi) = if lo > hi { (0.1, 10.0) } else { (lo / 1.25, hi * 1.1) };
    if !(lo > 0.0 && hi.is_finite() && hi > lo) {
        return Err(PlotError::Range { axis: "x", lo, hi });
    }
    Ok((lo, hi))
}

/// Cuts a polyline to the band `lo..=hi` of y: the pieces inside it, with
/// the points where it crosses the band's edges (x interpolated), so a
/// line that leaves the chart ends at its edge instead of being drawn past
/// it.
pub fn clip_y(points: &[(f64, f64)], lo: f64, hi: f64) -> Vec<Vec<(f64, f64)>> {
    let inside = |y: f64| (lo..=hi).contains(&y);
    let cross = |(x0, y0): (f64, f64), (x1, y1): (f64, f64), edge: f64| {
        let f = (edge - y0) / (y1 - y0);
        (x0 + (x1 - x0) * f, edge)
    };
    let mut pieces: Vec<Vec<(f64, f64)>> = Vec::new();
    let mut current: Vec<(f64, f64)> = Vec::new();
    for (i, &p) in points.iter().enumerate() {
        let prev = i.checked_sub(1).map(|j| points[j]);
        match (prev, inside(p.1)) {
            (None, true) => current.push(p),
            (None, false) => {}
            (Some(q), true) => {
                if !inside(q.1) {
                    current.push(cross(q, p, if q.1 < lo { lo } else { hi }));
                }
                current.push(p);
            }
            (Some(q), false) => {
                if inside(q.1) {
                    current.push(cross(q, p, if p.1 < lo { lo } else { hi }));
                    pieces.push(std::mem::take(&mut current));
                } else if (q.1 < lo) != (p.1 < lo) {
                    // From below the band to above it (or back) in one step.
                    let (a, b) = if q.1 < lo { (lo, hi) } else { (hi, lo) };
                    pieces.push(vec![cross(q, p, a), cross(q, p, b)]);
                }
            }
        }
    }
    if !current.is_empty() {
        pieces.push(current);
    }
    pieces
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: (f64, f64), b: (f64, f64)) -> bool {
        (a.0 - b.0).abs() < 1e-9 && (a.1 - b.1).abs() < 1e-9
    }

    #[test]
    fn y_fits_the_data_with_a_margin_within_bounds() {
        // Accuracy 0.80..0.93: the axis is 0.7935..0.9365, not 0..1.
        assert!(close(fit("y", [0.8, 0.93, 0.85].into_iter(), Bounds::UNIT).unwrap(), (0.7935, 0.9365)));
        // The margin stops at 1 for accuracy, at 0 for bytes.
        assert!(close(fit("y", [0.9, 1.0].into_iter(), Bounds::UNIT).unwrap(), (0.895, 1.0)));
        assert!(close(fit("y", [0.0, 100.0].into_iter(), Bounds::NON_NEGATIVE).unwrap(), (0.0, 105.0)));
        // Without bounds the margin goes both ways.
        assert!(close(fit("y", [-1.0, 1.0].into_iter(), Bounds::NONE).unwrap(), (-1.1, 1.1)));
        // Data outside the bounds is never cut.
        assert!(close(fit("y", [-0.1, 1.2].into_iter(), Bounds::UNIT).unwrap(), (-0.1, 1.2)));
        // A flat line sits mid-height; zero gets a unit range.
        assert!(close(fit("y", [0.5, 0.5].into_iter(), Bounds::UNIT).unwrap(), (0.475, 0.525)));
        assert!(close(fit("y", [0.0].into_iter(), Bounds::NON_NEGATIVE).unwrap(), (0.0, 0.5)));
        assert!(close(fit("y", [1.0].into_iter(), Bounds::UNIT).unwrap(), (0.95, 1.0)));
        // Nothing to fit: 0..1; non-finite values are ignored.
        assert!(close(fit("y", std::iter::empty(), Bounds::NON_NEGATIVE).unwrap(), (0.0, 1.0)));
        assert!(close(fit("y", [f64::NAN, 2.0, 4.0].into_iter(), Bounds::NONE).unwrap(), (1.9, 4.1)));
        assert!(matches!(fit("y", [f64::MAX, -f64::MAX].into_iter(), Bounds::NONE), Err(PlotError::Range { .. })));
    }

    #[test]
    fn time_goes_on_a_log_axis_when_durations_differ_by_more_than_the_ratio() {
        // `compare scenarios/sync_vs_async/*.yaml`: FedAvg's 728 s against
        // FedBuff's 144 s is a ratio of 5.1.
        assert!(log_time(&[164.8, 728.0, 209.3, 143.8]));
        assert!(!log_time(&[100.0, 400.0]));
        assert!(log_time(&[100.0, 400.1]));
        // One curve, a curve ending at 0 or no curve: linear.
        assert!(!log_time(&[1000.0]));
        assert!(!log_time(&[0.0, 1000.0]));
        assert!(!log_time(&[]));
        assert!(!log_time(&[1.0, f64::INFINITY]));
    }

    #[test]
    fn log_span_leaves_room_on_both_sides() {
        let (lo, hi) = log_span([0.0, 1.0, 100.0].into_iter()).unwrap();
        assert!(close((lo, hi), (0.8, 110.0)));
        assert_eq!(log_span(std::iter::empty()).unwrap(), (0.1, 10.0));
    }

    #[test]
    fn lines_are_cut_at_the_band_edges() {
        // The initial model below the band: the line enters at the bottom.
        let p = [(0.0, 0.1), (1.0, 0.9), (2.0, 0.95)];
        let pieces = clip_y(&p, 0.8, 1.0);
        assert_eq!(pieces.len(), 1);
        assert!(close(pieces[0][0], (0.875, 0.8)));
        assert_eq!(&pieces[0][1..], &p[1..]);
        // Leaving and coming back makes two pieces; a jump across makes one.
        let pieces = clip_y(&[(0.0, 0.5), (1.0, 2.0), (2.0, 0.5)], 0.0, 1.0);
        assert_eq!(pieces.len(), 2);
        let pieces = clip_y(&[(0.0, -1.0), (1.0, 2.0)], 0.0, 1.0);
        assert_eq!(pieces.len(), 1);
        assert!(close(pieces[0][0], (1.0 / 3.0, 0.0)) && close(pieces[0][1], (2.0 / 3.0, 1.0)));
        assert!(clip_y(&[(0.0, 5.0), (1.0, 6.0)], 0.0, 1.0).is_empty());
    }
}
