//! A lake on S3 (`--lake s3://bucket/prefix`): the local lake protocol runs in a staging
//! directory, and every committed commit is then copied to S3 with the same relative keys.
//!
//! # Protocol
//! 1. The local commit ([`crate::LakeWriter::commit`]) is the commit point for the pipeline:
//!    sources acknowledged, cursors advanced.
//! 2. Its files are PUT to `s3://bucket/prefix/<same path>` (each PUT is atomic: readers such
//!    as Athena never see half a file), then its ledger record `_ledger/<commit>.json`: the
//!    commit point on S3. A marker `_ledger/<commit>.uploaded` records it locally, and the local
//!    copies of the data files are deleted (S3 holds them; staging stays small).
//! 3. An upload that fails (S3 unavailable) is retried after the next commit and at the next
//!    start ([`S3Mirror::sync`]): PUTs of the same bytes to the same keys are idempotent, so a
//!    crash anywhere in step 2 is repaired by doing it again. Nothing is lost and no row is
//!    added twice.
//! 4. A staging directory without a ledger (a new ECS task, a new machine) first fetches the
//!    ledger records from S3 ([`S3Mirror::seed_ledger`]): the sources already in the lake and
//!    the CloudWatch Logs positions carry over. Committed files are read back (the detection
//!    hours that were open, the CloudTrail eventIDs to dedupe against, the commits detection
//!    never judged) by [`crate::reread::committed_rows`], which lists them on S3
//!    ([`S3Mirror::hour_files`]), fetches each one into staging ([`S3Mirror::fetch`]) and
//!    deletes it again once read.

use std::fs;
use std::path::{Path, PathBuf};

use aws_sdk_s3::Client;
use aws_sdk_s3::config::http::HttpResponse;
use aws_sdk_s3::error::{ProvideErrorMetadata, SdkError};
use tokio::runtime::Handle;

use flowtrail_core::Table;
use flowtrail_core::layout::LEDGER_DIR;

use crate::LakeError;
use crate::ledger::CommitRecord;
use crate::s3url::S3Url;

/// Copies committed commits of a staging lake to S3.
#[derive(Debug, Clone)]
pub struct S3Mirror {
    client: Client,
    handle: Handle,
    url: S3Url,
}

/// What a sync did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct SyncStats {
    /// Commits copied.
    pub commits: usize,
    /// Files copied.
    pub files: usize,
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> LakeError + '_ {
    move |source| LakeError::Io {
        path: path.to_path_buf(),
        source,
    }
}

impl S3Mirror {
    /// A mirror to `url`.
    pub fn new(client: Client, handle: Handle, url: S3Url) -> Self {
        Self {
            client,
            handle,
            url,
        }
    }

    /// The S3 location.
    pub fn url(&self) -> &S3Url {
        &self.url
    }

    fn key(&self, rel: &str) -> String {
        self.url.key(rel)
    }

    /// A failed SDK call, retryable as the AWS edge classifies it.
    fn err<E>(&self, op: &str, key: &str, e: &SdkError<E, HttpResponse>) -> LakeError
    where
        E: ProvideErrorMetadata + std::error::Error + 'static,
    {
        self.url.sdk_error(op, key, e)
    }

    fn put(&self, rel: &str, bytes: Vec<u8>) -> Result<(), LakeError> {
        let key = self.key(rel);
        self.handle
            .block_on(
                self.client
                    .put_object()
                    .bucket(&self.url.bucket)
                    .key(&key)
                    .body(bytes.into())
                    .send(),
            )
            .map_err(|e| self.err("PutObject", &key, &e))?;
        Ok(())
    }

    fn get(&self, key: &str) -> Result<Vec<u8>, LakeError> {
        // Not retryable: S3 is strongly consistent, so a key that is not there now is gone.
        self.get_opt(key)?.ok_or_else(|| {
            let reason = "NoSuchKey: the lake has no such file";
            self.url.error("GetObject", key, reason, false)
        })
    }

    /// `key`'s bytes; `None` when S3 answers that there is no such key.
    fn get_opt(&self, key: &str) -> Result<Option<Vec<u8>>, LakeError> {
        Ok(self
            .url
            .get_if_exists(&self.client, &self.handle, key)?
            .map(|(bytes, _)| bytes))
    }

    /// Keys under `prefix` (relative to the lake), with `delimiter`: (objects, common prefixes).
    fn list(
        &self,
        rel_prefix: &str,
        delimiter: bool,
    ) -> Result<(Vec<String>, Vec<String>), LakeError> {
        let prefix = self.key(rel_prefix);
        let strip = self.key("");
        let mut objects = Vec::new();
        let mut prefixes = Vec::new();
        let mut token = None;
        loop {
            let mut req = self
                .client
                .list_objects_v2()
                .bucket(&self.url.bucket)
                .prefix(&prefix)
                .set_continuation_token(token.clone());
            if delimiter {
                req = req.delimiter("/");
            }
            let r = self
                .handle
                .block_on(req.send())
                .map_err(|e| self.err("ListObjectsV2", &prefix, &e))?;
            for o in r.contents() {
                if let Some(k) = o.key() {
                    objects.push(k.strip_prefix(&strip).unwrap_or(k).to_string());
                }
            }
            for p in r.common_prefixes() {
                if let Some(k) = p.prefix() {
                    prefixes.push(k.strip_prefix(&strip).unwrap_or(k).to_string());
                }
            }
            token = r.next_continuation_token().map(str::to_string);
            if token.is_none() {
                break;
            }
        }
        Ok((objects, prefixes))
    }

