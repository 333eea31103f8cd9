//! PLACEHOLDER (replaced by the link model from branch h3): a link shared
//! max-min fairly among concurrent transfers.

use crate::sim::VirtualTime;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

pub type TransferId = u64;

#[derive(Debug, Clone, Serialize, Deserialize)]
struct Transfer {
    bits: f64,
    cap: f64,
    rate: f64,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SharedLink {
    capacity: f64,
    transfers: BTreeMap<TransferId, Transfer>,
    at: VirtualTime,
}

impl SharedLink {
    pub fn new(capacity_bps: f64) -> Self {
        SharedLink { capacity: capacity_bps, transfers: BTreeMap::new(), at: VirtualTime::ZERO }
    }

    fn advance(&mut self, now: VirtualTime) {
        let dt = (now.as_nanos() - self.at.as_nanos()) as f64 / 1e9;
        for t in self.transfers.values_mut() {
            t.bits -= t.rate * dt;
        }
        self.at = now;
    }

    fn rates(&mut self) {
        let mut order: Vec<(f64, TransferId)> = self.transfers.iter().map(|(&id, t)| (t.cap, id)).collect();
        order.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
        let mut left = self.capacity;
        let n = order.len();
        for (i, (cap, id)) in order.into_iter().enumerate() {
            let share = left / (n - i) as f64;
            let r = cap.min(share);
            left -= r;
            self.transfers.get_mut(&id).unwrap().rate = r;
        }
    }

    pub fn start(&mut self, now: VirtualTime, id: TransferId, bits: f64, cap_bps: f64) {
        self.advance(now);
        self.transfers.insert(id, Transfer { bits, cap: cap_bps, rate: 0.0 });
        self.rates();
    }

    pub fn cancel(&mut self, now: VirtualTime, id: TransferId) -> bool {
        self.advance(now);
        let was = self.transfers.remove(&id).is_some();
        self.rates();
        was
    }

    fn done_at(&self, t: &Transfer) -> VirtualTime {
        self.at.after(((t.bits.max(0.0) / t.rate) * 1e9).round() as u64)
    }

    pub fn next_completion(&self) -> Option<VirtualTime> {
        self.transfers.values().map(|t| self.done_at(t)).min()
    }

    pub fn finish_until(&mut self, now: VirtualTime) -> Vec<TransferId> {
        let done: Vec<TransferId> =
            self.transfers.iter().filter(|(_, t)| self.done_at(t) <= now).map(|(&id, _)| id).collect();
        self.advance(now);
        for id in &done {
            self.transfers.remove(id);
        }
        self.rates();
        done
    }

    pub fn active(&self) -> usize {
        self.transfers.len()
    }
}
