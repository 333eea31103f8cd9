//! Checkpoints: everything pending in a run, saved atomically into its run
//! folder, and read back by `fedsim resume`.
//!
//! A checkpoint holds the kernel's queue and links, the server's state and
//! its strategy's, the recorder, the training jobs in flight (as their
//! descriptions: a resumed run recomputes them, with the same numbers),
//! how many bytes of `events.jsonl`, `audit.jsonl`, `trace.json` and
//! `rounds.csv` belong to it, and the small states of the sinks that write
//! the rest (the audit trail's tally, the trace's open spans, the
//! per-client table and the open round's tally). It is binary (postcard,
//! exact for every `f64`), framed by a magic number, a format version and
//! the SHA-256 of its body, and it names the scenario it belongs to by the
//! SHA-256 of the folder's `scenario.yaml`. A torn, edited or foreign file
//! is refused with a message that says which.

use crate::actors::server::ServerState;
use crate::actors::{KernelState, TrainJob};
use crate::audit::Tally;
use crate::metrics::Recorder;
use crate::net::NetState;
use crate::report::{ClientsTable, RoundsTable, TraceState};
use crate::sim::TaskTag;
use crate::strategy::AnyStrategy;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// The checkpoint's file name in a run folder.
pub const FILE: &str = "checkpoint.bin";
/// The effective scenario's file name in a run folder.
pub const SCENARIO_FILE: &str = "scenario.yaml";

const MAGIC: &[u8; 8] = b"FEDSIMCK";
const FORMAT: u32 = 9;

#[derive(Debug, thiserror::Error)]
pub enum CheckpointError {
    #[error("cannot read {path}: {source}")]
    Read { path: PathBuf, source: std::io::Error },
    #[error("cannot write {path}: {source}")]
    Write { path: PathBuf, source: std::io::Error },
    #[error("{path} is not a fedsim checkpoint (it does not start with the checkpoint header)")]
    NotACheckpoint { path: PathBuf },
    #[error("{path} was written by checkpoint format {found}; this fedsim reads format {FORMAT}")]
    Format { path: PathBuf, found: u32 },
    #[error("{path} is corrupted: its content does not match its SHA-256 (a torn or edited file)")]
    Corrupt { path: PathBuf },
    #[error("{path} cannot be decoded: {why}")]
    Decode { path: PathBuf, why: String },
    #[error(
        "{path} belongs to another scenario: it was written for a scenario whose SHA-256 is {expected}, but {scenario} \
         has {found}"
    )]
    OtherScenario { path: PathBuf, scenario: PathBuf, expected: String, found: String },
}

/// A run's whole pending state.
#[derive(Serialize, Deserialize)]
pub struct Checkpoint {
    /// SHA-256 of the effective scenario text (`scenario.yaml`).
    pub scenario_sha256: [u8; 32],
    /// The original scenario file: relative data paths resolve from its folder.
    pub source: PathBuf,
    pub kernel: KernelState,
    pub net: NetState,
    pub server: ServerState,
    pub strategy: AnyStrategy,
    pub recorder: Recorder,
    pub jobs: Vec<(TaskTag, TrainJob)>,
    /// Bytes of `events.jsonl` written when the checkpoint was taken.
    pub events_len: u64,
    /// The audit trail's tally, and the bytes of `audit.jsonl` written.
    pub audit: Tally,
    pub audit_len: u64,
    /// The trace's open spans and counters, and the bytes of `trace.json`
    /// written.
    pub trace: TraceState,
    pub trace_len: u64,
    pub clients: ClientsTable,
    /// The open round's tally, and the bytes of `rounds.csv` written.
    pub rounds: RoundsTable,
    pub rounds_len: u64,
}

