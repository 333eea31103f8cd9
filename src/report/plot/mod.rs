//! Plots as self-contained SVG: `compare`'s `accuracy.svg` and the
//! `plots/` folder of every run (see [`run`] for the list).
//!
//! Drawn with `plotters`' SVG backend and no font engine: labels are SVG
//! `<text>` elements that the viewer lays out with its own sans-serif font,
//! so rendering needs no fonts on the machine that writes the file, and no
//! file refers to anything outside itself.
//!
//! Every chart follows the same rules, so that no plot hides its data:
//! axes fit the data ([`axis`]), legends sit in a margin to the right of
//! the plot area (never over the data), and axis titles carry units.

pub mod axis;
mod bars;
mod lines;
pub mod run;
pub mod timeline;

pub use bars::{participation_svg, staleness_svg};
pub use lines::{accuracy_svg, LineChart, Series, XAxis};

use plotters::coord::Shift;
use plotters::element::DashedPathElement;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};
use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum PlotError {
    #[error("the accuracy target {0} is not a finite number")]
    Target(f64),
    #[error("the plot's {axis} axis cannot span {lo} to {hi}")]
    Range { axis: &'static str, lo: f64, hi: f64 },
    #[error("cannot draw the plot: {0}")]
    Draw(String),
    #[error("{path} line {line}: not an event ({what})")]
    Event { path: PathBuf, line: u64, what: String },
    #[error("cannot read {path}: {source}")]
    Read { path: PathBuf, source: std::io::Error },
    #[error("cannot write {path}: {source}")]
    Write { path: PathBuf, source: std::io::Error },
}

/// Width of every chart but the timeline (whose height grows with its rows).
const WIDTH: u32 = 900;
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

/// Colour of reference lines (an accuracy target).
const REFERENCE: RGBColor = RGBColor(90, 90, 90);

const FONT: &str = "sans-serif";
const TITLE_SIZE: u32 = 22;
const SUBTITLE_SIZE: u32 = 14;
const AXIS_DESC_SIZE: u32 = 16;
const LABEL_SIZE: u32 = 13;

/// What a legend entry shows beside its label.
#[derive(Debug, Clone, Copy)]
enum Swatch {
    Line(RGBColor),
    Dashed(RGBColor),
    /// A filled box: a bar's colour.
    Block(RGBColor),
}

/// One legend line.
#[derive(Debug, Clone)]
struct Entry {
    label: String,
    swatch: Swatch,
}

fn entry(label: impl Into<String>, swatch: Swatch) -> Entry {
    Entry { label: label.into(), swatch }
}

/// Legend text size: smaller for many entries, so that ~35 still fit.
fn legend_font_size(entries: usize) -> u32 {
    (300 / entries.max(1)).clamp(8, 14) as u32
}

/// Labels longer than this are cut (with an ellipsis) in legends, so a long
/// scenario name cannot push the legend off the image.
const LEGEND_CHARS: usize = 34;

/// Width of the legend margin for `entries`: enough for the longest label
/// at the usual sans-serif advance of about 0.6 em per character.
fn legend_width(entries: &[Entry]) -> u32 {
    if entries.is_empty() {
        return 20;
    }
    let size = legend_font_size(entries.len()) as f64;
    let chars = entries.iter().map(|e| e.label.chars().count().min(LEGEND_CHARS + 1)).max().unwrap_or(0);
    (40.0 + chars as f64 * size * 0.6).clamp(110.0, 300.0) as u32
}

fn shorten(label: &str) -> String {
    if label.chars().count() <= LEGEND_CHARS + 1 {
        label.to_string()
    } else {
        label.chars().take(LEGEND_CHARS).chain(['…']).collect()
    }
}

type Area<'a> = DrawingArea<SVGBackend<'a>, Shift>;
type DrawResult = Result<(), DrawingAreaErrorKind<<SVGBackend<'static> as DrawingBackend>::ErrorType>>;

fn draw_error<E: std::error::Error + Send + Sync>(e: DrawingAreaErrorKind<E>) -> PlotError {
    PlotError::Draw(e.to_string())
}

/// Draws the legend down the left edge of `area`, starting `top` pixels
/// from its top.
fn draw_legend(area: &Area<'_>, entries: &[Entry], top: i32) -> DrawResult {
    let size = legend_font_size(entries.len());
    let step = (size as i32 * 3) / 2 + 4;
    let text = (FONT, size).into_font().color(&BLACK).pos(Pos::new(HPos::Left, VPos::Center));
    for (i, e) in entries.iter().enumerate() {
        let y = top + i as i32 * step;
        let (x0, x1) = (8, 30);
        match e.swatch {
            Swatch::Line(c) => area.draw(&PathElement::new([(x0, y), (x1, y)], c.stroke_width(2)))?,
            Swatch::Dashed(c) => area.draw(&DashedPathElement::new([(x0, y), (x1, y)], 5, 3, c.stroke_width(1)))?,
            Swatch::Block(c) => area.draw(&Rectangle::new([(x0 + 3, y - 6), (x1 - 3, y + 6)], c.filled()))?,
        }
        area.draw(&Text::new(shorten(&e.label), (x1 + 8, y), text.clone()))?;
    }
    Ok(())
}

/// Splits `root` into the title strip (title and an optional second line),
/// the chart area and the legend margin on the right, and draws the title
/// and the legend.
fn frame<'a>(
    root: &Area<'a>,
    title: &str,
    subtitle: Option<&str>,
    legend: &[Entry],
) -> Result<Area<'a>, DrawingAreaErrorKind<<SVGBackend<'static> as DrawingBackend>::ErrorType>> {
    root.fill(&WHITE)?;
    let (w, _) = root.dim_in_pixel();
    let head = if subtitle.is_some() { 58 } else { 38 };
    let (top, body) = root.split_vertically(head);
    let centre = Pos::new(HPos::Center, VPos::Center);
    top.draw(&Text::new(
        title.to_string(),
        (w as i32 / 2, 18),
        (FONT, TITLE_SIZE).into_font().color(&BLACK).pos(centre),
    ))?;
    if let Some(s) = subtitle {
        let style = (FONT, SUBTITLE_SIZE).into_font().color(&RGBColor(70, 70, 70)).pos(centre);
        top.draw(&Text::new(s.to_string(), (w as i32 / 2, 44), style))?;
    }
    let (chart, side) = body.split_horizontally(w.saturating_sub(legend_width(legend)));
    draw_legend(&side, legend, 20)?;
    Ok(chart)
}

