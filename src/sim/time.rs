//! Virtual time: an integer count of nanoseconds since the start of a run.
//!
//! Integers keep the clock exact and totally ordered (no float drift between
//! platforms); a nanosecond is far finer than any modelled delay.

use std::fmt;
use std::ops::{Add, Sub};

/// A point on the virtual clock, in nanoseconds.
///
/// ```
/// use fedsim::sim::VirtualTime;
/// let t = VirtualTime::from_secs_f64(1.5);
/// assert_eq!(t.as_nanos(), 1_500_000_000);
/// assert_eq!(t.to_string(), "1.500000000");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default, serde::Serialize, serde::Deserialize)]
#[serde(transparent)]
pub struct VirtualTime(u64);

impl VirtualTime {
    pub const ZERO: VirtualTime = VirtualTime(0);
    /// The end of time: what "never" compares as.
    pub const NEVER: VirtualTime = VirtualTime(u64::MAX);

    pub const fn from_nanos(ns: u64) -> Self {
        VirtualTime(ns)
    }

    /// Rounds to the nearest nanosecond; negative or NaN become zero,
    /// infinite or huge values become [`VirtualTime::NEVER`].
    pub fn from_secs_f64(s: f64) -> Self {
        let ns = s * 1e9;
        if ns.is_nan() || ns <= 0.0 {
            VirtualTime(0)
        } else if ns >= u64::MAX as f64 {
            VirtualTime::NEVER
        } else {
            // `f64::round` without its libm call (baseline x86-64 has no
            // rounding instruction), exact: below 2^52 both the whole part
            // and the fraction are exact doubles; above, `ns` is whole.
            let whole = ns as u64;
            VirtualTime(whole + u64::from(ns - whole as f64 >= 0.5))
        }
    }

    pub const fn as_nanos(self) -> u64 {
        self.0
    }

    pub fn as_secs_f64(self) -> f64 {
        self.0 as f64 / 1e9
    }

    /// Appends what `Display` prints (seconds with nine decimals), without
    /// the formatting machinery: logs and tables print millions of these.
    ///
    /// ```
    /// use fedsim::sim::VirtualTime;
    /// let mut out = b"t=".to_vec();
    /// VirtualTime::from_nanos(12_000_000_345).push_secs(&mut out);
    /// assert_eq!(out, b"t=12.000000345");
    /// ```
    #[inline]
    pub fn push_secs(self, out: &mut Vec<u8>) {
        super::digits::push_secs(out, self.0);
    }

    /// Saturating addition of a duration given in nanoseconds.
    pub fn after(self, ns: u64) -> Self {
        VirtualTime(self.0.saturating_add(ns))
    }
}

impl Add for VirtualTime {
    type Output = VirtualTime;
    fn add(self, rhs: VirtualTime) -> VirtualTime {
        VirtualTime(self.0.saturating_add(rhs.0))
    }
}

impl Sub for VirtualTime {
    type Output = VirtualTime;
    fn sub(self, rhs: VirtualTime) -> VirtualTime {
        VirtualTime(self.0.saturating_sub(rhs.0))
    }
}

/// Seconds with nine decimals: exact, and the same bytes on every machine.
impl fmt::Display for VirtualTime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{:09}", self.0 / 1_000_000_000, self.0 % 1_000_000_000)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// Ties round up, as `f64::round` rounds them (away from zero).
    #[test]
    fn from_secs_f64_rounds_ties_up() {
        let ties: Vec<u64> = (0..10_000u64).filter(|&k| (k as f64 + 0.5) / 1e9 * 1e9 == k as f64 + 0.5).collect();
        assert!(ties.len() > 100, "only {} exact ties", ties.len());
        for k in ties {
            assert_eq!(VirtualTime::from_secs_f64((k as f64 + 0.5) / 1e9).as_nanos(), k + 1);
        }
        // Just below a tie (f64::round of `0.5 - ulp` is 0; `x + 0.5` would give 1).
        let below = 0.5f64.next_down() / 1e9;
        assert!(below * 1e9 < 0.5);
        assert_eq!(VirtualTime::from_secs_f64(below).as_nanos(), 0);
        assert_eq!(VirtualTime::from_secs_f64(f64::NAN), VirtualTime::ZERO);
        assert_eq!(VirtualTime::from_secs_f64(f64::INFINITY), VirtualTime::NEVER);
    }

    proptest! {
        /// The same instant as rounding with `f64::round`, for any double.
        #[test]
        fn from_secs_f64_rounds_as_f64_round(bits in any::<u64>(), small in 0.0f64..1e6, half in 0u64..1 << 40) {
            let reference = |s: f64| {
                let ns = (s * 1e9).round();
                if ns.is_nan() || ns <= 0.0 {
                    0
                } else if ns >= u64::MAX as f64 {
                    u64::MAX
                } else {
                    ns as u64
                }
            };
            // Any bit pattern (NaN, infinities, negatives, huge), ordinary
            // seconds, and exact half nanoseconds.
            for s in [f64::from_bits(bits), small, (half as f64 + 0.5) / 1e9] {
                prop_assert_eq!(VirtualTime::from_secs_f64(s).as_nanos(), reference(s), "{}", s);
            }
        }

        #[test]
        fn push_secs_prints_what_display_prints(ns in any::<u64>()) {
            let mut out = Vec::new();
            VirtualTime(ns).push_secs(&mut out);
            prop_assert_eq!(String::from_utf8(out).unwrap(), VirtualTime(ns).to_string());
        }

        /// The float seconds (summary.json, plots, the audit) are the
        /// nearest double to the log's exact decimal (below 2^53 ns, about
        /// 104 days, where the nanoseconds are exact as a double), and come
        /// back to the same nanosecond below 2^50 ns (13 days; above, the
        /// product's rounding can reach half a nanosecond).
        #[test]
        fn float_seconds_are_the_printed_seconds(ns in 0u64..1 << 53) {
            let t = VirtualTime(ns);
            prop_assert_eq!(t.as_secs_f64(), t.to_string().parse::<f64>().unwrap());
            let short = VirtualTime(ns >> 3);
            prop_assert_eq!(VirtualTime::from_secs_f64(short.as_secs_f64()), short);
        }
    }
}
