//! Line charts: `compare`'s `accuracy.svg` (one line per scenario) and a
//! run's accuracy, loss, bytes and epsilon curves.

use super::axis::{self, Bounds};
use super::{
    draw_error, entry, frame, log_tick, tick, Area, DrawResult, Entry, PlotError, Swatch, AXIS_DESC_SIZE, COLOURS,
    FONT, HEIGHT, LABEL_SIZE, REFERENCE, WIDTH,
};
use plotters::coord::ranged1d::{KeyPointHint, NoDefaultFormatting, Ranged, ValueFormatter};
use plotters::coord::types::RangedCoordf64;
use plotters::prelude::*;

/// One line of a chart.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Series {
    pub label: String,
    /// (x, y); points with a non-finite coordinate are skipped.
    pub points: Vec<(f64, f64)>,
    /// Drawn dashed, so that a line that coincides with a solid one (bytes
    /// up and down of a run whose messages are the same size each way)
    /// still shows both.
    pub dashed: bool,
}

impl Series {
    pub fn new(label: impl Into<String>, points: Vec<(f64, f64)>) -> Self {
        Series { label: label.into(), points, dashed: false }
    }
}

/// Curves with at most this many points also mark each point, so that a
/// reader sees where the evaluations are.
const MARKED_POINTS: usize = 60;

/// What the x axis measures.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum XAxis {
    /// Virtual seconds: a log axis when curves' durations differ by more
    /// than [`axis::LOG_TIME_RATIO`].
    Time,
    /// The server's model version: whole numbers only.
    Round,
}

impl XAxis {
    fn desc(self, log: bool) -> &'static str {
        match (self, log) {
            (XAxis::Time, false) => "virtual time (s)",
            (XAxis::Time, true) => "virtual time (s, log scale)",
            (XAxis::Round, _) => "model version (round)",
        }
    }
}

/// A line chart and how its axes are chosen (see [`axis`]).
#[derive(Debug, Clone)]
pub struct LineChart<'a> {
    pub title: &'a str,
    pub x: XAxis,
    /// The y axis' title, with its unit.
    pub y_desc: &'a str,
    pub series: &'a [Series],
    /// A dashed horizontal reference line labelled "target".
    pub target: Option<f64>,
    /// Values the y axis' margin may not cross.
    pub bounds: Bounds,
    /// Leading points of each curve left out of the y fit when it has more:
    /// 1 for learning curves, whose first point is the untrained model.
    pub fit_skip: usize,
}

/// A logarithmic time axis whose ticks are 1, 2 and 5 times powers of ten
/// (plotters' own log axis repeats each power of ten).
#[derive(Debug, Clone)]
struct LogTime {
    lo: f64,
    hi: f64,
}

impl LogTime {
    /// 1, 2 and 5 (or with too many of those, 1 only) times the powers of
    /// ten within the axis.
    fn ticks(&self, max: usize) -> Vec<f64> {
        let within = |mantissas: &[f64]| -> Vec<f64> {
            let first = self.lo.log10().floor() as i32;
            let last = self.hi.log10().ceil() as i32;
            (first..=last)
                .flat_map(|e| mantissas.iter().map(move |m| m * 10f64.powi(e)))
                .filter(|v| (self.lo..=self.hi).contains(v))
                .collect()
        };
        let ticks = within(&[1.0, 2.0, 5.0]);
        if ticks.len() <= max.max(3) {
            ticks
        } else {
            within(&[1.0])
        }
    }
}

impl Ranged for LogTime {
    type FormatOption = NoDefaultFormatting;
    type ValueType = f64;

    fn map(&self, value: &f64, limit: (i32, i32)) -> i32 {
        let f = (value.ln() - self.lo.ln()) / (self.hi.ln() - self.lo.ln());
        limit.0 + (f * (limit.1 - limit.0) as f64).round() as i32
    }

    fn key_points<H: KeyPointHint>(&self, hint: H) -> Vec<f64> {
        self.ticks(hint.max_num_points())
    }

    fn range(&self) -> std::ops::Range<f64> {
        self.lo..self.hi
    }
}

impl ValueFormatter<f64> for LogTime {
    fn format(value: &f64) -> String {
        log_tick(*value)
    }
}

/// The chart's curves without their non-finite points.
fn finite(series: &[Series]) -> Vec<Vec<(f64, f64)>> {
    series.iter().map(|s| s.points.iter().copied().filter(|(x, y)| x.is_finite() && y.is_finite()).collect()).collect()
}

