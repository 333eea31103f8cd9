//! The models: flat `f64` parameter vectors, local minibatch SGD and
//! evaluation. The data's features are stored as `f32`; the kernels widen
//! each one to `f64` where they use it, so every logit, gradient, step and
//! loss is `f64` arithmetic (see [`crate::data`] for why).
//!
//! # Parameter layouts
//! - **softmax regression**: `W` (`n_features x n_classes`, row-major, so
//!   `W[j * n_classes + c]`), then `b` (`n_classes`).
//! - **logistic regression** (2 classes): `w` (`n_features`), then `b` (1);
//!   `p = sigmoid(w.x + b)` is the probability of class 1; class 1 is
//!   predicted when `p > 0.5` (ties go to class 0).
//! - **mlp** with hidden widths `h1..hL`: layer sizes
//!   `n_features, h1, ..., hL, n_classes`; for each layer in order its
//!   weights `W_l` (`in x out`, row-major, `W_l[j * out + k]`) then its
//!   biases `b_l` (`out`). ReLU after every hidden layer, softmax output.
//!
//! # Local training ([`Architecture::train`])
//! `epochs` passes over the client's rows. Each epoch's order is the rows as
//! given (`shuffle: false`) or a fresh permutation of them (`shuffle: true`)
//! drawn from `SeedTree::new(seed).stream()` (one shuffle per epoch, each of
//! the rows as given). Batches are consecutive slices of `batch_size` rows,
//! the last one possibly shorter. One step per batch, on the gradient
//!
//! `d = g / m + weight_decay * w + prox_mu * (theta - anchor)`
//!
//! where `g` is the sum over the batch of the per-row cross-entropy
//! gradients (so `g / m` is the batch mean), the weight-decay term applies
//! to **weights only** (not to biases), and the proximal term (FedProx) to
//! every parameter, `anchor` being the parameters at the start of `train`.
//! The optimiser ([`OptimizerSpec`]) turns `d` into the step:
//!
//! - **sgd**: `theta -= lr * d`;
//! - **momentum** (PyTorch's form, no dampening): `v = beta * v + d;
//!   theta -= lr * v`;
//! - **adam** (Kingma & Ba, PyTorch's `Adam`: L2 decay in `d`, not AdamW):
//!   `t += 1; m = beta1 m + (1 - beta1) d; v = beta2 v + (1 - beta2) d^2;
//!   theta -= lr (m / (1 - beta1^t)) / (sqrt(v / (1 - beta2^t)) + eps)`.
//!
//! Their state ([`OptimizerState`]: `v`, or `m`, `v` and `t`) starts at
//! zero in [`Architecture::train`]; [`Architecture::train_with`] takes it
//! from the caller (a client that keeps it across its tasks). A client
//! with no rows (or `epochs == 0`) leaves the parameters and the state as
//! they are. Scratch buffers are allocated once per call, never per batch.
//!
//! # Evaluation ([`Architecture::evaluate`])
//! Mean cross-entropy (natural log; binary cross-entropy for logistic
//! regression), accuracy, macro-F1 and per-class scores (see
//! [`crate::metrics::classification`]). Predictions take the arg-max of
//! the logits, ties to the lowest class index. An empty set gives loss 0.

mod linear;
mod mlp;

use std::ops::Range;

use rand::seq::SliceRandom;
use rand_distr::{Distribution, Normal, Uniform};

use crate::data::Dataset;
use crate::metrics::classification::{score, Evaluation};
pub use crate::scenario::checked::OptimizerSpec;
use crate::scenario::checked::{ModelSpec, TrainingSpec};
use crate::sim::{Rng, SeedTree};

/// What a client does locally with the model it receives.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct LocalTraining {
    pub epochs: u32,
    pub batch_size: usize,
    pub learning_rate: f64,
    pub shuffle: bool,
    /// L2 penalty on the weights (not the biases); 0 = none.
    pub weight_decay: f64,
    /// FedProx proximal coefficient (0 = off); the anchor is the
    /// parameters' value at the start of `train`.
    pub prox_mu: f64,
    /// How each step is taken (see the module notes).
    pub optimizer: OptimizerSpec,
}

