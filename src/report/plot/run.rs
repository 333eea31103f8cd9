//! The `plots/` folder of a run: every chart drawn once, at the end, from
//! `metrics.csv`'s rows, the staleness histogram and `events.jsonl`.
//!
//! | file | what |
//! | --- | --- |
//! | `accuracy_time.svg`, `accuracy_round.svg` | test accuracy against virtual time (carried flat to the run's last instant), against the model version |
//! | `loss_time.svg`, `loss_round.svg` | test loss, the same way |
//! | `bytes.svg` | cumulative bytes up and down against virtual time |
//! | `participation.svg` | tasks selected, completed, dropped, late per metrics row |
//! | `staleness.svg` | staleness histogram of folded updates (or "no stale updates") |
//! | `epsilon.svg` | epsilon against the model version (runs with DP only) |
//! | `timeline.svg` | the clients' Gantt chart with the server's aggregations |
//!
//! The work is bounded whatever the run's size: metrics rows number the
//! evaluations, and the timeline keeps at most a sample of clients and of
//! their tasks while it streams the event log once.

use super::axis::Bounds;
use super::timeline::Timeline;
use super::{byte_unit, message_svg, participation_svg, staleness_svg, LineChart, PlotError, Series, XAxis};
use crate::metrics::MetricsRow;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// The plots' folder inside a run folder.
pub const PLOTS_DIR: &str = "plots";

/// Every plot file name a run can write, in the order they are written
/// (`epsilon.svg` only with DP).
pub const PLOT_FILES: [&str; 9] = [
    "accuracy_time.svg",
    "accuracy_round.svg",
    "loss_time.svg",
    "loss_round.svg",
    "bytes.svg",
    "participation.svg",
    "staleness.svg",
    "epsilon.svg",
    "timeline.svg",
];

/// What the plots of a run are drawn from.
#[derive(Debug, Clone, Copy)]
pub struct RunPlots<'a> {
    /// The scenario's name, in every title.
    pub name: &'a str,
    pub rows: &'a [MetricsRow],
    /// Staleness of folded updates: value -> count.
    pub staleness: &'a BTreeMap<u64, u64>,
    /// The run's `events.jsonl`, complete.
    pub events: &'a Path,
    /// Registered clients.
    pub clients: usize,
    /// The scenario's seed (the timeline's sample).
    pub seed: u64,
    pub target: Option<f64>,
    /// The run's last instant in seconds (`summary.json`'s
    /// `virtual_time_s`): curves over time run to it.
    pub end: f64,
    /// Differential privacy is on: draw `epsilon.svg`.
    pub dp: bool,
}

fn time_of(r: &MetricsRow) -> f64 {
    r.virtual_time.as_secs_f64()
}

fn round_of(r: &MetricsRow) -> f64 {
    r.round as f64
}

/// A curve over virtual time, carried flat from its last point to the
/// run's `end`, so that time spent after the last evaluation (a stall, work
/// abandoned at a stop) shows as a flat segment instead of being cut off.
pub fn to_the_end(mut points: Vec<(f64, f64)>, end: f64) -> Vec<(f64, f64)> {
    if let Some(&(x, y)) = points.last() {
        if end.is_finite() && end > x {
            points.push((end, y));
        }
    }
    points
}

