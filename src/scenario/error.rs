//! `ScenarioError`: one message per problem, `FILE:LINE:COLUMN: KEY: what
//! was expected, found what`, and the plumbing that turns serde's messages
//! and paths into it.

use super::keys;
use super::values::{accepted_names, split_inner_path};
use super::yaml::{parse_path, path_string, Marks, Path, Pos, Seg};
use std::collections::HashMap;
use std::fmt;
use std::path::PathBuf;

/// Where a problem is: a line and column of the scenario file, or the
/// `--set KEY=VALUE` that put the value there.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Location {
    File {
        file: PathBuf,
        line: usize,
        column: usize,
    },
    /// `KEY=VALUE` as given on the command line.
    Set {
        text: String,
    },
    /// `KEY=VALUE`, one value of the file's `sweep:` being checked.
    Sweep {
        text: String,
    },
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        match self {
            Location::File { file, line, column } => {
                write!(f, "{}:{line}:{column}", file.display())
            }
            Location::Set { text } => write!(f, "--set {text}"),
            Location::Sweep { text } => write!(f, "sweep {text}"),
        }
    }
}

/// Everything that can be wrong with a scenario. Each Display is one line:
/// where, the dotted key, what was expected and what was found.
#[derive(Debug, thiserror::Error)]
pub enum ScenarioError {
    /// The file cannot be read.
    #[error("{}: cannot read the scenario: expected a readable YAML file ({source})", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// The text is not (acceptable) YAML.
    #[error("{at}: {key}: invalid YAML: {message}")]
    Syntax {
        at: Location,
        /// The innermost key being read (`(top level)` outside any).
        key: String,
        message: String,
    },
    /// No document, or only a null one.
    #[error("{} is empty: expected a scenario mapping with at least name, data and clients", file.display())]
    Empty { file: PathBuf },
    /// A key the schema does not have; `hint` (empty or ` (...)`) names
    /// the nearest accepted key, or where a known key belongs.
    #[error("{at}: {key}: unknown key{hint}, expected one of: {}", accepted.join(", "))]
    UnknownKey { at: Location, key: String, accepted: Vec<String>, hint: String },
    /// A required key is absent.
    #[error("{at}: {key}: missing required key, expected {expected}")]
    MissingKey { at: Location, key: String, expected: String },
    /// A value of the wrong type (a string for a number, a list for a mapping...).
    #[error("{at}: {key}: expected {expected}, found {found}")]
    WrongType { at: Location, key: String, expected: String, found: String },
    /// A value of the right type outside its range or set of names.
    #[error("{at}: {key}: expected {expected}, found {found}")]
    OutOfRange { at: Location, key: String, expected: String, found: String },
    /// Values that disagree with each other (cross-field checks).
    #[error("{at}: {key}: expected {expected}, found {found}")]
    Inconsistent { at: Location, key: String, expected: String, found: String },
    /// A file named by the scenario does not exist.
    #[error("{at}: {key}: expected an existing file, found no file at {}", resolved.display())]
    MissingFile { at: Location, key: String, resolved: PathBuf },
    /// A malformed `--set` (no `=`, a bad key path, a value that is not YAML,
    /// a path through a non-mapping).
    #[error("--set {text}: {key}: expected {expected}, found {found}")]
    BadOverride { text: String, key: String, expected: String, found: String },
    /// A `sweep:` value that makes the scenario invalid.
    #[error("{at}: {key}: expected a value that gives a valid scenario, found {value}, which fails: {inner}")]
    SweepValue { at: Location, key: String, value: String, inner: Box<ScenarioError> },
    /// The data the key names cannot be used (a CSV without the label
    /// column, a split that leaves no train rows...).
    #[error("{at}: {key}: {message}")]
    Data { at: Location, key: String, message: String },
    /// Anything else serde reports (should not happen; kept for safety).
    #[error("{at}: {key}: {message}")]
    Other { at: Location, key: String, message: String },
}

impl ScenarioError {
    /// Where the problem is, when it has a place.
    pub fn location(&self) -> Option<&Location> {
        use ScenarioError::*;
        match self {
            Io { .. } | Empty { .. } | BadOverride { .. } => None,
            Syntax { at, .. }
            | UnknownKey { at, .. }
            | MissingKey { at, .. }
            | WrongType { at, .. }
            | OutOfRange { at, .. }
            | Inconsistent { at, .. }
            | MissingFile { at, .. }
            | SweepValue { at, .. }
            | Data { at, .. }
            | Other { at, .. } => Some(at),
        }
    }

    /// The dotted key the problem is about, when there is one.
    pub fn key(&self) -> Option<&str> {
        use ScenarioError::*;
        match self {
            Io { .. } | Empty { .. } => None,
            Syntax { key, .. }
            | UnknownKey { key, .. }
            | MissingKey { key, .. }
            | WrongType { key, .. }
            | OutOfRange { key, .. }
            | Inconsistent { key, .. }
            | MissingFile { key, .. }
            | BadOverride { key, .. }
            | SweepValue { key, .. }
            | Data { key, .. }
            | Other { key, .. } => Some(key),
        }
    }
}

