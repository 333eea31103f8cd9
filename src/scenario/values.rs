//! Checked scalar newtypes, keyword enums and kind-tagged enums for the raw
//! scenario schema.
//!
//! Every range check that needs only one value happens here, inside
//! deserialisation, so that the error carries the dotted path of the key
//! (and through the locator, its line and column). Messages have the form
//! `expected WHAT, found VALUE`; `error.rs` turns them into `ScenarioError`s.

use serde::de::{self, Deserialize, Deserializer, Visitor};
use std::fmt;

/// Marks the start and end of a path prefix inside an error message that
/// crossed a tagged enum (whose content serde cannot track itself).
pub(crate) const PATH_MARK: char = '\u{1}';

/// Formats a float for messages: `1.5`, `-3`, `.inf`.
pub(crate) fn fmt_f64(x: f64) -> String {
    if x.is_nan() {
        ".nan".to_string()
    } else if x.is_infinite() {
        if x > 0.0 { ".inf" } else { "-.inf" }.to_string()
    } else if x != 0.0 && (x.abs() >= 1e16 || x.abs() < 1e-6) {
        format!("{x:e}")
    } else {
        format!("{x}")
    }
}

/// Describes a YAML value for a `found ...` clause.
pub(crate) fn describe(v: &serde_yaml::Value) -> String {
    use serde_yaml::Value;
    match v {
        Value::Null => "null (an empty value)".to_string(),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => match n.as_f64() {
            Some(x) if n.is_f64() => fmt_f64(x),
            _ => n.to_string(),
        },
        Value::String(s) => format!("string {s:?}"),
        Value::Sequence(_) => "a list".to_string(),
        Value::Mapping(_) => "a mapping".to_string(),
        Value::Tagged(t) => format!("a value tagged {}", t.tag),
    }
}

/// Prefixes `msg` with an inner path (relative to the value being
/// deserialised), merging with a path already carried by `msg`.
pub(crate) fn with_inner_path(prefix: &str, msg: &str) -> String {
    let (inner, rest) = split_inner_path(msg);
    let path = match inner {
        None => prefix.to_string(),
        Some(p) if prefix.is_empty() => p.to_string(),
        Some(p) if p.starts_with('[') => format!("{prefix}{p}"),
        Some("") => prefix.to_string(),
        Some(p) => format!("{prefix}.{p}"),
    };
    format!("{PATH_MARK}{path}{PATH_MARK}{rest}")
}

/// Splits a message into (inner path, message) if it carries one.
pub(crate) fn split_inner_path(msg: &str) -> (Option<&str>, &str) {
    if let Some(rest) = msg.strip_prefix(PATH_MARK) {
        if let Some((path, rest)) = rest.split_once(PATH_MARK) {
            return (Some(path), rest);
        }
    }
    (None, msg)
}

/// A doc comment's lines (as `#[doc]` attributes give them) as one text:
/// the single leading space of each line removed, the whole trimmed.
pub(crate) fn doc_text(lines: &[&str]) -> String {
    let lines: Vec<&str> = lines.iter().map(|l| l.strip_prefix(' ').unwrap_or(l)).collect();
    lines.join("\n").trim().to_string()
}

/// The JSON Schema of a checked scalar: `description` (what it accepts, as
/// in messages) first, then the keywords of `body`.
pub(crate) fn leaf_schema(expected: &str, body: serde_json::Value) -> schemars::Schema {
    let mut map = serde_json::Map::new();
    map.insert("description".into(), expected.into());
    if let serde_json::Value::Object(body) = body {
        map.extend(body);
    }
    map.into()
}

/// The JSON Schema of a keyword enum: a string, one of the names, each with
/// its variant's doc comment.
pub(crate) fn keyword_schema(doc: &str, names: &[&str], docs: &[String]) -> schemars::Schema {
    let one_of: Vec<serde_json::Value> =
        names.iter().zip(docs).map(|(name, doc)| serde_json::json!({ "const": name, "description": doc })).collect();
    let mut map = serde_json::Map::new();
    map.insert("description".into(), doc.into());
    map.insert("type".into(), "string".into());
    map.insert("oneOf".into(), one_of.into());
    map.into()
}

