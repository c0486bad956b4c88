//! Findings → suppression → dedupe → alerts. Findings are ordered by event time first, so the
//! same findings give the same alerts whatever order detection produced them in.

use flowtrail_core::{Alert, Finding};

use crate::dedupe::{Deduper, Outcome};
use crate::suppress::Suppressions;

/// Counters.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct PipelineStats {
    /// Findings received.
    pub findings: u64,
    /// Findings hidden by a suppression rule.
    pub suppressed: u64,
    /// Findings merged into an open alert.
    pub merged: u64,
    /// Alerts emitted.
    pub alerts: u64,
}

/// The alert pipeline.
#[derive(Debug)]
pub struct AlertPipeline {
    suppressions: Suppressions,
    dedupe: Deduper,
    stats: PipelineStats,
}

impl AlertPipeline {
    /// A pipeline with a dedupe window of `dedupe_window_ms`.
    pub fn new(suppressions: Suppressions, dedupe_window_ms: i64) -> Self {
        Self {
            suppressions,
            dedupe: Deduper::new(dedupe_window_ms),
            stats: PipelineStats::default(),
        }
    }

    /// Counters so far.
    pub fn stats(&self) -> PipelineStats {
        self.stats
    }

    /// Turn findings into new alerts. `watermark_ms` lets dedupe forget closed windows.
    pub fn process(&mut self, mut findings: Vec<Finding>, watermark_ms: i64) -> Vec<Alert> {
        findings.sort_by(|a, b| {
            (a.first_seen_ms, &a.detector, &a.dedupe_key).cmp(&(
                b.first_seen_ms,
                &b.detector,
                &b.dedupe_key,
            ))
        });
        let mut out: Vec<Alert> = Vec::new();
        for f in findings {
            self.stats.findings += 1;
            if let Some(rule) = self.suppressions.matching(&f) {
                tracing::debug!(detector = %f.detector, key = %f.dedupe_key, rule = %rule.name, "finding suppressed");
                self.stats.suppressed += 1;
                continue;
            }
            match self.dedupe.process(f) {
                Outcome::New(a) => {
                    self.stats.alerts += 1;
                    out.push(a);
                }
                Outcome::Merged { alert_id, count } => {
                    self.stats.merged += 1;
                    // An alert of this same call not yet sent carries the count.
                    if let Some(a) = out.iter_mut().find(|a| a.id == alert_id) {
                        a.count = count;
                    }
                }
            }
        }
        self.dedupe.evict(watermark_ms);
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use flowtrail_core::{Entity, EntityKind, Severity};
    use std::path::Path;

    fn f(det: &str, key: &str, t: i64) -> Finding {
        Finding {
            detector: det.into(),
            severity: Severity::Medium,
            title: "t".into(),
            account_id: None,
            region: None,
            entity: Entity {
                kind: EntityKind::Ip,
                id: key.into(),
            },
            first_seen_ms: t,
            last_seen_ms: t,
            dedupe_key: key.into(),
            evidence: serde_json::json!({}),
            attack: flowtrail_core::alert::Attack::new(&["TA0007"], &["T1046"]),
        }
    }

    #[test]
    fn suppresses_dedupes_and_counts_in_event_time_order() -> Result<(), crate::AlertsError> {
        let sup = Suppressions::parse(
            Path::new("s"),
            "[[suppress]]\ncidrs=[\"198.51.100.0/24\"]\n",
        )?;
        let mut p = AlertPipeline::new(sup, 3_600_000);
        let out = p.process(
            vec![
                f("port_scan", "203.0.113.1", 2000),
                f("port_scan", "203.0.113.1", 1000),
                f("port_scan", "198.51.100.4", 0),
            ],
            0,
        );
        assert_eq!(out.len(), 1);
        assert_eq!(out[0].count, 2);
        assert_eq!(
            serde_json::to_value(&out[0]).unwrap_or_default()["attack"],
            serde_json::json!({"tactics": ["TA0007"], "techniques": ["T1046"]}),
            "the finding's ATT&CK ids reach the alert"
        );
        assert_eq!(
            out[0].first_seen.timestamp(),
            1,
            "the earliest finding opens the alert"
        );
        assert_eq!(
            p.stats(),
            PipelineStats {
                findings: 3,
                suppressed: 1,
                merged: 1,
                alerts: 1
            }
        );
        Ok(())
    }
}
