//! Every dotted key of the schema (list items as `[]`), with what it
//! accepts, derived from the JSON Schema of the raw structs
//! (`schema::keys`). Used for `sweep:` keys and messages about missing keys.

use super::schema;
use super::yaml::{Path, Seg};
use std::sync::OnceLock;

/// Keys whose message says more than their type (what a missing key
/// `expected`), before the variant note.
pub(crate) const EXPECTED_OVERRIDES: &[(&str, &str)] = &[
    ("data.csv.path", "the path of an existing CSV file, relative to the scenario"),
    ("data.csv.label_column", "the header name of the label column"),
    ("clients.availability.path", "the path of an existing CSV file, relative to the scenario"),
    ("clients.profiles[].compute.jitter.max_ms", "a duration in ms, finite and >= min_ms"),
    ("clients.profiles[].network.latency.max_ms", "a duration in ms, finite and >= min_ms"),
    ("server.network.latency.max_ms", "a duration in ms, finite and >= min_ms"),
];

/// Every dotted key with what it accepts, in schema order (a key that
/// several variants of a tagged enum have appears once, naming them all:
/// `(dist: normal, exponential)`).
pub fn all() -> Vec<(String, &'static str)> {
    static ALL: OnceLock<Vec<(String, String)>> = OnceLock::new();
    ALL.get_or_init(derive).iter().map(|(k, e)| (k.clone(), e.as_str())).collect()
}

/// The variants of a tagged enum that have a key: (tag, names).
type Variants = (String, Vec<String>);

fn derive() -> Vec<(String, String)> {
    let mut keys: Vec<(String, String, Option<Variants>)> = Vec::new();
    for k in schema::keys() {
        let expected =
            EXPECTED_OVERRIDES.iter().find(|(key, _)| *key == k.key).map_or(k.expected, |(_, e)| e.to_string());
        match (keys.iter_mut().find(|(key, ..)| *key == k.key), k.variant) {
            (Some((_, _, Some((_, names)))), Some((_, name))) => names.push(name),
            (Some(_), _) => {}
            (None, variant) => keys.push((k.key, expected, variant.map(|(tag, name)| (tag, vec![name])))),
        }
    }
    keys.into_iter()
        .map(|(key, expected, variants)| {
            let what = match variants {
                Some((tag, names)) => format!("{expected} ({tag}: {})", names.join(", ")),
                None => expected,
            };
            (key, what)
        })
        .collect()
}

/// A path with its list indices replaced by `[]`: `clients.profiles[].share`.
pub fn normalize(path: &[Seg]) -> String {
    super::yaml::render_path(path, false)
}

/// What the key at `path` accepts, if the schema has it.
pub fn expected_for(path: &Path) -> Option<&'static str> {
    let key = normalize(path);
    all().into_iter().find(|(k, _)| *k == key).map(|(_, w)| w)
}

/// Whether the schema has this key (indices normalised).
pub fn exists(path: &Path) -> bool {
    expected_for(path).is_some()
}
