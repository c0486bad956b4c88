//! Detection on its own thread for a replay: the replay's writer thread hands each batch over a
//! bounded channel and goes on partitioning and encoding parquet while the engine buckets,
//! judges and runs the rules. Batches are Arc-backed, so a hand-over copies no row data; the
//! channel's bound keeps memory bounded when detection is the slower side. The service keeps
//! detection inline instead: it must know a cycle's alerts are durable before acknowledging.

use std::sync::mpsc::{Receiver, SyncSender, sync_channel};
use std::thread::JoinHandle;

use arrow::record_batch::RecordBatch;

use flowtrail_core::Table;
use flowtrail_ingest::replay::{Observer, ObserverError};

use crate::detection::Detection;

/// Batches in flight between the writer and detection.
const IN_FLIGHT: usize = 64;

/// A [`Detection`] running on a thread of its own.
pub struct Background {
    tx: Option<SyncSender<(Table, RecordBatch)>>,
    handle: Option<JoinHandle<Result<Detection, String>>>,
}

impl Background {
    /// Start `detection` on its thread.
    pub fn start(mut detection: Detection) -> anyhow::Result<Self> {
        let (tx, rx): (_, Receiver<(Table, RecordBatch)>) = sync_channel(IN_FLIGHT);
        let handle = std::thread::Builder::new()
            .name("flowtrail-detect".into())
            .spawn(move || {
                for (table, batch) in rx {
                    detection
                        .on_batch(table, &batch)
                        .map_err(|e| e.to_string())?;
                }
                Ok(detection)
            })?;
        Ok(Self {
            tx: Some(tx),
            handle: Some(handle),
        })
    }

    /// Wait until every batch handed over is observed; the detection back, or its failure.
    pub fn finish(mut self) -> anyhow::Result<Detection> {
        self.join()
    }

    fn join(&mut self) -> anyhow::Result<Detection> {
        drop(self.tx.take());
        match self.handle.take().map(JoinHandle::join) {
            Some(Ok(Ok(d))) => Ok(d),
            Some(Ok(Err(e))) => Err(anyhow::anyhow!("detection: {e}")),
            Some(Err(_)) => Err(anyhow::anyhow!("detection thread panicked")),
            None => Err(anyhow::anyhow!("detection already finished")),
        }
    }
}

impl Observer for Background {
    fn on_batch(&mut self, table: Table, batch: &RecordBatch) -> Result<(), ObserverError> {
        let sent = self
            .tx
            .as_ref()
            .is_some_and(|tx| tx.send((table, batch.clone())).is_ok());
        if sent {
            return Ok(());
        }
        // The thread stopped: report why.
        match self.join() {
            Ok(_) => Err("detection stopped".into()),
            Err(e) => Err(e.to_string().into()),
        }
    }
}
