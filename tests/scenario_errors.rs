//! Every malformed scenario in `tests/bad_scenarios/` must fail to load with
//! one message that names the file, the line and the dotted key. Each file
//! says what it expects in its header:
//!
//! ```yaml
//! # expect: clients.profiles[1].share line 14
//! # contains: some text the message must contain   (optional, repeatable)
//! ```
//!
//! `-` for the key or the line means "none" (an empty file has neither).

use fedsim::scenario::{load_file, load_str, Location, Override, ScenarioError};
use std::path::{Path, PathBuf};

fn bad_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/bad_scenarios")
}

struct Expect {
    key: Option<String>,
    line: Option<usize>,
    contains: Vec<String>,
}

fn header(path: &Path) -> Expect {
    let text = std::fs::read_to_string(path).unwrap();
    let mut expect = None;
    let mut contains = Vec::new();
    for line in text.lines() {
        if let Some(rest) = line.strip_prefix("# expect:") {
            let rest = rest.trim();
            let (key, line) = rest
                .rsplit_once(" line ")
                .unwrap_or_else(|| panic!("{}: header `# expect: KEY line N`", path.display()));
            let key = (key.trim() != "-").then(|| key.trim().to_string());
            let line = (line.trim() != "-").then(|| line.trim().parse().expect("line number"));
            expect = Some((key, line));
        } else if let Some(rest) = line.strip_prefix("# contains:") {
            contains.push(rest.trim().to_string());
        }
    }
    let (key, line) = expect.unwrap_or_else(|| panic!("{}: no `# expect:` header", path.display()));
    Expect { key, line, contains }
}

fn bad_files() -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(bad_dir())
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "yaml"))
        .collect();
    files.sort();
    files
}

#[test]
fn every_bad_scenario_fails_with_a_located_message() {
    let files = bad_files();
    assert!(files.len() >= 60, "only {} bad scenarios", files.len());
    let mut failures = Vec::new();
    for path in &files {
        let expect = header(path);
        let name = path.file_name().unwrap().to_str().unwrap();
        let err = match load_file(path, &[]) {
            Ok(_) => {
                failures.push(format!("{name}: loaded, expected an error"));
                continue;
            }
            Err(e) => e,
        };
        let msg = err.to_string();
        println!("{msg}");
        let mut problems = Vec::new();
        if !msg.contains(name) {
            problems.push("no file name".to_string());
        }
        if msg.lines().count() != 1 {
            problems.push("not one line".to_string());
        }
        if let Some(line) = expect.line {
            let want = format!("{}:{line}:", path.display());
            if !msg.starts_with(&want) {
                problems.push(format!("expected to start with `{want}`"));
            }
            match err.location() {
                Some(Location::File { line: l, .. }) if *l == line => {}
                other => problems.push(format!("location() is {other:?}")),
            }
        }
        if let Some(key) = &expect.key {
            if !msg.contains(&format!(": {key}: ")) {
                problems.push(format!("no `: {key}: `"));
            }
            if err.key() != Some(key.as_str()) {
                problems.push(format!("key() is {:?}", err.key()));
            }
        }
        for c in &expect.contains {
            if !msg.contains(c.as_str()) {
                problems.push(format!("does not contain `{c}`"));
            }
        }
        if !problems.is_empty() {
            failures.push(format!("{name}: {}\n    message: {msg}", problems.join("; ")));
        }
    }
    assert!(failures.is_empty(), "\n{}", failures.join("\n"));
}

#[test]
fn a_missing_scenario_file_is_an_io_error() {
    let path = bad_dir().join("does_not_exist.yaml");
    let err = load_file(&path, &[]).unwrap_err();
    assert!(matches!(err, ScenarioError::Io { .. }), "{err:?}");
    let msg = err.to_string();
    assert!(msg.starts_with(&format!("{}: cannot read the scenario", path.display())), "{msg}");
}

