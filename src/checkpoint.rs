//! Detection checkpoints: the baselines together with the lake commits they have judged, made
//! durable in the same lake commit as the alerts they produced.
//!
//! # Layout
//! `<state>/CURRENT` names the checkpoint in use; `<state>/gen-<seq>/` holds one checkpoint:
//! the engine's state files, then `checkpoint.json` (`{"covered": <seq>}`), written last. `seq`
//! is the ledger sequence number of the lake commit that publishes the checkpoint; that commit
//! holds the run's `alerts` rows and, as its only ledger entry, the checkpoint
//! ([`LedgerEntry::Checkpoint`], `_checkpoint/gen-<seq>` in the ledger's JSON).
//!
//! # Protocol (end of a run)
//! 1. close every open hour, deliver the alerts (JSONL file, SNS outbox);
//! 2. write `gen-<seq>/` (state, then `checkpoint.json`);
//! 3. commit the alerts to the lake with the checkpoint as source: **the commit point**;
//! 4. point `CURRENT` at `gen-<seq>` and delete older checkpoints.
//!
//! On start ([`Checkpoint::open`]): a `gen-*` newer than `CURRENT` whose source the ledger has
//! is rolled forward (crash between 3 and 4); one the ledger lacks is deleted (crash before
//! 3: its alerts were never committed, they are produced again). Then every lake commit made
//! with detection on and not covered by the checkpoint (a crash after rows were committed and
//! before step 3) is read back and judged again before new objects: alerts are neither lost
//! nor committed twice, and baselines learn each row once.
//!
//! A state directory belongs to one lake and one process at a time (like the outbox).
//!
//! A state directory written before checkpoints existed (state files at its top level, no
//! `CURRENT`) is loaded as is and covers nothing.

use std::fs;
use std::path::{Path, PathBuf};

use anyhow::Context;
use serde::{Deserialize, Serialize};

use flowtrail_lake::crashpoint;
use flowtrail_lake::{Ledger, LedgerEntry};

const CURRENT: &str = "CURRENT";
const MARKER: &str = "checkpoint.json";

#[derive(Debug, Serialize, Deserialize)]
struct Marker {
    /// Ledger commits up to this sequence number are judged by this checkpoint.
    covered: u64,
}

/// The detection checkpoint of a state directory.
#[derive(Debug)]
pub struct Checkpoint {
    root: PathBuf,
    current: Option<String>,
    covered: u64,
}

fn gen_name(seq: u64) -> String {
    format!("gen-{seq:08}")
}

fn gen_seq(name: &str) -> Option<u64> {
    name.strip_prefix("gen-")?.parse().ok()
}

/// The ledger entry of the commit that publishes checkpoint `gen-<seq>`.
pub fn entry_of(seq: u64) -> LedgerEntry {
    LedgerEntry::Checkpoint { generation: seq }
}

fn write_durable(path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    flowtrail_core::durable::write_atomic(path, bytes)
        .with_context(|| format!("writing {}", path.display()))
}

