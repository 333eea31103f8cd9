//! Secure aggregation's round, as the server drives it: after training,
//! four message rounds through the network (advertise keys, share keys,
//! masked input, unmasking; Bonawitz et al. 2017), each closing when every
//! client still in the round has answered or vanished.
//!
//! The server side holds only what the protocol gives a server: public
//! keys, sealed shares it forwards, the running sum of masked inputs and
//! the shares that unmask it ([`secagg::Server`]). The clients' secrets and
//! updates stay on the clients' side (`SecureMemory`, which the kernel
//! keeps for them). Fewer clients than the threshold at any phase abort
//! the round: the model stays as it was and the next round starts.

use crate::actors::messages::{Model, SecureDown, SecureTask, SecureUp};
use crate::privacy::secagg::{self, SecAggError};
use crate::sim::SecAggPhase;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

/// One secure round in progress.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SecureRound {
    server: secagg::Server,
    pub task: SecureTask,
    /// The client-to-server message being collected.
    phase: SecAggPhase,
    /// Each client of the round and its task serial.
    pub serials: BTreeMap<u32, u32>,
    /// Clients whose message of `phase` has neither arrived nor been lost.
    waiting: BTreeSet<u32>,
    #[serde(with = "crate::checkpoint::shared_model")]
    pub base: Model,
}

/// What the server does after a phase closes.
#[derive(Debug)]
pub enum Step {
    /// Send each client its message of the next phase.
    Send(Vec<(u32, SecureDown)>),
    /// The sum is unmasked: `weighted_delta` (sum of `w (params - base)`),
    /// `weight` (sum of `w`) and `unclipped` (how many were within DP's
    /// clip) over the `clients` whose masked inputs it sums.
    Done { weighted_delta: Vec<f64>, weight: f64, unclipped: u64, clients: Vec<u32> },
    /// Too few clients are left.
    Abort(SecAggError),
}

impl SecureRound {
    /// A round for the clients just dispatched (`serials`), from `base`.
    pub fn new(task: SecureTask, serials: BTreeMap<u32, u32>, base: Model) -> Result<Self, SecAggError> {
        Ok(SecureRound {
            server: secagg::Server::new(task.config)?,
            task,
            phase: SecAggPhase::AdvertiseKeys,
            waiting: serials.keys().copied().collect(),
            serials,
            base,
        })
    }

    /// Whether `client`'s task `serial` belongs to this round.
    pub fn member(&self, client: u32, serial: u32) -> bool {
        self.serials.get(&client) == Some(&serial)
    }

    /// Whether the round is past training (its own phases are running).
    pub fn in_protocol(&self) -> bool {
        self.phase != SecAggPhase::AdvertiseKeys
    }

    /// A client's message arrived; true if it belongs to the current phase.
    pub fn receive(&mut self, client: u32, msg: SecureUp) -> bool {
        if msg.phase() != self.phase || !self.waiting.remove(&client) {
            return false;
        }
        // A message the protocol rejects (malformed, duplicated) counts
        // as if the client had vanished.
        let _ = match msg {
            SecureUp::AdvertiseKeys(m) => self.server.receive_keys(m),
            SecureUp::ShareKeys(m) => self.server.receive_shares(m),
            SecureUp::MaskedInput(m) => self.server.receive_masked(m),
            SecureUp::UnmaskShares(m) => self.server.receive_unmask(m),
        };
        true
    }

    /// A client of the current phase vanished; true if it was waited for.
    pub fn lost(&mut self, client: u32) -> bool {
        self.waiting.remove(&client)
    }

    /// Training is over (the sync round closed): nobody else will
    /// advertise keys.
    pub fn end_training(&mut self) {
        if self.phase == SecAggPhase::AdvertiseKeys {
            self.waiting.clear();
        }
    }

    /// Whether every client of the current phase has answered or vanished.
    pub fn phase_over(&self) -> bool {
        self.waiting.is_empty()
    }

    /// Closes the current phase (training's end closes the first one, by
    /// the sync round's rules) and says what comes next.
    pub fn close(&mut self) -> Step {
        let next = match self.phase {
            SecAggPhase::AdvertiseKeys => self.server.close_keys().map(|roster| {
                let roster = Arc::new(roster);
                let to = roster.clients.iter().map(|k| (k.id, SecureDown::KeyList(roster.clone()))).collect();
                (SecAggPhase::ShareKeys, to)
            }),
            SecAggPhase::ShareKeys => self.server.close_shares().and_then(|u2| {
                let to = u2
                    .iter()
                    .map(|&v| self.server.forward(v).map(|b| (v, SecureDown::Shares(b))))
                    .collect::<Result<Vec<_>, _>>()?;
                Ok((SecAggPhase::MaskedInput, to))
            }),
            SecAggPhase::MaskedInput => self.server.close_masked().map(|request| {
                let request = Arc::new(request);
                let to = request.survivors.iter().map(|&v| (v, SecureDown::Survivors(request.clone()))).collect();
                (SecAggPhase::UnmaskShares, to)
            }),
            _ => return self.unmask(),
        };
        match next {
            Ok((phase, to)) => {
                self.phase = phase;
                self.waiting = to.iter().map(|(c, _)| *c).collect();
                Step::Send(to)
            }
            Err(e) => Step::Abort(e),
        }
    }

    fn unmask(&mut self) -> Step {
        let clients = self.server.u3();
        let server = std::mem::replace(&mut self.server, secagg::Server::new(self.task.config).expect("valid config"));
        match server.finish() {
            Ok(sum) => {
                // The input's layout (`SecureTask::encode`): deltas, weight, unclipped bit.
                let mut x = secagg::decode(&sum, SecureTask::FRAC_BITS);
                let unclipped = x.pop().unwrap_or(0.0).round().max(0.0) as u64;
                let weight = x.pop().unwrap_or(0.0);
                Step::Done { weighted_delta: x, weight, unclipped, clients }
            }
            Err(e) => Step::Abort(e),
        }
    }

    /// Every task of the round, to end them all when it is over.
    pub fn tags(&self) -> impl Iterator<Item = crate::sim::TaskTag> + '_ {
        self.serials.iter().map(|(&client, &serial)| crate::sim::TaskTag { client, serial })
    }
}
