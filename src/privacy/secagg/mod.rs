//! Secure aggregation (Bonawitz et al., CCS 2017, "Practical Secure Aggregation for
//! Privacy-Preserving Machine Learning"), complete-graph variant for an honest-but-curious server,
//! as pure step functions over plain message values: the simulator carries every message over its
//! network model and charges [`AdvertiseKeys::wire_bytes`] & co. No I/O, threads or clocks; all
//! randomness comes from caller-supplied 32-byte seeds, so equal seeds give byte-identical messages.
//! A seed must be fresh for every client and round: reusing one reuses its keys and masks.
//!
//! # Protocol
//! Inputs are vectors in Z_2^64 (wrapping `u64`); [`encode`]/[`decode`] map reals to them.
//! Sets shrink as clients drop: U1 ⊇ U2 ⊇ U3 ⊇ U4. Any set smaller than the threshold `t` aborts the
//! round with [`SecAggError::TooFew`] naming the phase that collected it.
//! 0. **AdvertiseKeys** — client `u` derives two x25519 key pairs from its seed, `c_u` (share
//!    encryption) and `s_u` (mask agreement), and sends both public keys ([`advertise`]). The server
//!    broadcasts the [`KeyRoster`] of those it heard from, U1 ([`Server::close_keys`]).
//! 1. **ShareKeys** — `u` derives a self-mask seed `b_u` and Shamir-shares both `b_u` and the secret
//!    of `s_u` among U1 with threshold `t` (see `shamir`: GF(2^61 − 1), eight 32-bit chunks per
//!    secret, holder `v` at point `v + 1`). The pair of shares for `v` is sealed with ChaCha20-Poly1305
//!    under `SHA-256(x25519(c_u, c_v))` ([`ClientState::share_keys`]); the server forwards to each
//!    `v` in U2 (those who sent) the [`ShareBundle`] addressed to it.
//! 2. **MaskedInput** — `u` in U2 sends `y_u = x_u + PRG(b_u) + Σ_{v∈U2, v>u} PRG(s_uv) −
//!    Σ_{v∈U2, v<u} PRG(s_uv)` with `s_uv = SHA-256(x25519(s_u, s_v))` and PRG = ChaCha20 keyed by
//!    the seed, read as little-endian `u64`s ([`ClientState::masked_input`]). Pairwise masks cancel
//!    in the sum over U2. The server adds up the `y_u` it receives, from U3.
//! 3. **Unmasking** — the server sends U3 ([`UnmaskRequest`]); each `v` in U3 returns its share of
//!    `b_u` for every `u` in U3 and of `s_u`'s secret for every `u` in U2 \ U3
//!    ([`ClientState::unmask`]), never both for the same `u`. From `t` answers (U4) the server
//!    rebuilds the dropped clients' pairwise masks with U3 and every self mask, and removes them:
//!    [`Server::finish`] returns `Σ_{u∈U3} x_u` exactly (mod 2^64).
//!
//! # Fixed point
//! [`encode`] maps each real, clipped to `[−clip, clip]`, to `round(x · 2^frac_bits)` in two's
//! complement; [`decode`] reads a sum back as `i64 / 2^frac_bits`. With the suggested
//! `frac_bits = 24` the resolution is 2^−24 ≈ 6·10^−8, each encoding errs by at most 2^−25 and a sum
//! of `n` by at most `n · 2^−25`. The sum must stay inside the `i64` range: [`max_clip`]`(n, frac_bits)`
//! = 2^(62 − frac_bits) / n keeps `n · clip · 2^frac_bits ≤ 2^62` (e.g. ±2.7·10^8 for n = 1000).
//!
//! # Wire formats
//! Integers are little-endian; ids are `u32` (4 bytes); a list is a 4-byte count and its items;
//! public keys are 32 bytes; a [`Share`] is 8 × 8 = 64 bytes; a sealed pair of shares is 128 bytes
//! of ciphertext and a 16-byte tag. With `n1 = |U1|` etc., and `d` the input dimension:
//!
//! | message | direction | bytes |
//! |---|---|---|
//! | [`AdvertiseKeys`] | up | 4 + 32 + 32 = 68 |
//! | [`KeyRoster`] | down | 4 + 68 · n1 |
//! | [`EncryptedShare`] (inside the next two) | — | 4 + 4 + 128 + 16 = 152 |
//! | [`ShareKeys`] | up | 4 + 4 + 152 · (n1 − 1) |
//! | [`ShareBundle`] | down | 4 + 152 · (n2 − 1) |
//! | [`MaskedInput`] | up | 4 + 8 · d |
//! | [`UnmaskRequest`] | down | 4 + 4 · n3 |
//! | [`UnmaskShares`] | up | 4 + (4 + 68 · n3) + (4 + 68 · (n2 − n3)) = 12 + 68 · n2 |
//!
//! [`round_wire_bytes`] tabulates them per client and round for a round without dropouts.
//!
//! # Security notes
//! Honest-but-curious server, no signatures and no consistency round: an actively malicious
//! server could claim a live client dropped and learn its input. Fewer than `t` colluding clients
//! learn nothing from their shares; the paper takes `t > n/2`, which the active setting requires.

