//! Measured leakage: the loss-threshold membership-inference attack of Yeom et al. (2018).
//!
//! The attacker sees a sample's loss under the trained model and says "member" (the sample was in the training
//! data) when the loss is at most a threshold τ. Over `m` members and `n` non-members:
//!
//! - `TPR(τ) = #{member losses <= τ} / m`, `FPR(τ) = #{non-member losses <= τ} / n`;
//! - advantage `= max_τ (TPR(τ) - FPR(τ))`, at least 0 (τ below every loss). The threshold is chosen with
//!   hindsight, as in Yeom et al.'s bound: it is the best this attack can do on these samples;
//! - AUC `= P(loss_member < loss_non_member) + ½·P(equal)` over all member/non-member pairs, the area under the
//!   attack's ROC curve (0.5: no better than chance).
//!
//! Both are computed exactly from integer counts in O((m + n) log(m + n)).

use serde::{Deserialize, Serialize};

/// The outcome of the attack on one model.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct AttackResult {
    /// Best `TPR - FPR` over all thresholds, in `[0, 1]`.
    pub advantage: f64,
    /// Area under the ROC curve, in `[0, 1]`.
    pub auc: f64,
    /// Number of member losses.
    pub members: usize,
    /// Number of non-member losses.
    pub non_members: usize,
}

