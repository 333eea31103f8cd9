//! Reading a labelled CSV table.
//!
//! The first row is the header. `label_column` names the label; every other
//! column is a numeric feature (parsed to the nearest `f32`, the features'
//! storage type, surrounding spaces ignored; empty, non-numeric and
//! non-finite cells are errors, and so are finite values beyond `f32`'s
//! range, about ±3.4e38). Class
//! names are the distinct label strings (trimmed), sorted numerically if
//! every one parses as a number (ties between equal numbers such as `1` and
//! `1.0` broken by the text), else lexicographically; a row's class index is
//! its label's position in that order. Blank lines are skipped. Line
//! numbers in messages are 1-based lines of the file (the header is line 1).

use std::collections::HashMap;
use std::path::Path;

use super::{DataError, Dataset, Raw};

pub(crate) fn read_csv(path: &Path, label: &str) -> Result<Raw, DataError> {
    read_csv_with(path, label, true)
}

/// Reads a CSV as [`read_csv`] does, with every check, but keeps only the
/// labels (the feature table stays empty): the shape of a file without
/// holding it, for the checks and the estimate made at load time.
pub(crate) fn probe_csv(path: &Path, label: &str) -> Result<Raw, DataError> {
    read_csv_with(path, label, false)
}

fn read_csv_with(path: &Path, label: &str, keep_features: bool) -> Result<Raw, DataError> {
    let file = std::fs::File::open(path).map_err(|e| DataError::CsvOpen { path: path.to_owned(), source: e })?;
    let mut rdr = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .from_reader(std::io::BufReader::with_capacity(1 << 16, file));
    let read_err = |e: csv::Error| {
        let line = e.position().map(|p| record_line(path, p));
        match e.into_kind() {
            csv::ErrorKind::Io(io) => DataError::CsvRead { path: path.to_owned(), line, message: io.to_string() },
            csv::ErrorKind::Utf8 { err, .. } => {
                DataError::CsvRead { path: path.to_owned(), line, message: format!("invalid UTF-8: {err}") }
            }
            other => DataError::CsvRead { path: path.to_owned(), line, message: format!("{other:?}") },
        }
    };
    let mut rec = csv::ByteRecord::new();
    if !rdr.read_byte_record(&mut rec).map_err(read_err)? {
        return Err(DataError::CsvNoHeader { path: path.to_owned() });
    }
    // Cells are trimmed of ASCII whitespace as they are read: cheaper than
    // having the reader rebuild every record trimmed.
    let header: Vec<String> = rec.iter().map(|h| String::from_utf8_lossy(h.trim_ascii()).into_owned()).collect();
    let hits: Vec<usize> = (0..header.len()).filter(|&i| header[i] == label).collect();
    let label_col = match hits.len() {
        0 => return Err(DataError::CsvNoLabelColumn { path: path.to_owned(), label: label.into(), header }),
        1 => hits[0],
        count => return Err(DataError::CsvDuplicateLabelColumn { path: path.to_owned(), label: label.into(), count }),
    };
    let n_cols = header.len();
    let n_features = n_cols - 1;
    if n_features == 0 {
        return Err(DataError::CsvNoFeatures { path: path.to_owned(), label: label.into() });
    }
    let mut x: Vec<f32> = Vec::new();
    let mut raw_y: Vec<u32> = Vec::new();
    let mut label_ids: HashMap<String, u32> = HashMap::new();
    let mut labels: Vec<String> = Vec::new();
    while rdr.read_byte_record(&mut rec).map_err(read_err)? {
        let pos = rec.position().cloned();
        let line = || pos.as_ref().map_or(0, |p| record_line(path, p));
        if rec.len() != n_cols {
            return Err(DataError::CsvFieldCount {
                path: path.to_owned(),
                line: line(),
                expected: n_cols,
                found: rec.len(),
            });
        }
        for (col, cell) in rec.iter().enumerate() {
            let cell = cell.trim_ascii();
            if col == label_col {
                let text = std::str::from_utf8(cell).map_err(|e| DataError::CsvRead {
                    path: path.to_owned(),
                    line: Some(line()),
                    message: format!("column {} `{}`: invalid UTF-8: {e}", col + 1, header[col]),
                })?;
                if text.is_empty() {
                    return Err(DataError::CsvEmptyLabel {
                        path: path.to_owned(),
                        line: line(),
                        column: col + 1,
                        name: header[col].clone(),
                    });
                }
                let id = match label_ids.get(text) {
                    Some(&id) => id,
                    None => {
                        let id = labels.len() as u32;
                        labels.push(text.to_owned());
                        label_ids.insert(text.to_owned(), id);
                        id
                    }
                };
                raw_y.push(id);
            } else {
                // straight to the nearest f32 (one rounding, not via f64)
                let v = std::str::from_utf8(cell).ok().and_then(|s| s.parse::<f32>().ok());
                match v {
                    Some(v) if v.is_finite() => {
                        if keep_features {
                            x.push(v)
                        }
                    }
                    _ => return Err(not_a_feature(path, line(), col, &header[col], cell)),
                }
            }
        }
    }
    if raw_y.is_empty() {
        return Err(DataError::CsvNoRows { path: path.to_owned() });
    }
    let (class_names, remap) = order_classes(labels);
    let y = raw_y.iter().map(|&id| remap[id as usize]).collect();
    Ok(Raw { data: Dataset { x, y, n_features, n_classes: class_names.len() }, class_names })
}

