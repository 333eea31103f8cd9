//! The teaching labs of `docs/labs/`: each lab's stated effect, asserted on
//! its own scenario under `scenarios/labs/`.

mod common;

use common::{run_file, Ran};
use std::collections::BTreeMap;

/// The rows of a CSV file of a run, as maps from column to value.
fn csv(r: &Ran, name: &str) -> Vec<BTreeMap<String, String>> {
    let text = r.read(name);
    let mut lines = text.lines();
    let head: Vec<String> = lines.next().unwrap().split(',').map(String::from).collect();
    lines.map(|l| head.iter().cloned().zip(l.split(',').map(String::from)).collect()).collect()
}

fn f(row: &BTreeMap<String, String>, key: &str) -> f64 {
    row[key].parse().unwrap_or_else(|_| panic!("{key} = {:?}", row[key]))
}

fn sum(rows: &[BTreeMap<String, String>], key: &str) -> f64 {
    rows.iter().map(|r| f(r, key)).sum()
}

fn durations(r: &Ran) -> Vec<f64> {
    csv(r, "rounds.csv").iter().map(|row| f(row, "duration_s")).collect()
}

fn mean(xs: &[f64]) -> f64 {
    xs.iter().sum::<f64>() / xs.len() as f64
}

/// Lab 1: the slow tier's clients have the highest task times.
#[test]
fn lab_stragglers_the_slow_tier_has_the_highest_task_times() {
    let r = run_file("scenarios/labs/stragglers.yaml", 1, &[]);
    let clients = csv(&r, "clients.csv");
    let medians = |p: &str| -> Vec<f64> {
        clients
            .iter()
            .filter(|c| c["profile"] == p && !c["median_task_s"].is_empty())
            .map(|c| f(c, "median_task_s"))
            .collect()
    };
    let (fast, slow) = (medians("fast"), medians("slow"));
    assert!(fast.len() >= 20 && slow.len() >= 5, "{} fast, {} slow clients took part", fast.len(), slow.len());
    let fastest_slow = slow.iter().cloned().fold(f64::INFINITY, f64::min);
    let slowest_fast = fast.iter().cloned().fold(0.0, f64::max);
    assert!(fastest_slow > 3.0 * slowest_fast, "slow tier {slow:?} against fast tier {fast:?}");
    // And the round waits for them: the longest round is one of theirs.
    let d = durations(&r);
    assert!(d.iter().cloned().fold(0.0, f64::max) > fastest_slow, "{d:?}");
}

/// Lab 2: a deadline shortens the rounds and makes late tasks.
#[test]
fn lab_deadline_shortens_rounds_and_makes_late_tasks() {
    let plain = run_file("scenarios/labs/stragglers.yaml", 1, &[]);
    let cut = run_file("scenarios/labs/stragglers_deadline.yaml", 1, &[]);
    let (dp, dc) = (durations(&plain), durations(&cut));
    assert!(dc.iter().all(|&d| d <= 1.5 + 1e-9), "{dc:?}");
    assert!(mean(&dc) * 10.0 < mean(&dp), "mean round {} s against {} s", mean(&dc), mean(&dp));
    assert_eq!(plain.result.summary.clients_late, 0);
    assert!(cut.result.summary.clients_late > 25, "{}", cut.result.summary.clients_late);
    assert!(!cut.events_of("late").is_empty());
    // Same number of rounds, much the same accuracy.
    assert_eq!(plain.result.summary.rounds, cut.result.summary.rounds);
    assert!((plain.result.summary.final_accuracy - cut.result.summary.final_accuracy).abs() < 0.03);
}

/// Lab 3: dropout lowers the completed counts.
#[test]
fn lab_dropout_lowers_completed_counts() {
    let dropping = run_file("scenarios/labs/dropout.yaml", 1, &[]);
    let none = run_file("scenarios/labs/dropout.yaml", 1, &["clients.dropout.probability=0"]);
    let (md, m0) = (csv(&dropping, "metrics.csv"), csv(&none, "metrics.csv"));
    assert_eq!(sum(&m0, "clients_completed"), 300.0, "30 rounds of 10");
    assert_eq!(sum(&m0, "clients_dropped"), 0.0);
    let (completed, dropped) = (sum(&md, "clients_completed"), sum(&md, "clients_dropped"));
    assert_eq!(completed + dropped, 300.0, "every task reports or drops");
    // p = 0.3 of 300 tasks: 90 expected, sd ~8.
    assert!((65.0..=115.0).contains(&dropped), "{dropped} dropped");
    assert!(md[1..].iter().all(|r| f(r, "clients_completed") <= 10.0));
    assert_eq!(dropping.events_of("drop").len() as f64, dropped);
}

