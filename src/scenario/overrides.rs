//! `--set key.path=value`: changes to the YAML tree before it is checked.

use super::error::ScenarioError;
use super::values::describe;
use super::yaml::{parse_path, parse_value, path_string, Path, Seg};
use serde_yaml::{Mapping, Value};
use std::fmt;
use std::str::FromStr;

/// One `--set KEY=VALUE`: `KEY` a dotted path (`clients.profiles[0].share`),
/// `VALUE` a YAML scalar or flow collection (`fedbuff`, `3`, `{rounds: 5}`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Override {
    pub key: String,
    pub value: String,
}

impl Override {
    /// An override from its parts (checked when applied).
    pub fn new(key: impl Into<String>, value: impl Into<String>) -> Override {
        Override { key: key.into(), value: value.into() }
    }

    fn bad(&self, key: String, expected: impl Into<String>, found: impl Into<String>) -> ScenarioError {
        ScenarioError::BadOverride { text: self.to_string(), key, expected: expected.into(), found: found.into() }
    }

    /// The key as a path.
    pub(crate) fn path(&self) -> Result<Path, ScenarioError> {
        match parse_path(&self.key) {
            Some(p) if matches!(p.first(), Some(Seg::Key(_))) => Ok(p),
            _ => Err(self.bad(
                self.key.clone(),
                "a dotted key such as strategy.kind or clients.profiles[0].share",
                format!("`{}`", self.key),
            )),
        }
    }

    /// The value as YAML.
    pub(crate) fn yaml_value(&self) -> Result<Value, ScenarioError> {
        parse_value(&self.value).map_err(|e| {
            self.bad(
                self.key.clone(),
                "a YAML value: a scalar, or a flow list or mapping such as {rounds: 5}",
                format!("invalid YAML ({})", e.message),
            )
        })
    }

    /// Applies the override to the tree; returns the path it set.
    pub(crate) fn apply(&self, root: &mut Value) -> Result<Path, ScenarioError> {
        let path = self.path()?;
        let value = self.yaml_value()?;
        set_at(root, &path, value).map_err(|(key, expected, found)| self.bad(key, expected, found))?;
        Ok(path)
    }
}

impl fmt::Display for Override {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        write!(f, "{}={}", self.key, self.value)
    }
}

impl FromStr for Override {
    type Err = ScenarioError;

    /// Parses `KEY=VALUE` (split at the first `=`; spaces around `KEY` are
    /// ignored).
    fn from_str(s: &str) -> Result<Override, ScenarioError> {
        let Some((key, value)) = s.split_once('=') else {
            return Err(ScenarioError::BadOverride {
                text: s.to_string(),
                key: s.trim().to_string(),
                expected: "KEY=VALUE, such as strategy.kind=fedbuff".into(),
                found: "no `=`".into(),
            });
        };
        let o = Override::new(key.trim(), value);
        o.path()?;
        Ok(o)
    }
}

/// Sets `path` in `root` to `value`, creating missing mapping keys (and a
/// list item just past the end). Errors are (key, expected, found).
pub(crate) fn set_at(root: &mut Value, path: &[Seg], value: Value) -> Result<(), (String, String, String)> {
    let Some((last, parents)) = path.split_last() else {
        return Err((String::new(), "a non-empty key".into(), "an empty key".into()));
    };
    let mut cur = root;
    for (i, seg) in parents.iter().enumerate() {
        cur = child(cur, seg, &path[..i])?;
    }
    let slot = child(cur, last, parents)?;
    *slot = value;
    Ok(())
}

/// The child `seg` of `cur` (whose own path is `here`), created if missing.
fn child<'v>(cur: &'v mut Value, seg: &Seg, here: &[Seg]) -> Result<&'v mut Value, (String, String, String)> {
    let name = |p: &[Seg]| {
        if p.is_empty() {
            "(top level)".to_string()
        } else {
            path_string(p)
        }
    };
    match seg {
        Seg::Key(k) => {
            if cur.is_null() {
                *cur = Value::Mapping(Mapping::new());
            }
            match cur {
                Value::Mapping(m) => Ok(m.entry(Value::String(k.clone())).or_insert(Value::Null)),
                other => Err((name(here), format!("a mapping to set `{k}` in"), describe(other))),
            }
        }
        Seg::Index(n) => {
            if cur.is_null() {
                *cur = Value::Sequence(Vec::new());
            }
            match cur {
                Value::Sequence(s) => {
                    if *n > s.len() {
                        let mut p = here.to_vec();
                        p.push(seg.clone());
                        return Err((
                            name(&p),
                            format!("an index from 0 to {} (the list has {} items)", s.len(), s.len()),
                            n.to_string(),
                        ));
                    }
                    if *n == s.len() {
                        s.push(Value::Null);
                    }
                    Ok(&mut s[*n])
                }
                other => Err((name(here), format!("a list to set item [{n}] in"), describe(other))),
            }
        }
    }
}
