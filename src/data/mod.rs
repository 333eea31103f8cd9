//! The data: load a data set, split it into a train pool and a held-out
//! test set, normalise both with the train pool's statistics, and give
//! every client its rows through one type, [`ClientData`].
//!
//! Everything random derives from the `"data"` subtree of the seed tree:
//! `"shuffle"` (the row permutation before the split), `"partition"` (the
//! partitioner's draws) and `"synthetic"` (the generator of `synthetic`
//! data, one stream per latent source).
//!
//! Order of operations in [`load`] for a table (every data set but
//! `synthetic` with `per_client: true`):
//! 1. read or generate all rows (features as `f32`, labels as class
//!    indices `0..n_classes`);
//! 2. if `data.shuffle`, permute all rows with the `"shuffle"` stream;
//! 3. train pool = the first `floor((1 - test_fraction) * rows)` rows, test
//!    set = the rest (without shuffling: file order, the test set is the
//!    last rows);
//! 4. fit the normalisation on the train pool, apply it to both;
//! 5. partition the train pool's row indices over the clients, stored flat
//!    ([`ClientData::Table`]: 4 bytes per row and 8 per client).
//!
//! With `data.synthetic.per_client: true` there is no train table: client
//! k is LEAF source k, made on demand ([`ClientData::PerClient`]); its size
//! law, the test set and the normalisation sample are documented on
//! [`PerClientSynthetic`] (in full in the notes of `src/data/synthetic.rs`)
//! and under `data.synthetic.per_client` in docs/scenario-reference.md.
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

mod normalize;
mod partition;
mod synthetic;
mod table;

use std::path::PathBuf;
use std::sync::Arc;

use rand::seq::SliceRandom;

use crate::scenario::checked::{DataSource, DataSpec};
use crate::sim::{lock, SeedTree};

