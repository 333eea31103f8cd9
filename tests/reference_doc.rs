//! `docs/scenario-reference.md` and `docs/scenario.schema.json` are generated
//! from the raw scenario structs; this test fails when either file differs
//! from what the code generates, and rewrites both when `FEDSIM_BLESS=1`.
//! It also checks every shipped scenario against the schema.

use std::path::{Path, PathBuf};

const REGENERATE: &str = "FEDSIM_BLESS=1 cargo test --test reference_doc";

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn schema_text() -> String {
    let mut text = serde_json::to_string_pretty(&fedsim::scenario::json_schema()).unwrap();
    text.push('\n');
    text
}

/// Compares `path` with `generated`, or writes it when blessing.
fn check_generated(path: &str, generated: &str) {
    let file = root().join(path);
    if std::env::var_os("FEDSIM_BLESS").is_some_and(|v| v == "1") {
        std::fs::write(&file, generated).unwrap();
        return;
    }
    let on_disk = std::fs::read_to_string(&file).unwrap_or_default();
    if on_disk != generated {
        let line = on_disk
            .lines()
            .zip(generated.lines())
            .position(|(a, b)| a != b)
            .unwrap_or_else(|| on_disk.lines().count().min(generated.lines().count()));
        panic!(
            "{path} is out of date with the scenario structs (first difference at line {}).\n\
             It is generated from src/scenario/raw.rs and src/scenario/values.rs; regenerate it with\n\n    \
             {REGENERATE}\n",
            line + 1
        );
    }
}

#[test]
fn schema_file_is_generated() {
    check_generated("docs/scenario.schema.json", &schema_text());
}

#[test]
fn reference_doc_is_generated() {
    check_generated("docs/scenario-reference.md", &fedsim::scenario::reference_markdown());
}

/// A YAML document as JSON: keys as strings, `.inf` as the string `".inf"`
/// (JSON has no infinity; the schema accepts that string where `.inf` is).
fn yaml_to_json(v: &serde_yaml::Value) -> serde_json::Value {
    use serde_yaml::Value as Y;
    match v {
        Y::Null => serde_json::Value::Null,
        Y::Bool(b) => (*b).into(),
        Y::Number(n) => match (n.as_u64(), n.as_i64(), n.as_f64()) {
            (Some(u), ..) => u.into(),
            (_, Some(i), _) => i.into(),
            (.., Some(f)) if f.is_finite() => f.into(),
            (.., Some(f)) => if f > 0.0 { ".inf" } else { "-.inf" }.into(),
            _ => serde_json::Value::Null,
        },
        Y::String(s) => s.clone().into(),
        Y::Sequence(items) => items.iter().map(yaml_to_json).collect::<Vec<_>>().into(),
        Y::Mapping(m) => m
            .iter()
            .map(|(k, v)| {
                let k = match k {
                    Y::String(s) => s.clone(),
                    other => serde_yaml::to_string(other).unwrap().trim().to_string(),
                };
                (k, yaml_to_json(v))
            })
            .collect::<serde_json::Map<_, _>>()
            .into(),
        Y::Tagged(t) => yaml_to_json(&t.value),
    }
}

fn yaml_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            yaml_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "yaml" || e == "yml") {
            out.push(path);
        }
    }
}

fn errors_of(validator: &jsonschema::Validator, path: &Path) -> Vec<String> {
    let text = std::fs::read_to_string(path).unwrap();
    let yaml: serde_yaml::Value = serde_yaml::from_str(&text).unwrap();
    let json = yaml_to_json(&yaml);
    validator.iter_errors(&json).map(|e| format!("{}: {e}", e.instance_path())).collect()
}

#[test]
fn schema_is_valid_json_schema() {
    let schema = fedsim::scenario::json_schema();
    jsonschema::meta::validate(&schema).unwrap();
}

#[test]
fn shipped_scenarios_match_the_schema() {
    let validator = jsonschema::validator_for(&fedsim::scenario::json_schema()).unwrap();
    let mut files = Vec::new();
    yaml_files(&root().join("scenarios"), &mut files);
    files.sort();
    assert!(files.len() >= 10, "{files:?}");
    for file in files {
        let errors = errors_of(&validator, &file);
        assert!(errors.is_empty(), "{}: {errors:#?}", file.display());
    }
}

/// The schema rejects what the loader rejects for structural reasons (cross-field checks are the loader's alone).
#[test]
fn structurally_bad_scenarios_fail_the_schema() {
    let validator = jsonschema::validator_for(&fedsim::scenario::json_schema()).unwrap();
    for name in [
        "bad_name_chars",
        "dirichlet_alpha_zero",
        "missing_dist",
        "missing_name",
        "mu_negative",
        "negative_latency",
        "probability_above_one",
        "server_down_mbps_inf",
        "server_latency_negative",
        "server_latency_unknown_distribution",
        "server_momentum_one",
        "server_network_unknown_key",
        "server_unknown_key",
        "server_up_mbps_negative",
        "server_up_mbps_zero",
        "test_fraction_out_of_range",
        "top_level_list",
        "trim_fraction_half",
        "unknown_distribution",
        "unknown_key",
        "unknown_strategy",
        "unknown_top_level_key",
        "wrong_type",
    ] {
        let file = root().join("tests/bad_scenarios").join(format!("{name}.yaml"));
        assert!(!errors_of(&validator, &file).is_empty(), "{name}.yaml passes the schema");
    }
}

