//! A local folder in the AWS S3 layout (a copy of an archive bucket, or the bundled sample).
//! Listing walks the tree, skips hidden entries, classifies each file by its key and prunes by
//! delivery date; the order is the sorted key order, so a run is reproducible.

use std::fs;
use std::path::{Path, PathBuf};

use super::{DateRange, Location, SourceObject, normalize_key};
use crate::IngestError;
use crate::keys::{ObjectKind, parse_key};
use crate::lake::SourceId;

/// What a listing found.
#[derive(Debug, Default)]
pub struct Listing {
    /// Objects to read, in key order.
    pub objects: Vec<SourceObject>,
    /// Files that are not flow logs or CloudTrail (ignored).
    pub ignored: u64,
    /// Objects outside the date range (not read).
    pub out_of_range: u64,
}

/// List the objects under `root` (a folder or a single file).
pub fn list(root: &Path, range: &DateRange) -> Result<Listing, IngestError> {
    let io = |path: &Path| {
        let path = path.to_path_buf();
        move |source| IngestError::Io { path, source }
    };
    let mut files: Vec<(String, PathBuf, u64)> = Vec::new();
    let meta = fs::metadata(root).map_err(io(root))?;
    if meta.is_file() {
        let key = root.to_string_lossy().replace('\\', "/");
        files.push((key, root.to_path_buf(), meta.len()));
    } else {
        let mut stack = vec![root.to_path_buf()];
        while let Some(dir) = stack.pop() {
            for entry in fs::read_dir(&dir).map_err(io(&dir))? {
                let entry = entry.map_err(io(&dir))?;
                let name = entry.file_name();
                let name = name.to_string_lossy();
                if name.starts_with('.') || name.starts_with('_') {
                    continue;
                }
                let path = entry.path();
                let ft = entry.file_type().map_err(io(&path))?;
                if ft.is_dir() {
                    stack.push(path);
                } else if ft.is_file() {
                    let len = entry.metadata().map_err(io(&path))?.len();
                    let rel = path.strip_prefix(root).unwrap_or(&path);
                    let key = rel.to_string_lossy().replace('\\', "/");
                    files.push((key, path, len));
                }
            }
        }
    }
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
    let mut out = Listing::default();
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
}
