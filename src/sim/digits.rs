//! Decimal digits appended to a byte buffer: the numbers of every
//! `events.jsonl` line, `rounds.csv` row and `trace.json` record.
//!
//! A long async run writes about six lines per task, so these are on the
//! hot path of every message. They write the digits in place (a fixed-size
//! zeroed tail, filled from the right, then cut to length) instead of
//! formatting into a scratch buffer and copying it, which costs a `memcpy`
//! call per number.

/// Two decimal digits per entry, `"00"` to `"99"`.
const PAIRS: &[u8; 200] = b"0001020304050607080910111213141516171819\
2021222324252627282930313233343536373839\
4041424344454647484950515253545556575859\
6061626364656667686970717273747576777879\
8081828384858687888990919293949596979899";

/// The two digits of `n % 100`.
#[inline]
fn pair(n: u64) -> [u8; 2] {
    let i = (n % 100) as usize * 2;
    [PAIRS[i], PAIRS[i + 1]]
}

/// Writes the digits of `n` so that they end at `buf[end]` (excluded).
#[inline]
fn fill_right(buf: &mut [u8], mut end: usize, mut n: u64) {
    while n >= 100 {
        end -= 2;
        let [hi, lo] = pair(n);
        (buf[end], buf[end + 1]) = (hi, lo);
        n /= 100;
    }
    if n >= 10 {
        let [hi, lo] = pair(n);
        (buf[end - 2], buf[end - 1]) = (hi, lo);
    } else {
        buf[end - 1] = b'0' + n as u8;
    }
}

/// Appends the decimal digits of `n`.
///
/// ```
/// let mut out = b"n=".to_vec();
/// fedsim::sim::digits::push_u64(&mut out, 1_234_567);
/// assert_eq!(out, b"n=1234567");
/// ```
#[inline(always)]
pub fn push_u64(out: &mut Vec<u8>, n: u64) {
    // Most numbers of a log are small (client ids, byte counts, rounds):
    // those are written where they are asked for, the rest by a call.
    if n < 100 {
        push_under_10k(out, n);
    } else {
        push_long(out, n);
    }
}

/// The four digits of `n < 10_000`, leading zeros included.
#[inline(always)]
fn four(n: u64) -> [u8; 4] {
    let ([a, b], [c, d]) = (pair(n / 100), pair(n));
    [a, b, c, d]
}

/// [`push_u64`] for `n < 10_000`.
#[inline(always)]
fn push_under_10k(out: &mut Vec<u8>, n: u64) {
    if n < 10 {
        out.push(b'0' + n as u8);
    } else if n < 100 {
        out.extend_from_slice(&pair(n));
    } else if n < 1000 {
        let [b, c] = pair(n);
        out.extend_from_slice(&[b'0' + (n / 100) as u8, b, c]);
    } else {
        out.extend_from_slice(&four(n));
    }
}

/// [`push_u64`] for `n >= 100`.
#[inline(never)]
fn push_long(out: &mut Vec<u8>, n: u64) {
    // Up to eight digits (client ids, rounds, byte counts) as two halves
    // whose digits do not wait on each other's divisions.
    if n < 10_000 {
        return push_under_10k(out, n);
    }
    if n < 100_000_000 {
        push_under_10k(out, n / 10_000);
        return out.extend_from_slice(&four(n % 10_000));
    }
    let len = n.checked_ilog10().map_or(1, |d| d as usize + 1);
    let at = out.len();
    // A constant-size append is a few wide stores, not a call; the digits
    // then go straight into the buffer. (Digits formatted into a scratch
    // array and copied out would be read back wide right after their
    // narrow stores, which stalls the store forwarding.)
    out.extend_from_slice(&[0u8; 20]);
    fill_right(&mut out[at..at + 20], len, n);
    out.truncate(at + len);
}

/// Appends `ns` nanoseconds as seconds with exactly nine decimals (the
/// form of every virtual time in the outputs).
///
/// ```
/// let mut out = Vec::new();
/// fedsim::sim::digits::push_secs(&mut out, 12_000_000_345);
/// assert_eq!(out, b"12.000000345");
/// ```
#[inline]
pub fn push_secs(out: &mut Vec<u8>, ns: u64) {
    push_u64(out, ns / 1_000_000_000);
    // Nine digits exactly, straight-line on 32 bits.
    let f = (ns % 1_000_000_000) as u32;
    let (hi, lo) = (f / 10_000, f % 10_000);
    let at = out.len();
    out.extend_from_slice(b".000000000");
    let frac: &mut [u8; 10] = (&mut out[at..]).try_into().expect("ten bytes appended");
    frac[1] = b'0' + (hi / 10_000) as u8;
    [frac[2], frac[3]] = pair(u64::from(hi / 100));
    [frac[4], frac[5]] = pair(u64::from(hi));
    [frac[6], frac[7]] = pair(u64::from(lo / 100));
    [frac[8], frac[9]] = pair(u64::from(lo));
}

/// [`push_secs`] for a log whose consecutive lines often share their
/// instant (about half the lines of an async run): the text of the last
/// instant is kept and copied, not formatted again.
///
/// ```
/// use fedsim::sim::digits::LastSecs;
/// let (mut out, mut last) = (Vec::new(), LastSecs::default());
/// last.push(&mut out, 12_000_000_345);
/// last.push(&mut out, 12_000_000_345);
/// last.push(&mut out, 7);
/// assert_eq!(out, b"12.00000034512.0000003450.000000007");
/// ```
#[derive(Debug, Clone, Default)]
pub struct LastSecs {
    /// The instant `text` spells, once one is written.
    ns: Option<u64>,
    /// Its digits (`u64::MAX` ns takes 21 bytes), `len` of them.
    text: [u8; 32],
    len: usize,
}

