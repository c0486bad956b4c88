//! Replay pipeline (in progress).
