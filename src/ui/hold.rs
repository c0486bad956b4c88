//! Small tables held in memory. A page asks the lake a handful of questions, and on a lake of
//! many small files (hour partitions of a few hundred rows, as a quiet account makes) most of
//! each query's time is opening files and decoding their footers, again on every page. A
//! table whose files are small in all is read once per lake version into memory and queried
//! there; a larger one stays on disk, read per page with partition pruning as before.

use std::path::Path;
use std::sync::Arc;

use anyhow::Context;
use datafusion::datasource::MemTable;
use datafusion::prelude::SessionContext;
use flowtrail_core::Table;

/// `flowtrail ui` holds a table in memory when its parquet files take at most this many bytes
/// (decoded, a few times that). `serve`'s site holds none: its memory is budgeted.
pub const HOLD_TABLE_BYTES: u64 = 16 << 20;

/// Replace each table of `ctx` whose files under `lake` take at most `limit` bytes by an
/// in-memory copy. Returns the tables held.
pub async fn hold_small_tables(
    ctx: &SessionContext,
    lake: &Path,
    limit: u64,
) -> anyhow::Result<Vec<Table>> {
    let mut held = vec![];
    for t in Table::ALL {
        let dir = lake.join(t.name());
        if limit == 0 || !dir.is_dir() || parquet_bytes(&dir, limit) > limit {
            continue;
        }
        let df = ctx.table(t.name()).await?;
        let schema = Arc::new(df.schema().as_arrow().clone());
        let batches = df
            .collect()
            .await
            .with_context(|| format!("reading table {} into memory", t.name()))?;
        let mem = MemTable::try_new(schema, vec![batches])?;
        ctx.deregister_table(t.name())?;
        ctx.register_table(t.name(), Arc::new(mem))?;
        held.push(t);
    }
    Ok(held)
}

/// Bytes of the `.parquet` files under `dir` (stops counting past `limit`).
fn parquet_bytes(dir: &Path, limit: u64) -> u64 {
    let mut total = 0u64;
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&d) else {
            continue;
        };
        for e in entries.flatten() {
            let p = e.path();
            let Ok(m) = e.metadata() else { continue };
            if m.is_dir() {
                stack.push(p);
            } else if p.extension().is_some_and(|x| x == "parquet") {
                total += m.len();
                if total > limit {
                    return total;
                }
            }
        }
    }
    total
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn counting_stops_past_the_limit_and_skips_other_files() {
        let dir = tempfile::tempdir().unwrap();
        let part = dir.path().join("date=2026-01-08/hour=10");
        std::fs::create_dir_all(&part).unwrap();
        std::fs::write(part.join("a.parquet"), vec![0u8; 1000]).unwrap();
        std::fs::write(part.join("notes.txt"), vec![0u8; 5000]).unwrap();
        assert_eq!(parquet_bytes(dir.path(), 1 << 20), 1000);
        std::fs::write(part.join("b.parquet"), vec![0u8; 1000]).unwrap();
        assert!(
            parquet_bytes(dir.path(), 500) <= 1000,
            "stops at the first file past 500"
        );
        assert_eq!(parquet_bytes(&dir.path().join("missing"), 1 << 20), 0);
    }
}
