//! The data: load a data set, split it into a train pool and a held-out
//! test set, normalise both with the train pool's statistics, and partition
//! the train pool over the clients.
//!
//! Everything random derives from the `"data"` subtree of the seed tree:
//! `"shuffle"` (the row permutation before the split), `"partition"` (the
//! partitioner's draws) and `"synthetic"` (the generator of `synthetic`
//! data, one stream per latent source).
//!
//! Order of operations in [`load`]:
//! 1. read or generate all rows (features as `f32`, labels as class
//!    indices `0..n_classes`);
//! 2. if `data.shuffle`, permute all rows with the `"shuffle"` stream;
//! 3. train pool = the first `floor((1 - test_fraction) * rows)` rows, test
//!    set = the rest (without shuffling: file order, the test set is the
//!    last rows);
//! 4. fit the normalisation on the train pool, apply it to both;
//! 5. partition the train pool's row indices over the clients.
//!
//! # Precision: features stored as `f32`, arithmetic in `f64`
//! [`Dataset::x`] holds every feature as `f32`; everything computed from
//! the features (logits, softmax, gradients, parameters, loss sums,
//! normalisation statistics) is `f64`, each feature being widened with
//! `as f64` where it is used, inside the kernels' inner loops.
//!
//! - **Why `f32` storage**: memory and bandwidth. At a million rows of 60
//!   features, `f64` storage is 480 MB (most of a run's peak memory), and
//!   the SGD and evaluation kernels stream the rows from memory; `f32`
//!   halves both. The features are measurements or draws whose own
//!   precision is far below `f32`'s 24 bits (pixel counts, CSV text with a
//!   few digits, normal draws); the built-in data sets come as `f32`.
//! - **Why `f64` arithmetic**: the parity reference (the float64 numpy
//!   implementation of the workload) is float64 end to end, and an `f32`
//!   step or loss would drift from it by far more than the parity tolerance
//!   (1e-9); also a gradient or a loss is a sum of many small per-row
//!   terms, and the parameters accumulate many small steps, which `f32`
//!   would round away. Widening `f32` to `f64` is exact, so a data set whose
//!   values are exactly representable in `f32` (the parity CSV: pixel / 16)
//!   gives bit-for-bit the results of `f64` storage.
//!
//! Rounding to `f32` happens once per value: CSV cells are parsed straight
//! to the nearest `f32` (a value beyond `f32`'s range is an error); the
//! synthetic generator draws in `f64` (labels from the `f64` draws) and
//! stores the features rounded; the normalisation is fitted in `f64` on
//! the stored values and each normalised value is computed in `f64` and
//! rounded to `f32` once.

mod clients;
pub use clients::ClientData;
mod normalize;
mod partition;
mod synthetic;
mod table;

use std::path::PathBuf;

use rand::seq::SliceRandom;

use crate::scenario::checked::{DataSource, DataSpec};
use crate::sim::SeedTree;

pub use normalize::{fit_apply as normalize_train_test, Scaler};
pub use partition::partition;

/// A table of labelled rows.
#[derive(Debug, Clone, PartialEq)]
pub struct Dataset {
    /// Row-major features, `rows * n_features` values, stored as `f32`
    /// (widen with `as f64` to compute; see the module notes).
    pub x: Vec<f32>,
    /// One class index in `0..n_classes` per row.
    pub y: Vec<u32>,
    pub n_features: usize,
    pub n_classes: usize,
}

impl Dataset {
    /// Number of rows.
    pub fn rows(&self) -> usize {
        self.y.len()
    }

    /// The features of row `i`.
    #[inline]
    pub fn row(&self, i: usize) -> &[f32] {
        &self.x[i * self.n_features..(i + 1) * self.n_features]
    }

    /// Rows per class (length `n_classes`).
    pub fn class_counts(&self) -> Vec<usize> {
        let mut counts = vec![0; self.n_classes];
        for &y in &self.y {
            counts[y as usize] += 1;
        }
        counts
    }
}

