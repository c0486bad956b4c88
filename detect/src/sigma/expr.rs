//! A Sigma rule's `detection` as one SQL boolean expression over the `cloudtrail` table.
//!
//! - A selection that is a map ANDs its items; a list of maps ORs them; a list of values ORs
//!   the values (ANDs them with `|all`).
//! - Strings match case-insensitively (`ILIKE`), `*` and `?` are wildcards; `|cased` makes
//!   the match case-sensitive. `|contains`, `|startswith`, `|endswith` add the wildcards.
//!   `|re` is `regexp_like` (case-sensitive unless `|i`). `|exists`, `|fieldref`, `|gt` and
//!   friends are supported; encoding modifiers (`base64`, `wide`, `windash`, ...) and `cidr`
//!   are not, and make the rule fail to compile.
//! - `null` is `IS NULL`. A missing field never matches a value, so each named selection is
//!   `coalesce(..., false)`: `not selection` holds for events without the field.
//! - A `|contains` on a key under a JSON array (`requestParameters.layers|contains`, where
//!   `layers` is an array) also looks in the array's JSON text.
//! - The condition: `and`, `or`, `not`, parentheses, `1 of x*`, `all of x*`, `N of x*`,
//!   `... of them`; several conditions are ORed.

use std::collections::BTreeMap;

use rsigma_parser::{
    ConditionExpr, Detection, DetectionItem, Detections, Modifier, Quantifier, SigmaString,
    SigmaValue, SpecialChar, StringPart,
};

use super::field::{FieldExpr, field_expr};

/// A SQL string literal.
pub fn literal(s: &str) -> String {
    format!("'{}'", s.replace('\'', "''"))
}

/// The WHERE expression of a rule's detection section.
pub fn where_clause(d: &Detections) -> Result<String, String> {
    if let Some(t) = &d.timeframe {
        return Err(format!(
            "`timeframe: {t}` (an aggregation over time) is not supported"
        ));
    }
    if d.conditions.is_empty() {
        return Err("no condition".into());
    }
    let mut named = BTreeMap::new();
    for (name, det) in &d.named {
        let sql = detection(det).map_err(|e| format!("selection `{name}`: {e}"))?;
        named.insert(name.clone(), format!("coalesce({sql}, false)"));
    }
    let conditions = d
        .conditions
        .iter()
        .map(|c| condition(c, &named))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(join(conditions, "OR"))
}

fn join(parts: Vec<String>, op: &str) -> String {
    if parts.len() == 1 {
        return parts.into_iter().next().unwrap_or_default();
    }
    format!("({})", parts.join(&format!(" {op} ")))
}

fn condition(c: &ConditionExpr, named: &BTreeMap<String, String>) -> Result<String, String> {
    let all = |v: &[ConditionExpr], op| {
        v.iter()
            .map(|c| condition(c, named))
            .collect::<Result<Vec<_>, _>>()
            .map(|p| join(p, op))
    };
    match c {
        ConditionExpr::And(v) => all(v, "AND"),
        ConditionExpr::Or(v) => all(v, "OR"),
        ConditionExpr::Not(x) => Ok(format!("(NOT {})", condition(x, named)?)),
        ConditionExpr::Identifier(id) => named
            .get(id)
            .cloned()
            .ok_or_else(|| format!("the condition names `{id}`, which is not a selection")),
        ConditionExpr::Selector {
            quantifier,
            pattern,
        } => {
            let chosen: Vec<String> = named
                .iter()
                .filter(|(n, _)| pattern.matches_detection_name(n))
                .map(|(_, sql)| sql.clone())
                .collect();
            if chosen.is_empty() {
                return Err(format!("`{quantifier} of {pattern}` matches no selection"));
            }
            Ok(match quantifier {
                Quantifier::Any => join(chosen, "OR"),
                Quantifier::All => join(chosen, "AND"),
                Quantifier::Count(n) => {
                    let terms: Vec<String> = chosen
                        .iter()
                        .map(|s| format!("CASE WHEN {s} THEN 1 ELSE 0 END"))
                        .collect();
                    format!("(({}) >= {n})", terms.join(" + "))
                }
            })
        }
    }
}

