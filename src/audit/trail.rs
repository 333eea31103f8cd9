//! The audit trail: a subscriber to the run's events that writes one
//! [`AuditRecord`](super::AuditRecord) per model version.
//!
//! It tallies what each version's events say (who contributed, which
//! message types left each client, the bytes both ways, the epsilon and the
//! secure-aggregation survivors) and writes the record when the server
//! names the new model's SHA-256 (the `model` event, the last of an
//! aggregation). Its tally is saved in a checkpoint, so a resumed run
//! writes the records the uninterrupted one would have.

use super::{AuditLog, AuditRecordInput};
use crate::sim::{Detail, Event, EventKind, EventSink};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};
use std::io::{self, Write};

/// What a version's events said so far.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Tally {
    participants: BTreeSet<u32>,
    bytes_up: u64,
    bytes_down: u64,
    messages: BTreeMap<u32, Vec<String>>,
    /// Secure aggregation: the clients whose masked input was unmasked.
    survivors: Option<u64>,
    /// The epsilon spent so far (it carries over from version to version).
    epsilon: Option<f64>,
    /// Records written.
    count: u64,
}

impl Tally {
    /// Records written.
    pub fn count(&self) -> u64 {
        self.count
    }
}

/// Writes `audit.jsonl` from the run's events.
pub struct AuditTrail<W: Write> {
    log: AuditLog<W>,
    tally: Tally,
    /// The run's privacy settings (fixed for the run).
    privacy: serde_json::Value,
    secure_aggregation: bool,
    scenario_sha256: String,
}

impl<W: Write> AuditTrail<W> {
    /// `privacy`: the scenario's privacy settings, as they go in every
    /// record; `scenario_sha256`: hex SHA-256 of the scenario text.
    pub fn new(
        log: AuditLog<W>,
        privacy: serde_json::Value,
        secure_aggregation: bool,
        scenario_sha256: String,
    ) -> Self {
        AuditTrail { log, tally: Tally::default(), privacy, secure_aggregation, scenario_sha256 }
    }

    /// Continues from a checkpoint's tally.
    pub fn resume(mut self, tally: Tally) -> Self {
        self.tally = tally;
        self
    }

    /// What a checkpoint saves.
    pub fn tally(&self) -> &Tally {
        &self.tally
    }

    fn message(&mut self, client: Option<u32>, kind: &str) {
        if let Some(c) = client {
            self.tally.messages.entry(c).or_default().push(kind.to_string());
        }
    }

    fn write_record(&mut self, e: &Event, model_sha256: String) -> io::Result<()> {
        let t = std::mem::take(&mut self.tally);
        let mut privacy = self.privacy.clone();
        privacy["epsilon"] = t.epsilon.map_or(serde_json::Value::Null, serde_json::Value::from);
        privacy["secure_aggregation"] = self.secure_aggregation.into();
        privacy["survivors"] = t.survivors.map_or(serde_json::Value::Null, serde_json::Value::from);
        self.log.append(AuditRecordInput {
            round: e.round,
            t: e.t.as_secs_f64(),
            participants: t.participants.into_iter().collect(),
            bytes_up: t.bytes_up,
            bytes_down: t.bytes_down,
            messages: t.messages,
            privacy,
            model_sha256,
            scenario_sha256: self.scenario_sha256.clone(),
        })?;
        self.tally = Tally { epsilon: t.epsilon, count: t.count + 1, ..Tally::default() };
        Ok(())
    }
}

impl<W: Write> EventSink for AuditTrail<W> {
    fn record(&mut self, e: &Event) -> io::Result<()> {
        match e.kind {
            EventKind::Dispatch => self.tally.bytes_down += e.bytes,
            EventKind::Report => {
                self.tally.bytes_up += e.bytes;
                self.message(e.client, "update");
                self.tally.participants.extend(e.client);
            }
            // A stale update is discarded: its client did not contribute.
            EventKind::Stale => {
                if let Some(c) = e.client {
                    self.tally.participants.remove(&c);
                }
            }
            EventKind::Epsilon => {
                if let Detail::Epsilon(eps) = e.detail {
                    self.tally.epsilon = eps;
                }
            }
            EventKind::SecAgg(phase) => {
                if phase.from_client() {
                    self.tally.bytes_up += e.bytes;
                    self.message(e.client, phase.name());
                    if phase == crate::sim::SecAggPhase::MaskedInput {
                        self.tally.participants.extend(e.client);
                    }
                } else {
                    self.tally.bytes_down += e.bytes;
                }
            }
            EventKind::Unmasked => {
                if let Detail::Updates(n) = e.detail {
                    self.tally.survivors = Some(u64::from(n));
                }
            }
            EventKind::Model => {
                if let Detail::Digest(d) = e.detail {
                    self.write_record(e, hex::encode(d))?;
                }
            }
            _ => {}
        }
        Ok(())
    }

    fn flush(&mut self) -> io::Result<()> {
        self.log.flush()
    }
}
