//! Privacy: what protects the updates, what it costs, and what it buys.
//!
//! - [`dp`]: differential privacy (clipping, noise, adaptive clipping) and
//!   [`accountant`]: the epsilon it costs (RDP and PLD accountants).
//! - [`secagg`]: secure aggregation (Bonawitz et al. 2017), whose four
//!   message rounds the server drives over the network model.
//! - [`compression`]: top-k and quantised updates on the wire.
//! - [`leakage`]: the membership-inference attack that measures what the
//!   final model gives away.
//!
//! [`ClientPipeline`] is what a client does to its trained model before the
//! update leaves: clip, noise (local DP), compress, in that order.

pub mod accountant;
pub mod compression;
pub mod dp;
pub mod leakage;
pub mod secagg;

use crate::data::{ClientData, Dataset};
use crate::model::Architecture;
use crate::scenario::CompressionSpec;
use crate::sim::SeedTree;
use compression::Compression;
use serde::{Deserialize, Serialize};
use std::ops::Range;

/// A client's processing of its update, fixed for the run (the clip norm,
/// which adaptive clipping moves, travels with each task instead).
///
/// ```
/// use fedsim::privacy::ClientPipeline;
/// use fedsim::scenario::CompressionSpec;
/// use fedsim::sim::SeedTree;
/// let p = ClientPipeline::new(true, 0.0, &CompressionSpec::None, vec![0..2]);
/// let mut params = vec![3.0, 4.0];
/// let out = p.apply(&[0.0, 0.0], &mut params, 1.0, None, SeedTree::new(1));
/// assert!(!out.unclipped);
/// assert!((params[0] - 0.6).abs() < 1e-12);
/// ```
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ClientPipeline {
    /// Clip the update to the task's clip norm (any DP).
    clip: bool,
    /// Local DP: the client adds N(0, (local_noise * C)^2) itself.
    local_noise: f64,
    compression: Compression,
    error_feedback: bool,
    /// The model's tensors (each layer's weights and biases), for
    /// per-tensor quantisation.
    tensors: Vec<Range<usize>>,
}

/// What a client's processing reports besides the update.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Processed {
    /// The update's norm was within the clip norm (adaptive clipping).
    pub unclipped: bool,
    /// Error feedback: what compression left out, for the next update.
    pub residual: Option<Vec<f64>>,
}

impl ClientPipeline {
    pub fn new(clip: bool, local_noise: f64, compression: &CompressionSpec, tensors: Vec<Range<usize>>) -> Self {
        let (compression, error_feedback) = match *compression {
            CompressionSpec::None => (Compression::None, false),
            // Keeping every coordinate is no compression at all (and must
            // give the same bits: no round trip through a delta).
            CompressionSpec::TopK { ratio, .. } if ratio >= 1.0 => (Compression::None, false),
            CompressionSpec::TopK { ratio, error_feedback } => (Compression::TopK { ratio }, error_feedback),
            CompressionSpec::Quantize { bits, error_feedback } => (Compression::Quantize { bits }, error_feedback),
        };
        ClientPipeline { clip, local_noise, compression, error_feedback, tensors }
    }

    /// Whether the update leaves as trained.
    pub fn is_identity(&self) -> bool {
        !self.clip && self.compression == Compression::None
    }

    /// Bytes of one update on the wire.
    pub fn bytes_up(&self) -> u64 {
        self.compression.bytes(&self.tensors)
    }

    /// Turns trained `params` into what the client sends, started from
    /// `base`: the delta is clipped to `clip_norm`, noised (local DP), then
    /// compressed (with the client's `residual` under error feedback).
    /// Every draw comes from `seeds`, the task's own.
    pub fn apply(
        &self,
        base: &[f64],
        params: &mut [f64],
        clip_norm: f64,
        residual: Option<&[f64]>,
        seeds: SeedTree,
    ) -> Processed {
        if self.is_identity() {
            return Processed { unclipped: true, residual: None };
        }
        let mut delta: Vec<f64> = params.iter().zip(base).map(|(p, b)| p - b).collect();
        let unclipped = if self.clip { dp::clip(&mut delta, clip_norm) } else { true };
        if self.local_noise > 0.0 {
            dp::add_gaussian(&mut delta, self.local_noise * clip_norm, seeds.child("dp.local"));
        }
        let mut residual =
            self.error_feedback.then(|| residual.map_or_else(|| vec![0.0; delta.len()], <[f64]>::to_vec));
        let mut rng = seeds.child("compression").stream();
        self.compression.apply(&mut delta, &self.tensors, residual.as_mut(), &mut rng);
        if self.clip && self.local_noise == 0.0 && self.compression != Compression::None {
            // Quantisation's rounding and error feedback's residual can take
            // the update past the clip norm, and central DP's noise is
            // scaled to it: scale it back (a scaled sparse or affine-quantised
            // tensor is still one, in the same bytes), and keep what was cut
            // for the next update.
            let norm = delta.iter().map(|x| x * x).sum::<f64>().sqrt();
            if norm > clip_norm {
                let cut = 1.0 - clip_norm / norm;
                for (i, d) in delta.iter_mut().enumerate() {
                    if let Some(r) = residual.as_mut() {
                        r[i] += *d * cut;
                    }
                    *d -= *d * cut;
                }
            }
        }
        for ((p, b), d) in params.iter_mut().zip(base).zip(&delta) {
            *p = b + d;
        }
        Processed { unclipped, residual }
    }
}

