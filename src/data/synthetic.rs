//! LEAF-style synthetic(alpha, beta) data (Li et al., "Federated
//! Optimization in Heterogeneous Networks", the FedProx paper), as one
//! table ([`generate`]) or one source per client made on demand
//! ([`PerClientSynthetic`], `data.synthetic.per_client: true`).
//!
//! # The sources
//! Per source k (normal laws given as N(mean, std), as numpy's
//! `normal(loc, scale)` in LEAF's generator):
//!
//! - u_k ~ N(0, alpha); W_k ~ N(u_k, 1) (classes x features);
//!   b_k ~ N(u_k, 1) (classes);
//! - B_k ~ N(0, beta); v_k ~ N(B_k, 1) (one mean per feature);
//! - each row: x_j ~ N(v_kj, j^-1.2 as variance), j = 1..features;
//!   y = argmax(W_k x + b_k), ties to the lowest class.
//!
//! The draws are `f64` (x and the label's logits); the features are stored
//! rounded to `f32`, the label being the argmax over the `f64` draw.
//!
//! Source k draws from its own stream `synthetic.index(k)`, in the order
//! u, W (row-major), b, B, v, then its rows in order (x then nothing for y).
//!
//! # One table (`per_client: false`)
//! There are S = `clients.count` sources; row i belongs to source `i mod S`
//! (so with the `iid` partition and no shuffle, client k gets exactly
//! source k's rows). Sources are generated one at a time, so memory is the
//! output table plus one source's model.
//!
//! # One source per client (`per_client: true`)
//! Client k is source k, and its rows are drawn from the seed tree whenever
//! they are asked for ([`PerClientSynthetic::client`]): nothing is stored
//! per client, and making one client costs O(rows x features + classes x
//! features), whatever the number of clients. Its rows are exactly the
//! first rows of source k in the table layout (same stream, same order).
//!
//! - **Sizes** (`samples` = the train rows over all N clients; q =
//!   `samples / N`, r = `samples mod N`; `samples >= N`, so q >= 1):
//!   - `partition: iid`: client k has q + 1 rows if k < r, else q (the
//!     counts of the table's round-robin);
//!   - `partition: quantity_skew {sigma}`: clients form blocks of
//!     [`SIZE_BLOCK`] consecutive ids (the last may be shorter); block b
//!     holds exactly the rows `iid` would give its clients, split over
//!     them as the `quantity_skew` partitioner splits a pool (shares
//!     proportional to LogNormal(0, sigma) draws from the stream
//!     `synthetic.sizes.index(b)`, largest remainder, every client at
//!     least one row). So the mean is `samples / N` and the total exactly
//!     `samples`, and a size costs O(`SIZE_BLOCK`) draws, no storage.
//! - **Test set**: the first K = min(N, [`SAMPLE_SOURCES`]) sources, with
//!   T train rows between them, hold out as many fresh rows as a split
//!   with `test_fraction` would: R = min(ceil(T * test_fraction / (1 -
//!   test_fraction)), [`MAX_TEST_ROWS`]) rows, source k < K giving
//!   floor(C_(k+1) * R / T) - floor(C_k * R / T) of them (C_k: the train
//!   rows of the sources before k), in source order. A source's test rows
//!   come from the stream `synthetic.test.index(k)`, after its model from
//!   its own stream, so they are new draws of the same law.
//! - **Normalisation**: fitted on the train rows of those K clients (a
//!   deterministic sample of the train pool), applied to the test set and
//!   to every client's rows as they are made.

use rand_distr::{Distribution, StandardNormal};

use super::partition::skew_sizes_into;
use super::{DataError, Dataset, Raw, Scaler};
use crate::scenario::checked::{Normalize, Partition, SyntheticSpec};
use crate::sim::{Rng, SeedTree};

/// Clients per block of the `quantity_skew` size law with `per_client`.
pub const SIZE_BLOCK: usize = 64;
/// With `per_client`, the first this-many sources give the normalisation
/// sample and the test set.
pub const SAMPLE_SOURCES: usize = 1000;
/// With `per_client`, the most rows the test set holds.
pub const MAX_TEST_ROWS: usize = 100_000;

