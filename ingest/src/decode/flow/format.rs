//! Flow-log formats: the ordered list of AWS field names a line carries, parsed from an AWS
//! `LogFormat` string (`${version} ${account-id} ...`), a plain list of names, or an S3 object's
//! header line; and the `Slot` plan that maps each position of a line to a lake column.

use flowtrail_core::schema::flows::{DEFAULT_FORMAT, FLOW_FIELDS, FlowType, field_index};

/// An ordered list of AWS flow-log field names (`version`, `account-id`, ...), as a header line
/// or a flow log's `LogFormat` lists them. Names need not be documented fields: unknown ones are
/// kept in the `extra_fields` column.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FlowFormat {
    fields: Vec<String>,
}

/// Most fields a format may have: AWS defines about 50, so this leaves room for fields it adds
/// later while keeping a hostile header (thousands of names) from costing time and memory.
pub const MAX_FIELDS: usize = 512;

impl FlowFormat {
    /// Parse an AWS `LogFormat` string (`${version} ${account-id} ...`) or plain
    /// whitespace-separated names (`version account-id ...`).
    ///
    /// Fails on an empty format, a name that is not `[a-z][a-z0-9-]*`, or a duplicate name.
    pub fn parse(s: &str) -> Result<FlowFormat, String> {
        let mut names = Vec::new();
        for tok in s.split_ascii_whitespace() {
            let name = match tok.strip_prefix("${") {
                Some(rest) => rest
                    .strip_suffix('}')
                    .ok_or_else(|| format!("unterminated field reference {tok:?}"))?,
                None => tok,
            };
            if !is_field_name(name.as_bytes()) {
                return Err(format!("invalid field name {name:?}"));
            }
            names.push(name);
        }
        Self::from_names(names)
    }

    /// The default format (version 2): the 14 fields AWS writes when no format is chosen.
    pub fn default_v2() -> FlowFormat {
        FlowFormat {
            fields: DEFAULT_FORMAT.iter().map(|s| s.to_string()).collect(),
        }
    }

    /// The field names, in line order.
    pub fn fields(&self) -> &[String] {
        &self.fields
    }

    /// Number of fields a line of this format has.
    pub fn len(&self) -> usize {
        self.fields.len()
    }

    /// Whether the format has no fields (never true for a parsed format).
    pub fn is_empty(&self) -> bool {
        self.fields.is_empty()
    }

    /// Names that are not documented fields (kept in `extra_fields`).
    pub fn unknown_fields(&self) -> impl Iterator<Item = &str> {
        self.fields
            .iter()
            .map(String::as_str)
            .filter(|n| field_index(n).is_none())
    }

    /// A format from already-split names; rejects an empty list and duplicates.
    pub(crate) fn from_names<'a>(
        names: impl IntoIterator<Item = &'a str>,
    ) -> Result<FlowFormat, String> {
        let mut fields: Vec<String> = Vec::new();
        let mut seen = std::collections::HashSet::new();
        for name in names {
            if fields.len() == MAX_FIELDS {
                return Err(format!(
                    "more than {MAX_FIELDS} fields in flow-log format (AWS defines about 50)"
                ));
            }
            if !seen.insert(name) {
                return Err(format!("duplicate field {name:?} in flow-log format"));
            }
            fields.push(name.to_string());
        }
        if fields.is_empty() {
            return Err("empty flow-log format".to_string());
        }
        Ok(FlowFormat { fields })
    }

    /// The format a header line names. `tokens` must satisfy [`looks_like_header`].
    pub(crate) fn from_header(tokens: &[&[u8]]) -> Result<FlowFormat, String> {
        let names = tokens
            .iter()
            .map(|t| std::str::from_utf8(t).unwrap_or_default());
        Self::from_names(names).map_err(|e| format!("bad header line: {e}"))
    }
}

impl std::fmt::Display for FlowFormat {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        for (i, name) in self.fields.iter().enumerate() {
            if i > 0 {
                f.write_str(" ")?;
            }
            write!(f, "${{{name}}}")?;
        }
        Ok(())
    }
}

/// `[a-z][a-z0-9-]*`.
pub(crate) fn is_field_name(b: &[u8]) -> bool {
    match b.split_first() {
        Some((first, rest)) => {
            first.is_ascii_lowercase()
                && rest
                    .iter()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || *c == b'-')
        }
        None => false,
    }
}

