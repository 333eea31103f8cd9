//! The compliance log of a run, `audit.jsonl`: one JSON record per model version, chained by SHA-256 so that any
//! edit, deletion or reordering of a written record shows, and its verifier.
//!
//! A line is the compact serde_json serialisation of an [`AuditRecord`], fields in declaration order, and a `\n`.
//! Hashes are lowercase hex SHA-256:
//!
//! - `model_sha256`: of the model parameters as little-endian f64 bytes ([`model_sha256`]);
//! - `prev_sha256`: the previous record's `sha256`, 64 zeros for the first record;
//! - `sha256`: of the record's canonical form, its serialisation without the `sha256` member, which is the last
//!   one: the line with `,"sha256":"…"` cut out. It covers `prev_sha256`, so each record seals the ones before it.
//!
//! Floats (`t`, numbers in `privacy`) are written as serde_json writes them, the shortest digits that read back
//! exactly; a non-finite `t` is written as `null` (a `serde_json::Value` cannot hold a non-finite number at all).
//! The verifier does not count on serde_json reading them back exactly: without its `float_roundtrip` feature it
//! reads some 16-17 digit floats one ulp off.
//! Objects inside `privacy` are written with their keys sorted, whatever serde_json's `preserve_order` feature.
//!
//! [`verify`] rejects a line that is not byte-identical to the serialisation of the record it parses to, so there
//! is exactly one valid line per record and changing any byte of a log is caught at its line. What the chain alone
//! cannot show is the loss of records at the end, or a log rewritten with fresh hashes: for that, `verify` checks
//! the last record against the final model and every record against the scenario, when given their hashes.

pub mod trail;

pub use trail::{AuditTrail, Tally};

use std::collections::BTreeMap;
use std::io::{self, Write};

use serde::{Deserialize, Deserializer, Serialize};
use sha2::{Digest, Sha256};

/// One line of the log: what happened in one round, and its place in the chain.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AuditRecord {
    /// 0-based line number.
    pub index: u64,
    /// The model version this round produced; strictly increasing along the log.
    pub round: u64,
    /// Virtual time in seconds (`null` if not finite).
    #[serde(deserialize_with = "nan_if_null")]
    pub t: f64,
    /// The clients that took part.
    pub participants: Vec<u32>,
    /// Bytes sent by clients this round.
    pub bytes_up: u64,
    /// Bytes sent to clients this round.
    pub bytes_down: u64,
    /// Per client, the types of the messages that left it this round, e.g. `["update"]`.
    pub messages: BTreeMap<u32, Vec<String>>,
    /// The privacy parameters and state: epsilon so far or null, secure aggregation, survivors or null, ...
    pub privacy: serde_json::Value,
    /// SHA-256 of the model after this round (see [`model_sha256`]).
    pub model_sha256: String,
    /// SHA-256 of the scenario the run follows.
    pub scenario_sha256: String,
    /// SHA-256 of the previous line's bytes; 64 zeros for the first record.
    pub prev_sha256: String,
    /// SHA-256 of this record's canonical form (the line without this member). Never empty in a log.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub sha256: String,
}

/// What the caller records about a round: an [`AuditRecord`] without `index`, `prev_sha256` and `sha256`.
#[derive(Debug, Clone, PartialEq)]
pub struct AuditRecordInput {
    pub round: u64,
    pub t: f64,
    pub participants: Vec<u32>,
    pub bytes_up: u64,
    pub bytes_down: u64,
    pub messages: BTreeMap<u32, Vec<String>>,
    pub privacy: serde_json::Value,
    pub model_sha256: String,
    pub scenario_sha256: String,
}

