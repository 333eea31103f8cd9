//! `scenarios/bench/parity_N10.yaml` reproduces the reference of
//! `../shared/bench/WORKLOAD.md` through the whole simulator (actors,
//! network, FedAvg), not only the math.

#![allow(clippy::approx_constant, clippy::excessive_precision)] // reference figures as published

mod common;
use common::run_file;

#[test]
fn parity_n10_matches_the_reference() {
    let ran = run_file("scenarios/bench/parity_N10.yaml", 2, &[]);
    let rows = &ran.result.rows;
    assert_eq!(rows.len(), 51);
    let check = |round: usize, loss: f64, correct: f64| {
        let r = &rows[round];
        assert_eq!(r.round, round as u64);
        assert!((r.loss - loss).abs() < 1e-9, "round {round}: loss {} vs {loss}", r.loss);
        assert!(
            (r.accuracy - correct / 360.0).abs() < 1e-12,
            "round {round}: accuracy {} vs {correct}/360",
            r.accuracy
        );
    };
    check(0, 2.302585092994046, 31.0);
    check(1, 2.2084153963744688, 270.0);
    check(50, 0.6188840533979704, 336.0);
    // Ideal devices: no virtual time passes.
    assert_eq!(ran.result.summary.virtual_time_s, 0.0);
    assert_eq!(ran.result.summary.bytes_down, 50 * 10 * 2600);
}
