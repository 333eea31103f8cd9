//! Checkpoints: everything pending in a run, saved atomically into its run
//! folder, and read back by `fedsim resume`.
//!
//! A checkpoint holds the kernel's queue and links, the server's state and
//! its strategy's, the recorder, the training jobs in flight (as their
//! descriptions: a resumed run recomputes them, with the same numbers) and
//! how many bytes of `events.jsonl` belong to it. It is binary (postcard,
//! exact for every `f64`), framed by a magic number, a format version and
//! the SHA-256 of its body, and it names the scenario it belongs to by the
//! SHA-256 of the folder's `scenario.yaml`. A torn, edited or foreign file
//! is refused with a message that says which.

use crate::actors::server::ServerState;
use crate::actors::{KernelState, TrainJob};
use crate::metrics::Recorder;
use crate::sim::TaskTag;
use crate::strategy::AnyStrategy;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};

/// The checkpoint's file name in a run folder.
pub const FILE: &str = "checkpoint.bin";
/// The effective scenario's file name in a run folder.
pub const SCENARIO_FILE: &str = "scenario.yaml";

const MAGIC: &[u8; 8] = b"FEDSIMCK";
const FORMAT: u32 = 1;

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
    pub server: ServerState,
    pub strategy: AnyStrategy,
    pub recorder: Recorder,
    pub jobs: Vec<(TaskTag, TrainJob)>,
    /// Bytes of `events.jsonl` written when the checkpoint was taken.
    pub events_len: u64,
}

/// The same fields, borrowed, for writing without copying the state.
#[derive(Serialize)]
pub struct CheckpointRef<'a> {
    pub scenario_sha256: [u8; 32],
    pub source: &'a Path,
    pub kernel: &'a KernelState,
    pub server: &'a ServerState,
    pub strategy: &'a AnyStrategy,
    pub recorder: &'a Recorder,
    pub jobs: &'a [(TaskTag, TrainJob)],
    pub events_len: u64,
}

/// SHA-256 of a scenario's effective text.
pub fn scenario_sha256(text: &str) -> [u8; 32] {
    Sha256::digest(text.as_bytes()).into()
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Writes a checkpoint into `dir`, atomically: a reader sees the old file
/// or the new one, never half of one.
pub fn write(dir: &Path, ck: &CheckpointRef<'_>) -> Result<(), CheckpointError> {
    let path = dir.join(FILE);
    let err = |source| CheckpointError::Write { path: path.clone(), source };
    let body = postcard::to_stdvec(ck).map_err(|e| err(std::io::Error::other(e)))?;
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
    let ck: Checkpoint =
        postcard::from_bytes(body).map_err(|e| CheckpointError::Decode { path: path.clone(), why: e.to_string() })?;
    let scenario = dir.join(SCENARIO_FILE);
    let text = std::fs::read_to_string(&scenario)
        .map_err(|source| CheckpointError::Read { path: scenario.clone(), source })?;
    let sha = scenario_sha256(&text);
    if sha != ck.scenario_sha256 {
        return Err(CheckpointError::OtherScenario {
            path,
            scenario,
            expected: hex(&ck.scenario_sha256),
            found: hex(&sha),
        });
    }
    Ok((ck, text))
}