/// What an optimiser carries from one step to the next: all zeros (empty
/// vectors) before the first step.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct OptimizerState {
    /// Steps taken (Adam's `t`; momentum counts them too).
    pub steps: u64,
    /// Momentum's velocity, or Adam's first moment; empty = zeros.
    pub m: Vec<f64>,
    /// Adam's second moment; empty = zeros.
    pub v: Vec<f64>,
}

impl LocalTraining {
    /// The scenario's `training` section, with the proximal term off.
    pub fn from_spec(t: &TrainingSpec) -> Self {
        LocalTraining {
            epochs: t.local_epochs,
            batch_size: t.batch_size,
            learning_rate: t.learning_rate,
            shuffle: t.shuffle,
            weight_decay: t.weight_decay,
            prox_mu: 0.0,
            optimizer: t.optimizer,
        }
    }
}

/// Why a model cannot be built for the data.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ModelError {
    #[error(
        "model.kind: logistic_regression needs exactly 2 classes, the data has {n_classes} (use softmax_regression)"
    )]
    LogisticNeedsTwoClasses { n_classes: usize },
    #[error("model.hidden[{index}]: a hidden layer needs at least one unit")]
    EmptyLayer { index: usize },
    #[error("model.kind: the data has no feature columns")]
    NoFeatures,
    #[error("model.kind: the data has no classes")]
    NoClasses,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Logistic,
    Softmax,
    Mlp,
}

/// A model's shape: what the parameter vector means. Cheap to clone,
/// `Send + Sync`.
#[derive(Debug, Clone, PartialEq)]
pub struct Architecture {
    kind: Kind,
    n_features: usize,
    n_classes: usize,
    /// Layer sizes: `[n_features, hidden..., n_classes]` (for logistic
    /// regression `[n_features, 1]`).
    sizes: Vec<usize>,
}

impl Architecture {
    pub fn new(spec: &ModelSpec, n_features: usize, n_classes: usize) -> Result<Self, ModelError> {
        if n_features == 0 {
            return Err(ModelError::NoFeatures);
        }
        if n_classes == 0 {
            return Err(ModelError::NoClasses);
        }
        let (kind, sizes) = match spec {
            ModelSpec::LogisticRegression => {
                if n_classes != 2 {
                    return Err(ModelError::LogisticNeedsTwoClasses { n_classes });
                }
                (Kind::Logistic, vec![n_features, 1])
            }
            ModelSpec::SoftmaxRegression => (Kind::Softmax, vec![n_features, n_classes]),
            ModelSpec::Mlp { hidden } => {
                if let Some(index) = hidden.iter().position(|&h| h == 0) {
                    return Err(ModelError::EmptyLayer { index });
                }
                let mut sizes = vec![n_features];
                sizes.extend_from_slice(hidden);
                sizes.push(n_classes);
                (Kind::Mlp, sizes)
            }
        };
        Ok(Architecture { kind, n_features, n_classes, sizes })
    }

    pub fn n_features(&self) -> usize {
        self.n_features
    }

    pub fn n_classes(&self) -> usize {
        self.n_classes
    }

    /// Every trainable scalar, biases included (softmax on digits: 650).
    pub fn param_count(&self) -> usize {
        self.sizes.windows(2).map(|w| w[0] * w[1] + w[1]).sum()
    }

    /// Where each layer's weights and biases sit in the parameter vector:
    /// `(weights, biases)` per layer.
    pub fn layer_ranges(&self) -> Vec<(Range<usize>, Range<usize>)> {
        let mut at = 0;
        self.sizes
            .windows(2)
            .map(|w| {
                let wr = at..at + w[0] * w[1];
                let br = wr.end..wr.end + w[1];
                at = br.end;
                (wr, br)
            })
            .collect()
    }

    /// Initial parameters: zeros for logistic and softmax regression; for
    /// the MLP, He-normal weights (std `sqrt(2 / fan_in)`) into each ReLU
    /// layer, Glorot-uniform weights (`U(-a, a)`, `a = sqrt(6 / (fan_in +
    /// fan_out))`) into the softmax output, zero biases, drawn in layout
    /// order from `rng`.
    pub fn init(&self, rng: &mut Rng) -> Vec<f64> {
        let mut p = vec![0.0; self.param_count()];
        if self.kind == Kind::Mlp {
            let last = self.sizes.len() - 2;
            for (l, (wr, _)) in self.layer_ranges().into_iter().enumerate() {
                let (fan_in, fan_out) = (self.sizes[l] as f64, self.sizes[l + 1] as f64);
                if l < last {
                    let d = Normal::new(0.0, (2.0 / fan_in).sqrt()).expect("finite std");
                    p[wr].iter_mut().for_each(|w| *w = d.sample(rng));
                } else {
                    let a = (6.0 / (fan_in + fan_out)).sqrt();
                    let d = Uniform::new(-a, a).expect("a > 0");
                    p[wr].iter_mut().for_each(|w| *w = d.sample(rng));
                }
            }
        }
        p
    }

