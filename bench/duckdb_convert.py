#!/usr/bin/env python3
"""Convert a flowtrail bench set (AWS S3 layout) to zstd parquet with DuckDB.

usage: duckdb_convert.py SOURCE_DIR OUT_DIR [--threads N] [--sniff]

Flow logs: every *.log.gz under AWSLogs/ (daily, hourly and Hive-style folders, default and
custom formats), '-' as NULL, plus event_time and the source file name, into
OUT_DIR/flows.parquet. By default the files are grouped by flow log (the fl- id in the file
name: one format per flow log); one file's header per flow log gives the columns, typed as
flowtrail types them (ports, protocol, tcp-flags, traffic-path INTEGER; packets, bytes, start,
end BIGINT; the rest VARCHAR), each group read with read_csv(<globs>, columns=..., header=true,
auto_detect=false) and the groups combined with UNION ALL BY NAME. With --sniff: one
read_csv(<all files>, union_by_name=true) that sniffs every file's header and types.
CloudTrail: every CloudTrail/*.json.gz through read_json, unnest(Records), flattened into typed
top-level columns with the free-form parts kept as JSON text (the shape of flowtrail's
`cloudtrail` table), into OUT_DIR/cloudtrail.parquet.
Prints row counts, so a run that read nothing is visible.
"""

import glob
import gzip
import os
import sys
import time

import duckdb


INTEGER = {"version", "srcport", "dstport", "protocol", "tcp-flags", "traffic-path", "encryption-status"}
BIGINT = {"packets", "bytes", "start", "end"}


def typed_flow_query(logs):
    """One typed read_csv per flow-log format, combined by column name (None: no files)."""
    by_log = {}
    for path in sorted(glob.glob(f"{logs}/**/*.log.gz", recursive=True)):
        parts = os.path.basename(path).split("_")
        if len(parts) > 4:
            by_log.setdefault(parts[3], path)
        else:
            by_log.setdefault(path, path)
    groups = {}
    for fl, first in by_log.items():
        with gzip.open(first, "rt") as f:
            header = f.readline().strip()
        pattern = f"{logs}/**/*_{fl}_*.log.gz" if fl.startswith("fl-") else first
        groups.setdefault(header, []).append(pattern)
    selects = []
    for header, patterns in groups.items():
        names = header.split(" ")
        cols = ", ".join(
            f"'{n}': '{'INTEGER' if n in INTEGER else 'BIGINT' if n in BIGINT else 'VARCHAR'}'"
            for n in names
        )
        renamed = ", ".join(f'"{n}" AS "{n.replace("-", "_")}"' for n in names)
        files = "[" + ", ".join(f"'{p}'" for p in patterns) + "]"
        selects.append(
            f"""SELECT {renamed}, filename AS source_key, to_timestamp("start") AS event_time
            FROM read_csv({files}, delim = ' ', header = true, compression = 'gzip',
                          columns = {{{cols}}}, auto_detect = false, nullstr = '-',
                          hive_partitioning = false, filename = true)"""
        )
    return "\nUNION ALL BY NAME\n".join(selects) if selects else None


