//! The bench generator's shape options: records per object, a grid fleet of accounts ×
//! regions, one format everywhere (v2 or the 40-field custom format), the hours spanned, and
//! CloudTrail events per document.

#![allow(clippy::unwrap_used)]

use std::collections::BTreeSet;
use std::fs;
use std::io::Read;
use std::path::{Path, PathBuf};

use flate2::read::MultiGzDecoder;
use flowtrail_sample::bench::{BenchFleet, BenchFormat, WIDE40_FIELDS};
use flowtrail_sample::{BenchSpec, DEFAULT_HEADER, write_bench};

struct TempDir(PathBuf);

impl TempDir {
    fn new(name: &str) -> Self {
        let p = std::env::temp_dir().join(format!("flowtrail-bench-{name}-{}", std::process::id()));
        let _ = fs::remove_dir_all(&p);
        Self(p)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.0);
    }
}

fn files(dir: &Path, out: &mut Vec<PathBuf>) {
    for e in fs::read_dir(dir).into_iter().flatten().flatten() {
        let p = e.path();
        if p.is_dir() {
            files(&p, out);
        } else {
            out.push(p);
        }
    }
}

fn gunzip(p: &Path) -> String {
    let mut s = String::new();
    MultiGzDecoder::new(fs::File::open(p).unwrap())
        .read_to_string(&mut s)
        .unwrap();
    s
}

#[test]
fn grid_fleet_with_small_v2_objects() {
    let tmp = TempDir::new("grid");
    let spec = BenchSpec {
        flow_records: 9_000,
        trail_events: 0,
        records_per_object: 50,
        fleet: BenchFleet::Grid {
            accounts: 3,
            regions: 3,
        },
        format: BenchFormat::V2,
        ..BenchSpec::default()
    };
    let stats = write_bench(&tmp.0, spec).unwrap();
    assert_eq!(stats.flow_records, 9_000);
    assert_eq!(stats.trail_files, 0);
    let mut all = Vec::new();
    files(&tmp.0, &mut all);
    assert_eq!(all.len() as u64, stats.flow_files);
    // ~50 records an object (±10%, the last one shorter)
    assert!((170..=210).contains(&all.len()), "{} objects", all.len());
    let mut logs = BTreeSet::new();
    let mut records = 0;
    for p in &all {
        let key = p
            .strip_prefix(&tmp.0)
            .unwrap()
            .to_string_lossy()
            .to_string();
        let parts: Vec<&str> = key.split('/').collect();
        assert_eq!(parts[2], "vpcflowlogs", "{key}");
        logs.insert((parts[1].to_string(), parts[3].to_string()));
        let body = gunzip(p);
        let mut lines = body.lines();
        assert_eq!(lines.next(), Some(DEFAULT_HEADER));
        for l in lines {
            assert_eq!(l.split(' ').count(), 14, "{l}");
            records += 1;
        }
    }
    assert_eq!(records, 9_000);
    // every account × region has its flow log
    assert_eq!(logs.len(), 9, "{logs:?}");
}

#[test]
fn wide40_format_in_few_hours() {
    let tmp = TempDir::new("wide");
    let spec = BenchSpec {
        flow_records: 12_000,
        trail_events: 0,
        records_per_object: 1_000,
        fleet: BenchFleet::Grid {
            accounts: 1,
            regions: 1,
        },
        format: BenchFormat::Wide40,
        hours: Some(1),
        ..BenchSpec::default()
    };
    write_bench(&tmp.0, spec).unwrap();
    let mut all = Vec::new();
    files(&tmp.0, &mut all);
    let mut hours = BTreeSet::new();
    let mut ecs = 0;
    for p in &all {
        let name = p.file_name().unwrap().to_string_lossy().to_string();
        // ..._YYYYMMDDTHHmmZ_hash.log.gz
        let stamp = name.rsplit('_').nth(1).unwrap();
        hours.insert(stamp[..11].to_string());
        let body = gunzip(p);
        let mut lines = body.lines();
        let header: Vec<&str> = lines.next().unwrap().split(' ').collect();
        let mut sorted = header.clone();
        sorted.sort_unstable();
        let mut want = WIDE40_FIELDS.to_vec();
        want.sort_unstable();
        assert_eq!(sorted, want, "every v2-v8 field once");
        assert_ne!(
            header,
            WIDE40_FIELDS.to_vec(),
            "not in the documented order"
        );
        let ver = header.iter().position(|f| *f == "version").unwrap();
        let task = header.iter().position(|f| *f == "ecs-task-id").unwrap();
        for l in lines {
            let v: Vec<&str> = l.split(' ').collect();
            assert_eq!(v.len(), 40, "{l}");
            assert_eq!(v[ver], "8");
            ecs += usize::from(v[task] != "-");
        }
    }
    assert_eq!(hours.len(), 1, "{hours:?}");
    assert!(ecs > 0, "the app tier carries ECS fields");
}

#[test]
fn cloudtrail_events_per_document() {
    let tmp = TempDir::new("trail");
    let spec = BenchSpec {
        flow_records: 0,
        trail_events: 2_000,
        events_per_file: Some(40),
        ..BenchSpec::default()
    };
    let stats = write_bench(&tmp.0, spec).unwrap();
    assert_eq!(stats.trail_events, 2_000);
    assert_eq!(stats.flow_files, 0);
    let mut all = Vec::new();
    files(&tmp.0, &mut all);
    assert_eq!(all.len() as u64, stats.trail_files);
    assert!((40..=70).contains(&all.len()), "{} documents", all.len());
    let mut events = 0;
    for p in &all {
        let doc: serde_json::Value = serde_json::from_str(&gunzip(p)).unwrap();
        let n = doc["Records"].as_array().unwrap().len();
        assert!(n <= 50, "{n} events");
        events += n;
    }
    assert_eq!(events, 2_000);
}

/// `--shuffle-records`: the same objects under the same keys with the same records, in
/// another order.
#[test]
fn shuffled_records_are_the_same_records() {
    let (plain, mixed) = (TempDir::new("plain"), TempDir::new("shuffled"));
    let spec = BenchSpec {
        flow_records: 6_000,
        trail_events: 0,
        records_per_object: 500,
        format: BenchFormat::V2,
        ..BenchSpec::default()
    };
    write_bench(&plain.0, spec).unwrap();
    write_bench(
        &mixed.0,
        BenchSpec {
            shuffle_records: true,
            ..spec
        },
    )
    .unwrap();
    let (mut a, mut b) = (Vec::new(), Vec::new());
    files(&plain.0, &mut a);
    files(&mixed.0, &mut b);
    let rel = |root: &Path, v: &[PathBuf]| -> Vec<PathBuf> {
        let mut v: Vec<PathBuf> = v
            .iter()
            .map(|p| p.strip_prefix(root).unwrap().to_path_buf())
            .collect();
        v.sort();
        v
    };
    assert_eq!(rel(&plain.0, &a), rel(&mixed.0, &b), "the same keys");
    let mut reordered = 0;
    for k in rel(&plain.0, &a) {
        let (x, y) = (gunzip(&plain.0.join(&k)), gunzip(&mixed.0.join(&k)));
        let (mut xs, mut ys): (Vec<&str>, Vec<&str>) = (x.lines().collect(), y.lines().collect());
        assert_eq!(xs.first(), ys.first(), "the header stays first");
        if xs != ys {
            reordered += 1;
        }
        xs.sort_unstable();
        ys.sort_unstable();
        assert_eq!(xs, ys, "the same records in {k:?}");
    }
    assert!(reordered > 0, "shuffled");
}
