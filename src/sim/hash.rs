//! A hasher for maps keyed by integers the simulation hands out itself
//! (queue sequence numbers, client ids): they are distinct and not chosen
//! by an adversary, so one multiplication spreads them well enough, and a
//! fixed hasher keeps iteration order the same from run to run.

use std::collections::{HashMap, HashSet};
use std::hash::{BuildHasherDefault, Hasher};

/// Hashes an integer key by one multiplication.
///
/// ```
/// use fedsim::sim::IdMap;
/// let mut m: IdMap<u32, &str> = IdMap::default();
/// m.insert(7, "seven");
/// assert_eq!(m[&7], "seven");
/// ```
#[derive(Default)]
pub struct IdHasher(u64);

impl Hasher for IdHasher {
    fn finish(&self) -> u64 {
        // Spread the bits a little: hashbrown reads the top 7 as a tag.
        self.0.wrapping_mul(0x9e37_79b9_7f4a_7c15)
    }

    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = (self.0 << 8) | b as u64;
        }
    }

    // Shifted in, so a key of two u32s (a task's client and serial) keeps
    // both; a lone u32 hashes as the same u64.
    fn write_u32(&mut self, n: u32) {
        self.0 = (self.0 << 32) | u64::from(n);
    }

    fn write_u64(&mut self, n: u64) {
        self.0 = n;
    }
}

/// A map keyed by simulation-assigned integers.
pub type IdMap<K, V> = HashMap<K, V, BuildHasherDefault<IdHasher>>;

/// A set of simulation-assigned integers.
pub type IdSet<K> = HashSet<K, BuildHasherDefault<IdHasher>>;

/// Serializes an [`IdMap`] in key order (`#[serde(serialize_with =
/// "crate::sim::hash::by_key")]`), so a checkpoint's bytes do not depend on
/// the map's history; it reads back as any map does.
///
/// ```
/// use fedsim::sim::IdMap;
/// #[derive(serde::Serialize)]
/// struct Tally {
///     #[serde(serialize_with = "fedsim::sim::hash::by_key")]
///     counts: IdMap<u32, u32>,
/// }
/// let counts: IdMap<u32, u32> = [(9, 1), (2, 5), (4, 0)].into_iter().collect();
/// assert_eq!(serde_json::to_string(&Tally { counts }).unwrap(), r#"{"counts":{"2":5,"4":0,"9":1}}"#);
/// ```
pub fn by_key<K: Ord + serde::Serialize, V: serde::Serialize, S: serde::Serializer>(
    map: &IdMap<K, V>,
    s: S,
) -> Result<S::Ok, S::Error> {
    s.collect_map(map.iter().collect::<std::collections::BTreeMap<_, _>>())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::hash::Hash;

    fn hash<T: Hash>(x: T) -> u64 {
        let mut h = IdHasher::default();
        x.hash(&mut h);
        h.finish()
    }

    #[test]
    fn distinct_ids_hash_apart_and_the_top_bits_vary() {
        let tags: std::collections::HashSet<u64> = (0u32..1000).map(|i| hash(i) >> 57).collect();
        // hashbrown's 7-bit tags: consecutive ids must not share one.
        assert!(tags.len() > 100, "{} tags", tags.len());
        assert_ne!(hash(1u32), hash(2u32));
        assert_eq!(hash(5u64), hash(5u32));
        // Two u32s (a task tag) keep both.
        assert_ne!(hash((1u32, 2u32)), hash((3u32, 2u32)));
        assert_ne!(hash((1u32, 2u32)), hash((2u32, 1u32)));
        // A usize is written as bytes: each byte is shifted in and kept.
        let by_bytes: std::collections::HashSet<u64> = (0usize..1000).map(|i| hash(i) >> 57).collect();
        assert!(by_bytes.len() > 100, "{} tags", by_bytes.len());
        assert_ne!(hash(1usize), hash(2usize));
        assert_ne!(hash(0x0100usize), hash(0x0001usize));
    }
}
