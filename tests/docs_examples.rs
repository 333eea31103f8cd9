//! Docs that cannot drift: every worked example in `docs/` and every figure
//! in `README.md` that a run produces is run here, and the numbers the text
//! states are asserted. The scenario of `docs/time-model.md`'s worked
//! example is read from the doc itself, so the text and the test share it.
//! A figure changed here must be changed in the doc, and the other way.

mod common;
use common::{run_file, Ran};
use fedsim::run::run;
use fedsim::scenario::{load_str, Override};
use std::collections::BTreeMap;
use std::path::Path;

fn repo(rel: &str) -> String {
    std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join(rel)).unwrap()
}

/// The first ```yaml block after `heading` in a doc.
fn yaml_after(doc: &str, heading: &str) -> String {
    let text = repo(doc);
    let from = text.find(heading).unwrap_or_else(|| panic!("{doc}: no heading {heading:?}"));
    let rest = &text[from..];
    let start = rest.find("```yaml\n").expect("a yaml block") + "```yaml\n".len();
    let end = rest[start..].find("```").expect("a closed yaml block");
    rest[start..start + end].to_string()
}

fn run_doc_yaml(yaml: &str, sets: &[&str]) -> Ran {
    let overrides: Vec<Override> = sets.iter().map(|s| s.parse().unwrap()).collect();
    let base = Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/worked.yaml");
    let scenario = load_str(yaml, &base, &overrides).unwrap_or_else(|e| panic!("{e}"));
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("run");
    let result = run(&scenario, &common::opts(&dir, 2), &mut |_| {}).unwrap_or_else(|e| panic!("{e}"));
    Ran { result, dir, _tmp: tmp }
}

/// Events of round 1 (`"round": 0`) as (t in µs, kind) -> count.
fn round_one(ran: &Ran) -> BTreeMap<(u64, String), usize> {
    let mut out = BTreeMap::new();
    for e in ran.events() {
        let kind = e["kind"].as_str().unwrap().to_string();
        if e["round"] == 0 && ["dispatch", "download_done", "compute_done", "report", "late"].contains(&kind.as_str()) {
            let us = (e["t"].as_f64().unwrap() * 1e6).round() as u64;
            *out.entry((us, kind)).or_insert(0) += 1;
        }
    }
    out
}

fn expect(rows: &[(u64, &str, usize)]) -> BTreeMap<(u64, String), usize> {
    rows.iter().map(|&(t, k, n)| ((t, k.to_string()), n)).collect()
}

/// `metrics.csv` as maps from column to value, one per row.
fn metrics(ran: &Ran) -> Vec<BTreeMap<String, String>> {
    let text = ran.read("metrics.csv");
    let mut lines = text.lines();
    let head: Vec<&str> = lines.next().unwrap().split(',').collect();
    lines.map(|l| head.iter().map(|h| h.to_string()).zip(l.split(',').map(str::to_string)).collect()).collect()
}

fn num(row: &BTreeMap<String, String>, col: &str) -> f64 {
    row[col].parse().unwrap_or_else(|_| panic!("{col} = {:?}", row[col]))
}

const WORKED: &str = "## A worked example";

/// docs/time-model.md, "A worked example: two tiers, one round".
#[test]
fn time_model_worked_example() {
    let ran = run_doc_yaml(&yaml_after("docs/time-model.md", WORKED), &[]);
    assert_eq!(
        round_one(&ran),
        expect(&[
            (0, "dispatch", 10),
            (10_208, "download_done", 2),
            (46_208, "compute_done", 2),
            (51_040, "download_done", 8),
            (56_624, "report", 2),
            (411_040, "compute_done", 8),
            (465_200, "report", 8),
        ])
    );
    let rows = metrics(&ran);
    assert_eq!(num(&rows[1], "virtual_time_s"), 0.4652);
    assert_eq!(num(&rows[1], "clients_completed"), 10.0);
    let last = rows.last().unwrap();
    assert_eq!(num(last, "round"), 30.0);
    assert!((num(last, "virtual_time_s") - 13.956).abs() < 1e-9);
}