fn detection(d: &Detection) -> Result<String, String> {
    let many = |parts: Vec<Result<String, String>>, op| {
        let parts = parts.into_iter().collect::<Result<Vec<_>, _>>()?;
        if parts.is_empty() {
            return Err("empty selection".to_string());
        }
        Ok(join(parts, op))
    };
    match d {
        Detection::AllOf(items) => many(items.iter().map(item).collect(), "AND"),
        Detection::AnyOf(ds) => many(ds.iter().map(detection).collect(), "OR"),
        Detection::And(ds) => many(ds.iter().map(detection).collect(), "AND"),
        Detection::Keywords(_) => {
            Err("keyword selections (values without a field) are not supported".into())
        }
        Detection::ArrayMatch { field, .. } => {
            Err(format!("array block `{field}[...]` is not supported"))
        }
        Detection::Conditional { .. } => {
            Err("selections with their own condition are not supported".into())
        }
    }
}

/// How an item's values are compared.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Kind {
    Equals,
    Contains,
    StartsWith,
    EndsWith,
    Re,
    FieldRef,
    Exists,
    Compare(&'static str),
}

/// What an item's modifiers ask for.
#[derive(Debug)]
struct Mods {
    kind: Kind,
    all: bool,
    cased: bool,
    flags: String,
}

fn modifiers(list: &[Modifier]) -> Result<Mods, String> {
    let mut m = Mods {
        kind: Kind::Equals,
        all: false,
        cased: false,
        flags: String::new(),
    };
    for modifier in list {
        let kind = match modifier {
            Modifier::Contains => Kind::Contains,
            Modifier::StartsWith => Kind::StartsWith,
            Modifier::EndsWith => Kind::EndsWith,
            Modifier::Re => Kind::Re,
            Modifier::FieldRef => Kind::FieldRef,
            Modifier::Exists => Kind::Exists,
            Modifier::Gt => Kind::Compare(">"),
            Modifier::Gte => Kind::Compare(">="),
            Modifier::Lt => Kind::Compare("<"),
            Modifier::Lte => Kind::Compare("<="),
            Modifier::All => {
                m.all = true;
                continue;
            }
            Modifier::Cased => {
                m.cased = true;
                continue;
            }
            Modifier::IgnoreCase => {
                m.flags.push('i');
                continue;
            }
            Modifier::Multiline => {
                m.flags.push('m');
                continue;
            }
            Modifier::DotAll => {
                m.flags.push('s');
                continue;
            }
            other => {
                let name = format!("{other:?}").to_ascii_lowercase();
                return Err(format!("modifier `{name}` is not supported"));
            }
        };
        if m.kind != Kind::Equals && m.kind != kind {
            let names = format!("{list:?}").to_ascii_lowercase();
            return Err(format!("modifiers {names} do not combine"));
        }
        m.kind = kind;
    }
    if !m.flags.is_empty() && m.kind != Kind::Re {
        return Err("regular expression flags without `|re`".into());
    }
    Ok(m)
}

fn item(it: &DetectionItem) -> Result<String, String> {
    let Some(name) = &it.field.name else {
        return Err("keyword selections (values without a field) are not supported".into());
    };
    let f = field_expr(name)?;
    let m = modifiers(&it.field.modifiers).map_err(|e| format!("field `{name}`: {e}"))?;
    if it.values.is_empty() {
        return Err(format!("field `{name}` has no value"));
    }
    let parts = it
        .values
        .iter()
        .map(|v| value(&f, &m, v).map_err(|e| format!("field `{name}`: {e}")))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(join(parts, if m.all { "AND" } else { "OR" }))
}

