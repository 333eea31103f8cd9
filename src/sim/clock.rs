//! How virtual time relates to the wall clock.
//!
//! A simulation normally runs as fast as its arithmetic allows; for a
//! classroom demo it can be slowed to track real time. Either way the
//! events and outputs are the same: the clock only decides how long the
//! runtime waits before delivering the next instant.

use super::time::VirtualTime;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Called by the runtime before it delivers the events of instant `t`.
pub trait Clock {
    fn advance_to(&mut self, t: VirtualTime);
}

/// Never waits: hours of virtual time in the seconds the math takes.
#[derive(Debug, Default, Clone, Copy)]
pub struct AsFastAsPossible;

impl Clock for AsFastAsPossible {
    fn advance_to(&mut self, _t: VirtualTime) {}
}

/// Sleeps so that virtual time runs `speed` times faster than the wall
/// clock; with a shared [`Pace`], the speed can change and the clock can be
/// paused while the run goes on (`fedsim watch`).
#[derive(Debug, Clone)]
pub struct RealTime {
    pace: Arc<Pace>,
    /// Whether the pace is shared: then waits are cut into short slices, so
    /// that a pause or a new speed takes effect at once.
    shared: bool,
}

impl RealTime {
    pub fn new(speed: f64) -> Self {
        RealTime { pace: Arc::new(Pace::new(speed)), shared: false }
    }

    /// A clock steered through `pace` (kept by, say, a terminal view).
    pub fn shared(pace: Arc<Pace>) -> Self {
        RealTime { pace, shared: true }
    }
}

/// The longest single sleep of a shared clock.
const SLICE: Duration = Duration::from_millis(20);

impl Clock for RealTime {
    fn advance_to(&mut self, t: VirtualTime) {
        let target = t.as_secs_f64();
        self.pace.with(|p| p.target = target);
        loop {
            let wait = {
                let mut p = self.pace.lock();
                if p.released {
                    p.reached = p.reached.max(target);
                    return;
                }
                if p.paused {
                    Some(SLICE)
                } else {
                    let due = p.anchor_wall + Duration::from_secs_f64((target - p.anchor_virtual).max(0.0) / p.speed);
                    let now = Instant::now();
                    (due > now).then(|| due - now)
                }
            };
            match wait {
                Some(d) if self.shared => std::thread::sleep(d.min(SLICE)),
                Some(d) => std::thread::sleep(d),
                None => break,
            }
            if !self.shared {
                break;
            }
        }
        let mut p = self.pace.lock();
        p.reached = p.reached.max(target);
    }
}

/// The speed and pause state of a [`RealTime`] clock, shared between the
/// run and whoever steers it. Changing either re-anchors the clock at the
/// virtual time it has reached, so that virtual time never jumps.
#[derive(Debug)]
pub struct Pace {
    state: Mutex<PaceState>,
}

#[derive(Debug, Clone, Copy)]
struct PaceState {
    /// Wall instant at which virtual time stood at `anchor_virtual`.
    anchor_wall: Instant,
    anchor_virtual: f64,
    speed: f64,
    paused: bool,
    /// Stop waiting for good (the run is being interrupted).
    released: bool,
    /// The last virtual instant delivered (seconds).
    reached: f64,
    /// The instant being waited for.
    target: f64,
}

impl Pace {
    pub fn new(speed: f64) -> Self {
        let state = PaceState {
            anchor_wall: Instant::now(),
            anchor_virtual: 0.0,
            speed: speed.max(1e-9),
            paused: false,
            released: false,
            reached: 0.0,
            target: 0.0,
        };
        Pace { state: Mutex::new(state) }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, PaceState> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn with<R>(&self, f: impl FnOnce(&mut PaceState) -> R) -> R {
        f(&mut self.lock())
    }

    /// Virtual time as the wall clock has it now: between the instant
    /// delivered last and the next, it runs on at the current speed.
    fn now_of(p: &PaceState) -> f64 {
        if p.paused {
            return p.anchor_virtual;
        }
        p.anchor_virtual + p.anchor_wall.elapsed().as_secs_f64() * p.speed
    }

    /// [`Self::now_of`] kept between the instant delivered last and the
    /// one being waited for.
    fn clamped(p: &PaceState) -> f64 {
        Self::now_of(p).clamp(p.reached, p.target.max(p.reached))
    }

    /// Virtual time now, in seconds, as the paced clock has it (for a view:
    /// it runs on smoothly between deliveries and stops while paused).
    pub fn virtual_now(&self) -> f64 {
        self.with(|p| Self::clamped(p))
    }

    /// Moves the anchor to now, at the virtual time reached.
    fn reanchor(p: &mut PaceState) {
        p.anchor_virtual = Self::clamped(p);
        p.anchor_wall = Instant::now();
    }

    pub fn speed(&self) -> f64 {
        self.with(|p| p.speed)
    }

    pub fn set_speed(&self, speed: f64) {
        self.with(|p| {
            Self::reanchor(p);
            p.speed = speed.max(1e-9);
        })
    }

    pub fn is_paused(&self) -> bool {
        self.with(|p| p.paused)
    }

    /// Pauses (virtual time stops) or resumes.
    pub fn set_paused(&self, paused: bool) {
        self.with(|p| {
            if p.paused != paused {
                Self::reanchor(p);
                p.paused = paused;
            }
        })
    }

    /// Stops pacing for good: the clock no longer waits (nor pauses).
    pub fn release(&self) {
        self.with(|p| {
            p.released = true;
            p.paused = false;
        })
    }

    /// The last virtual instant delivered, in seconds.
    pub fn reached(&self) -> f64 {
        self.with(|p| p.reached)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A paced clock waits out the whole wall time a step takes at its
    /// speed, however long: an unshared clock in one sleep, a shared one
    /// in slices of at most 20 ms (so that a pause is seen soon). Only a
    /// lower bound is checked: a busy machine can only make it later.
    #[test]
    fn a_paced_clock_waits_out_each_step_in_full() {
        for shared in [false, true] {
            let pace = Arc::new(Pace::new(10.0));
            let mut clock =
                if shared { RealTime::shared(pace.clone()) } else { RealTime { pace: pace.clone(), shared } };
            let start = Instant::now();
            // 1 s of virtual time at 10x: 100 ms of wall time from the anchor.
            clock.advance_to(VirtualTime::from_secs_f64(1.0));
            let waited = start.elapsed();
            assert!(waited >= Duration::from_millis(95), "shared {shared}: waited {waited:?}");
            assert_eq!(pace.reached(), 1.0);
        }
    }
}