/// docs/time-model.md, "What a deadline changes".
#[test]
fn time_model_deadline_variant() {
    let ran = run_doc_yaml(&yaml_after("docs/time-model.md", WORKED), &["strategy.deadline_s=0.25"]);
    assert_eq!(
        round_one(&ran),
        expect(&[
            (0, "dispatch", 10),
            (10_208, "download_done", 2),
            (46_208, "compute_done", 2),
            (51_040, "download_done", 8),
            (56_624, "report", 2),
            (250_000, "late", 8),
        ])
    );
    let rows = metrics(&ran);
    let r1 = &rows[1];
    assert_eq!(num(r1, "virtual_time_s"), 0.25);
    assert_eq!([num(r1, "clients_selected"), num(r1, "clients_completed"), num(r1, "clients_late")], [10.0, 2.0, 8.0]);
    assert_eq!([num(r1, "bytes_down"), num(r1, "bytes_up")], [26_000.0, 5_200.0]);
    assert!((num(rows.last().unwrap(), "virtual_time_s") - 7.5).abs() < 1e-9);
}

/// docs/time-model.md, "What over-selection changes".
#[test]
fn time_model_over_selection_variant() {
    let ran = run_doc_yaml(&yaml_after("docs/time-model.md", WORKED), &["strategy.over_selection=1.3"]);
    let r1 = round_one(&ran);
    assert_eq!(r1[&(0, "dispatch".to_string())], 13);
    assert_eq!(r1[&(51_040, "download_done".to_string())], 11, "11 phones");
    assert_eq!(r1[&(56_624, "report".to_string())], 2, "2 laptops");
    assert_eq!(r1[&(460_200, "report".to_string())], 1, "one 71-row phone");
    assert_eq!(r1[&(465_200, "report".to_string())], 7);
    assert_eq!(r1[&(465_200, "late".to_string())], 3);
    let rows = metrics(&ran);
    assert_eq!(num(&rows[1], "virtual_time_s"), 0.4652);
    assert_eq!([num(&rows[1], "bytes_down"), num(&rows[1], "bytes_up")], [33_800.0, 26_000.0]);
}

fn time_to_target(rel: &str, sets: &[&str]) -> Option<f64> {
    run_file(rel, 2, sets).result.summary.time_to_target_s
}

/// README.md's scenario table and docs/strategies.md: on the shipped
/// `scenarios/sync_vs_async/` (seed 7), FedAvg reaches 0.92 at 728.0 s and
/// FedBuff at 143.8 s, 5.06x sooner.
#[test]
fn readme_fedbuff_speedup_on_the_shipped_scenarios() {
    let avg = time_to_target("scenarios/sync_vs_async/fedavg.yaml", &[]).unwrap();
    let buff = time_to_target("scenarios/sync_vs_async/fedbuff.yaml", &[]).unwrap();
    assert_eq!(format!("{avg:.1} {buff:.1} {:.2}", avg / buff), "728.0 143.8 5.06");
}

/// docs/strategies.md: over seeds 1 to 6 (`--set seed=N`), FedAvg misses
/// 0.92 within its 3000 s on seed 1, and FedBuff is 4.0x to 12.1x
/// sooner on the other five.
#[test]
fn strategies_fedbuff_speedup_over_six_seeds() {
    let mut ratios = Vec::new();
    for seed in 1..=6 {
        let set = format!("seed={seed}");
        let avg = time_to_target("scenarios/sync_vs_async/fedavg.yaml", &[&set]);
        let buff = time_to_target("scenarios/sync_vs_async/fedbuff.yaml", &[&set]).expect("fedbuff reaches 0.92");
        match avg {
            None => assert_eq!(seed, 1, "fedavg misses the target only on seed 1"),
            Some(avg) => ratios.push(avg / buff),
        }
    }
    let lo = ratios.iter().copied().fold(f64::INFINITY, f64::min);
    let hi = ratios.iter().copied().fold(0.0, f64::max);
    assert_eq!(format!("{lo:.1} {hi:.1}"), "4.0 12.1");
}

// ---------------------------------------------------------------------------
// Figures read from the docs' own text. Each helper below finds a passage by
// a marker that is part of the doc, so a figure edited in the doc (or a
// change in what the run gives) fails here.

/// The text of `doc` from `marker` on.
fn from<'a>(text: &'a str, doc: &str, marker: &str) -> &'a str {
    let at = text.find(marker).unwrap_or_else(|| panic!("{doc}: no {marker:?}"));
    &text[at..]
}

/// The text between `start` (excluded) and the next `end` in `text`, with
/// every run of whitespace (line breaks and indents included) read as one
/// space, so that a reflowed paragraph still matches.
fn between(text: &str, start: &str, end: &str) -> String {
    let text = text.split_whitespace().collect::<Vec<_>>().join(" ");
    let at = text.find(start).unwrap_or_else(|| panic!("no {start:?}")) + start.len();
    let len = text[at..].find(end).unwrap_or_else(|| panic!("no {end:?} after {start:?}"));
    text[at..at + len].to_string()
}

