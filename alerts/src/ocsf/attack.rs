//! The alert's ATT&CK ids as OCSF `attack` objects (`finding_info.attacks`).
//!
//! An alert lists tactics and techniques separately, without saying which technique serves
//! which tactic, while an OCSF `attack` holds one tactic and one technique. So: with exactly one
//! tactic every technique's `attack` carries it; otherwise each technique and each tactic gets
//! an `attack` of its own (the schema asks for at least one of tactic, technique,
//! sub-technique). A sub-technique id (`T1562.008`) fills `sub_technique` and its parent
//! (`T1562`) `technique`. Names come from a table of the ids flowtrail's detectors use; an id
//! not in it keeps its `uid` alone (OCSF recommends, not requires, the name).

use flowtrail_core::alert::Attack;
use serde_json::{Map, Value, json};

/// ATT&CK Enterprise tactic names by id.
const TACTICS: &[(&str, &str)] = &[
    ("TA0001", "Initial Access"),
    ("TA0002", "Execution"),
    ("TA0003", "Persistence"),
    ("TA0004", "Privilege Escalation"),
    ("TA0005", "Defense Evasion"),
    ("TA0006", "Credential Access"),
    ("TA0007", "Discovery"),
    ("TA0008", "Lateral Movement"),
    ("TA0009", "Collection"),
    ("TA0010", "Exfiltration"),
    ("TA0011", "Command and Control"),
    ("TA0040", "Impact"),
    ("TA0042", "Resource Development"),
    ("TA0043", "Reconnaissance"),
];

/// ATT&CK Enterprise technique and sub-technique names by id.
const TECHNIQUES: &[(&str, &str)] = &[
    ("T1020", "Automated Exfiltration"),
    ("T1041", "Exfiltration Over C2 Channel"),
    ("T1046", "Network Service Discovery"),
    ("T1048", "Exfiltration Over Alternative Protocol"),
    ("T1048.003", "Exfiltration Over Unencrypted Non-C2 Protocol"),
    ("T1071", "Application Layer Protocol"),
    ("T1078", "Valid Accounts"),
    ("T1078.004", "Cloud Accounts"),
    ("T1098", "Account Manipulation"),
    ("T1098.001", "Additional Cloud Credentials"),
    ("T1098.003", "Additional Cloud Roles"),
    ("T1110", "Brute Force"),
    ("T1110.001", "Password Guessing"),
    ("T1110.003", "Password Spraying"),
    ("T1190", "Exploit Public-Facing Application"),
    ("T1485", "Data Destruction"),
    ("T1486", "Data Encrypted for Impact"),
    ("T1496", "Resource Hijacking"),
    ("T1525", "Implant Internal Image"),
    ("T1526", "Cloud Service Discovery"),
    ("T1530", "Data from Cloud Storage"),
    ("T1537", "Transfer Data to Cloud Account"),
    ("T1546", "Event Triggered Execution"),
    ("T1550", "Use Alternate Authentication Material"),
    ("T1550.001", "Application Access Token"),
    ("T1552", "Unsecured Credentials"),
    ("T1552.005", "Cloud Instance Metadata API"),
    ("T1555", "Credentials from Password Stores"),
    ("T1555.006", "Cloud Secrets Management Stores"),
    ("T1556", "Modify Authentication Process"),
    ("T1556.006", "Multi-Factor Authentication"),
    ("T1562", "Impair Defenses"),
    ("T1562.001", "Disable or Modify Tools"),
    ("T1562.007", "Disable or Modify Cloud Firewall"),
    ("T1562.008", "Disable or Modify Cloud Logs"),
    ("T1578", "Modify Cloud Compute Infrastructure"),
    ("T1578.002", "Create Cloud Instance"),
    ("T1580", "Cloud Infrastructure Discovery"),
    ("T1595", "Active Scanning"),
    ("T1595.001", "Scanning IP Blocks"),
    ("T1599", "Network Boundary Bridging"),
    ("T1648", "Serverless Execution"),
    ("T1651", "Cloud Administration Command"),
];

fn named(table: &[(&str, &str)], id: &str) -> Value {
    let mut o = Map::new();
    o.insert("uid".into(), json!(id));
    if let Some((_, name)) = table.iter().find(|(k, _)| *k == id) {
        o.insert("name".into(), json!(name));
    }
    Value::Object(o)
}

fn technique_attack(id: &str) -> Map<String, Value> {
    let mut o = Map::new();
    match id.split_once('.') {
        Some((parent, _)) => {
            o.insert("technique".into(), named(TECHNIQUES, parent));
            o.insert("sub_technique".into(), named(TECHNIQUES, id));
        }
        None => {
            o.insert("technique".into(), named(TECHNIQUES, id));
        }
    }
    o
}

/// The OCSF `attack` objects of `attack` (empty when it names nothing).
pub fn attacks(attack: &Attack) -> Vec<Value> {
    let single = match attack.tactics.as_slice() {
        [one] => Some(named(TACTICS, one)),
        _ => None,
    };
    let mut out: Vec<Value> = attack
        .techniques
        .iter()
        .map(|t| {
            let mut o = technique_attack(t);
            if let Some(tactic) = &single {
                o.insert("tactic".into(), tactic.clone());
            }
            Value::Object(o)
        })
        .collect();
    if single.is_none() || attack.techniques.is_empty() {
        out.extend(
            attack
                .tactics
                .iter()
                .map(|t| json!({ "tactic": named(TACTICS, t) })),
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_tactic_goes_with_every_technique() {
        let a = attacks(&Attack::new(&["TA0005"], &["T1562.008", "T1562"]));
        assert_eq!(a.len(), 2);
        assert_eq!(a[0]["tactic"]["name"], "Defense Evasion");
        assert_eq!(a[0]["technique"]["uid"], "T1562");
        assert_eq!(
            a[0]["sub_technique"]["name"],
            "Disable or Modify Cloud Logs"
        );
        assert_eq!(a[1]["technique"]["name"], "Impair Defenses");
        assert!(a[1].get("sub_technique").is_none());
    }

    #[test]
    fn several_tactics_stand_apart_from_the_techniques() {
        let a = attacks(&Attack::new(&["TA0011", "TA0010"], &["T1071"]));
        assert_eq!(a.len(), 3);
        assert!(a[0].get("tactic").is_none());
        assert_eq!(a[1]["tactic"]["uid"], "TA0011");
        assert_eq!(a[2]["tactic"]["name"], "Exfiltration");
        assert!(attacks(&Attack::default()).is_empty());
        let unknown = attacks(&Attack::new(&["TA0999"], &[]));
        assert_eq!(unknown, vec![json!({"tactic": {"uid": "TA0999"}})]);
    }
}