impl Checkpoint {
    /// Open the checkpoint of state directory `root` against the lake's `ledger`, rolling a
    /// published checkpoint forward and deleting unpublished ones.
    pub fn open(root: &Path, ledger: &Ledger) -> anyhow::Result<Self> {
        fs::create_dir_all(root)
            .with_context(|| format!("creating the state folder {}", root.display()))?;
        let current_path = root.join(CURRENT);
        let mut current = match fs::read_to_string(&current_path) {
            Ok(s) => Some(s.trim().to_string()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
            Err(e) => {
                return Err(e).with_context(|| format!("reading {}", current_path.display()));
            }
        };
        let current_seq = current.as_deref().and_then(gen_seq).unwrap_or(0);
        let mut gens: Vec<(u64, String)> = fs::read_dir(root)
            .with_context(|| format!("reading {}", root.display()))?
            .filter_map(|e| e.ok())
            .filter_map(|e| {
                let name = e.file_name().to_string_lossy().into_owned();
                gen_seq(&name).map(|s| (s, name))
            })
            .collect();
        gens.sort();
        for (seq, name) in gens.iter().rev() {
            if *seq <= current_seq {
                break;
            }
            let published = gen_name(*seq) == *name
                && ledger.is_done(&entry_of(*seq))
                && root.join(name).join(MARKER).is_file();
            if published {
                tracing::warn!(checkpoint = %name, "rolling forward a detection checkpoint an interrupted run committed");
                write_durable(&current_path, name.as_bytes())?;
                current = Some(name.clone());
                break;
            }
        }
        // Delete every other generation (unpublished ones and those replaced).
        for (_, name) in &gens {
            if Some(name) != current.as_ref() {
                let dir = root.join(name);
                fs::remove_dir_all(&dir)
                    .with_context(|| format!("removing the stale checkpoint {}", dir.display()))?;
            }
        }
        let covered = match &current {
            Some(name) => {
                let path = root.join(name).join(MARKER);
                let bytes = fs::read(&path).with_context(|| {
                    format!(
                        "reading {} (named by {}; is another flowtrail run, or a run over another \
                         lake, using this state folder?)",
                        path.display(),
                        current_path.display()
                    )
                })?;
                let m: Marker = serde_json::from_slice(&bytes)
                    .with_context(|| format!("unreadable checkpoint {}", path.display()))?;
                m.covered
            }
            None => 0,
        };
        Ok(Self {
            root: root.to_path_buf(),
            current,
            covered,
        })
    }

    /// Where the engine loads its state from.
    pub fn load_dir(&self) -> PathBuf {
        match &self.current {
            Some(name) => self.root.join(name),
            None => self.root.clone(),
        }
    }

    /// Ledger commits up to this sequence number are judged already.
    pub fn covered(&self) -> u64 {
        self.covered
    }

    /// Step 2: write the checkpoint the commit numbered `seq` will publish; returns its ledger
    /// entry.
    pub fn prepare(
        &self,
        seq: u64,
        save: impl FnOnce(&Path) -> anyhow::Result<()>,
    ) -> anyhow::Result<LedgerEntry> {
        let name = gen_name(seq);
        let dir = self.root.join(&name);
        if dir.exists() {
            fs::remove_dir_all(&dir).with_context(|| format!("removing {}", dir.display()))?;
        }
        fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
        save(&dir)?;
        crashpoint::hit("state_mid");
        let marker = serde_json::to_vec(&Marker { covered: seq })?;
        write_durable(&dir.join(MARKER), &marker)?;
        crashpoint::hit("state_written");
        Ok(entry_of(seq))
    }

    /// Step 4: use checkpoint `seq` from now on (its commit is durable).
    pub fn publish(&mut self, seq: u64) -> anyhow::Result<()> {
        let name = gen_name(seq);
        write_durable(&self.root.join(CURRENT), name.as_bytes())?;
        if let Some(old) = self.current.replace(name) {
            let _ = fs::remove_dir_all(self.root.join(old));
        }
        self.covered = seq;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unpublished_checkpoints_are_dropped_and_published_ones_rolled_forward() -> anyhow::Result<()>
    {
        let dir = tempfile::tempdir()?;
        let lake = dir.path().join("lake");
        let state = dir.path().join("state");
        let mut w = flowtrail_lake::LakeWriter::open(&lake, Default::default())?;
        let cp = Checkpoint::open(&state, w.ledger())?;
        assert_eq!((cp.covered(), cp.load_dir()), (0, state.clone()));
        // Written, never committed: dropped at the next open.
        cp.prepare(1, |d| Ok(fs::write(d.join("s.json"), b"{}")?))?;
        let cp = Checkpoint::open(&state, w.ledger())?;
        assert!(!state.join("gen-00000001").exists());
        // Written and committed, crash before CURRENT: rolled forward.
        let src = cp.prepare(1, |d| Ok(fs::write(d.join("s.json"), b"{}")?))?;
        w.source_done(src);
        w.commit()?;
        let cp = Checkpoint::open(&state, w.ledger())?;
        assert_eq!(cp.covered(), 1);
        assert_eq!(cp.load_dir(), state.join("gen-00000001"));
        assert_eq!(fs::read_to_string(state.join(CURRENT))?, "gen-00000001");
        // The ledger holds it as earlier builds wrote it.
        let record = fs::read_to_string(
            lake.join("_ledger")
                .join(format!("{}.json", w.ledger().committed_after(0)?[0].id)),
        )?;
        assert!(
            record.contains(r#""sources":[{"key":"_checkpoint/gen-00000001","size":0}]"#),
            "{record}"
        );
        Ok(())
    }
}
