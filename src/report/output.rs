//! A run folder that appears whole or not at all.
//!
//! Files are written into a hidden staging folder beside the target and
//! renamed into place only when the run has succeeded; on any error (or a
//! panic unwinding through) the staging folder is removed, and so it is on
//! Ctrl-C or SIGTERM once [`stop_cleanly_on_interrupt`] is installed, and
//! on a panic that aborts (the release binary does not unwind) once
//! [`remove_staging_on_panic`] is.
//!
//! A process killed outright (SIGKILL, the OOM killer) cannot clean up, so
//! each staging folder is named after its process and holds an owner file
//! (pid and start time); creating a folder removes the staging folders
//! beside it whose process is gone.

use std::fs;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;

/// Staging folders of the runs in progress in this process.
static STAGING: Mutex<Vec<PathBuf>> = Mutex::new(Vec::new());

/// Set by the first Ctrl-C or SIGTERM: runs stop at their next event
/// boundary, write a checkpoint and their outputs so far, and publish.
pub static INTERRUPT: AtomicBool = AtomicBool::new(false);

/// The first Ctrl-C or SIGTERM asks runs to stop cleanly (see
/// [`INTERRUPT`]); a second one removes the staging folders of unfinished
/// runs and exits at once (status 130). For binaries; call it once.
pub fn stop_cleanly_on_interrupt() -> Result<(), ctrlc::Error> {
    ctrlc::set_handler(|| {
        if !INTERRUPT.swap(true, Ordering::SeqCst) {
            return;
        }
        remove_staging();
        std::process::exit(130);
    })
}

/// A panic removes the staging folders of unfinished runs, then reports as
/// before. The release binary aborts on a panic (`panic = "abort"`: no
/// unwinding, so no `OutputDir` is dropped), and an unfinished run must
/// still leave nothing behind. For binaries; call it once.
pub fn remove_staging_on_panic() {
    let report = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        remove_staging();
        report(info);
    }));
}

/// Removes the staging folders of the runs in progress in this process.
fn remove_staging() {
    let dirs = STAGING.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
    for d in dirs.iter() {
        let _ = fs::remove_dir_all(d);
    }
}

#[derive(Debug, thiserror::Error)]
pub enum OutputError {
    #[error("cannot create the run folder {path}: {source}")]
    Create { path: PathBuf, source: std::io::Error },
    #[error("cannot write {path}: {source}")]
    Write { path: PathBuf, source: std::io::Error },
    #[error("cannot move the finished run into {path}: {source}")]
    Publish { path: PathBuf, source: std::io::Error },
}

/// The staging folder of a run.
pub struct OutputDir {
    target: PathBuf,
    staging: PathBuf,
    published: bool,
}

impl OutputDir {
    pub fn create(target: &Path) -> Result<Self, OutputError> {
        let name = target.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_else(|| "run".into());
        let parent = target.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
        let staging = parent.join(format!(".{name}.partial-{}", std::process::id()));
        let create =
            |p: &Path| fs::create_dir_all(p).map_err(|source| OutputError::Create { path: p.to_owned(), source });
        create(parent)?;
        remove_stale_staging(parent);
        let _ = fs::remove_dir_all(&staging);
        create(&staging)?;
        // Who owns the folder, for a later process to tell it is stale.
        let owner = format!("{} {}\n", std::process::id(), start_time(std::process::id()).unwrap_or_default());
        fs::write(staging.join(OWNER_FILE), owner)
            .map_err(|source| OutputError::Write { path: staging.join(OWNER_FILE), source })?;
        if let Ok(mut dirs) = STAGING.lock() {
            dirs.push(staging.clone());
        }
        Ok(OutputDir { target: target.to_owned(), staging, published: false })
    }

    /// The staging folder itself.
    pub fn path(&self) -> &Path {
        &self.staging
    }

    /// Where a file of the run is written before publishing.
    pub fn file(&self, name: &str) -> PathBuf {
        self.staging.join(name)
    }

    pub fn target(&self) -> &Path {
        &self.target
    }

    /// Replaces the target folder with the finished run.
    pub fn publish(mut self) -> Result<PathBuf, OutputError> {
        let err = |source| OutputError::Publish { path: self.target.clone(), source };
        let _ = fs::remove_file(self.staging.join(OWNER_FILE));
        if self.target.exists() {
            fs::remove_dir_all(&self.target).map_err(err)?;
        }
        fs::rename(&self.staging, &self.target).map_err(err)?;
        self.published = true;
        Ok(self.target.clone())
    }
}

/// The owner file of a staging folder: `PID START_TIME`.
const OWNER_FILE: &str = ".fedsim-owner";