/// Whether a line's tokens are a header: the first token is not a number and every token is a
/// field name. (A record's first field is usually `version` or `account-id`, both numeric.)
pub(crate) fn looks_like_header(tokens: &[&[u8]]) -> bool {
    match tokens.first() {
        Some(first) if !first.iter().all(u8::is_ascii_digit) => {
            tokens.iter().all(|t| is_field_name(t))
        }
        _ => false,
    }
}

/// What a line position decodes into.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Slot {
    /// A string column (index into the string builders).
    Str { col: usize },
    /// An int32 column with its valid range.
    I32 { col: usize, min: i64, max: i64 },
    /// An int64 column with its valid range.
    I64 { col: usize, min: i64, max: i64 },
    /// `start` or `end`: an int64 column of epoch seconds; a value above
    /// [`MAX_EPOCH_SECONDS`] is read as milliseconds.
    Epoch { col: usize },
    /// An unknown field, kept in `extra_fields` (index into the extra-field names).
    Extra { idx: usize },
}

/// Largest `start`/`end` read as epoch seconds (the year 5138); a larger value is epoch
/// milliseconds, as some exporters write them (the rule flowlogs-reader applies too).
pub(crate) const MAX_EPOCH_SECONDS: i64 = 100_000_000_000;

/// Whether a field is an epoch time (`start`, `end`), seconds or milliseconds.
pub(crate) fn is_epoch(aws_name: &str) -> bool {
    matches!(aws_name, "start" | "end")
}

/// The valid range of an integer field.
pub(crate) fn int_range(aws_name: &str, ty: FlowType) -> (i64, i64) {
    match aws_name {
        "srcport" | "dstport" => (0, 65_535),
        "protocol" => (0, 255),
        _ if ty == FlowType::I32 => (0, i64::from(i32::MAX)),
        _ => (0, i64::MAX),
    }
}

/// How one format maps onto the lake columns.
#[derive(Debug, Clone)]
pub(crate) struct Plan {
    /// One slot per line position.
    pub slots: Vec<Slot>,
    /// For each FLOW_FIELDS index, the builder it is decoded into, if the format has it.
    pub columns: Vec<Option<Slot>>,
    /// `FLOW_FIELDS` index of each string builder.
    pub str_fields: Vec<usize>,
    /// `FLOW_FIELDS` index of each int32 builder.
    pub i32_fields: Vec<usize>,
    /// `FLOW_FIELDS` index of each int64 builder.
    pub i64_fields: Vec<usize>,
    /// Names of the unknown fields, in line order.
    pub extra_names: Vec<String>,
    /// Line position of `start`.
    pub start_pos: Option<usize>,
    /// String builder of `account-id`, if present.
    pub account_col: Option<usize>,
    /// String builder of `region`, if present.
    pub region_col: Option<usize>,
}

