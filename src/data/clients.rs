//! TEMPORARY (replaced by branch h2's ClientData): where each client's rows come from.

use super::Dataset;
use std::sync::Arc;

#[derive(Debug, Clone)]
pub enum ClientData {
    Table { train: Arc<Dataset>, rows: Arc<[u32]>, offsets: Arc<[u64]> },
}

impl ClientData {
    pub fn from_partition(train: Dataset, partition: Vec<Vec<u32>>) -> Self {
        let mut offsets = vec![0u64];
        let mut rows = Vec::new();
        for p in partition {
            rows.extend(p);
            offsets.push(rows.len() as u64);
        }
        ClientData::Table { train: Arc::new(train), rows: rows.into(), offsets: offsets.into() }
    }

    pub fn n_clients(&self) -> usize {
        match self {
            ClientData::Table { offsets, .. } => offsets.len() - 1,
        }
    }

    pub fn samples(&self, c: u32) -> usize {
        match self {
            ClientData::Table { offsets, .. } => (offsets[c as usize + 1] - offsets[c as usize]) as usize,
        }
    }

    pub fn with_client<R>(&self, c: u32, f: impl FnOnce(&Dataset, &[u32]) -> R) -> R {
        match self {
            ClientData::Table { train, rows, offsets } => {
                f(train, &rows[offsets[c as usize] as usize..offsets[c as usize + 1] as usize])
            }
        }
    }
}
