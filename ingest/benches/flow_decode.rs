//! Throughput of the flow-log text decoder on gzip objects: ~200k realistic default-format (v2)
//! records, and the same count in a 24-field custom (v5) format with a header in another order.
//!
//! Two baselines split the v2 figure: inflating the same object alone, and decoding its text
//! uncompressed. A third group decodes many small objects (50 records each, as a busy account's
//! five-minute files are) and first prints the bytes their batches hold while buffered.
//!
//! `cargo bench -p flowtrail-ingest --bench flow_decode`

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::hint::black_box;
use std::io::Write;

use arrow::record_batch::RecordBatch;
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use flate2::Compression;
use flate2::write::GzEncoder;
use flowtrail_core::nulls::batch_memory_size;
use flowtrail_ingest::IngestError;
use flowtrail_ingest::compress::ObjectReader;
use flowtrail_ingest::decode::flow::{FlowDecodeOptions, decode_flow_text};
use flowtrail_ingest::sink::DecodeSink;
use flowtrail_lake::quarantine::QuarantineRecord;

const RECORDS: usize = 200_000;

/// Deterministic xorshift64.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.0 = x;
        x
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

/// Counts rows, drops batches.
#[derive(Default)]
struct CountSink {
    rows: usize,
    quarantined: usize,
}

impl DecodeSink for CountSink {
    fn batch(&mut self, batch: RecordBatch) -> Result<(), IngestError> {
        self.rows += batch.num_rows();
        black_box(batch);
        Ok(())
    }
    fn quarantine(&mut self, _rec: QuarantineRecord) {
        self.quarantined += 1;
    }
}

struct Flow {
    eni: u64,
    src: String,
    dst: String,
    sport: u64,
    dport: u64,
    proto: u64,
    packets: u64,
    bytes: u64,
    start: u64,
    accept: bool,
}

fn flow(r: &mut Rng, i: usize) -> Flow {
    let internal = |r: &mut Rng| format!("10.{}.{}.{}", r.below(4), r.below(256), 1 + r.below(254));
    let external = |r: &mut Rng| {
        format!(
            "{}.{}.{}.{}",
            1 + r.below(223),
            r.below(256),
            r.below(256),
            1 + r.below(254)
        )
    };
    let inbound = r.below(2) == 0;
    let (src, dst) = if inbound {
        (external(r), internal(r))
    } else {
        (internal(r), external(r))
    };
    let well_known = [443, 80, 22, 53, 123, 3306, 5432, 6379][r.below(8) as usize];
    let ephemeral = 32_768 + r.below(28_000);
    // Half the records are the reply direction of a connection.
    let (sport, dport) = if r.below(2) == 0 {
        (ephemeral, well_known)
    } else {
        (well_known, ephemeral)
    };
    let packets = 1 + r.below(2000);
    Flow {
        eni: r.below(64),
        src,
        dst,
        sport,
        dport,
        proto: [6, 6, 6, 17, 1][r.below(5) as usize],
        packets,
        bytes: packets * (40 + r.below(1400)),
        start: 1_767_866_700 + (i as u64 / 1000),
        accept: r.below(10) != 0,
    }
}

fn gz(text: &[u8]) -> Vec<u8> {
    let mut e = GzEncoder::new(Vec::new(), Compression::default());
    e.write_all(text).unwrap();
    e.finish().unwrap()
}

fn v2_object() -> Vec<u8> {
    let mut r = Rng(0x9e37_79b9_7f4a_7c15);
    let mut s = String::from(
        "version account-id interface-id srcaddr dstaddr srcport dstport protocol packets bytes start end action log-status\n",
    );
    for i in 0..RECORDS {
        if i % 5000 == 4999 {
            s.push_str(&format!(
                "2 123456789012 eni-0a1b2c3d4e5f60{:02x} - - - - - - - {} {} - NODATA\n",
                i % 64,
                1_767_866_700 + i / 1000,
                1_767_866_760 + i / 1000
            ));
            continue;
        }
        let f = flow(&mut r, i);
        s.push_str(&format!(
            "2 123456789012 eni-0a1b2c3d4e5f60{:02x} {} {} {} {} {} {} {} {} {} {} OK\n",
            f.eni,
            f.src,
            f.dst,
            f.sport,
            f.dport,
            f.proto,
            f.packets,
            f.bytes,
            f.start,
            f.start + 60,
            if f.accept { "ACCEPT" } else { "REJECT" }
        ));
    }
    gz(s.as_bytes())
}

