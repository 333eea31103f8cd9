//! `clients.csv` and `rounds.csv`: the run's events tallied per client and
//! per round (model version), as subscribers to the event stream like the
//! metrics recorder, so they can never disagree with `events.jsonl`.
//!
//! Both hold small tallies (a client's counts and its task times, the open
//! round's counts) that a checkpoint saves. `clients.csv` is written once,
//! at the end of the run (a client's row can change until then);
//! `rounds.csv` row by row, as the rounds close. Columns are documented in
//! `docs/outputs.md`.

use super::roster::Roster;
use crate::sim::{Detail, Event, EventKind, EventSink, IdMap, SecAggPhase, VirtualTime};
use serde::{Deserialize, Serialize};
use std::io::{self, Write};

/// A CSV row assembled by hand: `rounds.csv` has a row per model version
/// (100,000 on a long async run), where `write!` would cost more than the
/// simulation itself.
#[derive(Default)]
struct Row(Vec<u8>);

impl Row {
    fn int(&mut self, n: impl Into<u64>) -> &mut Self {
        crate::sim::digits::push_u64(&mut self.0, n.into());
        self.0.push(b',');
        self
    }

    fn secs(&mut self, t: VirtualTime) -> &mut Self {
        t.push_secs(&mut self.0);
        self.0.push(b',');
        self
    }

    fn text(&mut self, s: &str) -> &mut Self {
        self.0.extend_from_slice(s.as_bytes());
        self.0.push(b',');
        self
    }

    /// Ends the row (its last comma becomes the newline) and writes it.
    fn end(&mut self, w: &mut impl Write) -> io::Result<()> {
        if let Some(last) = self.0.last_mut() {
            *last = b'\n';
        }
        w.write_all(&self.0)?;
        self.0.clear();
        Ok(())
    }
}

/// One client's tally.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
struct ClientTally {
    tasks: u64,
    reports: u64,
    stale: u64,
    late: u64,
    dropped: u64,
    bytes_up: u64,
    bytes_down: u64,
    /// The dispatch of its task in progress.
    started: Option<VirtualTime>,
    /// Dispatch-to-report time of every reported task, in ns.
    task_ns: Vec<u64>,
}

/// The columns of `clients.csv`, in order.
pub const CLIENTS_COLUMNS: &str =
    "client,profile,samples,tasks,reports,stale,late,dropped,median_task_s,max_task_s,bytes_up,bytes_down,bytes";

/// `clients.csv`: one row per client that was dispatched at least one task,
/// by client id. (A client never selected has nothing to tally; leaving it
/// out keeps the file as large as the work done, not as the population.)
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct ClientsTable {
    /// Looked up on every client event; saved by client id, so a
    /// checkpoint's bytes do not depend on the map's history.
    #[serde(serialize_with = "crate::sim::hash::by_key")]
    clients: IdMap<u32, ClientTally>,
}

impl EventSink for ClientsTable {
    fn record(&mut self, e: &Event) -> io::Result<()> {
        let Some(c) = e.client else { return Ok(()) };
        if e.kind == EventKind::Dispatch {
            let tally = self.clients.entry(c).or_default();
            tally.tasks += 1;
            tally.bytes_down += e.bytes;
            tally.started = Some(e.t);
            return Ok(());
        }
        let Some(tally) = self.clients.get_mut(&c) else { return Ok(()) };
        // The task's update reached the server: a report, or under secure
        // aggregation its masked input.
        let mut reported = || {
            tally.reports += 1;
            if let Some(s) = tally.started.take() {
                tally.task_ns.push((e.t - s).as_nanos());
            }
        };
        match e.kind {
            EventKind::Report => {
                tally.bytes_up += e.bytes;
                reported();
            }
            EventKind::SecAgg(SecAggPhase::MaskedInput) => {
                tally.bytes_up += e.bytes;
                reported();
            }
            EventKind::SecAgg(phase) if phase.from_client() => tally.bytes_up += e.bytes,
            EventKind::SecAgg(_) => tally.bytes_down += e.bytes,
            EventKind::Stale => tally.stale += 1,
            EventKind::Late => {
                tally.late += 1;
                tally.started = None;
            }
            EventKind::Drop => {
                tally.dropped += 1;
                tally.started = None;
            }
            _ => {}
        }
        Ok(())
    }
}

