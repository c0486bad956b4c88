//! A local folder in the AWS S3 layout (a copy of an archive bucket, or the bundled sample).
//! Listing walks the tree, skips hidden entries, classifies each file by its key and prunes by
//! delivery date; the order is the sorted key order, so a run is reproducible.
//!
//! Symbolic links are followed, to files and to folders (staging an archive as a tree of
//! links is common); an object's key is its path under the root, through the links. Each file
//! and folder is listed once: a link back to a folder being walked (a loop), or a second link
//! to data already listed, is skipped and counted. What cannot be read (a broken link, a folder
//! without permission) is skipped with a warning and counted; only the root itself must be
//! readable.

use std::collections::HashSet;
use std::fs;
use std::path::{Path, PathBuf};

use super::{DateRange, Location, SourceObject, normalize_key};
use crate::IngestError;
use crate::keys::{ObjectKind, parse_key};
use flowtrail_lake::SourceId;

/// What a listing found.
#[derive(Debug, Default)]
pub struct Listing {
    /// Objects to read, in key order.
    pub objects: Vec<SourceObject>,
    /// Files that are not flow logs or CloudTrail (ignored).
    pub ignored: u64,
    /// Objects outside the date range (not read).
    pub out_of_range: u64,
    /// Entries that could not be read: broken links, folders or files without permission.
    pub unreadable: u64,
    /// Links to a folder or file already listed through another path: a loop back to a folder
    /// being walked, or a second link to the same data (listed once).
    pub loops: u64,
}

impl Listing {
    /// Files found under the root, whether read or skipped.
    pub fn files_found(&self) -> u64 {
        self.objects.len() as u64 + self.ignored + self.out_of_range
    }
}

/// The identity of a file or folder, whatever path reaches it.
#[cfg(unix)]
type NodeId = (u64, u64);
#[cfg(not(unix))]
type NodeId = PathBuf;

#[cfg(unix)]
fn node_id(_path: &Path, meta: &fs::Metadata) -> Option<NodeId> {
    use std::os::unix::fs::MetadataExt;
    Some((meta.dev(), meta.ino()))
}

#[cfg(not(unix))]
fn node_id(path: &Path, _meta: &fs::Metadata) -> Option<NodeId> {
    fs::canonicalize(path).ok()
}

/// A walk of the tree under one root.
struct Walk<'a> {
    root: &'a Path,
    /// (key, path, size) of every file.
    files: Vec<(String, PathBuf, u64)>,
    dirs_seen: HashSet<NodeId>,
    files_seen: HashSet<NodeId>,
    other: u64,
    unreadable: u64,
    loops: u64,
}

