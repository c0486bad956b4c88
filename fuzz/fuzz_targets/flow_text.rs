//! Fuzz target: the flow-log header and line decoder (`flowtrail_ingest::fuzz::flow_text`).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| flowtrail_ingest::fuzz::flow_text(data));
