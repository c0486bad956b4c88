//! The rule file format: a header of `-- key: value` comment lines, then DataFusion SQL.
//! Parsing checks the header on its own (keys, values, window); whether the SQL plans and
//! returns the columns the header names is checked by [`super::RuleSet`] at load.

use std::path::{Path, PathBuf};
use std::str::FromStr;

use flowtrail_core::alert::{Attack, EntityKind, Severity};

use super::{Rule, RuleTable};

/// Windows a rule may use: each divides an hour, so windows never straddle a chunk boundary.
pub const WINDOWS_MINUTES: &[u32] = &[1, 2, 5, 10, 15, 20, 30, 60];

/// Parse one rule file's text. Errors are plain reasons; the caller adds the path.
pub fn parse_rule(path: &Path, text: &str) -> Result<Rule, String> {
    let mut id = None;
    let mut title = None;
    let mut severity = None;
    let mut entity = None;
    let mut dedupe = None;
    let mut threshold = None;
    let mut window = None;
    let mut table = None;
    let mut attack = Attack::default();
    let mut sql = String::new();
    let mut in_header = true;
    for (n, line) in text.lines().enumerate() {
        let trimmed = line.trim();
        if in_header {
            if trimmed.is_empty() {
                continue;
            }
            if let Some(comment) = trimmed.strip_prefix("--") {
                let Some((key, value)) = comment.split_once(':') else {
                    // A plain comment in the header (no `key:`) is allowed.
                    continue;
                };
                let key = key.trim().to_ascii_lowercase();
                let value = value.trim();
                let line_no = n + 1;
                if key == "attack" {
                    // May repeat; the ids of every `attack` line add up.
                    parse_attack(value, &mut attack)
                        .map_err(|e| format!("line {line_no}: attack: {e}"))?;
                    continue;
                }
                let slot = match key.as_str() {
                    "id" => &mut id,
                    "title" => &mut title,
                    "severity" => &mut severity,
                    "entity" => &mut entity,
                    "dedupe" => &mut dedupe,
                    "threshold" => &mut threshold,
                    "window" => &mut window,
                    "table" => &mut table,
                    // Other keys (description, references, author) are documentation.
                    _ => continue,
                };
                if slot.is_some() {
                    return Err(format!("line {line_no}: duplicate header key `{key}`"));
                }
                *slot = Some(value.to_string());
                continue;
            }
            in_header = false;
        }
        sql.push_str(line);
        sql.push('\n');
    }

    let need =
        |v: Option<String>, key: &str| v.ok_or_else(|| format!("missing header `-- {key}: ...`"));
    let id = need(id, "id")?;
    if id.is_empty()
        || !id
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
    {
        return Err(format!("id {id:?}: use lowercase letters, digits and `_`"));
    }
    if let Some(stem) = path.file_stem().and_then(|s| s.to_str())
        && stem != id
    {
        return Err(format!(
            "id `{id}` does not match the file name `{stem}.sql`"
        ));
    }
    let title = need(title, "title")?;
    if title.is_empty() {
        return Err("empty title".into());
    }
    let severity = Severity::from_str(&need(severity, "severity")?).map_err(|e| e.to_string())?;
    let (entity_kind, entity_column) = parse_entity(&need(entity, "entity")?)?;
    let dedupe = parse_columns(&need(dedupe, "dedupe")?);
    if dedupe.is_empty() {
        return Err("dedupe: name at least one result column".into());
    }
    let threshold = threshold.map(|t| parse_threshold(&t)).transpose()?;
    let window_minutes = parse_window(&need(window, "window")?)?;
    let table = match need(table, "table")?.to_ascii_lowercase().as_str() {
        "flows" => RuleTable::Flows,
        "cloudtrail" => RuleTable::Cloudtrail,
        other => return Err(format!("table {other:?}: expected flows or cloudtrail")),
    };
    if sql.trim().is_empty() {
        return Err("no SQL after the header".into());
    }
    Ok(Rule {
        id,
        title,
        severity,
        entity_kind,
        entity_column,
        dedupe,
        threshold,
        window_minutes,
        table,
        attack,
        sql,
        path: PathBuf::from(path),
    })
}

/// `TA0005; T1562.008`: ATT&CK tactic ids (`TA0000`) and technique ids (`T0000`,
/// `T0000.000`) separated by spaces, commas or `;` (by convention tactics, `;`, techniques).
fn parse_attack(v: &str, into: &mut Attack) -> Result<(), String> {
    let mut any = false;
    for id in v
        .split(|c: char| c.is_whitespace() || c == ',' || c == ';')
        .filter(|s| !s.is_empty())
    {
        into.push_id(id)?;
        any = true;
    }
    if !any {
        return Err("no ids (expected e.g. `-- attack: TA0005; T1562.008`)".into());
    }
    Ok(())
}

