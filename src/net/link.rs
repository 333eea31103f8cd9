//! A link shared max-min fairly by concurrent transfers (processor sharing).
//!
//! It owns the arithmetic of the server's link (spec section 1, `server:
//! network`): which transfers are on it, how fast each one goes, and when
//! each one ends. Every transfer gets its max-min fair share of the link's
//! capacity, capped by its client's own link (water-filling: transfers whose
//! cap is below the equal share run at their cap, the rest split what is left
//! equally). Rates are recomputed whenever a transfer starts, ends or is
//! cancelled.
//!
//! It is a plain value: no clock, no actors, no randomness. The caller puts
//! [`SharedLink::next_completion`] on the virtual clock and calls
//! [`SharedLink::finish_until`] when that instant comes; the same calls give
//! the same answers on every machine, and the state serialises into a
//! checkpoint.
//!
//! Completion instants are rounded to the nearest nanosecond from the last
//! update, as [`VirtualTime::from_secs_f64`] rounds everywhere else, so a
//! transfer alone on an unlimited link ends exactly when the unshared model
//! (`bytes * 8 / bps`) says. A transfer whose remaining work would take less
//! than half a nanosecond at its rate, or with at most [`DONE_BITS`] left, is
//! done at that instant: the float residue of a finished transfer never needs
//! an event of its own.

use crate::sim::VirtualTime;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Names a transfer on a [`SharedLink`]; the caller picks it (e.g. a task id).
pub type TransferId = u64;

/// A remaining amount at or below this many bits counts as delivered: it is
/// what float subtraction leaves of a transfer that has finished.
pub const DONE_BITS: f64 = 1e-6;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Transfer {
    /// Bits still to move (may be infinite: such a transfer ends only on an
    /// infinitely fast path).
    remaining: f64,
    /// The client's own link, bit/s (>= 0, may be infinite).
    cap: f64,
    /// The current max-min fair rate, bit/s.
    rate: f64,
}

/// A link of fixed capacity shared max-min fairly by its active transfers.
///
/// Capacities and caps are in bit/s (`f64::INFINITY` = unlimited), amounts
/// in bits. A NaN or negative capacity, cap or amount counts as zero (a zero
/// rate stalls a transfer for good; a zero amount ends at once).
///
/// Two transfers of 1 Mbit on a 1 Mbit/s link, the second starting half a
/// second late: the first runs alone for 0.5 s, then both at 0.5 Mbit/s.
///
/// ```
/// use fedsim::net::SharedLink;
/// use fedsim::sim::VirtualTime;
/// let ms = |ms: f64| VirtualTime::from_secs_f64(ms / 1e3);
/// let mut link = SharedLink::new(1e6);
/// link.start(ms(0.0), 1, 1e6, f64::INFINITY);
/// link.start(ms(500.0), 2, 1e6, f64::INFINITY);
/// assert_eq!(link.next_completion(), Some(ms(1500.0)));
/// assert_eq!(link.finish_until(ms(1500.0)), vec![1]);
/// assert_eq!(link.next_completion(), Some(ms(2000.0)));
/// assert_eq!(link.finish_until(ms(2000.0)), vec![2]);
/// assert_eq!(link.active(), 0);
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SharedLink {
    /// Bit/s, >= 0, may be infinite.
    capacity: f64,
    /// By id, so every walk over them is in a deterministic order.
    active: BTreeMap<TransferId, Transfer>,
    /// Ended (at the given nanosecond) but not yet handed out by
    /// [`SharedLink::finish_until`]: only a `start` or `cancel` that jumps
    /// past a completion leaves some here.
    finished: Vec<(u64, TransferId)>,
    /// Nanoseconds of the last update; `remaining` is as of then.
    updated: u64,
}

/// NaN and negatives become zero.
fn sanitize(x: f64) -> f64 {
    if x > 0.0 {
        x
    } else {
        0.0
    }
}

/// Nanoseconds `remaining` bits take at `rate` bit/s, rounded to the
/// nearest; `u64::MAX` (never) for a stalled transfer. Never NaN: the
/// infinite rate is handled before any division.
fn duration_ns(remaining: f64, rate: f64) -> u64 {
    if remaining <= DONE_BITS || rate == f64::INFINITY {
        0
    } else if rate <= 0.0 {
        u64::MAX
    } else {
        VirtualTime::from_secs_f64(remaining / rate).as_nanos()
    }
}

