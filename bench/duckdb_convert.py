#!/usr/bin/env python3
"""Convert a flowtrail bench set (AWS S3 layout) to zstd parquet with DuckDB.

usage: duckdb_convert.py SOURCE_DIR OUT_DIR [--threads N]

Flow logs: every *.log.gz under AWSLogs/ (daily, hourly and Hive-style folders, default and
custom formats) through read_csv(delim=' ', header=true, union_by_name=true), '-' as NULL, plus
event_time and the source file name, into OUT_DIR/flows.parquet.
CloudTrail: every CloudTrail/*.json.gz through read_json, unnest(Records), flattened into typed
top-level columns with the free-form parts kept as JSON text (the shape of flowtrail's
`cloudtrail` table), into OUT_DIR/cloudtrail.parquet.
Prints row counts, so a run that read nothing is visible.
"""

import os
import sys
import time

import duckdb


def main() -> int:
    args = sys.argv[1:]
    threads = None
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
    con.execute(
        f"""
        COPY (
            SELECT *, to_timestamp("start") AS event_time
            FROM read_csv('{flow_glob}', delim = ' ', header = true, compression = 'gzip',
                          union_by_name = true, nullstr = '-', hive_partitioning = false,
                          filename = true)
        ) TO '{out}/flows.parquet' (FORMAT parquet, COMPRESSION zstd)
        """
    )
    flows = con.execute(f"SELECT count(*) FROM read_parquet('{out}/flows.parquet')").fetchone()[0]
    print(f"duckdb flows: {flows} rows in {time.time() - t:.1f} s", flush=True)

    # DuckDB allows one '**' per path: list the plain and organization-trail layouts.
    trail_globs = [
        f"{logs}/*/CloudTrail/*/*/*/*/*.json.gz",
        f"{logs}/o-*/*/CloudTrail/*/*/*/*/*.json.gz",
    ]
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