/// The JSON Schema of a tagged enum: an object, one of the variants, each
/// the variant's parameter schema with the tag (a `const`) as its first
/// property and first required key, and the variant's doc comment.
pub(crate) fn tagged_schema(doc: &str, tag: &str, variants: Vec<(&str, String, schemars::Schema)>) -> schemars::Schema {
    use serde_json::{Map, Value};
    let one_of: Vec<Value> = variants
        .into_iter()
        .map(|(name, doc, payload)| {
            let payload = payload.to_value();
            let field = |k: &str| payload.get(k).cloned();
            let mut properties = Map::new();
            properties.insert(tag.into(), serde_json::json!({ "const": name }));
            if let Some(Value::Object(p)) = field("properties") {
                properties.extend(p);
            }
            let mut required = vec![Value::from(tag)];
            if let Some(Value::Array(r)) = field("required") {
                required.extend(r);
            }
            let mut out = Map::new();
            out.insert("description".into(), doc.into());
            out.insert("type".into(), "object".into());
            out.insert("properties".into(), properties.into());
            out.insert("required".into(), required.into());
            out.insert("additionalProperties".into(), false.into());
            Value::Object(out)
        })
        .collect();
    let mut map = Map::new();
    map.insert("description".into(), doc.into());
    map.insert("type".into(), "object".into());
    map.insert("oneOf".into(), one_of.into());
    map.into()
}

/// Serialises a checked float: the number, or `.inf` as that string (JSON
/// has no infinity).
fn serialize_f64<S: serde::Serializer>(x: f64, s: S) -> Result<S::Ok, S::Error> {
    if x.is_finite() {
        s.serialize_f64(x)
    } else {
        s.serialize_str(&fmt_f64(x))
    }
}

/// Float newtypes: `name, "what is expected", |x| condition, {JSON Schema
/// keywords of the same range}`.
macro_rules! float_newtype {
    ($(#[$m:meta])* $name:ident, $expect:literal, |$x:ident| $ok:expr, $schema:tt) => {
        $(#[$m])*
        #[derive(Debug, Clone, Copy, PartialEq, PartialOrd)]
        pub struct $name(pub f64);

        impl $name {
            /// What this type accepts, for messages and the reference doc.
            pub const EXPECTED: &'static str = $expect;
            /// Checks `x` (as deserialisation does).
            pub fn new(x: f64) -> Result<Self, String> {
                let $x = x;
                if $ok {
                    Ok($name(x))
                } else {
                    Err(format!("expected {}, found {}", $expect, fmt_f64(x)))
                }
            }
        }

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                struct V;
                impl<'de> Visitor<'de> for V {
                    type Value = $name;
                    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                        f.write_str($expect)
                    }
                    fn visit_f64<E: de::Error>(self, v: f64) -> Result<$name, E> {
                        $name::new(v).map_err(E::custom)
                    }
                    fn visit_i64<E: de::Error>(self, v: i64) -> Result<$name, E> {
                        self.visit_f64(v as f64)
                    }
                    fn visit_u64<E: de::Error>(self, v: u64) -> Result<$name, E> {
                        self.visit_f64(v as f64)
                    }
                }
                d.deserialize_f64(V)
            }
        }

        impl serde::Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                serialize_f64(self.0, s)
            }
        }

        impl schemars::JsonSchema for $name {
            fn schema_name() -> std::borrow::Cow<'static, str> {
                stringify!($name).into()
            }
            fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
                leaf_schema($expect, serde_json::json!($schema))
            }
        }
    };
}

