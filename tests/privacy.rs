//! Privacy and compliance end to end: differential privacy and its
//! accounting, secure aggregation's result, cost and dropout recovery,
//! compression's bytes, measured leakage, and the audit trail.

mod common;

use common::{run_file, run_yaml, Ran};
use fedsim::privacy::accountant::{Accountant, Sampling};
use fedsim::privacy::secagg::round_wire_bytes;
use fedsim::scenario::AccountantKind;
use std::process::Command;

fn model(r: &Ran) -> Vec<f64> {
    r.result.outcome.params.as_ref().clone()
}

fn max_diff(a: &[f64], b: &[f64]) -> f64 {
    assert_eq!(a.len(), b.len());
    a.iter().zip(b).map(|(x, y)| (x - y).abs()).fold(0.0, f64::max)
}

fn column(r: &Ran, name: &str) -> Vec<String> {
    let text = r.read("metrics.csv");
    let mut lines = text.lines();
    let i = lines.next().unwrap().split(',').position(|c| c == name).unwrap();
    lines.map(|l| l.split(',').nth(i).unwrap().to_string()).collect()
}

const DP_SHORT: [&str; 2] = ["stop={rounds: 6}", "evaluation={every_rounds: 2}"];

#[test]
fn dp_noise_depends_on_the_seed_and_only_on_it() {
    let a = run_file("scenarios/privacy/dp_client.yaml", 2, &DP_SHORT);
    let b = run_file("scenarios/privacy/dp_client.yaml", 1, &DP_SHORT);
    let mut other = DP_SHORT.to_vec();
    other.push("seed=8");
    let c = run_file("scenarios/privacy/dp_client.yaml", 2, &other);
    assert_eq!(model(&a), model(&b), "one seed, one model (whatever the threads)");
    assert!(max_diff(&model(&a), &model(&c)) > 1e-3, "two seeds give different noise");
    // Without noise the clipped run is another model again: the noise is real.
    let mut quiet = DP_SHORT.to_vec();
    quiet.push("privacy.dp.noise_multiplier=0");
    let d = run_file("scenarios/privacy/dp_client.yaml", 2, &quiet);
    assert!(max_diff(&model(&a), &model(&d)) > 1e-3);
    assert_eq!(d.result.summary.epsilon, None, "no noise: epsilon is unbounded, written as null");
}

#[test]
fn epsilon_is_in_every_row_and_max_epsilon_stops_before_the_budget() {
    let r = run_file("scenarios/privacy/dp_client.yaml", 2, &["stop={rounds: 300, max_epsilon: 3.0}"]);
    let s = &r.result.summary;
    assert_eq!(s.stop_reason, "max_epsilon");
    let eps: Vec<f64> = column(&r, "epsilon").iter().map(|e| e.parse().unwrap()).collect();
    assert_eq!(eps[0], 0.0, "the initial model has spent nothing");
    assert!(eps.windows(2).all(|w| w[1] >= w[0]), "epsilon never falls: {eps:?}");
    let spent = s.epsilon.unwrap();
    assert_eq!(*eps.last().unwrap(), spent);
    // Exactly the rounds that fit: one more Poisson round (q = 50/500,
    // sigma 1) would pass 3.
    let mut a = Accountant::new(AccountantKind::Rdp, 1e-5);
    a.compose(Sampling::Poisson, 0.1, 1.0, s.rounds);
    assert!((a.epsilon() - spent).abs() < 1e-12 && spent <= 3.0);
    a.compose(Sampling::Poisson, 0.1, 1.0, 1);
    assert!(a.epsilon() > 3.0);
}

#[test]
fn uniform_selection_is_accounted_without_replacement() {
    let r = run_file("scenarios/privacy/dp_client.yaml", 2, &["strategy.selection=uniform", "stop={rounds: 20}"]);
    // 50 of 500 always available: q = 0.1, replace-one adjacency (sigma / 2).
    let mut a = Accountant::new(AccountantKind::Rdp, 1e-5);
    a.compose(Sampling::WithoutReplacement, 0.1, 0.5, 20);
    assert!((r.result.summary.epsilon.unwrap() - a.epsilon()).abs() < 1e-12);
    let dispatched = r.events_of("dispatch").len();
    assert_eq!(dispatched, 20 * 50, "a fixed-size cohort every round");
}

