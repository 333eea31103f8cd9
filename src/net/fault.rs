//! Scheduled faults (`faults:`), as the kernel and the server consult
//! them: which clients each fault hits (drawn from the seed, or listed),
//! and whether a message sent at an instant is lost or slowed.
//!
//! A fault holds over `[at_s, at_s + duration_s)`. Whether a message is
//! lost or slowed is decided once, at the instant it is sent: a message
//! already under way when a partition starts still arrives, and one sent
//! on a slowed link keeps its slow rate to the end. `docs/time-model.md`
//! ("Faults") gives the rules.

use crate::scenario::{FaultKind, FaultSpec, FaultTargets};
use crate::sim::{SeedTree, VirtualTime};

/// Which clients a fault hits.
#[derive(Debug, Clone, PartialEq)]
enum Hit {
    All,
    /// Sorted ids.
    Some(Vec<u32>),
}

impl Hit {
    fn contains(&self, client: u32) -> bool {
        match self {
            Hit::All => true,
            Hit::Some(ids) => ids.binary_search(&client).is_ok(),
        }
    }

    fn count(&self, clients: usize) -> usize {
        match self {
            Hit::All => clients,
            Hit::Some(ids) => ids.len(),
        }
    }
}

/// One fault, resolved.
#[derive(Debug, Clone, PartialEq)]
pub struct Window {
    pub start: VirtualTime,
    pub end: VirtualTime,
    pub kind: FaultKind,
    hit: Hit,
}

impl Window {
    fn holds(&self, now: VirtualTime) -> bool {
        self.start <= now && now < self.end
    }
}

/// The run's faults.
///
/// ```
/// use fedsim::net::Faults;
/// use fedsim::scenario::{FaultKind, FaultSpec, FaultTargets};
/// use fedsim::sim::{SeedTree, VirtualTime};
/// let cut = FaultSpec { at_s: 10.0, duration_s: 5.0, kind: FaultKind::Partition(FaultTargets::Clients(vec![3])) };
/// let f = Faults::new(&[cut], 10, SeedTree::new(1));
/// let s = |x: f64| VirtualTime::from_secs_f64(x);
/// assert!(!f.cuts(s(9.9), 3) && f.cuts(s(10.0), 3) && !f.cuts(s(15.0), 3));
/// assert!(!f.cuts(s(12.0), 4));
/// ```
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Faults {
    windows: Vec<Window>,
    clients: usize,
}

impl Faults {
    /// Resolves the scenario's faults over `clients` clients; a fraction's
    /// clients are drawn from `seeds` (purpose `faults`, one stream per
    /// fault).
    pub fn new(specs: &[FaultSpec], clients: usize, seeds: SeedTree) -> Self {
        let windows = specs
            .iter()
            .enumerate()
            .map(|(i, f)| {
                let targets = match &f.kind {
                    FaultKind::Partition(t) | FaultKind::SlowLink { targets: t, .. } => Some(t),
                    FaultKind::ServerDown => None,
                };
                let hit = match targets {
                    None => Hit::All,
                    Some(FaultTargets::Fraction(x)) if *x >= 1.0 => Hit::All,
                    Some(FaultTargets::Fraction(x)) => {
                        let m = ((x * clients as f64).round() as usize).min(clients);
                        let mut rng = seeds.child("faults").stream_for(i as u64);
                        let mut ids: Vec<u32> =
                            rand::seq::index::sample(&mut rng, clients, m).into_iter().map(|c| c as u32).collect();
                        ids.sort_unstable();
                        Hit::Some(ids)
                    }
                    Some(FaultTargets::Clients(ids)) => Hit::Some(ids.clone()),
                };
                let start = VirtualTime::from_secs_f64(f.at_s);
                let end = VirtualTime::from_secs_f64(f.at_s + f.duration_s);
                Window { start, end, kind: f.kind.clone(), hit }
            })
            .collect();
        Faults { windows, clients }
    }

    pub fn windows(&self) -> &[Window] {
        &self.windows
    }

    /// How many clients fault `index` hits (every client for `server_down`).
    pub fn hits(&self, index: usize) -> usize {
        self.windows[index].hit.count(self.clients)
    }

    /// Whether a message to or from `client` sent at `now` is lost.
    pub fn cuts(&self, now: VirtualTime, client: u32) -> bool {
        self.windows.iter().any(|w| matches!(w.kind, FaultKind::Partition(_)) && w.holds(now) && w.hit.contains(client))
    }