impl Walk<'_> {
    fn unreadable(&mut self, path: &Path, error: &std::io::Error) {
        tracing::warn!(path = %path.display(), %error, "skipping an unreadable entry of the source folder");
        self.unreadable += 1;
    }

    /// Whether `id` is new; a repeat is counted as a loop.
    fn first_visit(&mut self, path: &Path, dir: bool, id: Option<NodeId>) -> bool {
        let Some(id) = id else { return true };
        let new = if dir {
            self.dirs_seen.insert(id)
        } else {
            self.files_seen.insert(id)
        };
        if !new {
            tracing::debug!(path = %path.display(), "already listed through another path; skipped");
            self.loops += 1;
        }
        new
    }

    /// The entries of `dir`, sorted by name; `None` when it cannot be read.
    fn entries(&mut self, dir: &Path) -> Option<Vec<fs::DirEntry>> {
        let rd = match fs::read_dir(dir) {
            Ok(rd) => rd,
            Err(e) => {
                self.unreadable(dir, &e);
                return None;
            }
        };
        let mut entries = Vec::new();
        for entry in rd {
            match entry {
                Ok(e) => entries.push(e),
                Err(e) => self.unreadable(dir, &e),
            }
        }
        entries.sort_by_key(fs::DirEntry::file_name);
        Some(entries)
    }

    /// The metadata of an entry, through a link.
    fn metadata(&mut self, entry: &fs::DirEntry, path: &Path) -> Option<fs::Metadata> {
        let followed = match entry.file_type() {
            Ok(ft) if ft.is_symlink() => fs::metadata(path),
            Ok(_) => entry.metadata(),
            Err(e) => Err(e),
        };
        match followed {
            Ok(m) => Some(m),
            Err(e) => {
                self.unreadable(path, &e);
                None
            }
        }
    }

    fn run(&mut self, root_meta: &fs::Metadata) -> Result<(), IngestError> {
        self.dirs_seen.extend(node_id(self.root, root_meta));
        // The root must be readable; below it, what is not is skipped and counted.
        fs::read_dir(self.root).map_err(|source| IngestError::Io {
            path: self.root.to_path_buf(),
            source,
        })?;
        let mut stack = vec![self.root.to_path_buf()];
        while let Some(dir) = stack.pop() {
            let Some(entries) = self.entries(&dir) else {
                continue;
            };
            let mut subdirs = Vec::new();
            for entry in entries {
                let name = entry.file_name();
                let name = name.to_string_lossy();
                if name.starts_with('.') || name.starts_with('_') {
                    continue;
                }
                let path = entry.path();
                let Some(meta) = self.metadata(&entry, &path) else {
                    continue;
                };
                if meta.is_dir() {
                    if self.first_visit(&path, true, node_id(&path, &meta)) {
                        subdirs.push(path);
                    }
                } else if meta.is_file() {
                    if self.first_visit(&path, false, node_id(&path, &meta)) {
                        let rel = path.strip_prefix(self.root).unwrap_or(&path);
                        let key = rel.to_string_lossy().replace('\\', "/");
                        self.files.push((key, path, meta.len()));
                    }
                } else {
                    // A socket, FIFO or device: not a log object.
                    self.other += 1;
                }
            }
            // Depth first in name order: the first path to reach a file names it.
            stack.extend(subdirs.into_iter().rev());
        }
        Ok(())
    }
}

