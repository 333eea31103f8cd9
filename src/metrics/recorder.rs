//! The run's running tallies and the rows of `metrics.csv` (spec section 4).
//!
//! The recorder is a subscriber to the run's event stream, like the event
//! log: it counts what the events say (dispatches, reports, drops, late and
//! stale tasks, bytes) and cuts a row at every `evaluate`. So the metrics
//! can never disagree with `events.jsonl`.

use crate::sim::{Detail, Event, EventKind, EventSink, VirtualTime};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// One row of `metrics.csv`: an evaluation of the server's model.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
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
    /// With DP: the epsilon spent by this version (None: DP off, or no
    /// noise, so epsilon is unbounded).
    pub epsilon: Option<f64>,
}

/// The column names of `metrics.csv`, in order.
pub const METRICS_COLUMNS: [&str; 15] = [
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
    "epsilon",
];

#[derive(Debug, Default, Clone, Serialize, Deserialize)]
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
#[derive(Debug, Default, Clone, Serialize, Deserialize)]
pub struct Recorder {
    rows: Vec<MetricsRow>,
    since: Since,
    bytes_up: u64,
    bytes_down: u64,
    /// Staleness of every folded update: value -> count.
    staleness: Counts,
    /// A report's staleness, until the next event says whether it was folded.
    pending: Option<u64>,
    /// The tallies behind the last row, should it be superseded.
    last: Since,
    /// The latest `epsilon` event's value.
    epsilon: Option<f64>,
}

impl EventSink for Recorder {
    /// A `report` is held until the next event: a `stale` or `diverged`
    /// event (which follows its report at once) discards it, anything else
    /// folds it.
    fn record(&mut self, e: &Event) -> std::io::Result<()> {
        let staleness = match e.detail {
            Detail::Staleness(s) => s,
            _ => 0,
        };
        if let Some(s) = self.pending.take() {
            match e.kind {
                EventKind::Stale => {
                    self.since.stale += 1;
                    return Ok(());
                }
                // A diverged update is never folded, nor stale.
                EventKind::Diverged => return Ok(()),
                _ => self.fold(s),
            }
        }
        match e.kind {
            EventKind::Dispatch => {
                self.since.selected += 1;
                self.bytes_down += e.bytes;
            }
            EventKind::Report => {
                self.bytes_up += e.bytes;
                self.pending = Some(staleness);
            }
            EventKind::Drop => self.since.dropped += 1,
            EventKind::Late => self.since.late += 1,
            EventKind::SecAgg(phase) if phase.from_client() => self.bytes_up += e.bytes,
            EventKind::SecAgg(_) => self.bytes_down += e.bytes,
            // Secure aggregation: the masked inputs in the unmasked sum are
            // the round's aggregated reports.
            EventKind::Unmasked => {
                if let Detail::Updates(n) = e.detail {
                    (0..n).for_each(|_| self.fold(0));
                }
            }
            EventKind::Epsilon => {
                if let Detail::Epsilon(e) = e.detail {
                    self.epsilon = e;
                }
            }
            EventKind::Evaluate => {
                if let Detail::Scores { accuracy, loss, macro_f1 } = e.detail {
                    self.row(e.round, e.t, accuracy, loss, macro_f1);
                }
            }
            _ => {}
        }
        Ok(())
    }
}

impl Recorder {
    fn fold(&mut self, staleness: u64) {
        self.since.completed += 1;
        self.since.staleness_sum += staleness;
        self.since.staleness_max = self.since.staleness_max.max(staleness);
        self.staleness.add(staleness);
    }

    /// Cuts a row for an evaluation of `round` at `t`.
    ///
    /// A second evaluation of the same model version (the final one, when
    /// tasks were dispatched after the last row) supersedes the last row:
    /// rows keep one version each, and the replacement counts everything
    /// since the row before it.
    fn row(&mut self, round: u64, t: VirtualTime, accuracy: f64, loss: f64, macro_f1: f64) {
        let mut s = std::mem::take(&mut self.since);
        if self.rows.last().is_some_and(|r| r.round == round) {
            self.rows.pop();
            let l = &self.last;
            s = Since {
                selected: l.selected + s.selected,
                completed: l.completed + s.completed,
                dropped: l.dropped + s.dropped,
                late: l.late + s.late,
                stale: l.stale + s.stale,
                staleness_sum: l.staleness_sum + s.staleness_sum,
                staleness_max: l.staleness_max.max(s.staleness_max),
            };
        }
        self.last = s.clone();
        self.rows.push(MetricsRow {
            round,
            virtual_time: t,
            accuracy,
            loss,
            macro_f1,
            clients_selected: s.selected,
            clients_completed: s.completed,
            clients_dropped: s.dropped,
            clients_late: s.late,
            updates_stale: s.stale,
            bytes_up: self.bytes_up,
            bytes_down: self.bytes_down,
            mean_staleness: (s.completed > 0).then(|| s.staleness_sum as f64 / s.completed as f64),
            max_staleness: (s.completed > 0).then_some(s.staleness_max),
            epsilon: self.epsilon,
        });
    }

