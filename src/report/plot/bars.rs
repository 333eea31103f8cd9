//! Bar charts: participation per metrics row and the staleness histogram.

use super::axis::{self, Bounds};
use super::{
    draw_error, entry, frame, message_svg, tick, Entry, PlotError, Swatch, AXIS_DESC_SIZE, FONT, HEIGHT, LABEL_SIZE,
    WIDTH,
};
use crate::metrics::MetricsRow;
use plotters::prelude::*;
use std::collections::BTreeMap;

/// At most this many groups of bars: more rows are summed in bins of
/// consecutive rows, so bars stay at least a few pixels wide.
pub const MAX_BARS: usize = 60;

const SELECTED: RGBColor = RGBColor(120, 144, 176);
const COMPLETED: RGBColor = RGBColor(44, 160, 44);
const DROPPED: RGBColor = RGBColor(214, 39, 40);
const LATE: RGBColor = RGBColor(148, 103, 189);
const STALE: RGBColor = RGBColor(140, 86, 75);
const HISTOGRAM: RGBColor = RGBColor(31, 119, 180);

/// One bar group's counts.
#[derive(Debug, Clone, Default, PartialEq)]
struct Counts {
    selected: u64,
    completed: u64,
    dropped: u64,
    late: u64,
    stale: u64,
    /// The model version of the bin's last row.
    round: u64,
    /// Rows summed.
    rows: u64,
}

impl Counts {
    /// The bar heights: the counts, or with several rows summed their mean
    /// per evaluation (so that a last, shorter bin compares with the rest).
    fn heights(&self, binned: bool) -> [f64; 5] {
        let per = if binned { self.rows.max(1) as f64 } else { 1.0 };
        [self.selected, self.completed, self.dropped, self.late, self.stale].map(|c| c as f64 / per)
    }
}

/// The rows after the initial model's, summed in bins of `bin` rows.
fn binned(rows: &[MetricsRow]) -> (Vec<Counts>, usize) {
    let rows = rows.get(1..).unwrap_or_default();
    let bin = rows.len().div_ceil(MAX_BARS).max(1);
    let bins = rows
        .chunks(bin)
        .map(|chunk| {
            chunk.iter().fold(Counts::default(), |c, r| Counts {
                selected: c.selected + r.clients_selected,
                completed: c.completed + r.clients_completed,
                dropped: c.dropped + r.clients_dropped,
                late: c.late + r.clients_late,
                stale: c.stale + r.updates_stale,
                round: r.round,
                rows: c.rows + 1,
            })
        })
        .collect();
    (bins, bin)
}

