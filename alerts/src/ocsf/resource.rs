//! The alert's entity as OCSF: the affected resource (`resources`) and, for network entities,
//! the endpoint it is on a connection (`src_endpoint` of network evidence).
//!
//! Resource `type` uses the AWS CloudFormation type names (`AWS::EC2::Instance`, ...), which
//! is what AWS's own OCSF sources in Security Lake use; a principal's type follows its ARN
//! (`user/`, `role/`, `assumed-role/`, `root`).

use flowtrail_core::{Alert, EntityKind};
use serde_json::{Map, Value, json};

/// The resource type of an IAM principal ARN.
fn principal_type(arn: &str) -> &'static str {
    let resource = arn.rsplit(':').next().unwrap_or_default();
    if resource == "root" {
        "AWS::Account"
    } else if resource.starts_with("user/") {
        "AWS::IAM::User"
    } else if resource.starts_with("role/") {
        "AWS::IAM::Role"
    } else if resource.starts_with("assumed-role/") {
        "AWS::STS::AssumedRole"
    } else {
        "AWS::IAM::Principal"
    }
}

/// The resource type name of an entity.
pub fn resource_type(a: &Alert) -> &'static str {
    match a.entity.kind {
        EntityKind::Instance => "AWS::EC2::Instance",
        EntityKind::Eni => "AWS::EC2::NetworkInterface",
        EntityKind::SecurityGroup => "AWS::EC2::SecurityGroup",
        EntityKind::Principal => principal_type(&a.entity.id),
        EntityKind::Ip => "IP Address",
    }
}

/// `resources`: the entity, with its type, region and (for an address) `ip`.
pub fn resources(a: &Alert) -> Vec<Value> {
    let mut r = Map::new();
    r.insert("uid".into(), json!(a.entity.id));
    r.insert("type".into(), json!(resource_type(a)));
    if let Some(region) = &a.region {
        r.insert("region".into(), json!(region));
    }
    match a.entity.kind {
        EntityKind::Ip => {
            r.insert("ip".into(), json!(a.entity.id));
        }
        EntityKind::Principal => {
            let name = a.entity.id.rsplit(['/', ':']).next().unwrap_or_default();
            r.insert("name".into(), json!(name));
        }
        _ => {}
    }
    let mut out = Vec::new();
    let Some(asset) = &a.asset else {
        out.push(Value::Object(r));
        return out;
    };
    r.insert("data".into(), json!(asset));
    out.push(Value::Object(r));
    // The instance behind an interface or address is a resource of its own.
    if let Some(i) = asset.instance_id.as_ref().filter(|i| **i != a.entity.id) {
        let mut inst = Map::new();
        inst.insert("uid".into(), json!(i));
        inst.insert("type".into(), json!("AWS::EC2::Instance"));
        if let Some(name) = asset.tags.get("Name") {
            inst.insert("name".into(), json!(name));
        }
        if let Some(region) = &a.region {
            inst.insert("region".into(), json!(region));
        }
        out.push(Value::Object(inst));
    }
    out
}

/// The entity as a network endpoint, for network entities (instance, ENI, address).
pub fn entity_endpoint(a: &Alert) -> Option<Value> {
    let id = &a.entity.id;
    match a.entity.kind {
        EntityKind::Instance => Some(json!({ "instance_uid": id })),
        EntityKind::Eni => Some(json!({ "interface_uid": id })),
        EntityKind::Ip => Some(json!({ "ip": id })),
        EntityKind::Principal | EntityKind::SecurityGroup => None,
    }
}

/// The entity as an OCSF `user` when it is a principal.
pub fn principal_user(arn: &str) -> Value {
    let name = arn.rsplit(['/', ':']).next().unwrap_or_default();
    json!({ "uid": arn, "name": name })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn principal_types_follow_the_arn() {
        assert_eq!(principal_type("arn:aws:iam::1:root"), "AWS::Account");
        assert_eq!(principal_type("arn:aws:iam::1:user/a"), "AWS::IAM::User");
        assert_eq!(principal_type("arn:aws:iam::1:role/r"), "AWS::IAM::Role");
        assert_eq!(
            principal_type("arn:aws:sts::1:assumed-role/r/s"),
            "AWS::STS::AssumedRole"
        );
        assert_eq!(principal_type("AIDA1"), "AWS::IAM::Principal");
        assert_eq!(principal_user("arn:aws:iam::1:user/alice")["name"], "alice");
    }

    #[test]
    fn the_asset_behind_an_interface_is_a_resource_of_its_own() {
        let mut a = Alert::from_finding(flowtrail_core::Finding {
            detector: "volume_spike".into(),
            severity: flowtrail_core::Severity::High,
            title: "t".into(),
            account_id: None,
            region: Some("us-east-1".into()),
            entity: flowtrail_core::Entity {
                kind: EntityKind::Eni,
                id: "eni-1".into(),
            },
            first_seen_ms: 0,
            last_seen_ms: 0,
            dedupe_key: "k".into(),
            evidence: json!({}),
            attack: Default::default(),
        });
        assert_eq!(resources(&a).len(), 1);
        let mut asset = flowtrail_core::Asset {
            instance_id: Some("i-9".into()),
            eni_id: Some("eni-1".into()),
            ..Default::default()
        };
        asset.tags.insert("Name".into(), "web-1".into());
        a.asset = Some(asset);
        let r = resources(&a);
        assert_eq!(r.len(), 2);
        assert_eq!(r[0]["data"]["instance_id"], "i-9");
        assert_eq!(
            r[1],
            json!({"uid": "i-9", "type": "AWS::EC2::Instance", "name": "web-1", "region": "us-east-1"})
        );
        // An alert on the instance itself: one resource, with the asset as its data.
        a.entity.kind = EntityKind::Instance;
        a.entity.id = "i-9".into();
        assert_eq!(resources(&a).len(), 1);
    }
}
