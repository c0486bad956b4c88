//! Cost of closing an hour in the flow baselines and the behaviour detectors as the fleet
//! grows: 250, 1,000 and 4,000 warm entities (instances in subnets of 50), each with 24 records an hour to 6 public
//! networks it knows and one it does not (a small transfer on 443, no finding) and a few
//! private peers.
//!
//! What it guards: judging an entity against its peer group must cost the group's size, not
//! the fleet's. A close that scans every profile for every entity (and for every external
//! peer of every entity) grows with the square of the fleet.
//!
//! `cargo bench -p flowtrail-detect --bench fleet`

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;
use std::time::{Duration, Instant};

use arrow::array::new_null_array;
use arrow::array::{ArrayRef, Int32Array, Int64Array, StringArray, TimestampMillisecondArray};
use arrow::record_batch::RecordBatch;
use criterion::{Criterion, criterion_group, criterion_main};
use flowtrail_core::schema::flows::flows_schema;
use flowtrail_detect::baseline::{BaselineOptions, FlowBaselines};
use flowtrail_detect::behaviour::{Behaviour, BehaviourOptions};

const HOUR_MS: i64 = 3_600_000;
const T0: i64 = 1_767_225_600_000; // 2026-01-01T00:00Z

/// One entity's records of hour `h`.
struct Row {
    inst: String,
    subnet: String,
    src: String,
    dst: String,
    sport: i32,
    dport: i32,
    bytes: i64,
    t: i64,
}

fn rows_of(entities: usize, h: i64) -> Vec<Row> {
    let mut out = Vec::with_capacity(entities * 24);
    for e in 0..entities {
        let (inst, subnet) = (format!("i-{e:017x}"), format!("subnet-{:08x}", e / 50));
        let me = format!("10.{}.{}.{}", e / 50 % 250, e % 50, 10);
        let t = T0 + h * HOUR_MS + (e as i64 % 3_000) * 1_000;
        let mut push = |dst: String, dport: i32, bytes: i64| {
            out.push(Row {
                inst: inst.clone(),
                subnet: subnet.clone(),
                src: me.clone(),
                dst,
                sport: 40_000 + (out.len() % 20_000) as i32,
                dport,
                bytes,
                t,
            })
        };
        for k in 0..6 {
            for _ in 0..3 {
                push(
                    format!("{}.{}.7.9", 52 + k, e % 200),
                    443,
                    20_000 + e as i64 * 10,
                );
            }
        }
        // A network it never reached before, small and on a known port: judged, not alerted.
        push(format!("198.{}.{}.1", h % 250, e % 250), 443, 5_000);
        for k in 0..5 {
            push(
                format!("10.{}.{}.20", e / 50 % 250, (e + k) % 50),
                5432,
                4_000,
            );
        }
    }
    out
}

fn batch(rows: &[Row]) -> RecordBatch {
    let schema = flows_schema();
    let s = |f: &dyn Fn(&Row) -> String| -> ArrayRef {
        Arc::new(StringArray::from_iter_values(rows.iter().map(f)))
    };
    let cols: Vec<ArrayRef> = schema
        .fields()
        .iter()
        .map(|f| match f.name().as_str() {
            "interface_id" => s(&|r| format!("eni-{}", &r.inst[2..])),
            "instance_id" => s(&|r| r.inst.clone()),
            "subnet_id" => s(&|r| r.subnet.clone()),
            "srcaddr" => s(&|r| r.src.clone()),
            "dstaddr" => s(&|r| r.dst.clone()),
            "action" => s(&|_| "ACCEPT".into()),
            "flow_direction" => s(&|_| "egress".into()),
            "account_id" => s(&|_| "111122223333".into()),
            "region" => s(&|_| "us-east-1".into()),
            "source_key" => s(&|_| "bench".into()),
            "srcport" => Arc::new(Int32Array::from_iter_values(rows.iter().map(|r| r.sport))),
            "dstport" => Arc::new(Int32Array::from_iter_values(rows.iter().map(|r| r.dport))),
            "protocol" => Arc::new(Int32Array::from_iter_values(rows.iter().map(|_| 6))),
            "bytes" => Arc::new(Int64Array::from_iter_values(rows.iter().map(|r| r.bytes))),
            "packets" => Arc::new(Int64Array::from_iter_values(rows.iter().map(|_| 10))),
            "event_time" => Arc::new(
                TimestampMillisecondArray::from_iter_values(rows.iter().map(|r| r.t))
                    .with_timezone("UTC"),
            ),
            _ => new_null_array(f.data_type(), rows.len()),
        })
        .collect();
    RecordBatch::try_new(schema, cols).unwrap()
}

