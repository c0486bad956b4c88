//! The JSON form of an alert on the wire: flowtrail's own (`native`, the default and the
//! contract of DESIGN.md) or an OCSF Detection Finding (`ocsf`, see [`crate::ocsf`]). The
//! JSONL file and SNS message bodies use it; the outbox and the lake keep the native form, so
//! the format can change without touching what is already queued or stored.

use std::fmt;
use std::str::FromStr;

use flowtrail_core::Alert;
use serde::Deserialize;

/// How alerts are written.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum AlertFormat {
    /// flowtrail's alert JSON.
    #[default]
    Native,
    /// OCSF Detection Finding (class 2004).
    Ocsf,
}

impl AlertFormat {
    /// The alert as one JSON document (no newline).
    pub fn render(self, a: &Alert) -> Result<String, serde_json::Error> {
        match self {
            AlertFormat::Native => serde_json::to_string(a),
            AlertFormat::Ocsf => serde_json::to_string(&crate::ocsf::detection_finding(a)),
        }
    }

    /// The name used on the command line and in the config file.
    pub fn as_str(self) -> &'static str {
        match self {
            AlertFormat::Native => "native",
            AlertFormat::Ocsf => "ocsf",
        }
    }
}

impl fmt::Display for AlertFormat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for AlertFormat {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "native" => Ok(AlertFormat::Native),
            "ocsf" => Ok(AlertFormat::Ocsf),
            _ => Err(format!(
                "unknown alerts format {s:?} (expected native or ocsf)"
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_parse_and_print_back() {
        for f in [AlertFormat::Native, AlertFormat::Ocsf] {
            assert_eq!(f.as_str().parse::<AlertFormat>(), Ok(f));
        }
        assert_eq!("OCSF".parse::<AlertFormat>(), Ok(AlertFormat::Ocsf));
        assert!("cef".parse::<AlertFormat>().is_err());
        assert_eq!(AlertFormat::default(), AlertFormat::Native);
    }
}
