//! When a client can be selected: always, in a daily window, or per a trace.
//!
//! Availability matters at selection only (spec section 2): a client that
//! goes offline mid-task still finishes unless it drops out.

use crate::scenario::Availability;
use crate::sim::{SeedTree, VirtualTime};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

#[derive(Debug, thiserror::Error)]
pub enum AvailabilityError {
    #[error("clients.availability.path: cannot read {path}: {source}")]
    Io { path: PathBuf, source: std::io::Error },
    #[error("{path}:{line}: clients.availability trace: {what}")]
    Row { path: PathBuf, line: usize, what: String },
}

/// Availability for every client. `always` costs nothing; `diurnal`
/// derives each client's phase from the seed tree and keeps the clients
/// sorted by phase (12 bytes each), so that the clients online at an
/// instant are one or two contiguous runs, found by binary search: choosing
/// among them, or finding the next window to open, never scans the
/// federation.
#[derive(Debug, Clone)]
pub enum AvailabilityModel {
    Always,
    Diurnal {
        period_ns: u64,
        on_ns: u64,
        seeds: SeedTree,
        /// Every client's window phase, ascending, and the clients in that order.
        phases: Arc<[u64]>,
        by_phase: Arc<[u32]>,
    },
    /// Sorted, merged `[start, end)` intervals per listed client; unlisted
    /// clients are always available.
    Trace(HashMap<u32, Vec<(u64, u64)>>),
}

impl AvailabilityModel {
    /// `seeds` is the "availability" subtree.
    pub fn new(spec: &Availability, clients: usize, seeds: SeedTree) -> Result<Self, AvailabilityError> {
        Ok(match spec {
            Availability::Always => AvailabilityModel::Always,
            Availability::Diurnal { period_h, on_fraction } => {
                let period_ns = VirtualTime::from_secs_f64(period_h * 3600.0).as_nanos().max(1);
                let on_ns = (period_ns as f64 * on_fraction).round() as u64;
                let mut order: Vec<(u64, u32)> =
                    (0..clients as u32).map(|c| (Self::phase_ns(&seeds, c, period_ns), c)).collect();
                order.sort_unstable();
                let phases = order.iter().map(|&(p, _)| p).collect();
                let by_phase = order.iter().map(|&(_, c)| c).collect();
                AvailabilityModel::Diurnal { period_ns, on_ns, seeds, phases, by_phase }
            }
            Availability::Trace { path } => AvailabilityModel::Trace(read_trace(path, clients)?),
        })
    }

    /// Where in its period client `c`'s window opens.
    fn phase_ns(seeds: &SeedTree, c: u32, period_ns: u64) -> u64 {
        seeds.index(c as u64).seed() % period_ns
    }

    pub fn is_available(&self, c: u32, t: VirtualTime) -> bool {
        self.next_available(c, t) == Some(t)
    }

    /// The first instant at or after `t` at which `c` is available.
    ///
    /// ```
    /// use fedsim::net::AvailabilityModel;
    /// use fedsim::sim::VirtualTime;
    /// let m = AvailabilityModel::Trace([(0, vec![(10, 20), (30, 40)])].into());
    /// let t = VirtualTime::from_nanos;
    /// assert_eq!(m.next_available(0, t(12)), Some(t(12)));
    /// assert_eq!(m.next_available(0, t(20)), Some(t(30)));
    /// assert_eq!(m.next_available(0, t(40)), None);
    /// assert_eq!(m.next_available(1, t(99)), Some(t(99)));
    /// ```
    pub fn next_available(&self, c: u32, t: VirtualTime) -> Option<VirtualTime> {
        let now = t.as_nanos();
        match self {
            AvailabilityModel::Always => Some(t),
            AvailabilityModel::Diurnal { period_ns, on_ns, seeds, .. } => {
                if *on_ns >= *period_ns {
                    return Some(t);
                }
                if *on_ns == 0 {
                    return None;
                }
                let phase = Self::phase_ns(seeds, c, *period_ns);
                let pos = (now % period_ns + period_ns - phase) % period_ns;
                if pos < *on_ns {
                    Some(t)
                } else {
                    Some(VirtualTime::from_nanos(now.saturating_add(period_ns - pos)))
                }
            }
            AvailabilityModel::Trace(map) => match map.get(&c) {
                None => Some(t),
                Some(iv) => {
                    let i = iv.partition_point(|&(_, end)| end <= now);
                    iv.get(i).map(|&(start, _)| VirtualTime::from_nanos(start.max(now)))
                }
            },
        }
    }
}

