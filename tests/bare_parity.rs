//! The bare loop of `benches/bare_parity.rs` (the yardstick of fedsim's
//! performance target) computes what fedsim computes: the published
//! reference of `../shared/bench/WORKLOAD.md`, and fedsim's own per-round
//! losses on `scenarios/bench/parity_N100.yaml`.

#![allow(clippy::approx_constant, clippy::excessive_precision)] // reference figures as published

#[allow(dead_code)] // the example's `main` and command line
#[path = "../benches/bare_parity.rs"]
mod bare;
mod common;

use bare::{run, Workload};
use fedsim::scenario::{load_file, load_str};
use std::path::Path;

#[test]
fn bare_loop_matches_the_float64_reference() {
    let evals = run(&Workload::parity(10, 50), |_, _| {}).unwrap();
    assert_eq!(evals.len(), 51);
    for (round, loss, correct) in
        [(0, 2.302585092994046, 31), (1, 2.2084153963744688, 270), (50, 0.6188840533979704, 336)]
    {
        let e = evals[round];
        assert!((e.loss - loss).abs() < 1e-9, "round {round}: loss {} vs {loss}", e.loss);
        assert_eq!(e.correct, correct, "round {round}");
    }
}

#[test]
fn bare_loop_matches_fedsim_on_parity_n100() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios/bench/parity_N100.yaml");
    let w = Workload::from_scenario(&load_file(&path, &[]).unwrap()).unwrap();
    assert_eq!((w.clients, w.rounds, w.batch_size, w.local_epochs), (100, 50, 32, 1));
    let bare = run(&w, |_, _| {}).unwrap();

    let ran = common::run_file("scenarios/bench/parity_N100.yaml", 1, &[]);
    let rows = &ran.result.rows;
    assert_eq!((rows.len(), bare.len()), (51, 51));
    for (r, (row, e)) in rows.iter().zip(&bare).enumerate() {
        assert_eq!(row.round, r as u64);
        assert!((row.loss - e.loss).abs() < 1e-9, "round {r}: fedsim loss {} vs bare {}", row.loss, e.loss);
        assert!((row.accuracy - e.accuracy).abs() < 1e-12, "round {r}: accuracy {} vs {}", row.accuracy, e.accuracy);
        assert!((row.macro_f1 - e.macro_f1).abs() < 1e-12, "round {r}: macro-F1 {} vs {}", row.macro_f1, e.macro_f1);
    }
    let last = bare[50];
    assert!((ran.result.summary.final_loss - last.loss).abs() < 1e-9);
}

#[test]
fn bare_loop_refuses_what_it_does_not_compute() {
    let yaml = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios/bench/parity_N10.yaml"))
        .unwrap()
        .replace("partition: { kind: iid }", "partition: { kind: dirichlet, alpha: 0.5 }");
    let base = Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios/bench/x.yaml");
    let s = load_str(&yaml, &base, &[]).unwrap();
    let e = Workload::from_scenario(&s).unwrap_err();
    assert!(e.contains("partition"), "{e}");
}

/// docs/performance.md quotes both round-50 losses, digit for digit:
/// "(BARE against fedsim's FEDSIM for N100)".
#[test]
fn the_losses_quoted_in_performance_md_are_the_runs() {
    let doc = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/performance.md")).unwrap();
    let at = doc.find("prints the same round-50 loss as fedsim").expect("the sentence");
    let sentence = doc[at..].split(" for N100)").next().unwrap().replace('\n', " ");
    let quoted: Vec<&str> = sentence
        .split(|c: char| !(c.is_ascii_digit() || c == '.'))
        .filter(|w| w.len() > 10 && w.contains('.'))
        .collect();
    assert_eq!(quoted.len(), 2, "{sentence}");
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios/bench/parity_N100.yaml");
    let bare = run(&Workload::from_scenario(&load_file(&path, &[]).unwrap()).unwrap(), |_, _| {}).unwrap();
    let ran = common::run_file("scenarios/bench/parity_N100.yaml", 1, &[]);
    assert_eq!([bare[50].loss.to_string(), ran.result.summary.final_loss.to_string()], [quoted[0], quoted[1]]);
}
