//! The alerts file of `flowtrail replay` (`--alerts-out`): one JSON alert per line, kept
//! across runs. A run appends only the alerts the file does not hold yet (by alert id, which
//! is stable: detector, dedupe key and first-seen time), so re-running a replay leaves the
//! earlier alerts in place, and an interrupted run that judges an hour again does not write
//! its alerts twice. The lines are in the run's `--alerts-format` (native or OCSF); an alert's
//! id is read from either (`id`, or the finding's `finding_info.uid`), so a file may mix them.

use std::collections::HashSet;
use std::fs::OpenOptions;
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::Path;

use anyhow::Context;

use flowtrail_alerts::AlertsError;
use flowtrail_alerts::sink::jsonl::JsonlSink;
use flowtrail_alerts::sink::{AlertFormat, AlertSink};
use flowtrail_core::Alert;

/// Appends alerts the file does not already hold.
pub struct AlertsFile {
    sink: JsonlSink,
    known: HashSet<String>,
}

impl AlertsFile {
    /// Open `path` (created if missing) and learn the ids of the alerts already in it; new
    /// alerts are written in `format`.
    pub fn open(path: &Path, format: AlertFormat) -> anyhow::Result<Self> {
        let known = read_ids(path)
            .with_context(|| format!("reading the alerts file {}", path.display()))?;
        let sink = JsonlSink::append(path)
            .context("opening the alerts file")?
            .with_format(format);
        Ok(Self { sink, known })
    }
}

impl AlertSink for AlertsFile {
    fn send(&mut self, alerts: &[Alert]) -> Result<(), AlertsError> {
        let new: Vec<Alert> = alerts
            .iter()
            .filter(|a| !self.known.contains(&a.id))
            .cloned()
            .collect();
        self.sink.send(&new)?;
        self.known.extend(new.into_iter().map(|a| a.id));
        Ok(())
    }
}

/// The ids of the alerts in the file; a missing file holds none. A last line cut short (a
/// crash while writing) is ended with a newline so that the next alert starts a line of its
/// own; a line that is not an alert is left as it is.
fn read_ids(path: &Path) -> std::io::Result<HashSet<String>> {
    let mut file = match OpenOptions::new().read(true).append(true).open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(HashSet::new()),
        Err(e) => return Err(e),
    };
    let mut text = Vec::new();
    file.read_to_end(&mut text)?;
    if text.last().is_some_and(|b| *b != b'\n') {
        file.seek(SeekFrom::End(0))?;
        file.write_all(b"\n")?;
        file.sync_data()?;
    }
    Ok(text
        .split(|b| *b == b'\n')
        .filter_map(|line| serde_json::from_slice::<serde_json::Value>(line).ok())
        .filter_map(|v| {
            v.get("id")
                .or_else(|| v.pointer("/finding_info/uid"))
                .and_then(|id| id.as_str())
                .map(str::to_string)
        })
        .collect())
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    fn alert(id: &str) -> Alert {
        let mut v: serde_json::Value = serde_json::from_str(
            r#"{"id":"x","detector":"port_scan","severity":"high","title":"t",
                "account_id":"123456789012","region":"us-east-1",
                "entity":{"kind":"ip","id":"10.0.0.1"},
                "first_seen":"2026-01-08T10:05:00Z","last_seen":"2026-01-08T10:20:00Z",
                "count":1,"dedupe_key":"k","evidence":{}}"#,
        )
        .unwrap();
        v["id"] = id.into();
        serde_json::from_value(v).unwrap()
    }

    fn ids_in(path: &Path) -> Vec<String> {
        std::fs::read_to_string(path)
            .unwrap()
            .lines()
            .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
            .map(|v| v["id"].as_str().unwrap().to_string())
            .collect()
    }

    #[test]
    fn a_second_run_keeps_the_first_runs_alerts_and_adds_only_new_ones() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("alerts.jsonl");
        let mut first = AlertsFile::open(&path, AlertFormat::Native).unwrap();
        first.send(&[alert("a"), alert("b")]).unwrap();
        drop(first);
        let mut second = AlertsFile::open(&path, AlertFormat::Native).unwrap();
        assert_eq!(second.known.len(), 2);
        second.send(&[]).unwrap();
        second.send(&[alert("b"), alert("c")]).unwrap();
        second.send(&[alert("c")]).unwrap();
        assert_eq!(ids_in(&path), ["a", "b", "c"]);
    }

    #[test]
    fn ocsf_lines_are_known_by_their_finding_uid() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("alerts.jsonl");
        let mut first = AlertsFile::open(&path, AlertFormat::Ocsf).unwrap();
        first.send(&[alert("a")]).unwrap();
        drop(first);
        let text = std::fs::read_to_string(&path).unwrap();
        let v: serde_json::Value = serde_json::from_str(text.trim()).unwrap();
        assert_eq!(v["class_uid"], 2004);
        let mut second = AlertsFile::open(&path, AlertFormat::Ocsf).unwrap();
        second.send(&[alert("a"), alert("b")]).unwrap();
        assert_eq!(std::fs::read_to_string(&path).unwrap().lines().count(), 2);
    }

    #[test]
    fn a_line_cut_short_does_not_swallow_the_next_alert() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("alerts.jsonl");
        let whole = serde_json::to_string(&alert("a")).unwrap();
        std::fs::write(&path, format!("{whole}\n{{\"id\":\"b\",\"dete")).unwrap();
        let mut f = AlertsFile::open(&path, AlertFormat::Native).unwrap();
        assert_eq!(f.known.len(), 1);
        f.send(&[alert("b")]).unwrap();
        assert_eq!(ids_in(&path), ["a", "b"]);
    }
}
