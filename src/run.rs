//! One run of a scenario, from the checked scenario to the published run
//! folder.
//!
//! Everything that can fail on the user's input (data files, the model for
//! the data, the trace) fails here before any output exists; the folder is
//! written through [`OutputDir`] so a failed run leaves nothing behind.

use crate::actors::server::{Selection, Suspects};
use crate::actors::{
    ClientShard, ClientState, Control, Federation, FederationError, Progress, Restart, ServerActor, ServerConfig,
    ServerOutcome, Snapshot, TrainJob,
};
use crate::audit::{self, AuditLog, AuditTrail};
use crate::byzantine::Attackers;
use crate::checkpoint::{self, Checkpoint, CheckpointError, CheckpointRef};
use crate::data::{self, ClientData, DataError, FederatedData};
use crate::metrics::{MetricsRow, Recorder};
use crate::model::{Architecture, LocalTraining, ModelError};
use crate::net::{
    place_profiles, AvailabilityError, AvailabilityModel, DelaySampler, Device, Faults, Network, ServerLink,
};
use crate::privacy::dp::CentralDp;
use crate::privacy::{self, ClientPipeline};
use crate::report::{
    self, ClientsTable, OutputDir, OutputError, Roster, RoundsCsv, RoundsTable, Summary, TraceConfig, TraceSink,
    TraceState, INTERRUPT, TRACE_FILE,
};
use crate::scenario::{DpLevel, Scenario, SelectionKind, StrategyKind};
use crate::sim::log::WRITE_CHUNK;
use crate::sim::{lock, AsFastAsPossible, Batched, Clock, ComputePool, EventSink, JsonLines, RealTime, SeedTree};
use crate::strategy;
use std::collections::BTreeMap;
use std::fs::File;
use std::io::{BufWriter, Read, Write};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Instant;