/// The body rows of the first markdown table in `text`, as trimmed cells.
fn table(text: &str) -> Vec<Vec<String>> {
    let rows: Vec<Vec<String>> = text
        .lines()
        .skip_while(|l| !l.starts_with('|'))
        .take_while(|l| l.starts_with('|'))
        .map(|l| l.trim().trim_matches('|').split('|').map(|c| c.trim().to_string()).collect())
        .collect();
    assert!(rows.len() > 2, "no table");
    rows[2..].to_vec()
}

/// The numbers written in `text` (digits with an optional decimal part;
/// thousands commas and bold marks ignored), as written.
fn numbers(text: &str) -> Vec<String> {
    let clean = text.replace(['*', ','], "");
    let mut out = Vec::new();
    let mut cur = String::new();
    for ch in clean.chars().chain([' ']) {
        if ch.is_ascii_digit() || (ch == '.' && !cur.is_empty() && !cur.contains('.')) {
            cur.push(ch);
        } else if !cur.is_empty() {
            out.push(cur.trim_end_matches('.').to_string());
            cur.clear();
        }
    }
    out
}

/// `x` written with as many decimals as `written` has.
fn like(x: f64, written: &str) -> String {
    let decimals = written.split_once('.').map_or(0, |(_, d)| d.len());
    format!("{x:.decimals$}")
}

/// Asserts that `x`, rounded as the doc rounds it, is what the doc wrote.
fn same(x: f64, written: &str, what: &str) {
    assert_eq!(like(x, written), written, "{what}: the run gives {x}, the doc says {written}");
}

/// docs/time-model.md's server-link workload: digits with 1400 training
/// rows split over `k` clients, an MLP with 64 hidden units (19 240 bytes
/// each way), 20 ms constant latency, training at 1000 samples/s, one sync
/// round over all `k`; `links` are the tiers' (share, down_mbps).
fn server_link_run(k: u32, links: &[(f64, f64)], extra: &str) -> Ran {
    let profiles: String = links
        .iter()
        .enumerate()
        .map(|(i, (share, down))| {
            format!(
                "    - {{ name: t{i}, share: {share}, compute: {{ samples_per_s: 1000 }}, network: {{ latency: {{ \
                 dist: constant, ms: 20 }}, up_mbps: 1000, down_mbps: {down} }} }}\n"
            )
        })
        .collect();
    let yaml = format!(
        "name: server-link\nseed: 5\ndata: {{ dataset: digits, test_fraction: 0.2209, normalize: standard, \
         partition: {{ kind: iid }} }}\nclients:\n  count: {k}\n  profiles:\n{profiles}model: {{ kind: mlp, \
         hidden: [64] }}\ntraining: {{ local_epochs: 1, batch_size: 16, learning_rate: 0.05 }}\nstrategy: {{ kind: \
         fedavg, clients_per_round: {k} }}\nstop: {{ rounds: 1 }}\n{extra}\n"
    );
    // "DROPOUT" in `extra` asks for half the tasks to drop (a key of
    // `clients:`, so it goes there).
    let yaml = if yaml.contains("DROPOUT") {
        yaml.replace("DROPOUT", "").replace("clients:\n", "clients:\n  dropout: { probability: 0.5 }\n")
    } else {
        yaml
    };
    common::run_yaml(&yaml, 2)
}

fn times_of(ran: &Ran, kind: &str) -> Vec<f64> {
    let mut t: Vec<f64> = ran.events_of(kind).iter().map(|e| e["t"].as_f64().unwrap()).collect();
    t.sort_by(f64::total_cmp);
    t
}

const TIME_MODEL: &str = "docs/time-model.md";

/// docs/time-model.md, "Worked example: K equal transfers": the table's
/// download instants, and the figure without `server:`.
#[test]
fn time_model_k_equal_transfers_on_the_servers_link() {
    let text = repo(TIME_MODEL);
    let part = from(&text, TIME_MODEL, "**Worked example: K equal transfers.**");
    let rows = table(part);
    assert_eq!(rows.len(), 3);
    for row in rows {
        let k: u32 = row[0].parse().unwrap();
        let written = numbers(&row[2]).pop().unwrap();
        let ran = server_link_run(k, &[(1.0, 1000.0)], "server: { network: { up_mbps: 10 } }");
        let got = times_of(&ran, "download_done");
        assert_eq!(got.len(), k as usize);
        for t in got {
            same(t, &written, &format!("K = {k} download_done"));
        }
    }
    let written = between(part, "Without `server:`, all three would be 0.020 + 153 920 / 1e9 = ", " s");
    let ran = server_link_run(10, &[(1.0, 1000.0)], "");
    for t in times_of(&ran, "download_done") {
        same(t, &written, "download_done without server:");
    }
}

