//! The end-of-run text: a short summary and the per-class report in the
//! familiar precision / recall / f1-score / support layout.

use super::Summary;
use crate::metrics::ClassScores;
use std::fmt::Write;

/// The per-class table, with accuracy, macro and weighted averages.
///
/// ```
/// use fedsim::metrics::ClassScores;
/// use fedsim::report::classification_table;
/// let s = ClassScores { precision: 1.0, recall: 0.5, f1: 2.0 / 3.0, support: 2 };
/// let t = classification_table(&[("a".into(), s)], 0.5);
/// assert!(t.contains("precision    recall  f1-score   support"));
/// ```
pub fn classification_table(classes: &[(String, ClassScores)], accuracy: f64) -> String {
    let width = classes.iter().map(|(n, _)| n.len()).max().unwrap_or(0).max("weighted avg".len());
    let mut s = String::new();
    let _ = writeln!(s, "{:>width$} {:>10}{:>10}{:>10}{:>10}", "", "precision", "recall", "f1-score", "support");
    let _ = writeln!(s);
    for (name, c) in classes {
        let _ = writeln!(s, "{name:>width$} {:>10.2}{:>10.2}{:>10.2}{:>10}", c.precision, c.recall, c.f1, c.support);
    }
    let total: usize = classes.iter().map(|(_, c)| c.support).sum();
    let _ = writeln!(s);
    let _ = writeln!(s, "{:>width$} {:>10}{:>10}{:>10.2}{:>10}", "accuracy", "", "", accuracy, total);
    // Macro: every class counts once; weighted: by its support.
    type Weight = fn(&ClassScores) -> f64;
    let averages: [(&str, Weight); 2] = [("macro avg", |_| 1.0), ("weighted avg", |c| c.support as f64)];
    for (label, weight) in averages {
        let norm: f64 = classes.iter().map(|(_, c)| weight(c)).sum::<f64>().max(f64::MIN_POSITIVE);
        let avg = |f: fn(&ClassScores) -> f64| classes.iter().map(|(_, c)| f(c) * weight(c)).sum::<f64>() / norm;
        let (p, r, f1) = (avg(|c| c.precision), avg(|c| c.recall), avg(|c| c.f1));
        let _ = writeln!(s, "{label:>width$} {p:>10.2}{r:>10.2}{f1:>10.2}{total:>10}");
    }
    s
}

/// The lines printed when a run ends.
pub fn render_summary(s: &Summary, classes: &[(String, ClassScores)]) -> String {
    let mut out = String::new();
    let ttt = s.time_to_target_s.map_or("never".to_string(), |t| format!("{t:.3} s"));
    let _ = writeln!(out, "{} ({}, seed {}): stopped by {}", s.scenario, s.strategy, s.seed, s.stop_reason);
    if let Some(why) = &s.stop_message {
        let _ = writeln!(out, "  why           {why}");
    }
    let _ = writeln!(out, "  rounds        {}", s.rounds);
    let _ = writeln!(out, "  virtual time  {:.3} s", s.virtual_time_s);
    let _ = writeln!(
        out,
        "  accuracy      {:.4}   loss {:.4}   macro-F1 {:.4}",
        s.final_accuracy, s.final_loss, s.final_macro_f1
    );
    if let Some(target) = s.target_accuracy {
        let _ = writeln!(out, "  to {target:.2}       {ttt}");
    }
    let _ = writeln!(out, "  bytes         {} up, {} down", s.bytes_up, s.bytes_down);
    let _ = writeln!(
        out,
        "  wall time     {:.3} s ({} messages, {} thread{})",
        s.wall_time_s,
        s.messages,
        s.threads,
        if s.threads == 1 { "" } else { "s" }
    );
    let _ = writeln!(out);
    out.push_str(&classification_table(classes, s.final_accuracy));
    out
}
