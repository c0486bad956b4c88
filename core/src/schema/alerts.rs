//! The `alerts` table: one row per alert as emitted (after dedupe and suppression), partitioned
//! by date only. `evidence` is the alert's evidence object as a JSON string; `attack_tactics`
//! and `attack_techniques` are the alert's ATT&CK ids as lists of strings (`array<string>` in
//! Athena, `VARCHAR[]` in DuckDB), null in files written before they existed. `why` is the
//! plain-words explanation, `next_steps` the analyst's steps (a list of strings) and `asset` the
//! instance behind the alert as a JSON string (null where unknown or in older files).

use std::sync::{Arc, OnceLock};

use arrow::datatypes::{DataType, Field, Schema, SchemaRef};

use super::timestamp_type;

/// Column names, one constant each.
pub mod col {
    #![allow(missing_docs)]
    pub const ID: &str = "id";
    pub const DETECTOR: &str = "detector";
    pub const SEVERITY: &str = "severity";
    pub const TITLE: &str = "title";
    pub const ACCOUNT_ID: &str = "account_id";
    pub const REGION: &str = "region";
    pub const ENTITY_KIND: &str = "entity_kind";
    pub const ENTITY_ID: &str = "entity_id";
    pub const FIRST_SEEN: &str = "first_seen";
    pub const LAST_SEEN: &str = "last_seen";
    pub const COUNT: &str = "count";
    pub const DEDUPE_KEY: &str = "dedupe_key";
    pub const EVIDENCE: &str = "evidence";
    pub const ATTACK_TACTICS: &str = "attack_tactics";
    pub const ATTACK_TECHNIQUES: &str = "attack_techniques";
    pub const WHY: &str = "why";
    pub const NEXT_STEPS: &str = "next_steps";
    pub const ASSET: &str = "asset";
}

/// The type of the ATT&CK id columns: a list of strings.
pub fn attack_ids_type() -> DataType {
    DataType::List(Arc::new(Field::new_list_field(DataType::Utf8, true)))
}

/// The `alerts` table schema.
pub fn alerts_schema() -> SchemaRef {
    static SCHEMA: OnceLock<SchemaRef> = OnceLock::new();
    SCHEMA
        .get_or_init(|| {
            Arc::new(Schema::new(vec![
                Field::new(col::ID, DataType::Utf8, false),
                Field::new(col::DETECTOR, DataType::Utf8, false),
                Field::new(col::SEVERITY, DataType::Utf8, false),
                Field::new(col::TITLE, DataType::Utf8, false),
                Field::new(col::ACCOUNT_ID, DataType::Utf8, true),
                Field::new(col::REGION, DataType::Utf8, true),
                Field::new(col::ENTITY_KIND, DataType::Utf8, false),
                Field::new(col::ENTITY_ID, DataType::Utf8, false),
                Field::new(col::FIRST_SEEN, timestamp_type(), false),
                Field::new(col::LAST_SEEN, timestamp_type(), false),
                Field::new(col::COUNT, DataType::Int64, false),
                Field::new(col::DEDUPE_KEY, DataType::Utf8, false),
                Field::new(col::EVIDENCE, DataType::Utf8, false),
                // Nullable: alert files written before these columns read them as null.
                Field::new(col::ATTACK_TACTICS, attack_ids_type(), true),
                Field::new(col::ATTACK_TECHNIQUES, attack_ids_type(), true),
                Field::new(col::WHY, DataType::Utf8, true),
                Field::new(col::NEXT_STEPS, attack_ids_type(), true),
                Field::new(col::ASSET, DataType::Utf8, true),
            ]))
        })
        .clone()
}