impl SharedLink {
    /// An idle link of `capacity_bps` bit/s (`f64::INFINITY`: unlimited, so
    /// every transfer runs at its own cap).
    pub fn new(capacity_bps: f64) -> Self {
        SharedLink { capacity: sanitize(capacity_bps), active: BTreeMap::new(), finished: Vec::new(), updated: 0 }
    }

    /// The link's capacity, bit/s.
    pub fn capacity_bps(&self) -> f64 {
        self.capacity
    }

    /// Starts a transfer of `bits` at `now`, capped at `cap_bps` (the
    /// client's own link; may be infinite). Every active transfer's rate is
    /// recomputed. Reusing the id of an active or unreported transfer
    /// replaces it. A zero-bit transfer (or one on an infinitely fast path)
    /// ends at `now`: [`SharedLink::next_completion`] then says `now`.
    ///
    /// `now` earlier than the last update counts as the last update (the
    /// link never goes back in time).
    pub fn start(&mut self, now: VirtualTime, id: TransferId, bits: f64, cap_bps: f64) {
        let now = self.advance(now);
        self.finished.retain(|&(_, f)| f != id);
        let t = Transfer { remaining: sanitize(bits), cap: sanitize(cap_bps), rate: 0.0 };
        self.active.insert(id, t);
        self.reshare();
        self.settle(now);
    }

    /// Removes a transfer (its task was cancelled) at `now`; the others
    /// speed up. True if it was active. A transfer that had already ended
    /// but was not yet reported is forgotten too (and gives false).
    pub fn cancel(&mut self, now: VirtualTime, id: TransferId) -> bool {
        let now = self.advance(now);
        self.finished.retain(|&(_, f)| f != id);
        let was_active = self.active.remove(&id).is_some();
        if was_active {
            self.reshare();
            self.settle(now);
        }
        was_active
    }

    /// When the earliest transfer ends at current rates (None if none is
    /// active or awaiting report). A transfer that has ended but is not yet
    /// reported gives its (past) instant: call `finish_until` then.
    pub fn next_completion(&self) -> Option<VirtualTime> {
        let reported = self.finished.iter().map(|&(t, _)| t).min();
        let upcoming =
            self.active.values().map(|t| self.updated.saturating_add(duration_ns(t.remaining, t.rate))).min();
        match (reported, upcoming) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
        .map(VirtualTime::from_nanos)
    }

    /// Advances to `now` and returns the transfers that have ended by then,
    /// ordered by their ending instant, then by id. Completions before `now`
    /// are processed one instant at a time (so the rates in between are
    /// right even if the caller skipped `next_completion`), but the caller
    /// who wants each transfer's exact instant calls this at every
    /// [`SharedLink::next_completion`].
    pub fn finish_until(&mut self, now: VirtualTime) -> Vec<TransferId> {
        self.advance(now);
        let mut done = std::mem::take(&mut self.finished);
        done.sort_unstable();
        done.into_iter().map(|(_, id)| id).collect()
    }

    /// Active transfers (not yet ended, not cancelled).
    pub fn active(&self) -> usize {
        self.active.len()
    }

    /// A transfer's current rate in bit/s (None if it is not active).
    pub fn rate(&self, id: TransferId) -> Option<f64> {
        self.active.get(&id).map(|t| t.rate)
    }

    /// A transfer's bits still to move as of the last update (None if it is
    /// not active).
    pub fn remaining_bits(&self, id: TransferId) -> Option<f64> {
        self.active.get(&id).map(|t| t.remaining)
    }

    /// Moves the state to `now` (clamped to the last update), ending every
    /// transfer due by then at its own instant; returns the clamped `now`.
    fn advance(&mut self, now: VirtualTime) -> u64 {
        let now = now.as_nanos().max(self.updated);
        loop {
            let next = self
                .active
                .values()
                .map(|t| self.updated.saturating_add(duration_ns(t.remaining, t.rate)))
                .min()
                .unwrap_or(u64::MAX);
            let to = next.min(now);
            let elapsed = (to - self.updated) as f64 / 1e9;
            let updated = self.updated;
            let mut ended = false;
            self.active.retain(|&id, t| {
                if updated.saturating_add(duration_ns(t.remaining, t.rate)) <= to {
                    self.finished.push((to, id));
                    ended = true;
                    return false;
                }
                // Not due, so the rate is finite here (an infinite rate is
                // due at once) and `rate * elapsed` is no inf * 0.
                t.remaining = (t.remaining - t.rate * elapsed).max(0.0);
                true
            });
            self.updated = to;
            if ended {
                self.reshare();
            }
            self.settle(to);
            if next >= now {
                return now;
            }
        }
    }