/// Why a log does not verify; every variant names the 1-based line of the first bad record.
#[derive(Debug, thiserror::Error)]
pub enum AuditError {
    #[error("audit line {line}: not a record: {reason}")]
    Malformed { line: usize, reason: String },
    #[error("audit line {line}: not in canonical form (it differs from the serialisation of its record)")]
    NotCanonical { line: usize },
    #[error("audit line {line}: sha256 does not match the record's content")]
    Hash { line: usize },
    #[error("audit line {line}: index {found}, expected {expected}")]
    Index { line: usize, found: u64, expected: u64 },
    #[error("audit line {line}: prev_sha256 is not the sha256 of the record before")]
    Chain { line: usize },
    #[error("audit line {line}: round {round} does not follow round {previous}")]
    Round { line: usize, round: u64, previous: u64 },
    #[error("audit line {line}: scenario_sha256 {found} is not the scenario's")]
    Scenario { line: usize, found: String },
    #[error("audit line {line}: model_sha256 {found} is not the final model's")]
    FinalModel { line: usize, found: String },
}

impl AuditError {
    /// The 1-based line of the first bad record.
    pub fn line(&self) -> usize {
        match self {
            AuditError::Malformed { line, .. }
            | AuditError::NotCanonical { line }
            | AuditError::Hash { line }
            | AuditError::Index { line, .. }
            | AuditError::Chain { line }
            | AuditError::Round { line, .. }
            | AuditError::Scenario { line, .. }
            | AuditError::FinalModel { line, .. } => *line,
        }
    }
}

/// Lowercase hex SHA-256 of `bytes` (e.g. of a scenario file, for `scenario_sha256`).
pub fn sha256_hex(bytes: &[u8]) -> String {
    hex(&Sha256::digest(bytes))
}

/// SHA-256 of the parameters as little-endian f64 bytes.
pub fn model_digest(params: &[f64]) -> [u8; 32] {
    let mut hasher = Sha256::new();
    // Whole blocks at a time: one `update` per parameter costs more than
    // the compression itself on small models (hashed at every version).
    let mut block = [0u8; 512];
    for chunk in params.chunks(block.len() / 8) {
        for (b, p) in block.chunks_exact_mut(8).zip(chunk) {
            b.copy_from_slice(&p.to_le_bytes());
        }
        hasher.update(&block[..chunk.len() * 8]);
    }
    hasher.finalize().into()
}

/// Lowercase hex SHA-256 of the parameters as little-endian f64 bytes.
///
/// ```
/// use fedsim::audit::{model_sha256, sha256_hex};
/// assert_eq!(model_sha256(&[1.0]), sha256_hex(&1.0f64.to_le_bytes()));
/// ```
pub fn model_sha256(params: &[f64]) -> String {
    hex(&model_digest(params))
}

fn hex(digest: &[u8]) -> String {
    hex::encode(digest)
}

/// Writes records to an `audit.jsonl`, one line each, chaining their hashes.
pub struct AuditLog<W: Write> {
    out: W,
    /// The last record's `sha256`, the next record's `prev_sha256`.
    prev: String,
    /// Records in the log so far, the next record's `index`.
    count: u64,
}

impl<W: Write> AuditLog<W> {
    /// Starts a new log.
    ///
    /// ```
    /// use fedsim::audit::{model_sha256, verify, AuditLog, AuditRecordInput};
    /// let mut log = AuditLog::new(Vec::new());
    /// let scenario = fedsim::audit::sha256_hex(b"rounds: 1");
    /// log.append(AuditRecordInput {
    ///     round: 1, t: 12.5, participants: vec![3, 7], bytes_up: 800, bytes_down: 800,
    ///     messages: [(3, vec!["update".into()]), (7, vec!["update".into()])].into(),
    ///     privacy: serde_json::json!({ "epsilon": null, "secure_aggregation": false }),
    ///     model_sha256: model_sha256(&[0.5, -1.0]), scenario_sha256: scenario.clone(),
    /// })?;
    /// let text = String::from_utf8(log.finish()?).unwrap();
    /// assert_eq!(verify(&text, Some(&scenario), Some(&model_sha256(&[0.5, -1.0]))).unwrap(), 1);
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn new(out: W) -> Self {
        AuditLog { out, prev: "0".repeat(64), count: 0 }
    }

