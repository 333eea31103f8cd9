//! The server's link (spec section 1, `server.network`): concurrent
//! transfers share it max-min fairly, each capped by its client's own link,
//! and its latency is added to every message. Checked against closed forms
//! computed by hand, on runs from YAML.
//!
//! The workload: digits with `test_fraction: 0.2209`, so the train pool is
//! floor(0.7791 * 1797) = 1400 rows, which K = 1, 10, 100 clients split
//! round-robin into equal slices of 1400 / K rows (equal compute, so every
//! upload of a round starts at the same instant). An MLP with one hidden
//! layer of 64 units: 64*64 + 64 + 64*10 + 10 = 4810 parameters, so
//! B = 4 * 4810 = 19 240 bytes = 153 920 bits each way.

mod common;
use common::{run_yaml, Ran};

/// Bits of one model on the wire: 4 * 4810 bytes.
const BITS: f64 = 19_240.0 * 8.0;

/// Train rows of the workload.
const ROWS: f64 = 1400.0;

/// One device tier of a scenario.
struct Tier {
    name: &'static str,
    share: f64,
    latency_ms: f64,
    down_mbps: f64,
    up_mbps: f64,
}

/// A fast tier: 20 ms one way, 1 Gb/s both ways.
const FAST: Tier = Tier { name: "fast", share: 1.0, latency_ms: 20.0, down_mbps: 1000.0, up_mbps: 1000.0 };

/// One round of sync FedAvg over all `k` clients, training at 1000
/// samples/s; `server` is the scenario's `server:` block (or "").
fn scenario(k: u32, tiers: &[Tier], server: &str) -> String {
    let profiles: String = tiers
        .iter()
        .map(|t| {
            format!(
                "    - {{ name: {}, share: {}, compute: {{ samples_per_s: 1000 }}, network: {{ latency: {{ dist: \
                 constant, ms: {} }}, up_mbps: {}, down_mbps: {} }} }}\n",
                t.name, t.share, t.latency_ms, t.up_mbps, t.down_mbps
            )
        })
        .collect();
    format!(
        r#"
name: server-link
seed: 5
data: {{ dataset: digits, test_fraction: 0.2209, normalize: standard, partition: {{ kind: iid }} }}
clients:
  count: {k}
  profiles:
{profiles}model: {{ kind: mlp, hidden: [64] }}
training: {{ local_epochs: 1, batch_size: 16, learning_rate: 0.05 }}
strategy: {{ kind: fedavg, clients_per_round: {k} }}
{server}
stop: {{ rounds: 1 }}
"#
    )
}

/// The instants of every event of `kind`, by client.
fn instants(ran: &Ran, kind: &str) -> Vec<(u64, f64)> {
    ran.events_of(kind).iter().map(|e| (e["client"].as_u64().unwrap(), e["t"].as_f64().unwrap())).collect()
}

/// Asserts that every event of `kind` is at `want` s, to 1e-9 s, and that
/// there are `n` of them.
fn all_at(ran: &Ran, kind: &str, n: usize, want: f64) {
    let got = instants(ran, kind);
    assert_eq!(got.len(), n, "{kind} events");
    for (c, t) in got {
        assert!((t - want).abs() <= 1e-9, "{kind} of client {c} at {t}, expected {want}");
    }
}

/// The events of one run agree with the payload size assumed above.
fn check_payload(ran: &Ran, k: usize) {
    let dispatches = ran.events_of("dispatch");
    assert_eq!(dispatches.len(), k);
    assert!(dispatches.iter().all(|e| e["bytes"] == 19_240 && e["t"] == 0.0));
}

