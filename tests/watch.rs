//! `fedsim watch` end to end: drawn headless (no terminal), it leaves the
//! same run folder as `fedsim run`, byte for byte; driven in tmux (when
//! installed), its frame shows the federation, `+` and `-` double and
//! halve the speed it shows, and `q` stops the run cleanly, leaving a whole, resumable folder.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

const FEDSIM: &str = env!("CARGO_BIN_EXE_fedsim");
const COMPARED: [&str; 14] = [
    "metrics.csv",
    "events.jsonl",
    "model.json",
    "audit.jsonl",
    "trace.json",
    "clients.csv",
    "rounds.csv",
    "scenario.yaml",
    "plots/accuracy_time.svg",
    "plots/accuracy_round.svg",
    "plots/bytes.svg",
    "plots/participation.svg",
    "plots/staleness.svg",
    "plots/timeline.svg",
];

fn scenario(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios").join(name)
}

fn fedsim(args: &[&str]) -> std::process::Output {
    let out = Command::new(FEDSIM).args(args).output().unwrap();
    assert!(out.status.success(), "{args:?}: {}", String::from_utf8_lossy(&out.stderr));
    out
}

fn files(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> =
        walk(dir).into_iter().map(|p| p.strip_prefix(dir).unwrap().display().to_string()).collect();
    names.sort();
    names
}

fn walk(dir: &Path) -> Vec<PathBuf> {
    std::fs::read_dir(dir)
        .unwrap()
        .flat_map(|e| {
            let p = e.unwrap().path();
            if p.is_dir() {
                walk(&p)
            } else {
                vec![p]
            }
        })
        .collect()
}

#[test]
fn a_watched_run_leaves_the_same_folder_as_run() {
    let tmp = tempfile::tempdir().unwrap();
    let (w, r, frame) = (tmp.path().join("w"), tmp.path().join("r"), tmp.path().join("frame.txt"));
    let extra = ["--set", "clients.availability={kind: diurnal, period_h: 0.005, on_fraction: 0.6}", "--threads", "1"];
    let dropout = scenario("dropout.yaml");
    let mut args = vec!["watch", dropout.to_str().unwrap(), "--out", w.to_str().unwrap(), "--realtime", "200"];
    args.extend(["--headless-frame", frame.to_str().unwrap(), "--headless-size", "90x30"]);
    args.extend(extra);
    fedsim(&args);
    let mut args = vec!["run", dropout.to_str().unwrap(), "--out", r.to_str().unwrap(), "-q"];
    args.extend(extra);
    fedsim(&args);
    assert_eq!(files(&w), files(&r));
    for f in COMPARED {
        assert!(std::fs::read(w.join(f)).unwrap() == std::fs::read(r.join(f)).unwrap(), "{f} differs");
    }
    let summary: serde_json::Value = serde_json::from_slice(&std::fs::read(r.join("summary.json")).unwrap()).unwrap();
    let text = std::fs::read_to_string(&frame).unwrap();
    assert!(text.contains(&format!("model version {}", summary["rounds"])), "{text}");
    assert!(text.contains("30 of 30 clients shown"), "{text}");
    assert!(text.contains("accuracy (") && text.contains("offline"), "{text}");
    assert_eq!(text.lines().count(), 30);
}

fn tmux(args: &[&str]) -> std::process::Output {
    Command::new("tmux").args(args).output().unwrap()
}

/// Waits up to `secs` for `ok`.
fn until(secs: u64, mut ok: impl FnMut() -> bool) -> bool {
    let start = Instant::now();
    while start.elapsed() < Duration::from_secs(secs) {
        if ok() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    false
}

/// The speed-up the header shows ("speed ×0.8" gives "0.8"; the key help
/// "+/- speed · q quit" holds no number and is passed over).
fn speed_shown(frame: &str) -> Option<String> {
    frame.split("speed ").skip(1).find_map(|rest| {
        let word = rest.split_whitespace().next()?.trim_start_matches(|c: char| !c.is_ascii_digit());
        (!word.is_empty()).then(|| word.to_string())
    })
}

#[test]
fn in_a_terminal_keys_change_the_speed_pause_and_q_stops_the_run_cleanly() {
    if Command::new("tmux").arg("-V").output().is_err() {
        eprintln!("tmux is not installed: skipped");
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("w");
    let status = tmp.path().join("status");
    let session = format!("fedsim-watch-{}", std::process::id());
    // Slow enough to be caught mid-run: stragglers lasts about a minute of
    // virtual time, here over a minute of wall time.
    let cmd = format!(
        "{FEDSIM} watch {} --out {} --realtime 0.8 --threads 1; echo $? > {}",
        scenario("stragglers.yaml").display(),
        out.display(),
        status.display()
    );
    let started = tmux(&["new-session", "-d", "-s", &session, "-x", "100", "-y", "32", &cmd]);
    assert!(started.status.success(), "{}", String::from_utf8_lossy(&started.stderr));
    let capture = || String::from_utf8(tmux(&["capture-pane", "-p", "-t", &session]).stdout).unwrap();
    let mut frame = String::new();
    let drawn = until(20, || {
        frame = capture();
        frame.contains("50 of 50 clients shown") && frame.contains("model version 1 ")
    });
    assert!(drawn, "{frame}");
    assert!(frame.contains("running") && frame.contains("bytes in flight"), "{frame}");
    assert_eq!(speed_shown(&frame).as_deref(), Some("0.8"), "{frame}");
    // + doubles the speed, - halves it, and the header says so.
    tmux(&["send-keys", "-t", &session, "+"]);
    assert!(until(5, || speed_shown(&capture()).as_deref() == Some("1.6")), "{}", capture());
    tmux(&["send-keys", "-t", &session, "-"]);
    tmux(&["send-keys", "-t", &session, "-"]);
    assert!(until(5, || speed_shown(&capture()).as_deref() == Some("0.4")), "{}", capture());
    // Space pauses; q stops even a paused run.
    tmux(&["send-keys", "-t", &session, " "]);
    assert!(until(5, || capture().contains("PAUSED")), "{}", capture());
    tmux(&["send-keys", "-t", &session, "q"]);
    let ended = until(20, || status.exists() && !std::fs::read_to_string(&status).unwrap().is_empty());
    let _ = tmux(&["kill-session", "-t", &session]);
    assert!(ended, "watch did not end after q");
    assert_eq!(std::fs::read_to_string(&status).unwrap().trim(), "130");
    let summary = std::fs::read_to_string(out.join("summary.json")).unwrap();
    assert!(summary.contains("\"stop_reason\": \"interrupted\""), "{summary}");
    for f in ["metrics.csv", "events.jsonl", "checkpoint.bin", "trace.json", "model.json"] {
        assert!(out.join(f).exists(), "{f} missing");
    }
    // Whole: the resumed run ends as an uninterrupted one would.
    fedsim(&["resume", out.to_str().unwrap(), "-q", "--threads", "1"]);
    let r = tmp.path().join("r");
    fedsim(&[
        "run",
        scenario("stragglers.yaml").to_str().unwrap(),
        "--out",
        r.to_str().unwrap(),
        "-q",
        "--threads",
        "1",
    ]);
    for f in ["metrics.csv", "events.jsonl"] {
        assert!(std::fs::read(out.join(f)).unwrap() == std::fs::read(r.join(f)).unwrap(), "{f} differs");
    }
}