    /// Continues a log of `count` records whose last line (without its newline) is `last_line`, `None` for an
    /// empty log; `out` appends after it. The last line is checked on its own (form, hash, index); run [`verify`]
    /// on the whole file to check the rest.
    pub fn resume(out: W, last_line: Option<&str>, count: u64) -> Result<Self, AuditError> {
        let Some(line) = last_line else {
            if count == 0 {
                return Ok(AuditLog::new(out));
            }
            return Err(AuditError::Malformed { line: count as usize, reason: "no last line to resume from".into() });
        };
        let record = check_line(line, count.max(1) as usize)?;
        if record.index.checked_add(1) != Some(count) {
            let expected = count.saturating_sub(1);
            return Err(AuditError::Index { line: count.max(1) as usize, found: record.index, expected });
        }
        Ok(AuditLog { out, prev: record.sha256, count })
    }

    /// Appends the record of one round.
    pub fn append(&mut self, input: AuditRecordInput) -> io::Result<()> {
        let AuditRecordInput {
            round,
            t,
            participants,
            bytes_up,
            bytes_down,
            messages,
            mut privacy,
            model_sha256,
            scenario_sha256,
        } = input;
        // Sorted keys read back in the same order with or without serde_json's `preserve_order`.
        privacy.sort_all_objects();
        let record = AuditRecord {
            index: self.count,
            round,
            t,
            participants,
            bytes_up,
            bytes_down,
            messages,
            privacy,
            model_sha256,
            scenario_sha256,
            prev_sha256: std::mem::take(&mut self.prev),
            sha256: String::new(),
        };
        // The canonical form is the line without its last member, `sha256`
        // (skipped while empty): serialise once, hash, and append it.
        let mut line = serde_json::to_string(&record)?;
        let sha256 = sha256_hex(line.as_bytes());
        line.truncate(line.len() - 1);
        line.push_str(",\"sha256\":\"");
        line.push_str(&sha256);
        line.push_str("\"}");
        debug_assert_eq!(
            line,
            serde_json::to_string(&AuditRecord { sha256: sha256.clone(), ..record }).unwrap_or_default()
        );
        self.out.write_all(line.as_bytes())?;
        self.out.write_all(b"\n")?;
        self.prev = sha256;
        self.count += 1;
        Ok(())
    }

    /// Writes out what is buffered (before a checkpoint).
    pub fn flush(&mut self) -> io::Result<()> {
        self.out.flush()
    }

    /// Flushes and returns the writer.
    pub fn finish(mut self) -> io::Result<W> {
        self.out.flush()?;
        Ok(self.out)
    }
}

/// Checks a whole log, line by line: each line is the canonical serialisation of its record, its `sha256` matches,
/// its `index` is its line number - 1, its `prev_sha256` is the `sha256` of the record before, and its round is above the
/// previous one. With `scenario_sha256`, every record must carry it; with `final_model_sha256`, the last record
/// must (an empty log then fails at line 1). Returns the number of records, or the first bad one.
///
/// ```
/// use fedsim::audit::{verify, AuditError};
/// assert_eq!(verify("", None, None).unwrap(), 0);
/// assert!(matches!(verify("{}\n", None, None), Err(AuditError::Malformed { line: 1, .. })));
/// ```
pub fn verify(
    text: &str,
    scenario_sha256: Option<&str>,
    final_model_sha256: Option<&str>,
) -> Result<usize, AuditError> {
    let mut prev = "0".repeat(64);
    let mut last: Option<AuditRecord> = None;
    let mut count = 0;
    for (i, line) in text.split_terminator('\n').enumerate() {
        let n = i + 1;
        let record = check_line(line, n)?;
        if record.index != i as u64 {
            return Err(AuditError::Index { line: n, found: record.index, expected: i as u64 });
        }
        if record.prev_sha256 != prev {
            return Err(AuditError::Chain { line: n });
        }
        if let Some(previous) = last.as_ref().map(|r| r.round).filter(|&p| record.round <= p) {
            return Err(AuditError::Round { line: n, round: record.round, previous });
        }
        if scenario_sha256.is_some_and(|s| s != record.scenario_sha256) {
            return Err(AuditError::Scenario { line: n, found: record.scenario_sha256 });
        }
        prev = record.sha256.clone();
        last = Some(record);
        count = n;
    }
    match (final_model_sha256, last) {
        (Some(_), None) => Err(AuditError::Malformed { line: 1, reason: "empty log, no final model".into() }),
        (Some(expected), Some(r)) if r.model_sha256 != expected => {
            Err(AuditError::FinalModel { line: count, found: r.model_sha256 })
        }
        _ => Ok(count),
    }
}