pub use normalize::{fit_apply as normalize_train_test, Scaler};
pub use partition::partition;
pub use synthetic::{PerClientSynthetic, SizeLaw, MAX_TEST_ROWS, SAMPLE_SOURCES, SIZE_BLOCK};

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

    /// `rows` of this set, in that order, with every label y mirrored to
    /// `n_classes - 1 - y` (a label-flipping attacker's data).
    ///
    /// ```
    /// use fedsim::data::Dataset;
    /// let d = Dataset { x: vec![0.0, 1.0, 2.0], y: vec![0, 1, 2], n_features: 1, n_classes: 3 };
    /// let f = d.flipped_subset(&[2, 0]);
    /// assert_eq!((f.x, f.y), (vec![2.0, 0.0], vec![0, 2]));
    /// ```
    pub fn flipped_subset(&self, rows: &[u32]) -> Dataset {
        Dataset {
            x: rows.iter().flat_map(|&r| self.row(r as usize).iter().copied()).collect(),
            y: rows.iter().map(|&r| crate::byzantine::flipped(self.y[r as usize], self.n_classes)).collect(),
            n_features: self.n_features,
            n_classes: self.n_classes,
        }
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

/// The data of a run: every client's rows, and the server's test set.
#[derive(Debug, Clone, PartialEq)]
pub struct FederatedData {
    /// The held-out test set, normalised with the train pool's statistics.
    pub test: Dataset,
    /// Where each client's rows come from.
    pub clients: ClientData,
    /// One name per class (`len == n_classes`).
    pub class_names: Vec<String>,
    /// Features per row (of the test set and of every client).
    pub n_features: usize,
    /// Number of classes.
    pub n_classes: usize,
}

/// Where each client's rows come from. Cheap to clone (`Arc` inside), so
/// every client and every training job can hold one.
///
/// ```
/// use fedsim::data::{self, ClientData};
/// use fedsim::scenario::checked::{DataSource, DataSpec, Normalize, Partition};
/// use fedsim::sim::SeedTree;
/// let spec = DataSpec {
///     source: DataSource::Iris,
///     test_fraction: 0.2,
///     shuffle: false,
///     normalize: Normalize::None,
///     partition: Partition::Iid,
/// };
/// let fd = data::load(&spec, 7, SeedTree::new(0)).unwrap();
/// assert_eq!((fd.clients.n_clients(), fd.clients.total_rows()), (7, 120));
/// // round-robin: client 3 holds train rows 3, 10, 17, ...
/// assert_eq!(fd.clients.samples(3), 17);
/// let first = fd.clients.with_client(3, |_train, rows| rows[..3].to_vec());
/// assert_eq!(first, [3, 10, 17]);
/// assert!(matches!(fd.clients, ClientData::Table { .. }));
/// ```
#[derive(Debug, Clone, PartialEq)]
pub enum ClientData {
    /// A train table split over the clients; partition stored flat: `rows`
    /// holds every client's row indices back to back (each client's
    /// ascending), `offsets[c]..offsets[c + 1]` is client c's slice
    /// (`offsets.len() == n_clients + 1`).
    Table { train: Arc<Dataset>, rows: Arc<[u32]>, offsets: Arc<[u64]> },
    /// LEAF synthetic sources made on demand, one per client.
    PerClient(Arc<PerClientSynthetic>),
}

impl ClientData {
    /// Number of clients.
    pub fn n_clients(&self) -> usize {
        match self {
            ClientData::Table { offsets, .. } => offsets.len() - 1,
            ClientData::PerClient(p) => p.n_clients(),
        }
    }

    /// Local sample count of client `c` (its rows, per epoch): O(1), no
    /// allocation (per-client `quantity_skew` sizes draw one block of
    /// [`SIZE_BLOCK`] lognormals on the stack). Panics if `c` is not a
    /// client.
    pub fn samples(&self, c: u32) -> usize {
        match self {
            ClientData::Table { offsets, .. } => (offsets[c as usize + 1] - offsets[c as usize]) as usize,
            ClientData::PerClient(p) => p.samples(c),
        }
    }

    /// Runs `f` on client `c`'s data: the train table and the client's row
    /// indices into it, or a freshly generated table of the client's rows
    /// (normalised) and `0..n`. Panics if `c` is not a client.
    pub fn with_client<R>(&self, c: u32, f: impl FnOnce(&Dataset, &[u32]) -> R) -> R {
        match self {
            ClientData::Table { train, rows, offsets } => {
                let (lo, hi) = (offsets[c as usize] as usize, offsets[c as usize + 1] as usize);
                f(train, &rows[lo..hi])
            }
            ClientData::PerClient(p) => {
                let data = p.client(c);
                // fits: `PerClientSynthetic::build` bounds a client by u32::MAX rows
                let rows: Vec<u32> = (0..data.rows() as u32).collect();
                f(&data, &rows)
            }
        }
    }

    /// Total train rows over all clients (for messages and summaries).
    pub fn total_rows(&self) -> u64 {
        match self {
            ClientData::Table { rows, .. } => rows.len() as u64,
            ClientData::PerClient(p) => p.total_rows(),
        }
    }

    /// Bytes held for the clients, excluding a shared train table: for a
    /// table, 4 per row index and 8 per offset (about 4 per train row + 8
    /// per client); per client, a constant (the generator's parameters and
    /// the scaler, O(features)), whatever the number of clients.
    pub fn client_bytes(&self) -> usize {
        match self {
            ClientData::Table { rows, offsets, .. } => 4 * rows.len() + 8 * offsets.len(),
            ClientData::PerClient(p) => p.bytes(),
        }
    }
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

impl DataError {
    /// The dotted scenario key at fault.
    pub fn key(&self) -> &'static str {
        use DataError::*;
        match self {
            CsvNoLabelColumn { .. } | CsvDuplicateLabelColumn { .. } => "data.csv.label_column",
            Split { .. } => "data.test_fraction",
            Invalid { key, .. } => key,
            CsvOpen { .. }
            | CsvNoHeader { .. }
            | CsvNoRows { .. }
            | CsvNoFeatures { .. }
            | CsvFieldCount { .. }
            | CsvNotNumeric { .. }
            | CsvOutOfRange { .. }
            | CsvEmptyLabel { .. }
            | CsvRead { .. }
            | TooManyRows { .. } => "data.csv.path",
        }
    }

    /// The message without its leading `KEY: ` (for a message that is
    /// located elsewhere).
    pub fn detail(&self) -> String {
        let text = self.to_string();
        let prefix = format!("{}: ", self.key());
        text.strip_prefix(&prefix).map_or(text.clone(), str::to_string)
    }
}

/// The size of a scenario's data, known before its tables are built.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Shape {
    /// Rows of the table split into train pool and test set; with
    /// `per_client` synthetic data, the train rows over all clients.
    pub rows: u64,
    /// Train rows over all clients.
    pub train_rows: u64,
    /// Rows of the server's test set.
    pub test_rows: u64,
    pub features: u64,
    pub classes: u64,
    /// Rows are made per job from the seed, never held in a table.
    pub per_client: bool,
}

