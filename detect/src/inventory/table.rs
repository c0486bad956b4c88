//! The inventory as `inventory` table rows (one per interface and validity interval).

use std::sync::Arc;

use arrow::array::{ArrayRef, ListBuilder, StringArray, StringBuilder, TimestampMillisecondArray};
use arrow::record_batch::RecordBatch;

use flowtrail_core::schema::inventory::inventory_schema;

use super::Inventory;
use crate::DetectError;

fn ts(v: Vec<Option<i64>>) -> ArrayRef {
    Arc::new(TimestampMillisecondArray::from(v).with_timezone("UTC"))
}

fn text<'a>(rows: impl Iterator<Item = Option<&'a str>>) -> ArrayRef {
    Arc::new(rows.collect::<StringArray>())
}

/// Every interval of every tracked interface, stamped `snapshot_ms`.
pub fn to_batch(inv: &Inventory, snapshot_ms: i64) -> Result<RecordBatch, DetectError> {
    let rows: Vec<_> = inv
        .ifaces
        .iter()
        .flat_map(|(k, i)| {
            i.versions
                .iter()
                .map(move |v| (i, v, inv.asset_of(k, i, v)))
        })
        .collect();
    let tags: Vec<String> = rows
        .iter()
        .map(|(_, _, a)| serde_json::to_string(&a.tags).unwrap_or_default())
        .collect();
    let mut groups = ListBuilder::new(StringBuilder::new());
    for (_, v, _) in &rows {
        for g in &v.security_groups {
            groups.values().append_value(g);
        }
        groups.append(true);
    }
    let a = || rows.iter().map(|(_, _, a)| a);
    let times = |f: fn(&super::model::Version) -> Option<i64>| {
        ts(rows.iter().map(|(_, v, _)| f(v)).collect())
    };
    let columns: Vec<ArrayRef> = vec![
        ts(vec![Some(snapshot_ms); rows.len()]),
        text(rows.iter().map(|(i, _, _)| i.account_id.as_deref())),
        text(rows.iter().map(|(i, _, _)| i.region.as_deref())),
        text(a().map(|a| a.eni_id.as_deref())),
        text(a().map(|a| a.instance_id.as_deref())),
        text(a().map(|a| a.private_ip.as_deref())),
        text(a().map(|a| a.subnet_id.as_deref())),
        text(a().map(|a| a.vpc_id.as_deref())),
        Arc::new(groups.finish()),
        text(a().map(|a| a.image_id.as_deref())),
        text(a().map(|a| a.instance_profile.as_deref())),
        text(a().map(|a| a.tags.get("Name").map(String::as_str))),
        text(tags.iter().map(|t| Some(t.as_str()))),
        times(|v| Some(v.first_seen)),
        times(|v| Some(v.last_seen)),
        times(|v| Some(v.valid_from)),
        times(|v| v.valid_to),
        text(a().map(|a| a.source.as_deref())),
    ];
    RecordBatch::try_new(inventory_schema(), columns).map_err(|source| DetectError::Arrow {
        context: "building the inventory snapshot".into(),
        source,
    })
}
