//! `timeline.svg`: a Gantt chart of what clients did over virtual time:
//! one row per client, a bar per task phase (download, compute, upload),
//! idle time between tasks, a mark where a task ended dropped or late, and
//! a vertical line at each of the server's aggregations.
//!
//! Built from the run's `events.jsonl` after the run (so a resumed run
//! draws the same chart as an uninterrupted one), in one streaming pass
//! that keeps the tasks of the drawn clients only:
//! - a federation of at most [`MAX_ROWS`] clients is drawn whole;
//! - a larger one shows a seeded sample of [`MAX_ROWS`] of the clients
//!   that were given a task: those with the smallest hash of (seed, id), a
//!   "bottom-k" sample that needs no look-ahead and is the same whatever the
//!   order of events;
//! - at most [`MAX_TASKS`] tasks are kept: past that the chart covers the
//!   run up to the dispatch that would exceed it, and says so.
//!
//! Phases: download from `dispatch` to `download_done`, compute to
//! `compute_done`, upload to the task's end: its `report`, `drop` or
//! `late`, or with secure aggregation the client's last protocol message.
//! A task still running when the chart ends is drawn up to the end.
//!
//! Aggregations are ticks in a "server" row above the clients, and also
//! lines across every row while there are at most [`MAX_LINES`] of them
//! (more would grey out the chart: an async run aggregates at every
//! report).

use super::{draw_error, entry, frame, tick, Entry, PlotError, Swatch, AXIS_DESC_SIZE, FONT, LABEL_SIZE, WIDTH};
use crate::sim::SeedTree;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};
use std::collections::{BTreeMap, BinaryHeap};
use std::io::BufRead;
use std::path::Path;

/// Rows drawn at most.
pub const MAX_ROWS: usize = 40;

/// Tasks of the drawn clients kept at most (bars stay a few pixels wide,
/// the file stays under about a megabyte).
pub const MAX_TASKS: usize = 2000;

/// Aggregations drawn across the rows at most (else in the server row only).
pub const MAX_LINES: usize = 120;

pub const DOWNLOAD: RGBColor = RGBColor(31, 119, 180);
pub const COMPUTE: RGBColor = RGBColor(255, 127, 14);
pub const UPLOAD: RGBColor = RGBColor(44, 160, 44);
pub const IDLE: RGBColor = RGBColor(228, 228, 228);
pub const DROPPED: RGBColor = RGBColor(214, 39, 40);
pub const LATE: RGBColor = RGBColor(148, 103, 189);
const AGGREGATION: RGBColor = RGBColor(40, 40, 40);

/// The stream that ranks clients for the sample: a client's rank is
/// `sample_seeds(seed).index(client).seed()`, and the drawn clients are
/// those given a task with the smallest ranks. `report.html`'s timeline
/// ranks with the same stream, so its larger sample holds this chart's.
pub fn sample_seeds(seed: u64) -> SeedTree {
    SeedTree::new(seed).child("report.timeline")
}

/// How a task ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Reported,
    Dropped,
    Late,
    /// Still running when the chart ends (or ended without a word, as a
    /// secure aggregation task after its last message).
    Open,
}

/// One task of a drawn client, in virtual seconds.
#[derive(Debug, Clone, PartialEq)]
pub struct Task {
    pub dispatch: f64,
    pub downloaded: Option<f64>,
    pub computed: Option<f64>,
    /// None while the task runs.
    pub end: Option<f64>,
    pub outcome: Outcome,
    /// The client's last protocol message (secure aggregation).
    secure_last: Option<f64>,
}

impl Task {
    /// (phase colour, start, end) of each phase, cut at `end`.
    pub fn phases(&self, end: f64) -> Vec<(RGBColor, f64, f64)> {
        let stop = self.end.unwrap_or(end).min(end);
        let mut v = vec![(DOWNLOAD, self.dispatch, self.downloaded.unwrap_or(stop).min(stop))];
        if let Some(d) = self.downloaded.filter(|d| *d <= stop) {
            v.push((COMPUTE, d, self.computed.unwrap_or(stop).min(stop)));
        }
        if let Some(c) = self.computed.filter(|c| *c <= stop) {
            v.push((UPLOAD, c, stop));
        }
        v
    }
}

