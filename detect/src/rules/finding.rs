//! Turning a rule's result rows into [`Finding`]s: the threshold filter, the per-row severity
//! override, the title placeholders, the dedupe key and the evidence object.

use arrow::array::{Array, ArrayRef, AsArray};
use arrow::datatypes::{DataType, Schema, TimeUnit};
use arrow::record_batch::RecordBatch;
use arrow::util::display::{ArrayFormatter, FormatOptions};
use flowtrail_core::alert::{Entity, Finding, Severity};
use serde_json::{Map, Value};

use super::Rule;
use crate::DetectError;

/// Result columns with a meaning of their own (not evidence).
pub const FIRST_SEEN: &str = "first_seen";
/// See [`FIRST_SEEN`].
pub const LAST_SEEN: &str = "last_seen";
/// Optional: account of the finding.
pub const ACCOUNT_ID: &str = "account_id";
/// Optional: region of the finding.
pub const REGION: &str = "region";
/// Optional: a severity name overriding the header's for this row.
pub const SEVERITY: &str = "severity";

/// Check that a rule's result schema has what its header promises (called at load).
pub fn check_result_schema(rule: &Rule, schema: &Schema) -> Result<(), String> {
    for time in [FIRST_SEEN, LAST_SEEN] {
        let f = schema
            .field_with_name(time)
            .map_err(|_| format!("the query returns no `{time}` column (required)"))?;
        if !matches!(f.data_type(), DataType::Timestamp(..)) {
            return Err(format!(
                "`{time}` is {}, expected a timestamp",
                f.data_type()
            ));
        }
    }
    let has = |c: &str| schema.field_with_name(c).is_ok();
    if !has(&rule.entity_column) {
        return Err(format!(
            "the query returns no entity column `{}`",
            rule.entity_column
        ));
    }
    for d in &rule.dedupe {
        if !has(d) {
            return Err(format!("the query returns no dedupe column `{d}`"));
        }
    }
    if let Some((c, _)) = &rule.threshold {
        let f = schema
            .field_with_name(c)
            .map_err(|_| format!("the query returns no threshold column `{c}`"))?;
        if !f.data_type().is_numeric() {
            return Err(format!(
                "threshold column `{c}` is {}, expected a number",
                f.data_type()
            ));
        }
    }
    for p in super::header::placeholders(&rule.title) {
        if !has(p) {
            return Err(format!(
                "title placeholder `{{{p}}}` is not a result column"
            ));
        }
    }
    if let Ok(f) = schema.field_with_name(SEVERITY)
        && !matches!(
            f.data_type(),
            DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View
        )
    {
        return Err(format!(
            "`severity` is {}, expected a string",
            f.data_type()
        ));
    }
    Ok(())
}

