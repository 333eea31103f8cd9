//! Byzantine clients (`clients.byzantine`): the attackers are drawn from
//! the seed and named in `events.jsonl`; each attack does what it says to
//! the model; the robust aggregators withstand a scaling attack that
//! wrecks FedAvg; and `docs/byzantine.md`'s table is what the runs give
//! (`FEDSIM_BLESS=1` rewrites it).

mod common;

use common::run_yaml;
use std::collections::BTreeSet;
use std::path::Path;

/// 20 clients on digits, all in every round, 20 rounds: CI-sized.
fn scenario(strategy: &str, attack: Option<(f64, &str)>) -> String {
    let byzantine = attack.map_or(String::new(), |(fraction, attack)| {
        format!("  byzantine: {{ fraction: {fraction}, attack: {attack} }}\n")
    });
    format!(
        "name: byz\nseed: 3\ndata: {{ dataset: digits, test_fraction: 0.2, partition: {{ kind: iid }} }}\n\
         clients:\n  count: 20\n{byzantine}\
         model: {{ kind: softmax_regression }}\n\
         training: {{ local_epochs: 1, batch_size: 16, learning_rate: 0.1 }}\n\
         strategy: {strategy}\nstop: {{ rounds: 20 }}\n\
         output: {{ trace: false, audit: false, plots: false, report: false }}\n"
    )
}

fn accuracy(strategy: &str, attack: Option<(f64, &str)>) -> f64 {
    run_yaml(&scenario(strategy, attack), 1).result.summary.final_accuracy
}

const SCALE: &str = "{ kind: scale, factor: -10 }";

/// The aggregators of the table, each set for the 4 attackers (20%) of 20.
const AGGREGATORS: [(&str, &str); 5] = [
    ("fedavg", "{ kind: fedavg }"),
    ("fedmedian", "{ kind: fedmedian }"),
    ("trimmed_mean (0.25)", "{ kind: trimmed_mean, trim_fraction: 0.25 }"),
    ("krum (f = 4)", "{ kind: krum, byzantine: 4 }"),
    ("multikrum (f = 4, keep 10)", "{ kind: multikrum, byzantine: 4, keep: 10 }"),
];

const ATTACKS: [(&str, &str); 5] = [
    ("sign_flip", "{ kind: sign_flip }"),
    ("scale -10", SCALE),
    ("gaussian (std 1)", "{ kind: gaussian, std: 1.0 }"),
    ("label_flip", "{ kind: label_flip }"),
    ("alie", "{ kind: alie }"),
];

#[test]
fn robust_aggregators_withstand_a_scaling_attack_that_wrecks_fedavg() {
    let clean = accuracy("{ kind: fedavg }", None);
    let attacked = accuracy("{ kind: fedavg }", Some((0.2, SCALE)));
    assert!(clean > 0.9, "clean fedavg reaches {clean}");
    assert!(clean - attacked > 0.20, "fedavg: {clean} clean, {attacked} attacked");
    for (name, strategy) in &AGGREGATORS[1..4] {
        let (clean, attacked) = (accuracy(strategy, None), accuracy(strategy, Some((0.2, SCALE))));
        assert!(clean > 0.85, "{name}: clean {clean}");
        assert!((clean - attacked).abs() <= 0.05, "{name}: {clean} clean, {attacked} attacked");
    }
}

#[test]
fn the_attackers_are_drawn_from_the_seed_and_named_in_the_event_log() {
    let attackers = |seed: u64, fraction: f64| -> BTreeSet<u64> {
        let yaml = scenario("{ kind: fedavg }", Some((fraction, SCALE))).replace("seed: 3", &format!("seed: {seed}"));
        let ran = run_yaml(&yaml, 1);
        let named = ran.events_of("byzantine");
        assert!(named.iter().all(|e| e["t"] == 0.0 && e["attack"] == "scale" && e["round"] == 0));
        named.iter().map(|e| e["client"].as_u64().unwrap()).collect()
    };
    let a = attackers(3, 0.2);
    assert_eq!(a.len(), 4, "round(0.2 * 20) attackers");
    assert_eq!(a, attackers(3, 0.2), "the same seed, the same attackers");
    assert_ne!(a, attackers(4, 0.2), "another seed, others");
    assert_eq!(attackers(3, 0.33).len(), 7, "round(6.6)");
    assert!(attackers(3, 0.0).is_empty());
}

fn scores(strategy: &str, attack: Option<(f64, &str)>) -> (f64, f64) {
    let s = run_yaml(&scenario(strategy, attack), 1).result.summary;
    (s.final_accuracy, s.final_loss)
}

