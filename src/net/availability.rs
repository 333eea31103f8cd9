//! When a client can be selected: always, in a daily window, or per a trace.
//!
//! Availability matters at selection only (spec section 2): a client that
//! goes offline mid-task still finishes unless it drops out.

use crate::scenario::Availability;
use crate::sim::{SeedTree, VirtualTime};
use std::collections::HashMap;
use std::path::{Path, PathBuf};

#[derive(Debug, thiserror::Error)]
pub enum AvailabilityError {
    #[error("clients.availability.path: cannot read {path}: {source}")]
    Io { path: PathBuf, source: std::io::Error },
    #[error("{path}:{line}: clients.availability trace: {what}")]
    Row { path: PathBuf, line: usize, what: String },
}

/// Availability for every client, answered without per-client state for
/// `always` and `diurnal` (the phase is derived from the seed tree on
/// demand), so it costs nothing at a million clients.
#[derive(Debug, Clone)]
pub enum AvailabilityModel {
    Always,
    Diurnal {
        period_ns: u64,
        on_ns: u64,
        seeds: SeedTree,
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
                AvailabilityModel::Diurnal { period_ns, on_ns, seeds }
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
            AvailabilityModel::Diurnal { period_ns, on_ns, seeds } => {
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
        std::fs::write(&p, "0,10,20\n7,1,2\n").unwrap();
        let e = read_trace(&p, 2).unwrap_err().to_string();
        assert!(e.contains(":2:") && e.contains("clients.count"), "{e}");
    }
}