/// Writes every plot into `dir/plots/` and returns the paths written.
pub fn write_run_plots(dir: &Path, p: &RunPlots<'_>) -> Result<Vec<PathBuf>, PlotError> {
    let folder = dir.join(PLOTS_DIR);
    std::fs::create_dir_all(&folder).map_err(|source| PlotError::Write { path: folder.clone(), source })?;
    let mut written = Vec::new();
    let mut put = |name: &str, svg: String| -> Result<(), PlotError> {
        let path = folder.join(name);
        std::fs::write(&path, svg).map_err(|source| PlotError::Write { path: path.clone(), source })?;
        written.push(path);
        Ok(())
    };
    let learning = |metric: &str, y: fn(&MetricsRow) -> f64, by_time: bool| {
        let (x, axis, over): (fn(&MetricsRow) -> f64, _, _) =
            if by_time { (time_of, XAxis::Time, "virtual time") } else { (round_of, XAxis::Round, "model version") };
        let accuracy = metric == "accuracy";
        let points: Vec<(f64, f64)> = p.rows.iter().map(|r| (x(r), y(r))).collect();
        let points = if by_time { to_the_end(points, p.end) } else { points };
        let series = [Series::new(format!("test {metric}"), points)];
        let svg = LineChart {
            title: &format!("{}: test {metric} over {over}", p.name),
            x: axis,
            y_desc: if accuracy { "test accuracy (fraction correct)" } else { "test loss (cross-entropy, nats)" },
            series: &series,
            target: p.target.filter(|_| accuracy),
            bounds: if accuracy { Bounds::UNIT } else { Bounds::NON_NEGATIVE },
            fit_skip: 1,
        }
        .svg();
        svg
    };
    put("accuracy_time.svg", learning("accuracy", |r| r.accuracy, true)?)?;
    put("accuracy_round.svg", learning("accuracy", |r| r.accuracy, false)?)?;
    put("loss_time.svg", learning("loss", |r| r.loss, true)?)?;
    put("loss_round.svg", learning("loss", |r| r.loss, false)?)?;

    let most = p.rows.iter().map(|r| r.bytes_up.max(r.bytes_down)).max().unwrap_or(0);
    let (unit, name) = byte_unit(most as f64);
    let bytes = [
        Series::new("up (clients to server)", p.rows.iter().map(|r| (time_of(r), r.bytes_up as f64 / unit)).collect()),
        Series {
            dashed: true,
            ..Series::new(
                "down (server to clients)",
                p.rows.iter().map(|r| (time_of(r), r.bytes_down as f64 / unit)).collect(),
            )
        },
    ];
    let bytes_desc = format!("cumulative bytes ({name})");
    let svg = LineChart {
        title: &format!("{}: cumulative bytes over virtual time", p.name),
        // Two curves of one run end together: never a log axis.
        x: XAxis::Time,
        y_desc: &bytes_desc,
        series: &bytes,
        target: None,
        bounds: Bounds::NON_NEGATIVE,
        fit_skip: 0,
    }
    .svg()?;
    put("bytes.svg", svg)?;

    put("participation.svg", participation_svg(&format!("{}: tasks per evaluation", p.name), p.rows)?)?;
    let discarded = p.rows.iter().map(|r| r.updates_stale).sum();
    put("staleness.svg", staleness_svg(&format!("{}: staleness of folded updates", p.name), p.staleness, discarded)?)?;

    if p.dp {
        let title = format!("{}: privacy spent (epsilon) over model versions", p.name);
        let points: Vec<(f64, f64)> =
            p.rows.iter().filter_map(|r| r.epsilon.filter(|e| e.is_finite()).map(|e| (round_of(r), e))).collect();
        let svg = if points.is_empty() {
            message_svg(&title, &["no finite epsilon: without noise the privacy loss is unbounded"])?
        } else {
            let series = [Series::new("epsilon", points)];
            LineChart {
                title: &title,
                x: XAxis::Round,
                y_desc: "epsilon (privacy loss, at the run's delta)",
                series: &series,
                target: None,
                bounds: Bounds::NON_NEGATIVE,
                fit_skip: 0,
            }
            .svg()?
        };
        put("epsilon.svg", svg)?;
    }

    let timeline = Timeline::read(p.events, p.clients, p.seed)?;
    put("timeline.svg", timeline.svg(&format!("{}: client timeline", p.name))?)?;
    Ok(written)
}

#[cfg(test)]
mod tests {
    use super::to_the_end;

    #[test]
    fn a_curve_over_time_is_carried_flat_to_the_runs_end() {
        let pts = vec![(0.0, 0.1), (4.0, 0.8)];
        assert_eq!(to_the_end(pts.clone(), 10.0), vec![(0.0, 0.1), (4.0, 0.8), (10.0, 0.8)]);
        // Already at the end, or a bad end: unchanged.
        assert_eq!(to_the_end(pts.clone(), 4.0), pts);
        assert_eq!(to_the_end(pts.clone(), f64::NAN), pts);
        assert!(to_the_end(Vec::new(), 3.0).is_empty());
    }
}
