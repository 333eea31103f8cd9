//! The JSON Schema of the scenario format and the reference doc, both
//! generated from the raw structs (`raw`), their `///` comments, defaults
//! and checked types (`values`): `docs/scenario.schema.json` is
//! [`json_schema`] and `docs/scenario-reference.md` is
//! [`reference_markdown`] (`tests/reference_doc.rs` keeps both in step).

use super::raw::RawScenario;
use serde_json::Value;

/// The JSON Schema (draft 2020-12) of a scenario file, read as JSON (YAML's
/// `.inf` written as the string `".inf"`).
pub fn json_schema() -> Value {
    let generator = schemars::generate::SchemaSettings::draft2020_12().into_generator();
    let mut schema = generator.into_root_schema_for::<RawScenario>().to_value();
    tidy_defaults(&mut schema);
    // `$schema`, title and description first, for a reader of the file.
    let Value::Object(mut rest) = schema else { unreachable!("a struct's schema is an object") };
    let mut root = serde_json::Map::new();
    root.insert("$schema".into(), rest.remove("$schema").unwrap_or_default());
    root.insert("title".into(), "fedsim scenario".into());
    root.insert("description".into(), rest.remove("description").unwrap_or_default());
    root.extend(rest);
    Value::Object(root)
}

/// Removes `null` defaults (an absent optional key) and the `null` entries
/// of object defaults (optional keys left out).
fn tidy_defaults(v: &mut Value) {
    match v {
        Value::Object(map) => {
            if map.get("default").is_some_and(Value::is_null) {
                map.remove("default");
            }
            for (k, child) in map.iter_mut() {
                if k == "default" {
                    drop_nulls(child);
                } else {
                    tidy_defaults(child);
                }
            }
        }
        Value::Array(items) => items.iter_mut().for_each(tidy_defaults),
        _ => {}
    }
}

fn drop_nulls(v: &mut Value) {
    match v {
        Value::Object(map) => {
            map.retain(|_, x| !x.is_null());
            map.values_mut().for_each(drop_nulls);
        }
        Value::Array(items) => items.iter_mut().for_each(drop_nulls),
        _ => {}
    }
}

// ------------------------------------------------------------ keys

/// What a key holds, as far as the walk over the schema cares.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Shape {
    /// A checked scalar or a boolean.
    Leaf,
    /// A closed set of names (a keyword enum, or the tag of a tagged enum).
    Keyword,
    /// A mapping with fixed keys.
    Struct,
    /// A mapping whose tag key picks the variant and its keys.
    Tagged,
    /// A list.
    List,
    /// A mapping with free keys (`sweep`).
    Map,
}

/// One dotted key of the schema (list items as `[]`).
#[derive(Debug, Clone)]
pub(crate) struct Key {
    /// `clients.profiles[].share`
    pub key: String,
    pub shape: Shape,
    /// The key's own `///` comment (or, for a tag, generated from the
    /// variants' comments).
    pub description: String,
    /// The schema's `default`, if any.
    pub default: Option<Value>,
    /// Whether the mapping that holds the key requires it.
    pub required: bool,
    /// For a key that only some variants of a tagged enum have: the tag and
    /// the variant's name.
    pub variant: Option<(String, String)>,
    /// What the key accepts, in the words of messages.
    pub expected: String,
    /// What the key accepts, for the reference doc's type column.
    pub type_text: String,
    /// The description of the key's type (a struct's or enum's `///`).
    pub type_description: String,
    /// For a keyword or a tag: each name with its `///` comment.
    pub values: Vec<(String, String)>,
}

/// Every key of the schema, depth first in field order.
pub(crate) fn keys() -> Vec<Key> {
    let schema = json_schema();
    let walker = Walker { defs: &schema["$defs"] };
    let mut out = Vec::new();
    walker.fields(&schema, "", None, &mut out);
    out
}

struct Walker<'a> {
    defs: &'a Value,
}