pub(crate) fn generate(spec: &SyntheticSpec, n_sources: usize, seeds: SeedTree) -> Result<Raw, DataError> {
    let f = spec.features;
    let c = spec.classes;
    let n = spec.samples;
    let bad = |key, message: &str| Err(DataError::Invalid { key, message: message.into() });
    if f == 0 {
        return bad("data.synthetic.features", "at least one feature is needed");
    }
    if c == 0 {
        return bad("data.synthetic.classes", "at least one class is needed");
    }
    if n == 0 {
        return bad("data.synthetic.samples", "at least one sample is needed");
    }
    if n_sources == 0 {
        return bad("clients.count", "at least one client is needed");
    }
    let Some(len) = n.checked_mul(f) else {
        return bad("data.synthetic.samples", "samples * features overflows");
    };
    let threads = if len >= 1 << 22 { crate::run::host_cores().min(8) } else { 1 };
    Ok(generate_on(spec, n_sources, seeds, threads))
}

/// The generator proper, on up to `threads` threads (same result for any
/// count).
fn generate_on(spec: &SyntheticSpec, n_sources: usize, seeds: SeedTree, threads: usize) -> Raw {
    let (f, c, n) = (spec.features, spec.classes, spec.samples);
    let mut x = vec![0.0f32; n * f];
    let mut y = vec![0u32; n];
    let s_eff = n_sources.min(n); // sources that get rows
    let threads = threads.clamp(1, s_eff);
    // Sources are independent streams, so they can be drawn on several
    // threads with the same result. Row i = t * S + k (block t, source k):
    // a thread owns a contiguous range of sources, i.e. one contiguous
    // piece of every block of S rows.
    let bounds: Vec<usize> = (0..=threads).map(|t| t * s_eff / threads).collect();
    let mut pieces: Vec<Vec<(&mut [f32], &mut [u32])>> = (0..threads).map(|_| Vec::new()).collect();
    for (mut xb, mut yb) in x.chunks_mut(n_sources * f).zip(y.chunks_mut(n_sources)) {
        let rows_b = yb.len();
        for t in 0..threads {
            let take = bounds[t + 1].min(rows_b) - bounds[t].min(rows_b);
            let (xp, xr) = std::mem::take(&mut xb).split_at_mut(take * f);
            let (yp, yr) = std::mem::take(&mut yb).split_at_mut(take);
            (xb, yb) = (xr, yr);
            if take > 0 {
                pieces[t].push((xp, yp));
            }
        }
    }
    let (alpha, beta) = (spec.alpha, spec.beta);
    let work = |first: usize, end: usize, mut pieces: Vec<(&mut [f32], &mut [u32])>| {
        let mut g = SourceGen::new(f, c, alpha, beta);
        for k in first..end {
            let mut rng = seeds.stream_for(k as u64);
            g.draw_model(&mut rng);
            let local = k - first;
            for (xp, yp) in pieces.iter_mut() {
                if local < yp.len() {
                    yp[local] = g.draw_row(&mut rng, &mut xp[local * f..(local + 1) * f]);
                }
            }
        }
    };
    if threads == 1 {
        work(0, s_eff, pieces.pop().unwrap_or_default());
    } else {
        std::thread::scope(|scope| {
            for (t, p) in pieces.into_iter().enumerate() {
                let (lo, hi) = (bounds[t], bounds[t + 1]);
                let work = &work;
                scope.spawn(move || work(lo, hi, p));
            }
        });
    }
    Raw { data: Dataset { x, y, n_features: f, n_classes: c }, class_names: (0..c).map(|i| i.to_string()).collect() }
}

/// How the per-client sizes are drawn (from `data.partition`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum SizeLaw {
    /// `iid`: `samples / clients`, the first `samples mod clients` one more.
    Equal,
    /// `quantity_skew {sigma}`: lognormal shares within blocks of
    /// [`SIZE_BLOCK`] clients.
    Skew { sigma: f64 },
}