/// List the objects under `root` (a folder or a single file, either may be a link).
pub fn list(root: &Path, range: &DateRange) -> Result<Listing, IngestError> {
    let meta = fs::metadata(root).map_err(|source| IngestError::Io {
        path: root.to_path_buf(),
        source,
    })?;
    let mut walk = Walk {
        root,
        files: Vec::new(),
        dirs_seen: HashSet::new(),
        files_seen: HashSet::new(),
        other: 0,
        unreadable: 0,
        loops: 0,
    };
    if meta.is_file() {
        let key = root.to_string_lossy().replace('\\', "/");
        walk.files.push((key, root.to_path_buf(), meta.len()));
    } else {
        walk.run(&meta)?;
    }
    let files = walk.files;
    // Delivery-time order (then key order): detection closes hours by a watermark, so the
    // objects of all accounts and services should arrive roughly in time order.
    let mut files: Vec<(i64, String, PathBuf, u64)> = files
        .into_iter()
        .map(|(k, p, n)| {
            let nk = normalize_key(&k);
            let info = parse_key(&nk);
            let t = crate::keys::delivery_time_ms(&nk)
                .or_else(|| {
                    info.date
                        .and_then(|d| d.and_hms_opt(info.hour.unwrap_or(0), 0, 0))
                        .map(|t| t.and_utc().timestamp_millis())
                })
                .unwrap_or(i64::MIN);
            (t, k, p, n)
        })
        .collect();
    files.sort();
    let mut out = Listing {
        ignored: walk.other,
        unreadable: walk.unreadable,
        loops: walk.loops,
        ..Listing::default()
    };
    for (_, key, path, size) in files {
        let key = normalize_key(&key);
        let info = parse_key(&key);
        if info.kind == ObjectKind::Unknown {
            out.ignored += 1;
            continue;
        }
        if !range.may_contain(info.date) {
            out.out_of_range += 1;
            continue;
        }
        out.objects.push(SourceObject {
            id: SourceId {
                key,
                size,
                etag: None,
            },
            location: Location::Local(path),
            info,
        });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lists_sorted_classified_and_skips_hidden() -> Result<(), Box<dyn std::error::Error>> {
        let dir = tempfile::tempdir()?;
        let base = dir
            .path()
            .join("AWSLogs/111122223333/vpcflowlogs/us-east-1/2026/01/08");
        fs::create_dir_all(&base)?;
        fs::write(base.join("b_vpcflowlogs_x.log.gz"), b"x")?;
        fs::write(base.join("a_vpcflowlogs_x.log.gz"), b"xy")?;
        fs::write(base.join(".hidden.log.gz"), b"x")?;
        fs::write(dir.path().join("README.md"), b"x")?;
        let l = list(dir.path(), &DateRange::default())?;
        let keys: Vec<&str> = l.objects.iter().map(|o| o.id.key.as_str()).collect();
        assert_eq!(keys.len(), 2);
        assert!(keys[0].ends_with("a_vpcflowlogs_x.log.gz") && keys[0].starts_with("AWSLogs/"));
        assert_eq!(l.objects[0].id.size, 2);
        assert_eq!(l.ignored, 1);
        Ok(())
    }

    const DAY: &str = "AWSLogs/111122223333/vpcflowlogs/us-east-1/2026/01/08";

    #[cfg(unix)]
    #[test]
    fn links_to_files_and_folders_are_followed() -> Result<(), Box<dyn std::error::Error>> {
        use std::os::unix::fs::symlink;
        let archive = tempfile::tempdir()?;
        let day = archive.path().join(DAY);
        fs::create_dir_all(&day)?;
        fs::write(day.join("a_vpcflowlogs_x.log.gz"), b"xy")?;
        fs::write(day.join("b_vpcflowlogs_x.log.gz"), b"xyz")?;
        // A staging folder of links: one to a whole account tree, one to a single file.
        let staging = tempfile::tempdir()?;
        symlink(
            archive.path().join("AWSLogs"),
            staging.path().join("AWSLogs"),
        )?;
        let other = staging
            .path()
            .join("more/AWSLogs/111122223333/vpcflowlogs/us-east-1/2026/01/09");
        fs::create_dir_all(&other)?;
        symlink(
            day.join("a_vpcflowlogs_x.log.gz"),
            other.join("c_vpcflowlogs_x.log.gz"),
        )?;
        let l = list(staging.path(), &DateRange::default())?;
        let keys: Vec<&str> = l.objects.iter().map(|o| o.id.key.as_str()).collect();
        // c links to a: the data is listed once, under the first path that reaches it.
        assert_eq!(keys.len(), 2, "{keys:?}");
        assert!(keys.iter().all(|k| k.starts_with("AWSLogs/")), "{keys:?}");
        assert_eq!(l.objects[1].id.size, 3, "the size is the target's");
        assert_eq!((l.loops, l.unreadable, l.ignored), (1, 0, 0));
        // A link as the root works too.
        let root_link = staging.path().join("root-link");
        symlink(archive.path(), &root_link)?;
        assert_eq!(list(&root_link, &DateRange::default())?.objects.len(), 2);
        Ok(())
    }

    #[cfg(unix)]
    #[test]
    fn loops_and_broken_links_are_skipped_and_counted() -> Result<(), Box<dyn std::error::Error>> {
        use std::os::unix::fs::symlink;
        let dir = tempfile::tempdir()?;
        let day = dir.path().join(DAY);
        fs::create_dir_all(&day)?;
        fs::write(day.join("a_vpcflowlogs_x.log.gz"), b"xy")?;
        symlink(dir.path(), day.join("back-to-root"))?;
        symlink(
            day.join("gone.log.gz"),
            day.join("dangling_vpcflowlogs.log.gz"),
        )?;
        let l = list(dir.path(), &DateRange::default())?;
        assert_eq!(l.objects.len(), 1);
        assert_eq!(l.loops, 1, "{l:?}");
        assert_eq!(l.unreadable, 1, "{l:?}");
        assert_eq!(l.files_found(), 1);
        Ok(())
    }

    #[test]
    fn a_missing_root_is_an_error_naming_it() -> Result<(), Box<dyn std::error::Error>> {
        let dir = tempfile::tempdir()?;
        let missing = dir.path().join("no-such-archive");
        let e = list(&missing, &DateRange::default()).err();
        assert!(
            matches!(&e, Some(IngestError::Io { path, .. }) if path == &missing),
            "{e:?}"
        );
        Ok(())
    }
}
