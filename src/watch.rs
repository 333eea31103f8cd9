//! `fedsim watch`: a run paced against the wall clock, drawn live in the
//! terminal (ratatui).
//!
//! The view's state is a plain struct, [`LiveState`], fed by an
//! [`EventSink`] ([`LiveSink`]) added after the run's own sinks: it reads
//! events and never writes to the run, so a watched run leaves the same
//! folder, byte for byte, as `fedsim run` (`wall_time_s` aside). The state
//! is shared (`Arc<Mutex<..>>`) with a drawing thread that owns the
//! terminal and the keys: space pauses the paced clock ([`Pace`]), `+`/`-`
//! double or halve the speed, `q` (or Ctrl-C) stops the run as Ctrl-C does
//! in `fedsim run` (a resumable, whole run folder).

use crate::net::AvailabilityModel;
use crate::report::INTERRUPT;
use crate::run::{self, Hooks, RunOptions, RunResult};
use crate::scenario::{Availability, Scenario};
use crate::sim::{Event, EventKind, EventSink, Pace, RealTime, SeedTree, VirtualTime};
use ratatui::backend::{Backend, TestBackend};
use ratatui::buffer::Buffer;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Paragraph, Sparkline};
use ratatui::{Frame, Terminal};
use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// Without `--realtime`: a run whose length is known (`stop.virtual_time_s`)
/// lasts about this long on the wall clock.
pub const TARGET_WALL_S: f64 = 10.0;
/// Without `--realtime` or `stop.virtual_time_s`: virtual seconds per wall
/// second (the bundled scenarios then last 1 to 20 seconds).
pub const DEFAULT_SPEED: f64 = 3.0;

/// The speed-up `fedsim watch` uses without `--realtime`.
pub fn default_speed(scenario: &Scenario) -> f64 {
    match scenario.stop.virtual_time_s {
        Some(v) if v > 0.0 => (v / TARGET_WALL_S).max(0.1),
        _ => DEFAULT_SPEED,
    }
}

/// What a client is doing, as the view colours it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    Idle,
    Download,
    Compute,
    Upload,
    /// Vanished mid-task (until its next task).
    Dropped,
    /// Idle and outside its availability window (never for `always`).
    Offline,
}

impl Phase {
    pub const ALL: [Phase; 6] =
        [Phase::Idle, Phase::Download, Phase::Compute, Phase::Upload, Phase::Dropped, Phase::Offline];

    pub fn name(self) -> &'static str {
        match self {
            Phase::Idle => "idle",
            Phase::Download => "download",
            Phase::Compute => "compute",
            Phase::Upload => "upload",
            Phase::Dropped => "dropped",
            Phase::Offline => "offline",
        }
    }

    pub fn colour(self) -> Color {
        match self {
            Phase::Idle => Color::DarkGray,
            Phase::Download => Color::Blue,
            Phase::Compute => Color::Yellow,
            Phase::Upload => Color::Magenta,
            Phase::Dropped => Color::Red,
            Phase::Offline => Color::Gray,
        }
    }

    /// The cell's symbol: a block, a dot when offline.
    pub fn symbol(self) -> &'static str {
        match self {
            Phase::Offline => "·",
            _ => "■",
        }
    }
}

/// The view's state, updated event by event.
#[derive(Debug, Clone)]
pub struct LiveState {
    pub name: String,
    phases: Vec<Phase>,
    /// Download bytes in flight, by client.
    downloads: HashMap<u32, u64>,
    download_bytes: u64,
    /// Clients uploading now.
    uploads: u64,
    /// The size of an upload, learnt from the first report (every upload
    /// of a run has the same size).
    upload_size: Option<u64>,
    /// The server's model version.
    pub version: u64,
    /// The time of the last event.
    pub t: VirtualTime,
    /// (model version, test accuracy) of every evaluation.
    pub accuracy: Vec<(u64, f64)>,
    pub events: u64,
}

impl LiveState {
    pub fn new(name: &str, clients: usize) -> Self {
        LiveState {
            name: name.to_string(),
            phases: vec![Phase::Idle; clients],
            downloads: HashMap::new(),
            download_bytes: 0,
            uploads: 0,
            upload_size: None,
            version: 0,
            t: VirtualTime::ZERO,
            accuracy: Vec::new(),
            events: 0,
        }
    }

    pub fn clients(&self) -> usize {
        self.phases.len()
    }

    /// Client `c`'s phase as the events have it (never `Offline`).
    pub fn phase(&self, c: u32) -> Phase {
        self.phases.get(c as usize).copied().unwrap_or(Phase::Idle)
    }

    /// Bytes on the wire now: the downloads under way, and the uploads
    /// under way at the size of an upload (0 until the first report).
    pub fn bytes_in_flight(&self) -> u64 {
        self.download_bytes + self.uploads * self.upload_size.unwrap_or(0)
    }

