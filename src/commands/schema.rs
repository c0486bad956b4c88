//! `flowtrail schema`: the lake schemas, or Athena DDL generated from them.

use std::io::Write;
use std::process::ExitCode;

use flowtrail_core::Table;
use flowtrail_core::schema::{
    alerts::alerts_schema, athena, cloudtrail::cloudtrail_schema, flows::flows_schema,
    inventory::inventory_schema,
};

use crate::cli::SchemaArgs;

fn schema_of(t: Table) -> arrow::datatypes::SchemaRef {
    match t {
        Table::Flows => flows_schema(),
        Table::Cloudtrail => cloudtrail_schema(),
        Table::Alerts => alerts_schema(),
        Table::Inventory => inventory_schema(),
    }
}

pub fn run(args: SchemaArgs) -> anyhow::Result<ExitCode> {
    let mut out = std::io::stdout().lock();
    for t in Table::ALL {
        let schema = schema_of(t);
        if args.athena {
            writeln!(out, "{}", athena::create_table(t, &schema, &args.location))?;
        } else {
            let parts = athena::partition_keys(t).join(", ");
            writeln!(out, "table {t} (partitioned by {parts})")?;
            for f in schema.fields() {
                let null = if f.is_nullable() { "" } else { " not null" };
                writeln!(out, "  {:<32} {}{null}", f.name(), f.data_type())?;
            }
            writeln!(out)?;
        }
    }
    Ok(ExitCode::SUCCESS)
}
