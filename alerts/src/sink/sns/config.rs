//! Where each alert goes: the routes of the `[alerts.sns]` configuration and the default topic.

use serde::Deserialize;

use flowtrail_core::{Alert, Severity};

/// One routing rule: alerts at or above `min_severity` and (when `detectors` is not empty) of
/// one of `detectors` go to `topic_arn`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Route {
    /// Lowest severity routed here (any when absent).
    #[serde(default)]
    pub min_severity: Option<Severity>,
    /// Detector ids routed here (any when empty).
    #[serde(default)]
    pub detectors: Vec<String>,
    /// Destination topic.
    pub topic_arn: String,
}

impl Route {
    fn matches(&self, a: &Alert) -> bool {
        self.min_severity.is_none_or(|m| a.severity >= m)
            && (self.detectors.is_empty() || self.detectors.contains(&a.detector))
    }
}

/// Picks the topic of each alert: the first matching route, else the default topic.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Router {
    /// Routes, in order.
    #[serde(default)]
    pub routes: Vec<Route>,
    /// Topic of alerts no route takes.
    #[serde(default)]
    pub default_topic: Option<String>,
}

impl Router {
    /// Everything to one topic.
    pub fn single(topic_arn: impl Into<String>) -> Self {
        Self {
            routes: Vec::new(),
            default_topic: Some(topic_arn.into()),
        }
    }

    /// The topic for `a`, if any.
    pub fn topic_for(&self, a: &Alert) -> Option<&str> {
        self.routes
            .iter()
            .find(|r| r.matches(a))
            .map(|r| r.topic_arn.as_str())
            .or(self.default_topic.as_deref())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sink::sns::testutil::alert;

    #[test]
    fn routes_first_match_then_default() {
        let r = Router {
            routes: vec![
                Route {
                    min_severity: Some(Severity::Critical),
                    detectors: vec![],
                    topic_arn: "crit".into(),
                },
                Route {
                    min_severity: None,
                    detectors: vec!["port_scan".into()],
                    topic_arn: "scans".into(),
                },
            ],
            default_topic: Some("all".into()),
        };
        assert_eq!(
            r.topic_for(&alert("root_activity", Severity::Critical)),
            Some("crit")
        );
        assert_eq!(
            r.topic_for(&alert("port_scan", Severity::Low)),
            Some("scans")
        );
        assert_eq!(r.topic_for(&alert("new_peer", Severity::High)), Some("all"));
        assert_eq!(
            Router::default().topic_for(&alert("new_peer", Severity::High)),
            None
        );
    }
}
