//! `trace.json`: the run's timeline in Chrome's trace-event format, so a
//! run opens in Perfetto (ui.perfetto.dev) or `chrome://tracing`.
//!
//! Layout (see `docs/outputs.md`): process 1 is the server, with one track
//! (tid 0) holding a span per round (from its first dispatch to the
//! aggregation that closes it) and instants for secure aggregation's
//! unmasking or abort, and the counters `accuracy`, `bytes in flight` and
//! `clients busy`; process 2 holds the clients, one track per client (tid
//! = client id), named `client 17 (phone)`. A task is drawn as complete
//! spans, one per phase: `download` (dispatch -> download_done),
//! `compute` (download_done -> compute_done), `upload` (compute_done ->
//! report), and under secure aggregation `advertise_keys` (compute_done ->
//! its arrival), `share_keys` (key_list sent -> share_keys in),
//! `masked_input` (shares -> masked_input) and `unmask_shares` (survivors
//! -> unmask_shares). A phase cut short is named for how: `upload
//! (dropped)`, `compute (late)`, `masked_input (cancelled)`, `download
//! (unfinished)` at the run's end, with an instant `drop` or `late` where
//! it ended. Times (`ts`, `dur`) are microseconds of virtual time.
//!
//! Only the first `output.trace_clients` clients to take part get a track;
//! the counters count every client, and `otherData` says how many were
//! left out.
//!
//! The sink streams: a span is written when its phase closes, and only the
//! open phases, the counters and the track list are held, all in
//! [`TraceState`], which a checkpoint saves with the file's length so a
//! resumed run writes the same bytes as an uninterrupted one. The JSON is
//! closed by [`TraceSink::finish`], on every path that publishes a run
//! (an interrupted one too).

use super::roster::Roster;
use crate::sim::digits::{push_thousandths, push_u64};
use crate::sim::{Detail, Event, EventKind, EventSink, SecAggPhase, VirtualTime};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};
use std::io::{self, Write};

/// The trace's file name in a run folder.
pub const TRACE_FILE: &str = "trace.json";

const SERVER_PID: u32 = 1;
const CLIENTS_PID: u32 = 2;
const SERVER_TID: u32 = 0;

/// What a task is doing, between two of its events.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
enum Phase {
    Download,
    Compute,
    Upload,
    /// Secure aggregation: the keys travel up (in place of the update).
    AdvertiseKeys,
    /// Secure aggregation: waiting for the server's next message (not drawn).
    Waiting,
    ShareKeys,
    MaskedInput,
    UnmaskShares,
}

impl Phase {
    fn name(self) -> &'static str {
        match self {
            Phase::Download => "download",
            Phase::Compute => "compute",
            Phase::Upload => "upload",
            Phase::AdvertiseKeys => "advertise_keys",
            Phase::Waiting => "waiting",
            Phase::ShareKeys => "share_keys",
            Phase::MaskedInput => "masked_input",
            Phase::UnmaskShares => "unmask_shares",
        }
    }

    fn category(self) -> &'static str {
        match self {
            Phase::Download | Phase::Compute | Phase::Upload => "task",
            _ => "secagg",
        }
    }
}

/// A task in progress.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct OpenTask {
    /// The server version it started from.
    round: u64,
    phase: Phase,
    since: VirtualTime,
    /// Bytes of its model transfer in flight now (counted in `bytes in flight`).
    bytes: u64,
}

/// The trace's running state: what a checkpoint saves.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct TraceState {
    /// Trace events written (a separator precedes every one but the first).
    events: u64,
    /// Clients with a track.
    tracks: BTreeSet<u32>,
    /// Clients that took part (a bit each), and how many.
    seen: Vec<u64>,
    participants: u64,
    tasks: BTreeMap<u32, OpenTask>,
    in_flight: u64,
    busy: u64,
    /// The counters' values last written, and the instant of newer values
    /// not written yet (written once time moves on, so a round's hundred
    /// dispatches at one instant make one counter event, not a hundred).
    shown: (u64, u64),
    pending: Option<VirtualTime>,
    /// The open round's first dispatch, and the last aggregation.
    round_start: Option<VirtualTime>,
    last_close: VirtualTime,
    /// The server's model version.
    version: u64,
}

/// The trace's fixed settings.
#[derive(Debug, Clone, Copy)]
pub struct TraceConfig {
    /// Client tracks at most (`output.trace_clients`).
    pub max_tracks: usize,
    /// Bytes of one update upload (the run's `bytes_up`).
    pub bytes_up: u64,
    /// Secure aggregation is on: tasks end in its phases, not in a `report`.
    pub secure: bool,
}