/// The error for a feature cell that did not parse to a finite `f32`: out
/// of range if it is a finite `f64` (too large for `f32`), else not a
/// finite number. Only on the error path.
fn not_a_feature(path: &Path, line: u64, col: usize, name: &str, cell: &[u8]) -> DataError {
    let text = std::str::from_utf8(cell).ok();
    let (path, column, name, value) =
        (path.to_owned(), col + 1, name.to_owned(), String::from_utf8_lossy(cell).into_owned());
    if text.and_then(|s| s.parse::<f64>().ok()).is_some_and(|v| v.is_finite()) {
        DataError::CsvOutOfRange { path, line, column, name, value }
    } else {
        DataError::CsvNotNumeric { path, line, column, name, value }
    }
}

/// The 1-based line on which the record at `pos` starts. The csv crate's
/// record position is where the reader stood before the record, so blank
/// lines it skipped are counted here (only on the error path: this rereads
/// the file from that offset).
fn record_line(path: &Path, pos: &csv::Position) -> u64 {
    use std::io::{Read, Seek, SeekFrom};
    let mut line = pos.line();
    let Ok(mut f) = std::fs::File::open(path) else {
        return line;
    };
    if f.seek(SeekFrom::Start(pos.byte())).is_err() {
        return line;
    }
    let mut buf = [0u8; 4096];
    loop {
        let n = match f.read(&mut buf) {
            Ok(0) | Err(_) => return line,
            Ok(n) => n,
        };
        for &b in &buf[..n] {
            match b {
                b'\n' => line += 1,
                b'\r' => {}
                _ => return line,
            }
        }
    }
}