/// The same fields, borrowed, for writing without copying the state.
#[derive(Serialize)]
pub struct CheckpointRef<'a> {
    pub scenario_sha256: [u8; 32],
    pub source: &'a Path,
    pub kernel: &'a KernelState,
    pub net: &'a NetState,
    pub server: &'a ServerState,
    pub strategy: &'a AnyStrategy,
    pub recorder: &'a Recorder,
    pub jobs: &'a [(TaskTag, TrainJob)],
    pub events_len: u64,
    pub audit: &'a Tally,
    pub audit_len: u64,
    pub trace: &'a TraceState,
    pub trace_len: u64,
    pub clients: &'a ClientsTable,
    pub rounds: &'a RoundsTable,
    pub rounds_len: u64,
}

/// Models shared by many messages are written once.
///
/// A model travels as an `Arc<Vec<f64>>`: every task in flight holds the
/// version it started from, so a checkpoint would otherwise hold the same
/// parameters once per message and job (hundreds of megabytes for a large
/// model and a busy round). Fields marked `#[serde(with =
/// "crate::checkpoint::shared_model")]` write an index into a table of
/// distinct models while a checkpoint is being written, and the table is
/// written once beside the body; elsewhere they write the vector itself.
pub mod shared_model {
    use serde::{Deserialize, Deserializer, Serialize, Serializer};
    use std::cell::RefCell;
    use std::collections::HashMap;
    use std::sync::Arc;

    type Model = Arc<Vec<f64>>;

    #[derive(Default)]
    pub(super) struct Table {
        index: HashMap<*const Vec<f64>, u32>,
        pub(super) models: Vec<Model>,
    }

    thread_local! {
        pub(super) static WRITING: RefCell<Option<Table>> = const { RefCell::new(None) };
        pub(super) static READING: RefCell<Option<Vec<Model>>> = const { RefCell::new(None) };
    }

    #[derive(Serialize, Deserialize)]
    enum Wire<'a> {
        /// An index into the checkpoint's table of models.
        Shared(u32),
        /// The parameters themselves.
        Inline(std::borrow::Cow<'a, [f64]>),
    }