/// Which mark of a path a problem points at.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Anchor {
    /// The key (for missing, unknown and cross-field problems).
    Key,
    /// The value (for type and range problems).
    Value,
}

/// A problem before it is located.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Problem {
    UnknownKey { accepted: Vec<String> },
    Missing { expected: String },
    WrongType { expected: String, found: String },
    OutOfRange { expected: String, found: String },
    Inconsistent { expected: String, found: String },
    MissingFile { resolved: PathBuf },
    Data { message: String },
    Other { message: String },
}

/// A problem at a path.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Issue {
    pub path: Path,
    pub anchor: Anchor,
    pub problem: Problem,
}

impl Issue {
    pub fn at_key(path: Path, problem: Problem) -> Issue {
        Issue { path, anchor: Anchor::Key, problem }
    }
    pub fn at_value(path: Path, problem: Problem) -> Issue {
        Issue { path, anchor: Anchor::Value, problem }
    }
}

/// What maps paths to places: the file's marks and the `--set`s applied.
pub(crate) struct Locator<'a> {
    pub file: PathBuf,
    pub marks: &'a HashMap<Path, Marks>,
    /// (path set, where its value came from), in application order.
    pub sets: Vec<(Path, Location)>,
}

impl Locator<'_> {
    /// The place of a path.
    pub fn locate(&self, path: &[Seg], anchor: Anchor) -> Location {
        // A value put there (or above) by a --set: the last one wins.
        if let Some((_, at)) = self.sets.iter().rev().find(|(p, _)| path.starts_with(p)) {
            return at.clone();
        }
        // The deepest part of the path the file has.
        let mut n = path.len();
        loop {
            if let Some(m) = self.marks.get(&path[..n]) {
                if n < path.len() {
                    // Not in the file: a --set below this path created it?
                    if let Some((_, at)) = self.sets.iter().rev().find(|(p, _)| p.starts_with(path)) {
                        return at.clone();
                    }
                }
                let pos = if n == path.len() && anchor == Anchor::Value { m.value } else { m.key };
                return self.file_pos(pos);
            }
            if n == 0 {
                return self.file_pos(Pos { line: 1, column: 1 });
            }
            n -= 1;
        }
    }

    fn file_pos(&self, pos: Pos) -> Location {
        Location::File { file: self.file.clone(), line: pos.line, column: pos.column }
    }

    /// The error for an issue.
    pub fn error(&self, issue: Issue) -> ScenarioError {
        let at = self.locate(&issue.path, issue.anchor);
        let key = if issue.path.is_empty() { "(top level)".to_string() } else { path_string(&issue.path) };
        match issue.problem {
            Problem::UnknownKey { accepted } => {
                let hint = unknown_key_hint(&issue.path, &accepted);
                ScenarioError::UnknownKey { at, key, accepted, hint }
            }
            Problem::Missing { expected } => ScenarioError::MissingKey { at, key, expected },
            Problem::WrongType { expected, found } => ScenarioError::WrongType { at, key, expected, found },
            Problem::OutOfRange { expected, found } => ScenarioError::OutOfRange { at, key, expected, found },
            Problem::Inconsistent { expected, found } => ScenarioError::Inconsistent { at, key, expected, found },
            Problem::MissingFile { resolved } => ScenarioError::MissingFile { at, key, resolved },
            Problem::Data { message } => ScenarioError::Data { at, key, message },
            Problem::Other { message } => ScenarioError::Other { at, key, message },
        }
    }
}

/// The hint for an unknown key at `path`: where the same name is a key of
/// the schema (" (`dropout` belongs under `clients`, not under
/// `clients.profiles[0]`)"), else the nearest accepted name (" (did you
/// mean `clients_per_round`?)"), else nothing.
pub(crate) fn unknown_key_hint(path: &[Seg], accepted: &[String]) -> String {
    let Some((Seg::Key(name), parent)) = path.split_last() else { return String::new() };
    let here = if parent.is_empty() { "the top level".to_string() } else { format!("`{}`", path_string(parent)) };
    let homes: Vec<String> = keys::all()
        .into_iter()
        .filter_map(|(k, _)| {
            let (home, last) = k.rsplit_once('.').unwrap_or(("", k.as_str()));
            (last == name).then(|| home.to_string())
        })
        .collect();
    let parent_key = keys::normalize(parent);
    if homes.contains(&parent_key) {
        // A key of another variant of the same tagged mapping.
        return format!(" (`{name}` is a key of another kind of `{parent_key}`)");
    }
    if !homes.is_empty() {
        let mut homes: Vec<String> =
            homes.iter().map(|h| if h.is_empty() { "the top level".to_string() } else { format!("`{h}`") }).collect();
        homes.dedup();
        let shown = homes.len().min(3);
        return format!(" (`{name}` belongs under {}, not under {here})", homes[..shown].join(" or "))
            .replace("under the top level", "at the top level");
    }
    match nearest(name, accepted.iter().map(String::as_str)) {
        Some(best) => format!(" (did you mean `{best}`?)"),
        None => String::new(),
    }
}

