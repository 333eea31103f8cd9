//! Job scripts for clusters: what `fedsim sweep S.yaml --emit slurm DIR`
//! and `--emit k8s DIR` write next to a sweep's plan.
//!
//! A sweep's cells are independent runs (`fedsim sweep S --cell I`), so a
//! cluster runs them as one array of identical tasks that differ only in
//! their index: a Slurm job array (`SLURM_ARRAY_TASK_ID`) or a Kubernetes
//! Indexed Job (`JOB_COMPLETION_INDEX`), followed by one merge task
//! (`fedsim sweep --merge DIR`). This module owns the text of those files
//! and the resources they request ([`Resources`], sized from the cells'
//! [`Estimate`]s); it is pure text generation, apart from [`write()`], which
//! puts the files in place. docs/cluster.md shows them end to end.

use crate::data::{self, DataError};
use crate::experiment::{self, ExperimentError, Plan};
use crate::scenario::estimate::Estimate;
use serde_json::json;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

/// Cells a cluster runs at once unless `--throttle` says otherwise: enough
/// to finish a sweep quickly, few enough to leave a shared cluster room.
pub const DEFAULT_THROTTLE: usize = 8;
/// Multiply-adds of training and evaluation a cell is assumed to do per
/// second. fedsim does well over 1e9 per core on a laptop (see
/// docs/performance.md); a tenth of a slow core leaves room for a busy node,
/// since a task that outlives `--time` is killed and its work lost.
pub const WORK_PER_S: f64 = 1e8;
/// Events a cell is assumed to log per second (`events.jsonl` lines),
/// likewise a small fraction of what one core writes.
pub const EVENTS_PER_S: f64 = 1e5;
/// The least time a cell is given, in seconds: starting the process,
/// loading data and writing outputs cost time the work estimate does not
/// count, and schedulers round small limits up anyway.
pub const TIME_FLOOR_S: u64 = 10 * 60;
/// The time a cell is given when its work cannot be estimated (a run bound
/// only by virtual time over devices that take none), in seconds.
pub const UNKNOWN_TIME_S: u64 = 24 * 3600;
/// The memory a cell requests over its estimate: the estimate is an upper
/// bound of what the run holds, not of the allocator's fragmentation or
/// the page cache of the files it writes.
pub const MEMORY_HEADROOM: f64 = 1.5;
/// The least memory a cell requests, in MiB.
pub const MEMORY_FLOOR_MIB: u64 = 512;
/// What the merge task requests: it reads the cells' small summaries and
/// curves and writes the sweep's tables.
pub const MERGE_MEMORY_MIB: u64 = 1024;
pub const MERGE_TIME_S: u64 = 30 * 60;
/// Retries of one cell on Kubernetes before the index is marked failed
/// (Slurm requeues a task whose node fails; a task that fails on its own
/// is left for the merge to name).
pub const RETRIES_PER_CELL: u32 = 2;
/// Where a Kubernetes pod mounts the shared volume; the sweep folder is
/// `<MOUNT>/<DIR's name>` on it.
pub const MOUNT: &str = "/runs";

#[derive(Debug, thiserror::Error)]
pub enum ClusterError {
    /// Making the plan (boxed: it is large, and rare).
    #[error(transparent)]
    Plan(Box<ExperimentError>),
    #[error("{path}: {source}")]
    Data { path: PathBuf, source: DataError },
    #[error("{path}: {what}")]
    Path { path: PathBuf, what: String },
    #[error("cannot write {path}: {source}")]
    Write { path: PathBuf, source: std::io::Error },
    #[error("--throttle: expected at least 1 cell at once, found 0")]
    Throttle,
    #[error("--cpus-per-task: expected at least 1, found 0")]
    Cpus,
}

impl From<ExperimentError> for ClusterError {
    fn from(e: ExperimentError) -> Self {
        ClusterError::Plan(Box::new(e))
    }
}

