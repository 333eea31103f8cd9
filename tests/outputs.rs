//! The run folder's other views of the timeline agree with `events.jsonl`
//! and `metrics.csv`: `trace.json` (Chrome trace-event JSON, one track per
//! client up to `output.trace_clients`), `clients.csv` and `rounds.csv`;
//! a run stopped by Ctrl-C still leaves a whole `trace.json`. (Resuming
//! gives the same bytes: see `resume.rs`.)

mod common;

use common::{run_file, Ran};
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};
use std::process::Command;
use std::time::Duration;

fn trace(ran: &Ran) -> Value {
    serde_json::from_str(&ran.read("trace.json")).expect("trace.json is JSON")
}

fn trace_events(t: &Value) -> &Vec<Value> {
    t["traceEvents"].as_array().expect("a traceEvents array")
}

/// Complete spans on the clients' process named `name`.
fn spans<'a>(t: &'a Value, name: &str) -> Vec<&'a Value> {
    trace_events(t).iter().filter(|e| e["ph"] == "X" && e["pid"] == 2 && e["name"] == name).collect()
}

/// The CSV file's rows, by column name.
fn csv(ran: &Ran, name: &str) -> Vec<BTreeMap<String, String>> {
    let text = ran.read(name);
    let mut lines = text.lines();
    let header: Vec<&str> = lines.next().unwrap().split(',').collect();
    lines.map(|l| header.iter().map(|h| h.to_string()).zip(l.split(',').map(str::to_string)).collect()).collect()
}

fn num(row: &BTreeMap<String, String>, col: &str) -> u64 {
    row[col].parse().unwrap_or_else(|_| panic!("{col}={:?} is not a count", row[col]))
}

/// Dropout at every phase of a task, and an over-selected round with a
/// deadline, so tasks end in every way.
const EVERY_END: [&str; 2] = ["strategy.over_selection=1.3", "strategy.deadline_s=0.7"];

#[test]
fn every_task_phase_is_a_span_on_its_clients_track() {
    let ran = run_file("scenarios/dropout.yaml", 1, &EVERY_END);
    let t = trace(&ran);
    assert_eq!(t["displayTimeUnit"], "ms");
    let count = |kind: &str| ran.events_of(kind).len();
    // A download span per dispatch that reached download_done, a compute
    // span per compute_done, an upload span per report.
    assert_eq!(spans(&t, "download").len(), count("download_done"));
    assert_eq!(spans(&t, "compute").len(), count("compute_done"));
    assert_eq!(spans(&t, "upload").len(), count("report"));
    let cut = |how: &str| {
        ["download", "compute", "upload"].iter().map(|p| spans(&t, &format!("{p} ({how})")).len()).sum::<usize>()
    };
    assert_eq!(cut("dropped"), count("drop"));
    assert_eq!(cut("late"), count("late"));
    assert!(count("late") > 0 && count("drop") > 0, "the run should end tasks both ways");
    // Every span is on a named client track, with a time and a duration.
    let tracks: BTreeSet<u64> = trace_events(&t)
        .iter()
        .filter(|e| e["ph"] == "M" && e["name"] == "thread_name" && e["pid"] == 2)
        .map(|e| e["tid"].as_u64().unwrap())
        .collect();
    assert_eq!(tracks.len(), 30, "every client took part, and 30 < the default cap of 200");
    for e in trace_events(&t).iter().filter(|e| e["ph"] == "X") {
        assert!(e["ts"].as_f64().unwrap() >= 0.0 && e["dur"].as_f64().unwrap() >= 0.0, "{e}");
        if e["pid"] == 2 {
            assert!(tracks.contains(&e["tid"].as_u64().unwrap()), "{e} is on an unnamed track");
        }
    }
    // A server span per model version, and an accuracy sample per evaluation.
    let rounds = trace_events(&t).iter().filter(|e| e["ph"] == "X" && e["pid"] == 1 && e["cat"] == "round").count();
    assert_eq!(rounds as u64, ran.result.summary.rounds);
    let accuracy = trace_events(&t).iter().filter(|e| e["ph"] == "C" && e["name"] == "accuracy").count();
    assert_eq!(accuracy, count("evaluate"));
    // Nothing is in flight or busy once the last round closed.
    for (name, series) in [("bytes in flight", "bytes"), ("clients busy", "clients")] {
        let last = trace_events(&t).iter().rev().find(|e| e["name"] == name).unwrap();
        assert_eq!(last["args"][series], 0, "{name}");
    }
}

