//! The committed sample matches the generator, and its keys and labels are consistent.

use std::collections::BTreeMap;
use std::fs;
use std::io::Read;
use std::path::{Path, PathBuf};

use flate2::read::MultiGzDecoder;

fn committed() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).to_path_buf()
}

/// Relative path → bytes, for every file under `root`.
fn tree(root: &Path) -> BTreeMap<String, Vec<u8>> {
    fn walk(root: &Path, dir: &Path, out: &mut BTreeMap<String, Vec<u8>>) {
        let Ok(entries) = fs::read_dir(dir) else {
            return;
        };
        for e in entries.flatten() {
            let p = e.path();
            if p.is_dir() {
                walk(root, &p, out);
            } else if let (Ok(rel), Ok(bytes)) = (p.strip_prefix(root), fs::read(&p)) {
                out.insert(rel.to_string_lossy().replace('\\', "/"), bytes);
            }
        }
    }
    let mut out = BTreeMap::new();
    walk(root, root, &mut out);
    out
}

fn gunzip(bytes: &[u8]) -> String {
    let mut s = String::new();
    MultiGzDecoder::new(bytes)
        .read_to_string(&mut s)
        .unwrap_or_default();
    s
}

struct TempDir(PathBuf);

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.0);
    }
}

#[test]
fn regenerating_the_sample_gives_the_committed_bytes() {
    let tmp =
        TempDir(std::env::temp_dir().join(format!("flowtrail-sample-{}", std::process::id())));
    flowtrail_sample::write_sample(&tmp.0).unwrap_or_else(|e| panic!("generate: {e}"));
    for sub in ["aws", "scenarios"] {
        let fresh = tree(&tmp.0.join(sub));
        let old = tree(&committed().join(sub));
        assert!(
            !old.is_empty(),
            "no committed {sub}/: run `cargo run -p flowtrail-sample -- sample --out sample-data`"
        );
        let fresh_keys: Vec<&String> = fresh.keys().collect();
        let old_keys: Vec<&String> = old.keys().collect();
        assert_eq!(
            fresh_keys.len(),
            old_keys.len(),
            "{sub}: file count drifted"
        );
        assert!(fresh_keys == old_keys, "{sub}: file names drifted");
        for (k, bytes) in &fresh {
            let before = &old[k];
            if bytes != before {
                let content_same = k.ends_with(".gz") && gunzip(bytes) == gunzip(before);
                panic!(
                    "{sub}/{k} drifted ({}); regenerate with `cargo run -p flowtrail-sample -- sample --out sample-data` if intended",
                    if content_same {
                        "same content, different compression: flate2/zlib-rs changed"
                    } else {
                        "content differs"
                    }
                );
            }
        }
    }
}

