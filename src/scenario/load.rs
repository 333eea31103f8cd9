//! The entry points: text (or a file) and `--set`s in, a checked scenario
//! or one located error out.

use super::checked::Scenario;
use super::error::{issue_from_serde, serde_path, Issue, Location, Locator, Problem, ScenarioError};
use super::estimate::Limits;
use super::overrides::{set_at, Override};
use super::raw::RawScenario;
use super::validate;
use super::values::describe;
use super::yaml::{self, parse_path, render, Path as KeyPath, Pos, Seg};
use serde_yaml::Value;
use std::path::Path;

/// Reads, parses and checks a scenario file, with `--set` overrides applied
/// in order. Relative paths inside resolve against the file's folder.
pub fn load_file(path: &Path, overrides: &[Override]) -> Result<Scenario, ScenarioError> {
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
    load_str(&text, path, overrides)
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
