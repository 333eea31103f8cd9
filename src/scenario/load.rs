//! The entry points: text (or a file) and `--set`s in, a checked scenario
//! or one located error out.

use super::checked::Scenario;
use super::error::{issue_from_serde, serde_path, Issue, Location, Locator, Problem, ScenarioError};
use super::estimate::Limits;
use super::overrides::{set_at, Override};
use super::raw::RawScenario;
use super::resolved;
use super::validate;
use super::values::describe;
use super::yaml::{self, parse_path, render, Path as KeyPath, Pos, Seg};
use serde::Deserialize as _;
use serde_yaml::Value;
use std::path::Path;

/// Reads, parses and checks a scenario file, with `--set` overrides applied
/// in order. Relative paths inside resolve against the file's folder.
pub fn load_file(path: &Path, overrides: &[Override]) -> Result<Scenario, ScenarioError> {
    load_str(&read_text(path)?, path, overrides)
}

/// [`load_file`], reporting every independent problem of the file rather
/// than the first: after the first error, each further value of the wrong
/// type or range and each unknown key elsewhere in the file (the problems
/// that do not depend on other keys' values) is reported too. Cross-field
/// and data problems are reported while they come first; one that could
/// follow from a value already found wrong is not.
pub fn load_file_all(path: &Path, overrides: &[Override]) -> Result<Scenario, Vec<ScenarioError>> {
    let text = read_text(path).map_err(|e| vec![e])?;
    let first = match load_str(&text, path, overrides) {
        Ok(s) => return Ok(s),
        Err(e) => e,
    };
    let first_text = first.to_string();
    let mut errors = vec![first];
    let text = text.strip_prefix('\u{feff}').unwrap_or(&text);
    let Ok(Some(doc)) = yaml::parse(text) else { return Err(errors) };
    let mut locator = Locator { file: path.to_path_buf(), marks: &doc.marks, sets: Vec::new() };
    let mut value = doc.value.clone();
    for o in overrides {
        let Ok(p) = o.apply(&mut value) else { return Err(errors) };
        locator.sets.push((p, Location::Set { text: o.to_string() }));
    }
    // Paths already reported (or dropped): a problem at or under one of
    // them may be a consequence of the removal, so it is not reported.
    let mut dropped: Vec<KeyPath> = Vec::new();
    let mut placeholders_set: Vec<String> = Vec::new();
    for _ in 0..64 {
        let Err(e) = serde_path_to_error::deserialize::<_, RawScenario>(&value) else { break };
        let issue = issue_from_serde(serde_path(e.path()), &e.inner().to_string());
        let p = issue.path.clone();
        if dropped.iter().any(|d| d.starts_with(&p) || p.starts_with(d)) {
            // A required key that was dropped: a placeholder of its type
            // lets the rest of its section be read.
            let dotted = yaml::path_string(&p);
            let placeholder =
                PLACEHOLDERS.iter().find(|(k, _)| *k == dotted).and_then(|(_, v)| yaml::parse_value(v).ok());
            if let Some(v) = placeholder.filter(|_| !placeholders_set.contains(&dotted)) {
                if super::overrides::set_at(&mut value, &p, v).is_ok() {
                    placeholders_set.push(dotted);
                    continue;
                }
            }
            // Drop the part around it instead, unless that is a section the
            // scenario cannot do without.
            let wider = p[..p.len().saturating_sub(1)].to_vec();
            let required = wider.len() <= 1
                && matches!(wider.first(), None | Some(Seg::Key(_)))
                && wider.first().is_none_or(|s| matches!(s, Seg::Key(k) if REQUIRED.contains(&k.as_str())));
            if required || !remove_at(&mut value, &wider) {
                break;
            }
            dropped.push(wider);
            continue;
        }
        let err = locator.error(issue);
        if err.to_string() != first_text {
            errors.push(err);
        }
        if !remove_at(&mut value, &p) {
            break;
        }
        dropped.push(p);
    }
    Err(errors)
}

/// Valid values for the required keys, put in place of a wrong one so
/// that the rest of the file can be checked.
const PLACEHOLDERS: &[(&str, &str)] = &[("name", "scenario"), ("data.dataset", "digits"), ("clients.count", "1")];

/// The top-level keys a scenario needs.
const REQUIRED: &[&str] = &["name", "data", "clients"];

/// Removes the value at `path` (a list item: the whole list), returning
/// whether something was removed.
fn remove_at(root: &mut Value, path: &[Seg]) -> bool {
    let Some(n) = path.iter().rposition(|s| matches!(s, Seg::Key(_))) else { return false };
    let (parents, last) = (&path[..n], &path[n]);
    let mut cur = root;
    for seg in parents {
        cur = match (seg, cur) {
            (Seg::Key(k), Value::Mapping(m)) => match m.get_mut(k.as_str()) {
                Some(v) => v,
                None => return false,
            },
            (Seg::Index(i), Value::Sequence(s)) => match s.get_mut(*i) {
                Some(v) => v,
                None => return false,
            },
            _ => return false,
        };
    }
    match (last, cur) {
        (Seg::Key(k), Value::Mapping(m)) => m.remove(k.as_str()).is_some(),
        _ => false,
    }
}