/// The clients online at one instant, when the model can name them
/// without a scan (diurnal): one or two runs of the phase order.
#[derive(Debug, Clone, Copy)]
pub struct Online<'a> {
    runs: [&'a [u32]; 2],
}

impl Online<'_> {
    pub fn len(&self) -> usize {
        self.runs[0].len() + self.runs[1].len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The `i`-th online client (in phase order).
    pub fn get(&self, i: usize) -> u32 {
        let first = self.runs[0].len();
        if i < first {
            self.runs[0][i]
        } else {
            self.runs[1][i - first]
        }
    }

    pub fn iter(&self) -> impl Iterator<Item = u32> + '_ {
        self.runs[0].iter().chain(self.runs[1]).copied()
    }
}

impl AvailabilityModel {
    /// The clients online at `t`, if the model can name them without a
    /// scan; `None` for `always` (everyone) and `trace`.
    ///
    /// ```
    /// use fedsim::net::AvailabilityModel;
    /// use fedsim::scenario::Availability;
    /// use fedsim::sim::{SeedTree, VirtualTime};
    /// let m = AvailabilityModel::new(&Availability::Diurnal { period_h: 1.0, on_fraction: 0.25 }, 400, SeedTree::new(1)).unwrap();
    /// let t = VirtualTime::from_secs_f64(1234.0);
    /// let online = m.online(t).unwrap();
    /// assert!(online.iter().all(|c| m.is_available(c, t)));
    /// assert_eq!(online.len(), (0..400).filter(|&c| m.is_available(c, t)).count());
    /// ```
    pub fn online(&self, t: VirtualTime) -> Option<Online<'_>> {
        let AvailabilityModel::Diurnal { period_ns, on_ns, phases, by_phase, .. } = self else { return None };
        let (period, on) = (*period_ns, *on_ns);
        if on >= period {
            return Some(Online { runs: [by_phase, &[]] });
        }
        let x = t.as_nanos() % period;
        // Online: (x - phase) mod period < on, i.e. phase in [x + 1 - on, x],
        // wrapping below zero to the end of the period.
        let from = |v: u64| phases.partition_point(|&p| p < v);
        let upto = from(x + 1);
        let runs = if x + 1 >= on {
            [&by_phase[from(x + 1 - on)..upto], &[][..]]
        } else {
            [&by_phase[..upto], &by_phase[from(period + x + 1 - on)..]]
        };
        Some(Online { runs })
    }

    /// The first instant after `t` at which a client that `wanted`
    /// accepts becomes available (`None`: none will, or all already are).
    /// Diurnal walks the phase order from `t`; a trace looks at its listed
    /// clients only (the others are always available); `always` has no
    /// windows to open.
    pub fn next_opening(&self, t: VirtualTime, wanted: impl Fn(u32) -> bool) -> Option<VirtualTime> {
        let (period_ns, on_ns, phases, by_phase) = match self {
            AvailabilityModel::Always => return None,
            AvailabilityModel::Trace(listed) => {
                return listed
                    .keys()
                    .filter(|&&c| wanted(c))
                    .filter_map(|&c| self.next_available(c, t))
                    .filter(|&at| at > t)
                    .min();
            }
            AvailabilityModel::Diurnal { period_ns, on_ns, phases, by_phase, .. } => {
                (period_ns, on_ns, phases, by_phase)
            }
        };
        if *on_ns >= *period_ns || *on_ns == 0 || phases.is_empty() {
            return None;
        }
        let x = t.as_nanos() % period_ns;
        let start = phases.partition_point(|&p| p <= x);
        let n = phases.len();
        (0..n).map(|k| (start + k) % n).find(|&i| wanted(by_phase[i])).map(|i| {
            let wait = (phases[i] + period_ns - x) % period_ns;
            t.after(if wait == 0 { *period_ns } else { wait })
        })
    }
}

