//! Byzantine-robust aggregators: coordinate-wise median, trimmed mean,
//! Krum and Multi-Krum (Blanchard et al. 2017). They need every update of a
//! round at once, so they buffer; updates are unweighted (a byzantine
//! client could lie about its sample count).

use super::saved::Name;
use super::{Schedule, Strategy, Update};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub enum Rule {
    Median,
    /// Drops the `beta` fraction of values at each end, per coordinate.
    TrimmedMean {
        beta: f64,
    },
    /// Keeps the `keep` updates with the lowest Krum scores and averages
    /// them (`keep = 1` is Krum).
    Krum {
        byzantine: usize,
        keep: usize,
    },
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Robust {
    name: Name,
    schedule: Schedule,
    rule: Rule,
    /// This round's updates, in arrival order.
    buffer: Vec<Vec<f64>>,
}

impl Robust {
    pub fn new(name: &'static str, schedule: Schedule, rule: Rule) -> Self {
        Robust { name: Name(name), schedule, rule, buffer: Vec::new() }
    }
}

impl Strategy for Robust {
    fn discard(&mut self) {
        self.buffer.clear();
    }

    fn name(&self) -> &'static str {
        self.name.0
    }

    fn schedule(&self) -> Schedule {
        self.schedule
    }

    fn fold(&mut self, update: Update) {
        self.buffer.push(update.params);
    }

    fn aggregate(&mut self, global: &mut [f64]) -> usize {
        let updates = std::mem::take(&mut self.buffer);
        if updates.is_empty() {
            return 0;
        }
        let out = match self.rule {
            Rule::Median => coordinate_wise(&updates, median),
            Rule::TrimmedMean { beta } => coordinate_wise(&updates, |xs| trimmed_mean(xs, beta)),
            Rule::Krum { byzantine, keep } => {
                let chosen = krum_select(&updates, byzantine, keep);
                mean_of(chosen.iter().map(|&i| updates[i].as_slice()))
            }
        };
        global.copy_from_slice(&out);
        updates.len()
    }
}

fn coordinate_wise(updates: &[Vec<f64>], f: impl Fn(&mut [f64]) -> f64) -> Vec<f64> {
    let mut column = vec![0.0; updates.len()];
    (0..updates[0].len())
        .map(|i| {
            for (c, u) in column.iter_mut().zip(updates) {
                *c = u[i];
            }
            f(&mut column)
        })
        .collect()
}

/// The median (mean of the two middle values for an even count).
pub fn median(xs: &mut [f64]) -> f64 {
    xs.sort_by(f64::total_cmp);
    let n = xs.len();
    if n % 2 == 1 {
        xs[n / 2]
    } else {
        (xs[n / 2 - 1] + xs[n / 2]) / 2.0
    }
}

/// The mean after dropping `floor(beta * n)` values at each end.
pub fn trimmed_mean(xs: &mut [f64], beta: f64) -> f64 {
    xs.sort_by(f64::total_cmp);
    let k = ((beta * xs.len() as f64).floor() as usize).min((xs.len() - 1) / 2);
    let kept = &xs[k..xs.len() - k];
    kept.iter().sum::<f64>() / kept.len() as f64
}

fn mean_of<'a>(xs: impl Iterator<Item = &'a [f64]>) -> Vec<f64> {
    let mut sum: Vec<f64> = Vec::new();
    let mut n = 0.0;
    for x in xs {
        if sum.is_empty() {
            sum = vec![0.0; x.len()];
        }
        sum.iter_mut().zip(x).for_each(|(s, v)| *s += v);
        n += 1.0;
    }
    sum.iter_mut().for_each(|s| *s /= n);
    sum
}

/// Indices of the `keep` updates with the lowest Krum score: the sum of
/// squared distances to their `n - byzantine - 2` nearest others (at least
/// one). Ties go to the earlier update.
pub fn krum_select(updates: &[Vec<f64>], byzantine: usize, keep: usize) -> Vec<usize> {
    let n = updates.len();
    let dist = |a: &[f64], b: &[f64]| a.iter().zip(b).map(|(x, y)| (x - y) * (x - y)).sum::<f64>();
    let neighbours = n.saturating_sub(byzantine + 2).max(1).min(n.saturating_sub(1));
    let mut scores: Vec<(f64, usize)> = (0..n)
        .map(|i| {
            let mut d: Vec<f64> = (0..n).filter(|&j| j != i).map(|j| dist(&updates[i], &updates[j])).collect();
            d.sort_by(f64::total_cmp);
            (d.iter().take(neighbours).sum(), i)
        })
        .collect();
    scores.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
    scores.into_iter().take(keep.clamp(1, n)).map(|(_, i)| i).collect()
}
