//! `report.html` in a real browser: headless Chromium runs the page's
//! scripts; the dumped DOM must hold every plot, the tables and a drawn
//! timeline, the console no error, and a screenshot must come out.
//! Skips (with a note) when no Chromium is installed; `.ci/run` installs it.

use std::path::{Path, PathBuf};
use std::process::Command;

fn browser() -> Option<PathBuf> {
    ["chromium", "chromium-browser", "google-chrome", "google-chrome-stable"].iter().find_map(|name| {
        std::env::var_os("PATH")?.to_str()?.split(':').map(|d| Path::new(d).join(name)).find(|p| p.is_file())
    })
}

/// Runs the browser headless on `page` with `extra` flags; (stdout, stderr).
fn chromium(bin: &Path, profile: &Path, page: &Path, extra: &[&str]) -> (String, String) {
    let url = format!("file://{}", page.canonicalize().unwrap().display());
    let o = Command::new(bin)
        .args(["--headless=new", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-extensions"])
        .arg(format!("--user-data-dir={}", profile.display()))
        .args(["--enable-logging=stderr", "--v=0"])
        .args(extra)
        .arg(url)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&o.stderr).into_owned();
    assert!(o.status.success(), "{}: {stderr}", bin.display());
    (String::from_utf8_lossy(&o.stdout).into_owned(), stderr)
}

/// Console errors and uncaught exceptions in Chromium's log.
fn console_errors(stderr: &str) -> Vec<&str> {
    stderr
        .lines()
        .filter(|l| {
            // The page logs nothing: any console line (console.error
            // included, which Chromium logs as INFO) is a failure.
            l.contains("Uncaught") || l.contains(":CONSOLE") || l.contains("Refused to") || l.contains("net::ERR_")
        })
        .collect()
}

#[test]
fn the_run_page_renders_in_headless_chromium_with_every_plot_tables_and_a_drawn_timeline() {
    let Some(bin) = browser() else {
        eprintln!("skipped: no chromium, chromium-browser or google-chrome on PATH (apt-get install -y chromium)");
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("dp");
    let o = Command::new(env!("CARGO_BIN_EXE_fedsim"))
        .args(["run", "scenarios/sync_vs_async/fedavg.yaml", "--out", dir.to_str().unwrap(), "--quiet"])
        .args(["--set", "privacy.dp={noise_multiplier: 1}", "--set", "stop.rounds=5"])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let page = dir.join("report.html");
    let profile = tmp.path().join("profile");

    let (dom, stderr) = chromium(&bin, &profile, &page, &["--dump-dom", "--virtual-time-budget=5000"]);
    let errors = console_errors(&stderr);
    assert!(errors.is_empty(), "console errors: {errors:#?}");
    let mut plots: Vec<String> = std::fs::read_dir(dir.join("plots"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    plots.sort();
    assert_eq!(plots.len(), 9, "{plots:?}");
    for name in &plots {
        let id = format!("id=\"plot-{}\"", name.trim_end_matches(".svg"));
        let at = dom.find(&id).unwrap_or_else(|| panic!("{name}: no figure in the DOM"));
        let figure = &dom[at..at + dom[at..].find("</figure>").unwrap()];
        assert_eq!(figure.matches("<svg").count(), 1, "{name}: one svg in its figure");
    }
    assert_eq!(dom.matches("<svg").count(), plots.len());
    for id in ["summary-table", "classes-table"] {
        let at = dom.find(&format!("id=\"{id}\"")).unwrap_or_else(|| panic!("{id}"));
        assert!(dom[at..].find("</table>").unwrap() > 200, "{id} has rows");
    }
    assert!(dom.contains("<th>epsilon</th>"));
    // The script drew the timeline: it marks the canvas with the tasks drawn.
    let at = dom.find("data-rendered=\"").expect("the timeline script ran");
    let drawn: usize = dom[at + 15..].split('"').next().unwrap().parse().unwrap();
    assert!(drawn > 0, "tasks drawn: {drawn}");
    assert!(dom.contains("tasks in view"), "the status line is filled in");

    let shot = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("report-screenshot.png");
    let _ = std::fs::remove_file(&shot);
    let shot_arg = format!("--screenshot={}", shot.display());
    let (_, stderr) = chromium(&bin, &profile, &page, &[&shot_arg, "--window-size=1400,2000"]);
    let errors = console_errors(&stderr);
    assert!(errors.is_empty(), "console errors: {errors:#?}");
    let png = std::fs::read(&shot).unwrap_or_else(|e| panic!("{}: {e}", shot.display()));
    assert!(png.len() > 10_000, "screenshot of {} bytes", png.len());
    assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n", "a PNG");
    eprintln!("screenshot: {}", shot.display());
}
