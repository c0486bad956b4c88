//! Claims: several ingest tasks on one queue, one lake on S3, and each source object
//! processed by one of them.
//!
//! This module owns the claim markers `<prefix>/_claims/<fingerprint as 32 hex>.json` of a lake
//! on S3, one per source object ([`SourceId::fingerprint`]), with the JSON body
//! `{owner, key, size, etag, state: "held"|"done", at_ms}`. The protocol:
//!
//! 1. Before fetching an object a task **claims** it: `PutObject` with `If-None-Match: *`.
//!    Success: the object is the task's ([`Claim::Mine`]).
//! 2. `412 Precondition Failed`: the marker exists; it is read. `done` → [`Claim::DoneElsewhere`]
//!    (its rows are in the lake: the message is a no-op). Held by another owner whose lease
//!    (`at_ms` + the SQS visibility timeout) has not run out → [`Claim::HeldElsewhere`] (leave the
//!    message; it comes back after its visibility timeout). Held by this owner (a retry of its own
//!    claim) or expired (the holder died) or unreadable → taken over with `PutObject`
//!    `If-Match: <the marker's ETag>`; a `412` there means another task took it first
//!    ([`Claim::HeldElsewhere`]).
//! 3. While the task works on the object it renews the lease ([`Claims::renew`], `If-Match` on
//!    its own marker's ETag), as it extends the visibility of the message.
//! 4. After the commit holding the object is on S3 (its ledger record uploaded), the marker is
//!    overwritten with `state: done` ([`Claims::done`]).
//!
//! A failed S3 call is returned as [`LakeError::Aws`], retryable as the AWS edge classifies
//! it ([`LakeError::is_retryable`]); the caller leaves the object's message on the queue and
//! it is tried again later. The owner id is unique per process (hostname, pid, start time and
//! a counter).

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use aws_sdk_s3::Client;
use aws_sdk_s3::error::SdkError;
use flowtrail_core::{Clock, SystemClock};
use serde::{Deserialize, Serialize};
use tokio::runtime::Handle;

use crate::LakeError;
use crate::ledger::SourceId;
use crate::s3url::S3Url;

/// The folder of the claim markers, relative to the lake.
pub const CLAIMS_DIR: &str = "_claims";

/// The outcome of a claim.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Claim {
    /// This task has the object: process it.
    Mine,
    /// Another task committed it to the lake already: nothing to do.
    DoneElsewhere,
    /// Another task is working on it: leave it for now.
    HeldElsewhere,
}

/// A marker's state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum MarkerState {
    /// A task is working on the object.
    Held,
    /// The object's rows are in the lake on S3.
    Done,
}

/// The body of a claim marker.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Marker {
    /// The task that wrote it.
    pub owner: String,
    /// The object's (normalized) key.
    pub key: String,
    /// The object's size.
    pub size: u64,
    /// The object's ETag.
    pub etag: Option<String>,
    /// Held or done.
    pub state: MarkerState,
    /// When it was written (ms since the epoch).
    pub at_ms: i64,
}

/// The claim markers of one lake on S3, for one owner.
pub struct Claims {
    client: Client,
    handle: Handle,
    url: S3Url,
    owner: String,
    lease: Duration,
    /// The ETag of each marker this owner holds (by the object's fingerprint), for renewals.
    held: Mutex<HashMap<u128, String>>,
    /// Marker times and lease expiry read this clock (the system clock unless given one).
    clock: Arc<dyn Clock>,
}

impl std::fmt::Debug for Claims {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Claims")
            .field("url", &self.url)
            .field("owner", &self.owner)
            .field("lease", &self.lease)
            .finish_non_exhaustive()
    }
}

/// A process-unique owner id: hostname, pid, start time and a counter.
pub fn new_owner() -> String {
    static N: AtomicU64 = AtomicU64::new(0);
    let host = std::env::var("HOSTNAME")
        .ok()
        .filter(|h| !h.is_empty())
        .or_else(|| {
            std::fs::read_to_string("/proc/sys/kernel/hostname")
                .ok()
                .map(|h| h.trim().to_string())
        })
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "host".to_string());
    format!(
        "{host}-{}-{:x}-{}",
        std::process::id(),
        SystemClock.now_ms(),
        N.fetch_add(1, Ordering::Relaxed)
    )
}

/// What a conditional write came to.
enum Put {
    /// Written; the new ETag.
    Written(String),
    /// `412` (or `409`, a concurrent conditional write): the condition did not hold.
    Refused,
}

impl Claims {
    /// Claims over the lake at `url` for a new process-unique owner, with `lease` (the SQS
    /// visibility timeout) after which a held claim may be taken over.
    pub fn new(client: Client, handle: Handle, url: S3Url, lease: Duration) -> Self {
        Self::with_owner(client, handle, url, lease, new_owner())
    }

    /// As [`Claims::new`] with a given owner id.
    pub fn with_owner(
        client: Client,
        handle: Handle,
        url: S3Url,
        lease: Duration,
        owner: impl Into<String>,
    ) -> Self {
        Self {
            client,
            handle,
            url,
            owner: owner.into(),
            lease,
            held: Mutex::new(HashMap::new()),
            clock: Arc::new(SystemClock),
        }
    }

