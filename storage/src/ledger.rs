//! The commit ledger under `<lake>/_ledger/`: which source objects are in the lake, and the
//! recovery of commits that a crash left half done. See the protocol in [`crate`].

use std::collections::HashSet;
use std::fs;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::LakeError;
use flowtrail_core::Table;
use flowtrail_core::durable;
use flowtrail_core::layout::LEDGER_DIR;

/// Identity of a source object: its normalized key, size and (when known) ETag.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct SourceId {
    /// Key, from the `AWSLogs/` segment on when there is one.
    pub key: String,
    /// Size in bytes as stored.
    pub size: u64,
    /// ETag (S3) if known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub etag: Option<String>,
}

impl SourceId {
    /// 128-bit fingerprint held in memory for every committed source.
    pub fn fingerprint(&self) -> u128 {
        let mut h = xxhash_rust::xxh3::Xxh3::new();
        h.update(self.key.as_bytes());
        h.update(&[0]);
        h.update(&self.size.to_le_bytes());
        if let Some(e) = &self.etag {
            h.update(e.as_bytes());
        }
        h.digest128()
    }
}

/// One entry of a commit record's `sources`: something the commit makes durable once, that a
/// later run skips when [`Ledger::is_done`] says it is in the lake.
///
/// On disk every entry is a [`SourceId`] object (`{"key", "size", "etag"?}`), so ledgers stay
/// readable by every build: an alert is the key `_alert/<id>` and a checkpoint the key
/// `_checkpoint/gen-<seq, 8 digits>`, both of size 0. The two `From` impls between
/// `LedgerEntry` and `SourceId` are the only place that maps one to the other; decoding names
/// an alert or a checkpoint only when encoding it gives back the very same `SourceId`, so
/// every entry ever written round-trips byte for byte (and keeps its fingerprint).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(from = "SourceId", into = "SourceId")]
pub enum LedgerEntry {
    /// A source object (an S3 object or a local file) whose rows and quarantine records the
    /// commit holds. Its key is an S3 key or a path (from `AWSLogs/` on when there is one),
    /// never of the two forms below.
    Object(SourceId),
    /// An alert the commit wrote to the `alerts` table (the service: an alert raised again
    /// after a crash is not written twice).
    Alert {
        /// The alert's id.
        id: String,
    },
    /// The detection checkpoint the commit publishes (see `checkpoint` in the binary).
    Checkpoint {
        /// The ledger sequence number of the commit that publishes it (`gen-<seq>`).
        generation: u64,
    },
}

const ALERT_PREFIX: &str = "_alert/";
const CHECKPOINT_PREFIX: &str = "_checkpoint/gen-";

impl LedgerEntry {
    /// The source object, if the entry is one.
    pub fn object(&self) -> Option<&SourceId> {
        match self {
            LedgerEntry::Object(id) => Some(id),
            _ => None,
        }
    }
}

impl From<LedgerEntry> for SourceId {
    fn from(entry: LedgerEntry) -> Self {
        let pseudo = |key: String| SourceId {
            key,
            size: 0,
            etag: None,
        };
        match entry {
            LedgerEntry::Object(id) => id,
            LedgerEntry::Alert { id } => pseudo(format!("{ALERT_PREFIX}{id}")),
            LedgerEntry::Checkpoint { generation } => {
                pseudo(format!("{CHECKPOINT_PREFIX}{generation:08}"))
            }
        }
    }
}

impl From<SourceId> for LedgerEntry {
    fn from(id: SourceId) -> Self {
        if id.size != 0 || id.etag.is_some() {
            return LedgerEntry::Object(id);
        }
        if let Some(alert) = id.key.strip_prefix(ALERT_PREFIX).filter(|a| !a.is_empty()) {
            return LedgerEntry::Alert {
                id: alert.to_string(),
            };
        }
        let generation = id
            .key
            .strip_prefix(CHECKPOINT_PREFIX)
            .and_then(|g| Some((g, g.parse::<u64>().ok()?)))
            .filter(|(g, n)| format!("{n:08}") == *g);
        match generation {
            Some((_, generation)) => LedgerEntry::Checkpoint { generation },
            None => LedgerEntry::Object(id),
        }
    }
}

