//! Explanations of the detectors over flow logs: the baselines (`volume_spike`, `new_peer`),
//! network behaviour (exfiltration, DNS tunnelling, lateral movement, beaconing, mining, rogue
//! resolvers) and the flow SQL rules (`port_scan`, `ssh_brute_force`).
//!
//! The evidence query selects the entity's flows of the alert's hours narrowed to the peers
//! the detector named; the evidence rows are those peers as the detector had them (the flow
//! key columns, so each matches at least one row the query returns).

use flowtrail_core::{EntityKind, Finding};
use serde_json::{Value, json};

use super::Explanation;
use super::sql::{Window, flows_entity, flows_query, in_list, quote};
use super::steps;
use crate::baseline::human_bytes;

fn s<'a>(f: &'a Finding, key: &str) -> Option<&'a str> {
    f.evidence.get(key).and_then(Value::as_str)
}

fn n(f: &Finding, key: &str) -> Option<i64> {
    f.evidence.get(key).and_then(Value::as_i64)
}

fn bytes(f: &Finding, key: &str) -> String {
    human_bytes(n(f, key).unwrap_or(0).max(0) as u64)
}

/// The entity's flow column and id (`interface_id` / `instance_id`), if it is one.
fn entity_key(f: &Finding) -> Option<(&'static str, &str)> {
    match f.entity.kind {
        EntityKind::Eni => Some(("interface_id", f.entity.id.as_str())),
        EntityKind::Instance => Some(("instance_id", f.entity.id.as_str())),
        _ => None,
    }
}

/// A row naming a peer of the entity.
fn peer_row(f: &Finding, remote: &str, port: Option<i64>) -> Value {
    let mut r = serde_json::Map::new();
    if let Some((col, id)) = entity_key(f) {
        r.insert(col.into(), json!(id));
    }
    r.insert("dstaddr".into(), json!(remote));
    if let Some(p) = port {
        r.insert("dstport".into(), json!(p));
    }
    Value::Object(r)
}

/// The entity's flows of the window towards `remotes` (on `port` when given).
fn to_peers(f: &Finding, remotes: &[&str], port: Option<i64>) -> String {
    let w = Window::of(f.first_seen_ms, f.last_seen_ms);
    let mut extra: Vec<String> = flows_entity(&f.entity).into_iter().collect();
    extra.push(in_list("dstaddr", remotes));
    if let Some(p) = port {
        extra.push(format!("dstport = {p}"));
    }
    flows_query(&w, &extra, "bytes DESC, event_time")
}

/// Flows from `client` to `servers` in the window, whichever interface logged them.
fn client_to(f: &Finding, client: &str, servers: &[&str], port: Option<i64>) -> String {
    let w = Window::of(f.first_seen_ms, f.last_seen_ms);
    let mut extra = vec![
        format!("srcaddr = {}", quote(client)),
        in_list("dstaddr", servers),
    ];
    if let Some(p) = port {
        extra.push(format!("dstport = {p}"));
    }
    flows_query(&w, &extra, "event_time")
}

fn client_rows(client: &str, servers: &[&str], port: Option<i64>) -> Vec<Value> {
    servers
        .iter()
        .take(5)
        .map(|s| {
            let mut r = json!({"srcaddr": client, "dstaddr": s});
            if let (Some(p), Some(o)) = (port, r.as_object_mut()) {
                o.insert("dstport".into(), json!(p));
            }
            r
        })
        .collect()
}

fn band_sentence(f: &Finding) -> String {
    let Some(b) = f.evidence.get("band") else {
        return String::new();
    };
    let g = |k: &str| b.get(k).and_then(Value::as_u64).unwrap_or(0);
    let basis = match b.get("basis").and_then(Value::as_str) {
        Some("peer_group") => {
            "judged against its peer group, as it has too little history of its own"
        }
        _ => "judged against its own history",
    };
    format!(
        " At {:02}:00 UTC it usually sends between {} and {} ({basis}); this is {}x the top of that range.",
        g("hour_of_day"),
        human_bytes(g("expected_low")),
        human_bytes(g("expected_high")),
        b.get("times_expected")
            .and_then(Value::as_f64)
            .unwrap_or(0.0)
    )
}

fn volume_spike(f: &Finding) -> Explanation {
    let peers: Vec<(String, Option<i64>)> = f
        .evidence
        .get("top_peers")
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(|p| {
                    let r = p.get("remote")?.as_str()?.to_string();
                    Some((r, p.get("port").and_then(Value::as_i64)))
                })
                .collect()
        })
        .unwrap_or_default();
    let w = Window::of(f.first_seen_ms, f.last_seen_ms);
    let sql = flows_query(
        &w,
        &flows_entity(&f.entity).into_iter().collect::<Vec<_>>(),
        "bytes DESC, event_time",
    );
    let top = peers
        .first()
        .map(|(r, p)| format!("{r}:{}", p.unwrap_or(0)))
        .unwrap_or_default();
    Explanation::new(
        format!(
            "{} sent {} out in one hour, far more than usual.{} Most of it went to {top}. A large unexpected upload is how stolen data leaves (exfiltration) and how a compromised host ships bulk data to a server the attacker controls. Benign look-alikes: a backup, log or artefact upload, a deploy or a data migration, usually to a known service at a scheduled time.",
            f.entity.id,
            bytes(f, "bytes_out"),
            band_sentence(f)
        ),
        sql,
        peers.iter().map(|(r, p)| peer_row(f, r, *p)).collect(),
    )
}

