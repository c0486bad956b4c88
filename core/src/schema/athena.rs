//! Athena (Hive DDL) `CREATE EXTERNAL TABLE` statements for the lake, generated from the same
//! Arrow schemas the writer uses, so the DDL can never drift from the files.
//!
//! Athena refuses a partition key that is also a data column, so `account_id` and `region`
//! (stored in the files *and* in the path) are declared only as partition keys; Athena then
//! reads their values from the path, which holds the same value.

use arrow::datatypes::{DataType, Schema};

use super::{ACCOUNT_ID, DATE, HOUR, REGION};
use crate::layout::Table;

fn hive_type(ty: &DataType) -> String {
    match ty {
        DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View => "string".into(),
        DataType::Int32 => "int".into(),
        DataType::Int64 => "bigint".into(),
        DataType::Boolean => "boolean".into(),
        DataType::Timestamp(_, _) => "timestamp".into(),
        DataType::Map(_, _) => "map<string,string>".into(),
        DataType::List(f) | DataType::LargeList(f) => {
            format!("array<{}>", hive_type(f.data_type()))
        }
        other => format!("string /* {other} */"),
    }
}

/// The partition keys of a table, in path order.
pub fn partition_keys(table: Table) -> &'static [&'static str] {
    match table {
        Table::Alerts | Table::Inventory => &[DATE],
        Table::Flows | Table::Cloudtrail => &[ACCOUNT_ID, REGION, DATE, HOUR],
    }
}

/// One `CREATE EXTERNAL TABLE` statement for `table` with its files under `location`
/// (`s3://bucket/prefix`, without the table name).
pub fn create_table(table: Table, schema: &Schema, location: &str) -> String {
    let parts = partition_keys(table);
    let cols: Vec<String> = schema
        .fields()
        .iter()
        .filter(|f| !parts.contains(&f.name().as_str()))
        .map(|f| format!("  `{}` {}", f.name(), hive_type(f.data_type())))
        .collect();
    let pcols: Vec<String> = parts.iter().map(|p| format!("  `{p}` string")).collect();
    format!(
        "CREATE EXTERNAL TABLE IF NOT EXISTS `{name}` (\n{cols}\n)\nPARTITIONED BY (\n{pcols}\n)\nSTORED AS PARQUET\nLOCATION '{loc}/{name}/'\nTBLPROPERTIES ('parquet.compression'='ZSTD');\n-- then: MSCK REPAIR TABLE `{name}`;  (or ALTER TABLE ADD PARTITION as new ones land)\n",
        name = table.name(),
        cols = cols.join(",\n"),
        pcols = pcols.join(",\n"),
        loc = location.trim_end_matches('/'),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::schema::flows::flows_schema;

    #[test]
    fn flows_ddl_has_typed_columns_and_no_duplicate_partition_keys() {
        let ddl = create_table(Table::Flows, &flows_schema(), "s3://b/lake/");
        assert!(ddl.contains("`srcport` int"), "{ddl}");
        assert!(ddl.contains("`bytes` bigint"));
        assert!(ddl.contains("`event_time` timestamp"));
        assert!(ddl.contains("`extra_fields` map<string,string>"));
        assert!(ddl.contains("LOCATION 's3://b/lake/flows/'"));
        assert_eq!(ddl.matches("`account_id`").count(), 1, "{ddl}");
    }

    #[test]
    fn alerts_ddl_has_attack_id_arrays() {
        let ddl = create_table(
            Table::Alerts,
            &crate::schema::alerts::alerts_schema(),
            "s3://b/lake",
        );
        assert!(ddl.contains("`attack_tactics` array<string>"), "{ddl}");
        assert!(ddl.contains("`attack_techniques` array<string>"), "{ddl}");
    }

    #[test]
    fn inventory_ddl_is_partitioned_by_date_with_group_arrays() {
        let ddl = create_table(
            Table::Inventory,
            &crate::schema::inventory::inventory_schema(),
            "s3://b/lake",
        );
        assert!(ddl.contains("`security_groups` array<string>"), "{ddl}");
        assert!(ddl.contains("`valid_from` timestamp"), "{ddl}");
        assert!(
            ddl.contains("PARTITIONED BY (\n  `date` string\n)"),
            "{ddl}"
        );
        assert!(ddl.contains("LOCATION 's3://b/lake/inventory/'"), "{ddl}");
    }
}