/// Lab 4: selection happens only inside the availability windows, and
/// rounds wait when nobody is online.
#[test]
fn lab_diurnal_selects_only_inside_windows_and_rounds_wait() {
    let r = run_file("scenarios/labs/diurnal.yaml", 1, &[]);
    let model = fedsim::net::AvailabilityModel::new(
        &fedsim::scenario::Availability::Diurnal { period_h: 1.0, on_fraction: 0.15 },
        12,
        fedsim::sim::SeedTree::new(5).child("availability"),
    )
    .unwrap();
    let dispatches = r.events_of("dispatch");
    assert!(dispatches.len() > 300, "{}", dispatches.len());
    for e in &dispatches {
        let t = fedsim::sim::VirtualTime::from_secs_f64(e["t"].as_f64().unwrap());
        assert!(model.is_available(e["client"].as_u64().unwrap() as u32, t), "{e}");
    }
    let rounds = csv(&r, "rounds.csv");
    let waits: Vec<f64> =
        rounds.windows(2).map(|w| f(&w[1], "start_s") - f(&w[0], "close_s")).filter(|&w| w > 0.0).collect();
    assert!(!waits.is_empty() && waits.iter().sum::<f64>() > 300.0, "waits {waits:?}");
    // Never 4 online at once here: every round takes all it finds.
    assert!(rounds.iter().all(|row| f(row, "selected") < 4.0));
}

/// Lab 5: a lower Dirichlet alpha gives a lower accuracy at equal rounds.
#[test]
fn lab_non_iid_lower_alpha_lower_accuracy_at_equal_rounds() {
    let acc = |alpha: &str| -> f64 {
        let accs: Vec<f64> = ["3", "4"]
            .iter()
            .map(|seed| {
                let r = run_file(
                    "scenarios/labs/non_iid_sweep.yaml",
                    1,
                    &[&format!("data.partition.alpha={alpha}"), &format!("seed={seed}")],
                );
                assert_eq!(r.result.summary.rounds, 20);
                r.result.summary.final_accuracy
            })
            .collect();
        mean(&accs)
    };
    let (a005, a03, a100) = (acc("0.05"), acc("0.3"), acc("100"));
    assert!(a005 + 0.015 < a03 && a03 < a100, "alpha 0.05: {a005}, 0.3: {a03}, 100: {a100}");
}

/// Lab 6: FedBuff reaches the target sooner in virtual time than FedAvg;
/// the async strategies fold stale updates.
#[test]
fn lab_async_fedbuff_reaches_the_target_sooner_than_fedavg() {
    let t = |name: &str| -> (Ran, f64) {
        let r = run_file(&format!("scenarios/labs/async_{name}.yaml"), 1, &[]);
        let t = r.result.summary.time_to_target_s.unwrap_or_else(|| panic!("{name} never reached the target"));
        (r, t)
    };
    let (avg, t_avg) = t("fedavg");
    let (buff, t_buff) = t("fedbuff");
    let (asy, t_asy) = t("fedasync");
    assert!(t_buff * 4.0 < t_avg, "FedBuff {t_buff} s, FedAvg {t_avg} s");
    assert!(t_asy * 4.0 < t_avg, "FedAsync {t_asy} s, FedAvg {t_avg} s");
    assert_eq!(avg.result.summary.max_staleness, Some(0));
    let (sb, sa) = (buff.result.summary.max_staleness.unwrap(), asy.result.summary.max_staleness.unwrap());
    assert!(sb > 0 && sa > sb, "FedBuff max staleness {sb}, FedAsync {sa}");
}

