//! The two tables the rules' cached plans read (`flows`, `cloudtrail`): a chunk's rows are
//! swapped in before the rules run and cleared after.
//!
//! Rows all in memory are scanned as DataFusion's own memory source (what a `MemTable` does).
//! When some were spilled ([`crate::spill`]), the scan streams them instead: spilled batches are
//! read back one at a time, completed to the full schema, and dropped once the plan has used
//! them, so a rule over spilled rows holds its aggregation state, not the rows.

use std::sync::{Arc, RwLock};

use arrow::datatypes::SchemaRef;
use arrow::record_batch::RecordBatch;
use async_trait::async_trait;
use datafusion::catalog::{Session, TableProvider};
use datafusion::datasource::memory::MemorySourceConfig;
use datafusion::error::{DataFusionError, Result};
use datafusion::execution::{SendableRecordBatchStream, TaskContext};
use datafusion::logical_expr::{Expr, TableType};
use datafusion::physical_plan::ExecutionPlan;
use datafusion::physical_plan::stream::RecordBatchStreamAdapter;
use datafusion::physical_plan::streaming::{PartitionStream, StreamingTableExec};

use super::conform::{NullPool, conform_one};
use crate::keep::Part;

/// A table whose rows are set per chunk.
#[derive(Debug)]
pub(crate) struct HeldTable {
    schema: SchemaRef,
    parts: RwLock<Vec<Part>>,
    nulls: Arc<NullPool>,
}

impl HeldTable {
    pub(crate) fn new(schema: SchemaRef, nulls: Arc<NullPool>) -> Self {
        Self {
            schema,
            parts: RwLock::new(Vec::new()),
            nulls,
        }
    }

    /// The chunk's rows: in-memory batches already in the table's schema, spilled ones as
    /// they were held.
    pub(crate) fn set(&self, parts: Vec<Part>) {
        *self.parts.write().unwrap_or_else(|p| p.into_inner()) = parts;
    }

    fn get(&self) -> Vec<Part> {
        self.parts.read().unwrap_or_else(|p| p.into_inner()).clone()
    }
}

#[async_trait]
impl TableProvider for HeldTable {
    fn schema(&self) -> SchemaRef {
        self.schema.clone()
    }

    fn table_type(&self) -> TableType {
        TableType::Base
    }

    async fn scan(
        &self,
        _state: &dyn Session,
        projection: Option<&Vec<usize>>,
        _filters: &[Expr],
        _limit: Option<usize>,
    ) -> Result<Arc<dyn ExecutionPlan>> {
        let parts = self.get();
        let in_memory: Option<Vec<RecordBatch>> = parts
            .iter()
            .map(|p| match p {
                Part::Mem(b) => Some(b.clone()),
                Part::Spilled(_) => None,
            })
            .collect();
        if let Some(batches) = in_memory {
            return Ok(MemorySourceConfig::try_new_exec(
                &[batches],
                self.schema.clone(),
                projection.cloned(),
            )?);
        }
        let stream: Arc<dyn PartitionStream> = Arc::new(PartsStream {
            schema: self.schema.clone(),
            parts,
            nulls: self.nulls.clone(),
        });
        Ok(Arc::new(StreamingTableExec::try_new(
            self.schema.clone(),
            vec![stream],
            projection,
            Vec::new(),
            false,
            None,
        )?))
    }
}

/// One pass over the parts, spilled ones read back as it goes.
#[derive(Debug)]
struct PartsStream {
    schema: SchemaRef,
    parts: Vec<Part>,
    nulls: Arc<NullPool>,
}

type BoxedBatches = Box<dyn Iterator<Item = Result<RecordBatch>> + Send>;

impl PartitionStream for PartsStream {
    fn schema(&self) -> &SchemaRef {
        &self.schema
    }

    fn execute(&self, _ctx: Arc<TaskContext>) -> SendableRecordBatchStream {
        let (schema, nulls) = (self.schema.clone(), self.nulls.clone());
        let batches = self
            .parts
            .clone()
            .into_iter()
            .flat_map(move |p| -> BoxedBatches {
                match p {
                    Part::Mem(b) => Box::new(std::iter::once(Ok(b))),
                    Part::Spilled(file) => match file.read() {
                        Err(e) => {
                            Box::new(std::iter::once(Err(DataFusionError::External(Box::new(e)))))
                        }
                        Ok(read) => {
                            let (schema, nulls) = (schema.clone(), nulls.clone());
                            Box::new(read.map(move |b| {
                                // The file stays until its last reader is done.
                                let _keep = &file;
                                let b = b?;
                                conform_one(&b, &schema, &nulls).ok_or_else(|| {
                                    DataFusionError::Internal(format!(
                                        "spilled rows of schema {} do not fit the table",
                                        b.schema()
                                    ))
                                })
                            }))
                        }
                    },
                }
            });
        Box::pin(RecordBatchStreamAdapter::new(
            self.schema.clone(),
            futures::stream::iter(batches),
        ))
    }
}