    /// Downloads and uploads under way.
    pub fn transfers(&self) -> (usize, u64) {
        (self.downloads.len(), self.uploads)
    }

    /// Ends whatever transfer client `c` has under way and sets its phase.
    fn set(&mut self, c: u32, phase: Phase) {
        let Some(slot) = self.phases.get_mut(c as usize) else { return };
        match *slot {
            Phase::Download => {
                self.download_bytes -= self.downloads.remove(&c).unwrap_or(0);
            }
            Phase::Upload => self.uploads -= 1,
            _ => {}
        }
        *slot = phase;
    }

    pub fn apply(&mut self, e: &Event) {
        self.events += 1;
        self.t = self.t.max(e.t);
        self.version = self.version.max(e.round);
        let Some(c) = e.client else {
            if let (EventKind::Evaluate, crate::sim::Detail::Scores { accuracy, .. }) = (e.kind, e.detail) {
                self.accuracy.push((e.round, accuracy));
            }
            return;
        };
        match e.kind {
            EventKind::Dispatch => {
                self.set(c, Phase::Download);
                if (c as usize) < self.phases.len() {
                    self.downloads.insert(c, e.bytes);
                    self.download_bytes += e.bytes;
                }
            }
            EventKind::DownloadDone => self.set(c, Phase::Compute),
            EventKind::ComputeDone => {
                self.set(c, Phase::Upload);
                if (c as usize) < self.phases.len() {
                    self.uploads += 1;
                }
            }
            EventKind::Report => {
                self.upload_size.get_or_insert(e.bytes);
                self.set(c, Phase::Idle);
            }
            // A secure-aggregation upload ends with its masked input.
            EventKind::SecAgg(crate::sim::SecAggPhase::MaskedInput) if self.phase(c) == Phase::Upload => {
                self.upload_size.get_or_insert(e.bytes);
                self.set(c, Phase::Idle);
            }
            EventKind::Drop => self.set(c, Phase::Dropped),
            EventKind::Late => self.set(c, Phase::Idle),
            _ => {}
        }
    }
}

/// Feeds a shared [`LiveState`]: the run's extra sink.
pub struct LiveSink(pub Arc<Mutex<LiveState>>);

impl EventSink for LiveSink {
    fn record(&mut self, event: &Event) -> std::io::Result<()> {
        self.0.lock().unwrap_or_else(|e| e.into_inner()).apply(event);
        Ok(())
    }
}

/// Where the run stands, for the header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    Running,
    Paused,
    Stopping,
    Finished,
}

/// What a frame shows besides the state.
pub struct View<'a> {
    pub state: &'a LiveState,
    /// Virtual time now (seconds), from the paced clock.
    pub t: f64,
    pub speed: f64,
    pub status: Status,
    /// Availability, to show idle clients outside their window as offline
    /// (None: `always`).
    pub availability: Option<&'a AvailabilityModel>,
}

/// Bytes as B, kB, MB or GB.
fn human_bytes(b: u64) -> String {
    let b = b as f64;
    match b {
        b if b >= 1e9 => format!("{:.2} GB", b / 1e9),
        b if b >= 1e6 => format!("{:.2} MB", b / 1e6),
        b if b >= 1e3 => format!("{:.1} kB", b / 1e3),
        b => format!("{b} B"),
    }
}

