//! `accuracy.svg`: test accuracy against virtual time, one line per
//! scenario, as `fedsim compare` writes it.
//!
//! Drawn with `plotters`' SVG backend and no font engine: labels are SVG
//! `<text>` elements that the viewer lays out with its own sans-serif font,
//! so rendering needs no fonts on the machine that writes the file.

use plotters::coord::Shift;
use plotters::element::DashedPathElement;
use plotters::prelude::*;

/// One line of the plot.
#[derive(Debug, Clone, PartialEq)]
pub struct Series {
    pub label: String,
    /// (virtual seconds, accuracy); points with a non-finite coordinate are
    /// skipped.
    pub points: Vec<(f64, f64)>,
}

#[derive(Debug, thiserror::Error)]
pub enum PlotError {
    #[error("the accuracy target {0} is not a finite number")]
    Target(f64),
    #[error("the plot's {axis} axis cannot span {lo} to {hi}")]
    Range { axis: &'static str, lo: f64, hi: f64 },
    #[error("cannot draw the plot: {0}")]
    Draw(String),
}

const WIDTH: u32 = 800;
const HEIGHT: u32 = 500;

/// Line colours, cycled: matplotlib's "tab10", distinct and print-friendly.
const COLOURS: [RGBColor; 10] = [
    RGBColor(31, 119, 180),
    RGBColor(255, 127, 14),
    RGBColor(44, 160, 44),
    RGBColor(214, 39, 40),
    RGBColor(148, 103, 189),
    RGBColor(140, 86, 75),
    RGBColor(227, 119, 194),
    RGBColor(127, 127, 127),
    RGBColor(188, 189, 34),
    RGBColor(23, 190, 207),
];

/// Colour of the target line.
const TARGET_COLOUR: RGBColor = RGBColor(90, 90, 90);

/// The plot as SVG text: x "virtual time (s)" from 0 (or the earliest point)
/// to the latest point, y "test accuracy" from 0 to 1 (widened if a point or
/// the target lies outside), a legend with the labels, and an optional thin
/// dashed horizontal line at `target` labelled "target".
///
/// Empty series, a single point, equal values and non-finite points are all
/// drawn without error; a series without any finite point still gets its
/// legend entry.
pub fn accuracy_svg(title: &str, series: &[Series], target: Option<f64>) -> Result<String, PlotError> {
    if let Some(t) = target.filter(|t| !t.is_finite()) {
        return Err(PlotError::Target(t));
    }
    let lines: Vec<Vec<(f64, f64)>> = series
        .iter()
        .map(|s| s.points.iter().copied().filter(|(x, y)| x.is_finite() && y.is_finite()).collect())
        .collect();
    let all = || lines.iter().flatten();

    let (x_lo, x_hi) = span("x", all().map(|p| p.0).chain([0.0]), 1.0)?;
    // A little room on the right, so the last points are not on the border.
    let x_hi = x_hi + (x_hi - x_lo) * 0.02;
    if !x_hi.is_finite() {
        return Err(PlotError::Range { axis: "x", lo: x_lo, hi: x_hi });
    }
    let (y_lo, y_hi) = span("y", all().map(|p| p.1).chain([0.0, 1.0]).chain(target), 1.0)?;

    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (WIDTH, HEIGHT)).into_drawing_area();
        draw(&root, title, series, &lines, target, (x_lo, x_hi), (y_lo, y_hi)).map_err(draw_error)?;
        root.present().map_err(draw_error)?;
    }
    Ok(svg)
}

/// The smallest range holding `values`, at least `min_width` wide if they
/// are all equal.
fn span(axis: &'static str, values: impl Iterator<Item = f64>, min_width: f64) -> Result<(f64, f64), PlotError> {
    let (lo, hi) = values.fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), v| (lo.min(v), hi.max(v)));
    // Relative to the magnitude, so that huge equal values still widen.
    let hi = if hi - lo <= f64::EPSILON * lo.abs().max(hi.abs()) { lo + min_width.max(lo.abs() * 0.1) } else { hi };
    if !(hi - lo).is_finite() || hi <= lo {
        return Err(PlotError::Range { axis, lo, hi });
    }
    Ok((lo, hi))
}

/// A tick label with as many decimals as the axis' span calls for
/// ("10", "2.5", "0.25"), or in scientific notation for extreme spans.
fn tick(x: f64, span: f64) -> String {
    if (1e-3..1e7).contains(&span) {
        let decimals = (1.0 - span.log10().floor()).clamp(0.0, 5.0) as usize;
        let s = format!("{x:.decimals$}");
        // No "-0" for a tick a rounding hair below zero.
        if s.trim_start_matches('-').chars().all(|c| c == '0' || c == '.') {
            format!("{:.decimals$}", 0.0)
        } else {
            s
        }
    } else {
        format!("{x:.2e}")
    }
}

