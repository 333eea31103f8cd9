//! Client selection: which clients are idle, a uniform choice among the
//! idle ones that are available, and each client's task serial.
//!
//! Choosing must not cost O(clients) per dispatch: an async server refills
//! a slot at every arrival, and a population may hold a million clients.
//! Idle clients sit in a vector with O(1) removal; a choice draws from it
//! directly, rejecting clients that are offline, and falls back to a scan
//! only when few idle clients are online.
//!
//! A client cut off by a `faults:` partition cannot be reached, so it is
//! not chosen while the partition holds, as an offline one is not: a
//! dispatch to it would be lost at the instant it is sent, and the server
//! would choose again at that same instant, for ever when every idle
//! client is cut (virtual time would never move on).

use crate::net::{AvailabilityModel, Faults};
use crate::sim::{Rng, SeedTree, VirtualTime};
use rand::RngExt;
use serde::{Deserialize, Serialize};
use std::sync::Arc;

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

    /// Up to `want` distinct idle clients available at `now` and not cut
    /// off by a partition of `faults`, uniformly at random; they are
    /// removed from the set (they are about to be busy).
    pub fn take(
        &mut self,
        want: usize,
        now: VirtualTime,
        availability: &AvailabilityModel,
        faults: &Faults,
        rng: &mut Rng,
    ) -> Vec<u32> {
        let mut chosen = Vec::with_capacity(want.min(self.len()));
        // Without a partition at `now` nobody is cut, and the choice draws
        // exactly as it would without faults.
        let cutting = faults.partitioned_at(now);
        let cut = |c: u32| cutting && faults.cuts(now, c);
        let reachable = |c: u32| availability.is_available(c, now) && !cut(c);
        let always = matches!(availability, AvailabilityModel::Always) && !cutting;
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
                let ok = if from_online { self.contains(c) && !cut(c) } else { always || reachable(c) };
                if ok {
                    self.remove(c);
                    chosen.push(c);
                    continue 'pick;
                }
            }
            // Few of one are in the other: finish the choice from a scan of
            // the smaller side.
            let candidates: Vec<u32> = match &online {
                Some(o) if from_online => o.iter().filter(|&c| self.contains(c) && !cut(c)).collect(),
                _ => self.iter().filter(|&c| reachable(c)).collect(),
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
    /// The run's faults: their partitions make clients unreachable.
    faults: Arc<Faults>,
    seeds: SeedTree,
}

impl Selection {
    /// `seeds` is the run's root.
    pub fn new(clients: usize, availability: AvailabilityModel, seeds: SeedTree) -> Self {
        let state = SelectionState { idle: IdleSet::all(clients), serials: vec![0; clients], choices: 0 };
        Selection { state, availability, faults: Arc::default(), seeds: seeds.child("server.selection") }
    }

    /// The same, with the run's faults: a client is not chosen while a
    /// partition cuts it off.
    pub fn with_faults(self, faults: Arc<Faults>) -> Self {
        Selection { faults, ..self }
    }