def main() -> int:
    args = sys.argv[1:]
    threads = None
    sniff = "--sniff" in args
    if sniff:
        args.remove("--sniff")
    if "--threads" in args:
        i = args.index("--threads")
        threads = int(args[i + 1])
        del args[i : i + 2]
    if len(args) != 2:
        print(__doc__, file=sys.stderr)
        return 2
    src, out = (os.path.abspath(a) for a in args)
    os.makedirs(out, exist_ok=True)
    con = duckdb.connect()
    if threads:
        con.execute(f"SET threads = {threads}")
    # DuckDB's advice for large COPYs; with the defaults it ran out of memory (18.8 GiB) on
    # the 5M-record set.
    con.execute("SET preserve_insertion_order = false")
    logs = os.path.join(src, "AWSLogs")

    flow_glob = f"{logs}/**/*.log.gz"
    t = time.time()
    if sniff:
        source = f"""
            SELECT *, to_timestamp("start") AS event_time
            FROM read_csv('{flow_glob}', delim = ' ', header = true, compression = 'gzip',
                          union_by_name = true, nullstr = '-', hive_partitioning = false,
                          filename = true)"""
    else:
        source = typed_flow_query(logs)
    flows = 0
    if source:
        con.execute(f"COPY ({source}) TO '{out}/flows.parquet' (FORMAT parquet, COMPRESSION zstd)")
        flows = con.execute(f"SELECT count(*) FROM read_parquet('{out}/flows.parquet')").fetchone()[0]
    print(f"duckdb flows: {flows} rows in {time.time() - t:.1f} s", flush=True)

    # DuckDB allows one '**' per path: list the plain and organization-trail layouts.
    trail_globs = [
        f"{logs}/*/CloudTrail/*/*/*/*/*.json.gz",
        f"{logs}/o-*/*/CloudTrail/*/*/*/*/*.json.gz",
    ]
    trail_globs = [g for g in trail_globs if glob.glob(g)]
    if not trail_globs:
        print("duckdb cloudtrail: 0 rows", flush=True)
        print(f"duckdb total rows: {flows}")
        return 0
    trail_glob = "[" + ", ".join(f"'{g}'" for g in trail_globs) + "]"
    t = time.time()
    con.execute(
        f"""
        COPY (
            SELECT
                CAST(r->>'eventTime' AS TIMESTAMP)        AS event_time,
                r->>'eventVersion'                        AS event_version,
                r->>'eventSource'                         AS event_source,
                r->>'eventName'                           AS event_name,
                r->>'awsRegion'                           AS aws_region,
                r->>'sourceIPAddress'                     AS source_ip_address,
                r->>'userAgent'                           AS user_agent,
                r->>'errorCode'                           AS error_code,
                r->>'errorMessage'                        AS error_message,
                r->'userIdentity'->>'type'                AS user_identity_type,
                r->'userIdentity'->>'principalId'         AS user_identity_principal_id,
                r->'userIdentity'->>'arn'                 AS user_identity_arn,
                r->'userIdentity'->>'accountId'           AS user_identity_account_id,
                r->'userIdentity'->>'accessKeyId'         AS user_identity_access_key_id,
                r->'userIdentity'->>'userName'            AS user_identity_user_name,
                r->>'requestID'                           AS request_id,
                r->>'eventID'                             AS event_id,
                CAST(r->>'readOnly' AS BOOLEAN)           AS read_only,
                r->>'eventType'                           AS event_type,
                CAST(r->>'managementEvent' AS BOOLEAN)    AS management_event,
                r->>'recipientAccountId'                  AS recipient_account_id,
                r->>'eventCategory'                       AS event_category,
                CAST(r->'userIdentity' AS VARCHAR)        AS user_identity,
                NULLIF(CAST(r->'requestParameters' AS VARCHAR), 'null')   AS request_parameters,
                NULLIF(CAST(r->'responseElements' AS VARCHAR), 'null')    AS response_elements,
                NULLIF(CAST(r->'additionalEventData' AS VARCHAR), 'null') AS additional_event_data,
                NULLIF(CAST(r->'resources' AS VARCHAR), 'null')           AS resources,
                filename                                  AS source_key
            FROM (
                SELECT unnest(Records) AS r, filename
                FROM read_json({trail_glob}, format = 'auto', compression = 'gzip',
                               columns = {{Records: 'JSON[]'}}, maximum_object_size = 268435456,
                               hive_partitioning = false, filename = true)
            )
        ) TO '{out}/cloudtrail.parquet' (FORMAT parquet, COMPRESSION zstd)
        """
    )
    events = con.execute(f"SELECT count(*) FROM read_parquet('{out}/cloudtrail.parquet')").fetchone()[0]
    print(f"duckdb cloudtrail: {events} rows in {time.time() - t:.1f} s", flush=True)
    print(f"duckdb total rows: {flows + events}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
