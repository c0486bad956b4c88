//! CloudTrail decoder (in progress).
