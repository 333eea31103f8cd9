//! The server's decisions that only show in a run's exact events: how it
//! waits for clients that are not available yet (traces with gaps,
//! diurnal windows), how secure aggregation's later messages are timed,
//! and how an async pool under central DP accounts its releases and stops
//! at its budget. Each test's figures follow from the closed-form time
//! model (spec section 2, `docs/time-model.md`) or the accountant; each
//! fails under a mutant that `cargo mutants` found uncaught
//! (`docs/testing.md`).
//!
//! Every scenario but the secure one runs iris (120 training rows, split
//! round-robin, so `n` clients hold `120 / n` rows each) on one profile with
//! a constant 100 ms latency, unlimited bandwidth and `120 / n / 0.8`
//! samples/s: every task takes exactly 0.1 + 0.8 + 0.1 = 1 s, its upload
//! leaving at 0.9 s. A trace window `[a, b)` makes a client selectable from
//! `a` included to `b` excluded.

mod common;

use common::{run_yaml, run_yaml_in, Ran};
use fedsim::actors::messages::secure_message_index;
use fedsim::net::{DelaySampler, Device, Leg, Network, ServerLink};
use fedsim::scenario::Delay;
use fedsim::sim::{SecAggPhase, SeedTree, TaskTag};
use serde_json::Value;
use std::sync::Arc;

/// A task's length, s.
const TASK: f64 = 1.0;

/// `n` clients on iris with 1 s tasks; `strategy` and `stop` as YAML flow
/// maps; availability from `trace.csv` beside the scenario.
fn scenario(n: usize, strategy: &str, stop: &str) -> String {
    let samples_per_s = 120.0 / n as f64 / 0.8;
    format!(
        r#"
name: server-gaps
seed: 7
data: {{ dataset: iris, test_fraction: 0.2, partition: {{ kind: iid }} }}
clients:
  count: {n}
  availability: {{ kind: trace, path: trace.csv }}
  profiles:
    - name: p
      share: 1.0
      compute: {{ samples_per_s: {samples_per_s} }}
      network: {{ latency: {{ dist: constant, ms: 100 }}, up_mbps: .inf, down_mbps: .inf }}
model: {{ kind: softmax_regression }}
training: {{ local_epochs: 1, batch_size: 8, learning_rate: 0.1 }}
strategy: {strategy}
stop: {stop}
"#
    )
}

/// `yaml` with `availability` (a flow map) instead of the trace.
fn with_availability(yaml: &str, availability: &str) -> String {
    yaml.replace("availability: { kind: trace, path: trace.csv }", &format!("availability: {availability}"))
}

/// Runs `yaml` with `trace` (rows `client,start_s,end_s`) as its
/// availability trace.
fn run_with_trace(yaml: &str, trace: &str) -> Ran {
    let tmp = tempfile::tempdir().unwrap();
    std::fs::write(tmp.path().join("trace.csv"), format!("client,start_s,end_s\n{trace}")).unwrap();
    run_yaml_in(yaml, 1, tmp.path())
}

fn t(e: &Value) -> f64 {
    e["t"].as_f64().unwrap()
}

fn times(events: &[Value]) -> Vec<f64> {
    events.iter().map(t).collect()
}

/// The times of `client`'s dispatches.
fn dispatches_of(ran: &Ran, client: u64) -> Vec<f64> {
    times(&ran.events_of("dispatch").into_iter().filter(|e| e["client"] == client).collect::<Vec<_>>())
}

fn close(got: &[f64], want: &[f64]) {
    assert_eq!(got.len(), want.len(), "{got:?} vs {want:?}");
    for (g, w) in got.iter().zip(want) {
        assert!((g - w).abs() < 1e-9, "{got:?} vs {want:?}");
    }
}

/// Three clients on 1 s tasks, three at once, into FedBuff's buffer of
/// four, under central DP (noise multiplier 2); `stop` as a flow map.
fn private_fedbuff(stop: &str) -> String {
    with_availability(&scenario(3, "{ kind: fedbuff, concurrency: 3, buffer_size: 4 }", stop), "{ kind: always }")
        + "privacy: { dp: { level: client, clip_norm: 1.0, noise_multiplier: 2.0, delta: 1.0e-5 } }\n"
}