/// What [`Ledger::is_done`] can look up: a [`LedgerEntry`] or the [`SourceId`] of an object.
pub trait Recorded {
    /// The 128-bit fingerprint the ledger holds in memory, of the entry's on-disk form.
    fn fingerprint(&self) -> u128;
}

impl<T: Recorded + ?Sized> Recorded for &T {
    fn fingerprint(&self) -> u128 {
        (**self).fingerprint()
    }
}

impl Recorded for SourceId {
    fn fingerprint(&self) -> u128 {
        SourceId::fingerprint(self)
    }
}

impl Recorded for LedgerEntry {
    fn fingerprint(&self) -> u128 {
        match self {
            LedgerEntry::Object(id) => id.fingerprint(),
            other => SourceId::from(other.clone()).fingerprint(),
        }
    }
}

/// One commit record.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CommitRecord {
    /// Commit id (also the file stem).
    pub id: String,
    /// Files the commit made visible, relative to the lake root.
    pub files: Vec<String>,
    /// What the commit makes durable once: source objects whose rows (and quarantine records)
    /// it holds, alerts it writes, the checkpoint it publishes.
    pub sources: Vec<LedgerEntry>,
    /// Rows written, per table name.
    pub rows: std::collections::BTreeMap<String, u64>,
    /// Source positions this commit advances to (CloudWatch Logs stream tokens): committed
    /// atomically with the rows read up to them, so a restart resumes exactly after them.
    #[serde(default, skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    pub cursors: std::collections::BTreeMap<String, String>,
    /// Whether detection saw these rows (it may still have to judge them again after a crash:
    /// see `checkpoint` in the binary).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub detect: bool,
}

impl CommitRecord {
    /// The commit's sequence number (the leading digits of its id), 0 if it has none.
    pub fn seq(&self) -> u64 {
        seq_of(&self.id)
    }
}

fn seq_of(id: &str) -> u64 {
    id.split('-')
        .next()
        .and_then(|n| n.parse().ok())
        .unwrap_or(0)
}

/// The ledger of a local lake.
#[derive(Debug)]
pub struct Ledger {
    root: PathBuf,
    dir: PathBuf,
    done: HashSet<u128>,
    cursors: std::collections::HashMap<String, String>,
    commits: u64,
    rolled_back: u64,
    /// `cloudtrail` files of committed commits (to seed the eventID dedupe of a new run).
    cloudtrail_files: Vec<String>,
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> LakeError + '_ {
    move |source| LakeError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// fsync a directory so a rename inside it is durable.
pub(crate) fn sync_dir(dir: &Path) -> Result<(), LakeError> {
    durable::sync_dir(dir).map_err(io(dir))
}

/// Write `bytes` to `path` durably ([`durable::write_atomic`]).
pub(crate) fn write_durable(path: &Path, bytes: &[u8]) -> Result<(), LakeError> {
    durable::write_atomic(path, bytes).map_err(io(path))
}

impl Ledger {
    /// Open (creating) the ledger of the lake at `root`, rolling back unfinished commits.
    pub fn open(root: &Path) -> Result<Self, LakeError> {
        let dir = root.join(LEDGER_DIR);
        fs::create_dir_all(&dir).map_err(io(&dir))?;
        let mut ledger = Ledger {
            root: root.to_path_buf(),
            dir: dir.clone(),
            done: HashSet::new(),
            cursors: Default::default(),
            commits: 0,
            rolled_back: 0,
            cloudtrail_files: Vec::new(),
        };
        let mut entries: Vec<PathBuf> = fs::read_dir(&dir)
            .map_err(io(&dir))?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .collect();
        entries.sort();
        for path in entries {
            let ext = path.extension().and_then(|e| e.to_str()).unwrap_or("");
            match ext {
                "json" => {
                    let rec = Self::read_record(&path)?;
                    ledger.remember(&rec);
                }
                "pending" => {
                    let rec = Self::read_record(&path)?;
                    ledger.roll_back(&rec)?;
                    fs::remove_file(&path).map_err(io(&path))?;
                    ledger.rolled_back += 1;
                    tracing::warn!(commit = %rec.id, files = rec.files.len(), "rolled back an unfinished commit");
                }
                // A temp file of `write_atomic` (`writing`: the name older versions used).
                "tmp" | "writing" => {
                    let _ = fs::remove_file(&path);
                }
                _ => {}
            }
        }
        Ok(ledger)
    }

