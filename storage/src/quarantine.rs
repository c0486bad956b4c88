//! Quarantine: what could not be decoded, kept for the operator to inspect. A bad line is a
//! partial failure (one record with its line number and raw text, the rest of the object still
//! lands); an unreadable object is a total one (one record with `"line": null`).
//!
//! Records are JSONL under `<lake>/_quarantine/`, one file per run, written through
//! [`QuarantineWriter`].

use std::fs::{self, File, OpenOptions};
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::LakeError;

/// Raw text kept per quarantined line, at most.
pub const MAX_RAW_BYTES: usize = 4096;

/// One quarantined line or object.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct QuarantineRecord {
    /// Source object key.
    pub object: String,
    /// 1-based line number, or `None` for the whole object.
    pub line: Option<u64>,
    /// Why it was quarantined.
    pub reason: String,
    /// The raw line (lossy UTF-8, truncated to [`MAX_RAW_BYTES`]), when there is one.
    pub raw: Option<String>,
}

impl QuarantineRecord {
    /// A bad line.
    pub fn line(object: &str, line: u64, reason: impl Into<String>, raw: &[u8]) -> Self {
        let cut = &raw[..raw.len().min(MAX_RAW_BYTES)];
        Self {
            object: object.to_string(),
            line: Some(line),
            reason: reason.into(),
            raw: Some(String::from_utf8_lossy(cut).into_owned()),
        }
    }

    /// A whole object that could not be read or decoded.
    pub fn object(object: &str, reason: impl Into<String>) -> Self {
        Self {
            object: object.to_string(),
            line: None,
            reason: reason.into(),
            raw: None,
        }
    }
}

/// Appends quarantine records as JSONL to one file under `<lake>/_quarantine/`.
#[derive(Debug)]
pub struct QuarantineWriter {
    path: PathBuf,
    out: Option<BufWriter<File>>,
    written: u64,
}

impl QuarantineWriter {
    /// A writer that creates `<lake>/_quarantine/<name>.jsonl` on the first record.
    pub fn new(lake: &Path, name: &str) -> Self {
        let path = lake
            .join(flowtrail_core::layout::QUARANTINE_DIR)
            .join(format!("{name}.jsonl"));
        Self {
            path,
            out: None,
            written: 0,
        }
    }

    /// The file records go to.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Records written so far.
    pub fn written(&self) -> u64 {
        self.written
    }

    /// Append one record.
    pub fn write(&mut self, rec: &QuarantineRecord) -> Result<(), LakeError> {
        let io = |source| LakeError::Io {
            path: self.path.clone(),
            source,
        };
        if self.out.is_none() {
            if let Some(dir) = self.path.parent() {
                fs::create_dir_all(dir).map_err(io)?;
            }
            let f = OpenOptions::new()
                .create(true)
                .append(true)
                .open(&self.path)
                .map_err(io)?;
            self.out = Some(BufWriter::new(f));
        }
        if let Some(out) = self.out.as_mut() {
            let mut line = serde_json::to_vec(rec).map_err(|e| LakeError::Io {
                path: self.path.clone(),
                source: std::io::Error::other(e),
            })?;
            line.push(b'\n');
            out.write_all(&line).map_err(|source| LakeError::Io {
                path: self.path.clone(),
                source,
            })?;
        }
        self.written += 1;
        Ok(())
    }

    /// Flush and fsync what was written (called before a lake commit).
    pub fn sync(&mut self) -> Result<(), LakeError> {
        if let Some(out) = self.out.as_mut() {
            let io = |source| LakeError::Io {
                path: self.path.clone(),
                source,
            };
            out.flush().map_err(io)?;
            out.get_ref().sync_data().map_err(io)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_serialize_with_null_line_for_objects() {
        let r = QuarantineRecord::object("AWSLogs/x.gz", "corrupt gzip");
        let v = serde_json::to_value(&r).unwrap_or_default();
        assert_eq!(v["line"], serde_json::Value::Null);
        assert_eq!(v["object"], "AWSLogs/x.gz");
        let l = QuarantineRecord::line("k", 7, "bad port", &vec![b'x'; 10_000]);
        assert_eq!(l.raw.as_ref().map(|s| s.len()), Some(MAX_RAW_BYTES));
    }

    #[test]
    fn writer_appends_jsonl_under_the_lake() -> Result<(), Box<dyn std::error::Error>> {
        let dir = tempfile::tempdir()?;
        let mut w = QuarantineWriter::new(dir.path(), "run1");
        w.write(&QuarantineRecord::line("k", 2, "r", b"raw"))?;
        w.write(&QuarantineRecord::object("k2", "r2"))?;
        w.sync()?;
        let text = std::fs::read_to_string(dir.path().join("_quarantine/run1.jsonl"))?;
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 2);
        let first: QuarantineRecord = serde_json::from_str(lines[0])?;
        assert_eq!(first.line, Some(2));
        Ok(())
    }
}
