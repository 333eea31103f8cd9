//! The `fedsim` command: parses arguments, calls the library, prints.

use anyhow::Context as _;
use clap::{Parser, Subcommand};
use fedsim::actors::Progress;
use fedsim::experiment;
use fedsim::report;
use fedsim::run::{self, RunOptions};
use fedsim::scenario::{self, Override};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::{Duration, Instant};

/// Federated learning simulated as actors on a deterministic virtual clock.
///
/// A scenario file (YAML) describes the data, the clients' devices and
/// links, the model, local training, the server's strategy and when to stop;
/// fedsim runs it in virtual time and writes metrics.csv, summary.json and
/// events.jsonl. The same scenario and seed give the same files, byte for
/// byte, on any machine and thread count.
#[derive(Parser)]
#[command(
    name = "fedsim",
    version,
    about,
    long_about,
    after_help = "Exit status: 0 done (summary.json's stop_reason says why it stopped), 2 error (bad \
                  scenario, data or output), 3 diverged (NaN or infinity in an update or the model; the run \
                  folder holds the outputs up to that round), 130 interrupted (resumable with `fedsim resume`)."
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run one scenario and write its run folder.
    Run {
        /// The scenario file.
        scenario: PathBuf,
        /// The run folder [default: runs/<name>].
        #[arg(long)]
        out: Option<PathBuf>,
        /// Override a key, e.g. `--set strategy.kind=fedavg --set clients.count=50`.
        #[arg(long = "set", value_name = "KEY=VALUE")]
        set: Vec<Override>,
        /// Compute threads for local training [default: all cores]. Results
        /// do not depend on it.
        #[arg(long)]
        threads: Option<usize>,
        /// Pace virtual time against the wall clock at this speed-up
        /// (e.g. 60: a virtual minute per second), for demos.
        #[arg(long, value_name = "SPEEDUP")]
        realtime: Option<f64>,
        /// Print nothing but errors.
        #[arg(long, short)]
        quiet: bool,
        /// Write a checkpoint into the run folder every N rounds (model
        /// versions); `fedsim resume DIR` continues from the last one.
        #[arg(long, value_name = "N")]
        checkpoint_every: Option<u64>,
    },
    /// Run one scenario paced against the wall clock, drawn live in the
    /// terminal; leaves the same run folder as `run`.
    ///
    /// Keys: space pauses (virtual time stops), + and - double or halve the
    /// speed, q stops the run as Ctrl-C does (a whole, resumable folder).
    Watch {
        /// The scenario file.
        scenario: PathBuf,
        /// The run folder [default: runs/<name>].
        #[arg(long)]
        out: Option<PathBuf>,
        /// Override a key, e.g. `--set clients.count=50`.
        #[arg(long = "set", value_name = "KEY=VALUE")]
        set: Vec<Override>,
        /// Virtual seconds per wall second [default: stop.virtual_time_s /
        /// 10 (a run of about ten seconds), else 3].
        #[arg(long, value_name = "SPEEDUP")]
        realtime: Option<f64>,
        /// Compute threads [default: all cores]. Results do not depend on it.
        #[arg(long)]
        threads: Option<usize>,
        /// No terminal: draw into memory (WIDTHxHEIGHT, default 100x30) and
        /// write the last frame as text to FILE (tests, CI).
        #[arg(long, value_name = "FILE", hide = true)]
        headless_frame: Option<PathBuf>,
        #[arg(long, value_name = "WxH", hide = true, default_value = "100x30")]
        headless_size: String,
    },
    /// Continue an interrupted or checkpointed run in its folder.
    Resume {
        /// The run folder (it holds checkpoint.bin and scenario.yaml).
        dir: PathBuf,
        /// Compute threads [default: all cores]. Results do not depend on it.
        #[arg(long)]
        threads: Option<usize>,
        /// Write a checkpoint every N rounds from here on.
        #[arg(long, value_name = "N")]
        checkpoint_every: Option<u64>,
        /// Print nothing but errors.
        #[arg(long, short)]
        quiet: bool,
    },
    /// Run several scenarios (in parallel) and compare them side by side.
    Compare {
        /// The scenario files.
        #[arg(required = true)]
        scenarios: Vec<PathBuf>,
        /// Target accuracy for time-to-target, for every scenario
        /// [default: each scenario's stop.target_accuracy].
        #[arg(long, value_name = "ACC")]
        target: Option<f64>,
        /// Where the runs, compare.csv and accuracy.svg go.
        #[arg(long, default_value = "runs/compare")]
        out: PathBuf,
        /// Runs at once [default: all cores].
        #[arg(long)]
        jobs: Option<usize>,
        /// Stop at the first run that fails and write nothing (default:
        /// run every scenario and list the failures in the table).
        #[arg(long)]
        fail_fast: bool,
    },
    /// Run the cross product of a scenario's `sweep:` map, here or as
    /// independent cells (e.g. a Slurm job array or a Kubernetes Indexed
    /// Job).
    ///
    /// Locally: `fedsim sweep S.yaml [--out DIR]` runs every combination.
    ///
    /// On a cluster: `fedsim sweep S.yaml --plan DIR` writes DIR/plan.json
    /// (every cell's index, overrides and resolved-scenario hash) and a copy
    /// of the scenario, DIR/scenario.yaml; each job runs `fedsim sweep
    /// DIR/scenario.yaml --cell I --out DIR` (or `--cell-from-env
    /// SLURM_ARRAY_TASK_ID`), into DIR/cells/<I>/, skipping a cell already
    /// complete with the same hash and continuing one stopped by a signal;
    /// then `fedsim sweep --merge DIR` checks every cell against the plan
    /// and writes sweep.csv, sweep_runs.csv, accuracy.svg and report.html,
    /// the same tables a local sweep writes. docs/outputs.md describes the
    /// files. `fedsim sweep S.yaml --emit slurm DIR` (or `--emit k8s DIR`)
    /// writes the plan and the job files that do all this on Slurm (a job
    /// array and a dependent merge job) or Kubernetes (an Indexed Job and
    /// a merge Job); see docs/cluster.md.
    #[command(after_help = "Exit status: 0 done, 1 a run failed (it is listed; with --cell: the cell \
                            failed, its folder holds error.txt), 2 error (bad scenario, plan or output; with \
                            --merge: a cell missing, stale or interrupted, named; nothing written), 130 \
                            interrupted (a cell continues when run again).")]
    Sweep {
        /// The scenario file, with a `sweep:` map of dotted keys to lists
        /// (not with --merge).
        #[arg(required_unless_present = "merge")]
        scenario: Option<PathBuf>,
        /// Runs at once [default: all cores].
        #[arg(long, conflicts_with_all = ["plan", "cell", "cell_from_env"])]
        jobs: Option<usize>,
        /// Where the run folders, sweep.csv and sweep_runs.csv go
        /// [default: runs/<name>-sweep]; with --cell, the sweep's folder
        /// (the plan's DIR), and the cell goes into OUT/cells/<I>/.
        #[arg(long)]
        out: Option<PathBuf>,
        /// Stop at the first run that fails and write nothing (default:
        /// run every combination and list the failures in the table).
        #[arg(long, conflicts_with_all = ["plan", "cell", "cell_from_env"])]
        fail_fast: bool,
        /// Write the sweep's plan into DIR (plan.json and scenario.yaml)
        /// and run nothing.
        #[arg(long, value_name = "DIR", conflicts_with_all = ["cell", "cell_from_env", "out"])]
        plan: Option<PathBuf>,
        /// Run only cell I (0-based, the local sweep's order) into
        /// OUT/cells/<I>/; needs --out.
        #[arg(long, value_name = "I", requires = "out")]
        cell: Option<usize>,
        /// Without --cell: read the cell's index from environment variable
        /// VAR (SLURM_ARRAY_TASK_ID, JOB_COMPLETION_INDEX); needs --out.
        #[arg(long, value_name = "VAR", requires = "out")]
        cell_from_env: Option<String>,
        /// Compute threads for a cell [default: all cores]. Results do
        /// not depend on it.
        #[arg(long, requires = "out")]
        threads: Option<usize>,
        /// Merge the cells of the sweep in DIR (its plan.json) into its
        /// tables.
        #[arg(long, value_name = "DIR", conflicts_with_all = ["scenario", "out", "plan", "cell", "cell_from_env"])]
        merge: Option<PathBuf>,
        /// Write the plan into DIR and the job files that run its cells on a
        /// cluster: `slurm` (sweep.sbatch, merge.sbatch, submit.sh) or
        /// `k8s` (job.yaml, merge-job.yaml). See docs/cluster.md.
        #[arg(long, num_args = 2, value_names = ["KIND", "DIR"],
              conflicts_with_all = ["out", "plan", "cell", "cell_from_env", "merge", "jobs", "fail_fast"])]
        emit: Option<Vec<String>>,
        /// With --emit: cells running at once [default: 8].
        #[arg(long, value_name = "N", requires = "emit")]
        throttle: Option<usize>,
        /// With --emit: cores per cell (its compute threads).
        #[arg(long, value_name = "N", requires = "emit", default_value_t = 1)]
        cpus_per_task: usize,
        /// With --emit slurm: the fedsim binary the jobs run, on the
        /// cluster's shared filesystem [default: this one].
        #[arg(long, value_name = "PATH", requires = "emit")]
        fedsim: Option<PathBuf>,
        /// With --emit k8s: the container image [default: fedsim:<version>,
        /// as the Dockerfile builds it].
        #[arg(long, requires = "emit")]
        image: Option<String>,
        /// With --emit k8s: the PersistentVolumeClaim holding the sweep
        /// folder, mounted at /runs.
        #[arg(long, value_name = "NAME", requires = "emit", default_value = "fedsim-runs")]
        claim: String,
    },
    /// Rebuild a run folder's report.html from its files (it only reads
    /// them).
    Report {
        /// The run folder (it holds summary.json, scenario.yaml, plots/ and
        /// events.jsonl).
        dir: PathBuf,
    },
    /// Print the JSON Schema of a scenario file (docs/scenario.schema.json).
    Schema,
    /// Check a run's compliance log.
    #[command(subcommand)]
    Audit(AuditCommand),
    /// Check scenario files without running them.
    Validate {
        /// The scenario files.
        #[arg(required = true)]
        scenarios: Vec<PathBuf>,
    },
}

