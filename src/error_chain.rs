//! How the binary prints an error: the outermost message, then each cause once.
//!
//! anyhow's alternate form (`{:#}`) joins every message of the chain with `": "`. A cause that
//! an error both shows in its own message and returns from `source()` (a pattern of some
//! dependencies' errors) would then appear twice; here such a cause is printed only where it
//! first appears.

/// The error and its causes on one line, each cause once.
pub fn one_line(e: &anyhow::Error) -> String {
    join(e.chain().map(ToString::to_string))
}

fn join(messages: impl Iterator<Item = String>) -> String {
    let mut out = String::new();
    for m in messages {
        let m = m.trim();
        if m.is_empty() || out.ends_with(m) {
            continue;
        }
        if !out.is_empty() {
            out.push_str(": ");
        }
        out.push_str(m);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An error that shows its cause and also returns it from `source()`.
    #[derive(Debug)]
    struct ShowsAndReturns {
        path: String,
        source: std::io::Error,
    }

    impl std::fmt::Display for ShowsAndReturns {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            write!(f, "{}: {}", self.path, self.source)
        }
    }

    impl std::error::Error for ShowsAndReturns {
        fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
            Some(&self.source)
        }
    }

    fn not_found() -> std::io::Error {
        std::io::Error::from(std::io::ErrorKind::NotFound)
    }

    #[test]
    fn a_cause_shown_by_its_error_is_printed_once() {
        let e = anyhow::Error::new(ShowsAndReturns {
            path: "lake".into(),
            source: not_found(),
        })
        .context("opening the lake");
        let text = one_line(&e);
        let cause = not_found().to_string();
        assert_eq!(text.matches(&cause).count(), 1, "{text}");
        assert_eq!(text, format!("opening the lake: lake: {cause}"));
    }

    #[test]
    fn distinct_causes_are_all_printed_in_order() {
        let e = anyhow::Error::new(not_found())
            .context("reading x")
            .context("listing y");
        assert_eq!(
            one_line(&e),
            format!("listing y: reading x: {}", not_found())
        );
    }

    #[test]
    fn empty_messages_add_no_separator() {
        assert_eq!(
            join(["a".to_string(), String::new(), "b".to_string()].into_iter()),
            "a: b"
        );
    }
}
