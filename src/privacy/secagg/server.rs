//! The server side: collects each phase's messages, then closes the phase (the simulator decides
//! when, e.g. at a deadline), which fixes that phase's client set and checks it against the threshold.

use std::collections::{BTreeMap, BTreeSet};

use x25519_dalek::{PublicKey, StaticSecret};

use super::crypto::{mask, pair_seed};
use super::shamir::{self, Share};
use super::{
    AdvertiseKeys, Config, EncryptedShare, KeyRoster, MaskedInput, Phase, SecAggError, ShareBundle, ShareKeys,
    UnmaskRequest, UnmaskShares,
};

/// One round's server state. Messages for a phase are accepted until that phase is closed; later
/// ones get [`SecAggError::WrongPhase`] and should be dropped by the caller. Serialisable: a
/// checkpoint saves a round in progress.
#[derive(Clone, Debug, serde::Serialize, serde::Deserialize)]
pub struct Server {
    cfg: Config,
    /// The phase whose messages are being collected.
    phase: Phase,
    /// U1 and its keys.
    keys: BTreeMap<u32, AdvertiseKeys>,
    /// Sealed shares by recipient, until they are forwarded.
    inbox: BTreeMap<u32, Vec<EncryptedShare>>,
    u2: BTreeSet<u32>,
    u3: BTreeSet<u32>,
    /// Running `Σ y_u` over U3: masked inputs are added on arrival, not stored.
    sum: Vec<u64>,
    /// U4's answers.
    answers: BTreeMap<u32, UnmaskShares>,
}

impl Server {
    /// The clients whose masked inputs the running sum holds (U3).
    pub fn u3(&self) -> Vec<u32> {
        self.u3.iter().copied().collect()
    }

    /// A server for one round, collecting advertisements; fails if `cfg` is invalid.
    pub fn new(cfg: Config) -> Result<Server, SecAggError> {
        cfg.validate()?;
        Ok(Server {
            cfg,
            phase: Phase::AdvertiseKeys,
            keys: BTreeMap::new(),
            inbox: BTreeMap::new(),
            u2: BTreeSet::new(),
            u3: BTreeSet::new(),
            sum: vec![0; cfg.dim],
            answers: BTreeMap::new(),
        })
    }

    /// Closes `phase`, which must be the current one, with `got` clients; aborts below the threshold.
    fn close(&mut self, phase: Phase, got: usize) -> Result<(), SecAggError> {
        self.phase.expect(phase)?;
        self.cfg.require(phase, got)?;
        self.phase = match phase {
            Phase::AdvertiseKeys => Phase::ShareKeys,
            Phase::ShareKeys => Phase::MaskedInput,
            // Unmasking is the last phase: closing it is finishing.
            Phase::MaskedInput | Phase::Unmasking => Phase::Unmasking,
        };
        Ok(())
    }

    /// Round 0: records a client's public keys.
    pub fn receive_keys(&mut self, msg: AdvertiseKeys) -> Result<(), SecAggError> {
        self.phase.expect(Phase::AdvertiseKeys)?;
        if self.keys.contains_key(&msg.id) {
            return Err(SecAggError::BadMessage { id: msg.id, reason: "duplicate advertisement" });
        }
        self.keys.insert(msg.id, msg);
        Ok(())
    }

    /// Ends round 0: U1 is every advertiser; returns the roster to broadcast to each of them.
    pub fn close_keys(&mut self) -> Result<KeyRoster, SecAggError> {
        self.close(Phase::AdvertiseKeys, self.keys.len())?;
        Ok(KeyRoster { clients: self.keys.values().cloned().collect() })
    }

    /// Round 1: files a client's sealed shares, which must address every other member of U1 once, in id order.
    pub fn receive_shares(&mut self, msg: ShareKeys) -> Result<(), SecAggError> {
        self.phase.expect(Phase::ShareKeys)?;
        let bad = |reason| SecAggError::BadMessage { id: msg.id, reason };
        if !self.keys.contains_key(&msg.id) || self.u2.contains(&msg.id) {
            return Err(bad("shares from outside U1 or duplicated"));
        }
        let expected = self.keys.keys().filter(|&&v| v != msg.id).map(|&v| (msg.id, v));
        if !msg.shares.iter().map(|s| (s.from, s.to)).eq(expected) {
            return Err(bad("shares do not address the rest of U1 in order"));
        }
        for share in msg.shares {
            self.inbox.entry(share.to).or_default().push(share);
        }
        self.u2.insert(msg.id);
        Ok(())
    }