#[derive(Subcommand)]
enum AuditCommand {
    /// Re-hash audit.jsonl's chain against the folder's scenario.yaml and
    /// final model.json; names the first bad record.
    Verify {
        /// The run folder.
        dir: PathBuf,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    report::remove_staging_on_panic();
    if let Err(e) = report::stop_cleanly_on_interrupt() {
        eprintln!("warning: cannot catch Ctrl-C, an interrupted run may leave a .partial folder: {e}");
    }
    let result = match cli.command {
        Command::Run { scenario, out, set, threads, realtime, quiet, checkpoint_every } => {
            run_one(scenario, out, set, threads, realtime, quiet, checkpoint_every)
        }
        Command::Watch { scenario, out, set, realtime, threads, headless_frame, headless_size } => {
            watch(scenario, out, set, realtime, threads, headless_frame, &headless_size)
        }
        Command::Resume { dir, threads, checkpoint_every, quiet } => resume(&dir, threads, checkpoint_every, quiet),
        Command::Compare { scenarios, target, out, jobs, fail_fast } => {
            compare(&scenarios, target, &out, jobs, fail_fast)
        }
        Command::Sweep {
            scenario,
            jobs,
            out,
            fail_fast,
            plan,
            cell,
            cell_from_env,
            threads,
            merge,
            emit,
            throttle,
            cpus_per_task,
            fedsim,
            image,
            claim,
        } => match (scenario, emit) {
            (Some(scenario), Some(emit)) => sweep_emit(&scenario, &emit, throttle, cpus_per_task, fedsim, image, claim),
            (scenario, _) => match (scenario, merge, plan) {
                (_, Some(dir), _) => sweep_merge(&dir),
                (Some(scenario), None, Some(dir)) => sweep_plan(&scenario, &dir),
                (Some(scenario), None, None) => match (cell, cell_from_env, out) {
                    (None, None, _) if threads.is_some() => Err(anyhow::anyhow!(
                        "--threads: only with --cell or --cell-from-env (a local sweep has --jobs)"
                    )),
                    (None, None, out) => sweep(&scenario, jobs, out.as_deref(), fail_fast),
                    (cell, var, Some(out)) => sweep_cell(&scenario, cell, var.as_deref(), &out, threads),
                    (_, _, None) => unreachable!("clap requires --out with --cell"),
                },
                (None, None, _) => unreachable!("clap requires a scenario without --merge"),
            },
        },
        Command::Validate { scenarios } => validate(&scenarios),
        Command::Report { dir } => match report::html::rebuild(&dir) {
            Ok(path) => {
                println!("wrote {}", path.display());
                Ok(ExitCode::SUCCESS)
            }
            Err(e) => Err(e.into()),
        },
        Command::Audit(AuditCommand::Verify { dir }) => match fedsim::audit::verify_dir(&dir) {
            Ok(n) => {
                println!("{}: {n} records, chain and final model verified", dir.join("audit.jsonl").display());
                Ok(ExitCode::SUCCESS)
            }
            Err(e) => {
                eprintln!("error: {e}");
                Ok(ExitCode::from(1))
            }
        },
        Command::Schema => {
            let schema = serde_json::to_string_pretty(&scenario::json_schema()).expect("a schema always serialises");
            println!("{schema}");
            Ok(ExitCode::SUCCESS)
        }
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            // Library errors already carry their causes in their message.
            eprintln!("error: {e}");
            ExitCode::from(2)
        }
    }
}

