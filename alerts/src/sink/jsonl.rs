//! Alerts appended as JSON lines to a file, flushed and fsynced per delivery, in the chosen
//! [`AlertFormat`] (native by default).

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};

use flowtrail_core::Alert;

use super::{AlertFormat, AlertSink};
use crate::AlertsError;

/// A JSON lines file of alerts.
#[derive(Debug)]
pub struct JsonlSink {
    path: PathBuf,
    file: File,
    format: AlertFormat,
}

impl JsonlSink {
    /// Append to `path` (created if missing).
    pub fn append(path: &Path) -> Result<Self, AlertsError> {
        let file = OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
            .map_err(|source| AlertsError::Io {
                path: path.to_path_buf(),
                source,
            })?;
        Ok(Self {
            path: path.to_path_buf(),
            file,
            format: AlertFormat::Native,
        })
    }

    /// Write alerts in `format` from now on.
    pub fn with_format(mut self, format: AlertFormat) -> Self {
        self.format = format;
        self
    }

    /// Start `path` empty.
    pub fn create(path: &Path) -> Result<Self, AlertsError> {
        let file = File::create(path).map_err(|source| AlertsError::Io {
            path: path.to_path_buf(),
            source,
        })?;
        Ok(Self {
            path: path.to_path_buf(),
            file,
            format: AlertFormat::Native,
        })
    }
}

impl AlertSink for JsonlSink {
    fn send(&mut self, alerts: &[Alert]) -> Result<(), AlertsError> {
        if alerts.is_empty() {
            return Ok(());
        }
        let mut buf = Vec::new();
        for a in alerts {
            let line = self.format.render(a).map_err(|e| AlertsError::Io {
                path: self.path.clone(),
                source: std::io::Error::other(e),
            })?;
            buf.extend_from_slice(line.as_bytes());
            buf.push(b'\n');
        }
        let io = |source| AlertsError::Io {
            path: self.path.clone(),
            source,
        };
        self.file.write_all(&buf).map_err(io)?;
        self.file.sync_data().map_err(|source| AlertsError::Io {
            path: self.path.clone(),
            source,
        })
    }
}