/// docs/time-model.md, "When a client's link is below its share": the five
/// `download_done` instants.
#[test]
fn time_model_water_filling_example() {
    let text = repo(TIME_MODEL);
    let part = from(&text, TIME_MODEL, "**When a client's link is below its share.**");
    // "0.085966 (× 3), 0.096960 and 0.173920"
    let sentence = between(part, "the five `download_done` events come at ", " s.");
    let mut want = Vec::new();
    for item in sentence.split(", ").flat_map(|s| s.split(" and ")) {
        let n = numbers(item);
        let times = if item.contains('×') { n[1].parse().unwrap() } else { 1 };
        want.extend(std::iter::repeat_n(n[0].clone(), times));
    }
    assert_eq!(want.len(), 5, "{sentence}");
    let ran = server_link_run(5, &[(0.2, 1.0), (0.2, 2.0), (0.6, 1000.0)], "server: { network: { up_mbps: 10 } }");
    let got = times_of(&ran, "download_done");
    assert_eq!(got.len(), 5);
    for (t, w) in got.iter().zip(&want) {
        same(*t, w, "download_done");
    }
}

/// docs/time-model.md, "Dropout on a shared link": every drop falls within
/// the uncontended task's length, and the shared downloads take the
/// written time. (The doc names no dropout probability: 0.5 here.)
#[test]
fn time_model_dropout_on_a_shared_link() {
    let text = repo(TIME_MODEL);
    let part = from(&text, TIME_MODEL, "### Dropout on a shared link");
    let within = between(part, "every drop falls within the first ", " s");
    let shared = between(part, "100 × 153 920 / 1e6 = ", " s");
    let server = "server: { network: { up_mbps: 1 } }";
    let ran = server_link_run(100, &[(1.0, 1000.0)], server);
    let all = times_of(&ran, "download_done");
    assert_eq!(all.len(), 100);
    same(all[99] - 0.020, &shared, "100 shared downloads");
    let ran = server_link_run(100, &[(1.0, 1000.0)], &format!("{server}\nDROPOUT"));
    let drops = times_of(&ran, "drop");
    assert!(drops.len() > 20, "{} drops", drops.len());
    // Written to the millisecond: the exact length is 0.20807392 s.
    let bound: f64 = within.parse().unwrap();
    assert!(drops.iter().all(|&t| t < bound + 0.0005), "a drop after {within} s: {drops:?}");
    assert!(ran.events_of("report").len() + drops.len() == 100);
}

const PRIVACY: &str = "docs/privacy.md";

fn summary_f64(ran: &Ran, key: &str) -> f64 {
    let v: serde_json::Value = serde_json::from_str(&ran.read("summary.json")).unwrap();
    v[key].as_f64().unwrap_or_else(|| panic!("summary.json {key}: {}", v[key]))
}

fn model(ran: &Ran) -> Vec<f64> {
    let v: serde_json::Value = serde_json::from_str(&ran.read("model.json")).unwrap();
    v["parameters"].as_array().unwrap().iter().map(|p| p.as_f64().unwrap()).collect()
}

/// The messages that cross the network, as `events.jsonl` names them.
const NETWORK: [&str; 9] = [
    "dispatch",
    "report",
    "advertise_keys",
    "key_list",
    "share_keys",
    "shares",
    "masked_input",
    "survivors",
    "unmask_shares",
];