impl ClientsTable {
    /// Reports per client (tests, summaries).
    pub fn reports(&self) -> impl Iterator<Item = (u32, u64)> + '_ {
        self.by_id().into_iter().map(|(c, t)| (c, t.reports))
    }

    fn by_id(&self) -> Vec<(u32, &ClientTally)> {
        let mut all: Vec<_> = self.clients.iter().map(|(&c, t)| (c, t)).collect();
        all.sort_unstable_by_key(|&(c, _)| c);
        all
    }

    /// Writes `clients.csv`. Task times are seconds with nine decimals;
    /// the median of an even count is the mean of the middle two (to the
    /// nanosecond); both are empty for a client with no report.
    pub fn write(&self, w: &mut impl Write, roster: &Roster) -> io::Result<()> {
        writeln!(w, "{CLIENTS_COLUMNS}")?;
        let mut row = Row::default();
        for (c, t) in self.by_id() {
            row.int(c).text(roster.profile(c)).int(roster.samples(c));
            row.int(t.tasks).int(t.reports).int(t.stale).int(t.late).int(t.dropped);
            let mut times = t.task_ns.clone();
            times.sort_unstable();
            match times.len() {
                0 => row.text("").text(""),
                n => {
                    let mid = if n % 2 == 1 {
                        times[n / 2]
                    } else {
                        ((u128::from(times[n / 2 - 1]) + u128::from(times[n / 2])) / 2) as u64
                    };
                    row.secs(VirtualTime::from_nanos(mid)).secs(VirtualTime::from_nanos(times[n - 1]))
                }
            };
            row.int(t.bytes_up).int(t.bytes_down).int(t.bytes_up + t.bytes_down).end(w)?;
        }
        Ok(())
    }
}

/// One round's tally: the events logged while the server was at `round`.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
struct RoundTally {
    round: u64,
    /// Its first dispatch.
    start: Option<VirtualTime>,
    selected: u64,
    reported: u64,
    stale: u64,
    late: u64,
    dropped: u64,
    bytes_up: u64,
    bytes_down: u64,
}

impl RoundTally {
    fn active(&self) -> bool {
        self.selected + self.reported + self.stale + self.late + self.dropped + self.bytes_up + self.bytes_down > 0
    }
}

/// A closed round.
#[derive(Debug, Clone)]
struct RoundRow {
    tally: RoundTally,
    start: VirtualTime,
    close: VirtualTime,
    /// `None`: the run stopped with the round open.
    closed_by: Option<(crate::sim::RoundClose, u32)>,
}

/// The columns of `rounds.csv`, in order.
pub const ROUNDS_COLUMNS: &str = "round,version,start_s,close_s,duration_s,close_reason,selected,reported,aggregated,\
                                  stale,late,dropped,bytes_up,bytes_down";

/// The tally of `rounds.csv`: the round in progress, and where the last
/// one closed. A checkpoint saves it; the closed rows are already in the
/// file (see [`RoundsCsv`]).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct RoundsTable {
    open: RoundTally,
    /// The last aggregation: a round with no dispatch starts there.
    last_close: VirtualTime,
}

