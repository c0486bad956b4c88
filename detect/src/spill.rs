//! Held rows moved to local disk when the engine holds more than its memory budget
//! ([`crate::EngineOptions::hold_memory_mb`]).
//!
//! A [`SpillFile`] is one Arrow IPC stream (LZ4-compressed) of batches of one schema, written
//! once and read back as many times as detection needs it (the baselines, the fence and each
//! rule's scans), one batch at a time; it is deleted when the last holder drops it. Spill files
//! are scratch: after a crash the open hours are rebuilt from the lake, so a new engine empties
//! the spill folder ([`SpillDir::new`]).

use std::fs::File;
use std::io::{BufReader, BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use arrow::array::RecordBatch;
use arrow::datatypes::SchemaRef;
use arrow::error::ArrowError;
use arrow_ipc::CompressionType;
use arrow_ipc::reader::StreamReader;
use arrow_ipc::writer::{IpcWriteOptions, StreamWriter};

use crate::DetectError;

/// Where an engine writes its spill files.
#[derive(Debug)]
pub struct SpillDir {
    dir: PathBuf,
    next: AtomicU64,
    rows: AtomicU64,
    bytes: AtomicU64,
}

impl SpillDir {
    /// `dir`, emptied of an earlier run's files (created when missing).
    pub fn new(dir: PathBuf) -> Result<Self, DetectError> {
        let io = |source| DetectError::Io {
            path: dir.clone(),
            source,
        };
        if dir.exists() {
            std::fs::remove_dir_all(&dir).map_err(io)?;
        }
        std::fs::create_dir_all(&dir).map_err(io)?;
        Ok(Self {
            dir,
            next: AtomicU64::new(0),
            rows: AtomicU64::new(0),
            bytes: AtomicU64::new(0),
        })
    }

    /// The folder.
    pub fn path(&self) -> &Path {
        &self.dir
    }

    /// Rows and bytes written so far.
    pub fn written(&self) -> (u64, u64) {
        (
            self.rows.load(Ordering::Relaxed),
            self.bytes.load(Ordering::Relaxed),
        )
    }

    /// A folder of its own under the system's temporary folder.
    pub fn temp() -> Result<Self, DetectError> {
        static N: AtomicU64 = AtomicU64::new(0);
        let n = N.fetch_add(1, Ordering::Relaxed);
        Self::new(std::env::temp_dir().join(format!("flowtrail-spill-{}-{n}", std::process::id())))
    }

    /// Write `batches` (all of `schema`) to a new spill file.
    pub fn write(
        &self,
        schema: &SchemaRef,
        batches: &[RecordBatch],
    ) -> Result<SpillFile, DetectError> {
        let n = self.next.fetch_add(1, Ordering::Relaxed);
        let path = self.dir.join(format!("{n:08}.arrows"));
        let arrow = |source| DetectError::Arrow {
            context: format!("spilling held rows to {}", path.display()),
            source,
        };
        let file = File::create(&path).map_err(|source| DetectError::Io {
            path: path.clone(),
            source,
        })?;
        // From here on the file is removed if the write fails.
        let mut spilled = SpillFile {
            path: path.clone(),
            rows: 0,
            bytes: 0,
        };
        let opts = IpcWriteOptions::default()
            .try_with_compression(Some(CompressionType::LZ4_FRAME))
            .map_err(arrow)?;
        let mut w = StreamWriter::try_new_with_options(BufWriter::new(file), schema, opts)
            .map_err(arrow)?;
        for b in batches {
            w.write(b).map_err(arrow)?;
            spilled.rows += b.num_rows();
        }
        w.finish().map_err(arrow)?;
        let mut inner = w.into_inner().map_err(arrow)?;
        inner.flush().map_err(|source| DetectError::Io {
            path: path.clone(),
            source,
        })?;
        spilled.bytes = std::fs::metadata(&path).map(|m| m.len()).unwrap_or(0);
        self.rows.fetch_add(spilled.rows as u64, Ordering::Relaxed);
        self.bytes.fetch_add(spilled.bytes, Ordering::Relaxed);
        Ok(spilled)
    }
}

impl Drop for SpillDir {
    fn drop(&mut self) {
        // Files still held elsewhere are unlinked with the folder; open readers keep working.
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// One spill file; removed on drop.
#[derive(Debug)]
pub struct SpillFile {
    path: PathBuf,
    rows: usize,
    bytes: u64,
}

impl SpillFile {
    /// Rows in the file.
    pub fn rows(&self) -> usize {
        self.rows
    }

    /// Size on disk.
    pub fn bytes(&self) -> u64 {
        self.bytes
    }

    /// The file's batches, in the order written.
    pub fn read(
        &self,
    ) -> Result<impl Iterator<Item = Result<RecordBatch, ArrowError>> + Send + use<>, DetectError>
    {
        let f = File::open(&self.path).map_err(|source| DetectError::Io {
            path: self.path.clone(),
            source,
        })?;
        StreamReader::try_new(BufReader::with_capacity(1 << 20, f), None).map_err(|source| {
            DetectError::Arrow {
                context: format!("reading spilled rows from {}", self.path.display()),
                source,
            }
        })
    }

    /// Visit every batch.
    pub fn visit(&self, f: &mut dyn FnMut(&RecordBatch)) -> Result<(), DetectError> {
        for b in self.read()? {
            let b = b.map_err(|source| DetectError::Arrow {
                context: format!("reading spilled rows from {}", self.path.display()),
                source,
            })?;
            f(&b);
        }
        Ok(())
    }
}

impl Drop for SpillFile {
    fn drop(&mut self) {
        if let Err(e) = std::fs::remove_file(&self.path) {
            tracing::warn!(path = %self.path.display(), error = %e, "spill file not removed");
        }
    }
}

/// A spill file shared by the rows that hold it and the scans that read it.
pub type SharedSpill = Arc<SpillFile>;