/// Writes `trace.json` as the events arrive.
pub struct TraceSink<W: Write> {
    out: W,
    /// Bytes handed to `out` so far.
    written: u64,
    line: Vec<u8>,
    config: TraceConfig,
    roster: Roster,
    state: TraceState,
}

fn push_str(line: &mut Vec<u8>, s: &str) {
    serde_json::to_writer(&mut *line, s).expect("a string always serialises");
}

impl<W: Write> TraceSink<W> {
    /// Starts a trace: the opening of the JSON object, the process and
    /// server track names, and the counters at zero.
    pub fn new(out: W, config: TraceConfig, roster: Roster) -> io::Result<Self> {
        let seen = vec![0; roster.len().div_ceil(64)];
        let mut sink = TraceSink {
            out,
            written: 0,
            line: Vec::with_capacity(256),
            config,
            roster,
            state: TraceState { seen, ..TraceState::default() },
        };
        const HEAD: &[u8] = b"{\"displayTimeUnit\":\"ms\",\"traceEvents\":[\n";
        sink.out.write_all(HEAD)?;
        sink.written = HEAD.len() as u64;
        for (pid, name, sort) in [(SERVER_PID, "server", 0), (CLIENTS_PID, "clients", 1)] {
            sink.metadata(pid, None, "process_name", &format!("{{\"name\":\"{name}\"}}"))?;
            sink.metadata(pid, None, "process_sort_index", &format!("{{\"sort_index\":{sort}}}"))?;
        }
        sink.metadata(SERVER_PID, Some(SERVER_TID), "thread_name", "{\"name\":\"server\"}")?;
        sink.counter_event(VirtualTime::ZERO, "bytes in flight", "bytes", 0)?;
        sink.counter_event(VirtualTime::ZERO, "clients busy", "clients", 0)?;
        Ok(sink)
    }

    /// Continues a trace of which `written` bytes are already in `out`,
    /// from the state a checkpoint saved with them.
    pub fn resume(out: W, written: u64, config: TraceConfig, roster: Roster, state: TraceState) -> Self {
        TraceSink { out, written, line: Vec::with_capacity(256), config, roster, state }
    }

    /// Bytes written so far (all of them in `out` after a flush).
    pub fn len(&self) -> u64 {
        self.written
    }

    pub fn is_empty(&self) -> bool {
        self.written == 0
    }

    pub fn state(&self) -> &TraceState {
        &self.state
    }

    /// Draws what is still open at `end` (the run's last instant) as
    /// `(unfinished)`, writes the pending counters, says how many clients
    /// were left out, closes the JSON and returns the writer.
    pub fn finish(mut self, end: VirtualTime) -> io::Result<W> {
        let open: Vec<(u32, OpenTask)> = std::mem::take(&mut self.state.tasks).into_iter().collect();
        for (c, task) in open {
            self.phase_span(c, &task, end, Some("unfinished"), "")?;
        }
        if let Some(start) = self.state.round_start {
            let args = format!("{{\"round\":{}}}", self.state.version);
            let name = format!("round {} (unfinished)", self.state.version);
            self.span(SERVER_PID, SERVER_TID, start, end, &name, "round", &args)?;
        }
        self.write_counters()?;
        let s = &self.state;
        let left_out = s.participants - s.tracks.len() as u64;
        if left_out > 0 {
            let labels =
                format!("{{\"labels\":\"{} of {} clients that took part are drawn\"}}", s.tracks.len(), s.participants);
            self.metadata(CLIENTS_PID, None, "process_labels", &labels)?;
        }
        let s = &self.state;
        let footer = format!(
            "\n],\"otherData\":{{\"clock\":\"virtual\",\"time_unit\":\"ts and dur in microseconds of virtual \
             time\",\"clients\":{},\"clients_taking_part\":{},\"trace_clients\":{},\"client_tracks\":{},\
             \"clients_not_drawn\":{}}}}}\n",
            self.roster.len(),
            s.participants,
            self.config.max_tracks,
            s.tracks.len(),
            left_out
        );
        self.out.write_all(footer.as_bytes())?;
        self.out.flush()?;
        Ok(self.out)
    }

    /// Writes the event assembled in `self.line`, after a separator.
    fn emit(&mut self) -> io::Result<()> {
        if self.state.events > 0 {
            self.out.write_all(b",\n")?;
            self.written += 2;
        }
        self.state.events += 1;
        self.out.write_all(&self.line)?;
        self.written += self.line.len() as u64;
        self.line.clear();
        Ok(())
    }