fn read_trace(path: &Path, clients: usize) -> Result<HashMap<u32, Vec<(u64, u64)>>, AvailabilityError> {
    let text =
        std::fs::read_to_string(path).map_err(|source| AvailabilityError::Io { path: path.to_owned(), source })?;
    let row_err = |line: usize, what: String| AvailabilityError::Row { path: path.to_owned(), line, what };
    let mut map: HashMap<u32, Vec<(u64, u64)>> = HashMap::new();
    for (i, raw) in text.lines().enumerate() {
        let line = i + 1;
        let fields: Vec<&str> = raw.split(',').map(str::trim).collect();
        if raw.trim().is_empty() || raw.trim_start().starts_with('#') {
            continue;
        }
        if line == 1 && fields.first().is_some_and(|f| f.parse::<f64>().is_err()) {
            continue; // a header such as `client,start_s,end_s`
        }
        if fields.len() != 3 {
            return Err(row_err(line, format!("expected 3 fields `client,start_s,end_s`, found {}", fields.len())));
        }
        let client: u32 = fields[0]
            .parse()
            .map_err(|_| row_err(line, format!("client: expected a client index, found {:?}", fields[0])))?;
        if client as usize >= clients {
            return Err(row_err(line, format!("client: {client} is not below clients.count ({clients})")));
        }
        let secs = |f: &str, name: &str| -> Result<f64, AvailabilityError> {
            match f.parse::<f64>() {
                Ok(v) if v.is_finite() && v >= 0.0 => Ok(v),
                _ => Err(row_err(line, format!("{name}: expected non-negative seconds, found {f:?}"))),
            }
        };
        let (start, end) = (secs(fields[1], "start_s")?, secs(fields[2], "end_s")?);
        if end <= start {
            return Err(row_err(line, format!("end_s ({end}) must be after start_s ({start})")));
        }
        let ns = |s: f64| VirtualTime::from_secs_f64(s).as_nanos();
        map.entry(client).or_default().push((ns(start), ns(end)));
    }
    for iv in map.values_mut() {
        iv.sort_unstable();
        let mut merged: Vec<(u64, u64)> = Vec::with_capacity(iv.len());
        for &(s, e) in iv.iter() {
            match merged.last_mut() {
                Some(last) if s <= last.1 => last.1 = last.1.max(e),
                _ => merged.push((s, e)),
            }
        }
        *iv = merged;
    }
    Ok(map)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn diurnal_window_has_the_configured_share() {
        let m =
            AvailabilityModel::new(&Availability::Diurnal { period_h: 24.0, on_fraction: 0.25 }, 50, SeedTree::new(5))
                .unwrap();
        let hour = 3_600_000_000_000u64;
        for c in 0..50 {
            let on = (0..24 * 4).filter(|q| m.is_available(c, VirtualTime::from_nanos(q * hour / 4 + 1))).count();
            assert!((23..=25).contains(&on), "client {c}: {on} quarter-hours on");
            let t = VirtualTime::from_nanos(5 * hour);
            let next = m.next_available(c, t).unwrap();
            assert!(next >= t && m.is_available(c, next));
        }
    }

    #[test]
    fn trace_rows_are_read_merged_and_checked() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("t.csv");
        std::fs::write(&p, "client,start_s,end_s\n0,10,20\n0,15,30\n1,5,6\n").unwrap();
        let m = read_trace(&p, 2).unwrap();
        assert_eq!(m[&0], vec![(10_000_000_000, 30_000_000_000)]);
        // Comments and blank lines are skipped, wherever they are.
        std::fs::write(&p, "# a comment\n\n0,1,2\n   \n  # indented\n1,3,4\n").unwrap();
        let m = read_trace(&p, 2).unwrap();
        assert_eq!((m[&0].len(), m[&1].len()), (1, 1));
        // Only a first line that does not start with a number is a header:
        // a first row of data is kept, and a word later on is an error.
        std::fs::write(&p, "0,10,20\n1,1,2\n").unwrap();
        assert_eq!(read_trace(&p, 2).unwrap()[&0], vec![(10_000_000_000, 20_000_000_000)]);
        std::fs::write(&p, "0,10,20\nclient,start_s,end_s\n").unwrap();
        let e = read_trace(&p, 2).unwrap_err().to_string();
        assert!(e.contains(":2:") && e.contains("expected a client index"), "{e}");
        std::fs::write(&p, "0,10,20\n7,1,2\n").unwrap();
        let e = read_trace(&p, 2).unwrap_err().to_string();
        assert!(e.contains(":2:") && e.contains("clients.count"), "{e}");
        // Times are finite and non-negative: each bad one is named at its row.
        for (row, field) in [("0,-1,2", "start_s"), ("0,1,inf", "end_s"), ("0,NaN,2", "start_s")] {
            std::fs::write(&p, format!("0,1,2\n{row}\n")).unwrap();
            let e = read_trace(&p, 2).unwrap_err().to_string();
            assert!(e.contains(":2:") && e.contains(&format!("{field}: expected non-negative seconds")), "{row}: {e}");
        }
    }

    /// A diurnal window is `[phase, phase + on)`: open at its first
    /// nanosecond, shut at `phase + on`, and both the per-client answer and
    /// the online runs say so at every edge, the windows that wrap past
    /// the period's end included.
    #[test]
    fn diurnal_windows_are_half_open_at_every_edge() {
        let spec = Availability::Diurnal { period_h: 1.0, on_fraction: 0.25 };
        let n = 300u32;
        let m = AvailabilityModel::new(&spec, n as usize, SeedTree::new(3)).unwrap();
        let AvailabilityModel::Diurnal { period_ns, on_ns, seeds, .. } = &m else { unreachable!() };
        let (period, on) = (*period_ns, *on_ns);
        let mut wrapped = 0;
        for c in 0..n {
            let phase = AvailabilityModel::phase_ns(seeds, c, period);
            wrapped += usize::from(phase + on > period);
            // Two periods in, so that `phase - 1` never goes below zero.
            let at = |dx: i64| VirtualTime::from_nanos((2 * period + phase).checked_add_signed(dx).unwrap());
            for (dx, open) in [(-1, false), (0, true), (on as i64 - 1, true), (on as i64, false)] {
                assert_eq!(m.is_available(c, at(dx)), open, "client {c} at phase {phase} + {dx}");
                let mut online: Vec<u32> = m.online(at(dx)).unwrap().iter().collect();
                assert_eq!(online.contains(&c), open, "client {c} online at phase {phase} + {dx}");
                online.sort_unstable();
                let scan: Vec<u32> = (0..n).filter(|&d| m.is_available(d, at(dx))).collect();
                assert_eq!(online, scan, "online at {}", at(dx));
            }
            // Shut at `phase + on`: it opens again a period after `phase`.
            assert_eq!(m.next_available(c, at(on as i64)), Some(at(period as i64)));
        }
        assert!(wrapped > 0, "no window wraps past the period's end");
    }

    /// A trace's next opening lies strictly after `t`: a client available
    /// already is not one.
    #[test]
    fn a_trace_opens_next_strictly_after_now() {
        let m = AvailabilityModel::Trace([(0, vec![(0, 10)]), (1, vec![(5, 10)])].into());
        let t = VirtualTime::from_nanos;
        assert_eq!(m.next_opening(t(0), |_| true), Some(t(5)));
        assert_eq!(m.next_opening(t(5), |_| true), None);
        assert_eq!(m.next_opening(t(0), |c| c == 0), None);
    }

    /// Windows as long as the period never shut, and windows of length
    /// zero never open: neither has a next opening, at any instant.
    #[test]
    fn always_open_or_never_open_windows_have_no_next_opening() {
        for on_fraction in [1.0, 0.0] {
            let spec = Availability::Diurnal { period_h: 1.0, on_fraction };
            let m = AvailabilityModel::new(&spec, 50, SeedTree::new(9)).unwrap();
            for s in [0.0, 17.5, 1799.0, 3600.0, 5000.0] {
                let t = VirtualTime::from_secs_f64(s);
                assert_eq!(m.next_opening(t, |_| true), None, "on_fraction {on_fraction} at {s} s");
                let open = on_fraction == 1.0;
                assert!((0..50).all(|c| m.is_available(c, t) == open), "on_fraction {on_fraction} at {s} s");
            }
        }
    }

    #[test]
    fn the_online_runs_and_the_next_opening_agree_with_a_scan() {
        for (on_fraction, n) in [(0.3, 500u32), (0.02, 300), (0.97, 200)] {
            let spec = Availability::Diurnal { period_h: 2.0, on_fraction };
            let m = AvailabilityModel::new(&spec, n as usize, SeedTree::new(9)).unwrap();
            let AvailabilityModel::Diurnal { period_ns, seeds, .. } = &m else { unreachable!() };
            for q in 0..200u64 {
                let t = VirtualTime::from_nanos(q * 97_000_000_001 % 20_000_000_000_000);
                let mut fast: Vec<u32> = m.online(t).unwrap().iter().collect();
                fast.sort_unstable();
                let slow: Vec<u32> = (0..n).filter(|&c| m.is_available(c, t)).collect();
                assert_eq!(fast, slow, "online at {t}");
                // The next window to open, after t, among clients with even ids.
                let x = t.as_nanos() % period_ns;
                let scan = (0..n)
                    .filter(|c| c % 2 == 0)
                    .map(|c| {
                        let wait = (AvailabilityModel::phase_ns(seeds, c, *period_ns) + period_ns - x) % period_ns;
                        t.after(if wait == 0 { *period_ns } else { wait })
                    })
                    .min();
                assert_eq!(m.next_opening(t, |c| c % 2 == 0), scan, "at {t}");
            }
        }
    }
}