#[derive(Debug, thiserror::Error)]
pub enum RunError {
    // `error`, not `source`: the message already holds it, and a source
    // would make error chains print it twice.
    #[error("{file}: {error}")]
    Data { error: DataError, file: String },
    #[error("{file}: {error}")]
    Model { error: ModelError, file: String },
    #[error("{0}")]
    Availability(#[from] AvailabilityError),
    #[error(transparent)]
    Output(#[from] OutputError),
    #[error(transparent)]
    Federation(#[from] FederationError),
    /// The run's clock would overflow: the error names the scenario key.
    #[error("{file}: {error}")]
    Clock { error: Box<FederationError>, file: String },
    #[error(transparent)]
    Checkpoint(#[from] CheckpointError),
    #[error(transparent)]
    Scenario(Box<crate::scenario::ScenarioError>),
    #[error(transparent)]
    Plot(#[from] report::PlotError),
    #[error(transparent)]
    Html(#[from] report::HtmlError),
}

/// The cores this process may use (1 when the system cannot say): the
/// default thread and job counts, and `summary.json`'s `host_cores`.
pub fn host_cores() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

/// How to run (none of it changes the results).
#[derive(Debug, Clone)]
pub struct RunOptions {
    /// The run folder; default `runs/<name>`.
    pub out: Option<PathBuf>,
    /// Compute threads, the calling thread included.
    pub threads: usize,
    /// Track real time at this speed-up instead of running flat out.
    pub realtime: Option<f64>,
    /// Overrides `stop.target_accuracy` for `time_to_target_s` only.
    pub target: Option<f64>,
    /// Write a checkpoint whenever the model version reaches a multiple of
    /// this (rounds for sync strategies).
    pub checkpoint_every: Option<u64>,
}

impl Default for RunOptions {
    fn default() -> Self {
        RunOptions { out: None, threads: host_cores(), realtime: None, target: None, checkpoint_every: None }
    }
}

/// A finished run.
#[derive(Debug, Clone)]
pub struct RunResult {
    pub dir: PathBuf,
    pub summary: Summary,
    pub outcome: ServerOutcome,
    /// The rows of `metrics.csv`.
    pub rows: Vec<MetricsRow>,
    pub class_names: Vec<String>,
}

impl RunResult {
    /// The per-class scores of the final model, by class name.
    pub fn classes(&self) -> Vec<(String, crate::metrics::ClassScores)> {
        self.class_names.iter().cloned().zip(self.outcome.final_evaluation.per_class.iter().cloned()).collect()
    }
}

/// Everything a run needs, built and checked before anything is written.
pub struct Prepared {
    pub data: FederatedData,
    pub arch: Arc<Architecture>,
    pub availability: AvailabilityModel,
}

/// Loads the data and checks the model, strategy and availability.
pub fn prepare(scenario: &Scenario) -> Result<Prepared, RunError> {
    let file = scenario.source.display().to_string();
    let seeds = SeedTree::new(scenario.seed);
    let n = scenario.clients.count;
    let data = data::load(&scenario.data, n, seeds.child("data"))
        .map_err(|error| RunError::Data { error, file: file.clone() })?;
    let arch = Architecture::new(&scenario.model, data.n_features, data.n_classes)
        .map_err(|error| RunError::Model { error, file: file.clone() })?;
    let availability = AvailabilityModel::new(&scenario.clients.availability, n, seeds.child("availability"))?;
    Ok(Prepared { data, arch: Arc::new(arch), availability })
}

/// What an observer adds to a run; none of it changes the results.
#[derive(Default)]
pub struct Hooks {
    /// One more sink, after the run's own: it sees every event.
    pub sink: Option<Box<dyn EventSink>>,
    /// The clock, instead of the one `RunOptions::realtime` picks.
    pub clock: Option<Box<dyn Clock>>,
}

/// Runs a scenario and publishes its folder.
pub fn run(scenario: &Scenario, opts: &RunOptions, progress: &mut dyn FnMut(Progress)) -> Result<RunResult, RunError> {
    run_with(scenario, opts, Hooks::default(), progress)
}

/// [`run`], observed through `hooks` (`fedsim watch`).
pub fn run_with(
    scenario: &Scenario,
    opts: &RunOptions,
    hooks: Hooks,
    progress: &mut dyn FnMut(Progress),
) -> Result<RunResult, RunError> {
    let wall = Instant::now();
    let prepared = prepare(scenario)?;
    let out_path = opts.out.clone().unwrap_or_else(|| PathBuf::from("runs").join(&scenario.name));
    let out = OutputDir::create(&out_path)?;
    let events = out.file("events.jsonl");
    let file = File::create(&events).map_err(|source| OutputError::Write { path: events, source })?;
    execute(scenario, opts, prepared, out, JsonLines::new(file), None, wall, hooks, progress)
}

/// Continues the run in folder `dir` from its checkpoint, and publishes it
/// in place: the folder then holds what an uninterrupted run would have
/// left, byte for byte (`wall_time_s` aside).
pub fn resume(dir: &Path, opts: &RunOptions, progress: &mut dyn FnMut(Progress)) -> Result<RunResult, RunError> {
    let wall = Instant::now();
    let (ck, text) = checkpoint::read(dir)?;
    let scenario = crate::scenario::load_str(&text, &ck.source, &[]).map_err(|e| RunError::Scenario(Box::new(e)))?;
    let prepared = prepare(&scenario)?;
    let out = OutputDir::create(dir)?;
    // The log, cut back to what the checkpoint had written.
    let file = carry_over(&out, "events.jsonl", ck.events_len)?;
    let log = JsonLines::resume(file, ck.events_len);
    let opts = RunOptions { out: Some(dir.to_path_buf()), ..opts.clone() };
    execute(&scenario, &opts, prepared, out, log, Some(ck), wall, Hooks::default(), progress)
}

/// Copies the first `len` bytes of the run folder's file `name` (what a
/// checkpoint had written of it) into the staging folder, and returns the
/// copy open at its end, to continue writing.
fn carry_over(out: &OutputDir, name: &str, len: u64) -> Result<File, OutputError> {
    let from = out.target().join(name);
    let copy = || -> std::io::Result<File> {
        let mut file = File::create(out.file(name))?;
        std::io::copy(&mut File::open(&from)?.take(len), &mut file)?;
        if file.metadata()?.len() != len {
            return Err(std::io::Error::other(format!("shorter than the checkpoint's {len} bytes")));
        }
        Ok(file)
    };
    copy().map_err(|source| OutputError::Write { path: from.clone(), source })
}

/// What a checkpoint restores besides the actors: the sinks' states.
struct SinkStates {
    recorder: Recorder,
    audit: Option<(audit::Tally, u64)>,
    trace: Option<(TraceState, u64)>,
    clients: ClientsTable,
    rounds: Option<(RoundsTable, u64)>,
}

/// Runs (or continues) a prepared scenario into `out` and publishes it.
#[allow(clippy::too_many_arguments)] // one private call site each for run and resume
fn execute(
    scenario: &Scenario,
    opts: &RunOptions,
    prepared: Prepared,
    out: OutputDir,
    log: JsonLines<File>,
    resume_from: Option<Checkpoint>,
    wall: Instant,
    hooks: Hooks,
    progress: &mut dyn FnMut(Progress),
) -> Result<RunResult, RunError> {
    let write_err = |path: &PathBuf| {
        let path = path.clone();
        move |source| OutputError::Write { path, source }
    };
    let scenario_path = out.file(checkpoint::SCENARIO_FILE);
    std::fs::write(&scenario_path, &scenario.effective).map_err(write_err(&scenario_path))?;
    let resolved_path = out.file(RESOLVED_FILE);
    std::fs::write(&resolved_path, &scenario.resolved).map_err(write_err(&resolved_path))?;
    let scenario_sha256 = checkpoint::scenario_sha256(&scenario.effective);
    let source = std::fs::canonicalize(&scenario.source).unwrap_or_else(|_| scenario.source.clone());
    let (states, restart) = match resume_from {
        None => (
            SinkStates {
                recorder: Recorder::default(),
                audit: None,
                trace: None,
                clients: ClientsTable::default(),
                rounds: None,
            },
            None,
        ),
        Some(ck) => (
            SinkStates {
                recorder: ck.recorder,
                audit: Some((ck.audit, ck.audit_len)),
                trace: Some((ck.trace, ck.trace_len)),
                clients: ck.clients,
                rounds: Some((ck.rounds, ck.rounds_len)),
            },
            Some(Restart { kernel: ck.kernel, net: ck.net, server: ck.server, strategy: ck.strategy, jobs: ck.jobs }),
        ),
    };
    let audited = (prepared.arch.clone(), prepared.data.clients.clone(), prepared.data.test.clone());
    let Built { federation, classes, parameters, roster, bytes_up } =
        build_federation(scenario, prepared, opts.threads);
    // The sinks are shared with this function, which reads them for a
    // checkpoint and after the run.
    let recorder = Arc::new(Mutex::new(states.recorder));
    let log = Arc::new(Mutex::new(log));
    let output = &scenario.output;
    let trail = match output.audit {
        true => Some(Arc::new(Mutex::new(audit_trail(scenario, &out, states.audit, &scenario_sha256)?))),
        false => None,
    };
    let config = TraceConfig {
        max_tracks: output.trace_clients.0,
        bytes_up,
        secure: scenario.privacy.secure_aggregation.is_some(),
    };
    let trace = match output.trace {
        true => Some(Arc::new(Mutex::new(trace_sink(&out, states.trace, config, roster.clone())?))),
        false => None,
    };
    let clients_table = Arc::new(Mutex::new(states.clients));
    let rounds_csv = Arc::new(Mutex::new(rounds_csv(&out, states.rounds)?));
    let mut outputs: Vec<Box<dyn EventSink + Send>> = vec![Box::new(log.clone()), Box::new(recorder.clone())];
    if let Some(trail) = &trail {
        outputs.push(Box::new(trail.clone()));
    }
    if let Some(trace) = &trace {
        outputs.push(Box::new(trace.clone()));
    }
    outputs.push(Box::new(clients_table.clone()));
    outputs.push(Box::new(rounds_csv.clone()));
    // With a second thread allowed, the outputs are formatted and written
    // on it, beside the kernel.
    let outputs = match opts.threads {
        0 | 1 => Batched::inline(outputs),
        _ => Batched::on_thread(outputs),
    };
    let mut sinks: Vec<Box<dyn EventSink>> = vec![Box::new(outputs)];
    sinks.extend(hooks.sink);
    let audit_path = out.file(AUDIT_FILE);
    let mut clock: Box<dyn Clock> = match (hooks.clock, opts.realtime) {
        (Some(clock), _) => clock,
        (None, Some(speed)) => Box::new(RealTime::new(speed)),
        (None, None) => Box::new(AsFastAsPossible),
    };
    let staging = out.path().to_path_buf();
    // A switched-off output saves an empty state, which a resume never reads.
    let (no_tally, no_trace) = (audit::Tally::default(), TraceState::default());
    let mut save = |snap: &Snapshot<'_>| {
        let trail = trail.as_ref().map(|t| lock(t));
        let trace = trace.as_ref().map(|t| lock(t));
        let rounds = lock(&rounds_csv);
        checkpoint::write(
            &staging,
            &CheckpointRef {
                scenario_sha256,
                source: &source,
                kernel: snap.kernel,
                net: snap.net,
                server: snap.server,
                strategy: snap.strategy,
                recorder: &lock(&recorder),
                jobs: snap.jobs,
                events_len: lock(&log).len(),
                audit: trail.as_ref().map_or(&no_tally, |t| t.tally()),
                audit_len: std::fs::metadata(&audit_path).map(|m| m.len()).unwrap_or(0),
                trace: trace.as_ref().map_or(&no_trace, |t| t.state()),
                trace_len: trace.as_ref().map_or(0, |t| t.len()),
                clients: &lock(&clients_table),
                rounds: rounds.table(),
                rounds_len: rounds.len(),
            },
        )
    };
    let control =
        Control { checkpoint_every: opts.checkpoint_every, interrupt: &INTERRUPT, save: &mut save, resume: restart };
    let (outcome, stats) = federation.run(&mut sinks, clock.as_mut(), progress, control).map_err(|e| match e {
        FederationError::ClockOverflow { .. } => {
            RunError::Clock { error: Box::new(e), file: scenario.source.display().to_string() }
        }
        e => e.into(),
    })?;
    drop(sinks);
    let (rows, staleness_histogram) = lock(&recorder).clone().into_rows();
    // The trace is closed on every path that publishes, an interrupted
    // run's too, so the file is always whole JSON.
    if let Some(trace) = trace {
        let trace_path = out.file(TRACE_FILE);
        let trace =
            Arc::into_inner(trace).expect("the sinks are dropped").into_inner().unwrap_or_else(|p| p.into_inner());
        trace.finish(outcome.virtual_time).map_err(write_err(&trace_path))?;
    }
    let clients_path = out.file("clients.csv");
    let mut w = BufWriter::with_capacity(WRITE_CHUNK, File::create(&clients_path).map_err(write_err(&clients_path))?);
    lock(&clients_table).write(&mut w, &roster).and_then(|_| w.flush()).map_err(write_err(&clients_path))?;
    let rounds_path = out.file(ROUNDS_FILE);
    let rounds_csv =
        Arc::into_inner(rounds_csv).expect("the sinks are dropped").into_inner().unwrap_or_else(|p| p.into_inner());
    rounds_csv.finish(outcome.virtual_time).map_err(write_err(&rounds_path))?;

    let target = opts.target.or(scenario.stop.target_accuracy);
    // Drawn before the summary, so that wall_time_s counts them; from the
    // staged log, whole now that the run has flushed it.
    if output.plots {
        report::write_run_plots(
            out.path(),
            &report::RunPlots {
                name: &scenario.name,
                rows: &rows,
                staleness: &staleness_histogram,
                events: &out.file("events.jsonl"),
                clients: scenario.clients.count,
                seed: scenario.seed,
                target,
                end: outcome.virtual_time.as_secs_f64(),
                dp: scenario.privacy.dp.is_some(),
            },
        )?;
    }
    let (bytes_up, bytes_down) = rows.last().map_or((0, 0), |r| (r.bytes_up, r.bytes_down));
    let fin = &outcome.final_evaluation;
    let (arch, clients, test) = audited;
    let privacy_audit =
        privacy::membership_audit(&arch, &outcome.params, &clients, &test, SeedTree::new(scenario.seed));
    let summary = Summary {
        scenario: scenario.name.clone(),
        seed: scenario.seed,
        strategy: scenario.strategy.kind.name().to_string(),
        rounds: outcome.version,
        virtual_time_s: outcome.virtual_time.as_secs_f64(),
        final_accuracy: fin.accuracy,
        final_loss: fin.loss,
        final_macro_f1: fin.macro_f1,
        target_accuracy: target,
        time_to_target_s: target.and_then(|t| report::time_to_target(&rows, t)),
        bytes_up,
        bytes_down,
        wall_time_s: wall.elapsed().as_secs_f64(),
        epsilon: outcome.epsilon,
        privacy_audit: Some(privacy_audit),
        stop_reason: outcome.stop_reason.name().to_string(),
        stop_message: outcome.stop_message.clone(),
        clients: scenario.clients.count,
        parameters,
        threads: opts.threads,
        messages: stats.messages,
        events: stats.events,
        peak_rss_bytes: report::peak_rss_bytes(),
        clients_late: rows.iter().map(|r| r.clients_late).sum(),
        clients_dropped: rows.iter().map(|r| r.clients_dropped).sum(),
        max_staleness: staleness_histogram.keys().next_back().copied(),
        staleness_histogram,
        classification_report: classes.iter().cloned().zip(fin.per_class.iter().cloned()).collect::<BTreeMap<_, _>>(),
        fedsim_version: report::FEDSIM_VERSION.to_string(),
        git_commit: report::GIT_COMMIT.to_string(),
        scenario_hash: scenario.resolved_sha256(),
        host_cores: host_cores(),
    };
    // report.html, from the staged folder and the summary as summary.json
    // will hold it (read back, as `fedsim report DIR` reads it), before the
    // wall clock stops so that wall_time_s counts it; the page leaves the
    // wall-clock fields out.
    if output.report {
        let staged: serde_json::Value =
            serde_json::from_str(&serde_json::to_string_pretty(&summary).expect("a summary always serialises"))
                .expect("a serialised summary parses");
        report::html::write_page(out.path(), &report::html::run_page(out.path(), &staged)?)?;
    }
    let summary = Summary { wall_time_s: wall.elapsed().as_secs_f64(), ..summary };
    let metrics_path = out.file("metrics.csv");
    let mut w = BufWriter::new(File::create(&metrics_path).map_err(write_err(&metrics_path))?);
    report::write_metrics(&mut w, &rows).and_then(|_| w.flush()).map_err(write_err(&metrics_path))?;
    let summary_path = out.file("summary.json");
    let json = serde_json::to_string_pretty(&summary).expect("a summary always serialises");
    std::fs::write(&summary_path, json + "\n").map_err(write_err(&summary_path))?;
    let model_path = out.file("model.json");
    let model = serde_json::json!({ "version": outcome.version, "parameters": outcome.params.as_ref() });
    std::fs::write(&model_path, model.to_string() + "\n").map_err(write_err(&model_path))?;
    let dir = out.publish()?;
    Ok(RunResult { dir, summary, outcome, rows, class_names: classes })
}

/// The resolved scenario's file name in a run folder: every default
/// filled in; `fedsim run DIR/scenario.resolved.yaml` reruns the run.
pub const RESOLVED_FILE: &str = "scenario.resolved.yaml";

/// The compliance log's file name in a run folder.
pub const AUDIT_FILE: &str = "audit.jsonl";

/// The audit trail of a run: a fresh `audit.jsonl`, or (resuming) the
/// folder's log cut back to the checkpoint's `len` bytes and continued
/// from its `tally`.
fn audit_trail(
    scenario: &Scenario,
    out: &OutputDir,
    from: Option<(audit::Tally, u64)>,
    scenario_sha256: &[u8; 32],
) -> Result<AuditTrail<BufWriter<File>>, RunError> {
    let path = out.file(AUDIT_FILE);
    let write_err = |source| OutputError::Write { path: path.clone(), source };
    let hex = hex::encode(scenario_sha256);
    let p = &scenario.privacy;
    let dp = p.dp.as_ref().map(|d| {
        serde_json::json!({
            "level": d.level.name(),
            "clip_norm": d.clip_norm,
            "noise_multiplier": d.noise_multiplier,
            "delta": d.delta,
            "accountant": d.accountant.name(),
            "adaptive_clip": d.adaptive.is_some(),
        })
    });
    let settings = serde_json::json!({
        "dp": dp,
        "selection": scenario.strategy.selection.name(),
        "threshold": p.secure_aggregation.map(|s| s.threshold),
    });
    let secure = p.secure_aggregation.is_some();
    let (log, tally) = match from {
        None => (AuditLog::new(BufWriter::with_capacity(WRITE_CHUNK, File::create(&path).map_err(write_err)?)), None),
        Some((tally, len)) => {
            // The folder's log, cut back to what the checkpoint had written.
            let dir = out.target();
            let text = std::fs::read(dir.join(AUDIT_FILE)).map_err(write_err)?;
            let kept = text.get(..len as usize).ok_or_else(|| {
                write_err(std::io::Error::other(format!("shorter than the checkpoint's {len} bytes")))
            })?;
            std::fs::write(&path, kept).map_err(write_err)?;
            let last = std::str::from_utf8(kept).ok().and_then(|t| t.lines().last()).map(str::to_string);
            let file = std::fs::OpenOptions::new().append(true).open(&path).map_err(write_err)?;
            let log = AuditLog::resume(BufWriter::with_capacity(WRITE_CHUNK, file), last.as_deref(), tally.count())
                .map_err(|e| write_err(std::io::Error::other(e)))?;
            (log, Some(tally))
        }
    };
    let trail = AuditTrail::new(log, settings, secure, hex);
    Ok(match tally {
        Some(t) => trail.resume(t),
        None => trail,
    })
}

/// `rounds.csv`'s file name in a run folder.
const ROUNDS_FILE: &str = "rounds.csv";

/// A fresh `rounds.csv`, or (resuming) the file cut back to what the
/// checkpoint had written, with the open round's tally.
fn rounds_csv(out: &OutputDir, from: Option<(RoundsTable, u64)>) -> Result<RoundsCsv<BufWriter<File>>, RunError> {
    let path = out.file(ROUNDS_FILE);
    Ok(match from {
        None => {
            let file = File::create(&path).map_err(|source| OutputError::Write { path: path.clone(), source })?;
            RoundsCsv::new(BufWriter::with_capacity(WRITE_CHUNK, file))
                .map_err(|source| OutputError::Write { path, source })?
        }
        Some((table, len)) => {
            let file = carry_over(out, ROUNDS_FILE, len)?;
            RoundsCsv::resume(BufWriter::with_capacity(WRITE_CHUNK, file), len, table)
        }
    })
}

/// The trace of a run: a fresh `trace.json`, or (resuming) the folder's
/// trace cut back to the checkpoint's `len` bytes and continued from its
/// `state`.
fn trace_sink(
    out: &OutputDir,
    from: Option<(TraceState, u64)>,
    config: TraceConfig,
    roster: Roster,
) -> Result<TraceSink<BufWriter<File>>, RunError> {
    let path = out.file(TRACE_FILE);
    Ok(match from {
        None => {
            let file = File::create(&path).map_err(|source| OutputError::Write { path: path.clone(), source })?;
            TraceSink::new(BufWriter::with_capacity(WRITE_CHUNK, file), config, roster)
                .map_err(|source| OutputError::Write { path, source })?
        }
        Some((state, len)) => {
            let file = carry_over(out, TRACE_FILE, len)?;
            TraceSink::resume(BufWriter::with_capacity(WRITE_CHUNK, file), len, config, roster, state)
        }
    })
}

/// The actors of a run and what the outputs need to know of them.
struct Built {
    federation: Federation,
    /// The data set's class names.
    classes: Vec<String>,
    parameters: usize,
    roster: Roster,
    /// Bytes of one update upload.
    bytes_up: u64,
}

/// Shard actors at most, and clients per shard at least: enough shards to
/// spread a large federation, few enough that each batch stays large.
const SHARDS: usize = 16;
const MIN_SHARD: usize = 4096;

/// The actors of a run: one server, the clients in a few shards.
fn build_federation(scenario: &Scenario, prepared: Prepared, threads: usize) -> Built {
    let seeds = SeedTree::new(scenario.seed);
    let Prepared { data, arch, availability } = prepared;
    let FederatedData { test, clients, class_names, .. } = data;
    let n = scenario.clients.count;
    let params = arch.param_count();
    let bytes = 4 * params as u64;
    let dp_spec = scenario.privacy.dp.as_ref();
    let local_noise = dp_spec.filter(|d| d.level == DpLevel::Local).map_or(0.0, |d| d.noise_multiplier);
    let tensors = arch.layer_ranges().into_iter().flat_map(|(w, b)| [w, b]).collect();
    let pipeline = Arc::new(ClientPipeline::new(dp_spec.is_some(), local_noise, &scenario.compression, tensors));
    let bytes_up = pipeline.bytes_up();
    let attackers = scenario.clients.byzantine.as_ref().map(|b| Arc::new(Attackers::draw(b, n, seeds)));
    let runner = TrainJob::runner(arch.clone(), clients.clone(), pipeline, attackers.clone());
    let pool = Arc::new(ComputePool::new(threads, runner, |j: &TrainJob| j.work));
    let profiles = &scenario.clients.profiles;
    let devices: Vec<Device> =
        if profiles.is_empty() { vec![Device::ideal()] } else { profiles.iter().map(Device::from_profile).collect() };
    let shares: Vec<f64> = profiles.iter().map(|p| p.share).collect();
    let placement: Arc<[u16]> = place_profiles(&shares, n, seeds.child("clients.placement")).into();
    let sn = &scenario.server.network;
    let server =
        ServerLink { up_bps: sn.up_mbps * 1e6, down_bps: sn.down_mbps * 1e6, latency: DelaySampler::new(sn.latency) };
    let faults = Arc::new(Faults::new(&scenario.faults, n, seeds));
    let mut network =
        Network::new(devices, placement.clone(), server, scenario.clients.dropout, seeds).with_faults(faults.clone());
    network.set_task_shape([bytes, bytes_up], scenario.training.local_epochs as f64);
    let shard_size = n.div_ceil(SHARDS).max(MIN_SHARD);
    // Generating a per-client synthetic row draws each feature and the
    // source's model (tens of operations a draw): worth counting when
    // deciding whether a job deserves a worker thread.
    let row_ops = match &clients {
        ClientData::PerClient(_) => 50 * (arch.param_count() as u64),
        ClientData::Table { .. } => 0,
    };
    let phase_dropout = scenario.privacy.secure_aggregation.map_or(0.0, |s| s.phase_dropout);
    let shards = (0..n)
        .step_by(shard_size)
        .map(|first| {
            let states = (first..(first + shard_size).min(n))
                .map(|c| ClientState { samples: clients.samples(c as u32) as u32 })
                .collect();
            ClientShard::new(first as u32, states, params, row_ops, network.clone(), seeds, phase_dropout)
        })
        .collect();
    let strategy = strategy::build(&scenario.strategy);
    let initial = arch.init(&mut seeds.child("model.init").stream());
    let st = &scenario.strategy;
    let poisson = st.selection == SelectionKind::Poisson && !st.kind.is_async();
    let tasks_bytes_up = if scenario.privacy.secure_aggregation.is_some() {
        crate::privacy::secagg::AdvertiseKeys::WIRE_BYTES.min(bytes_up)
    } else {
        bytes_up
    };
    let doomed = doomed(scenario, &network, &clients, [bytes, tasks_bytes_up]);
    let config = ServerConfig {
        clients: n,
        bytes_down: bytes,
        bytes_up,
        training: LocalTraining::from_spec(&scenario.training),
        stop: scenario.stop.clone(),
        evaluation: scenario.evaluation,
        poisson_q: poisson.then(|| st.clients_per_round as f64 / n as f64),
        secure: scenario.privacy.secure_aggregation,
        params,
        attackers,
        faults: faults.clone(),
        doomed,
        suspects: suspects(scenario),
    };
    let expected = if st.kind.is_async() { st.buffer_size } else { st.clients_per_round };
    let dp = dp_spec.map(|d| CentralDp::new(d, expected, seeds));
    let selection = Selection::new(n, availability, seeds).with_faults(faults.clone());
    let server = ServerActor::new(config, strategy, arch, Arc::new(test), initial, selection, dp);
    // Only a run that relies on virtual time to end can stall: one million
    // deliveries at a single instant is far beyond any real round.
    let stall_limit = scenario.stop.rounds.is_none().then_some(1_000_000);
    let names = profiles.iter().map(|p| p.name.clone()).collect();
    let roster = Roster::of(names, placement, clients.clone());
    let federation =
        Federation { server, shards, shard_size: shard_size as u32, network, data: clients, pool, stall_limit };
    Built { federation, classes: class_names, parameters: params, roster, bytes_up }
}

/// Why no task of the run can ever report, if none can: every task drops
/// out, or every sync round's deadline passes before the fastest possible
/// task is back (checked over every client: latencies at their least, no
/// jitter, an idle server link).
fn doomed(scenario: &Scenario, network: &Network, clients: &ClientData, bytes: [u64; 2]) -> Option<String> {
    if scenario.clients.dropout >= 1.0 {
        return Some(
            "clients.dropout.probability is 1: every task drops out, so no update can ever arrive".to_string(),
        );
    }
    let deadline = scenario.strategy.deadline_s.filter(|_| !scenario.strategy.kind.is_async())?;
    let epochs = scenario.training.local_epochs as f64;
    let fastest = (0..scenario.clients.count as u32)
        .map(|c| network.fastest_task_s(c, bytes, epochs * clients.samples(c) as f64))
        .fold(f64::INFINITY, f64::min);
    (fastest > deadline).then(|| {
        format!(
            "strategy.deadline_s = {deadline} s is shorter than the fastest possible task ({fastest:.6} s: \
             latencies at their least, transfers and training on the fastest client), so no round can ever get a \
             report"
        )
    })
}

/// The keys to name should the run diverge, with their values.
fn suspects(scenario: &Scenario) -> Suspects {
    let (t, st) = (&scenario.training, &scenario.strategy);
    let mut update = vec![format!("training.learning_rate = {:?}", t.learning_rate)];
    if t.weight_decay > 0.0 {
        update.push(format!("training.weight_decay = {:?}", t.weight_decay));
    }
    if st.kind == StrategyKind::FedProx {
        update.push(format!("strategy.mu = {:?}", st.mu));
    }
    let mut server = Vec::new();
    use StrategyKind::*;
    if matches!(st.kind, FedAvgM | FedAdam | FedYogi | FedAdagrad | FedBuff) {
        server.push(format!("strategy.server_learning_rate = {:?}", st.server_learning_rate));
    }
    if st.kind == FedAvgM {
        server.push(format!("strategy.server_momentum = {:?}", st.server_momentum));
    }
    if st.kind == FedAsync {
        server.push(format!("strategy.mixing = {:?}", st.mixing));
    }
    Suspects { update, server }
}
