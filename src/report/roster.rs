//! Who the clients are, as the per-client outputs name them (`trace.json`'s
//! track names, `clients.csv`'s `profile` and `samples` columns): each
//! client's device tier and its local sample count.

use crate::data::ClientData;
use std::sync::Arc;

/// Each client's profile name and sample count, shared cheaply.
///
/// ```
/// use fedsim::report::Roster;
/// let r = Roster::new(vec!["phone".into(), "edge".into()], vec![0, 1, 0].into(), |c| 10 + c as u64);
/// assert_eq!((r.profile(1), r.samples(2)), ("edge", 12));
/// // Without profiles every client is on the ideal device.
/// assert_eq!(Roster::new(vec![], vec![0, 0].into(), |_| 5).profile(1), "ideal");
/// ```
#[derive(Clone)]
pub struct Roster {
    names: Arc<[String]>,
    placement: Arc<[u16]>,
    samples: Arc<dyn Fn(u32) -> u64 + Send + Sync>,
}

impl Roster {
    /// `names`: the profiles in scenario order (empty: ideal devices);
    /// `placement`: each client's profile index (`net::place_profiles`).
    pub fn new(
        names: Vec<String>,
        placement: Arc<[u16]>,
        samples: impl Fn(u32) -> u64 + Send + Sync + 'static,
    ) -> Self {
        Roster { names: names.into(), placement, samples: Arc::new(samples) }
    }

    /// The roster of a run's clients and their data.
    pub fn of(names: Vec<String>, placement: Arc<[u16]>, data: ClientData) -> Self {
        Roster::new(names, placement, move |c| data.samples(c) as u64)
    }

    /// How many clients there are.
    pub fn len(&self) -> usize {
        self.placement.len()
    }

    pub fn is_empty(&self) -> bool {
        self.placement.is_empty()
    }

    /// The client's profile name; `ideal` without profiles (or for an id
    /// that is not a client's).
    pub fn profile(&self, c: u32) -> &str {
        self.placement.get(c as usize).and_then(|&p| self.names.get(usize::from(p))).map_or("ideal", String::as_str)
    }

    /// The client's local sample count (0 for an id that is not a client's).
    pub fn samples(&self, c: u32) -> u64 {
        if (c as usize) < self.len() {
            (self.samples)(c)
        } else {
            0
        }
    }
}