/// Baselines with `entities` warm entities (26 hours learned) and the hours to judge next.
fn warmed(entities: usize) -> (FlowBaselines, Vec<Vec<RecordBatch>>) {
    let mut b = FlowBaselines::new(BaselineOptions::default());
    for h in 0..26 {
        b.close_hour(T0 + h * HOUR_MS, &[batch(&rows_of(entities, h))])
            .unwrap();
    }
    let next = (26..34)
        .map(|h| vec![batch(&rows_of(entities, h))])
        .collect();
    (b, next)
}

/// Fleet sizes: 250, 1,000 and 4,000 instances; 50 and 200 when run as a test (`cargo test
/// --benches` runs each benchmark once, in a debug build, without `--bench`).
fn sizes() -> &'static [usize] {
    if std::env::args().any(|a| a == "--bench") {
        &[250, 1_000, 4_000]
    } else {
        &[50, 200]
    }
}

/// Close the next `iters` hours of `hours` with `close` (which returns the findings raised):
/// the time spent closing, and the findings.
fn time_closes(
    iters: u64,
    next: &mut i64,
    hours: &[Vec<RecordBatch>],
    close: &mut impl FnMut(i64, &[RecordBatch]) -> usize,
) -> (Duration, usize) {
    let (mut spent, mut findings) = (Duration::ZERO, 0);
    for _ in 0..iters {
        let batches = &hours[(*next as usize - 26) % hours.len()];
        let t = Instant::now();
        findings += close(T0 + *next * HOUR_MS, batches);
        spent += t.elapsed();
        *next += 1;
    }
    (spent, findings)
}

fn bench(c: &mut Criterion) {
    let mut g = c.benchmark_group("baselines_close_hour");
    g.sample_size(10).measurement_time(Duration::from_secs(10));
    for &entities in sizes() {
        let (mut b, hours) = warmed(entities);
        let mut close = |t: i64, batches: &[RecordBatch]| b.close_hour(t, batches).unwrap().len();
        let mut h = 26i64;
        g.bench_function(format!("{entities}_entities"), |bn| {
            bn.iter_custom(|iters| {
                let (spent, findings) = time_closes(iters, &mut h, &hours, &mut close);
                assert_eq!(findings, 0, "benign hours raised findings");
                spent
            })
        });
    }
    g.finish();
}

/// The behaviour detectors after 26 hours learned: their time must grow with the fleet too.
fn bench_behaviour(c: &mut Criterion) {
    let mut g = c.benchmark_group("behaviour_close_hour");
    g.sample_size(10).measurement_time(Duration::from_secs(10));
    for &entities in sizes() {
        let mut b = Behaviour::new(BehaviourOptions::default()).unwrap();
        for h in 0..26 {
            b.close_hour(T0 + h * HOUR_MS, &[batch(&rows_of(entities, h))])
                .unwrap();
        }
        let hours: Vec<Vec<RecordBatch>> = (26..34)
            .map(|h| vec![batch(&rows_of(entities, h))])
            .collect();
        let mut close = |t: i64, batches: &[RecordBatch]| b.close_hour(t, batches).unwrap().len();
        let mut h = 26i64;
        g.bench_function(format!("{entities}_entities"), |bn| {
            bn.iter_custom(|iters| time_closes(iters, &mut h, &hours, &mut close).0)
        });
    }
    g.finish();
}

criterion_group!(benches, bench, bench_behaviour);
criterion_main!(benches);
