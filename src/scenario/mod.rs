//! Scenario files: the YAML schema, its validation, and `--set` overrides.

pub mod checked;

pub use checked::*;