fn new_peer(f: &Finding) -> Explanation {
    let remote = s(f, "remote").unwrap_or_default();
    let port = n(f, "remote_port");
    Explanation::new(
        format!(
            "{} sent {} to {remote}:{}, in a network neither it nor its peer group ever talked to. A first contact with an unknown internet address can be command and control, a reverse shell (ports like 4444) or the start of data theft. Benign look-alikes: a new SaaS or package mirror, a software update from a new CDN address, a new integration.",
            f.entity.id,
            bytes(f, "bytes_out"),
            port.unwrap_or(0)
        ),
        to_peers(f, &[remote], port),
        vec![peer_row(f, remote, port)],
    )
}

fn slow_exfiltration(f: &Finding) -> Explanation {
    let remote = s(f, "remote").unwrap_or_default();
    let port = n(f, "remote_port");
    Explanation::new(
        format!(
            "{} sent {} to {remote}:{} over {} hours in a row, every hour several times its usual traffic to the internet, to a network it never used before.{} Spreading an upload over hours keeps each hour under a volume alarm: this is how data is stolen slowly. Benign look-alikes: a long backup or replication job to a new endpoint, a bulk export a team started.",
            f.entity.id,
            bytes(f, "bytes_out"),
            port.unwrap_or(0),
            n(f, "hours").unwrap_or(0),
            band_sentence(f)
        ),
        to_peers(f, &[remote], port),
        vec![peer_row(f, remote, port)],
    )
}

fn dns_tunnel(f: &Finding) -> Explanation {
    let w = Window::of(f.first_seen_ms, f.last_seen_ms);
    let mut extra: Vec<String> = flows_entity(&f.entity).into_iter().collect();
    extra.push("dstport = 53".into());
    let mut row = serde_json::Map::new();
    if let Some((col, id)) = entity_key(f) {
        row.insert(col.into(), json!(id));
    }
    row.insert("dstport".into(), json!(53));
    Explanation::new(
        format!(
            "{} sent {} of DNS in an hour, far above its usual {}.{} DNS is allowed out of most networks, so malware hides data and commands in DNS queries (tunnelling). Benign look-alikes: a resolver or mail server, a crawler, a service resolving many names after a deploy.",
            f.entity.id,
            bytes(f, "dns_bytes_out"),
            bytes(f, "usual_dns_bytes_out"),
            band_sentence(f)
        ),
        flows_query(&w, &extra, "bytes DESC, event_time"),
        vec![Value::Object(row)],
    )
}

