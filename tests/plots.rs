//! The `plots/` folder of a run: every file there for a sync, an async and
//! a DP run, each well-formed XML that refers to nothing outside itself,
//! and a timeline whose bars agree with `events.jsonl`.

use fedsim::report::timeline::{DOWNLOAD, DROPPED, LATE, MAX_ROWS};
use fedsim::report::PLOT_FILES;
use plotters::style::RGBColor;
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Command;

fn run(scenario: &str, out: &Path, extra: &[&str]) -> PathBuf {
    let o = Command::new(env!("CARGO_BIN_EXE_fedsim"))
        .args(["run", scenario, "--out", out.to_str().unwrap(), "--quiet"])
        .args(extra)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .unwrap();
    assert!(o.status.success(), "{scenario}: {}", String::from_utf8_lossy(&o.stderr));
    out.to_path_buf()
}

/// The only URL an SVG may hold: its namespace, which names the format and
/// is never fetched.
const SVG_NAMESPACE: &str = "http://www.w3.org/2000/svg";

/// Parses `path` as XML and checks that it is an SVG that needs nothing
/// from outside: no URL but the namespace, no link, no external image, font
/// or style sheet.
fn self_contained_svg(path: &Path) -> String {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let doc = roxmltree::Document::parse(&text).unwrap_or_else(|e| panic!("{}: not XML: {e}", path.display()));
    let root = doc.root_element();
    assert_eq!(root.tag_name().name(), "svg", "{}", path.display());
    assert_eq!(root.tag_name().namespace(), Some(SVG_NAMESPACE), "{}", path.display());
    let rest = text.replacen(SVG_NAMESPACE, "", 1).to_lowercase();
    for external in ["http", "href", "url(", "@import", "<image", "<use", "<script", "<foreignobject"] {
        assert!(!rest.contains(external), "{}: holds {external}", path.display());
    }
    assert!(doc.descendants().any(|n| n.has_tag_name("text")), "{}: no text", path.display());
    text
}

fn hex(c: RGBColor) -> String {
    format!("#{:02X}{:02X}{:02X}", c.0, c.1, c.2)
}

/// Checks the folder's plot files: all of them, `epsilon.svg` only with DP.
fn check_plots(dir: &Path, dp: bool) {
    let plots = dir.join("plots");
    let mut found: BTreeSet<String> =
        std::fs::read_dir(&plots).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect();
    for name in PLOT_FILES {
        let expected = dp || name != "epsilon.svg";
        assert_eq!(found.remove(name), expected, "{}: {name}", dir.display());
        if expected {
            self_contained_svg(&plots.join(name));
        }
    }
    assert!(found.is_empty(), "unlisted plots {found:?}");
}

/// What the log says about some clients' tasks.
#[derive(Debug, Default, PartialEq)]
struct Tally {
    dispatches: usize,
    drops: usize,
    lates: usize,
}

fn tally(events: &Path, clients: &BTreeSet<u32>) -> Tally {
    let mut t = Tally::default();
    for line in std::fs::read_to_string(events).unwrap().lines() {
        let v: serde_json::Value = serde_json::from_str(line).unwrap();
        let Some(c) = v["client"].as_u64() else { continue };
        if !clients.contains(&(c as u32)) {
            continue;
        }
        match v["kind"].as_str().unwrap() {
            "dispatch" => t.dispatches += 1,
            "drop" => t.drops += 1,
            "late" => t.lates += 1,
            _ => {}
        }
    }
    t
}

/// The timeline's drawn clients (its right-aligned row labels that are
/// numbers) and its rectangles by fill colour.
fn timeline(dir: &Path) -> (BTreeSet<u32>, BTreeMap<String, usize>, String) {
    let text = self_contained_svg(&dir.join("plots/timeline.svg"));
    let doc = roxmltree::Document::parse(&text).unwrap();
    let clients = doc
        .descendants()
        .filter(|n| n.has_tag_name("text") && n.attribute("text-anchor") == Some("end"))
        .filter_map(|n| n.text()?.trim().parse::<u32>().ok())
        .collect();
    let mut fills = BTreeMap::new();
    for n in doc.descendants().filter(|n| n.has_tag_name("rect")) {
        *fills.entry(n.attribute("fill").unwrap_or("").to_string()).or_insert(0) += 1;
    }
    (clients, fills, text)
}

/// One download bar per task of a drawn client, one mark per drop and per
/// late task, plus one legend swatch each.
fn timeline_agrees_with_the_log(dir: &Path, registered: usize) -> Tally {
    let (clients, fills, text) = timeline(dir);
    assert_eq!(clients.len(), registered.min(MAX_ROWS), "{clients:?}");
    let t = tally(&dir.join("events.jsonl"), &clients);
    assert!(t.dispatches > 0);
    let count = |c: RGBColor| fills.get(&hex(c)).copied().unwrap_or(0);
    assert_eq!(count(DOWNLOAD), t.dispatches + 1, "download bars");
    assert_eq!(count(DROPPED), t.drops + 1, "drop marks");
    assert_eq!(count(LATE), t.lates + 1, "late marks");
    let note = if registered > MAX_ROWS {
        format!("{MAX_ROWS} of {registered} clients shown")
    } else {
        format!("{registered} of {registered} clients shown")
    };
    assert!(text.contains(&note), "no '{note}'");
    t
}

