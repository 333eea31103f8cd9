//! Serde glue for the parts of a strategy's state whose types cannot derive
//! it here: the scenario's [`Staleness`], the clock's [`VirtualTime`], and
//! the `&'static str` names the [`super::Strategy`] trait hands out.
//!
//! The formats are plain (a name is its string, an instant its
//! nanoseconds), so a checkpoint does not depend on these types' internals.

use crate::scenario::Staleness;
use crate::sim::VirtualTime;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// [`Staleness`] as serde sees it (a remote derive: the type is the
/// scenario's, which does not depend on serde).
#[derive(Serialize, Deserialize)]
#[serde(remote = "Staleness")]
pub(super) enum StalenessDef {
    Constant,
    Polynomial { a: f64 },
    Hinge { a: f64, b: f64 },
}

/// An optional instant, saved as its nanoseconds.
pub(super) mod opt_time {
    use super::*;

    pub fn serialize<S: Serializer>(t: &Option<VirtualTime>, s: S) -> Result<S::Ok, S::Error> {
        t.map(VirtualTime::as_nanos).serialize(s)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<VirtualTime>, D::Error> {
        Ok(Option::<u64>::deserialize(d)?.map(VirtualTime::from_nanos))
    }
}

/// A strategy's `&'static str` name, saved as its string. (A newtype: on
/// a bare `&'static str` field serde's derive would demand that the input
/// outlive the program.)
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Name(pub &'static str);

/// Every name `strategy::build` gives out (the scenario's strategy kinds),
/// so that restoring one of them allocates nothing.
const KNOWN: &[&str] = crate::scenario::StrategyKind::NAMES;

impl Serialize for Name {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.0)
    }
}

impl<'de> Deserialize<'de> for Name {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let name = String::deserialize(d)?;
        // A name a user gave a hand-built strategy is leaked once per
        // restore: a few bytes, and the trait promises a 'static name.
        Ok(Name(KNOWN.iter().copied().find(|k| *k == name).unwrap_or_else(|| Box::leak(name.into_boxed_str()))))
    }
}
