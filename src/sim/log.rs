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
    /// Differential privacy: the epsilon spent so far, after a release.
    Epsilon,
    /// The new model version's SHA-256 (the last event of an aggregation;
    /// the audit trail writes its record on it).
    Model,
    /// A secure-aggregation message arrives (bytes: its size).
    SecAgg(SecAggPhase),
    /// Secure aggregation: the round's sum is unmasked (`updates`: how
    /// many masked inputs it sums).
    Unmasked,
    /// Secure aggregation: too few clients are left to unmask the round's
    /// sum; the model stays as it was.
    SecAggAbort,
    /// At time 0, once per attacking client (`clients.byzantine`), with
    /// its `attack`.
    Byzantine,
    /// A scheduled fault (`faults:`) starts: its kind and how many
    /// clients it hits.
    FaultStart,
    /// A scheduled fault ends.
    FaultEnd,
    /// An update or the global model held NaN or infinity: the run stops
    /// (`client`: whose update, null for the server's model).
    Diverged,
}

/// The messages of secure aggregation's four rounds (Bonawitz et al.
/// 2017), in protocol order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub enum SecAggPhase {
    /// Client to server: its two public keys.
    AdvertiseKeys,
    /// Server to client: every participant's public keys.
    KeyList,
    /// Client to server: its encrypted Shamir shares, one per peer.
    ShareKeys,
    /// Server to client: the shares addressed to it.
    Shares,
    /// Client to server: its masked, fixed-point update.
    MaskedInput,
    /// Server to client: who sent a masked input.
    Survivors,
    /// Client to server: the shares that unmask the sum.
    UnmaskShares,
}

impl SecAggPhase {
    pub fn name(self) -> &'static str {
        match self {
            SecAggPhase::AdvertiseKeys => "advertise_keys",
            SecAggPhase::KeyList => "key_list",
            SecAggPhase::ShareKeys => "share_keys",
            SecAggPhase::Shares => "shares",
            SecAggPhase::MaskedInput => "masked_input",
            SecAggPhase::Survivors => "survivors",
            SecAggPhase::UnmaskShares => "unmask_shares",
        }
    }

    /// Whether the message leaves a client (else it leaves the server).
    pub fn from_client(self) -> bool {
        matches!(
            self,
            SecAggPhase::AdvertiseKeys | SecAggPhase::ShareKeys | SecAggPhase::MaskedInput | SecAggPhase::UnmaskShares
        )
    }
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
            EventKind::Epsilon => "epsilon",
            EventKind::Model => "model",
            EventKind::SecAgg(phase) => phase.name(),
            EventKind::Unmasked => "unmasked",
            EventKind::SecAggAbort => "secagg_abort",
            EventKind::Byzantine => "byzantine",
            EventKind::FaultStart => "fault_start",
            EventKind::FaultEnd => "fault_end",
            EventKind::Diverged => "diverged",
        }
    }
}

/// Why a round ended and the model version advanced (the `close` field of
/// an `aggregate` event).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub enum RoundClose {
    /// Sync: every selected client reported or dropped out.
    AllReported,
    /// Sync: `clients_per_round` reports arrived (over-selection's extras
    /// are cut off as late).
    Quorum,
    /// Sync: the round's deadline passed.
    Deadline,
    /// Sync with Poisson selection: nobody joined the round; the model
    /// advances unchanged.
    Empty,
    /// Async: an update (FedAsync) or a full buffer of them (FedBuff) was
    /// folded in.
    Update,
    /// The run stopped (virtual time, exhaustion, interruption) with
    /// tasks open: what the server held was aggregated at that instant.
    Stop,
    /// The run diverged: the model goes back to the latest one that
    /// evaluates to finite scores.
    Diverged,
}

