//! Titles that would mislead, rewritten from the finding's own evidence. A flow log says a
//! connection was let through, not that a login succeeded: "104 attempts, 104 accepted" on
//! SSH reads as 104 logins, so the title says accepted flows.

use flowtrail_core::Finding;

/// The finding's title, made unambiguous where it is known to mislead.
pub fn clarify(f: &mut Finding) {
    if f.detector == "ssh_brute_force" {
        let e = &f.evidence;
        let (Some(attempts), Some(accepted)) = (
            e.get("attempts").and_then(|v| v.as_u64()),
            e.get("accepted").and_then(|v| v.as_u64()),
        ) else {
            return;
        };
        let target = e.get("target").and_then(|v| v.as_str()).unwrap_or("?");
        f.title = format!(
            "SSH brute force from {} against {target}: {attempts} connection attempts, {accepted} accepted by the network (flows, not logins)",
            f.entity.id
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::explain::tests::finding;

    #[test]
    fn ssh_titles_say_accepted_flows_not_logins() {
        let mut f = finding("ssh_brute_force", "ip", "45.155.205.99");
        f.title =
            "SSH brute force from 45.155.205.99 against 10.0.1.216: 104 attempts, 104 accepted"
                .into();
        f.evidence = serde_json::json!({"attempts": 104, "accepted": 104, "target": "10.0.1.216"});
        clarify(&mut f);
        assert_eq!(
            f.title,
            "SSH brute force from 45.155.205.99 against 10.0.1.216: 104 connection attempts, 104 accepted by the network (flows, not logins)"
        );
    }

    #[test]
    fn other_titles_and_odd_evidence_are_left_alone() {
        let mut f = finding("port_scan", "ip", "10.0.0.1");
        f.title = "Port scan: 104 attempts, 104 accepted".into();
        f.evidence = serde_json::json!({"attempts": 104, "accepted": 104});
        clarify(&mut f);
        assert_eq!(f.title, "Port scan: 104 attempts, 104 accepted");
        let mut g = finding("ssh_brute_force", "ip", "10.0.0.1");
        g.title = "as written".into();
        g.evidence = serde_json::json!({"attempts": "many"});
        clarify(&mut g);
        assert_eq!(g.title, "as written");
    }
}
