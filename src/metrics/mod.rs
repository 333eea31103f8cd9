//! Measuring a model and a run: classification scores on the test set
//! (`classification`) and the per-evaluation rows of `metrics.csv`.

pub mod classification;

pub use classification::{score, ClassScores, Evaluation};
pub mod recorder;

pub use recorder::{MetricsRow, Recorder, METRICS_COLUMNS};
