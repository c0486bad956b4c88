//! Dedupe: findings with the same (detector, dedupe key) whose event times fall within a window
//! of the alert's last sighting collapse into that alert, which counts them. The first finding
//! of a key is emitted at once (an alert is never held back); later ones only count. State is
//! evicted once the watermark passes `last_seen + window`, so memory follows the number of
//! active keys, not the history.

use std::collections::HashMap;

use flowtrail_core::{Alert, Finding};

#[derive(Debug, Clone)]
struct Open {
    alert_id: String,
    last_ms: i64,
    count: u64,
}

/// The dedupe state.
#[derive(Debug, Clone)]
pub struct Deduper {
    window_ms: i64,
    open: HashMap<(String, String), Open>,
}

/// What dedupe made of one finding.
#[derive(Debug, Clone, PartialEq)]
#[allow(clippy::large_enum_variant)] // short-lived, never stored
pub enum Outcome {
    /// A new alert to send.
    New(Alert),
    /// Counted into an open alert (its id and the count so far).
    Merged {
        /// The open alert.
        alert_id: String,
        /// Findings in it so far.
        count: u64,
    },
}

impl Deduper {
    /// A deduper with a window of `window_ms`.
    pub fn new(window_ms: i64) -> Self {
        Self {
            window_ms,
            open: HashMap::new(),
        }
    }

    /// Dedupe one finding.
    pub fn process(&mut self, f: Finding) -> Outcome {
        let key = (f.detector.clone(), f.dedupe_key.clone());
        if let Some(open) = self.open.get_mut(&key)
            && f.first_seen_ms <= open.last_ms + self.window_ms
        {
            {
                open.last_ms = open.last_ms.max(f.last_seen_ms);
                open.count += 1;
                return Outcome::Merged {
                    alert_id: open.alert_id.clone(),
                    count: open.count,
                };
            }
        }
        let last_ms = f.last_seen_ms;
        let alert = Alert::from_finding(f);
        self.open.insert(
            key,
            Open {
                alert_id: alert.id.clone(),
                last_ms,
                count: 1,
            },
        );
        Outcome::New(alert)
    }

    /// Forget keys whose window closed before `watermark_ms`.
    pub fn evict(&mut self, watermark_ms: i64) {
        let w = self.window_ms;
        self.open.retain(|_, o| o.last_ms + w >= watermark_ms);
    }

    /// Keys with an open window.
    pub fn open_keys(&self) -> usize {
        self.open.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use flowtrail_core::{Entity, EntityKind, Severity};
    use proptest::prelude::*;

    fn f(key: &str, t: i64) -> Finding {
        Finding {
            detector: "port_scan".into(),
            severity: Severity::High,
            title: "t".into(),
            account_id: None,
            region: None,
            entity: Entity {
                kind: EntityKind::Ip,
                id: key.into(),
            },
            first_seen_ms: t,
            last_seen_ms: t + 1000,
            dedupe_key: key.into(),
            evidence: serde_json::json!({}),
            attack: Default::default(),
        }
    }

    const H: i64 = 3_600_000;

    #[test]
    fn same_key_within_window_merges_and_counts() {
        let mut d = Deduper::new(H);
        assert!(matches!(d.process(f("a", 0)), Outcome::New(_)));
        assert!(matches!(
            d.process(f("a", H / 2)),
            Outcome::Merged { count: 2, .. }
        ));
        assert!(
            matches!(d.process(f("b", H / 2)), Outcome::New(_)),
            "other key"
        );
        // Past the window of the last sighting: a new alert.
        assert!(matches!(d.process(f("a", 3 * H)), Outcome::New(_)));
        d.evict(10 * H);
        assert_eq!(d.open_keys(), 0);
    }

    proptest! {
        // Findings of one key spaced less than the window apart always make exactly one alert.
        #[test]
        fn chains_within_the_window_make_one_alert(gaps in proptest::collection::vec(0i64..H, 1..40)) {
            let mut d = Deduper::new(H);
            let mut t = 0;
            let mut new = 0;
            for g in gaps {
                t += g;
                if matches!(d.process(f("k", t)), Outcome::New(_)) { new += 1; }
            }
            prop_assert_eq!(new, 1);
        }
    }
}