/// Smaller legend text for many entries, so that up to ~35 still fit.
fn legend_font_size(entries: usize) -> u32 {
    (280 / entries.max(1)).clamp(7, 17) as u32
}

fn draw_error<E: std::error::Error + Send + Sync>(e: DrawingAreaErrorKind<E>) -> PlotError {
    PlotError::Draw(e.to_string())
}

type Area<'a> = DrawingArea<SVGBackend<'a>, Shift>;
type DrawResult = Result<(), DrawingAreaErrorKind<<SVGBackend<'static> as DrawingBackend>::ErrorType>>;

fn draw(
    root: &Area<'_>,
    title: &str,
    series: &[Series],
    lines: &[Vec<(f64, f64)>],
    target: Option<f64>,
    (x_lo, x_hi): (f64, f64),
    (y_lo, y_hi): (f64, f64),
) -> DrawResult {
    root.fill(&WHITE)?;
    let mut chart = ChartBuilder::on(root)
        .caption(title, ("sans-serif", 26))
        .margin(12)
        .x_label_area_size(50)
        .y_label_area_size(65)
        .build_cartesian_2d(x_lo..x_hi, y_lo..y_hi)?;
    chart
        .configure_mesh()
        .x_desc("virtual time (s)")
        .y_desc("test accuracy")
        .axis_desc_style(("sans-serif", 19))
        .label_style(("sans-serif", 16))
        .light_line_style(WHITE.mix(0.0))
        .bold_line_style(BLACK.mix(0.1))
        .x_labels(8)
        .x_label_formatter(&|x| tick(*x, x_hi - x_lo))
        .y_labels(11)
        .y_label_formatter(&|y| tick(*y, y_hi - y_lo))
        .draw()?;

    if let Some(t) = target {
        let style = TARGET_COLOUR.stroke_width(1);
        chart
            .draw_series(DashedLineSeries::new([(x_lo, t), (x_hi, t)], 6, 4, style))?
            .label("target")
            .legend(move |(x, y)| DashedPathElement::new([(x, y), (x + 20, y)], 6, 4, style));
    }

    for (i, (s, points)) in series.iter().zip(lines).enumerate() {
        let colour = COLOURS[i % COLOURS.len()];
        let style = colour.stroke_width(2);
        let anno = if points.len() == 1 {
            // A one-point line draws nothing: mark the point instead.
            chart.draw_series(points.iter().map(|&p| Circle::new(p, 3, colour.filled())))?
        } else {
            chart.draw_series(LineSeries::new(points.iter().copied(), style))?
        };
        anno.label(s.label.as_str()).legend(move |(x, y)| PathElement::new([(x, y), (x + 20, y)], style));
    }

    if !series.is_empty() || target.is_some() {
        chart
            .configure_series_labels()
            .position(SeriesLabelPosition::LowerRight)
            .margin(10)
            .label_font(("sans-serif", legend_font_size(series.len() + usize::from(target.is_some()))))
            .background_style(WHITE.mix(0.85))
            .border_style(BLACK.mix(0.4))
            .draw()?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn series(label: &str, points: &[(f64, f64)]) -> Series {
        Series { label: label.into(), points: points.to_vec() }
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
            let hex = format!("#{:02X}{:02X}{:02X}", colour.0, colour.1, colour.2);
            let lines = svg.lines().filter(|l| (l.contains("<polyline") || l.contains("<path")) && l.contains(&hex));
            assert!(lines.count() >= 2, "{hex}");
        }
        // No font engine: text is left to the viewer.
        assert!(count(&svg, "<text") >= 10);
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
        let far_y = [series("far", &[(1.0, f64::MAX), (2.0, -f64::MAX)])];
        assert!(matches!(accuracy_svg("t", &far_y, None), Err(PlotError::Range { axis: "y", .. })));
    }

    #[test]
    fn tick_labels_fit_the_span() {
        assert_eq!(tick(10.0, 45.0), "10");
        assert_eq!(tick(2.5, 4.5), "2.5");
        assert_eq!(tick(0.25, 0.45), "0.25");
        assert_eq!(tick(-1e-12, 45.0), "0");
        assert_eq!(tick(36000.0, 40000.0), "36000");
        assert_eq!(tick(5e300, 1e301), "5.00e300");
    }

    #[test]
    fn output_is_deterministic() {
        let a = accuracy_svg("t", &three(), Some(0.8)).unwrap();
        let b = accuracy_svg("t", &three(), Some(0.8)).unwrap();
        assert_eq!(a, b);
    }
}
