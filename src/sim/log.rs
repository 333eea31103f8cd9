//! The event log: every message and state change, in virtual-time order,
//! one JSON object a line (`events.jsonl`, spec section 4).
//!
//! Lines are formatted by hand from integers (time in nanoseconds printed
//! as seconds with nine decimals) so that the same run gives the same bytes
//! on every machine, and so that logging stays cheap at millions of events.

use super::digits::{push_hex, push_u64, LastSecs};
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
        self.push_json_after(line, &mut LastSecs::default());
    }

    /// [`Event::push_json`] for the next line of a log: `last` holds the
    /// previous line's instant, which this line often shares.
    pub fn push_json_after(&self, line: &mut Vec<u8>, last: &mut LastSecs) {
        // One capacity check for the whole line (the longest is under 160 bytes).
        line.reserve(160);
        line.extend_from_slice(b"{\"t\":");
        last.push(line, self.t.as_nanos());
        line.extend_from_slice(b",\"kind\":\"");
        line.extend_from_slice(self.kind.name().as_bytes());
        line.extend_from_slice(b"\",\"client\":");
        match self.client {
            Some(c) => push_u64(line, c.into()),
            None => line.extend_from_slice(b"null"),
        }
        line.extend_from_slice(b",\"round\":");
        push_u64(line, self.round);
        line.extend_from_slice(b",\"bytes\":");
        push_u64(line, self.bytes);
        match self.detail {
            Detail::None => {}
            Detail::Staleness(s) => {
                line.extend_from_slice(b",\"staleness\":");
                push_u64(line, s);
            }
            Detail::Updates(n) => {
                line.extend_from_slice(b",\"updates\":");
                push_u64(line, n.into());
            }
            Detail::Aggregation { updates, close } => {
                line.extend_from_slice(b",\"updates\":");
                push_u64(line, updates.into());
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
                push_u64(line, clients.into());
            }
            Detail::Attack(name) => {
                line.extend_from_slice(b",\"attack\":\"");
                line.extend_from_slice(name.as_bytes());
                line.push(b'"');
            }
            Detail::Digest(d) => {
                line.extend_from_slice(b",\"sha256\":\"");
                push_hex(line, &d);
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

    /// Records several events in order (one lock for all, where the sink
    /// is shared).
    fn record_all(&mut self, events: &[Event]) -> io::Result<()> {
        events.iter().try_for_each(|e| self.record(e))
    }

    /// Writes out whatever is buffered (before a checkpoint and at the end).
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// A sink shared with its owner, who reads it back during and after the
/// run (the recorder's rows, a checkpoint's states), across threads (see
/// [`Batched`]).
impl<S: EventSink> EventSink for std::sync::Arc<std::sync::Mutex<S>> {
    fn record(&mut self, event: &Event) -> io::Result<()> {
        super::lock(self).record(event)
    }

    fn record_all(&mut self, events: &[Event]) -> io::Result<()> {
        super::lock(self).record_all(events)
    }

    fn flush(&mut self) -> io::Result<()> {
        super::lock(self).flush()
    }
}

/// The run's output sinks, fed in batches: the kernel only copies each
/// event into a batch, and a full batch goes to each sink at once (one
/// lock per sink, not per event). On a thread of its own
/// ([`Batched::on_thread`]), formatting and writing the outputs take a
/// second core instead of the kernel's time; [`Batched::inline`] feeds
/// them on the kernel's thread.
///
/// Every sink sees every event, in order. [`EventSink::flush`] returns
/// once everything handed over is recorded and flushed (so the owner may
/// then read the sinks, say for a checkpoint), with the first error any of
/// them gave. Dropping it records what is left (and joins the thread).
///
/// ```
/// use fedsim::sim::{Batched, Event, EventKind, EventSink, VirtualTime};
/// use std::sync::{Arc, Mutex};
/// let seen = Arc::new(Mutex::new(Vec::<Event>::new()));
/// let mut sink = Batched::on_thread(vec![Box::new(seen.clone())]);
/// sink.record(&Event::new(VirtualTime::ZERO, EventKind::Dispatch, Some(3), 0)).unwrap();
/// sink.flush().unwrap();
/// assert_eq!(seen.lock().unwrap()[0].client, Some(3));
/// ```
pub struct Batched {
    batch: Vec<Event>,
    feed: Feed,
}

/// Where full batches go.
enum Feed {
    Inline(Vec<Box<dyn EventSink + Send>>),
    Thread {
        tx: Option<crossbeam::channel::Sender<Handover>>,
        acks: crossbeam::channel::Receiver<io::Result<()>>,
        thread: Option<std::thread::JoinHandle<()>>,
    },
}

enum Handover {
    Events(Vec<Event>),
    /// Flush every sink and acknowledge.
    Flush,
}

fn record_batch(sinks: &mut [Box<dyn EventSink + Send>], events: &[Event]) -> io::Result<()> {
    sinks.iter_mut().try_for_each(|s| s.record_all(events))
}

impl Batched {
    /// Events per batch.
    const BATCH: usize = 1024;

    /// Feeds `sinks` on the calling thread.
    pub fn inline(sinks: Vec<Box<dyn EventSink + Send>>) -> Self {
        Batched { batch: Vec::with_capacity(Self::BATCH), feed: Feed::Inline(sinks) }
    }

    /// Feeds `sinks` on a thread of their own.
    pub fn on_thread(mut sinks: Vec<Box<dyn EventSink + Send>>) -> Self {
        // A few batches in flight at most: a kernel faster than the
        // writing waits rather than piling events up in memory.
        let (tx, rx) = crossbeam::channel::bounded::<Handover>(4);
        let (ack_tx, acks) = crossbeam::channel::bounded(1);
        let thread = std::thread::spawn(move || {
            let mut failed: Option<io::Error> = None;
            for handover in rx {
                match handover {
                    Handover::Events(events) => {
                        if failed.is_none() {
                            failed = record_batch(&mut sinks, &events).err();
                        }
                    }
                    Handover::Flush => {
                        let result = match failed.take() {
                            Some(err) => Err(err),
                            None => sinks.iter_mut().try_for_each(|s| s.flush()),
                        };
                        if ack_tx.send(result).is_err() {
                            return;
                        }
                    }
                }
            }
            // Dropped: what was handed over is recorded; write it out.
            if failed.is_none() {
                let _ = sinks.iter_mut().try_for_each(|s| s.flush());
            }
        });
        let feed = Feed::Thread { tx: Some(tx), acks, thread: Some(thread) };
        Batched { batch: Vec::with_capacity(Self::BATCH), feed }
    }

    fn hand_over(&mut self) -> io::Result<()> {
        if self.batch.is_empty() {
            return Ok(());
        }
        match &mut self.feed {
            Feed::Inline(sinks) => {
                let result = record_batch(sinks, &self.batch);
                self.batch.clear();
                result
            }
            Feed::Thread { tx, .. } => {
                let events = std::mem::replace(&mut self.batch, Vec::with_capacity(Self::BATCH));
                send(tx, Handover::Events(events))
            }
        }
    }
}

fn send(tx: &Option<crossbeam::channel::Sender<Handover>>, h: Handover) -> io::Result<()> {
    let gone = || io::Error::other("the output thread stopped");
    tx.as_ref().ok_or_else(gone)?.send(h).map_err(|_| gone())
}

impl EventSink for Batched {
    fn record(&mut self, event: &Event) -> io::Result<()> {
        self.batch.push(*event);
        if self.batch.len() >= Self::BATCH {
            self.hand_over()?;
        }
        Ok(())
    }

    fn flush(&mut self) -> io::Result<()> {
        self.hand_over()?;
        match &mut self.feed {
            Feed::Inline(sinks) => sinks.iter_mut().try_for_each(|s| s.flush()),
            Feed::Thread { tx, acks, .. } => {
                send(tx, Handover::Flush)?;
                acks.recv().map_err(|_| io::Error::other("the output thread stopped"))?
            }
        }
    }
}

impl Drop for Batched {
    fn drop(&mut self) {
        let _ = self.hand_over();
        if let Feed::Thread { tx, thread, .. } = &mut self.feed {
            *tx = None;
            if let Some(t) = thread.take() {
                let _ = t.join();
            }
        }
    }
}

/// The write size of a large output file (the event log, the tables, the
/// audit trail, the trace): a long run's files are tens of megabytes, and
/// the file system takes them in 1 MiB writes about a third faster than in
/// 64 KiB ones (`cargo bench --bench core -- outputs`: the 57 MB log of the
/// throughput workload in 33 ms against 41 ms).
pub const WRITE_CHUNK: usize = 1 << 20;

/// Writes JSON lines, in chunks of about [`WRITE_CHUNK`].
pub struct JsonLines<W: Write> {
    out: W,
    buf: Vec<u8>,
    /// Bytes handed to `out` so far (a checkpoint records it, so a resumed
    /// run can cut the log back to that point).
    written: u64,
    last: LastSecs,
}

impl<W: Write> JsonLines<W> {
    pub fn new(out: W) -> Self {
        JsonLines { out, buf: Vec::with_capacity(WRITE_CHUNK + 256), written: 0, last: LastSecs::default() }
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
        event.push_json_after(&mut self.buf, &mut self.last);
        if self.buf.len() >= WRITE_CHUNK {
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
    use std::sync::{Arc, Mutex};

    /// A sink that fails on its `n`-th event.
    struct FailAt(usize);

    impl EventSink for FailAt {
        fn record(&mut self, _e: &Event) -> io::Result<()> {
            self.0 = self.0.checked_sub(1).ok_or_else(|| io::Error::other("disk full"))?;
            Ok(())
        }
    }

    #[test]
    fn batched_sinks_see_every_event_in_order_and_report_errors_at_flush() {
        let events: Vec<Event> = (0..5000u64)
            .map(|i| Event::new(VirtualTime::from_nanos(i), EventKind::Report, Some(i as u32), i))
            .collect();
        for threaded in [false, true] {
            let (a, b) = (Arc::new(Mutex::new(Vec::new())), Arc::new(Mutex::new(Vec::new())));
            let sinks: Vec<Box<dyn EventSink + Send>> = vec![Box::new(a.clone()), Box::new(b.clone())];
            let mut sink = if threaded { Batched::on_thread(sinks) } else { Batched::inline(sinks) };
            for (i, e) in events[..3000].iter().enumerate() {
                sink.record(e).unwrap();
                if !threaded && i + 1 == Batched::BATCH - 1 {
                    // Inline, a sink sees nothing until a batch is full.
                    assert!(a.lock().unwrap().is_empty());
                }
                if !threaded && i + 1 == Batched::BATCH {
                    assert_eq!(*a.lock().unwrap(), events[..Batched::BATCH]);
                }
            }
            sink.flush().unwrap();
            // After a flush the owner reads everything handed over so far.
            assert_eq!(*a.lock().unwrap(), events[..3000]);
            for e in &events[3000..] {
                sink.record(e).unwrap();
            }
            drop(sink);
            assert_eq!(*a.lock().unwrap(), events, "threaded: {threaded}");
            assert_eq!(*b.lock().unwrap(), events);

            let sinks: Vec<Box<dyn EventSink + Send>> = vec![Box::new(FailAt(1500))];
            let mut failing = if threaded { Batched::on_thread(sinks) } else { Batched::inline(sinks) };
            let recorded = events.iter().try_for_each(|e| failing.record(e)).and_then(|_| failing.flush());
            assert_eq!(recorded.unwrap_err().to_string(), "disk full");
        }
    }

    /// A shared sink's owner reads what was recorded through its clone,
    /// one event at a time or several.
    #[test]
    fn a_shared_sink_records_through_its_clones() {
        let e = |i| Event::new(VirtualTime::from_nanos(i), EventKind::Report, Some(i as u32), i);
        let owner = Arc::new(Mutex::new(Vec::new()));
        let mut clone = owner.clone();
        clone.record(&e(1)).unwrap();
        clone.record_all(&[e(2), e(3)]).unwrap();
        clone.flush().unwrap();
        assert_eq!(*owner.lock().unwrap(), [e(1), e(2), e(3)]);
    }

    /// The log reaches its writer in chunks of 1 MiB, not a write per
    /// line (the writer is a file: a call per line would cost a system call
    /// per event).
    #[test]
    fn a_json_log_writes_in_chunks_of_1_mib() {
        use std::{cell::RefCell, rc::Rc};
        struct Calls(Rc<RefCell<Vec<usize>>>);
        impl Write for Calls {
            fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
                self.0.borrow_mut().push(buf.len());
                Ok(buf.len())
            }
            fn flush(&mut self) -> io::Result<()> {
                Ok(())
            }
        }
        let calls = Rc::new(RefCell::new(Vec::new()));
        let mut log = JsonLines::new(Calls(calls.clone()));
        let e = Event::new(VirtualTime::from_secs_f64(1.5), EventKind::Report, Some(3), 2);
        log.record(&e).unwrap();
        let line = log.len();
        while log.len() + line < WRITE_CHUNK as u64 {
            log.record(&e).unwrap();
        }
        assert!(calls.borrow().is_empty(), "nothing written before 1 MiB");
        log.record(&e).unwrap();
        assert_eq!(*calls.borrow(), [log.len() as usize]);
        assert!(log.len() >= WRITE_CHUNK as u64);
    }

    /// `len` counts every byte of the log, in the file or still buffered,
    /// and a resumed log counts on from the bytes already in the file (a
    /// checkpoint records it, and a later resume cuts the file there).
    #[test]
    fn a_json_log_counts_its_bytes_written_buffered_and_carried_over() {
        let e = Event::new(VirtualTime::from_secs_f64(1.5), EventKind::Report, Some(3), 2).bytes(40);
        let mut line = Vec::new();
        e.write_json(&mut line).unwrap();
        let n = line.len() as u64;

        let mut log = JsonLines::new(Vec::new());
        assert!(log.is_empty());
        log.record(&e).unwrap();
        assert!(!log.is_empty());
        assert_eq!(log.len(), n, "one line, buffered");
        log.flush().unwrap();
        log.record(&e).unwrap();
        assert_eq!(log.len(), 2 * n, "one line written, one buffered");
        assert_eq!(log.finish().unwrap().len() as u64, 2 * n);

        let mut resumed = JsonLines::resume(Vec::new(), 1000);
        assert!(!resumed.is_empty());
        assert_eq!(resumed.len(), 1000);
        resumed.record(&e).unwrap();
        resumed.flush().unwrap();
        assert_eq!(resumed.len(), 1000 + n);
    }

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
