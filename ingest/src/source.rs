//! Sources (in progress).
