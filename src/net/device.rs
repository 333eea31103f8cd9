//! Devices and the time model of one task (spec section 2):
//!
//! ```text
//! download = latency_down + bytes_down * 8 / (down_mbps * 1e6)
//! compute  = local_epochs * local_samples / samples_per_s  (+ jitter)
//! upload   = latency_up + bytes_up * 8 / (up_mbps * 1e6)
//! ```

use super::delay::DelaySampler;
use crate::scenario::{Delay, Profile};
use crate::sim::{Rng, SeedTree};
use rand::seq::SliceRandom;
use rand::RngExt;

/// One client's hardware and link.
#[derive(Debug, Clone, PartialEq)]
pub struct Device {
    pub latency: DelaySampler,
    /// bit/s; infinite: transfers take no time.
    pub up_bps: f64,
    pub down_bps: f64,
    /// infinite: compute takes no time.
    pub samples_per_s: f64,
    pub jitter: Option<DelaySampler>,
}

impl Device {
    /// A device on which nothing takes time (scenarios without profiles).
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

    /// Draws one task: latencies from `net` (download first), jitter from
    /// `compute`, the dropout decision and instant from `dropout`.
    ///
    /// ```
    /// use fedsim::net::{Device, TaskRngs};
    /// use fedsim::sim::SeedTree;
    /// let t = SeedTree::new(1);
    /// let (mut a, mut b, mut c) = (t.child("n").stream(), t.child("c").stream(), t.child("d").stream());
    /// let plan = Device::ideal().plan_task(2600, 2600, 100.0, 0.0, TaskRngs { net: &mut a, compute: &mut b, dropout: &mut c });
    /// assert_eq!(plan.total_s(), 0.0);
    /// assert_eq!(plan.drop_at_s, None);
    /// ```
    pub fn plan_task(
        &self,
        bytes_down: u64,
        bytes_up: u64,
        work_samples: f64,
        dropout: f64,
        rngs: TaskRngs<'_>,
    ) -> TaskPlan {
        let download_s = self.latency.sample_s(rngs.net) + bytes_down as f64 * 8.0 / self.down_bps;
        let jitter_s = self.jitter.map_or(0.0, |j| j.sample_s(rngs.compute));
        let compute_s = work_samples / self.samples_per_s + jitter_s;
        let upload_s = self.latency.sample_s(rngs.net) + bytes_up as f64 * 8.0 / self.up_bps;
        let mut plan = TaskPlan { download_s, compute_s, upload_s, drop_at_s: None };
        if dropout > 0.0 && rngs.dropout.random::<f64>() < dropout {
            plan.drop_at_s = Some(rngs.dropout.random::<f64>() * plan.total_s());
        }
        plan
    }
}

/// The client's own streams a task draws from.
pub struct TaskRngs<'a> {
    pub net: &'a mut Rng,
    pub compute: &'a mut Rng,
    pub dropout: &'a mut Rng,
}

/// The phases of one task, as offsets in seconds from its start.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TaskPlan {
    pub download_s: f64,
    pub compute_s: f64,
    pub upload_s: f64,
    /// `Some(s)`: the client vanishes `s` seconds after the start.
    pub drop_at_s: Option<f64>,
}

impl TaskPlan {
    pub fn total_s(&self) -> f64 {
        self.download_s + self.compute_s + self.upload_s
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
        let v = place_profiles(&[1.0 / 3.0; 3], 100, SeedTree::new(0));
        assert_eq!(v.len(), 100);
        assert_eq!(count_of(&v, 0), 34);
        assert_ne!(
            place_profiles(&[0.5, 0.5], 20, SeedTree::new(1)),
            place_profiles(&[0.5, 0.5], 20, SeedTree::new(2))
        );
    }

    #[test]
    fn dropout_rate_matches_probability() {
        let t = SeedTree::new(11);
        let (mut a, mut b, mut c) = (t.child("n").stream(), t.child("c").stream(), t.child("d").stream());
        let d = Device::ideal();
        let n = 20_000;
        let drops = (0..n)
            .filter(|_| {
                d.plan_task(1, 1, 1.0, 0.3, TaskRngs { net: &mut a, compute: &mut b, dropout: &mut c })
                    .drop_at_s
                    .is_some()
            })
            .count();
        let sd = (n as f64 * 0.3 * 0.7).sqrt();
        assert!((drops as f64 - 0.3 * n as f64).abs() < 3.0 * sd);
    }
}