#[test]
fn overrides_fix_or_break_a_scenario_and_are_named() {
    let path = bad_dir().join("probability_above_one.yaml");
    // The override replaces the bad value: the scenario loads.
    let fixed = load_file(&path, &["clients.dropout.probability=0.25".parse().unwrap()]).unwrap();
    assert_eq!(fixed.clients.dropout, 0.25);

    let good = "name: ok\ndata: { dataset: digits }\nclients: { count: 10 }\n";
    let src = Path::new("good.yaml");
    let s = load_str(
        good,
        src,
        &[
            "strategy.kind=fedbuff".parse().unwrap(),
            "seed=3".parse().unwrap(),
            "stop={rounds: 5}".parse().unwrap(),
            "clients.profiles=[{name: a, share: 1}]".parse().unwrap(),
            "clients.profiles[0].share=1.0".parse().unwrap(),
        ],
    )
    .unwrap();
    assert_eq!(s.strategy.kind.name(), "fedbuff");
    assert_eq!(s.seed, 3);
    assert_eq!(s.stop.rounds, Some(5));
    assert_eq!(s.clients.profiles.len(), 1);

    let err = load_str(good, src, &[Override::new("clients.count", "0")]).unwrap_err();
    assert_eq!(
        err.to_string(),
        "--set clients.count=0: clients.count: expected an integer from 1 to 100000000, found 0"
    );
    assert_eq!(err.location(), Some(&Location::Set { text: "clients.count=0".into() }));

    let err = "no-equals-sign".parse::<Override>().unwrap_err();
    assert!(err.to_string().starts_with("--set no-equals-sign: no-equals-sign: expected KEY=VALUE"), "{err}");
}

#[test]
fn messages_point_at_the_value() {
    let path = bad_dir().join("probability_above_one.yaml");
    let msg = load_file(&path, &[]).unwrap_err().to_string();
    assert_eq!(
        msg,
        format!("{}:7:27: clients.dropout.probability: expected a probability in [0, 1], found 1.5", path.display())
    );
}

#[test]
fn validate_reports_every_independent_error_in_a_file() {
    let path = bad_dir().join("many_errors.yaml");
    let errors = fedsim::scenario::load_file_all(&path, &[]).unwrap_err();
    let found: Vec<(String, usize)> = errors
        .iter()
        .map(|e| {
            let line = match e.location() {
                Some(Location::File { line, .. }) => *line,
                other => panic!("{e}: {other:?}"),
            };
            (e.key().unwrap().to_string(), line)
        })
        .collect();
    let want = [
        ("data.test_fraction", 6),
        ("clients.count", 7),
        ("clients.dropuot", 7),
        ("model.hiden", 8),
        ("strategy.kind", 9),
        ("stop.rounds", 10),
    ];
    let want: Vec<(String, usize)> = want.iter().map(|(k, l)| (k.to_string(), *l)).collect();
    assert_eq!(found, want, "{errors:#?}");
    // The first is the one `load_file` gives.
    assert_eq!(errors[0].to_string(), load_file(&path, &[]).unwrap_err().to_string());
    // A good file has none.
    let good = bad_dir().join("../../scenarios/quickstart.yaml");
    assert!(fedsim::scenario::load_file_all(&good, &[]).is_ok());
}

#[test]
fn an_estimate_refusal_caused_by_a_set_names_the_set() {
    let good = "name: ok\ndata: { dataset: digits }\nclients: { count: 10 }\n";
    let sets = [Override::new("model", "{kind: mlp, hidden: [1000000000]}")];
    let err = load_str(good, Path::new("good.yaml"), &sets).unwrap_err();
    assert_eq!(err.location(), Some(&Location::Set { text: "model={kind: mlp, hidden: [1000000000]}".into() }));
    assert_eq!(err.key(), Some("model.hidden[0]"));
    assert!(err.to_string().starts_with("--set model={kind: mlp, hidden: [1000000000]}: model.hidden[0]: "), "{err}");
}