/// The `epsilon` events' values, version 0's first.
fn epsilons(ran: &Ran) -> Vec<f64> {
    ran.events_of("epsilon").iter().map(|e| e["epsilon"].as_f64().unwrap()).collect()
}

/// A sync run that waits twice for its clients. All four are available in
/// `[2, 2.5)` and from 10 s on. Round 1 finds nobody at 0 s and waits for
/// 2 s: it runs 2 to 3 s. Round 2 finds nobody at 3 s (the window closed
/// at 2.5 s) and must wait again, for 10 s; rounds 3 and 4 follow back to
/// back. The second wait needs the wake-up of the first to have been
/// consumed when it fired: a server that still believed a wake-up was
/// pending (at 2 s, in the past) would schedule none for 10 s, and the run
/// would end at 3 s with nothing left to happen.
#[test]
fn a_sync_run_waits_again_after_a_wake_up_has_fired() {
    let trace: String = (0..4).map(|c| format!("{c},2,2.5\n{c},10,100000\n")).collect();
    let ran = run_with_trace(&scenario(4, "{ kind: fedavg, clients_per_round: 4 }", "{ rounds: 4 }"), &trace);
    let s = ran.summary_json();
    assert_eq!(s["stop_reason"], "rounds", "{s}");
    close(&ran.aggregate_times(), &[2.0 + TASK, 10.0 + TASK, 10.0 + 2.0 * TASK, 10.0 + 3.0 * TASK]);
    let mut rounds_started: Vec<f64> = times(&ran.events_of("dispatch"));
    rounds_started.dedup();
    close(&rounds_started, &[2.0, 10.0, 11.0, 12.0]);
    assert_eq!(ran.events_of("dispatch").len(), 16, "every client in every round");
    assert!(ran.events_of("aggregate").iter().all(|a| a["updates"] == 4 && a["close"] == "all_reported"));
}

/// An async pool with a wake-up pending at 10 s learns of an earlier
/// opening, 5 s, and must wake up then instead. FedAsync, concurrency 2,
/// two clients: client 0 is available in `[0, 0.5)` and from 10 s,
/// client 1 in `[0.25, 0.5)` and from 5 s.
///
/// - 0 s: only client 0 is available; the pool waits for 0.25 s, when
///   client 1 joins.
/// - 1 s: client 0 reports (version 1) and cannot be chosen until 10 s:
///   a wake-up is set for 10 s.
/// - 1.25 s: client 1 reports (version 2); it is available again at 5 s,
///   before the pending 10 s: the wake-up moves to 5 s.
/// - From 5 s client 1 works alone, a task a second (versions 3 to 7 at
///   6..10 s); at 10 s client 0 rejoins.
///
/// Keeping the later wake-up would leave both clients idle until 10 s.
#[test]
fn an_earlier_opening_brings_a_pending_wake_up_forward() {
    let trace = "0,0,0.5\n0,10,100000\n1,0.25,0.5\n1,5,100000\n";
    let ran = run_with_trace(&scenario(2, "{ kind: fedasync, concurrency: 2 }", "{ rounds: 8 }"), trace);
    let s = ran.summary_json();
    assert_eq!(s["stop_reason"], "rounds", "{s}");
    close(&dispatches_of(&ran, 1), &[0.25, 5.0, 6.0, 7.0, 8.0, 9.0, 10.0]);
    close(&dispatches_of(&ran, 0), &[0.0, 10.0]);
    // Versions 1 and 2 from the first tasks, 3 to 7 from client 1's tasks
    // started at 5..9 s; version 8 at 11 s from client 0's or client 1's.
    close(&ran.aggregate_times(), &[1.0, 1.25, 6.0, 7.0, 8.0, 9.0, 10.0, 11.0]);
}

/// A pool short of available clients keeps going on the tasks it has in
/// flight. FedAsync, concurrency 3, three clients; client 2 is available
/// in `[0, 0.5)` only, clients 0 and 1 always. At 1 s client 2 reports
/// and no idle client will ever be available again, but clients 0 and 1
/// are still training (or just restarted): the run is not exhausted, it
/// goes on with two slots busy, two versions a second.
#[test]
fn a_pool_with_tasks_in_flight_is_not_exhausted_by_a_client_gone_for_good() {
    let ran = run_with_trace(&scenario(3, "{ kind: fedasync, concurrency: 3 }", "{ rounds: 7 }"), "2,0,0.5\n");
    let s = ran.summary_json();
    assert_eq!(s["stop_reason"], "rounds", "{s}");
    assert!(s["stop_message"].is_null(), "{s}");
    close(&ran.aggregate_times(), &[1.0, 1.0, 1.0, 2.0, 2.0, 3.0, 3.0]);
    close(&dispatches_of(&ran, 2), &[0.0]);
    // Three at 0 s, clients 0 and 1 at 1 s and 2 s, one of them at 3 s
    // (the other's report makes version 7, the stop).
    close(&times(&ran.events_of("dispatch")), &[0.0, 0.0, 0.0, 1.0, 1.0, 2.0, 2.0, 3.0]);
}