/// Runs the loss-threshold attack on the losses of members (training samples) and non-members (held-out samples).
///
/// Losses are non-negative and not NaN; `+inf` (the log-loss of a zero probability) is allowed. If either set is
/// empty there is nothing to tell apart: the result is advantage 0 and AUC 0.5.
///
/// # Panics
/// If a loss is NaN.
///
/// ```
/// use fedsim::privacy::leakage::loss_threshold_attack;
/// // Training samples fit better: threshold 0.2 catches 2 of 3 members and 0 of 2 non-members.
/// let r = loss_threshold_attack(&[0.1, 0.2, 0.9], &[0.5, 1.2]);
/// assert_eq!(r.advantage, 2.0 / 3.0);
/// assert_eq!(r.auc, 5.0 / 6.0); // of the 6 pairs, only 0.9 against 0.5 is ordered the wrong way
/// ```
pub fn loss_threshold_attack(member_losses: &[f64], non_member_losses: &[f64]) -> AttackResult {
    let (m, n) = (member_losses.len(), non_member_losses.len());
    if m == 0 || n == 0 {
        return AttackResult { advantage: 0.0, auc: 0.5, members: m, non_members: n };
    }
    let sorted = |losses: &[f64]| {
        assert!(!losses.iter().any(|l| l.is_nan()), "a NaN loss");
        // `+ 0.0` turns -0.0 into 0.0, which `total_cmp` would otherwise order below it and split a tie.
        let mut v: Vec<f64> = losses.iter().map(|l| l + 0.0).collect();
        v.sort_unstable_by(f64::total_cmp);
        v
    };
    let (a, b) = (sorted(member_losses), sorted(non_member_losses));
    // `i` members and `j` non-members have a loss <= the current threshold. Twice the AUC numerator counts a
    // member strictly below a non-member as 2 and a tie as 1, so everything stays an exact integer.
    let (mut i, mut j, mut best, mut twice_wins) = (0, 0, 0i128, 0u128);
    while i < m || j < n {
        let threshold = a.get(i).into_iter().chain(b.get(j)).fold(f64::INFINITY, |t, &l| t.min(l));
        let (i0, j0) = (i, j);
        while a.get(i) == Some(&threshold) {
            i += 1;
        }
        while b.get(j) == Some(&threshold) {
            j += 1;
        }
        twice_wins += (2 * i0 * (j - j0) + (i - i0) * (j - j0)) as u128;
        // TPR - FPR = i/m - j/n, compared as i·n - j·m.
        best = best.max((i * n) as i128 - (j * m) as i128);
    }
    let pairs = (m * n) as f64;
    AttackResult { advantage: best as f64 / pairs, auc: twice_wins as f64 / (2.0 * pairs), members: m, non_members: n }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn interleaved_losses_leak_almost_nothing() {
        // Members 0, 2, 4, ...; non-members 1, 3, 5, ...: any threshold is ahead by at most one member.
        let members: Vec<f64> = (0..100).map(|i| 2.0 * i as f64).collect();
        let non_members: Vec<f64> = members.iter().map(|l| l + 1.0).collect();
        let r = loss_threshold_attack(&members, &non_members);
        assert_eq!(r.advantage, 0.01);
        assert_eq!(r.auc, 0.505); // member i is below non-members i..100: 5050 of 10000 pairs
        assert_eq!((r.members, r.non_members), (100, 100));
    }

    #[test]
    fn separated_losses_leak_everything() {
        let r = loss_threshold_attack(&[0.0, 0.5, 1.0], &[1.5, 2.0, f64::INFINITY, 3.0]);
        assert_eq!((r.advantage, r.auc), (1.0, 1.0));
    }

    #[test]
    fn ties_are_one_threshold() {
        // Members 1, 2, 2, 3; non-members 2, 3, 4 (-0.0 and 0.0 would tie too).
        // τ = 1: 1/4 - 0/3; τ = 2: 3/4 - 1/3 = 5/12 (best); τ = 3: 4/4 - 2/3; τ = 4: 1 - 1.
        // Pairs won (of 12): member 1 beats all 3; each 2 ties one and beats two (2.5); 3 ties one, beats one (1.5).
        let r = loss_threshold_attack(&[1.0, 2.0, 2.0, 3.0], &[2.0, 3.0, 4.0]);
        assert_eq!(r.advantage, 5.0 / 12.0);
        assert_eq!(r.auc, 9.5 / 12.0);
        assert_eq!(loss_threshold_attack(&[-0.0], &[0.0]).auc, 0.5);
    }

    #[test]
    fn an_empty_set_gives_chance() {
        let r = loss_threshold_attack(&[], &[1.0, 2.0]);
        assert_eq!(r, AttackResult { advantage: 0.0, auc: 0.5, members: 0, non_members: 2 });
        assert_eq!(loss_threshold_attack(&[1.0], &[]).auc, 0.5);
    }

    /// The definitions, pair by pair and threshold by threshold, in O(n²).
    fn brute_force(members: &[f64], non_members: &[f64]) -> (f64, f64) {
        let (m, n) = (members.len() as f64, non_members.len() as f64);
        let below = |set: &[f64], t: f64| set.iter().filter(|&&l| l <= t).count() as f64;
        let advantage = members
            .iter()
            .chain(non_members)
            .map(|&t| below(members, t) / m - below(non_members, t) / n)
            .fold(0.0, f64::max);
        let wins: f64 = members
            .iter()
            .flat_map(|a| {
                non_members.iter().map(move |b| {
                    if a < b {
                        1.0
                    } else if a == b {
                        0.5
                    } else {
                        0.0
                    }
                })
            })
            .sum();
        (advantage, wins / (m * n))
    }

    proptest! {
        #[test]
        fn attack_matches_definitions(
            // Few distinct values, so that ties are common.
            members in prop::collection::vec((0u8..12).prop_map(|v| f64::from(v) / 4.0), 0..40),
            non_members in prop::collection::vec((0u8..12).prop_map(|v| f64::from(v) / 4.0), 0..40),
        ) {
            let r = loss_threshold_attack(&members, &non_members);
            prop_assert!((0.0..=1.0).contains(&r.advantage) && (0.0..=1.0).contains(&r.auc), "{r:?}");
            let swapped = loss_threshold_attack(&non_members, &members);
            prop_assert!((swapped.auc - (1.0 - r.auc)).abs() < 1e-12, "{r:?} {swapped:?}");
            if !members.is_empty() && !non_members.is_empty() {
                let (advantage, auc) = brute_force(&members, &non_members);
                prop_assert!((r.advantage - advantage).abs() < 1e-12 && (r.auc - auc).abs() < 1e-12, "{r:?}");
            }
        }
    }
}