    /// Ends, at `now` (== `self.updated`), every transfer whose remainder
    /// rounds to no time at its rate; each such end may speed up the
    /// others, so repeat until none is left.
    fn settle(&mut self, now: u64) {
        loop {
            let before = self.active.len();
            self.active.retain(|&id, t| {
                let due = duration_ns(t.remaining, t.rate) == 0;
                if due {
                    self.finished.push((now, id));
                }
                !due
            });
            if self.active.len() == before {
                return;
            }
            self.reshare();
        }
    }

    /// Water-filling: in increasing order of cap, each transfer whose cap
    /// is below an equal share of what is left gets its cap; from the first
    /// one above, all the rest get that same share (one value, so equal
    /// transfers get bit-identical rates and end at the same nanosecond).
    fn reshare(&mut self) {
        let mut order: Vec<(f64, TransferId)> = self.active.iter().map(|(&id, t)| (t.cap, id)).collect();
        order.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
        let mut left = self.capacity;
        let mut share = None;
        for (i, &(cap, id)) in order.iter().enumerate() {
            let rate = match share {
                Some(s) => s,
                None => {
                    // `left` is infinite (then so is the share and every
                    // transfer gets its cap) or finite and >= 0.
                    let equal = if left == f64::INFINITY { left } else { left / (order.len() - i) as f64 };
                    if cap <= equal {
                        if left != f64::INFINITY {
                            left = (left - cap).max(0.0);
                        }
                        cap
                    } else {
                        share = Some(equal);
                        equal
                    }
                }
            };
            if let Some(t) = self.active.get_mut(&id) {
                t.rate = rate;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const INF: f64 = f64::INFINITY;

    fn secs(s: f64) -> VirtualTime {
        VirtualTime::from_secs_f64(s)
    }

    /// Runs the link to the end: (instant, id) of every completion.
    fn drain(link: &mut SharedLink) -> Vec<(VirtualTime, TransferId)> {
        let mut out = Vec::new();
        while let Some(t) = link.next_completion() {
            let ids = link.finish_until(t);
            assert!(!ids.is_empty(), "next_completion {t} ended nothing");
            out.extend(ids.into_iter().map(|id| (t, id)));
        }
        out
    }

    /// The capacity reads back as given; unlimited stays unlimited, and
    /// what is not a positive rate (NaN, negative) is a dead link.
    #[test]
    fn a_link_keeps_its_capacity() {
        assert_eq!(SharedLink::new(8e6).capacity_bps(), 8e6);
        assert_eq!(SharedLink::new(INF).capacity_bps(), INF);
        assert_eq!(SharedLink::new(f64::NAN).capacity_bps(), 0.0);
        assert_eq!(SharedLink::new(-3.0).capacity_bps(), 0.0);
    }

    #[test]
    fn equal_transfers_started_together_end_together_at_k_b_over_bw() {
        for bw in [100e6, 3e6, 7.3e6, 1e9] {
            for k in [1u64, 10, 100] {
                for bytes in [2600.0, 123_457.0] {
                    let mut link = SharedLink::new(bw);
                    let t0 = secs(1.25);
                    for id in 0..k {
                        link.start(t0, id, bytes * 8.0, INF);
                    }
                    let want = t0 + secs(k as f64 * bytes * 8.0 / bw);
                    assert_eq!(link.next_completion(), Some(want), "bw {bw} k {k} bytes {bytes}");
                    assert_eq!(link.finish_until(want), (0..k).collect::<Vec<_>>());
                    assert_eq!((link.active(), link.next_completion()), (0, None));
                }
            }
        }
    }

    #[test]
    fn equal_transfers_end_together_even_when_the_caller_steps_in_between() {
        // Intermediate updates (a finish_until before the end) must not
        // leave one transfer a sliver behind the others.
        let mut link = SharedLink::new(3e6);
        for id in 0..7 {
            link.start(VirtualTime::ZERO, id, 2600.0 * 8.0, INF);
        }
        let end = link.next_completion().unwrap();
        for ns in [1, 333_333, 4_000_001, 17_000_000] {
            assert!(link.finish_until(VirtualTime::from_nanos(ns)).is_empty());
        }
        let again = link.next_completion().unwrap();
        assert!(again.as_nanos().abs_diff(end.as_nanos()) <= 1, "{again} vs {end}");
        assert_eq!(link.finish_until(again).len(), 7);
        assert_eq!(link.active(), 0);
    }

    #[test]
    fn a_low_cap_frees_its_unused_share() {
        // 10 Mb/s shared by caps 1, inf, inf: rates 1, 4.5, 4.5 Mb/s.
        let mut link = SharedLink::new(10e6);
        for id in 0..3 {
            link.start(VirtualTime::ZERO, id, 9e6, if id == 0 { 1e6 } else { INF });
        }
        assert_eq!([0, 1, 2].map(|id| link.rate(id).unwrap()), [1e6, 4.5e6, 4.5e6]);
        // 9 Mbit at 4.5 Mb/s: 2 s. Transfer 0 has 9 - 2 = 7 Mbit left and
        // stays at its cap of 1 Mb/s: 7 s more.
        assert_eq!(drain(&mut link), vec![(secs(2.0), 1), (secs(2.0), 2), (secs(9.0), 0)]);
    }

    #[test]
    fn a_late_start_slows_the_others() {
        // 10 Mb/s; A and B, 10 Mbit each, at 0; C, 2.5 Mbit, at 0.5 s.
        // 0..0.5 s: A, B at 5 Mb/s -> 7.5 Mbit left each. Then 3.33 Mb/s
        // each: C (2.5 Mbit) ends at 0.5 + 0.75 = 1.25 s, when A and B have
        // 5 Mbit left; then 5 Mb/s each: 1 s more, to 2.25 s.
        let mut link = SharedLink::new(10e6);
        link.start(VirtualTime::ZERO, 1, 10e6, INF);
        link.start(VirtualTime::ZERO, 2, 10e6, INF);
        assert_eq!(link.next_completion(), Some(secs(2.0)));
        link.start(secs(0.5), 3, 2.5e6, INF);
        assert_eq!(link.remaining_bits(1), Some(7.5e6));
        assert_eq!(drain(&mut link), vec![(secs(1.25), 3), (secs(2.25), 1), (secs(2.25), 2)]);
    }

    #[test]
    fn cancelling_speeds_up_the_rest() {
        // Two 10 Mbit transfers on 10 Mb/s; B cancelled at 1 s, when A has
        // 5 Mbit left: A then runs at 10 Mb/s and ends at 1.5 s (not 2 s).
        let mut link = SharedLink::new(10e6);
        link.start(VirtualTime::ZERO, 1, 10e6, INF);
        link.start(VirtualTime::ZERO, 2, 10e6, INF);
        assert!(link.cancel(secs(1.0), 2));
        assert!(!link.cancel(secs(1.0), 2));
        assert_eq!(link.rate(1), Some(10e6));
        assert_eq!(drain(&mut link), vec![(secs(1.5), 1)]);
    }

    #[test]
    fn a_cancel_past_another_completion_keeps_that_completion() {
        // A (5 Mbit) and B (20 Mbit) share 10 Mb/s: A ends at 1 s. B is
        // cancelled at 2 s before anyone asked what ended: A's completion
        // is still reported, at its own instant.
        let mut link = SharedLink::new(10e6);
        link.start(VirtualTime::ZERO, 1, 5e6, INF);
        link.start(VirtualTime::ZERO, 2, 20e6, INF);
        assert!(link.cancel(secs(2.0), 2));
        assert_eq!(link.next_completion(), Some(secs(1.0)));
        assert_eq!(link.finish_until(secs(2.0)), vec![1]);
    }

    #[test]
    fn zero_bits_and_infinite_paths_end_at_once() {
        let mut link = SharedLink::new(10e6);
        link.start(secs(3.0), 1, 0.0, 1e6);
        assert_eq!(link.next_completion(), Some(secs(3.0)));
        assert_eq!(link.finish_until(secs(3.0)), vec![1]);

        let mut unlimited = SharedLink::new(INF);
        unlimited.start(secs(1.0), 7, 1e9, INF);
        unlimited.start(secs(1.0), 8, 0.0, INF);
        assert_eq!(unlimited.rate(7), None, "already ended");
        assert_eq!(drain(&mut unlimited), vec![(secs(1.0), 7), (secs(1.0), 8)]);

        // Ended as it starts, a zero-bit transfer takes no share of the
        // link, not even until the next call.
        let mut shared = SharedLink::new(10e6);
        shared.start(secs(0.0), 1, 8e6, 1e9);
        shared.start(secs(0.5), 2, 0.0, 1e9);
        assert_eq!(shared.active(), 1);
        assert_eq!(shared.rate(1), Some(10e6));
        assert_eq!(drain(&mut shared), vec![(secs(0.5), 2), (secs(0.8), 1)]);
    }

    #[test]
    fn an_unlimited_link_runs_each_transfer_at_its_cap() {
        let mut link = SharedLink::new(INF);
        link.start(VirtualTime::ZERO, 1, 8e6, 2e6);
        link.start(VirtualTime::ZERO, 2, 8e6, 4e6);
        link.start(VirtualTime::ZERO, 3, 8e6, INF);
        assert_eq!((link.rate(1), link.rate(2)), (Some(2e6), Some(4e6)));
        assert_eq!(drain(&mut link), vec![(VirtualTime::ZERO, 3), (secs(2.0), 2), (secs(4.0), 1)]);
    }

    #[test]
    fn alone_on_the_link_a_transfer_matches_the_unshared_formula() {
        // The time model's upload: bytes * 8 / bps, rounded like from_secs_f64.
        let mut link = SharedLink::new(100e6);
        link.start(secs(0.2), 1, 2600.0 * 8.0, 5e6);
        assert_eq!(link.next_completion(), Some(secs(0.2) + secs(2600.0 * 8.0 / 5e6)));
    }

    #[test]
    fn stalled_and_invalid_inputs_give_no_nan_and_no_panic() {
        let mut link = SharedLink::new(f64::NAN);
        link.start(VirtualTime::ZERO, 1, 1e6, INF);
        assert_eq!(link.rate(1), Some(0.0));
        assert_eq!(link.next_completion(), Some(VirtualTime::NEVER));
        link.start(VirtualTime::ZERO, 2, f64::NAN, -3.0);
        assert_eq!(link.finish_until(secs(1.0)), vec![2]);
        let mut link = SharedLink::new(10e6);
        link.start(VirtualTime::ZERO, 1, INF, INF);
        link.start(VirtualTime::ZERO, 2, 1e6, 0.0);
        assert_eq!((link.rate(1), link.rate(2)), (Some(10e6), Some(0.0)));
        assert!(link.finish_until(secs(100.0)).is_empty());
        assert_eq!(link.remaining_bits(1), Some(INF));
    }

    #[test]
    fn a_jump_past_completions_still_reports_them_with_the_right_rates() {
        let mut link = SharedLink::new(10e6);
        link.start(VirtualTime::ZERO, 1, 5e6, INF);
        link.start(VirtualTime::ZERO, 2, 10e6, INF);
        // 1 ends at 1 s; then 2 has 5 Mbit left alone: ends at 1.5 s. The
        // caller starts 3 at 1.2 s without having collected 1.
        link.start(secs(1.2), 3, 1e6, INF);
        assert_eq!(link.next_completion(), Some(secs(1.0)));
        assert_eq!(link.remaining_bits(2), Some(3e6));
        assert_eq!(link.finish_until(secs(1.2)), vec![1]);
        // 2 and 3 at 5 Mb/s: 3 ends at 1.4 s, 2 has 2 Mbit left: 1.6 s.
        assert_eq!(drain(&mut link), vec![(secs(1.4), 3), (secs(1.6), 2)]);
    }

    #[test]
    fn round_trips_through_postcard() {
        let mut link = SharedLink::new(10e6);
        link.start(VirtualTime::ZERO, 1, 9e6, 1e6);
        link.start(secs(0.3), 2, 9e6, INF);
        let bytes = postcard::to_stdvec(&link).unwrap();
        let mut back: SharedLink = postcard::from_bytes(&bytes).unwrap();
        assert_eq!(back, link);
        assert_eq!(drain(&mut back), drain(&mut link));
    }

    proptest! {
        /// Laws of max-min fair sharing, checked at every event of random
        /// workloads: no rate above its cap, the rates sum to at most the
        /// capacity (and to all of it while some transfer is held back by
        /// the link rather than its cap), every bottlenecked transfer gets the
        /// same (the largest) rate, every transfer ends, none ends sooner
        /// than its cap allows, and the link is work-conserving.
        #[test]
        fn max_min_fair_laws(
            capacity in prop_oneof![1e5f64..1e8, Just(INF)],
            jobs in prop::collection::vec(
                (0u64..2_000_000_000, 0.0f64..1e7, prop_oneof![3 => 1e5f64..5e7, 1 => Just(INF)]),
                1..40,
            ),
        ) {
            let mut starts: Vec<(u64, TransferId, f64, f64)> =
                jobs.iter().enumerate().map(|(i, &(at, bits, cap))| (at, i as TransferId, bits, cap)).collect();
            starts.sort_by_key(|s| (s.0, s.1));
            let mut link = SharedLink::new(capacity);
            let mut ended: BTreeMap<TransferId, VirtualTime> = BTreeMap::new();
            let mut pending = starts.iter().peekable();
            let mut busy_ns = 0u64;
            let mut last = 0u64;
            loop {
                let next_start = pending.peek().map(|s| VirtualTime::from_nanos(s.0));
                let next_end = link.next_completion();
                let now = match (next_start, next_end) {
                    (None, None) => break,
                    (Some(a), Some(b)) => a.min(b),
                    (a, b) => a.or(b).unwrap(),
                };
                if link.active() > 0 {
                    busy_ns += now.as_nanos() - last;
                }
                last = now.as_nanos();
                for id in link.finish_until(now) {
                    prop_assert!(ended.insert(id, now).is_none());
                }
                while pending.peek().is_some_and(|s| s.0 == now.as_nanos()) {
                    let &(_, id, bits, cap) = pending.next().unwrap();
                    link.start(now, id, bits, cap);
                }
                let rates: Vec<(f64, f64)> =
                    link.active.values().map(|t| (t.rate, t.cap)).collect();
                let sum: f64 = rates.iter().map(|r| r.0).sum();
                let top = rates.iter().map(|r| r.0).fold(0.0, f64::max);
                for &(rate, cap) in &rates {
                    prop_assert!(!rate.is_nan() && rate <= cap, "rate {rate} above cap {cap}");
                    prop_assert!(rate == cap || rate == top, "bottlenecked rate {rate} below the top {top}");
                }
                prop_assert!(sum <= capacity * (1.0 + 1e-12), "sum {sum} above {capacity}");
                if rates.iter().any(|r| r.0 < r.1) {
                    prop_assert!(sum >= capacity * (1.0 - 1e-12), "link idle in part: {sum} of {capacity}");
                }
            }
            prop_assert_eq!(ended.len(), starts.len(), "every transfer ends");
            let mut work = 0.0;
            for &(at, id, bits, cap) in &starts {
                let took = ended[&id].as_nanos() - at;
                let fastest = bits / cap.min(capacity);
                prop_assert!(took as f64 / 1e9 >= fastest - 2e-9, "{id} took {took} ns, faster than its cap");
                work += bits;
            }
            if capacity.is_finite() && jobs.iter().all(|j| j.2 == INF) {
                // Work-conserving: the link is busy exactly as long as the
                // bits need at full capacity (a ns of rounding per event).
                let events = 2.0 * starts.len() as f64;
                prop_assert!((busy_ns as f64 / 1e9 - work / capacity).abs() <= events * 1e-9 + 1e-12 * work / capacity,
                    "busy {busy_ns} ns for {work} bits at {capacity}");
            }
        }

        /// Started together, a transfer with no more bits and no lower cap
        /// than another never ends after it.
        #[test]
        fn smaller_and_faster_ends_first(
            capacity in 1e5f64..1e8,
            jobs in prop::collection::vec((0.0f64..1e7, prop_oneof![1e5f64..5e7, Just(INF)]), 2..30),
        ) {
            let mut link = SharedLink::new(capacity);
            for (i, &(bits, cap)) in jobs.iter().enumerate() {
                link.start(VirtualTime::ZERO, i as TransferId, bits, cap);
            }
            let ended: BTreeMap<TransferId, VirtualTime> = drain(&mut link).into_iter().map(|(t, id)| (id, t)).collect();
            for (i, a) in jobs.iter().enumerate() {
                for (j, b) in jobs.iter().enumerate() {
                    if a.0 <= b.0 && a.1 >= b.1 {
                        prop_assert!(ended[&(i as u64)] <= ended[&(j as u64)], "{a:?} ended after {b:?}");
                    }
                }
            }
        }
    }
}