/// Poisson selection (`q = clients_per_round / count = 1`: every available
/// client joins) over a gap in availability: every client is available in
/// `[0, 0.5)` and from 5 s. Round 1 runs 0 to 1 s. At 1 s nobody can
/// join, and nobody could: that is no empty round (an empty round is one
/// where available clients all declined), the server waits for 5 s.
/// Rounds 2 and 3 then run 5 to 6 and 6 to 7 s, with all four clients.
/// Closing empty rounds while nobody is available would spin through
/// every remaining version at 1 s.
#[test]
fn a_poisson_round_with_nobody_available_waits_instead_of_closing_empty() {
    let trace: String = (0..4).map(|c| format!("{c},0,0.5\n{c},5,100000\n")).collect();
    let strategy = "{ kind: fedavg, clients_per_round: 4, selection: poisson }";
    let ran = run_with_trace(&scenario(4, strategy, "{ rounds: 3 }"), &trace);
    let s = ran.summary_json();
    assert_eq!(s["stop_reason"], "rounds", "{s}");
    close(&ran.aggregate_times(), &[TASK, 5.0 + TASK, 5.0 + 2.0 * TASK]);
    for a in ran.events_of("aggregate") {
        assert_eq!((&a["close"], &a["updates"]), (&Value::from("all_reported"), &Value::from(4)), "{a}");
    }
    let mut starts = times(&ran.events_of("dispatch"));
    starts.dedup();
    close(&starts, &[0.0, 5.0, 6.0]);
}

/// A Poisson round that every available client declines is over at once,
/// with the model unchanged: 4 clients always available, each joining
/// with q = 1/4, so about a third of the rounds are empty. An empty round
/// closes `empty` with no update at the instant the round before it
/// closed, and every other round takes one task (1 s).
#[test]
fn a_poisson_round_nobody_joins_closes_empty_at_once() {
    let trace: String = (0..4).map(|c| format!("{c},0,100000\n")).collect();
    let strategy = "{ kind: fedavg, clients_per_round: 1, selection: poisson }";
    let ran = run_with_trace(&scenario(4, strategy, "{ rounds: 30 }"), &trace);
    assert_eq!(ran.summary_json()["stop_reason"], "rounds");
    let aggregates = ran.events_of("aggregate");
    assert_eq!(aggregates.len(), 30);
    let (mut before, mut empty) = (0.0, 0);
    for a in &aggregates {
        if a["close"] == "empty" {
            empty += 1;
            assert_eq!(a["updates"], 0, "{a}");
            close(&[t(a)], &[before]);
        } else {
            close(&[t(a)], &[before + TASK]);
        }
        before = t(a);
    }
    assert!((3..=20).contains(&empty), "{empty} empty rounds of 30");
}

/// A full pool sets no wake-up. FedAsync, concurrency 1, two clients:
/// client 0 always available, client 1 from 5 s. The pool is full from
/// 0 s on (client 0, a task a second; at 5 s either client), so the server
/// never waits for client 1's window: the run delivers exactly the start
/// and, per task, its model (`download_done`), its end of training
/// (`compute_done`) and its report: `1 + 3 * 8` messages for 8 versions
/// (the task after the 8th report is never started). A wake-up for 5 s
/// would be one message more.
#[test]
fn a_full_pool_schedules_no_wake_up() {
    let ran = run_with_trace(&scenario(2, "{ kind: fedasync, concurrency: 1 }", "{ rounds: 8 }"), "1,5,100000\n");
    let s = ran.summary_json();
    assert_eq!(s["stop_reason"], "rounds", "{s}");
    close(&ran.aggregate_times(), &(1..=8).map(|v| v as f64 * TASK).collect::<Vec<_>>());
    close(&times(&ran.events_of("dispatch")), &(0..8).map(|v| v as f64 * TASK).collect::<Vec<_>>());
    assert_eq!(ran.events_of("download_done").len(), 8);
    assert_eq!(ran.events_of("compute_done").len(), 8);
    assert_eq!(s["messages"], 1 + 3 * 8, "{s}");
}

