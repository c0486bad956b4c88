//! Lake writer (in progress).