    /// Ends round 1: U2 is every client that sent shares; returns it (the clients to [`Self::forward`] to).
    pub fn close_shares(&mut self) -> Result<Vec<u32>, SecAggError> {
        self.close(Phase::ShareKeys, self.u2.len())?;
        // Shares for members of U1 that fell silent will never be delivered.
        self.inbox.retain(|to, _| self.u2.contains(to));
        Ok(self.u2.iter().copied().collect())
    }

    /// Round 1's downlink: the shares the rest of U2 sealed for `to`, a member of U2.
    pub fn forward(&self, to: u32) -> Result<ShareBundle, SecAggError> {
        self.phase.expect(Phase::MaskedInput)?;
        if !self.u2.contains(&to) {
            return Err(SecAggError::BadMessage { id: to, reason: "forwarding to a client outside U2" });
        }
        Ok(ShareBundle { shares: self.inbox.get(&to).cloned().unwrap_or_default() })
    }

    /// Round 2: adds a member of U2's masked input to the running sum.
    pub fn receive_masked(&mut self, msg: MaskedInput) -> Result<(), SecAggError> {
        self.phase.expect(Phase::MaskedInput)?;
        if !self.u2.contains(&msg.id) || self.u3.contains(&msg.id) || msg.y.len() != self.cfg.dim {
            return Err(SecAggError::BadMessage { id: msg.id, reason: "masked input unexpected or of wrong dim" });
        }
        self.sum.iter_mut().zip(&msg.y).for_each(|(s, y)| *s = s.wrapping_add(*y));
        self.u3.insert(msg.id);
        Ok(())
    }

    /// Ends round 2: U3 is every client whose masked input arrived; returns the request to send them.
    pub fn close_masked(&mut self) -> Result<UnmaskRequest, SecAggError> {
        self.close(Phase::MaskedInput, self.u3.len())?;
        self.inbox.clear();
        Ok(UnmaskRequest { survivors: self.u3.iter().copied().collect() })
    }

    /// Round 3: records a survivor's shares, which must cover U3 and U2 \ U3 exactly, in id order.
    pub fn receive_unmask(&mut self, msg: UnmaskShares) -> Result<(), SecAggError> {
        self.phase.expect(Phase::Unmasking)?;
        let ids = |list: &[(u32, Share)]| list.iter().map(|&(u, _)| u).collect::<Vec<_>>();
        let dropped: Vec<u32> = self.u2.difference(&self.u3).copied().collect();
        if !self.u3.contains(&msg.id)
            || self.answers.contains_key(&msg.id)
            || !ids(&msg.b_shares).iter().eq(&self.u3)
            || ids(&msg.s_shares) != dropped
        {
            return Err(SecAggError::BadMessage { id: msg.id, reason: "unmask answer unexpected or incomplete" });
        }
        self.answers.insert(msg.id, msg);
        Ok(())
    }

    /// Ends round 3: with at least `t` answers (U4), removes every survivor's self mask and each
    /// dropped client's pairwise masks with the survivors, leaving `Σ_{u∈U3} x_u` (mod 2^64).
    pub fn finish(mut self) -> Result<Vec<u64>, SecAggError> {
        self.close(Phase::Unmasking, self.answers.len())?;
        let t = self.cfg.threshold;
        // Any t answers determine every secret, and the Lagrange coefficients depend only on whose
        // answers are used, so they are computed once for all secrets.
        let used: Vec<&UnmaskShares> = self.answers.values().take(t).collect();
        let lagrange = shamir::lagrange_at_zero(&used.iter().map(|a| shamir::point(a.id)).collect::<Vec<_>>());
        let recover = |id: u32, pick: &dyn Fn(&UnmaskShares) -> Share| {
            let shares: Vec<Share> = used.iter().map(|a| pick(a)).collect();
            shamir::combine(&lagrange, &shares).ok_or(SecAggError::Reconstruct { id })
        };
        for (i, &u) in self.u3.iter().enumerate() {
            mask(&recover(u, &|a| a.b_shares[i].1)?, &mut self.sum, false);
        }
        for (i, &u) in self.u2.difference(&self.u3).enumerate() {
            let s_sk = StaticSecret::from(recover(u, &|a| a.s_shares[i].1)?);
            // The advertised public key authenticates the reconstruction.
            if PublicKey::from(&s_sk).to_bytes() != self.keys[&u].s_pk {
                return Err(SecAggError::Reconstruct { id: u });
            }
            for &v in &self.u3 {
                let seed = pair_seed(&s_sk, &self.keys[&v].s_pk);
                // Survivor v added this mask if u > v and subtracted it if u < v: undo that.
                mask(&seed, &mut self.sum, u < v);
            }
        }
        Ok(self.sum)
    }
}
