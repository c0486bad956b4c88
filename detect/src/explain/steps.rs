//! Next steps common to every alert on the same kind of entity: where to look first (the
//! evidence query), the entity's own history in the lake (ready-to-run `flowtrail query`
//! commands), who owns it, and how to contain it (`flowtrail-respond` for an instance or
//! interface, IAM for a principal).

use flowtrail_core::{EntityKind, Finding};

use super::sql::{Window, quote};

const DAY_MS: i64 = 86_400_000;

/// The first step of every alert: read the rows behind it.
pub fn read_evidence() -> String {
    "Read the rows behind the alert: run its evidence query (evidence.sql) with `flowtrail query \"<evidence.sql>\" --lake <lake>`; evidence.rows shows the first of them.".into()
}

/// The days around the alert as a `date` predicate (two before, one after).
fn days_around(f: &Finding) -> String {
    Window::of(f.first_seen_ms - 2 * DAY_MS, f.last_seen_ms + DAY_MS).partitions()
}

/// History, ownership and containment for an instance, interface or address.
pub fn network(f: &Finding) -> Vec<String> {
    let id = quote(&f.entity.id);
    let days = days_around(f);
    let (col, what) = match f.entity.kind {
        EntityKind::Instance => ("instance_id", "instance"),
        EntityKind::Eni => ("interface_id", "interface"),
        _ => ("srcaddr", "address"),
    };
    let mut out = vec![
        format!(
            "Compare with its usual traffic, hour by hour over the days around the alert: `flowtrail query \"SELECT date, hour, count(*) AS flows, sum(bytes) AS bytes FROM flows WHERE {days} AND {col} = {id} GROUP BY date, hour ORDER BY date, hour\"`."
        ),
        format!(
            "See whom it talks to: `flowtrail query \"SELECT dstaddr, dstport, action, count(*) AS flows, sum(bytes) AS bytes FROM flows WHERE {days} AND {col} = {id} GROUP BY dstaddr, dstport, action ORDER BY bytes DESC LIMIT 20\"`."
        ),
    ];
    match f.entity.kind {
        EntityKind::Instance | EntityKind::Eni => {
            out.push(format!(
                "Find the {what}'s owner and purpose (the alert's asset, or `aws ec2 describe-network-interfaces --network-interface-ids <eni>` / `aws ec2 describe-instances --instance-ids <instance>` and its tags) and ask whether this traffic is expected."
            ));
            out.push(isolate());
        }
        _ => out.push(address(&days, &id)),
    }
    out
}

/// Containment of an instance or interface.
pub fn isolate() -> String {
    "If it is not explained, isolate the instance with `flowtrail-respond`: a dry run first (`flowtrail-respond --config respond.toml --sqs-event <event carrying this alert>`), then the same with `--execute`; it tags the instance, detaches it from its Auto Scaling group and moves it into the quarantine security group, keeping it running for forensics.".into()
}

fn address(days: &str, id: &str) -> String {
    format!(
        "For a private address, find its interface (`flowtrail query \"SELECT DISTINCT interface_id, instance_id FROM flows WHERE {days} AND srcaddr = {id} LIMIT 10\"`) and treat that instance as compromised until explained (isolate it with `flowtrail-respond`); for a public address, block it in the subnet's network ACL and check whether anything it reached answered."
    )
}

/// History, ownership and containment for an IAM principal.
pub fn principal(f: &Finding) -> Vec<String> {
    let id = quote(&f.entity.id);
    let days = days_around(f);
    vec![
        format!(
            "See everything this principal did around then: `flowtrail query \"SELECT event_time, event_name, event_source, source_ip_address, user_agent, error_code FROM cloudtrail WHERE {days} AND user_identity_arn = {id} ORDER BY event_time\"`."
        ),
        "Ask the principal's owner whether they made these calls, from that address and user agent.".into(),
        "If not: deactivate its access keys (`aws iam update-access-key --status Inactive`), revoke its active sessions (for a role, a deny on `aws:TokenIssueTime` older than now), and undo what it created or changed (users, keys, policies, security group rules).".into(),
    ]
}

/// Steps for a security group.
pub fn security_group(f: &Finding) -> Vec<String> {
    let id = quote(&f.entity.id);
    let days = days_around(f);
    vec![
        format!(
            "List the changes to this group around then: `flowtrail query \"SELECT event_time, event_name, user_identity_arn, source_ip_address, request_parameters FROM cloudtrail WHERE {days} AND strpos(request_parameters, {id}) > 0 ORDER BY event_time\"`."
        ),
        "Ask the change's author whether the rule is intended; if not, revoke it (`aws ec2 revoke-security-group-ingress`) and check the flows accepted through it since.".into(),
    ]
}

/// The entity's steps, after reading the evidence.
pub fn for_entity(f: &Finding) -> Vec<String> {
    let mut out = vec![read_evidence()];
    out.extend(match f.entity.kind {
        EntityKind::Principal => principal(f),
        EntityKind::SecurityGroup => security_group(f),
        _ => network(f),
    });
    out
}
