//! Where decoders put their output: batches of a table's schema, and quarantine records for
//! what could not be decoded ([`QuarantineRecord`], written to the lake by its writer).

use flowtrail_core::nulls::batch_memory_size;
use flowtrail_lake::quarantine::QuarantineRecord;
use flowtrail_lake::runs::SMALL_RUN_ROWS;

use crate::IngestError;

/// Where decoders put their output: batches of the table schema and quarantine records.
pub trait DecodeSink {
    /// A decoded batch (schema: the table the decoder produces).
    fn batch(&mut self, batch: arrow::record_batch::RecordBatch) -> Result<(), IngestError>;
    /// A quarantined line or object.
    fn quarantine(&mut self, rec: QuarantineRecord);
}

/// A [`DecodeSink`] that collects everything in memory (tests, small objects).
#[derive(Debug, Default)]
pub struct VecSink {
    /// Batches received.
    pub batches: Vec<arrow::record_batch::RecordBatch>,
    /// Quarantine records received.
    pub quarantined: Vec<QuarantineRecord>,
    /// Each batch already split by lake partition (`flowtrail_lake::partition::split`), when a
    /// decode worker did it ([`VecSink::split_by_partition`]); the writer then buffers the
    /// pieces instead of splitting on its own thread.
    pub parts: Vec<Option<Parts>>,
}

/// A batch's rows by lake partition, each piece a sorted run.
pub type Parts = Vec<(
    flowtrail_core::PartitionKey,
    arrow::record_batch::RecordBatch,
)>;

impl VecSink {
    /// Total rows in the collected batches.
    pub fn rows(&self) -> usize {
        self.batches.iter().map(|b| b.num_rows()).sum()
    }

    /// Memory held by the collected batches and their pieces (buffers with their capacity;
    /// a piece that shares its batch's buffers is counted twice).
    pub fn memory_size(&self) -> usize {
        let pieces = self.parts.iter().flatten().flatten();
        self.batches.iter().map(batch_memory_size).sum::<usize>()
            + pieces.map(|(_, b)| batch_memory_size(b)).sum::<usize>()
    }

    /// Split every batch by lake partition, sorting each piece by event time: the part of the
    /// lake writer's work that can run on the thread that decoded the rows. A small batch
    /// (under [`SMALL_RUN_ROWS`] rows: its split costs next to nothing, and it is not sorted on
    /// its own) and one that cannot be split (a column missing) are left to the writer, which
    /// reports the latter.
    pub fn split_by_partition(&mut self) {
        self.parts = self
            .batches
            .iter()
            .map(|b| {
                (b.num_rows() >= SMALL_RUN_ROWS)
                    .then(|| flowtrail_lake::partition::split(b).ok())
                    .flatten()
            })
            .collect();
    }
}

impl DecodeSink for VecSink {
    fn batch(&mut self, batch: arrow::record_batch::RecordBatch) -> Result<(), IngestError> {
        self.batches.push(batch);
        Ok(())
    }
    fn quarantine(&mut self, rec: QuarantineRecord) {
        self.quarantined.push(rec);
    }
}