#[test]
fn poisson_cohorts_vary_in_size_around_their_mean() {
    let r = run_file("scenarios/privacy/dp_client.yaml", 2, &["stop={rounds: 40}", "evaluation={every_rounds: 1}"]);
    let sizes: Vec<u64> = column(&r, "clients_selected")[1..].iter().map(|x| x.parse().unwrap()).collect();
    let mean = sizes.iter().sum::<u64>() as f64 / sizes.len() as f64;
    assert!((mean - 50.0).abs() < 5.0, "mean cohort {mean}");
    assert!(sizes.iter().min() != sizes.iter().max(), "Poisson cohorts are not fixed: {sizes:?}");
}

#[test]
fn secure_aggregation_gives_fedavgs_model_to_fixed_point_precision() {
    let short = ["stop={rounds: 8}"];
    let secure = run_file("scenarios/privacy/secagg.yaml", 2, &short);
    let plain = run_file("scenarios/privacy/secagg.yaml", 2, &["stop={rounds: 8}", "privacy={}"]);
    let d = max_diff(&model(&secure), &model(&plain));
    // 24 fractional bits: each of 10 inputs is off by at most 2^-25 per
    // coordinate, divided by the weights' sum; 8 rounds compound little.
    assert!(d < 1e-6 && d > 0.0, "max difference {d}");
    assert_eq!(secure.events_of("unmasked").len(), 8);
    assert!(secure.events_of("report").is_empty(), "the server never receives an update in the clear");
    assert_eq!(secure.events_of("masked_input").len(), 80);
}

/// With every link constant and compute instant, a secure round takes the
/// plain round's time, minus the update's upload (the keys' advertisement
/// replaces it), plus three message exchanges of the protocol's sizes.
#[test]
fn a_secure_rounds_extra_time_is_the_closed_form_of_its_phases() {
    let yaml = |secure: bool| {
        format!(
            "name: t\nseed: 1\ndata: {{ dataset: digits, partition: {{ kind: iid }} }}\nclients:\n  count: 10\n  profiles:\n    \
             - {{ name: a, share: 1, compute: {{ samples_per_s: .inf }}, network: {{ latency: {{ dist: constant, ms: 30 }}, \
             up_mbps: 2, down_mbps: 8 }} }}\nmodel: {{ kind: softmax_regression }}\nstrategy: {{ kind: fedavg, clients_per_round: 10 }}\n\
             privacy: {{ secure_aggregation: {{ enabled: {secure}, threshold: 0.7 }} }}\nstop: {{ rounds: 1 }}\n"
        )
    };
    let plain = run_yaml(&yaml(false), 1).result.summary.virtual_time_s;
    let secure = run_yaml(&yaml(true), 1).result.summary.virtual_time_s;
    let (latency, up, down) = (0.030, 2e6, 8e6);
    let params = 650;
    // The masked input holds the update, its weight and its unclipped bit.
    let b = round_wire_bytes(10, params + 2);
    let send = |bytes: u64, bps: f64| bytes as f64 * 8.0 / bps;
    let mut extra = send(b[0].up, up) - send(4 * params as u64, up);
    // Keys out, shares in; shares out, masked inputs in; survivors out,
    // unmasking shares in.
    extra += 2.0 * latency + send(b[0].down, down) + send(b[1].up, up);
    extra += 2.0 * latency + send(b[1].down, down) + send(b[2].up, up);
    extra += 2.0 * latency + send(b[3].down, down) + send(b[3].up, up);
    assert!((secure - plain - extra).abs() < 1e-8, "plain {plain}, secure {secure}, closed form +{extra}");
}