mod client;
mod crypto;
mod fixed;
mod server;
mod shamir;

pub use client::{advertise, ClientState};
pub use fixed::{decode, encode, max_clip};
pub use server::Server;
pub use shamir::Share;

use serde::{Deserialize, Serialize};

/// The four phases, in protocol order; each error names the one it arose in.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum Phase {
    /// Round 0, whose messages make up U1.
    AdvertiseKeys,
    /// Round 1, whose messages make up U2.
    ShareKeys,
    /// Round 2, whose messages make up U3.
    MaskedInput,
    /// Round 3, whose messages make up U4.
    Unmasking,
}

/// Parameters every participant of a round agrees on.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Config {
    /// Shamir threshold `t` (≥ 2): shares needed to reconstruct, and the minimum of every client set.
    pub threshold: usize,
    /// Coordinates of every input vector.
    pub dim: usize,
}

impl Config {
    fn validate(&self) -> Result<(), SecAggError> {
        if self.threshold < 2 {
            return Err(SecAggError::Config("threshold must be at least 2: with 1 a share is the secret"));
        }
        Ok(())
    }

    /// Aborts the round if only `got` clients took part in `phase`.
    fn require(&self, phase: Phase, got: usize) -> Result<(), SecAggError> {
        if got < self.threshold {
            return Err(SecAggError::TooFew { phase, got, threshold: self.threshold });
        }
        Ok(())
    }
}

impl Phase {
    /// Rejects a `step` (a call or a message) that does not belong to the current phase `self`.
    fn expect(self, step: Phase) -> Result<(), SecAggError> {
        if self != step {
            return Err(SecAggError::WrongPhase { expected: self, got: step });
        }
        Ok(())
    }
}

/// Why a step failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SecAggError {
    /// The [`Config`] cannot run the protocol.
    #[error("invalid config: {0}")]
    Config(&'static str),
    /// The set of clients whose `phase` messages arrived fell below the threshold: the round aborts.
    #[error("{phase:?} aborted: {got} clients answered, threshold is {threshold}")]
    TooFew { phase: Phase, got: usize, threshold: usize },
    /// A step was called, or a message arrived, outside its phase (e.g. a late message).
    #[error("{got:?} step while in {expected:?}")]
    WrongPhase { expected: Phase, got: Phase },
    /// A message involving client `id` is malformed, duplicated, unexpected or fails to decrypt.
    #[error("bad message about client {id}: {reason}")]
    BadMessage { id: u32, reason: &'static str },
    /// `client` already revealed one of `peer`'s two shares and will not reveal the other.
    #[error("client {client} refuses to reveal both the self-mask and the key share of client {peer}")]
    Refused { client: u32, peer: u32 },
    /// The shares of client `id`'s secret do not reconstruct a consistent value.
    #[error("shares of client {id} do not reconstruct its secret")]
    Reconstruct { id: u32 },
}

/// Round 0, client → server: `id` and its two public keys. Wire: 4 + 32 + 32 = 68 bytes.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AdvertiseKeys {
    pub id: u32,
    /// Public key of `c_u`, for the key agreement that encrypts shares.
    pub c_pk: [u8; 32],
    /// Public key of `s_u`, for the pairwise mask seeds.
    pub s_pk: [u8; 32],
}