/// Draws one frame.
pub fn draw(frame: &mut Frame, view: &View) {
    let s = view.state;
    let [head, spark, grid, legend] =
        Layout::vertical([Constraint::Length(4), Constraint::Length(6), Constraint::Min(3), Constraint::Length(1)])
            .areas(frame.area());
    let status = match view.status {
        Status::Running => Span::styled("running", Style::new().fg(Color::Green)),
        Status::Paused => Span::styled("PAUSED", Style::new().fg(Color::Yellow).add_modifier(Modifier::BOLD)),
        Status::Stopping => Span::styled("stopping…", Style::new().fg(Color::Red)),
        Status::Finished => Span::styled("finished (any key to exit)", Style::new().fg(Color::Green)),
    };
    let (down, up) = s.transfers();
    let last = s.accuracy.last().map_or("-".to_string(), |&(_, a)| format!("{a:.4}"));
    let header = vec![
        Line::from(vec![
            Span::styled(format!("model version {}", s.version), Style::new().add_modifier(Modifier::BOLD)),
            Span::raw(format!("   t = {:.1} s   speed ×{}   ", view.t.max(s.t.as_secs_f64()), fmt_speed(view.speed))),
            status,
        ]),
        Line::from(format!(
            "bytes in flight {} ({down} downloads, {up} uploads)   accuracy {last}   events {}",
            human_bytes(s.bytes_in_flight()),
            s.events
        )),
    ];
    let title = format!(" fedsim watch: {} ", s.name);
    let keys = Line::from(" space pause · +/- speed · q quit ").right_aligned();
    let block = Block::new().borders(Borders::ALL).title(title).title_bottom(keys);
    frame.render_widget(Paragraph::new(header).block(block), head);

    let spark_block =
        Block::new().borders(Borders::ALL).title(format!(" accuracy ({} evaluations) ", s.accuracy.len()));
    let width = spark_block.inner(spark).width as usize;
    let points: Vec<u64> = s.accuracy[s.accuracy.len().saturating_sub(width)..]
        .iter()
        .map(|&(_, a)| (a.clamp(0.0, 1.0) * 1000.0).round() as u64)
        .collect();
    frame.render_widget(
        Sparkline::default().block(spark_block).data(&points).max(1000).style(Style::new().fg(Color::Green)),
        spark,
    );

    let m = s.clients();
    let block = Block::new().borders(Borders::ALL);
    let inner = block.inner(grid);
    let cols = (inner.width / 2) as usize;
    let shown = m.min(cols * inner.height as usize);
    frame.render_widget(block.title(format!(" {shown} of {m} clients shown ")), grid);
    let t = VirtualTime::from_secs_f64(view.t.max(s.t.as_secs_f64()));
    let buf = frame.buffer_mut();
    for c in 0..shown {
        let mut phase = s.phase(c as u32);
        if phase == Phase::Idle && view.availability.is_some_and(|a| !a.is_available(c as u32, t)) {
            phase = Phase::Offline;
        }
        let x = inner.x + (c % cols) as u16 * 2;
        let y = inner.y + (c / cols) as u16;
        if let Some(cell) = buf.cell_mut((x, y)) {
            cell.set_symbol(phase.symbol()).set_fg(phase.colour());
        }
    }

    let mut spans = Vec::new();
    for p in Phase::ALL {
        if p == Phase::Offline && view.availability.is_none() {
            continue;
        }
        spans.push(Span::styled(format!("{} ", p.symbol()), Style::new().fg(p.colour())));
        spans.push(Span::raw(format!("{}  ", p.name())));
    }
    frame.render_widget(Paragraph::new(Line::from(spans)), legend);
}

fn fmt_speed(speed: f64) -> String {
    if speed >= 10.0 {
        format!("{speed:.0}")
    } else {
        format!("{speed:.2}").trim_end_matches('0').trim_end_matches('.').to_string()
    }
}