/// A value as plain text (numbers and booleans compare as their text).
fn text(v: &SigmaValue) -> Option<String> {
    match v {
        SigmaValue::String(s) => Some(s.original.clone()),
        SigmaValue::Integer(i) => Some(i.to_string()),
        SigmaValue::Float(x) => Some(x.to_string()),
        SigmaValue::Bool(b) => Some(b.to_string()),
        SigmaValue::Null => None,
    }
}

fn value(f: &FieldExpr, m: &Mods, v: &SigmaValue) -> Result<String, String> {
    let col = &f.sql;
    if matches!(v, SigmaValue::Null) {
        return match m.kind {
            Kind::Equals => Ok(format!("{col} IS NULL")),
            _ => Err("null with a modifier".into()),
        };
    }
    match m.kind {
        Kind::Equals | Kind::Contains | Kind::StartsWith | Kind::EndsWith => {
            like(f, m, &pattern(v, m.kind))
        }
        Kind::Re => {
            let re = text(v).unwrap_or_default();
            regex_syntax::Parser::new()
                .parse(&re)
                .map_err(|e| format!("bad regular expression {re:?}: {e}"))?;
            Ok(if m.flags.is_empty() {
                format!("regexp_like({col}, {})", literal(&re))
            } else {
                format!(
                    "regexp_like({col}, {}, {})",
                    literal(&re),
                    literal(&m.flags)
                )
            })
        }
        Kind::FieldRef => {
            let other = field_expr(&text(v).unwrap_or_default())?;
            Ok(format!("{col} = {}", other.sql))
        }
        Kind::Exists => match v {
            SigmaValue::Bool(true) => Ok(format!("{col} IS NOT NULL")),
            SigmaValue::Bool(false) => Ok(format!("{col} IS NULL")),
            _ => Err("`|exists` takes true or false".into()),
        },
        Kind::Compare(op) => match v {
            SigmaValue::Integer(_) | SigmaValue::Float(_) => Ok(format!(
                "TRY_CAST({col} AS DOUBLE) {op} {}",
                text(v).unwrap_or_default()
            )),
            _ => Err(format!("`{op}` takes a number")),
        },
    }
}

/// `col ILIKE pattern`; for `|contains` on a key under JSON arrays, also the arrays' text.
fn like(f: &FieldExpr, m: &Mods, pattern: &str) -> Result<String, String> {
    let op = if m.cased { "LIKE" } else { "ILIKE" };
    let p = literal(pattern);
    let direct = format!("{} {op} {p}", f.sql);
    if m.kind != Kind::Contains || f.parents.is_empty() {
        return Ok(direct);
    }
    let mut alternatives = vec![direct];
    for parent in &f.parents {
        alternatives.push(format!("(left({parent}, 1) = '[' AND {parent} {op} {p})"));
    }
    Ok(join(alternatives, "OR"))
}

/// A LIKE pattern: `*` and `?` become `%` and `_`, LIKE's own characters are escaped.
fn pattern(v: &SigmaValue, kind: Kind) -> String {
    let mut out = String::new();
    if matches!(kind, Kind::Contains | Kind::EndsWith) {
        out.push('%');
    }
    match v {
        SigmaValue::String(s) => push_sigma_string(&mut out, s),
        other => push_plain(&mut out, &text(other).unwrap_or_default()),
    }
    if matches!(kind, Kind::Contains | Kind::StartsWith) {
        out.push('%');
    }
    out
}

fn push_sigma_string(out: &mut String, s: &SigmaString) {
    for part in &s.parts {
        match part {
            StringPart::Plain(p) => push_plain(out, p),
            StringPart::Special(SpecialChar::WildcardMulti) => out.push('%'),
            StringPart::Special(SpecialChar::WildcardSingle) => out.push('_'),
        }
    }
}

