//! A run folder that appears whole or not at all.
//!
//! Files are written into a hidden staging folder beside the target and
//! renamed into place only when the run has succeeded; on any error (or a
//! panic unwinding through) the staging folder is removed, and so it is on
//! Ctrl-C or SIGTERM once [`remove_staging_on_interrupt`] is installed.

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
        if let Ok(dirs) = STAGING.lock() {
            for d in dirs.iter() {
                let _ = fs::remove_dir_all(d);
            }
        }
        std::process::exit(130);
    })
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
        let _ = fs::remove_dir_all(&staging);
        create(&staging)?;
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
        if self.target.exists() {
            fs::remove_dir_all(&self.target).map_err(err)?;
        }
        fs::rename(&self.staging, &self.target).map_err(err)?;
        self.published = true;
        Ok(self.target.clone())
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
    }
}