    fn metadata(&mut self, pid: u32, tid: Option<u32>, name: &str, args: &str) -> io::Result<()> {
        let l = &mut self.line;
        l.extend_from_slice(b"{\"ph\":\"M\",\"pid\":");
        push_u64(l, pid.into());
        if let Some(tid) = tid {
            l.extend_from_slice(b",\"tid\":");
            push_u64(l, tid.into());
        }
        l.extend_from_slice(b",\"name\":\"");
        l.extend_from_slice(name.as_bytes());
        l.extend_from_slice(b"\",\"args\":");
        l.extend_from_slice(args.as_bytes());
        l.push(b'}');
        self.emit()
    }

    /// A complete span (`ph: X`) from `from` to `to`.
    #[allow(clippy::too_many_arguments)] // the fields of one trace event
    fn span(
        &mut self,
        pid: u32,
        tid: u32,
        from: VirtualTime,
        to: VirtualTime,
        name: &str,
        cat: &str,
        args: &str,
    ) -> io::Result<()> {
        let l = &mut self.line;
        l.extend_from_slice(b"{\"ph\":\"X\",\"pid\":");
        push_u64(l, pid.into());
        l.extend_from_slice(b",\"tid\":");
        push_u64(l, tid.into());
        l.extend_from_slice(b",\"ts\":");
        push_thousandths(l, from.as_nanos());
        l.extend_from_slice(b",\"dur\":");
        push_thousandths(l, (to - from).as_nanos());
        l.extend_from_slice(b",\"name\":");
        push_str(l, name);
        l.extend_from_slice(b",\"cat\":\"");
        l.extend_from_slice(cat.as_bytes());
        l.extend_from_slice(b"\",\"args\":");
        l.extend_from_slice(args.as_bytes());
        l.push(b'}');
        self.emit()
    }

    /// An instant (`ph: i`) on one track.
    fn instant(&mut self, pid: u32, tid: u32, t: VirtualTime, name: &str, cat: &str) -> io::Result<()> {
        let l = &mut self.line;
        l.extend_from_slice(b"{\"ph\":\"i\",\"s\":\"t\",\"pid\":");
        push_u64(l, pid.into());
        l.extend_from_slice(b",\"tid\":");
        push_u64(l, tid.into());
        l.extend_from_slice(b",\"ts\":");
        push_thousandths(l, t.as_nanos());
        l.extend_from_slice(b",\"name\":\"");
        l.extend_from_slice(name.as_bytes());
        l.extend_from_slice(b"\",\"cat\":\"");
        l.extend_from_slice(cat.as_bytes());
        l.extend_from_slice(b"\"}");
        self.emit()
    }

    /// A counter sample (`ph: C`) on the server's process.
    fn counter_event(&mut self, t: VirtualTime, name: &str, series: &str, value: u64) -> io::Result<()> {
        self.counter_raw(t, name, series, itoa::Buffer::new().format(value))
    }

    fn counter_raw(&mut self, t: VirtualTime, name: &str, series: &str, value: &str) -> io::Result<()> {
        let l = &mut self.line;
        l.extend_from_slice(b"{\"ph\":\"C\",\"pid\":");
        push_u64(l, SERVER_PID.into());
        l.extend_from_slice(b",\"ts\":");
        push_thousandths(l, t.as_nanos());
        l.extend_from_slice(b",\"name\":\"");
        l.extend_from_slice(name.as_bytes());
        l.extend_from_slice(b"\",\"args\":{\"");
        l.extend_from_slice(series.as_bytes());
        l.extend_from_slice(b"\":");
        l.extend_from_slice(value.as_bytes());
        l.extend_from_slice(b"}}");
        self.emit()
    }

    /// Writes the counters that changed at the pending instant.
    fn write_counters(&mut self) -> io::Result<()> {
        let Some(t) = self.state.pending.take() else { return Ok(()) };
        let (bytes, busy) = (self.state.in_flight, self.state.busy);
        if bytes != self.state.shown.0 {
            self.counter_event(t, "bytes in flight", "bytes", bytes)?;
        }
        if busy != self.state.shown.1 {
            self.counter_event(t, "clients busy", "clients", busy)?;
        }
        self.state.shown = (bytes, busy);
        Ok(())
    }

    fn drawn(&self, c: u32) -> bool {
        self.state.tracks.contains(&c)
    }