    pub fn rows(&self) -> &[MetricsRow] {
        &self.rows
    }

    pub fn bytes(&self) -> (u64, u64) {
        (self.bytes_up, self.bytes_down)
    }

    pub fn into_rows(mut self) -> (Vec<MetricsRow>, BTreeMap<u64, u64>) {
        if let Some(s) = self.pending.take() {
            self.fold(s);
        }
        (self.rows, self.staleness.into())
    }
}

/// Counts by value: a vector for the small values every run has (one
/// update's staleness is counted at every report of an async run, so a
/// map's search would be on that path), a map for rare large ones. Read
/// out, and saved, as one map, value -> count.
#[derive(Debug, Default, Clone, Serialize, Deserialize)]
#[serde(from = "BTreeMap<u64, u64>", into = "BTreeMap<u64, u64>")]
struct Counts {
    /// Counts of 0, 1, ... up to [`Counts::DENSE`] (excluded).
    dense: Vec<u64>,
    sparse: BTreeMap<u64, u64>,
}

impl Counts {
    /// 32 KiB of counts at most.
    const DENSE: u64 = 4096;

    fn add(&mut self, v: u64) {
        *self.count(v) += 1;
    }

    fn count(&mut self, v: u64) -> &mut u64 {
        if v >= Self::DENSE {
            return self.sparse.entry(v).or_default();
        }
        let i = v as usize;
        if i >= self.dense.len() {
            self.dense.resize(i + 1, 0);
        }
        &mut self.dense[i]
    }
}

/// Every value counted, with its count.
impl From<Counts> for BTreeMap<u64, u64> {
    fn from(c: Counts) -> Self {
        let mut map = c.sparse;
        map.extend(c.dense.into_iter().enumerate().filter(|&(_, n)| n > 0).map(|(v, n)| (v as u64, n)));
        map
    }
}

impl From<BTreeMap<u64, u64>> for Counts {
    fn from(map: BTreeMap<u64, u64>) -> Self {
        let mut c = Counts::default();
        for (v, n) in map {
            *c.count(v) = n;
        }
        c
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    proptest::proptest! {
        /// The counts are those of a plain map, small values and large
        /// alike, and a checkpoint (the map) reads back to the same counts.
        #[test]
        fn counts_are_a_maps_and_survive_a_checkpoint(
            values in proptest::collection::vec(proptest::prop_oneof![0u64..10, 0u64..10_000, proptest::prelude::any::<u64>()], 0..300)
        ) {
            let mut counts = Counts::default();
            let mut map = BTreeMap::new();
            for &v in &values {
                counts.add(v);
                *map.entry(v).or_insert(0u64) += 1;
            }
            let back: Counts = serde_json::from_str(&serde_json::to_string(&counts).unwrap()).unwrap();
            proptest::prop_assert_eq!(BTreeMap::from(counts), map.clone());
            proptest::prop_assert_eq!(BTreeMap::from(back), map);
        }
    }

    fn ev(kind: EventKind, round: u64, bytes: u64) -> Event {
        Event::new(VirtualTime::from_nanos(round * 10), kind, Some(1), round).bytes(bytes)
    }

    fn eval(round: u64, t: u64) -> Event {
        Event::new(VirtualTime::from_nanos(t), EventKind::Evaluate, None, round).detail(Detail::Scores {
            accuracy: 0.5,
            loss: 1.0,
            macro_f1: 0.4,
        })
    }

    #[test]
    fn a_second_evaluation_of_a_version_supersedes_its_row_and_keeps_every_count() {
        let mut r = Recorder::default();
        r.record(&eval(0, 0)).unwrap();
        r.record(&ev(EventKind::Dispatch, 0, 100)).unwrap();
        r.record(&ev(EventKind::Report, 0, 50)).unwrap();
        r.record(&eval(1, 5)).unwrap();
        // After the row of version 1: another dispatch and a drop, then the
        // run ends and version 1 is evaluated again.
        r.record(&ev(EventKind::Dispatch, 1, 100)).unwrap();
        r.record(&ev(EventKind::Drop, 1, 0)).unwrap();
        r.record(&eval(1, 9)).unwrap();
        let rows = r.rows();
        assert_eq!(rows.iter().map(|r| r.round).collect::<Vec<_>>(), [0, 1]);
        let last = &rows[1];
        assert_eq!((last.clients_selected, last.clients_completed, last.clients_dropped), (2, 1, 1));
        assert_eq!((last.bytes_down, last.bytes_up, last.virtual_time.as_nanos()), (200, 50, 9));
        assert_eq!(last.mean_staleness, Some(0.0));
    }
}