#[test]
fn a_sync_run_with_dropouts_draws_every_plot_and_a_timeline_true_to_its_log() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = run("scenarios/dropout.yaml", &tmp.path().join("d"), &[]);
    check_plots(&dir, false);
    let t = timeline_agrees_with_the_log(&dir, 30);
    assert!(t.drops > 0, "{t:?}");
    let staleness = std::fs::read_to_string(dir.join("plots/staleness.svg")).unwrap();
    assert!(staleness.contains("no stale updates"));
}

#[test]
fn a_sync_run_with_a_deadline_samples_forty_clients_and_marks_late_tasks() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = run("scenarios/sync_vs_async/fedavg_deadline.yaml", &tmp.path().join("d"), &[]);
    check_plots(&dir, false);
    let t = timeline_agrees_with_the_log(&dir, 50);
    assert!(t.lates > 0, "{t:?}");
}

#[test]
fn an_async_run_draws_its_staleness_histogram_and_a_sampled_timeline() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = run("scenarios/sync_vs_async/fedasync.yaml", &tmp.path().join("a"), &[]);
    check_plots(&dir, false);
    timeline_agrees_with_the_log(&dir, 50);
    let staleness = std::fs::read_to_string(dir.join("plots/staleness.svg")).unwrap();
    assert!(!staleness.contains("no stale updates") && staleness.contains("mean staleness"));
    assert!(staleness.matches("<rect").count() > 5);
}

#[test]
fn a_dp_run_draws_epsilon_over_rounds() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = run(
        "scenarios/sync_vs_async/fedavg.yaml",
        &tmp.path().join("dp"),
        &["--set", "privacy.dp={noise_multiplier: 1}", "--set", "stop.rounds=5"],
    );
    check_plots(&dir, true);
    let svg = std::fs::read_to_string(dir.join("plots/epsilon.svg")).unwrap();
    assert!(svg.contains("<polyline") && svg.contains("model version (round)") && svg.contains("epsilon"));
    // One marker per evaluation after the first release.
    let rows = std::fs::read_to_string(dir.join("metrics.csv")).unwrap();
    let with_epsilon = rows.lines().skip(1).filter(|l| !l.ends_with(',')).count();
    assert!(with_epsilon >= 5, "{rows}");
    assert_eq!(svg.matches("<circle").count(), with_epsilon);
}

#[test]
fn plots_are_the_same_for_the_same_seed() {
    let tmp = tempfile::tempdir().unwrap();
    let a = run("scenarios/quickstart.yaml", &tmp.path().join("a"), &[]);
    let b = run("scenarios/quickstart.yaml", &tmp.path().join("b"), &[]);
    for name in PLOT_FILES.iter().filter(|n| **n != "epsilon.svg") {
        let read = |d: &Path| std::fs::read(d.join("plots").join(name)).unwrap();
        assert!(read(&a) == read(&b), "{name} differs");
    }
}

/// Curves over time run to the run's last instant: the metrics rows they
/// are drawn from end at `summary.json`'s `virtual_time_s` whatever
/// stopped the run, even with evaluations far apart and work in flight
/// (and `to_the_end` carries a curve flat to it if they did not).
#[test]
fn curves_over_time_end_at_the_runs_last_instant() {
    let tmp = tempfile::tempdir().unwrap();
    let cases: [&[&str]; 3] = [
        // Stopped by the clock mid-round, evaluated every 5 rounds.
        &["--set", "stop={virtual_time_s: 7.3}", "--set", "evaluation={every_rounds: 5}"],
        // Stopped by the target, evaluated every 1.5 s.
        &["--set", "stop.target_accuracy=0.9", "--set", "evaluation={every_s: 1.5}"],
        // Stopped by rounds, evaluated every 7 rounds (30 is not a multiple).
        &["--set", "evaluation={every_rounds: 7}"],
    ];
    for (i, extra) in cases.iter().enumerate() {
        let dir = run("scenarios/quickstart.yaml", &tmp.path().join(format!("q{i}")), extra);
        let summary: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(dir.join("summary.json")).unwrap()).unwrap();
        let end = summary["virtual_time_s"].as_f64().unwrap();
        assert!(end > 0.0);
        let metrics = std::fs::read_to_string(dir.join("metrics.csv")).unwrap();
        let last: f64 = metrics.lines().last().unwrap().split(',').nth(1).unwrap().parse().unwrap();
        assert!((last - end).abs() < 1e-9, "{extra:?}: last row at {last}, run ends at {end}");
        let curve = fedsim::report::to_the_end(vec![(0.0, 0.1), (last / 2.0, 0.5)], end);
        assert_eq!(curve.last(), Some(&(end, 0.5)));
    }
}