impl Walker<'_> {
    /// The schema behind `$ref`s and optional (`null`) alternatives.
    fn resolve<'v>(&'v self, v: &'v Value) -> &'v Value {
        if let Some(r) = v.get("$ref").and_then(Value::as_str) {
            let name = r.trim_start_matches("#/$defs/");
            return self.resolve(&self.defs[name]);
        }
        if let Some(Value::Array(alts)) = v.get("anyOf") {
            let non_null: Vec<&Value> = alts.iter().filter(|a| a.get("type") != Some(&"null".into())).collect();
            if non_null.len() == 1 && alts.len() == 2 {
                return self.resolve(non_null[0]);
            }
        }
        v
    }

    fn shape(&self, v: &Value) -> Shape {
        let t = self.resolve(v);
        let types: Vec<&str> = match t.get("type") {
            Some(Value::String(s)) => vec![s.as_str()],
            Some(Value::Array(a)) => a.iter().filter_map(Value::as_str).filter(|s| *s != "null").collect(),
            _ => vec![],
        };
        match (types.as_slice(), t.get("oneOf").is_some()) {
            (["object"], true) => Shape::Tagged,
            (["string"], true) => Shape::Keyword,
            (["object"], false) if t.get("properties").is_some() => Shape::Struct,
            (["object"], false) => Shape::Map,
            (["array"], _) => Shape::List,
            _ => Shape::Leaf,
        }
    }

    /// The keys of a struct's (or a variant's) properties under `prefix`.
    fn fields(&self, v: &Value, prefix: &str, variant: Option<(&str, &str)>, out: &mut Vec<Key>) {
        let t = self.resolve(v);
        let required: Vec<&str> = t
            .get("required")
            .and_then(Value::as_array)
            .map(|r| r.iter().filter_map(Value::as_str).collect())
            .unwrap_or_default();
        let Some(Value::Object(props)) = t.get("properties") else { return };
        for (name, prop) in props {
            if variant.is_some_and(|(tag, _)| tag == name) {
                continue;
            }
            let key = if prefix.is_empty() { name.clone() } else { format!("{prefix}.{name}") };
            self.key(prop, key, required.contains(&name.as_str()), variant, out);
        }
    }

    /// `prop` at `key`, then the keys below it.
    fn key(&self, prop: &Value, key: String, required: bool, variant: Option<(&str, &str)>, out: &mut Vec<Key>) {
        let t = self.resolve(prop);
        let shape = self.shape(prop);
        let description =
            text(prop.get("description")).unwrap_or_else(|| text(t.get("description")).unwrap_or_default());
        let type_description =
            if matches!(shape, Shape::Leaf) { String::new() } else { text(t.get("description")).unwrap_or_default() };
        let (expected, type_text) = self.accepts(prop, shape);
        let values = match shape {
            Shape::Keyword => t["oneOf"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|v| {
                    Some((v["const"].as_str()?.to_string(), text(v.get("description")).unwrap_or_default()))
                })
                .collect(),
            _ => Vec::new(),
        };
        out.push(Key {
            key: key.clone(),
            shape,
            description,
            default: prop.get("default").cloned(),
            required,
            variant: variant.map(|(t, n)| (t.to_string(), n.to_string())),
            expected,
            type_text,
            type_description,
            values,
        });
        match shape {
            Shape::Struct => self.fields(t, &key, None, out),
            Shape::Tagged => {
                let variants = t["oneOf"].as_array().cloned().unwrap_or_default();
                let Some(tag) =
                    variants.first().and_then(|v| v["properties"].as_object()).and_then(|p| p.keys().next())
                else {
                    return;
                };
                let names: Vec<String> = variants
                    .iter()
                    .filter_map(|v| v["properties"][tag]["const"].as_str().map(str::to_string))
                    .collect();
                let values = variants
                    .iter()
                    .zip(&names)
                    .map(|(v, n)| (n.clone(), text(v.get("description")).unwrap_or_default()))
                    .collect();
                out.push(Key {
                    key: format!("{key}.{tag}"),
                    shape: Shape::Keyword,
                    description: format!("Picks the variant of `{key}`."),
                    default: None,
                    required: true,
                    variant: None,
                    expected: format!("one of {}", names.join(", ")),
                    type_text: names.iter().map(|n| format!("`{n}`")).collect::<Vec<_>>().join(", "),
                    type_description: String::new(),
                    values,
                });
                for (v, n) in variants.iter().zip(&names) {
                    self.fields(v, &key, Some((tag, n)), out);
                }
            }
            Shape::List => {
                if let Some(items) = t.get("items") {
                    self.key(items, format!("{key}[]"), false, variant, out);
                }
            }
            Shape::Leaf | Shape::Keyword | Shape::Map => {}
        }
    }

    /// (what messages say the key accepts, the doc's type column).
    fn accepts(&self, prop: &Value, shape: Shape) -> (String, String) {
        let t = self.resolve(prop);
        match shape {
            Shape::Leaf => {
                if t.get("type") == Some(&"boolean".into()) {
                    return ("a boolean".into(), "boolean".into());
                }
                let what = text(t.get("description")).unwrap_or_else(|| "a value".into());
                let mut doc = what.clone();
                // Bounds the key adds to its type's (e.g. `classes >= 2`).
                for (k, op) in
                    [("minimum", ">="), ("exclusiveMinimum", ">"), ("maximum", "<="), ("exclusiveMaximum", "<")]
                {
                    if let Some(bound) = prop.get(k) {
                        doc = format!("{doc}, {op} {bound}");
                    }
                }
                (what, doc)
            }
            Shape::Keyword => {
                let names: Vec<&str> =
                    t["oneOf"].as_array().into_iter().flatten().filter_map(|v| v["const"].as_str()).collect();
                (
                    format!("one of {}", names.join(", ")),
                    names.iter().map(|n| format!("`{n}`")).collect::<Vec<_>>().join(", "),
                )
            }
            Shape::Struct => {
                let required: Vec<String> = t
                    .get("required")
                    .and_then(Value::as_array)
                    .into_iter()
                    .flatten()
                    .filter_map(Value::as_str)
                    .map(|r| format!("`{r}`"))
                    .collect();
                if required.is_empty() {
                    ("a mapping".into(), "mapping".into())
                } else {
                    let r = required.join(", ");
                    (format!("a mapping with at least {r}"), format!("mapping with {r}"))
                }
            }
            Shape::Tagged => {
                let tag =
                    t["oneOf"][0]["properties"].as_object().and_then(|p| p.keys().next()).cloned().unwrap_or_default();
                (format!("a mapping with `{tag}` and its parameters"), format!("mapping with `{tag}`"))
            }
            Shape::List => {
                let items = t.get("items").map(|i| self.accepts(i, self.shape(i)).1).unwrap_or_default();
                let non_empty =
                    if t.get("minItems").and_then(Value::as_u64).unwrap_or(0) > 0 { "non-empty " } else { "" };
                (format!("a {non_empty}list"), format!("{non_empty}list of: {items}"))
            }
            Shape::Map => (
                "a mapping from dotted keys to non-empty lists of values".into(),
                "mapping: dotted key -> non-empty list of values".into(),
            ),
        }
    }
}

