//! One flow-log line: splitting it into fields, parsing integers by hand (no `str` round trip)
//! and checking each field against its slot, with a reason that names the field when it fails.

use super::format::{MAX_EPOCH_SECONDS, Slot};

/// Field separators: AWS writes single spaces; runs of spaces and tabs are accepted.
#[inline]
fn is_sep(b: u8) -> bool {
    b == b' ' || b == b'\t'
}

/// Strip a trailing `\r` (CRLF input).
#[inline]
pub(crate) fn strip_cr(line: &[u8]) -> &[u8] {
    match line.split_last() {
        Some((b'\r', rest)) => rest,
        _ => line,
    }
}

/// Split `line` into field spans (`start..end` byte offsets), reusing `out`.
///
/// Eight bytes at a time: a word's separator bytes become an 8-bit mask and only the
/// separator/field transitions in it are visited, so the cost is per field, not per byte.
#[inline]
pub(crate) fn split_fields(line: &[u8], out: &mut Vec<(u32, u32)>) {
    out.clear();
    let mut prev_sep = true; // a virtual separator before the line
    let mut start = 0u32;
    let mut base = 0u32;
    let mut words = line.chunks_exact(8);
    for w in &mut words {
        let mut word = [0u8; 8];
        word.copy_from_slice(w);
        let seps = sep_mask(u64::from_le_bytes(word));
        // Bit i set where byte i differs from byte i-1 in being a separator.
        let mut trans = (seps ^ ((seps << 1) | u32::from(prev_sep))) & 0xff;
        while trans != 0 {
            let i = trans.trailing_zeros();
            if (seps >> i) & 1 == 1 {
                out.push((start, base + i));
            } else {
                start = base + i;
            }
            trans &= trans - 1;
        }
        prev_sep = (seps >> 7) & 1 == 1;
        base += 8;
    }
    for (i, &b) in words.remainder().iter().enumerate() {
        let pos = base + i as u32;
        let sep = is_sep(b);
        if sep && !prev_sep {
            out.push((start, pos));
        } else if !sep && prev_sep {
            start = pos;
        }
        prev_sep = sep;
    }
    if !prev_sep {
        out.push((start, line.len() as u32));
    }
}

/// Bit i set when byte i of `w` (little-endian) is a space or a tab.
#[inline]
fn sep_mask(w: u64) -> u32 {
    const LO7: u64 = 0x7f7f_7f7f_7f7f_7f7f;
    // High bit of each byte that is zero (exact: no borrow between bytes).
    let zero = |v: u64| !(((v & LO7) + LO7) | v | LO7);
    let hi = zero(w ^ 0x2020_2020_2020_2020) | zero(w ^ 0x0909_0909_0909_0909);
    // Gather the eight high bits into the top byte.
    ((hi >> 7).wrapping_mul(0x0102_0408_1020_4080) >> 56) as u32
}

/// Why an integer field did not parse.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum IntError {
    /// Not an optionally negative run of ASCII digits.
    Invalid,
    /// Digits, but outside the field's range (or i64).
    OutOfRange,
}

/// Parse an optionally negative decimal integer from ASCII digits.
#[inline]
pub(crate) fn parse_i64(b: &[u8]) -> Result<i64, IntError> {
    let (neg, digits) = match b.split_first() {
        Some((b'-', rest)) => (true, rest),
        _ => (false, b),
    };
    if digits.is_empty() {
        return Err(IntError::Invalid);
    }
    if digits.len() <= 18 {
        // Up to 18 digits cannot overflow an i64.
        let mut v: i64 = 0;
        for &c in digits {
            let d = c.wrapping_sub(b'0');
            if d > 9 {
                return Err(IntError::Invalid);
            }
            v = v * 10 + i64::from(d);
        }
        return Ok(if neg { -v } else { v });
    }
    if !digits.iter().all(u8::is_ascii_digit) {
        return Err(IntError::Invalid);
    }
    let mut v: i64 = 0;
    for &c in digits {
        let d = i64::from(c - b'0');
        v = v
            .checked_mul(10)
            .and_then(|v| {
                if neg {
                    v.checked_sub(d)
                } else {
                    v.checked_add(d)
                }
            })
            .ok_or(IntError::OutOfRange)?;
    }
    Ok(v)
}

/// One parsed field, before it is appended to the builders.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Cell {
    /// `-`.
    Null,
    /// An integer within the field's range (for `start`/`end`: epoch seconds).
    Int(i64),
    /// A `start`/`end` given in epoch milliseconds.
    Millis(i64),
    /// A string field's byte span in the line.
    Str(u32, u32),
}