impl AdvertiseKeys {
    /// 4-byte id + 2 × 32-byte keys.
    pub const WIRE_BYTES: u64 = 68;

    /// [`Self::WIRE_BYTES`] = 68.
    pub fn wire_bytes(&self) -> u64 {
        Self::WIRE_BYTES
    }
}

/// Round 0, server → each of U1: the advertised keys of U1, sorted by id.
/// Wire: 4 + 68 · n1 bytes.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeyRoster {
    pub clients: Vec<AdvertiseKeys>,
}

impl KeyRoster {
    /// 4-byte count + 68 bytes per client.
    pub fn wire_bytes_for(n1: usize) -> u64 {
        4 + AdvertiseKeys::WIRE_BYTES * n1 as u64
    }

    /// [`Self::wire_bytes_for`]`(clients.len())`.
    pub fn wire_bytes(&self) -> u64 {
        Self::wire_bytes_for(self.clients.len())
    }

    /// The keys `id` advertised, if it is in U1.
    fn get(&self, id: u32) -> Option<&AdvertiseKeys> {
        self.clients.binary_search_by_key(&id, |c| c.id).ok().map(|i| &self.clients[i])
    }
}

/// The two shares (of `s_from`'s secret, then of `b_from`) that `from` sealed for `to`.
/// Wire: 4 + 4 + 128 + 16 = 152 bytes.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct EncryptedShare {
    pub from: u32,
    pub to: u32,
    /// Two 64-byte shares encrypted with ChaCha20-Poly1305, then the 16-byte tag.
    pub ciphertext: Vec<u8>,
}

impl EncryptedShare {
    /// 2 ids + 2 shares of ciphertext + tag.
    pub const WIRE_BYTES: u64 = 8 + 2 * Share::WIRE_BYTES + crypto::TAG_BYTES as u64;

    /// 8 + ciphertext length (152 for every share this module produces).
    pub fn wire_bytes(&self) -> u64 {
        8 + self.ciphertext.len() as u64
    }
}

/// Round 1, client → server: one [`EncryptedShare`] for every other member of U1, in id order.
/// Wire: 4 + 4 + 152 · (n1 − 1) bytes.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ShareKeys {
    pub id: u32,
    pub shares: Vec<EncryptedShare>,
}

impl ShareKeys {
    /// 4-byte id + 4-byte count + 152 bytes per share.
    pub fn wire_bytes_for(shares: usize) -> u64 {
        8 + EncryptedShare::WIRE_BYTES * shares as u64
    }

    /// [`Self::wire_bytes_for`]`(shares.len())`.
    pub fn wire_bytes(&self) -> u64 {
        Self::wire_bytes_for(self.shares.len())
    }
}

/// Round 1, server → a member `v` of U2: the shares the rest of U2 sealed for `v`; their senders
/// and `v` make up U2. Wire: 4 + 152 · (n2 − 1) bytes.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ShareBundle {
    pub shares: Vec<EncryptedShare>,
}

impl ShareBundle {
    /// 4-byte count + 152 bytes per share.
    pub fn wire_bytes_for(shares: usize) -> u64 {
        4 + EncryptedShare::WIRE_BYTES * shares as u64
    }

    /// [`Self::wire_bytes_for`]`(shares.len())`.
    pub fn wire_bytes(&self) -> u64 {
        Self::wire_bytes_for(self.shares.len())
    }
}

/// Round 2, client → server: the masked input `y_u`. Wire: 4 + 8 · dim bytes.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct MaskedInput {
    pub id: u32,
    pub y: Vec<u64>,
}

impl MaskedInput {
    /// 4-byte id + 8 bytes per coordinate (the dimension is agreed, so it is not sent).
    pub fn wire_bytes_for(dim: usize) -> u64 {
        4 + 8 * dim as u64
    }

    /// [`Self::wire_bytes_for`]`(y.len())`.
    pub fn wire_bytes(&self) -> u64 {
        Self::wire_bytes_for(self.y.len())
    }
}

/// Round 3, server → each of U3: the survivors U3, sorted. Wire: 4 + 4 · n3 bytes.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct UnmaskRequest {
    pub survivors: Vec<u32>,
}

