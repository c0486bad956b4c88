//! Baseline alerts as OCSF `anomaly_analyses` (a Detection Finding attribute since OCSF 1.5.0).
//!
//! Baseline detectors write the observed value beside the expected one: `X` and
//! `baseline_X` (`bytes_out`, `baseline_bytes_out`), with `ratio`, `baseline` (whose
//! baseline: the entity's own or its peer group's) and `hour_of_day`. Each such pair becomes
//! an `anomaly` (the observed value) and a `baseline` (the expected one) on the parameter `X`,
//! over the alert's first-to-last-seen interval. `new_peer` carries no expected value, only
//! the new `network` (and whether the port is new too): an anomaly without a baseline.
//! Observation values are strings in OCSF; numbers are written in full.
//!
//! An `evidence.band` (the expected range at that hour of day, the observed value, how far out
//! and whose history) becomes an anomaly on its unit with the expected range as its baseline.

use std::collections::BTreeSet;

use flowtrail_core::Alert;
use serde_json::{Map, Value, json};

/// OCSF `timespan` type id of an explicit interval.
const TIME_INTERVAL: i64 = 9;

fn value_text(v: &Value) -> Option<String> {
    match v {
        Value::Number(n) => Some(n.to_string()),
        Value::String(s) => Some(s.clone()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

fn observation(value: String, first_ms: i64, last_ms: i64) -> Value {
    json!({
        "value": value,
        "timespan": {
            "start_time": first_ms,
            "end_time": last_ms,
            "type_id": TIME_INTERVAL,
            "type": "Time Interval",
        },
    })
}

/// `evidence.band` as an anomaly (observed) and its baseline (the expected range).
fn band(b: Option<&Value>, first_ms: i64, last_ms: i64) -> Option<(Value, Value)> {
    let b = b?;
    let unit = b.get("unit")?.as_str()?;
    let observed = value_text(b.get("observed")?)?;
    let (low, high) = (
        value_text(b.get("expected_low")?)?,
        value_text(b.get("expected_high")?)?,
    );
    let basis = match b.get("basis").and_then(Value::as_str) {
        Some("peer_group") => "peer group",
        _ => "own",
    };
    let hour = b.get("hour_of_day").and_then(Value::as_i64).unwrap_or(0);
    let times = b
        .get("times_expected")
        .and_then(Value::as_f64)
        .unwrap_or(0.0);
    let kind = format!("{basis} baseline band at hour {hour} UTC");
    Some((
        json!({
            "observation_parameter": unit,
            "observed_pattern": format!("{times}x the top of the {kind}"),
            "observations": [observation(observed, first_ms, last_ms)],
        }),
        json!({
            "observation_parameter": unit,
            "observation_type": kind,
            "observations": [observation(format!("{low}-{high}"), first_ms, last_ms)],
        }),
    ))
}

/// The alert's `anomaly_analyses` (none unless it carries observed values), and the evidence
/// keys they account for.
pub fn anomaly_analyses(a: &Alert, first_ms: i64, last_ms: i64) -> (Vec<Value>, BTreeSet<String>) {
    let mut used = BTreeSet::new();
    let Some(ev) = a.evidence.as_object() else {
        return (Vec::new(), used);
    };
    let mut anomalies = Vec::new();
    let mut baselines = Vec::new();
    let whose = ev.get("baseline").and_then(Value::as_str).unwrap_or("own");
    let hour = ev.get("hour_of_day").and_then(Value::as_i64);
    let kind = match hour {
        Some(h) => format!("{whose} baseline at hour {h} UTC"),
        None => format!("{whose} baseline"),
    };
    for (key, expected) in ev {
        let Some(param) = key.strip_prefix("baseline_") else {
            continue;
        };
        let (Some(observed), Some(expected)) =
            (ev.get(param).and_then(value_text), value_text(expected))
        else {
            continue;
        };
        let mut an = Map::new();
        an.insert("observation_parameter".into(), json!(param));
        an.insert(
            "observations".into(),
            json!([observation(observed, first_ms, last_ms)]),
        );
        if let Some(r) = ev.get("ratio").and_then(Value::as_f64) {
            an.insert("observed_pattern".into(), json!(format!("{r}x the {kind}")));
            used.insert("ratio".to_string());
        }
        anomalies.push(Value::Object(an));
        baselines.push(json!({
            "observation_parameter": param,
            "observation_type": kind,
            "observations": [observation(expected, first_ms, last_ms)],
        }));
        used.extend([key.clone(), param.to_string()]);
    }
    if !baselines.is_empty() {
        used.extend(["baseline".to_string(), "hour_of_day".to_string()]);
    }
    if let Some((an, base)) = band(ev.get("band"), first_ms, last_ms) {
        anomalies.push(an);
        baselines.push(base);
        used.insert("band".to_string());
    }
    if let Some(net) = ev.get("network").and_then(Value::as_str) {
        let new_port = ev.get("new_port").and_then(Value::as_bool) == Some(true);
        let pattern = if new_port {
            "a network and a port never contacted before"
        } else {
            "a network never contacted before"
        };
        anomalies.push(json!({
            "observation_parameter": "remote_network",
            "observed_pattern": pattern,
            "observations": [observation(net.to_string(), first_ms, last_ms)],
        }));
        used.extend(["network".to_string(), "new_port".to_string()]);
    }
    if anomalies.is_empty() {
        return (Vec::new(), BTreeSet::new());
    }
    let kind = serde_json::to_value(a.entity.kind)
        .ok()
        .and_then(|v| v.as_str().map(str::to_string))
        .unwrap_or_default();
    let mut analysis = Map::new();
    analysis.insert(
        "analysis_targets".into(),
        json!([{ "name": a.entity.id, "type": kind }]),
    );
    analysis.insert("anomalies".into(), Value::Array(anomalies));
    if !baselines.is_empty() {
        analysis.insert("baselines".into(), Value::Array(baselines));
    }
    (vec![Value::Object(analysis)], used)
}

#[cfg(test)]
mod tests {
    use super::*;
    use flowtrail_core::{Entity, EntityKind, Finding, Severity};

    fn alert(evidence: Value) -> Alert {
        Alert::from_finding(Finding {
            detector: "volume_spike".into(),
            severity: Severity::High,
            title: "t".into(),
            account_id: None,
            region: None,
            entity: Entity {
                kind: EntityKind::Eni,
                id: "eni-1".into(),
            },
            first_seen_ms: 1_000,
            last_seen_ms: 2_000,
            dedupe_key: "k".into(),
            evidence,
            attack: Default::default(),
        })
    }

    #[test]
    fn observed_and_expected_values_pair_up() {
        let a = alert(
            json!({"bytes_out": 1000, "baseline_bytes_out": 10, "ratio": 100.0,
                             "baseline": "own", "hour_of_day": 11, "peers": 3}),
        );
        let (v, used) = anomaly_analyses(&a, 1_000, 2_000);
        assert_eq!(v.len(), 1);
        let an = &v[0]["anomalies"][0];
        assert_eq!(an["observation_parameter"], "bytes_out");
        assert_eq!(an["observations"][0]["value"], "1000");
        assert_eq!(an["observations"][0]["timespan"]["end_time"], 2_000);
        assert_eq!(v[0]["baselines"][0]["observations"][0]["value"], "10");
        assert_eq!(
            v[0]["baselines"][0]["observation_type"],
            "own baseline at hour 11 UTC"
        );
        assert!(used.contains("baseline_bytes_out") && !used.contains("peers"));
    }

    #[test]
    fn a_new_network_is_an_anomaly_without_baseline_and_others_have_none() {
        let (v, _) = anomaly_analyses(&alert(json!({"network": "91.215", "new_port": true})), 0, 0);
        assert_eq!(v[0]["anomalies"][0]["observations"][0]["value"], "91.215");
        assert!(v[0].get("baselines").is_none());
        let (none, used) = anomaly_analyses(&alert(json!({"ports": 31})), 0, 0);
        assert!(none.is_empty() && used.is_empty());
    }

    #[test]
    fn a_band_is_an_anomaly_against_its_expected_range() {
        let a = alert(
            json!({"dns_bytes_out": 9, "band": {"hour_of_day": 3, "expected_low": 10,
            "expected_high": 200, "observed": 9000, "unit": "dns_bytes_out_per_hour",
            "times_expected": 45.0, "basis": "peer_group"}}),
        );
        let (v, used) = anomaly_analyses(&a, 0, 1);
        let an = &v[0]["anomalies"][0];
        assert_eq!(an["observation_parameter"], "dns_bytes_out_per_hour");
        assert_eq!(an["observations"][0]["value"], "9000");
        assert_eq!(
            an["observed_pattern"],
            "45x the top of the peer group baseline band at hour 3 UTC"
        );
        assert_eq!(v[0]["baselines"][0]["observations"][0]["value"], "10-200");
        assert!(used.contains("band"));
        // A band without its unit is left unmapped.
        let (none, _) = anomaly_analyses(&alert(json!({"band": {"observed": 1}})), 0, 0);
        assert!(none.is_empty());
    }
}
