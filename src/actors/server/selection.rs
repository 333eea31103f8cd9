//! Client selection: which clients are idle, a uniform choice among the
//! idle ones that are available, and each client's task serial.
//!
//! Choosing must not cost O(clients) per dispatch: an async server refills
//! a slot at every arrival, and a population may hold a million clients.
//! Idle clients sit in a vector with O(1) removal; a choice draws from it
//! directly, rejecting clients that are offline, and falls back to a scan
//! only when few idle clients are online.

use crate::net::AvailabilityModel;
use crate::sim::{Rng, SeedTree, VirtualTime};
use rand::RngExt;
use serde::{Deserialize, Serialize};

const NOT_IDLE: u32 = u32::MAX;

/// Draws per pick before a choice gives up on rejection and scans.
const REJECTION_TRIES: usize = 32;

/// The idle clients, in an order that depends only on the run's history.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct IdleSet {
    list: Vec<u32>,
    /// Per client: its index in `list`, or `NOT_IDLE`.
    pos: Vec<u32>,
}

impl IdleSet {
    /// Every one of `n` clients idle.
    pub fn all(n: usize) -> Self {
        IdleSet { list: (0..n as u32).collect(), pos: (0..n as u32).collect() }
    }

    pub fn len(&self) -> usize {
        self.list.len()
    }

    pub fn is_empty(&self) -> bool {
        self.list.is_empty()
    }

    pub fn contains(&self, c: u32) -> bool {
        self.pos[c as usize] != NOT_IDLE
    }

    pub fn iter(&self) -> impl Iterator<Item = u32> + '_ {
        self.list.iter().copied()
    }

    /// Marks `c` busy.
    pub fn remove(&mut self, c: u32) {
        let i = std::mem::replace(&mut self.pos[c as usize], NOT_IDLE);
        if i == NOT_IDLE {
            return;
        }
        let last = self.list.pop().expect("an idle client is in the list");
        if last != c {
            self.list[i as usize] = last;
            self.pos[last as usize] = i;
        }
    }

    /// Marks `c` idle.
    pub fn insert(&mut self, c: u32) {
        if self.contains(c) {
            return;
        }
        self.pos[c as usize] = self.list.len() as u32;
        self.list.push(c);
    }

    /// Up to `want` distinct idle clients available at `now`, uniformly at
    /// random; they are removed from the set (they are about to be busy).
    pub fn take(&mut self, want: usize, now: VirtualTime, availability: &AvailabilityModel, rng: &mut Rng) -> Vec<u32> {
        let mut chosen = Vec::with_capacity(want.min(self.len()));
        let always = matches!(availability, AvailabilityModel::Always);
        // Diurnal availability names who is online: draw from whichever of
        // the online run and the idle list is smaller, rejecting clients
        // that are not in the other. Either way the choice is uniform over
        // the idle clients online, and its cost is bounded by the smaller.
        let online = availability.online(now);
        'pick: while chosen.len() < want && !self.is_empty() {
            let from_online = match &online {
                Some(o) if o.is_empty() => break,
                Some(o) => o.len() < self.len(),
                None => false,
            };
            for _ in 0..if always { 1 } else { REJECTION_TRIES } {
                let c = match &online {
                    Some(o) if from_online => o.get(rng.random_range(0..o.len())),
                    _ => self.list[rng.random_range(0..self.list.len())],
                };
                let ok = if from_online { self.contains(c) } else { always || availability.is_available(c, now) };
                if ok {
                    self.remove(c);
                    chosen.push(c);
                    continue 'pick;
                }
            }
            // Few of one are in the other: finish the choice from a scan of
            // the smaller side.
            let candidates: Vec<u32> = match &online {
                Some(o) if from_online => o.iter().filter(|&c| self.contains(c)).collect(),
                _ => self.iter().filter(|&c| availability.is_available(c, now)).collect(),
            };
            let rest = (want - chosen.len()).min(candidates.len());
            for i in rand::seq::index::sample(rng, candidates.len(), rest) {
                self.remove(candidates[i]);
                chosen.push(candidates[i]);
            }
            break;
        }
        chosen
    }
}

