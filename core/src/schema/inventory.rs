//! The `inventory` table: what flowtrail knows of each network interface — the instance it is
//! attached to, its private address, subnet, VPC, security groups, image, instance profile and
//! tags — one row per interface and validity interval, partitioned by date only.
//!
//! Each write is a **snapshot** of everything detection tracks (closed intervals it still
//! remembers included), stamped with `snapshot_time` (the newest event time seen when it was
//! taken). The newest snapshot is the whole picture; older ones are what was known then. An
//! interface re-attached to another instance gets a new row: `valid_from` is when the
//! attachment began, `valid_to` when it ended (null while it holds). `tags` is a JSON object as
//! a string, `name` the `Name` tag for convenience; `source` says what taught it (`cloudtrail`,
//! `flow_log`, or both joined by `+`).

use std::sync::{Arc, OnceLock};

use arrow::datatypes::{Field, Schema, SchemaRef};

use super::timestamp_type;

/// Column names, one constant each.
pub mod col {
    #![allow(missing_docs)]
    pub const SNAPSHOT_TIME: &str = "snapshot_time";
    pub const ACCOUNT_ID: &str = "account_id";
    pub const REGION: &str = "region";
    pub const INTERFACE_ID: &str = "interface_id";
    pub const INSTANCE_ID: &str = "instance_id";
    pub const PRIVATE_IP: &str = "private_ip";
    pub const SUBNET_ID: &str = "subnet_id";
    pub const VPC_ID: &str = "vpc_id";
    pub const SECURITY_GROUPS: &str = "security_groups";
    pub const IMAGE_ID: &str = "image_id";
    pub const INSTANCE_PROFILE: &str = "instance_profile";
    pub const NAME: &str = "name";
    pub const TAGS: &str = "tags";
    pub const FIRST_SEEN: &str = "first_seen";
    pub const LAST_SEEN: &str = "last_seen";
    pub const VALID_FROM: &str = "valid_from";
    pub const VALID_TO: &str = "valid_to";
    pub const SOURCE: &str = "source";
}

/// The type of `security_groups`: a list of strings (`array<string>` in Athena).
pub fn string_list_type() -> arrow::datatypes::DataType {
    arrow::datatypes::DataType::List(Arc::new(Field::new_list_field(
        arrow::datatypes::DataType::Utf8,
        true,
    )))
}

/// The `inventory` table schema.
pub fn inventory_schema() -> SchemaRef {
    static SCHEMA: OnceLock<SchemaRef> = OnceLock::new();
    SCHEMA
        .get_or_init(|| {
            use arrow::datatypes::DataType::Utf8;
            Arc::new(Schema::new(vec![
                Field::new(col::SNAPSHOT_TIME, timestamp_type(), false),
                Field::new(col::ACCOUNT_ID, Utf8, true),
                Field::new(col::REGION, Utf8, true),
                Field::new(col::INTERFACE_ID, Utf8, false),
                Field::new(col::INSTANCE_ID, Utf8, true),
                Field::new(col::PRIVATE_IP, Utf8, true),
                Field::new(col::SUBNET_ID, Utf8, true),
                Field::new(col::VPC_ID, Utf8, true),
                Field::new(col::SECURITY_GROUPS, string_list_type(), true),
                Field::new(col::IMAGE_ID, Utf8, true),
                Field::new(col::INSTANCE_PROFILE, Utf8, true),
                Field::new(col::NAME, Utf8, true),
                Field::new(col::TAGS, Utf8, true),
                Field::new(col::FIRST_SEEN, timestamp_type(), false),
                Field::new(col::LAST_SEEN, timestamp_type(), false),
                Field::new(col::VALID_FROM, timestamp_type(), false),
                Field::new(col::VALID_TO, timestamp_type(), true),
                Field::new(col::SOURCE, Utf8, false),
            ]))
        })
        .clone()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_column_constant_is_in_the_schema_once() {
        let s = inventory_schema();
        for c in [
            col::SNAPSHOT_TIME,
            col::INTERFACE_ID,
            col::INSTANCE_ID,
            col::SECURITY_GROUPS,
            col::TAGS,
            col::VALID_FROM,
            col::VALID_TO,
            col::SOURCE,
        ] {
            assert_eq!(
                s.fields().iter().filter(|f| f.name() == c).count(),
                1,
                "{c}"
            );
        }
        assert!(
            s.field_with_name(col::VALID_TO)
                .is_ok_and(|f| f.is_nullable())
        );
        assert!(
            s.field_with_name(col::INTERFACE_ID)
                .is_ok_and(|f| !f.is_nullable())
        );
    }
}
