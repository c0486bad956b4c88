//! Writing query results to stdout as a table, CSV or JSON lines. Broken pipes (`| head`)
//! surface as an io::Error of kind BrokenPipe, which `main` turns into a clean exit.

use std::io::Write;

use std::sync::Arc;

use anyhow::Context;
use arrow::array::{ArrayRef, StringArray};
use arrow::datatypes::{DataType, Field, Schema};
use arrow::record_batch::RecordBatch;
use arrow::util::display::{ArrayFormatter, FormatOptions};

use crate::cli::OutputFormat;

/// Write `batches` in `format` to `out`.
pub fn write(
    out: &mut dyn Write,
    format: OutputFormat,
    batches: &[RecordBatch],
) -> anyhow::Result<()> {
    match format {
        OutputFormat::Table => {
            let text = arrow::util::pretty::pretty_format_batches(batches)
                .context("formatting results")?;
            writeln!(out, "{text}")?;
        }
        OutputFormat::Csv => {
            let mut w = arrow::csv::WriterBuilder::new()
                .with_header(true)
                .build(&mut *out);
            for b in batches {
                w.write(&flatten_nested(b)?)?;
            }
        }
        OutputFormat::Json => {
            let mut w = arrow::json::LineDelimitedWriter::new(&mut *out);
            for b in batches {
                w.write(b)?;
            }
            w.finish()?;
        }
    }
    out.flush()?;
    Ok(())
}

/// CSV has no nested types: render map, struct and list columns (`extra_fields`) as text.
fn flatten_nested(batch: &RecordBatch) -> anyhow::Result<RecordBatch> {
    let nested = |t: &DataType| t.is_nested();
    if !batch
        .schema()
        .fields()
        .iter()
        .any(|f| nested(f.data_type()))
    {
        return Ok(batch.clone());
    }
    let opts = FormatOptions::default().with_null("");
    let mut fields = Vec::new();
    let mut cols: Vec<ArrayRef> = Vec::new();
    for (f, c) in batch.schema().fields().iter().zip(batch.columns()) {
        if nested(f.data_type()) {
            let fmt = ArrayFormatter::try_new(c.as_ref(), &opts)?;
            let text: StringArray = (0..c.len())
                .map(|i| (!c.is_null(i)).then(|| fmt.value(i).to_string()))
                .collect();
            fields.push(Field::new(f.name(), DataType::Utf8, true));
            cols.push(Arc::new(text));
        } else {
            fields.push(f.as_ref().clone());
            cols.push(c.clone());
        }
    }
    Ok(RecordBatch::try_new(Arc::new(Schema::new(fields)), cols)?)
}