#[test]
fn k_equal_downloads_on_the_servers_uplink_each_take_k_b_over_bw() {
    // Server uplink 10 Mb/s, K downloads started together at t = 0, each
    // capped at 1 Gb/s >= 10 / K Mb/s: all run at 10 / K Mb/s and end
    // together at K * 153 920 / 10e6 s, then pay the 20 ms latency:
    //   K = 1: 0.020 + 0.015392 = 0.035392 s
    //   K = 10: 0.020 + 0.153920 = 0.173920 s
    //   K = 100: 0.020 + 1.539200 = 1.559200 s
    // The server's downlink is unlimited, so each report then comes
    // compute (1400 / K rows at 1000 samples/s) + 20 ms + 153 920 bits at
    // 1 Gb/s after it.
    for (k, by_hand) in [(1u32, 0.035392), (10, 0.173920), (100, 1.559200)] {
        let ran = run_yaml(&scenario(k, &[FAST], "server: { network: { up_mbps: 10 } }"), 1);
        check_payload(&ran, k as usize);
        let download = 0.020 + k as f64 * BITS / 10e6;
        assert!((download - by_hand).abs() < 1e-12);
        all_at(&ran, "download_done", k as usize, download);
        let compute = ROWS / k as f64 / 1000.0;
        all_at(&ran, "compute_done", k as usize, download + compute);
        all_at(&ran, "report", k as usize, download + compute + 0.020 + BITS / 1e9);
    }
}

#[test]
fn k_equal_uploads_on_the_servers_downlink_each_take_k_b_over_bw() {
    // Server downlink 5 Mb/s, uplink unlimited. Downloads: 20 ms + 153 920
    // bits at the client's 1 Gb/s = 0.02015392 s. Compute: 1400 / K rows at
    // 1000 samples/s (1.4, 0.14, 0.014 s). Then K uploads start together
    // and share 5 Mb/s: K * 153 920 / 5e6 s, plus 20 ms:
    //   K = 1: 0.02015392 + 1.4 + 0.030784 + 0.02 = 1.47093792 s
    //   K = 10: 0.02015392 + 0.14 + 0.30784 + 0.02 = 0.48799392 s
    //   K = 100: 0.02015392 + 0.014 + 3.0784 + 0.02 = 3.13255392 s
    for (k, by_hand) in [(1u32, 1.47093792), (10, 0.48799392), (100, 3.13255392)] {
        let ran = run_yaml(&scenario(k, &[FAST], "server: { network: { down_mbps: 5 } }"), 1);
        check_payload(&ran, k as usize);
        let download = 0.020 + BITS / 1e9;
        all_at(&ran, "download_done", k as usize, download);
        let compute_done = download + ROWS / k as f64 / 1000.0;
        all_at(&ran, "compute_done", k as usize, compute_done);
        let report = compute_done + k as f64 * BITS / 5e6 + 0.020;
        assert!((report - by_hand).abs() < 1e-12);
        all_at(&ran, "report", k as usize, report);
        // The last report closes the round.
        assert_eq!(ran.aggregate_times().len(), 1);
        assert!((ran.aggregate_times()[0] - report).abs() <= 1e-9);
    }
}

#[test]
fn a_client_link_below_its_fair_share_frees_the_rest_to_the_others() {
    // Server uplink 10 Mb/s; 5 clients: one capped at 1 Mb/s, one at
    // 2 Mb/s, three at 1 Gb/s. Water-filling at t = 0:
    //   equal share 10 / 5 = 2: the 1 Mb/s client takes its 1, 9 left;
    //   equal share 9 / 4 = 2.25: the 2 Mb/s client takes its 2, 7 left;
    //   equal share 7 / 3 = 2.333..: below 1 Gb/s, so the three fast
    //   clients get 7/3 Mb/s each.
    // (Equal sharing without the caps would give everyone 2 Mb/s: the
    // three fast ones gain the 1 Mb/s the slowest client cannot use.)
    // The fast ones end at 153 920 / (7e6 / 3) = 0.065965714.. s. The two
    // capped ones then have the link to themselves, but their caps (3 Mb/s
    // together, under 10) still bind: they end at 153 920 / 2e6 = 0.07696 s
    // and 153 920 / 1e6 = 0.15392 s, the instants their own links give
    // them. Each download_done is 20 ms later.
    let tiers = [
        Tier { name: "slowest", share: 0.2, down_mbps: 1.0, ..FAST },
        Tier { name: "slow", share: 0.2, down_mbps: 2.0, ..FAST },
        Tier { name: "fast", share: 0.6, ..FAST },
    ];
    let ran = run_yaml(&scenario(5, &tiers, "server: { network: { up_mbps: 10 } }"), 1);
    check_payload(&ran, 5);
    let fast = 0.020 + 3.0 * BITS / 7e6;
    let slow = 0.020 + BITS / 2e6;
    let slowest = 0.020 + BITS / 1e6;
    assert!((fast - 0.085965714).abs() < 1e-9 && (slow - 0.09696).abs() < 1e-12 && (slowest - 0.17392).abs() < 1e-12);
    let mut got: Vec<f64> = instants(&ran, "download_done").into_iter().map(|(_, t)| t).collect();
    got.sort_by(f64::total_cmp);
    let want = [fast, fast, fast, slow, slowest];
    assert_eq!(got.len(), want.len());
    for (g, w) in got.iter().zip(want) {
        assert!((g - w).abs() <= 1e-9, "download_done at {got:?}, expected {want:?}");
    }
}

