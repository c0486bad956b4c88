//! Explanations of CloudTrail findings: the SQL and Sigma rules (their description as the
//! `why`, the matched events by id as the evidence), `api_recon`, and `unexpected_resource`
//! (a launch in a watched subnet, or an interface talking there with no launch seen).

use flowtrail_core::Finding;
use serde_json::{Value, json};

use super::Explanation;
use super::rows::Events;
use super::sql::{Window, cloudtrail_entity, cloudtrail_query, flows_query, in_list, quote};
use super::steps;

/// The event ids a finding names (`event_ids`, or a single `event_id`).
pub fn event_ids(f: &Finding) -> Vec<String> {
    let e = &f.evidence;
    match (e.get("event_ids"), e.get("event_id")) {
        (Some(Value::Array(a)), _) => a
            .iter()
            .filter_map(|v| v.as_str().map(str::to_string))
            .collect(),
        (_, Some(Value::String(id))) => vec![id.clone()],
        _ => Vec::new(),
    }
}

/// The events behind a CloudTrail finding: by id when it names them, else the entity's events
/// in the alert's hours.
fn evidence(f: &Finding, events: &Events) -> (String, Vec<Value>) {
    let w = Window::of(f.first_seen_ms, f.last_seen_ms);
    let ids = event_ids(f);
    if ids.is_empty() {
        let row = match f.entity.kind {
            flowtrail_core::EntityKind::Principal => {
                vec![json!({"user_identity_arn": f.entity.id})]
            }
            flowtrail_core::EntityKind::Ip => vec![json!({"source_ip_address": f.entity.id})],
            _ => Vec::new(),
        };
        return (cloudtrail_query(&w, &[cloudtrail_entity(&f.entity)]), row);
    }
    (
        cloudtrail_query(&w, &[in_list("event_id", &ids)]),
        events.rows(&ids),
    )
}

const RULE_BENIGN: &str = "Benign look-alikes: an administrator or automation making this change on purpose (a deploy, an infrastructure-as-code run, an approved break-glass action); the principal's owner can confirm it.";

/// A SQL or Sigma rule over CloudTrail: its description says why.
pub fn rule(f: &Finding, description: Option<&str>, events: &Events) -> Explanation {
    let what = match description {
        Some(d) => format!(
            "{}. The rule `{}`: {d}",
            f.title.trim_end_matches('.'),
            f.detector
        ),
        None if f.detector.starts_with("sigma_") => format!(
            "{}. The Sigma rule `{}` matched these CloudTrail events.",
            f.title.trim_end_matches('.'),
            f.detector
        ),
        None => format!("{}.", f.title.trim_end_matches('.')),
    };
    let routine = f.evidence["routine"]["why"]
        .as_str()
        .map(|w| format!(" Who usually makes such changes was checked: {w}."))
        .unwrap_or_default();
    let (sql, rows) = evidence(f, events);
    let mut e = Explanation::new(format!("{what}{routine} {RULE_BENIGN}"), sql, rows);
    e.next_steps = steps::for_entity(f);
    e
}

/// `api_recon`: many denied calls over many services.
pub fn api_recon(f: &Finding, events: &Events) -> Explanation {
    let n = |k: &str| f.evidence.get(k).and_then(Value::as_u64).unwrap_or(0);
    let services = f
        .evidence
        .get("services")
        .and_then(Value::as_array)
        .map_or(0, Vec::len);
    let (sql, rows) = evidence(f, events);
    let mut e = Explanation::new(
        format!(
            "{} made {} calls to {services} AWS services in 10 minutes and {} were denied, far more than its usual {} denied calls. Stolen credentials are first used to find out what they can do: calls across many services, most of them refused. Benign look-alikes: a new deploy pipeline or tool running with too narrow a policy, an auditing tool (Prowler, ScoutSuite) run on purpose.",
            f.entity.id,
            n("calls"),
            n("denied"),
            f.evidence
                .get("usual_denied")
                .and_then(Value::as_f64)
                .unwrap_or(0.0)
        ),
        sql,
        rows,
    );
    e.next_steps = steps::for_entity(f);
    e
}

/// `unexpected_resource`: a launch or an interface a watched subnet does not allow.
pub fn unexpected_resource(f: &Finding, events: &Events) -> Explanation {
    let subnet = f
        .evidence
        .get("subnet_id")
        .and_then(Value::as_str)
        .unwrap_or("?");
    let from_flows = f.evidence.get("source").and_then(Value::as_str) == Some("flows");
    let (sql, rows) = if from_flows {
        let eni = f
            .evidence
            .get("interface_id")
            .and_then(Value::as_str)
            .unwrap_or(&f.entity.id);
        let w = Window::of(f.first_seen_ms, f.last_seen_ms);
        (
            flows_query(
                &w,
                &[format!("interface_id = {}", quote(eni))],
                "event_time",
            ),
            vec![json!({"interface_id": eni})],
        )
    } else {
        evidence(f, events)
    };
    let mut e = Explanation::new(
        format!(
            "{}. Subnet {subnet} is watched: only approved images, instance profiles, launch templates or tags may run there, and this {} not. Something launched outside the normal path (by hand, with a stolen key, or a rogue interface) in a sensitive subnet is how attackers plant a foothold next to valuable data. Benign look-alikes: an engineer's test instance, a new approved image or template not yet on the allow-list.",
            f.title.trim_end_matches('.'),
            if from_flows {
                "interface appeared with no launch seen"
            } else {
                "launch is"
            }
        ),
        sql,
        rows,
    );
    e.next_steps = steps::for_entity(f);
    e
}
