//! What an alert's evidence object says, as OCSF `evidences` artifacts.
//!
//! Detectors write small evidence objects with a shared vocabulary; the keys below map to OCSF
//! objects, everything else stays in `unmapped.evidence` (see [`super::unmapped`]):
//!
//! | evidence key | OCSF |
//! |---|---|
//! | principal entity, `principal` | `actor.user` (uid = ARN, name = last path part) |
//! | `event_names` (string, comma-separated, or list) | one artifact per call: `api.operation` |
//! | `source_ip`, `source_ips` | one artifact per address: `src_endpoint.ip` |
//! | `remote` + `remote_port` | `dst_endpoint` (ip, port), `src_endpoint` = the entity |
//! | `top_peers[]` (`remote`, `port`, `bytes`) | one artifact per peer, bytes in `data` |
//! | `top_host` + `top_port`, `target` (an address) | `dst_endpoint`, `src_endpoint` = the entity |
//!
//! Ports are written as integers (OCSF `port_t`), addresses only when they parse as IPs.

use std::collections::BTreeSet;
use std::net::IpAddr;

use flowtrail_core::{Alert, EntityKind};
use serde_json::{Map, Value, json};

use super::resource::{entity_endpoint, principal_user};

/// Evidence keys this module maps.
pub const MAPPED_KEYS: &[&str] = &[
    "principal",
    "event_names",
    "source_ip",
    "source_ips",
    "remote",
    "remote_port",
    "top_peers",
    "top_host",
    "top_port",
];

fn ip(v: Option<&Value>) -> Option<String> {
    let s = v?.as_str()?;
    s.parse::<IpAddr>().ok().map(|_| s.to_string())
}

fn port(v: Option<&Value>) -> Option<i64> {
    v?.as_i64().filter(|p| (0..=65_535).contains(p))
}

fn endpoint(addr: String, p: Option<i64>) -> Value {
    let mut o = Map::new();
    o.insert("ip".into(), json!(addr));
    if let Some(p) = p {
        o.insert("port".into(), json!(p));
    }
    Value::Object(o)
}

fn strings(v: Option<&Value>) -> Vec<String> {
    match v {
        Some(Value::String(s)) => s
            .split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_string)
            .collect(),
        Some(Value::Array(a)) => a
            .iter()
            .filter_map(|x| x.as_str().map(str::to_string))
            .collect(),
        _ => Vec::new(),
    }
}

/// The principal behind the alert: the entity when it is one, else `evidence.principal`.
fn actor(a: &Alert) -> Option<Value> {
    let arn = match a.entity.kind {
        EntityKind::Principal => Some(a.entity.id.as_str()),
        _ => a.evidence.get("principal").and_then(Value::as_str),
    }?;
    Some(json!({ "user": principal_user(arn) }))
}

/// CloudTrail evidence: the calls and source addresses, each with the actor.
fn cloudtrail(a: &Alert, actor: Option<&Value>, out: &mut Vec<Value>) {
    let ev = &a.evidence;
    let with_actor = |mut o: Map<String, Value>| {
        if let Some(act) = actor {
            o.insert("actor".into(), act.clone());
        }
        Value::Object(o)
    };
    for op in strings(ev.get("event_names")) {
        let mut o = Map::new();
        o.insert("name".into(), json!("api_call"));
        o.insert("api".into(), json!({ "operation": op }));
        out.push(with_actor(o));
    }
    let mut addrs: BTreeSet<String> = BTreeSet::new();
    addrs.extend(ip(ev.get("source_ip")));
    for s in strings(ev.get("source_ips")) {
        addrs.extend(ip(Some(&json!(s))));
    }
    for addr in addrs {
        let mut o = Map::new();
        o.insert("name".into(), json!("source_address"));
        o.insert("src_endpoint".into(), endpoint(addr, None));
        out.push(with_actor(o));
    }
    if out.is_empty()
        && let Some(act) = actor
    {
        out.push(json!({ "name": "principal", "actor": act }));
    }
}