fn run_one(
    path: PathBuf,
    out: Option<PathBuf>,
    set: Vec<Override>,
    threads: Option<usize>,
    realtime: Option<f64>,
    quiet: bool,
    checkpoint_every: Option<u64>,
) -> anyhow::Result<ExitCode> {
    let scenario = scenario::load_file(&path, &set)?;
    if !scenario.sweep.is_empty() && !quiet {
        eprintln!(
            "note: {} has a `sweep:` map; this runs its base scenario only (`fedsim sweep` runs the sweep)",
            path.display()
        );
    }
    let opts = options(RunOptions { out, realtime, ..RunOptions::default() }, threads, checkpoint_every)?;
    let total = scenario.stop.rounds;
    report_run(quiet, total, |progress| run::run(&scenario, &opts, progress))
}

fn options(mut opts: RunOptions, threads: Option<usize>, checkpoint_every: Option<u64>) -> anyhow::Result<RunOptions> {
    if let Some(t) = threads {
        anyhow::ensure!(t >= 1, "--threads: expected at least 1, found {t}");
        opts.threads = t;
    }
    anyhow::ensure!(checkpoint_every != Some(0), "--checkpoint-every: expected at least 1 round, found 0");
    opts.checkpoint_every = checkpoint_every;
    Ok(opts)
}