    /// Draws a task's phase from its start to `to` on the client's track
    /// (if the client has one). `how`: why the phase was cut short.
    fn phase_span(
        &mut self,
        c: u32,
        task: &OpenTask,
        to: VirtualTime,
        how: Option<&str>,
        extra: &str,
    ) -> io::Result<()> {
        if task.phase == Phase::Waiting || !self.drawn(c) {
            return Ok(());
        }
        let name = match how {
            Some(how) => format!("{} ({how})", task.phase.name()),
            None => task.phase.name().to_string(),
        };
        let mut args = format!("{{\"round\":{}", task.round);
        if matches!(task.phase, Phase::Download | Phase::Upload) && task.bytes > 0 {
            args += &format!(",\"bytes\":{}", task.bytes);
        }
        args += extra;
        args.push('}');
        self.span(CLIENTS_PID, c, task.since, to, &name, task.phase.category(), &args)
    }

    /// A client is dispatched a task: it may get a track, and is busy.
    fn dispatch(&mut self, e: &Event, c: u32) -> io::Result<()> {
        if let Some(old) = self.state.tasks.remove(&c) {
            // Never happens (a client is busy until its task settles); were
            // it to, the old task ends here rather than vanish.
            self.end_task(c, old, e.t, "superseded")?;
        }
        let word = self.state.seen.get_mut(c as usize / 64);
        if let Some(w) = word.filter(|w| **w & (1 << (c % 64)) == 0) {
            *w |= 1 << (c % 64);
            self.state.participants += 1;
        }
        if !self.drawn(c) && self.state.tracks.len() < self.config.max_tracks {
            self.state.tracks.insert(c);
            let name = match self.roster.profile(c) {
                "ideal" => format!("client {c}"),
                p => format!("client {c} ({p})"),
            };
            let mut args = b"{\"name\":".to_vec();
            push_str(&mut args, &name);
            args.push(b'}');
            self.metadata(CLIENTS_PID, Some(c), "thread_name", &String::from_utf8_lossy(&args))?;
        }
        self.state.round_start.get_or_insert(e.t);
        self.state.busy += 1;
        self.state.in_flight += e.bytes;
        let task = OpenTask { round: e.round, phase: Phase::Download, since: e.t, bytes: e.bytes };
        self.state.tasks.insert(c, task);
        Ok(())
    }

    /// A task ends early (`drop`, `late`, ...): its open phase is cut, and an
    /// instant marks where.
    fn end_task(&mut self, c: u32, task: OpenTask, t: VirtualTime, how: &str) -> io::Result<()> {
        self.phase_span(c, &task, t, Some(how), "")?;
        self.settle(&task);
        if self.drawn(c) && matches!(how, "dropped" | "late") {
            self.instant(CLIENTS_PID, c, t, if how == "dropped" { "drop" } else { "late" }, "task")?;
        }
        Ok(())
    }

    fn settle(&mut self, task: &OpenTask) {
        self.state.in_flight -= task.bytes.min(self.state.in_flight);
        self.state.busy = self.state.busy.saturating_sub(1);
    }

    /// Closes the client's open phase at `e.t` and opens `next` (None: the
    /// task is over).
    fn step(&mut self, e: &Event, c: u32, next: Option<(Phase, u64)>, extra: &str) -> io::Result<()> {
        let Some(mut task) = self.state.tasks.remove(&c) else { return Ok(()) };
        self.phase_span(c, &task, e.t, None, extra)?;
        self.state.in_flight -= task.bytes.min(self.state.in_flight);
        match next {
            Some((phase, bytes)) => {
                self.state.in_flight += bytes;
                task = OpenTask { phase, since: e.t, bytes, ..task };
                self.state.tasks.insert(c, task);
            }
            None => self.state.busy = self.state.busy.saturating_sub(1),
        }
        Ok(())
    }

    /// Secure aggregation's messages: a server message opens the client's
    /// next phase, the client's answer closes it.
    fn secure(&mut self, e: &Event, c: u32, phase: SecAggPhase) -> io::Result<()> {
        let Some(task) = self.state.tasks.get(&c) else { return Ok(()) };
        let (current, since) = (task.phase, task.since);
        let opens = match phase {
            SecAggPhase::KeyList => Some(Phase::ShareKeys),
            SecAggPhase::Shares => Some(Phase::MaskedInput),
            SecAggPhase::Survivors => Some(Phase::UnmaskShares),
            _ => None,
        };
        match opens {
            Some(next) => {
                if current != Phase::Waiting {
                    // A phase still open when the next begins: drawn as cut.
                    let task = OpenTask { phase: current, since, ..task.clone() };
                    self.phase_span(c, &task, e.t, Some("cut"), "")?;
                }
                if let Some(task) = self.state.tasks.get_mut(&c) {
                    (task.phase, task.since) = (next, e.t);
                }
                Ok(())
            }
            None => self.step(e, c, Some((Phase::Waiting, 0)), ""),
        }
    }