/// A chart that only says something: a title and lines of text where the
/// plot would be (a staleness histogram of a run without stale updates).
pub fn message_svg(title: &str, lines: &[&str]) -> Result<String, PlotError> {
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (WIDTH, HEIGHT / 2)).into_drawing_area();
        let area = frame(&root, title, None, &[]).map_err(draw_error)?;
        let (w, h) = area.dim_in_pixel();
        let style = (FONT, 16).into_font().color(&RGBColor(60, 60, 60)).pos(Pos::new(HPos::Center, VPos::Center));
        let first = h as i32 / 2 - (lines.len() as i32 - 1) * 12;
        for (i, l) in lines.iter().enumerate() {
            area.draw(&Text::new(l.to_string(), (w as i32 / 2, first + i as i32 * 24), style.clone()))
                .map_err(draw_error)?;
        }
        root.present().map_err(draw_error)?;
    }
    Ok(svg)
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

/// A log axis' tick label: 1, 2 and 5 times a power of ten get one, other
/// ticks (gridlines only) none, so labels never crowd.
fn log_tick(x: f64) -> String {
    if !(x.is_finite() && x > 0.0) {
        return String::new();
    }
    let exp = x.log10().floor();
    let mantissa = x / 10f64.powf(exp);
    if ![1.0, 2.0, 5.0].iter().any(|m| (mantissa - m).abs() < 1e-6) {
        return String::new();
    }
    if (1e-3..1e7).contains(&x) {
        let decimals = (-exp).clamp(0.0, 5.0) as usize;
        format!("{x:.decimals$}")
    } else {
        format!("{x:.0e}")
    }
}

/// Bytes in the decimal unit that keeps the largest value readable:
/// (divisor, unit name).
pub fn byte_unit(max: f64) -> (f64, &'static str) {
    [(1e12, "TB"), (1e9, "GB"), (1e6, "MB"), (1e3, "kB")].into_iter().find(|(d, _)| max >= *d).unwrap_or((1.0, "B"))
}

#[cfg(test)]
mod tests {
    use super::*;

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
    fn log_ticks_label_one_two_five_only() {
        assert_eq!(log_tick(1.0), "1");
        assert_eq!(log_tick(20.0), "20");
        assert_eq!(log_tick(500.0), "500");
        assert_eq!(log_tick(0.05), "0.05");
        assert_eq!(log_tick(3.0), "");
        assert_eq!(log_tick(0.0), "");
    }

    #[test]
    fn bytes_take_a_readable_unit() {
        assert_eq!(byte_unit(999.0), (1.0, "B"));
        assert_eq!(byte_unit(2_600.0).1, "kB");
        assert_eq!(byte_unit(2.8e6).1, "MB");
    }

    #[test]
    fn long_legend_labels_are_cut() {
        let long = "x".repeat(80);
        assert_eq!(shorten(&long).chars().count(), LEGEND_CHARS + 1);
        assert_eq!(shorten("fedavg"), "fedavg");
        assert!(legend_width(&[entry(long, Swatch::Line(BLACK))]) <= 300);
    }

    #[test]
    fn a_message_chart_holds_its_text() {
        let svg = message_svg("staleness", &["no stale updates"]).unwrap();
        assert!(svg.starts_with("<svg") && svg.contains("no stale updates"));
    }
}
