//! Detection state on disk: JSON files under the state directory, replaced atomically (temp
//! file, fsync, rename), so a crash leaves the previous state or the new one, never a mix.

use std::fs;
use std::io::Write;
use std::path::Path;

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
    let tmp = dir.join(format!(".{name}.tmp"));
    let bytes = serde_json::to_vec(value).map_err(|e| DetectError::State {
        path: path.clone(),
        reason: e.to_string(),
    })?;
    {
        let mut f = fs::File::create(&tmp).map_err(io(&tmp))?;
        f.write_all(&bytes).map_err(io(&tmp))?;
        f.sync_all().map_err(io(&tmp))?;
    }
    fs::rename(&tmp, &path).map_err(io(&path))?;
    if let Ok(d) = fs::File::open(dir) {
        let _ = d.sync_all();
    }
    Ok(())
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