    fn read_record(path: &Path) -> Result<CommitRecord, LakeError> {
        let bytes = fs::read(path).map_err(io(path))?;
        serde_json::from_slice(&bytes).map_err(|e| LakeError::Ledger {
            path: path.to_path_buf(),
            reason: e.to_string(),
        })
    }

    fn roll_back(&self, rec: &CommitRecord) -> Result<(), LakeError> {
        for f in &rec.files {
            let final_path = self.root.join(f);
            for p in [final_path.clone(), temp_path(&final_path)] {
                match fs::remove_file(&p) {
                    Ok(()) => {}
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                    Err(e) => return Err(LakeError::Io { path: p, source: e }),
                }
            }
        }
        Ok(())
    }

    /// Whether a source object, alert or checkpoint is already in the lake.
    pub fn is_done(&self, entry: &impl Recorded) -> bool {
        self.done.contains(&entry.fingerprint())
    }

    /// The committed position of a source cursor (the newest commit's value).
    pub fn cursor(&self, name: &str) -> Option<&str> {
        self.cursors.get(name).map(String::as_str)
    }

    /// Every committed cursor whose name starts with `prefix`.
    pub fn cursors_with_prefix<'a>(
        &'a self,
        prefix: &'a str,
    ) -> impl Iterator<Item = (&'a str, &'a str)> + 'a {
        self.cursors
            .iter()
            .filter(move |(k, _)| k.starts_with(prefix))
            .map(|(k, v)| (k.as_str(), v.as_str()))
    }

    /// Committed commits found at open plus those made since.
    pub fn commits(&self) -> u64 {
        self.commits
    }

    /// Unfinished commits rolled back at open.
    pub fn rolled_back(&self) -> u64 {
        self.rolled_back
    }

    /// Step 1: record the intent durably.
    pub(crate) fn begin(&self, rec: &CommitRecord) -> Result<PathBuf, LakeError> {
        let path = self.dir.join(format!("{}.pending", rec.id));
        let bytes = serde_json::to_vec(rec).map_err(|e| LakeError::Ledger {
            path: path.clone(),
            reason: e.to_string(),
        })?;
        write_durable(&path, &bytes)?;
        Ok(path)
    }

    /// Step 4: the commit point.
    pub(crate) fn finish(&mut self, rec: &CommitRecord, pending: &Path) -> Result<(), LakeError> {
        let path = self.dir.join(format!("{}.json", rec.id));
        fs::rename(pending, &path).map_err(io(&path))?;
        sync_dir(&self.dir)?;
        self.remember(rec);
        Ok(())
    }

    fn remember(&mut self, rec: &CommitRecord) {
        for s in &rec.sources {
            self.done.insert(Recorded::fingerprint(s));
        }
        self.cursors
            .extend(rec.cursors.iter().map(|(k, v)| (k.clone(), v.clone())));
        let ct = format!("{}/", Table::Cloudtrail.name());
        self.cloudtrail_files.extend(
            rec.files
                .iter()
                .filter(|f| f.starts_with(&ct) && f.ends_with(".parquet"))
                .cloned(),
        );
        self.commits += 1;
    }

    /// The `cloudtrail` parquet files of every commit, relative to the lake root.
    pub fn cloudtrail_files(&self) -> &[String] {
        &self.cloudtrail_files
    }

    /// The committed records whose sequence number is above `seq`, in commit order (read from
    /// disk: the ledger keeps only fingerprints in memory).
    pub fn committed_after(&self, seq: u64) -> Result<Vec<CommitRecord>, LakeError> {
        let mut paths: Vec<PathBuf> = fs::read_dir(&self.dir)
            .map_err(io(&self.dir))?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|e| e == "json"))
            .filter(|p| {
                p.file_stem()
                    .and_then(|s| s.to_str())
                    .is_some_and(|s| seq_of(s) > seq)
            })
            .collect();
        paths.sort();
        paths.iter().map(|p| Self::read_record(p)).collect()
    }
}