/// Parses line `n` and checks what it can alone: canonical form and own hash.
fn check_line(line: &str, n: usize) -> Result<AuditRecord, AuditError> {
    let malformed = |e: serde_json::Error| AuditError::Malformed { line: n, reason: e.to_string() };
    let record: AuditRecord = serde_json::from_str(line).map_err(malformed)?;
    let canonical = serde_json::to_string(&record).map_err(malformed)?;
    let tail = format!(",\"sha256\":\"{}\"}}", record.sha256);
    let body = match line.strip_suffix(&tail) {
        Some(body) if same_serialisation(line, &canonical) => body,
        _ => return Err(AuditError::NotCanonical { line: n }),
    };
    // The hash of the line's own bytes: the canonical form once the line is known to be canonical, and unlike a
    // re-serialisation it does not depend on how exactly floats were read back.
    if sha256_hex(format!("{body}}}").as_bytes()) != record.sha256 {
        return Err(AuditError::Hash { line: n });
    }
    Ok(record)
}

/// Whether `line` is `canonical`, the serialisation of the record parsed from it. Without its `float_roundtrip`
/// feature, serde_json reads some 16-17 digit floats one ulp off, so the re-serialisation of a genuine line may
/// print other digits there: a number that differs is accepted if it is the shortest form of its exact value,
/// which is what the writer printed.
fn same_serialisation(line: &str, canonical: &str) -> bool {
    let is_number = |tok: &str| tok.starts_with(|c: char| c == '-' || c.is_ascii_digit());
    let is_shortest = |tok: &str| tok.parse::<f64>().is_ok_and(|x| serde_json::to_string(&x).is_ok_and(|s| s == tok));
    line == canonical || {
        let (a, b) = (json_tokens(line), json_tokens(canonical));
        a.len() == b.len()
            && a.iter().zip(&b).all(|(&x, &y)| x == y || (is_number(x) && is_number(y) && is_shortest(x)))
    }
}

/// Splits valid JSON into strings, numbers and single other bytes, enough to compare two serialisations.
fn json_tokens(s: &str) -> Vec<&str> {
    let b = s.as_bytes();
    let (mut tokens, mut i) = (Vec::new(), 0);
    while i < b.len() {
        let start = i;
        i += 1;
        match b[start] {
            b'"' => {
                while i < b.len() && b[i] != b'"' {
                    i += if b[i] == b'\\' { 2 } else { 1 };
                }
                i = (i + 1).min(b.len());
            }
            b'-' | b'0'..=b'9' => {
                while i < b.len() && matches!(b[i], b'0'..=b'9' | b'.' | b'e' | b'E' | b'+' | b'-') {
                    i += 1;
                }
            }
            _ => {}
        }
        tokens.push(&s[start..i]);
    }
    tokens
}

