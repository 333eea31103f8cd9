//! Symmetric primitives: the SHA-256 key derivation, the ChaCha20 PRG that expands a 32-byte seed
//! into a mask, and the ChaCha20-Poly1305 sealing of Shamir shares.

use chacha20::cipher::{KeyIvInit, StreamCipher};
use chacha20::ChaCha20;
use chacha20poly1305::{AeadInOut, ChaCha20Poly1305, KeyInit, Tag};
use sha2::{Digest, Sha256};
use x25519_dalek::{PublicKey, StaticSecret};

/// Domain-separation labels: keys derived for different purposes from the same input are independent.
pub(super) const LABEL_C_SK: &[u8] = b"fedsim/secagg/v1/c_sk";
pub(super) const LABEL_S_SK: &[u8] = b"fedsim/secagg/v1/s_sk";
pub(super) const LABEL_SELF_MASK: &[u8] = b"fedsim/secagg/v1/b";
pub(super) const LABEL_SHAMIR: &[u8] = b"fedsim/secagg/v1/shamir";
pub(super) const LABEL_CLIENT_SEED: &[u8] = b"fedsim/secagg/v1/client";
const LABEL_SHARE_KEY: &[u8] = b"fedsim/secagg/v1/share-key";
const LABEL_PAIR_MASK: &[u8] = b"fedsim/secagg/v1/pair-mask";

/// Bytes the AEAD adds to a plaintext (the Poly1305 tag).
pub(super) const TAG_BYTES: usize = 16;

/// `SHA-256(len(label) ‖ label ‖ parts…)`. The length prefix keeps one label from being a prefix of
/// another; every part is fixed-length, so the concatenation is unambiguous.
pub(super) fn kdf(label: &[u8], parts: &[&[u8]]) -> [u8; 32] {
    let mut h = Sha256::new();
    h.update([label.len() as u8]);
    h.update(label);
    for part in parts {
        h.update(part);
    }
    h.finalize().into()
}

/// x25519 agreement followed by the KDF. Both ends of a pair get the same key, whoever computes it.
fn agree(label: &[u8], sk: &StaticSecret, pk: &[u8; 32]) -> [u8; 32] {
    kdf(label, &[sk.diffie_hellman(&PublicKey::from(*pk)).as_bytes()])
}

/// `s_uv`: the seed of the pairwise mask between the owner of `sk` and the owner of `pk`.
pub(super) fn pair_seed(sk: &StaticSecret, pk: &[u8; 32]) -> [u8; 32] {
    agree(LABEL_PAIR_MASK, sk, pk)
}

/// Words generated per ChaCha20 call: 4 KiB of keystream stays in L1 and amortises the call overhead.
const CHUNK_WORDS: usize = 512;

/// The PRG: ChaCha20 keyed by `seed` (zero nonce, block counter from 0), its keystream read as
/// little-endian `u64` words; word `i` is combined into `acc[i]` as `acc[i] = op(acc[i], word)`.
///
/// The keystream goes through a stack buffer straight into the accumulator, so masking allocates
/// nothing. A seed yields 2^32 blocks, i.e. masks of up to 2^35 coordinates.
pub(super) fn expand(seed: &[u8; 32], acc: &mut [u64], op: impl Fn(u64, u64) -> u64) {
    let mut prg = ChaCha20::new(seed.into(), &[0; 12].into());
    let mut buf = [0u8; CHUNK_WORDS * 8];
    for chunk in acc.chunks_mut(CHUNK_WORDS) {
        let bytes = &mut buf[..chunk.len() * 8];
        prg.write_keystream(bytes);
        for (a, word) in chunk.iter_mut().zip(bytes.chunks_exact(8)) {
            *a = op(*a, u64::from_le_bytes(word.try_into().expect("chunks_exact(8)")));
        }
    }
}

