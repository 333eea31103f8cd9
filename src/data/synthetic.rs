//! LEAF-style synthetic(alpha, beta) data (Li et al., "Federated
//! Optimization in Heterogeneous Networks", the FedProx paper).
//!
//! There are S = `clients.count` latent sources; row i belongs to source
//! `i mod S` (so with the `iid` partition and no shuffle, client k gets
//! exactly source k's rows). Per source k (normal laws given as
//! N(mean, std), as numpy's `normal(loc, scale)` in LEAF's generator):
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
//! Sources are generated one at a time, so memory is the output table plus
//! one source's model.

use rand_distr::{Distribution, StandardNormal};

use super::{DataError, Dataset, Raw};
use crate::scenario::checked::SyntheticSpec;
use crate::sim::{Rng, SeedTree};

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
    let threads = if len >= 1 << 22 { std::thread::available_parallelism().map_or(1, |t| t.get()).min(8) } else { 1 };
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
        SyntheticSpec { features: 60, classes: 10, samples, alpha, beta }
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

    #[test]
    fn rejects_empty_shapes() {
        let mut s = spec(10, 1.0, 1.0);
        s.features = 0;
        let e = generate(&s, 2, SeedTree::new(0)).err().unwrap().to_string();
        assert!(e.starts_with("data.synthetic.features:"), "{e}");
    }
}
