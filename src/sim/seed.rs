//! The seed tree: one scenario seed, an independent RNG stream per purpose
//! and per client.
//!
//! Streams are derived by hashing the parent seed with a label (and an
//! index), never by drawing from a shared generator, so adding a client or
//! a purpose never shifts anyone else's numbers, and the order in which
//! actors run cannot change what they draw.

use rand_pcg::Pcg64Mcg;

/// The generator behind every stream: small (16 bytes), fast, and its state
/// serialises, so a checkpoint can save it.
pub type Rng = Pcg64Mcg;

/// A node of the seed tree.
///
/// ```
/// use fedsim::sim::SeedTree;
/// use rand::RngExt;
/// let root = SeedTree::new(42);
/// let mut a = root.child("net").stream_for(7);
/// let mut b = root.child("net").stream_for(7);
/// assert_eq!(a.random::<u64>(), b.random::<u64>());
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct SeedTree {
    seed: u64,
}

impl SeedTree {
    pub fn new(seed: u64) -> Self {
        SeedTree { seed }
    }

    /// The subtree for one purpose (e.g. `"data.shuffle"`).
    pub fn child(&self, label: &str) -> SeedTree {
        SeedTree { seed: mix(self.seed ^ fnv1a(label.as_bytes())) }
    }

    /// The subtree for one index (e.g. a client id) under this node.
    pub fn index(&self, i: u64) -> SeedTree {
        SeedTree { seed: mix(self.seed.wrapping_add(mix(i.wrapping_add(0x9e37_79b9_7f4a_7c15)))) }
    }

    /// A fresh generator for this node.
    pub fn stream(&self) -> Rng {
        let lo = mix(self.seed);
        let hi = mix(lo ^ 0xd1b5_4a32_d192_ed03);
        Pcg64Mcg::new(((hi as u128) << 64) | lo as u128 | 1)
    }

    /// Shorthand for `self.index(i).stream()`.
    pub fn stream_for(&self, i: u64) -> Rng {
        self.index(i).stream()
    }

    /// The stream of one draw site: this purpose, one client, one task
    /// serial. Draws never depend on how many tasks came before, so there
    /// is no generator state to save.
    ///
    /// ```
    /// use fedsim::sim::SeedTree;
    /// use rand::RngExt;
    /// let net = SeedTree::new(42).child("net");
    /// assert_eq!(net.task(3, 7).random::<u64>(), net.task(3, 7).random::<u64>());
    /// assert_ne!(net.task(3, 7).random::<u64>(), net.task(3, 8).random::<u64>());
    /// ```
    pub fn task(&self, client: u32, serial: u64) -> Rng {
        self.index(client as u64).index(serial).stream()
    }

    /// The raw 64-bit seed of this node (for jobs that build their own stream).
    pub fn seed(&self) -> u64 {
        self.seed
    }
}

/// SplitMix64's finaliser: a bijective avalanche on 64 bits.
fn mix(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// A stable string hash (std's hasher may change between releases).
fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, &b| (h ^ b as u64).wrapping_mul(0x0100_0000_01b3))
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::RngExt;

    #[test]
    fn streams_are_reproducible_and_distinct() {
        let root = SeedTree::new(1);
        let draw = |t: SeedTree| t.stream().random::<u64>();
        assert_eq!(draw(root.child("a")), draw(root.child("a")));
        assert_ne!(draw(root.child("a")), draw(root.child("b")));
        assert_ne!(draw(root.child("a").index(0)), draw(root.child("a").index(1)));
        assert_ne!(draw(SeedTree::new(2).child("a")), draw(root.child("a")));
    }
}
