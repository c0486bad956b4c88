//! Inbound admin access accepted from the internet, as a sequence stage of its own: no detector
//! alerts on one accepted SSH or RDP connection (a bastion takes them all day), but right after
//! the instance's security group was opened to the world it is the step that matters. Each
//! closed hour, accepted flows to port 22 or 3389 from a public address are summarised per
//! target (instance id, interface and address, each kept: the link to an instance may be
//! learned later); [`super::Sequences`] chains them after an exposing group change on the
//! same instance within [`ACCESS_WINDOW_MS`]. Bounded: [`MAX_TARGETS`] targets, 48 hours.

use std::collections::BTreeMap;

use arrow::array::{Array, AsArray, RecordBatch, StringArray};
use arrow::datatypes::{Int32Type, TimestampMillisecondType};
use serde::{Deserialize, Serialize};

use flowtrail_core::schema::EVENT_TIME;
use flowtrail_core::schema::flows::col;

use crate::DetectError;
use crate::baseline::hourly::is_private;
use crate::keep::Batches;

/// Admin ports whose accepted inbound connections count.
pub const ADMIN_PORTS: &[i32] = &[22, 3389];
/// How long after the opening an access is part of the sequence.
pub const ACCESS_WINDOW_MS: i64 = 6 * 3_600_000;
/// Targets kept.
pub const MAX_TARGETS: usize = 20_000;
const KEEP_MS: i64 = 48 * 3_600_000;
const MAX_SOURCES: usize = 5;

/// Accepted admin connections to one target in one hour.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Access {
    /// First and last flow time (ms).
    pub first_ms: i64,
    /// Last flow time (ms).
    pub last_ms: i64,
    /// Port.
    pub port: i32,
    /// Flow records.
    pub flows: u64,
    /// Up to five source addresses.
    pub sources: Vec<String>,
}

/// The summaries, by target id.
#[derive(Debug, Default, Serialize, Deserialize)]
pub struct AdminAccess {
    by_target: BTreeMap<String, Vec<Access>>,
}

fn strs<'a>(b: &'a RecordBatch, n: &str) -> Option<&'a StringArray> {
    b.column_by_name(n).and_then(|c| c.as_string_opt::<i32>())
}

fn cell(a: Option<&StringArray>, i: usize) -> Option<&str> {
    a.and_then(|a| (!a.is_null(i)).then(|| a.value(i)))
}

impl AdminAccess {
    /// Summarise one closed hour's flows; returns the targets that got new accesses.
    pub fn learn(&mut self, flows: &(impl Batches + ?Sized)) -> Result<Vec<String>, DetectError> {
        let mut hour: BTreeMap<String, Access> = BTreeMap::new();
        flows.visit(&mut |b| scan(b, &mut hour))?;
        let newest = hour.values().map(|a| a.last_ms).max();
        let touched: Vec<String> = hour.keys().cloned().collect();
        for (k, a) in hour {
            self.by_target.entry(k).or_default().push(a);
        }
        if let Some(n) = newest {
            self.by_target.retain(|_, v| {
                v.retain(|a| a.last_ms >= n - KEEP_MS);
                !v.is_empty()
            });
        }
        while self.by_target.len() > MAX_TARGETS {
            self.by_target.pop_first();
        }
        Ok(touched)
    }

    /// Every target id with its accesses.
    pub fn all(&self) -> impl Iterator<Item = (&String, &Vec<Access>)> {
        self.by_target.iter()
    }

    /// The accesses of one target id.
    pub fn of(&self, target: &str) -> &[Access] {
        self.by_target.get(target).map_or(&[], Vec::as_slice)
    }
}

fn scan(b: &RecordBatch, hour: &mut BTreeMap<String, Access>) {
    let Some(port) = b
        .column_by_name(col::DSTPORT)
        .and_then(|c| c.as_primitive_opt::<Int32Type>())
    else {
        return;
    };
    let (action, src, dst, inst, eni) = (
        strs(b, col::ACTION),
        strs(b, col::SRCADDR),
        strs(b, col::DSTADDR),
        strs(b, col::INSTANCE_ID),
        strs(b, col::INTERFACE_ID),
    );
    let time = b
        .column_by_name(EVENT_TIME)
        .and_then(|c| c.as_primitive_opt::<TimestampMillisecondType>());
    for i in 0..b.num_rows() {
        if port.is_null(i) || !ADMIN_PORTS.contains(&port.value(i)) {
            continue;
        }
        if cell(action, i) != Some("ACCEPT") {
            continue;
        }
        let Some(s) = cell(src, i).filter(|s| !is_private(s)) else {
            continue;
        };
        let t = time.map_or(0, |t| t.value(i));
        for target in [cell(inst, i), cell(eni, i), cell(dst, i)]
            .into_iter()
            .flatten()
        {
            let a = hour.entry(target.to_string()).or_insert_with(|| Access {
                first_ms: t,
                last_ms: t,
                port: port.value(i),
                flows: 0,
                sources: Vec::new(),
            });
            a.first_ms = a.first_ms.min(t);
            a.last_ms = a.last_ms.max(t);
            a.flows += 1;
            if a.sources.len() < MAX_SOURCES && !a.sources.iter().any(|x| x == s) {
                a.sources.push(s.to_string());
            }
        }
    }
}