impl UnmaskRequest {
    /// 4-byte count + 4 bytes per id.
    pub fn wire_bytes_for(n3: usize) -> u64 {
        4 + 4 * n3 as u64
    }

    /// [`Self::wire_bytes_for`]`(survivors.len())`.
    pub fn wire_bytes(&self) -> u64 {
        Self::wire_bytes_for(self.survivors.len())
    }
}

/// Round 3, client → server: `(u, share)` lists in id order, of `b_u` for each survivor and of
/// `s_u`'s secret for each dropped `u`. Wire: 4 + (4 + 68 · n3) + (4 + 68 · (n2 − n3)) bytes.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct UnmaskShares {
    pub id: u32,
    /// Shares of the self-mask seeds `b_u`, for every `u` in U3.
    pub b_shares: Vec<(u32, Share)>,
    /// Shares of the mask-agreement secrets `s_u`, for every `u` in U2 \ U3.
    pub s_shares: Vec<(u32, Share)>,
}

impl UnmaskShares {
    /// 4-byte id + two lists (4-byte count each) of 4-byte id + 64-byte share entries.
    pub fn wire_bytes_for(survivors: usize, dropped: usize) -> u64 {
        12 + (4 + Share::WIRE_BYTES) * (survivors + dropped) as u64
    }

    /// [`Self::wire_bytes_for`]`(b_shares.len(), s_shares.len())`.
    pub fn wire_bytes(&self) -> u64 {
        Self::wire_bytes_for(self.b_shares.len(), self.s_shares.len())
    }
}

/// Bytes one client sends (`up`) and receives (`down`) in one round.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RoundBytes {
    pub phase: Phase,
    pub up: u64,
    pub down: u64,
}

/// Per-client wire bytes of the four rounds with `n` clients, none dropping, and `dim` coordinates:
/// AdvertiseKeys up 68, down 4 + 68n; ShareKeys up 8 + 152(n − 1), down 4 + 152(n − 1);
/// MaskedInput up 4 + 8·dim, down 0; Unmasking down 4 + 4n, up 12 + 68n.
pub fn round_wire_bytes(n: usize, dim: usize) -> [RoundBytes; 4] {
    let others = n.saturating_sub(1);
    [
        (Phase::AdvertiseKeys, AdvertiseKeys::WIRE_BYTES, KeyRoster::wire_bytes_for(n)),
        (Phase::ShareKeys, ShareKeys::wire_bytes_for(others), ShareBundle::wire_bytes_for(others)),
        (Phase::MaskedInput, MaskedInput::wire_bytes_for(dim), 0),
        (Phase::Unmasking, UnmaskShares::wire_bytes_for(n, 0), UnmaskRequest::wire_bytes_for(n)),
    ]
    .map(|(phase, up, down)| RoundBytes { phase, up, down })
}

/// Runs one whole round in memory: the end-to-end reference for tests and the simulator.
///
/// Client `id` gets the seed `SHA-256("fedsim/secagg/v1/client" ‖ seed ‖ id)` (length-prefixed label). `(id, phase)` in `drop_after` makes `id`
/// go silent once it has sent its `phase` message (`Unmasking` means it completes). Returns
/// `Σ x_u` over the clients that sent a masked input, or the error that aborted the round.
pub fn run_round(
    inputs: &[(u32, Vec<u64>)],
    drop_after: &[(u32, Phase)],
    cfg: &Config,
    seed: [u8; 32],
) -> Result<Vec<u64>, SecAggError> {
    let active = |id: u32, phase: Phase| drop_after.iter().all(|&(d, last)| d != id || last >= phase);
    let mut server = Server::new(*cfg)?;
    let mut clients = Vec::with_capacity(inputs.len());
    for (id, x) in inputs {
        let (state, msg) = advertise(*id, cfg, crypto::kdf(crypto::LABEL_CLIENT_SEED, &[&seed, &id.to_le_bytes()]));
        server.receive_keys(msg)?;
        clients.push((state, x));
    }
    let roster = server.close_keys()?;
    for (c, _) in clients.iter_mut().filter(|(c, _)| active(c.id(), Phase::ShareKeys)) {
        server.receive_shares(c.share_keys(&roster)?)?;
    }
    server.close_shares()?;
    for (c, x) in clients.iter_mut().filter(|(c, _)| active(c.id(), Phase::MaskedInput)) {
        let bundle = server.forward(c.id())?;
        server.receive_masked(c.masked_input(&bundle, x)?)?;
    }
    let request = server.close_masked()?;
    for (c, _) in clients.iter_mut().filter(|(c, _)| active(c.id(), Phase::Unmasking)) {
        server.receive_unmask(c.unmask(&request)?)?;
    }
    server.finish()
}

