//! ATT&CK tags of a Sigma rule (`attack.t1098.001`, `attack.persistence`) as technique and
//! tactic ids (`T1098.001`, `TA0003`). Other tags (groups, software, CVEs) are left out.

/// MITRE ATT&CK Enterprise tactics by their Sigma tag name. ATT&CK v19 split Defense Evasion
/// (TA0005) into Stealth (keeping TA0005) and Defense Impairment (TA0112); rules carry both
/// the old and the new names.
const TACTICS: &[(&str, &str)] = &[
    ("reconnaissance", "TA0043"),
    ("resource_development", "TA0042"),
    ("initial_access", "TA0001"),
    ("execution", "TA0002"),
    ("persistence", "TA0003"),
    ("privilege_escalation", "TA0004"),
    ("defense_evasion", "TA0005"),
    ("stealth", "TA0005"),
    ("defense_impairment", "TA0112"),
    ("credential_access", "TA0006"),
    ("discovery", "TA0007"),
    ("lateral_movement", "TA0008"),
    ("collection", "TA0009"),
    ("exfiltration", "TA0010"),
    ("command_and_control", "TA0011"),
    ("impact", "TA0040"),
];

/// A rule's tactics and techniques, in tag order, without repeats.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Attack {
    /// Tactic ids (`TA0003`).
    pub tactics: Vec<String>,
    /// Technique and sub-technique ids (`T1098`, `T1098.001`).
    pub techniques: Vec<String>,
}

impl Attack {
    /// Read the `attack.*` tags.
    pub fn from_tags(tags: &[String]) -> Attack {
        let mut out = Attack::default();
        for tag in tags {
            let tag = tag.trim().to_ascii_lowercase().replace('-', "_");
            let Some(name) = tag.strip_prefix("attack.") else {
                continue;
            };
            let (list, id) = if let Some(id) = technique(name) {
                (&mut out.techniques, id)
            } else if let Some(id) = tactic(name) {
                (&mut out.tactics, id)
            } else {
                continue;
            };
            if !list.contains(&id) {
                list.push(id);
            }
        }
        out
    }

    /// Whether no tag named a tactic or technique.
    pub fn is_empty(&self) -> bool {
        self.tactics.is_empty() && self.techniques.is_empty()
    }
}

/// `t1098` or `t1098.001` → `T1098` / `T1098.001`.
fn technique(name: &str) -> Option<String> {
    let rest = name.strip_prefix('t')?;
    let (main, sub) = match rest.split_once('.') {
        Some((m, s)) => (m, Some(s)),
        None => (rest, None),
    };
    let digits = |s: &str, n: usize| s.len() == n && s.bytes().all(|b| b.is_ascii_digit());
    if !digits(main, 4) || sub.is_some_and(|s| !digits(s, 3)) {
        return None;
    }
    Some(name.to_ascii_uppercase())
}

/// `persistence` or `ta0003` → `TA0003`.
fn tactic(name: &str) -> Option<String> {
    if let Some(digits) = name.strip_prefix("ta")
        && digits.len() == 4
        && digits.bytes().all(|b| b.is_ascii_digit())
    {
        return Some(name.to_ascii_uppercase());
    }
    TACTICS
        .iter()
        .find(|(n, _)| *n == name)
        .map(|(_, id)| (*id).to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn techniques_tactics_and_other_tags() {
        let tags: Vec<String> = [
            "attack.t1098",
            "attack.persistence",
            "attack.T1098.001",
            "attack.privilege-escalation",
            "attack.defense_evasion",
            "attack.ta0010",
            "attack.stealth",
            "attack.defense-impairment",
            "attack.t1098",
            "attack.g0016",
            "attack.s0002",
            "cve.2021-44228",
            "detection.threat_hunting",
            "attack.t12",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        let a = Attack::from_tags(&tags);
        assert_eq!(a.techniques, vec!["T1098", "T1098.001"]);
        assert_eq!(
            a.tactics,
            vec!["TA0003", "TA0004", "TA0005", "TA0010", "TA0112"]
        );
        assert!(Attack::from_tags(&["car.2016-04-005".to_string()]).is_empty());
    }
}
