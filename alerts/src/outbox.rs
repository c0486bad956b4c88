//! The durable alert outbox: a directory with one file per alert waiting to be delivered.
//!
//! # Contract
//!
//! - **Durable before send.** [`Outbox::put`] writes each alert as `<dir>/<alert id>.json`
//!   (the alert JSON, the same object as the JSONL file and the SNS message body): the bytes go
//!   to a temporary file (`.<id>.json.tmp`), are fsynced, the file is renamed into place and
//!   the directory is fsynced. Only then does a sink report the alerts as delivered to it. A
//!   crash leaves either no file or a whole one; stray temporary files are removed at open.
//! - **Deleted only on success.** A sender removes an alert's file ([`Outbox::remove`]) only
//!   after the destination acknowledged it (SNS returned it among a `PublishBatch`'s
//!   successful entries). Whatever is still in the directory is re-sent by the next sender
//!   (at startup, or on the next send).
//! - **Sent once.** Before an alert's file is deleted, its id is appended (fsynced) to
//!   `<dir>/_sent.log`; [`Outbox::put`] drops alerts whose id is there, and
//!   [`Outbox::pending`] deletes the file of one whose id is there (a crash between the append
//!   and the delete). A run that judges data again after a crash (and so raises the alerts an
//!   interrupted run already sent) does not send them twice. The log holds one short line per
//!   alert ever sent.
//! - **At-least-once.** A crash between the destination's acknowledgement and the append sends
//!   that alert again. Alert ids are stable (a hash of detector, dedupe key and first-seen
//!   time), so a second `put` of the same alert replaces its file instead of adding one, FIFO
//!   topics drop the resend by `MessageDeduplicationId` = alert id (within SNS's 5-minute
//!   deduplication window), and consumers of standard topics can dedupe on the `id` field.
//! - **Unreadable files** (not the alert JSON) are moved to `<dir>/_bad/` with a warning,
//!   never deleted and never retried forever.
//!
//! The outbox is local to one process: two processes must not share a directory.