/// `scenarios/privacy/secagg.yaml` and its plain twin: docs/time-model.md's
/// round-1 table and per-round figures, and docs/privacy.md's message
/// sizes, cost table and fixed-point claim, all read from the docs.
#[test]
fn secure_aggregation_figures() {
    let secure = run_file("scenarios/privacy/secagg.yaml", 2, &[]);
    let plain = run_file("scenarios/privacy/secagg.yaml", 2, &["privacy={}"]);

    // docs/time-model.md: round 1, row by row. A row names its event kind
    // first; "last" means the latest of that kind, else every distinct
    // instant of the kind is listed.
    let text = repo(TIME_MODEL);
    let part = from(&text, TIME_MODEL, "**Worked example:** `scenarios/privacy/secagg.yaml`");
    let events = secure.events();
    for row in table(part) {
        let kind = row[1].split('`').nth(1).unwrap();
        let written: Vec<String> = numbers(&row[0]);
        let mut at: Vec<f64> =
            events.iter().filter(|e| e["kind"] == kind && e["round"] == 0).map(|e| e["t"].as_f64().unwrap()).collect();
        at.sort_by(f64::total_cmp);
        at.dedup();
        assert!(!at.is_empty(), "no {kind} in round 1");
        let got: Vec<String> = if row[1].starts_with("last") {
            vec![like(*at.last().unwrap(), &written[0])]
        } else {
            at.iter().map(|t| like(*t, &written[0])).collect()
        };
        assert_eq!(got, written, "round 1, {kind}");
    }
    let para = between(part, "Every round of the run is the same, ", " s a");
    let n = numbers(&para);
    let (per_round, plain_round, rounds, total, plain_total, extra) = (&n[0], &n[1], &n[2], &n[3], &n[4], &n[5]);
    let agg = secure.aggregate_times();
    assert_eq!(agg.len().to_string(), *rounds);
    let mut prev = 0.0;
    for t in &agg {
        same(t - prev, per_round, "a secure round");
        prev = *t;
    }
    same(summary_f64(&plain, "virtual_time_s") / 30.0, plain_round, "a plain round");
    same(summary_f64(&secure, "virtual_time_s"), total, "30 secure rounds");
    same(summary_f64(&plain, "virtual_time_s"), plain_total, "30 plain rounds");
    same(agg[0] - plain.aggregate_times()[0], extra, "the extra time of a round");

    // docs/privacy.md, message sizes (n = 10, P = 650): every message of
    // the kind has the written size.
    let text = repo(PRIVACY);
    let sizes = from(&text, PRIVACY, "### Message sizes");
    for row in table(sizes) {
        let kind = row[0].split('`').nth(1).unwrap();
        let want: u64 = numbers(&row[3])[0].parse().unwrap();
        let of: Vec<u64> = events.iter().filter(|e| e["kind"] == kind).map(|e| e["bytes"].as_u64().unwrap()).collect();
        assert!(
            !of.is_empty() && of.iter().all(|&b| b == want),
            "{kind}: doc {want}, run {:?}",
            &of[..of.len().min(3)]
        );
    }

    // docs/privacy.md, "What it costs": the table, by row.
    let costs = from(&text, PRIVACY, "### What it costs: one measured example");
    let per_round_msgs = |ran: &Ran| {
        let n = ran.events().iter().filter(|e| NETWORK.contains(&e["kind"].as_str().unwrap())).count();
        n as f64 / 30.0
    };
    for row in table(costs) {
        let label = row[0].as_str();
        let (p, s): (f64, f64) = if label.starts_with("network messages per round") {
            (per_round_msgs(&plain), per_round_msgs(&secure))
        } else if label.starts_with("bytes up") {
            (summary_f64(&plain, "bytes_up"), summary_f64(&secure, "bytes_up"))
        } else if label.starts_with("bytes down") {
            (summary_f64(&plain, "bytes_down"), summary_f64(&secure, "bytes_down"))
        } else if label.starts_with("virtual time per round") {
            (summary_f64(&plain, "virtual_time_s") / 30.0, summary_f64(&secure, "virtual_time_s") / 30.0)
        } else if label.starts_with("virtual time, 30 rounds") {
            (summary_f64(&plain, "virtual_time_s"), summary_f64(&secure, "virtual_time_s"))
        } else if label.starts_with("final accuracy") {
            (summary_f64(&plain, "final_accuracy"), summary_f64(&secure, "final_accuracy"))
        } else {
            assert!(label.contains("wall time"), "a row this test does not know: {label}");
            continue;
        };
        same(p, &numbers(&row[1])[0], label);
        same(s, &numbers(&row[2])[0], label);
        if let Some(ratio) = numbers(&row[3]).first() {
            same(s / p, ratio, label);
        }
    }

    // docs/privacy.md, fixed-point encoding: "differ by at most 1.7·10^-9".
    let claim = between(&text, "end 30 rounds with final models that differ by at most ", "in any");
    let claim = claim.trim();
    let mantissa: f64 = claim.split('·').next().unwrap().parse().unwrap();
    let exponent: i32 = claim.split("10^").nth(1).unwrap().parse().unwrap();
    let diff = model(&secure).iter().zip(model(&plain)).map(|(a, b)| (a - b).abs()).fold(0.0, f64::max);
    assert!(diff > 0.0 && diff <= mantissa * 10f64.powi(exponent), "{diff}");
    assert_eq!(format!("{:.1}", diff / 10f64.powi(exponent)), format!("{mantissa:.1}"), "{diff}");

    // README.md's row: "FedAvg's model to 1.7e-9, but rounds of 0.454 s
    // instead of 0.205 s and 2.8x the upload bytes".
    let row = readme_row("scenarios/privacy/secagg.yaml");
    assert_eq!(between(&row, "FedAvg's model to ", ","), format!("{mantissa}e{exponent}"));
    let n = numbers(&between(&row, "rounds of ", "x the upload"));
    same(summary_f64(&secure, "virtual_time_s") / 30.0, &n[0], "README: a secure round");
    same(summary_f64(&plain, "virtual_time_s") / 30.0, &n[1], "README: a plain round");
    same(summary_f64(&secure, "bytes_up") / summary_f64(&plain, "bytes_up"), &n[2], "README: upload bytes");
}