    /// Secure aggregation is over for the round: its tasks end.
    fn secure_round_over(&mut self, e: &Event) -> io::Result<()> {
        let name = if e.kind == EventKind::Unmasked { "unmasked" } else { "secagg_abort" };
        self.instant(SERVER_PID, SERVER_TID, e.t, name, "secagg")?;
        let ended: Vec<u32> = self.state.tasks.iter().filter(|(_, t)| t.round == e.round).map(|(&c, _)| c).collect();
        for c in ended {
            if let Some(task) = self.state.tasks.remove(&c) {
                self.end_task(c, task, e.t, "cancelled")?;
            }
        }
        Ok(())
    }
}

impl<W: Write> EventSink for TraceSink<W> {
    fn record(&mut self, e: &Event) -> io::Result<()> {
        if self.state.pending.is_some_and(|p| e.t > p) {
            self.write_counters()?;
        }
        match (e.kind, e.client) {
            (EventKind::Dispatch, Some(c)) => self.dispatch(e, c)?,
            (EventKind::DownloadDone, Some(c)) => self.step(e, c, Some((Phase::Compute, 0)), "")?,
            (EventKind::ComputeDone, Some(c)) => {
                let next =
                    if self.config.secure { (Phase::AdvertiseKeys, 0) } else { (Phase::Upload, self.config.bytes_up) };
                self.step(e, c, Some(next), "")?
            }
            (EventKind::Report, Some(c)) => {
                let extra = match e.detail {
                    Detail::Staleness(s) => format!(",\"staleness\":{s}"),
                    _ => String::new(),
                };
                self.step(e, c, None, &extra)?
            }
            (EventKind::Stale, Some(c)) if self.drawn(c) => self.instant(CLIENTS_PID, c, e.t, "stale", "task")?,
            (EventKind::Drop | EventKind::Late, Some(c)) => {
                if let Some(task) = self.state.tasks.remove(&c) {
                    let how = if e.kind == EventKind::Drop { "dropped" } else { "late" };
                    self.end_task(c, task, e.t, how)?;
                }
            }
            (EventKind::SecAgg(phase), Some(c)) => {
                // Under secure aggregation a task ends with its unmasking
                // shares (or with the round).
                if phase == SecAggPhase::UnmaskShares {
                    self.step(e, c, None, "")?
                } else {
                    self.secure(e, c, phase)?
                }
            }
            (EventKind::Unmasked | EventKind::SecAggAbort, _) => self.secure_round_over(e)?,
            (EventKind::Aggregate, _) => {
                let start = self.state.round_start.take().unwrap_or(self.state.last_close);
                let mut args = format!("{{\"version\":{}", e.round);
                if let Detail::Aggregation { updates, close } = e.detail {
                    args += &format!(",\"updates\":{updates},\"close\":\"{}\"", close.name());
                }
                args.push('}');
                let name = format!("round {}", e.round.saturating_sub(1));
                self.span(SERVER_PID, SERVER_TID, start, e.t, &name, "round", &args)?;
                self.state.last_close = e.t;
                self.state.version = e.round;
            }
            (EventKind::Evaluate, _) => {
                if let Detail::Scores { accuracy, .. } = e.detail {
                    let value = if accuracy.is_finite() { format!("{accuracy:?}") } else { "null".into() };
                    self.counter_raw(e.t, "accuracy", "accuracy", &value)?;
                }
            }
            _ => {}
        }
        if (self.state.in_flight, self.state.busy) != self.state.shown {
            self.state.pending = Some(e.t);
        }
        Ok(())
    }