#[test]
fn dropouts_between_phases_are_recovered_or_abort_the_round() {
    let r = run_file("scenarios/privacy/secagg_dropout.yaml", 2, &[]);
    let aborted = r.events_of("secagg_abort");
    let unmasked = r.events_of("unmasked");
    assert!(!aborted.is_empty() && !unmasked.is_empty(), "both outcomes occur");
    assert_eq!(aborted.len() + unmasked.len(), r.result.summary.rounds as usize);
    // An aborted round keeps the model: its version's digest is the
    // previous one's.
    let digests: Vec<String> = r.events_of("model").iter().map(|e| e["sha256"].as_str().unwrap().to_string()).collect();
    for a in &aborted {
        let v = a["round"].as_u64().unwrap() as usize;
        assert_eq!(digests[v + 1], digests[v], "round {v} aborted but its model changed");
    }
    // Recovered rounds sum exactly the clients that sent a masked input.
    for u in &unmasked {
        let v = u["round"].as_u64().unwrap();
        let masked = r.events_of("masked_input").iter().filter(|e| e["round"] == v).count() as u64;
        assert_eq!(u["updates"].as_u64().unwrap(), masked);
    }
    let completed: u64 = column(&r, "clients_completed").iter().map(|x| x.parse::<u64>().unwrap()).sum();
    assert_eq!(completed, unmasked.iter().map(|u| u["updates"].as_u64().unwrap()).sum::<u64>());
}

#[test]
fn compressed_uploads_follow_their_formulas() {
    let rounds = ["stop={rounds: 4}"];
    let topk = run_file("scenarios/privacy/compression_topk.yaml", 2, &rounds);
    // 650 parameters, k = ceil(0.1 * 650) = 65: 8 bytes each; 10 a round.
    assert_eq!(topk.result.summary.bytes_up, 4 * 10 * 8 * 65);
    let quant = run_file("scenarios/privacy/compression_quantize.yaml", 2, &rounds);
    // Tensors of 640 and 10: ceil(640 * 4 / 8) + 8 + ceil(10 * 4 / 8) + 8.
    assert_eq!(quant.result.summary.bytes_up, 4 * 10 * (320 + 8 + 5 + 8));
    let full = run_file("scenarios/privacy/compression_topk.yaml", 2, &["stop={rounds: 4}", "compression.ratio=1.0"]);
    let none =
        run_file("scenarios/privacy/compression_topk.yaml", 2, &["stop={rounds: 4}", "compression={kind: none}"]);
    assert_eq!(model(&full), model(&none), "top-k of every coordinate is no compression");
    assert_eq!(full.result.summary.bytes_up, none.result.summary.bytes_up);
    assert_eq!(none.result.summary.bytes_up, 4 * 10 * 4 * 650);
}

#[test]
fn the_attack_wins_on_an_overfit_model_and_loses_under_strong_dp() {
    let open = run_file("scenarios/privacy/leakage.yaml", 2, &[]);
    let a = open.result.summary.privacy_audit.unwrap();
    assert!(a.advantage > 0.2 && a.auc > 0.55, "{a:?}");
    let private = run_file("scenarios/privacy/leakage.yaml", 2, &["privacy.dp={clip_norm: 0.5, noise_multiplier: 8}"]);
    let p = private.result.summary.privacy_audit.unwrap();
    assert!(p.advantage < 0.12 && (p.auc - 0.5).abs() < 0.06, "{p:?}");
}

fn verify(dir: &std::path::Path) -> (bool, String) {
    let o =
        Command::new(env!("CARGO_BIN_EXE_fedsim")).args(["audit", "verify", dir.to_str().unwrap()]).output().unwrap();
    (o.status.success(), String::from_utf8_lossy(&o.stdout).to_string() + &String::from_utf8_lossy(&o.stderr))
}

