//! `fedsim._fedsim`: the Rust side of the Python package.
//!
//! [`run_scenario`] loads a scenario (a file, or YAML text) with
//! `--set`-style overrides and runs it into a folder; [`compare_scenarios`]
//! and [`sweep_scenario`] do what `fedsim compare` and `fedsim sweep` do.
//! The pure-Python `fedsim` package wraps them and reads the folders into
//! pandas. Errors cross
//! the boundary as Python exceptions, never as panics:
//!
//! - a bad scenario raises `fedsim.ScenarioError`, with `file`, `line`,
//!   `column` and `key` attributes (None when unknown);
//! - any other failure of the run raises `fedsim.RunError`;
//! - Ctrl-C while running stops the run at its next event and raises
//!   `KeyboardInterrupt`.

use fedsim::experiment::{self, ExperimentError};
use fedsim::report::INTERRUPT;
use fedsim::run::{self, RunError as FedsimRunError, RunOptions};
use fedsim::scenario::{self, Location, Override};
use pyo3::create_exception;
use pyo3::exceptions::{PyException, PyKeyboardInterrupt, PyRuntimeError, PyValueError};
use pyo3::prelude::*;
use std::path::PathBuf;
use std::sync::atomic::Ordering;
use std::sync::mpsc;
use std::time::Duration;

create_exception!(
    fedsim,
    ScenarioError,
    PyException,
    "A scenario that cannot be loaded: its message says where and why."
);
create_exception!(fedsim, RunError, PyException, "A valid scenario whose run failed (data, model, output...).");

/// A failure inside the run thread, made of `Send` parts only.
enum Failure {
    Scenario { message: String, file: Option<String>, line: Option<usize>, column: Option<usize>, key: Option<String> },
    Run(String),
    Panic(String),
}

impl Failure {
    fn scenario(e: &scenario::ScenarioError) -> Failure {
        let (file, line, column) = match e.location() {
            Some(Location::File { file, line, column }) => {
                (Some(file.display().to_string()), Some(*line), Some(*column))
            }
            _ => (None, None, None),
        };
        Failure::Scenario { message: e.to_string(), file, line, column, key: e.key().map(str::to_owned) }
    }

    fn into_pyerr(self, py: Python<'_>) -> PyErr {
        match self {
            Failure::Scenario { message, file, line, column, key } => {
                let err = ScenarioError::new_err(message);
                let value = err.value(py);
                // Setting attributes on a fresh exception instance cannot
                // fail in practice; if it did, the message still says it all.
                let _ = value.setattr("file", file);
                let _ = value.setattr("line", line);
                let _ = value.setattr("column", column);
                let _ = value.setattr("key", key);
                err
            }
            Failure::Run(message) => RunError::new_err(message),
            Failure::Panic(message) => PyRuntimeError::new_err(format!("fedsim panicked: {message}")),
        }
    }
}

/// Where the scenario comes from.
enum Source {
    File(PathBuf),
    /// YAML text, and the path that names it in messages (its folder is the
    /// base of relative paths).
    Text(String, PathBuf),
}

/// Loads and runs one scenario; returns the run folder.
fn load_and_run(source: Source, sets: Vec<Override>, opts: RunOptions) -> Result<PathBuf, Failure> {
    let scenario = match &source {
        Source::File(path) => scenario::load_file(path, &sets),
        Source::Text(text, name) => scenario::load_str(text, name, &sets),
    }
    .map_err(|e| Failure::scenario(&e))?;
    match run::run(&scenario, &opts, &mut |_| {}) {
        Ok(result) => Ok(result.dir),
        Err(run::RunError::Scenario(e)) => Err(Failure::scenario(&e)),
        Err(e) => Err(Failure::Run(e.to_string())),
    }
}

