//! Writing gzip objects under an output root, and counting what was written.
//!
//! `GzEncoder` writes mtime 0 and no file name, so the same body gives the same bytes.

use std::fs;
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use flate2::Compression;
use flate2::write::GzEncoder;

/// Counts of what a run wrote.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Stats {
    /// Flow-log objects.
    pub flow_files: u64,
    /// Flow-log records (good lines, NODATA/SKIPDATA included).
    pub flow_records: u64,
    /// CloudTrail log objects.
    pub trail_files: u64,
    /// CloudTrail events (duplicates counted each time delivered).
    pub trail_events: u64,
    /// Digest objects.
    pub digest_files: u64,
    /// Other files (labels).
    pub other_files: u64,
    /// Uncompressed bytes.
    pub raw_bytes: u64,
    /// Bytes on disk.
    pub disk_bytes: u64,
}

impl std::fmt::Display for Stats {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        writeln!(
            f,
            "flow-log objects:   {:>10}  records: {:>11}",
            self.flow_files, self.flow_records
        )?;
        writeln!(
            f,
            "CloudTrail objects: {:>10}  events:  {:>11}",
            self.trail_files, self.trail_events
        )?;
        writeln!(f, "digest objects:     {:>10}", self.digest_files)?;
        writeln!(f, "other files:        {:>10}", self.other_files)?;
        write!(
            f,
            "bytes: {} on disk ({:.1} MiB), {} uncompressed ({:.1} MiB)",
            self.disk_bytes,
            self.disk_bytes as f64 / 1_048_576.0,
            self.raw_bytes,
            self.raw_bytes as f64 / 1_048_576.0
        )
    }
}

/// Writes files under a root directory.
#[derive(Debug)]
pub struct Sink {
    root: PathBuf,
    /// What was written so far.
    pub stats: Stats,
    level: Compression,
}

impl Sink {
    /// A sink writing under `root` (created as needed).
    pub fn new(root: &Path) -> Self {
        Self {
            root: root.to_path_buf(),
            stats: Stats::default(),
            level: Compression::default(),
        }
    }

    /// Use gzip level `level` (the default is zlib's default, 6).
    pub fn with_level(mut self, level: u32) -> Self {
        self.level = Compression::new(level);
        self
    }

    /// Compress `body` and write it at `key`; returns the compressed size.
    pub fn write_gz(&mut self, key: &str, body: &[u8]) -> io::Result<u64> {
        let mut enc = GzEncoder::new(Vec::with_capacity(body.len() / 4 + 64), self.level);
        enc.write_all(body)?;
        let gz = enc.finish()?;
        self.write_raw(key, &gz)?;
        self.stats.raw_bytes += body.len() as u64;
        Ok(gz.len() as u64)
    }

    /// Write `bytes` at `key` as they are.
    pub fn write_raw(&mut self, key: &str, bytes: &[u8]) -> io::Result<()> {
        let path = self.root.join(key);
        if let Some(dir) = path.parent() {
            fs::create_dir_all(dir)?;
        }
        fs::write(&path, bytes)?;
        self.stats.disk_bytes += bytes.len() as u64;
        Ok(())
    }
}