impl LineChart<'_> {
    /// The chart as SVG text.
    ///
    /// Empty series, a single point, equal values and non-finite points are
    /// all drawn without error; a series without any finite point still
    /// gets its legend entry.
    pub fn svg(&self) -> Result<String, PlotError> {
        if let Some(t) = self.target.filter(|t| !t.is_finite()) {
            return Err(PlotError::Target(t));
        }
        let mut lines = finite(self.series);
        let ends: Vec<f64> = lines.iter().filter_map(|l| l.last().map(|p| p.0)).collect();
        let log = self.x == XAxis::Time && axis::log_time(&ends);
        let skip = self.fit_skip;
        let fitted: Vec<f64> = lines
            .iter()
            .flat_map(|l| l.iter().skip(if l.len() > skip { skip } else { 0 }))
            .filter(|p| !log || p.0 > 0.0)
            .map(|p| p.1)
            .chain(self.target)
            .collect();
        let (y_lo, y_hi) = axis::fit("y", fitted.into_iter(), self.bounds)?;
        if log {
            // t = 0 has no place on a log axis.
            lines.iter_mut().for_each(|l| l.retain(|p| p.0 > 0.0));
        }
        let pieces: Vec<Vec<Vec<(f64, f64)>>> = lines.iter().map(|l| axis::clip_y(l, y_lo, y_hi)).collect();

        let mut legend: Vec<Entry> = Vec::new();
        if self.target.is_some() {
            legend.push(entry("target", Swatch::Dashed(REFERENCE)));
        }
        for (i, s) in self.series.iter().enumerate() {
            let c = COLOURS[i % COLOURS.len()];
            legend.push(entry(s.label.as_str(), if s.dashed { Swatch::Dashed(c) } else { Swatch::Line(c) }));
        }
        let drawn = Drawn { lines: &lines, pieces: &pieces, y: (y_lo, y_hi) };

        let mut svg = String::new();
        {
            let root = SVGBackend::with_string(&mut svg, (WIDTH, HEIGHT)).into_drawing_area();
            let area = frame(&root, self.title, None, &legend).map_err(draw_error)?;
            let result = if log {
                let (lo, hi) = axis::log_span(lines.iter().flatten().map(|p| p.0))?;
                self.draw(&area, LogTime { lo, hi }, (lo, hi), true, &|x: &f64| log_tick(*x), &drawn)
            } else {
                let (lo, hi) = linear_x(&lines)?;
                let fmt = move |x: &f64| match self.x {
                    XAxis::Round if x.fract() != 0.0 => String::new(),
                    XAxis::Round => format!("{x:.0}"),
                    XAxis::Time => tick(*x, hi - lo),
                };
                self.draw(&area, RangedCoordf64::from(lo..hi), (lo, hi), false, &fmt, &drawn)
            };
            result.map_err(draw_error)?;
            root.present().map_err(draw_error)?;
        }
        Ok(svg)
    }

    fn draw<X>(
        &self,
        area: &Area<'_>,
        x: X,
        (x_lo, x_hi): (f64, f64),
        log: bool,
        x_fmt: &dyn Fn(&f64) -> String,
        drawn: &Drawn<'_>,
    ) -> DrawResult
    where
        X: Ranged<ValueType = f64> + ValueFormatter<f64>,
    {
        let (y_lo, y_hi) = drawn.y;
        let mut chart = ChartBuilder::on(area)
            .margin(12)
            .x_label_area_size(48)
            .y_label_area_size(72)
            .build_cartesian_2d(x, y_lo..y_hi)?;
        chart
            .configure_mesh()
            .x_desc(self.x.desc(log))
            .y_desc(self.y_desc)
            .axis_desc_style((FONT, AXIS_DESC_SIZE))
            .label_style((FONT, LABEL_SIZE))
            .light_line_style(WHITE.mix(0.0))
            .bold_line_style(BLACK.mix(0.1))
            .x_labels(if log { 12 } else { 8 })
            .x_label_formatter(x_fmt)
            .y_labels(10)
            .y_label_formatter(&|y| tick(*y, y_hi - y_lo))
            .draw()?;
        if let Some(t) = self.target {
            let style = REFERENCE.stroke_width(1);
            chart.draw_series(DashedLineSeries::new([(x_lo, t), (x_hi, t)], 6, 4, style))?;
        }
        for (i, (curve, line)) in drawn.pieces.iter().zip(drawn.lines).enumerate() {
            let colour = COLOURS[i % COLOURS.len()];
            let style = colour.stroke_width(2);
            for piece in curve {
                if self.series[i].dashed {
                    chart.draw_series(DashedLineSeries::new(piece.iter().copied(), 7, 5, style))?;
                } else {
                    chart.draw_series(LineSeries::new(piece.iter().copied(), style))?;
                }
            }
            // Markers on the data points in view (a one-point curve draws
            // no line: its marker shows it).
            if line.len() <= MARKED_POINTS || line.len() == 1 {
                let shown = line.iter().filter(|p| (y_lo..=y_hi).contains(&p.1));
                chart.draw_series(shown.map(|&p| Circle::new(p, 3, colour.filled())))?;
            }
        }
        Ok(())
    }
}