/// What every cell of a sweep requests: the largest cell's needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Resources {
    /// Memory per cell, in MiB: the estimate times [`MEMORY_HEADROOM`],
    /// at least [`MEMORY_FLOOR_MIB`].
    pub memory_mib: u64,
    /// Wall time per cell, in seconds, rounded up to whole minutes: the
    /// work at [`WORK_PER_S`] plus the events at [`EVENTS_PER_S`], at
    /// least [`TIME_FLOOR_S`]; [`UNKNOWN_TIME_S`] when unknown.
    pub time_s: u64,
    /// Cores per cell (the run's compute threads).
    pub cpus: usize,
}

impl Resources {
    /// The resources of the largest of `cells` (the estimates of every
    /// cell's resolved scenario), with `cpus` cores each.
    pub fn of(cells: &[Estimate], cpus: usize) -> Resources {
        let memory = cells.iter().map(|e| e.memory_bytes).fold(0.0, f64::max);
        let memory_mib = ((memory * MEMORY_HEADROOM / (1024.0 * 1024.0)).ceil() as u64).max(MEMORY_FLOOR_MIB);
        let time_s = cells.iter().map(cell_time_s).max().unwrap_or(TIME_FLOOR_S);
        Resources { memory_mib, time_s, cpus }
    }
}

/// The estimates of every cell of a plan made from its scenario file
/// (whose cells hold their checked scenarios), in cell order.
pub fn estimates(plan: &Plan) -> Result<Vec<Estimate>, ClusterError> {
    plan.cells
        .iter()
        .map(|cell| {
            let s = cell.scenario.as_ref().ok_or_else(|| ClusterError::Path {
                path: PathBuf::from(&plan.scenario.path),
                what: format!("cell {}: expected a plan made from the scenario file, found one read back", cell.index),
            })?;
            let shape = data::shape(&s.data)
                .map_err(|source| ClusterError::Data { path: PathBuf::from(&plan.scenario.path), source })?;
            Ok(Estimate::of(s, &shape))
        })
        .collect()
}

/// Which cluster `fedsim sweep --emit` writes for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Target {
    Slurm,
    Kubernetes,
}

impl std::str::FromStr for Target {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "slurm" => Ok(Target::Slurm),
            "k8s" | "kubernetes" => Ok(Target::Kubernetes),
            _ => Err(format!("expected slurm or k8s, found {s:?}")),
        }
    }
}

/// What `--emit` needs beyond the scenario and the folder.
#[derive(Debug, Clone, PartialEq)]
pub struct EmitOptions {
    pub target: Target,
    /// Cells at once.
    pub throttle: usize,
    /// Cores per cell.
    pub cpus: usize,
    /// Slurm: the fedsim binary the tasks run (an absolute path).
    pub fedsim: PathBuf,
    /// Kubernetes: the image and the PersistentVolumeClaim.
    pub image: String,
    pub claim: String,
}

/// The default image the Kubernetes Job names: `fedsim:<version>`, as
/// `docker build -t fedsim:<version> .` tags it.
pub fn default_image() -> String {
    format!("fedsim:{}", env!("CARGO_PKG_VERSION"))
}