/// Findings for every row of `batch` that passes the threshold and has an entity.
pub fn findings_from_batch(
    rule: &Rule,
    batch: &RecordBatch,
    out: &mut Vec<Finding>,
) -> Result<(), DetectError> {
    if batch.num_rows() == 0 {
        return Ok(());
    }
    let arrow_err = |source| DetectError::Arrow {
        context: format!("rule {}: reading results", rule.id),
        source,
    };
    let schema = batch.schema();
    let col = |name: &str| schema.index_of(name).ok().map(|i| batch.column(i).clone());
    let missing = |name: &str| DetectError::Rule {
        path: rule.path.clone(),
        reason: format!("the query returned no `{name}` column"),
    };
    let first = col(FIRST_SEEN).ok_or_else(|| missing(FIRST_SEEN))?;
    let last = col(LAST_SEEN).ok_or_else(|| missing(LAST_SEEN))?;
    let entity = col(&rule.entity_column).ok_or_else(|| missing(&rule.entity_column))?;
    let threshold = match &rule.threshold {
        Some((c, v)) => Some((col(c).ok_or_else(|| missing(c))?, *v)),
        None => None,
    };
    let severity = col(SEVERITY);
    let account = col(ACCOUNT_ID);
    let region = col(REGION);

    let opts = FormatOptions::default();
    let formatters: Vec<ArrayFormatter<'_>> = batch
        .columns()
        .iter()
        .map(|c| ArrayFormatter::try_new(c.as_ref(), &opts))
        .collect::<Result<_, _>>()
        .map_err(arrow_err)?;
    let text = |name: &str, row: usize| -> Option<String> {
        let i = schema.index_of(name).ok()?;
        let c = batch.column(i);
        if c.is_null(row) {
            None
        } else {
            Some(formatters[i].value(row).to_string())
        }
    };
    let evidence_rows = evidence_rows(rule, batch).map_err(arrow_err)?;

    for (row, evidence) in evidence_rows.into_iter().enumerate() {
        if let Some((c, min)) = &threshold {
            match number(c, row) {
                Some(v) if v >= *min => {}
                _ => continue,
            }
        }
        let Some(entity_id) = text(&rule.entity_column, row).filter(|_| !entity.is_null(row))
        else {
            tracing::debug!(rule = %rule.id, row, "result row without an entity value skipped");
            continue;
        };
        let (Some(first_seen_ms), Some(last_seen_ms)) = (millis(&first, row), millis(&last, row))
        else {
            tracing::debug!(rule = %rule.id, row, "result row without first_seen/last_seen skipped");
            continue;
        };
        let severity = severity
            .as_ref()
            .and_then(|_| text(SEVERITY, row))
            .and_then(|s| match s.parse::<Severity>() {
                Ok(s) => Some(s),
                Err(e) => {
                    tracing::warn!(rule = %rule.id, error = %e, "bad severity in a result row, using the header's");
                    None
                }
            })
            .unwrap_or(rule.severity);
        let mut dedupe_key = rule.id.clone();
        for d in &rule.dedupe {
            dedupe_key.push('|');
            dedupe_key.push_str(&text(d, row).unwrap_or_default());
        }
        out.push(Finding {
            detector: rule.id.clone(),
            severity,
            title: fill_title(&rule.title, |p| text(p, row)),
            account_id: account.as_ref().and_then(|_| text(ACCOUNT_ID, row)),
            region: region.as_ref().and_then(|_| text(REGION, row)),
            entity: Entity {
                kind: rule.entity_kind,
                id: entity_id,
            },
            first_seen_ms,
            last_seen_ms,
            dedupe_key,
            evidence,
            attack: rule.attack.clone(),
        });
    }
    Ok(())
}

/// Replace `{column}` placeholders; a null value reads `-`.
pub fn fill_title(title: &str, mut value: impl FnMut(&str) -> Option<String>) -> String {
    let mut out = String::with_capacity(title.len() + 32);
    let mut rest = title;
    while let Some(open) = rest.find('{') {
        let after = &rest[open + 1..];
        let Some(close) = after.find('}') else { break };
        out.push_str(&rest[..open]);
        out.push_str(&value(&after[..close]).unwrap_or_else(|| "-".to_string()));
        rest = &after[close + 1..];
    }
    out.push_str(rest);
    out
}

/// The evidence object of every row: every column except the times, the entity, account,
/// region and severity; nulls left out. Lists become arrays, numbers stay numbers.
fn evidence_rows(rule: &Rule, batch: &RecordBatch) -> Result<Vec<Value>, arrow::error::ArrowError> {
    let skip = |n: &str| {
        n == FIRST_SEEN
            || n == LAST_SEEN
            || n == ACCOUNT_ID
            || n == REGION
            || n == SEVERITY
            || n == rule.entity_column
    };
    let schema = batch.schema();
    let keep: Vec<usize> = (0..schema.fields().len())
        .filter(|&i| !skip(schema.field(i).name()))
        .collect();
    let projected = batch.project(&keep)?;
    let mut buf = Vec::new();
    {
        let mut w = arrow::json::WriterBuilder::new()
            .with_explicit_nulls(false)
            .build::<_, arrow::json::writer::JsonArray>(&mut buf);
        w.write(&projected)?;
        w.finish()?;
    }
    let rows = match serde_json::from_slice::<Value>(&buf) {
        Ok(Value::Array(rows)) => rows,
        _ => Vec::new(),
    };
    // An all-null row may be written as nothing at all; keep one object per row.
    let mut rows: Vec<Value> = rows
        .into_iter()
        .map(|r| {
            if r.is_object() {
                r
            } else {
                Value::Object(Map::new())
            }
        })
        .collect();
    rows.resize(batch.num_rows(), Value::Object(Map::new()));
    Ok(rows)
}

