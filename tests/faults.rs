//! Scheduled faults (`faults:`) on constant links, against the closed form
//! of `docs/time-model.md` ("Faults"): 10 iris clients, all in every round,
//! 100 ms latency, 1 Mb/s links, 100 samples/s. A task is 60 bytes down
//! (0.48 ms), 12 samples of compute (0.12 s) and 60 bytes up: a round takes
//! 2 x 0.10048 + 0.12 = 0.32096 s.

mod common;

use common::{run_yaml, Ran};
use serde_json::Value;

const BASE: &str = r#"name: faults
seed: 1
data: { dataset: iris, test_fraction: 0.2 }
clients:
  count: 10
  profiles:
    - name: c
      share: 1.0
      compute: { samples_per_s: 100 }
      network: { latency: { dist: constant, ms: 100 }, up_mbps: 1, down_mbps: 1 }
model: { kind: softmax_regression }
training: { local_epochs: 1, batch_size: 8, learning_rate: 0.1 }
"#;

const LEG: f64 = 0.1 + 60.0 * 8.0 / 1e6;
const ROUND: f64 = 2.0 * LEG + 0.12;

fn run(strategy: &str, faults: &str) -> Ran {
    run_yaml(&format!("{BASE}strategy: {strategy}\nstop: {{ rounds: 5 }}\nfaults: {faults}\n"), 1)
}

fn times(ran: &Ran, kind: &str) -> Vec<f64> {
    ran.events_of(kind).iter().map(|e| e["t"].as_f64().unwrap()).collect()
}

fn close(a: &[f64], b: &[f64]) {
    assert_eq!(a.len(), b.len(), "{a:?} vs {b:?}");
    for (x, y) in a.iter().zip(b) {
        assert!((x - y).abs() < 1e-9, "{a:?} vs {b:?}");
    }
}

fn check_run(ran: &Ran) {
    common::check_run(&ran.dir);
}

const SYNC: &str = "{ kind: fedavg, clients_per_round: 10 }";

#[test]
fn without_faults_a_round_is_the_closed_form() {
    let ran = run(SYNC, "[]");
    close(&times(&ran, "aggregate"), &(1..=5).map(|r| r as f64 * ROUND).collect::<Vec<_>>());
}

/// Every link 4 times slower for the first 0.5 s.
const SLOW_LINK: &str = "[{ kind: slow_link, at_s: 0, duration_s: 0.5, factor: 4 }]";

/// The first three rounds under [`SLOW_LINK`]: round 1 is slow both ways;
/// round 2's download is slow, its upload (sent after the fault ended) is
/// not; round 3 is a plain round.
fn slowed_rounds() -> [f64; 3] {
    let slow = 0.1 + 4.0 * 60.0 * 8.0 / 1e6;
    let r1 = 2.0 * slow + 0.12;
    let r2 = r1 + slow + 0.12 + LEG;
    [r1, r2, r2 + ROUND]
}

/// A slow link divides the bandwidth of every message sent while it
/// holds.
#[test]
fn a_slow_link_slows_the_messages_sent_while_it_holds() {
    let ran = run(SYNC, SLOW_LINK);
    close(&times(&ran, "aggregate")[..3], &slowed_rounds());
    close(&times(&ran, "fault_start"), &[0.0]);
    close(&times(&ran, "fault_end"), &[0.5]);
    assert_eq!(ran.events_of("fault_start")[0]["fault"], "slow_link");
    assert_eq!(ran.events_of("fault_start")[0]["clients"], 10);
    check_run(&ran);
}

/// Through a shared server link the slow client's own rate is still the
/// one divided: with 100 Mb/s each way on the server's side, ten
/// transfers get a fair share of 10 Mb/s, above the slowed 0.25 Mb/s
/// client cap, so the rounds are exactly those without a server link.
#[test]
fn a_slow_link_through_a_shared_server_link_slows_the_clients_side() {
    let yaml = format!(
        "{BASE}strategy: {SYNC}\nstop: {{ rounds: 3 }}\nserver: {{ network: {{ up_mbps: 100, down_mbps: 100 }} }}\n\
         faults: {SLOW_LINK}\n"
    );
    let ran = run_yaml(&yaml, 1);
    close(&times(&ran, "aggregate"), &slowed_rounds());
    check_run(&ran);
}

/// A cut client's messages are lost when sent: its upload at 0.22048 s
/// fails as a drop, and until the partition heals at 1 s it is not
/// selected (rounds 2 to 4 dispatch the 8 others), so each round closes
/// on the 8 others.
#[test]
fn a_partition_loses_the_messages_of_the_clients_it_cuts() {
    let ran = run(SYNC, "[{ kind: partition, at_s: 0.2, duration_s: 0.8, clients: [0, 1] }]");
    close(&times(&ran, "aggregate"), &(1..=5).map(|r| r as f64 * ROUND).collect::<Vec<_>>());
    let aggregates = ran.events_of("aggregate");
    let updates: Vec<u64> = aggregates.iter().map(|e| e["updates"].as_u64().unwrap()).collect();
    // Round 4 starts at 0.96288 s, still inside the partition.
    assert_eq!(updates, vec![8, 8, 8, 8, 10]);
    let drops = ran.events_of("drop");
    let dropped: Vec<u64> = drops.iter().map(|e| e["client"].as_u64().unwrap()).collect();
    assert_eq!(dropped, [0, 1]);
    close(&times(&ran, "drop"), &[LEG + 0.12; 2]);
    // 10 dispatches in rounds 1 and 5, 8 in rounds 2 to 4, none of them to
    // a cut client.
    let dispatches = ran.events_of("dispatch");
    assert_eq!(dispatches.len(), 10 + 3 * 8 + 10);
    let cut_at = |e: &Value| {
        let t = e["t"].as_f64().unwrap();
        (e["client"] == 0 || e["client"] == 1) && (0.2..1.0).contains(&t)
    };
    assert!(!dispatches.iter().any(cut_at), "a cut client was dispatched to");
    check_run(&ran);
}