    /// Whether any partition holds at `now` (when none does, nobody is
    /// cut and selection needs no check per client).
    pub fn partitioned_at(&self, now: VirtualTime) -> bool {
        self.windows.iter().any(|w| matches!(w.kind, FaultKind::Partition(_)) && w.holds(now))
    }

    /// The first instant after `t` at which a partition starts or ends
    /// (None: the set of cut clients never changes again). Between two
    /// such instants the same clients are cut.
    pub fn next_partition_change(&self, t: VirtualTime) -> Option<VirtualTime> {
        self.windows
            .iter()
            .filter(|w| matches!(w.kind, FaultKind::Partition(_)))
            .flat_map(|w| [w.start, w.end])
            .filter(|&x| x > t)
            .min()
    }

    /// The divisor of `client`'s bandwidth for a message sent at `now`
    /// (1 when no slow link holds; overlapping ones multiply).
    pub fn slowdown(&self, now: VirtualTime, client: u32) -> f64 {
        self.windows
            .iter()
            .filter(|w| w.holds(now) && w.hit.contains(client))
            .map(|w| match w.kind {
                FaultKind::SlowLink { factor, .. } => factor,
                _ => 1.0,
            })
            .product()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(at_s: f64, duration_s: f64, kind: FaultKind) -> FaultSpec {
        FaultSpec { at_s, duration_s, kind }
    }

    #[test]
    fn a_fraction_hits_exactly_its_rounded_share_drawn_from_the_seed() {
        let f = [spec(0.0, 1.0, FaultKind::Partition(FaultTargets::Fraction(0.25)))];
        let a = Faults::new(&f, 102, SeedTree::new(5));
        assert_eq!(a.hits(0), 26);
        assert_eq!(a, Faults::new(&f, 102, SeedTree::new(5)));
        assert_ne!(a, Faults::new(&f, 102, SeedTree::new(6)));
        let cut = (0..102).filter(|&c| a.cuts(VirtualTime::from_nanos(1), c)).count();
        assert_eq!(cut, 26);
    }

    #[test]
    fn slow_links_multiply_where_they_overlap_and_end_on_time() {
        let all = FaultTargets::Fraction(1.0);
        let f = [
            spec(1.0, 2.0, FaultKind::SlowLink { factor: 4.0, targets: all.clone() }),
            spec(2.0, 2.0, FaultKind::SlowLink { factor: 2.0, targets: FaultTargets::Clients(vec![7]) }),
            spec(0.0, 10.0, FaultKind::ServerDown),
        ];
        let a = Faults::new(&f, 10, SeedTree::new(1));
        let s = VirtualTime::from_secs_f64;
        assert_eq!(a.slowdown(s(0.5), 7), 1.0);
        assert_eq!(a.slowdown(s(1.5), 7), 4.0);
        assert_eq!(a.slowdown(s(2.5), 7), 8.0);
        assert_eq!(a.slowdown(s(2.5), 6), 4.0);
        assert_eq!(a.slowdown(s(3.0), 7), 2.0, "the first ends at 3 s, exclusive");
        assert!(!a.cuts(s(2.5), 7), "slow links and a server outage cut no client's link");
    }
    #[test]
    fn partition_changes_are_the_starts_and_ends_of_partitions_only() {
        let f = [
            spec(2.0, 3.0, FaultKind::Partition(FaultTargets::Clients(vec![1]))),
            spec(1.0, 10.0, FaultKind::SlowLink { factor: 2.0, targets: FaultTargets::Fraction(1.0) }),
            spec(4.0, 4.0, FaultKind::Partition(FaultTargets::Fraction(1.0))),
        ];
        let a = Faults::new(&f, 3, SeedTree::new(1));
        let s = VirtualTime::from_secs_f64;
        assert!(!a.partitioned_at(s(1.5)), "a slow link cuts nobody");
        assert!(a.partitioned_at(s(2.0)) && a.partitioned_at(s(7.9)) && !a.partitioned_at(s(8.0)));
        // 2 (start), 4 (start), 5 (end), 8 (end); the slow link's 1 and 11 are not changes.
        assert_eq!(a.next_partition_change(s(0.0)), Some(s(2.0)));
        assert_eq!(a.next_partition_change(s(2.0)), Some(s(4.0)), "strictly after");
        assert_eq!(a.next_partition_change(s(4.5)), Some(s(5.0)));
        assert_eq!(a.next_partition_change(s(5.0)), Some(s(8.0)));
        assert_eq!(a.next_partition_change(s(8.0)), None);
    }
}
