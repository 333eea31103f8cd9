//! The shipped scenarios learn what they promise.

mod common;
use common::run_file;

#[test]
fn quickstart_reaches_090() {
    let ran = run_file("scenarios/quickstart.yaml", 2, &[]);
    let acc = ran.result.summary.final_accuracy;
    assert!(acc >= 0.90, "quickstart final accuracy {acc}");
}

#[test]
fn hospitals_reaches_093() {
    let ran = run_file("scenarios/hospitals.yaml", 2, &[]);
    let acc = ran.result.summary.final_accuracy;
    assert!(acc >= 0.93, "hospitals final accuracy {acc}");
}