/// Secure aggregation's later uplink messages (`share_keys`,
/// `masked_input`, `unmask_shares`) each draw their own latency, from the
/// stream of (seed, client, task serial, message, direction), as the
/// server's messages down do; only the keys' advertisement travels with
/// the latency drawn for the task's upload. Four clients, lognormal
/// latency (median 40 ms, sigma 0.8), unlimited bandwidth and compute:
/// every message takes exactly its latency, so each uplink message
/// arrives at the instant the server sent its phase's message plus the
/// two draws (`Network::message_latency_s`, down then up). The three
/// uplink latencies of one task are then all different, and none is the
/// advertisement's.
#[test]
fn secure_uplink_messages_draw_a_latency_each() {
    let seed = 11;
    let delay = Delay::LogNormal { median_ms: 40.0, sigma: 0.8 };
    let yaml = format!(
        r#"
name: secure-latency
seed: {seed}
data: {{ dataset: iris, test_fraction: 0.2, partition: {{ kind: iid }} }}
clients:
  count: 4
  profiles:
    - name: p
      share: 1.0
      compute: {{ samples_per_s: .inf }}
      network: {{ latency: {{ dist: lognormal, median_ms: 40, sigma: 0.8 }}, up_mbps: .inf, down_mbps: .inf }}
model: {{ kind: softmax_regression }}
strategy: {{ kind: fedavg, clients_per_round: 4 }}
privacy: {{ secure_aggregation: {{ enabled: true, threshold: 0.7 }} }}
stop: {{ rounds: 1 }}
"#
    );
    let ran = run_yaml(&yaml, 1);
    assert_eq!(ran.events_of("unmasked").len(), 1);
    let device = Device {
        latency: DelaySampler::new(delay),
        up_bps: f64::INFINITY,
        down_bps: f64::INFINITY,
        samples_per_s: f64::INFINITY,
        jitter: None,
    };
    let net = Network::new(vec![device], Arc::from(vec![0u16; 4]), ServerLink::unlimited(), 0.0, SeedTree::new(seed));
    let at = |kind: &str, c: u64| -> f64 {
        let hits: Vec<Value> = ran.events_of(kind).into_iter().filter(|e| e["client"] == c).collect();
        assert_eq!(hits.len(), 1, "{kind} of client {c}");
        t(&hits[0])
    };
    let exchanges = [
        (SecAggPhase::KeyList, SecAggPhase::ShareKeys),
        (SecAggPhase::Shares, SecAggPhase::MaskedInput),
        (SecAggPhase::Survivors, SecAggPhase::UnmaskShares),
    ];
    for c in 0..4u32 {
        // Round 1 is every client's first task.
        let tag = TaskTag { client: c, serial: 1 };
        let client = c as u64;
        // The advertisement takes the task's own upload latency.
        let advertised = at("advertise_keys", client) - at("compute_done", client);
        let task_up = net.draws(c, 1).latency_s[1];
        assert!((advertised - task_up).abs() < 1e-8, "client {c}: {advertised} vs {task_up}");
        let mut ups = Vec::new();
        for (down, up) in exchanges {
            let down_s = net.message_latency_s(tag, secure_message_index(down).unwrap(), Leg::Down);
            let up_s = net.message_latency_s(tag, secure_message_index(up).unwrap(), Leg::Up);
            let sent = at(down.name(), client);
            let arrived = at(up.name(), client);
            assert!(
                (arrived - (sent + down_s + up_s)).abs() < 1e-8,
                "client {c}, {}: arrived at {arrived}, expected {sent} + {down_s} + {up_s}",
                up.name()
            );
            ups.push(arrived - sent - down_s);
        }
        for (i, a) in ups.iter().enumerate() {
            assert!((a - task_up).abs() > 1e-6, "client {c}: uplink {i} reuses the task's upload latency");
            for b in &ups[i + 1..] {
                assert!((a - b).abs() > 1e-6, "client {c}: two uplink messages drew the same latency: {ups:?}");
            }
        }
    }
}