/// Sorts the label strings (numerically if all are numbers); returns them
/// and, per first-seen id, the class index.
fn order_classes(labels: Vec<String>) -> (Vec<String>, Vec<u32>) {
    let nums: Option<Vec<f64>> = labels.iter().map(|l| l.parse::<f64>().ok().filter(|v| !v.is_nan())).collect();
    let mut order: Vec<usize> = (0..labels.len()).collect();
    match nums {
        Some(nums) => order.sort_by(|&a, &b| nums[a].total_cmp(&nums[b]).then_with(|| labels[a].cmp(&labels[b]))),
        None => order.sort_by(|&a, &b| labels[a].cmp(&labels[b])),
    }
    let mut remap = vec![0u32; labels.len()];
    for (class, &id) in order.iter().enumerate() {
        remap[id] = class as u32;
    }
    let names = order.iter().map(|&id| labels[id].clone()).collect();
    (names, remap)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn write(text: &str) -> tempfile::NamedTempFile {
        let mut f = tempfile::NamedTempFile::new().unwrap();
        f.write_all(text.as_bytes()).unwrap();
        f
    }

    fn err(text: &str, label: &str) -> String {
        let f = write(text);
        let e = read_csv(f.path(), label).err().expect("an error");
        let s = e.to_string();
        assert!(s.contains(&f.path().display().to_string()), "message names the file: {s}");
        s
    }

    #[test]
    fn reads_features_and_orders_numeric_labels() {
        let f = write("a, y ,b\n1.5,10,2\n-3,2,4e1\n\n0,10,0\n5,9,1\n");
        let r = read_csv(f.path(), "y").unwrap();
        assert_eq!(r.class_names, vec!["2", "9", "10"]);
        assert_eq!(r.data.y, vec![2, 0, 2, 1]);
        assert_eq!(r.data.n_features, 2);
        assert_eq!(r.data.x, vec![1.5, 2.0, -3.0, 40.0, 0.0, 0.0, 5.0, 1.0]);
        assert_eq!(r.data.n_classes, 3);
        // one rounding, to the nearest f32: just above the midpoint 1 + 2^-24
        // (which is what f64 would round it to, and then f32 to 1.0)
        let f = write("a,y\n1.0000000596046448,0\n16777217,1\n");
        assert_eq!(read_csv(f.path(), "y").unwrap().data.x, vec![1.0 + f32::EPSILON, 16777216.0]);
    }

    #[test]
    fn text_labels_sort_lexicographically() {
        let f = write("x,kind\n1,dog\n2,cat\n3,10\n4,cat\n");
        let r = read_csv(f.path(), "kind").unwrap();
        assert_eq!(r.class_names, vec!["10", "cat", "dog"]);
        assert_eq!(r.data.y, vec![2, 1, 0, 1]);
    }

    #[test]
    fn non_numeric_cell_names_line_and_column() {
        let e = err("a,b,label\n1,2,0\n3,oops,1\n", "label");
        assert!(e.contains(":3: column 2 `b`: `oops`"), "{e}");
        let e = err("a,b,label\n1,2,0\n3,,1\n", "label");
        assert!(e.contains(":3: column 2 `b`: ``"), "{e}");
        let e = err("a,b,label\n\n1,2,0\r\n\r\n\n3,x,1\n", "label");
        assert!(e.contains(":6: column 2 `b`: `x`"), "{e}");
        let e = err("a,b,label\n1,NaN,0\n", "label");
        assert!(e.contains(":2: column 2 `b`"), "{e}");
        let e = err("a,b,label\n1,2,0\n-1e39,0,1\n", "label");
        assert!(e.contains(":3: column 1 `a`: `-1e39` is beyond the range"), "{e}");
        let e = err("a,b,label\n1,inf,0\n", "label");
        assert!(e.contains(":2: column 2 `b`: `inf` is not a finite number"), "{e}");
    }

    #[test]
    fn field_count_names_line() {
        let e = err("a,b,label\n1,2,0\n\n3,1\n", "label");
        assert!(e.contains(":4: expected 3 fields (as in the header), found 2"), "{e}");
    }

    #[test]
    fn missing_label_column_names_key_and_header() {
        let e = err("a,b,target\n1,2,0\n", "label");
        assert!(e.starts_with("data.csv.label_column: `label`"), "{e}");
        assert!(e.contains("`a`, `b`, `target`"), "{e}");
    }

    #[test]
    fn empty_and_header_only_files() {
        let e = err("", "label");
        assert!(e.starts_with("data.csv.path:"), "{e}");
        let e = err("a,label\n", "label");
        assert!(e.starts_with("data.csv.path:") && e.contains("no data rows"), "{e}");
        let e = err("label\n1\n", "label");
        assert!(e.contains("no feature column"), "{e}");
        let e = err("a,label\n1,\n", "label");
        assert!(e.contains(":2: column 2 `label`: the label is empty"), "{e}");
    }
}
