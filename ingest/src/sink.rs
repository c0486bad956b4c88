//! Where decoders put their output: batches of a table's schema, and quarantine records for
//! what could not be decoded ([`QuarantineRecord`], written to the lake by its writer).

use flowtrail_lake::quarantine::QuarantineRecord;

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
}

impl VecSink {
    /// Total rows in the collected batches.
    pub fn rows(&self) -> usize {
        self.batches.iter().map(|b| b.num_rows()).sum()
    }

    /// Memory held by the collected batches (buffers with their capacity).
    pub fn memory_size(&self) -> usize {
        self.batches.iter().map(|b| b.get_array_memory_size()).sum()
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