    /// Whether `c` can be chosen at `now`: available and not cut off.
    fn reachable(&self, c: u32, now: VirtualTime) -> bool {
        self.availability.is_available(c, now) && !self.faults.cuts(now, c)
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
        let mut chosen = self.state.idle.take(want, now, &self.availability, &self.faults, &mut rng);
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
            if self.reachable(c, now) {
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

    /// How many idle clients can be chosen at `now` (a scan, except when
    /// every client is always available and no partition holds).
    pub fn available(&self, now: VirtualTime) -> usize {
        match self.availability {
            AvailabilityModel::Always if !self.faults.partitioned_at(now) => self.state.idle.len(),
            _ => self.state.idle.iter().filter(|&c| self.reachable(c, now)).count(),
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

    /// The first instant after `now` at which an idle client can be
    /// chosen: available, and not cut off by a partition (None: never).
    ///
    /// Between two starts or ends of partitions the same clients are cut,
    /// so the search goes stretch by stretch: a client reachable at a
    /// stretch's start, else the availability's next opening among the
    /// idle clients not cut in that stretch, if it comes before the
    /// stretch ends. Partitions are few (a scenario lists them), so this
    /// scans the idle clients at most once per partition change.
    pub fn next_available(&self, now: VirtualTime) -> Option<VirtualTime> {
        let mut from = now;
        loop {
            let change = self.faults.next_partition_change(from);
            let idle_uncut = |c: u32| self.state.idle.contains(c) && !self.faults.cuts(from, c);
            if from > now && self.state.idle.iter().any(|c| self.reachable(c, from)) {
                return Some(from);
            }
            match self.availability.next_opening(from, idle_uncut) {
                Some(t) if change.is_none_or(|end| t < end) => return Some(t),
                _ => from = change?,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scenario::{Availability, FaultKind, FaultSpec, FaultTargets};
    use crate::sim::SeedTree;

    /// A `faults:` partition of `targets` from `at_s` for `duration_s`.
    fn partition(at_s: f64, duration_s: f64, targets: FaultTargets) -> FaultSpec {
        FaultSpec { at_s, duration_s, kind: FaultKind::Partition(targets) }
    }

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
            let c = s.take(3, VirtualTime::ZERO, &AvailabilityModel::Always, &Faults::default(), &mut rng);
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
        assert_eq!(s.take(4, VirtualTime::from_nanos(100), &trace, &Faults::default(), &mut rng), vec![7]);
        assert_eq!(s.len(), 9);
    }

    /// Diurnal availability and a partition together, with so few eligible
    /// clients that most picks fail their draws and the choice ends in a
    /// scan after some picks: from the online run (few online clients are
    /// idle) and from the idle list (few idle clients are online).
    #[test]
    fn a_choice_takes_exactly_what_is_wanted_and_never_a_cut_client() {
        let n = 2000;
        let m = AvailabilityModel::new(&Availability::Diurnal { period_h: 1.0, on_fraction: 0.1 }, n, SeedTree::new(4))
            .unwrap();
        let faults = Faults::new(&[partition(0.0, 1e6, FaultTargets::Fraction(0.5))], n, SeedTree::new(9));
        let t = VirtualTime::from_secs_f64(700.0);
        let online: Vec<u32> = (0..n as u32).filter(|&c| m.is_available(c, t)).collect();
        let mut rng = SeedTree::new(8).stream();
        for from_online in [true, false] {
            // One online client in 8 idle, or one idle client in 20 online.
            let idle = |c: u32| if from_online { !m.is_available(c, t) || c.is_multiple_of(8) } else { c % 100 < 5 };
            let eligible: Vec<u32> =
                (0..n as u32).filter(|&c| idle(c) && m.is_available(c, t) && !faults.cuts(t, c)).collect();
            assert!((3..40).contains(&eligible.len()), "{}", eligible.len());
            for trial in 0..400 {
                let mut s = IdleSet::all(n);
                (0..n as u32).filter(|&c| !idle(c)).for_each(|c| s.remove(c));
                assert_eq!(online.len() < s.len(), from_online);
                let want = 2 + trial % 4;
                let chosen = s.take(want, t, &m, &faults, &mut rng);
                assert_eq!(chosen.len(), want.min(eligible.len()), "trial {trial}: {chosen:?}");
                assert!(chosen.iter().all(|c| eligible.contains(c)), "trial {trial}: {chosen:?} {eligible:?}");
                let mut distinct = chosen.clone();
                distinct.sort();
                distinct.dedup();
                assert_eq!(distinct.len(), chosen.len());
            }
        }
    }

    /// The wake-up after a failed choice: the first instant an idle client
    /// is both online (a trace) and not cut off (a partition).
    #[test]
    fn the_next_choice_waits_for_an_idle_client_online_and_not_cut() {
        let s = |secs: u64| VirtualTime::from_nanos(secs * 1_000_000_000);
        let online = |windows: &[(u32, u64, u64)]| {
            AvailabilityModel::Trace(
                windows.iter().map(|&(c, a, b)| (c, vec![(s(a).as_nanos(), s(b).as_nanos())])).collect(),
            )
        };
        let cut_0 =
            || Arc::new(Faults::new(&[partition(0.0, 5.0, FaultTargets::Clients(vec![0]))], 2, SeedTree::new(1)));
        // A busy client coming online first does not count.
        let mut sel = Selection::new(3, online(&[(0, 10, 100), (1, 20, 100), (2, 0, 100)]), SeedTree::new(3));
        sel.state.idle.remove(0);
        sel.state.idle.remove(2);
        assert_eq!(sel.next_available(s(0)), Some(s(20)));
        // Client 0, online all along, is free of the partition at 5 s, well
        // before client 1 comes online.
        let sel = Selection::new(2, online(&[(0, 0, 100), (1, 50, 100)]), SeedTree::new(3)).with_faults(cut_0());
        assert_eq!(sel.next_available(s(1)), Some(s(5)));
        // Client 0 is free of it at 5 s but online only from 10 s.
        let sel = Selection::new(2, online(&[(0, 10, 100), (1, 50, 100)]), SeedTree::new(3)).with_faults(cut_0());
        assert_eq!(sel.next_available(s(1)), Some(s(10)));
        // Client 1 comes online at 5 s, just as a second partition cuts it
        // until 8 s; client 0 comes online only at 20 s.
        let faults = Faults::new(&[partition(5.0, 3.0, FaultTargets::Clients(vec![1]))], 2, SeedTree::new(1));
        let sel =
            Selection::new(2, online(&[(0, 20, 100), (1, 5, 100)]), SeedTree::new(3)).with_faults(Arc::new(faults));
        assert_eq!(sel.next_available(s(1)), Some(s(8)));
    }

    /// Only the end of a client's current task frees it: a stale serial (a
    /// cancelled task's late message) or a second end changes nothing.
    #[test]
    fn a_client_is_freed_once_and_only_by_its_current_task() {
        let t = VirtualTime::ZERO;
        let mut sel = Selection::new(3, AvailabilityModel::Always, SeedTree::new(1));
        assert_eq!(sel.choose(3, t), [0, 1, 2]);
        assert!(sel.settle(0, 1));
        assert_eq!(sel.choose(1, t), [0]);
        assert_eq!(sel.serial(0), 2);
        assert!(!sel.settle(0, 1), "the first task of client 0 is over");
        assert_eq!(sel.available(t), 0);
        assert!(sel.settle(0, 2));
        assert!(!sel.settle(0, 2), "client 0 is idle already");
        assert_eq!(sel.available(t), 1);
    }

    #[test]
    fn wanting_more_than_the_idle_clients_takes_them_all() {
        let mut rng = SeedTree::new(6).stream();
        let mut s = IdleSet::all(4);
        s.remove(2);
        let mut c = s.take(9, VirtualTime::ZERO, &AvailabilityModel::Always, &Faults::default(), &mut rng);
        c.sort();
        assert_eq!(c, [0, 1, 3]);
        assert!(s.is_empty());
        let none = s.take(1, VirtualTime::ZERO, &AvailabilityModel::Always, &Faults::default(), &mut rng);
        assert_eq!(none, Vec::<u32>::new());
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
            for c in s.take(5, t, &m, &Faults::default(), &mut rng) {
                assert!(m.is_available(c, t) && online.binary_search(&c).unwrap() % 2 == 1);
                *counts.entry(c).or_insert(0usize) += 1;
            }
        }
        let idle_online = online.len() / 2;
        assert_eq!(counts.len(), idle_online, "every idle online client is chosen sometimes");
        let expected = (trials * 5) as f64 / idle_online as f64;
        assert!(counts.values().all(|&k| (k as f64 - expected).abs() < 5.0 * expected.sqrt()), "{counts:?}");
        // At an instant when nobody is online the choice is empty, and
        // every client stays idle.
        let few = AvailabilityModel::new(&spec, 3, SeedTree::new(4)).unwrap();
        let dark = (0..360)
            .map(|k| VirtualTime::from_secs_f64(k as f64 * 10.0))
            .find(|&t| (0..3).all(|c| !few.is_available(c, t)))
            .expect("three clients online a tenth of the hour leave some instant dark");
        let mut s = IdleSet::all(3);
        assert_eq!(s.take(2, dark, &few, &Faults::default(), &mut rng), Vec::<u32>::new());
        assert_eq!(s.len(), 3);
    }
    #[test]
    fn a_cut_client_is_not_chosen_and_the_next_choice_waits_for_its_partition_to_end() {
        let faults = Faults::new(
            &[partition(0.0, 5.0, FaultTargets::Fraction(1.0)), partition(5.0, 3.0, FaultTargets::Clients(vec![2]))],
            4,
            SeedTree::new(1),
        );
        let s = VirtualTime::from_secs_f64;
        let mut sel = Selection::new(4, AvailabilityModel::Always, SeedTree::new(2)).with_faults(Arc::new(faults));
        assert_eq!(sel.choose(4, s(1.0)), Vec::<u32>::new());
        assert_eq!(sel.available(s(1.0)), 0);
        assert_eq!(sel.next_available(s(1.0)), Some(s(5.0)), "every client is cut until 5 s");
        assert_eq!(sel.available(s(5.0)), 3);
        assert_eq!(sel.choose(4, s(5.0)), vec![0, 1, 3], "client 2 is still cut");
        assert_eq!(sel.next_available(s(5.0)), Some(s(8.0)), "client 2, the only idle one, heals at 8 s");
        assert_eq!(sel.choose_poisson(1.0, s(6.0)), Vec::<u32>::new());
        assert_eq!(sel.choose_poisson(1.0, s(8.0)), vec![2]);
        assert_eq!(sel.next_available(s(8.0)), None, "nobody idle");
    }
}