/// Lab 7: the saturated server link lengthens every round by the closed
/// form: K transfers of B bytes share bw, so each download ends after
/// latency + K * B * 8 / bw instead of latency + B * 8 / client_rate.
#[test]
fn lab_server_link_lengthens_rounds_by_the_closed_form() {
    let limited = run_file("scenarios/labs/server_link.yaml", 1, &[]);
    let free = run_file("scenarios/labs/server_link_unlimited.yaml", 1, &[]);
    let (k, b, bw, client, latency) = (40.0, 76_840.0, 20e6, 50e6, 0.030);
    let shared = latency + k * b * 8.0 / bw;
    let alone = latency + b * 8.0 / client;
    for (r, want) in [(&limited, shared), (&free, alone)] {
        let first: Vec<f64> =
            r.events_of("download_done").iter().filter(|e| e["round"] == 0).map(|e| e["t"].as_f64().unwrap()).collect();
        assert_eq!(first.len(), 40);
        assert!(first.iter().all(|&t| (t - want).abs() < 1e-8), "{first:?} against {want}");
    }
    let (dl, df) = (durations(&limited), durations(&free));
    assert_eq!(dl.len(), 5);
    for (l, u) in dl.iter().zip(&df) {
        assert!((l - u - (shared - alone)).abs() < 1e-8, "{l} - {u} against {}", shared - alone);
    }
    assert_eq!(limited.result.outcome.params, free.result.outcome.params, "the same learning");
}

/// Lab 8: top-k shrinks bytes_up by its formula, accuracy stays within 0.01.
#[test]
fn lab_compression_shrinks_uploads_by_the_formula() {
    let full = run_file("scenarios/labs/compression_none.yaml", 1, &[]);
    let topk = run_file("scenarios/labs/compression_topk.yaml", 1, &[]);
    let reports = |r: &Ran| r.events_of("report").len() as u64;
    assert_eq!(reports(&full), 400);
    assert_eq!(reports(&topk), 400);
    let p = 650.0_f64;
    assert_eq!(full.result.summary.bytes_up, 400 * 4 * 650);
    assert_eq!(topk.result.summary.bytes_up, 400 * 8 * (0.1 * p).ceil() as u64);
    assert_eq!(topk.result.summary.bytes_down, full.result.summary.bytes_down, "the model goes down in full");
    let (a, b) = (full.result.summary.final_accuracy, topk.result.summary.final_accuracy);
    assert!((a - b).abs() <= 0.01, "{a} against {b}");
    assert!(topk.result.summary.virtual_time_s < full.result.summary.virtual_time_s);
}

/// Lab 9: more noise, smaller epsilon, smaller attack advantage, lower accuracy.
#[test]
fn lab_dp_epsilon_and_attack_advantage_fall_with_noise() {
    let runs: Vec<(f64, Ran)> = [0.0, 1.0, 4.0, 8.0]
        .iter()
        .map(|&z| {
            (z, run_file("scenarios/labs/dp_noise_sweep.yaml", 1, &[&format!("privacy.dp.noise_multiplier={z}")]))
        })
        .collect();
    let s: Vec<&fedsim::report::Summary> = runs.iter().map(|(_, r)| &r.result.summary).collect();
    assert_eq!(s[0].epsilon, None, "no noise: unbounded");
    let eps: Vec<f64> = s[1..].iter().map(|s| s.epsilon.unwrap()).collect();
    assert!(eps.windows(2).all(|w| w[1] < w[0]), "{eps:?}");
    let adv: Vec<f64> = s.iter().map(|s| s.privacy_audit.unwrap().advantage).collect();
    assert!(adv[0] > 0.18, "the open model leaks: {adv:?}");
    assert!(adv[3] < adv[1] && adv[1] < adv[0], "{adv:?}");
    let acc: Vec<f64> = s.iter().map(|s| s.final_accuracy).collect();
    assert!(acc[0] > 0.85 && acc[1] < acc[0] && acc[3] < acc[1], "{acc:?}");
}

/// Lab 10: secure aggregation costs virtual time and bytes, not the model.
#[test]
fn lab_secagg_costs_time_and_bytes_not_the_model() {
    let secure = run_file("scenarios/labs/secagg.yaml", 1, &[]);
    let plain = run_file("scenarios/labs/secagg.yaml", 1, &["privacy={}"]);
    let (s, p) = (&secure.result.summary, &plain.result.summary);
    assert!(s.virtual_time_s > 2.0 * p.virtual_time_s, "{} against {}", s.virtual_time_s, p.virtual_time_s);
    assert!(s.bytes_up > 2 * p.bytes_up && s.bytes_down > p.bytes_down, "{s:?}");
    let (a, b) = (secure.result.outcome.params.as_ref(), plain.result.outcome.params.as_ref());
    let d = a.iter().zip(b.iter()).map(|(x, y)| (x - y).abs()).fold(0.0, f64::max);
    assert!(d < 1e-6, "max difference {d}");
    assert!(secure.events_of("report").is_empty(), "the server never sees an update in the clear");
    assert_eq!(secure.events_of("unmasked").len(), 15);
}
