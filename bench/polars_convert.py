#!/usr/bin/env python3
"""Convert a flowtrail bench set (AWS S3 layout) to zstd parquet with polars.

usage: polars_convert.py SOURCE_DIR OUT_DIR [--threads N]

Flow logs: every *.log.gz under AWSLogs/ through pl.scan_csv (gzip text, separator ' ',
header from the file, '-' as null), the documented fields typed as flowtrail types them
(ports, protocol, tcp-flags, traffic-path int32; packets, bytes, start, end int64; the rest
text, so account-id keeps its leading zeros and `unknown`), column names with '_' for '-',
plus event_time (from start) and the source file name, streamed into OUT_DIR/flows.parquet.
Files are grouped by flow log (the fl- id in the file name: one format per flow log) and the
header of one file per flow log gives the columns, so a set mixing formats works (the groups are
concatenated by column name).
CloudTrail: every CloudTrail/*.json.gz through pl.read_json (files in parallel), Records
exploded, flattened into typed top-level columns with the free-form parts encoded back to
JSON text (the shape of flowtrail's `cloudtrail` table), into OUT_DIR/cloudtrail-NNNN.parquet
(one file per ~1M events, to bound memory).
Prints row counts, so a run that read nothing is visible.

`--threads N` sets POLARS_MAX_THREADS (it must be set before polars is imported).
"""

import glob
import gzip
import os
import sys
import time
from concurrent.futures import ThreadPoolExecutor


def args_or_usage():
    args = sys.argv[1:]
    threads = None
    if "--threads" in args:
        i = args.index("--threads")
        threads = int(args[i + 1])
        del args[i : i + 2]
    if len(args) != 2:
        print(__doc__, file=sys.stderr)
        sys.exit(2)
    return [os.path.abspath(a) for a in args], threads


(SRC, OUT), THREADS = args_or_usage()
if THREADS:
    os.environ["POLARS_MAX_THREADS"] = str(THREADS)

import polars as pl  # noqa: E402  (after POLARS_MAX_THREADS)

I32 = {
    "version",
    "srcport",
    "dstport",
    "protocol",
    "tcp-flags",
    "traffic-path",
    "encryption-status",
}
I64 = {"packets", "bytes", "start", "end"}


def header_of(path):
    with gzip.open(path, "rt") as f:
        return f.readline().strip()


def flow_log_groups(logs):
    """Files grouped by header line. A flow log has one format, so one file's header per
    flow log (the `fl-...` id in the file name) stands for all of its files."""
    files = sorted(glob.glob(f"{logs}/**/*.log.gz", recursive=True))
    by_log = {}
    for path in files:
        parts = os.path.basename(path).split("_")
        fl = parts[3] if len(parts) > 4 else path
        by_log.setdefault(fl, []).append(path)
    groups = {}
    for paths in by_log.values():
        groups.setdefault(header_of(paths[0]), []).extend(paths)
    return groups


def flows(logs):
    groups = flow_log_groups(logs)
    if not groups:
        return 0
    frames = []
    for header, paths in groups.items():
        names = header.split(" ")
        schema = {
            n: pl.Int32 if n in I32 else pl.Int64 if n in I64 else pl.String for n in names
        }
        lf = pl.scan_csv(
            paths,
            separator=" ",
            has_header=True,
            null_values="-",
            schema=schema,
            include_file_paths="source_key",
        )
        lf = lf.rename({n: n.replace("-", "_") for n in names})
        frames.append(lf)
    lf = frames[0] if len(frames) == 1 else pl.concat(frames, how="diagonal_relaxed")
    lf = lf.with_columns(
        pl.from_epoch("start", time_unit="s").dt.replace_time_zone("UTC").alias("event_time")
    )
    out = f"{OUT}/flows.parquet"
    lf.sink_parquet(out, compression="zstd")
    return pl.scan_parquet(out).select(pl.len()).collect().item()


def field(df, path, dtype=pl.String):
    """Column `path` (a.b.c) of df, or null of dtype when the document has no such field."""
    parts = path.split(".")
    schema = df.schema
    if parts[0] not in schema:
        return pl.lit(None, dtype)
    expr, dt = pl.col(parts[0]), schema[parts[0]]
    for p in parts[1:]:
        if not isinstance(dt, pl.Struct) or p not in {f.name for f in dt.fields}:
            return pl.lit(None, dtype)
        dt = {f.name: f.dtype for f in dt.fields}[p]
        expr = expr.struct.field(p)
    return expr.cast(dtype, strict=False)