/// LEAF sources made on demand, one per client (see the module notes for
/// the laws). Holds no per-client state: its size is the same for ten
/// clients or ten million.
///
/// ```
/// use fedsim::data;
/// use fedsim::scenario::checked::{DataSource, DataSpec, Normalize, Partition, SyntheticSpec};
/// use fedsim::sim::SeedTree;
/// // ten million clients of three rows each, nothing stored per client
/// let synthetic =
///     SyntheticSpec { features: 5, classes: 3, samples: 30_000_000, alpha: 1.0, beta: 1.0, per_client: true };
/// let spec = DataSpec {
///     source: DataSource::Synthetic(synthetic),
///     test_fraction: 0.2,
///     shuffle: true,
///     normalize: Normalize::Standard,
///     partition: Partition::Iid,
/// };
/// let fd = data::load(&spec, 10_000_000, SeedTree::new(1).child("data")).unwrap();
/// assert_eq!(fd.clients.samples(9_999_999), 3);
/// // client 123's rows, made now: a table of 3 rows and the indices 0..3
/// let (n, rows) = fd.clients.with_client(123, |d, rows| (d.rows(), rows.to_vec()));
/// assert_eq!((n, rows), (3, vec![0, 1, 2]));
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct PerClientSynthetic {
    features: usize,
    classes: usize,
    alpha: f64,
    beta: f64,
    clients: u64,
    /// Train rows over all clients (`samples`).
    train_rows: u64,
    sizes: SizeLaw,
    /// `synthetic`: source k's model and train rows.
    seeds: SeedTree,
    /// `synthetic.sizes`: block b's size draws.
    size_seeds: SeedTree,
    /// `synthetic.test`: source k's test rows.
    test_seeds: SeedTree,
    scaler: Option<Scaler>,
}

impl PerClientSynthetic {
    /// Checks the combination, fits the normaliser on the sample sources
    /// and returns the sources and the server's test set. `seeds` is the
    /// `data.synthetic` subtree. Work: O(K x (classes + rows) x features)
    /// for the K <= [`SAMPLE_SOURCES`] sample sources, none per client.
    pub(crate) fn build(
        spec: &SyntheticSpec,
        partition: &Partition,
        normalize: Normalize,
        test_fraction: f64,
        n_clients: usize,
        seeds: SeedTree,
    ) -> Result<(PerClientSynthetic, Dataset), DataError> {
        let bad = |key, message: String| Err(DataError::Invalid { key, message });
        let (f, c, samples) = (spec.features, spec.classes, spec.samples);
        if f == 0 {
            return bad("data.synthetic.features", "at least one feature is needed".into());
        }
        if c == 0 {
            return bad("data.synthetic.classes", "at least one class is needed".into());
        }
        if n_clients == 0 {
            return bad("clients.count", "at least one client is needed".into());
        }
        if samples < n_clients {
            return bad(
                "data.synthetic.samples",
                format!(
                    "{samples} is fewer than clients.count ({n_clients}); with per_client every client needs at \
                     least one row"
                ),
            );
        }
        if !(test_fraction > 0.0 && test_fraction < 1.0) {
            return bad("data.test_fraction", format!("{test_fraction} is not in (0, 1)"));
        }
        let sizes = match *partition {
            Partition::Iid => SizeLaw::Equal,
            Partition::QuantitySkew { sigma } => SizeLaw::Skew { sigma },
            Partition::Dirichlet { .. } | Partition::Shards { .. } => {
                return bad(
                    "data.partition.kind",
                    "iid or quantity_skew is needed with data.synthetic.per_client (each client is its own \
                     source: there is no shared pool to split by label)"
                        .into(),
                )
            }
        };
        // The largest client any law can give (a whole block) must fit a
        // table indexed by u32.
        let q1 = (samples / n_clients) as u128 + 1;
        let biggest = match sizes {
            SizeLaw::Equal => q1,
            SizeLaw::Skew { .. } => q1 * SIZE_BLOCK as u128,
        };
        if biggest > u32::MAX as u128 || biggest * f as u128 > isize::MAX as u128 / 4 {
            return bad(
                "data.synthetic.samples",
                format!("{samples} rows over {n_clients} clients makes clients too large to generate"),
            );
        }
        let mut pc = PerClientSynthetic {
            features: f,
            classes: c,
            alpha: spec.alpha,
            beta: spec.beta,
            clients: n_clients as u64,
            train_rows: samples as u64,
            sizes,
            seeds,
            size_seeds: seeds.child("sizes"),
            test_seeds: seeds.child("test"),
            scaler: None,
        };
        let k_src = n_clients.min(SAMPLE_SOURCES);
        let scaler = Scaler::fit_rows(normalize, f, |visit| {
            for k in 0..k_src {
                visit(&pc.raw_client(k as u32).x);
            }
        });
        pc.scaler = scaler;
        let mut test = pc.test_set(k_src, test_fraction);
        if let Some(s) = &pc.scaler {
            s.apply(&mut test);
        }
        Ok((pc, test))
    }

