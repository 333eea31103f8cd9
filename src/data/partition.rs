//! Splitting the train pool over the clients.
//!
//! Every partitioner returns, per client, row indices into the train pool in
//! ascending order; every train row belongs to exactly one client. Clients
//! may get no rows (fewer rows than clients, or a skewed Dirichlet draw).
//!
//! - `iid`: round-robin, client k gets rows k, k+N, k+2N, ...
//! - `dirichlet {alpha}`: for each class in turn (0, 1, ...): shuffle the
//!   class's rows, draw proportions p ~ Dirichlet(alpha) over the N clients
//!   (N Gamma(alpha, 1) draws, normalised), and cut the shuffled rows at
//!   `floor(cumsum(p)[k] * n_class)`; client k takes the k-th piece. If every
//!   Gamma draw underflows to 0 (tiny alpha), one uniformly drawn client
//!   takes the whole class (the alpha -> 0 limit).
//! - `shards {shards_per_client}`: rows sorted by label (stable), cut into
//!   `S = N * shards_per_client` contiguous shards, shard i being
//!   `[floor(i*R/S), floor((i+1)*R/S))`; the shard ids are shuffled and
//!   client k gets ids `k*spc .. (k+1)*spc` of that order.
//! - `quantity_skew {sigma}`: client sizes proportional to N LogNormal(0,
//!   sigma) draws, rounded to the total R by largest remainder (ties to the
//!   lower client index); when R >= N a client rounded to 0 takes one row
//!   from the currently largest client (lowest index on ties) until every
//!   client has one. The rows are shuffled and cut into consecutive pieces
//!   of those sizes.
//!
//! All draws come from the one `"partition"` stream, in the order above.

use rand::seq::SliceRandom;
use rand::RngExt;
use rand_distr::{Distribution, Gamma, LogNormal};

use super::Dataset;
use crate::scenario::checked::Partition;
use crate::sim::SeedTree;

/// A partition stored flat: client `c`'s rows are
/// `rows[offsets[c]..offsets[c + 1]]` (`offsets.len() == n_clients + 1`),
/// 4 bytes per row and 8 per client, however many clients there are.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Flat {
    pub rows: Vec<u32>,
    pub offsets: Vec<u64>,
}

/// [`partition`] in flat form: the same rows in the same order per client.
/// `iid` is built flat directly (no list per client, even transiently).
pub(crate) fn partition_flat(kind: &Partition, train: &Dataset, n_clients: usize, seeds: SeedTree) -> Flat {
    let n_rows = train.rows();
    if let Partition::Iid = kind {
        let mut rows = Vec::with_capacity(n_rows);
        let mut offsets = Vec::with_capacity(n_clients + 1);
        offsets.push(0);
        for k in 0..n_clients {
            rows.extend((k..n_rows).step_by(n_clients).map(|r| r as u32));
            offsets.push(rows.len() as u64);
        }
        return Flat { rows, offsets };
    }
    let parts = partition(kind, train, n_clients, seeds);
    let mut rows = Vec::with_capacity(n_rows);
    let mut offsets = Vec::with_capacity(n_clients + 1);
    offsets.push(0);
    for p in parts {
        rows.extend_from_slice(&p);
        offsets.push(rows.len() as u64);
    }
    Flat { rows, offsets }
}

/// Row indices of `train` per client (`n_clients` lists, each ascending).
pub fn partition(kind: &Partition, train: &Dataset, n_clients: usize, seeds: SeedTree) -> Vec<Vec<u32>> {
    let rows = train.rows();
    let mut rng = seeds.stream();
    let n = n_clients;
    if n == 0 {
        return Vec::new();
    }
    let mut parts: Vec<Vec<u32>> = match *kind {
        Partition::Iid => (0..n).map(|k| (k..rows).step_by(n).map(|r| r as u32).collect()).collect(),
        Partition::Dirichlet { alpha } => {
            let mut by_class: Vec<Vec<u32>> = vec![Vec::new(); train.n_classes];
            for (r, &y) in train.y.iter().enumerate() {
                by_class[y as usize].push(r as u32);
            }
            let gamma = Gamma::new(alpha, 1.0).ok();
            let mut parts = vec![Vec::new(); n];
            let mut props = vec![0.0; n];
            for mut rows_c in by_class {
                rows_c.shuffle(&mut rng);
                let mut sum = 0.0;
                for p in props.iter_mut() {
                    *p = gamma.as_ref().map_or(1.0, |g| g.sample(&mut rng));
                    sum += *p;
                }
                let m = rows_c.len();
                if !(sum > 0.0 && sum.is_finite()) {
                    let k = rng.random_range(0..n);
                    parts[k].extend_from_slice(&rows_c);
                    continue;
                }
                let mut cum = 0.0;
                let mut start = 0usize;
                for (k, p) in props.iter().enumerate() {
                    cum += p / sum;
                    let end = if k + 1 == n { m } else { ((cum * m as f64).floor() as usize).clamp(start, m) };
                    parts[k].extend_from_slice(&rows_c[start..end]);
                    start = end;
                }
            }
            parts
        }
        Partition::Shards { shards_per_client } => {
            let spc = shards_per_client.max(1);
            let mut order: Vec<u32> = (0..rows as u32).collect();
            order.sort_by_key(|&r| train.y[r as usize]); // stable
            let s = n * spc;
            let mut ids: Vec<usize> = (0..s).collect();
            ids.shuffle(&mut rng);
            let bound = |i: usize| ((i as u128 * rows as u128) / s as u128) as usize;
            (0..n)
                .map(|k| {
                    let mut mine = Vec::new();
                    for &i in &ids[k * spc..(k + 1) * spc] {
                        mine.extend_from_slice(&order[bound(i)..bound(i + 1)]);
                    }
                    mine
                })
                .collect()
        }
        Partition::QuantitySkew { sigma } => {
            let sizes = skew_sizes(rows, n, sigma, &mut rng);
            let mut order: Vec<u32> = (0..rows as u32).collect();
            order.shuffle(&mut rng);
            let mut start = 0;
            sizes
                .iter()
                .map(|&len| {
                    let piece = order[start..start + len].to_vec();
                    start += len;
                    piece
                })
                .collect()
        }
    };
    for p in parts.iter_mut() {
        p.sort_unstable();
    }
    parts
}