#[cfg(test)]
mod tests {
    use super::Phase as P;
    use super::SecAggError as E;
    use super::*;
    use proptest::prelude::*;

    const SEED: [u8; 32] = [42; 32];
    const TEN: Config = Config { threshold: 7, dim: 16 };

    /// Inputs of clients `0..n`, large enough that their sum wraps.
    fn inputs(n: u32, dim: usize) -> Vec<(u32, Vec<u64>)> {
        let x = |id: u32, i: u64| (u64::from(id) + 1).wrapping_mul(0x9e37_79b9_7f4a_7c15).wrapping_add(i);
        (0..n).map(|id| (id, (0..dim as u64).map(|i| x(id, i)).collect())).collect()
    }

    /// The wrapping sum of the inputs of every client not in `absent`.
    fn sum_without(inputs: &[(u32, Vec<u64>)], absent: &[u32]) -> Vec<u64> {
        let mut sum = vec![0u64; inputs[0].1.len()];
        for (_, x) in inputs.iter().filter(|(id, _)| !absent.contains(id)) {
            sum.iter_mut().zip(x).for_each(|(s, v)| *s = s.wrapping_add(*v));
        }
        sum
    }

    proptest! {
        #[test]
        fn masks_cancel(
            ids in prop::collection::btree_set(any::<u32>(), 2..=8),
            dim in 1usize..=20,
            t in any::<prop::sample::Index>(),
            words in prop::collection::vec(any::<u64>(), 8 * 20),
            seed in any::<[u8; 32]>(),
        ) {
            let inputs: Vec<(u32, Vec<u64>)> = ids.iter().zip(words.chunks(dim)).map(|(&id, x)| (id, x.to_vec())).collect();
            let cfg = Config { threshold: 2 + t.index(ids.len() - 1), dim };
            prop_assert_eq!(run_round(&inputs, &[], &cfg, seed).unwrap(), sum_without(&inputs, &[]));
        }
    }

    #[test]
    fn up_to_three_of_ten_may_drop_before_masking() {
        let inputs = inputs(10, TEN.dim);
        let dropped = [9, 2, 5, 0];
        for k in 0..=3 {
            let drops: Vec<_> = dropped[..k].iter().map(|&id| (id, P::ShareKeys)).collect();
            assert_eq!(run_round(&inputs, &drops, &TEN, SEED), Ok(sum_without(&inputs, &dropped[..k])));
        }
        let drops = dropped.map(|id| (id, P::ShareKeys));
        assert_eq!(
            run_round(&inputs, &drops, &TEN, SEED),
            Err(E::TooFew { phase: P::MaskedInput, got: 6, threshold: 7 })
        );
    }

    #[test]
    fn survivors_silent_while_unmasking_are_tolerated_down_to_t() {
        let inputs = inputs(10, TEN.dim);
        let silent = [(1, P::MaskedInput), (4, P::MaskedInput), (8, P::MaskedInput)];
        assert_eq!(run_round(&inputs, &silent, &TEN, SEED), Ok(sum_without(&inputs, &[])));
        // Two drop before masking (their pairwise masks are rebuilt), a third goes silent while unmasking.
        let mixed = [(3, P::ShareKeys), (6, P::ShareKeys), (0, P::MaskedInput)];
        assert_eq!(run_round(&inputs, &mixed, &TEN, SEED), Ok(sum_without(&inputs, &[3, 6])));
        let too_many = [1, 4, 8, 9].map(|id| (id, P::MaskedInput));
        assert_eq!(
            run_round(&inputs, &too_many, &TEN, SEED),
            Err(E::TooFew { phase: P::Unmasking, got: 6, threshold: 7 })
        );
    }

