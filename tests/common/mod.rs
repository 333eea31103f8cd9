//! Helpers shared by the end-to-end tests: run a scenario from YAML text
//! into a temporary folder and read what it wrote.
#![allow(dead_code)]

pub mod docs;

use fedsim::run::{run, RunOptions, RunResult};
use fedsim::scenario::{load_file, load_str, Override};
use std::path::{Path, PathBuf};

pub struct Ran {
    pub result: RunResult,
    pub dir: PathBuf,
    pub _tmp: tempfile::TempDir,
}

impl Ran {
    pub fn read(&self, name: &str) -> String {
        std::fs::read_to_string(self.dir.join(name)).unwrap()
    }

    pub fn events(&self) -> Vec<serde_json::Value> {
        self.read("events.jsonl").lines().map(|l| serde_json::from_str(l).unwrap()).collect()
    }

    pub fn events_of(&self, kind: &str) -> Vec<serde_json::Value> {
        self.events().into_iter().filter(|e| e["kind"] == kind).collect()
    }

    /// `summary.json`, parsed.
    pub fn summary_json(&self) -> serde_json::Value {
        serde_json::from_str(&self.read("summary.json")).unwrap()
    }

    /// How many events are of any of `kinds`.
    pub fn count(&self, kinds: &[&str]) -> u64 {
        self.events().iter().filter(|e| kinds.iter().any(|k| e["kind"] == *k)).count() as u64
    }

    /// Times of the server's `aggregate` events, in seconds.
    pub fn aggregate_times(&self) -> Vec<f64> {
        self.events_of("aggregate").iter().map(|e| e["t"].as_f64().unwrap()).collect()
    }
}

pub fn opts(dir: &Path, threads: usize) -> RunOptions {
    RunOptions { out: Some(dir.to_path_buf()), threads, ..RunOptions::default() }
}

/// Runs YAML text as if it were a file in `base` (for relative paths).
pub fn run_yaml(yaml: &str, threads: usize) -> Ran {
    run_yaml_in(yaml, threads, Path::new(env!("CARGO_MANIFEST_DIR")))
}

pub fn run_yaml_in(yaml: &str, threads: usize, base: &Path) -> Ran {
    let scenario = load_str(yaml, &base.join("test.yaml"), &[]).unwrap_or_else(|e| panic!("{e}"));
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("run");
    let result = run(&scenario, &opts(&dir, threads), &mut |_| {}).unwrap_or_else(|e| panic!("{e}"));
    Ran { result, dir, _tmp: tmp }
}

/// Runs a scenario file of the repository, with overrides.
pub fn run_file(rel: &str, threads: usize, sets: &[&str]) -> Ran {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(rel);
    let overrides: Vec<Override> = sets.iter().map(|s| s.parse().unwrap()).collect();
    let scenario = load_file(&path, &overrides).unwrap_or_else(|e| panic!("{e}"));
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("run");
    let result = run(&scenario, &opts(&dir, threads), &mut |_| {}).unwrap_or_else(|e| panic!("{e}"));
    Ran { result, dir, _tmp: tmp }
}

/// The contract checker shipped beside the project (`../shared/tools`,
/// or further up from a worktree). Its absence is a broken checkout, not
/// a reason to skip the contract: it fails the test.
pub fn check_run_path() -> PathBuf {
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR"));
    manifest.ancestors().map(|d| d.join("shared/tools/check-run")).find(|p| p.exists()).unwrap_or_else(|| {
        panic!("no shared/tools/check-run above {}: the contract cannot be checked", manifest.display())
    })
}

/// Asserts the contract checker passes on the run folder `dir`.
pub fn check_run(dir: &Path) {
    let c = std::process::Command::new("python3").arg(check_run_path()).arg(dir).output().expect("python3 runs");
    assert!(c.status.success(), "check-run on {}: {}", dir.display(), String::from_utf8_lossy(&c.stdout));
}
