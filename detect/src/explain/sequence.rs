//! Explanation of `attack_sequence`: the alerts that form the path are its evidence, selected
//! from the lake's `alerts` table by id (the alert of each stage is written before the sequence
//! that completes it).

use flowtrail_core::Finding;
use serde_json::{Value, json};

use super::Explanation;
use super::sql::{Window, in_list};
use super::steps;

/// How many days either side of the sequence its alerts' partitions are searched.
const DAYS: i64 = 7;

/// The explanation of an `attack_sequence` finding.
pub fn explain(f: &Finding) -> Explanation {
    let parts: Vec<&Value> = f
        .evidence
        .get("parts")
        .and_then(Value::as_array)
        .map(|a| a.iter().collect())
        .unwrap_or_default();
    let ids: Vec<String> = parts
        .iter()
        .filter_map(|p| {
            p.get("alert_id")
                .and_then(Value::as_str)
                .map(str::to_string)
        })
        .collect();
    let stages: Vec<String> = parts
        .iter()
        .map(|p| {
            let stage = p.get("stage").and_then(Value::as_str).unwrap_or("?");
            match p.get("detector").and_then(Value::as_str) {
                Some(d) => format!("{stage} ({d})"),
                None => stage.to_string(),
            }
        })
        .collect();
    let w = Window::of(f.first_seen_ms, f.last_seen_ms);
    let sql = format!(
        "SELECT id, detector, severity, title, entity_kind, entity_id, first_seen, last_seen FROM alerts WHERE {} AND {} ORDER BY first_seen",
        w.alerts_predicate(DAYS),
        in_list("id", &ids)
    );
    let rows = parts
        .iter()
        .filter_map(|p| {
            let id = p.get("alert_id")?.as_str()?;
            Some(json!({"id": id, "detector": p.get("detector")}))
        })
        .take(super::rows::MAX_ROWS)
        .collect();
    let mut e = Explanation::new(
        format!(
            "Separate alerts on {} line up as the stages of one known attack path: {}. Each alone can be routine; in this order, on one entity, they are how real intrusions unfold (get in, gain rights, act on the objective). Benign look-alikes: an administrator doing several sensitive things in one session on purpose; confirm with them before closing.",
            f.entity.id,
            stages.join(" -> ")
        ),
        sql,
        rows,
    );
    e.next_steps = steps::for_entity(f);
    e.next_steps.insert(
        1,
        "Open each alert of the sequence (evidence.parts) and read its own evidence and steps; treat the entity as compromised until every stage is explained.".into(),
    );
    e
}