/// The data of a run: the train pool split over the clients, and the
/// server's test set.
#[derive(Debug, Clone, PartialEq)]
pub struct FederatedData {
    /// The normalised train pool.
    pub train: Dataset,
    /// The held-out test set, normalised with the train pool's statistics.
    pub test: Dataset,
    /// Per client (`len == n_clients`): row indices into `train`, in the
    /// client's row order (ascending for every partitioner).
    pub partition: Vec<Vec<u32>>,
    /// One name per class (`len == n_classes`).
    pub class_names: Vec<String>,
}

/// Why the data could not be loaded. Every message names the scenario key
/// at fault, and for CSV content the file, the line and the column.
#[derive(Debug, thiserror::Error)]
pub enum DataError {
    #[error("data.csv.path: cannot read `{}`: {source}", path.display())]
    CsvOpen {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("data.csv.path: `{}` is empty (a header row is expected)", path.display())]
    CsvNoHeader { path: PathBuf },
    #[error("data.csv.path: `{}` has a header row but no data rows", path.display())]
    CsvNoRows { path: PathBuf },
    #[error(
        "data.csv.label_column: `{label}` is not a column of `{}` (header: {})",
        path.display(),
        show_header(header)
    )]
    CsvNoLabelColumn { path: PathBuf, label: String, header: Vec<String> },
    #[error("data.csv.label_column: `{label}` names {count} columns of `{}`; it must name one", path.display())]
    CsvDuplicateLabelColumn { path: PathBuf, label: String, count: usize },
    #[error("data.csv.path: `{}` has no feature column besides the label column `{label}`", path.display())]
    CsvNoFeatures { path: PathBuf, label: String },
    #[error("{}:{line}: expected {expected} fields (as in the header), found {found}", path.display())]
    CsvFieldCount { path: PathBuf, line: u64, expected: usize, found: usize },
    #[error("{}:{line}: column {column} `{name}`: `{value}` is not a finite number", path.display())]
    CsvNotNumeric { path: PathBuf, line: u64, column: usize, name: String, value: String },
    #[error(
        "{}:{line}: column {column} `{name}`: `{value}` is beyond the range of the features' f32 storage (about ±3.4e38)",
        path.display()
    )]
    CsvOutOfRange { path: PathBuf, line: u64, column: usize, name: String, value: String },
    #[error("{}:{line}: column {column} `{name}`: the label is empty", path.display())]
    CsvEmptyLabel { path: PathBuf, line: u64, column: usize, name: String },
    #[error("{}:{}: {message}", path.display(), line.map_or_else(|| "?".to_string(), |l| l.to_string()))]
    CsvRead { path: PathBuf, line: Option<u64>, message: String },
    #[error(
        "data.test_fraction: {test_fraction} of {rows} rows leaves {train} train rows and {test} test rows; both need at least one"
    )]
    Split { rows: usize, test_fraction: f64, train: usize, test: usize },
    #[error("data: {rows} rows is more than the supported {max}", max = u32::MAX)]
    TooManyRows { rows: usize },
    #[error("{key}: {message}")]
    Invalid { key: &'static str, message: String },
}

fn show_header(header: &[String]) -> String {
    const SHOWN: usize = 12;
    let mut s: Vec<String> = header.iter().take(SHOWN).map(|h| format!("`{h}`")).collect();
    if header.len() > SHOWN {
        s.push(format!("... {} columns in all", header.len()));
    }
    s.join(", ")
}

/// All rows of a source, before the split.
pub(crate) struct Raw {
    pub data: Dataset,
    pub class_names: Vec<String>,
}

