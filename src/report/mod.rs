//! What a run leaves behind (spec section 4): `metrics.csv`, `summary.json`
//! (with the run's provenance), `events.jsonl`, `trace.json`,
//! `clients.csv`, `rounds.csv` and the
//! `plots/` folder and `report.html` in a folder that appears whole or not at all (every file
//! is described in `docs/outputs.md`), and the short summary printed at the
//! end of a run.

mod console;
pub mod html;
mod output;
mod plot;
mod roster;
pub mod tables;
pub mod trace;

pub use console::{classification_table, render_summary};
pub use html::{HtmlError, REPORT_FILE};
pub use output::{remove_staging_on_panic, stop_cleanly_on_interrupt, OutputDir, OutputError, INTERRUPT};
pub use plot::run::{to_the_end, write_run_plots, RunPlots, PLOTS_DIR, PLOT_FILES};
pub use plot::{
    accuracy_svg, axis, message_svg, participation_svg, staleness_svg, timeline, LineChart, PlotError, Series, XAxis,
};
pub use roster::Roster;
pub use tables::{ClientsTable, RoundsCsv, RoundsTable};
pub use trace::{TraceConfig, TraceSink, TraceState, TRACE_FILE};

use crate::metrics::{ClassScores, MetricsRow};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::io::Write;

/// `summary.json` (read back by `fedsim sweep --merge`).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Summary {
    pub scenario: String,
    pub seed: u64,
    pub strategy: String,
    /// Server model versions reached.
    pub rounds: u64,
    pub virtual_time_s: f64,
    pub final_accuracy: f64,
    pub final_loss: f64,
    pub final_macro_f1: f64,
    pub target_accuracy: Option<f64>,
    /// Virtual time of the first evaluation at or above the target.
    pub time_to_target_s: Option<f64>,
    pub bytes_up: u64,
    pub bytes_down: u64,
    pub wall_time_s: f64,
    /// Privacy budget spent (null without differential privacy, or when
    /// its noise is 0 and epsilon is unbounded).
    pub epsilon: Option<f64>,
    /// The membership-inference attack on the final model (Yeom et al.'s
    /// loss threshold): `advantage` (best TPR - FPR) and `auc`.
    pub privacy_audit: Option<crate::privacy::leakage::AttackResult>,
    pub stop_reason: String,
    /// Why the run stopped, in words, when the reason alone does not say
    /// (`exhausted`, `diverged`); null otherwise.
    pub stop_message: Option<String>,
    pub clients: usize,
    pub parameters: usize,
    pub threads: usize,
    /// Messages delivered to actors.
    pub messages: u64,
    pub events: u64,
    /// The process's peak resident memory in bytes when the run ended
    /// (Linux's VmHWM; null where unknown). A wall-clock-like figure: it is
    /// in the summary only, never in `metrics.csv` or `events.jsonl`.
    pub peak_rss_bytes: Option<u64>,
    /// Tasks cancelled as late at a round's close, over the run.
    pub clients_late: u64,
    /// Tasks whose client vanished, over the run.
    pub clients_dropped: u64,
    /// The largest staleness of a folded update (null: none was folded).
    pub max_staleness: Option<u64>,
    /// Staleness of folded updates: value -> count.
    pub staleness_histogram: BTreeMap<u64, u64>,
    /// Per class (by name): precision, recall, f1, support.
    pub classification_report: BTreeMap<String, ClassScores>,
    /// Provenance: the fedsim version that ran (Cargo's package version).
    pub fedsim_version: String,
    /// Provenance: the commit fedsim was built from (`FEDSIM_GIT_COMMIT`
    /// at build time, else `git rev-parse HEAD`, else `unknown`).
    pub git_commit: String,
    /// Provenance: SHA-256 (hex) of `scenario.resolved.yaml`; two runs with
    /// the same hash ran the same scenario.
    pub scenario_hash: String,
    /// Provenance: the host's cores (available parallelism), a wall-clock
    /// field like `threads`.
    pub host_cores: usize,
}

/// The fedsim version that runs, for `summary.json` and sweep plans.
pub const FEDSIM_VERSION: &str = env!("CARGO_PKG_VERSION");

/// The commit fedsim was built from (see `build.rs`).
pub const GIT_COMMIT: &str = env!("FEDSIM_GIT_COMMIT");

/// The first row at or above `target`, if any.
///
/// ```
/// # use fedsim::report::time_to_target;
/// assert_eq!(time_to_target(&[], 0.9), None);
/// ```
pub fn time_to_target(rows: &[MetricsRow], target: f64) -> Option<f64> {
    rows.iter().find(|r| r.accuracy >= target).map(|r| r.virtual_time.as_secs_f64())
}

/// Writes `metrics.csv`: the spec's columns first, then fedsim's own.
pub fn write_metrics(w: &mut impl Write, rows: &[MetricsRow]) -> std::io::Result<()> {
    writeln!(w, "{}", crate::metrics::METRICS_COLUMNS.join(","))?;
    for r in rows {
        // `{:?}` on f64 prints the shortest form that reads back exactly.
        write!(
            w,
            "{},{},{:?},{:?},{:?},{},{},{},{},{},",
            r.round,
            r.virtual_time,
            r.accuracy,
            r.loss,
            r.macro_f1,
            r.clients_selected,
            r.clients_completed,
            r.clients_dropped,
            r.bytes_up,
            r.bytes_down
        )?;
        match r.mean_staleness {
            Some(m) => write!(w, "{m:?},")?,
            None => write!(w, ",")?,
        }
        match r.max_staleness {
            Some(m) => write!(w, "{m},")?,
            None => write!(w, ",")?,
        }
        write!(w, "{},{},", r.clients_late, r.updates_stale)?;
        match r.epsilon {
            Some(e) => writeln!(w, "{e:?}")?,
            None => writeln!(w)?,
        }
    }
    Ok(())
}

/// The process's peak resident set size so far, in bytes (Linux only).
///
/// ```
/// let rss = fedsim::report::peak_rss_bytes();
/// assert!(cfg!(not(target_os = "linux")) || rss.unwrap() > 0);
/// ```
pub fn peak_rss_bytes() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb * 1024)
}