/// docs/privacy.md: `secagg_dropout.yaml`'s rounds unmasked and aborted.
#[test]
fn secure_aggregation_with_dropout_unmasks_and_aborts_as_written() {
    let text = repo(PRIVACY);
    let n = numbers(&between(&text, "phase): of ", " aborted"));
    let ran = run_file("scenarios/privacy/secagg_dropout.yaml", 2, &[]);
    let rounds = summary_f64(&ran, "rounds") as usize;
    let got = [rounds, ran.events_of("unmasked").len(), ran.events_of("secagg_abort").len()];
    assert_eq!(got.map(|n| n.to_string()).to_vec(), n);
}

/// The `epsilon` column of `metrics.csv` by round.
fn epsilon_by_round(ran: &Ran) -> BTreeMap<String, f64> {
    metrics(ran).iter().filter(|r| !r["epsilon"].is_empty()).map(|r| (r["round"].clone(), num(r, "epsilon"))).collect()
}

/// docs/privacy.md's two epsilon tables on `dp_client.yaml` over 300
/// rounds, the rounds its budget allows under each accountant, and what
/// the shipped file reaches.
#[test]
fn privacy_epsilon_tables() {
    let text = repo(PRIVACY);
    let r300 = ["stop={rounds: 300}"];
    let rdp = epsilon_by_round(&run_file("scenarios/privacy/dp_client.yaml", 2, &r300));
    let pld = epsilon_by_round(&run_file(
        "scenarios/privacy/dp_client.yaml",
        2,
        &["stop={rounds: 300}", "privacy.dp.accountant=pld"],
    ));
    let uniform = epsilon_by_round(&run_file(
        "scenarios/privacy/dp_client.yaml",
        2,
        &["stop={rounds: 300}", "strategy.selection=uniform"],
    ));
    let rows = table(from(&text, PRIVACY, "| rounds | Poisson, RDP | Poisson, PLD | uniform (fixed 50), RDP |"));
    assert_eq!(rows.len(), 4);
    for row in rows {
        let r = &row[0];
        same(rdp[r], &row[1], &format!("RDP at {r}"));
        same(pld[r], &row[2], &format!("PLD at {r}"));
        same(uniform[r], &row[3], &format!("uniform at {r}"));
    }
    let rows = table(from(&text, PRIVACY, "| rounds | RDP ε | PLD ε | PLD / RDP |"));
    assert_eq!(rows.len(), 7);
    for row in rows {
        let r = &row[0];
        same(rdp[r], &row[1], &format!("RDP at {r}"));
        same(pld[r], &row[2], &format!("PLD at {r}"));
        same(pld[r] / rdp[r], &row[3], &format!("PLD / RDP at {r}"));
    }

    // "the RDP run stops after 102 rounds and the PLD run after 129 (both
    // at ε = 7.975)", and what the RDP run (the shipped file) reaches.
    let n = numbers(&between(&text, "With the file's own budget, `max_epsilon: 8`, the RDP run stops", ")"));
    let shipped = run_file("scenarios/privacy/dp_client.yaml", 2, &[]);
    let pld_run = run_file("scenarios/privacy/dp_client.yaml", 2, &["privacy.dp.accountant=pld"]);
    assert_eq!(summary_f64(&shipped, "rounds").to_string(), n[0]);
    assert_eq!(summary_f64(&pld_run, "rounds").to_string(), n[1]);
    same(summary_f64(&shipped, "epsilon"), &n[2], "RDP epsilon at the budget");
    same(summary_f64(&pld_run, "epsilon"), &n[2], "PLD epsilon at the budget");
    let reach = between(&text, "clients, about 50 a round, `σ = 1`) the model reaches ", "0.519)");
    let n = numbers(&reach);
    same(summary_f64(&shipped, "final_accuracy"), &n[0], "dp_client accuracy");
    same(summary_f64(&shipped, "epsilon"), &n[1], "dp_client epsilon");
    assert_eq!(summary_f64(&shipped, "rounds").to_string(), n[2]);
    let audit: serde_json::Value = serde_json::from_str(&shipped.read("summary.json")).unwrap();
    same(audit["privacy_audit"]["advantage"].as_f64().unwrap(), &n[3], "attack advantage");
    same(audit["privacy_audit"]["auc"].as_f64().unwrap(), "0.519", "attack AUC");
    // README.md's row: "`max_epsilon: 8` stops it after 102 rounds at 0.919 accuracy".
    let n = numbers(&between(&readme_row("scenarios/privacy/dp_client.yaml"), "stops it after ", " accuracy"));
    assert_eq!(summary_f64(&shipped, "rounds").to_string(), n[0]);
    same(summary_f64(&shipped, "final_accuracy"), &n[1], "README: dp_client accuracy");
}