#[test]
fn a_server_link_faster_than_all_clients_together_changes_nothing() {
    // 100 clients at 20 Mb/s down, 5 up: 2 Gb/s and 500 Mb/s in all, under
    // the server's 10 Gb/s each way, so every transfer runs at its client's
    // own rate, as without `server:`.
    let tier = Tier { latency_ms: 35.0, down_mbps: 20.0, up_mbps: 5.0, ..FAST };
    let plain = run_yaml(&scenario(100, &[tier], ""), 1);
    let tier = Tier { latency_ms: 35.0, down_mbps: 20.0, up_mbps: 5.0, ..FAST };
    let fat = run_yaml(&scenario(100, &[tier], "server: { network: { up_mbps: 10000, down_mbps: 10000 } }"), 1);
    for kind in ["download_done", "compute_done", "report", "aggregate"] {
        let (a, b) = (plain.events_of(kind), fat.events_of(kind));
        assert_eq!(a.len(), b.len(), "{kind}");
        for (x, y) in a.iter().zip(&b) {
            assert_eq!(x["client"], y["client"]);
            let (s, t) = (x["t"].as_f64().unwrap(), y["t"].as_f64().unwrap());
            assert!((s - t).abs() <= 1e-9, "{kind}: {s} without the limit, {t} with");
        }
    }
}

#[test]
fn without_server_the_spec_closed_form_holds() {
    // Spec section 2, per client: download = 0.035 + 153 920 / 20e6
    // = 0.042696 s; compute = 14 / 1000 = 0.014 s; upload = 0.035 +
    // 153 920 / 5e6 = 0.065784 s; task = 0.12248 s.
    let tier = Tier { latency_ms: 35.0, down_mbps: 20.0, up_mbps: 5.0, ..FAST };
    let ran = run_yaml(&scenario(100, &[tier], ""), 1);
    check_payload(&ran, 100);
    let download = 0.035 + BITS / 20e6;
    let compute = 14.0 / 1000.0;
    let upload = 0.035 + BITS / 5e6;
    assert!((download + compute + upload - 0.12248).abs() < 1e-12);
    all_at(&ran, "download_done", 100, download);
    all_at(&ran, "compute_done", 100, download + compute);
    all_at(&ran, "report", 100, download + compute + upload);
    assert!((ran.aggregate_times()[0] - 0.12248).abs() <= 1e-9);
}