/// Runs a scenario into `out` and returns the folder written.
///
/// Exactly one of `path` (a scenario file) or `text` (YAML or JSON text,
/// named `name` in messages) is given. `sets` are `(key, YAML value)` pairs
/// applied like `--set key=value`. The GIL is released while the run
/// computes; the calling thread polls for Ctrl-C every 50 ms.
#[pyfunction]
#[pyo3(signature = (out, path=None, text=None, name=None, sets=Vec::new(), threads=None))]
fn run_scenario(
    py: Python<'_>,
    out: PathBuf,
    path: Option<PathBuf>,
    text: Option<String>,
    name: Option<PathBuf>,
    sets: Vec<(String, String)>,
    threads: Option<usize>,
) -> PyResult<String> {
    let source = match (path, text) {
        (Some(p), None) => Source::File(p),
        (None, Some(t)) => Source::Text(t, name.unwrap_or_else(|| PathBuf::from("<scenario>"))),
        _ => return Err(PyValueError::new_err("give exactly one of path or text")),
    };
    let mut opts = RunOptions { out: Some(out), ..RunOptions::default() };
    if let Some(t) = threads {
        if t == 0 {
            return Err(PyValueError::new_err("threads: expected at least 1, found 0"));
        }
        opts.threads = t;
    }
    let sets = overrides(sets);
    let dir = in_background(py, move || load_and_run(source, sets, opts))?;
    Ok(dir.display().to_string())
}

/// Runs `work` on its own thread with the GIL released, and polls for
/// Ctrl-C every 50 ms: on one, it asks the runs to stop at their next
/// event, waits for the thread, and raises `KeyboardInterrupt`. A panic in
/// `work` becomes a `RuntimeError`, never an abort of the interpreter.
fn in_background<T: Send + 'static>(
    py: Python<'_>,
    work: impl FnOnce() -> Result<T, Failure> + Send + 'static,
) -> PyResult<T> {
    let (tx, rx) = mpsc::channel();
    let worker = std::thread::Builder::new()
        .name("fedsim-run".into())
        .spawn(move || {
            let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(work));
            let _ = tx.send(outcome.unwrap_or_else(|p| Err(Failure::Panic(panic_message(&p)))));
        })
        .map_err(|e| RunError::new_err(format!("cannot start the run thread: {e}")))?;

    let mut rx = rx;
    let outcome = loop {
        // The receiver moves in and out: it is `Send` but not `Sync`.
        let (received, back) = py.allow_threads(move || (rx.recv_timeout(Duration::from_millis(50)), rx));
        rx = back;
        match received {
            Ok(outcome) => break outcome,
            Err(mpsc::RecvTimeoutError::Timeout) => {}
            Err(mpsc::RecvTimeoutError::Disconnected) => break Err(Failure::Panic("the run thread stopped".into())),
        }
        if let Err(interrupt) = py.check_signals() {
            // Ask the run to stop at its next event, wait for it, then
            // re-arm the flag for the next run.
            INTERRUPT.store(true, Ordering::SeqCst);
            py.allow_threads(|| {
                let _ = worker.join();
            });
            INTERRUPT.store(false, Ordering::SeqCst);
            return Err(if interrupt.is_instance_of::<PyKeyboardInterrupt>(py) {
                interrupt
            } else {
                PyKeyboardInterrupt::new_err("fedsim run interrupted")
            });
        }
    };
    let _ = worker.join();
    outcome.map_err(|failure| failure.into_pyerr(py))
}

/// An experiment's error as a Python exception: a scenario's keeps its
/// location.
fn experiment_failure(e: ExperimentError) -> Failure {
    match e {
        ExperimentError::Scenario(e) => Failure::scenario(&e),
        ExperimentError::Run(FedsimRunError::Scenario(e)) => Failure::scenario(&e),
        e => Failure::Run(e.to_string()),
    }
}