/// Client sizes summing to `rows`, proportional to LogNormal(0, sigma) draws.
fn skew_sizes(rows: usize, n: usize, sigma: f64, rng: &mut crate::sim::Rng) -> Vec<usize> {
    let (mut sizes, mut shares, mut order) = (vec![0; n], vec![0.0; n], vec![0; n]);
    skew_sizes_into(rows, sigma, rng, &mut sizes, &mut shares, &mut order);
    sizes
}

/// [`skew_sizes`] without allocation: fills `sizes` (one per client,
/// `n = sizes.len()`) with `n` draws from `rng`; `shares` and `order` are
/// scratch of the same length.
pub(crate) fn skew_sizes_into(
    rows: usize,
    sigma: f64,
    rng: &mut crate::sim::Rng,
    sizes: &mut [usize],
    shares: &mut [f64],
    order: &mut [usize],
) {
    let n = sizes.len();
    debug_assert!(shares.len() == n && order.len() == n);
    let dist = LogNormal::new(0.0, sigma.max(0.0)).ok();
    for d in shares.iter_mut() {
        *d = dist.as_ref().map_or(1.0, |dist| dist.sample(rng));
    }
    let sum: f64 = shares.iter().sum();
    if sum > 0.0 && sum.is_finite() {
        shares.iter_mut().for_each(|d| *d = *d / sum * rows as f64);
    } else {
        shares.iter_mut().for_each(|d| *d = rows as f64 / n as f64);
    }
    for (s, &share) in sizes.iter_mut().zip(shares.iter()) {
        *s = share.floor() as usize;
    }
    let assigned: usize = sizes.iter().sum();
    let mut left = rows.saturating_sub(assigned);
    for (i, o) in order.iter_mut().enumerate() {
        *o = i;
    }
    // The index breaks ties, so the order is total and an unstable sort
    // (which never allocates) gives what a stable one would.
    order.sort_unstable_by(|&a, &b| {
        let (ra, rb) = (shares[a] - shares[a].floor(), shares[b] - shares[b].floor());
        rb.total_cmp(&ra).then(a.cmp(&b))
    });
    // `left < n` mathematically; the loop guards against rounding anyway
    while left > 0 {
        for &k in order.iter() {
            if left == 0 {
                break;
            }
            sizes[k] += 1;
            left -= 1;
        }
    }
    // the floors may overshoot by rounding; trim from the largest
    let mut total: usize = sizes.iter().sum();
    while total > rows {
        let k = argmax_first(sizes);
        sizes[k] -= 1;
        total -= 1;
    }
    if rows >= n {
        while let Some(k) = sizes.iter().position(|&s| s == 0) {
            let big = argmax_first(sizes);
            sizes[big] -= 1;
            sizes[k] += 1;
        }
    }
}

