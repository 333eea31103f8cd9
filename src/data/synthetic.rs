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
//! Source k draws from its own stream `synthetic.index(k)`, in the order
//! u, W (row-major), b, B, v, then its rows in order (x then nothing for y).
//! Sources are generated one at a time, so memory is the output table plus
//! one source's model.

use rand_distr::{Distribution, StandardNormal};

use super::{DataError, Dataset, Raw};
use crate::scenario::checked::SyntheticSpec;
use crate::sim::SeedTree;

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
    let mut x = vec![0.0f64; len];
    let mut y = vec![0u32; n];
    let sd_x: Vec<f64> = (1..=f).map(|j| (j as f64).powf(-0.6)).collect();
    let mut wt = vec![0.0f64; f * c];
    let mut b = vec![0.0f64; c];
    let mut v = vec![0.0f64; f];
    let mut z = vec![0.0f64; c];
    let (alpha, beta) = (spec.alpha, spec.beta);
    for k in 0..n_sources.min(n) {
        let mut rng = seeds.stream_for(k as u64);
        let mut normal = || -> f64 { StandardNormal.sample(&mut rng) };
        let u = alpha * normal();
        // drawn class by class (W row-major), stored transposed (features x
        // classes) so that W x accumulates the classes side by side
        for cl in 0..c {
            for j in 0..f {
                wt[j * c + cl] = u + normal();
            }
        }
        b.iter_mut().for_each(|bi| *bi = u + normal());
        let big_b = beta * normal();
        v.iter_mut().for_each(|vj| *vj = big_b + normal());
        for i in (k..n).step_by(n_sources) {
            let row = &mut x[i * f..(i + 1) * f];
            for ((xj, &vj), &sj) in row.iter_mut().zip(&v).zip(&sd_x) {
                *xj = vj + sj * normal();
            }
            z.copy_from_slice(&b);
            for (&xj, wrow) in row.iter().zip(wt.chunks_exact(c)) {
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
            y[i] = best as u32;
        }
    }
    Ok(Raw {
        data: Dataset { x, y, n_features: f, n_classes: c },
        class_names: (0..c).map(|i| i.to_string()).collect(),
    })
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
        let mean = |k: usize| (k..2000).step_by(2).map(|i| d.row(i)[0]).sum::<f64>() / 1000.0;
        assert!((mean(0) - mean(1)).abs() > 0.5);
    }

    #[test]
    fn feature_variance_decays() {
        // one source: x_j - v_j has variance j^-1.2
        let d = generate(&spec(20000, 0.0, 0.0), 1, SeedTree::new(2)).unwrap().data;
        let var = |j: usize| {
            let m = (0..20000).map(|i| d.row(i)[j]).sum::<f64>() / 20000.0;
            (0..20000).map(|i| (d.row(i)[j] - m).powi(2)).sum::<f64>() / 20000.0
        };
        assert!((var(0) - 1.0).abs() < 0.05);
        assert!((var(59) - 60f64.powf(-1.2)).abs() < 0.05 * 60f64.powf(-1.2));
    }

    #[test]
    fn rejects_empty_shapes() {
        let mut s = spec(10, 1.0, 1.0);
        s.features = 0;
        let e = generate(&s, 2, SeedTree::new(0)).err().unwrap().to_string();
        assert!(e.starts_with("data.synthetic.features:"), "{e}");
    }
}