/// The candidate nearest to `name` by edit distance, if near enough to be a
/// likely typo (at least 60% similar, or `name` a prefix of it).
pub(crate) fn nearest<'a>(name: &str, candidates: impl Iterator<Item = &'a str>) -> Option<&'a str> {
    candidates
        .map(|c| {
            let score = strsim::normalized_damerau_levenshtein(name, c);
            let score = if name.len() >= 3 && c.starts_with(name) { score.max(0.7) } else { score };
            (score, c)
        })
        .filter(|(score, _)| *score >= 0.6)
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .map(|(_, c)| c)
}

/// Segments of a serde_path_to_error path.
pub(crate) fn serde_path(path: &serde_path_to_error::Path) -> Path {
    use serde_path_to_error::Segment;
    path.iter()
        .filter_map(|s| match s {
            Segment::Seq { index } => Some(Seg::Index(*index)),
            Segment::Map { key } => Some(Seg::Key(key.clone())),
            Segment::Enum { .. } | Segment::Unknown => None,
        })
        .collect()
}

/// Turns a serde message at `path` into an issue.
pub(crate) fn issue_from_serde(mut path: Path, msg: &str) -> Issue {
    let (inner, msg) = split_inner_path(msg);
    if let Some(inner) = inner.and_then(parse_path) {
        path.extend(inner);
    }
    let backticked = |s: &str| s.split('`').nth(1).map(str::to_string);
    if let Some(rest) = msg.strip_prefix("missing field ") {
        let field = backticked(rest).unwrap_or_default();
        path.push(Seg::Key(field));
        let expected = keys::expected_for(&path).unwrap_or("a value").to_string();
        return Issue::at_key(path, Problem::Missing { expected });
    }
    if let Some(rest) = msg.strip_prefix("unknown field ") {
        let field = backticked(rest).unwrap_or_default();
        if path.last() != Some(&Seg::Key(field.clone())) {
            path.push(Seg::Key(field));
        }
        let accepted = accepted_names(msg);
        return Issue::at_key(path, Problem::UnknownKey { accepted });
    }
    if let Some(rest) = msg.strip_prefix("unknown variant ") {
        let found = rest.split_once(", expected").map_or(rest, |(v, _)| v);
        let names = accepted_names(msg);
        let expected =
            if names.is_empty() { "a known name".to_string() } else { format!("one of {}", names.join(", ")) };
        return Issue::at_value(path, Problem::OutOfRange { expected, found: found.to_string() });
    }
    for (prefix, wrong_type) in [("invalid type: ", true), ("invalid value: ", false), ("invalid length ", true)] {
        if let Some(rest) = msg.strip_prefix(prefix) {
            if let Some((found, expected)) = rest.rsplit_once(", expected ") {
                let expected = clean_expected(expected);
                let found = clean_found(found);
                let problem = if wrong_type {
                    Problem::WrongType { expected, found }
                } else {
                    Problem::OutOfRange { expected, found }
                };
                return Issue::at_value(path, problem);
            }
        }
    }
    if let Some(rest) = msg.strip_prefix("expected ") {
        if let Some((expected, found)) = rest.rsplit_once(", found ") {
            return Issue::at_value(
                path,
                Problem::OutOfRange { expected: expected.to_string(), found: found.to_string() },
            );
        }
    }
    Issue::at_value(path, Problem::Other { message: msg.to_string() })
}

fn clean_expected(e: &str) -> String {
    match e {
        "f64" | "f32" => "a number".to_string(),
        "u8" | "u16" | "u32" | "u64" | "usize" => "an integer >= 0".to_string(),
        "a sequence" => "a list".to_string(),
        "a YAML mapping" | "a map" => "a mapping".to_string(),
        e if e.starts_with("struct ") => "a mapping".to_string(),
        e => e.to_string(),
    }
}

fn clean_found(f: &str) -> String {
    let inner = |s: &str| s.split('`').nth(1).unwrap_or(s).to_string();
    if f == "unit value" {
        "null (an empty value)".to_string()
    } else if f == "map" {
        "a mapping".to_string()
    } else if f == "sequence" {
        "a list".to_string()
    } else if f.starts_with("floating point `") || f.starts_with("integer `") || f.starts_with("boolean `") {
        inner(f)
    } else {
        f.to_string()
    }
}