/// `participation.svg`: for each metrics row after the initial model's,
/// the tasks selected (dispatched) since the previous row, and beside it
/// what came of tasks in that time, stacked: completed (folded into the
/// model), dropped, late (cancelled at a round's close) and, for async
/// strategies, discarded as too stale. More than `MAX_BARS` (60) rows are
/// grouped in bins of consecutive rows, each bar then the mean per
/// evaluation over its bin, as the axes' titles say.
pub fn participation_svg(title: &str, rows: &[MetricsRow]) -> Result<String, PlotError> {
    let (bins, bin) = binned(rows);
    if bins.is_empty() {
        return message_svg(title, &["no evaluation after the initial model: no task to count"]);
    }
    let any_stale = bins.iter().any(|b| b.stale > 0);
    let mut legend: Vec<Entry> = vec![
        entry("selected", Swatch::Block(SELECTED)),
        entry("completed", Swatch::Block(COMPLETED)),
        entry("dropped", Swatch::Block(DROPPED)),
        entry("late", Swatch::Block(LATE)),
    ];
    if any_stale {
        legend.push(entry("stale (discarded)", Swatch::Block(STALE)));
    }
    let grouped = bin > 1;
    let top = bins
        .iter()
        .map(|b| {
            let h = b.heights(grouped);
            h[0].max(h[1..].iter().sum())
        })
        .fold(0.0, f64::max);
    let (_, y_hi) = axis::fit("y", [0.0, top].into_iter(), Bounds::NON_NEGATIVE)?;
    let (x_desc, y_desc) = if grouped {
        (
            format!("model version (round); each bar: {bin} evaluations, labelled by the last"),
            "tasks per evaluation (mean over the bar)",
        )
    } else {
        ("model version (round) of the evaluation".to_string(), "tasks since the previous evaluation")
    };
    let n = bins.len();
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (WIDTH, HEIGHT)).into_drawing_area();
        let area = frame(&root, title, None, &legend).map_err(draw_error)?;
        let mut chart = ChartBuilder::on(&area)
            .margin(12)
            .x_label_area_size(48)
            .y_label_area_size(72)
            .build_cartesian_2d(-0.6..(n as f64 - 0.4), 0.0..y_hi)
            .map_err(draw_error)?;
        let label = |x: &f64| {
            let i = x.round();
            if (x - i).abs() > 1e-6 || i < 0.0 {
                return String::new();
            }
            bins.get(i as usize).map_or(String::new(), |b| b.round.to_string())
        };
        chart
            .configure_mesh()
            .disable_x_mesh()
            .x_desc(x_desc)
            .y_desc(y_desc)
            .axis_desc_style((FONT, AXIS_DESC_SIZE))
            .label_style((FONT, LABEL_SIZE))
            .light_line_style(WHITE.mix(0.0))
            .bold_line_style(BLACK.mix(0.1))
            .x_labels(n.min(12))
            .x_label_formatter(&label)
            .y_labels(8)
            .y_label_formatter(&|y| tick(*y, y_hi))
            .draw()
            .map_err(draw_error)?;
        let mut bars: Vec<Rectangle<(f64, f64)>> = Vec::new();
        for (i, b) in bins.iter().enumerate() {
            let x = i as f64;
            let [selected, completed, dropped, late, stale] = b.heights(grouped);
            if selected > 0.0 {
                bars.push(Rectangle::new([(x - 0.4, 0.0), (x - 0.02, selected)], SELECTED.filled()));
            }
            let mut base = 0.0;
            for (count, colour) in [(completed, COMPLETED), (dropped, DROPPED), (late, LATE), (stale, STALE)] {
                if count > 0.0 {
                    let top = base + count;
                    bars.push(Rectangle::new([(x + 0.02, base), (x + 0.4, top)], colour.filled()));
                    base = top;
                }
            }
        }
        chart.draw_series(bars).map_err(draw_error)?;
        root.present().map_err(draw_error)?;
    }
    Ok(svg)
}

/// At most this many histogram bars: wider staleness ranges are binned.
const MAX_HISTOGRAM_BARS: u64 = 80;