    /// Local minibatch training on `rows` of `data`, in place, the
    /// optimiser's state starting at zero (see the module notes for the
    /// exact step).
    pub fn train(&self, params: &mut [f64], data: &Dataset, rows: &[u32], cfg: &LocalTraining, seed: u64) {
        self.train_with(params, data, rows, cfg, seed, &mut OptimizerState::default());
    }

    /// [`Architecture::train`] from the optimiser state `state` (which it
    /// updates): a client that keeps its state across tasks.
    ///
    /// # Panics
    /// If `state` holds vectors of another length than the parameters'.
    pub fn train_with(
        &self,
        params: &mut [f64],
        data: &Dataset,
        rows: &[u32],
        cfg: &LocalTraining,
        seed: u64,
        state: &mut OptimizerState,
    ) {
        assert_eq!(params.len(), self.param_count(), "parameter vector of the wrong length");
        debug_assert_eq!(data.n_features, self.n_features);
        if rows.is_empty() || cfg.epochs == 0 {
            return;
        }
        match self.kind {
            Kind::Softmax => {
                let mut k = linear::SoftmaxGrad::new(self.n_features, self.n_classes);
                sgd(self, params, rows, cfg, seed, state, |p, batch, g| k.accumulate(p, data, batch, g));
            }
            Kind::Logistic => {
                let k = linear::LogisticGrad::new(self.n_features);
                sgd(self, params, rows, cfg, seed, state, |p, batch, g| k.accumulate(p, data, batch, g));
            }
            Kind::Mlp => {
                let mut k = mlp::MlpGrad::new(&self.sizes);
                sgd(self, params, rows, cfg, seed, state, |p, batch, g| k.accumulate(p, data, batch, g));
            }
        }
    }

    /// Mean cross-entropy, accuracy, macro-F1 and per-class scores on every
    /// row of `data`.
    pub fn evaluate(&self, params: &[f64], data: &Dataset) -> Evaluation {
        let (loss_sum, pred) = self.loss_and_predictions(params, data);
        let n = data.rows();
        let (accuracy, macro_f1, per_class) = score(&data.y, &pred, self.n_classes);
        Evaluation { loss: if n == 0 { 0.0 } else { loss_sum / n as f64 }, accuracy, macro_f1, per_class }
    }

    /// The predicted class of every row of `data`.
    pub fn predict(&self, params: &[f64], data: &Dataset) -> Vec<u32> {
        self.loss_and_predictions(params, data).1
    }

    /// The cross-entropy of every row of `data` (what a membership
    /// inference attacker thresholds).
    pub fn losses(&self, params: &[f64], data: &Dataset) -> Vec<f64> {
        let mut out = Vec::with_capacity(data.rows());
        self.eval_rows(params, data, |l| out.push(l));
        out
    }

    /// Summed loss and predictions.
    fn loss_and_predictions(&self, params: &[f64], data: &Dataset) -> (f64, Vec<u32>) {
        self.eval_rows(params, data, |_| {})
    }

    /// Summed loss and predictions; `on_loss` sees each row's loss.
    fn eval_rows(&self, params: &[f64], data: &Dataset, on_loss: impl FnMut(f64)) -> (f64, Vec<u32>) {
        assert_eq!(params.len(), self.param_count(), "parameter vector of the wrong length");
        debug_assert_eq!(data.n_features, self.n_features);
        match self.kind {
            Kind::Softmax => linear::softmax_eval(params, data, self.n_features, self.n_classes, on_loss),
            Kind::Logistic => linear::logistic_eval(params, data, self.n_features, on_loss),
            Kind::Mlp => mlp::eval(params, data, &self.sizes, on_loss),
        }
    }
}

