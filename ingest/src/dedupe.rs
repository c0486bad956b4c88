//! CloudTrail eventID dedupe (in progress).