/// The shape of a scenario's data, with the checks that need it: a CSV is
/// read (all its cells checked, the features not kept), built-in data sets
/// are looked at, synthetic data is sized from its keys. The split must
/// leave at least one train and one test row.
pub fn shape(spec: &DataSpec) -> Result<Shape, DataError> {
    let of = |raw: &Raw| (raw.data.rows() as u64, raw.data.n_features as u64, raw.data.n_classes as u64);
    // Rows read in full here are kept for the load that follows.
    let key = SourceKey::of(&spec.source);
    let keep = |raw: Raw| {
        let shape = of(&raw);
        if let Some(key) = key.clone() {
            *lock(&LAST_READ) = Some((key, raw));
        }
        shape
    };
    let (rows, features, classes) = match &spec.source {
        DataSource::Digits => keep(builtin_digits()),
        DataSource::BreastCancer => keep(builtin_breast_cancer()),
        DataSource::Iris => keep(builtin_iris()),
        DataSource::Csv(c) if key.is_some() => keep(table::read_csv(&c.path, &c.label_column)?),
        DataSource::Csv(c) => of(&table::probe_csv(&c.path, &c.label_column)?),
        DataSource::Synthetic(s) if s.per_client => {
            // The test set: at most MAX_TEST_ROWS fresh rows of the first
            // sources (see `PerClientSynthetic::build`).
            let train = s.samples as f64;
            let test = (train * spec.test_fraction / (1.0 - spec.test_fraction)).ceil();
            let test = test.min(synthetic::MAX_TEST_ROWS as f64).max(1.0) as u64;
            return Ok(Shape {
                rows: s.samples as u64,
                train_rows: s.samples as u64,
                test_rows: test,
                features: s.features as u64,
                classes: s.classes as u64,
                per_client: true,
            });
        }
        DataSource::Synthetic(s) => (s.samples as u64, s.features as u64, s.classes as u64),
    };
    if rows > u64::from(u32::MAX) {
        return Err(DataError::TooManyRows { rows: rows as usize });
    }
    let n_train = (((1.0 - spec.test_fraction) * rows as f64).floor() as u64).min(rows);
    if n_train == 0 || n_train == rows {
        return Err(DataError::Split {
            rows: rows as usize,
            test_fraction: spec.test_fraction,
            train: n_train as usize,
            test: (rows - n_train) as usize,
        });
    }
    Ok(Shape { rows, train_rows: n_train, test_rows: rows - n_train, features, classes, per_client: false })
}

fn show_header(header: &[String]) -> String {
    const SHOWN: usize = 12;
    let mut s: Vec<String> = header.iter().take(SHOWN).map(|h| format!("`{h}`")).collect();
    if header.len() > SHOWN {
        s.push(format!("... {} columns in all", header.len()));
    }
    s.join(", ")
}

/// A CSV up to this size is read in full by [`shape`] and kept for the
/// load that follows; a larger one is only probed there (its features
/// are not held before the scenario's memory estimate has been checked).
const KEEP_CSV_BYTES: u64 = 64 << 20;

/// What [`shape`] read last, for [`load`]: parsing the same rows twice
/// cost a run of the parity workload a fifth of its fixed time. One slot,
/// so a process that checks many scenarios holds one source at most.
static LAST_READ: std::sync::Mutex<Option<(SourceKey, Raw)>> = std::sync::Mutex::new(None);

/// Identifies a source's rows: a built-in set, or a CSV file as it was
/// (path, label column, length and modification time).
#[derive(Debug, Clone, PartialEq)]
enum SourceKey {
    Builtin(&'static str),
    Csv { path: PathBuf, label: String, len: u64, modified: Option<std::time::SystemTime> },
}

impl SourceKey {
    /// `None` for a source not worth keeping (synthetic rows, a large or
    /// unreadable CSV).
    fn of(source: &DataSource) -> Option<SourceKey> {
        match source {
            DataSource::Digits => Some(SourceKey::Builtin("digits")),
            DataSource::BreastCancer => Some(SourceKey::Builtin("breast_cancer")),
            DataSource::Iris => Some(SourceKey::Builtin("iris")),
            DataSource::Synthetic(_) => None,
            DataSource::Csv(c) => {
                let meta = std::fs::metadata(&c.path).ok().filter(|m| m.len() <= KEEP_CSV_BYTES)?;
                Some(SourceKey::Csv {
                    path: c.path.clone(),
                    label: c.label_column.clone(),
                    len: meta.len(),
                    modified: meta.modified().ok(),
                })
            }
        }
    }

