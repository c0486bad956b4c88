//! What links entities of different kinds, learned from CloudTrail: which instances a security
//! group protects, and which instance an address or a network interface belongs to. The facts
//! come from the calls that carry them together: `RunInstances` (instance, private address,
//! interfaces and groups, in the response), `ModifyInstanceAttribute` (an instance's new
//! groups) and `ModifyNetworkInterfaceAttribute` (an interface's new groups). Instances launched
//! before the engine started are unknown until one of these calls names them: the
//! sequences that need a link then stay per-entity.
//!
//! Bounded: at most [`MAX_FACTS`] entries per map (an arbitrary entry is forgotten when full)
//! and [`MAX_PER_GROUP`] members per group.

use std::collections::BTreeMap;

use arrow::array::{Array, AsArray, RecordBatch, StringArray};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use flowtrail_core::schema::cloudtrail::col;

/// Entries per map.
pub const MAX_FACTS: usize = 50_000;
/// Members remembered per security group.
pub const MAX_PER_GROUP: usize = 64;

/// The learned links.
#[derive(Debug, Default, Serialize, Deserialize)]
pub struct Topology {
    /// Security group → instances (or interfaces) it is attached to.
    groups: BTreeMap<String, Vec<String>>,
    /// Private address or interface id → instance id.
    owner: BTreeMap<String, String>,
}

fn strs<'a>(b: &'a RecordBatch, n: &str) -> Option<&'a StringArray> {
    b.column_by_name(n).and_then(|c| c.as_string_opt::<i32>())
}

fn cell(a: Option<&StringArray>, i: usize) -> Option<&str> {
    a.and_then(|a| (!a.is_null(i)).then(|| a.value(i)))
}

fn group_ids(v: &Value) -> Vec<String> {
    v["groupSet"]["items"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|g| g["groupId"].as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default()
}

impl Topology {
    /// Learn from one hour's CloudTrail rows (failed calls teach nothing).
    pub fn learn(&mut self, batches: &[RecordBatch]) {
        for b in batches {
            let (name, err, req, resp) = (
                strs(b, col::EVENT_NAME),
                strs(b, col::ERROR_CODE),
                strs(b, col::REQUEST_PARAMETERS),
                strs(b, col::RESPONSE_ELEMENTS),
            );
            for i in 0..b.num_rows() {
                let Some(n) = cell(name, i) else { continue };
                if cell(err, i).is_some() {
                    continue;
                }
                let parse = |s: Option<&str>| -> Value {
                    s.and_then(|s| serde_json::from_str(s).ok())
                        .unwrap_or(Value::Null)
                };
                match n {
                    "RunInstances" => self.run_instances(&parse(cell(resp, i))),
                    "ModifyInstanceAttribute" | "ModifyNetworkInterfaceAttribute" => {
                        let r = parse(cell(req, i));
                        let member = r["instanceId"]
                            .as_str()
                            .or(r["networkInterfaceId"].as_str());
                        if let Some(m) = member {
                            let m = self.instance_of(m);
                            for g in group_ids(&r) {
                                self.attach(&g, &m);
                            }
                        }
                    }
                    _ => {}
                }
            }
        }
    }

    fn run_instances(&mut self, resp: &Value) {
        let Some(items) = resp["instancesSet"]["items"].as_array() else {
            return;
        };
        for it in items {
            let Some(id) = it["instanceId"].as_str() else {
                continue;
            };
            let mut groups = group_ids(it);
            if let Some(ip) = it["privateIpAddress"].as_str() {
                self.own(ip, id);
            }
            for n in it["networkInterfaceSet"]["items"]
                .as_array()
                .into_iter()
                .flatten()
            {
                for k in ["networkInterfaceId", "privateIpAddress"] {
                    if let Some(v) = n[k].as_str() {
                        self.own(v, id);
                    }
                }
                groups.extend(group_ids(n));
            }
            for g in groups {
                self.attach(&g, id);
            }
        }
    }

    fn own(&mut self, alias: &str, instance: &str) {
        if self.owner.len() >= MAX_FACTS && !self.owner.contains_key(alias) {
            self.owner.pop_first();
        }
        self.owner.insert(alias.to_string(), instance.to_string());
    }

    fn attach(&mut self, group: &str, member: &str) {
        if self.groups.len() >= MAX_FACTS && !self.groups.contains_key(group) {
            self.groups.pop_first();
        }
        let m = self.groups.entry(group.to_string()).or_default();
        if !m.iter().any(|x| x == member) {
            if m.len() >= MAX_PER_GROUP {
                m.remove(0);
            }
            m.push(member.to_string());
        }
    }

    /// The instance an address or interface belongs to, or `id` itself.
    pub fn instance_of(&self, id: &str) -> String {
        self.owner
            .get(id)
            .cloned()
            .unwrap_or_else(|| id.to_string())
    }

    /// The instances (or interfaces) a group is attached to.
    pub fn members(&self, group: &str) -> &[String] {
        self.groups.get(group).map_or(&[], Vec::as_slice)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sequence::tests::trail;

    #[test]
    fn run_instances_and_modify_attribute_link_groups_addresses_and_interfaces() {
        let mut t = Topology::default();
        t.learn(&[trail(&[
            ("RunInstances", None, r#"{}"#, r#"{"instancesSet": {"items": [{"instanceId": "i-1", "privateIpAddress": "10.0.1.5", "groupSet": {"items": [{"groupId": "sg-a"}]}, "networkInterfaceSet": {"items": [{"networkInterfaceId": "eni-1", "privateIpAddress": "10.0.1.5"}]}}]}}"#),
            ("ModifyInstanceAttribute", None, r#"{"instanceId": "i-2", "groupSet": {"items": [{"groupId": "sg-a"}]}}"#, "{}"),
            ("ModifyInstanceAttribute", Some("Client.UnauthorizedOperation"), r#"{"instanceId": "i-3", "groupSet": {"items": [{"groupId": "sg-a"}]}}"#, "{}"),
        ])]);
        assert_eq!(t.members("sg-a"), ["i-1".to_string(), "i-2".to_string()]);
        assert_eq!(t.instance_of("10.0.1.5"), "i-1");
        assert_eq!(t.instance_of("eni-1"), "i-1");
        assert_eq!(t.instance_of("10.9.9.9"), "10.9.9.9");
        assert!(t.members("sg-b").is_empty());
    }
}