fn resume(dir: &Path, threads: Option<usize>, checkpoint_every: Option<u64>, quiet: bool) -> anyhow::Result<ExitCode> {
    let opts = options(RunOptions::default(), threads, checkpoint_every)?;
    report_run(quiet, None, |progress| run::resume(dir, &opts, progress))
}

/// Runs with a progress bar (for runs over a second), prints the summary;
/// exit status 130 for a run stopped by Ctrl-C or SIGTERM.
fn report_run(
    quiet: bool,
    total: Option<u64>,
    go: impl FnOnce(&mut dyn FnMut(Progress)) -> Result<run::RunResult, run::RunError>,
) -> anyhow::Result<ExitCode> {
    let bar = ProgressBar::with_draw_target(total, ProgressDrawTarget::hidden());
    bar.set_style(
        ProgressStyle::with_template("{spinner} {elapsed} [{bar:30}] round {pos}/{len} {msg}")
            .expect("a valid template")
            .progress_chars("=> "),
    );
    let started = Instant::now();
    let mut shown = false;
    let mut on_progress = |p: Progress| {
        // Only runs longer than a second get a bar: short ones would flicker.
        if !quiet && !shown && started.elapsed() > Duration::from_secs(1) {
            bar.set_draw_target(ProgressDrawTarget::stderr());
            shown = true;
        }
        bar.set_position(p.version);
        bar.set_message(format!("t={:.1}s acc={:.4}", p.t.as_secs_f64(), p.accuracy));
    };
    let result = go(&mut on_progress)?;
    bar.finish_and_clear();
    finish(&result, quiet)
}

/// Exit status of a run stopped because it diverged (NaN or infinity in an
/// update or the model); its folder is whole.
const EXIT_DIVERGED: u8 = 3;

/// Prints a finished run's summary; exit status 130 if it was interrupted,
/// 3 if it diverged.
fn finish(result: &run::RunResult, quiet: bool) -> anyhow::Result<ExitCode> {
    use fedsim::actors::StopReason;
    if !quiet {
        print!("{}", report::render_summary(&result.summary, &result.classes()));
        println!("\nwrote {}", result.dir.display());
    } else if let Some(why) = &result.summary.stop_message {
        eprintln!("stopped by {}: {why}", result.summary.stop_reason);
    }
    match result.outcome.stop_reason {
        StopReason::Interrupted => {
            eprintln!("interrupted: `fedsim resume {}` continues the run", result.dir.display());
            Ok(ExitCode::from(130))
        }
        StopReason::Diverged => {
            eprintln!("diverged: the outputs up to the divergence are in {}", result.dir.display());
            Ok(ExitCode::from(EXIT_DIVERGED))
        }
        _ => Ok(ExitCode::SUCCESS),
    }
}

