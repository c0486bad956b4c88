//! Arrow schemas of the lake tables (`flows`, `cloudtrail`, `alerts`, `inventory`) and their column names.
//!
//! Column names follow the AWS field names with `_` for `-`, as in AWS's own Athena DDL. Integer
//! types follow AWS's parquet delivery of flow logs: ports, protocol and tcp-flags are int32;
//! packets, bytes, start and end are int64. Timestamps are UTC milliseconds.

pub mod alerts;
pub mod athena;
pub mod cloudtrail;
pub mod flows;
pub mod inventory;

use std::sync::Arc;

use arrow::array::{DictionaryArray, Int32Array, StringArray};
use arrow::datatypes::{DataType, Int32Type, TimeUnit};
use arrow::error::ArrowError;

/// The timestamp type used for every event-time column: UTC milliseconds.
pub fn timestamp_type() -> DataType {
    DataType::Timestamp(TimeUnit::Millisecond, Some("UTC".into()))
}

/// `rows` rows of `value`, held as a dictionary of that one value (4-byte keys of 0): the
/// decoders' `source_key`, and the lake writer's columns that hold one value an object.
pub fn one_value_dictionary(
    value: &str,
    rows: usize,
) -> Result<DictionaryArray<Int32Type>, ArrowError> {
    let keys = Int32Array::from(vec![0i32; rows]);
    DictionaryArray::try_new(keys, Arc::new(StringArray::from_iter_values([value])))
}

/// Column holding the source object key a row came from (flows and cloudtrail).
pub const SOURCE_KEY: &str = "source_key";
/// Column holding the event time (flows: `start`; cloudtrail: `eventTime`).
pub const EVENT_TIME: &str = "event_time";
/// Partition column: account id (also stored in the files).
pub const ACCOUNT_ID: &str = "account_id";
/// Partition column: region (also stored in the files).
pub const REGION: &str = "region";
/// Partition column (path only): `YYYY-MM-DD` of the event time.
pub const DATE: &str = "date";
/// Partition column (path only): `HH` of the event time.
pub const HOUR: &str = "hour";
