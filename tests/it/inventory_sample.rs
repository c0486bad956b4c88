//! The inventory on the bundled sample: alerts about the fleet's interfaces, addresses and
//! instances name the instance behind them (`asset.instance_id`), and the README's join of
//! `flows` with `inventory` runs as written with `flowtrail query`.
use crate::common;

use std::collections::BTreeSet;
use std::path::Path;

use serde_json::Value;

/// The inventory join of docs/lake.md (kept identical to the text there).
const JOIN: &str = "SELECT f.interface_id, i.instance_id, i.name, sum(f.bytes) AS bytes
FROM flows f
JOIN inventory i
  ON f.interface_id = i.interface_id
 AND f.event_time >= i.valid_from
 AND (i.valid_to IS NULL OR f.event_time < i.valid_to)
WHERE i.snapshot_time = (SELECT max(snapshot_time) FROM inventory)
  AND f.date = '2026-01-08'
GROUP BY 1, 2, 3
ORDER BY bytes DESC
LIMIT 5";

#[test]
fn sample_alerts_on_the_fleet_name_their_instance() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let dir = tempfile::tempdir().unwrap();
    let lake = dir.path().join("lake");
    let alerts = common::replay_sample(&lake, &[]);

    let fleet: Value = serde_json::from_str(
        &std::fs::read_to_string(root.join("sample-data/scenarios/fleet.json")).unwrap(),
    )
    .unwrap();
    let mut ours = BTreeSet::new();
    for i in fleet["interfaces"].as_array().unwrap() {
        for k in ["instance_id", "interface_id", "private_ip"] {
            if let Some(s) = i[k].as_str() {
                ours.insert(s.to_string());
            }
        }
    }
    let on_fleet: Vec<&Value> = alerts
        .iter()
        .filter(|a| {
            matches!(
                a["entity"]["kind"].as_str(),
                Some("instance" | "eni" | "ip")
            )
        })
        .filter(|a| {
            a["entity"]["id"]
                .as_str()
                .is_some_and(|id| ours.contains(id))
        })
        .collect();
    let named: Vec<&&Value> = on_fleet
        .iter()
        .filter(|a| {
            a["asset"]["instance_id"]
                .as_str()
                .is_some_and(|i| i.starts_with("i-"))
        })
        .collect();
    eprintln!(
        "{} of {} flow-based alerts on the fleet name an instance",
        named.len(),
        on_fleet.len()
    );
    assert!(
        on_fleet.len() >= 5,
        "the sample's network attacks alert: {alerts:#?}"
    );
    assert!(
        named.len() * 100 >= on_fleet.len() * 95,
        "alerts without an instance: {:#?}",
        on_fleet
            .iter()
            .filter(|a| a["asset"]["instance_id"].is_null())
            .collect::<Vec<_>>()
    );
    // The exfiltration's interface is app-3, with its tags.
    let exfil = alerts
        .iter()
        .find(|a| a["detector"] == "volume_spike")
        .expect("the exfiltration alerts");
    assert_eq!(exfil["asset"]["tags"]["Name"], "app-3", "{exfil:#}");
    assert_eq!(exfil["asset"]["tags"]["team"], "storefront");
    assert_eq!(exfil["entity"]["kind"], "eni", "entity unchanged");
    // An attack from outside names the instance it targets: the SSH brute force on bastion-1.
    let brute = alerts
        .iter()
        .find(|a| a["detector"] == "ssh_brute_force")
        .expect("the SSH brute force alerts");
    assert_eq!(brute["entity"]["kind"], "ip", "entity is the attacker");
    assert_eq!(brute["asset"]["tags"]["Name"], "bastion-1", "{brute:#}");
    // Principals and security groups carry no asset.
    assert!(
        alerts
            .iter()
            .filter(|a| a["entity"]["kind"] == "principal")
            .all(|a| a["asset"].is_null())
    );

    let csv = common::query(&lake, JOIN, "csv");
    let rows: Vec<&str> = csv.lines().skip(1).collect();
    assert_eq!(rows.len(), 5, "{csv}");
    assert!(rows.iter().all(|r| r.contains(",i-0")), "{csv}");
    let count = common::query(
        &lake,
        "SELECT count(DISTINCT interface_id) AS n FROM inventory WHERE instance_id IS NOT NULL",
        "csv",
    );
    let n: usize = count.lines().nth(1).unwrap().trim().parse().unwrap();
    assert!(
        n >= 16,
        "every instance of the fleet is in the inventory: {count}"
    );
}

#[test]
fn an_interface_launched_in_an_earlier_run_is_still_known() {
    let dir = tempfile::tempdir().unwrap();
    let run = |range: [&str; 2], alerts: &str| {
        let alerts = dir.path().join(alerts);
        let extra = [range[0], range[1], "--alerts-out", alerts.to_str().unwrap()];
        let out = common::replay(&common::sample_data(), &dir.path().join("lake"), &extra);
        assert!(out.status.success(), "{}", common::stderr(&out));
        std::fs::read_to_string(&alerts).unwrap_or_default()
    };
    // The first run reads only the launches (2026-01-05); the second, two days later, reads
    // none of them: what it knows of the fleet comes from the saved inventory.
    run(["--to", "2026-01-06"], "first.jsonl");
    let second = run(["--from", "2026-01-07"], "second.jsonl");
    let scan: Value = second
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).unwrap())
        .find(|a| a["detector"] == "port_scan")
        .expect("the second run sees the bastion's port scan");
    assert_eq!(scan["entity"]["id"], "10.0.1.216");
    assert_eq!(scan["asset"]["tags"]["Name"], "bastion-1", "{scan:#}");
    assert!(
        scan["asset"]["instance_id"]
            .as_str()
            .is_some_and(|i| i.starts_with("i-0"))
    );
}