fn text(v: Option<&Value>) -> Option<String> {
    v.and_then(Value::as_str).map(str::to_string)
}

// ------------------------------------------------------------ markdown

/// The reference doc's opening: what no single key says.
const INTRO: &str = "\
# Scenario file reference

<!-- Generated by `fedsim::scenario::reference_markdown()` from the scenario
structs (src/scenario/raw.rs, src/scenario/values.rs): do not edit by hand.
Regenerate with `FEDSIM_BLESS=1 cargo test --test reference_doc`. -->

A scenario is one YAML document (a mapping). This page lists every key,
grouped by section, with its type, allowed range, unit and default. It is
generated from the schema's source, `src/scenario/raw.rs` (one Rust struct
per mapping, one `///` comment per key); the same source gives the JSON
Schema `docs/scenario.schema.json`, which editors can use to check and
complete scenario files (JSON has no infinity: there `.inf` is the string
`\".inf\"`).

General rules:

- Unknown keys are errors everywhere (a typo never passes silently); the
  message lists the keys accepted at that place.
- Required keys are marked *required*; a mapping with a tag (`kind`, `dist`,
  `fn`) needs the tag, and its other keys depend on the tag's value.
- Numbers: integers where an integer is asked; `.inf` only where a rate says
  so; `.nan` never. Durations are milliseconds (`*_ms`), virtual seconds
  (`*_s`) or hours (`*_h`); bandwidth is Mbit/s (10^6 bit/s).
- Paths (`data.csv.path`, `clients.availability.path`) are relative to the
  folder of the scenario file and must exist when the scenario is loaded.
- YAML anchors and aliases work (merge keys `<<` do not); custom tags (`!foo`),
  duplicate keys and a second document
  (`---`) are rejected.
- Every error is one line: `FILE:LINE:COLUMN: KEY: expected WHAT, found
  WHAT`, e.g.
  `scenarios/x.yaml:12:16: clients.dropout.probability: expected a probability in [0, 1], found 1.5`.
  When a `--set` put the value there, the place reads `--set KEY=VALUE`
  instead of `FILE:LINE:COLUMN`.
- An unknown key names the nearest accepted one (`did you mean
  `clients_per_round`?`), or where a key of that name belongs (`dropout`
  belongs under `clients`, not under `clients.profiles[0]`). YAML syntax
  errors are said in plain words (`this line is indented less than the
  mapping it belongs to...`).
- `fedsim validate` reports every independent problem of a file, one a
  line: each value of the wrong type or range and each unknown key, and
  the first problem that involves several keys or the data.
- What needs the data is checked when the scenario is loaded, at the key
  at fault: a CSV's label column and cells, the split `test_fraction`
  leaves, `logistic_regression` on data without two classes.
";

/// The reference doc's closing: `--set`, which is not a key.
const OUTRO: &str = "\
## `--set` overrides

`fedsim run SCENARIO.yaml --set key.path=value` changes one value before the
scenario is checked. `key.path` is a dotted key as above (list items by
index: `clients.profiles[0].share`); `value` is a YAML scalar or flow
collection: `--set strategy.kind=fedbuff`, `--set seed=3`,
`--set stop={rounds: 5}`. Missing mapping keys are created; a list index may
be at most the list's length (which appends). Several `--set`s apply in
order. An error about a value that a `--set` put in place names it:
`--set clients.dropout.probability=1.5: clients.dropout.probability: expected a probability in [0, 1], found 1.5`.
";