/// Two clients whose pool empties at one instant wait on one wake-up, not
/// two. FedAsync, concurrency 2: both are available in `[0, 0.5)` and
/// from 5 s. Both report at 1 s; the first report's refill finds nobody
/// and sets a wake-up for 5 s, and the second's finds the same instant
/// already pending. Delivered: the start, three messages per task (four
/// tasks: two at 0 s, two at 5 s) and the one wake-up; the task started
/// at 6 s by version 3's refill is cut short by version 4, the stop.
#[test]
fn a_wake_up_already_pending_for_the_same_instant_is_not_doubled() {
    let trace = "0,0,0.5\n0,5,100000\n1,0,0.5\n1,5,100000\n";
    let ran = run_with_trace(&scenario(2, "{ kind: fedasync, concurrency: 2 }", "{ rounds: 4 }"), trace);
    let s = ran.summary_json();
    assert_eq!(s["stop_reason"], "rounds", "{s}");
    close(&times(&ran.events_of("dispatch")), &[0.0, 0.0, 5.0, 5.0, 6.0]);
    close(&ran.aggregate_times(), &[1.0, 1.0, 6.0, 6.0]);
    assert_eq!(s["messages"], 1 + 3 * 4 + 1, "{s}");
}

/// FedBuff under central DP accounts each aggregation with the most
/// updates any one client has in the buffer (a client that reported twice
/// moves the sum twice as far): sigma / (2 x repeats), unamplified.
/// Three clients, three at once, a buffer of four: the buffers mix single
/// and repeated contributions, read here from the reports between two
/// aggregations, and every `epsilon` event must be the accountant's
/// composition of exactly those steps.
#[test]
fn fedbuff_accounts_each_buffer_by_its_most_repeated_client() {
    use fedsim::privacy::accountant::{Accountant, Sampling};
    use fedsim::scenario::AccountantKind;
    // The noise multiplier of `private_fedbuff`.
    let sigma = 2.0;
    let ran = run_yaml(&private_fedbuff("{ rounds: 6 }"), 1);
    let mut accountant = Accountant::new(AccountantKind::Rdp, 1e-5);
    let mut in_buffer: std::collections::BTreeMap<u64, u32> = Default::default();
    let mut repeats_seen = Vec::new();
    let mut checked = 0;
    for e in ran.events() {
        match e["kind"].as_str().unwrap() {
            "report" => *in_buffer.entry(e["client"].as_u64().unwrap()).or_default() += 1,
            "aggregate" => {
                let repeats = std::mem::take(&mut in_buffer).into_values().max().unwrap();
                repeats_seen.push(repeats);
                accountant.compose(Sampling::Poisson, 1.0, sigma / (2.0 * f64::from(repeats)), 1);
            }
            "epsilon" => {
                let eps = e["epsilon"].as_f64().unwrap();
                assert!((eps - accountant.epsilon()).abs() < 1e-9, "{eps} vs {}", accountant.epsilon());
                checked += 1;
            }
            _ => {}
        }
    }
    // Version 0's (nothing spent) and one per aggregation.
    assert_eq!(checked, 1 + 6);
    assert!(repeats_seen.contains(&2), "some buffer holds a client twice: {repeats_seen:?}");
}

/// An async pool under a privacy budget stops when its buffer is full and
/// releasing it would pass `stop.max_epsilon`: never earlier, at a refill
/// (a refill releases nothing, so it spends nothing). The budget sits
/// just above the epsilon after three aggregations, a thousandth of the
/// way to the fourth's: the run makes three versions, then holds a full
/// buffer (four reports) that it may not release. (Accounting a refill as
/// a sampled release would stop at the first refill after version 3.)
#[test]
fn fedbuff_stops_at_the_release_that_would_pass_the_budget() {
    let eps = epsilons(&run_yaml(&private_fedbuff("{ rounds: 6 }"), 1));
    let budget = eps[3] + (eps[4] - eps[3]) / 1000.0;
    let ran = run_yaml(&private_fedbuff(&format!("{{ rounds: 6, max_epsilon: {budget} }}")), 1);
    let s = ran.summary_json();
    assert_eq!(s["stop_reason"], "max_epsilon", "{s}");
    assert_eq!(s["rounds"], 3, "{s}");
    assert!((s["epsilon"].as_f64().unwrap() - eps[3]).abs() < 1e-12, "{s}");
    let events = ran.events();
    let last_aggregate = events.iter().rposition(|e| e["kind"] == "aggregate").unwrap();
    let held = events[last_aggregate..].iter().filter(|e| e["kind"] == "report").count();
    assert_eq!(held, 4, "a full buffer is held back, not a partial one");
}