#[test]
fn secure_aggregation_phases_are_spans_too() {
    let ran = run_file("scenarios/privacy/secagg_dropout.yaml", 1, &["stop.rounds=10"]);
    let t = trace(&ran);
    for phase in ["advertise_keys", "share_keys", "masked_input", "unmask_shares"] {
        let whole = spans(&t, phase).len();
        let dropped = spans(&t, &format!("{phase} (dropped)")).len();
        assert!(whole > 0, "no {phase} span");
        // A client phase closes with its message's arrival.
        assert_eq!(whole, ran.events_of(phase).len(), "{phase}");
        assert!(dropped <= ran.events_of("drop").len());
    }
    assert!(spans(&t, "upload").is_empty(), "updates only leave masked");
}

#[test]
fn client_tracks_stop_at_the_cap_and_the_counters_still_count_everyone() {
    let ran = run_file("scenarios/dropout.yaml", 1, &["output.trace_clients=4", "stop.rounds=5"]);
    let t = trace(&ran);
    let named: BTreeSet<u64> = trace_events(&t)
        .iter()
        .filter(|e| e["ph"] == "M" && e["name"] == "thread_name" && e["pid"] == 2)
        .map(|e| e["tid"].as_u64().unwrap())
        .collect();
    assert_eq!(named.len(), 4);
    let drawn: BTreeSet<u64> = trace_events(&t)
        .iter()
        .filter(|e| e["pid"] == 2 && e["ph"] != "M")
        .map(|e| e["tid"].as_u64().unwrap())
        .collect();
    assert!(drawn.is_subset(&named), "{drawn:?} vs {named:?}");
    // Ten clients train at once: the counter sees all of them.
    let busiest = trace_events(&t)
        .iter()
        .filter(|e| e["name"] == "clients busy")
        .map(|e| e["args"]["clients"].as_u64().unwrap())
        .max();
    assert_eq!(busiest, Some(10));
    let other = &t["otherData"];
    assert_eq!((other["trace_clients"].as_u64(), other["client_tracks"].as_u64()), (Some(4), Some(4)));
    let took_part = ran.read("clients.csv").lines().count() as u64 - 1;
    assert_eq!(other["clients_not_drawn"].as_u64(), Some(took_part - 4));
}

#[test]
fn clients_csv_tallies_add_up_to_the_events() {
    let ran = run_file("scenarios/dropout.yaml", 1, &EVERY_END);
    let rows = csv(&ran, "clients.csv");
    let sum = |col: &str| rows.iter().map(|r| num(r, col)).sum::<u64>();
    assert_eq!(sum("reports"), ran.events_of("report").len() as u64);
    assert_eq!(sum("tasks"), ran.events_of("dispatch").len() as u64);
    assert_eq!(sum("dropped"), ran.events_of("drop").len() as u64);
    assert_eq!(sum("late"), ran.events_of("late").len() as u64);
    let s = &ran.result.summary;
    assert_eq!(sum("bytes"), s.bytes_up + s.bytes_down);
    assert_eq!(s.events, ran.events().len() as u64, "summary.json's events counts the lines of events.jsonl");
    for r in &rows {
        assert_eq!(r["profile"], "phone");
        assert!(num(r, "samples") > 0);
        assert_eq!(num(r, "tasks"), num(r, "reports") + num(r, "dropped") + num(r, "late"), "{r:?}");
        if num(r, "reports") > 0 {
            let (median, max): (f64, f64) = (r["median_task_s"].parse().unwrap(), r["max_task_s"].parse().unwrap());
            assert!(0.0 < median && median <= max, "{r:?}");
        }
    }
    // Ids ascend, each once.
    let ids: Vec<u64> = rows.iter().map(|r| num(r, "client")).collect();
    assert!(ids.windows(2).all(|w| w[0] < w[1]));
}