    /// When `staging` has no ledger yet, fetch the ledger records from S3 (marked as already
    /// uploaded). Returns records fetched.
    pub fn seed_ledger(&self, staging: &Path) -> Result<usize, LakeError> {
        let dir = staging.join(LEDGER_DIR);
        let has_local = fs::read_dir(&dir)
            .map(|rd| {
                rd.flatten()
                    .any(|e| e.file_name().to_string_lossy().ends_with(".json"))
            })
            .unwrap_or(false);
        if has_local {
            return Ok(0);
        }
        fs::create_dir_all(&dir).map_err(io(&dir))?;
        let (objects, _) = self.list(&format!("{LEDGER_DIR}/"), true)?;
        let mut n = 0;
        for rel in objects {
            let Some(name) = rel.strip_prefix(&format!("{LEDGER_DIR}/")) else {
                continue;
            };
            let Some(stem) = name.strip_suffix(".json") else {
                continue;
            };
            let bytes = self.get(&self.key(&rel))?;
            fs::write(dir.join(format!("{stem}.uploaded")), b"").map_err(io(&dir))?;
            crate::ledger::write_durable(&dir.join(name), &bytes)?;
            n += 1;
        }
        Ok(n)
    }

    /// Copy every committed commit of `staging` that S3 does not have yet, oldest first, and
    /// delete the local copies of its data files.
    pub fn sync(&self, staging: &Path) -> Result<SyncStats, LakeError> {
        let dir = staging.join(LEDGER_DIR);
        let mut todo: Vec<PathBuf> = fs::read_dir(&dir)
            .map_err(io(&dir))?
            .flatten()
            .map(|e| e.path())
            .filter(|p| {
                p.extension().is_some_and(|x| x == "json") && !p.with_extension("uploaded").exists()
            })
            .collect();
        todo.sort();
        let mut stats = SyncStats::default();
        for path in todo {
            let bytes = fs::read(&path).map_err(io(&path))?;
            let rec: CommitRecord =
                serde_json::from_slice(&bytes).map_err(|e| LakeError::Ledger {
                    path: path.clone(),
                    reason: e.to_string(),
                })?;
            for rel in &rec.files {
                let local = staging.join(rel);
                match fs::read(&local) {
                    Ok(b) => {
                        self.put(rel, b)?;
                        stats.files += 1;
                    }
                    // Deleted after an upload whose marker a crash did not write: on S3 already.
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                    Err(e) => return Err(io(&local)(e)),
                }
            }
            let name = path
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            crate::crashpoint::hit("s3_files_copied");
            self.put(&format!("{LEDGER_DIR}/{name}"), bytes)?;
            crate::crashpoint::hit("s3_ledger_copied");
            crate::ledger::write_durable(&path.with_extension("uploaded"), b"")?;
            for rel in &rec.files {
                let _ = fs::remove_file(staging.join(rel));
            }
            stats.commits += 1;
        }
        Ok(stats)
    }

    /// Download the lake's file `rel` into `staging` (the same relative path); its local path.
    pub fn fetch(&self, staging: &Path, rel: &str) -> Result<PathBuf, LakeError> {
        let local = staging.join(rel);
        if let Some(p) = local.parent() {
            fs::create_dir_all(p).map_err(io(p))?;
        }
        let bytes = self.get(&self.key(rel))?;
        fs::write(&local, bytes).map_err(io(&local))?;
        Ok(local)
    }

    /// The bytes of the lake file `rel` (a path relative to the lake root).
    pub fn read(&self, rel: &str) -> Result<Vec<u8>, LakeError> {
        self.get(&self.key(rel))
    }

    /// [`S3Mirror::read`], with `None` when the lake has no such file.
    pub fn read_if_exists(&self, rel: &str) -> Result<Option<Vec<u8>>, LakeError> {
        self.get_opt(&self.key(rel))
    }

    /// The lake-relative path of `key` in `bucket`, when it is inside this lake.
    pub fn rel_of(&self, bucket: &str, key: &str) -> Option<String> {
        self.url.rel_of(bucket, key)
    }

    /// The lake-relative paths of `table`'s files in hour partitions from `from_ms` on (the
    /// open detection hours to rebuild; read back with [`crate::reread::committed_rows`]).
    pub fn hour_files(&self, table: Table, from_ms: i64) -> Result<Vec<String>, LakeError> {
        let from_day = chrono::DateTime::from_timestamp_millis(from_ms)
            .map(|t| t.date_naive().format("%Y-%m-%d").to_string())
            .unwrap_or_default();
        let mut out = Vec::new();
        let (_, accounts) = self.list(&format!("{}/", table.name()), true)?;
        for acct in accounts {
            let (_, regions) = self.list(&acct, true)?;
            for region in regions {
                let (_, days) = self.list(&region, true)?;
                for day in days {
                    let d = day
                        .trim_end_matches('/')
                        .rsplit('/')
                        .next()
                        .and_then(|s| s.strip_prefix("date="))
                        .unwrap_or("");
                    if d < from_day.as_str() {
                        continue;
                    }
                    let (files, _) = self.list(&day, false)?;
                    for rel in files {
                        let in_range = crate::reader::hour_of(&rel).is_some_and(|h| h >= from_ms);
                        if !in_range || !rel.ends_with(".parquet") {
                            continue;
                        }
                        out.push(rel);
                    }
                }
            }
        }
        Ok(out)
    }
}