fn watch(
    path: PathBuf,
    out: Option<PathBuf>,
    set: Vec<Override>,
    realtime: Option<f64>,
    threads: Option<usize>,
    headless_frame: Option<PathBuf>,
    headless_size: &str,
) -> anyhow::Result<ExitCode> {
    let scenario = scenario::load_file(&path, &set)?;
    if let Some(x) = realtime {
        anyhow::ensure!(x > 0.0 && x.is_finite(), "--realtime: expected a positive speed-up, found {x}");
    }
    let opts = options(RunOptions { out, ..RunOptions::default() }, threads, None)?;
    let headless = match headless_frame {
        None => None,
        Some(file) => {
            let (w, h) = headless_size
                .split_once('x')
                .and_then(|(w, h)| Some((w.parse().ok()?, h.parse().ok()?)))
                .ok_or_else(|| anyhow::anyhow!("--headless-size: expected WxH, found {headless_size}"))?;
            Some((file, w, h))
        }
    };
    let speed = realtime.unwrap_or_else(|| fedsim::watch::default_speed(&scenario));
    let result = fedsim::watch::watch(&scenario, &opts, &fedsim::watch::WatchOptions { speed, headless })?;
    finish(&result, false)
}

fn cores() -> usize {
    fedsim::run::host_cores()
}

fn jobs_or_cores(jobs: Option<usize>) -> anyhow::Result<usize> {
    match jobs {
        Some(0) => anyhow::bail!("--jobs: expected at least 1, found 0"),
        Some(j) => Ok(j),
        None => Ok(cores()),
    }
}

/// Exit status 1 when a member of a group failed (the group was written,
/// with the failures in its tables).
fn group_status(outcomes: &[experiment::Outcome]) -> ExitCode {
    if outcomes.iter().any(|o| o.error.is_some()) {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    }
}

fn compare(
    paths: &[PathBuf],
    target: Option<f64>,
    out: &Path,
    jobs: Option<usize>,
    fail_fast: bool,
) -> anyhow::Result<ExitCode> {
    if let Some(t) = target {
        anyhow::ensure!((0.0..=1.0).contains(&t), "--target: expected an accuracy in [0, 1], found {t}");
    }
    let outcomes = experiment::compare(paths, target, out, jobs_or_cores(jobs)?, fail_fast)?;
    print!("{}", experiment::compare_table(&outcomes));
    println!("\nwrote {0}/compare.csv, {0}/accuracy.svg and {0}/report.html", out.display());
    Ok(group_status(&outcomes))
}

fn sweep(path: &Path, jobs: Option<usize>, out: Option<&Path>, fail_fast: bool) -> anyhow::Result<ExitCode> {
    let runs = experiment::sweep(path, out, jobs_or_cores(jobs)?, fail_fast)?;
    let dir = runs.first().and_then(|r| r.outcome.dir.parent()).map(Path::to_path_buf).unwrap_or_default();
    let outcomes: Vec<_> = runs.iter().map(|r| r.outcome.clone()).collect();
    print!("{}", experiment::compare_table(&outcomes));
    println!(
        "\n{} runs; wrote {1}/sweep.csv, {1}/sweep_runs.csv, {1}/accuracy.svg and {1}/report.html",
        runs.len(),
        dir.display()
    );
    Ok(group_status(&outcomes))
}

fn sweep_plan(path: &Path, dir: &Path) -> anyhow::Result<ExitCode> {
    let plan = experiment::plan(path, dir)?;
    println!(
        "{} cells over {}; wrote {} and {}",
        plan.cells.len(),
        plan.keys.join(", "),
        dir.join(experiment::PLAN_FILE).display(),
        dir.join(&plan.scenario.copy).display()
    );
    println!(
        "run each cell with `fedsim sweep {} --cell I --out {}` (I from 0 to {}), then `fedsim sweep --merge {}`",
        dir.join(&plan.scenario.copy).display(),
        dir.display(),
        plan.cells.len().saturating_sub(1),
        dir.display()
    );
    Ok(ExitCode::SUCCESS)
}

/// The cell's index: `--cell`, else the variable `--cell-from-env` names.
fn cell_index(cell: Option<usize>, var: Option<&str>) -> anyhow::Result<usize> {
    if let Some(i) = cell {
        return Ok(i);
    }
    let var = var.expect("clap gives --cell or --cell-from-env here");
    let text = std::env::var(var)
        .map_err(|_| anyhow::anyhow!("--cell-from-env {var}: the environment variable {var} is not set"))?;
    text.trim()
        .parse()
        .map_err(|_| anyhow::anyhow!("--cell-from-env {var}: expected a cell index (0, 1, ...), found {var}={text:?}"))
}