/// The training driver: batch order, gradient accumulation through `grad`
/// (which must ADD the batch's summed per-row gradients into its third
/// argument), and the optimiser's step.
fn sgd<G>(
    arch: &Architecture,
    params: &mut [f64],
    rows: &[u32],
    cfg: &LocalTraining,
    seed: u64,
    state: &mut OptimizerState,
    mut grad: G,
) where
    G: FnMut(&[f64], &[u32], &mut [f64]),
{
    let n = params.len();
    let moments = match cfg.optimizer {
        OptimizerSpec::Sgd => 0,
        OptimizerSpec::Momentum { .. } => 1,
        OptimizerSpec::Adam { .. } => 2,
    };
    for (k, buf) in [&mut state.m, &mut state.v].into_iter().enumerate().take(moments) {
        if buf.is_empty() {
            buf.resize(n, 0.0);
        }
        assert_eq!(buf.len(), n, "optimiser state {} of the wrong length", ["m", "v"][k]);
    }
    // The gradient buffer is reused across calls on a thread: a client
    // with a handful of rows would otherwise spend more on allocating and
    // zeroing it than on its math.
    thread_local! {
        static GRADIENT: std::cell::Cell<Vec<f64>> = const { std::cell::Cell::new(Vec::new()) };
    }
    let mut g = GRADIENT.with(|b| b.take());
    // Every batch zeroes it before use, so only its length matters here.
    g.resize(n, 0.0);
    let anchor: Option<Vec<f64>> = (cfg.prox_mu != 0.0).then(|| params.to_vec());
    let mut order: Vec<u32> = if cfg.shuffle { rows.to_vec() } else { Vec::new() };
    let mut rng = cfg.shuffle.then(|| SeedTree::new(seed).stream());
    let bs = cfg.batch_size.max(1);
    let lr = cfg.learning_rate;
    for _ in 0..cfg.epochs {
        let ord: &[u32] = match rng.as_mut() {
            Some(rng) => {
                order.copy_from_slice(rows);
                order.shuffle(rng);
                &order
            }
            None => rows,
        };
        for batch in ord.chunks(bs) {
            g.fill(0.0);
            grad(params, batch, &mut g);
            let m = batch.len() as f64;
            state.steps += 1;
            let rule = Rule::new(cfg.optimizer, lr, state.steps);
            // per layer: weights (with decay), then biases (without)
            let mut at = 0;
            for w in arch.sizes.windows(2) {
                for (len, wd) in [(w[0] * w[1], cfg.weight_decay), (w[1], 0.0)] {
                    let r = at..at + len;
                    at += len;
                    let a = anchor.as_deref().map(|a| &a[r.clone()]);
                    match rule {
                        None => step(&mut params[r.clone()], &g[r], a, m, lr, wd, cfg.prox_mu),
                        Some(rule) => {
                            let p = &mut params[r.clone()];
                            let (sm, sv) = (&mut state.m, &mut state.v);
                            let v = if sv.is_empty() { &mut [][..] } else { &mut sv[r.clone()] };
                            rule.step(p, &g[r.clone()], a, m, wd, cfg.prox_mu, &mut sm[r], v);
                        }
                    }
                }
            }
        }
    }
    GRADIENT.with(|b| b.set(g));
}

/// `p -= lr * (g / m + wd * p + mu * (p - a))`, with the plain case kept
/// tight.
#[inline]
fn step(p: &mut [f64], g: &[f64], anchor: Option<&[f64]>, m: f64, lr: f64, wd: f64, mu: f64) {
    match anchor {
        None if wd == 0.0 => {
            for (p, &g) in p.iter_mut().zip(g) {
                *p -= lr * (g / m);
            }
        }
        None => {
            for (p, &g) in p.iter_mut().zip(g) {
                *p -= lr * (g / m + wd * *p);
            }
        }
        Some(a) => {
            for ((p, &g), &a) in p.iter_mut().zip(g).zip(a) {
                *p -= lr * (g / m + wd * *p + mu * (*p - a));
            }
        }
    }
}

/// One step of a stateful optimiser, with its per-step constants.
#[derive(Debug, Clone, Copy)]
enum Rule {
    /// `v = beta v + d; p -= lr v`.
    Momentum { lr: f64, beta: f64 },
    /// `m = b1 m + (1 - b1) d; v = b2 v + (1 - b2) d^2;
    /// p -= lr (m / c1) / (sqrt(v / c2) + eps)`, `c = 1 - b^t`.
    Adam { lr: f64, b1: f64, b2: f64, c1: f64, c2: f64, eps: f64 },
}