/// A buffer as text, one line a row, trailing blanks cut.
pub fn buffer_text(buf: &Buffer) -> String {
    let area = buf.area;
    let mut out = String::new();
    for y in area.y..area.y + area.height {
        let mut line = String::new();
        for x in area.x..area.x + area.width {
            line.push_str(buf[(x, y)].symbol());
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}

/// How to watch.
#[derive(Debug, Clone)]
pub struct WatchOptions {
    /// Virtual seconds per wall second at the start.
    pub speed: f64,
    /// No terminal: draw into an in-memory buffer of this size and write
    /// the last frame, as text, to this file (for tests and CI).
    pub headless: Option<(PathBuf, u16, u16)>,
}

/// What the drawing thread shares with the run.
struct Shared {
    state: Arc<Mutex<LiveState>>,
    pace: Arc<Pace>,
    /// The run has returned.
    done: AtomicBool,
    /// ... and finished uninterrupted and without error.
    finished: AtomicBool,
    availability: Option<AvailabilityModel>,
}

impl Shared {
    fn draw(&self, frame: &mut Frame, status: Status) {
        let state = self.state.lock().unwrap_or_else(|e| e.into_inner()).clone();
        let view = View {
            state: &state,
            t: self.pace.virtual_now(),
            speed: self.pace.speed(),
            status,
            availability: self.availability.as_ref(),
        };
        draw(frame, &view);
    }

    fn status(&self, stopping: bool) -> Status {
        if self.finished.load(Ordering::SeqCst) {
            Status::Finished
        } else if stopping || INTERRUPT.load(Ordering::SeqCst) {
            Status::Stopping
        } else if self.pace.is_paused() {
            Status::Paused
        } else {
            Status::Running
        }
    }
}

/// Sets `done` and joins the drawing thread however the run ends (an
/// error, a panic unwinding), so that the terminal is always restored.
struct Joiner {
    shared: Arc<Shared>,
    ui: Option<std::thread::JoinHandle<std::io::Result<()>>>,
}

impl Joiner {
    fn join(&mut self) -> std::io::Result<()> {
        self.shared.done.store(true, Ordering::SeqCst);
        match self.ui.take().map(|h| h.join()) {
            Some(Ok(r)) => r,
            Some(Err(_)) => Err(std::io::Error::other("the drawing thread panicked")),
            None => Ok(()),
        }
    }
}

impl Drop for Joiner {
    fn drop(&mut self) {
        let _ = self.join();
    }
}

/// Runs `scenario` paced and drawn live; the same outputs as
/// [`run::run`]. Interrupted by `q` as by Ctrl-C.
pub fn watch(scenario: &Scenario, opts: &RunOptions, w: &WatchOptions) -> anyhow::Result<RunResult> {
    let n = scenario.clients.count;
    let availability = match scenario.clients.availability {
        Availability::Always => None,
        ref spec => AvailabilityModel::new(spec, n, SeedTree::new(scenario.seed).child("availability")).ok(),
    };
    let shared = Arc::new(Shared {
        state: Arc::new(Mutex::new(LiveState::new(&scenario.name, n))),
        pace: Arc::new(Pace::new(w.speed)),
        done: AtomicBool::new(false),
        finished: AtomicBool::new(false),
        availability,
    });
    let ui = {
        let shared = shared.clone();
        match w.headless.clone() {
            Some((file, width, height)) => std::thread::spawn(move || headless(&shared, &file, width, height)),
            None => {
                // Fails here, before the run, when there is no terminal.
                let terminal = ratatui::try_init()?;
                std::thread::spawn(move || {
                    let mut terminal = terminal;
                    let r = interactive(&shared, &mut terminal);
                    ratatui::restore();
                    r
                })
            }
        }
    };
    let mut joiner = Joiner { shared: shared.clone(), ui: Some(ui) };
    let hooks = Hooks {
        sink: Some(Box::new(LiveSink(shared.state.clone()))),
        clock: Some(Box::new(RealTime::shared(shared.pace.clone()))),
    };
    let result = run::run_with(scenario, opts, hooks, &mut |_| {});
    if result.as_ref().is_ok_and(|r| r.outcome.stop_reason != crate::actors::StopReason::Interrupted) {
        shared.finished.store(true, Ordering::SeqCst);
    }
    let drawn = joiner.join();
    let result = result?;
    drawn?;
    Ok(result)
}

const TICK: Duration = Duration::from_millis(50);

fn interactive<B: Backend>(shared: &Shared, terminal: &mut Terminal<B>) -> std::io::Result<()> {
    use ratatui::crossterm::event::{self, Event as Input, KeyCode, KeyEventKind, KeyModifiers};
    let mut stopping = false;
    loop {
        if INTERRUPT.load(Ordering::SeqCst) {
            // SIGTERM, or `q`: no more waiting nor pausing.
            shared.pace.release();
        }
        let done = shared.done.load(Ordering::SeqCst);
        let status = shared.status(stopping);
        terminal.draw(|f| shared.draw(f, status))?;
        if done && status != Status::Finished {
            return Ok(());
        }
        if event::poll(TICK)? {
            if let Input::Key(k) = event::read()? {
                if k.kind != KeyEventKind::Press {
                    continue;
                }
                if done {
                    return Ok(());
                }
                let ctrl_c = k.code == KeyCode::Char('c') && k.modifiers.contains(KeyModifiers::CONTROL);
                match k.code {
                    _ if ctrl_c => stopping = true,
                    KeyCode::Char('q') | KeyCode::Esc => stopping = true,
                    KeyCode::Char(' ') => shared.pace.set_paused(!shared.pace.is_paused()),
                    KeyCode::Char('+') | KeyCode::Char('=') => shared.pace.set_speed(shared.pace.speed() * 2.0),
                    KeyCode::Char('-') | KeyCode::Char('_') => shared.pace.set_speed(shared.pace.speed() / 2.0),
                    _ => {}
                }
                if stopping {
                    INTERRUPT.store(true, Ordering::SeqCst);
                    shared.pace.release();
                }
            }
        }
    }
}

/// Draws into a `TestBackend` while the run goes on, and writes the last
/// frame to `file`.
fn headless(shared: &Shared, file: &std::path::Path, width: u16, height: u16) -> std::io::Result<()> {
    let mut terminal = Terminal::new(TestBackend::new(width, height))?;
    loop {
        let done = shared.done.load(Ordering::SeqCst);
        let status = shared.status(false);
        terminal.draw(|f| shared.draw(f, status))?;
        if done {
            break;
        }
        std::thread::sleep(TICK);
    }
    std::fs::write(file, buffer_text(terminal.backend().buffer()))
}

/// Renders one frame of `view` into a buffer `width` by `height` (tests).
pub fn render(view: &View, width: u16, height: u16) -> Buffer {
    let mut terminal = Terminal::new(TestBackend::new(width, height)).expect("an in-memory terminal");
    terminal.draw(|f| draw(f, view)).expect("drawing in memory");
    let buf = terminal.backend().buffer().clone();
    debug_assert_eq!(buf.area, Rect::new(0, 0, width, height));
    buf
}

#[cfg(test)]
mod tests;
