//! Detection state on disk: JSON files under the state directory, replaced atomically (temp
//! file, fsync, rename), so a crash leaves the previous state or the new one, never a mix.
//!
//! The files of one save (the engine's position and the baselines) replace the previous ones
//! together: they are written to `<state>/.saving/` ([`begin_save`]), then `.saving/COMPLETE`
//! ([`seal_save`], the save's commit point), then moved over the old files ([`finish_save`]).
//! [`recover`], at load, deletes a `.saving/` without `COMPLETE` (the previous save stays) and
//! finishes the moves of one with it.

use std::fs;
use std::path::{Path, PathBuf};

use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::DetectError;

/// Write `value` as `dir/name` atomically.
pub fn save_json<T: Serialize>(dir: &Path, name: &str, value: &T) -> Result<(), DetectError> {
    let io = |path: &Path| {
        let path = path.to_path_buf();
        move |source| DetectError::Io { path, source }
    };
    fs::create_dir_all(dir).map_err(io(dir))?;
    let path = dir.join(name);
    let bytes = serde_json::to_vec(value).map_err(|e| DetectError::State {
        path: path.clone(),
        reason: e.to_string(),
    })?;
    flowtrail_core::durable::write_atomic(&path, &bytes).map_err(io(&path))
}

/// Read `dir/name`, or None when it does not exist.
pub fn load_json<T: DeserializeOwned>(dir: &Path, name: &str) -> Result<Option<T>, DetectError> {
    let path = dir.join(name);
    match fs::read(&path) {
        Ok(bytes) => serde_json::from_slice(&bytes)
            .map(Some)
            .map_err(|e| DetectError::State {
                path,
                reason: format!("unreadable state ({e}); move it away to start fresh"),
            }),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(source) => Err(DetectError::Io { path, source }),
    }
}

/// Where a save's files are written before they replace the state's.
const SAVING: &str = ".saving";
/// The last file of a save in [`SAVING`]: present, the save is durable.
const COMPLETE: &str = "COMPLETE";

fn io_err(path: &Path) -> impl FnOnce(std::io::Error) -> DetectError + '_ {
    move |source| DetectError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// Start a save of several files of `dir` as one: a new, empty folder to write them into.
pub fn begin_save(dir: &Path) -> Result<PathBuf, DetectError> {
    let saving = dir.join(SAVING);
    if saving.exists() {
        fs::remove_dir_all(&saving).map_err(io_err(&saving))?;
    }
    fs::create_dir_all(&saving).map_err(io_err(&saving))?;
    Ok(saving)
}

/// Make the save durable (its files are written): from now on it replaces the old files, if
/// need be at the next [`recover`].
pub fn seal_save(dir: &Path) -> Result<(), DetectError> {
    save_json(&dir.join(SAVING), COMPLETE, &true)
}

/// Finish or discard a save a crash interrupted (see the module docs).
pub fn recover(dir: &Path) -> Result<(), DetectError> {
    let saving = dir.join(SAVING);
    if saving.join(COMPLETE).is_file() {
        tracing::warn!(state = %dir.display(), "finishing a detection state save a crash interrupted");
        finish_save(dir)
    } else if saving.exists() {
        fs::remove_dir_all(&saving).map_err(io_err(&saving))
    } else {
        Ok(())
    }
}

/// Move the files of a sealed save into `dir`, then remove the save's folder.
pub fn finish_save(dir: &Path) -> Result<(), DetectError> {
    let saving = dir.join(SAVING);
    for e in fs::read_dir(&saving).map_err(io_err(&saving))? {
        let name = e.map_err(io_err(&saving))?.file_name();
        if name != COMPLETE && !name.to_string_lossy().starts_with('.') {
            let to = dir.join(&name);
            fs::rename(saving.join(&name), &to).map_err(io_err(&to))?;
        }
    }
    fs::File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(io_err(dir))?;
    fs::remove_dir_all(&saving).map_err(io_err(&saving))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_save_replaces_all_its_files_or_none() -> Result<(), DetectError> {
        let dir = tempfile::tempdir().map_err(io_err(Path::new("tmp")))?;
        let d = dir.path();
        let read = |name: &str| load_json::<u32>(d, name);
        let s = begin_save(d)?;
        save_json(&s, "a.json", &1)?;
        save_json(&s, "b.json", &1)?;
        seal_save(d)?;
        finish_save(d)?;
        assert_eq!((read("a.json")?, read("b.json")?), (Some(1), Some(1)));
        // Interrupted before the commit point: the previous save stays.
        fs::create_dir_all(d.join(SAVING)).map_err(io_err(d))?;
        save_json(&d.join(SAVING), "a.json", &2)?;
        recover(d)?;
        assert_eq!((read("a.json")?, read("b.json")?), (Some(1), Some(1)));
        assert!(!d.join(SAVING).exists());
        // Interrupted after it, one file moved: the other one follows.
        save_json(&d.join(SAVING), "b.json", &3)?;
        save_json(&d.join(SAVING), COMPLETE, &true)?;
        save_json(d, "a.json", &3)?;
        recover(d)?;
        assert_eq!((read("a.json")?, read("b.json")?), (Some(3), Some(3)));
        assert!(!d.join(SAVING).exists());
        Ok(())
    }
}
