//! Writing query results to stdout as a table, CSV or JSON lines. Broken pipes (`| head`)
//! surface as an io::Error of kind BrokenPipe, which `main` turns into a clean exit.

use std::io::Write;

use anyhow::Context;
use arrow::record_batch::RecordBatch;

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
                w.write(b)?;
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