/// Load, split, normalise and partition the data of a scenario.
///
/// `seeds` is the `"data"` subtree; the children `"shuffle"`, `"partition"`
/// and `"synthetic"` are derived here.
pub fn load(spec: &DataSpec, n_clients: usize, seeds: SeedTree) -> Result<FederatedData, DataError> {
    if n_clients == 0 {
        return Err(DataError::Invalid { key: "clients.count", message: "at least one client is needed".into() });
    }
    let raw = match &spec.source {
        DataSource::Digits => builtin_digits(),
        DataSource::BreastCancer => builtin_breast_cancer(),
        DataSource::Iris => builtin_iris(),
        DataSource::Synthetic(s) => synthetic::generate(s, n_clients, seeds.child("synthetic"))?,
        DataSource::Csv(c) => table::read_csv(&c.path, &c.label_column)?,
    };
    let Raw { mut data, class_names } = raw;
    let rows = data.rows();
    if rows > u32::MAX as usize {
        return Err(DataError::TooManyRows { rows });
    }
    let n_train = ((1.0 - spec.test_fraction) * rows as f64).floor() as usize;
    let n_train = n_train.min(rows);
    if n_train == 0 || n_train == rows {
        return Err(DataError::Split { rows, test_fraction: spec.test_fraction, train: n_train, test: rows - n_train });
    }
    if spec.shuffle {
        let mut perm: Vec<u32> = (0..rows as u32).collect();
        perm.shuffle(&mut seeds.child("shuffle").stream());
        permute_rows(&mut data, &perm);
    }
    let (mut train, mut test) = split_at(data, n_train);
    normalize::fit_apply(spec.normalize, &mut train, &mut test);
    let partition = partition::partition(&spec.partition, &train, n_clients, seeds.child("partition"));
    Ok(FederatedData { train, test, partition, class_names })
}

/// Reorders rows in place so that new row `j` is old row `perm[j]`, with
/// one row of scratch (no copy of the whole table).
pub(crate) fn permute_rows(data: &mut Dataset, perm: &[u32]) {
    let n = data.rows();
    let f = data.n_features;
    debug_assert_eq!(perm.len(), n);
    let mut done = vec![false; n];
    let mut tmp = vec![0.0f32; f];
    for start in 0..n {
        if done[start] {
            continue;
        }
        done[start] = true;
        let src0 = perm[start] as usize;
        if src0 == start {
            continue;
        }
        tmp.copy_from_slice(&data.x[start * f..(start + 1) * f]);
        let tmp_y = data.y[start];
        let mut k = start;
        loop {
            let next = perm[k] as usize;
            if next == start {
                data.x[k * f..(k + 1) * f].copy_from_slice(&tmp);
                data.y[k] = tmp_y;
                break;
            }
            data.x.copy_within(next * f..(next + 1) * f, k * f);
            data.y[k] = data.y[next];
            done[next] = true;
            k = next;
        }
    }
}

/// The first `n` rows and the rest.
fn split_at(mut data: Dataset, n: usize) -> (Dataset, Dataset) {
    let f = data.n_features;
    let test =
        Dataset { x: data.x[n * f..].to_vec(), y: data.y[n..].to_vec(), n_features: f, n_classes: data.n_classes };
    data.x.truncate(n * f);
    data.x.shrink_to_fit();
    data.y.truncate(n);
    data.y.shrink_to_fit();
    (data, test)
}

fn from_smartcore(x: &[f32], y: impl Iterator<Item = u32>, n_features: usize, class_names: &[&str]) -> Raw {
    let y: Vec<u32> = y.collect();
    debug_assert!(y.iter().all(|&c| (c as usize) < class_names.len()));
    Raw {
        data: Dataset { x: x.to_vec(), y, n_features, n_classes: class_names.len() },
        class_names: class_names.iter().map(|s| s.to_string()).collect(),
    }
}

/// UCI handwritten digits, 1797 x 64 (pixel counts 0..16), classes "0".."9".
fn builtin_digits() -> Raw {
    let d = smartcore::dataset::digits::load_dataset();
    let names: Vec<String> = (0..10).map(|c| c.to_string()).collect();
    let names: Vec<&str> = names.iter().map(|s| s.as_str()).collect();
    from_smartcore(&d.data, d.target.iter().map(|&t| t as u32), d.num_features, &names)
}

/// Wisconsin diagnostic breast cancer, 569 x 30. smartcore's targets follow
/// sklearn: 0 = malignant (212 rows), 1 = benign (357 rows).
fn builtin_breast_cancer() -> Raw {
    let d = smartcore::dataset::breast_cancer::load_dataset();
    from_smartcore(&d.data, d.target.iter().copied(), d.num_features, &["malignant", "benign"])
}

