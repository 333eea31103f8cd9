//! The resolved scenario (`scenario.resolved.yaml` in a run folder): the
//! checked scenario written back as YAML with every default filled in, so
//! that a run can be reproduced from its folder alone.
//!
//! The text is the raw types ([`RawScenario`]) serialised, not a list of
//! keys kept by hand: deserialising fills every key that has a fixed
//! default, and [`fill`] sets the keys whose default depends on other keys
//! (`strategy.clients_per_round`, the per-kind strategy defaults, `stop`,
//! `evaluation`) to the values the checked scenario resolved them to. A key
//! that is absent and means "none" is written as `null`. Relative paths
//! are made absolute, so the file can be loaded from anywhere on the
//! machine, and the `sweep:` map is dropped (a resolved scenario is one
//! run). Its SHA-256 is the run's `scenario_hash`.

use super::checked::Scenario;
use super::keys;
use super::raw::{RawAvailability, RawPrivacy, RawScenario, RawServer, RawServerNetwork, RawStrategy};
use super::values::{ClientCount, Text};
use super::yaml::Seg;
use super::DataSource;
use serde_yaml::Value;
use sha2::{Digest, Sha256};
use std::path::Path;

/// `raw` (as deserialised from the effective text) with the defaults that
/// depend on other keys set to what `checked` resolved them to, every
/// optional section present, absolute paths and no sweep.
pub(crate) fn fill(mut raw: RawScenario, checked: &Scenario) -> RawScenario {
    raw.stop.get_or_insert_with(RawScenario::default_stop);
    raw.evaluation.get_or_insert_with(RawScenario::default_evaluation);
    raw.sweep = None;
    // Optional sections whose absence means "off": written out with their
    // keys (each `null` or its default), which loads to the same scenario.
    raw.privacy.get_or_insert_with(RawPrivacy::default);
    raw.server.get_or_insert_with(RawServer::default).network.get_or_insert_with(RawServerNetwork::default);
    let s: &mut RawStrategy = &mut raw.strategy;
    let c = &checked.strategy;
    s.clients_per_round = Some(ClientCount(c.clients_per_round));
    s.concurrency = Some(ClientCount(c.concurrency));
    s.keep = Some(ClientCount(c.keep));
    s.staleness.get_or_insert_with(|| RawStrategy::default_staleness(c.kind));
    s.server_learning_rate.get_or_insert_with(|| RawStrategy::default_server_learning_rate(c.kind, c.flower_compat));
    s.server_momentum.get_or_insert_with(|| RawStrategy::default_server_momentum(c.flower_compat));
    s.beta1.get_or_insert_with(|| RawStrategy::default_beta1(c.kind));
    s.tau.get_or_insert_with(|| RawStrategy::default_tau(c.kind, c.flower_compat));
    // Paths as the checked scenario resolved them, made absolute.
    if let (Some(csv), DataSource::Csv(spec)) = (raw.data.csv.as_mut(), &checked.data.source) {
        csv.path = absolute(&spec.path);
    }
    if let (RawAvailability::Trace(t), super::Availability::Trace { path }) =
        (&mut raw.clients.availability, &checked.clients.availability)
    {
        t.path = absolute(path);
    }
    raw
}

/// A resolved path as text: canonical when the file exists, else joined
/// to the working folder.
fn absolute(path: &Path) -> Text {
    let abs = std::fs::canonicalize(path).or_else(|_| std::path::absolute(path)).unwrap_or_else(|_| path.into());
    Text(abs.to_string_lossy().into_owned())
}

/// The YAML text of a filled scenario.
pub(crate) fn render(raw: &RawScenario) -> String {
    let mut value = serde_yaml::to_value(raw).expect("a raw scenario always serialises");
    if let Value::Mapping(m) = &mut value {
        m.remove("sweep");
    }
    restore_infinities(&mut value, &mut Vec::new());
    serde_yaml::to_string(&value).expect("a YAML value always renders")
}

/// The raw types serialise an infinite rate as the string `.inf` (JSON,
/// which their tagged mappings pass through, has no infinity); in YAML it
/// is the number. Only keys whose type accepts `.inf` are changed, so a
/// text value `.inf` (a description) stays text.
fn restore_infinities(v: &mut Value, path: &mut Vec<Seg>) {
    match v {
        Value::String(s)
            if (s == ".inf" || s == "-.inf") && keys::expected_for(path).is_some_and(|e| e.contains(".inf")) =>
        {
            *v = Value::from(if s.starts_with('-') { f64::NEG_INFINITY } else { f64::INFINITY });
        }
        Value::Mapping(m) => {
            for (k, child) in m.iter_mut() {
                if let Value::String(k) = k {
                    path.push(Seg::Key(k.clone()));
                    restore_infinities(child, path);
                    path.pop();
                }
            }
        }
        Value::Sequence(items) => {
            for (i, child) in items.iter_mut().enumerate() {
                path.push(Seg::Index(i));
                restore_infinities(child, path);
                path.pop();
            }
        }
        _ => {}
    }
}

/// SHA-256 of a resolved scenario's text, lowercase hex: a run's
/// `scenario_hash`.
pub fn hash(resolved: &str) -> String {
    hex::encode(Sha256::digest(resolved.as_bytes()))
}

/// The keys that hold a file path, relative to the scenario's folder.
pub(crate) const PATH_KEYS: [&str; 2] = ["data.csv.path", "clients.availability.path"];

/// A scenario's text (`effective`, loaded from `source`) that loads the
/// same from any folder: each relative path at a key that holds one
/// (`PATH_KEYS`, and in a `sweep:` list for one of them) made absolute.
/// `None` if the text does not parse (a checked scenario's always does).
pub fn with_absolute_paths(effective: &str, source: &Path) -> Option<String> {
    let base = source.parent().unwrap_or(Path::new(""));
    let fix = |v: &mut Value| {
        if let Value::String(s) = v {
            if Path::new(s.as_str()).is_relative() {
                *s = absolute(&base.join(s.as_str())).0;
            }
        }
    };
    let mut doc = super::yaml::parse(effective).ok()??.value;
    for key in PATH_KEYS {
        let mut node = Some(&mut doc);
        for part in key.split('.') {
            node = node.and_then(|n| n.get_mut(part));
        }
        node.into_iter().for_each(fix);
        if let Some(Value::Sequence(items)) = doc.get_mut("sweep").and_then(|s| s.get_mut(key)) {
            items.iter_mut().for_each(fix);
        }
    }
    serde_yaml::to_string(&doc).ok()
}