fn argmax_first(v: &[usize]) -> usize {
    let mut best = 0;
    for (i, &x) in v.iter().enumerate() {
        if x > v[best] {
            best = i;
        }
    }
    best
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pool(rows: usize, classes: usize) -> Dataset {
        // labels in a scrambled but fixed order
        let y = (0..rows).map(|r| ((r * 7 + r / 3) % classes) as u32).collect();
        Dataset { x: vec![0.0; rows], y, n_features: 1, n_classes: classes }
    }

    fn kinds() -> Vec<Partition> {
        vec![
            Partition::Iid,
            Partition::Dirichlet { alpha: 0.5 },
            Partition::Dirichlet { alpha: 1e-3 },
            Partition::Dirichlet { alpha: 100.0 },
            Partition::Shards { shards_per_client: 2 },
            Partition::Shards { shards_per_client: 5 },
            Partition::QuantitySkew { sigma: 1.5 },
            Partition::QuantitySkew { sigma: 0.0 },
        ]
    }

    fn check_cover(parts: &[Vec<u32>], rows: usize, n: usize) {
        assert_eq!(parts.len(), n);
        let mut seen = vec![0u8; rows];
        for p in parts {
            assert!(p.windows(2).all(|w| w[0] < w[1]), "client rows ascending");
            for &r in p {
                seen[r as usize] += 1;
            }
        }
        assert!(seen.iter().all(|&c| c == 1), "every train row in exactly one client");
    }

    #[test]
    fn every_partitioner_covers_each_row_once() {
        for (rows, n) in [(1000, 10), (997, 13), (5, 8), (0, 3), (64, 64), (1, 1)] {
            let data = pool(rows, 4);
            for kind in kinds() {
                for seed in 0..3 {
                    let parts = partition(&kind, &data, n, SeedTree::new(seed));
                    check_cover(&parts, rows, n);
                }
            }
        }
    }

    #[test]
    fn flat_partition_is_the_lists_back_to_back() {
        for (rows, n) in [(1000, 10), (997, 13), (5, 8), (0, 3)] {
            let data = pool(rows, 4);
            for kind in kinds() {
                let lists = partition(&kind, &data, n, SeedTree::new(2));
                let flat = partition_flat(&kind, &data, n, SeedTree::new(2));
                assert_eq!(flat.offsets.len(), n + 1);
                assert_eq!(flat.rows, lists.concat(), "{kind:?}");
                for (c, l) in lists.iter().enumerate() {
                    assert_eq!(&flat.rows[flat.offsets[c] as usize..flat.offsets[c + 1] as usize], &l[..]);
                }
            }
        }
    }

    #[test]
    fn partitioners_are_deterministic_per_seed() {
        let data = pool(500, 5);
        for kind in kinds() {
            let a = partition(&kind, &data, 7, SeedTree::new(11));
            let b = partition(&kind, &data, 7, SeedTree::new(11));
            assert_eq!(a, b, "{kind:?}");
            if !matches!(kind, Partition::Iid | Partition::QuantitySkew { sigma: 0.0 }) {
                let c = partition(&kind, &data, 7, SeedTree::new(12));
                assert_ne!(a, c, "{kind:?} should depend on the seed");
            }
        }
    }

    #[test]
    fn iid_is_round_robin() {
        let parts = partition(&Partition::Iid, &pool(23, 3), 5, SeedTree::new(0));
        assert_eq!(parts[0], vec![0, 5, 10, 15, 20]);
        assert_eq!(parts[3], vec![3, 8, 13, 18]);
    }

    #[test]
    fn shards_give_few_labels_per_client() {
        // 100 rows per label, so every shard holds exactly one label
        let mut data = pool(1000, 10);
        data.y = (0..1000).map(|r| (r * 7 % 10) as u32).collect();
        let parts = partition(&Partition::Shards { shards_per_client: 2 }, &data, 10, SeedTree::new(1));
        for p in &parts {
            assert_eq!(p.len(), 100);
            let mut labels: Vec<u32> = p.iter().map(|&r| data.y[r as usize]).collect();
            labels.dedup_by_key(|l| *l);
            labels.sort();
            labels.dedup();
            assert!(labels.len() <= 2, "{labels:?}");
        }
    }

    #[test]
    fn dirichlet_small_alpha_is_skewed_large_alpha_balanced() {
        let data = pool(2000, 4);
        let labels_per_client = |alpha| {
            let parts = partition(&Partition::Dirichlet { alpha }, &data, 10, SeedTree::new(3));
            parts
                .iter()
                .map(|p| {
                    let mut c = [0; 4];
                    p.iter().for_each(|&r| c[data.y[r as usize] as usize] += 1);
                    c.iter().filter(|&&x| x > 0).count()
                })
                .sum::<usize>()
        };
        assert!(labels_per_client(0.01) < 15);
        assert_eq!(labels_per_client(1000.0), 40);
    }

    #[test]
    fn quantity_skew_sizes() {
        let mut rng = SeedTree::new(5).stream();
        for (rows, n, sigma) in [(1000, 10, 2.0), (100, 100, 3.0), (7, 10, 1.0), (1000, 3, 0.0)] {
            let s = skew_sizes(rows, n, sigma, &mut rng);
            assert_eq!(s.iter().sum::<usize>(), rows);
            if rows >= n {
                assert!(s.iter().all(|&x| x >= 1), "{s:?}");
            }
        }
        assert_eq!(skew_sizes(1000, 3, 0.0, &mut rng), vec![334, 333, 333]);
        let s = skew_sizes(10000, 10, 2.0, &mut rng);
        assert!(s.iter().max().unwrap() > &(3 * s.iter().min().unwrap()));
    }
}
