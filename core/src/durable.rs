//! Durable file replacement: the one way flowtrail writes a file that must survive a crash
//! whole or not at all (ledger entries, checkpoints, detection state, the alert outbox).
//! The bytes go to a temp file beside the target, are fsynced, renamed over the target, and
//! the folder is fsynced so the rename itself is durable. This is the only I/O in core: every
//! crate needs it, and six hand-written copies had drifted (two without fsync).

use std::fs::{self, File};
use std::io::{self, Write};
use std::path::{Path, PathBuf};

/// The temp file `write_atomic` writes before the rename: `.<name>.tmp` in the same folder,
/// hidden from readers that skip dot files.
pub fn temp_path(path: &Path) -> PathBuf {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    path.with_file_name(format!(".{name}.tmp"))
}

/// Replace `path` with `bytes` durably: temp file, fsync, rename, fsync of the folder.
/// A crash leaves the old content or the new, never a mix; a reader never sees a partial file.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> io::Result<()> {
    let tmp = temp_path(path);
    {
        let mut f = File::create(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()?;
    }
    fs::rename(&tmp, path)?;
    match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => sync_dir(dir),
        _ => Ok(()),
    }
}

/// fsync a folder so renames inside it are durable. Where a folder cannot be opened as a file
/// (some platforms), there is nothing to sync and this succeeds.
pub fn sync_dir(dir: &Path) -> io::Result<()> {
    match File::open(dir) {
        Ok(d) => d.sync_all().or_else(|e| {
            // Some filesystems refuse fsync on a directory handle; the rename still happened.
            if e.kind() == io::ErrorKind::InvalidInput {
                Ok(())
            } else {
                Err(e)
            }
        }),
        Err(e) if e.kind() == io::ErrorKind::PermissionDenied => Ok(()),
        Err(e) => Err(e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replaces_the_file_whole_and_leaves_no_temp() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let p = dir.path().join("state.json");
        write_atomic(&p, b"old").unwrap_or_else(|e| panic!("{e}"));
        write_atomic(&p, b"new content").unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(fs::read(&p).ok().as_deref(), Some(&b"new content"[..]));
        let names: Vec<String> = fs::read_dir(dir.path())
            .unwrap_or_else(|e| panic!("{e}"))
            .filter_map(|e| e.ok())
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .collect();
        assert_eq!(names, vec!["state.json".to_string()]);
    }

    #[test]
    fn a_missing_folder_is_an_error_naming_nothing_written() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let p = dir.path().join("no/such/folder/x");
        assert!(write_atomic(&p, b"x").is_err());
        assert!(!p.exists());
    }

    #[test]
    fn the_temp_file_is_hidden_beside_the_target() {
        assert_eq!(
            temp_path(Path::new("/l/_ledger/000001.json")),
            PathBuf::from("/l/_ledger/.000001.json.tmp")
        );
    }
}
