//! The round protocols, as state machines the server drives: sync rounds
//! (spec section 2: select, dispatch, close at the first of all-in,
//! enough-in or the deadline) and the async pool (keep `concurrency`
//! clients busy). A protocol says how many clients to start and when a
//! round closes; it never touches the model, the network or the log.

use crate::sim::{RoundClose, VirtualTime};
use crate::strategy::Schedule;
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;

/// An open sync round.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Round {
    /// Clients selected and not yet reported or dropped.
    pub outstanding: BTreeSet<u32>,
    pub reports: usize,
    /// When it opened: its deadline timer must not close a later round
    /// opened at the same version (after the server was down).
    pub opened_at: VirtualTime,
}

/// What the server should do after a task settled.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Next {
    /// Nothing yet.
    Wait,
    /// Close the sync round now, for this reason.
    CloseRound(RoundClose),
    /// Async: the update is in; advance if the strategy is ready, then refill.
    Refill,
}

/// The protocol's state.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub enum Protocol {
    Rounds {
        clients_per_round: usize,
        over_selection: f64,
        deadline: Option<VirtualTime>,
        /// Poisson cohorts: a round closes only when every client is in.
        poisson: bool,
        round: Option<Round>,
    },
    Pool {
        concurrency: usize,
        max_staleness: Option<u64>,
        in_flight: usize,
    },
}

impl Protocol {
    pub fn new(schedule: Schedule) -> Self {
        match schedule {
            Schedule::Rounds { clients_per_round, over_selection, deadline, poisson } => {
                Protocol::Rounds { clients_per_round, over_selection, deadline, poisson, round: None }
            }
            Schedule::Continuous { concurrency, max_staleness } => {
                Protocol::Pool { concurrency, max_staleness, in_flight: 0 }
            }
        }
    }

    /// How many clients to start now: a new round's selection (none while
    /// one is open), or the pool's empty slots.
    ///
    /// ```
    /// use fedsim::actors::server::Protocol;
    /// use fedsim::strategy::Schedule;
    /// let p = Protocol::new(Schedule::Rounds { clients_per_round: 10, over_selection: 1.3, deadline: None, poisson: false });
    /// assert_eq!(p.wanted(), 13);
    /// ```
    pub fn wanted(&self) -> usize {
        match self {
            Protocol::Rounds { round: Some(_), .. } => 0,
            Protocol::Rounds { clients_per_round, over_selection, .. } => {
                (*clients_per_round as f64 * over_selection).ceil() as usize
            }
            Protocol::Pool { concurrency, in_flight, .. } => concurrency.saturating_sub(*in_flight),
        }
    }

    /// Clients were started at `now`; a sync round opens (returns its
    /// deadline, relative to now).
    pub fn started(&mut self, now: VirtualTime, clients: &[u32]) -> Option<VirtualTime> {
        match self {
            Protocol::Rounds { round, deadline, .. } if !clients.is_empty() => {
                *round = Some(Round { outstanding: clients.iter().copied().collect(), reports: 0, opened_at: now });
                *deadline
            }
            Protocol::Rounds { .. } => None,
            Protocol::Pool { in_flight, .. } => {
                *in_flight += clients.len();
                None
            }
        }
    }

    /// Whether a pool waits for clients to come online (a round only waits
    /// when nobody at all could be chosen).
    pub fn refills(&self) -> bool {
        matches!(self, Protocol::Pool { .. })
    }

    /// Updates older than this are discarded (async only).
    pub fn max_staleness(&self) -> Option<u64> {
        match self {
            Protocol::Pool { max_staleness, .. } => *max_staleness,
            Protocol::Rounds { .. } => None,
        }
    }

    /// Reports taken in by the open sync round (0 with none open).
    pub fn round_reports(&self) -> usize {
        match self {
            Protocol::Rounds { round: Some(r), .. } => r.reports,
            _ => 0,
        }
    }

    /// Whether the deadline of a round opened at `opened_at` is the open
    /// round's.
    pub fn deadline_of_open_round(&self, opened_at: VirtualTime) -> bool {
        matches!(self, Protocol::Rounds { round: Some(r), .. } if r.opened_at == opened_at)
    }

    fn settled(&mut self, client: u32) {
        match self {
            Protocol::Rounds { round: Some(r), .. } => {
                r.outstanding.remove(&client);
            }
            Protocol::Rounds { .. } => {}
            Protocol::Pool { in_flight, .. } => *in_flight -= 1,
        }
    }

    /// A report was taken in.
    pub fn reported(&mut self, client: u32) -> Next {
        self.settled(client);
        match self {
            Protocol::Rounds { clients_per_round, poisson, round: Some(r), .. } => {
                r.reports += 1;
                if r.outstanding.is_empty() {
                    Next::CloseRound(RoundClose::AllReported)
                } else if !*poisson && r.reports >= *clients_per_round {
                    Next::CloseRound(RoundClose::Quorum)
                } else {
                    Next::Wait
                }
            }
            Protocol::Rounds { .. } => Next::Wait,
            Protocol::Pool { .. } => Next::Refill,
        }
    }

    /// A report was discarded as too stale (async): its slot refills.
    pub fn discarded(&mut self, client: u32) -> Next {
        self.settled(client);
        Next::Refill
    }

    /// A client vanished.
    pub fn dropped(&mut self, client: u32) -> Next {
        self.settled(client);
        match self {
            Protocol::Rounds { round: Some(r), .. } if r.outstanding.is_empty() => {
                Next::CloseRound(RoundClose::AllReported)
            }
            Protocol::Rounds { .. } => Next::Wait,
            Protocol::Pool { .. } => Next::Refill,
        }
    }

    /// Closes the open round: the clients still working, to cancel.
    pub fn close(&mut self) -> Option<Vec<u32>> {
        match self {
            Protocol::Rounds { round, .. } => round.take().map(|r| r.outstanding.into_iter().collect()),
            Protocol::Pool { .. } => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_round_closes_on_enough_reports_or_when_all_are_settled() {
        let mut p = Protocol::new(Schedule::Rounds {
            clients_per_round: 2,
            over_selection: 1.5,
            deadline: None,
            poisson: false,
        });
        assert_eq!(p.wanted(), 3);
        p.started(VirtualTime::ZERO, &[1, 4, 7]);
        assert_eq!(p.wanted(), 0);
        assert_eq!(p.reported(4), Next::Wait);
        assert_eq!(p.reported(1), Next::CloseRound(RoundClose::Quorum));
        assert_eq!(p.close(), Some(vec![7]));
        assert_eq!(p.wanted(), 3);
        p.started(VirtualTime::ZERO, &[2, 3, 5]);
        assert_eq!(p.dropped(2), Next::Wait);
        assert_eq!(p.dropped(3), Next::Wait);
        assert_eq!(p.dropped(5), Next::CloseRound(RoundClose::AllReported));
        assert_eq!(p.close(), Some(vec![]));
    }

    #[test]
    fn a_pool_keeps_its_slots_full() {
        let mut p = Protocol::new(Schedule::Continuous { concurrency: 3, max_staleness: Some(2) });
        p.started(VirtualTime::ZERO, &[0, 1]);
        assert_eq!(p.wanted(), 1);
        assert_eq!(p.reported(0), Next::Refill);
        assert_eq!(p.wanted(), 2);
        assert_eq!(p.max_staleness(), Some(2));
    }
}
