//! CloudWatch Logs groups as a source: flow logs delivered to a log group (header-less lines in
//! a configured format) and CloudTrail delivered to a log group (one event per log event).
//!
//! # Reading and checkpoints
//! Each poll lists a group's streams (`DescribeLogStreams`, most recently written first) and
//! reads every stream written since its checkpoint with `GetLogEvents` from the stream's
//! forward token: the token *is* the per-stream checkpoint. Polled events come back as
//! [`Polled`] chunks carrying the new token; the caller buffers the rows in the lake and sets
//! the token as a lake cursor (`LakeWriter::set_cursor`), so the checkpoint is committed
//! atomically with the rows it covers. After a crash the lake's ledger hands back the last
//! committed tokens ([`CloudWatchSource::restore`]) and reading resumes exactly after them:
//! nothing read twice, nothing skipped.
//!
//! # Rate limits
//! CloudWatch Logs allows a handful of `DescribeLogStreams`/`GetLogEvents` calls per second per
//! account and region (5 and 10 by default). Every call here goes through one limiter
//! ([`CloudWatchOptions::max_requests_per_second`], default 4), and a throttled call is retried by
//! the SDK's standard retry mode with backoff; streams not read in one poll (the limit on
//! events per poll) are read by the next.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use aws_sdk_cloudwatchlogs::Client;
use aws_sdk_cloudwatchlogs::types::OrderBy;
use serde::{Deserialize, Serialize};
use tokio::runtime::Handle;

use flowtrail_core::Table;

use crate::IngestError;
use crate::decode::cloudtrail::{CloudTrailOptions, decode_cloudtrail_events};
use crate::decode::flow::{FlowDecodeOptions, FlowFormat, decode_flow_lines};
use crate::sink::VecSink;
use flowtrail_lake::quarantine::QuarantineRecord;

/// What a log group carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogKind {
    /// VPC flow log lines (needs a format).
    Flows,
    /// CloudTrail events.
    Cloudtrail,
}

/// One log group to read.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LogGroup {
    /// Log group name.
    pub name: String,
    /// What it carries.
    pub kind: LogKind,
    /// Flow-log format of the lines (`${version} ${account-id} ...`); default: the AWS default
    /// format (v2).
    #[serde(default)]
    pub format: Option<String>,
    /// Account of the rows when the lines do not carry one.
    #[serde(default)]
    pub account_id: Option<String>,
    /// Region of the rows when the lines do not carry one.
    #[serde(default)]
    pub region: Option<String>,
    /// Only streams whose name starts with this.
    #[serde(default)]
    pub stream_prefix: Option<String>,
}

/// Source settings.
#[derive(Debug, Clone)]
pub struct CloudWatchOptions {
    /// API calls per second, all groups together.
    pub max_requests_per_second: f64,
    /// Events read per poll, all streams together (bounds memory; the rest waits for the next
    /// poll).
    pub max_events_per_poll: usize,
    /// Streams listed per group per poll (most recently written first).
    pub max_streams_per_group: usize,
}

impl Default for CloudWatchOptions {
    fn default() -> Self {
        Self {
            max_requests_per_second: 4.0,
            max_events_per_poll: 200_000,
            max_streams_per_group: 1_000,
        }
    }
}

/// A stream's checkpoint: the forward token to read from, and the stream's last ingestion
/// time seen (a stream not written since is not read again).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct StreamCursor {
    /// `nextForwardToken` after the last event read.
    pub token: String,
    /// `lastIngestionTime` of the stream when it was read (ms).
    pub ingested_ms: i64,
}

/// Events read from one stream in a poll, decoded.
#[derive(Debug)]
pub struct Polled {
    /// `cloudwatch://<group>/<stream>`: names the rows' source in quarantine records.
    pub unit: String,
    /// Table of the rows.
    pub table: Table,
    /// Decoded rows and quarantined events.
    pub sink: VecSink,
    /// Log events read.
    pub events: usize,
    /// Lake cursor name of the stream.
    pub cursor_name: String,
    /// The stream's position after these events (serialized [`StreamCursor`]).
    pub cursor: String,
    /// Newest ingestion time among the events (ms), for lag.
    pub newest_ingestion_ms: Option<i64>,
}

struct Limiter {
    interval: Duration,
    next: Instant,
}

impl Limiter {
    fn new(per_second: f64) -> Self {
        Self {
            interval: Duration::from_secs_f64(1.0 / per_second.max(0.01)),
            next: Instant::now(),
        }
    }

    fn wait(&mut self) {
        let now = Instant::now();
        if self.next > now {
            std::thread::sleep(self.next - now);
        }
        self.next = self.next.max(now) + self.interval;
    }
}

/// The lake cursor name of a stream.
pub fn cursor_name(group: &str, stream: &str) -> String {
    format!("cloudwatch:{group}:{stream}")
}