fn strings(f: &Finding, key: &str) -> Vec<String> {
    f.evidence
        .get(key)
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(|v| v.as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default()
}

fn lateral(f: &Finding) -> Explanation {
    let client = s(f, "client").unwrap_or_default();
    let servers = strings(f, "servers");
    let servers: Vec<&str> = servers.iter().map(String::as_str).collect();
    let what = if f.detector == "disallowed_tier_flow" {
        "on ports no allowed tier-to-tier flow permits"
    } else {
        "on ports its tier had never used towards those tiers"
    };
    Explanation::new(
        format!(
            "{} ({client}, tier {}) connected to {} hosts in other tiers {what}. An attacker on one machine reaches out to others (admin ports, databases, file shares) to spread; many hosts and ports at once is also how an internal scan looks. Benign look-alikes: a new bastion or monitoring host, a vulnerability scanner, a new service dependency rolled out with a deploy.",
            f.entity.id,
            s(f, "client_tier").unwrap_or("?"),
            n(f, "server_count").unwrap_or(servers.len() as i64)
        ),
        client_to(f, client, &servers, None),
        client_rows(client, &servers, None),
    )
}

fn beaconing(f: &Finding) -> Explanation {
    let remote = s(f, "remote").unwrap_or_default();
    let port = n(f, "remote_port");
    Explanation::new(
        format!(
            "{} contacted {remote}:{} about every {} s for {} hours with small, regular connections, to a destination it did not use before. Malware calls home on a timer to fetch commands (command and control); the regularity is the tell. Benign look-alikes: a health check, a metrics or licence agent, an update poller; these go to known vendors.",
            f.entity.id,
            port.unwrap_or(0),
            n(f, "interval_s").unwrap_or(0),
            n(f, "hours").unwrap_or(0)
        ),
        to_peers(f, &[remote], port),
        vec![peer_row(f, remote, port)],
    )
}

fn mining(f: &Finding) -> Explanation {
    let client = s(f, "client").unwrap_or_default();
    let remote = s(f, "remote").unwrap_or_default();
    let port = n(f, "remote_port");
    Explanation::new(
        format!(
            "{} ({client}) held a {}-second connection to {remote}:{}, {}. Stolen compute is most often used to mine cryptocurrency; the long-lived connection to a pool is the tell. Benign look-alikes: very rare in a company network; a research or test workload someone started on purpose.",
            f.entity.id,
            n(f, "longest_connection_s").unwrap_or(0),
            port.unwrap_or(0),
            if f.evidence.get("known_pool").and_then(Value::as_bool) == Some(true) {
                "a known mining pool"
            } else {
                "a mining-pool (stratum) port"
            }
        ),
        client_to(f, client, &[remote], port),
        client_rows(client, &[remote], port),
    )
}

fn rogue_dns(f: &Finding) -> Explanation {
    let client = s(f, "client").unwrap_or_default();
    let resolver = s(f, "resolver").unwrap_or_default();
    Explanation::new(
        format!(
            "{} ({client}) sent DNS to {resolver}, a resolver that is neither the VPC's nor a declared one. Malware points hosts at its own resolver to redirect traffic or to tunnel data, and queries outside the VPC resolver bypass DNS logging and filtering. Benign look-alikes: a hard-coded public resolver (8.8.8.8) in an image or container, a new internal resolver not yet declared.",
            f.entity.id
        ),
        client_to(f, client, &[resolver], None),
        client_rows(client, &[resolver], None),
    )
}

fn port_scan(f: &Finding) -> Explanation {
    let w = Window::of(f.first_seen_ms, f.last_seen_ms);
    let src = f.entity.id.as_str();
    let sql = flows_query(&w, &[format!("srcaddr = {}", quote(src))], "event_time");
    let host = s(f, "top_host");
    Explanation::new(
        format!(
            "{src} probed {} ports over {} hosts, and {}% of the probes failed. Mapping which services answer is the first step of an attack; from one of our own addresses it means that machine is likely compromised. Benign look-alikes: a vulnerability scanner or monitoring system (add it to the allow-list), a misconfigured client retrying many ports.",
            n(f, "ports").unwrap_or(0),
            n(f, "hosts").unwrap_or(0),
            f.evidence
                .get("failed_pct")
                .and_then(Value::as_f64)
                .unwrap_or(0.0)
        ),
        sql,
        host.map(|h| json!({"srcaddr": src, "dstaddr": h}))
            .into_iter()
            .collect(),
    )
}

fn ssh_brute_force(f: &Finding) -> Explanation {
    let src = f.entity.id.as_str();
    let target = s(f, "target").unwrap_or_default();
    let accepted = n(f, "accepted").unwrap_or(0);
    Explanation::new(
        format!(
            "{src} opened {} short SSH connections to {target} within 10 minutes; {accepted} of them were accepted by the network (security group and ACL let them through). A flow log cannot see whether a password worked: accepted flows are connections, not logins, but they mean the SSH port is reachable and being guessed at. Benign look-alikes: a configuration-management tool or monitoring probe, a user's client retrying.",
            n(f, "attempts").unwrap_or(0)
        ),
        client_to(f, src, &[target], Some(22)),
        client_rows(src, &[target], Some(22)),
    )
}

/// The explanation of a flow detector's finding, if `f` is one.
pub fn explain(f: &Finding) -> Option<Explanation> {
    let mut e = match f.detector.as_str() {
        "volume_spike" => volume_spike(f),
        "new_peer" => new_peer(f),
        "slow_exfiltration" => slow_exfiltration(f),
        "dns_tunnel" => dns_tunnel(f),
        "lateral_movement" | "disallowed_tier_flow" => lateral(f),
        "c2_beaconing" => beaconing(f),
        "crypto_mining" => mining(f),
        "rogue_dns_resolver" => rogue_dns(f),
        "port_scan" => port_scan(f),
        "ssh_brute_force" => ssh_brute_force(f),
        _ => return None,
    };
    e.next_steps = steps::for_entity(f);
    Some(e)
}

/// A flow rule this module does not know: the entity's flows in the alert's hours.
pub fn generic(f: &Finding, description: Option<&str>) -> Explanation {
    let w = Window::of(f.first_seen_ms, f.last_seen_ms);
    let extra: Vec<String> = flows_entity(&f.entity).into_iter().collect();
    // An address may be either end of a flow: no row names it for sure.
    let row = entity_key(f).map(|(col, id)| json!({ col: id }));
    let mut e = Explanation::new(
        description.map_or_else(
            || format!("{} raised {}.", f.entity.id, f.detector),
            str::to_string,
        ),
        flows_query(&w, &extra, "event_time"),
        row.into_iter().collect(),
    );
    e.next_steps = steps::for_entity(f);
    e
}