/// `fedsim sweep S.yaml --emit slurm|k8s DIR`: writes the plan into `dir`
/// (see [`experiment::plan`]) and the job files next to it. Returns the
/// plan and the files' paths.
pub fn emit(path: &Path, dir: &Path, opts: &EmitOptions) -> Result<(Plan, Vec<PathBuf>), ClusterError> {
    if opts.throttle == 0 {
        return Err(ClusterError::Throttle);
    }
    if opts.cpus == 0 {
        return Err(ClusterError::Cpus);
    }
    let plan = experiment::plan(path, dir)?;
    let sweep = Sweep {
        name: plan.name.clone(),
        cells: plan.cells.len(),
        scenario_file: plan.scenario.copy.clone(),
        resources: Resources::of(&estimates(&plan)?, opts.cpus),
        throttle: opts.throttle,
    };
    let files = match opts.target {
        Target::Slurm => {
            let dir = std::path::absolute(dir)
                .map_err(|e| ClusterError::Path { path: dir.to_owned(), what: e.to_string() })?;
            slurm_files(&sweep, &Slurm { dir, fedsim: opts.fedsim.clone() })?
        }
        Target::Kubernetes => {
            let folder = std::path::absolute(dir)
                .ok()
                .and_then(|d| d.file_name().map(|n| n.to_string_lossy().into_owned()))
                .ok_or_else(|| ClusterError::Path {
                    path: dir.to_owned(),
                    what: "expected a folder with a name".into(),
                })?;
            k8s_files(&sweep, &Kubernetes { image: opts.image.clone(), claim: opts.claim.clone(), folder })?
        }
    };
    let written = write(dir, &files)?;
    Ok((plan, written))
}

/// One cell's wall-time limit in seconds (see [`Resources::time_s`]).
fn cell_time_s(e: &Estimate) -> u64 {
    match (e.work, e.events) {
        (Some(work), Some(events)) => {
            let s = work / WORK_PER_S + events / EVENTS_PER_S;
            let minutes = (s / 60.0).ceil() as u64;
            (minutes * 60).max(TIME_FLOOR_S)
        }
        _ => UNKNOWN_TIME_S,
    }
}

/// The sweep a set of job files runs.
#[derive(Debug, Clone, PartialEq)]
pub struct Sweep {
    /// The scenario's `name:`, for job names.
    pub name: String,
    /// Cells in the plan; their indices are `0..cells`.
    pub cells: usize,
    /// The file name of the plan's copy of the scenario, inside the sweep
    /// folder.
    pub scenario_file: String,
    pub resources: Resources,
    /// Cells run at once.
    pub throttle: usize,
}

/// Where a Slurm job finds things: absolute paths on the cluster's shared
/// filesystem.
#[derive(Debug, Clone, PartialEq)]
pub struct Slurm {
    /// The sweep folder (plan, cells, logs).
    pub dir: PathBuf,
    /// The fedsim binary the tasks run.
    pub fedsim: PathBuf,
}

/// What a Kubernetes Job runs and where it keeps its outputs.
#[derive(Debug, Clone, PartialEq)]
pub struct Kubernetes {
    /// The container image with fedsim on its PATH (see the Dockerfile).
    pub image: String,
    /// The PersistentVolumeClaim shared by every pod, mounted at [`MOUNT`].
    pub claim: String,
    /// The sweep folder's name on the volume.
    pub folder: String,
}

/// A file to write: its name in the sweep folder, its text, and whether it
/// is a script to run.
#[derive(Debug, Clone, PartialEq)]
pub struct File {
    pub name: &'static str,
    pub text: String,
    pub executable: bool,
}

impl Sweep {
    fn check(&self) -> Result<(), ClusterError> {
        if self.throttle == 0 {
            return Err(ClusterError::Throttle);
        }
        if self.resources.cpus == 0 {
            return Err(ClusterError::Cpus);
        }
        Ok(())
    }

    /// `fedsim-<name>`, as a DNS label (lowercase letters, digits and
    /// dashes), short enough for Kubernetes to append `-merge` and a pod's
    /// index and suffix.
    pub fn job_name(&self) -> String {
        let mut name = String::from("fedsim-");
        for c in self.name.chars() {
            let c = c.to_ascii_lowercase();
            let c = if c.is_ascii_alphanumeric() { c } else { '-' };
            if !(c == '-' && name.ends_with('-')) {
                name.push(c);
            }
        }
        name.truncate(40);
        name.trim_end_matches('-').to_string()
    }
}

/// Seconds as Slurm's `D-HH:MM:SS`.
pub fn slurm_time(s: u64) -> String {
    let (d, h, m, s) = (s / 86400, s / 3600 % 24, s / 60 % 60, s % 60);
    format!("{d}-{h:02}:{m:02}:{s:02}")
}