/// Event kinds the chart reads, as `events.jsonl` spells them
/// (`crate::sim::EventKind::name`).
mod kind {
    pub const DISPATCH: &str = "dispatch";
    pub const DOWNLOAD_DONE: &str = "download_done";
    pub const COMPUTE_DONE: &str = "compute_done";
    pub const REPORT: &str = "report";
    pub const DROP: &str = "drop";
    pub const LATE: &str = "late";
    pub const AGGREGATE: &str = "aggregate";
    /// Secure aggregation's messages (server to client and back).
    pub const SECURE: [&str; 7] =
        ["advertise_keys", "key_list", "share_keys", "shares", "masked_input", "survivors", "unmask_shares"];
}

/// The drawn clients' tasks and the server's aggregations, gathered from
/// the events.
#[derive(Debug, Clone)]
pub struct Timeline {
    /// Registered clients.
    clients: usize,
    /// Drawn clients (by id) and their tasks in order.
    rows: BTreeMap<u32, Vec<Task>>,
    /// Sampling a large federation: (hash, client) of the drawn clients,
    /// largest hash on top. Unused when every client is drawn.
    sample: BinaryHeap<(u64, u32)>,
    sampled: bool,
    seeds: SeedTree,
    tasks: usize,
    /// Where recording stopped, once [`MAX_TASKS`] was reached.
    cutoff: Option<f64>,
    /// The latest event's time.
    end: f64,
    /// Aggregation times up to the chart's end.
    aggregations: Vec<f64>,
    /// Aggregations in the whole run.
    aggregated: u64,
}

impl Timeline {
    /// An empty timeline for a federation of `clients`, sampled (if it is
    /// larger than [`MAX_ROWS`]) with the run's `seed`.
    pub fn new(clients: usize, seed: u64) -> Self {
        let sampled = clients > MAX_ROWS;
        let rows = if sampled { BTreeMap::new() } else { (0..clients as u32).map(|c| (c, Vec::new())).collect() };
        Timeline {
            clients,
            rows,
            sample: BinaryHeap::new(),
            sampled,
            seeds: sample_seeds(seed),
            tasks: 0,
            cutoff: None,
            end: 0.0,
            aggregations: Vec::new(),
            aggregated: 0,
        }
    }

