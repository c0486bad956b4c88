#!/usr/bin/env bash
# Time `flowtrail replay` against DuckDB converting the same AWS-layout files to zstd parquet.
#
# usage: bench/compare.sh [DIR]
#   DIR                 bench set location (default /tmp/flowtrail-bench; reused if complete)
# environment:
#   FLOW_RECORDS=5000000 CT_EVENTS=200000 SEED=1   size of the generated set
#   CARGO_TARGET_DIR=$HOME/.cache/flowtrail-target  where the release binaries are built
#   SKIP_FLOWTRAIL=1 / SKIP_DUCKDB=1                run one side only
#   DUCKDB_THREADS=N                                cap DuckDB's threads (default: all cores)
set -euo pipefail

DIR=${1:-${FLOWTRAIL_BENCH_DIR:-/tmp/flowtrail-bench}}
FLOW_RECORDS=${FLOW_RECORDS:-5000000}
CT_EVENTS=${CT_EVENTS:-200000}
SEED=${SEED:-1}
SKIP_FLOWTRAIL=${SKIP_FLOWTRAIL:-0}
SKIP_DUCKDB=${SKIP_DUCKDB:-0}
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$HOME/.cache/flowtrail-target}
REPO=$(cd "$(dirname "$0")/.." && pwd)
WORK=$(mktemp -d /tmp/flowtrail-compare.XXXXXX)
trap 'rm -rf "$WORK"' EXIT

say() { printf '\n== %s\n' "$*" >&2; }

# --- tools
if ! /usr/bin/time -v true >/dev/null 2>&1; then
    say "installing GNU time"
    if [ "$(id -u)" = 0 ]; then apt-get update && apt-get install -y time; else sudo apt-get update && sudo apt-get install -y time; fi
fi
if [ "$SKIP_DUCKDB" != 1 ] && ! python3 -c 'import duckdb' 2>/dev/null; then
    say "installing the duckdb Python package"
    python3 -m pip install --quiet duckdb
fi

# --- build
say "building release binaries in $CARGO_TARGET_DIR"
cd "$REPO"
cargo build --release -p flowtrail-sample
if [ "$SKIP_FLOWTRAIL" != 1 ]; then cargo build --release -p flowtrail; fi

# --- data (reused when complete and generated with the same parameters)
PARAMS="flow_records=$FLOW_RECORDS cloudtrail_events=$CT_EVENTS seed=$SEED"
if [ -f "$DIR/.flowtrail-bench-complete" ] && [ "$(cat "$DIR/.flowtrail-bench-complete")" = "$PARAMS" ]; then
    say "reusing $DIR ($PARAMS)"
else
    say "generating $DIR ($PARAMS)"
    rm -rf "$DIR/AWSLogs" "$DIR/.flowtrail-bench-complete"
    mkdir -p "$DIR"
    "$CARGO_TARGET_DIR/release/flowtrail-gen" bench --out "$DIR" \
        --flow-records "$FLOW_RECORDS" --cloudtrail-events "$CT_EVENTS" --seed "$SEED"
    echo "$PARAMS" > "$DIR/.flowtrail-bench-complete"
fi
RECORDS=$((FLOW_RECORDS + CT_EVENTS))
FILES=$(find "$DIR/AWSLogs" -type f | wc -l)
BYTES=$(du -sb "$DIR/AWSLogs" | cut -f1)
say "input: $FILES objects, $((BYTES / 1048576)) MiB gzip, $RECORDS records"

# Read the whole set once before each run, so both tools start with the same warm page cache.
warm() { find "$DIR/AWSLogs" -type f -exec cat {} + > /dev/null; }

# --- runs
if [ "$SKIP_FLOWTRAIL" != 1 ]; then
    # The conversion DuckDB does: decode, lake, quarantine; no detection.
    say "flowtrail replay --no-detect"
    warm
    /usr/bin/time -v -o "$WORK/flowtrail.time" \
        "$CARGO_TARGET_DIR/release/flowtrail" replay "$DIR" --lake "$WORK/lake" --alerts-out /dev/null \
        --no-detect --quiet 2>&1 | tee "$WORK/flowtrail.out" >&2
    # The same with detection (baselines, SQL rules, api_recon, alerts).
    say "flowtrail replay (with detection)"
    warm
    /usr/bin/time -v -o "$WORK/flowtrail+detect.time" \
        "$CARGO_TARGET_DIR/release/flowtrail" replay "$DIR" --lake "$WORK/lake2" --alerts-out "$WORK/alerts.jsonl" \
        --state "$WORK/state" --quiet 2>&1 | tee "$WORK/flowtrail+detect.out" >&2
fi
if [ "$SKIP_DUCKDB" != 1 ]; then
    say "duckdb read_csv/read_json -> parquet (zstd)"
    warm
    THREADS=()
    if [ -n "${DUCKDB_THREADS:-}" ]; then THREADS=(--threads "$DUCKDB_THREADS"); fi
    /usr/bin/time -v -o "$WORK/duckdb.time" \
        python3 "$REPO/bench/duckdb_convert.py" "$DIR" "$WORK/duckdb" "${THREADS[@]}" \
        | tee "$WORK/duckdb.out" >&2
fi

# --- table
python3 - "$WORK" "$RECORDS" "$FILES" <<'PY'
import os, sys

work, records, files = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])

def parse(path):
    secs = rss = None
    for line in open(path):
        line = line.strip()
        if line.startswith("Elapsed (wall clock) time"):
            v = line.rsplit(" ", 1)[1].split(":")
            secs = sum(float(x) * 60 ** i for i, x in enumerate(reversed(v)))
        elif line.startswith("Maximum resident set size"):
            rss = int(line.rsplit(" ", 1)[1]) / 1024
        elif line.startswith("Exit status"):
            status = int(line.rsplit(" ", 1)[1])
            if status != 0:
                print(f"warning: {path} exit status {status}", file=sys.stderr)
    return secs, rss

def size(d):
    total = 0
    for root, _, names in os.walk(d):
        total += sum(os.path.getsize(os.path.join(root, n)) for n in names)
    return total

rows = {}
for tool, out in (("flowtrail", "lake"), ("flowtrail+detect", "lake2"), ("duckdb", "duckdb")):
    p = os.path.join(work, f"{tool}.time")
    if os.path.exists(p):
        secs, rss = parse(p)
        rows[tool] = (secs, rss, size(os.path.join(work, out)))

print(f"\n{records} records in {files} objects")
print(f"{'tool':<17} {'seconds':>9} {'records/s':>12} {'peak MiB':>9} {'output MiB':>11}")
for tool, (secs, rss, out) in rows.items():
    print(f"{tool:<17} {secs:>9.2f} {records / secs:>12,.0f} {rss:>9.0f} {out / 1048576:>11.1f}")
if "flowtrail" in rows and "duckdb" in rows:
    (fs, fr, _), (ds, dr, _) = rows["flowtrail"], rows["duckdb"]
    print(f"\nduckdb/flowtrail: time {ds / fs:.2f}x, peak memory {dr / fr:.2f}x")
if "flowtrail" in rows and "flowtrail+detect" in rows:
    fs, ds = rows["flowtrail"][0], rows["flowtrail+detect"][0]
    print(f"detection cost: {100 * (1 - fs / ds):.0f}% of replay throughput ({records / fs:,.0f} -> {records / ds:,.0f} records/s)")
PY