/// Every shipped scenario starts with the line that points VS Code's YAML
/// extension (yaml-language-server) at the schema, by a relative path that
/// resolves to `docs/scenario.schema.json`.
#[test]
fn shipped_scenarios_carry_the_schema_line() {
    let mut files = Vec::new();
    yaml_files(&root().join("scenarios"), &mut files);
    let schema = std::fs::canonicalize(root().join("docs/scenario.schema.json")).unwrap();
    for file in files {
        let text = std::fs::read_to_string(&file).unwrap();
        let first = text.lines().next().unwrap_or_default();
        let rel = first
            .strip_prefix("# yaml-language-server: $schema=")
            .unwrap_or_else(|| panic!("{}: first line {first:?}", file.display()));
        assert!(!rel.starts_with('/'), "{}: {rel} is not relative", file.display());
        let target = std::fs::canonicalize(file.parent().unwrap().join(rel));
        assert_eq!(target.ok().as_ref(), Some(&schema), "{}: {rel}", file.display());
    }
}

/// What `fedsim schema` prints (not the library call) validates every
/// shipped scenario, and rejects a broken one.
#[test]
fn the_printed_schema_checks_scenarios() {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_fedsim")).arg("schema").output().unwrap();
    assert!(out.status.success());
    let schema: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let validator = jsonschema::validator_for(&schema).unwrap();
    let mut files = Vec::new();
    yaml_files(&root().join("scenarios"), &mut files);
    for file in &files {
        let errors = errors_of(&validator, file);
        assert!(errors.is_empty(), "{}: {errors:#?}", file.display());
    }
    let quickstart = std::fs::read_to_string(root().join("scenarios/quickstart.yaml")).unwrap();
    let mut broken: serde_yaml::Value = serde_yaml::from_str(&quickstart).unwrap();
    broken["strategy"]["kind"] = "fedsgd_typo".into();
    assert!(!validator.is_valid(&yaml_to_json(&broken)), "a wrong strategy kind passes");
    broken["strategy"]["kind"] = "fedavg".into();
    broken["clients"]["count"] = "many".into();
    assert!(!validator.is_valid(&yaml_to_json(&broken)), "a string count passes");
}

/// The ranges a text states for a value, as (lower bound, upper bound):
/// `an integer >= 1` is (">= 1", None), `an integer from 2 to 100000`
/// (">= 2", Some("100000")), `a finite number > 0` ("> 0", None). Bounds
/// that are other keys (`>= min_ms`) are left out.
fn stated_ranges(text: &str) -> Vec<(String, Option<String>)> {
    let mut out = Vec::new();
    for lead in ["an integer ", "finite and ", "finite number ", "bit width "] {
        for (i, _) in text.match_indices(lead) {
            let words: Vec<&str> = text[i + lead.len()..].split_whitespace().take(4).collect();
            let num = |w: &str| {
                let w = w.trim_end_matches(['.', ',', ';', ':', ')']);
                w.parse::<f64>().is_ok().then(|| w.to_string())
            };
            let range = match words.as_slice() {
                ["from", a, "to", b, ..] => num(a).map(|a| (format!(">= {a}"), num(b))),
                [op @ (">=" | ">"), n, ..] => num(n).map(|n| (format!("{op} {n}"), None)),
                _ => None,
            };
            out.extend(range);
        }
    }
    out
}

/// A key's type column and its description never state different ranges
/// (as `data.synthetic.classes` once said ">= 1" in one, ">= 2" in the
/// other): the same lower bound, and the same upper bound where both give
/// one.
#[test]
fn type_column_and_description_agree() {
    let doc = fedsim::scenario::reference_markdown();
    let mut bad = Vec::new();
    let mut checked = 0;
    for line in doc.lines().filter(|l| l.starts_with("| `")) {
        let cells: Vec<&str> = line.split(" | ").collect();
        if cells.len() < 4 {
            continue;
        }
        let (key, ty, description) = (cells[0], cells[1], cells[3]);
        let (Some(t), Some(d)) = (stated_ranges(ty).into_iter().next(), stated_ranges(description).into_iter().next())
        else {
            continue;
        };
        checked += 1;
        let upper_agrees = match (&t.1, &d.1) {
            (Some(a), Some(b)) => a == b,
            _ => true,
        };
        if t.0 != d.0 || !upper_agrees {
            bad.push(format!("{key}: type says {t:?}, description says {d:?}"));
        }
    }
    assert!(checked >= 20, "only {checked} keys state a range in both");
    assert!(bad.is_empty(), "\n{}", bad.join("\n"));
}

#[test]
fn stated_ranges_read_bounds() {
    assert_eq!(stated_ranges("Classes, an integer >= 2. Default 10."), vec![(">= 2".to_string(), None)]);
    assert_eq!(stated_ranges("an integer from 1 to 32"), vec![(">= 1".to_string(), Some("32".to_string()))]);
    assert_eq!(stated_ranges("a finite number > 0"), vec![("> 0".to_string(), None)]);
    assert!(stated_ranges("finite and >= min_ms").is_empty());
}