/// A word for a POSIX shell: as is when it is safe, else single-quoted.
pub fn shell_word(s: &str) -> String {
    if !s.is_empty() && s.chars().all(|c| c.is_ascii_alphanumeric() || "/._-+=:,@%".contains(c)) {
        s.to_string()
    } else {
        format!("'{}'", s.replace('\'', r"'\''"))
    }
}

/// A path as an `#SBATCH` option value: sbatch splits those lines at
/// whitespace and expands `%` patterns in file names.
fn sbatch_path(path: &Path) -> Result<String, ClusterError> {
    let s = path.to_str().ok_or_else(|| ClusterError::Path {
        path: path.to_owned(),
        what: "expected a path in UTF-8 for the job script".into(),
    })?;
    if s.chars().any(|c| c.is_whitespace() || c == '"' || c == '\'') {
        return Err(ClusterError::Path {
            path: path.to_owned(),
            what: "expected a path without spaces or quotes: sbatch reads #SBATCH lines word by word".into(),
        });
    }
    Ok(s.replace('%', "%%"))
}

/// The header every generated file starts with (after a shebang).
fn generated(what: &str) -> String {
    format!(
        "# {what}\n# Written by fedsim {} (`fedsim sweep --emit`); see docs/cluster.md.\n",
        env!("CARGO_PKG_VERSION")
    )
}

