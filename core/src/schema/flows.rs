//! The `flows` table: every documented VPC Flow Logs field (versions 2 to 11), fields from the
//! future kept in `extra_fields`, plus `event_time` and `source_key`.

use std::sync::{Arc, OnceLock};

use arrow::datatypes::{DataType, Field, Fields, Schema, SchemaRef};

use super::{EVENT_TIME, SOURCE_KEY, timestamp_type};

/// Arrow type of a flow-log field.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FlowType {
    /// UTF-8 string.
    Str,
    /// 32-bit signed integer.
    I32,
    /// 64-bit signed integer.
    I64,
}

/// One documented flow-log field.
#[derive(Debug, Clone, Copy)]
pub struct FlowField {
    /// The field name as AWS writes it in a format string and a header (`log-status`).
    pub aws_name: &'static str,
    /// The lake column name (`log_status`).
    pub column: &'static str,
    /// The column type.
    pub ty: FlowType,
    /// The flow-log version that introduced the field.
    pub version: u8,
}

const fn f(aws_name: &'static str, column: &'static str, ty: FlowType, version: u8) -> FlowField {
    FlowField {
        aws_name,
        column,
        ty,
        version,
    }
}

use FlowType::{I32, I64, Str};

/// Every documented field, in the lake's column order (the default v2 format first).
pub const FLOW_FIELDS: &[FlowField] = &[
    f("version", "version", I32, 2),
    f("account-id", "account_id", Str, 2),
    f("interface-id", "interface_id", Str, 2),
    f("srcaddr", "srcaddr", Str, 2),
    f("dstaddr", "dstaddr", Str, 2),
    f("srcport", "srcport", I32, 2),
    f("dstport", "dstport", I32, 2),
    f("protocol", "protocol", I32, 2),
    f("packets", "packets", I64, 2),
    f("bytes", "bytes", I64, 2),
    f("start", "start", I64, 2),
    f("end", "end", I64, 2),
    f("action", "action", Str, 2),
    f("log-status", "log_status", Str, 2),
    f("vpc-id", "vpc_id", Str, 3),
    f("subnet-id", "subnet_id", Str, 3),
    f("instance-id", "instance_id", Str, 3),
    f("tcp-flags", "tcp_flags", I32, 3),
    f("type", "type", Str, 3),
    f("pkt-srcaddr", "pkt_srcaddr", Str, 3),
    f("pkt-dstaddr", "pkt_dstaddr", Str, 3),
    f("region", "region", Str, 4),
    f("az-id", "az_id", Str, 4),
    f("sublocation-type", "sublocation_type", Str, 4),
    f("sublocation-id", "sublocation_id", Str, 4),
    f("pkt-src-aws-service", "pkt_src_aws_service", Str, 5),
    f("pkt-dst-aws-service", "pkt_dst_aws_service", Str, 5),
    f("flow-direction", "flow_direction", Str, 5),
    f("traffic-path", "traffic_path", I32, 5),
    f("ecs-cluster-arn", "ecs_cluster_arn", Str, 7),
    f("ecs-cluster-name", "ecs_cluster_name", Str, 7),
    f(
        "ecs-container-instance-arn",
        "ecs_container_instance_arn",
        Str,
        7,
    ),
    f(
        "ecs-container-instance-id",
        "ecs_container_instance_id",
        Str,
        7,
    ),
    f("ecs-container-id", "ecs_container_id", Str, 7),
    f("ecs-second-container-id", "ecs_second_container_id", Str, 7),
    f("ecs-service-name", "ecs_service_name", Str, 7),
    f("ecs-task-definition-arn", "ecs_task_definition_arn", Str, 7),
    f("ecs-task-arn", "ecs_task_arn", Str, 7),
    f("ecs-task-id", "ecs_task_id", Str, 7),
    f("reject-reason", "reject_reason", Str, 8),
    f("resource-id", "resource_id", Str, 9),
    f("encryption-status", "encryption_status", I32, 10),
];

/// The default (v2) format, as a header line and a CloudWatch Logs format string list it.
pub const DEFAULT_FORMAT: &[&str] = &[
    "version",
    "account-id",
    "interface-id",
    "srcaddr",
    "dstaddr",
    "srcport",
    "dstport",
    "protocol",
    "packets",
    "bytes",
    "start",
    "end",
    "action",
    "log-status",
];

/// Map column holding fields not in [`FLOW_FIELDS`] (fields AWS adds later), by AWS name.
pub const EXTRA_FIELDS: &str = "extra_fields";

/// Column names used by detection and queries.
pub mod col {
    #![allow(missing_docs)]
    pub const VERSION: &str = "version";
    pub const ACCOUNT_ID: &str = "account_id";
    pub const INTERFACE_ID: &str = "interface_id";
    pub const SRCADDR: &str = "srcaddr";
    pub const DSTADDR: &str = "dstaddr";
    pub const SRCPORT: &str = "srcport";
    pub const DSTPORT: &str = "dstport";
    pub const PROTOCOL: &str = "protocol";
    pub const PACKETS: &str = "packets";
    pub const BYTES: &str = "bytes";
    pub const START: &str = "start";
    pub const END: &str = "end";
    pub const ACTION: &str = "action";
    pub const LOG_STATUS: &str = "log_status";
    pub const VPC_ID: &str = "vpc_id";
    pub const SUBNET_ID: &str = "subnet_id";
    pub const INSTANCE_ID: &str = "instance_id";
    pub const TCP_FLAGS: &str = "tcp_flags";
    pub const REGION: &str = "region";
    pub const FLOW_DIRECTION: &str = "flow_direction";
}