fn read_text(path: &Path) -> Result<String, ScenarioError> {
    let bytes = std::fs::read(path).map_err(|source| ScenarioError::Io { path: path.to_path_buf(), source })?;
    let text = match String::from_utf8(bytes) {
        Ok(text) => text,
        Err(e) => {
            let good = &e.as_bytes()[..e.utf8_error().valid_up_to()];
            let good = String::from_utf8_lossy(good);
            let line = good.matches('\n').count() + 1;
            let column = good.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
            return Err(ScenarioError::Syntax {
                at: Location::File { file: path.to_path_buf(), line, column },
                key: "(top level)".into(),
                message: "expected UTF-8 text, found an invalid byte".into(),
            });
        }
    };
    Ok(text)
}

/// Parses and checks scenario text. `source` names the file in messages and
/// its folder is the base of relative paths.
pub fn load_str(text: &str, source: &Path, overrides: &[Override]) -> Result<Scenario, ScenarioError> {
    load(text, source, overrides, true, &Limits::machine())
}

/// [`load_str`] without any limit, for tests of the estimate itself.
#[cfg(test)]
pub(crate) fn load_unlimited(text: &str, source: &Path) -> Result<Scenario, ScenarioError> {
    load(text, source, &[], true, &Limits::none())
}

fn load(
    text: &str,
    source: &Path,
    overrides: &[Override],
    check_sweep_values: bool,
    limits: &Limits,
) -> Result<Scenario, ScenarioError> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let doc = yaml::parse(text)
        .map_err(|e| ScenarioError::Syntax { at: file_at(source, e.pos), key: key_name(&e.path), message: e.message })?
        .ok_or_else(|| ScenarioError::Empty { file: source.to_path_buf() })?;
    let mut locator = Locator { file: source.to_path_buf(), marks: &doc.marks, sets: Vec::new() };
    if !doc.value.is_mapping() {
        return Err(locator.error(Issue::at_value(
            Vec::new(),
            Problem::WrongType {
                expected: "a scenario mapping with at least name, data and clients".into(),
                found: describe(&doc.value),
            },
        )));
    }
    let mut value = doc.value.clone();
    for o in overrides {
        let path = o.apply(&mut value)?;
        locator.sets.push((path, Location::Set { text: o.to_string() }));
    }
    let mut scenario = check_value(&value, source, &locator, limits)?;
    if check_sweep_values {
        check_sweep_values_of(&value, source, &locator, limits)?;
    }
    // A YAML value always renders; the text reloads to this same scenario.
    scenario.effective = serde_yaml::to_string(&value).unwrap_or_default();
    let raw = RawScenario::deserialize(&value).expect("the value was deserialised once already");
    scenario.resolved = resolved::render(&resolved::fill(raw, &scenario));
    Ok(scenario)
}

/// A path for messages; the root reads `(top level)`.
fn key_name(path: &[Seg]) -> String {
    if path.is_empty() {
        "(top level)".to_string()
    } else {
        yaml::path_string(path)
    }
}

fn file_at(source: &Path, pos: Pos) -> Location {
    Location::File { file: source.to_path_buf(), line: pos.line, column: pos.column }
}

/// Typed deserialisation, then the cross-field checks.
/// Typed deserialisation, then the cross-field checks, then the checks
/// that need the data's shape, and the estimate against `limits`.
fn check_value(value: &Value, source: &Path, locator: &Locator, limits: &Limits) -> Result<Scenario, ScenarioError> {
    let raw: RawScenario = serde_path_to_error::deserialize(value).map_err(|e| {
        let path = serde_path(e.path());
        locator.error(issue_from_serde(path, &e.inner().to_string()))
    })?;
    let scenario = validate::check(raw, source).map_err(|issue| locator.error(issue))?;
    validate::check_shape_and_limits(&scenario, limits).map_err(|issue| locator.error(issue))?;
    Ok(scenario)
}

/// Every value of `sweep:` must give a valid scenario on its own.
fn check_sweep_values_of(
    value: &Value,
    source: &Path,
    locator: &Locator,
    limits: &Limits,
) -> Result<(), ScenarioError> {
    let Some(Value::Mapping(sweep)) = value.get("sweep") else {
        return Ok(());
    };
    for (k, items) in sweep {
        let (Value::String(k), Value::Sequence(items)) = (k, items) else {
            continue;
        };
        let Some(path) = parse_path(k) else { continue };
        for (i, item) in items.iter().enumerate() {
            let item_path: KeyPath = vec![Seg::Key("sweep".into()), Seg::Key(k.clone()), Seg::Index(i)];
            let rendered = render(item);
            let text = format!("{k}={rendered}");
            let mut changed = value.clone();
            let inner = match set_at(&mut changed, &path, item.clone()) {
                Err((key, expected, found)) => Some(ScenarioError::Inconsistent {
                    at: Location::Sweep { text: text.clone() },
                    key,
                    expected,
                    found,
                }),
                Ok(()) => {
                    let mut sets = locator.sets.clone();
                    sets.push((path.clone(), Location::Sweep { text: text.clone() }));
                    let inner_locator = Locator { file: locator.file.clone(), marks: locator.marks, sets };
                    check_value(&changed, source, &inner_locator, limits).err()
                }
            };
            if let Some(inner) = inner {
                return Err(ScenarioError::SweepValue {
                    at: locator.locate(&item_path, super::error::Anchor::Value),
                    key: format!("sweep.{k}[{i}]"),
                    value: rendered,
                    inner: Box::new(inner),
                });
            }
        }
    }
    Ok(())
}