/// `sweep.sbatch`, `merge.sbatch` and `submit.sh` for Slurm.
pub fn slurm_files(sweep: &Sweep, slurm: &Slurm) -> Result<Vec<File>, ClusterError> {
    sweep.check()?;
    let dir = sbatch_path(&slurm.dir)?;
    let r = &sweep.resources;
    let fedsim = shell_word(&slurm.fedsim.to_string_lossy());
    let scenario = shell_word(&slurm.dir.join(&sweep.scenario_file).to_string_lossy());
    let out = shell_word(&slurm.dir.to_string_lossy());
    let job = sweep.job_name();

    let mut cells = String::from("#!/bin/bash\n");
    cells += &generated(&format!("The {} cells of sweep {}, as a Slurm job array.", sweep.cells, sweep.name));
    let _ = writeln!(
        cells,
        "# The limits are the largest cell's estimate (src/scenario/estimate.rs): memory with\n\
         # {MEMORY_HEADROOM}x headroom (at least {MEMORY_FLOOR_MIB} MiB); time at {WORK_PER_S:e} multiply-adds and\n\
         # {EVENTS_PER_S:e} events a second (at least {} minutes). A task that outlives them is killed;\n\
         # raise them here or on the command line (sbatch --time=... overrides these lines).",
        TIME_FLOOR_S / 60
    );
    let _ = writeln!(cells, "#SBATCH --job-name={job}");
    let _ = writeln!(cells, "#SBATCH --array=0-{}%{}", sweep.cells.saturating_sub(1), sweep.throttle);
    let _ = writeln!(cells, "#SBATCH --ntasks=1");
    let _ = writeln!(cells, "#SBATCH --cpus-per-task={}", r.cpus);
    let _ = writeln!(cells, "#SBATCH --mem={}M", r.memory_mib);
    let _ = writeln!(cells, "#SBATCH --time={}", slurm_time(r.time_s));
    let _ = writeln!(cells, "#SBATCH --requeue");
    let _ = writeln!(cells, "#SBATCH --open-mode=append");
    let _ = writeln!(cells, "#SBATCH --chdir={dir}");
    let _ = writeln!(cells, "#SBATCH --output={dir}/logs/cell-%a.out");
    cells += "\n# A requeued task reruns its cell; a cell already complete with the same\n\
              # scenario hash is skipped, so no cell is run twice to completion.\n";
    let _ = writeln!(
        cells,
        "exec {fedsim} sweep {scenario} --cell-from-env SLURM_ARRAY_TASK_ID --out {out} --threads \"$SLURM_CPUS_PER_TASK\""
    );

    let mut merge = String::from("#!/bin/bash\n");
    merge += &generated(&format!(
        "Merges sweep {} once every cell has ended (submit.sh makes it depend on the array).",
        sweep.name
    ));
    let _ = writeln!(merge, "#SBATCH --job-name={job}-merge");
    let _ = writeln!(merge, "#SBATCH --ntasks=1");
    let _ = writeln!(merge, "#SBATCH --cpus-per-task=1");
    let _ = writeln!(merge, "#SBATCH --mem={MERGE_MEMORY_MIB}M");
    let _ = writeln!(merge, "#SBATCH --time={}", slurm_time(MERGE_TIME_S));
    let _ = writeln!(merge, "#SBATCH --chdir={dir}");
    let _ = writeln!(merge, "#SBATCH --output={dir}/logs/merge.out");
    merge += "\n# Names the missing and failed cells, and writes sweep.csv, sweep_runs.csv\n\
              # and report.html from the complete ones.\n";
    let _ = writeln!(merge, "exec {fedsim} sweep --merge {out}");

    let mut submit = String::from("#!/bin/sh\n");
    submit += &generated(&format!(
        "Submits sweep {}: the cells as a job array, then the merge once all have ended.",
        sweep.name
    ));
    submit += "# Arguments go to both sbatch calls, e.g. `sh submit.sh --partition=short --account=lab`.\n\
               set -eu\n\
               cd \"$(dirname \"$0\")\"\n\
               jid=$(sbatch --parsable \"$@\" sweep.sbatch)\n\
               jid=${jid%%;*}  # --parsable prints JOBID or JOBID;CLUSTER\n\
               echo \"cells: job $jid\"\n\
               # afterany: the merge runs whether cells succeeded or failed, and names the failures.\n\
               mid=$(sbatch --parsable \"$@\" --dependency=afterany:\"$jid\" merge.sbatch)\n\
               mid=${mid%%;*}\n\
               echo \"merge: job $mid (after every cell of job $jid has ended)\"\n";

    Ok(vec![
        File { name: "sweep.sbatch", text: cells, executable: false },
        File { name: "merge.sbatch", text: merge, executable: false },
        File { name: "submit.sh", text: submit, executable: true },
    ])
}

/// The pod template both Jobs share: one container running `command`, the
/// claim mounted at [`MOUNT`], no restarts in place (the Job retries).
fn pod(k8s: &Kubernetes, command: Vec<String>, memory_mib: u64, cpus: usize, deadline_s: u64) -> serde_json::Value {
    json!({
        "spec": {
            "restartPolicy": "Never",
            // Per pod (per cell attempt), unlike the Job's own deadline.
            "activeDeadlineSeconds": deadline_s,
            // The image's user (see the Dockerfile), and the volume's
            // files made writable for it.
            "securityContext": { "runAsUser": 10001, "runAsGroup": 10001, "fsGroup": 10001 },
            "containers": [{
                "name": "fedsim",
                "image": k8s.image,
                "imagePullPolicy": "IfNotPresent",
                "command": command,
                "resources": {
                    "requests": { "cpu": cpus.to_string(), "memory": format!("{memory_mib}Mi") },
                    "limits": { "memory": format!("{memory_mib}Mi") },
                },
                "volumeMounts": [{ "name": "runs", "mountPath": MOUNT }],
            }],
            "volumes": [{ "name": "runs", "persistentVolumeClaim": { "claimName": k8s.claim } }],
        }
    })
}