    pub fn serialize<S: Serializer>(m: &Model, s: S) -> Result<S::Ok, S::Error> {
        let shared = WRITING.with(|w| {
            w.borrow_mut().as_mut().map(|t| {
                let next = t.models.len() as u32;
                *t.index.entry(Arc::as_ptr(m)).or_insert_with(|| {
                    t.models.push(m.clone());
                    next
                })
            })
        });
        match shared {
            Some(i) => Wire::Shared(i).serialize(s),
            None => Wire::Inline(std::borrow::Cow::Borrowed(m.as_slice())).serialize(s),
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Model, D::Error> {
        match Wire::deserialize(d)? {
            Wire::Inline(v) => Ok(Arc::new(v.into_owned())),
            Wire::Shared(i) => READING
                .with(|r| r.borrow().as_ref().and_then(|t| t.get(i as usize).cloned()))
                .ok_or_else(|| serde::de::Error::custom(format!("model {i} is not in the checkpoint's table"))),
        }
    }
}

/// SHA-256 of a scenario's effective text.
pub fn scenario_sha256(text: &str) -> [u8; 32] {
    Sha256::digest(text.as_bytes()).into()
}

/// Writes a checkpoint into `dir`, atomically: a reader sees the old file
/// or the new one, never half of one.
pub fn write(dir: &Path, ck: &CheckpointRef<'_>) -> Result<(), CheckpointError> {
    let path = dir.join(FILE);
    let err = |source| CheckpointError::Write { path: path.clone(), source };
    shared_model::WRITING.with(|w| *w.borrow_mut() = Some(Default::default()));
    let state = postcard::to_stdvec(ck);
    let table = shared_model::WRITING.with(|w| w.borrow_mut().take()).unwrap_or_default();
    let state = state.map_err(|e| err(std::io::Error::other(e)))?;
    // The distinct models first, then the state that refers to them.
    let models: Vec<&[f64]> = table.models.iter().map(|m| m.as_slice()).collect();
    let body = postcard::to_stdvec(&(models, state)).map_err(|e| err(std::io::Error::other(e)))?;
    let mut bytes = Vec::with_capacity(body.len() + 44);
    bytes.extend_from_slice(MAGIC);
    bytes.extend_from_slice(&FORMAT.to_le_bytes());
    bytes.extend_from_slice(&Sha256::digest(&body));
    bytes.extend_from_slice(&body);
    let tmp = dir.join(format!("{FILE}.tmp"));
    std::fs::write(&tmp, &bytes).map_err(err)?;
    std::fs::rename(&tmp, &path).map_err(err)
}

/// Reads and checks the checkpoint of run folder `dir` against the
/// folder's `scenario.yaml`; returns it with that scenario text.
pub fn read(dir: &Path) -> Result<(Checkpoint, String), CheckpointError> {
    let path = dir.join(FILE);
    let bytes = std::fs::read(&path).map_err(|source| CheckpointError::Read { path: path.clone(), source })?;
    if bytes.len() < 44 || &bytes[..8] != MAGIC {
        return Err(CheckpointError::NotACheckpoint { path });
    }
    let found = u32::from_le_bytes(bytes[8..12].try_into().expect("4 bytes"));
    if found != FORMAT {
        return Err(CheckpointError::Format { path, found });
    }
    let body = &bytes[44..];
    if Sha256::digest(body).as_slice() != &bytes[12..44] {
        return Err(CheckpointError::Corrupt { path });
    }
    let decode = |e: postcard::Error| CheckpointError::Decode { path: path.clone(), why: e.to_string() };
    let (models, state): (Vec<Vec<f64>>, Vec<u8>) = postcard::from_bytes(body).map_err(decode)?;
    shared_model::READING.with(|r| *r.borrow_mut() = Some(models.into_iter().map(Arc::new).collect()));
    let ck = postcard::from_bytes::<Checkpoint>(&state);
    shared_model::READING.with(|r| *r.borrow_mut() = None);
    let ck = ck.map_err(decode)?;
    let scenario = dir.join(SCENARIO_FILE);
    let text = std::fs::read_to_string(&scenario)
        .map_err(|source| CheckpointError::Read { path: scenario.clone(), source })?;
    let sha = scenario_sha256(&text);
    if sha != ck.scenario_sha256 {
        return Err(CheckpointError::OtherScenario {
            path,
            scenario,
            expected: hex::encode(ck.scenario_sha256),
            found: hex::encode(sha),
        });
    }
    Ok((ck, text))
}

#[cfg(test)]
mod tests {
    use super::shared_model;
    use serde::{Deserialize, Serialize};
    use std::sync::Arc;

    #[derive(Serialize, Deserialize)]
    struct Msg(#[serde(with = "shared_model")] Arc<Vec<f64>>);

    #[test]
    fn a_model_shared_by_many_messages_is_written_once_and_shared_again() {
        let model = Arc::new(vec![0.5; 10_000]);
        let msgs: Vec<Msg> = (0..50).map(|_| Msg(model.clone())).collect();
        // Outside a checkpoint every message carries its parameters.
        assert!(postcard::to_stdvec(&msgs).unwrap().len() > 50 * 80_000);
        // Inside one, an index each and one table entry.
        shared_model::WRITING.with(|w| *w.borrow_mut() = Some(Default::default()));
        let body = postcard::to_stdvec(&msgs).unwrap();
        let table = shared_model::WRITING.with(|w| w.borrow_mut().take()).unwrap();
        assert_eq!(table.models.len(), 1);
        assert!(body.len() < 200, "{} bytes", body.len());
        shared_model::READING.with(|r| *r.borrow_mut() = Some(table.models.clone()));
        let back: Vec<Msg> = postcard::from_bytes(&body).unwrap();
        shared_model::READING.with(|r| *r.borrow_mut() = None);
        assert_eq!(back.len(), 50);
        assert!(back.iter().all(|m| Arc::ptr_eq(&m.0, &back[0].0) && *m.0 == *model));
        // An index with no table is an error, not a panic.
        assert!(postcard::from_bytes::<Vec<Msg>>(&body).is_err());
    }
}