fn v5_object() -> Vec<u8> {
    let mut r = Rng(0x2545_f491_4f6c_dd1d);
    let mut s = String::from(
        "account-id action az-id bytes dstaddr dstport end flow-direction instance-id interface-id log-status packets pkt-dst-aws-service pkt-dstaddr pkt-src-aws-service pkt-srcaddr protocol region srcaddr srcport start subnet-id tcp-flags traffic-path type version vpc-id\n",
    );
    for i in 0..RECORDS {
        let f = flow(&mut r, i);
        let svc = if r.below(10) == 0 { "S3" } else { "-" };
        s.push_str(&format!(
            "123456789012 {} use1-az{} {} {} {} {} {} i-0abc{:012x} eni-0a1b2c3d4e5f60{:02x} OK {} {} {} - {} {} us-east-1 {} {} {} subnet-0123456789abcdef{} {} {} IPv4 5 vpc-0123456789abcdef0\n",
            if f.accept { "ACCEPT" } else { "REJECT" },
            1 + r.below(6),
            f.bytes,
            f.dst,
            f.dport,
            f.start + 60,
            if r.below(2) == 0 { "ingress" } else { "egress" },
            f.eni,
            f.eni,
            f.packets,
            svc,
            f.dst,
            f.src,
            f.proto,
            f.src,
            f.sport,
            f.start,
            r.below(4),
            [2, 18, 19, 3][r.below(4) as usize],
            1 + r.below(8),
        ));
    }
    gz(s.as_bytes())
}

fn bench(c: &mut Criterion) {
    let mut g = c.benchmark_group("flow_decode");
    g.throughput(Throughput::Elements(RECORDS as u64));
    g.sample_size(20);
    for (name, data) in [("v2_gzip", v2_object()), ("v5_27_fields_gzip", v5_object())] {
        let opts = FlowDecodeOptions::default();
        // Check the input once: every record decodes.
        let mut sink = CountSink::default();
        let mut reader = ObjectReader::new("bench", &data, u64::MAX);
        decode_flow_text("bench", &mut reader, &opts, &mut sink).unwrap();
        assert_eq!((sink.rows, sink.quarantined), (RECORDS, 0), "{name}");
        g.bench_function(name, |b| {
            b.iter(|| {
                let mut sink = CountSink::default();
                let mut reader = ObjectReader::new("bench", black_box(&data), u64::MAX);
                decode_flow_text("bench", &mut reader, &opts, &mut sink).unwrap();
                sink.rows
            })
        });
    }
    // Baselines that split the v2 figure: inflate alone, and decode of the same text uncompressed.
    let data = v2_object();
    g.bench_function("v2_gunzip_only", |b| {
        b.iter(|| {
            let mut reader = ObjectReader::new("bench", black_box(&data), u64::MAX);
            std::io::copy(&mut reader, &mut std::io::sink()).unwrap()
        })
    });
    let plain = ObjectReader::new("bench", &data, u64::MAX)
        .read_all()
        .unwrap();
    g.bench_function("v2_plain_text", |b| {
        b.iter(|| {
            let mut sink = CountSink::default();
            let mut reader = ObjectReader::new("bench", black_box(&plain), u64::MAX);
            decode_flow_text(
                "bench",
                &mut reader,
                &FlowDecodeOptions::default(),
                &mut sink,
            )
            .unwrap();
            sink.rows
        })
    });
    g.finish();
}

/// Records per small object, and small objects per iteration.
const SMALL_RECORDS: usize = 50;
const SMALL_OBJECTS: usize = 400;

/// The first `SMALL_OBJECTS * SMALL_RECORDS` v2 records as gzip objects of `SMALL_RECORDS`
/// records, each with the header line.
fn small_objects() -> Vec<Vec<u8>> {
    let text = ObjectReader::new("bench", &v2_object(), u64::MAX)
        .read_all()
        .unwrap();
    let text = String::from_utf8(text).unwrap();
    let mut lines = text.lines();
    let header = lines.next().unwrap();
    let records: Vec<&str> = lines.take(SMALL_OBJECTS * SMALL_RECORDS).collect();
    records
        .chunks(SMALL_RECORDS)
        .map(|c| gz(format!("{header}\n{}\n", c.join("\n")).as_bytes()))
        .collect()
}

/// Keeps every batch, as the pipeline does until a lake write.
#[derive(Default)]
struct KeepSink(Vec<RecordBatch>);

impl DecodeSink for KeepSink {
    fn batch(&mut self, batch: RecordBatch) -> Result<(), IngestError> {
        self.0.push(batch);
        Ok(())
    }
    fn quarantine(&mut self, _rec: QuarantineRecord) {}
}

fn bench_small_objects(c: &mut Criterion) {
    let objects = small_objects();
    let opts = FlowDecodeOptions::default();
    let mut sink = KeepSink::default();
    for o in &objects {
        let mut reader = ObjectReader::new("bench", o, u64::MAX);
        decode_flow_text("bench", &mut reader, &opts, &mut sink).unwrap();
    }
    let held: usize = sink.0.iter().map(batch_memory_size).sum();
    eprintln!(
        "{} objects of {SMALL_RECORDS} records: batches hold {} bytes ({} per object)",
        objects.len(),
        held,
        held / objects.len()
    );
    let mut g = c.benchmark_group("flow_decode_small_objects");
    g.throughput(Throughput::Elements((SMALL_OBJECTS * SMALL_RECORDS) as u64));
    g.sample_size(20);
    g.bench_function("v2_50_records_gzip", |b| {
        b.iter(|| {
            let mut sink = CountSink::default();
            for o in &objects {
                let mut reader = ObjectReader::new("bench", black_box(o), u64::MAX);
                decode_flow_text("bench", &mut reader, &opts, &mut sink).unwrap();
            }
            sink.rows
        })
    });
    g.finish();
}

criterion_group!(benches, bench, bench_small_objects);
criterion_main!(benches);
