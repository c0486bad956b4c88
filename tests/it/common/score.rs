//! Scoring alerts against labels, with the golden sample test's rule: same detector, time
//! overlap within ±15 minutes, and the alert's entity (or a quoted id in its evidence) is one
//! of the label entity's aliases from `fleet.json` (instance id, ENI, private address).

use serde_json::Value;

pub fn ms(s: &str) -> i64 {
    chrono::DateTime::parse_from_rfc3339(s)
        .unwrap()
        .timestamp_millis()
}

/// Every id a labeled entity goes by: the instance id, its ENI and its address.
pub fn aliases(fleet: &Value, id: &str) -> Vec<String> {
    let mut out = vec![id.to_string()];
    for i in fleet["interfaces"].as_array().unwrap() {
        let ids = [&i["instance_id"], &i["interface_id"], &i["private_ip"]];
        if ids.iter().any(|v| v.as_str() == Some(id)) {
            out.extend(ids.iter().filter_map(|v| v.as_str().map(str::to_string)));
        }
    }
    out
}

/// The alert concerns the label's entity within its time span (±15 minutes), any detector.
pub fn same_entity_and_time(alert: &Value, label: &Value, fleet: &Value) -> bool {
    let slack = 15 * 60_000;
    let (a0, a1) = (
        ms(alert["first_seen"].as_str().unwrap()),
        ms(alert["last_seen"].as_str().unwrap()),
    );
    let (l0, l1) = (
        ms(label["start"].as_str().unwrap()) - slack,
        ms(label["end"].as_str().unwrap()) + slack,
    );
    if a1 < l0 || a0 > l1 {
        return false;
    }
    let names = aliases(fleet, label["entity_id"].as_str().unwrap());
    let entity = alert["entity"]["id"].as_str().unwrap();
    let evidence = alert["evidence"].to_string();
    names
        .iter()
        .any(|n| n == entity || evidence.contains(&format!("\"{n}\"")))
}

/// The golden rule: same detector, and [`same_entity_and_time`].
pub fn matches(alert: &Value, label: &Value, fleet: &Value) -> bool {
    alert["detector"] == label["detector"] && same_entity_and_time(alert, label, fleet)
}