    #[test]
    fn early_silence_shrinks_u1_and_u2() {
        let inputs = inputs(10, TEN.dim);
        let drops = [(7, P::AdvertiseKeys), (2, P::AdvertiseKeys), (5, P::ShareKeys)];
        assert_eq!(run_round(&inputs, &drops, &TEN, SEED), Ok(sum_without(&inputs, &[7, 2, 5])));
        let four = [0, 1, 2, 3].map(|id| (id, P::AdvertiseKeys));
        assert_eq!(run_round(&inputs, &four, &TEN, SEED), Err(E::TooFew { phase: P::ShareKeys, got: 6, threshold: 7 }));
        let six = &inputs[..6];
        assert_eq!(run_round(six, &[], &TEN, SEED), Err(E::TooFew { phase: P::AdvertiseKeys, got: 6, threshold: 7 }));
    }

    /// Every message of a round of clients `0..n` without dropouts.
    #[derive(Debug, PartialEq)]
    struct Transcript {
        adverts: Vec<AdvertiseKeys>,
        roster: KeyRoster,
        shares: Vec<ShareKeys>,
        bundles: Vec<ShareBundle>,
        masked: Vec<MaskedInput>,
        request: UnmaskRequest,
        answers: Vec<UnmaskShares>,
        sum: Vec<u64>,
    }

    /// Runs a round step by step; also returns the clients as they were before answering `request`
    /// (the answers come from copies).
    fn transcript(cfg: &Config, n: u32, seed: u8) -> (Transcript, Vec<ClientState>) {
        let mut server = Server::new(*cfg).unwrap();
        let (mut clients, adverts): (Vec<_>, Vec<_>) =
            (0..n).map(|id| advertise(id, cfg, [seed ^ id as u8; 32])).unzip();
        adverts.iter().for_each(|m| server.receive_keys(m.clone()).unwrap());
        let roster = server.close_keys().unwrap();
        let shares: Vec<_> = clients.iter_mut().map(|c| c.share_keys(&roster).unwrap()).collect();
        shares.iter().for_each(|m| server.receive_shares(m.clone()).unwrap());
        assert_eq!(server.close_shares().unwrap(), (0..n).collect::<Vec<_>>());
        let bundles: Vec<_> = (0..n).map(|id| server.forward(id).unwrap()).collect();
        let x = inputs(n, cfg.dim);
        let masked: Vec<_> =
            clients.iter_mut().zip(&bundles).zip(&x).map(|((c, b), x)| c.masked_input(b, &x.1).unwrap()).collect();
        masked.iter().for_each(|m| server.receive_masked(m.clone()).unwrap());
        let request = server.close_masked().unwrap();
        let answers: Vec<_> = clients.iter().map(|c| c.clone().unmask(&request).unwrap()).collect();
        answers.iter().for_each(|m| server.receive_unmask(m.clone()).unwrap());
        let sum = server.finish().unwrap();
        assert_eq!(sum, sum_without(&x, &[]));
        (Transcript { adverts, roster, shares, bundles, masked, request, answers, sum }, clients)
    }

    #[test]
    fn wire_bytes_follow_the_documented_formulas() {
        let (t, _) = transcript(&Config { threshold: 3, dim: 5 }, 4, 1);
        assert_eq!(t.adverts[0].wire_bytes(), 68); // 4 + 32 + 32
        assert_eq!(t.roster.wire_bytes(), 276); // 4 + 68·4
        assert_eq!(t.shares[0].shares[0].wire_bytes(), 152); // 4 + 4 + 128 + 16
        assert_eq!(t.shares[0].wire_bytes(), 464); // 4 + 4 + 152·3
        assert_eq!(t.bundles[0].wire_bytes(), 460); // 4 + 152·3
        assert_eq!(t.masked[0].wire_bytes(), 44); // 4 + 8·5
        assert_eq!(t.request.wire_bytes(), 20); // 4 + 4·4
        assert_eq!(t.answers[0].wire_bytes(), 284); // 4 + (4 + 68·4) + (4 + 0)
        assert_eq!(UnmaskShares::wire_bytes_for(3, 1), 284); // one dropped: its share just changes list
        let rounds = round_wire_bytes(4, 5).map(|r| (r.phase, r.up, r.down));
        let expected =
            [(P::AdvertiseKeys, 68, 276), (P::ShareKeys, 464, 460), (P::MaskedInput, 44, 0), (P::Unmasking, 284, 20)];
        assert_eq!(rounds, expected);
    }