    /// The held-out rows of the first `k_src` sources (module notes).
    fn test_set(&self, k_src: usize, test_fraction: f64) -> Dataset {
        let sizes: Vec<u64> = (0..k_src).map(|k| self.samples(k as u32) as u64).collect();
        let t: u64 = sizes.iter().sum();
        let want = (t as f64 * test_fraction / (1.0 - test_fraction)).ceil();
        let r = (want.min(MAX_TEST_ROWS as f64) as u64).max(1);
        let f = self.features;
        let mut test =
            Dataset { x: Vec::with_capacity(r as usize * f), y: Vec::new(), n_features: f, n_classes: self.classes };
        let mut cum = 0u128;
        for (k, &n_k) in sizes.iter().enumerate() {
            let lo = cum * r as u128 / t as u128;
            cum += n_k as u128;
            let hi = cum * r as u128 / t as u128;
            if hi > lo {
                let rows = self.source_rows(k as u64, (hi - lo) as usize, true);
                test.x.extend_from_slice(&rows.x);
                test.y.extend_from_slice(&rows.y);
            }
        }
        test
    }

    /// Number of clients (= sources).
    pub fn n_clients(&self) -> usize {
        self.clients as usize
    }

    /// Features per row.
    pub fn n_features(&self) -> usize {
        self.features
    }

    /// Number of classes.
    pub fn n_classes(&self) -> usize {
        self.classes
    }

    /// Train rows over all clients: exactly `samples`.
    pub fn total_rows(&self) -> u64 {
        self.train_rows
    }

    /// The normalisation fitted on the sample sources, if any.
    pub fn scaler(&self) -> Option<&Scaler> {
        self.scaler.as_ref()
    }

    /// Rows of client `c` by the size law: O(1) for `iid`, O([`SIZE_BLOCK`])
    /// draws for `quantity_skew`; no allocation. Panics if `c` is not a
    /// client.
    pub fn samples(&self, c: u32) -> usize {
        let k = c as u64;
        assert!(k < self.clients, "client {c} of {}", self.clients);
        let (q, r) = (self.train_rows / self.clients, self.train_rows % self.clients);
        match self.sizes {
            SizeLaw::Equal => (q + u64::from(k < r)) as usize,
            SizeLaw::Skew { sigma } => {
                let b = k / SIZE_BLOCK as u64;
                let start = b * SIZE_BLOCK as u64;
                let end = (start + SIZE_BLOCK as u64).min(self.clients);
                let len = (end - start) as usize;
                let total = (end - start) * q + (r.clamp(start, end) - start);
                let mut sizes = [0usize; SIZE_BLOCK];
                let mut shares = [0.0f64; SIZE_BLOCK];
                let mut order = [0usize; SIZE_BLOCK];
                let mut rng = self.size_seeds.stream_for(b);
                skew_sizes_into(
                    total as usize,
                    sigma,
                    &mut rng,
                    &mut sizes[..len],
                    &mut shares[..len],
                    &mut order[..len],
                );
                sizes[(k - start) as usize]
            }
        }
    }

    /// Client `c`'s rows, made now and normalised: [`samples`](Self::samples)
    /// rows in the order its stream draws them. Deterministic in (seed, `c`)
    /// alone. Panics if `c` is not a client.
    pub fn client(&self, c: u32) -> Dataset {
        let mut d = self.raw_client(c);
        if let Some(s) = &self.scaler {
            s.apply(&mut d);
        }
        d
    }

    /// Client `c`'s rows before normalisation.
    pub(crate) fn raw_client(&self, c: u32) -> Dataset {
        self.source_rows(c as u64, self.samples(c), false)
    }

    /// `n` rows of source `k`: its train rows (the rows that follow its
    /// model in its stream), or with `test` its held-out rows (from
    /// `synthetic.test.index(k)`).
    fn source_rows(&self, k: u64, n: usize, test: bool) -> Dataset {
        let (f, c) = (self.features, self.classes);
        let mut g = SourceGen::new(f, c, self.alpha, self.beta);
        let mut rng = self.seeds.stream_for(k);
        g.draw_model(&mut rng);
        if test {
            rng = self.test_seeds.stream_for(k);
        }
        let mut x = vec![0.0f32; n * f];
        let mut y = vec![0u32; n];
        for (row, yi) in x.chunks_exact_mut(f).zip(y.iter_mut()) {
            *yi = g.draw_row(&mut rng, row);
        }
        Dataset { x, y, n_features: f, n_classes: c }
    }

