//! Records the commit fedsim is built from, for `summary.json`'s
//! `git_commit`: the environment variable `FEDSIM_GIT_COMMIT` if set (a
//! Docker build has no `.git`), else `git rev-parse HEAD`, else `unknown`.

use std::path::PathBuf;
use std::process::Command;

/// `git ARGS` in the package's folder, its first line of output if it ran.
fn git(args: &[&str]) -> Option<String> {
    let out = Command::new("git").args(args).current_dir(env!("CARGO_MANIFEST_DIR")).output().ok()?;
    let text = String::from_utf8(out.stdout).ok()?;
    out.status.success().then(|| text.trim().to_string()).filter(|t| !t.is_empty())
}

fn main() {
    println!("cargo:rerun-if-env-changed=FEDSIM_GIT_COMMIT");
    println!("cargo:rerun-if-changed=build.rs");
    let commit = match std::env::var("FEDSIM_GIT_COMMIT") {
        Ok(c) if !c.trim().is_empty() => c.trim().to_string(),
        _ => {
            // Rebuild when HEAD moves: the HEAD file itself (a checkout),
            // the branch it points to (a commit), and packed refs. In a
            // worktree HEAD lives in its own git dir, branches in the
            // common one.
            if let (Some(dir), Some(common)) =
                (git(&["rev-parse", "--absolute-git-dir"]), git(&["rev-parse", "--git-common-dir"]))
            {
                let common = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(common);
                let mut watched = vec![PathBuf::from(dir).join("HEAD"), common.join("packed-refs")];
                watched.extend(git(&["symbolic-ref", "-q", "HEAD"]).map(|r| common.join(r)));
                // A path that does not exist would rerun this script on
                // every build.
                for path in watched.iter().filter(|p| p.exists()) {
                    println!("cargo:rerun-if-changed={}", path.display());
                }
            }
            git(&["rev-parse", "HEAD"]).unwrap_or_else(|| "unknown".to_string())
        }
    };
    println!("cargo:rustc-env=FEDSIM_GIT_COMMIT={commit}");
}