    /// The rows [`shape`] kept for this source, if they are still as read.
    fn take_kept(source: &DataSource) -> Option<Raw> {
        let key = SourceKey::of(source)?;
        let mut slot = lock(&LAST_READ);
        match slot.take() {
            Some((k, raw)) if k == key => Some(raw),
            other => {
                *slot = other;
                None
            }
        }
    }
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
    if n_clients > u32::MAX as usize {
        return Err(DataError::Invalid {
            key: "clients.count",
            message: format!("{n_clients} clients is more than the supported {}", u32::MAX),
        });
    }
    if let DataSource::Synthetic(s) = &spec.source {
        if s.per_client {
            let (pc, test) = PerClientSynthetic::build(
                s,
                &spec.partition,
                spec.normalize,
                spec.test_fraction,
                n_clients,
                seeds.child("synthetic"),
            )?;
            return Ok(FederatedData {
                test,
                n_features: pc.n_features(),
                n_classes: pc.n_classes(),
                class_names: (0..pc.n_classes()).map(|i| i.to_string()).collect(),
                clients: ClientData::PerClient(Arc::new(pc)),
            });
        }
    }
    let raw = match (SourceKey::take_kept(&spec.source), &spec.source) {
        (Some(raw), _) => raw,
        (None, DataSource::Digits) => builtin_digits(),
        (None, DataSource::BreastCancer) => builtin_breast_cancer(),
        (None, DataSource::Iris) => builtin_iris(),
        (None, DataSource::Synthetic(s)) => synthetic::generate(s, n_clients, seeds.child("synthetic"))?,
        (None, DataSource::Csv(c)) => table::read_csv(&c.path, &c.label_column)?,
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
    let flat = partition::partition_flat(&spec.partition, &train, n_clients, seeds.child("partition"));
    let (n_features, n_classes) = (train.n_features, train.n_classes);
    let clients = ClientData::Table { train: Arc::new(train), rows: flat.rows.into(), offsets: flat.offsets.into() };
    Ok(FederatedData { test, clients, class_names, n_features, n_classes })
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

    /// The train table of a table-backed load.
    fn train(fd: &FederatedData) -> &Dataset {
        match &fd.clients {
            ClientData::Table { train, .. } => train,
            ClientData::PerClient(_) => panic!("expected a table"),
        }
    }

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
        assert_eq!(train(&a).rows(), 1437);
        assert_eq!(a.clients.total_rows(), 1437);
        assert_eq!(a.test.rows(), 360);
        assert_eq!(a.clients.n_clients(), 7);
        assert_eq!(a.class_names.len(), 10);
        assert_eq!((a.n_features, a.n_classes), (64, 10));
        let b = load(&s, 7, SeedTree::new(3)).unwrap();
        assert_eq!(a, b);
        let c = load(&s, 7, SeedTree::new(4)).unwrap();
        assert_ne!(train(&a).y, train(&c).y);
    }

    #[test]
    fn no_shuffle_keeps_file_order_and_test_is_last_rows() {
        let mut s = spec(DataSource::Iris);
        s.shuffle = false;
        s.normalize = Normalize::None;
        let fd = load(&s, 3, SeedTree::new(0)).unwrap();
        let raw = builtin_iris().data;
        assert_eq!(train(&fd).rows(), 120);
        assert_eq!(&train(&fd).x[..], &raw.x[..120 * 4]);
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
            let t: Vec<f64> = (0..120).map(|i| train(&fd).row(i)[j] as f64).collect();
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
        assert!(train(&fd).x.iter().all(|v| (0.0..=1.0).contains(v)));
        assert!(fd.test.x.iter().any(|&v| v > 1.0), "virginica petals exceed the train range");
    }

