//! The client side: one [`ClientState`] per client and round, advanced by one step per phase.

use std::collections::BTreeMap;

use x25519_dalek::{PublicKey, StaticSecret};

use super::crypto::{self, expand, kdf, mask, pair_seed};
use super::shamir::{self, Share, CHUNKS};
use super::{
    AdvertiseKeys, Config, EncryptedShare, KeyRoster, MaskedInput, Phase, SecAggError, ShareBundle, ShareKeys,
    UnmaskRequest, UnmaskShares,
};

/// Which of a peer's two shares a client revealed in the unmasking phase.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
enum Revealed {
    SelfMask,
    Key,
}

/// One client's secrets and progress in one round. Serialisable (the keys as their 32 bytes): a
/// checkpoint saves what the simulated client holds between phases.
#[derive(Clone, serde::Serialize, serde::Deserialize)]
pub struct ClientState {
    /// Its id and what it advertised.
    keys: AdvertiseKeys,
    cfg: Config,
    /// The step this client expects next.
    next: Phase,
    #[serde(with = "secret_bytes")]
    c_sk: StaticSecret,
    #[serde(with = "secret_bytes")]
    s_sk: StaticSecret,
    /// `b_u`, the seed of the self mask.
    self_mask_seed: [u8; 32],
    /// Keys the PRG that draws the Shamir polynomials' coefficients.
    shamir_seed: [u8; 32],
    /// U1 as broadcast by the server.
    roster: KeyRoster,
    /// `[share of s_v's secret, share of b_v]` for each `v` in U2 (this client included): its keys are U2.
    held: BTreeMap<u32, [Share; 2]>,
    revealed: BTreeMap<u32, Revealed>,
}

/// An x25519 secret key as its 32 bytes.
mod secret_bytes {
    use serde::{Deserialize, Deserializer, Serialize, Serializer};
    use x25519_dalek::StaticSecret;

    pub fn serialize<S: Serializer>(k: &StaticSecret, s: S) -> Result<S::Ok, S::Error> {
        k.to_bytes().serialize(s)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<StaticSecret, D::Error> {
        <[u8; 32]>::deserialize(d).map(StaticSecret::from)
    }
}

/// Round 0: derives client `id`'s secrets from `seed` and returns its state and its advertisement.
pub fn advertise(id: u32, cfg: &Config, seed: [u8; 32]) -> (ClientState, AdvertiseKeys) {
    let c_sk = StaticSecret::from(kdf(crypto::LABEL_C_SK, &[&seed]));
    let s_sk = StaticSecret::from(kdf(crypto::LABEL_S_SK, &[&seed]));
    let keys = AdvertiseKeys { id, c_pk: PublicKey::from(&c_sk).to_bytes(), s_pk: PublicKey::from(&s_sk).to_bytes() };
    let state = ClientState {
        keys: keys.clone(),
        cfg: *cfg,
        next: Phase::ShareKeys,
        c_sk,
        s_sk,
        self_mask_seed: kdf(crypto::LABEL_SELF_MASK, &[&seed]),
        shamir_seed: kdf(crypto::LABEL_SHAMIR, &[&seed]),
        roster: KeyRoster { clients: Vec::new() },
        held: BTreeMap::new(),
        revealed: BTreeMap::new(),
    };
    (state, keys)
}

/// Shows the id and progress, never the secrets.
impl std::fmt::Debug for ClientState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClientState").field("id", &self.id()).field("next", &self.next).finish_non_exhaustive()
    }
}

impl ClientState {
    /// This client's id.
    pub fn id(&self) -> u32 {
        self.keys.id
    }

    fn bad(&self, reason: &'static str) -> SecAggError {
        SecAggError::BadMessage { id: self.id(), reason }
    }

    /// Round 1: Shamir-shares `s_u`'s secret and `b_u` among the roster U1 and seals each other
    /// member's pair of shares for it; keeps its own pair. Fails if U1 is below the threshold or
    /// the roster is not sorted or misstates this client's keys.
    pub fn share_keys(&mut self, roster: &KeyRoster) -> Result<ShareKeys, SecAggError> {
        self.next.expect(Phase::ShareKeys)?;
        self.cfg.validate()?;
        self.cfg.require(Phase::AdvertiseKeys, roster.clients.len())?;
        let t = self.cfg.threshold;
        if !roster.clients.windows(2).all(|w| w[0].id < w[1].id) {
            return Err(self.bad("roster is not sorted by id"));
        }
        if roster.get(self.id()) != Some(&self.keys) {
            return Err(self.bad("roster misstates this client's keys"));
        }
        // The polynomials' coefficients come from the seed, like every random choice of the round.
        let mut random = vec![0; 2 * CHUNKS * (t - 1)];
        expand(&self.shamir_seed, &mut random, |_, k| k);
        let (key_random, mask_random) = random.split_at(CHUNKS * (t - 1));
        let points: Vec<u64> = roster.clients.iter().map(|c| shamir::point(c.id)).collect();
        let key_shares = shamir::split(self.s_sk.as_bytes(), t, key_random, &points);
        let mask_shares = shamir::split(&self.self_mask_seed, t, mask_random, &points);
        let mut shares = Vec::with_capacity(points.len() - 1);
        for (peer, pair) in roster.clients.iter().zip(key_shares.into_iter().zip(mask_shares)) {
            if peer.id == self.id() {
                self.held.insert(self.id(), pair.into());
                continue;
            }
            let mut plaintext = Vec::with_capacity(2 * Share::WIRE_BYTES as usize);
            pair.0.write(&mut plaintext);
            pair.1.write(&mut plaintext);
            let ciphertext = crypto::seal(&self.c_sk, &peer.c_pk, self.id(), peer.id, &plaintext);
            shares.push(EncryptedShare { from: self.id(), to: peer.id, ciphertext });
        }
        self.roster = roster.clone();
        self.next = Phase::MaskedInput;
        Ok(ShareKeys { id: self.id(), shares })
    }

