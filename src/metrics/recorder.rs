//! The run's running tallies and the rows of `metrics.csv` (spec section 4).

use super::classification::Evaluation;
use crate::sim::VirtualTime;
use std::collections::BTreeMap;

/// One row of `metrics.csv`: an evaluation of the server's model.
#[derive(Debug, Clone, PartialEq)]
pub struct MetricsRow {
    /// Server model version.
    pub round: u64,
    pub virtual_time: VirtualTime,
    pub accuracy: f64,
    pub loss: f64,
    pub macro_f1: f64,
    /// Tasks dispatched since the previous row.
    pub clients_selected: u64,
    /// Reports aggregated (folded into the model) since the previous row.
    pub clients_completed: u64,
    /// Clients that vanished since the previous row.
    pub clients_dropped: u64,
    /// Tasks cancelled at a round's close since the previous row.
    pub clients_late: u64,
    /// Updates discarded as too stale since the previous row.
    pub updates_stale: u64,
    /// Cumulative bytes that reached the server.
    pub bytes_up: u64,
    /// Cumulative bytes the server sent.
    pub bytes_down: u64,
    /// Over the updates folded since the previous row (None: there were none).
    pub mean_staleness: Option<f64>,
    pub max_staleness: Option<u64>,
}

/// The column names of `metrics.csv`, in order.
pub const METRICS_COLUMNS: [&str; 14] = [
    "round",
    "virtual_time_s",
    "accuracy",
    "loss",
    "macro_f1",
    "clients_selected",
    "clients_completed",
    "clients_dropped",
    "bytes_up",
    "bytes_down",
    "mean_staleness",
    "max_staleness",
    "clients_late",
    "updates_stale",
];

#[derive(Debug, Default, Clone)]
struct Since {
    selected: u64,
    completed: u64,
    dropped: u64,
    late: u64,
    stale: u64,
    staleness_sum: u64,
    staleness_max: u64,
}

/// Tallies what the server sees and cuts rows at evaluations.
#[derive(Debug, Default, Clone)]
pub struct Recorder {
    rows: Vec<MetricsRow>,
    since: Since,
    bytes_up: u64,
    bytes_down: u64,
    /// Staleness of every folded update: value -> count.
    staleness: BTreeMap<u64, u64>,
}

impl Recorder {
    pub fn dispatched(&mut self, bytes: u64) {
        self.since.selected += 1;
        self.bytes_down += bytes;
    }

    pub fn arrived(&mut self, bytes: u64) {
        self.bytes_up += bytes;
    }

    pub fn folded(&mut self, staleness: u64) {
        self.since.completed += 1;
        self.since.staleness_sum += staleness;
        self.since.staleness_max = self.since.staleness_max.max(staleness);
        *self.staleness.entry(staleness).or_default() += 1;
    }

    pub fn dropped(&mut self) {
        self.since.dropped += 1;
    }

    pub fn late(&mut self) {
        self.since.late += 1;
    }

    pub fn stale(&mut self) {
        self.since.stale += 1;
    }

    /// Cuts a row for an evaluation of `round` at `t`.
    pub fn row(&mut self, round: u64, t: VirtualTime, eval: &Evaluation) -> &MetricsRow {
        let s = std::mem::take(&mut self.since);
        self.rows.push(MetricsRow {
            round,
            virtual_time: t,
            accuracy: eval.accuracy,
            loss: eval.loss,
            macro_f1: eval.macro_f1,
            clients_selected: s.selected,
            clients_completed: s.completed,
            clients_dropped: s.dropped,
            clients_late: s.late,
            updates_stale: s.stale,
            bytes_up: self.bytes_up,
            bytes_down: self.bytes_down,
            mean_staleness: (s.completed > 0).then(|| s.staleness_sum as f64 / s.completed as f64),
            max_staleness: (s.completed > 0).then_some(s.staleness_max),
        });
        self.rows.last().expect("just pushed")
    }

    pub fn rows(&self) -> &[MetricsRow] {
        &self.rows
    }

    pub fn bytes(&self) -> (u64, u64) {
        (self.bytes_up, self.bytes_down)
    }

    /// Staleness of folded updates: value -> count.
    pub fn staleness_histogram(&self) -> &BTreeMap<u64, u64> {
        &self.staleness
    }

    pub fn into_rows(self) -> (Vec<MetricsRow>, BTreeMap<u64, u64>) {
        (self.rows, self.staleness)
    }
}