/// The hidden temp name a final file is written under before its rename.
pub(crate) fn temp_path(final_path: &Path) -> PathBuf {
    let name = final_path
        .file_name()
        .and_then(|n| n.to_str())
        .unwrap_or("part");
    final_path.with_file_name(format!(".{name}.tmp"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn src(k: &str) -> SourceId {
        SourceId {
            key: k.into(),
            size: 10,
            etag: None,
        }
    }

    #[test]
    fn pending_commits_are_rolled_back_and_committed_ones_remembered() -> Result<(), LakeError> {
        let dir = tempfile::tempdir().map_err(|e| LakeError::Io {
            path: "tmp".into(),
            source: e,
        })?;
        let root = dir.path();
        let mut l = Ledger::open(root)?;
        let rec = CommitRecord {
            id: "c1".into(),
            files: vec!["flows/a.parquet".into()],
            sources: vec![src("a").into()],
            rows: Default::default(),
            cursors: [("cw:g:s".to_string(), "t1".to_string())].into(),
            detect: false,
        };
        let p = l.begin(&rec)?;
        l.finish(&rec, &p)?;
        // A second commit crashes after its file was renamed into place.
        let rec2 = CommitRecord {
            id: "c2".into(),
            files: vec!["flows/b.parquet".into()],
            sources: vec![src("b").into()],
            rows: Default::default(),
            cursors: [("cw:g:s".to_string(), "t2".to_string())].into(),
            detect: false,
        };
        l.begin(&rec2)?;
        fs::create_dir_all(root.join("flows")).map_err(io(root))?;
        fs::write(root.join("flows/b.parquet"), b"x").map_err(io(root))?;
        fs::write(root.join("flows/.b.parquet.tmp"), b"x").map_err(io(root))?;

        let l2 = Ledger::open(root)?;
        assert!(l2.is_done(&src("a")));
        assert!(!l2.is_done(&src("b")));
        assert!(!root.join("flows/b.parquet").exists());
        assert!(!root.join("flows/.b.parquet.tmp").exists());
        assert_eq!((l2.commits(), l2.rolled_back()), (1, 1));
        // The cursor is the committed one, not the rolled-back commit's.
        assert_eq!(l2.cursor("cw:g:s"), Some("t1"));
        assert_eq!(l2.cursors_with_prefix("cw:").count(), 1);
        assert!(
            !SourceId {
                size: 11,
                ..src("a")
            }
            .fingerprint()
            .eq(&src("a").fingerprint())
        );
        Ok(())
    }

    #[test]
    fn entries_keep_the_on_disk_form_of_earlier_builds() -> Result<(), serde_json::Error> {
        // As earlier builds wrote them: an object, an alert, a checkpoint.
        let wire = r#"[{"key":"AWSLogs/1/x.gz","size":10,"etag":"e"},{"key":"_alert/a1b2","size":0},{"key":"_checkpoint/gen-00000007","size":0}]"#;
        let entries: Vec<LedgerEntry> = serde_json::from_str(wire)?;
        assert_eq!(
            entries,
            [
                LedgerEntry::Object(SourceId {
                    key: "AWSLogs/1/x.gz".into(),
                    size: 10,
                    etag: Some("e".into()),
                }),
                LedgerEntry::Alert { id: "a1b2".into() },
                LedgerEntry::Checkpoint { generation: 7 },
            ]
        );
        assert_eq!(serde_json::to_string(&entries)?, wire);
        // The same fingerprints as the source ids earlier builds recorded.
        let old: Vec<SourceId> = serde_json::from_str(wire)?;
        for (e, o) in entries.iter().zip(&old) {
            assert_eq!(Recorded::fingerprint(e), o.fingerprint());
        }
        // Anything that would not encode back to the same bytes stays an object.
        for odd in [
            r#"{"key":"_checkpoint/gen-7","size":0}"#,
            r#"{"key":"_checkpoint/gen-x","size":0}"#,
            r#"{"key":"_alert/","size":0}"#,
            r#"{"key":"_alert/a","size":3}"#,
            r#"{"key":"_alert/a","size":0,"etag":"e"}"#,
        ] {
            let e: LedgerEntry = serde_json::from_str(odd)?;
            assert!(e.object().is_some(), "{odd} read as {e:?}");
            assert_eq!(serde_json::to_string(&e)?, odd);
        }
        Ok(())
    }
}