/// Every client cut for a long time: an async pool neither spins at one
/// instant nor gives up; it waits for the partition's end (10 s), then
/// fills; a sync round does the same.
#[test]
fn with_every_client_cut_the_server_waits_for_the_partition_to_heal() {
    for strategy in ["{ kind: fedbuff, concurrency: 3, buffer_size: 2 }", SYNC] {
        let ran = run(strategy, "[{ kind: partition, at_s: 0, duration_s: 10 }]");
        let dispatches = times(&ran, "dispatch");
        assert!(!dispatches.is_empty() && dispatches.iter().all(|&t| t >= 10.0), "{strategy}: {dispatches:?}");
        assert_eq!(ran.events_of("drop").len(), 0, "{strategy}");
        assert_eq!(ran.result.outcome.stop_reason, fedsim::actors::server::StopReason::Rounds, "{strategy}");
        check_run(&ran);
    }
}

/// The server goes down at 0.2 s for 0.5 s: the 10 tasks in flight fail
/// then, round 1 is abandoned and restarts at 0.7 s.
#[test]
fn a_server_outage_fails_the_tasks_in_flight_and_restarts_the_round() {
    let ran = run(SYNC, "[{ kind: server_down, at_s: 0.2, duration_s: 0.5 }]");
    close(&times(&ran, "drop"), &[0.2; 10]);
    close(&times(&ran, "aggregate"), &(0..5).map(|r| 0.7 + (r + 1) as f64 * ROUND).collect::<Vec<_>>());
    let dispatches = times(&ran, "dispatch");
    assert_eq!(dispatches.iter().filter(|&&t| t == 0.7).count(), 10, "the round restarts at 0.7 s");
    assert!(dispatches.iter().all(|&t| t == 0.0 || t >= 0.7), "nothing is dispatched while it is down");
    check_run(&ran);
}

/// A round's deadline set before the outage must not cut the round that
/// restarts after it: the restarted round runs its full length.
#[test]
fn a_deadline_from_before_an_outage_does_not_close_the_restarted_round() {
    // Deadline 0.6 s: the abandoned round's would fire at 0.6 s... and the
    // restarted round (0.5 s) would be cut at 0.6 s if it were obeyed.
    let ran = run(
        "{ kind: fedavg, clients_per_round: 10, deadline_s: 0.6 }",
        "[{ kind: server_down, at_s: 0.1, duration_s: 0.4 }]",
    );
    close(&times(&ran, "aggregate")[..1], &[0.5 + ROUND]);
    assert_eq!(ran.events_of("late").len(), 0);
}

/// The async pool empties at the outage and refills when the server is
/// back: every dispatch after the first ones is at or after 0.7 s, and the
/// update count is whole.
#[test]
fn an_async_pool_refills_after_an_outage() {
    let ran = run("{ kind: fedasync, concurrency: 4 }", "[{ kind: server_down, at_s: 0.2, duration_s: 0.5 }]");
    let dispatches = times(&ran, "dispatch");
    assert_eq!(dispatches.iter().filter(|&&t| t == 0.0).count(), 4);
    assert_eq!(dispatches.iter().filter(|&&t| t == 0.7).count(), 4, "the pool refills at 0.7 s");
    assert!(dispatches.iter().all(|&t| t == 0.0 || t >= 0.7));
    close(&times(&ran, "drop"), &[0.2; 4]);
    let first: Value = ran.events_of("aggregate")[0].clone();
    assert!((first["t"].as_f64().unwrap() - (0.7 + ROUND)).abs() < 1e-9);
    check_run(&ran);
}

#[test]
fn fault_keys_are_checked_where_they_are_written() {
    let refused = |faults: &str| {
        let yaml = format!("{BASE}stop: {{ rounds: 2 }}\nfaults: {faults}\n");
        fedsim::scenario::load_str(&yaml, std::path::Path::new("f.yaml"), &[]).unwrap_err().to_string()
    };
    let e = refused("[{ kind: partition, at_s: 1, duration_s: 1, clients: [3, 10] }]");
    assert!(e.contains("faults[0].clients[1]") && e.contains("below clients.count (10)"), "{e}");
    let e = refused("[{ kind: slow_link, at_s: 1, duration_s: 1, factor: 2, fraction: 0.5, clients: [1] }]");
    assert!(e.contains("faults[0].clients") && e.contains("not both"), "{e}");
    let e = refused("[{ kind: slow_link, at_s: 1, duration_s: 1, factor: 0.5 }]");
    assert!(e.contains("faults[0].factor"), "{e}");
    let e = refused("[{ kind: server_down, at_s: 1, duration_s: 0 }]");
    assert!(e.contains("faults[0].duration_s"), "{e}");
}