#[test]
fn every_committed_key_is_in_an_aws_layout() {
    let files = tree(&committed().join("aws"));
    let (mut flow, mut trail, mut digest, mut hive, mut hourly, mut org) = (0, 0, 0, 0, 0, 0);
    for key in files.keys() {
        let segs: Vec<&str> = key.split('/').collect();
        assert_eq!(segs[0], "AWSLogs", "{key}");
        let file = segs[segs.len() - 1];
        if segs[1].starts_with("aws-account-id=") {
            // AWSLogs/aws-account-id=A/aws-service=vpcflowlogs/aws-region=R/year=/month=/day=/hour=/file
            assert_eq!(segs.len(), 9, "{key}");
            let acct = &segs[1]["aws-account-id=".len()..];
            let region = segs[3].strip_prefix("aws-region=").unwrap_or("?");
            assert_eq!(segs[2], "aws-service=vpcflowlogs");
            let ymdh: Vec<&str> = segs[4..8]
                .iter()
                .map(|s| s.split('=').nth(1).unwrap_or(""))
                .collect();
            assert!(
                file.starts_with(&format!("{acct}_vpcflowlogs_{region}_fl-0")),
                "{key}"
            );
            assert!(
                file.contains(&format!("_{}{}{}T{}", ymdh[0], ymdh[1], ymdh[2], ymdh[3])),
                "{key}"
            );
            assert!(file.ends_with(".log.gz"));
            hive += 1;
            flow += 1;
            continue;
        }
        let rest = if segs[1].starts_with("o-") {
            org += 1;
            &segs[2..]
        } else {
            &segs[1..]
        };
        let (acct, service, region) = (rest[0], rest[1], rest[2]);
        assert_eq!(acct.len(), 12, "{key}");
        assert!(acct.bytes().all(|b| b.is_ascii_digit()), "{key}");
        let date = format!("{}{}{}", rest[3], rest[4], rest[5]);
        assert!(
            file.starts_with(&format!("{acct}_{service}_{region}_")),
            "{key}"
        );
        assert!(file.contains(&format!("_{date}T")), "{key}");
        match service {
            "vpcflowlogs" => {
                flow += 1;
                if rest.len() == 8 {
                    hourly += 1;
                    assert!(file.contains(&format!("_{date}T{}", rest[6])), "{key}");
                } else {
                    assert_eq!(rest.len(), 7, "{key}");
                }
                assert!(file.ends_with(".log.gz"));
                let parts: Vec<&str> = file.trim_end_matches(".log.gz").split('_').collect();
                assert_eq!(parts.len(), 6, "{key}");
                assert_eq!(parts[5].len(), 8, "{key}");
            }
            "CloudTrail" => {
                trail += 1;
                let parts: Vec<&str> = file.trim_end_matches(".json.gz").split('_').collect();
                assert_eq!(parts.len(), 5, "{key}");
                assert_eq!(parts[3].len(), "20260108T1005Z".len(), "{key}");
                assert_eq!(parts[4].len(), 16, "{key}");
            }
            "CloudTrail-Digest" => digest += 1,
            other => panic!("unexpected service {other} in {key}"),
        }
    }
    assert!(flow > 1000 && trail > 100 && digest >= 1 && hive > 100 && hourly > 100 && org > 10);
}

#[test]
fn labels_point_at_real_data() {
    let root = committed();
    let labels: serde_json::Value = serde_json::from_str(
        &fs::read_to_string(root.join("scenarios/labels.json")).unwrap_or_default(),
    )
    .unwrap_or_default();
    let detectors: Vec<&str> = labels["labels"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|l| l["detector"].as_str())
        .collect();
    for d in [
        "port_scan",
        "ssh_brute_force",
        "volume_spike",
        "new_peer",
        "security_group_change",
        "cloudtrail_tampering",
        "flow_logs_deleted",
        "root_activity",
        "console_login_no_mfa",
        "api_recon",
        "access_key_created",
    ] {
        assert!(detectors.contains(&d), "no label for {d}");
    }
    // the quarantine object has its bad lines where labels.json says
    let q = &labels["quarantine_expected"][0];
    let text = gunzip(
        &fs::read(root.join("aws").join(q["object"].as_str().unwrap_or("-"))).unwrap_or_default(),
    );
    let lines: Vec<&str> = text.lines().collect();
    let header_fields = lines[0].split(' ').count();
    for d in q["details"].as_array().into_iter().flatten() {
        let n = d["line"].as_u64().unwrap_or(0) as usize;
        assert_eq!(lines[n - 1], d["text"].as_str().unwrap_or(""));
    }
    let bad = lines.iter().skip(1).filter(|l| {
        let f: Vec<&str> = l.split(' ').collect();
        f.len() != header_fields || f[5].parse::<u32>().is_err() && f[5] != "-"
    });
    assert_eq!(bad.count(), 2);
    // duplicated events appear in both objects
    for d in labels["duplicate_event_ids"]
        .as_array()
        .into_iter()
        .flatten()
    {
        let id = d["event_id"].as_str().unwrap_or("-");
        for o in d["objects"].as_array().into_iter().flatten() {
            let doc = gunzip(
                &fs::read(root.join("aws").join(o.as_str().unwrap_or("-"))).unwrap_or_default(),
            );
            assert!(doc.contains(id), "{id} not in {o}");
        }
    }
}