    /// Heap and inline bytes held: the struct and the scaler, O(features).
    pub(crate) fn bytes(&self) -> usize {
        std::mem::size_of::<Self>() + self.scaler.as_ref().map_or(0, |s| 8 * (s.shift.len() + s.scale.len()))
    }
}

/// One source's model and the scratch to draw its rows.
struct SourceGen {
    f: usize,
    c: usize,
    alpha: f64,
    beta: f64,
    /// Standard deviations of the features: `j^-0.6`, j = 1..f.
    sd_x: Vec<f64>,
    /// W transposed (features x classes), so W x accumulates the classes
    /// side by side.
    wt: Vec<f64>,
    b: Vec<f64>,
    v: Vec<f64>,
    z: Vec<f64>,
    /// The row being drawn, in `f64`.
    x: Vec<f64>,
}

impl SourceGen {
    fn new(f: usize, c: usize, alpha: f64, beta: f64) -> Self {
        SourceGen {
            f,
            c,
            alpha,
            beta,
            sd_x: (1..=f).map(|j| (j as f64).powf(-0.6)).collect(),
            wt: vec![0.0; f * c],
            b: vec![0.0; c],
            v: vec![0.0; f],
            z: vec![0.0; c],
            x: vec![0.0; f],
        }
    }

    /// u, then W class by class (row-major draw order), b, B, v.
    fn draw_model(&mut self, rng: &mut Rng) {
        let (f, c) = (self.f, self.c);
        let u = self.alpha * normal(rng);
        for cl in 0..c {
            for j in 0..f {
                self.wt[j * c + cl] = u + normal(rng);
            }
        }
        self.b.iter_mut().for_each(|bi| *bi = u + normal(rng));
        let big_b = self.beta * normal(rng);
        self.v.iter_mut().for_each(|vj| *vj = big_b + normal(rng));
    }

    /// Draws x in `f64`, fills `row` with it rounded to `f32`, and returns
    /// y = argmax(W x + b) of the `f64` draw.
    #[inline]
    fn draw_row(&mut self, rng: &mut Rng, row: &mut [f32]) -> u32 {
        let x = &mut self.x;
        for ((xj, &vj), &sj) in x.iter_mut().zip(&self.v).zip(&self.sd_x) {
            *xj = vj + sj * normal(rng);
        }
        for (r, &xj) in row.iter_mut().zip(x.iter()) {
            *r = xj as f32;
        }
        let z = &mut self.z;
        z.copy_from_slice(&self.b);
        for (&xj, wrow) in x.iter().zip(self.wt.chunks_exact(self.c)) {
            for (zc, &w) in z.iter_mut().zip(wrow) {
                *zc += w * xj;
            }
        }
        let mut best = 0;
        for (ci, &zc) in z.iter().enumerate() {
            if zc > z[best] {
                best = ci;
            }
        }
        best as u32
    }
}