impl Rule {
    /// The rule of step `t` (counted from 1); `None` for plain SGD.
    fn new(o: OptimizerSpec, lr: f64, t: u64) -> Option<Rule> {
        match o {
            OptimizerSpec::Sgd => None,
            OptimizerSpec::Momentum { beta, .. } => Some(Rule::Momentum { lr, beta }),
            OptimizerSpec::Adam { beta1, beta2, eps, .. } => {
                let t = t as f64;
                Some(Rule::Adam { lr, b1: beta1, b2: beta2, c1: 1.0 - beta1.powf(t), c2: 1.0 - beta2.powf(t), eps })
            }
        }
    }

    /// The step on one tensor: `d = g / m + wd * p + mu * (p - a)`, then
    /// the rule; `sm`, `sv` are the tensor's moments (`sv` empty for
    /// momentum).
    #[allow(clippy::too_many_arguments)]
    #[inline]
    fn step(
        self,
        p: &mut [f64],
        g: &[f64],
        anchor: Option<&[f64]>,
        m: f64,
        wd: f64,
        mu: f64,
        sm: &mut [f64],
        sv: &mut [f64],
    ) {
        let grad = |i: usize, p: f64| {
            let d = g[i] / m + wd * p;
            match anchor {
                Some(a) => d + mu * (p - a[i]),
                None => d,
            }
        };
        match self {
            Rule::Momentum { lr, beta } => {
                for (i, (p, v)) in p.iter_mut().zip(sm.iter_mut()).enumerate() {
                    *v = beta * *v + grad(i, *p);
                    *p -= lr * *v;
                }
            }
            Rule::Adam { lr, b1, b2, c1, c2, eps } => {
                for (i, ((p, m1), m2)) in p.iter_mut().zip(sm.iter_mut()).zip(sv.iter_mut()).enumerate() {
                    let d = grad(i, *p);
                    *m1 = b1 * *m1 + (1.0 - b1) * d;
                    *m2 = b2 * *m2 + (1.0 - b2) * d * d;
                    *p -= lr * (*m1 / c1) / ((*m2 / c2).sqrt() + eps);
                }
            }
        }
    }
}

/// Index of the largest value, ties to the lowest index.
#[inline]
pub(crate) fn argmax(z: &[f64]) -> usize {
    let mut best = 0;
    let mut top = z[0];
    for (i, &v) in z.iter().enumerate().skip(1) {
        if v > top {
            top = v;
            best = i;
        }
    }
    best
}

/// In place: `z <- softmax(z)`; returns `ln(sum(exp(z - max))) + max`
/// (the log-partition), computed with the max subtracted.
#[inline]
pub(crate) fn softmax_in_place(z: &mut [f64]) -> f64 {
    let mut max = z[0];
    for &v in z.iter().skip(1) {
        if v > max {
            max = v;
        }
    }
    let mut sum = 0.0;
    for v in z.iter_mut() {
        *v = (*v - max).exp();
        sum += *v;
    }
    for v in z.iter_mut() {
        *v /= sum;
    }
    sum.ln() + max
}

/// Neumaier's compensated sum: the evaluation loss of many rows stays
/// within an ulp or so of the exact mean.
#[derive(Debug, Default, Clone, Copy)]
pub(crate) struct Sum {
    sum: f64,
    comp: f64,
}

impl Sum {
    #[inline]
    pub fn add(&mut self, v: f64) {
        let t = self.sum + v;
        if self.sum.abs() >= v.abs() {
            self.comp += (self.sum - t) + v;
        } else {
            self.comp += (v - t) + self.sum;
        }
        self.sum = t;
    }

    pub fn total(self) -> f64 {
        self.sum + self.comp
    }
}

/// `ln(sum(exp(z)))`, stable.
#[inline]
pub(crate) fn log_sum_exp(z: &[f64]) -> f64 {
    let mut max = z[0];
    for &v in z.iter().skip(1) {
        if v > max {
            max = v;
        }
    }
    let sum: f64 = z.iter().map(|&v| (v - max).exp()).sum();
    sum.ln() + max
}

#[cfg(test)]
mod tests;