    #[test]
    fn shuffle_is_a_row_permutation() {
        let mut s = spec(DataSource::Iris);
        s.normalize = Normalize::None;
        let fd = load(&s, 3, SeedTree::new(9)).unwrap();
        let raw = builtin_iris().data;
        let t = train(&fd);
        let mut got: Vec<(Vec<u32>, u32)> = (0..t.rows())
            .map(|i| (t.row(i).iter().map(|v| v.to_bits()).collect(), t.y[i]))
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

    fn per_client_spec(features: usize, samples: usize, normalize: Normalize) -> DataSpec {
        let mut s = spec(DataSource::Synthetic(SyntheticSpec {
            features,
            classes: 4,
            samples,
            alpha: 1.0,
            beta: 1.0,
            per_client: true,
        }));
        s.normalize = normalize;
        s
    }

    #[test]
    fn per_client_loads_without_per_client_work() {
        let s = per_client_spec(60, 20_000_000, Normalize::Standard);
        let start = std::time::Instant::now();
        let big = load(&s, 10_000_000, SeedTree::new(1)).unwrap();
        assert_eq!(big.clients.n_clients(), 10_000_000);
        assert_eq!(big.clients.total_rows(), 20_000_000);
        assert_eq!((big.n_features, big.n_classes, big.test.n_features), (60, 4, 60));
        assert_eq!(big.class_names, ["0", "1", "2", "3"]);
        // K = 1000 sources of 2 rows: ceil(2000 * 0.2 / 0.8) test rows
        assert_eq!(big.test.rows(), 500);
        // the clients cost the same at 10 clients and at 10 million: the
        // generator's parameters and the scaler, nothing per client
        let small = load(&per_client_spec(60, 20, Normalize::Standard), 10, SeedTree::new(1)).unwrap();
        assert_eq!(big.clients.client_bytes(), small.clients.client_bytes());
        assert!(big.clients.client_bytes() < 2048, "{}", big.clients.client_bytes());
        // and loading the largest federation is as quick: no O(clients) work
        let most =
            load(&per_client_spec(60, u32::MAX as usize, Normalize::Standard), u32::MAX as usize, SeedTree::new(1))
                .unwrap();
        assert_eq!(most.clients.samples(u32::MAX - 1), 1);
        assert!(start.elapsed().as_secs_f64() < 10.0, "{:?}", start.elapsed());
        let e = load(&per_client_spec(60, usize::MAX, Normalize::None), u32::MAX as usize + 1, SeedTree::new(1))
            .unwrap_err()
            .to_string();
        assert!(e.starts_with("clients.count:"), "{e}");
    }

    #[test]
    fn per_client_data_is_made_on_demand() {
        let s = per_client_spec(5, 4000, Normalize::Standard);
        let fd = load(&s, 200, SeedTree::new(3)).unwrap();
        assert_eq!(fd.clients.samples(17), 20);
        let (a, rows) = fd.clients.with_client(17, |d, rows| (d.clone(), rows.to_vec()));
        assert_eq!(rows, (0..20).collect::<Vec<u32>>());
        assert_eq!((a.rows(), a.n_features, a.n_classes), (20, 5, 4));
        // normalised with the sample's statistics: the 200 clients' features
        // (all of them are the sample here) have mean 0 and variance 1
        let mut sum = [0.0f64; 5];
        let mut sq = [0.0f64; 5];
        for c in 0..200 {
            fd.clients.with_client(c, |d, _| {
                for row in d.x.chunks_exact(5) {
                    for j in 0..5 {
                        sum[j] += row[j] as f64;
                        sq[j] += (row[j] as f64).powi(2);
                    }
                }
            });
        }
        for j in 0..5 {
            assert!((sum[j] / 4000.0).abs() < 1e-6, "{sum:?}");
            assert!((sq[j] / 4000.0 - 1.0).abs() < 1e-5, "{sq:?}");
        }
        // same seed and client, same rows; the data set is a pure function
        let again = load(&s, 200, SeedTree::new(3)).unwrap();
        assert_eq!(again, fd);
        assert_eq!(again.clients.with_client(17, |d, _| d.clone()), a);
        let other = load(&s, 200, SeedTree::new(4)).unwrap();
        assert_ne!(other.clients.with_client(17, |d, _| d.x.clone()), a.x);
        assert_ne!(other.test, fd.test);
    }

    #[test]
    fn table_client_bytes_are_four_per_row_and_eight_per_client() {
        let fd = load(&spec(DataSource::Digits), 1000, SeedTree::new(0)).unwrap();
        assert_eq!(fd.clients.client_bytes(), 4 * 1437 + 8 * 1001);
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
                per_client: false,
            }));
            s.partition = p;
            let fd = load(&s, 10, SeedTree::new(5)).unwrap();
            let ClientData::Table { rows, offsets, .. } = &fd.clients else { panic!("expected a table") };
            let mut all: Vec<u32> = rows.to_vec();
            all.sort();
            assert_eq!(all, (0..400).collect::<Vec<u32>>());
            assert_eq!(offsets.len(), 11);
            // client bytes: 4 per row index, 8 per offset
            assert_eq!(fd.clients.client_bytes(), 4 * 400 + 8 * 11);
            for c in 0..10 {
                let n = fd.clients.with_client(c, |d, r| {
                    assert!(r.windows(2).all(|w| w[0] < w[1]));
                    assert_eq!(d.rows(), 400);
                    r.len()
                });
                assert_eq!(n, fd.clients.samples(c));
            }
        }
    }
}