/// Fisher's iris, 150 x 4, three classes.
fn builtin_iris() -> Raw {
    let d = smartcore::dataset::iris::load_dataset();
    from_smartcore(&d.data, d.target.iter().copied(), d.num_features, &["setosa", "versicolor", "virginica"])
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scenario::checked::{CsvSpec, Normalize, Partition, SyntheticSpec};

    fn spec(source: DataSource) -> DataSpec {
        DataSpec {
            source,
            test_fraction: 0.2,
            shuffle: true,
            normalize: Normalize::Standard,
            partition: Partition::Iid,
        }
    }

    #[test]
    fn builtins_have_documented_shapes_and_labels() {
        let d = builtin_digits();
        assert_eq!((d.data.rows(), d.data.n_features, d.data.n_classes), (1797, 64, 10));
        assert_eq!(d.data.class_counts().iter().sum::<usize>(), 1797);
        assert!(d.data.x.iter().all(|&v| (0.0..=16.0).contains(&v) && v.fract() == 0.0));
        let b = builtin_breast_cancer();
        assert_eq!((b.data.rows(), b.data.n_features, b.data.n_classes), (569, 30, 2));
        assert_eq!(b.data.class_counts(), vec![212, 357]);
        // malignant tumours are larger: mean radius of class 0 > class 1
        let mean_radius = |c: u32| {
            let rows: Vec<usize> = (0..569).filter(|&i| b.data.y[i] == c).collect();
            rows.iter().map(|&i| b.data.row(i)[0] as f64).sum::<f64>() / rows.len() as f64
        };
        assert!(mean_radius(0) > mean_radius(1));
        let i = builtin_iris();
        assert_eq!((i.data.rows(), i.data.n_features, i.data.n_classes), (150, 4, 3));
        assert_eq!(i.data.class_counts(), vec![50, 50, 50]);
    }

    #[test]
    fn split_sizes_and_determinism() {
        let s = spec(DataSource::Digits);
        let a = load(&s, 7, SeedTree::new(3)).unwrap();
        assert_eq!(a.train.rows(), 1437);
        assert_eq!(a.test.rows(), 360);
        assert_eq!(a.partition.len(), 7);
        assert_eq!(a.class_names.len(), 10);
        let b = load(&s, 7, SeedTree::new(3)).unwrap();
        assert_eq!(a, b);
        let c = load(&s, 7, SeedTree::new(4)).unwrap();
        assert_ne!(a.train.y, c.train.y);
    }

    #[test]
    fn no_shuffle_keeps_file_order_and_test_is_last_rows() {
        let mut s = spec(DataSource::Iris);
        s.shuffle = false;
        s.normalize = Normalize::None;
        let fd = load(&s, 3, SeedTree::new(0)).unwrap();
        let raw = builtin_iris().data;
        assert_eq!(fd.train.rows(), 120);
        assert_eq!(&fd.train.x[..], &raw.x[..120 * 4]);
        assert_eq!(&fd.test.x[..], &raw.x[120 * 4..]);
        assert_eq!(&fd.test.y[..], &raw.y[120..]);
    }

    #[test]
    fn normalisation_is_fitted_on_the_train_pool_only() {
        let mut s = spec(DataSource::Iris);
        s.shuffle = false; // iris is sorted by class: the test rows are all virginica
        let fd = load(&s, 3, SeedTree::new(0)).unwrap();
        let raw = builtin_iris().data;
        // the normalised values are stored rounded to f32 (relative error at
        // most half an f32 epsilon each), so the column sums and the test
        // values hold to that rounding on top of the former 1e-9 / 1e-12
        let half_eps = f32::EPSILON as f64 / 2.0;
        for j in 0..4 {
            let col: Vec<f64> = (0..120).map(|i| raw.row(i)[j] as f64).collect();
            let mean = col.iter().sum::<f64>() / 120.0;
            let sd = (col.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / 120.0).sqrt();
            let t: Vec<f64> = (0..120).map(|i| fd.train.row(i)[j] as f64).collect();
            let abs_sum: f64 = t.iter().map(|v| v.abs()).sum();
            assert!(t.iter().sum::<f64>().abs() < 1e-9 + abs_sum * half_eps);
            let sq_mean = t.iter().map(|v| v * v).sum::<f64>() / 120.0;
            assert!((sq_mean - 1.0).abs() < 1e-9 + 2.0 * sq_mean * half_eps);
            for i in 0..30 {
                let want = (raw.row(120 + i)[j] as f64 - mean) / sd;
                assert!((fd.test.row(i)[j] as f64 - want).abs() < 1e-12 + want.abs() * half_eps);
            }
        }
        s.normalize = Normalize::MinMax;
        let fd = load(&s, 3, SeedTree::new(0)).unwrap();
        assert!(fd.train.x.iter().all(|v| (0.0..=1.0).contains(v)));
        assert!(fd.test.x.iter().any(|&v| v > 1.0), "virginica petals exceed the train range");
    }

    #[test]
    fn shuffle_is_a_row_permutation() {
        let mut s = spec(DataSource::Iris);
        s.normalize = Normalize::None;
        let fd = load(&s, 3, SeedTree::new(9)).unwrap();
        let raw = builtin_iris().data;
        let mut got: Vec<(Vec<u32>, u32)> = (0..fd.train.rows())
            .map(|i| (fd.train.row(i).iter().map(|v| v.to_bits()).collect(), fd.train.y[i]))
            .chain((0..fd.test.rows()).map(|i| (fd.test.row(i).iter().map(|v| v.to_bits()).collect(), fd.test.y[i])))
            .collect();
        let mut want: Vec<(Vec<u32>, u32)> =
            (0..raw.rows()).map(|i| (raw.row(i).iter().map(|v| v.to_bits()).collect(), raw.y[i])).collect();
        assert_ne!(got, want, "shuffle should move rows");
        got.sort();
        want.sort();
        assert_eq!(got, want);
    }

    #[test]
    fn permute_rows_matches_gather() {
        let n = 50;
        let data = Dataset {
            x: (0..n * 3).map(|v| v as f32).collect(),
            y: (0..n as u32).collect(),
            n_features: 3,
            n_classes: n,
        };
        let mut perm: Vec<u32> = (0..n as u32).collect();
        perm.shuffle(&mut SeedTree::new(1).stream());
        let mut p = data.clone();
        permute_rows(&mut p, &perm);
        for (j, &from) in perm.iter().enumerate() {
            assert_eq!(p.row(j), data.row(from as usize));
            assert_eq!(p.y[j], data.y[from as usize]);
        }
    }

    #[test]
    fn split_errors_are_reported() {
        let mut s = spec(DataSource::Iris);
        s.test_fraction = 0.999;
        let e = load(&s, 3, SeedTree::new(0)).unwrap_err();
        assert!(e.to_string().starts_with("data.test_fraction:"), "{e}");
        let e = load(&spec(DataSource::Iris), 0, SeedTree::new(0)).unwrap_err();
        assert!(e.to_string().starts_with("clients.count:"), "{e}");
    }

    #[test]
    fn csv_missing_file_names_key_and_path() {
        let s = spec(DataSource::Csv(CsvSpec { path: "/nonexistent/x.csv".into(), label_column: "y".into() }));
        let e = load(&s, 2, SeedTree::new(0)).unwrap_err().to_string();
        assert!(e.starts_with("data.csv.path:") && e.contains("/nonexistent/x.csv"), "{e}");
    }

    #[test]
    fn synthetic_loads_with_every_partitioner() {
        for p in [
            Partition::Iid,
            Partition::Dirichlet { alpha: 0.3 },
            Partition::Shards { shards_per_client: 2 },
            Partition::QuantitySkew { sigma: 1.0 },
        ] {
            let mut s = spec(DataSource::Synthetic(SyntheticSpec {
                features: 5,
                classes: 3,
                samples: 500,
                alpha: 1.0,
                beta: 1.0,
            }));
            s.partition = p;
            let fd = load(&s, 10, SeedTree::new(5)).unwrap();
            let mut all: Vec<u32> = fd.partition.concat();
            all.sort();
            assert_eq!(all, (0..400).collect::<Vec<u32>>());
        }
    }
}