/// The reference doc's section on limits, with the estimate's constants.
fn limits_section() -> String {
    use super::estimate::{MAX_EVENTS, MAX_WORK, MEMORY_SAFETY};
    format!(
        "\n## Limits\n\n\
         Every count has an upper bound (the type column above), and a scenario is sized before it runs \
         (`fedsim::scenario::estimate`): the model's parameters, the bytes held at the peak (the models in flight \
         and held, the data, per-client state, scratch), the client tasks, their multiply-adds and the events \
         logged. `validate` and `run` refuse a scenario, at the key behind the largest term and with the \
         estimate, when\n\n\
         - its memory exceeds {:.0}% of the memory this machine has available (`MemAvailable` in \
         `/proc/meminfo`), e.g. `model.hidden[0]: expected a scenario that fits in 18.8 GB of memory (...), found \
         1000000000 units need 600 GB of parameters per model (7.5e10 parameters): about 35.6 TB in all`;\n\
         - its training and evaluation exceed {:.0e} multiply-adds, as huge \
         `local_epochs`, `rounds` or `buffer_size` on ideal devices would;\n\
         - it would log more than {:.0e} events (an evaluation timer `every_s` far below the run's span \
         counts).\n\n\
         The estimates are generous upper bounds, not predictions; a run that passes can still be long.\n",
        MEMORY_SAFETY * 100.0,
        MAX_WORK,
        MAX_EVENTS
    )
}

const TABLE_HEAD: &str = "| key | type and range | default | meaning |\n| --- | --- | --- | --- |\n";

/// `docs/scenario-reference.md`: every dotted key with its type and range,
/// default and meaning, grouped by top-level section, generated from the
/// same source as [`json_schema`].
pub fn reference_markdown() -> String {
    let keys = keys();
    let mut out = String::from(INTRO);
    out.push_str("\n## Top level\n\n");
    out.push_str(TABLE_HEAD);
    let top: Vec<&Key> = keys.iter().filter(|k| !k.key.contains(['.', '['])).collect();
    for k in &top {
        out.push_str(&row(k));
    }
    for section in top.iter().filter(|k| k.shape != Shape::Leaf) {
        out.push_str(&format!("\n## `{}`\n\n", section.key));
        if !section.type_description.is_empty() {
            out.push_str(&section.type_description);
            out.push_str("\n\n");
        }
        // A mapping's keys are `key.x`; a list's items are `key[]` and `key[].x`.
        let (dotted, item) = (format!("{}.", section.key), format!("{}[]", section.key));
        let below: Vec<&Key> = keys.iter().filter(|k| k.key.starts_with(&dotted) || k.key.starts_with(&item)).collect();
        if !below.is_empty() {
            out.push_str(TABLE_HEAD);
            for k in below {
                out.push_str(&row(k));
            }
        }
    }
    out.push('\n');
    out.push_str(OUTRO);
    out.push_str(&limits_section());
    out
}

/// One table row.
fn row(k: &Key) -> String {
    let mut meaning = String::new();
    if let Some((tag, name)) = &k.variant {
        meaning.push_str(&format!("Only with `{tag}: {name}`. "));
    }
    meaning.push_str(&k.description);
    for (name, doc) in &k.values {
        meaning.push_str(&format!("\n\n`{name}`: {doc}"));
    }
    format!("| `{}` | {} | {} | {} |\n", k.key, cell(&k.type_text), cell(&default_cell(k)), cell(meaning.trim()))
}

/// A table cell: one line, `|` escaped.
fn cell(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ").replace('|', "\\|")
}

pub(crate) fn default_cell(k: &Key) -> String {
    match &k.default {
        Some(v) => {
            let flow = flow(v);
            if flow.len() > 40 && k.shape == Shape::Struct {
                "see its keys".into()
            } else {
                format!("`{flow}`")
            }
        }
        None if k.required => "*required*".into(),
        None if k.key.ends_with("[]") => String::new(),
        None if k.description.contains("Default") && !k.description.contains("Default none") => "see meaning".into(),
        None => "none".into(),
    }
}

/// A default in YAML flow style: `{kind: iid}`, `.inf`, `""`.
fn flow(v: &Value) -> String {
    match v {
        Value::Object(m) => {
            format!("{{{}}}", m.iter().map(|(k, v)| format!("{k}: {}", flow(v))).collect::<Vec<_>>().join(", "))
        }
        Value::Array(a) => format!("[{}]", a.iter().map(flow).collect::<Vec<_>>().join(", ")),
        Value::String(s) if s.is_empty() => "\"\"".into(),
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}
