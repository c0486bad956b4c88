//! The run's plan from its flags: the dates to list and the replay options.

use anyhow::bail;
use chrono::{DateTime, NaiveDate};

use flowtrail_ingest::decode::flow::FlowFormat;
use flowtrail_ingest::replay::ReplayOptions;
use flowtrail_ingest::source::DateRange;

use crate::cli::ReplayArgs;

/// Parse `--from`/`--to`: a date (midnight UTC) or an RFC 3339 time. Returns (ms, date).
fn parse_time(flag: &str, s: &str) -> anyhow::Result<(i64, NaiveDate)> {
    if let Ok(d) = NaiveDate::parse_from_str(s, "%Y-%m-%d") {
        let ms = d
            .and_hms_opt(0, 0, 0)
            .map(|t| t.and_utc().timestamp_millis())
            .unwrap_or_default();
        return Ok((ms, d));
    }
    match DateTime::parse_from_rfc3339(s) {
        Ok(t) => Ok((t.timestamp_millis(), t.date_naive())),
        Err(e) => bail!("{flag} {s:?}: expected YYYY-MM-DD or an RFC 3339 time ({e})"),
    }
}

/// The run's plan from its flags: the dates to list (`--from`/`--to`) and the replay options
/// (event-time bounds, `--workers`, `--flow-format`).
pub(super) fn plan(args: &ReplayArgs) -> anyhow::Result<(DateRange, ReplayOptions)> {
    let from = args
        .from
        .as_deref()
        .map(|s| parse_time("--from", s))
        .transpose()?;
    let to = args
        .to
        .as_deref()
        .map(|s| parse_time("--to", s))
        .transpose()?;
    if let (Some(f), Some(t)) = (from, to)
        && f.0 >= t.0
    {
        bail!("--from must be before --to");
    }
    let range = DateRange {
        from: from.map(|f| f.1),
        to: to.map(|t| t.1),
    };
    let mut opts = ReplayOptions {
        from_ms: from.map(|f| f.0),
        to_ms: to.map(|t| t.0),
        ..Default::default()
    };
    if let Some(w) = args.workers {
        opts.workers = w.max(1);
    }
    if let Some(fmt) = &args.flow_format {
        opts.flow.format =
            Some(FlowFormat::parse(fmt).map_err(|e| anyhow::anyhow!("--flow-format: {e}"))?);
    }
    Ok((range, opts))
}