    /// Reads `events.jsonl` line by line.
    pub fn read(path: &Path, clients: usize, seed: u64) -> Result<Self, PlotError> {
        #[derive(serde::Deserialize)]
        struct Line<'a> {
            t: f64,
            kind: &'a str,
            client: Option<u32>,
        }
        let read_err = |source| PlotError::Read { path: path.to_owned(), source };
        let file = std::fs::File::open(path).map_err(read_err)?;
        let mut reader = std::io::BufReader::with_capacity(1 << 16, file);
        let mut timeline = Timeline::new(clients, seed);
        let mut buf = String::new();
        let mut n = 0;
        loop {
            buf.clear();
            if reader.read_line(&mut buf).map_err(read_err)? == 0 {
                break;
            }
            n += 1;
            let text = buf.trim_end();
            // fedsim's own lines are read by hand (a long async run logs
            // millions); anything else goes through serde_json.
            let line = match fast_line(text) {
                Some((t, kind, client)) => Line { t, kind, client },
                None => serde_json::from_str(text).map_err(|e| PlotError::Event {
                    path: path.to_owned(),
                    line: n,
                    what: e.to_string(),
                })?,
            };
            timeline.record(line.t, line.kind, line.client);
        }
        Ok(timeline.finish())
    }

    /// Whether `client` is drawn, admitting it to the sample if its hash
    /// is among the smallest so far. Only called at a dispatch: a client
    /// turned away once is turned away for good (the admission threshold
    /// only falls), so every drawn client is admitted at its first task and
    /// its history is whole.
    fn admit(&mut self, client: u32) -> bool {
        if !self.sampled {
            return self.rows.contains_key(&client);
        }
        if self.rows.contains_key(&client) {
            return true;
        }
        let hash = self.seeds.index(client as u64).seed();
        if self.sample.len() == MAX_ROWS {
            match self.sample.peek() {
                Some(&(top, evicted)) if hash < top => {
                    self.sample.pop();
                    self.tasks -= self.rows.remove(&evicted).map_or(0, |t| t.len());
                }
                _ => return false,
            }
        }
        self.sample.push((hash, client));
        self.rows.insert(client, Vec::new());
        true
    }

    /// Takes in one event.
    pub fn record(&mut self, t: f64, kind: &str, client: Option<u32>) {
        self.end = self.end.max(t);
        if client.is_none() && kind == kind::AGGREGATE {
            self.aggregated += 1;
        }
        if self.cutoff.is_some() {
            return;
        }
        let Some(c) = client else {
            if kind == kind::AGGREGATE {
                self.aggregations.push(t);
            }
            return;
        };
        if kind == kind::DISPATCH {
            if !self.admit(c) {
                return;
            }
            if self.tasks >= MAX_TASKS {
                self.cutoff = Some(t);
                return;
            }
            let tasks = self.rows.entry(c).or_default();
            if let Some(open) = tasks.last_mut().filter(|k| k.end.is_none()) {
                // A new task ends one the log never closed.
                open.end = Some(open.secure_last.unwrap_or(t));
            }
            tasks.push(Task {
                dispatch: t,
                downloaded: None,
                computed: None,
                end: None,
                outcome: Outcome::Open,
                secure_last: None,
            });
            self.tasks += 1;
            return;
        }
        let Some(task) = self.rows.get_mut(&c).and_then(|v| v.last_mut()).filter(|k| k.end.is_none()) else {
            return;
        };
        match kind {
            kind::DOWNLOAD_DONE => task.downloaded = Some(t),
            kind::COMPUTE_DONE => task.computed = Some(t),
            kind::REPORT => (task.end, task.outcome) = (Some(t), Outcome::Reported),
            kind::DROP => (task.end, task.outcome) = (Some(t), Outcome::Dropped),
            kind::LATE => (task.end, task.outcome) = (Some(t), Outcome::Late),
            k if kind::SECURE.contains(&k) => task.secure_last = Some(t),
            _ => {}
        }
    }

    /// Ends what the log left open: a secure aggregation task at the
    /// client's last message, anything else at the chart's end.
    pub fn finish(mut self) -> Self {
        for tasks in self.rows.values_mut() {
            if let Some(open) = tasks.last_mut().filter(|k| k.end.is_none()) {
                open.end = open.secure_last;
            }
        }
        self
    }

    /// The drawn clients and their tasks, by id.
    pub fn rows(&self) -> &BTreeMap<u32, Vec<Task>> {
        &self.rows
    }

    /// Where the chart ends: the run's last event, or where recording
    /// stopped.
    pub fn window(&self) -> f64 {
        self.cutoff.unwrap_or(self.end)
    }

    /// The sentence under the title: which clients and what time are shown.
    pub fn note(&self) -> String {
        let shown = self.rows.len();
        let mut s = if !self.sampled {
            format!("{shown} of {} clients shown", self.clients)
        } else if shown < MAX_ROWS {
            format!("{shown} of {} clients shown: every client given a task", self.clients)
        } else {
            format!("{shown} of {} clients shown: a seeded sample of those given a task", self.clients)
        };
        if let Some(c) = self.cutoff {
            s += &format!("; their first {MAX_TASKS} tasks, up to {c:.1} s of {:.1} s", self.end);
        }
        let n = self.aggregated;
        s += &format!("; {n} aggregation{} in the run", if n == 1 { "" } else { "s" });
        s
    }

    /// Whether any drawn task took part in secure aggregation (its upload
    /// bar then spans the protocol's messages).
    fn secure(&self) -> bool {
        self.rows.values().flatten().any(|t| t.secure_last.is_some())
    }

    /// The chart as SVG text.
    pub fn svg(&self, title: &str) -> Result<String, PlotError> {
        let window = self.window();
        let window = if window > 0.0 && window.is_finite() { window } else { 1.0 };
        // The clients and the server's row above them.
        let n = self.rows.len() + 1;
        let row_px = 16;
        let height = 150 + n as u32 * row_px;
        let upload = if self.secure() { "upload + secure agg." } else { "upload" };
        let legend: Vec<Entry> = vec![
            entry("download", Swatch::Block(DOWNLOAD)),
            entry("compute", Swatch::Block(COMPUTE)),
            entry(upload, Swatch::Block(UPLOAD)),
            entry("idle", Swatch::Block(IDLE)),
            entry("dropped", Swatch::Block(DROPPED)),
            entry("late", Swatch::Block(LATE)),
            entry("aggregation", Swatch::Line(AGGREGATION)),
        ];
        let mut svg = String::new();
        {
            let root = SVGBackend::with_string(&mut svg, (WIDTH + 100, height)).into_drawing_area();
            let area = frame(&root, title, Some(&self.note()), &legend).map_err(draw_error)?;
            let mut chart = ChartBuilder::on(&area)
                .margin(12)
                .x_label_area_size(48)
                .y_label_area_size(70)
                .build_cartesian_2d(0.0..window, 0.0..n as f64)
                .map_err(draw_error)?;
            chart
                .configure_mesh()
                .disable_y_mesh()
                .x_desc("virtual time (s)")
                .y_desc("client id")
                .axis_desc_style((FONT, AXIS_DESC_SIZE))
                .label_style((FONT, LABEL_SIZE))
                .light_line_style(WHITE.mix(0.0))
                .bold_line_style(BLACK.mix(0.1))
                .x_labels(10)
                .x_label_formatter(&|x| tick(*x, window))
                .y_labels(0)
                .draw()
                .map_err(draw_error)?;
            self.draw_rows(&root, &chart.plotting_area().get_pixel_range(), window).map_err(draw_error)?;
            root.present().map_err(draw_error)?;
        }
        Ok(svg)
    }

    /// Bars, marks and lines in pixels (each bar at least one pixel wide,
    /// so that no phase vanishes however short), on the plot area `px`:
    /// the server's row first, then the clients by id.
    fn draw_rows(
        &self,
        root: &super::Area<'_>,
        (xs, ys): &(std::ops::Range<i32>, std::ops::Range<i32>),
        window: f64,
    ) -> super::DrawResult {
        let width = (xs.end - xs.start) as f64;
        let x_px = |t: f64| xs.start + ((t / window).clamp(0.0, 1.0) * width).round() as i32;
        let rows = self.rows.len() as i32 + 1;
        // Rows share the height exactly (no band left over at the bottom).
        let row_top = |i: i32| ys.start + ((ys.end - ys.start) as i64 * i as i64 / rows as i64) as i32;
        let bar = |colour: RGBColor, a: f64, b: f64, top: i32, h: i32| {
            let (x0, x1) = (x_px(a), x_px(b));
            Rectangle::new([(x0, top), (x1.max(x0 + 1), top + h)], colour.filled())
        };
        let label = (FONT, LABEL_SIZE).into_font().color(&BLACK).pos(Pos::new(HPos::Right, VPos::Center));
        let (top0, top1) = (row_top(0), row_top(1));
        root.draw(&Text::new("server", (xs.start - 8, (top0 + top1) / 2), label.clone()))?;
        for (i, (client, tasks)) in self.rows.iter().enumerate() {
            let (top, bottom) = (row_top(i as i32 + 1), row_top(i as i32 + 2));
            let (h, centre) = (bottom - top, (top + bottom) / 2);
            root.draw(&Text::new(format!("{client}"), (xs.start - 8, centre), label.clone()))?;
            // Idle: every gap between tasks, from 0 to the chart's end.
            let mut free = 0.0;
            for task in tasks.iter().chain([&Task::idle_until(window)]) {
                if task.dispatch > free {
                    root.draw(&bar(IDLE, free, task.dispatch, centre - h / 4, h / 2))?;
                }
                free = free.max(task.end.unwrap_or(window).min(window));
            }
        }
        // Aggregations, one per pixel column at most: ticks in the server's
        // row, and lines behind the tasks while they are few enough.
        let mut columns: Vec<i32> = self.aggregations.iter().filter(|t| **t <= window).map(|t| x_px(*t)).collect();
        columns.dedup();
        let across = columns.len() <= MAX_LINES;
        for &x in &columns {
            let stroke = AGGREGATION.stroke_width(1);
            root.draw(&PathElement::new([(x, top0 + 2), (x, top1 - 2)], stroke))?;
            if across {
                root.draw(&PathElement::new([(x, top1), (x, ys.end)], AGGREGATION.mix(0.4).stroke_width(1)))?;
            }
        }
        for (i, tasks) in self.rows.values().enumerate() {
            let (top, bottom) = (row_top(i as i32 + 1), row_top(i as i32 + 2));
            let h = bottom - top;
            for task in tasks {
                for (colour, a, b) in task.phases(window) {
                    root.draw(&bar(colour, a, b, top + h / 5, h - 2 * (h / 5)))?;
                }
                let mark = match task.outcome {
                    Outcome::Dropped => DROPPED,
                    Outcome::Late => LATE,
                    _ => continue,
                };
                let x = x_px(task.end.unwrap_or(window));
                root.draw(&Rectangle::new([(x - 2, top + 1), (x + 2, bottom - 1)], mark.filled()))?;
            }
        }
        Ok(())
    }
}