/// Event time of a timestamp cell in milliseconds.
fn millis(a: &ArrayRef, row: usize) -> Option<i64> {
    use arrow::datatypes::{
        TimestampMicrosecondType as Us, TimestampMillisecondType as Ms,
        TimestampNanosecondType as Ns, TimestampSecondType as S,
    };
    if a.is_null(row) {
        return None;
    }
    match a.data_type() {
        DataType::Timestamp(TimeUnit::Second, _) => {
            a.as_primitive::<S>().value(row).checked_mul(1000)
        }
        DataType::Timestamp(TimeUnit::Millisecond, _) => Some(a.as_primitive::<Ms>().value(row)),
        DataType::Timestamp(TimeUnit::Microsecond, _) => {
            Some(a.as_primitive::<Us>().value(row).div_euclid(1000))
        }
        DataType::Timestamp(TimeUnit::Nanosecond, _) => {
            Some(a.as_primitive::<Ns>().value(row).div_euclid(1_000_000))
        }
        _ => None,
    }
}

/// A numeric cell as `f64` (for thresholds).
fn number(a: &ArrayRef, row: usize) -> Option<f64> {
    use arrow::compute::kernels::cast::cast;
    if a.is_null(row) {
        return None;
    }
    let one = a.slice(row, 1);
    let as_f64 = cast(&one, &DataType::Float64).ok()?;
    let v = as_f64.as_primitive::<arrow::datatypes::Float64Type>();
    (!v.is_null(0)).then(|| v.value(0))
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;
    use std::sync::Arc;

    use arrow::array::{
        Int64Array, ListBuilder, StringArray, StringBuilder, TimestampMillisecondArray,
    };
    use arrow::datatypes::Field;
    use flowtrail_core::alert::EntityKind;

    use super::*;
    use crate::rules::RuleTable;

    fn rule(threshold: Option<(&str, f64)>) -> Rule {
        Rule {
            id: "ssh_test".into(),
            title: "ssh from {src} to {target} ({attempts})".into(),
            severity: Severity::Medium,
            entity_kind: EntityKind::Ip,
            entity_column: "src".into(),
            dedupe: vec!["src".into(), "target".into()],
            threshold: threshold.map(|(c, v)| (c.to_string(), v)),
            window_minutes: 10,
            table: RuleTable::Flows,
            attack: flowtrail_core::alert::Attack::new(&["TA0006"], &["T1110.001"]),
            sql: "SELECT 1".into(),
            path: PathBuf::from("rules/ssh_test.sql"),
        }
    }

    fn batch() -> RecordBatch {
        let ts = |v: Vec<i64>| {
            Arc::new(TimestampMillisecondArray::from(v).with_timezone("UTC")) as ArrayRef
        };
        let mut builder = ListBuilder::new(StringBuilder::new());
        for row in [vec!["22"], vec![], vec!["22", "2222"]] {
            for p in row {
                builder.values().append_value(p);
            }
            builder.append(true);
        }
        let ports: ArrayRef = Arc::new(builder.finish());
        let tz = DataType::Timestamp(TimeUnit::Millisecond, Some("UTC".into()));
        let schema = Schema::new(vec![
            Field::new("first_seen", tz.clone(), true),
            Field::new("last_seen", tz, true),
            Field::new("src", DataType::Utf8, true),
            Field::new("target", DataType::Utf8, true),
            Field::new("attempts", DataType::Int64, true),
            Field::new("account_id", DataType::Utf8, true),
            Field::new("severity", DataType::Utf8, true),
            Field::new("ports", ports.data_type().clone(), true),
        ]);
        let cols: Vec<ArrayRef> = vec![
            ts(vec![
                1_767_866_700_000,
                1_767_866_700_000,
                1_767_866_700_000,
            ]),
            ts(vec![
                1_767_867_000_000,
                1_767_867_000_000,
                1_767_867_000_000,
            ]),
            Arc::new(StringArray::from(vec![
                Some("203.0.113.9"),
                None,
                Some("10.0.1.5"),
            ])),
            Arc::new(StringArray::from(vec!["10.0.0.7", "10.0.0.8", "10.0.0.9"])),
            Arc::new(Int64Array::from(vec![Some(45), Some(50), Some(12)])),
            Arc::new(StringArray::from(vec![Some("012345678901"), None, None])),
            Arc::new(StringArray::from(vec![None, None, Some("high")])),
            ports,
        ];
        RecordBatch::try_new(Arc::new(schema), cols).unwrap_or_else(|e| panic!("{e}"))
    }

    fn run(r: &Rule) -> Vec<Finding> {
        let mut out = Vec::new();
        findings_from_batch(r, &batch(), &mut out).unwrap_or_else(|e| panic!("{e}"));
        out
    }

    #[test]
    fn builds_findings_and_skips_null_entities() {
        let f = run(&rule(None));
        assert_eq!(f.len(), 2, "the row with a null entity is skipped");
        let a = &f[0];
        assert_eq!(a.detector, "ssh_test");
        assert_eq!(a.severity, Severity::Medium);
        assert_eq!(a.title, "ssh from 203.0.113.9 to 10.0.0.7 (45)");
        assert_eq!(
            a.entity,
            Entity {
                kind: EntityKind::Ip,
                id: "203.0.113.9".into()
            }
        );
        assert_eq!(a.account_id.as_deref(), Some("012345678901"));
        assert_eq!(a.region, None);
        assert_eq!(
            (a.first_seen_ms, a.last_seen_ms),
            (1_767_866_700_000, 1_767_867_000_000)
        );
        assert_eq!(a.dedupe_key, "ssh_test|203.0.113.9|10.0.0.7");
        assert_eq!(
            a.evidence,
            serde_json::json!({"target": "10.0.0.7", "attempts": 45, "ports": ["22"]})
        );
        assert_eq!(
            f[1].severity,
            Severity::High,
            "the severity column overrides the header"
        );
        assert_eq!(f[1].evidence["ports"], serde_json::json!(["22", "2222"]));
    }

    #[test]
    fn findings_carry_the_rule_attack_ids_into_the_alert_json() {
        let f = run(&rule(None));
        assert!(
            f.iter()
                .all(|f| f.attack.tactics == ["TA0006"] && f.attack.techniques == ["T1110.001"]),
            "{f:?}"
        );
        let alert = flowtrail_core::Alert::from_finding(f[0].clone());
        let json = serde_json::to_value(&alert).unwrap_or_default();
        assert_eq!(
            json["attack"],
            serde_json::json!({"tactics": ["TA0006"], "techniques": ["T1110.001"]})
        );
    }

    #[test]
    fn threshold_keeps_rows_at_or_above_the_value() {
        let f = run(&rule(Some(("attempts", 45.0))));
        assert_eq!(
            f.iter().map(|f| f.entity.id.as_str()).collect::<Vec<_>>(),
            vec!["203.0.113.9"]
        );
        let f = run(&rule(Some(("attempts", 46.0))));
        assert!(f.is_empty());
        let f = run(&rule(Some(("attempts", 1.0))));
        assert_eq!(f.len(), 2);
    }

    #[test]
    fn title_placeholders_fill_and_nulls_read_dash() {
        let t = fill_title("a {x} b {y} c {", |p| (p == "x").then(|| "1".to_string()));
        assert_eq!(t, "a 1 b - c {");
    }

    #[test]
    fn result_schema_is_checked() {
        let b = batch();
        assert_eq!(
            check_result_schema(&rule(Some(("attempts", 1.0))), &b.schema()),
            Ok(())
        );
        let mut r = rule(None);
        r.dedupe.push("missing".into());
        assert!(check_result_schema(&r, &b.schema()).is_err_and(|e| e.contains("missing")));
        let mut r = rule(None);
        r.title = "{nope}".into();
        assert!(check_result_schema(&r, &b.schema()).is_err());
        assert!(check_result_schema(&rule(Some(("target", 1.0))), &b.schema()).is_err());
    }
}