impl LastSecs {
    /// Appends `ns` as [`push_secs`] does.
    #[inline]
    pub fn push(&mut self, out: &mut Vec<u8>, ns: u64) {
        let at = out.len();
        if self.ns == Some(ns) {
            // A constant-size copy is two wide stores; then cut to length.
            out.extend_from_slice(&self.text);
            out.truncate(at + self.len);
        } else {
            push_secs(out, ns);
            self.len = out.len() - at;
            self.text[..self.len].copy_from_slice(&out[at..]);
            self.ns = Some(ns);
        }
    }
}

/// The two lowercase hex digits of every byte.
const HEX: [[u8; 2]; 256] = {
    let digits = b"0123456789abcdef";
    let mut table = [[0u8; 2]; 256];
    let mut b = 0;
    while b < 256 {
        table[b] = [digits[b >> 4], digits[b & 15]];
        b += 1;
    }
    table
};

/// Appends a SHA-256 digest as 64 lowercase hex digits (a model event's
/// `sha256`, written at every model version): a byte at a time from a
/// table, where a general hex encoder works a nibble at a time.
///
/// ```
/// let mut out = Vec::new();
/// let mut digest = [0u8; 32];
/// digest[0] = 0xab;
/// digest[31] = 0x09;
/// fedsim::sim::digits::push_hex(&mut out, &digest);
/// assert_eq!(out, format!("ab{}09", "0".repeat(60)).as_bytes());
/// ```
#[inline]
pub fn push_hex(out: &mut Vec<u8>, digest: &[u8; 32]) {
    let at = out.len();
    out.extend_from_slice(&[0u8; 64]);
    for (pair, &b) in out[at..].chunks_exact_mut(2).zip(digest) {
        pair.copy_from_slice(&HEX[b as usize]);
    }
}

/// Appends `n` thousandths as a number with exactly three decimals
/// (`trace.json`'s microseconds, from nanoseconds).
///
/// ```
/// let mut out = Vec::new();
/// fedsim::sim::digits::push_thousandths(&mut out, 12_005);
/// assert_eq!(out, b"12.005");
/// ```
#[inline]
pub fn push_thousandths(out: &mut Vec<u8>, n: u64) {
    push_u64(out, n / 1000);
    let f = n % 1000;
    let at = out.len();
    out.extend_from_slice(b".000");
    let frac: &mut [u8; 4] = (&mut out[at..]).try_into().expect("four bytes appended");
    frac[1] = b'0' + (f / 100) as u8;
    [frac[2], frac[3]] = pair(f);
}

#[cfg(test)]
mod tests {
    use super::*;

    proptest::proptest! {
        #[test]
        fn push_u64_prints_what_display_prints(n in proptest::prelude::any::<u64>(), small in 0u64..1000) {
            for n in [n, small, n >> 40] {
                let mut out = b"x".to_vec();
                push_u64(&mut out, n);
                proptest::prop_assert_eq!(String::from_utf8(out).unwrap(), format!("x{n}"));
            }
        }

        #[test]
        fn push_thousandths_prints_three_decimals(n in proptest::prelude::any::<u64>()) {
            let mut out = Vec::new();
            push_thousandths(&mut out, n);
            proptest::prop_assert_eq!(String::from_utf8(out).unwrap(), format!("{}.{:03}", n / 1000, n % 1000));
        }

        #[test]
        fn push_secs_prints_seconds_and_nine_decimals(ns in proptest::prelude::any::<u64>()) {
            let mut out = Vec::new();
            push_secs(&mut out, ns);
            let expected = format!("{}.{:09}", ns / 1_000_000_000, ns % 1_000_000_000);
            proptest::prop_assert_eq!(String::from_utf8(out).unwrap(), expected);
        }
    }

    proptest::proptest! {
        /// Repeated or not, an instant reads as push_secs writes it.
        #[test]
        fn last_secs_writes_what_push_secs_writes(times in proptest::collection::vec(proptest::prelude::any::<u64>(), 1..20), repeats in proptest::collection::vec(0usize..3, 20)) {
            let (mut cached, mut plain, mut last) = (Vec::new(), Vec::new(), LastSecs::default());
            for (&ns, &r) in times.iter().zip(&repeats) {
                for _ in 0..=r {
                    last.push(&mut cached, ns);
                    push_secs(&mut plain, ns);
                    cached.push(b',');
                    plain.push(b',');
                }
            }
            proptest::prop_assert_eq!(cached, plain);
        }
    }

    proptest::proptest! {
        #[test]
        fn push_hex_writes_what_the_hex_crate_writes(digest in proptest::prelude::any::<[u8; 32]>()) {
            let mut out = b"x".to_vec();
            push_hex(&mut out, &digest);
            proptest::prop_assert_eq!(String::from_utf8(out).unwrap(), format!("x{}", hex::encode(digest)));
        }
    }

    #[test]
    fn the_edges_of_every_digit_count() {
        for d in 0..20u32 {
            for n in [10u64.pow(d), 10u64.pow(d) - 1, 10u64.pow(d) + 1] {
                let mut out = Vec::new();
                push_u64(&mut out, n);
                assert_eq!(out, n.to_string().as_bytes());
            }
        }
        let mut out = Vec::new();
        push_u64(&mut out, u64::MAX);
        assert_eq!(out, u64::MAX.to_string().as_bytes());
    }
}