/// `job.yaml` (an Indexed Job over the cells) and `merge-job.yaml` for
/// Kubernetes.
pub fn k8s_files(sweep: &Sweep, k8s: &Kubernetes) -> Result<Vec<File>, ClusterError> {
    sweep.check()?;
    let r = &sweep.resources;
    let folder = format!("{MOUNT}/{}", k8s.folder);
    let job = sweep.job_name();
    let labels = json!({ "app.kubernetes.io/name": "fedsim", "fedsim/sweep": job });
    let cell_command = vec![
        "fedsim".to_string(),
        "sweep".into(),
        format!("{folder}/{}", sweep.scenario_file),
        "--cell-from-env".into(),
        "JOB_COMPLETION_INDEX".into(),
        "--out".into(),
        folder.clone(),
        "--threads".into(),
        r.cpus.to_string(),
    ];
    let cells = json!({
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": { "name": job, "labels": labels },
        "spec": {
            "completionMode": "Indexed",
            "completions": sweep.cells,
            "parallelism": sweep.throttle.min(sweep.cells),
            "backoffLimitPerIndex": RETRIES_PER_CELL,
            "template": {
                "metadata": { "labels": labels },
                "spec": pod(k8s, cell_command, r.memory_mib, r.cpus, r.time_s)["spec"],
            },
        },
    });
    let merge_command = vec!["fedsim".to_string(), "sweep".into(), "--merge".into(), folder.clone()];
    let merge = json!({
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": { "name": format!("{job}-merge"), "labels": labels },
        "spec": {
            "completions": 1,
            "backoffLimit": RETRIES_PER_CELL,
            "template": {
                "metadata": { "labels": labels },
                "spec": pod(k8s, merge_command, MERGE_MEMORY_MIB, 1, MERGE_TIME_S)["spec"],
            },
        },
    });
    let yaml = |v: &serde_json::Value| serde_yaml::to_string(v).expect("a JSON value always serialises as YAML");
    let cells_text = format!(
        "{}# The {} cells of sweep {}, as an Indexed Job: pod i runs cell i (JOB_COMPLETION_INDEX).\n\
         # Outputs go to {folder} on the PersistentVolumeClaim {}; copy the sweep folder\n\
         # (plan.json and {}) there first. Then: kubectl apply -f job.yaml\n{}",
        generated("Kubernetes Job."),
        sweep.cells,
        sweep.name,
        k8s.claim,
        sweep.scenario_file,
        yaml(&cells)
    );
    let merge_text = format!(
        "{}# Apply once every cell has ended:\n\
         #   kubectl wait --for=condition=complete --timeout=-1s job/{job} && kubectl apply -f merge-job.yaml\n\
         # (a Job with failed cells never completes; `kubectl wait --for=condition=failed` tells,\n\
         # and the merge names the failed cells).\n{}",
        generated(&format!("Merges sweep {}.", sweep.name)),
        yaml(&merge)
    );
    Ok(vec![
        File { name: "job.yaml", text: cells_text, executable: false },
        File { name: "merge-job.yaml", text: merge_text, executable: false },
    ])
}