    #[test]
    fn same_seeds_give_identical_messages() {
        let cfg = Config { threshold: 3, dim: 7 };
        let (a, _) = transcript(&cfg, 5, 9);
        assert_eq!(a, transcript(&cfg, 5, 9).0);
        let (b, _) = transcript(&cfg, 5, 10);
        assert_ne!((&a.adverts, &a.shares, &a.masked), (&b.adverts, &b.shares, &b.masked));
        assert_eq!(a.sum, b.sum);
    }

    #[test]
    fn a_client_never_reveals_both_shares_of_a_peer() {
        let (t, clients) = transcript(&Config { threshold: 3, dim: 2 }, 5, 3);
        let without_3 = UnmaskRequest { survivors: vec![0, 1, 2, 4] };
        // Client 0 is told 3 survived and reveals its share of b_3; asked again, it answers the
        // same, but it refuses the share of s_3 that would unmask x_3.
        let mut c0 = clients[0].clone();
        assert_eq!(c0.unmask(&t.request).unwrap(), t.answers[0]);
        assert_eq!(c0.unmask(&t.request).unwrap(), t.answers[0]);
        assert_eq!(c0.unmask(&without_3), Err(E::Refused { client: 0, peer: 3 }));
        // Client 1 is told 3 dropped and reveals its share of s_3: it then refuses the share of b_3.
        let mut c1 = clients[1].clone();
        let answer = c1.unmask(&without_3).unwrap();
        assert_eq!((answer.b_shares.len(), answer.s_shares[0].0, answer.s_shares.len()), (4, 3, 1));
        assert_eq!(c1.unmask(&t.request), Err(E::Refused { client: 1, peer: 3 }));
        // Survivors outside U2, or omitting the client asked, are rejected outright.
        let outsider = UnmaskRequest { survivors: vec![0, 1, 2, 9] };
        assert!(matches!(clients[2].clone().unmask(&outsider), Err(E::BadMessage { id: 9, .. })));
        let omitted = UnmaskRequest { survivors: vec![0, 1, 3] };
        assert!(matches!(clients[2].clone().unmask(&omitted), Err(E::BadMessage { id: 2, .. })));
    }

    #[test]
    fn steps_reject_late_duplicate_and_tampered_messages() {
        let cfg = Config { threshold: 2, dim: 3 };
        assert!(matches!(Server::new(Config { threshold: 1, dim: 3 }), Err(E::Config(_))));
        let mut server = Server::new(cfg).unwrap();
        let (mut a, keys_a) = advertise(1, &cfg, [1; 32]);
        let (mut b, keys_b) = advertise(2, &cfg, [2; 32]);
        server.receive_keys(keys_a.clone()).unwrap();
        assert!(matches!(server.receive_keys(keys_a.clone()), Err(E::BadMessage { id: 1, .. })));
        server.receive_keys(keys_b).unwrap();
        let roster = server.close_keys().unwrap();
        assert_eq!(server.receive_keys(keys_a), Err(E::WrongPhase { expected: P::ShareKeys, got: P::AdvertiseKeys }));
        assert_eq!(
            a.masked_input(&ShareBundle { shares: vec![] }, &[0; 3]),
            Err(E::WrongPhase { expected: P::ShareKeys, got: P::MaskedInput })
        );
        let mut from_b = b.share_keys(&roster).unwrap();
        from_b.shares[0].ciphertext[0] ^= 1;
        server.receive_shares(a.share_keys(&roster).unwrap()).unwrap();
        server.receive_shares(from_b).unwrap();
        server.close_shares().unwrap();
        assert!(matches!(a.masked_input(&server.forward(1).unwrap(), &[1, 2, 3]), Err(E::BadMessage { id: 2, .. })));
    }
}
