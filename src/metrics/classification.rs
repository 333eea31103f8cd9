//! Classification scores of a model on a labelled set.
//!
//! Conventions (sklearn's `precision_recall_fscore_support` with
//! `labels = 0..n_classes` and `zero_division = 0`):
//! - precision = TP / predicted, 0 when the class is never predicted;
//! - recall = TP / support, 0 when the class has no rows;
//! - F1 = 2PR / (P + R), 0 when P + R = 0;
//! - macro-F1 = the unweighted mean of the per-class F1 over **all**
//!   `n_classes` classes, so a class with neither rows nor predictions
//!   counts as F1 0 (sklearn's default `labels=None` would leave it out);
//! - an empty set scores accuracy 0 and macro-F1 0.

use serde::{Deserialize, Serialize};

/// Scores of one class.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct ClassScores {
    pub precision: f64,
    pub recall: f64,
    pub f1: f64,
    /// Rows of this class in the evaluated set.
    pub support: usize,
}

/// A model's scores on a test set.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Evaluation {
    /// Mean cross-entropy (natural log) over the rows.
    pub loss: f64,
    pub accuracy: f64,
    /// Unweighted mean of the per-class F1 (see the module notes).
    pub macro_f1: f64,
    /// One entry per class, in class-index order.
    pub per_class: Vec<ClassScores>,
}

/// Accuracy, macro-F1 and per-class scores of `y_pred` against `y_true`.
///
/// Labels at or above `n_classes` count as wrong predictions (a true label
/// out of range is ignored in the per-class table).
pub fn score(y_true: &[u32], y_pred: &[u32], n_classes: usize) -> (f64, f64, Vec<ClassScores>) {
    assert_eq!(y_true.len(), y_pred.len(), "score: y_true and y_pred differ in length");
    let mut tp = vec![0usize; n_classes];
    let mut predicted = vec![0usize; n_classes];
    let mut support = vec![0usize; n_classes];
    let mut correct = 0usize;
    for (&t, &p) in y_true.iter().zip(y_pred) {
        let (t, p) = (t as usize, p as usize);
        if t < n_classes {
            support[t] += 1;
        }
        if p < n_classes {
            predicted[p] += 1;
        }
        if t == p && t < n_classes {
            tp[t] += 1;
            correct += 1;
        }
    }
    let ratio = |a: usize, b: usize| if b == 0 { 0.0 } else { a as f64 / b as f64 };
    let per_class: Vec<ClassScores> = (0..n_classes)
        .map(|c| {
            let precision = ratio(tp[c], predicted[c]);
            let recall = ratio(tp[c], support[c]);
            let f1 = if precision + recall > 0.0 { 2.0 * precision * recall / (precision + recall) } else { 0.0 };
            ClassScores { precision, recall, f1, support: support[c] }
        })
        .collect();
    let accuracy = ratio(correct, y_true.len());
    let macro_f1 = if n_classes == 0 { 0.0 } else { per_class.iter().map(|s| s.f1).sum::<f64>() / n_classes as f64 };
    (accuracy, macro_f1, per_class)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Builds label vectors from a confusion matrix (rows = true, cols = predicted).
    fn from_confusion(m: &[&[usize]]) -> (Vec<u32>, Vec<u32>) {
        let (mut t, mut p) = (Vec::new(), Vec::new());
        for (i, row) in m.iter().enumerate() {
            for (j, &n) in row.iter().enumerate() {
                for _ in 0..n {
                    t.push(i as u32);
                    p.push(j as u32);
                }
            }
        }
        (t, p)
    }

    #[test]
    fn scores_of_a_hand_made_confusion() {
        // true\pred  0  1  2
        //   0        5  1  0
        //   1        2  3  1
        //   2        0  0  4
        let (t, p) = from_confusion(&[&[5, 1, 0], &[2, 3, 1], &[0, 0, 4]]);
        let (acc, f1, pc) = score(&t, &p, 3);
        assert!((acc - 12.0 / 16.0).abs() < 1e-15);
        let close = |a: f64, b: f64| (a - b).abs() < 1e-12;
        // class 0: P 5/7, R 5/6
        assert!(close(pc[0].precision, 5.0 / 7.0) && close(pc[0].recall, 5.0 / 6.0));
        assert!(close(pc[0].f1, 2.0 * 5.0 / (7.0 + 6.0)));
        // class 1: P 3/4, R 3/6 -> F1 = 2*3/(4+6)
        assert!(close(pc[1].f1, 0.6));
        // class 2: P 4/5, R 1 -> F1 = 8/9
        assert!(close(pc[2].f1, 8.0 / 9.0));
        assert_eq!([pc[0].support, pc[1].support, pc[2].support], [6, 6, 4]);
        assert!(close(f1, (10.0 / 13.0 + 0.6 + 8.0 / 9.0) / 3.0));
    }

    #[test]
    fn absent_and_never_predicted_classes_score_zero() {
        // class 2 has no rows and no predictions; class 1 is never predicted
        let (t, p) = from_confusion(&[&[3, 0, 0], &[2, 0, 0], &[0, 0, 0]]);
        let (acc, f1, pc) = score(&t, &p, 3);
        assert!((acc - 0.6).abs() < 1e-15);
        assert_eq!(pc[1], ClassScores { precision: 0.0, recall: 0.0, f1: 0.0, support: 2 });
        assert_eq!(pc[2], ClassScores { precision: 0.0, recall: 0.0, f1: 0.0, support: 0 });
        // class 0: P 3/5, R 1 -> F1 0.75; mean over all three classes
        assert!((f1 - 0.75 / 3.0).abs() < 1e-15);
    }

    #[test]
    fn empty_set() {
        let (acc, f1, pc) = score(&[], &[], 2);
        assert_eq!((acc, f1), (0.0, 0.0));
        assert_eq!(pc.len(), 2);
    }
}