fn push_plain(out: &mut String, s: &str) {
    for c in s.chars() {
        if matches!(c, '%' | '_' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn compile(yaml: &str) -> Result<String, String> {
        let c = rsigma_parser::parse_sigma_yaml(yaml).map_err(|e| e.to_string())?;
        let rule = c.rules.first().ok_or_else(|| format!("{:?}", c.errors))?;
        where_clause(&rule.detection)
    }

    fn rule(detection: &str) -> String {
        format!(
            "title: t\nlogsource:\n  product: aws\n  service: cloudtrail\ndetection:\n{detection}"
        )
    }

    #[test]
    fn maps_and_lists_modifiers_and_nulls() {
        let sql = compile(&rule(
            "  selection:\n    eventSource: iam.amazonaws.com\n    eventName:\n      - 'Create*'\n      - 'Put_Policy'\n    errorCode: null\n  condition: selection\n",
        ));
        assert_eq!(
            sql.as_deref(),
            Ok(
                "coalesce((event_source ILIKE 'iam.amazonaws.com' AND (event_name ILIKE 'Create%' \
                 OR event_name ILIKE 'Put\\_Policy') AND error_code IS NULL), false)"
            )
        );
        let sql = compile(&rule(
            "  sel:\n    userAgent|contains|all:\n      - 'a'\n      - \"it's\"\n    userIdentity.arn|endswith|cased: ':root'\n  condition: sel\n",
        ))
        .unwrap_or_default();
        assert!(
            sql.contains("(user_agent ILIKE '%a%' AND user_agent ILIKE '%it''s%')"),
            "{sql}"
        );
        assert!(sql.contains("user_identity_arn LIKE '%:root'"), "{sql}");
    }

    #[test]
    fn conditions_and_selectors() {
        let sql = compile(&rule(
            "  selection_a:\n    eventName: A\n  selection_b:\n    eventName: B\n  filter:\n    - errorCode: X\n    - sourceIPAddress: 'AWS Internal'\n  condition: 1 of selection_* and not filter\n",
        ))
        .unwrap_or_default();
        assert_eq!(
            sql,
            "((coalesce(event_name ILIKE 'A', false) OR coalesce(event_name ILIKE 'B', false)) AND \
             (NOT coalesce((error_code ILIKE 'X' OR source_ip_address ILIKE 'AWS Internal'), false)))"
        );
        let all = compile(&rule(
            "  a:\n    eventName: A\n  b:\n    eventName: B\n  condition: all of them\n",
        ))
        .unwrap_or_default();
        assert!(all.contains(" AND "), "{all}");
        assert!(
            compile(&rule("  a:\n    eventName: A\n  condition: 1 of x*\n"))
                .is_err_and(|e| e.contains("x*"))
        );
    }

    #[test]
    fn regex_fieldref_json_arrays_and_unsupported() {
        let sql = compile(&rule(
            "  s:\n    userIdentity.arn|re: '.+:assumed-role/aws:.+'\n    requestParameters.layers|contains: 'arn'\n  f:\n    userIdentity.arn|fieldref: requestParameters.userName\n  condition: s and not f\n",
        ))
        .unwrap_or_default();
        assert!(
            sql.contains("regexp_like(user_identity_arn, '.+:assumed-role/aws:.+')"),
            "{sql}"
        );
        assert!(
            sql.contains("user_identity_arn = json_as_text(request_parameters, 'userName')"),
            "{sql}"
        );
        assert!(
            sql.contains("json_as_text(request_parameters, 'layers') ILIKE '%arn%'"),
            "{sql}"
        );
        let bad = |d: &str| compile(&rule(d)).err().unwrap_or_default();
        assert!(bad("  s:\n    eventName|base64: x\n  condition: s\n").contains("`base64`"));
        assert!(bad("  s:\n    eventName|re: '(('\n  condition: s\n").contains("regular"));
        assert!(bad("  s:\n    nosuchField: x\n  condition: s\n").contains("nosuchField"));
        assert!(bad("  s:\n    - x\n  condition: s\n").contains("keyword"));
        assert!(bad("  s:\n    eventName: x\n  condition: t\n").contains("`t`"));
    }
}