#[test]
fn audit_verify_names_the_first_bad_record() {
    let r = run_file("scenarios/privacy/hospitals_private.yaml", 2, &["stop={rounds: 5}"]);
    let (ok, said) = verify(&r.dir);
    assert!(ok, "{said}");
    assert!(said.contains("6 records"), "{said}");
    let log = r.read("audit.jsonl");
    let lines: Vec<&str> = log.lines().collect();
    // Each record names its round's participants, messages, epsilon and
    // secure aggregation.
    let third: serde_json::Value = serde_json::from_str(lines[2]).unwrap();
    assert_eq!(third["round"], 2);
    assert_eq!(third["privacy"]["secure_aggregation"], true);
    assert!(third["privacy"]["epsilon"].as_f64().unwrap() > 0.0);
    let kinds: Vec<&str> = third["messages"]["0"].as_array().unwrap().iter().map(|k| k.as_str().unwrap()).collect();
    assert_eq!(kinds, ["advertise_keys", "share_keys", "masked_input", "unmask_shares"]);
    let tamper = |text: String, name: &str, line: usize| {
        let dir = tempfile::tempdir().unwrap();
        for f in ["scenario.yaml", "model.json"] {
            std::fs::copy(r.dir.join(f), dir.path().join(f)).unwrap();
        }
        std::fs::write(dir.path().join("audit.jsonl"), text).unwrap();
        let (ok, said) = verify(dir.path());
        assert!(!ok, "{name}: accepted");
        assert!(said.contains(&format!("audit line {line}:")), "{name}: {said}");
    };
    // One byte changed in the third record (a digit of its bytes_up).
    let at = log.match_indices('\n').nth(1).unwrap().0 + 1 + lines[2].find("\"bytes_up\":").unwrap() + 11;
    let mut bytes = log.clone().into_bytes();
    bytes[at] = if bytes[at] == b'9' { b'8' } else { b'9' };
    tamper(String::from_utf8(bytes).unwrap(), "a changed byte", 3);
    let without =
        |skip: usize| lines.iter().enumerate().filter(|(i, _)| *i != skip).map(|(_, l)| format!("{l}\n")).collect();
    tamper(without(1), "a deleted record", 2);
    let mut swapped = lines.clone();
    swapped.swap(3, 4);
    tamper(swapped.iter().map(|l| format!("{l}\n")).collect(), "swapped records", 4);
    // The last record's model is the final one.
    tamper(without(lines.len() - 1), "a truncated log", lines.len() - 1);
}

#[test]
fn fedbuff_aggregations_are_accounted_without_amplification() {
    let r = run_file(
        "scenarios/sync_vs_async/fedbuff.yaml",
        2,
        &["privacy.dp={clip_norm: 1.0, noise_multiplier: 2.0}", "stop={rounds: 30, max_epsilon: 20}"],
    );
    let s = &r.result.summary;
    let eps = s.epsilon.unwrap();
    // Each aggregation is a Gaussian with sigma / (2 x a client's repeats
    // in the buffer): at least the cost of sigma / 2, every time.
    let mut at_least = Accountant::new(AccountantKind::Rdp, 1e-5);
    at_least.compose(Sampling::Poisson, 1.0, 1.0, s.rounds);
    assert!(eps >= at_least.epsilon() - 1e-12, "{eps} < {}", at_least.epsilon());
    assert!(eps <= 20.0);
    match s.stop_reason.as_str() {
        "rounds" => assert_eq!(s.rounds, 30),
        "max_epsilon" => assert!(s.rounds < 30),
        other => panic!("stopped by {other}"),
    }
}

#[test]
fn local_dp_composes_each_clients_own_releases() {
    let r = run_file("scenarios/privacy/dp_local.yaml", 2, &["stop={rounds: 12}"]);
    let mut per_client = std::collections::BTreeMap::new();
    for e in r.events_of("report") {
        *per_client.entry(e["client"].as_u64().unwrap()).or_insert(0u64) += 1;
    }
    let worst = *per_client.values().max().unwrap();
    // A plain Gaussian per release, on a vector anywhere in the clip ball.
    let mut a = Accountant::new(AccountantKind::Rdp, 1e-5);
    a.compose(Sampling::Poisson, 1.0, 0.5, worst);
    assert!((r.result.summary.epsilon.unwrap() - a.epsilon()).abs() < 1e-9);
}