/// At a `stop.virtual_time_s` an async pool releases its partial buffer as
/// a last version, unless that release would pass `stop.max_epsilon`:
/// then it is dropped. Three clients reporting every second into a buffer
/// of four make versions at 2 s and 3 s; at 3.5 s one report waits. With
/// no budget it is released (a third version, and its epsilon); with a
/// budget just above two releases' epsilon it is dropped.
#[test]
fn a_partial_buffer_past_the_budget_is_dropped_at_the_time_limit() {
    let free = run_yaml(&private_fedbuff("{ virtual_time_s: 3.5 }"), 1);
    let eps = epsilons(&free);
    close(&free.aggregate_times(), &[2.0, 3.0, 3.5]);
    assert_eq!(eps.len(), 4, "version 0 and three releases: {eps:?}");
    let budget = eps[2] + (eps[3] - eps[2]) / 1000.0;
    let ran = run_yaml(&private_fedbuff(&format!("{{ virtual_time_s: 3.5, max_epsilon: {budget} }}")), 1);
    let s = ran.summary_json();
    assert_eq!(s["stop_reason"], "virtual_time", "{s}");
    assert_eq!(s["rounds"], 2, "{s}");
    assert!((s["epsilon"].as_f64().unwrap() - eps[2]).abs() < 1e-12, "{s}");
    close(&ran.aggregate_times(), &[2.0, 3.0]);
}

/// Under diurnal availability the server draws from whichever is smaller,
/// the online clients or the idle ones, and each draw is uniform: no
/// client is favoured. Fifty clients, half of them online for the whole
/// run (a 100-hour period), five per round for 40 one-second rounds:
/// an online client is chosen in about 40 x 5 / 25 = 8 rounds, so none
/// may come near all 40.
#[test]
fn diurnal_selection_favours_no_client() {
    let yaml = with_availability(
        &scenario(50, "{ kind: fedavg, clients_per_round: 5 }", "{ rounds: 40 }"),
        "{ kind: diurnal, period_h: 100, on_fraction: 0.5 }",
    );
    let ran = run_yaml(&yaml, 1);
    assert_eq!(ran.summary_json()["stop_reason"], "rounds");
    let mut per_client = std::collections::BTreeMap::<u64, u32>::new();
    for e in ran.events_of("dispatch") {
        *per_client.entry(e["client"].as_u64().unwrap()).or_default() += 1;
    }
    assert!(per_client.len() <= 25, "only the online half is ever chosen: {per_client:?}");
    let most = *per_client.values().max().unwrap();
    assert!(most <= 20, "a client chosen in {most} of 40 rounds: {per_client:?}");
}

/// Over-selected stragglers whose reports arrive at the very instant their
/// round closes (every task here takes exactly 1 s, so all six of a
/// round's reports reach the server together): the fourth report closes
/// the round and cancels the other two, which are then never delivered
/// nor counted, though they were in the same batch. After a few rounds
/// the clients' task serials differ, so a skip that tested the wrong
/// client would let a cancelled report through.
#[test]
fn stragglers_reporting_at_the_closing_instant_are_not_delivered() {
    let yaml = with_availability(
        &scenario(12, "{ kind: fedavg, clients_per_round: 4, over_selection: 1.5 }", "{ rounds: 8 }"),
        "{ kind: always }",
    );
    let ran = run_yaml(&yaml, 1);
    // Round r runs from r - 1 to r seconds: six dispatched, two late.
    let late = times(&ran.events_of("late"));
    close(&late, &(1..=8).flat_map(|r| [r as f64; 2]).collect::<Vec<_>>());
    close(&ran.aggregate_times(), &(1..=8).map(f64::from).collect::<Vec<_>>());
    // The start, then each task's model arrival and end of training (six
    // a round) and each counted report (four a round).
    let delivered = ["download_done", "compute_done", "report"].map(|k| ran.events_of(k).len() as u64);
    assert_eq!(delivered, [48, 48, 32]);
    assert_eq!(ran.summary_json()["messages"], 1 + 48 + 48 + 32);
}