/// Adds (`add`) or subtracts the PRG expansion of `seed` to `acc`.
pub(super) fn mask(seed: &[u8; 32], acc: &mut [u64], add: bool) {
    // Two calls rather than one with a chosen `fn` pointer, so that each loop inlines its operation.
    if add {
        expand(seed, acc, u64::wrapping_add);
    } else {
        expand(seed, acc, u64::wrapping_sub);
    }
}

/// The AEAD and nonce for the shares `from` sends `to`. The key, from `x25519(c_from, c_to)`, is the
/// same in both directions, so the nonce carries the direction; each key seals one message per
/// direction, since keys are fresh every round.
fn share_cipher(sk: &StaticSecret, pk: &[u8; 32], from: u32, to: u32) -> (ChaCha20Poly1305, [u8; 12]) {
    let mut nonce = [0; 12];
    nonce[..4].copy_from_slice(&from.to_le_bytes());
    nonce[4..8].copy_from_slice(&to.to_le_bytes());
    (ChaCha20Poly1305::new(&agree(LABEL_SHARE_KEY, sk, pk).into()), nonce)
}

/// Encrypts `plaintext` from `from` (secret `sk`) to `to` (public `pk`): ciphertext ‖ 16-byte tag.
pub(super) fn seal(sk: &StaticSecret, pk: &[u8; 32], from: u32, to: u32, plaintext: &[u8]) -> Vec<u8> {
    let (aead, nonce) = share_cipher(sk, pk, from, to);
    let mut out = plaintext.to_vec();
    let tag = aead.encrypt_inout_detached(&nonce.into(), &[], out.as_mut_slice().into()).expect("short plaintext");
    out.extend_from_slice(&tag);
    out
}

/// Decrypts what `from` (public `pk`) sealed for `to` (secret `sk`); `None` if it does not authenticate.
pub(super) fn open(sk: &StaticSecret, pk: &[u8; 32], from: u32, to: u32, sealed: &[u8]) -> Option<Vec<u8>> {
    let split = sealed.len().checked_sub(TAG_BYTES)?;
    let (aead, nonce) = share_cipher(sk, pk, from, to);
    let mut out = sealed[..split].to_vec();
    let tag = Tag::try_from(&sealed[split..]).ok()?;
    aead.decrypt_inout_detached(&nonce.into(), &[], out.as_mut_slice().into(), &tag).ok()?;
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prg_is_rfc8439_chacha20() {
        // RFC 8439 appendix A.1, test vector #1: all-zero key and nonce, block counter 0.
        let mut words = [0u64; 2];
        expand(&[0; 32], &mut words, |_, k| k);
        assert_eq!(words, [0x903d_f1a0_ade0_b876, 0x28bd_8653_e56a_5d40]);
        // Spanning several chunks, adding then subtracting the same stream restores the input.
        let orig: Vec<u64> = (0..1500).map(|i| i * 0x9e37_79b9).collect();
        let mut acc = orig.clone();
        expand(&[7; 32], &mut acc, u64::wrapping_add);
        assert_ne!(acc, orig);
        expand(&[7; 32], &mut acc, u64::wrapping_sub);
        assert_eq!(acc, orig);
    }

    #[test]
    fn sealed_shares_open_only_for_their_direction() {
        let (a, b) = (StaticSecret::from([1; 32]), StaticSecret::from([2; 32]));
        let (pa, pb) = (PublicKey::from(&a).to_bytes(), PublicKey::from(&b).to_bytes());
        let sealed = seal(&a, &pb, 1, 2, b"share");
        assert_eq!(sealed.len(), 5 + TAG_BYTES);
        assert_eq!(open(&b, &pa, 1, 2, &sealed).as_deref(), Some(&b"share"[..]));
        assert_eq!(open(&b, &pa, 2, 1, &sealed), None);
        let mut tampered = sealed;
        tampered[0] ^= 1;
        assert_eq!(open(&b, &pa, 1, 2, &tampered), None);
    }
}
