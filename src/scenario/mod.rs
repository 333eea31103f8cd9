//! Scenario files: the YAML schema, its validation, and `--set` overrides.
//!
//! [`load_file`] / [`load_str`] turn a scenario's text (plus `--set`
//! overrides) into a [`Scenario`] whose values have all been checked, or
//! into one [`ScenarioError`] that names the file, line and column, the
//! dotted key, what was expected and what was found. The schema is
//! [`raw`]: its structs, `///` comments, defaults and checked types are the
//! one source of [`json_schema`] (`docs/scenario.schema.json`) and
//! [`reference_markdown`] (`docs/scenario-reference.md`).

pub mod checked;
mod error;
pub mod estimate;
mod keys;
mod load;
mod overrides;
pub mod raw;
mod resolved;
mod schema;
mod validate;
pub mod values;
mod yaml;

pub use checked::*;
pub use error::{Location, ScenarioError};
pub use load::{load_file, load_file_all, load_str};
pub use overrides::Override;
pub use resolved::{hash as resolved_hash, with_absolute_paths};
pub use schema::{json_schema, reference_markdown};

#[cfg(test)]
mod tests;
