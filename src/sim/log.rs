//! The event log: every message and state change, in virtual-time order,
//! one JSON object a line (`events.jsonl`, spec section 4).
//!
//! Lines are formatted by hand from integers (time in nanoseconds printed
//! as seconds with nine decimals) so that the same run gives the same bytes
//! on every machine, and so that logging stays cheap at millions of events.

use super::time::VirtualTime;
use std::io::{self, Write};

/// What happened.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum EventKind {
    /// The server sends the model to a client (bytes: the download).
    Dispatch,
    /// The model has reached the client.
    DownloadDone,
    /// The client has finished local training.
    ComputeDone,
    /// An update reaches the server (bytes: the upload).
    Report,
    /// A client vanishes mid-task.
    Drop,
    /// A task cancelled at a sync round's close.
    Late,
    /// An update discarded as too stale (async strategies).
    Stale,
    /// The server's model version advances.
    Aggregate,
    /// The server evaluates its model on the test set.
    Evaluate,
}

impl EventKind {
    pub fn name(self) -> &'static str {
        match self {
            EventKind::Dispatch => "dispatch",
            EventKind::DownloadDone => "download_done",
            EventKind::ComputeDone => "compute_done",
            EventKind::Report => "report",
            EventKind::Drop => "drop",
            EventKind::Late => "late",
            EventKind::Stale => "stale",
            EventKind::Aggregate => "aggregate",
            EventKind::Evaluate => "evaluate",
        }
    }
}

/// Extra fields some kinds carry.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub enum Detail {
    #[default]
    None,
    /// `report`/`stale`: server version now minus the client's start version.
    Staleness(u64),
    /// `aggregate`: how many updates went into the new version.
    Updates(u32),
    /// `evaluate`: test accuracy and loss.
    Scores { accuracy: f64, loss: f64 },
}

/// One line of `events.jsonl`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Event {
    pub t: VirtualTime,
    pub kind: EventKind,
    /// `None` for the server.
    pub client: Option<u32>,
    /// The server version the event belongs to.
    pub round: u64,
    pub bytes: u64,
    pub detail: Detail,
}

impl Event {
    pub fn new(t: VirtualTime, kind: EventKind, client: Option<u32>, round: u64) -> Self {
        Event { t, kind, client, round, bytes: 0, detail: Detail::None }
    }

    pub fn bytes(mut self, bytes: u64) -> Self {
        self.bytes = bytes;
        self
    }

    pub fn detail(mut self, detail: Detail) -> Self {
        self.detail = detail;
        self
    }

    /// Writes the event as one JSON line.
    ///
    /// ```
    /// use fedsim::sim::{Event, EventKind, VirtualTime};
    /// let mut out = Vec::new();
    /// Event::new(VirtualTime::from_nanos(1_500_000_000), EventKind::Report, Some(3), 2)
    ///     .bytes(2600)
    ///     .write_json(&mut out)
    ///     .unwrap();
    /// assert_eq!(
    ///     String::from_utf8(out).unwrap(),
    ///     "{\"t\":1.500000000,\"kind\":\"report\",\"client\":3,\"round\":2,\"bytes\":2600}\n"
    /// );
    /// ```
    pub fn write_json(&self, w: &mut impl Write) -> io::Result<()> {
        write!(w, "{{\"t\":{},\"kind\":\"{}\",\"client\":", self.t, self.kind.name())?;
        match self.client {
            Some(c) => write!(w, "{c}")?,
            None => w.write_all(b"null")?,
        }
        write!(w, ",\"round\":{},\"bytes\":{}", self.round, self.bytes)?;
        match self.detail {
            Detail::None => {}
            Detail::Staleness(s) => write!(w, ",\"staleness\":{s}")?,
            Detail::Updates(n) => write!(w, ",\"updates\":{n}")?,
            // Debug formatting of f64 is the shortest round-trip form: stable.
            Detail::Scores { accuracy, loss } => write!(w, ",\"accuracy\":{accuracy:?},\"loss\":{loss:?}")?,
        }
        w.write_all(b"}\n")
    }
}

/// Where events go.
pub trait EventSink {
    fn record(&mut self, event: &Event) -> io::Result<()>;
}

/// Writes JSON lines.
pub struct JsonLines<W: Write>(pub W);

impl<W: Write> EventSink for JsonLines<W> {
    fn record(&mut self, event: &Event) -> io::Result<()> {
        event.write_json(&mut self.0)
    }
}

/// Keeps events in memory (tests, small runs).
impl EventSink for Vec<Event> {
    fn record(&mut self, event: &Event) -> io::Result<()> {
        self.push(*event);
        Ok(())
    }
}

/// Discards events.
pub struct NoLog;

impl EventSink for NoLog {
    fn record(&mut self, _event: &Event) -> io::Result<()> {
        Ok(())
    }
}
