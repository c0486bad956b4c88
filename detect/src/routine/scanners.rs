//! A known weekly scanner is routine: an authorised vulnerability scan runs from the same
//! source at the same hour of the same weekday every week. A `port_scan` from a source already
//! seen scanning in the same weekly slot (weekday and hour, UTC, the neighbouring hours
//! included: a scan that starts at 01:55 one week and 02:05 the next is the same job) in at
//! least [`MIN_WEEKS`] earlier weeks is dropped. A first scan, a scan in a new slot, or one
//! from a new source alerts as before, and every scan is learned. Bounded: [`MAX_SOURCES`]
//! sources (least recently seen forgotten first), [`MAX_WEEKS`] weeks each.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use flowtrail_core::Finding;

/// The detector whose findings this judges.
pub const DETECTOR: &str = "port_scan";
/// Earlier weeks in the same slot that make a scanner routine.
pub const MIN_WEEKS: usize = 2;
/// Sources remembered.
pub const MAX_SOURCES: usize = 4096;
/// Weeks remembered per source and slot.
pub const MAX_WEEKS: usize = 8;
const HOUR_MS: i64 = 3_600_000;
const WEEK_HOURS: i64 = 168;

/// Per source (`account|source`): weekly slot (hour of the week) → weeks seen.
#[derive(Debug, Default, Serialize, Deserialize)]
pub struct Scanners {
    sources: BTreeMap<String, Source>,
}

#[derive(Debug, Default, Serialize, Deserialize)]
struct Source {
    slots: BTreeMap<i64, Vec<i64>>,
    last_ms: i64,
}

impl Scanners {
    /// Is the scan routine for its source? Learns it either way.
    pub fn judge_and_learn(&mut self, f: &Finding) -> bool {
        let key = format!(
            "{}|{}",
            f.account_id.as_deref().unwrap_or_default(),
            f.entity.id
        );
        let hours = f.first_seen_ms.div_euclid(HOUR_MS);
        let (week, slot) = (hours.div_euclid(WEEK_HOURS), hours.rem_euclid(WEEK_HOURS));
        let near = |s: i64| {
            let d = (s - slot).rem_euclid(WEEK_HOURS);
            d <= 1 || d == WEEK_HOURS - 1
        };
        let earlier = self.sources.get(&key).map_or(0, |src| {
            let mut weeks: Vec<i64> = src
                .slots
                .iter()
                .filter(|(s, _)| near(**s))
                .flat_map(|(_, w)| w.iter().copied())
                .filter(|w| *w < week)
                .collect();
            weeks.sort_unstable();
            weeks.dedup();
            weeks.len()
        });
        if !self.sources.contains_key(&key) && self.sources.len() >= MAX_SOURCES {
            let oldest = self
                .sources
                .iter()
                .min_by_key(|(_, s)| s.last_ms)
                .map(|(k, _)| k.clone());
            if let Some(k) = oldest {
                self.sources.remove(&k);
            }
        }
        let src = self.sources.entry(key).or_default();
        let weeks = src.slots.entry(slot).or_default();
        if !weeks.contains(&week) {
            weeks.push(week);
            let over = weeks.len().saturating_sub(MAX_WEEKS);
            weeks.drain(..over);
        }
        src.last_ms = src.last_ms.max(f.first_seen_ms);
        earlier >= MIN_WEEKS
    }
}