/// Reads log groups; a blocking API over a runtime handle.
pub struct CloudWatchSource {
    client: Client,
    handle: Handle,
    groups: Vec<(LogGroup, Option<FlowFormat>)>,
    opts: CloudWatchOptions,
    cursors: HashMap<String, StreamCursor>,
    limiter: Limiter,
    polls: u64,
    /// API calls made.
    pub requests: u64,
}

/// Every this many polls, streams are read whatever their last ingestion time says.
const SWEEP_EVERY: u64 = 10;

impl std::fmt::Debug for CloudWatchSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CloudWatchSource")
            .field("groups", &self.groups.len())
            .field("streams", &self.cursors.len())
            .finish()
    }
}

impl CloudWatchSource {
    /// A source over `groups`. A flow group's format is checked here (a bad format is a
    /// startup error naming the group).
    pub fn new(
        client: Client,
        handle: Handle,
        groups: Vec<LogGroup>,
        opts: CloudWatchOptions,
    ) -> Result<Self, IngestError> {
        let groups = groups
            .into_iter()
            .map(|g| {
                let fmt = match (g.kind, &g.format) {
                    (LogKind::Flows, Some(f)) => {
                        Some(FlowFormat::parse(f).map_err(|e| IngestError::Format {
                            key: format!("log group {}", g.name),
                            reason: format!("flow-log format: {e}"),
                        })?)
                    }
                    (LogKind::Flows, None) => Some(FlowFormat::default_v2()),
                    (LogKind::Cloudtrail, _) => None,
                };
                Ok((g, fmt))
            })
            .collect::<Result<Vec<_>, IngestError>>()?;
        Ok(Self {
            client,
            handle,
            groups,
            limiter: Limiter::new(opts.max_requests_per_second),
            opts,
            cursors: HashMap::new(),
            polls: 0,
            requests: 0,
        })
    }