def as_json(df, name):
    if name not in df.schema:
        return pl.lit(None, pl.String)
    dt = df.schema[name]
    if isinstance(dt, pl.Struct):
        return pl.when(pl.col(name).is_not_null()).then(pl.col(name).struct.json_encode())
    if isinstance(dt, pl.List):
        # a list of structs: encode each element and join them into a JSON array
        inner = (
            pl.element().struct.json_encode()
            if isinstance(dt.inner, pl.Struct)
            else pl.element().cast(pl.String)
        )
        return pl.concat_str(
            [pl.lit("["), pl.col(name).list.eval(inner).list.join(","), pl.lit("]")]
        )
    return pl.col(name).cast(pl.String)


TRAIL_COLUMNS = [
    ("event_version", "eventVersion", pl.String),
    ("event_source", "eventSource", pl.String),
    ("event_name", "eventName", pl.String),
    ("aws_region", "awsRegion", pl.String),
    ("source_ip_address", "sourceIPAddress", pl.String),
    ("user_agent", "userAgent", pl.String),
    ("error_code", "errorCode", pl.String),
    ("error_message", "errorMessage", pl.String),
    ("user_identity_type", "userIdentity.type", pl.String),
    ("user_identity_principal_id", "userIdentity.principalId", pl.String),
    ("user_identity_arn", "userIdentity.arn", pl.String),
    ("user_identity_account_id", "userIdentity.accountId", pl.String),
    ("user_identity_access_key_id", "userIdentity.accessKeyId", pl.String),
    ("user_identity_user_name", "userIdentity.userName", pl.String),
    ("request_id", "requestID", pl.String),
    ("event_id", "eventID", pl.String),
    ("read_only", "readOnly", pl.Boolean),
    ("event_type", "eventType", pl.String),
    ("management_event", "managementEvent", pl.Boolean),
    ("recipient_account_id", "recipientAccountId", pl.String),
    ("event_category", "eventCategory", pl.String),
]
FREE_FORM = [
    ("user_identity", "userIdentity"),
    ("request_parameters", "requestParameters"),
    ("response_elements", "responseElements"),
    ("additional_event_data", "additionalEventData"),
    ("resources", "resources"),
]


def trail_file(path):
    doc = pl.read_json(path, infer_schema_length=None)
    if "Records" not in doc.schema:
        return None
    df = doc.explode("Records").unnest("Records")
    cols = [
        pl.col("eventTime")
        .str.to_datetime("%Y-%m-%dT%H:%M:%SZ", time_zone="UTC", strict=False)
        .alias("event_time")
        if "eventTime" in df.schema
        else pl.lit(None, pl.Datetime("us", "UTC")).alias("event_time")
    ]
    cols += [field(df, src, dt).alias(name) for name, src, dt in TRAIL_COLUMNS]
    cols += [as_json(df, src).alias(name) for name, src in FREE_FORM]
    cols.append(pl.lit(path).alias("source_key"))
    return df.select(cols)


def cloudtrail(logs):
    files = sorted(
        glob.glob(f"{logs}/*/CloudTrail/*/*/*/*/*.json.gz")
        + glob.glob(f"{logs}/o-*/*/CloudTrail/*/*/*/*/*.json.gz")
    )
    total, part, batch, rows = 0, 0, [], 0

    def flush():
        nonlocal part, batch, rows
        if batch:
            pl.concat(batch, how="vertical_relaxed").write_parquet(
                f"{OUT}/cloudtrail-{part:04}.parquet", compression="zstd"
            )
            part, batch, rows = part + 1, [], 0

    with ThreadPoolExecutor(os.cpu_count() or 2) as ex:
        for df in ex.map(trail_file, files):
            if df is None:
                continue
            batch.append(df)
            rows += df.height
            total += df.height
            if rows >= 1_000_000:
                flush()
    flush()
    return total


def main() -> int:
    os.makedirs(OUT, exist_ok=True)
    logs = os.path.join(SRC, "AWSLogs")
    t = time.time()
    n_flows = flows(logs)
    print(f"polars flows: {n_flows} rows in {time.time() - t:.1f} s", flush=True)
    t = time.time()
    n_events = cloudtrail(logs)
    print(f"polars cloudtrail: {n_events} rows in {time.time() - t:.1f} s", flush=True)
    print(f"polars total rows: {n_flows + n_events}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
