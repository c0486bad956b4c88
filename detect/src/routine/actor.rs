//! Who made a change, as the routine-change filter keys it: the acting identity (the role for an
//! assumed-role session, so a CI role's sessions are one actor), the user agent's family
//! (Terraform, CloudFormation, the console, the CLI, …) and the source network.

use serde_json::Value;

/// The family of a CloudTrail user agent: IaC tools by name, then the console, the CLI and SDKs.
pub fn ua_family(ua: &str) -> &'static str {
    let l = ua.to_ascii_lowercase();
    const FAMILIES: &[(&str, &str)] = &[
        ("terraform", "terraform"),
        ("cloudformation", "cloudformation"),
        ("pulumi", "pulumi"),
        ("aws-cdk", "cdk"),
        ("crossplane", "crossplane"),
        ("aws internal", "console"),
        ("console.amazonaws.com", "console"),
        ("signin.amazonaws.com", "console"),
        ("aws-cli", "cli"),
        ("boto", "python-sdk"),
        ("aws-sdk-go", "go-sdk"),
        ("aws-sdk-java", "java-sdk"),
        ("aws-sdk-js", "js-sdk"),
        ("amazonaws.com", "aws-service"),
    ];
    FAMILIES
        .iter()
        .find(|(needle, _)| l.contains(needle))
        .map_or("other", |(_, f)| f)
}

/// The network of a source address: a /16 for IPv4, a /48 for IPv6, the name itself for an AWS
/// service (`cloudformation.amazonaws.com`) or `AWS Internal`.
pub fn network(src: &str) -> String {
    if let Ok(std::net::IpAddr::V4(a)) = src.parse::<std::net::IpAddr>() {
        let o = a.octets();
        return format!("{}.{}.0.0/16", o[0], o[1]);
    }
    if let Ok(std::net::IpAddr::V6(a)) = src.parse::<std::net::IpAddr>() {
        let s = a.segments();
        return format!("{:x}:{:x}:{:x}::/48", s[0], s[1], s[2]);
    }
    src.to_string()
}

/// The actor of a `security_group_change` finding's evidence: `(actor, ua family, networks)`.
pub fn of_evidence(ev: &Value, principal: &str) -> (String, &'static str, Vec<String>) {
    let actor = ev["actor"].as_str().unwrap_or(principal).to_string();
    let ua = ua_family(ev["user_agent"].as_str().unwrap_or(""));
    let mut nets: Vec<String> = ev["source_ips"]
        .as_array()
        .map(|a| a.iter().filter_map(Value::as_str).map(network).collect())
        .unwrap_or_default();
    nets.sort();
    nets.dedup();
    (actor, ua, nets)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn families_and_networks() {
        let tf = "APN/1.0 HashiCorp/1.0 Terraform/1.7.5 (+https://www.terraform.io) terraform-provider-aws/5.40.0 aws-sdk-go-v2/1.25.2";
        assert_eq!(ua_family(tf), "terraform");
        assert_eq!(ua_family("aws-cli/2.15.30 Python/3.11.8"), "cli");
        assert_eq!(ua_family("AWS Internal"), "console");
        assert_eq!(ua_family("curl/8"), "other");
        assert_eq!(network("198.51.100.23"), "198.51.0.0/16");
        assert_eq!(network("2001:db8:1:2::5"), "2001:db8:1::/48");
        assert_eq!(
            network("cloudformation.amazonaws.com"),
            "cloudformation.amazonaws.com"
        );
    }
}
