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
    vec![Value::Object(r)]
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
}