impl RoundClose {
    pub fn name(self) -> &'static str {
        match self {
            RoundClose::AllReported => "all_reported",
            RoundClose::Quorum => "quorum",
            RoundClose::Deadline => "deadline",
            RoundClose::Empty => "empty",
            RoundClose::Update => "update",
            RoundClose::Stop => "stop",
            RoundClose::Diverged => "diverged",
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
    /// `unmasked`: how many masked inputs the sum holds.
    Updates(u32),
    /// `aggregate`: how many updates went into the new version, and why the
    /// round closed.
    Aggregation { updates: u32, close: RoundClose },
    /// `evaluate`: test accuracy, loss and macro F1.
    Scores { accuracy: f64, loss: f64, macro_f1: f64 },
    /// `epsilon`: the privacy spent so far (None: unbounded, as with no
    /// noise; written as null).
    Epsilon(Option<f64>),
    /// `model`: the SHA-256 of the parameters (little-endian f64 bytes).
    Digest([u8; 32]),
    /// `byzantine`: the attack's name.
    Attack(&'static str),
    /// `fault_start`, `fault_end`: the fault's kind and the clients it hits.
    Fault { kind: &'static str, clients: u32 },
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
        let mut line = Vec::with_capacity(128);
        self.push_json(&mut line);
        w.write_all(&line)
    }

    /// Appends the JSON line to `line`. The log is on the hot path of every
    /// message: bytes are assembled by hand, several times cheaper than
    /// `write!`.
    pub fn push_json(&self, line: &mut Vec<u8>) {
        let mut num = itoa::Buffer::new();
        // One capacity check for the whole line (the longest is under 160 bytes).
        line.reserve(160);
        line.extend_from_slice(b"{\"t\":");
        self.t.push_secs(line);
        line.extend_from_slice(b",\"kind\":\"");
        line.extend_from_slice(self.kind.name().as_bytes());
        line.extend_from_slice(b"\",\"client\":");
        match self.client {
            Some(c) => line.extend_from_slice(num.format(c).as_bytes()),
            None => line.extend_from_slice(b"null"),
        }
        line.extend_from_slice(b",\"round\":");
        line.extend_from_slice(num.format(self.round).as_bytes());
        line.extend_from_slice(b",\"bytes\":");
        line.extend_from_slice(num.format(self.bytes).as_bytes());
        match self.detail {
            Detail::None => {}
            Detail::Staleness(s) => {
                line.extend_from_slice(b",\"staleness\":");
                line.extend_from_slice(num.format(s).as_bytes());
            }
            Detail::Updates(n) => {
                line.extend_from_slice(b",\"updates\":");
                line.extend_from_slice(num.format(n).as_bytes());
            }
            Detail::Aggregation { updates, close } => {
                line.extend_from_slice(b",\"updates\":");
                line.extend_from_slice(num.format(updates).as_bytes());
                line.extend_from_slice(b",\"close\":\"");
                line.extend_from_slice(close.name().as_bytes());
                line.push(b'"');
            }
            // Debug formatting of f64 is the shortest round-trip form: stable.
            Detail::Scores { accuracy, loss, macro_f1 } => {
                let _ = write!(line, ",\"accuracy\":{accuracy:?},\"loss\":{loss:?},\"macro_f1\":{macro_f1:?}");
            }
            Detail::Epsilon(Some(e)) => {
                let _ = write!(line, ",\"epsilon\":{e:?}");
            }
            Detail::Epsilon(None) => line.extend_from_slice(b",\"epsilon\":null"),
            Detail::Fault { kind, clients } => {
                line.extend_from_slice(b",\"fault\":\"");
                line.extend_from_slice(kind.as_bytes());
                line.extend_from_slice(b"\",\"clients\":");
                line.extend_from_slice(num.format(clients).as_bytes());
            }
            Detail::Attack(name) => {
                line.extend_from_slice(b",\"attack\":\"");
                line.extend_from_slice(name.as_bytes());
                line.push(b'"');
            }
            Detail::Digest(d) => {
                line.extend_from_slice(b",\"sha256\":\"");
                let at = line.len();
                line.resize(at + 64, 0);
                hex::encode_to_slice(d, &mut line[at..]).expect("64 hex digits for 32 bytes");
                line.push(b'"');
            }
        }
        line.extend_from_slice(b"}\n");
    }
}

/// A subscriber to the run's one stream of events: the event log, the
/// metrics recorder, the audit trail, the trace and the per-client and
/// per-round tables.
pub trait EventSink {
    fn record(&mut self, event: &Event) -> io::Result<()>;

    /// Writes out whatever is buffered (before a checkpoint and at the end).
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// A sink shared with its owner, who reads it back after the run (the
/// recorder's rows).
impl<S: EventSink> EventSink for std::rc::Rc<std::cell::RefCell<S>> {
    fn record(&mut self, event: &Event) -> io::Result<()> {
        self.borrow_mut().record(event)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.borrow_mut().flush()
    }
}

/// Writes JSON lines, in chunks of about 64 KiB.
pub struct JsonLines<W: Write> {
    out: W,
    buf: Vec<u8>,
    /// Bytes handed to `out` so far (a checkpoint records it, so a resumed
    /// run can cut the log back to that point).
    written: u64,
}

impl<W: Write> JsonLines<W> {
    const CHUNK: usize = 64 * 1024;

    pub fn new(out: W) -> Self {
        JsonLines { out, buf: Vec::with_capacity(Self::CHUNK + 256), written: 0 }
    }

    /// Continues a log of which `written` bytes are already in `out`.
    pub fn resume(out: W, written: u64) -> Self {
        JsonLines { written, ..Self::new(out) }
    }

    /// Bytes written so far, buffered ones included.
    pub fn len(&self) -> u64 {
        self.written + self.buf.len() as u64
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Writes what is buffered and returns the writer.
    pub fn finish(mut self) -> io::Result<W> {
        EventSink::flush(&mut self)?;
        Ok(self.out)
    }
}

impl<W: Write> EventSink for JsonLines<W> {
    fn record(&mut self, event: &Event) -> io::Result<()> {
        event.push_json(&mut self.buf);
        if self.buf.len() >= Self::CHUNK {
            self.flush()?;
        }
        Ok(())
    }

    fn flush(&mut self) -> io::Result<()> {
        self.out.write_all(&self.buf)?;
        self.out.flush()?;
        self.written += self.buf.len() as u64;
        self.buf.clear();
        Ok(())
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

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        /// The hand-written line says what `Display` and serde_json would.
        #[test]
        fn lines_are_valid_json_with_exact_times(ns in any::<u64>(), client in proptest::option::of(any::<u32>()), round in any::<u64>(), bytes in any::<u64>(), s in any::<u64>()) {
            let e = Event::new(VirtualTime::from_nanos(ns), EventKind::Report, client, round).bytes(bytes).detail(Detail::Staleness(s));
            let mut out = Vec::new();
            e.write_json(&mut out).unwrap();
            let text = String::from_utf8(out).unwrap();
            let head = format!("{{\"t\":{},", e.t);
            prop_assert!(text.starts_with(&head), "{} vs {}", text, head);
            let v: serde_json::Value = serde_json::from_str(&text).unwrap();
            prop_assert_eq!(&v["client"], &serde_json::json!(client));
            prop_assert_eq!(v["round"].as_u64(), Some(round));
            prop_assert_eq!(v["bytes"].as_u64(), Some(bytes));
            prop_assert_eq!(v["staleness"].as_u64(), Some(s));
        }
    }
}