#[test]
fn the_servers_latency_is_added_to_every_message() {
    // Server latency 7 ms, constant. Without a bandwidth limit, every
    // message is 7 ms later than the closed form: download_done at
    // 0.042696 + 0.007 = 0.049696 s, report at 0.042696 + 0.14 + 0.065784
    // + 2 * 0.007 = 0.26248 s.
    let tier = || Tier { latency_ms: 35.0, down_mbps: 20.0, up_mbps: 5.0, ..FAST };
    let ran = run_yaml(&scenario(10, &[tier()], "server: { network: { latency: { dist: constant, ms: 7 } } }"), 1);
    let download = 0.035 + 0.007 + BITS / 20e6;
    let compute = 140.0 / 1000.0;
    let upload = 0.035 + 0.007 + BITS / 5e6;
    assert!((download - 0.049696).abs() < 1e-12 && (download + compute + upload - 0.26248).abs() < 1e-12);
    all_at(&ran, "download_done", 10, download);
    all_at(&ran, "compute_done", 10, download + compute);
    all_at(&ran, "report", 10, download + compute + upload);

    // With both directions limited too, the 7 ms come on top of the
    // client's 35 ms once each transfer is through. Server 10 Mb/s up and
    // 4 Mb/s down, 10 clients (caps 20 and 5 Mb/s, above the shares of 1
    // and 0.4 Mb/s): download_done = 0.042 + 10 * 153 920 / 10e6
    // = 0.19592 s; report = 0.19592 + 0.14 + 0.042 + 10 * 153 920 / 4e6
    // = 0.19592 + 0.14 + 0.042 + 0.3848 = 0.76272 s.
    let server = "server: { network: { up_mbps: 10, down_mbps: 4, latency: { dist: constant, ms: 7 } } }";
    let ran = run_yaml(&scenario(10, &[tier()], server), 1);
    let download = 0.042 + 10.0 * BITS / 10e6;
    let report = download + compute + 0.042 + 10.0 * BITS / 4e6;
    assert!((download - 0.19592).abs() < 1e-12 && (report - 0.76272).abs() < 1e-12);
    all_at(&ran, "download_done", 10, download);
    all_at(&ran, "compute_done", 10, download + compute);
    all_at(&ran, "report", 10, report);
}

#[test]
fn under_contention_a_dropped_task_vanishes_within_its_uncontended_length_and_never_reports() {
    // Dropout instants use the task's closed-form length on an idle link
    // (start + U * task), and contention only lengthens a task: so every
    // drop comes before the uncontended end, and a dropped client never
    // reports. 100 clients, server uplink 1 Mb/s: the downloads take
    // 100 * 153 920 / 1e6 = 15.392 s under contention, against an
    // uncontended task of 0.020 + 0.15392 (at 1 Mb/s) + 0.014 + 0.020 +
    // 153 920 / 1e9 = 0.20807392 s: every drop is during a download.
    let yaml = scenario(100, &[FAST], "server: { network: { up_mbps: 1 } }")
        .replace("clients:\n", "clients:\n  dropout: { probability: 0.5 }\n");
    let ran = run_yaml(&yaml, 1);
    let uncontended = 0.020 + BITS / 1e6 + 0.014 + 0.020 + BITS / 1e9;
    let drops = instants(&ran, "drop");
    let reports = instants(&ran, "report");
    assert!((30..=70).contains(&drops.len()), "{} drops of 100", drops.len());
    assert_eq!(drops.len() + reports.len(), 100);
    for &(c, t) in &drops {
        assert!(t < uncontended, "client {c} dropped at {t}, after its uncontended task {uncontended}");
        assert!(!reports.iter().any(|&(r, _)| r == c), "dropped client {c} reported");
        assert!(!instants(&ran, "download_done").iter().any(|&(d, _)| d == c), "dropped client {c} got the model");
    }
    // Each drop takes its transfer off the link at once and the others
    // speed up. All 100 downloads started together and are equal, so until
    // its drop every transfer has moved the same number of bits: 1 Mb/s
    // divided by the number still on the link, integrated over time. After
    // the last drop the survivors move the rest of their bits at
    // 1 Mb/s / survivors each, and arrive 20 ms later.
    let mut at: Vec<f64> = drops.iter().map(|&(_, t)| t).collect();
    at.sort_by(f64::total_cmp);
    let (mut sent, mut n, mut last) = (0.0, 100.0, 0.0);
    for t in at {
        sent += (t - last) * 1e6 / n;
        n -= 1.0;
        last = t;
    }
    let survivors = 100 - drops.len();
    assert_eq!(n as usize, survivors);
    let download = last + (BITS - sent) * n / 1e6 + 0.020;
    all_at(&ran, "download_done", survivors, download);
    // Well before the 15.392 s that 100 sharers would take.
    assert!(download < 0.020 + (survivors + 1) as f64 * BITS / 1e6, "{download}");
}
