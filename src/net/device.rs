//! Devices: one client's compute speed and link (spec section 1).
//!
//! A device answers how long things take on it; the draws that make a
//! task's latencies and jitter come from [`super::Network`], one stream per
//! (purpose, client, task serial).

use super::delay::DelaySampler;
use crate::scenario::{Delay, Profile};
use crate::sim::SeedTree;
use rand::seq::SliceRandom;

/// One client's hardware and link.
#[derive(Debug, Clone, PartialEq)]
pub struct Device {
    /// One-way latency of every message, drawn per message.
    pub latency: DelaySampler,
    /// bit/s; infinite: transfers take no time.
    pub up_bps: f64,
    pub down_bps: f64,
    /// Samples per second of local training; infinite: compute takes no time.
    pub samples_per_s: f64,
    /// Extra compute time, drawn once per task.
    pub jitter: Option<DelaySampler>,
}

impl Device {
    /// A device on which nothing takes time (scenarios without profiles).
    ///
    /// ```
    /// use fedsim::net::Device;
    /// let d = Device::ideal();
    /// assert_eq!(d.compute_s(1000.0, 0.0), 0.0);
    /// ```
    pub fn ideal() -> Self {
        Device {
            latency: DelaySampler::new(Delay::Constant { ms: 0.0 }),
            up_bps: f64::INFINITY,
            down_bps: f64::INFINITY,
            samples_per_s: f64::INFINITY,
            jitter: None,
        }
    }

    pub fn from_profile(p: &Profile) -> Self {
        Device {
            latency: DelaySampler::new(p.network.latency),
            up_bps: p.network.up_mbps * 1e6,
            down_bps: p.network.down_mbps * 1e6,
            samples_per_s: p.compute.samples_per_s,
            jitter: p.compute.jitter.map(DelaySampler::new),
        }
    }

    /// Local training time in seconds: `work_samples / samples_per_s + jitter`.
    pub fn compute_s(&self, work_samples: f64, jitter_s: f64) -> f64 {
        work_samples / self.samples_per_s + jitter_s
    }
}

/// Which profile each client gets: exact counts (`round(share * count)` by
/// largest remainder, ties to the earlier profile), randomly placed.
///
/// ```
/// use fedsim::net::place_profiles;
/// use fedsim::sim::SeedTree;
/// let idx = place_profiles(&[0.8, 0.2], 10, SeedTree::new(1));
/// assert_eq!(idx.iter().filter(|&&p| p == 1).count(), 2);
/// ```
pub fn place_profiles(shares: &[f64], count: usize, seeds: SeedTree) -> Vec<u16> {
    if shares.is_empty() {
        return vec![0; count];
    }
    let exact: Vec<f64> = shares.iter().map(|s| s * count as f64).collect();
    let mut counts: Vec<usize> = exact.iter().map(|e| e.floor() as usize).collect();
    let mut order: Vec<usize> = (0..shares.len()).collect();
    // Stable sort: equal remainders keep profile order.
    order.sort_by(|&a, &b| (exact[b] - exact[b].floor()).total_cmp(&(exact[a] - exact[a].floor())));
    let short = count.saturating_sub(counts.iter().sum());
    for &p in order.iter().cycle().take(short) {
        counts[p] += 1;
    }
    let mut placed: Vec<u16> = counts.iter().enumerate().flat_map(|(p, &n)| std::iter::repeat_n(p as u16, n)).collect();
    placed.truncate(count);
    placed.shuffle(&mut seeds.stream());
    placed
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shares_give_exact_counts_by_largest_remainder() {
        let count_of = |v: &[u16], p| v.iter().filter(|&&x| x == p).count();
        let v = place_profiles(&[0.5, 0.3, 0.2], 7, SeedTree::new(0));
        // 3.5, 2.1, 1.4 -> floors 3,2,1 (6); the largest remainder (0.5) gets the 7th.
        assert_eq!((count_of(&v, 0), count_of(&v, 1), count_of(&v, 2)), (4, 2, 1));
        // 2.3, 7.7: the later profile's larger remainder (0.7) gets the 10th.
        let v = place_profiles(&[0.23, 0.77], 10, SeedTree::new(0));
        assert_eq!((count_of(&v, 0), count_of(&v, 1)), (2, 8));
        let v = place_profiles(&[1.0 / 3.0; 3], 100, SeedTree::new(0));
        assert_eq!(v.len(), 100);
        assert_eq!(count_of(&v, 0), 34);
        assert_ne!(
            place_profiles(&[0.5, 0.5], 20, SeedTree::new(1)),
            place_profiles(&[0.5, 0.5], 20, SeedTree::new(2))
        );
    }
}
