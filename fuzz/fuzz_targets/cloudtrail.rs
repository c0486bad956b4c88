//! Fuzz target: the CloudTrail document decoder (`flowtrail_ingest::fuzz::cloudtrail`).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| flowtrail_ingest::fuzz::cloudtrail(data));