/// The membership-inference audit of a final model (Yeom et al. 2018):
/// members are train rows drawn at random from every client, non-members
/// the held-out test rows, as many of each (the smaller of the two sets).
///
/// Every client's rows count as members, whether or not it was ever
/// selected: a run that leaves clients out understates the attack a little.
pub fn membership_audit(
    arch: &Architecture,
    params: &[f64],
    clients: &ClientData,
    test: &Dataset,
    seeds: SeedTree,
) -> leakage::AttackResult {
    let mut rng = seeds.child("privacy.audit").stream();
    let take = |d: &Dataset, rows: &[u32]| {
        let mut out = Dataset { x: Vec::new(), y: Vec::new(), n_features: d.n_features, n_classes: d.n_classes };
        for &r in rows {
            out.x.extend_from_slice(d.row(r as usize));
            out.y.push(d.y[r as usize]);
        }
        out
    };
    let members = match clients {
        ClientData::Table { train, rows, .. } => {
            let n = rows.len().min(test.rows());
            let picked: Vec<u32> =
                rand::seq::index::sample(&mut rng, rows.len(), n).into_iter().map(|i| rows[i]).collect();
            take(train, &picked)
        }
        ClientData::PerClient(_) => {
            // Clients drawn at random until there are enough rows.
            let mut out =
                Dataset { x: Vec::new(), y: Vec::new(), n_features: test.n_features, n_classes: test.n_classes };
            let order = rand::seq::index::sample(&mut rng, clients.n_clients(), clients.n_clients().min(10_000));
            for c in order {
                if out.rows() >= test.rows() {
                    break;
                }
                let part =
                    clients.with_client(c as u32, |d, rows| take(d, &rows[..rows.len().min(test.rows() - out.rows())]));
                out.x.extend_from_slice(&part.x);
                out.y.extend_from_slice(&part.y);
            }
            out
        }
    };
    let non_members: Vec<u32> = rand::seq::index::sample(&mut rng, test.rows(), members.rows().min(test.rows()))
        .into_iter()
        .map(|i| i as u32)
        .collect();
    let non_members = take(test, &non_members);
    leakage::loss_threshold_attack(&arch.losses(params, &members), &arch.losses(params, &non_members))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        /// Central DP's sensitivity holds after compression: whatever
        /// quantisation and error feedback do, the update that leaves is
        /// within the clip norm (and the part cut is kept for later).
        #[test]
        fn compressed_updates_stay_within_the_clip(
            v in prop::collection::vec(-5.0f64..5.0, 4..40),
            bits in 1u32..4,
            old in prop::collection::vec(-3.0f64..3.0, 40),
        ) {
            let n = v.len();
            let spec = CompressionSpec::Quantize { bits, error_feedback: true };
            let p = ClientPipeline::new(true, 0.0, &spec, vec![0..n / 2, n / 2..n]);
            let base = vec![0.25; n];
            let mut params: Vec<f64> = v.iter().map(|x| x + 0.25).collect();
            let out = p.apply(&base, &mut params, 1.0, Some(&old[..n]), SeedTree::new(n as u64));
            let norm = params.iter().zip(&base).map(|(p, b)| (p - b).powi(2)).sum::<f64>().sqrt();
            prop_assert!(norm <= 1.0 + 1e-9, "norm {norm}");
            prop_assert!(out.residual.is_some_and(|r| r.len() == n && r.iter().all(|x| x.is_finite())));
        }
    }
}