/// What selection remembers: the idle set, each client's latest task
/// serial, and how many choices were made (each draws from its own stream,
/// `selection` / choice number).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SelectionState {
    pub idle: IdleSet,
    /// Per client: the serial of its latest task (0: none yet).
    pub serials: Vec<u32>,
    pub choices: u64,
}

/// Chooses who works next.
#[derive(Debug, Clone)]
pub struct Selection {
    pub state: SelectionState,
    availability: AvailabilityModel,
    seeds: SeedTree,
}

impl Selection {
    /// `seeds` is the run's root.
    pub fn new(clients: usize, availability: AvailabilityModel, seeds: SeedTree) -> Self {
        let state = SelectionState { idle: IdleSet::all(clients), serials: vec![0; clients], choices: 0 };
        Selection { state, availability, seeds: seeds.child("server.selection") }
    }

    /// Up to `want` idle clients available at `now`, uniformly at random,
    /// in ascending order; they are busy from now on, each with a new task
    /// serial ([`Selection::serial`]).
    pub fn choose(&mut self, want: usize, now: VirtualTime) -> Vec<u32> {
        if want == 0 {
            return Vec::new();
        }
        let mut rng = self.seeds.index(self.state.choices).stream();
        self.state.choices += 1;
        let mut chosen = self.state.idle.take(want, now, &self.availability, &mut rng);
        chosen.sort_unstable();
        for &c in &chosen {
            self.state.serials[c as usize] += 1;
        }
        chosen
    }

    /// Each idle client available at `now` independently with probability
    /// `q`, in ascending order; like [`Selection::choose`], they are busy
    /// from now on. Costs O(q * idle) draws: the gaps between joiners are
    /// geometric.
    pub fn choose_poisson(&mut self, q: f64, now: VirtualTime) -> Vec<u32> {
        let mut rng = self.seeds.index(self.state.choices).stream();
        self.state.choices += 1;
        let idle = &self.state.idle;
        let mut chosen = Vec::new();
        let mut i = 0usize;
        // log(1 - q) once; q = 1 takes everyone.
        let log_miss = (-q).ln_1p();
        while i < idle.len() {
            if q < 1.0 {
                let u: f64 = rng.random();
                // The number of clients skipped before the next joiner.
                let gap = ((1.0 - u).ln() / log_miss).floor();
                if !gap.is_finite() || gap >= (idle.len() - i) as f64 {
                    break;
                }
                i += gap as usize;
            }
            let c = idle.list[i];
            if self.availability.is_available(c, now) {
                chosen.push(c);
            }
            i += 1;
        }
        for &c in &chosen {
            self.state.idle.remove(c);
            self.state.serials[c as usize] += 1;
        }
        chosen.sort_unstable();
        chosen
    }

    /// How many idle clients are available at `now` (a scan, except when
    /// every client is always available).
    pub fn available(&self, now: VirtualTime) -> usize {
        match self.availability {
            AvailabilityModel::Always => self.state.idle.len(),
            _ => self.state.idle.iter().filter(|&c| self.availability.is_available(c, now)).count(),
        }
    }

    /// The task `serial` of `client` is over (reported, dropped, cancelled);
    /// false if it was not its current task or the client was idle.
    pub fn settle(&mut self, client: u32, serial: u32) -> bool {
        if self.state.idle.contains(client) || self.state.serials[client as usize] != serial {
            return false;
        }
        self.state.idle.insert(client);
        true
    }

    /// The current task serial of `client`.
    pub fn serial(&self, client: u32) -> u32 {
        self.state.serials[client as usize]
    }