impl RoundsTable {
    /// Counts `e` into the open round; an aggregation closes it and gives
    /// its row.
    fn record(&mut self, e: &Event) -> Option<RoundRow> {
        if e.kind == EventKind::Aggregate {
            let close = match e.detail {
                Detail::Aggregation { updates, close } => Some((close, updates)),
                _ => None,
            };
            let tally = std::mem::replace(&mut self.open, RoundTally { round: e.round, ..RoundTally::default() });
            let start = tally.start.unwrap_or(self.last_close);
            self.last_close = e.t;
            return Some(RoundRow { tally, start, close: e.t, closed_by: close });
        }
        // Only the task events below count, and each is logged with the
        // server's version at that instant: the open round's.
        let r = &mut self.open;
        match e.kind {
            EventKind::Dispatch => {
                r.selected += 1;
                r.bytes_down += e.bytes;
                r.start.get_or_insert(e.t);
            }
            EventKind::Report => {
                r.reported += 1;
                r.bytes_up += e.bytes;
            }
            EventKind::SecAgg(phase) => {
                if phase == SecAggPhase::MaskedInput {
                    r.reported += 1;
                }
                if phase.from_client() {
                    r.bytes_up += e.bytes;
                } else {
                    r.bytes_down += e.bytes;
                }
            }
            EventKind::Stale => r.stale += 1,
            EventKind::Late => r.late += 1,
            EventKind::Drop => r.dropped += 1,
            _ => {}
        }
        None
    }

    /// The round the run's end cut short, if anything happened in it;
    /// `end` is the run's last instant.
    fn cut_short(&self, end: VirtualTime) -> Option<RoundRow> {
        self.open.active().then(|| RoundRow {
            tally: self.open.clone(),
            start: self.open.start.unwrap_or(self.last_close),
            close: end.max(self.last_close),
            closed_by: None,
        })
    }
}

/// `rounds.csv`, written as the rounds close: one row per model version
/// (the round that made it), and a last row with `close_reason` `stop` for
/// a round the run's end cut short. A round's events are those whose
/// `round` field is its number (the server's version while it ran).
///
/// Rows go to the file as they close, as `events.jsonl`'s lines do, so a
/// run of millions of versions holds one round in memory and a checkpoint
/// saves that round and the file's length, not every row so far.
///
/// ```
/// use fedsim::report::RoundsCsv;
/// use fedsim::sim::{Detail, Event, EventKind, EventSink, RoundClose, VirtualTime};
/// let t = VirtualTime::from_nanos;
/// let mut csv = RoundsCsv::new(Vec::new()).unwrap();
/// csv.record(&Event::new(t(0), EventKind::Dispatch, Some(4), 0).bytes(10)).unwrap();
/// let agg = Detail::Aggregation { updates: 1, close: RoundClose::Update };
/// csv.record(&Event::new(t(7), EventKind::Aggregate, None, 0).detail(agg)).unwrap();
/// let text = String::from_utf8(csv.finish(t(7)).unwrap()).unwrap();
/// assert_eq!(text.lines().nth(1), Some("0,1,0.000000000,0.000000007,0.000000007,update,1,0,1,0,0,0,0,10"));
/// ```
pub struct RoundsCsv<W: Write> {
    out: W,
    /// Bytes handed to `out` so far (a checkpoint records it, so a resumed
    /// run can cut the file back to that point).
    written: u64,
    line: Row,
    table: RoundsTable,
}

impl<W: Write> RoundsCsv<W> {
    /// A fresh file: the header first.
    pub fn new(mut out: W) -> io::Result<Self> {
        writeln!(out, "{ROUNDS_COLUMNS}")?;
        let written = ROUNDS_COLUMNS.len() as u64 + 1;
        Ok(RoundsCsv { out, written, line: Row::default(), table: RoundsTable::default() })
    }

    /// Continues a file of which `written` bytes are already in `out`,
    /// with the tally a checkpoint saved at that point.
    pub fn resume(out: W, written: u64, table: RoundsTable) -> Self {
        RoundsCsv { out, written, line: Row::default(), table }
    }

    /// Bytes written so far.
    pub fn len(&self) -> u64 {
        self.written
    }

    pub fn is_empty(&self) -> bool {
        self.written == 0
    }

    /// What a checkpoint saves.
    pub fn table(&self) -> &RoundsTable {
        &self.table
    }