    /// The same claims reading time from `clock` (tests move a [`flowtrail_core::ManualClock`]
    /// past a lease instead of sleeping).
    pub fn with_clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }

    /// This task's owner id.
    pub fn owner(&self) -> &str {
        &self.owner
    }

    /// The marker key of `id`.
    pub fn marker_key(&self, id: &SourceId) -> String {
        self.url
            .key(&format!("{CLAIMS_DIR}/{:032x}.json", id.fingerprint()))
    }

    fn body(&self, id: &SourceId, state: MarkerState) -> Result<Vec<u8>, LakeError> {
        let m = Marker {
            owner: self.owner.clone(),
            key: id.key.clone(),
            size: id.size,
            etag: id.etag.clone(),
            state,
            at_ms: self.clock.now_ms(),
        };
        serde_json::to_vec(&m)
            .map_err(|e| self.url.error("PutObject", &self.marker_key(id), e, false))
    }

    /// PutObject with an optional `If-None-Match` / `If-Match` condition.
    fn put(
        &self,
        key: &str,
        body: Vec<u8>,
        if_none_match: bool,
        if_match: Option<&str>,
    ) -> Result<Put, LakeError> {
        let mut req = self
            .client
            .put_object()
            .bucket(&self.url.bucket)
            .key(key)
            .content_type("application/json")
            .body(body.into());
        if if_none_match {
            req = req.if_none_match("*");
        }
        if let Some(etag) = if_match {
            req = req.if_match(etag);
        }
        match self.handle.block_on(req.send()) {
            Ok(out) => Ok(Put::Written(out.e_tag().unwrap_or_default().to_string())),
            Err(e) => match status(&e) {
                Some(412 | 409) => Ok(Put::Refused),
                _ => Err(self.url.sdk_error("PutObject", key, &e)),
            },
        }
    }

    /// The marker at `key` and its ETag; `None` when there is none.
    fn get(&self, key: &str) -> Result<Option<(Vec<u8>, String)>, LakeError> {
        self.url.get_if_exists(&self.client, &self.handle, key)
    }

    fn hold(&self, id: &SourceId, etag: String) {
        if let Ok(mut h) = self.held.lock() {
            h.insert(id.fingerprint(), etag);
        }
    }

    /// Claim `id` for this task (see the module doc).
    pub fn claim(&self, id: &SourceId) -> Result<Claim, LakeError> {
        let key = self.marker_key(id);
        if let Put::Written(etag) = self.put(&key, self.body(id, MarkerState::Held)?, true, None)? {
            tracing::debug!(object = %id.key, marker = %key, "claimed");
            self.hold(id, etag);
            return Ok(Claim::Mine);
        }
        let Some((bytes, etag)) = self.get(&key)? else {
            // Written and gone again between the two calls: ask again later.
            return Ok(Claim::HeldElsewhere);
        };
        match serde_json::from_slice::<Marker>(&bytes) {
            Ok(m) if m.state == MarkerState::Done => {
                tracing::debug!(object = %id.key, by = %m.owner, "done by another task");
                return Ok(Claim::DoneElsewhere);
            }
            Ok(m)
                if m.owner != self.owner
                    && m.at_ms + self.lease.as_millis() as i64 > self.clock.now_ms() =>
            {
                tracing::debug!(object = %id.key, by = %m.owner, "held by another task");
                return Ok(Claim::HeldElsewhere);
            }
            Ok(m) => {
                if m.owner != self.owner {
                    tracing::info!(object = %id.key, from = %m.owner, "taking over an expired claim");
                }
            }
            Err(e) => {
                tracing::warn!(marker = %key, error = %e, "unreadable claim marker; taking it over");
            }
        }
        match self.put(&key, self.body(id, MarkerState::Held)?, false, Some(&etag))? {
            Put::Written(etag) => {
                self.hold(id, etag);
                Ok(Claim::Mine)
            }
            Put::Refused => Ok(Claim::HeldElsewhere),
        }
    }

    /// Extend the lease of this task's claims on `ids` (while it works on them). A claim taken
    /// over meanwhile is logged and left to its new owner.
    pub fn renew(&self, ids: &[SourceId]) -> Result<(), LakeError> {
        for id in ids {
            let etag = match self.held.lock() {
                Ok(h) => h.get(&id.fingerprint()).cloned(),
                Err(_) => None,
            };
            let Some(etag) = etag else { continue };
            let key = self.marker_key(id);
            match self.put(&key, self.body(id, MarkerState::Held)?, false, Some(&etag))? {
                Put::Written(etag) => self.hold(id, etag),
                Put::Refused => {
                    tracing::warn!(object = %id.key, "claim taken over by another task while held");
                    if let Ok(mut h) = self.held.lock() {
                        h.remove(&id.fingerprint());
                    }
                }
            }
        }
        Ok(())
    }

    /// Mark `ids` done: the commit holding them is on S3.
    pub fn done(&self, ids: &[SourceId]) -> Result<(), LakeError> {
        for id in ids {
            let key = self.marker_key(id);
            self.put(&key, self.body(id, MarkerState::Done)?, false, None)?;
            if let Ok(mut h) = self.held.lock() {
                h.remove(&id.fingerprint());
            }
        }
        if !ids.is_empty() {
            tracing::debug!(objects = ids.len(), "claims marked done");
        }
        Ok(())
    }
}

/// The HTTP status of a service error.
fn status<E>(e: &SdkError<E, aws_sdk_s3::config::http::HttpResponse>) -> Option<u16> {
    e.raw_response().map(|r| r.status().as_u16())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn markers_round_trip_and_owners_differ() -> Result<(), serde_json::Error> {
        let m = Marker {
            owner: "h-1-a-0".into(),
            key: "AWSLogs/1/x.gz".into(),
            size: 3,
            etag: Some("e".into()),
            state: MarkerState::Done,
            at_ms: 5,
        };
        let text = serde_json::to_string(&m)?;
        assert!(text.contains(r#""state":"done""#), "{text}");
        assert_eq!(serde_json::from_str::<Marker>(&text)?, m);
        assert_ne!(new_owner(), new_owner());
        Ok(())
    }
}