    /// Round 2: opens the forwarded shares (whose senders and this client are U2) and masks `input`
    /// (already fixed-point encoded, `cfg.dim` long) with the self mask and the pairwise masks of U2.
    /// Costs `|U2|` PRG expansions of `dim` words and `2 (|U2| − 1)` x25519 agreements.
    pub fn masked_input(&mut self, bundle: &ShareBundle, input: &[u64]) -> Result<MaskedInput, SecAggError> {
        self.next.expect(Phase::MaskedInput)?;
        if input.len() != self.cfg.dim {
            return Err(self.bad("input length differs from Config::dim"));
        }
        for share in &bundle.shares {
            let bad = |reason| SecAggError::BadMessage { id: share.from, reason };
            let sender = self.roster.get(share.from).ok_or(bad("share from a client outside U1"))?;
            if share.to != self.id() || self.held.contains_key(&share.from) {
                return Err(bad("share misaddressed or duplicated"));
            }
            let plain = crypto::open(&self.c_sk, &sender.c_pk, share.from, self.id(), &share.ciphertext)
                .ok_or(bad("share fails to decrypt"))?;
            let (key, mask) = plain.split_at(plain.len() / 2);
            let pair = Share::read(key).zip(Share::read(mask)).ok_or(bad("malformed share"))?;
            self.held.insert(share.from, pair.into());
        }
        self.cfg.require(Phase::ShareKeys, self.held.len())?;
        let mut y = input.to_vec();
        mask(&self.self_mask_seed, &mut y, true);
        for &v in self.held.keys().filter(|&&v| v != self.id()) {
            let seed = pair_seed(&self.s_sk, &self.roster.get(v).expect("held only from U1").s_pk);
            // The smaller id adds, the larger subtracts: the pair's masks cancel in the sum.
            mask(&seed, &mut y, v > self.id());
        }
        self.next = Phase::Unmasking;
        Ok(MaskedInput { id: self.id(), y })
    }

    /// Round 3: for the survivors U3 (which must include this client and lie within U2), the shares
    /// of `b_u` for `u` in U3 and of `s_u`'s secret for `u` in U2 \ U3. May be asked again, but refuses
    /// ([`SecAggError::Refused`]) to reveal the other share of any peer it already answered for.
    pub fn unmask(&mut self, request: &UnmaskRequest) -> Result<UnmaskShares, SecAggError> {
        self.next.expect(Phase::Unmasking)?;
        let survivors = &request.survivors;
        self.cfg.require(Phase::MaskedInput, survivors.len())?;
        if !survivors.windows(2).all(|w| w[0] < w[1]) || survivors.binary_search(&self.id()).is_err() {
            return Err(self.bad("survivors are unsorted or omit this client"));
        }
        if let Some(&outsider) = survivors.iter().find(|v| !self.held.contains_key(v)) {
            return Err(SecAggError::BadMessage { id: outsider, reason: "survivor outside U2" });
        }
        let kind = |u: &u32| match survivors.binary_search(u) {
            Ok(_) => Revealed::SelfMask,
            Err(_) => Revealed::Key,
        };
        // Check every peer before revealing anything, so a refused request reveals nothing.
        if let Some((&peer, _)) = self.revealed.iter().find(|(u, &was)| was != kind(u)) {
            return Err(SecAggError::Refused { client: self.id(), peer });
        }
        let mut answer = UnmaskShares { id: self.id(), b_shares: Vec::new(), s_shares: Vec::new() };
        for (&u, &[key, mask]) in &self.held {
            self.revealed.insert(u, kind(&u));
            match kind(&u) {
                Revealed::SelfMask => answer.b_shares.push((u, mask)),
                Revealed::Key => answer.s_shares.push((u, key)),
            }
        }
        Ok(answer)
    }
}