/// The start time of process `pid` (clock ticks since boot, field 22 of
/// `/proc/PID/stat`), if it runs.
fn start_time(pid: u32) -> Option<u64> {
    let stat = fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name (field 2) may hold spaces; fields resume after `)`.
    let rest = &stat[stat.rfind(')')? + 1..];
    rest.split_whitespace().nth(19)?.parse().ok()
}

/// The pid of a staging folder's name, `.NAME.partial-PID`.
fn staging_pid(name: &str) -> Option<u32> {
    if !name.starts_with('.') {
        return None;
    }
    name.rsplit_once(".partial-")?.1.parse().ok()
}

/// Whether the process that made staging folder `dir` (with `pid` in its
/// name) is gone: no such process, or one started at another time (the
/// pid was reused).
fn owner_gone(dir: &Path, pid: u32) -> bool {
    let Some(now) = start_time(pid) else { return true };
    let recorded = fs::read_to_string(dir.join(OWNER_FILE)).ok();
    let recorded = recorded.as_deref().and_then(|t| t.split_whitespace().nth(1)).and_then(|t| t.parse::<u64>().ok());
    recorded.is_some_and(|t| t != now)
}

/// Removes the staging folders in `parent` of processes that are gone.
/// Only where `/proc` tells which processes run; never this process's own.
fn remove_stale_staging(parent: &Path) {
    if !Path::new("/proc/self/stat").exists() {
        return;
    }
    let Ok(entries) = fs::read_dir(parent) else { return };
    for entry in entries.flatten() {
        let name = entry.file_name();
        let Some(pid) = name.to_str().and_then(staging_pid) else { continue };
        let dir = entry.path();
        if pid != std::process::id() && dir.is_dir() && owner_gone(&dir, pid) {
            let _ = fs::remove_dir_all(&dir);
        }
    }
}

impl Drop for OutputDir {
    fn drop(&mut self) {
        if let Ok(mut dirs) = STAGING.lock() {
            dirs.retain(|d| d != &self.staging);
        }
        if !self.published {
            let _ = fs::remove_dir_all(&self.staging);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unpublished_runs_leave_nothing() {
        let tmp = tempfile::tempdir().unwrap();
        let target = tmp.path().join("runs/x");
        {
            let out = OutputDir::create(&target).unwrap();
            fs::write(out.file("a.txt"), "half").unwrap();
        }
        assert!(!target.exists());
        assert_eq!(fs::read_dir(tmp.path().join("runs")).unwrap().count(), 0);
        let out = OutputDir::create(&target).unwrap();
        fs::write(out.file("a.txt"), "whole").unwrap();
        out.publish().unwrap();
        assert_eq!(fs::read_to_string(target.join("a.txt")).unwrap(), "whole");
        // The owner file stays behind in staging only.
        assert!(!target.join(OWNER_FILE).exists());
    }

    #[test]
    fn staging_of_dead_processes_is_removed_and_live_ones_kept() {
        let tmp = tempfile::tempdir().unwrap();
        // A process that has exited: its pid names no process now.
        let mut child = std::process::Command::new("true").spawn().unwrap();
        let dead = child.id();
        child.wait().unwrap();
        let stale = tmp.path().join(format!(".old.partial-{dead}"));
        fs::create_dir_all(stale.join("sub")).unwrap();
        fs::write(stale.join("metrics.csv"), "half").unwrap();
        // A live process (pid 1) whose recorded start time is its own.
        let live = tmp.path().join(".other.partial-1");
        fs::create_dir_all(&live).unwrap();
        fs::write(live.join(OWNER_FILE), format!("1 {}\n", start_time(1).unwrap())).unwrap();
        // Pid 1 again, but recorded with another start time: the pid was reused.
        let reused = tmp.path().join(".reused.partial-1");
        fs::create_dir_all(&reused).unwrap();
        fs::write(reused.join(OWNER_FILE), format!("1 {}\n", start_time(1).unwrap() + 1)).unwrap();
        // Not a staging folder.
        let plain = tmp.path().join("keep.partial-x");
        fs::create_dir_all(&plain).unwrap();

        let out = OutputDir::create(&tmp.path().join("new")).unwrap();
        assert!(!stale.exists(), "a dead process's staging folder is removed");
        assert!(!reused.exists(), "a reused pid's staging folder is removed");
        assert!(live.exists(), "a live process's staging folder is kept");
        assert!(plain.exists());
        assert!(out.path().join(OWNER_FILE).exists());
        out.publish().unwrap();
    }

    #[test]
    fn staging_names_give_their_pid() {
        assert_eq!(staging_pid(".run.partial-123"), Some(123));
        assert_eq!(staging_pid(".a.b.partial-7"), Some(7));
        assert_eq!(staging_pid("run.partial-123"), None);
        assert_eq!(staging_pid(".run.partial-x"), None);
    }
}