    /// Resume from committed cursors (name → serialized [`StreamCursor`]).
    pub fn restore<'a>(&mut self, cursors: impl IntoIterator<Item = (&'a str, &'a str)>) {
        for (name, value) in cursors {
            if let Ok(c) = serde_json::from_str::<StreamCursor>(value) {
                self.cursors.insert(name.to_string(), c);
            }
        }
    }

    /// Streams with a checkpoint.
    pub fn streams(&self) -> usize {
        self.cursors.len()
    }

    /// Read what was written since the last poll. Cursors advance in memory; the caller
    /// commits them with the rows.
    pub fn poll(&mut self) -> Result<Vec<Polled>, IngestError> {
        self.polls += 1;
        let mut out = Vec::new();
        let mut budget = self.opts.max_events_per_poll;
        for gi in 0..self.groups.len() {
            if budget == 0 {
                break;
            }
            let streams = self.streams_to_read(gi)?;
            for (stream, last_ingestion) in streams {
                if budget == 0 {
                    break;
                }
                let polled = self.read_stream(gi, &stream, last_ingestion, &mut budget)?;
                if let Some(p) = polled {
                    out.push(p);
                }
            }
        }
        Ok(out)
    }

    fn streams_to_read(&mut self, gi: usize) -> Result<Vec<(String, i64)>, IngestError> {
        let group = self.groups[gi].0.clone();
        // `lastIngestionTime` is eventually consistent: every few polls, read every stream from
        // its token regardless (a stream with nothing new costs one call).
        let sweep = self.polls.is_multiple_of(SWEEP_EVERY);
        let mut out = Vec::new();
        let mut token: Option<String> = None;
        loop {
            self.limiter.wait();
            self.requests += 1;
            let mut req = self
                .client
                .describe_log_streams()
                .log_group_name(&group.name)
                .set_next_token(token.clone());
            // The API refuses a prefix together with ordering by event time.
            req = match &group.stream_prefix {
                Some(p) => req.log_stream_name_prefix(p),
                None => req.order_by(OrderBy::LastEventTime).descending(true),
            };
            let resp = self
                .handle
                .block_on(req.send())
                .map_err(|e| IngestError::aws("DescribeLogStreams", &group.name, &e))?;
            for s in resp.log_streams() {
                let Some(name) = s.log_stream_name() else {
                    continue;
                };
                // A stream never written has no ingestion time: read once (cheap), then again
                // when it has one.
                let last = s
                    .last_ingestion_time()
                    .or(s.last_event_timestamp())
                    .unwrap_or(0);
                let seen = self
                    .cursors
                    .get(&cursor_name(&group.name, name))
                    .map(|c| c.ingested_ms);
                if sweep || seen.is_none_or(|seen| last > seen) {
                    out.push((name.to_string(), last));
                }
            }
            token = resp.next_token().map(str::to_string);
            if token.is_none() || out.len() >= self.opts.max_streams_per_group {
                break;
            }
        }
        Ok(out)
    }

    fn read_stream(
        &mut self,
        gi: usize,
        stream: &str,
        last_ingestion: i64,
        budget: &mut usize,
    ) -> Result<Option<Polled>, IngestError> {
        let (group, fmt) = self.groups[gi].clone();
        let name = cursor_name(&group.name, stream);
        let start = self.cursors.get(&name).cloned().unwrap_or_default();
        let mut token = (!start.token.is_empty()).then(|| start.token.clone());
        let mut messages: Vec<String> = Vec::new();
        let mut newest_ingestion: Option<i64> = None;
        let mut complete = false;
        while *budget > 0 {
            self.limiter.wait();
            self.requests += 1;
            let req = self
                .client
                .get_log_events()
                .log_group_name(&group.name)
                .log_stream_name(stream)
                .start_from_head(true)
                .limit((*budget).min(10_000) as i32)
                .set_next_token(token.clone());
            let resp = self.handle.block_on(req.send()).map_err(|e| {
                IngestError::aws("GetLogEvents", &format!("{}/{stream}", group.name), &e)
            })?;
            let events = resp.events();
            for e in events {
                if let Some(m) = e.message() {
                    messages.push(m.to_string());
                }
                newest_ingestion = newest_ingestion.max(e.ingestion_time());
            }
            *budget = budget.saturating_sub(events.len());
            let next = resp.next_forward_token().map(str::to_string);
            let same = next.is_none() || next == token;
            if next.is_some() {
                token = next;
            }
            // The end of the stream: no events, or the token stays put.
            if events.is_empty() || same {
                complete = true;
                break;
            }
        }
        let Some(token) = token else {
            return Ok(None);
        };
        let cursor = StreamCursor {
            token,
            // Only a stream read to its end is skipped until it is written again.
            ingested_ms: if complete {
                last_ingestion
            } else {
                start.ingested_ms
            },
        };
        if messages.is_empty() && cursor == start {
            return Ok(None);
        }
        self.cursors.insert(name.clone(), cursor.clone());
        let unit = format!("cloudwatch://{}/{stream}", group.name);
        let mut sink = VecSink::default();
        let table = match fmt {
            Some(fmt) => {
                let opts = FlowDecodeOptions {
                    fallback_account_id: group.account_id.clone(),
                    fallback_region: group.region.clone(),
                    ..Default::default()
                };
                let lines = messages
                    .iter()
                    .enumerate()
                    .map(|(i, m)| (i as u64 + 1, m.as_bytes()));
                if let Err(e) = decode_flow_lines(&unit, lines, &fmt, &opts, &mut sink) {
                    sink.quarantined
                        .push(QuarantineRecord::object(&unit, e.to_string()));
                }
                Table::Flows
            }
            None => {
                let opts = CloudTrailOptions {
                    fallback_account_id: group.account_id.clone(),
                    fallback_region: group.region.clone(),
                    ..Default::default()
                };
                let events = messages
                    .iter()
                    .enumerate()
                    .map(|(i, m)| (i as u64 + 1, m.as_bytes()));
                if let Err(e) = decode_cloudtrail_events(&unit, events, &opts, &mut sink) {
                    sink.quarantined
                        .push(QuarantineRecord::object(&unit, e.to_string()));
                }
                Table::Cloudtrail
            }
        };
        Ok(Some(Polled {
            unit,
            table,
            sink,
            events: messages.len(),
            cursor_name: name,
            cursor: serde_json::to_string(&cursor).unwrap_or_default(),
            newest_ingestion_ms: newest_ingestion,
        }))
    }
}

#[cfg(test)]
mod tests {
    use aws_sdk_cloudwatchlogs::config::http::HttpResponse;
    use aws_sdk_cloudwatchlogs::error::SdkError;
    use aws_sdk_cloudwatchlogs::operation::get_log_events::GetLogEventsError;

    use super::*;

    fn get_failed(status: u16, code: &str) -> SdkError<GetLogEventsError, HttpResponse> {
        flowtrail_aws::test_util::service_error(status, code)
    }

    #[test]
    fn cloudwatch_errors_name_the_stream_and_carry_the_edge_verdict() {
        let target = "/vpc/flows/eni-1";
        let throttled = IngestError::aws(
            "GetLogEvents",
            target,
            &get_failed(400, "ThrottlingException"),
        );
        assert!(throttled.is_retryable(), "{throttled}");
        let msg = throttled.to_string();
        assert!(msg.starts_with("GetLogEvents /vpc/flows/eni-1: "), "{msg}");
        assert!(msg.contains("ThrottlingException"), "{msg}");
        assert!(IngestError::aws("GetLogEvents", target, &get_failed(503, "")).is_retryable());

        for (status, code) in [(400, "AccessDeniedException"), (403, "AccessDenied")] {
            let denied = IngestError::aws("DescribeLogStreams", target, &get_failed(status, code));
            assert!(!denied.is_retryable(), "{denied}");
        }
        let missing = IngestError::aws(
            "GetLogEvents",
            target,
            &get_failed(400, "ResourceNotFoundException"),
        );
        assert!(!missing.is_retryable(), "{missing}");
    }
}