/// Parse the field `raw` (at span `span`) for `slot`. `check_utf8` is false when the caller
/// already knows the input is ASCII. On failure returns a reason naming the field.
#[inline]
pub(crate) fn parse_cell(
    slot: Slot,
    raw: &[u8],
    span: (u32, u32),
    check_utf8: bool,
    name: impl FnOnce() -> String,
) -> Result<Cell, String> {
    if raw == b"-" {
        return Ok(Cell::Null);
    }
    let (min, max) = match slot {
        Slot::Str { .. } | Slot::Extra { .. } => {
            if check_utf8 && std::str::from_utf8(raw).is_err() {
                return Err(format!(
                    "{}: invalid UTF-8 {:?}",
                    name(),
                    String::from_utf8_lossy(raw)
                ));
            }
            return Ok(Cell::Str(span.0, span.1));
        }
        Slot::I32 { min, max, .. } | Slot::I64 { min, max, .. } => (min, max),
        Slot::Epoch { .. } => (0, i64::MAX),
    };
    match parse_i64(raw) {
        Ok(v) if matches!(slot, Slot::Epoch { .. }) && v > MAX_EPOCH_SECONDS => Ok(Cell::Millis(v)),
        Ok(v) if v >= min && v <= max => Ok(Cell::Int(v)),
        Ok(_) | Err(IntError::OutOfRange) => Err(format!(
            "{}: {} out of range {min}..={max}",
            name(),
            String::from_utf8_lossy(raw)
        )),
        Err(IntError::Invalid) => Err(format!(
            "{}: invalid integer {:?}",
            name(),
            String::from_utf8_lossy(raw)
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn split(s: &str) -> Vec<&str> {
        let mut spans = Vec::new();
        split_fields(s.as_bytes(), &mut spans);
        spans
            .iter()
            .map(|&(a, b)| &s[a as usize..b as usize])
            .collect()
    }

    #[test]
    fn splits_on_runs_of_spaces_and_tabs() {
        let cases: &[(&str, &[&str])] = &[
            ("a b c", &["a", "b", "c"]),
            ("  a  b\t\tc  ", &["a", "b", "c"]),
            ("", &[]),
            (" \t ", &[]),
            ("single", &["single"]),
            (
                "a234567 b234567 c2345678",
                &["a234567", "b234567", "c2345678"],
            ),
            (
                "abcdefgh\tabcdefgh        x",
                &["abcdefgh", "abcdefgh", "x"],
            ),
            ("        12345678", &["12345678"]),
        ];
        for (line, want) in cases {
            assert_eq!(split(line), *want, "{line:?}");
        }
        assert_eq!(strip_cr(b"a b\r"), b"a b");
        assert_eq!(strip_cr(b"a b"), b"a b");
    }

    /// The obvious byte-at-a-time splitter, as the reference.
    fn split_reference(line: &[u8]) -> Vec<(u32, u32)> {
        let mut out = Vec::new();
        let mut i = 0;
        while i < line.len() {
            while i < line.len() && is_sep(line[i]) {
                i += 1;
            }
            let s = i;
            while i < line.len() && !is_sep(line[i]) {
                i += 1;
            }
            if i > s {
                out.push((s as u32, i as u32));
            }
        }
        out
    }

    proptest::proptest! {
        #[test]
        fn word_splitter_matches_the_reference(line in proptest::collection::vec(proptest::sample::select(vec![b' ', b'\t', b'a', b'-', 0x80, 0xe9, 0x09 ^ 0x80, 0x20 ^ 0x80, 0x21, 0x1f, 0x08, 0x0a]), 0..80)) {
            let mut got = Vec::new();
            split_fields(&line, &mut got);
            proptest::prop_assert_eq!(got, split_reference(&line));
        }
    }

    #[test]
    fn integer_parser_table() {
        let cases: &[(&str, Result<i64, IntError>)] = &[
            ("0", Ok(0)),
            ("443", Ok(443)),
            ("-7", Ok(-7)),
            ("000123", Ok(123)),
            ("9223372036854775807", Ok(i64::MAX)),
            ("-9223372036854775808", Ok(i64::MIN)),
            ("9223372036854775808", Err(IntError::OutOfRange)),
            ("99999999999999999999999", Err(IntError::OutOfRange)),
            ("", Err(IntError::Invalid)),
            ("-", Err(IntError::Invalid)),
            ("12a", Err(IntError::Invalid)),
            ("+1", Err(IntError::Invalid)),
            ("1.5", Err(IntError::Invalid)),
            ("1234567890123456789x", Err(IntError::Invalid)),
            (" 1", Err(IntError::Invalid)),
        ];
        for (s, want) in cases {
            assert_eq!(parse_i64(s.as_bytes()), *want, "{s:?}");
        }
    }

    #[test]
    fn cells_are_checked_against_their_slot() {
        let port = Slot::I32 {
            col: 0,
            min: 0,
            max: 65_535,
        };
        let bytes = Slot::I64 {
            col: 0,
            min: 0,
            max: i64::MAX,
        };
        let s = Slot::Str { col: 0 };
        let epoch = Slot::Epoch { col: 0 };
        let cases: &[(Slot, &[u8], Result<Cell, &str>)] = &[
            (port, b"443", Ok(Cell::Int(443))),
            (port, b"-", Ok(Cell::Null)),
            (port, b"abc", Err("f: invalid integer \"abc\"")),
            (port, b"70000", Err("f: 70000 out of range 0..=65535")),
            (port, b"-1", Err("f: -1 out of range 0..=65535")),
            (
                bytes,
                b"-5",
                Err("f: -5 out of range 0..=9223372036854775807"),
            ),
            (bytes, b"5", Ok(Cell::Int(5))),
            (epoch, b"1512564058", Ok(Cell::Int(1_512_564_058))),
            (epoch, b"100000000000", Ok(Cell::Int(100_000_000_000))),
            (epoch, b"1512564058000", Ok(Cell::Millis(1_512_564_058_000))),
            (
                epoch,
                b"-1",
                Err("f: -1 out of range 0..=9223372036854775807"),
            ),
            (s, b"-", Ok(Cell::Null)),
            (s, b"ACCEPT", Ok(Cell::Str(3, 9))),
            (s, b"caf\xc3\xa9", Ok(Cell::Str(3, 9))),
            (s, b"bad\xff", Err("f: invalid UTF-8 \"bad\u{fffd}\"")),
        ];
        for (slot, raw, want) in cases {
            let got = parse_cell(*slot, raw, (3, 9), true, || "f".to_string());
            assert_eq!(
                got,
                want.map_err(str::to_string),
                "{:?}",
                String::from_utf8_lossy(raw)
            );
        }
    }
}
