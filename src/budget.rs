//! The process's memory budget (`--memory-mb`, `memory_mb` in the service's configuration) and
//! how it is shared: one number bounds the whole process, whatever the input's shape.
//!
//! | share | what |
//! |---|---|
//! | 1/4 | rows buffered for the next lake commit ([`Budget::lake_buffer_bytes`]) |
//! | 3/8 | `flows` rows detection holds until their hour is judged; past it they spill to disk ([`Budget::hold_mb`]) |
//! | 1/8 | decoded objects waiting for the writer ([`Budget::in_flight_bytes`]) |
//! | 1/4 | objects being decoded (one per worker), a commit's encoding (a row group per file), the rules' queries, baselines, the runtime |

/// Default budget, MiB.
pub const DEFAULT_MEMORY_MB: u64 = 1024;

/// A memory budget in MiB.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Budget {
    mb: u64,
}

impl Budget {
    /// A budget of `mb` MiB (at least 64).
    pub fn new(mb: u64) -> Self {
        Self { mb: mb.max(64) }
    }

    /// Bytes of rows the lake writer buffers before a commit is due.
    pub fn lake_buffer_bytes(self) -> usize {
        usize::try_from((self.mb << 20) / 4).unwrap_or(usize::MAX)
    }

    /// Bytes of decoded objects that may wait for the writer.
    pub fn in_flight_bytes(self) -> usize {
        usize::try_from((self.mb << 20) / 8).unwrap_or(usize::MAX)
    }

    /// MiB of `flows` rows detection holds in memory before spilling.
    pub fn hold_mb(self) -> u64 {
        self.mb * 3 / 8
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_shares_fit_in_the_budget() {
        let b = Budget::new(DEFAULT_MEMORY_MB);
        assert_eq!(b.lake_buffer_bytes(), 256 << 20);
        assert_eq!(b.hold_mb(), 384);
        assert_eq!(b.in_flight_bytes(), 128 << 20);
        let used = b.lake_buffer_bytes() as u64 + (b.hold_mb() << 20) + b.in_flight_bytes() as u64;
        assert!(used < DEFAULT_MEMORY_MB << 20);
        assert_eq!(
            Budget::new(1).hold_mb(),
            24,
            "a tiny budget is raised to 64 MiB"
        );
    }
}