/// `kind:column`, e.g. `security_group:group_id`.
fn parse_entity(v: &str) -> Result<(EntityKind, String), String> {
    let (kind, column) = v
        .split_once(':')
        .ok_or_else(|| format!("entity {v:?}: expected `kind:column` (e.g. `ip:srcaddr`)"))?;
    let kind = match kind.trim() {
        "instance" => EntityKind::Instance,
        "eni" => EntityKind::Eni,
        "principal" => EntityKind::Principal,
        "security_group" => EntityKind::SecurityGroup,
        "ip" => EntityKind::Ip,
        other => {
            return Err(format!(
                "unknown entity kind {other:?} (expected instance, eni, principal, security_group or ip)"
            ));
        }
    };
    let column = column.trim();
    if !is_column_name(column) {
        return Err(format!("entity column {column:?} is not a column name"));
    }
    Ok((kind, column.to_string()))
}

fn parse_columns(v: &str) -> Vec<String> {
    v.split(',')
        .map(str::trim)
        .filter(|c| !c.is_empty())
        .map(str::to_string)
        .collect()
}

/// `column >= value`.
fn parse_threshold(v: &str) -> Result<(String, f64), String> {
    let (column, value) = v
        .split_once(">=")
        .ok_or_else(|| format!("threshold {v:?}: expected `column >= number`"))?;
    let column = column.trim();
    if !is_column_name(column) {
        return Err(format!("threshold column {column:?} is not a column name"));
    }
    let value: f64 = value
        .trim()
        .parse()
        .map_err(|_| format!("threshold {v:?}: {:?} is not a number", value.trim()))?;
    if !value.is_finite() {
        return Err(format!("threshold {v:?}: not a finite number"));
    }
    Ok((column.to_string(), value))
}

/// `10m`, `1h`, `60m`; must be one of [`WINDOWS_MINUTES`].
fn parse_window(v: &str) -> Result<u32, String> {
    let v = v.trim();
    let minutes = if let Some(m) = v.strip_suffix('m') {
        m.trim().parse::<u32>().ok()
    } else if let Some(h) = v.strip_suffix('h') {
        h.trim().parse::<u32>().ok().and_then(|h| h.checked_mul(60))
    } else {
        None
    };
    match minutes {
        Some(m) if WINDOWS_MINUTES.contains(&m) => Ok(m),
        _ => Err(format!(
            "window {v:?}: must divide an hour (1m 2m 5m 10m 15m 20m 30m 60m)"
        )),
    }
}

fn is_column_name(c: &str) -> bool {
    !c.is_empty() && c.chars().all(|ch| ch.is_ascii_alphanumeric() || ch == '_')
}