impl Task {
    /// A sentinel task at `t`: closes the last idle gap of a row.
    fn idle_until(t: f64) -> Task {
        Task { dispatch: t, downloaded: None, computed: None, end: Some(t), outcome: Outcome::Open, secure_last: None }
    }
}

/// The `t`, `kind` and `client` of a line as `sim::log` writes it
/// (`{"t":1.500000000,"kind":"report","client":3,...`), or `None` for any
/// other shape.
fn fast_line(line: &str) -> Option<(f64, &str, Option<u32>)> {
    let rest = line.strip_prefix("{\"t\":")?;
    let (t, rest) = rest.split_once(",\"kind\":\"")?;
    let (kind, rest) = rest.split_once("\",\"client\":")?;
    let client = rest.split([',', '}']).next()?;
    let client = match client {
        "null" => None,
        n => Some(n.parse().ok()?),
    };
    let t: f64 = t.parse().ok()?;
    (t.is_finite() && !kind.contains(['"', '\\'])).then_some((t, kind, client))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sim::EventKind;

    proptest::proptest! {
        /// The hand reader says what serde_json says of every line the log writes.
        #[test]
        fn the_fast_reader_agrees_with_serde(ns in 0u64..u64::MAX / 2, client in proptest::option::of(proptest::prelude::any::<u32>()), round in 0u64..1_000_000, bytes in 0u64..1 << 40) {
            for kind in [EventKind::Dispatch, EventKind::Report, EventKind::Aggregate, EventKind::Model] {
                let mut line = Vec::new();
                crate::sim::Event::new(crate::sim::VirtualTime::from_nanos(ns), kind, client, round)
                    .bytes(bytes)
                    .push_json(&mut line);
                let text = std::str::from_utf8(&line).unwrap().trim_end();
                let v: serde_json::Value = serde_json::from_str(text).unwrap();
                let (t, k, c) = fast_line(text).expect("a log line reads by hand");
                proptest::prop_assert_eq!(t, v["t"].as_f64().unwrap());
                proptest::prop_assert_eq!(k, v["kind"].as_str().unwrap());
                proptest::prop_assert_eq!(c, v["client"].as_u64().map(|c| c as u32));
            }
        }
    }

    #[test]
    fn other_shapes_fall_back_to_serde() {
        assert_eq!(fast_line(r#"{"kind":"report","t":1.0,"client":2}"#), None);
        assert_eq!(fast_line(r#"{"t":1.0,"kind":"report","client":"x"}"#), None);
        assert_eq!(fast_line(r#"{"t":1.5,"kind":"report","client":null,"round":0}"#), Some((1.5, "report", None)));
    }

    #[test]
    fn event_names_are_the_logs() {
        assert_eq!(kind::DISPATCH, EventKind::Dispatch.name());
        assert_eq!(kind::DOWNLOAD_DONE, EventKind::DownloadDone.name());
        assert_eq!(kind::COMPUTE_DONE, EventKind::ComputeDone.name());
        assert_eq!(kind::REPORT, EventKind::Report.name());
        assert_eq!(kind::DROP, EventKind::Drop.name());
        assert_eq!(kind::LATE, EventKind::Late.name());
        assert_eq!(kind::AGGREGATE, EventKind::Aggregate.name());
        use crate::sim::SecAggPhase::*;
        for p in [AdvertiseKeys, KeyList, ShareKeys, Shares, MaskedInput, Survivors, UnmaskShares] {
            assert!(kind::SECURE.contains(&EventKind::SecAgg(p).name()));
        }
    }

    fn one_task(tl: &mut Timeline, c: u32, t: f64, last: &str) {
        tl.record(t, "dispatch", Some(c));
        tl.record(t + 1.0, "download_done", Some(c));
        tl.record(t + 2.0, "compute_done", Some(c));
        tl.record(t + 2.5, last, Some(c));
    }

    #[test]
    fn phases_follow_the_events_and_stop_at_the_tasks_end() {
        let mut tl = Timeline::new(3, 1);
        one_task(&mut tl, 0, 0.0, "report");
        tl.record(3.0, "aggregate", None);
        tl.record(3.0, "dispatch", Some(1));
        tl.record(3.5, "drop", Some(1));
        tl.record(4.0, "dispatch", Some(2));
        tl.record(4.2, "download_done", Some(2));
        tl.record(6.0, "late", Some(2));
        tl.record(7.0, "dispatch", Some(0));
        tl.record(8.0, "evaluate", None);
        let tl = tl.finish();
        let r = tl.rows();
        assert_eq!(r[&0][0].phases(8.0), vec![(DOWNLOAD, 0.0, 1.0), (COMPUTE, 1.0, 2.0), (UPLOAD, 2.0, 2.5)]);
        assert_eq!(r[&1][0].phases(8.0), vec![(DOWNLOAD, 3.0, 3.5)]);
        assert_eq!(r[&1][0].outcome, Outcome::Dropped);
        assert_eq!(r[&2][0].phases(8.0), vec![(DOWNLOAD, 4.0, 4.2), (COMPUTE, 4.2, 6.0)]);
        assert_eq!(r[&2][0].outcome, Outcome::Late);
        // Still downloading at the end of the run.
        assert_eq!(r[&0][1].phases(8.0), vec![(DOWNLOAD, 7.0, 8.0)]);
        assert_eq!(tl.window(), 8.0);
        assert_eq!(tl.note(), "3 of 3 clients shown; 1 aggregation in the run");
        let svg = tl.svg("timeline").unwrap();
        let fills = |c: RGBColor| svg.matches(&format!("fill=\"#{:02X}{:02X}{:02X}\"", c.0, c.1, c.2)).count();
        // One of each per phase or mark, one more in the legend.
        assert_eq!(fills(DOWNLOAD), 4 + 1);
        assert_eq!(fills(COMPUTE), 2 + 1);
        assert_eq!(fills(UPLOAD), 1 + 1);
        assert_eq!(fills(DROPPED), 1 + 1);
        assert_eq!(fills(LATE), 1 + 1);
        // Idle: client 0 between its tasks, client 1 before and after, client 2 the same.
        assert_eq!(fills(IDLE), 5 + 1);
    }

    #[test]
    fn secure_aggregation_tasks_end_at_their_last_message() {
        let mut tl = Timeline::new(2, 1);
        one_task(&mut tl, 0, 0.0, "advertise_keys");
        tl.record(3.0, "masked_input", Some(0));
        tl.record(4.0, "aggregate", None);
        tl.record(5.0, "dispatch", Some(0));
        let tl = tl.finish();
        assert_eq!(tl.rows()[&0][0].end, Some(3.0));
        assert_eq!(tl.rows()[&0][1].end, None);
    }

    #[test]
    fn large_federations_are_sampled_the_same_whatever_the_order() {
        let clients = 10_000;
        let mut a = Timeline::new(clients, 7);
        let mut b = Timeline::new(clients, 7);
        for c in 0..clients as u32 {
            one_task(&mut a, c, c as f64, "report");
        }
        for c in (0..clients as u32).rev() {
            one_task(&mut b, c, c as f64, "report");
        }
        let (a, b) = (a.finish(), b.finish());
        assert_eq!(a.rows().len(), MAX_ROWS);
        assert_eq!(a.rows().keys().collect::<Vec<_>>(), b.rows().keys().collect::<Vec<_>>());
        // Every drawn client has its whole history.
        assert!(a.rows().values().all(|t| t.len() == 1 && t[0].outcome == Outcome::Reported));
        assert!(a.note().starts_with("40 of 10000 clients shown"));
        // Another seed, another sample.
        let mut c = Timeline::new(clients, 8);
        for k in 0..clients as u32 {
            one_task(&mut c, k, k as f64, "report");
        }
        assert_ne!(a.rows().keys().collect::<Vec<_>>(), c.finish().rows().keys().collect::<Vec<_>>());
    }

    #[test]
    fn recording_stops_at_the_task_limit_and_says_so() {
        let mut tl = Timeline::new(4, 1);
        for k in 0..MAX_TASKS + 10 {
            one_task(&mut tl, (k % 4) as u32, 3.0 * k as f64, "report");
        }
        let tl = tl.finish();
        assert_eq!(tl.rows().values().map(Vec::len).sum::<usize>(), MAX_TASKS);
        assert_eq!(tl.window(), 3.0 * MAX_TASKS as f64);
        assert!(tl.note().contains(&format!("their first {MAX_TASKS} tasks")), "{}", tl.note());
    }
}