#[test]
fn rounds_csv_has_a_row_per_model_version_that_matches_metrics() {
    for (file, sets) in [
        ("scenarios/dropout.yaml", EVERY_END.to_vec()),
        ("scenarios/sync_vs_async/fedbuff.yaml", vec!["stop.virtual_time_s=60"]),
    ] {
        let ran = run_file(file, 1, &sets);
        let rows = csv(&ran, "rounds.csv");
        // Every round ends in a version: a stop with tasks open closes the
        // open round (the last, `close_reason: stop`).
        assert!(rows.iter().all(|r| !r["version"].is_empty()), "{file}");
        let versions: Vec<&BTreeMap<String, String>> = rows.iter().collect();
        assert_eq!(versions.len() as u64, ran.result.summary.rounds, "{file}");
        assert!(rows.iter().rev().skip(1).all(|r| r["close_reason"] != "stop"), "{file}");
        let metrics: BTreeMap<u64, &fedsim::metrics::MetricsRow> =
            ran.result.rows.iter().map(|m| (m.round, m)).collect();
        for (i, r) in versions.iter().enumerate() {
            let v = num(r, "version");
            assert_eq!((num(r, "round"), v), (i as u64, i as u64 + 1), "{file}");
            // Evaluated every version: each metrics row counts one round.
            let m = metrics[&v];
            assert_eq!(num(r, "selected"), m.clients_selected, "{file} version {v}");
            assert_eq!(num(r, "aggregated"), m.clients_completed, "{file} version {v}");
            assert_eq!(num(r, "dropped"), m.clients_dropped, "{file} version {v}");
            assert_eq!(num(r, "late"), m.clients_late, "{file} version {v}");
            let (start, close): (f64, f64) = (r["start_s"].parse().unwrap(), r["close_s"].parse().unwrap());
            assert!(start <= close, "{r:?}");
            let reason = r["close_reason"].as_str();
            let mut expected: Vec<&str> =
                if file.contains("fedbuff") { vec!["update"] } else { vec!["all_reported", "quorum", "deadline"] };
            if i + 1 == versions.len() && sets.iter().any(|s| s.starts_with("stop.virtual_time_s")) {
                // The stop at 60 s falls inside a buffer's filling.
                expected = vec!["stop"];
                assert_eq!(r["close_s"], "60.000000000", "{file}");
            }
            assert!(expected.contains(&reason), "{file}: close reason {reason}");
        }
        let up: u64 = rows.iter().map(|r| num(r, "bytes_up")).sum();
        assert_eq!(up, ran.result.summary.bytes_up, "{file}");
    }
}

#[test]
fn a_run_stopped_by_ctrl_c_leaves_a_whole_trace() {
    let tmp = tempfile::tempdir().unwrap();
    let scenario = concat!(env!("CARGO_MANIFEST_DIR"), "/scenarios/dropout.yaml");
    let mut interrupted = false;
    for (i, wait_ms) in [300u64, 150, 600].into_iter().enumerate() {
        let dir = tmp.path().join(format!("run{i}"));
        let args =
            ["run", scenario, "--out", dir.to_str().unwrap(), "-q", "--realtime", "20", "--set", "stop.rounds=200"];
        let mut child = Command::new(env!("CARGO_BIN_EXE_fedsim")).args(args).spawn().unwrap();
        std::thread::sleep(Duration::from_millis(wait_ms));
        let _ = Command::new("kill").args(["-INT", &child.id().to_string()]).status();
        let status = child.wait().unwrap();
        let text = std::fs::read_to_string(dir.join("trace.json")).unwrap();
        let t: Value = serde_json::from_str(&text).unwrap_or_else(|e| panic!("trace.json after Ctrl-C: {e}"));
        assert!(!trace_events(&t).is_empty());
        if status.code() == Some(130) {
            interrupted = true;
            let summary = std::fs::read_to_string(dir.join("summary.json")).unwrap();
            assert!(summary.contains("\"stop_reason\": \"interrupted\""), "{summary}");
            break;
        }
    }
    assert!(interrupted, "no SIGINT landed mid-run");
}

/// `output:` switches the optional files off without changing the others.
#[test]
fn optional_outputs_switch_off_and_leave_the_rest_unchanged() {
    let full = run_file("scenarios/sync_vs_async/fedbuff.yaml", 1, &[]);
    let lean = run_file(
        "scenarios/sync_vs_async/fedbuff.yaml",
        1,
        &["output.trace=false", "output.audit=false", "output.plots=false", "output.report=false"],
    );
    for gone in ["trace.json", "audit.jsonl", "plots", "report.html"] {
        assert!(full.dir.join(gone).exists(), "{gone} is written by default");
        assert!(!lean.dir.join(gone).exists(), "{gone} is switched off");
    }
    for same in ["metrics.csv", "events.jsonl", "clients.csv", "rounds.csv", "model.json"] {
        assert!(full.read(same) == lean.read(same), "{same} must not depend on output:");
    }
    common::check_run(&lean.dir);
    // Each switch alone: plots off keeps the page (with no plot in it).
    let no_plots = run_file("scenarios/sync_vs_async/fedbuff.yaml", 1, &["output.plots=false"]);
    assert!(!no_plots.dir.join("plots").exists());
    assert!(no_plots.read("report.html").contains("Plots (0)"));
    assert!(no_plots.dir.join("trace.json").exists() && no_plots.dir.join("audit.jsonl").exists());
}