/// Network evidence: the entity's connections to remote addresses.
fn network(a: &Alert, out: &mut Vec<Value>) {
    let ev = &a.evidence;
    let src = entity_endpoint(a);
    let conn = |name: &str, dst: Value, data: Option<Value>| {
        let mut o = Map::new();
        o.insert("name".into(), json!(name));
        if let Some(s) = &src {
            o.insert("src_endpoint".into(), s.clone());
        }
        o.insert("dst_endpoint".into(), dst);
        if let Some(d) = data {
            o.insert("data".into(), d);
        }
        Value::Object(o)
    };
    if let Some(r) = ip(ev.get("remote")) {
        out.push(conn("peer", endpoint(r, port(ev.get("remote_port"))), None));
    }
    for p in ev
        .get("top_peers")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        if let Some(r) = ip(p.get("remote")) {
            let data = p.get("bytes").map(|b| json!({ "bytes": b }));
            out.push(conn("top_peer", endpoint(r, port(p.get("port"))), data));
        }
    }
    if let Some(h) = ip(ev.get("top_host")) {
        out.push(conn(
            "top_target",
            endpoint(h, port(ev.get("top_port"))),
            None,
        ));
    }
    if let Some(t) = ip(ev.get("target")) {
        out.push(conn("target", endpoint(t, None), None));
    }
}

/// The alert's `evidences`, and the evidence keys they account for.
pub fn evidences(a: &Alert) -> (Vec<Value>, BTreeSet<String>) {
    let mut out = Vec::new();
    let actor = actor(a);
    cloudtrail(a, actor.as_ref(), &mut out);
    network(a, &mut out);
    let mut used: BTreeSet<String> = MAPPED_KEYS
        .iter()
        .filter(|k| a.evidence.get(**k).is_some())
        .map(|k| (*k).to_string())
        .collect();
    if ip(a.evidence.get("target")).is_some() {
        used.insert("target".into());
    }
    (out, used)
}

#[cfg(test)]
mod tests {
    use super::*;
    use flowtrail_core::{Entity, Finding, Severity};

    fn alert(kind: EntityKind, id: &str, evidence: Value) -> Alert {
        Alert::from_finding(Finding {
            detector: "d".into(),
            severity: Severity::High,
            title: "t".into(),
            account_id: None,
            region: None,
            entity: Entity {
                kind,
                id: id.into(),
            },
            first_seen_ms: 0,
            last_seen_ms: 0,
            dedupe_key: "k".into(),
            evidence,
            attack: Default::default(),
        })
    }

    #[test]
    fn calls_and_addresses_carry_the_actor() {
        let a = alert(
            EntityKind::Principal,
            "arn:aws:iam::1:user/alice",
            json!({"event_names": "StopLogging, DeleteTrail", "source_ips": ["198.51.100.7", "not-an-ip"]}),
        );
        let (ev, used) = evidences(&a);
        assert_eq!(ev.len(), 3);
        assert_eq!(ev[0]["api"]["operation"], "StopLogging");
        assert_eq!(ev[1]["api"]["operation"], "DeleteTrail");
        assert_eq!(ev[2]["src_endpoint"]["ip"], "198.51.100.7");
        assert_eq!(ev[2]["actor"]["user"]["name"], "alice");
        assert!(used.contains("event_names") && used.contains("source_ips"));
    }

    #[test]
    fn peers_become_connections_from_the_entity_with_integer_ports() {
        let a = alert(
            EntityKind::Eni,
            "eni-1",
            json!({"remote": "203.0.113.5", "remote_port": 4444,
                   "top_peers": [{"remote": "203.0.113.6", "port": 443, "bytes": 10}],
                   "target": "support-temp"}),
        );
        let (ev, used) = evidences(&a);
        assert_eq!(ev.len(), 2);
        assert_eq!(ev[0]["src_endpoint"]["interface_uid"], "eni-1");
        assert_eq!(ev[0]["dst_endpoint"]["port"], 4444);
        assert_eq!(ev[1]["data"]["bytes"], 10);
        assert!(
            !used.contains("target"),
            "a target that is not an address stays unmapped"
        );
    }
}