#[inline(always)]
fn normal(rng: &mut Rng) -> f64 {
    StandardNormal.sample(rng)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(samples: usize, alpha: f64, beta: f64) -> SyntheticSpec {
        SyntheticSpec { features: 60, classes: 10, samples, alpha, beta, per_client: false }
    }

    #[test]
    fn deterministic_and_seed_dependent() {
        let a = generate(&spec(300, 1.0, 1.0), 7, SeedTree::new(1)).unwrap().data;
        let b = generate(&spec(300, 1.0, 1.0), 7, SeedTree::new(1)).unwrap().data;
        let c = generate(&spec(300, 1.0, 1.0), 7, SeedTree::new(2)).unwrap().data;
        assert_eq!(a, b);
        assert_ne!(a.x, c.x);
        assert_eq!((a.rows(), a.n_features, a.n_classes), (300, 60, 10));
        assert!(a.y.iter().all(|&y| y < 10));
    }

    #[test]
    fn sources_are_round_robin_and_independent_of_count() {
        // source k's rows are the same whatever the number of rows after them
        let a = generate(&spec(100, 1.0, 1.0), 10, SeedTree::new(4)).unwrap().data;
        let b = generate(&spec(200, 1.0, 1.0), 10, SeedTree::new(4)).unwrap().data;
        for i in 0..100 {
            assert_eq!(a.row(i), b.row(i));
        }
        // beta drives the spread of per-source feature means: with beta 0 and
        // many rows per source, source means of feature 0 stay near N(0,1)
        let d = generate(&spec(2000, 0.0, 10.0), 2, SeedTree::new(8)).unwrap().data;
        let mean = |k: usize| (k..2000).step_by(2).map(|i| d.row(i)[0] as f64).sum::<f64>() / 1000.0;
        assert!((mean(0) - mean(1)).abs() > 0.5);
    }

    #[test]
    fn feature_variance_decays() {
        // one source: x_j - v_j has variance j^-1.2
        let d = generate(&spec(20000, 0.0, 0.0), 1, SeedTree::new(2)).unwrap().data;
        let var = |j: usize| {
            let m = (0..20000).map(|i| d.row(i)[j] as f64).sum::<f64>() / 20000.0;
            (0..20000).map(|i| (d.row(i)[j] as f64 - m).powi(2)).sum::<f64>() / 20000.0
        };
        assert!((var(0) - 1.0).abs() < 0.05);
        assert!((var(59) - 60f64.powf(-1.2)).abs() < 0.05 * 60f64.powf(-1.2));
    }

    #[test]
    fn threads_do_not_change_the_data() {
        let s = spec(1003, 1.0, 1.0);
        let one = generate_on(&s, 10, SeedTree::new(3), 1).data;
        for t in [2, 3, 7, 10, 64] {
            assert_eq!(generate_on(&s, 10, SeedTree::new(3), t).data, one, "{t} threads");
        }
        let few = spec(5, 1.0, 1.0); // fewer rows than sources
        let one = generate_on(&few, 8, SeedTree::new(3), 1).data;
        assert_eq!(generate_on(&few, 8, SeedTree::new(3), 4).data, one);
        assert_eq!(generate(&few, 8, SeedTree::new(3)).unwrap().data, one);
    }

    fn per_client(
        features: usize,
        samples: usize,
        n: usize,
        partition: Partition,
        normalize: Normalize,
        seed: u64,
    ) -> (PerClientSynthetic, Dataset) {
        let s = SyntheticSpec { features, classes: 5, samples, alpha: 1.0, beta: 1.0, per_client: true };
        PerClientSynthetic::build(&s, &partition, normalize, 0.2, n, SeedTree::new(seed)).unwrap()
    }

    #[test]
    fn per_client_rows_depend_on_seed_and_client_only() {
        let (a, _) = per_client(8, 20_000, 1000, Partition::Iid, Normalize::None, 3);
        let c5 = a.client(5);
        assert_eq!((c5.rows(), c5.n_features, c5.n_classes), (20, 8, 5));
        assert!(c5.y.iter().all(|&y| y < 5));
        assert_eq!(a.client(5), c5, "same client twice");
        assert_ne!(a.client(6).x, c5.x, "another client");
        // another instance, other clients made first and in another order
        let (b, _) = per_client(8, 20_000, 1000, Partition::Iid, Normalize::None, 3);
        for k in [999, 7, 6, 0, 4] {
            b.client(k);
        }
        assert_eq!(b.client(5), c5);
        // a bigger federation does not change client 5's source, only its size
        let (big, _) = per_client(8, 2_000_000, 100_000, Partition::Iid, Normalize::None, 3);
        assert_eq!(big.client(5), c5);
        // another seed, other rows
        let (c, _) = per_client(8, 20_000, 1000, Partition::Iid, Normalize::None, 4);
        assert_ne!(c.client(5).x, c5.x);
    }

    #[test]
    fn client_k_is_source_k_of_the_table() {
        // table layout: row i belongs to source i mod S, drawn in order from
        // the same stream, so client k's rows are rows k, k + S, ... of the table
        let (n, samples) = (13, 200);
        let table_spec = SyntheticSpec { features: 7, ..spec(samples, 1.0, 1.0) };
        let table = generate(&table_spec, n, SeedTree::new(9)).unwrap().data;
        let s = SyntheticSpec { per_client: true, ..table_spec };
        let (pc, _) =
            PerClientSynthetic::build(&s, &Partition::Iid, Normalize::None, 0.2, n, SeedTree::new(9)).unwrap();
        for k in 0..n {
            let mine = pc.client(k as u32);
            let rows: Vec<usize> = (k..samples).step_by(n).collect();
            assert_eq!(mine.rows(), rows.len());
            for (i, &r) in rows.iter().enumerate() {
                assert_eq!(mine.row(i), table.row(r), "client {k} row {i}");
                assert_eq!(mine.y[i], table.y[r]);
            }
        }
    }

    #[test]
    fn equal_sizes_are_the_round_robin_counts() {
        let (pc, _) = per_client(2, 20_500, 1000, Partition::Iid, Normalize::None, 1);
        assert_eq!(pc.samples(0), 21);
        assert_eq!(pc.samples(499), 21);
        assert_eq!(pc.samples(500), 20);
        assert_eq!(pc.samples(999), 20);
        assert_eq!((0..1000).map(|k| pc.samples(k) as u64).sum::<u64>(), pc.total_rows());
        assert_eq!(pc.total_rows(), 20_500);
    }

    #[test]
    fn skewed_sizes_follow_the_block_law() {
        // 10,007 clients: 156 full blocks and one of 23
        let (n, samples) = (10_007usize, 200_000usize);
        let (pc, _) = per_client(2, samples, n, Partition::QuantitySkew { sigma: 1.0 }, Normalize::None, 2);
        let (eq, _) = per_client(2, samples, n, Partition::Iid, Normalize::None, 2);
        let sizes: Vec<usize> = (0..n as u32).map(|k| pc.samples(k)).collect();
        assert_eq!(sizes.iter().sum::<usize>() as u64, pc.total_rows());
        assert_eq!(pc.total_rows(), samples as u64);
        assert!(sizes.iter().all(|&s| s >= 1));
        // each block holds what the equal law gives it
        for (b, block) in sizes.chunks(SIZE_BLOCK).enumerate() {
            let lo = b * SIZE_BLOCK;
            let want: usize = (lo..lo + block.len()).map(|k| eq.samples(k as u32)).sum();
            assert_eq!(block.iter().sum::<usize>(), want, "block {b}");
        }
        // lognormal(0, 1) spread: coefficient of variation near sqrt(e - 1) = 1.31
        let m = samples as f64 / n as f64;
        let var = sizes.iter().map(|&s| (s as f64 - m).powi(2)).sum::<f64>() / n as f64;
        let cv = var.sqrt() / m;
        assert!((0.9..1.6).contains(&cv), "cv {cv}");
        // deterministic, and sigma 0 is the equal law
        assert_eq!(pc.samples(4321), sizes[4321]);
        let (flat, _) = per_client(2, samples, n, Partition::QuantitySkew { sigma: 0.0 }, Normalize::None, 2);
        assert!((0..n as u32).all(|k| flat.samples(k) == eq.samples(k)));
    }

    #[test]
    fn skewed_sizes_have_the_documented_mean_at_a_million_clients() {
        let n = 1_000_000;
        let (pc, _) = per_client(2, 20 * n, n, Partition::QuantitySkew { sigma: 1.5 }, Normalize::None, 5);
        // 10,000 clients spread over the population (every 97th)
        let picked: Vec<usize> = (0..10_000u32).map(|i| pc.samples(i * 97 + 13)).collect();
        let mean = picked.iter().sum::<usize>() as f64 / picked.len() as f64;
        assert!((mean - 20.0).abs() < 1.5, "mean {mean}");
        assert!(picked.iter().all(|&s| s >= 1));
        assert!(*picked.iter().max().unwrap() > 100, "a lognormal(1.5) tail");
    }

    #[test]
    fn test_set_is_held_out_rows_of_the_sample_sources() {
        let (pc, test) = per_client(4, 4000, 200, Partition::Iid, Normalize::None, 6);
        // K = 200 sources, T = 4000 train rows: ceil(4000 * 0.2 / 0.8) = 1000
        // rows, 5 per source, fresh draws of each source's law
        assert_eq!(test.rows(), 1000);
        for k in [0usize, 77, 199] {
            let want = pc.source_rows(k as u64, 5, true);
            assert_eq!(&test.x[k * 5 * 4..(k + 1) * 5 * 4], &want.x[..]);
            assert_eq!(&test.y[k * 5..(k + 1) * 5], &want.y[..]);
            assert_ne!(&want.x[..], &pc.client(k as u32).x[..5 * 4], "not the train rows");
        }
        let (_, again) = per_client(4, 4000, 200, Partition::Iid, Normalize::None, 6);
        assert_eq!(again, test);
        // 2,000 clients of 100 rows on average: K = 1000 sources with T train
        // rows between them hold out ceil(T / 4)
        let (pc, t) = per_client(1, 200_000, 2000, Partition::QuantitySkew { sigma: 1.0 }, Normalize::None, 6);
        let big_t: usize = (0..1000).map(|k| pc.samples(k)).sum();
        assert_ne!(big_t, 100_000, "the partial block 15 is skewed");
        assert_eq!(t.rows(), big_t.div_ceil(4));
        // and the size is capped
        let s = SyntheticSpec { features: 1, classes: 2, samples: 1_000_000, alpha: 1.0, beta: 1.0, per_client: true };
        let (_, t) =
            PerClientSynthetic::build(&s, &Partition::Iid, Normalize::None, 0.5, 2000, SeedTree::new(1)).unwrap();
        assert_eq!(t.rows(), MAX_TEST_ROWS);
        // one client of one row still has a test row
        let s = SyntheticSpec { samples: 1, ..s };
        let (_, t) =
            PerClientSynthetic::build(&s, &Partition::Iid, Normalize::None, 0.01, 1, SeedTree::new(1)).unwrap();
        assert_eq!(t.rows(), 1);
    }

    #[test]
    fn normalisation_is_fitted_on_the_sample_clients() {
        for kind in [Normalize::Standard, Normalize::MinMax] {
            let (pc, test) = per_client(6, 30_000, 1500, Partition::QuantitySkew { sigma: 1.0 }, kind, 8);
            let mut sample = Dataset { x: Vec::new(), y: Vec::new(), n_features: 6, n_classes: 5 };
            for k in 0..SAMPLE_SOURCES as u32 {
                let d = pc.raw_client(k);
                sample.x.extend_from_slice(&d.x);
                sample.y.extend_from_slice(&d.y);
            }
            let scaler = Scaler::fit(kind, &sample).unwrap();
            assert_eq!(pc.scaler(), Some(&scaler), "{kind:?}");
            let mut raw = pc.raw_client(1234);
            scaler.apply(&mut raw);
            assert_eq!(pc.client(1234), raw);
            let (plain, raw_test) =
                per_client(6, 30_000, 1500, Partition::QuantitySkew { sigma: 1.0 }, Normalize::None, 8);
            assert_eq!(plain.scaler(), None);
            let mut want = raw_test;
            scaler.apply(&mut want);
            assert_eq!(test, want);
        }
    }

    #[test]
    fn per_client_refuses_what_it_cannot_mean() {
        let s = SyntheticSpec { features: 3, classes: 3, samples: 100, alpha: 1.0, beta: 1.0, per_client: true };
        let err = |p: Partition, n: usize, tf: f64| {
            PerClientSynthetic::build(&s, &p, Normalize::None, tf, n, SeedTree::new(0)).err().unwrap().to_string()
        };
        let e = err(Partition::Dirichlet { alpha: 0.5 }, 10, 0.2);
        assert!(e.starts_with("data.partition.kind: iid or quantity_skew"), "{e}");
        let e = err(Partition::Shards { shards_per_client: 2 }, 10, 0.2);
        assert!(e.starts_with("data.partition.kind:"), "{e}");
        let e = err(Partition::Iid, 101, 0.2);
        assert!(e.starts_with("data.synthetic.samples: 100 is fewer than clients.count (101)"), "{e}");
        let e = err(Partition::Iid, 10, 1.0);
        assert!(e.starts_with("data.test_fraction:"), "{e}");
        let huge = SyntheticSpec { samples: usize::MAX, ..s };
        let e = PerClientSynthetic::build(&huge, &Partition::Iid, Normalize::None, 0.2, 1, SeedTree::new(0))
            .err()
            .unwrap()
            .to_string();
        assert!(e.starts_with("data.synthetic.samples:") && e.contains("too large"), "{e}");
    }

    #[test]
    fn rejects_empty_shapes() {
        let mut s = spec(10, 1.0, 1.0);
        s.features = 0;
        let e = generate(&s, 2, SeedTree::new(0)).err().unwrap().to_string();
        assert!(e.starts_with("data.synthetic.features:"), "{e}");
    }
}
