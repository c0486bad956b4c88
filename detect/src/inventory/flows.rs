//! Inventory facts from `flows` rows. Formats of version 3 and later can carry `instance-id`,
//! `subnet-id` and `vpc-id` beside `interface-id`: a row with an interface and an instance
//! says the interface was attached to that instance at the row's time. Rows without an
//! instance (the default v2 format) only say a known interface is still in use.
//!
//! A batch is first reduced to one entry per (interface, instance) with its time span, so the
//! per-row cost is one hash lookup, or none when the row has the same pair as the one before
//! (an interface's records come in runs).

use arrow::array::{Array, AsArray, RecordBatch, StringArray};
use arrow::datatypes::{DataType, TimestampMillisecondType};

use flowtrail_core::schema::EVENT_TIME;
use flowtrail_core::schema::flows::col;

use super::model::IfaceFacts;
use crate::baseline::eni_addrs::same_text;
use crate::baseline::hourly::Map;

/// What a batch says about one (interface, instance) pair.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sighting {
    /// Interface id.
    pub eni: String,
    /// Instance id (`None`: the row's format has none, or the interface has no instance).
    pub instance: Option<String>,
    /// Earliest and newest row time (ms).
    pub span: (i64, i64),
    /// Account, region, subnet, VPC.
    pub facts: IfaceFacts,
}

fn utf8(b: &RecordBatch, n: &str) -> Option<StringArray> {
    let c = b.column_by_name(n)?;
    if c.data_type() == &DataType::Utf8 {
        return c.as_string_opt::<i32>().cloned();
    }
    arrow::compute::cast(c, &DataType::Utf8)
        .ok()
        .and_then(|a| a.as_string_opt::<i32>().cloned())
}

fn cell(a: Option<&StringArray>, i: usize) -> Option<&str> {
    a.and_then(|a| (!a.is_null(i)).then(|| a.value(i)))
        .filter(|v| !v.is_empty() && *v != "-")
}

/// The sightings of a batch of `flows` rows.
pub fn sightings(b: &RecordBatch) -> Vec<Sighting> {
    let Some(enis) = utf8(b, col::INTERFACE_ID) else {
        return Vec::new();
    };
    let Some(times) = b
        .column_by_name(EVENT_TIME)
        .and_then(|c| c.as_primitive_opt::<TimestampMillisecondType>())
    else {
        return Vec::new();
    };
    let inst = utf8(b, col::INSTANCE_ID);
    let subnet = utf8(b, col::SUBNET_ID);
    let vpc = utf8(b, col::VPC_ID);
    let acct = utf8(b, col::ACCOUNT_ID);
    let region = utf8(b, col::REGION);
    let mut index: Map<(&str, Option<&str>), usize> = Map::default();
    let mut out: Vec<Sighting> = Vec::new();
    // Rows of one interface come in runs (a flow log writes an interface's records
    // together): a row like the one before skips the lookup.
    let mut last: Option<((&str, Option<&str>), usize)> = None;
    for i in 0..b.num_rows() {
        let (Some(eni), false) = (cell(Some(&enis), i), times.is_null(i)) else {
            continue;
        };
        let t = times.value(i);
        let instance = cell(inst.as_ref(), i);
        let key = (eni, instance);
        let k = match last {
            Some(((e, i), k)) if same_text(e, eni) && i == instance => k,
            _ => *index.entry(key).or_insert_with(|| {
                out.push(Sighting {
                    eni: eni.to_string(),
                    instance: instance.map(str::to_string),
                    span: (t, t),
                    facts: IfaceFacts::default(),
                });
                out.len() - 1
            }),
        };
        last = Some((key, k));
        let Some(e) = out.get_mut(k) else { continue };
        e.span = (e.span.0.min(t), e.span.1.max(t));
        if instance.is_some() {
            let f = &mut e.facts;
            let set = |slot: &mut Option<String>, v: Option<&str>| {
                if slot.is_none() {
                    *slot = v.map(str::to_string);
                }
            };
            set(&mut f.subnet_id, cell(subnet.as_ref(), i));
            set(&mut f.vpc_id, cell(vpc.as_ref(), i));
            set(&mut f.account_id, cell(acct.as_ref(), i));
            set(&mut f.region, cell(region.as_ref(), i));
        }
    }
    out.sort_by_key(|s| s.span.0);
    out
}