/// Index of a documented field by its AWS name.
pub fn field_index(aws_name: &str) -> Option<usize> {
    FLOW_FIELDS.iter().position(|f| f.aws_name == aws_name)
}

/// The Arrow type of the `extra_fields` map column.
pub fn extra_fields_type() -> DataType {
    let entries = Field::new(
        "entries",
        DataType::Struct(Fields::from(vec![
            Field::new("keys", DataType::Utf8, false),
            Field::new("values", DataType::Utf8, true),
        ])),
        false,
    );
    DataType::Map(Arc::new(entries), false)
}

/// The `flows` table schema: [`FLOW_FIELDS`] in order, then `extra_fields`, `event_time` and
/// `source_key`. Every field is nullable (`-` is null) except `source_key`.
pub fn flows_schema() -> SchemaRef {
    static SCHEMA: OnceLock<SchemaRef> = OnceLock::new();
    SCHEMA
        .get_or_init(|| {
            let mut fields: Vec<Field> = FLOW_FIELDS
                .iter()
                .map(|f| {
                    let ty = match f.ty {
                        FlowType::Str => DataType::Utf8,
                        FlowType::I32 => DataType::Int32,
                        FlowType::I64 => DataType::Int64,
                    };
                    Field::new(f.column, ty, true)
                })
                .collect();
            fields.push(Field::new(EXTRA_FIELDS, extra_fields_type(), true));
            fields.push(Field::new(EVENT_TIME, timestamp_type(), true));
            fields.push(Field::new(SOURCE_KEY, DataType::Utf8, false));
            Arc::new(Schema::new(fields))
        })
        .clone()
}

/// The type of `source_key` in decoded batches: a dictionary of the object's one key.
pub fn source_key_dictionary_type() -> DataType {
    DataType::Dictionary(Box::new(DataType::Int32), Box::new(DataType::Utf8))
}

/// What the flow decoders hand on: [`flows_schema`] with `source_key` as a dictionary of its
/// one value ([`source_key_dictionary_type`]). Every row of an object carries the object's
/// ~100-byte key; repeated as plain strings, that was as many bytes as the rest of the row,
/// written once by the decoder and read again to find it constant. The lake writes the column
/// as plain strings whatever it is held as (`flowtrail_lake::columns::plain_schema`), and
/// detection reads batches of either schema.
pub fn decoded_flows_schema() -> SchemaRef {
    static SCHEMA: OnceLock<SchemaRef> = OnceLock::new();
    SCHEMA
        .get_or_init(|| {
            let core = flows_schema();
            let fields: Vec<Field> = core
                .fields()
                .iter()
                .map(|f| match f.name().as_str() {
                    SOURCE_KEY => Field::new(SOURCE_KEY, source_key_dictionary_type(), false),
                    _ => f.as_ref().clone(),
                })
                .collect();
            Arc::new(Schema::new_with_metadata(fields, core.metadata().clone()))
        })
        .clone()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn column_names_are_aws_names_with_underscores() {
        for f in FLOW_FIELDS {
            assert_eq!(f.column, f.aws_name.replace('-', "_"));
        }
    }

    #[test]
    fn default_format_is_the_v2_fields_in_order() {
        let v2: Vec<&str> = FLOW_FIELDS
            .iter()
            .filter(|f| f.version == 2)
            .map(|f| f.aws_name)
            .collect();
        assert_eq!(v2, DEFAULT_FORMAT);
    }

    #[test]
    fn decoded_schema_differs_only_in_the_key_type() {
        let (core, decoded) = (flows_schema(), decoded_flows_schema());
        assert_eq!(core.fields().len(), decoded.fields().len());
        for (c, d) in core.fields().iter().zip(decoded.fields()) {
            assert_eq!(c.name(), d.name());
            assert_eq!(c.is_nullable(), d.is_nullable());
            if c.name() == SOURCE_KEY {
                assert_eq!(d.data_type(), &source_key_dictionary_type());
            } else {
                assert_eq!(c.data_type(), d.data_type(), "{}", c.name());
            }
        }
    }

    #[test]
    fn schema_types_match_aws_parquet_delivery() {
        let s = flows_schema();
        assert_eq!(
            s.field_with_name("srcport")
                .map(|f| f.data_type().clone())
                .ok(),
            Some(DataType::Int32)
        );
        assert_eq!(
            s.field_with_name("bytes")
                .map(|f| f.data_type().clone())
                .ok(),
            Some(DataType::Int64)
        );
        assert_eq!(
            s.field_with_name("account_id")
                .map(|f| f.data_type().clone())
                .ok(),
            Some(DataType::Utf8)
        );
        assert_eq!(s.fields().len(), FLOW_FIELDS.len() + 3);
    }
}