use std::collections::HashSet;
use std::fs::{self, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use flowtrail_core::Alert;

use crate::AlertsError;

/// The log of delivered alert ids, inside the outbox directory.
const SENT_LOG: &str = "_sent.log";

/// The outbox directory.
#[derive(Debug, Clone)]
pub struct Outbox {
    dir: PathBuf,
    sent: Arc<Mutex<HashSet<String>>>,
}

/// An alert waiting in the outbox.
#[derive(Debug, Clone)]
pub struct Pending {
    /// Its file.
    pub path: PathBuf,
    /// The alert.
    pub alert: Alert,
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> AlertsError + '_ {
    move |source| AlertsError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// A file name for an alert id: ids are hex hashes, anything else is replaced by `_`.
fn file_stem(id: &str) -> String {
    id.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect()
}

impl Outbox {
    /// Open (create) the outbox at `dir`; removes temporary files a crash left behind.
    pub fn open(dir: &Path) -> Result<Self, AlertsError> {
        fs::create_dir_all(dir).map_err(io(dir))?;
        for entry in fs::read_dir(dir).map_err(io(dir))? {
            let entry = entry.map_err(io(dir))?;
            let name = entry.file_name();
            if name.to_string_lossy().ends_with(".json.tmp") {
                let p = entry.path();
                fs::remove_file(&p).map_err(io(&p))?;
            }
        }
        let log = dir.join(SENT_LOG);
        let sent = match fs::read_to_string(&log) {
            Ok(text) => text.lines().map(str::to_string).collect(),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => HashSet::new(),
            Err(e) => return Err(io(&log)(e)),
        };
        Ok(Self {
            dir: dir.to_path_buf(),
            sent: Arc::new(Mutex::new(sent)),
        })
    }

    fn sent(&self) -> Result<std::sync::MutexGuard<'_, HashSet<String>>, AlertsError> {
        self.sent
            .lock()
            .map_err(|e| AlertsError::Poisoned(e.to_string()))
    }

    /// Whether the alert with this id was delivered already.
    pub fn was_sent(&self, alert_id: &str) -> Result<bool, AlertsError> {
        Ok(self.sent()?.contains(alert_id))
    }

    /// Record that the destination acknowledged `delivered` (durably), then delete their files.
    pub fn delivered(&self, delivered: &[&Pending]) -> Result<(), AlertsError> {
        if delivered.is_empty() {
            return Ok(());
        }
        let log = self.dir.join(SENT_LOG);
        let mut text = String::new();
        for p in delivered {
            text.push_str(&p.alert.id.replace(['\n', '\r'], ""));
            text.push('\n');
        }
        let mut f = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&log)
            .map_err(io(&log))?;
        f.write_all(text.as_bytes()).map_err(io(&log))?;
        f.sync_data().map_err(io(&log))?;
        {
            let mut sent = self.sent()?;
            for p in delivered {
                sent.insert(p.alert.id.clone());
            }
        }
        for p in delivered {
            self.remove(p)?;
        }
        Ok(())
    }

    /// The directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The file of an alert.
    pub fn path_of(&self, alert_id: &str) -> PathBuf {
        self.dir.join(format!("{}.json", file_stem(alert_id)))
    }

    /// Write `alerts` durably (see the module docs); returns once they are on disk.
    pub fn put(&self, alerts: &[Alert]) -> Result<(), AlertsError> {
        if alerts.is_empty() {
            return Ok(());
        }
        for a in alerts {
            if self.was_sent(&a.id)? {
                tracing::debug!(alert = %a.id, "alert delivered by an earlier run; not sent again");
                continue;
            }
            let path = self.path_of(&a.id);
            let body = serde_json::to_vec(a).map_err(|e| AlertsError::Io {
                path: path.clone(),
                source: std::io::Error::other(e),
            })?;
            // Temp file `.<id>.json.tmp` (removed by `open` after a crash), fsync, rename.
            flowtrail_core::durable::write_atomic(&path, &body).map_err(io(&path))?;
        }
        Ok(())
    }

    /// The alerts waiting, oldest first (by first-seen time, then id).
    pub fn pending(&self) -> Result<Vec<Pending>, AlertsError> {
        let mut out = Vec::new();
        for entry in fs::read_dir(&self.dir).map_err(io(&self.dir))? {
            let entry = entry.map_err(io(&self.dir))?;
            let path = entry.path();
            let name = entry.file_name();
            let name = name.to_string_lossy();
            if name.starts_with('.')
                || !name.ends_with(".json")
                || !entry.file_type().map_err(io(&path))?.is_file()
            {
                continue;
            }
            let bytes = fs::read(&path).map_err(io(&path))?;
            match serde_json::from_slice::<Alert>(&bytes) {
                // Delivered, and a crash came before its file was deleted: not sent again.
                Ok(alert) if self.was_sent(&alert.id)? => self.remove(&Pending { path, alert })?,
                Ok(alert) => out.push(Pending { path, alert }),
                Err(e) => self.set_aside(&path, &e.to_string())?,
            }
        }
        out.sort_by(|a, b| {
            (&a.alert.first_seen, &a.alert.id).cmp(&(&b.alert.first_seen, &b.alert.id))
        });
        Ok(out)
    }

    /// How many alerts are waiting.
    pub fn len(&self) -> Result<usize, AlertsError> {
        let mut n = 0;
        for entry in fs::read_dir(&self.dir).map_err(io(&self.dir))? {
            let name = entry.map_err(io(&self.dir))?.file_name();
            let name = name.to_string_lossy();
            if !name.starts_with('.') && name.ends_with(".json") {
                n += 1;
            }
        }
        Ok(n)
    }

    /// Whether nothing is waiting.
    pub fn is_empty(&self) -> Result<bool, AlertsError> {
        Ok(self.len()? == 0)
    }

    /// Delete a delivered alert's file (a missing file is fine: delivered twice).
    pub fn remove(&self, pending: &Pending) -> Result<(), AlertsError> {
        match fs::remove_file(&pending.path) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(io(&pending.path)(e)),
        }
    }

    fn set_aside(&self, path: &Path, reason: &str) -> Result<(), AlertsError> {
        let bad = self.dir.join("_bad");
        fs::create_dir_all(&bad).map_err(io(&bad))?;
        let to = bad.join(path.file_name().unwrap_or_default());
        tracing::warn!(file = %path.display(), to = %to.display(), reason, "outbox file is not an alert; set aside");
        fs::rename(path, &to).map_err(io(path))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use flowtrail_core::{Entity, EntityKind, Severity};

    pub(crate) fn alert(id: &str, t: &str) -> Alert {
        Alert {
            why: String::new(),
            next_steps: Vec::new(),
            asset: None,
            id: id.into(),
            detector: "port_scan".into(),
            severity: Severity::High,
            title: "t".into(),
            account_id: Some("012345678901".into()),
            region: Some("us-east-1".into()),
            entity: Entity {
                kind: EntityKind::Ip,
                id: "203.0.113.9".into(),
            },
            first_seen: t.parse().unwrap_or_default(),
            last_seen: t.parse().unwrap_or_default(),
            count: 1,
            dedupe_key: "k".into(),
            attack: flowtrail_core::alert::Attack::new(&["TA0007"], &["T1046"]),
            evidence: serde_json::json!({}),
        }
    }

    #[test]
    fn put_pending_remove_round_trip() -> Result<(), AlertsError> {
        let dir = tempfile::tempdir().map_err(io(Path::new("tmp")))?;
        let ob = Outbox::open(&dir.path().join("outbox"))?;
        fs::write(ob.dir().join(".x.json.tmp"), b"half").map_err(io(Path::new("tmp")))?;
        let ob = Outbox::open(ob.dir())?;
        assert!(ob.is_empty()?, "stray temp files are removed at open");
        ob.put(&[
            alert("b2", "2026-01-08T10:00:00Z"),
            alert("a1", "2026-01-08T09:00:00Z"),
        ])?;
        ob.put(&[alert("b2", "2026-01-08T10:00:00Z")])?; // same id: replaces, no second copy
        fs::write(ob.dir().join("junk.json"), b"{not json").map_err(io(Path::new("tmp")))?;
        let p = ob.pending()?;
        assert_eq!(
            p.iter().map(|p| p.alert.id.as_str()).collect::<Vec<_>>(),
            ["a1", "b2"]
        );
        assert!(ob.dir().join("_bad/junk.json").exists());
        ob.remove(&p[0])?;
        ob.remove(&p[0])?;
        assert_eq!(ob.len()?, 1);
        // Delivered: never queued again, even by a new process.
        ob.delivered(&[&p[1]])?;
        assert!(ob.is_empty()?);
        let ob = Outbox::open(ob.dir())?;
        ob.put(&[alert("b2", "2026-01-08T10:00:00Z")])?;
        assert!(ob.is_empty()?, "an alert sent before is not queued again");
        assert!(ob.was_sent("b2")? && !ob.was_sent("a1")?);
        ob.put(&[alert("a1", "2026-01-08T09:00:00Z")])?;
        assert_eq!(ob.len()?, 1);
        // Delivered, then a crash after its id reached the log and before its file was deleted:
        // not sent again.
        ob.put(&[alert("c3", "2026-01-08T11:00:00Z")])?;
        let log = ob.dir().join(SENT_LOG);
        let mut f = OpenOptions::new()
            .append(true)
            .open(&log)
            .map_err(io(&log))?;
        f.write_all(b"c3\n").map_err(io(&log))?;
        let ob = Outbox::open(ob.dir())?;
        assert_eq!(
            ob.pending()?
                .iter()
                .map(|p| p.alert.id.as_str())
                .collect::<Vec<_>>(),
            ["a1"]
        );
        assert!(!ob.path_of("c3").exists());
        Ok(())
    }
}
