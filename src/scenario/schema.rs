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
    if let Value::Object(root) = &mut schema {
        root.insert("title".into(), "fedsim scenario".into());
    }
    tidy_defaults(&mut schema);
    schema
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