/// `t` is written as `null` when not finite; it reads back as NaN.
fn nan_if_null<'de, D: Deserializer<'de>>(d: D) -> Result<f64, D::Error> {
    Ok(Option::<f64>::deserialize(d)?.unwrap_or(f64::NAN))
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::{RngExt, SeedableRng};
    use serde_json::json;

    #[test]
    fn the_model_digest_is_the_sha256_of_the_concatenated_little_endian_bytes() {
        // Sizes around the 64-parameter staging block: empty, partial, exact, several.
        for n in [0usize, 1, 15, 63, 64, 65, 200] {
            let params: Vec<f64> = (0..n).map(|i| i as f64 * -0.37 + 1.0e-3).collect();
            let bytes: Vec<u8> = params.iter().flat_map(|p| p.to_le_bytes()).collect();
            assert_eq!(model_sha256(&params), sha256_hex(&bytes), "{n} parameters");
        }
    }

    fn scenario() -> String {
        sha256_hex(b"scenario")
    }

    fn model(round: u64) -> String {
        model_sha256(&[round as f64, 0.5])
    }

    fn input(round: u64, t: f64, epsilon: f64) -> AuditRecordInput {
        AuditRecordInput {
            round,
            t,
            participants: vec![2, 10],
            bytes_up: 1000 * round,
            bytes_down: 2000,
            messages: [(2, vec!["update".into()]), (10, vec!["advertise_keys".into(), "share_keys".into()])].into(),
            privacy: json!({ "secure_aggregation": true, "epsilon": epsilon, "survivors": null, "delta": 1e-5 }),
            model_sha256: model(round),
            scenario_sha256: scenario(),
        }
    }

    /// A log of the given rounds, with `t` and epsilon that do not print in few digits.
    fn log(rounds: &[u64]) -> String {
        let mut log = AuditLog::new(Vec::new());
        for &r in rounds {
            log.append(input(r, 0.1 * r as f64 + 0.2, 0.7 + 0.1 * r as f64)).unwrap();
        }
        String::from_utf8(log.finish().unwrap()).unwrap()
    }

    /// The line `verify` names, with the scenario checked and the final model given.
    fn fails_at(lines: &[&str], final_model: Option<&str>) -> usize {
        let text: String = lines.iter().map(|l| format!("{l}\n")).collect();
        verify(&text, Some(&scenario()), final_model).expect_err("the log verified").line()
    }

    #[test]
    fn fresh_chain_verifies() {
        let text = log(&[0, 1, 2, 3, 4]);
        assert_eq!(verify(&text, Some(&scenario()), Some(&model(4))).unwrap(), 5);
        let first = text.lines().next().unwrap();
        assert!(first.starts_with(r#"{"index":0,"round":0,"t":0.2,"participants":[2,10],"bytes_up":0,"bytes_down"#));
        assert_eq!(serde_json::from_str::<AuditRecord>(first).unwrap().prev_sha256, "0".repeat(64));
        assert!(matches!(verify(&text, Some("0"), None), Err(AuditError::Scenario { line: 1, .. })));
    }

    #[test]
    fn every_changed_byte_is_caught_at_its_line() {
        let text = log(&[0, 1, 2]);
        for (pos, &byte) in text.as_bytes().iter().enumerate() {
            // A digit keeps most numbers valid JSON; a letter breaks most structure: try both.
            for replacement in [b'0', b'x'] {
                let mut bytes = text.clone().into_bytes();
                bytes[pos] = if byte == replacement { replacement + 1 } else { replacement };
                let line = 1 + text[..pos].matches('\n').count();
                let err = verify(std::str::from_utf8(&bytes).unwrap(), Some(&scenario()), Some(&model(2)));
                assert_eq!(err.expect_err("the log verified").line(), line, "byte {pos}");
            }
        }
    }

    #[test]
    fn removed_reordered_or_replaced_records_are_caught_at_the_right_line() {
        let text = log(&[0, 1, 2, 3, 4]);
        let l: Vec<&str> = text.lines().collect();
        assert_eq!(fails_at(&[l[0], l[2], l[3], l[4]], None), 2); // the record after the gap
        assert_eq!(fails_at(&l[1..], None), 1);
        assert_eq!(fails_at(&[l[0], l[1], l[3], l[2], l[4]], None), 3); // the first of the swapped pair
        assert_eq!(fails_at(&l, Some(&model(3))), 5); // wrong final model: the last record
                                                      // A lost tail leaves a valid chain: only the final model shows it.
        assert_eq!(verify(&text[..text.len() - l[4].len() - 1], None, None).unwrap(), 4);
        assert_eq!(fails_at(&l[..4], Some(&model(4))), 4);
        assert_eq!(fails_at(&[], Some(&model(4))), 1);
        assert!(matches!(verify(&log(&[0, 2, 2]), None, None), Err(AuditError::Round { line: 3, round: 2, .. })));
    }

    #[test]
    fn resume_continues_the_chain() {
        let file = tempfile::NamedTempFile::new().unwrap();
        let mut log = AuditLog::new(io::BufWriter::new(file.reopen().unwrap()));
        (0..3).for_each(|r| log.append(input(r, r as f64, 0.5)).unwrap());
        log.finish().unwrap();

        let text = std::fs::read_to_string(file.path()).unwrap();
        let (last, count) = (text.lines().last(), text.lines().count() as u64);
        assert!(matches!(AuditLog::resume(Vec::new(), last, 2), Err(AuditError::Index { line: 2, found: 2, .. })));
        let append = std::fs::OpenOptions::new().append(true).open(file.path()).unwrap();
        let mut log = AuditLog::resume(append, last, count).unwrap();
        (3..5).for_each(|r| log.append(input(r, r as f64, 0.5)).unwrap());
        log.finish().unwrap();

        let text = std::fs::read_to_string(file.path()).unwrap();
        assert_eq!(verify(&text, Some(&scenario()), Some(&model(4))).unwrap(), 5);
        assert!(AuditLog::resume(Vec::new(), None, 0).is_ok());
    }

    #[test]
    fn any_float_reads_back_and_verifies() {
        // Floats of every magnitude and digit count: a re-serialisation that trusted serde_json's default float
        // parsing would reject a good share of these genuine lines.
        let mut rng = rand_pcg::Pcg64Mcg::seed_from_u64(5);
        let mut log = AuditLog::new(Vec::new());
        for round in 0..400 {
            let [t, epsilon] = [(); 2].map(|_| f64::from_bits(rng.random::<u64>()));
            let t = match round {
                0 => f64::INFINITY,
                1 => f64::NAN,
                _ => t,
            };
            log.append(input(round, t, epsilon)).unwrap();
        }
        let text = String::from_utf8(log.finish().unwrap()).unwrap();
        assert!(text.lines().take(2).all(|l| l.contains(r#""t":null"#)));
        assert_eq!(verify(&text, Some(&scenario()), Some(&model(399))).unwrap(), 400);
    }
}

/// Why a run folder's audit does not verify.
#[derive(Debug, thiserror::Error)]
pub enum VerifyError {
    #[error("cannot read {path}: {source}")]
    Read { path: std::path::PathBuf, source: io::Error },
    #[error("{path}: {why}")]
    Model { path: std::path::PathBuf, why: String },
    #[error("{path}: {source}")]
    Audit { path: std::path::PathBuf, source: AuditError },
}

/// Verifies the audit of run folder `dir`: `audit.jsonl`'s chain, every
/// record against the folder's `scenario.yaml`, and the last record
/// against the final model in `model.json`. Returns the number of records.
pub fn verify_dir(dir: &std::path::Path) -> Result<usize, VerifyError> {
    let read = |name: &str| {
        let path = dir.join(name);
        std::fs::read_to_string(&path).map_err(|source| VerifyError::Read { path, source })
    };
    let log = read("audit.jsonl")?;
    let scenario = sha256_hex(read("scenario.yaml")?.as_bytes());
    let model_path = dir.join("model.json");
    #[derive(Deserialize)]
    struct Saved {
        parameters: Vec<f64>,
    }
    let model: Saved = serde_json::from_str(&read("model.json")?)
        .map_err(|e| VerifyError::Model { path: model_path.clone(), why: e.to_string() })?;
    verify(&log, Some(&scenario), Some(&model_sha256(&model.parameters)))
        .map_err(|source| VerifyError::Audit { path: dir.join("audit.jsonl"), source })
}