/// Integer newtypes: `name(type), "what is expected", min, max`.
macro_rules! int_newtype {
    ($(#[$m:meta])* $name:ident($t:ty), $expect:literal, $min:expr, $max:expr) => {
        $(#[$m])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub struct $name(pub $t);

        impl $name {
            /// What this type accepts, for messages and the reference doc.
            pub const EXPECTED: &'static str = $expect;
        }

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                struct V;
                impl<'de> Visitor<'de> for V {
                    type Value = $name;
                    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                        f.write_str($expect)
                    }
                    fn visit_u64<E: de::Error>(self, v: u64) -> Result<$name, E> {
                        let min: u64 = $min;
                        let max: u64 = $max;
                        if v < min || v > max {
                            return Err(E::custom(format!("expected {}, found {v}", $expect)));
                        }
                        <$t>::try_from(v)
                            .map($name)
                            .map_err(|_| E::custom(format!("expected {}, found {v}", $expect)))
                    }
                    fn visit_i64<E: de::Error>(self, v: i64) -> Result<$name, E> {
                        match u64::try_from(v) {
                            Ok(u) => self.visit_u64(u),
                            Err(_) => Err(E::custom(format!("expected {}, found {v}", $expect))),
                        }
                    }
                    fn visit_f64<E: de::Error>(self, v: f64) -> Result<$name, E> {
                        if v.fract() == 0.0 && v >= 0.0 && v < u64::MAX as f64 {
                            self.visit_u64(v as u64)
                        } else {
                            Err(E::custom(format!("expected {}, found {}", $expect, fmt_f64(v))))
                        }
                    }
                }
                d.deserialize_u64(V)
            }
        }

        impl serde::Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                serde::Serialize::serialize(&self.0, s)
            }
        }

        impl schemars::JsonSchema for $name {
            fn schema_name() -> std::borrow::Cow<'static, str> {
                stringify!($name).into()
            }
            fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
                let min: u64 = $min;
                let max: u64 = $max;
                let mut body = serde_json::json!({ "type": "integer", "minimum": min });
                // Only bounds that do not depend on the platform's usize.
                if max <= u64::from(u32::MAX) {
                    body["maximum"] = max.into();
                }
                leaf_schema($expect, body)
            }
        }
    };
}

float_newtype!(
    /// A probability in [0, 1].
    Probability, "a probability in [0, 1]", |x| (0.0..=1.0).contains(&x),
    { "type": "number", "minimum": 0, "maximum": 1 }
);
float_newtype!(
    /// A fraction strictly between 0 and 1.
    OpenFraction, "a fraction in (0, 1), exclusive", |x| x > 0.0 && x < 1.0,
    { "type": "number", "exclusiveMinimum": 0, "exclusiveMaximum": 1 }
);
float_newtype!(
    /// A fraction in (0, 1]: more than nothing, at most everything.
    UnitFraction, "a fraction in (0, 1]", |x| x > 0.0 && x <= 1.0,
    { "type": "number", "exclusiveMinimum": 0, "maximum": 1 }
);
float_newtype!(
    /// A finite number > 0.
    PositiveF64, "a finite number > 0", |x| x > 0.0 && x.is_finite(),
    { "type": "number", "exclusiveMinimum": 0 }
);
float_newtype!(
    /// A finite number, of any sign.
    FiniteF64, "a finite number", |x| x.is_finite(),
    { "type": "number" }
);
float_newtype!(
    /// A finite number >= 0.
    NonNegativeF64, "a finite number >= 0", |x| x >= 0.0 && x.is_finite(),
    { "type": "number", "minimum": 0 }
);
float_newtype!(
    /// A rate > 0; `.inf` means "takes no time".
    Rate, "a number > 0 (or .inf for no delay)", |x| x > 0.0,
    { "anyOf": [{ "type": "number", "exclusiveMinimum": 0 }, { "const": ".inf" }] }
);
float_newtype!(
    /// A duration in milliseconds, finite and >= 0.
    NonNegativeMs, "a duration in ms, finite and >= 0", |x| x >= 0.0 && x.is_finite(),
    { "type": "number", "minimum": 0 }
);
float_newtype!(
    /// A duration in milliseconds, finite and > 0.
    PositiveMs, "a duration in ms, finite and > 0", |x| x > 0.0 && x.is_finite(),
    { "type": "number", "exclusiveMinimum": 0 }
);
float_newtype!(
    /// A finite factor >= 1.
    AtLeastOne, "a finite number >= 1", |x| x >= 1.0 && x.is_finite(),
    { "type": "number", "minimum": 1 }
);
float_newtype!(
    /// A fraction in [0, 1): nothing up to, but not including, everything
    /// (decay rates, momentum).
    DecayFraction, "a fraction in [0, 1)", |x| (0.0..1.0).contains(&x),
    { "type": "number", "minimum": 0, "exclusiveMaximum": 1 }
);
float_newtype!(
    /// A fraction in [0, 0.5): what may be cut from each end of a sorted
    /// list and leave something in the middle.
    TrimFraction, "a fraction in [0, 0.5)", |x| (0.0..0.5).contains(&x),
    { "type": "number", "minimum": 0, "exclusiveMaximum": 0.5 }
);

