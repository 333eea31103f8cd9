//! Measuring a model and a run: classification scores on the test set
//! (`classification`) and the per-evaluation rows of `metrics.csv`.

pub mod classification;

