//! The user's central question on `scenarios/sync_vs_async/`: with
//! heavy-tailed client speeds, FedBuff reaches the target in far less
//! virtual time than FedAvg (the FedBuff paper reports 3.3x).

mod common;
use common::run_file;

#[test]
fn fedbuff_reaches_the_target_at_least_twice_as_fast_as_fedavg() {
    let avg = run_file("scenarios/sync_vs_async/fedavg.yaml", 2, &[]).result.summary;
    let buff = run_file("scenarios/sync_vs_async/fedbuff.yaml", 2, &[]).result.summary;
    let (Some(t_avg), Some(t_buff)) = (avg.time_to_target_s, buff.time_to_target_s) else {
        panic!("target not reached: fedavg {:?}, fedbuff {:?}", avg.time_to_target_s, buff.time_to_target_s)
    };
    assert!(t_avg >= 2.0 * t_buff, "fedavg {t_avg:.1} s vs fedbuff {t_buff:.1} s");
    // The deadline cuts the tail too, and async pays in staleness.
    let deadline = run_file("scenarios/sync_vs_async/fedavg_deadline.yaml", 2, &[]).result.summary;
    assert!(deadline.time_to_target_s.is_some_and(|t| t < t_avg));
    assert!(buff.staleness_histogram.keys().any(|&s| s > 0));
    assert!(avg.staleness_histogram.keys().all(|&s| s == 0));
}