    /// Writes the row of a round the run's end (`end`, its last instant)
    /// cut short, flushes, and returns the writer.
    pub fn finish(mut self, end: VirtualTime) -> io::Result<W> {
        if let Some(row) = self.table.cut_short(end) {
            self.write_row(&row)?;
        }
        self.out.flush()?;
        Ok(self.out)
    }

    fn write_row(&mut self, row: &RoundRow) -> io::Result<()> {
        let (t, line) = (&row.tally, &mut self.line);
        line.int(t.round);
        match row.closed_by {
            Some(_) => line.int(t.round + 1),
            None => line.text(""),
        };
        line.secs(row.start).secs(row.close).secs(row.close - row.start);
        match row.closed_by {
            Some((why, _)) => line.text(why.name()),
            None => line.text("stop"),
        };
        line.int(t.selected).int(t.reported);
        match row.closed_by {
            Some((_, n)) => line.int(n),
            None => line.text(""),
        };
        line.int(t.stale).int(t.late).int(t.dropped).int(t.bytes_up).int(t.bytes_down);
        self.written += line.0.len() as u64;
        line.end(&mut self.out)
    }
}

impl<W: Write> EventSink for RoundsCsv<W> {
    fn record(&mut self, e: &Event) -> io::Result<()> {
        match self.table.record(e) {
            Some(row) => self.write_row(&row),
            None => Ok(()),
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        self.out.flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sim::RoundClose;

    fn ev(t: u64, kind: EventKind, c: Option<u32>, round: u64, bytes: u64) -> Event {
        Event::new(VirtualTime::from_nanos(t), kind, c, round).bytes(bytes)
    }

    #[test]
    fn clients_tally_their_tasks_and_the_median_of_an_even_count_is_the_middle_mean() {
        use EventKind::*;
        let mut t = ClientsTable::default();
        for e in [
            ev(0, Dispatch, Some(3), 0, 10),
            ev(4, Report, Some(3), 0, 5),
            ev(4, Dispatch, Some(3), 1, 10),
            ev(11, Report, Some(3), 1, 5),
            ev(11, Dispatch, Some(3), 2, 10),
            ev(12, Drop, Some(3), 2, 0),
        ] {
            t.record(&e).unwrap();
        }
        let roster = Roster::new(vec![], vec![0; 5].into(), |c| c as u64 * 2);
        let mut out = Vec::new();
        t.write(&mut out, &roster).unwrap();
        let text = String::from_utf8(out).unwrap();
        // Task times 4 ns and 7 ns: median 5.5 ns, to the nanosecond.
        assert_eq!(text.lines().nth(1), Some("3,ideal,6,3,2,0,0,1,0.000000005,0.000000007,10,30,40"));
    }

    #[test]
    fn a_round_row_per_version_and_one_for_a_round_the_stop_cut_short() {
        use EventKind::*;
        let mut t = RoundsCsv::new(Vec::new()).unwrap();
        let agg = |t: u64, v: u64| {
            ev(t, Aggregate, None, v, 0).detail(Detail::Aggregation { updates: 1, close: RoundClose::Quorum })
        };
        for e in [
            ev(2, Dispatch, Some(1), 0, 10),
            ev(2, Dispatch, Some(2), 0, 10),
            ev(5, Report, Some(1), 0, 4),
            ev(5, Late, Some(2), 0, 0),
            agg(5, 1),
            ev(5, Dispatch, Some(2), 1, 10),
        ] {
            t.record(&e).unwrap();
        }
        let written = t.len();
        let text = String::from_utf8(t.finish(VirtualTime::from_nanos(9)).unwrap()).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        // The closed round is written as it closes; the cut one at the end.
        assert_eq!(written as usize, text.len() - lines[2].len() - 1);
        assert_eq!(lines[1], "0,1,0.000000002,0.000000005,0.000000003,quorum,2,1,1,0,1,0,4,20");
        assert_eq!(lines[2], "1,,0.000000005,0.000000009,0.000000004,stop,1,0,,0,0,0,0,10");
    }
}