fn sweep_cell(
    path: &Path,
    cell: Option<usize>,
    var: Option<&str>,
    out: &Path,
    threads: Option<usize>,
) -> anyhow::Result<ExitCode> {
    let index = cell_index(cell, var)?;
    let opts = options(RunOptions::default(), threads, None)?;
    match experiment::run_cell(path, index, out, opts.threads)? {
        experiment::CellRun::Skipped { dir } => {
            println!("cell {index}: {} is already complete with the same scenario_hash; skipped", dir.display());
            Ok(ExitCode::SUCCESS)
        }
        experiment::CellRun::Failed { dir, error } => {
            eprintln!("cell {index} failed: {error} (see {})", dir.join("error.txt").display());
            Ok(ExitCode::from(1))
        }
        experiment::CellRun::Ran(result) => {
            println!("cell {index}: wrote {}", result.dir.display());
            if result.outcome.stop_reason == fedsim::actors::StopReason::Interrupted {
                eprintln!("interrupted: run the cell again to continue it");
                return Ok(ExitCode::from(130));
            }
            Ok(ExitCode::SUCCESS)
        }
    }
}

/// `fedsim sweep S.yaml --emit slurm|k8s DIR`.
fn sweep_emit(
    path: &Path,
    emit: &[String],
    throttle: Option<usize>,
    cpus: usize,
    fedsim: Option<PathBuf>,
    image: Option<String>,
    claim: String,
) -> anyhow::Result<ExitCode> {
    use fedsim::cluster::{self, EmitOptions, Target};
    let [kind, dir] = emit else { unreachable!("clap takes two values for --emit") };
    let target: Target = kind.parse().map_err(|e| anyhow::anyhow!("--emit: {e}"))?;
    let fedsim = match fedsim {
        Some(p) => std::path::absolute(&p).with_context(|| format!("--fedsim {}", p.display()))?,
        None => std::env::current_exe().context("--fedsim: cannot tell this binary's path; give it")?,
    };
    let opts = EmitOptions {
        target,
        throttle: throttle.unwrap_or(cluster::DEFAULT_THROTTLE),
        cpus,
        fedsim,
        image: image.unwrap_or_else(cluster::default_image),
        claim,
    };
    let dir = Path::new(dir);
    let (plan, files) = cluster::emit(path, dir, &opts)?;
    let names: Vec<String> = files.iter().map(|f| f.display().to_string()).collect();
    println!(
        "{} cells; wrote {} and {}",
        plan.cells.len(),
        dir.join(experiment::PLAN_FILE).display(),
        names.join(", ")
    );
    match target {
        Target::Slurm => println!("submit with `sh {}`", dir.join("submit.sh").display()),
        Target::Kubernetes => println!(
            "copy {} onto the claim {} (as /runs/{}), then `kubectl apply -f {}`; apply merge-job.yaml once it completes",
            dir.display(),
            opts.claim,
            dir.file_name().map_or(String::new(), |n| n.to_string_lossy().into_owned()),
            dir.join("job.yaml").display()
        ),
    }
    Ok(ExitCode::SUCCESS)
}

fn sweep_merge(dir: &Path) -> anyhow::Result<ExitCode> {
    let runs = experiment::merge(dir)?;
    let outcomes: Vec<_> = runs.iter().map(|r| r.outcome.clone()).collect();
    print!("{}", experiment::compare_table(&outcomes));
    println!(
        "\n{} cells merged; wrote {1}/sweep.csv, {1}/sweep_runs.csv, {1}/accuracy.svg and {1}/report.html",
        runs.len(),
        dir.display()
    );
    Ok(group_status(&outcomes))
}

fn validate(paths: &[PathBuf]) -> anyhow::Result<ExitCode> {
    let mut failed = 0;
    for path in paths {
        match scenario::load_file_all(path, &[]) {
            Ok(s) => {
                println!("{}: ok ({}, {} clients, {})", path.display(), s.name, s.clients.count, s.strategy.kind.name())
            }
            Err(errors) => {
                // Every independent problem of the file, one a line.
                for e in errors {
                    eprintln!("error: {e}");
                }
                failed += 1;
            }
        }
    }
    Ok(if failed == 0 { ExitCode::SUCCESS } else { ExitCode::from(2) })
}