    fn flush(&mut self) -> io::Result<()> {
        self.out.flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn roster(n: usize) -> Roster {
        Roster::new(vec!["phone".into()], vec![0; n].into(), |_| 10)
    }

    fn ev(t_us: u64, kind: EventKind, c: Option<u32>, round: u64, bytes: u64) -> Event {
        Event::new(VirtualTime::from_nanos(t_us * 1000), kind, c, round).bytes(bytes)
    }

    fn trace(events: &[Event], max_tracks: usize) -> serde_json::Value {
        let config = TraceConfig { max_tracks, bytes_up: 40, secure: false };
        let mut sink = TraceSink::new(Vec::new(), config, roster(4)).unwrap();
        for e in events {
            sink.record(e).unwrap();
        }
        let end = events.last().map_or(VirtualTime::ZERO, |e| e.t);
        serde_json::from_slice(&sink.finish(end).unwrap()).unwrap()
    }

    fn named<'a>(v: &'a serde_json::Value, name: &str) -> Vec<&'a serde_json::Value> {
        v["traceEvents"].as_array().unwrap().iter().filter(|e| e["name"] == name).collect()
    }

    #[test]
    fn a_task_is_three_spans_and_the_counters_follow_it() {
        use EventKind::*;
        let v = trace(
            &[
                ev(0, Dispatch, Some(1), 0, 100),
                ev(0, Dispatch, Some(2), 0, 100),
                ev(5, DownloadDone, Some(1), 0, 100),
                ev(7, DownloadDone, Some(2), 0, 100),
                ev(9, ComputeDone, Some(1), 0, 0),
                ev(10, Drop, Some(2), 0, 0),
                ev(12, Report, Some(1), 0, 40),
                ev(12, Aggregate, None, 1, 0),
            ],
            10,
        );
        let download = named(&v, "download");
        assert_eq!(download.len(), 2);
        assert_eq!((download[0]["ts"].as_f64(), download[0]["dur"].as_f64()), (Some(0.0), Some(5.0)));
        assert_eq!(named(&v, "compute (dropped)").len(), 1);
        assert_eq!(named(&v, "upload")[0]["dur"].as_f64(), Some(3.0));
        assert_eq!(named(&v, "drop").len(), 1);
        assert_eq!(named(&v, "round 0")[0]["args"]["version"], 1);
        let bytes: Vec<(f64, u64)> = named(&v, "bytes in flight")
            .iter()
            .map(|e| (e["ts"].as_f64().unwrap(), e["args"]["bytes"].as_u64().unwrap()))
            .collect();
        // One sample per instant: both dispatches at 0 make one.
        assert_eq!(bytes, [(0.0, 0), (0.0, 200), (5.0, 100), (7.0, 0), (9.0, 40), (12.0, 0)]);
        assert_eq!(v["otherData"]["clients_not_drawn"], 0);
    }

    #[test]
    fn clients_beyond_the_cap_are_counted_not_drawn() {
        use EventKind::*;
        let events: Vec<Event> = (0..4).map(|c| ev(0, Dispatch, Some(c), 0, 10)).collect();
        let v = trace(&events, 2);
        assert_eq!(named(&v, "thread_name").len(), 3, "the server and two clients");
        assert_eq!(named(&v, "download (unfinished)").len(), 2);
        assert_eq!(named(&v, "clients busy").last().unwrap()["args"]["clients"], 4);
        assert_eq!(
            (v["otherData"]["client_tracks"].as_u64(), v["otherData"]["clients_not_drawn"].as_u64()),
            (Some(2), Some(2))
        );
    }

    #[test]
    fn a_resumed_trace_continues_byte_for_byte() {
        use EventKind::*;
        let events = [
            ev(0, Dispatch, Some(1), 0, 100),
            ev(5, DownloadDone, Some(1), 0, 100),
            ev(9, ComputeDone, Some(1), 0, 0),
            ev(12, Report, Some(1), 0, 40),
            ev(12, Aggregate, None, 1, 0),
        ];
        let config = TraceConfig { max_tracks: 5, bytes_up: 40, secure: false };
        let end = VirtualTime::from_nanos(12_000);
        let mut whole = TraceSink::new(Vec::new(), config, roster(4)).unwrap();
        events.iter().for_each(|e| whole.record(e).unwrap());
        let whole = whole.finish(end).unwrap();
        let mut first = TraceSink::new(Vec::new(), config, roster(4)).unwrap();
        events[..2].iter().for_each(|e| first.record(e).unwrap());
        let (len, state) = (first.len(), first.state().clone());
        let kept = first.finish(end).unwrap()[..len as usize].to_vec();
        let mut second = TraceSink::resume(kept, len, config, roster(4), state);
        events[2..].iter().for_each(|e| second.record(e).unwrap());
        assert_eq!(String::from_utf8(second.finish(end).unwrap()).unwrap(), String::from_utf8(whole).unwrap());
    }
}