#[test]
fn the_pld_accountant_runs_from_yaml_and_is_tighter_than_rdp() {
    let pld = run_file("scenarios/privacy/dp_client.yaml", 2, &["stop={rounds: 10}", "privacy.dp.accountant=pld"]);
    let rdp = run_file("scenarios/privacy/dp_client.yaml", 2, &["stop={rounds: 10}"]);
    let mut a = Accountant::new(AccountantKind::Pld, 1e-5);
    a.compose(Sampling::Poisson, 0.1, 1.0, 10);
    let (p, r) = (pld.result.summary.epsilon.unwrap(), rdp.result.summary.epsilon.unwrap());
    assert!((p - a.epsilon()).abs() < 1e-9, "{p} against {}", a.epsilon());
    assert!(p < r, "PLD {p} is not below RDP {r}");
    assert_eq!(model(&pld), model(&rdp), "the accountant changes only the accounting");
}

#[test]
fn central_noise_of_version_v_comes_from_its_own_stream() {
    // A step so small the clients send back the model they got: version 2
    // is version 1 plus the noise released with it, over the cohort.
    let yaml = r#"
name: noise_stream
seed: 11
data: { dataset: digits, test_fraction: 0.2, normalize: standard, partition: { kind: iid } }
clients:
  count: 20
  profiles:
    - name: laptop
      share: 1.0
      compute: { samples_per_s: 500 }
      network: { latency: { dist: constant, ms: 40 }, up_mbps: 10, down_mbps: 50 }
model: { kind: softmax_regression }
training: { local_epochs: 1, batch_size: 32, learning_rate: 1.0e-12 }
strategy: { kind: fedavg, clients_per_round: 5 }
privacy:
  dp: { level: client, clip_norm: 0.5, noise_multiplier: 4.0, delta: 1.0e-5, accountant: rdp }
stop: { rounds: ROUNDS }
evaluation: { every_rounds: 1 }
"#;
    // The models after versions 1 and 2 of a scenario.
    let versions = |yaml: &str| {
        let at = |rounds: &str| model(&run_yaml(&yaml.replace("ROUNDS", rounds), 1));
        (at("1"), at("2"))
    };
    // Version 2 is version 1 plus `step` times the noise over the 5 updates.
    let assert_noised = |(m1, m2): (Vec<f64>, Vec<f64>), noise: &[f64], step: f64, what: &str| {
        let expected: Vec<f64> = m1.iter().zip(noise).map(|(m, z)| m + step * z / 5.0).collect();
        let off = max_diff(&m2, &expected);
        assert!(off < 1e-9, "{what}: version 2 = version 1 + {step} x its noise / 5: off by {off}");
    };
    let fedavg = versions(yaml);
    // The noise of version v is the stream (seed, privacy.dp, sum, v):
    // std noise_multiplier * clip_norm on the sum of the 5 models.
    let mut noise = vec![0.0; fedavg.0.len()];
    fedsim::privacy::dp::add_gaussian(&mut noise, 4.0 * 0.5, stream_of(11, 2));
    assert_noised(fedavg, &noise, 1.0, "FedAvg");
    // Version 1's stream would give another model.
    let mut other = vec![0.0; noise.len()];
    fedsim::privacy::dp::add_gaussian(&mut other, 4.0 * 0.5, stream_of(11, 1));
    assert!(max_diff(&noise, &other) > 0.1);

    // FedBuff noises its buffer of 5 deltas the same way: the new version
    // is the old one plus server_learning_rate x the noise / 5.
    let fedbuff = yaml.replace(
        "strategy: { kind: fedavg, clients_per_round: 5 }",
        "strategy: { kind: fedbuff, concurrency: 5, buffer_size: 5, server_learning_rate: 0.5 }",
    );
    assert_noised(versions(&fedbuff), &noise, 0.5, "FedBuff");
}

fn stream_of(seed: u64, version: u64) -> fedsim::sim::SeedTree {
    fedsim::sim::SeedTree::new(seed).child("privacy.dp").child("sum").index(version)
}