/// docs/privacy.md: local DP against client-level DP over 50 rounds.
#[test]
fn privacy_local_dp_against_client_level() {
    let text = repo(PRIVACY);
    let n = numbers(&between(&text, "noise on every update) reaches ", " (`fedsim run"));
    let local = run_file("scenarios/privacy/dp_local.yaml", 2, &[]);
    let client = run_file("scenarios/privacy/dp_client.yaml", 2, &["stop={rounds: 50}"]);
    same(summary_f64(&local, "final_accuracy"), &n[0], "local DP accuracy");
    assert_eq!(summary_f64(&local, "rounds").to_string(), n[1]);
    same(summary_f64(&local, "epsilon"), &n[2], "local DP epsilon");
    // The busiest client's updates: reports per client.
    let mut per: BTreeMap<u64, usize> = BTreeMap::new();
    for e in local.events_of("report") {
        *per.entry(e["client"].as_u64().unwrap()).or_default() += 1;
    }
    assert_eq!(per.values().max().unwrap().to_string(), n[3]);
    same(summary_f64(&client, "final_accuracy"), &n[4], "client-level accuracy");
    same(summary_f64(&client, "epsilon"), &n[5], "client-level epsilon");
    // README.md's row: "0.608 accuracy and epsilon 52.2 after 50 rounds
    // (client-level DP: 0.903 and 5.9)".
    let n = numbers(&readme_row("scenarios/privacy/dp_local.yaml"));
    let n = &n[n.len() - 5..];
    same(summary_f64(&local, "final_accuracy"), &n[0], "README: local DP accuracy");
    same(summary_f64(&local, "epsilon"), &n[1], "README: local DP epsilon");
    assert_eq!(summary_f64(&local, "rounds").to_string(), n[2]);
    same(summary_f64(&client, "final_accuracy"), &n[3], "README: client-level accuracy");
    same(summary_f64(&client, "epsilon"), &n[4], "README: client-level epsilon");
}

/// docs/performance.md, "Kernel throughput": the deterministic figures of
/// `async_throughput.yaml` (its event lines and messages; the wall-clock
/// figures come from scripts/performance.sh).
#[test]
fn performance_throughput_workload_figures() {
    let text = repo("docs/performance.md");
    let part = from(&text, "docs/performance.md", "## Kernel throughput");
    let lines = numbers(&between(part, "`events.jsonl` written (", " lines)"));
    let messages = numbers(&between(part, "gives `messages` (", ")"));
    let ran = run_file("scenarios/bench/async_throughput.yaml", 1, &[]);
    assert_eq!(ran.read("events.jsonl").lines().count().to_string(), lines[0]);
    assert_eq!(summary_f64(&ran, "messages").to_string(), messages[0]);
}

/// The description cell of README.md's scenario table row for `path`.
fn readme_row(path: &str) -> String {
    let text = repo("README.md");
    let line = text
        .lines()
        .find(|l| l.starts_with(&format!("| [`{path}`]")))
        .unwrap_or_else(|| panic!("README.md: no row for {path}"));
    line.trim_end_matches('|').rsplit('|').next().unwrap().trim().to_string()
}

