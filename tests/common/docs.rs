//! Reading figures out of the docs' text, so that a test can assert what a
//! doc states: passages found by a marker that is part of the doc, numbers
//! as written, and a value compared at the doc's own rounding.

use std::path::Path;

/// A file of the repository, as text.
pub fn repo(rel: &str) -> String {
    std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join(rel)).unwrap()
}

/// The text of `doc` from `marker` on.
pub fn from<'a>(text: &'a str, doc: &str, marker: &str) -> &'a str {
    let at = text.find(marker).unwrap_or_else(|| panic!("{doc}: no {marker:?}"));
    &text[at..]
}

/// The text between `start` (excluded) and the next `end` in `text`, with
/// every run of whitespace (line breaks and indents included) read as one
/// space, so that a reflowed paragraph still matches.
pub fn between(text: &str, start: &str, end: &str) -> String {
    let text = text.split_whitespace().collect::<Vec<_>>().join(" ");
    let at = text.find(start).unwrap_or_else(|| panic!("no {start:?}")) + start.len();
    let len = text[at..].find(end).unwrap_or_else(|| panic!("no {end:?} after {start:?}"));
    text[at..at + len].to_string()
}

/// The body rows of the first markdown table in `text`, as trimmed cells.
pub fn table(text: &str) -> Vec<Vec<String>> {
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
pub fn numbers(text: &str) -> Vec<String> {
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
pub fn like(x: f64, written: &str) -> String {
    let decimals = written.split_once('.').map_or(0, |(_, d)| d.len());
    format!("{x:.decimals$}")
}

/// Asserts that `x`, rounded as the doc rounds it, is what the doc wrote.
pub fn same(x: f64, written: &str, what: &str) {
    assert_eq!(like(x, written), written, "{what}: the run gives {x}, the doc says {written}");
}
