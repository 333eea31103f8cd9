//! Shamir secret sharing of 32-byte secrets over GF(p), p = 2^61 − 1.
//!
//! A secret is cut into eight little-endian 32-bit chunks; each chunk is the constant term of its own
//! random polynomial of degree t − 1, so a share is eight field elements. The Mersenne prime makes
//! reduction of a `u128` product two shifts and adds, and 32-bit chunks sit far below p.

use serde::{Deserialize, Serialize};

/// The field modulus, 2^61 − 1.
const P: u64 = (1 << 61) - 1;
/// Field elements per share: one per 32-bit chunk of a 32-byte secret.
pub(super) const CHUNKS: usize = 8;

/// One Shamir share of a 32-byte secret: the eight chunk polynomials evaluated at the holder's point.
/// Each element is below 2^61 and travels as 8 little-endian bytes, so a share is 64 bytes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Share(pub [u64; CHUNKS]);

impl Share {
    /// Bytes of one share on the wire: 8 elements × 8 bytes.
    pub const WIRE_BYTES: u64 = 8 * CHUNKS as u64;

    pub(super) fn write(&self, out: &mut Vec<u8>) {
        self.0.iter().for_each(|e| out.extend_from_slice(&e.to_le_bytes()));
    }

    /// Reads a share from exactly 64 bytes; `None` if the length is wrong or an element is not below p.
    pub(super) fn read(bytes: &[u8]) -> Option<Share> {
        let mut share = Share([0; CHUNKS]);
        if bytes.len() != Self::WIRE_BYTES as usize {
            return None;
        }
        for (e, b) in share.0.iter_mut().zip(bytes.chunks_exact(8)) {
            *e = u64::from_le_bytes(b.try_into().ok()?);
        }
        share.0.iter().all(|&e| e < P).then_some(share)
    }
}

/// Reduces `x < 2^122` (a product of two elements) modulo p, using 2^61 ≡ 1.
fn reduce(x: u128) -> u64 {
    let folded = (x as u64 & P) + (x >> 61) as u64;
    let r = (folded & P) + (folded >> 61);
    if r >= P {
        r - P
    } else {
        r
    }
}

fn mul(a: u64, b: u64) -> u64 {
    reduce(a as u128 * b as u128)
}

fn add(a: u64, b: u64) -> u64 {
    reduce(a as u128 + b as u128)
}

fn sub(a: u64, b: u64) -> u64 {
    add(a, P - b)
}

/// `a^(p−2) = a^−1` (Fermat) for nonzero `a`.
fn inv(a: u64) -> u64 {
    let (mut base, mut exp, mut acc) = (a, P - 2, 1);
    while exp > 0 {
        if exp & 1 == 1 {
            acc = mul(acc, base);
        }
        base = mul(base, base);
        exp >>= 1;
    }
    acc
}

/// Client `id`'s evaluation point: ids are distinct `u32`s, so `id + 1` is distinct, nonzero (0 is
/// where the secret lives) and below p.
pub(super) fn point(id: u32) -> u64 {
    u64::from(id) + 1
}

/// Splits `secret` into one share per point so that any `t ≥ 2` shares recover it and fewer reveal
/// nothing.
/// `random` supplies the `t − 1` higher coefficients of each chunk's polynomial (`CHUNKS · (t − 1)`
/// words); a word's top 61 bits, reduced mod p, give a coefficient (bias 2^−61, negligible).
pub(super) fn split(secret: &[u8; 32], t: usize, random: &[u64], points: &[u64]) -> Vec<Share> {
    debug_assert_eq!(random.len(), CHUNKS * (t - 1));
    let mut shares = vec![Share([0; CHUNKS]); points.len()];
    for (c, (chunk, coeffs)) in secret.chunks_exact(4).zip(random.chunks_exact(t - 1)).enumerate() {
        let constant = u64::from(u32::from_le_bytes(chunk.try_into().expect("chunks_exact(4)")));
        for (share, &x) in shares.iter_mut().zip(points) {
            // Horner from the highest coefficient down to the secret chunk.
            let high = coeffs.iter().rev().fold(0, |acc, &r| add(mul(acc, x), (r >> 3) % P));
            share.0[c] = add(mul(high, x), constant);
        }
    }
    shares
}

/// The Lagrange coefficients `λ_j = Π_{m≠j} x_m / (x_m − x_j)`, so that `f(0) = Σ_j λ_j f(x_j)` for
/// any polynomial of degree below `points.len()`. Computed once and reused for every secret that
/// the same holders reconstruct.
pub(super) fn lagrange_at_zero(points: &[u64]) -> Vec<u64> {
    let coefficient = |j: usize, xj: u64| {
        let others = points.iter().enumerate().filter(|&(m, _)| m != j);
        let (num, den) = others.fold((1, 1), |(num, den), (_, &xm)| (mul(num, xm), mul(den, sub(xm, xj))));
        mul(num, inv(den))
    };
    points.iter().enumerate().map(|(j, &xj)| coefficient(j, xj)).collect()
}

/// Recovers a secret from shares held at the points `lagrange` was computed for (in the same order).
/// `None` if a recovered chunk exceeds 32 bits, which only inconsistent shares produce.
pub(super) fn combine(lagrange: &[u64], shares: &[Share]) -> Option<[u8; 32]> {
    let mut secret = [0u8; 32];
    for (c, out) in secret.chunks_exact_mut(4).enumerate() {
        let chunk = lagrange.iter().zip(shares).fold(0, |acc, (&l, s)| add(acc, mul(l, s.0[c])));
        out.copy_from_slice(&u32::try_from(chunk).ok()?.to_le_bytes());
    }
    Some(secret)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn any_t_shares_recover_and_fewer_do_not() {
        let secret: [u8; 32] = std::array::from_fn(|i| (i * 37 + 5) as u8);
        let t = 4;
        let random: Vec<u64> = (0..CHUNKS as u64 * 3).map(|i| i.wrapping_mul(0x9e37_79b9_7f4a_7c15)).collect();
        let points: Vec<u64> = [3u32, 9, 10, 41, 77, u32::MAX].map(point).to_vec();
        let shares = split(&secret, t, &random, &points);
        for picked in [[0, 1, 2, 3], [5, 4, 3, 2], [0, 2, 4, 5]] {
            let xs: Vec<u64> = picked.iter().map(|&i| points[i]).collect();
            let held: Vec<Share> = picked.iter().map(|&i| shares[i]).collect();
            assert_eq!(combine(&lagrange_at_zero(&xs), &held), Some(secret));
        }
        // With t − 1 shares the interpolated constant term is not the secret.
        assert_ne!(combine(&lagrange_at_zero(&points[..3]), &shares[..3]), Some(secret));
        let mut bytes = Vec::new();
        shares[0].write(&mut bytes);
        assert_eq!((bytes.len() as u64, Share::read(&bytes)), (Share::WIRE_BYTES, Some(shares[0])));
    }

    #[test]
    fn field_arithmetic_wraps_at_p() {
        assert_eq!(reduce(u128::from(P)), 0);
        assert_eq!(mul(P - 1, P - 1), 1);
        assert_eq!(sub(0, 1), P - 1);
        assert_eq!(mul(inv(123_456_789), 123_456_789), 1);
    }
}