/// `staleness.svg`: how many folded updates had each staleness (model
/// versions between the one a client trained on and the one its update was
/// folded into). A run without any stale update (every synchronous run)
/// gets a chart that says so; `discarded` (updates thrown away as too
/// stale) is stated in the subtitle.
pub fn staleness_svg(title: &str, histogram: &BTreeMap<u64, u64>, discarded: u64) -> Result<String, PlotError> {
    let folded: u64 = histogram.values().sum();
    let max = histogram.iter().filter(|(_, c)| **c > 0).map(|(s, _)| *s).max().unwrap_or(0);
    if max == 0 {
        let what = if folded == 0 {
            "no stale updates: no update was folded".to_string()
        } else {
            format!("no stale updates: all {folded} folded updates were trained on the model they were folded into")
        };
        return message_svg(title, &[&what]);
    }
    let width = (max + 1).div_ceil(MAX_HISTOGRAM_BARS);
    let mut bins: BTreeMap<u64, u64> = BTreeMap::new();
    for (s, c) in histogram {
        *bins.entry(s / width).or_default() += c;
    }
    let top = bins.values().copied().max().unwrap_or(0);
    let (_, y_hi) = axis::fit("y", [0.0, top as f64].into_iter(), Bounds::NON_NEGATIVE)?;
    let mean = histogram.iter().map(|(s, c)| (s * c) as f64).sum::<f64>() / folded as f64;
    let subtitle = format!("{folded} updates folded, mean staleness {mean:.2}; {discarded} discarded as too stale");
    let x_desc = if width == 1 {
        "staleness (model versions behind)".to_string()
    } else {
        format!("staleness (model versions behind; bars of {width})")
    };
    let x_hi = (max + 1).div_ceil(width) * width;
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (WIDTH, HEIGHT)).into_drawing_area();
        let area = frame(&root, title, Some(&subtitle), &[]).map_err(draw_error)?;
        let mut chart = ChartBuilder::on(&area)
            .margin(12)
            .x_label_area_size(48)
            .y_label_area_size(72)
            .build_cartesian_2d(-0.5..(x_hi as f64 - 0.5), 0.0..y_hi)
            .map_err(draw_error)?;
        chart
            .configure_mesh()
            .disable_x_mesh()
            .x_desc(x_desc)
            .y_desc("updates folded")
            .axis_desc_style((FONT, AXIS_DESC_SIZE))
            .label_style((FONT, LABEL_SIZE))
            .light_line_style(WHITE.mix(0.0))
            .bold_line_style(BLACK.mix(0.1))
            .x_labels(12)
            .x_label_formatter(&|x| if x.fract() == 0.0 { tick(*x, x_hi as f64) } else { String::new() })
            .y_labels(8)
            .y_label_formatter(&|y| tick(*y, y_hi))
            .draw()
            .map_err(draw_error)?;
        let gap = 0.1 * width as f64;
        chart
            .draw_series(bins.iter().map(|(b, c)| {
                let x0 = (b * width) as f64 - 0.5;
                Rectangle::new([(x0 + gap, 0.0), (x0 + width as f64 - gap, *c as f64)], HISTOGRAM.filled())
            }))
            .map_err(draw_error)?;
        root.present().map_err(draw_error)?;
    }
    Ok(svg)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sim::VirtualTime;

    fn row(round: u64, selected: u64, completed: u64, dropped: u64, late: u64) -> MetricsRow {
        MetricsRow {
            round,
            virtual_time: VirtualTime::from_nanos(round * 1_000_000_000),
            accuracy: 0.5,
            loss: 1.0,
            macro_f1: 0.5,
            clients_selected: selected,
            clients_completed: completed,
            clients_dropped: dropped,
            clients_late: late,
            updates_stale: 0,
            bytes_up: 0,
            bytes_down: 0,
            mean_staleness: None,
            max_staleness: None,
            epsilon: None,
        }
    }

    fn fills(svg: &str, c: RGBColor) -> usize {
        svg.matches(&format!("fill=\"#{:02X}{:02X}{:02X}\"", c.0, c.1, c.2)).count()
    }

    #[test]
    fn one_bar_per_nonzero_count_plus_the_legend() {
        let rows = vec![row(0, 0, 0, 0, 0), row(1, 10, 8, 1, 1), row(2, 10, 10, 0, 0), row(3, 10, 7, 3, 0)];
        let svg = participation_svg("p", &rows).unwrap();
        assert_eq!(fills(&svg, SELECTED), 3 + 1);
        assert_eq!(fills(&svg, COMPLETED), 3 + 1);
        assert_eq!(fills(&svg, DROPPED), 2 + 1);
        assert_eq!(fills(&svg, LATE), 1 + 1);
        assert_eq!(fills(&svg, STALE), 0);
    }

    #[test]
    fn many_rows_are_binned() {
        let rows: Vec<MetricsRow> = (0..=1000).map(|r| row(r, 1, 1, 0, 0)).collect();
        let (bins, bin) = binned(&rows);
        assert_eq!(bin, 17);
        assert!(bins.len() <= MAX_BARS);
        assert_eq!(bins.iter().map(|b| b.selected).sum::<u64>(), 1000);
        assert_eq!(bins.last().unwrap().round, 1000);
        assert_eq!(bins.last().unwrap().rows, 1000 - 58 * 17);
        assert_eq!(bins.last().unwrap().heights(true)[0], 1.0);
        assert!(participation_svg("p", &rows).unwrap().contains("each bar: 17 evaluations"));
    }

    #[test]
    fn staleness_histogram_bars_or_a_message() {
        let sync: BTreeMap<u64, u64> = [(0, 70)].into();
        assert!(staleness_svg("s", &sync, 0).unwrap().contains("no stale updates"));
        assert!(staleness_svg("s", &BTreeMap::new(), 0).unwrap().contains("no stale updates"));
        let hist: BTreeMap<u64, u64> = [(0, 5), (1, 9), (3, 2)].into();
        let svg = staleness_svg("s", &hist, 4).unwrap();
        assert_eq!(fills(&svg, HISTOGRAM), 3);
        assert!(svg.contains("16 updates folded") && svg.contains("4 discarded"));
        let wide: BTreeMap<u64, u64> = (0..1000).map(|s| (s, 1)).collect();
        let svg = staleness_svg("s", &wide, 0).unwrap();
        assert!(fills(&svg, HISTOGRAM) <= MAX_HISTOGRAM_BARS as usize);
    }
}
