//! How virtual time relates to the wall clock.
//!
//! A simulation normally runs as fast as its arithmetic allows; for a
//! classroom demo it can be slowed to track real time. Either way the
//! events and outputs are the same: the clock only decides how long the
//! runtime waits before delivering the next instant.

use super::time::VirtualTime;
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

/// Sleeps so that virtual time runs `speed` times faster than the wall clock.
#[derive(Debug, Clone, Copy)]
pub struct RealTime {
    start: Instant,
    speed: f64,
}

impl RealTime {
    pub fn new(speed: f64) -> Self {
        RealTime { start: Instant::now(), speed: speed.max(1e-9) }
    }
}

impl Clock for RealTime {
    fn advance_to(&mut self, t: VirtualTime) {
        let due = self.start + Duration::from_secs_f64(t.as_secs_f64() / self.speed);
        let now = Instant::now();
        if due > now {
            std::thread::sleep(due - now);
        }
    }
}
