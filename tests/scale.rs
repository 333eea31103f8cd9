//! The million-client code path in CI: `scenarios/scale/million.yaml` with
//! 10,000 registered clients (per-client synthetic data, clients as state
//! in shards) runs its 20 rounds in a few megabytes beyond the binary.

use std::process::Command;

fn run_scale(clients: u64, dir: &std::path::Path) -> serde_json::Value {
    let scenario = concat!(env!("CARGO_MANIFEST_DIR"), "/scenarios/scale/million.yaml");
    let out = Command::new(env!("CARGO_BIN_EXE_fedsim"))
        .args(["run", scenario, "--out", dir.to_str().unwrap(), "-q"])
        .args(["--set", &format!("clients.count={clients}")])
        .args(["--set", &format!("data.synthetic.samples={}", clients * 20)])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    serde_json::from_str(&std::fs::read_to_string(dir.join("summary.json")).unwrap()).unwrap()
}

#[test]
fn ten_thousand_registered_clients_run_in_little_memory() {
    let tmp = tempfile::tempdir().unwrap();
    let s = run_scale(10_000, &tmp.path().join("10k"));
    assert_eq!(s["clients"], 10_000);
    assert_eq!(s["rounds"], 20);
    assert_eq!(s["stop_reason"], "rounds");
    // 1,000 tasks a round: each selected, and each either reported or dropped.
    let metrics = std::fs::read_to_string(tmp.path().join("10k/metrics.csv")).unwrap();
    let rows: Vec<Vec<&str>> = metrics.lines().skip(1).map(|l| l.split(',').collect()).collect();
    let selected: u64 = rows.iter().map(|r| r[5].parse::<u64>().unwrap()).sum();
    let done: u64 = rows.iter().map(|r| r[6].parse::<u64>().unwrap() + r[7].parse::<u64>().unwrap()).sum();
    assert_eq!((selected, done), (20_000, 20_000));
    if let Some(rss) = s["peak_rss_bytes"].as_u64() {
        // Measured about 25 MB; a per-client actor or table would add more.
        assert!(rss < 64 << 20, "peak RSS {rss} bytes");
    }
}

#[test]
fn memory_grows_by_far_less_than_a_kilobyte_per_idle_client() {
    let tmp = tempfile::tempdir().unwrap();
    let rss = |n| run_scale(n, &tmp.path().join(n.to_string()))["peak_rss_bytes"].as_u64();
    if let (Some(small), Some(large)) = (rss(10_000), rss(200_000)) {
        let per_client = large.saturating_sub(small) as f64 / 190_000.0;
        // Idle clients cost their selection and queue entries (about 30 bytes).
        assert!(per_client < 64.0, "{per_client:.1} bytes per registered client");
    }
}