impl Plan {
    pub fn new(format: &FlowFormat) -> Plan {
        let mut plan = Plan {
            slots: Vec::with_capacity(format.len()),
            columns: vec![None; FLOW_FIELDS.len()],
            str_fields: Vec::new(),
            i32_fields: Vec::new(),
            i64_fields: Vec::new(),
            extra_names: Vec::new(),
            start_pos: None,
            account_col: None,
            region_col: None,
        };
        for (pos, name) in format.fields().iter().enumerate() {
            let slot = match field_index(name) {
                Some(fi) => {
                    let f = &FLOW_FIELDS[fi];
                    let slot = match f.ty {
                        FlowType::Str => {
                            plan.str_fields.push(fi);
                            Slot::Str {
                                col: plan.str_fields.len() - 1,
                            }
                        }
                        FlowType::I32 => {
                            plan.i32_fields.push(fi);
                            let (min, max) = int_range(f.aws_name, f.ty);
                            Slot::I32 {
                                col: plan.i32_fields.len() - 1,
                                min,
                                max,
                            }
                        }
                        FlowType::I64 if is_epoch(f.aws_name) => {
                            plan.i64_fields.push(fi);
                            Slot::Epoch {
                                col: plan.i64_fields.len() - 1,
                            }
                        }
                        FlowType::I64 => {
                            plan.i64_fields.push(fi);
                            let (min, max) = int_range(f.aws_name, f.ty);
                            Slot::I64 {
                                col: plan.i64_fields.len() - 1,
                                min,
                                max,
                            }
                        }
                    };
                    plan.columns[fi] = Some(slot);
                    match (f.aws_name, slot) {
                        ("start", _) => plan.start_pos = Some(pos),
                        ("account-id", Slot::Str { col }) => plan.account_col = Some(col),
                        ("region", Slot::Str { col }) => plan.region_col = Some(col),
                        _ => {}
                    }
                    slot
                }
                None => {
                    plan.extra_names.push(name.clone());
                    Slot::Extra {
                        idx: plan.extra_names.len() - 1,
                    }
                }
            };
            plan.slots.push(slot);
        }
        plan
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_format_strings_and_plain_lists() {
        let cases: &[(&str, Result<&[&str], &str>)] = &[
            (
                "${version} ${account-id} ${srcport}",
                Ok(&["version", "account-id", "srcport"]),
            ),
            (
                "version account-id  srcport\t",
                Ok(&["version", "account-id", "srcport"]),
            ),
            (
                "${ecs-task-id} ${future-field-2}",
                Ok(&["ecs-task-id", "future-field-2"]),
            ),
            ("", Err("empty flow-log format")),
            ("   ", Err("empty flow-log format")),
            (
                "${version} ${version}",
                Err("duplicate field \"version\" in flow-log format"),
            ),
            (
                "${version",
                Err("unterminated field reference \"${version\""),
            ),
            ("Version", Err("invalid field name \"Version\"")),
            ("${1abc}", Err("invalid field name \"1abc\"")),
        ];
        for (input, want) in cases {
            let got = FlowFormat::parse(input);
            match want {
                Ok(names) => {
                    let f = got.map_err(|e| format!("{input:?}: {e}"));
                    assert_eq!(
                        f.as_ref().map(|f| f.fields().to_vec()),
                        Ok(names.iter().map(|s| s.to_string()).collect()),
                        "{input:?}"
                    );
                }
                Err(reason) => assert_eq!(got, Err(reason.to_string()), "{input:?}"),
            }
        }
    }

    #[test]
    fn default_v2_round_trips_through_display() {
        let v2 = FlowFormat::default_v2();
        assert_eq!(v2.len(), 14);
        assert_eq!(FlowFormat::parse(&v2.to_string()), Ok(v2));
    }

    #[test]
    fn a_header_with_thousands_of_fields_is_refused_quickly() {
        let names: Vec<String> = (0..200_000).map(|i| format!("f{i}")).collect();
        let err = FlowFormat::from_names(names.iter().map(String::as_str));
        assert!(err.is_err_and(|e| e.contains("more than 512 fields")));
        let ok: Vec<String> = (0..MAX_FIELDS).map(|i| format!("f{i}")).collect();
        assert_eq!(
            FlowFormat::from_names(ok.iter().map(String::as_str)).map(|f| f.len()),
            Ok(MAX_FIELDS)
        );
    }

    #[test]
    fn header_detection_table() {
        let cases: &[(&str, bool)] = &[
            ("version account-id interface-id", true),
            ("account-id version", true),
            ("future-thing srcaddr", true),
            ("2 123456789012 eni-1 10.0.0.1", false),
            ("123456789012 eni-1", false),
            ("eni-1 10.0.0.1", false),
            ("version Account", false),
            ("version account_id", false),
            ("", false),
        ];
        for (line, want) in cases {
            let toks: Vec<&[u8]> = line.split_ascii_whitespace().map(str::as_bytes).collect();
            assert_eq!(looks_like_header(&toks), *want, "{line:?}");
        }
    }

    #[test]
    fn plan_maps_fields_in_any_order_and_keeps_unknown_ones() -> Result<(), String> {
        let f = FlowFormat::parse("region srcport future-x start account-id bytes")?;
        let p = Plan::new(&f);
        assert_eq!(p.extra_names, vec!["future-x".to_string()]);
        assert_eq!(p.start_pos, Some(3));
        assert_eq!(
            p.slots[1],
            Slot::I32 {
                col: 0,
                min: 0,
                max: 65_535
            }
        );
        assert_eq!(p.slots[2], Slot::Extra { idx: 0 });
        assert_eq!(p.region_col, Some(0));
        assert_eq!(p.account_col, Some(1));
        assert!(p.columns[field_index("vpc-id").unwrap_or(0)].is_none());
        Ok(())
    }
}