    /// The first instant after `now` at which an idle client is available.
    pub fn next_available(&self, now: VirtualTime) -> Option<VirtualTime> {
        self.availability.next_opening(now, |c| self.state.idle.contains(c))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sim::SeedTree;

    #[test]
    fn remove_and_insert_keep_the_set_consistent() {
        let mut s = IdleSet::all(5);
        s.remove(1);
        s.remove(4);
        s.remove(4);
        assert_eq!(s.len(), 3);
        assert!(!s.contains(1) && s.contains(0));
        s.insert(1);
        s.insert(1);
        let mut v: Vec<u32> = s.iter().collect();
        v.sort();
        assert_eq!(v, [0, 1, 2, 3]);
    }

    #[test]
    fn choices_are_distinct_uniform_and_respect_availability() {
        let mut rng = SeedTree::new(3).stream();
        let mut counts = [0usize; 10];
        for _ in 0..20_000 {
            let mut s = IdleSet::all(10);
            let c = s.take(3, VirtualTime::ZERO, &AvailabilityModel::Always, &mut rng);
            assert_eq!(c.len(), 3);
            assert!(c[0] != c[1] && c[1] != c[2] && c[0] != c[2]);
            assert!(c.iter().all(|&x| !s.contains(x)));
            c.iter().for_each(|&x| counts[x as usize] += 1);
        }
        // Each client is chosen with probability 3/10: 6000 of 20000 expected.
        assert!(counts.iter().all(|&n| (5600..6400).contains(&n)), "{counts:?}");
        // Only client 7 is online: one choice, whatever is wanted.
        let trace = AvailabilityModel::Trace((0..10).filter(|&c| c != 7).map(|c| (c, vec![(5, 6)])).collect());
        let mut s = IdleSet::all(10);
        assert_eq!(s.take(4, VirtualTime::from_nanos(100), &trace, &mut rng), vec![7]);
        assert_eq!(s.len(), 9);
    }

    #[test]
    fn a_poisson_choice_takes_each_client_with_probability_q() {
        let mut counts = [0usize; 20];
        let mut sizes = 0usize;
        let trials = 20_000;
        let mut s = Selection::new(20, AvailabilityModel::Always, SeedTree::new(5));
        for _ in 0..trials {
            let chosen = s.choose_poisson(0.25, VirtualTime::ZERO);
            assert!(chosen.windows(2).all(|w| w[0] < w[1]));
            sizes += chosen.len();
            for c in chosen {
                counts[c as usize] += 1;
                s.settle(c, s.serial(c));
            }
        }
        // Each client: 5000 of 20000 expected (sd 61); the mean size 5.
        assert!(counts.iter().all(|&n| (4750..5250).contains(&n)), "{counts:?}");
        assert!((sizes as f64 / trials as f64 - 5.0).abs() < 0.05);
        assert_eq!(s.choose_poisson(1.0, VirtualTime::ZERO).len(), 20);
        assert_eq!(s.available(VirtualTime::ZERO), 0);
    }

    #[test]
    fn a_diurnal_choice_is_uniform_over_the_idle_clients_online() {
        use crate::scenario::Availability;
        let spec = Availability::Diurnal { period_h: 1.0, on_fraction: 0.1 };
        let m = AvailabilityModel::new(&spec, 2000, SeedTree::new(4)).unwrap();
        let t = VirtualTime::from_secs_f64(700.0);
        let online: Vec<u32> = (0..2000).filter(|&c| m.is_available(c, t)).collect();
        assert!(online.len() > 100);
        let mut rng = SeedTree::new(8).stream();
        let mut counts = std::collections::HashMap::new();
        let trials = 4000;
        for _ in 0..trials {
            let mut s = IdleSet::all(2000);
            // Half of the online clients are busy.
            online.iter().step_by(2).for_each(|&c| s.remove(c));
            for c in s.take(5, t, &m, &mut rng) {
                assert!(m.is_available(c, t) && online.binary_search(&c).unwrap() % 2 == 1);
                *counts.entry(c).or_insert(0usize) += 1;
            }
        }
        let idle_online = online.len() / 2;
        assert_eq!(counts.len(), idle_online, "every idle online client is chosen sometimes");
        let expected = (trials * 5) as f64 / idle_online as f64;
        assert!(counts.values().all(|&k| (k as f64 - expected).abs() < 5.0 * expected.sqrt()), "{counts:?}");
    }
}