/// Runs scenarios side by side into `out` (`fedsim compare`); returns the
/// folder written. Each scenario is `(path, None)` for a file or
/// `(name, Some(text))` for YAML text; `sets` apply to every one of them.
#[pyfunction]
#[pyo3(signature = (out, scenarios, sets=Vec::new(), target=None, jobs=None, fail_fast=false))]
fn compare_scenarios(
    py: Python<'_>,
    out: PathBuf,
    scenarios: Vec<(PathBuf, Option<String>)>,
    sets: Vec<(String, String)>,
    target: Option<f64>,
    jobs: Option<usize>,
    fail_fast: bool,
) -> PyResult<String> {
    let jobs = positive_or_cores("jobs", jobs)?;
    let sets = overrides(sets);
    let work = move || {
        let loaded = scenarios
            .iter()
            .map(|(name, text)| match text {
                Some(t) => scenario::load_str(t, name, &sets),
                None => scenario::load_file(name, &sets),
            })
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| Failure::scenario(&e))?;
        experiment::compare_scenarios(loaded, target, &out, jobs, fail_fast).map_err(experiment_failure)?;
        Ok(out)
    };
    Ok(in_background(py, work)?.display().to_string())
}

/// Runs the cross product of a scenario file's `sweep:` map into `out`
/// (`fedsim sweep`); returns the folder written.
#[pyfunction]
#[pyo3(signature = (path, out, jobs=None, fail_fast=false))]
fn sweep_scenario(
    py: Python<'_>,
    path: PathBuf,
    out: PathBuf,
    jobs: Option<usize>,
    fail_fast: bool,
) -> PyResult<String> {
    let jobs = positive_or_cores("jobs", jobs)?;
    let work = move || {
        experiment::sweep(&path, Some(&out), jobs, fail_fast).map_err(experiment_failure)?;
        Ok(out)
    };
    Ok(in_background(py, work)?.display().to_string())
}

/// `(key, YAML value)` pairs as `--set` overrides.
fn overrides(sets: Vec<(String, String)>) -> Vec<Override> {
    sets.into_iter().map(|(k, v)| Override::new(k, v)).collect()
}

/// A count the caller may leave out (then every core), never zero.
fn positive_or_cores(name: &str, n: Option<usize>) -> PyResult<usize> {
    match n {
        Some(0) => Err(PyValueError::new_err(format!("{name}: expected at least 1, found 0"))),
        Some(n) => Ok(n),
        None => Ok(run::host_cores()),
    }
}

/// Checks a scenario without running it; raises `ScenarioError` if it is bad.
#[pyfunction]
#[pyo3(signature = (path=None, text=None, name=None, sets=Vec::new()))]
fn validate(
    py: Python<'_>,
    path: Option<PathBuf>,
    text: Option<String>,
    name: Option<PathBuf>,
    sets: Vec<(String, String)>,
) -> PyResult<()> {
    let sets = overrides(sets);
    let loaded = match (path, text) {
        (Some(p), None) => scenario::load_file(&p, &sets),
        (None, Some(t)) => scenario::load_str(&t, &name.unwrap_or_else(|| PathBuf::from("<scenario>")), &sets),
        _ => return Err(PyValueError::new_err("give exactly one of path or text")),
    };
    loaded.map(|_| ()).map_err(|e| Failure::scenario(&e).into_pyerr(py))
}

/// JSON text (what Python's `json.dumps` gives for a scenario dict) as
/// block YAML, so messages point at readable lines.
#[pyfunction]
fn json_to_yaml(json: &str) -> PyResult<String> {
    let value: serde_json::Value =
        serde_json::from_str(json).map_err(|e| PyValueError::new_err(format!("not JSON: {e}")))?;
    serde_yaml::to_string(&value).map_err(|e| PyValueError::new_err(format!("cannot write YAML: {e}")))
}

fn panic_message(payload: &Box<dyn std::any::Any + Send>) -> String {
    payload
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "unknown panic".into())
}

#[pymodule]
fn _fedsim(m: &Bound<'_, PyModule>) -> PyResult<()> {
    let py = m.py();
    m.add("ScenarioError", py.get_type::<ScenarioError>())?;
    m.add("RunError", py.get_type::<RunError>())?;
    m.add_function(wrap_pyfunction!(run_scenario, m)?)?;
    m.add_function(wrap_pyfunction!(validate, m)?)?;
    m.add_function(wrap_pyfunction!(compare_scenarios, m)?)?;
    m.add_function(wrap_pyfunction!(sweep_scenario, m)?)?;
    m.add_function(wrap_pyfunction!(json_to_yaml, m)?)?;
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    Ok(())
}
