//! The fuzz smoke run of CI: every input of the fuzz targets' saved corpus
//! (`fuzz/corpus/<target>/`) and every crasher ever found (`fuzz/regressions/<target>/`) goes
//! through the target's body ([`flowtrail_ingest::fuzz`]), which checks the decoders' contract.
//! The long runs are `scripts/fuzz` (cargo-fuzz, libFuzzer).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::PathBuf;

fn inputs(target: &str) -> Vec<(PathBuf, Vec<u8>)> {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../fuzz");
    let mut out = Vec::new();
    for dir in ["corpus", "regressions"] {
        let d = root.join(dir).join(target);
        let Ok(rd) = std::fs::read_dir(&d) else {
            continue;
        };
        for e in rd {
            let p = e.unwrap().path();
            if p.is_file() {
                let bytes = std::fs::read(&p).unwrap();
                out.push((p, bytes));
            }
        }
    }
    out.sort();
    out
}

fn replay(target: &str, body: fn(&[u8])) {
    let inputs = inputs(target);
    assert!(
        inputs.len() >= 5,
        "the {target} corpus is in the repository: {} inputs",
        inputs.len()
    );
    for (path, bytes) in &inputs {
        let r = std::panic::catch_unwind(|| body(bytes));
        assert!(r.is_ok(), "{} fails the {target} target", path.display());
    }
}

#[test]
fn flow_text_corpus_and_crashers() {
    replay("flow_text", flowtrail_ingest::fuzz::flow_text);
}

#[test]
fn cloudtrail_corpus_and_crashers() {
    replay("cloudtrail", flowtrail_ingest::fuzz::cloudtrail);
}