int_newtype!(
    /// An integer >= 1 (fits a usize).
    PositiveUsize(usize), "an integer >= 1", 1, usize::MAX as u64
);
int_newtype!(
    /// An integer >= 1 (fits a u32).
    PositiveU32(u32), "an integer >= 1", 1, u32::MAX as u64
);
int_newtype!(
    /// An integer >= 1.
    PositiveU64(u64), "an integer >= 1", 1, u64::MAX
);
int_newtype!(
    /// An integer >= 0.
    NonNegativeU64(u64), "an integer >= 0", 0, u64::MAX
);
int_newtype!(
    /// An integer >= 0 (fits a usize).
    NonNegativeUsize(usize), "an integer >= 0", 0, usize::MAX as u64
);
// Bounded counts. Each bound is far beyond any useful scenario and low
// enough that products of counts (rows x features, clients x shards,
// rounds x clients) stay exact in u64 and f64; what fits the machine is
// then checked by `estimate`.
int_newtype!(
    /// Registered clients (and per-round counts taken from them), 1 to 10^8.
    ClientCount(usize), "an integer from 1 to 100000000", 1, 100_000_000
);
int_newtype!(
    /// A count of clients that may be none, 0 to 10^8.
    ClientCount0(usize), "an integer from 0 to 100000000", 0, 100_000_000
);
int_newtype!(
    /// Units of a hidden layer, 1 to 10^9 (the memory estimate refuses
    /// what does not fit long before).
    LayerWidth(usize), "an integer from 1 to 1000000000", 1, 1_000_000_000
);
int_newtype!(
    /// Features per row of generated data, 1 to 10^7.
    FeatureCount(usize), "an integer from 1 to 10000000", 1, 10_000_000
);
int_newtype!(
    /// Classes of generated data, 2 to 10^5.
    ClassCount(usize), "an integer from 2 to 100000", 2, 100_000
);
int_newtype!(
    /// Rows of generated data, 1 to 4 * 10^9 (row indices are u32).
    SampleCount(usize), "an integer from 1 to 4000000000", 1, 4_000_000_000
);
int_newtype!(
    /// Shards per client, 1 to 10^6.
    ShardCount(usize), "an integer from 1 to 1000000", 1, 1_000_000
);
int_newtype!(
    /// Local epochs per task, 1 to 10^6.
    EpochCount(u32), "an integer from 1 to 1000000", 1, 1_000_000
);
int_newtype!(
    /// Rows per local step, 1 to 10^9.
    BatchSize(usize), "an integer from 1 to 1000000000", 1, 1_000_000_000
);
int_newtype!(
    /// Updates per buffered aggregation, 1 to 10^6.
    BufferSize(usize), "an integer from 1 to 1000000", 1, 1_000_000
);
int_newtype!(
    /// Server model versions, 1 to 10^9.
    RoundCount(u64), "an integer from 1 to 1000000000", 1, 1_000_000_000
);
float_newtype!(
    /// A virtual duration in seconds, finite and at least 1 ms: intervals
    /// and deadlines shorter than that would close rounds or tick
    /// evaluations without the clock moving on.
    Interval, "a duration in s, finite and >= 0.001", |x| (0.001..).contains(&x) && x.is_finite(),
    { "type": "number", "minimum": 0.001 }
);

int_newtype!(
    /// Bits per quantised value, 1 to 32.
    QuantBits(u8), "a bit width from 1 to 32", 1, 32
);

/// A name: one or more of `a-z`, `0-9`, `_`, `-`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Name(pub String);

impl Name {
    /// What a name may be, for messages and the reference doc.
    pub const EXPECTED: &'static str = "a name of lowercase letters, digits, `_` and `-`";

    /// Checks a name.
    pub fn new(s: &str) -> Result<Self, String> {
        if !s.is_empty() && s.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b'-') {
            Ok(Name(s.to_string()))
        } else {
            Err(format!("expected {}, found {s:?}", Self::EXPECTED))
        }
    }
}