/// README.md's scenario table: the figures each row states, from runs of
/// its scenarios (the privacy rows are checked with docs/privacy.md's).
#[test]
fn readme_hospitals_rows() {
    let adam = run_file("scenarios/hospitals_mlp_adam.yaml", 2, &[]);
    let f1 = numbers(&readme_row("scenarios/hospitals_mlp_adam.yaml")).pop().unwrap();
    same(summary_f64(&adam, "final_macro_f1"), &f1, "macro F1");
    // "40 rounds in 46.2 s instead of 16.9 s, accuracy 0.939 instead of
    // 0.974, epsilon 74.3", against hospitals.yaml.
    let private = run_file("scenarios/privacy/hospitals_private.yaml", 2, &[]);
    let open = run_file("scenarios/hospitals.yaml", 2, &[]);
    let n = numbers(&readme_row("scenarios/privacy/hospitals_private.yaml"));
    assert_eq!(summary_f64(&private, "rounds").to_string(), n[0]);
    same(summary_f64(&private, "virtual_time_s"), &n[1], "private virtual time");
    same(summary_f64(&open, "virtual_time_s"), &n[2], "open virtual time");
    same(summary_f64(&private, "final_accuracy"), &n[3], "private accuracy");
    same(summary_f64(&open, "final_accuracy"), &n[4], "open accuracy");
    same(summary_f64(&private, "epsilon"), &n[5], "epsilon");
}

#[test]
fn readme_compression_and_leakage_rows() {
    // "(520 bytes instead of 2600) and 4-bit quantised ones (341 bytes)"
    let row = readme_row("scenarios/privacy/compression_topk.yaml");
    let n = [
        between(&row, "error feedback (", " bytes"),
        between(&row, "instead of ", ")"),
        between(&row, "quantised ones (", " bytes"),
    ];
    for (file, want) in [("compression_topk", &n[0]), ("compression_quantize", &n[2])] {
        let ran = run_file(&format!("scenarios/privacy/{file}.yaml"), 2, &[]);
        let reports = ran.events_of("report");
        assert!(!reports.is_empty() && reports.iter().all(|e| e["bytes"].to_string() == *want), "{file}");
        let plain = ran.events_of("dispatch");
        assert!(plain.iter().all(|e| e["bytes"].to_string() == n[1]), "{file}: uncompressed model");
    }
    // "advantage 0.27, AUC 0.63"
    let n = numbers(&readme_row("scenarios/privacy/leakage.yaml"));
    let ran = run_file("scenarios/privacy/leakage.yaml", 2, &[]);
    let v: serde_json::Value = serde_json::from_str(&ran.read("summary.json")).unwrap();
    same(v["privacy_audit"]["advantage"].as_f64().unwrap(), &n[n.len() - 2], "attack advantage");
    same(v["privacy_audit"]["auc"].as_f64().unwrap(), &n[n.len() - 1], "attack AUC");
}

/// README.md's server-bottleneck row and docs/time-model.md's "At scale"
/// paragraph: rounds of 29.7 s through the shared link, 1.0 s without.
#[test]
fn server_bottleneck_rounds_as_written() {
    let shared = run_file("scenarios/server_bottleneck.yaml", 2, &[]);
    let free = run_file("scenarios/server_bottleneck_unlimited.yaml", 2, &[]);
    let rounds = summary_f64(&shared, "rounds");
    assert_eq!(summary_f64(&free, "rounds"), rounds);
    let (t_shared, t_free) = (summary_f64(&shared, "virtual_time_s"), summary_f64(&free, "virtual_time_s"));
    // "rounds of 29.7 s instead of 1.0 s (10 rounds: 297.4 s of virtual time against 9.9 s)"
    let n = numbers(&between(&readme_row("scenarios/server_bottleneck.yaml"), "rounds of ", ")"));
    same(t_shared / rounds, &n[0], "README: a shared round");
    same(t_free / rounds, &n[1], "README: a free round");
    assert_eq!(rounds.to_string(), n[2]);
    same(t_shared, &n[3], "README: shared run");
    same(t_free, &n[4], "README: free run");
    let text = repo(TIME_MODEL);
    let part = from(&text, TIME_MODEL, "**At scale:**");
    same(t_shared / rounds, &between(part, "lasts about ", " s"), "time-model: a shared round");
    same(t_free / rounds, &between(part, "has rounds of about ", " s"), "time-model: a free round");
}