/// What a chart draws, its axes fitted.
struct Drawn<'a> {
    /// The data points in view on the x axis.
    lines: &'a [Vec<(f64, f64)>],
    /// The same, cut to the y range.
    pieces: &'a [Vec<Vec<(f64, f64)>>],
    y: (f64, f64),
}

/// A linear x axis from 0 (or the earliest point) to the latest point, with
/// a little room on the right so the last points are not on the border.
fn linear_x(lines: &[Vec<(f64, f64)>]) -> Result<(f64, f64), PlotError> {
    let (lo, hi) = lines.iter().flatten().fold((0f64, f64::NEG_INFINITY), |(lo, hi), p| (lo.min(p.0), hi.max(p.0)));
    let hi = if hi <= lo { lo + 1f64.max(lo.abs() * 0.1) } else { hi };
    let hi = hi + (hi - lo) * 0.02;
    if !(hi - lo).is_finite() || hi <= lo {
        return Err(PlotError::Range { axis: "x", lo, hi });
    }
    Ok((lo, hi))
}

/// `compare`'s `accuracy.svg`: test accuracy against virtual time, one line
/// per scenario, and an optional dashed line at `target`. The y axis fits
/// the trained models' accuracies and time goes on a log axis when the
/// runs' durations differ by more than [`axis::LOG_TIME_RATIO`].
pub fn accuracy_svg(title: &str, series: &[Series], target: Option<f64>) -> Result<String, PlotError> {
    LineChart { title, x: XAxis::Time, y_desc: "test accuracy", series, target, bounds: Bounds::UNIT, fit_skip: 1 }
        .svg()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn series(label: &str, points: &[(f64, f64)]) -> Series {
        Series::new(label, points.to_vec())
    }

    fn three() -> Vec<Series> {
        vec![
            series("fedavg", &[(0.0, 0.1), (10.0, 0.5), (20.0, 0.7), (30.0, 0.8), (40.0, 0.85)]),
            series("fedasync", &[(0.0, 0.1), (5.0, 0.3), (15.0, 0.6), (25.0, 0.75), (45.0, 0.9)]),
            series("fedbuff", &[(0.0, 0.1), (8.0, 0.45), (16.0, 0.7), (32.0, 0.88)]),
        ]
    }

    fn count(svg: &str, needle: &str) -> usize {
        svg.matches(needle).count()
    }

    fn hex(c: RGBColor) -> String {
        format!("#{:02X}{:02X}{:02X}", c.0, c.1, c.2)
    }

    #[test]
    fn three_series_render_labels_axes_and_a_line_each() {
        let svg = accuracy_svg("test accuracy over virtual time", &three(), Some(0.8)).unwrap();
        if let Ok(path) = std::env::var("FEDSIM_PLOT_SAMPLE") {
            std::fs::write(path, &svg).unwrap();
        }
        assert!(svg.starts_with("<svg"), "{}", &svg[..svg.len().min(200)]);
        assert!(svg.trim_end().ends_with("</svg>"));
        for label in ["fedavg", "fedasync", "fedbuff", "target", "virtual time (s)", "test accuracy"] {
            assert!(svg.contains(&format!(">\n{label}\n<")) || svg.contains(&format!(">{label}<")), "{label}");
        }
        assert!(svg.contains("test accuracy over virtual time"));
        // Every series' colour strokes its line and its legend sample.
        for colour in &COLOURS[..3] {
            let lines =
                svg.lines().filter(|l| (l.contains("<polyline") || l.contains("<path")) && l.contains(&hex(*colour)));
            assert!(lines.count() >= 2, "{}", hex(*colour));
        }
        // No font engine: text is left to the viewer.
        assert!(count(&svg, "<text") >= 10);
        // Durations 40, 45 and 32 s: a linear axis.
        assert!(!svg.contains("log scale"));
    }

    #[test]
    fn runs_of_very_different_lengths_get_a_log_time_axis() {
        let s = [
            series("fast", &[(0.0, 0.1), (1.0, 0.8), (10.0, 0.9)]),
            series("slow", &[(0.0, 0.1), (50.0, 0.8), (700.0, 0.92)]),
        ];
        let svg = accuracy_svg("t", &s, None).unwrap();
        assert!(svg.contains("virtual time (s, log scale)"));
        // 1, 2 and 5 times powers of ten, each once.
        for label in ["1", "2", "5", "10", "20", "50", "100", "200", "500"] {
            let n = svg.matches(&format!(">\n{label}\n<")).count() + svg.matches(&format!(">{label}<")).count();
            assert_eq!(n, 1, "{label}");
        }
    }

    #[test]
    fn the_y_axis_fits_the_trained_models() {
        // From 0.80 to 0.93 after the initial 0.1: ticks in that band only.
        let s = [series("a", &[(0.0, 0.1), (10.0, 0.80), (20.0, 0.93)])];
        let svg = accuracy_svg("t", &s, None).unwrap();
        let ticks: Vec<f64> = svg
            .split("<text")
            .filter_map(|t| t.split('>').nth(1))
            .filter_map(|t| t.split('<').next())
            .filter_map(|t| t.trim().parse::<f64>().ok())
            .filter(|v| *v < 1.0 && *v > 0.0 && (*v * 100.0).fract().abs() < 1e-9)
            .collect();
        assert!(!ticks.is_empty() && ticks.iter().all(|v| (0.79..=0.94).contains(v)), "{ticks:?}");
    }

    #[test]
    fn labels_are_escaped() {
        let svg = accuracy_svg("a <b> & \"c\"", &[series("x<y & z", &[(0.0, 0.5), (1.0, 0.6)])], None).unwrap();
        assert!(svg.contains("x&lt;y &amp; z"));
        assert!(!svg.contains("x<y"));
        assert!(!svg.contains(">target<") && !svg.contains("\ntarget\n"));
    }

    #[test]
    fn degenerate_inputs_still_render() {
        let nan = f64::NAN;
        let inf = f64::INFINITY;
        let cases: Vec<(Vec<Series>, Option<f64>)> = vec![
            (vec![], None),
            (vec![], Some(0.9)),
            (vec![series("empty", &[])], None),
            (vec![series("one", &[(3.0, 0.4)])], Some(0.5)),
            (vec![series("origin", &[(0.0, 0.0)])], None),
            (vec![series("flat", &[(5.0, 0.5), (5.0, 0.5), (5.0, 0.5)])], None),
            (vec![series("flat-y", &[(1.0, 0.5), (2.0, 0.5)])], Some(0.5)),
            (vec![series("nan", &[(nan, 0.2), (1.0, nan), (inf, 0.3), (2.0, -inf), (nan, nan)])], None),
            (vec![series("some-nan", &[(0.0, 0.1), (1.0, nan), (2.0, 0.5)])], None),
            (vec![series("big", &[(1e300, 0.5), (1e300, 0.6)])], None),
            (vec![series("huge-y", &[(1.0, 1e300), (2.0, -1e300)])], None),
            (vec![series("tiny", &[(1e-300, 0.5), (2e-300, 0.6)])], None),
            (vec![series("negative", &[(-5.0, -0.1), (5.0, 1.2)])], Some(1.5)),
            (vec![series("", &[(0.0, 0.5), (1.0, 0.6)])], None),
            (vec![series("a", &[(0.0, 0.1), (1e-3, 0.5)]), series("b", &[(0.0, 0.1), (1e6, 0.9)])], None),
            ((0..25).map(|i| series(&format!("s{i}"), &[(0.0, 0.0), (i as f64, 0.04 * i as f64)])).collect(), None),
        ];
        for (i, (s, target)) in cases.iter().enumerate() {
            let svg = accuracy_svg("t", s, *target).unwrap_or_else(|e| panic!("case {i}: {e}"));
            assert!(svg.starts_with("<svg") && svg.contains("test accuracy"), "case {i}");
            for one in s {
                if !one.label.is_empty() {
                    assert!(svg.contains(&one.label), "case {i}: {}", one.label);
                }
            }
        }
    }

    #[test]
    fn bad_target_and_unplottable_range_are_errors() {
        assert!(matches!(accuracy_svg("t", &three(), Some(f64::NAN)), Err(PlotError::Target(_))));
        assert!(matches!(accuracy_svg("t", &three(), Some(f64::INFINITY)), Err(PlotError::Target(_))));
        let wide = [series("wide", &[(-f64::MAX, 0.5), (f64::MAX, 0.5)])];
        assert!(matches!(accuracy_svg("t", &wide, None), Err(PlotError::Range { axis: "x", .. })));
        let far = [series("far", &[(f64::MAX, 0.5)])];
        assert!(matches!(accuracy_svg("t", &far, None), Err(PlotError::Range { axis: "x", .. })));
        // (The first point, the initial model, is left out of the fit.)
        let far_y = [series("far", &[(0.0, 0.5), (1.0, f64::MAX), (2.0, -f64::MAX)])];
        assert!(matches!(accuracy_svg("t", &far_y, None), Err(PlotError::Range { axis: "y", .. })));
    }

    #[test]
    fn output_is_deterministic() {
        let a = accuracy_svg("t", &three(), Some(0.8)).unwrap();
        let b = accuracy_svg("t", &three(), Some(0.8)).unwrap();
        assert_eq!(a, b);
    }
}