impl<'de> Deserialize<'de> for Name {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Name;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str(Name::EXPECTED)
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Name, E> {
                Name::new(v).map_err(E::custom)
            }
        }
        d.deserialize_str(V)
    }
}

impl serde::Serialize for Name {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.0)
    }
}

impl schemars::JsonSchema for Name {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "Name".into()
    }
    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        leaf_schema(Name::EXPECTED, serde_json::json!({ "type": "string", "pattern": "^[a-z0-9_-]+$" }))
    }
}

/// Free text: a string, or a number or boolean taken as its text.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Text(pub String);

impl<'de> Deserialize<'de> for Text {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Text;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a string")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Text, E> {
                Ok(Text(v.to_string()))
            }
            fn visit_bool<E: de::Error>(self, v: bool) -> Result<Text, E> {
                Ok(Text(v.to_string()))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Text, E> {
                Ok(Text(v.to_string()))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Text, E> {
                Ok(Text(v.to_string()))
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<Text, E> {
                Ok(Text(fmt_f64(v)))
            }
        }
        d.deserialize_any(V)
    }
}

impl Text {
    /// What text may be, for the reference doc.
    pub const EXPECTED: &'static str = "a string";
}

impl serde::Serialize for Text {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.0)
    }
}

impl schemars::JsonSchema for Text {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "Text".into()
    }
    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        // A number or boolean is taken as its text.
        leaf_schema(Text::EXPECTED, serde_json::json!({ "type": ["string", "number", "boolean"] }))
    }
}

/// A keyword enum: a closed set of lowercase names.
macro_rules! keyword_enum {
    (
        $(#[doc = $doc:literal])*
        pub enum $name:ident {
            $( $(#[doc = $vdoc:literal])* $variant:ident = $text:literal, )+
        }
    ) => {
        $(#[doc = $doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum $name {
            $( $(#[doc = $vdoc])* $variant, )+
        }

        impl serde::Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(self.name())
            }
        }

        impl schemars::JsonSchema for $name {
            fn schema_name() -> std::borrow::Cow<'static, str> {
                stringify!($name).into()
            }
            fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
                $crate::scenario::values::keyword_schema(
                    &$crate::scenario::values::doc_text(&[$($doc),*]),
                    $name::NAMES,
                    &[$($crate::scenario::values::doc_text(&[$($vdoc),*])),+],
                )
            }
        }

        impl $name {
            /// Every accepted name, in schema order.
            pub const NAMES: &'static [&'static str] = &[$($text),+];

            /// The YAML name of this value.
            pub fn name(self) -> &'static str {
                match self {
                    $( $name::$variant => $text, )+
                }
            }
        }

        impl<'de> serde::Deserialize<'de> for $name {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                struct V;
                impl<'de> serde::de::Visitor<'de> for V {
                    type Value = $name;
                    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                        write!(f, "one of {}", $name::NAMES.join(", "))
                    }
                    fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<$name, E> {
                        match v {
                            $( $text => Ok($name::$variant), )+
                            _ => Err(E::unknown_variant(v, $name::NAMES)),
                        }
                    }
                }
                d.deserialize_str(V)
            }
        }
    };
}
pub(crate) use keyword_enum;