/// The `{column}` placeholders in a title, in order.
pub fn placeholders(title: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let mut rest = title;
    while let Some(open) = rest.find('{') {
        let after = &rest[open + 1..];
        let Some(close) = after.find('}') else { break };
        out.push(&after[..close]);
        rest = &after[close + 1..];
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &str = "-- id: sg_rule\n-- title: Group {group_id} changed\n-- severity: medium\n\
        -- entity: security_group:group_id\n-- dedupe: group_id, principal\n-- threshold: attempts >= 20\n\
        -- window: 10m\n-- table: cloudtrail\n-- attack: TA0005 TA0003; T1562.007 T1098\nSELECT 1\n";

    fn parse(text: &str) -> Result<Rule, String> {
        parse_rule(Path::new("rules/sg_rule.sql"), text)
    }

    #[test]
    fn parses_a_full_header() {
        let r = parse(GOOD);
        let r = r.as_ref().map_err(String::as_str);
        assert_eq!(r.map(|r| r.id.as_str()), Ok("sg_rule"));
        let Ok(r) = r else { return };
        assert_eq!(r.severity, Severity::Medium);
        assert_eq!(r.entity_kind, EntityKind::SecurityGroup);
        assert_eq!(r.entity_column, "group_id");
        assert_eq!(
            r.dedupe,
            vec!["group_id".to_string(), "principal".to_string()]
        );
        assert_eq!(r.threshold, Some(("attempts".to_string(), 20.0)));
        assert_eq!(r.window_minutes, 10);
        assert_eq!(r.table, RuleTable::Cloudtrail);
        assert_eq!(r.sql.trim(), "SELECT 1");
        assert_eq!(
            r.attack,
            Attack::new(&["TA0005", "TA0003"], &["T1562.007", "T1098"])
        );
    }

    #[test]
    fn attack_lines_add_up_and_are_optional() {
        let two = parse(&GOOD.replace(
            "-- attack: TA0005 TA0003; T1562.007 T1098\n",
            "-- attack: TA0010; T1048\n-- ATTACK: T1048.003, TA0011;\n--attack:TA0010\n",
        ));
        assert_eq!(
            two.map(|r| r.attack),
            Ok(Attack::new(&["TA0010", "TA0011"], &["T1048", "T1048.003"]))
        );
        let none = parse(&GOOD.replace("-- attack: TA0005 TA0003; T1562.007 T1098\n", ""));
        assert_eq!(none.map(|r| r.attack), Ok(Attack::default()));
        // A Sigma rule tagged with techniques only.
        let techniques = parse(&GOOD.replace("TA0005 TA0003; T1562.007", "; T1562.007"));
        assert_eq!(
            techniques.map(|r| r.attack),
            Ok(Attack::new(&[], &["T1562.007", "T1098"]))
        );
    }

    #[test]
    fn malformed_attack_ids_are_rejected_naming_the_id_and_line() {
        for bad in [
            "TA005; T1562.007",
            "TA0005; T1562.07",
            "ta0005; T1562.007",
            "TA0005; t1562",
            "TA0005; T1562.007x",
            "Defense Evasion; T1562",
            "TA0005; T15620",
            "TA0005/T1562",
        ] {
            let text = GOOD.replace("TA0005 TA0003; T1562.007 T1098", bad);
            let e = parse(&text).err().unwrap_or_default();
            assert!(e.starts_with("line 9: attack: `"), "{bad}: {e}");
            assert!(e.contains("not an ATT&CK"), "{bad}: {e}");
        }
        let empty = parse(&GOOD.replace("TA0005 TA0003; T1562.007 T1098", " ; "))
            .err()
            .unwrap_or_default();
        assert!(empty.contains("no ids"), "{empty}");
    }

    #[test]
    fn bad_headers_are_rejected_with_a_reason() {
        let cases: &[(&str, &str, &str)] = &[
            ("missing id", "-- id: sg_rule\n", ""),
            ("bad window 7m", "-- window: 10m", "-- window: 7m"),
            ("window 90m", "-- window: 10m", "-- window: 90m"),
            (
                "unknown entity kind",
                "security_group:group_id",
                "bucket:group_id",
            ),
            (
                "entity without column",
                "security_group:group_id",
                "security_group",
            ),
            (
                "unknown severity",
                "-- severity: medium",
                "-- severity: urgent",
            ),
            ("unknown table", "-- table: cloudtrail", "-- table: alerts"),
            ("bad threshold", "attempts >= 20", "attempts > 20"),
            (
                "threshold not a number",
                "attempts >= 20",
                "attempts >= many",
            ),
            (
                "id not the file name",
                "-- id: sg_rule",
                "-- id: other_rule",
            ),
            ("missing dedupe", "-- dedupe: group_id, principal\n", ""),
            ("no sql", "SELECT 1\n", ""),
        ];
        for (name, from, to) in cases {
            let text = GOOD.replace(from, to);
            assert_ne!(text, GOOD, "{name}: test edit did not apply");
            let r = parse(&text);
            assert!(r.is_err(), "{name}: expected an error, got {r:?}");
        }
        let missing = parse(&GOOD.replace("-- id: sg_rule\n", ""))
            .err()
            .unwrap_or_default();
        assert!(missing.contains("id"), "{missing}");
        let sev = parse(&GOOD.replace("medium", "urgent"))
            .err()
            .unwrap_or_default();
        assert!(sev.contains("urgent"), "{sev}");
        let win = parse(&GOOD.replace("10m", "7m")).err().unwrap_or_default();
        assert!(win.contains("7m"), "{win}");
    }

    #[test]
    fn windows_in_hours_and_optional_threshold() {
        let r = parse(
            &GOOD
                .replace("-- window: 10m", "-- window: 1h")
                .replace("-- threshold: attempts >= 20\n", ""),
        );
        assert_eq!(
            r.map(|r| (r.window_minutes, r.threshold.is_none())),
            Ok((60, true))
        );
    }

    #[test]
    fn finds_title_placeholders() {
        assert_eq!(placeholders("a {x} b {y_z} {"), vec!["x", "y_z"]);
        assert!(placeholders("no placeholders").is_empty());
    }
}