/// Each attack pushes FedAvg the way it should, against the clean run.
#[test]
fn each_attack_pushes_fedavg_its_own_way() {
    let fedavg = "{ kind: fedavg }";
    let (clean_acc, clean_loss) = scores(fedavg, None);
    // A minority flipping signs only slows the descent; a majority reverses it.
    let (minority_acc, minority_loss) = scores(fedavg, Some((0.2, "{ kind: sign_flip }")));
    assert!(minority_loss > clean_loss && clean_acc - minority_acc < 0.05, "{minority_acc} {minority_loss}");
    let (majority_acc, _) = scores(fedavg, Some((0.6, "{ kind: sign_flip }")));
    assert!(majority_acc < 0.2, "sign_flip by 60%: {majority_acc}");
    let (noisy, _) = scores(fedavg, Some((0.2, "{ kind: gaussian, std: 1.0 }")));
    assert!(clean_acc - noisy > 0.15, "gaussian: {noisy}");
    // Flipped labels cost more the more clients flip them.
    let (_, flip20) = scores(fedavg, Some((0.2, "{ kind: label_flip }")));
    let (flip40_acc, flip40) = scores(fedavg, Some((0.4, "{ kind: label_flip }")));
    assert!(clean_loss < flip20 && flip20 < flip40 && flip40_acc < clean_acc - 0.05, "{flip20} {flip40}");
}

/// ALIE's colluders send one common vector, `mean - z * std` of their
/// honest updates: with z = 0 that is their mean, which FedAvg averages
/// into nearly the clean model; a larger z pushes the model further off.
#[test]
fn alie_colluders_shift_by_z() {
    let fedavg = "{ kind: fedavg }";
    let (_, clean) = scores(fedavg, None);
    let loss = |z: f64| scores(fedavg, Some((0.2, &format!("{{ kind: alie, z: {z} }}")))).1;
    let (z0, z3, z30) = (loss(0.0), loss(3.0), loss(30.0));
    // Not equal: FedAvg weighs clients by samples (71 or 72), the mean does not.
    assert!((z0 - clean).abs() < 1e-3 && z0 != clean, "z = 0: {z0} vs clean {clean}");
    assert!(z0 < z3 && z3 < z30, "{z0} < {z3} < {z30}");
    assert!(z30 > 3.0 * clean, "z = 30 wrecks the model: {z30}");
}

#[test]
fn alie_needs_a_sync_strategy_without_secure_aggregation() {
    let refused = |strategy: &str, extra: &str| {
        let yaml = scenario(strategy, Some((0.2, "{ kind: alie }"))) + extra;
        let e = fedsim::scenario::load_str(&yaml, Path::new("a.yaml"), &[]).unwrap_err().to_string();
        assert!(e.starts_with("a.yaml:6:") && e.contains("clients.byzantine.attack.kind"), "{e}");
        e
    };
    assert!(refused("{ kind: fedasync }", "").contains("strategy.kind fedasync"));
    assert!(refused("{ kind: fedavg }", "privacy: { secure_aggregation: { enabled: true } }\n")
        .contains("privacy.secure_aggregation"));
}

/// The table in `docs/byzantine.md`: final accuracy of every aggregator
/// under every attack (20% attackers), and clean.
#[test]
fn the_docs_table_is_what_the_runs_give() {
    let mut table = String::from("| attack (20% of clients) |");
    for (name, _) in AGGREGATORS {
        table += &format!(" {name} |");
    }
    table += "\n|---|";
    table += &"---:|".repeat(AGGREGATORS.len());
    table += "\n";
    let rows = std::iter::once(("none (clean)", None)).chain(ATTACKS.iter().map(|&(n, a)| (n, Some((0.2, a)))));
    for (name, attack) in rows {
        table += &format!("| {name} |");
        for (_, strategy) in AGGREGATORS {
            table += &format!(" {:.3} |", accuracy(strategy, attack));
        }
        table += "\n";
    }
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/byzantine.md");
    let doc = std::fs::read_to_string(&path).unwrap();
    let (start, end) = ("<!-- table:start -->\n", "<!-- table:end -->");
    let (a, b) = (doc.find(start).expect("a table start marker") + start.len(), doc.find(end).expect("an end marker"));
    if std::env::var_os("FEDSIM_BLESS").is_some() {
        std::fs::write(&path, format!("{}{table}{}", &doc[..a], &doc[b..])).unwrap();
    } else {
        assert_eq!(&doc[a..b], table, "docs/byzantine.md's table is stale: rerun with FEDSIM_BLESS=1");
    }
}
