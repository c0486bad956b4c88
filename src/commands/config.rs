//! `flowtrail config check`: load a service configuration, validate it and everything it
//! names (rules, suppressions, flow-log formats, SNS routes) without calling AWS, and print the
//! effective settings. Exit 0 when it would start, 2 with the reason when not.

use std::io::Write;
use std::process::ExitCode;

use anyhow::Context;

use flowtrail_alerts::suppress::Suppressions;

use crate::cli::{ConfigArgs, ConfigCommand};
use crate::config::Config;

pub fn run(args: ConfigArgs) -> anyhow::Result<ExitCode> {
    match args.command {
        ConfigCommand::Check { file } => check(&file),
    }
}

fn check(file: &std::path::Path) -> anyhow::Result<ExitCode> {
    let c = Config::load(file)?;
    c.validate()
        .with_context(|| format!("in the config {}", file.display()))?;
    let rules = crate::detection::load_rules(&c.detection.rules, c.detection.sigma.as_deref())?;
    if let Some(p) = &c.detection.suppress {
        Suppressions::load(p)?;
    }
    let fence = match &c.detection.fence {
        Some(p) => Some(
            flowtrail_detect::FenceConfig::load(p)
                .with_context(|| format!("loading the fence {}", p.display()))?,
        ),
        None => None,
    };
    let mut out = std::io::stdout().lock();
    writeln!(out, "{}: ok", file.display())?;
    writeln!(out, "  lake        {}", c.lake.display())?;
    writeln!(out, "  state       {}", c.state.display())?;
    writeln!(out, "  listen      {}", c.listen)?;
    if let Some(s) = &c.sqs {
        writeln!(
            out,
            "  sqs         {} (wait {} s, visibility {} s, ≤{} messages a cycle)",
            s.queue_url, s.wait_seconds, s.visibility_seconds, s.max_messages_per_cycle
        )?;
    }
    if let Some(cw) = &c.cloudwatch {
        for g in &cw.groups {
            writeln!(
                out,
                "  log group   {} ({:?}, every {} s)",
                g.name, g.kind, cw.poll_seconds
            )?;
        }
    }
    if c.detection.enabled {
        writeln!(
            out,
            "  detection   {} SQL rules + built-in detectors, grace {} min, dedupe {} min, rows: {}",
            rules.rules().len(),
            c.detection.grace_minutes,
            c.detection.dedupe_minutes,
            match c.detection.source {
                crate::config::DetectionSource::Inline => "those this task ingests",
                crate::config::DetectionSource::Lake =>
                    "every commit of the lake (follows the queue)",
            }
        )?;
        if let Some(f) = &fence {
            writeln!(out, "  fence       {} watched subnets", f.subnets.len())?;
        }
    } else {
        writeln!(out, "  detection   off")?;
    }
    if let Some(j) = &c.alerts.jsonl {
        writeln!(out, "  alerts      {}", j.display())?;
    }
    if let Some(r) = &c.alerts.sns {
        writeln!(out, "  outbox      {}", c.outbox().display())?;
        for route in &r.routes {
            let sev = route
                .min_severity
                .map(|s| format!("severity >= {s}"))
                .unwrap_or_else(|| "any severity".into());
            let det = if route.detectors.is_empty() {
                "any detector".to_string()
            } else {
                route.detectors.join(", ")
            };
            writeln!(out, "  sns route   {} <- {sev}, {det}", route.topic_arn)?;
        }
        if let Some(t) = &r.default_topic {
            writeln!(out, "  sns default {t}")?;
        }
    }
    Ok(ExitCode::SUCCESS)
}