/// Writes `files` into `dir` (and creates `dir/logs`, where Slurm writes
/// the tasks' output: sbatch does not create it). Returns their paths.
pub fn write(dir: &Path, files: &[File]) -> Result<Vec<PathBuf>, ClusterError> {
    let logs = dir.join("logs");
    std::fs::create_dir_all(&logs).map_err(|source| ClusterError::Write { path: logs.clone(), source })?;
    let mut written = Vec::new();
    for f in files {
        let path = dir.join(f.name);
        std::fs::write(&path, &f.text).map_err(|source| ClusterError::Write { path: path.clone(), source })?;
        #[cfg(unix)]
        if f.executable {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755))
                .map_err(|source| ClusterError::Write { path: path.clone(), source })?;
        }
        written.push(path);
    }
    Ok(written)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn estimate(memory_bytes: f64, work: Option<f64>, events: Option<f64>) -> Estimate {
        Estimate {
            parameters: 650.0,
            memory_bytes,
            parts: Vec::new(),
            tasks: Some(1.0),
            work,
            events,
            work_key: (String::new(), String::new()),
            evaluation_dominates: false,
        }
    }

    fn sweep(cells: usize, throttle: usize) -> Sweep {
        Sweep {
            name: "Digits sweep_v2".into(),
            cells,
            scenario_file: "scenario.yaml".into(),
            resources: Resources { memory_mib: 768, time_s: 5400, cpus: 2 },
            throttle,
        }
    }

    fn slurm(dir: &str) -> Slurm {
        Slurm { dir: dir.into(), fedsim: "/opt/fedsim bin/fedsim".into() }
    }

    fn text<'a>(files: &'a [File], name: &str) -> &'a str {
        &files.iter().find(|f| f.name == name).unwrap().text
    }

    #[test]
    fn resources_are_the_largest_cells_with_headroom_and_floors() {
        const MIB: f64 = 1024.0 * 1024.0;
        // Small cells get the floors.
        let small = Resources::of(&[estimate(100.0 * MIB, Some(1e9), Some(1e3))], 1);
        assert_eq!(small, Resources { memory_mib: MEMORY_FLOOR_MIB, time_s: TIME_FLOOR_S, cpus: 1 });
        // 1000 MiB * 1.5; 1e12 multiply-adds at 1e8/s = 10000 s, plus 1e7
        // events at 1e5/s = 100 s: 10100 s, rounded up to 169 minutes.
        let big = estimate(1000.0 * MIB, Some(1e12), Some(1e7));
        let r = Resources::of(&[estimate(10.0 * MIB, Some(1.0), Some(1.0)), big], 4);
        assert_eq!(r, Resources { memory_mib: 1500, time_s: 169 * 60, cpus: 4 });
        // A cell whose work is unknown gets the long default.
        let r = Resources::of(&[estimate(MIB, None, None), estimate(MIB, Some(1e12), Some(0.0))], 1);
        assert_eq!(r.time_s, UNKNOWN_TIME_S);
    }

    #[test]
    fn times_read_as_slurm_wants_them() {
        assert_eq!(slurm_time(600), "0-00:10:00");
        assert_eq!(slurm_time(169 * 60), "0-02:49:00");
        assert_eq!(slurm_time(86400 + 3661), "1-01:01:01");
    }

    #[test]
    fn shell_words_are_quoted_only_when_needed() {
        assert_eq!(shell_word("/a/b-c_d.yaml"), "/a/b-c_d.yaml");
        assert_eq!(shell_word("/a b/c"), "'/a b/c'");
        assert_eq!(shell_word("it's"), r"'it'\''s'");
        assert_eq!(shell_word(""), "''");
    }

    #[test]
    fn job_names_are_dns_labels() {
        assert_eq!(sweep(1, 1).job_name(), "fedsim-digits-sweep-v2");
        let mut long = sweep(1, 1);
        long.name = "x".repeat(100) + "--";
        let name = long.job_name();
        assert_eq!(name.len(), 40);
        assert!(name.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-'));
    }

    #[test]
    fn the_slurm_array_covers_every_cell_throttled_with_the_limits() {
        let files = slurm_files(&sweep(12, 4), &slurm("/scratch/me/sweep")).unwrap();
        let cells = text(&files, "sweep.sbatch");
        for line in [
            "#SBATCH --array=0-11%4",
            "#SBATCH --mem=768M",
            "#SBATCH --time=0-01:30:00",
            "#SBATCH --cpus-per-task=2",
            "#SBATCH --requeue",
            "#SBATCH --output=/scratch/me/sweep/logs/cell-%a.out",
            "#SBATCH --job-name=fedsim-digits-sweep-v2",
            "exec '/opt/fedsim bin/fedsim' sweep /scratch/me/sweep/scenario.yaml --cell-from-env \
             SLURM_ARRAY_TASK_ID --out /scratch/me/sweep --threads \"$SLURM_CPUS_PER_TASK\"",
        ] {
            assert!(cells.lines().any(|l| l == line), "no line {line:?} in\n{cells}");
        }
        assert!(cells.starts_with("#!/bin/bash\n"));
        let merge = text(&files, "merge.sbatch");
        assert!(merge.lines().any(|l| l == "exec '/opt/fedsim bin/fedsim' sweep --merge /scratch/me/sweep"), "{merge}");
        assert!(!merge.contains("--array"));
        let submit = &files.iter().find(|f| f.name == "submit.sh").unwrap();
        assert!(submit.executable);
        assert!(submit.text.contains("jid=$(sbatch --parsable \"$@\" sweep.sbatch)"), "{}", submit.text);
        assert!(submit.text.contains("--dependency=afterany:\"$jid\" merge.sbatch"), "{}", submit.text);
    }

    #[test]
    fn slurm_paths_with_spaces_are_refused_and_percent_is_escaped() {
        let err = slurm_files(&sweep(2, 1), &slurm("/my runs/s")).unwrap_err();
        assert!(err.to_string().starts_with("/my runs/s: expected a path without spaces"), "{err}");
        let files = slurm_files(&sweep(2, 1), &slurm("/runs/100%")).unwrap();
        assert!(text(&files, "sweep.sbatch").contains("#SBATCH --output=/runs/100%%/logs/cell-%a.out"));
        assert!(matches!(slurm_files(&sweep(2, 0), &slurm("/r")), Err(ClusterError::Throttle)));
    }

    #[test]
    fn the_indexed_job_runs_cell_i_in_pod_i_on_the_shared_claim() {
        let k8s = Kubernetes { image: "reg/fedsim:1".into(), claim: "lab-runs".into(), folder: "sweep".into() };
        let files = k8s_files(&sweep(12, 20), &k8s).unwrap();
        let job: serde_json::Value = serde_yaml::from_str(text(&files, "job.yaml")).unwrap();
        let spec = &job["spec"];
        assert_eq!(spec["completionMode"], "Indexed");
        assert_eq!(spec["completions"], 12);
        // Never more pods at once than cells.
        assert_eq!(spec["parallelism"], 12);
        assert_eq!(spec["backoffLimitPerIndex"], RETRIES_PER_CELL);
        let pod = &spec["template"]["spec"];
        assert_eq!(pod["restartPolicy"], "Never");
        assert_eq!(pod["activeDeadlineSeconds"], 5400);
        let c = &pod["containers"][0];
        assert_eq!(c["image"], "reg/fedsim:1");
        let command: Vec<&str> = c["command"].as_array().unwrap().iter().map(|v| v.as_str().unwrap()).collect();
        assert_eq!(
            command,
            [
                "fedsim",
                "sweep",
                "/runs/sweep/scenario.yaml",
                "--cell-from-env",
                "JOB_COMPLETION_INDEX",
                "--out",
                "/runs/sweep",
                "--threads",
                "2"
            ]
        );
        assert_eq!(c["resources"]["requests"]["memory"], "768Mi");
        assert_eq!(c["resources"]["requests"]["cpu"], "2");
        assert_eq!(c["volumeMounts"][0]["mountPath"], MOUNT);
        assert_eq!(pod["volumes"][0]["persistentVolumeClaim"]["claimName"], "lab-runs");

        let merge: serde_json::Value = serde_yaml::from_str(text(&files, "merge-job.yaml")).unwrap();
        assert_eq!(merge["metadata"]["name"], "fedsim-digits-sweep-v2-merge");
        assert_eq!(merge["spec"]["completionMode"], serde_json::Value::Null);
        let command = &merge["spec"]["template"]["spec"]["containers"][0]["command"];
        assert_eq!(command, &json!(["fedsim", "sweep", "--merge", "/runs/sweep"]));
        assert!(text(&files, "merge-job.yaml").contains("kubectl wait --for=condition=complete"));
    }
}