/// A mapping whose `$tag` key picks the variant; each variant's struct takes
/// the remaining keys (with `deny_unknown_fields`). Errors inside a variant
/// keep their path (serde's own internally tagged enums lose it).
macro_rules! tagged_enum {
    (
        tag = $tag:literal;
        $(#[doc = $doc:literal])*
        pub enum $name:ident {
            $( $(#[doc = $vdoc:literal])* $variant:ident($payload:ty) = $text:literal, )+
        }
    ) => {
        $(#[doc = $doc])*
        #[derive(Debug, Clone, PartialEq)]
        pub enum $name {
            $( $(#[doc = $vdoc])* $variant($payload), )+
        }

        /// The tag, then the variant's parameters.
        impl serde::Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                use serde::ser::Error as _;
                let (name, payload) = match self {
                    $( $name::$variant(p) => ($text, serde_json::to_value(p).map_err(S::Error::custom)?), )+
                };
                let mut map = serde_json::Map::new();
                map.insert($tag.into(), name.into());
                if let serde_json::Value::Object(p) = payload {
                    map.extend(p);
                }
                serde::Serialize::serialize(&map, s)
            }
        }

        impl schemars::JsonSchema for $name {
            fn schema_name() -> std::borrow::Cow<'static, str> {
                stringify!($name).into()
            }
            fn json_schema(generator: &mut schemars::SchemaGenerator) -> schemars::Schema {
                $crate::scenario::values::tagged_schema(
                    &$crate::scenario::values::doc_text(&[$($doc),*]),
                    $tag,
                    vec![$((
                        $text,
                        $crate::scenario::values::doc_text(&[$($vdoc),*]),
                        <$payload as schemars::JsonSchema>::json_schema(generator),
                    )),+],
                )
            }
        }

        impl $name {
            /// The discriminating key.
            pub const TAG: &'static str = $tag;
            /// Every accepted value of the tag, in schema order.
            pub const NAMES: &'static [&'static str] = &[$($text),+];

            /// The YAML name of this variant.
            pub fn name(&self) -> &'static str {
                match self {
                    $( $name::$variant(_) => $text, )+
                }
            }
        }

        impl<'de> serde::Deserialize<'de> for $name {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                use serde::de::Error as _;
                use serde_yaml::Value;
                let value = Value::deserialize(d)?;
                let mut map = match value {
                    Value::Mapping(m) => m,
                    other => {
                        return Err(D::Error::custom(format!(
                            "expected a mapping with `{}: {}` and its parameters, found {}",
                            $tag,
                            $name::NAMES.join(" | "),
                            $crate::scenario::values::describe(&other)
                        )))
                    }
                };
                let tag = match map.remove($tag) {
                    None => return Err(D::Error::missing_field($tag)),
                    Some(Value::String(s)) => s,
                    Some(other) => {
                        return Err(D::Error::custom($crate::scenario::values::with_inner_path(
                            $tag,
                            &format!(
                                "expected one of {}, found {}",
                                $name::NAMES.join(", "),
                                $crate::scenario::values::describe(&other)
                            ),
                        )))
                    }
                };
                let rest = Value::Mapping(map);
                fn inner<T: serde::de::DeserializeOwned, E: serde::de::Error>(
                    rest: Value,
                ) -> Result<T, E> {
                    serde_path_to_error::deserialize::<_, T>(rest).map_err(|e| {
                        let path = e.path().to_string();
                        let path = if path == "." { String::new() } else { path };
                        let msg = e.inner().to_string();
                        let msg = $crate::scenario::values::add_accepted(&msg, $tag);
                        E::custom($crate::scenario::values::with_inner_path(&path, &msg))
                    })
                }
                match tag.as_str() {
                    $( $text => inner::<$payload, D::Error>(rest).map($name::$variant), )+
                    other => Err(D::Error::custom($crate::scenario::values::with_inner_path(
                        $tag,
                        &format!("unknown variant `{}`, expected one of {}", other,
                            $name::NAMES.iter().map(|n| format!("`{n}`")).collect::<Vec<_>>().join(", ")),
                    ))),
                }
            }
        }
    };
}
pub(crate) use tagged_enum;

/// Adds the tag key to the accepted keys of an "unknown field" message from
/// inside a tagged enum's variant.
pub(crate) fn add_accepted(msg: &str, tag: &str) -> String {
    let (path, rest) = split_inner_path(msg);
    if path.is_some() {
        return msg.to_string();
    }
    if let Some(after) = rest.strip_prefix("unknown field `") {
        if let Some((field, _)) = after.split_once('`') {
            let mut accepted = vec![tag.to_string()];
            accepted.extend(accepted_names(rest));
            let list: Vec<String> = accepted.iter().map(|a| format!("`{a}`")).collect();
            return format!("unknown field `{field}`, expected one of {}", list.join(", "));
        }
    }
    msg.to_string()
}

/// The backticked names after "expected" in a serde unknown field/variant
/// message.
pub(crate) fn accepted_names(msg: &str) -> Vec<String> {
    let Some((_, after)) = msg.split_once(", expected ") else {
        return Vec::new();
    };
    after.split('`').skip(1).step_by(2).map(str::to_string).collect()
}
